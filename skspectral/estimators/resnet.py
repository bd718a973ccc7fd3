"""SpectralResNetClassifier: a torchvision ResNet trained with a spectral penalty."""

import math
import numbers
import os

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted

from ..models import ARCHS, PADDING_MODES, STEMS, ResNet
from ._base import SpectralClassifierBase, validate_tabular

__all__ = ["SpectralResNetClassifier"]

PRECISIONS = ("32", "bf16", "fp16")


def _positive_ints(value, length):
    return (isinstance(value, (tuple, list)) and len(value) == length
            and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1
                    for v in value))


class SpectralResNetClassifier(SpectralClassifierBase):
    """ResNet image classifier with spectral regularization of its convolutions.

    rep-spectral (``regularizer="rep"``) penalizes the operator norm of every convolution up
    to the pooled features (the stem, all block convolutions and the 1x1 shortcut
    convolutions: 20 in ResNet18, 53 in ResNet50), never BatchNorm or the final Linear. Each
    convolution's operator is taken at the input size it sees during training (or at
    ``input_size``), by warm-started power iteration on the operator itself.

    Parameters
    ----------
    arch : {"resnet18", "resnet34", "resnet50"}, default="resnet18"
    stem : {"small", "imagenet"}, default="small"
        ``"small"``: 3x3 stride-1 stem, no max-pool (the CIFAR variant of the paper).
    padding_mode : {"zeros", "circular"}, default="zeros"
        ``"circular"`` is what the authors trained with (the FFT operator norm is then exact).
    pretrained_weights : str, path or dict, optional
        A state dict (torchvision key layout or skspectral's) to start from; nothing is
        downloaded. Tensors that do not fit (e.g. another number of classes) are skipped.
    normalize : tuple (mean, std), optional
        Per-channel statistics applied inside the network (inputs stay in pixel units).
    augment : bool, default=False
        Random crop (zero padding 4) and horizontal flip per sample while training.
    image_shape : tuple (C, H, W), optional
        Shape of one image when X is given as flat rows (n, C*H*W). Without it, flat rows
        of a square length are square one-channel images (784 -> 1x28x28), others 1x1xd.
    input_size : tuple, optional
        ``(H, W)`` or ``(C, H, W)`` at which the penalty takes the operator norms (paper
        App. B.3 recommends the test resolution); the training images' size when None.
    regularizer : {"rep", "all", "head"}, None or list of str, default="rep"
    gamma : float, default=2e-2
        The paper's ResNet value 0.01 in the authors' convention (``gamma * sum sigma^2``).
    burnin : int or float, default=0.8
    update_every : int, default=24
    n_power_iterations : int, default=1
    lr : float, default=0.01
    momentum : float, default=0.9
    weight_decay : float, default=1e-4
    batch_size : int, default=1024
    max_epochs : int, default=200
    optimizer : {"sgd", "adam", "adamw"} or torch.optim.Optimizer subclass, default="sgd"
    precision : {"32", "bf16", "fp16"}, default="32"
        Autocast dtype of the forward pass in training (the penalty runs in fp32).
    channels_last : bool, default=False
    device : str or torch.device, default="auto"
    distributed : bool, default=False
        Data-parallel training over an initialized torch.distributed process group, as in
        :class:`~skspectral.SpectralMLPClassifier`. BatchNorm uses each rank's batch
        statistics; the running statistics are rank 0's.
    random_state : int, RandomState instance or None, default=None
    verbose : int, default=0
    callbacks : list, optional
    **kwargs :
        Routed skorch parameters (``optimizer__nesterov=True``, ...).

    Attributes
    ----------
    classes_, n_features_in_, net_, history_, spectral_norms_, regularized_layers_,
    device_, n_iter_ :
        As in :class:`~skspectral.SpectralMLPClassifier`; ``spectral_norms_`` holds the
        operator norm of every convolution (at its input size) and of the head.
    input_shape_ : tuple (C, H, W)
        Shape of one training image.
    """

    _module_class = ResNet

    def __init__(self, arch="resnet18", stem="small", padding_mode="zeros",
                 pretrained_weights=None, normalize=None, augment=False, image_shape=None,
                 input_size=None, regularizer="rep", gamma=2e-2, burnin=0.8, update_every=24,
                 n_power_iterations=1, lr=0.01, momentum=0.9, weight_decay=1e-4,
                 batch_size=1024, max_epochs=200, optimizer="sgd", precision="32",
                 channels_last=False, device="auto", distributed=False, random_state=None,
                 verbose=0, callbacks=None, **kwargs):
        self.arch = arch
        self.stem = stem
        self.padding_mode = padding_mode
        self.pretrained_weights = pretrained_weights
        self.normalize = normalize
        self.augment = augment
        self.image_shape = image_shape
        self.input_size = input_size
        self.regularizer = regularizer
        self.gamma = gamma
        self.burnin = burnin
        self.update_every = update_every
        self.n_power_iterations = n_power_iterations
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.optimizer = optimizer
        self.precision = precision
        self.channels_last = channels_last
        self.device = device
        self.distributed = distributed
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self._store_routed(kwargs)

    def _check_module_params(self):
        for name, allowed in (("arch", ARCHS), ("stem", STEMS), ("padding_mode", PADDING_MODES),
                              ("precision", PRECISIONS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}.")
        for name in ("augment", "channels_last"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be a bool, got {getattr(self, name)!r}.")
        if self.image_shape is not None and not _positive_ints(self.image_shape, 3):
            raise ValueError(f"image_shape must be (C, H, W) of positive ints, got "
                             f"{self.image_shape!r}.")
        if self.input_size is not None and not (_positive_ints(self.input_size, 2)
                                                or _positive_ints(self.input_size, 3)):
            raise ValueError(f"input_size must be (H, W) or (C, H, W), got {self.input_size!r}.")
        if self.normalize is not None:
            try:
                mean, std = (np.asarray(v, dtype=float).ravel() for v in self.normalize)
            except (TypeError, ValueError):
                raise ValueError("normalize must be a pair (mean, std) of per-channel "
                                 f"sequences, got {self.normalize!r}.") from None
            if len(mean) != len(std) or not np.all(std > 0) or not np.all(np.isfinite(mean)):
                raise ValueError("normalize needs as many means as stds, finite, with std > 0; "
                                 f"got {self.normalize!r}.")
        weights = self.pretrained_weights
        if weights is not None and not isinstance(weights, dict) and not os.path.isfile(weights):
            raise ValueError(f"pretrained_weights must be a state dict or the path of a file "
                             f"saved with torch.save, got {weights!r}.")

    def _validate_X(self, X, y="no_validation", reset=True):
        shape = None
        if not sp.issparse(X) and not hasattr(X, "iloc"):
            arr = np.asarray(X)
            if arr.ndim in (3, 4):
                shape = arr.shape[1:] if arr.ndim == 4 else (1, *arr.shape[1:])
                X = arr.reshape(len(arr), -1)
            elif arr.ndim > 4:
                raise ValueError(f"X must be images (n, C, H, W) or (n, H, W), or flat rows "
                                 f"(n, C*H*W); got an array of shape {arr.shape}.")
        X, y = validate_tabular(self, X, y, reset=reset)
        d = X.shape[1]
        if shape is None:
            if self.image_shape is not None:
                shape = tuple(self.image_shape)
            elif not reset:
                shape = self.input_shape_
            else:
                side = math.isqrt(d)
                shape = (1, side, side) if side * side == d else (1, 1, d)
        if math.prod(shape) != d:
            raise ValueError(f"image_shape {tuple(shape)} does not match the {d} values per "
                             "row of X.")
        if reset:
            self.input_shape_ = tuple(int(s) for s in shape)
            if self.normalize is not None and len(np.ravel(self.normalize[0])) != shape[0]:
                raise ValueError(f"normalize has {len(np.ravel(self.normalize[0]))} channel "
                                 f"statistics, the images {shape[0]} channels.")
        elif tuple(shape) != self.input_shape_:
            raise ValueError(f"X has images of shape {tuple(shape)}, but "
                             f"{type(self).__name__} was fitted on {self.input_shape_}.")
        return X.reshape(len(X), *shape), y

    def _module_params(self, n_features, n_classes):
        return {"arch": self.arch, "n_classes": n_classes, "in_channels": self.input_shape_[0],
                "stem": self.stem, "padding_mode": self.padding_mode,
                "normalize": self.normalize, "augment": self.augment,
                "pretrained_weights": self.pretrained_weights}

    def _net_params(self):
        size = self.input_size
        if size is None:
            size = self.input_shape_
        elif len(size) == 2:
            size = (self.input_shape_[0], *size)
        return {"spectral_input_size": tuple(size), "precision": self.precision,
                "channels_last": self.channels_last}

    @property
    def input_shapes_(self):
        """``{conv name: (c_in, H, W)}``: the input size each convolution is regularized at."""
        check_is_fitted(self)
        return dict(self.net_.input_shapes_)
