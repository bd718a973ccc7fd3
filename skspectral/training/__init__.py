"""The training engine every estimator drives: :class:`SpectralNet` (a skorch net that owns the
spectral penalty, with mixed precision, channels-last and data parallelism) and its cheap
per-epoch history.

The penalty itself, the layers it covers and its schedule live in
:mod:`skspectral.regularization`.
"""

from ._history import EpochHistory, EpochMeanLoss
from ._net import SpectralNet

__all__ = ["EpochHistory", "EpochMeanLoss", "SpectralNet"]
