"""SpectralBarlowTwins: self-supervised ResNet features as a scikit-learn transformer."""

import numpy as np
from sklearn.utils._param_validation import StrOptions
from skorch.callbacks import PassthroughScoring

from .._params import CONSTRAINTS, ModuleNames, PositiveInts
from ..data import first_image, is_dataset
from ..models import AUGMENTATIONS, BarlowTwins, BarlowTwinsLoss
from ._base import SpectralEstimatorBase
from ._images import IMAGE_CONSTRAINTS, ImageInputMixin
from ._monitor import LossParts

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
    stem : {"small", "imagenet"}, default="small"
    padding_mode : {"zeros", "circular"}, default="zeros"
    projector : tuple of int, default=(256,)
        Widths of the projector's bias-free Linear layers, BatchNorm + ReLU between them:
        ``(256,)`` the paper's, ``(2048, 2048)`` solo-learn's CIFAR projector.
    lambda_offdiag : float, default=0.005
        Weight of the loss's off-diagonal (redundancy-reduction) term.
    augmentation : {"barlow", "crop-flip", "affine"}, callable or pair of callables, \
            default="barlow"
        The views: a preset (see :func:`~skspectral.models.augment.barlow_views`; colour
        operations apply to three-channel images only), a callable ``batch -> batch``
        applied twice with independent draws, or a pair ``(view1, view2)``. Callables get
        and return float image batches ``(N, C, H, W)`` in [0, 1] on the training device;
        they are pickled with the estimator (use module-level functions or modules).
    value_range : tuple (low, high), optional
        Range of the pixel values, mapped to [0, 1] for the augmentations; None: (0, 255)
        for uint8 images, (0, 1) for float images (which must then lie in [0, 1]).
    normalize : tuple (mean, std), optional
        Per-channel statistics applied inside Φ (inputs stay in pixel units).
    image_shape : tuple (C, H, W), optional
        Shape of one image when X is given as flat rows.
    input_size : tuple, optional
        ``(H, W)`` or ``(C, H, W)`` at which the penalty takes the operator norms; the
        training images' size when None.
    regularizer : {"rep"}, None or list of str, default="rep"
        ``"rep"``: every backbone convolution; None: no penalty; or explicit module names.
    gamma : float, default=0.02
    burnin : int or float, default=0.9
    update_every : int, default=24
    n_power_iterations : int, default=1
    lr : float, default=0.01
    momentum : float or None, default=None
        SGD's momentum, 0.9 when None (see :class:`~skspectral.SpectralMLPClassifier`).
    weight_decay : float, default=1e-4
    batch_size : int, default=1024
        Images per step (each gives two views); the last incomplete batch of an epoch is
        dropped when X holds more than one batch (the loss needs batch statistics).
    max_epochs : int, default=1000
    optimizer : {"sgd", "adam", "adamw"} or torch.optim.Optimizer subclass, default="sgd"
    precision : {"32", "bf16", "fp16"}, default="32"
        Autocast dtype of the backbone and projector in training (augmentations, the loss
        and the penalty run in fp32).
    channels_last : bool, default=False
    device : str or torch.device, default="auto"
    distributed : bool, default=False
        Data-parallel training (see :class:`~skspectral.SpectralMLPClassifier`); the loss
        is that of the global batch: means, variances and the cross-correlation are
        all-reduced over the ranks, as in the original implementation.
    random_state : int, RandomState instance or None, default=None
        Seeds initialization, data order and the augmentations: the same integer gives the
        same views and the same model on the CPU.
    verbose : int, default=0
    callbacks : list, optional
        Extra skorch callbacks, e.g. a :class:`~skspectral.FeatureProbe` that records
        kNN or linear-probe accuracy on a labelled set every epoch.
    checkpoint_dir : str or path-like, optional
    checkpoint_every : int, default=1
        Resumable training (see :class:`~skspectral.SpectralMLPClassifier`).
    **kwargs :
        Routed skorch parameters (``optimizer__nesterov=True``, ...).

    Attributes
    ----------
    n_features_in_ : int
        Values per image.
    input_shape_ : tuple (C, H, W)
    value_range_ : tuple (low, high)
    net_ : skspectral.training.SpectralNet
    module_ : skspectral.models.BarlowTwins
        The fitted torch module: ``features`` (Φ), ``projector``, ``augment``.
    history_ : skorch.History
        Per epoch: ``train_loss`` (the Barlow Twins loss), ``barlow_on_diagonal`` and
        ``barlow_off_diagonal`` (its two terms, the second weighted), ``spectral_norms``
        and ``spectral_penalty`` (with a penalty), and whatever callbacks record.
    spectral_norms_ : dict
        Operator norm of every convolution and projector layer after training.
    regularized_layers_ : list of str
    device_ : str
    n_iter_ : int

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import Pipeline
    >>> from skspectral import SpectralBarlowTwins
    >>> X, y = load_digits(return_X_y=True)
    >>> images = (X / 16).reshape(-1, 1, 8, 8)
    >>> pipe = Pipeline([("feat", SpectralBarlowTwins(max_epochs=1, batch_size=256,
    ...                                               random_state=0)),
    ...                  ("clf", LogisticRegression(max_iter=1000))]).fit(images, y)
    >>> pipe["feat"].transform(images[:2]).shape
    (2, 512)
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
    }

    def __init__(self, arch="resnet18", stem="small", padding_mode="zeros", projector=(256,),
                 lambda_offdiag=0.005, augmentation="barlow", value_range=None, normalize=None,
                 image_shape=None, input_size=None, regularizer="rep", gamma=0.02, burnin=0.9,
                 update_every=24, n_power_iterations=1, lr=0.01, momentum=None,
                 weight_decay=1e-4, batch_size=1024, max_epochs=1000, optimizer="sgd",
                 precision="32", channels_last=False, device="auto", distributed=False,
                 random_state=None, verbose=0, callbacks=None, checkpoint_dir=None,
                 checkpoint_every=1, **kwargs):
        self.arch = arch
        self.stem = stem
        self.padding_mode = padding_mode
        self.projector = projector
        self.lambda_offdiag = lambda_offdiag
        self.augmentation = augmentation
        self.value_range = value_range
        self.normalize = normalize
        self.image_shape = image_shape
        self.input_size = input_size
        self.precision = precision
        self.channels_last = channels_last
        super().__init__(
            regularizer=regularizer, gamma=gamma, burnin=burnin, update_every=update_every,
            n_power_iterations=n_power_iterations, lr=lr, momentum=momentum,
            weight_decay=weight_decay, batch_size=batch_size, max_epochs=max_epochs,
            optimizer=optimizer, device=device, distributed=distributed,
            random_state=random_state, verbose=verbose, callbacks=callbacks,
            checkpoint_dir=checkpoint_dir, checkpoint_every=checkpoint_every, **kwargs)

    # ----------------------------------------------------------------- hooks
    def _check_module_params(self):
        self._check_image_params()
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
                "value_range": self.value_range_}

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
    def _validate_images(self, X, reset):
        if is_dataset(X):
            if reset:
                _, uint8 = first_image(X)
                self.value_range_ = (self._range(self.value_range) if self.value_range
                                     is not None else (0.0, 255.0) if uint8 else (0.0, 1.0))
            # each item's pixels are checked against value_range_ as it is read
            data = self._dataset_input(X, reset, value_range=self.value_range_)
            if reset and len(data) < 2:
                raise ValueError(f"{type(self).__name__} needs at least 2 images (the loss "
                                 f"standardizes over the batch), got {len(data)}.")
            return data
        raw_dtype = getattr(X, "dtype", None)
        X, _ = self._validate_X(X, reset=reset)
        if reset:
            if len(X) < 2:
                raise ValueError(f"{type(self).__name__} needs at least 2 images (the loss "
                                 f"standardizes over the batch), got {len(X)} sample(s).")
            if self.value_range is not None:
                self.value_range_ = self._range(self.value_range)
            elif raw_dtype == np.uint8:
                self.value_range_ = (0.0, 255.0)
            else:
                self.value_range_ = (0.0, 1.0)
        low, high = self.value_range_
        if X.size and (X.min() < low or X.max() > high):
            raise ValueError(f"X has pixel values in [{X.min():.4g}, {X.max():.4g}], outside "
                             f"value_range {self.value_range_}; pass value_range=(low, high) "
                             "with the range of your pixels.")
        return X

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
        self
        """
        scope, optimizer = self._check_params()
        X = self._validate_images(X, reset=True)
        self._start(scope, optimizer)
        return self._train(X, None, self.max_epochs)

    def partial_fit(self, X, y=None):
        """Train for one epoch, continuing from the current state (schedule included).

        The first call builds the network as ``fit`` does.

        Parameters
        ----------
        X : array-like or torch.utils.data.Dataset
        y : None
            Ignored.

        Returns
        -------
        self
        """
        first = not hasattr(self, "net_")
        scope, optimizer = self._check_params()
        X = self._validate_images(X, reset=first)
        if first:
            self._start(scope, optimizer)
        return self._train(X, None, 1)
