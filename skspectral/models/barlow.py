"""Barlow Twins: a ResNet feature map, a projector, and two augmented views per image."""

from collections import OrderedDict

import torch.nn as nn

from .augment import TwoViews
from .resnet import ResNet

__all__ = ["BarlowTwins", "make_projector"]


def make_projector(in_features, widths):
    """The projector ``Φ(x) -> z``: bias-free Linear layers, BatchNorm + ReLU between them.

    ``(256,)`` is the paper's single Linear 512 -> 256; ``(2048, 2048)`` is solo-learn's
    CIFAR projector (Linear, BatchNorm, ReLU, Linear).

    Parameters
    ----------
    in_features : int
    widths : tuple of int
        Output width of each Linear layer (at least one).

    Returns
    -------
    torch.nn.Sequential
        Layers named ``linear0, bn0, relu0, linear1, ...``.
    """
    layers = OrderedDict()
    width = in_features
    for i, out in enumerate(widths):
        if i:
            layers[f"bn{i - 1}"] = nn.BatchNorm1d(width)
            layers[f"relu{i - 1}"] = nn.ReLU(inplace=True)
        layers[f"linear{i}"] = nn.Linear(width, out, bias=False)
        width = out
    return nn.Sequential(layers)


class BarlowTwins(nn.Module):
    """``x -> (projector(Φ(view1(x))), projector(Φ(view2(x))))`` for the Barlow Twins loss.

    ``features`` is Φ, the ResNet feature map (stem, four stages, global average pooling),
    exactly as in :class:`~skspectral.models.ResNet`, so the rep-spectral scope
    ("representation") covers the backbone's convolutions and never the projector. The two
    views run through the backbone separately (BatchNorm statistics per view, as in the
    original implementation). ``augment`` is not part of Φ: features of an image are those
    of the image itself.

    Parameters
    ----------
    arch, in_channels, stem, padding_mode, normalize :
        As in :class:`~skspectral.models.ResNet`.
    projector : tuple of int, default=(256,)
        Widths of the projector's Linear layers (:func:`make_projector`).
    image_shape : tuple (C, H, W), default=(3, 32, 32)
        Shape of one image (the views keep it).
    augmentation : str, callable or pair of callables, default="barlow"
        See :class:`~skspectral.models.augment.TwoViews`.
    value_range : tuple (low, high), default=(0.0, 1.0)
        Range of the pixel values.
    """

    def __init__(self, arch="resnet18", in_channels=3, stem="small", padding_mode="zeros",
                 normalize=None, projector=(256,), image_shape=(3, 32, 32),
                 augmentation="barlow", value_range=(0.0, 1.0)):
        super().__init__()
        backbone = ResNet(arch, n_classes=1, in_channels=in_channels, stem=stem,
                          padding_mode=padding_mode, normalize=normalize)
        self.features = backbone.features
        self.projector = make_projector(backbone.head.in_features, tuple(projector))
        self.augment = TwoViews(augmentation, image_shape, value_range)

    def forward(self, x):
        view1, view2 = self.augment(x)
        return self.projector(self.features(view1)), self.projector(self.features(view2))
