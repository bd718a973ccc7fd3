"""Barlow Twins: a ResNet feature map, a projector, and two augmented views per image."""

from collections import OrderedDict

import torch.nn as nn

from .augment import TwoViews
from .generic import FeatureNetwork
from .resnet import ResNet

__all__ = ["BarlowTwins", "make_projector"]


def make_projector(in_features, widths):
    """The projector ``Φ(x) -> z``: bias-free Linear layers, BatchNorm + ReLU between them.

    ``(256,)`` is the paper's single Linear 512 -> 256; ``(2048, 2048)`` is solo-learn's
    CIFAR projector (Linear, BatchNorm, ReLU, Linear).

    Parameters
    ----------
    in_features : int
        Width of the features Φ the projector takes (512 for ResNet18/34).
    widths : tuple of int
        Output width of each Linear layer (at least one).

    Returns
    -------
    projector : torch.nn.Sequential
        Layers named ``linear0, bn0, relu0, linear1, ...``.

    Examples
    --------
    >>> from skspectral.models import make_projector
    >>> projector = make_projector(512, (64, 32))
    >>> [name for name, _ in projector.named_children()]
    ['linear0', 'bn0', 'relu0', 'linear1']
    >>> projector.linear1
    Linear(in_features=64, out_features=32, bias=False)
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
    (``"rep"``) covers the backbone's convolutions and never the projector. The two
    views run through the backbone separately (BatchNorm statistics per view, as in the
    original implementation). ``augment`` is not part of Φ: features of an image are those
    of the image itself.

    Parameters
    ----------
    arch : {"resnet18", "resnet34", "resnet50"}, default="resnet18"
        torchvision architecture of the backbone Φ.
    in_channels : int, default=3
        Number of channels of the input images.
    stem : {"small", "imagenet"}, default="small"
        First block of the backbone: ``"small"`` is a 3x3 stride-1 convolution without
        max-pool (for 32 px images), ``"imagenet"`` torchvision's 7x7 stride-2 convolution
        and max-pool (see :class:`~skspectral.models.ResNet`).
    padding_mode : {"zeros", "circular"}, default="zeros"
        Padding of the backbone's padded convolutions; ``"circular"`` makes the FFT
        operator norm of the convolutions exact.
    normalize : tuple (mean, std), default=None
        Per-channel statistics; when given, normalization runs inside ``features``, so
        inputs stay in raw pixel units.
    projector : tuple of int, default=(256,)
        Widths of the projector's Linear layers (:func:`make_projector`).
    image_shape : tuple (C, H, W), default=(3, 32, 32)
        Shape of one image (the views keep it).
    augmentation : str, callable or pair of callables, default="barlow"
        How the two views are drawn: a preset from
        :data:`~skspectral.models.AUGMENTATIONS`, one callable applied twice, or a pair of
        callables (see :class:`TwoViews`).
    value_range : tuple (low, high), default=(0.0, 1.0)
        Range of the input pixel values; the augmentations see them mapped to [0, 1].
    backbone : type, torch.nn.Module or str, optional
        Any network instead of the ResNet ``arch``: an ``nn.Module`` class (built with
        ``**backbone_params``), an instance (deep-copied) or a torchvision classification
        model name. Φ is cut from it as :meth:`FeatureNetwork.build` does (``features``);
        ``stem="small"`` adapts a torchvision family's stem (see
        :func:`~skspectral.models.small_stem_`), ``"imagenet"`` keeps the network's own.
        ``arch`` and ``padding_mode`` then do not apply.
    features : None, str or callable, default=None
        Where Φ ends in ``backbone`` (see :func:`~skspectral.models.feature_map`).
    **backbone_params :
        Constructor parameters of ``backbone``.

    Attributes
    ----------
    features : torch.nn.Sequential
        The backbone Φ, as :class:`~skspectral.models.ResNet`'s ``features`` (or
        :class:`~skspectral.models.FeatureNetwork`'s, with ``backbone``).
    projector : torch.nn.Sequential
        The projector (:func:`make_projector`).
    augment : TwoViews
        Draws the two views of a batch.

    See Also
    --------
    BarlowTwinsLoss : The loss of the two projections.
    skspectral.estimators.SpectralBarlowTwins : The estimator that trains it.

    Examples
    --------
    >>> import torch
    >>> from skspectral.models import BarlowTwins
    >>> _ = torch.manual_seed(0)
    >>> model = BarlowTwins(projector=(16,), image_shape=(3, 8, 8), augmentation="crop-flip")
    >>> z1, z2 = model(torch.rand(4, 3, 8, 8))
    >>> z1.shape, z2.shape
    (torch.Size([4, 16]), torch.Size([4, 16]))
    >>> model.features(torch.rand(4, 3, 8, 8)).shape  # the representation Φ
    torch.Size([4, 512])
    """

    def __init__(self, arch="resnet18", in_channels=3, stem="small", padding_mode="zeros",
                 normalize=None, projector=(256,), image_shape=(3, 32, 32),
                 augmentation="barlow", value_range=(0.0, 1.0), backbone=None,
                 features=None, **backbone_params):
        super().__init__()
        if backbone is None:
            if backbone_params or features is not None:
                given = sorted(backbone_params) + (["features"] if features is not None else [])
                raise ValueError(f"{given} apply to a backbone network, but backbone is None "
                                 f"(the ResNet arch={arch!r} is used).")
            backbone = ResNet(arch, n_classes=1, in_channels=in_channels, stem=stem,
                              padding_mode=padding_mode, normalize=normalize)
        else:  # Φ of any network, resolved as SpectralClassifier resolves it
            backbone = FeatureNetwork.build(
                backbone, n_classes=1, input_shape=(in_channels, *tuple(image_shape)[1:]),
                features=features, stem="small" if stem == "small" else None,
                normalize=normalize, **backbone_params)
        self.features = backbone.features
        self.projector = make_projector(backbone.head.in_features, tuple(projector))
        self.augment = TwoViews(augmentation, image_shape, value_range)

    def forward(self, x):
        """Projections of two augmented views of a batch.

        Parameters
        ----------
        x : torch.Tensor of shape (N, C, H, W)
            Images with pixel values in ``value_range``.

        Returns
        -------
        z1, z2 : torch.Tensor of shape (N, projector[-1])
            Projections of the first and of the second view.
        """
        view1, view2 = self.augment(x)
        return (self.projector(self.features(view1).flatten(1)),
                self.projector(self.features(view2).flatten(1)))
