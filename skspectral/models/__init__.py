"""Torch modules. Each separates ``features`` (the representation Φ) from its ``head``."""

from .augment import AUGMENTATIONS, TwoViews
from .barlow import BarlowTwins, make_projector
from .barlow_loss import BarlowTwinsLoss, cross_correlation
from .generic import (
    SMALL_STEM_FAMILIES,
    FeatureNetwork,
    build_network,
    check_network,
    feature_map,
    small_stem_,
    torchvision_model_names,
)
from .mlp import INITS, MLP
from .preprocess import Normalize, RandomCropFlip
from .resnet import ARCHS, PADDING_MODES, STEMS, ResNet

__all__ = ["ARCHS", "AUGMENTATIONS", "INITS", "MLP", "SMALL_STEM_FAMILIES", "BarlowTwins",
           "BarlowTwinsLoss", "FeatureNetwork", "Normalize", "PADDING_MODES", "RandomCropFlip",
           "STEMS", "ResNet", "TwoViews", "build_network", "check_network", "cross_correlation",
           "feature_map", "make_projector", "small_stem_", "torchvision_model_names"]
