"""scikit-learn estimators that train spectrally regularized networks through skorch."""

from ._base import OPTIMIZERS, REGULARIZERS, SpectralClassifierBase, resolve_device
from ._data import ArrayDataset, TensorBatchIterator
from .mlp import SpectralMLPClassifier
from .resnet import SpectralResNetClassifier

__all__ = [
    "OPTIMIZERS",
    "REGULARIZERS",
    "ArrayDataset",
    "SpectralClassifierBase",
    "SpectralMLPClassifier",
    "SpectralResNetClassifier",
    "TensorBatchIterator",
    "resolve_device",
]
