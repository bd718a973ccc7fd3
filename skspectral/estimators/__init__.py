"""scikit-learn estimators that train spectrally regularized networks through skorch."""

from ._base import OPTIMIZERS, REGULARIZERS, SpectralClassifierBase, resolve_device
from .mlp import SpectralMLPClassifier

__all__ = [
    "OPTIMIZERS",
    "REGULARIZERS",
    "SpectralClassifierBase",
    "SpectralMLPClassifier",
    "resolve_device",
]
