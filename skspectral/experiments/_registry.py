"""The experiments of ``skspectral reproduce``, by name."""

from ._base import Experiment
from .images import BarlowMNISTExperiment, ResNetMNISTExperiment, TransferMNISTExperiment
from .mnist import MNISTExperiment
from .xor import XORExperiment

__all__ = ["EXPERIMENTS", "get_experiment"]

#: ``{name: experiment}`` of ``skspectral reproduce``.
EXPERIMENTS = {e.name: e for e in (XORExperiment(), MNISTExperiment(), ResNetMNISTExperiment(),
                                    BarlowMNISTExperiment(), TransferMNISTExperiment())}


def get_experiment(experiment):
    """The :class:`Experiment` named ``experiment`` (an instance passes through).

    Parameters
    ----------
    experiment : str or Experiment
        A key of :data:`EXPERIMENTS`, or an experiment.

    Returns
    -------
    experiment : Experiment
        The registered experiment of that name, or ``experiment`` itself.

    Raises
    ------
    ValueError
        If no experiment has that name.

    Examples
    --------
    >>> from skspectral.experiments import EXPERIMENTS, get_experiment
    >>> list(EXPERIMENTS)
    ['xor', 'mnist', 'resnet-mnist', 'barlow-mnist', 'transfer-mnist']
    >>> get_experiment("xor").conditions
    ('clean-wd0', 'clean-wd1e-4', 'noisy-wd1e-4')
    >>> get_experiment("xor").defaults["epochs"]
    15000
    >>> get_experiment("cifar")
    Traceback (most recent call last):
    ...
    ValueError: Unknown experiment 'cifar'; the experiments are ['xor', 'mnist', ...].
    """
    if isinstance(experiment, Experiment):
        return experiment
    if experiment not in EXPERIMENTS:
        raise ValueError(f"Unknown experiment {experiment!r}; the experiments are "
                         f"{list(EXPERIMENTS)}.")
    return EXPERIMENTS[experiment]
