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
    Experiment

    Raises
    ------
    ValueError
        If no experiment has that name.
    """
    if isinstance(experiment, Experiment):
        return experiment
    if experiment not in EXPERIMENTS:
        raise ValueError(f"Unknown experiment {experiment!r}; the experiments are "
                         f"{list(EXPERIMENTS)}.")
    return EXPERIMENTS[experiment]
