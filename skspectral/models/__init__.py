"""Torch modules. Each separates ``features`` (the representation Φ) from its ``head``."""

from .augment import AUGMENTATIONS, TwoViews
from .barlow import BarlowTwins, make_projector
from .barlow_loss import BarlowTwinsLoss, cross_correlation
from .mlp import INITS, MLP
from .preprocess import Normalize, RandomCropFlip
from .resnet import ARCHS, PADDING_MODES, STEMS, ResNet

__all__ = ["ARCHS", "AUGMENTATIONS", "INITS", "MLP", "BarlowTwins", "BarlowTwinsLoss", "Normalize",
           "PADDING_MODES", "RandomCropFlip", "STEMS", "ResNet", "TwoViews", "cross_correlation",
           "make_projector"]
