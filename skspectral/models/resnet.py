"""ResNets from torchvision with a feature map / readout split and a small-image stem."""

from collections import OrderedDict

import torch
import torch.nn as nn
import torchvision
from sklearn.utils._param_validation import StrOptions

from .._params import PositiveInts, validate
from .preprocess import Normalize, RandomCropFlip, Resize

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
        ``head.``); see :meth:`load_pretrained`. Nothing is downloaded.
    resize : tuple (H, W), optional
        Resize inputs to this size inside ``features`` (after augmentation, before
        normalization), e.g. 32 -> 224 px for an ImageNet backbone.
    freeze_backbone : bool, default=False
        See :meth:`freeze_backbone_`.

    Attributes
    ----------
    load_report_ : dict or None
        After loading pretrained weights: ``{"loaded": [...], "new": [...], "ignored": [...]}``
        parameter and buffer names.
    """

    #: Checked when built (see :mod:`skspectral._params`); the estimators reuse the entries.
    _parameter_constraints = {
        "arch": [StrOptions(set(ARCHS))],
        "stem": [StrOptions(set(STEMS))],
        "padding_mode": [StrOptions(set(PADDING_MODES))],
        "augment": ["boolean"],
        "resize": [PositiveInts(2), None],
        "freeze_backbone": ["boolean"],
    }

    def __init__(self, arch="resnet18", n_classes=10, in_channels=3, stem="small",
                 padding_mode="zeros", normalize=None, augment=False, pretrained_weights=None,
                 resize=None, freeze_backbone=False):
        super().__init__()
        validate(type(self).__name__, self._parameter_constraints, {
            "arch": arch, "stem": stem, "padding_mode": padding_mode, "augment": augment,
            "resize": resize, "freeze_backbone": freeze_backbone})
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
        if resize is not None:
            pre["resize"] = Resize(resize)
        if normalize is not None:
            pre["normalize"] = Normalize(*normalize)
        self.features = nn.Sequential(OrderedDict(
            **pre, conv1=net.conv1, bn1=net.bn1, relu=net.relu, maxpool=net.maxpool,
            layer1=net.layer1, layer2=net.layer2, layer3=net.layer3, layer4=net.layer4,
            avgpool=net.avgpool, flatten=nn.Flatten(1)))
        self.head = net.fc
        self.load_report_ = None
        self.backbone_frozen = False
        if pretrained_weights is not None:
            self.load_pretrained(pretrained_weights)
        self.freeze_backbone_(freeze_backbone)

    def forward(self, x):
        return self.head(self.features(x))

    def freeze_backbone_(self, frozen=True):
        """Freeze (or unfreeze) ``features``: no gradients, BatchNorm in evaluation mode.

        While frozen, ``train()`` leaves ``features`` in evaluation mode, so training changes
        neither its weights nor its BatchNorm statistics (a linear probe). Returns self.
        """
        self.backbone_frozen = bool(frozen)
        for p in self.features.parameters():
            p.requires_grad_(not frozen)
        return self.train(self.training)

    def train(self, mode=True):
        super().train(mode)
        if getattr(self, "backbone_frozen", False):
            self.features.eval()
        return self

    def load_pretrained(self, weights):
        """Load pretrained weights into the backbone (and the head where it fits).

        ``weights`` is a state dict or the path of one saved with ``torch.save``, in
        torchvision's key layout or this module's. Backbone tensors (``features.``) must
        all be present with this module's shapes: a missing one or another shape (another
        architecture, stem or number of input channels) raises ValueError, never a silent
        skip. The head is loaded where its shape fits and otherwise kept new (another number
        of classes). Keys of other modules (a Barlow Twins projector, ``augment``) and
        preprocessing buffers are ignored. Sets and returns ``load_report_``.
        """
        state = weights if isinstance(weights, dict) else torch.load(weights, map_location="cpu",
                                                                     weights_only=True)
        own = self.state_dict()
        renamed = {}
        for key, value in state.items():
            if not key.startswith(("features.", "head.", "projector.", "augment.")):
                key = "head." + key[3:] if key.startswith("fc.") else "features." + key
            renamed[key] = value
        preprocessing = tuple(f"features.{name}." for name in ("augment", "resize",
                                                               "normalize"))
        backbone = [k for k in own if k.startswith("features.")
                    and not k.startswith(preprocessing)]
        missing = [k for k in backbone if k not in renamed]
        wrong = [f"{k}: {tuple(renamed[k].shape)} for {tuple(own[k].shape)}" for k in backbone
                 if k in renamed and renamed[k].shape != own[k].shape]
        if missing or wrong:
            raise ValueError(
                "pretrained weights do not fit this backbone (arch, stem and input channels "
                f"must match the source's): {len(missing)} missing {_first(missing)}; "
                f"{len(wrong)} of another shape {_first(wrong)}.")
        head = [k for k in own if k.startswith("head.")]
        head_fits = all(k in renamed and renamed[k].shape == own[k].shape for k in head)
        loaded = backbone + (head if head_fits else [])
        self.load_state_dict({k: renamed[k] for k in loaded}, strict=False)
        self.load_report_ = {"loaded": loaded, "new": [] if head_fits else sorted(head),
                             "ignored": sorted(set(renamed) - set(loaded))}
        return self.load_report_


def _first(names, count=5):
    return str(names[:count])[:-1] + (", ...]" if len(names) > count else "]")
