"""The paper's experiments as resumable, parallel runs: ``skspectral reproduce``.

Each experiment trains every regularizer of its figures for every seed, measures accuracy
and per-sample Tangent Attack distances, and writes per-sample CSV rows, a JSON summary and
PNG figures (see :func:`reproduce`).
"""

from ._base import REGULARIZER_LABELS, Experiment, Unit
from ._runner import reproduce, run_units, summarize
from .images import BarlowMNISTExperiment, ResNetMNISTExperiment, TransferMNISTExperiment
from .mnist import MNISTExperiment
from .xor import XORExperiment

__all__ = ["EXPERIMENTS", "Experiment", "REGULARIZER_LABELS", "Unit", "get_experiment",
           "reproduce", "run_units", "summarize"]

#: ``{name: experiment}`` of ``skspectral reproduce``.
EXPERIMENTS = {e.name: e for e in (XORExperiment(), MNISTExperiment(), ResNetMNISTExperiment(),
                                    BarlowMNISTExperiment(), TransferMNISTExperiment())}


def get_experiment(experiment):
    """The :class:`Experiment` named ``experiment`` (an instance passes through)."""
    if isinstance(experiment, Experiment):
        return experiment
    if experiment not in EXPERIMENTS:
        raise ValueError(f"Unknown experiment {experiment!r}; the experiments are "
                         f"{list(EXPERIMENTS)}.")
    return EXPERIMENTS[experiment]
