"""ResNets from torchvision with a feature map / readout split and a small-image stem."""

import warnings
from collections import OrderedDict

import torch
import torch.nn as nn
import torchvision
from sklearn.utils._param_validation import StrOptions

from .._params import validate
from .preprocess import Normalize, RandomCropFlip

__all__ = ["ARCHS", "STEMS", "PADDING_MODES", "ResNet"]

ARCHS = ("resnet18", "resnet34", "resnet50")
STEMS = ("small", "imagenet")
PADDING_MODES = ("zeros", "circular")


class ResNet(nn.Module):
    """A torchvision ResNet as ``head(features(x))``.

    ``features`` runs the stem, the four stages and global average pooling and returns the
    pooled features (512 for ResNet18/34, 2048 for ResNet50); ``head`` is the final Linear.

    Parameters
    ----------
    arch : {"resnet18", "resnet34", "resnet50"}, default="resnet18"
    n_classes : int, default=10
    in_channels : int, default=3
    stem : {"small", "imagenet"}, default="small"
        ``"small"``: a 3x3 stride-1 convolution and no max-pool (the CIFAR variant the paper
        trains on 32x32 images); ``"imagenet"``: torchvision's 7x7 stride-2 convolution and
        max-pool.
    padding_mode : {"zeros", "circular"}, default="zeros"
        Padding of every padded convolution; ``"circular"`` is what the authors trained with
        and makes the FFT operator norm exact.
    normalize : tuple (mean, std), optional
        Per-channel statistics; normalization then runs inside ``features``, so inputs (and
        attacks) stay in raw pixel units.
    augment : bool, default=False
        Random crop (zero padding 4) and horizontal flip per sample, in training mode only.
    pretrained_weights : str, path or dict, optional
        A state dict (or a file saved with ``torch.save``) in torchvision's key layout
        (``conv1.weight``, ``layer1.0...``, ``fc.weight``) or in this module's (``features.``,
        ``head.``); tensors whose shape does not fit (a new head, another stem) are skipped
        with a warning. Nothing is downloaded.
    """

    #: Checked when built (see :mod:`skspectral._params`); the estimators reuse the entries.
    _parameter_constraints = {
        "arch": [StrOptions(set(ARCHS))],
        "stem": [StrOptions(set(STEMS))],
        "padding_mode": [StrOptions(set(PADDING_MODES))],
        "augment": ["boolean"],
    }

    def __init__(self, arch="resnet18", n_classes=10, in_channels=3, stem="small",
                 padding_mode="zeros", normalize=None, augment=False, pretrained_weights=None):
        super().__init__()
        validate(type(self).__name__, self._parameter_constraints, {
            "arch": arch, "stem": stem, "padding_mode": padding_mode, "augment": augment})
        net = getattr(torchvision.models, arch)(weights=None, num_classes=n_classes)
        if stem == "small":
            net.conv1 = nn.Conv2d(in_channels, 64, 3, stride=1, padding=1, bias=False)
            net.maxpool = nn.Identity()
        elif in_channels != 3:
            net.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        for m in net.modules():
            if isinstance(m, nn.Conv2d) and m.padding != (0, 0):
                m.padding_mode = padding_mode
        pre = OrderedDict()
        if augment:
            pre["augment"] = RandomCropFlip(padding=4, flip=True)
        if normalize is not None:
            pre["normalize"] = Normalize(*normalize)
        self.features = nn.Sequential(OrderedDict(
            **pre, conv1=net.conv1, bn1=net.bn1, relu=net.relu, maxpool=net.maxpool,
            layer1=net.layer1, layer2=net.layer2, layer3=net.layer3, layer4=net.layer4,
            avgpool=net.avgpool, flatten=nn.Flatten(1)))
        self.head = net.fc
        if pretrained_weights is not None:
            self.load_pretrained(pretrained_weights)

    def forward(self, x):
        return self.head(self.features(x))

    def load_pretrained(self, weights):
        """Load a state dict (see the class docstring); returns the list of skipped keys."""
        state = weights if isinstance(weights, dict) else torch.load(weights, map_location="cpu",
                                                                     weights_only=True)
        own = self.state_dict()
        renamed = {}
        for key, value in state.items():
            if not key.startswith(("features.", "head.")):
                key = "head." + key[3:] if key.startswith("fc.") else "features." + key
            renamed[key] = value
        usable = {k: v for k, v in renamed.items() if k in own and own[k].shape == v.shape}
        skipped = sorted(set(renamed) - set(usable))
        missing = sorted(set(own) - set(usable))
        if skipped or missing:
            warnings.warn(f"pretrained weights: skipped {skipped} (unknown or shape mismatch), "
                          f"kept the initialization of {missing}.", UserWarning, stacklevel=2)
        self.load_state_dict(usable, strict=False)
        return skipped
