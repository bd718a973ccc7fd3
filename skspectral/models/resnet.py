"""ResNets from torchvision with a feature map / readout split and a small-image stem."""

from collections import OrderedDict

import torch.nn as nn
import torchvision
from sklearn.utils._param_validation import StrOptions

from .._params import PositiveInts, validate
from ._backbone import BackboneMixin, load_backbone_state, preprocessing, read_state

__all__ = ["ARCHS", "STEMS", "PADDING_MODES", "ResNet"]

#: torchvision architectures :class:`ResNet` builds.
ARCHS = ("resnet18", "resnet34", "resnet50")
#: First blocks of :class:`ResNet`: a 3x3 stride-1 convolution for small images, or
#: torchvision's 7x7 stride-2 convolution and max-pool.
STEMS = ("small", "imagenet")
#: Padding modes of :class:`ResNet`'s padded convolutions.
PADDING_MODES = ("zeros", "circular")


class ResNet(BackboneMixin, nn.Module):
    """A torchvision ResNet as ``head(features(x))``.

    ``features`` runs the stem, the four stages and global average pooling and returns the
    pooled features (512 for ResNet18/34, 2048 for ResNet50); ``head`` is the final Linear.

    Parameters
    ----------
    arch : {"resnet18", "resnet34", "resnet50"}, default="resnet18"
        torchvision architecture (without its weights: nothing is downloaded).
    n_classes : int, default=10
        Number of outputs of the head (logits).
    in_channels : int, default=3
        Number of channels of the input images (the first convolution takes them).
    stem : {"small", "imagenet"}, default="small"
        ``"small"``: a 3x3 stride-1 convolution and no max-pool (the CIFAR variant the paper
        trains on 32x32 images); ``"imagenet"``: torchvision's 7x7 stride-2 convolution and
        max-pool.
    padding_mode : {"zeros", "circular"}, default="zeros"
        Padding of every padded convolution; ``"circular"`` is what the authors trained with
        and makes the FFT operator norm exact.
    normalize : tuple (mean, std), default=None
        Per-channel statistics; normalization then runs inside ``features``, so inputs (and
        attacks) stay in raw pixel units.
    augment : bool, default=False
        Random crop (zero padding 4) and horizontal flip per sample, in training mode only.
    pretrained_weights : str, path or dict, default=None
        A state dict (or a file saved with ``torch.save``) in torchvision's key layout
        (``conv1.weight``, ``layer1.0...``, ``fc.weight``) or in this module's (``features.``,
        ``head.``); see :meth:`load_pretrained`. Nothing is downloaded.
    resize : tuple (H, W), default=None
        Resize inputs to this size inside ``features`` (after augmentation, before
        normalization), e.g. 32 -> 224 px for an ImageNet backbone.
    freeze_backbone : bool, default=False
        Start with ``features`` frozen: no gradients, BatchNorm in evaluation mode (a linear
        probe; see :meth:`freeze_backbone_`).

    Attributes
    ----------
    features : torch.nn.Sequential
        The representation Φ: preprocessing, stem, four stages, pooling, flattening.
    head : torch.nn.Linear
        The readout, pooled features -> ``n_classes``.
    backbone_frozen : bool
        Whether ``features`` is frozen.
    load_report_ : dict or None
        After loading pretrained weights: ``{"loaded": [...], "new": [...], "ignored": [...]}``
        parameter and buffer names.

    Raises
    ------
    ValueError
        If a parameter is not one of its options, or pretrained weights do not fit.

    See Also
    --------
    skspectral.estimators.SpectralResNetClassifier : The estimator that trains it.

    Examples
    --------
    >>> import torch
    >>> from skspectral.models import ResNet
    >>> _ = torch.manual_seed(0)
    >>> model = ResNet(n_classes=3, in_channels=1).eval()
    >>> model(torch.rand(2, 1, 8, 8)).shape
    torch.Size([2, 3])
    >>> model.features(torch.rand(2, 1, 8, 8)).shape  # the representation Φ
    torch.Size([2, 512])

    Weights saved from another ResNet18 of the same stem load into the backbone; the head
    of another number of classes stays new:

    >>> source = ResNet(n_classes=10, in_channels=1)
    >>> report = model.load_pretrained(source.state_dict())
    >>> report["new"]
    ['head.bias', 'head.weight']
    >>> model.freeze_backbone_().backbone_frozen
    True
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
        pre = preprocessing(augment, resize, normalize)
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
        """Logits of a batch.

        Parameters
        ----------
        x : torch.Tensor of shape (N, in_channels, H, W)
            Images in raw pixel units.

        Returns
        -------
        logits : torch.Tensor of shape (N, n_classes)
            ``head(features(x))``.
        """
        return self.head(self.features(x))

    def load_pretrained(self, weights):
        """Load pretrained weights into the backbone (and the head where it fits).

        Backbone tensors (``features.``) must all be present with this module's shapes. The
        head is loaded where its shape fits and otherwise kept new (another number of
        classes). Keys of other modules (a Barlow Twins projector, ``augment``) and
        preprocessing buffers are ignored.

        Parameters
        ----------
        weights : dict or str or path
            A state dict, or the path of one saved with ``torch.save``, in torchvision's key
            layout (``conv1.weight``, ``fc.weight``) or this module's (``features.``,
            ``head.``).

        Returns
        -------
        report : dict
            ``{"loaded": [...], "new": [...], "ignored": [...]}``: parameter and buffer names
            loaded, kept new, and not used; also stored as ``load_report_``.

        Raises
        ------
        ValueError
            If a backbone tensor is missing or of another shape (another architecture, stem
            or number of input channels): never a silent skip.
        """
        state = read_state(weights)
        renamed = {}
        for key, value in state.items():
            if not key.startswith(("features.", "head.", "projector.", "augment.")):
                key = "head." + key[3:] if key.startswith("fc.") else "features." + key
            renamed[key] = value
        self.load_report_ = load_backbone_state(
            self, renamed, "arch, stem and input channels must match the source's")
        return self.load_report_
