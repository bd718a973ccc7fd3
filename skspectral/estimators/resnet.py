"""SpectralResNetClassifier: a torchvision ResNet trained with a spectral penalty."""

import os

from ..models import ResNet
from ._classifier import SpectralClassifierBase
from ._images import IMAGE_CONSTRAINTS, ImageInputMixin

__all__ = ["SpectralResNetClassifier"]


class SpectralResNetClassifier(ImageInputMixin, SpectralClassifierBase):
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
    module_ : skspectral.models.ResNet
        The fitted torch module (``features`` is Φ, ``head`` the final Linear).
    input_shape_ : tuple (C, H, W)
        Shape of one training image.
    """

    _module_class = ResNet
    _parameter_constraints = {
        **SpectralClassifierBase._parameter_constraints,
        **IMAGE_CONSTRAINTS,
        "augment": ResNet._parameter_constraints["augment"],
        "pretrained_weights": [dict, str, os.PathLike, None],
    }

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
        self._check_image_params()
        weights = self.pretrained_weights
        if weights is not None and not isinstance(weights, dict) and not os.path.isfile(weights):
            raise ValueError(f"pretrained_weights must be a state dict or the path of a file "
                             f"saved with torch.save, got {weights!r}.")

    def _module_params(self, n_features):
        return {"arch": self.arch, "n_classes": len(self.classes_),
                "in_channels": self.input_shape_[0],
                "stem": self.stem, "padding_mode": self.padding_mode,
                "normalize": self.normalize, "augment": self.augment,
                "pretrained_weights": self.pretrained_weights}

