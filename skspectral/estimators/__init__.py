"""scikit-learn estimators that train spectrally regularized networks through skorch."""

from ._base import OPTIMIZERS, REGULARIZERS, SpectralClassifierBase, resolve_device
from .mlp import SpectralMLPClassifier
from .resnet import SpectralResNetClassifier

__all__ = [
    "OPTIMIZERS",
    "REGULARIZERS",
    "SpectralClassifierBase",
    "SpectralMLPClassifier",
    "SpectralResNetClassifier",
    "resolve_device",
]
