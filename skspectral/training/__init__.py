"""The training engine every estimator drives: :class:`SpectralNet` (a skorch net that owns the
spectral penalty, with mixed precision, channels-last and data parallelism) and its cheap
per-epoch history, and the resumable checkpoints of its whole training state
(:class:`TrainingCheckpoint`).

The penalty itself, the layers it covers and its schedule live in
:mod:`skspectral.regularization`.
"""

from ._checkpoint import CheckpointError, TrainingCheckpoint
from ._history import EpochHistory, EpochMeanLoss
from ._net import SpectralNet, as_model_input

__all__ = ["CheckpointError", "EpochHistory", "EpochMeanLoss", "SpectralNet",
           "TrainingCheckpoint", "as_model_input"]
