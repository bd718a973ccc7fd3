"""SpectralBarlowTwins: self-supervised ResNet features as a scikit-learn transformer."""

import numpy as np
from sklearn.utils._param_validation import StrOptions
from skorch.callbacks import PassthroughScoring

from .._params import CONSTRAINTS, ModuleNames, PositiveInts
from ..data import first_image, is_dataset
from ..models import AUGMENTATIONS, BarlowTwins, BarlowTwinsLoss, check_network
from ._base import SpectralEstimatorBase
from ._images import IMAGE_CONSTRAINTS, ImageInputMixin
from ._monitor import LossParts
from .generic import NETWORK_CONSTRAINTS, _network_params

__all__ = ["SpectralBarlowTwins"]

#: History keys of the loss's two terms.
_PARTS = ("barlow_on_diagonal", "barlow_off_diagonal")


class SpectralBarlowTwins(ImageInputMixin, SpectralEstimatorBase):
    """Barlow Twins pretraining of a ResNet with rep-spectral on the backbone; a transformer.

    ``fit(X)`` learns a representation without labels: every image gives two augmented
    views (random parameters per sample, drawn and applied a batch at a time on the training
    device), both go through the backbone Φ and a projector, and the Barlow Twins loss makes
    the standardized projections' cross-correlation the identity. The spectral penalty
    covers the backbone's convolutions only (20 in ResNet18), never the projector.
    ``transform(X)`` returns Φ(X), the pooled backbone features, for a readout retrained
    downstream, typically in a :class:`~sklearn.pipeline.Pipeline` with a
    LogisticRegression, which :func:`~skspectral.adversarial_distances` and
    :class:`~skspectral.RobustnessScorer` then attack as one torch module on the device.

    The defaults are the paper's CIFAR-10 setting (ResNet18 with the small stem, single
    Linear 512 -> 256 projector, SGD lr 0.01, batch 1024, 1000 epochs, penalty from 90% of
    them on, every 24 steps, gamma 0.01 in the authors' convention = 0.02 here).

    Parameters
    ----------
    arch : {"resnet18", "resnet34", "resnet50"}, default="resnet18"
        The torchvision ResNet architecture of the backbone Φ.
    stem : {"small", "imagenet"}, default="small"
        ``"small"``: 3x3 stride-1 stem, no max-pool (the CIFAR variant of the paper);
        ``"imagenet"``: torchvision's 7x7 stride-2 stem and max-pool, for large images.
    padding_mode : {"zeros", "circular"}, default="zeros"
        Padding of every backbone convolution (``"circular"``: the FFT operator norm is
        exact).
    projector : tuple of int, default=(256,)
        Widths of the projector's bias-free Linear layers, BatchNorm + ReLU between them:
        ``(256,)`` the paper's, ``(2048, 2048)`` solo-learn's CIFAR projector.
    lambda_offdiag : float, default=0.005
        Weight of the loss's off-diagonal (redundancy-reduction) term.
    augmentation : {"barlow", "crop-flip", "affine"}, callable or pair of callables, \
            default="barlow"
        The views: a preset of :data:`~skspectral.models.AUGMENTATIONS` (``"barlow"`` the
        paper's crops, flips, colour jitter, blur and solarization, colour operations on
        three-channel images only; ``"crop-flip"`` the crop and flip alone; ``"affine"``
        small rotations, shifts and scalings plus noise, for small grayscale images such
        as digits), a callable ``batch -> batch``
        applied twice with independent draws, or a pair ``(view1, view2)``. Callables get
        and return float image batches ``(N, C, H, W)`` in [0, 1] on the training device;
        they are pickled with the estimator (use module-level functions or modules).
    value_range : tuple (low, high) or None, default=None
        Range of the pixel values, mapped to [0, 1] for the augmentations; None: (0, 255)
        for uint8 images, (0, 1) for float images (which must then lie in [0, 1]).
    normalize : tuple (mean, std) or None, default=None
        Per-channel statistics applied inside Φ (inputs stay in pixel units); None applies
        none.
    image_shape : tuple (C, H, W) or None, default=None
        Shape of one image when X is given as flat rows; None: rows of a square length are
        square one-channel images, others ``1 x 1 x d``.
    input_size : tuple or None, default=None
        ``(H, W)`` or ``(C, H, W)`` at which the penalty takes the operator norms; the
        training images' size when None.
    backbone : type, torch.nn.Module, str or None, default=None
        Any network as the backbone instead of the ResNet ``arch``, resolved as
        :class:`~skspectral.SpectralClassifier` resolves its ``module``: an ``nn.Module``
        class (built with the routed ``module__*`` parameters), an instance (deep-copied)
        or a torchvision classification model name; Φ is what precedes its final Linear
        readout, or what ``features`` names. ``stem="small"`` adapts a torchvision family's
        stem to small images, ``"imagenet"`` keeps the network's own (use it for your own
        module). ``arch`` and ``padding_mode`` then do not apply. The penalty covers every
        Linear and convolution of Φ.
    features : None, str or callable, default=None
        Where Φ ends in ``backbone``: a submodule name or a callable ``network -> Φ``
        (see :class:`~skspectral.SpectralClassifier`).
    regularizer : {"rep"}, list of str or None, default="rep"
        ``"rep"``: every backbone convolution; None: no penalty; or explicit module names.
    gamma : float, default=0.02
        Penalty strength, >= 0, of ``(gamma / 2) * sum_l sigma_max(W_l)^2``: the paper's
        0.01 in the authors' convention (``gamma * sum sigma^2``).
    burnin : int or float, default=0.9
        Penalty-free epochs at the start: an int number of epochs in ``[0, max_epochs]``,
        or a float in ``[0, 1)`` as a fraction of ``max_epochs``.
    update_every : int, default=24
        The singular vectors are refreshed and the penalty gradient applied every
        ``update_every`` optimizer steps, which amortizes the power iteration's cost.
    n_power_iterations : int, default=1
        Warm-started power-iteration steps per refresh.
    lr : float, default=0.01
        Learning rate of the optimizer.
    momentum : float or None, default=None
        Momentum in [0, 1) of an optimizer that takes one (SGD: 0.9 when None); given with
        one that takes none (Adam), it is a ValueError at ``fit``.
    weight_decay : float, default=1e-4
        L2 weight decay of the optimizer.
    batch_size : int, default=1024
        Images per step (each gives two views); the last incomplete batch of an epoch is
        dropped when X holds more than one batch (the loss needs batch statistics).
        ``transform`` reads ``max(batch_size, 1024)`` images a batch unless
        ``iterator_valid__batch_size`` is routed.
    max_epochs : int, default=1000
        Epochs trained by ``fit``.
    optimizer : {"sgd", "adam", "adamw"} or torch.optim.Optimizer subclass, default="sgd"
        The optimizer, by name or class; its further arguments are routed as
        ``optimizer__<name>``.
    precision : {"32", "bf16", "fp16"}, default="32"
        Autocast dtype of the backbone and projector in training (augmentations, the loss
        and the penalty run in fp32).
    channels_last : bool, default=False
        Keep the module and the batches in channels-last memory format (faster
        convolutions on recent GPUs; the same results).
    device : str or torch.device, default="auto"
        ``"auto"`` uses CUDA when available; the resolved device is ``device_``.
    distributed : bool, default=False
        Data-parallel training, one process per device, over an initialized
        torch.distributed process group (see docs/guide.md); the loss
        is that of the global batch: means, variances and the cross-correlation are
        all-reduced over the ranks, as in the original implementation.
    random_state : int, RandomState instance or None, default=None
        Seeds initialization, data order and the augmentations: the same integer gives the
        same views and the same model on the CPU.
    verbose : int, default=0
        0 silent, 1 a progress bar over epochs, 2 also skorch's per-epoch table.
    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Extra skorch callbacks, run after the estimator's own, e.g. a
        :class:`~skspectral.FeatureProbe` that records kNN or linear-probe accuracy on a
        labelled set every epoch.
    checkpoint_dir : str, path-like or None, default=None
        Folder where ``fit`` writes its whole training state every ``checkpoint_every``
        epochs; a later ``fit`` of the same configuration resumes from the newest good
        checkpoint (docs/checkpoints.md). None: no checkpoints.
    checkpoint_every : int, default=1
        Epochs between checkpoints (with ``checkpoint_dir``).
    **kwargs : dict
        Routed skorch parameters ``<prefix>__<name>`` (``optimizer__nesterov=True``,
        ``iterator_train__num_workers=4``, ...), passed unchanged to the skorch net.

    Attributes
    ----------
    n_features_in_ : int
        Values per image.
    input_shape_ : tuple (C, H, W)
        Shape of one training image.
    input_shapes_ : dict of str to tuple
        ``{convolution: (c_in, H, W)}``, the input size each is regularized at.
    value_range_ : tuple (low, high)
        Pixel range mapped to [0, 1] for the augmentations.
    net_ : skspectral.training.SpectralNet
        The fitted skorch net.
    module_ : skspectral.models.BarlowTwins
        The fitted torch module: ``features`` (Φ), ``projector``, ``augment``.
    history_ : skorch.History
        Per epoch: ``train_loss`` (the Barlow Twins loss), ``barlow_on_diagonal`` and
        ``barlow_off_diagonal`` (its two terms, the second weighted), ``spectral_norms``
        and ``spectral_penalty`` (with a penalty), and whatever callbacks record.
    spectral_norms_ : dict
        Operator norm of every convolution and projector layer after training.
    regularized_layers_ : list of str
        Layers the penalty covered (empty when ``regularizer=None``).
    device_ : str
        Device the model lives on.
    n_iter_ : int
        Epochs trained in total.

    See Also
    --------
    skspectral.SpectralResNetClassifier : Supervised training, or fine-tuning of Φ.
    skspectral.FeatureProbe : Per-epoch kNN or linear-probe accuracy of the features.

    Examples
    --------
    Pretrain on 20 digits (pixels in [0, 1]) and retrain a readout on Φ:

    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import Pipeline
    >>> from skspectral import SpectralBarlowTwins
    >>> X, y = load_digits(return_X_y=True)
    >>> images, labels = (X[:20] / 16).reshape(-1, 1, 8, 8), y[:20]
    >>> pipe = Pipeline([("feat", SpectralBarlowTwins(max_epochs=1, batch_size=20,
    ...                                               random_state=0)),
    ...                  ("clf", LogisticRegression(max_iter=1000))]).fit(images, labels)
    >>> barlow = pipe["feat"]
    >>> barlow.transform(images[:2]).shape
    (2, 512)
    >>> barlow.value_range_, len(barlow.regularized_layers_)
    ((0.0, 1.0), 20)
    >>> sorted(k for k in barlow.history_[-1] if k.startswith("barlow_") and "best" not in k)
    ['barlow_off_diagonal', 'barlow_on_diagonal']
    >>> pipe.predict(images[:3]).shape
    (3,)
    """

    _module_class = BarlowTwins
    _parameter_constraints = {
        **SpectralEstimatorBase._parameter_constraints,
        **IMAGE_CONSTRAINTS,
        # the projector is never penalized: the backbone ("rep"), nothing, or named modules
        "regularizer": [StrOptions({"rep"}), None, ModuleNames()],
        "projector": [PositiveInts()],
        "lambda_offdiag": [CONSTRAINTS["gamma"][0]],  # a finite float >= 0
        "augmentation": [StrOptions(set(AUGMENTATIONS)), callable, tuple, list],
        "value_range": [tuple, list, None],
        "backbone": [*NETWORK_CONSTRAINTS["module"], None],
        "features": NETWORK_CONSTRAINTS["features"],
    }

    def __init__(self, arch="resnet18", stem="small", padding_mode="zeros", projector=(256,),
                 lambda_offdiag=0.005, augmentation="barlow", value_range=None, normalize=None,
                 image_shape=None, input_size=None, backbone=None, features=None,
                 regularizer="rep", gamma=0.02, burnin=0.9,
                 update_every=24, n_power_iterations=1, lr=0.01, momentum=None,
                 weight_decay=1e-4, batch_size=1024, max_epochs=1000, optimizer="sgd",
                 precision="32", channels_last=False, device="auto", distributed=False,
                 random_state=None, verbose=0, callbacks=None, checkpoint_dir=None,
                 checkpoint_every=1, **kwargs):
        self._store_params(locals())

    # ----------------------------------------------------------------- hooks
    def _check_module_params(self):
        self._check_image_params()
        params = _network_params(self)
        if self.backbone is not None:
            check_network(self.backbone, params, self.features)
        elif params or self.features is not None:
            given = sorted(f"module__{k}" for k in params) + (
                ["features"] if self.features is not None else [])
            raise ValueError(f"{given} apply to a backbone network, but backbone is None (the "
                             f"ResNet arch={self.arch!r} is used).")
        views = self.augmentation
        if isinstance(views, (tuple, list)) and not (len(views) == 2
                                                     and all(map(callable, views))):
            raise ValueError(f"augmentation as a sequence must be a pair of callables "
                             f"batch -> batch (one per view), got {views!r}.")
        if self.value_range is not None:
            low, high = self._range(self.value_range)
            if not (np.isfinite([low, high]).all() and low < high):
                raise ValueError(f"value_range must be finite (low, high) with low < high, got "
                                 f"{self.value_range!r}.")

    @staticmethod
    def _range(value_range):
        try:
            low, high = (float(v) for v in value_range)
        except (TypeError, ValueError):
            raise ValueError(f"value_range must be a pair (low, high), got "
                             f"{value_range!r}.") from None
        return low, high

    def _module_params(self, n_features):
        return {"arch": self.arch, "in_channels": self.input_shape_[0], "stem": self.stem,
                "padding_mode": self.padding_mode, "normalize": self.normalize,
                "projector": tuple(int(w) for w in self.projector),
                "image_shape": self.input_shape_, "augmentation": self.augmentation,
                "value_range": self.value_range_, "backbone": self.backbone,
                "features": self.features}

    def _criterion(self):
        return BarlowTwinsLoss, {"lambda_offdiag": float(self.lambda_offdiag),
                                 "distributed": self.distributed}

    def _net_params(self):
        # Every step needs batch statistics: an incomplete last batch is dropped where there
        # are full ones (as the original implementation does; one image would have none).
        return {**super()._net_params(), "iterator_train__min_last_batch": int(self.batch_size)}

    def _task_callbacks(self):
        return [("loss_parts", LossParts(_PARTS)),
                *((name, PassthroughScoring(name, on_train=True)) for name in _PARTS)]

    # ----------------------------------------------------------------- data
    def _training_data(self, X, y, reset):
        # Images only: y is ignored (self-supervised) and no targets are encoded.
        if is_dataset(X):
            if reset:
                self.value_range_ = self._value_range(first_image(X)[1])
            # each item's pixels are checked against value_range_ as it is read
            X = self._dataset_input(X, reset, value_range=self.value_range_)
        else:
            uint8 = getattr(X, "dtype", None) == np.uint8
            X, _ = self._validate_X(X, reset=reset)
        if reset and len(X) < 2:
            raise ValueError(f"{type(self).__name__} needs at least 2 images (the loss "
                             f"standardizes over the batch), got {len(X)} sample(s).")
        if not is_dataset(X):
            if reset:
                self.value_range_ = self._value_range(uint8)
            low, high = self.value_range_
            if X.size and (X.min() < low or X.max() > high):
                raise ValueError(f"X has pixel values in [{X.min():.4g}, {X.max():.4g}], "
                                 f"outside value_range {self.value_range_}; pass "
                                 "value_range=(low, high) with the range of your pixels.")
        return X, None

    def _value_range(self, uint8):
        """``value_range`` as a pair, or the pixels' kind's range: (0, 255) uint8, (0, 1)."""
        if self.value_range is not None:
            return self._range(self.value_range)
        return (0.0, 255.0) if uint8 else (0.0, 1.0)

    # ----------------------------------------------------------------- API
    def fit(self, X, y=None):
        """Pretrain the backbone from scratch for ``max_epochs`` epochs, without labels.

        Parameters
        ----------
        X : array-like or torch.utils.data.Dataset
            Images ``(n, C, H, W)`` or ``(n, H, W)``, or flat rows with ``image_shape``;
            uint8 or float pixels within ``value_range``. Or a map-style Dataset of images
            or ``(image, label)`` items (labels ignored; ``torchvision.datasets.ImageFolder``
            for a folder of files), read through a DataLoader: ``iterator_train__num_workers``,
            ``__pin_memory``, ``__persistent_workers`` and ``__prefetch_factor`` set it up.
        y : None
            Ignored (self-supervised); accepted for Pipeline compatibility.

        Returns
        -------
        self : object
            The fitted estimator.

        Raises
        ------
        ValueError
            If a hyperparameter is out of range, X holds fewer than 2 images, or pixels lie
            outside ``value_range``.
        """
        return self._fit(X, y, self.max_epochs, reset=True)

    def partial_fit(self, X, y=None):
        """Train for one epoch, continuing from the current state (schedule included).

        The first call builds the network as ``fit`` does.

        Parameters
        ----------
        X : array-like or torch.utils.data.Dataset
            Images of this epoch, in the forms :meth:`fit` takes.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The estimator, trained one epoch more.
        """
        return self._fit(X, y, 1, reset=not hasattr(self, "net_"))
