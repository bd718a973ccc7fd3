"""What an experiment of ``skspectral reproduce`` declares, and its unit of work."""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from ..estimators import paper_estimator

__all__ = ["Experiment", "Unit", "REGULARIZER_LABELS", "checkpoint_params", "unit_estimator"]

#: Regularizer labels of the figures and the estimators' ``regularizer`` each one means:
#: ``ll-head`` is ll-spectral as the authors' code ran it on one-hidden-layer MLPs (the
#: readout only), ``ll-all`` ll-spectral over every layer, ``rep`` rep-spectral.
REGULARIZER_LABELS = {"none": None, "ll-head": "head", "ll-all": "all", "rep": "rep"}


@dataclass(frozen=True)
class Unit:
    """One independent piece of an experiment: a condition, a regularizer and a seed.

    Units are immutable and hashable; :meth:`Experiment.units` lists an experiment's.

    Parameters
    ----------
    condition : str
        The experiment's variant (e.g. ``"clean-wd0"`` for clean XOR without weight decay).
    regularizer : str
        A key of :data:`REGULARIZER_LABELS`: which penalty the unit's models train with.
    seed : int
        ``random_state`` of the model, its data draw and the attack.

    Examples
    --------
    >>> from skspectral.experiments import Unit
    >>> unit = Unit("clean-wd0", "rep", 3)
    >>> unit.id
    'clean-wd0__rep__seed3'
    >>> unit == Unit(condition="clean-wd0", regularizer="rep", seed=3)
    True
    """

    #: The experiment's variant.
    condition: str
    #: A key of :data:`REGULARIZER_LABELS`.
    regularizer: str
    #: ``random_state`` of the model, its data draw and the attack.
    seed: int

    @property
    def id(self):
        """File-name-safe identifier, unique within an experiment (``str``)."""
        return f"{self.condition}__{self.regularizer}__seed{self.seed}"


class Experiment(ABC):
    """An experiment of the paper: its units, how one runs, and its figures.

    A subclass declares ``name``, ``description``, ``conditions``, ``regularizers`` and
    ``defaults`` (its settings at the paper's budgets; every setting is recorded in the
    summary), and implements :meth:`run` and :meth:`figures`. A unit's records and
    per-sample rows are plain dicts of JSON/CSV-friendly values.

    See Also
    --------
    reproduce : Runs an experiment's units and writes its results and figures.
    get_experiment : The paper's experiments, by name.

    Examples
    --------
    The paper's experiments are instances of subclasses:

    >>> from skspectral.experiments import get_experiment
    >>> xor = get_experiment("xor")
    >>> xor.regularizers
    ('none', 'll-head', 'll-all', 'rep')
    >>> [unit.id for unit in xor.units(seeds=1, conditions=["clean-wd0"])][:2]
    ['clean-wd0__none__seed0', 'clean-wd0__ll-head__seed0']

    A new experiment declares its units and implements ``run`` and ``figures``;
    :func:`reproduce` then runs it resumably and summarizes it over seeds:

    >>> from skspectral.experiments import Experiment
    >>> class Toy(Experiment):
    ...     name = "toy"
    ...     description = "A toy: each unit's distance is its seed plus a regularizer bonus."
    ...     conditions = ("a",)
    ...     regularizers = ("none", "rep")
    ...     defaults = {"bonus": 1.0}
    ...
    ...     def run(self, unit, settings, store):
    ...         keys = dict(condition=unit.condition, regularizer=unit.regularizer,
    ...                     seed=unit.seed, readout="end-to-end")
    ...         distance = unit.seed + (settings["bonus"] if unit.regularizer == "rep" else 0)
    ...         record = dict(keys, accuracy=0.9, mean_distance=distance)
    ...         rows = [dict(keys, sample=0, label=1, distance=distance, queries=10)]
    ...         return [record], rows
    ...
    ...     def figures(self, records, samples, settings, out, store):
    ...         return []
    >>> import tempfile
    >>> from skspectral.experiments import reproduce
    >>> with tempfile.TemporaryDirectory() as out:
    ...     summary = reproduce(Toy(), out, seeds=2, quiet=True)
    >>> [(m["regularizer"], m["n_seeds"], m["mean_distance_mean"]) for m in summary["models"]]
    [('none', 2, 0.5), ('rep', 2, 1.5)]
    """

    #: Name on the command line.
    name = None
    #: One line for ``skspectral reproduce --help``.
    description = None
    #: The variants, in the figures' order.
    conditions = ()
    #: Keys of :data:`REGULARIZER_LABELS`, in the figures' order.
    regularizers = ()
    #: ``{setting: default}``; a default's type is the type a command-line value takes.
    defaults = {}

    def units(self, seeds, conditions=None):
        """Every unit, seed-major so that a partial run covers all models of early seeds.

        Parameters
        ----------
        seeds : int
            Seeds ``0 .. seeds - 1``.
        conditions : list of str, default=None
            A subset of ``conditions`` (all when None).

        Returns
        -------
        units : list of Unit
            For each seed, every chosen condition (in ``conditions``' order) with every
            regularizer.
        """
        chosen = self.conditions if conditions is None else conditions
        return [Unit(c, r, s) for s in range(seeds) for c in self.conditions if c in chosen
                for r in self.regularizers]

    @abstractmethod
    def run(self, unit, settings, store):
        """Train and measure one unit.

        Parameters
        ----------
        unit : Unit
            The condition, regularizer and seed to run.
        settings : dict
            ``defaults`` with the user's overrides, plus ``device``, ``data_home`` and,
            under ``skspectral reproduce``, ``checkpoint_dir``: the unit's folder of
            checkpoints (build models with ``unit_estimator``, or pass them
            ``checkpoint_params``'s parameters, both from ``skspectral.experiments._base``, so
            that an interrupted unit resumes inside training).
        store : pathlib.Path
            A folder for files the figures need later (e.g. a pickled model).

        Returns
        -------
        records : list of dict
            One per evaluated model (e.g. end-to-end and a retrained readout), each with
            ``condition``, ``regularizer``, ``seed``, ``readout``, ``accuracy`` and
            ``mean_distance`` at least.
        samples : list of dict
            One per attacked sample and model: the record's keys ``condition``,
            ``regularizer``, ``seed``, ``readout``, and ``sample``, ``label``,
            ``distance``, ``queries``.
        """

    @abstractmethod
    def figures(self, records, samples, settings, out, store):
        """Draw the experiment's figures as PNG files in ``out``; return their paths.

        A figure whose units are missing is left out rather than drawn from part of its
        data.

        Parameters
        ----------
        records : list of dict
            Every finished unit's records (as :meth:`run` returns them), ordered by
            condition, regularizer and seed.
        samples : list of dict
            Every finished unit's per-sample rows.
        settings : dict
            The run's settings, as :meth:`run` receives them (without ``checkpoint_dir``).
        out : pathlib.Path
            The output folder the figures are written to.
        store : pathlib.Path
            The folder of files the units stored (e.g. pickled models).

        Returns
        -------
        paths : list of pathlib.Path
            The figures written.
        """


def checkpoint_params(settings, name, epochs):
    """The checkpoint parameters of a unit's model ``name`` trained ``epochs`` epochs.

    ``skspectral reproduce`` gives each unit a folder (``settings["checkpoint_dir"]``,
    removed once the unit's results are written); each of its models checkpoints into a
    subfolder of its own, about a hundred times over its training (every epoch up to 100
    epochs), so an interrupted unit resumes inside training. Without that setting (a unit
    run directly), no checkpoints.

    Parameters
    ----------
    settings : dict
    name : str
        The model's name within the unit, a folder name.
    epochs : int

    Returns
    -------
    dict
        ``checkpoint_dir`` and ``checkpoint_every``, or empty.
    """
    root = settings.get("checkpoint_dir")
    if root is None:
        return {}
    return {"checkpoint_dir": str(Path(root) / name),
            "checkpoint_every": max(1, int(epochs) // 100)}


def unit_estimator(preset, unit, settings, name="model", **params):
    """``paper_estimator(preset)`` with the unit's regularizer and seed, the settings'
    ``epochs`` and ``device``, the unit's checkpoints for the model ``name``
    (:func:`checkpoint_params`), and ``params`` changed."""
    return paper_estimator(preset, **{
        "regularizer": REGULARIZER_LABELS[unit.regularizer], "max_epochs": settings["epochs"],
        "random_state": unit.seed, "device": settings["device"],
        **checkpoint_params(settings, name, settings["epochs"]), **params})
