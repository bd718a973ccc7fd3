"""Torch modules. Each separates ``features`` (the representation Φ) from its ``head``."""

from .mlp import INITS, MLP
from .preprocess import Normalize, RandomCropFlip
from .resnet import ARCHS, PADDING_MODES, STEMS, ResNet

__all__ = ["ARCHS", "INITS", "MLP", "Normalize", "PADDING_MODES", "RandomCropFlip", "STEMS",
           "ResNet"]
