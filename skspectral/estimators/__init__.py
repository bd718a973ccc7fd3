"""scikit-learn estimators that train spectrally regularized networks through skorch."""

from ..data import ArrayDataset, TensorBatchIterator
from ._base import OPTIMIZERS, REGULARIZERS, SpectralEstimatorBase, resolve_device
from ._classifier import SpectralClassifierBase
from ._monitor import FeatureProbe
from .barlow import SpectralBarlowTwins
from .generic import SpectralClassifier
from .mlp import SpectralMLPClassifier
from .presets import PAPER_PRESETS, paper_estimator, paper_params
from .resnet import SpectralResNetClassifier

__all__ = [
    "OPTIMIZERS",
    "PAPER_PRESETS",
    "REGULARIZERS",
    "ArrayDataset",
    "FeatureProbe",
    "SpectralBarlowTwins",
    "SpectralClassifier",
    "SpectralClassifierBase",
    "SpectralEstimatorBase",
    "SpectralMLPClassifier",
    "SpectralResNetClassifier",
    "TensorBatchIterator",
    "paper_estimator",
    "paper_params",
    "resolve_device",
]
