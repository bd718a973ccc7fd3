"""The task-neutral scikit-learn face of skspectral's estimators, on top of a skorch net.

:class:`SpectralEstimatorBase` owns the net: routed parameters, shared hyperparameter checks,
device and seed, data parallelism, building and training the net, the penalty schedule,
``transform``, ``spectral_norms_``, ``history_``, ``module_`` and pickling. A task layer on it
(the classifier of :mod:`._classifier`, the self-supervised transformer of :mod:`.barlow`)
declares the task's hooks: its criterion and how labels enter training.
"""

import inspect
import math
from abc import ABCMeta, abstractmethod
from contextlib import contextmanager

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .._checks import check_callbacks, check_device
from .._collectives import broadcast_object, check_process_group, world
from .._params import (
    ModuleNames,
    SubclassOf,
    constraints,
    nested_validation_skipped,
    store_params,
    validate,
)
from .._threads import worker_thread_limits
from ..data import (
    LOADER_PARAMS,
    ArrayDataset,
    BatchLoader,
    ItemDataset,
    TensorBatchIterator,
    check_map_style,
    first_image,
    is_dataset,
)
from ..regularization import (
    REGULARIZERS,
    SpectralRegularization,
    resolve_burnin,
    resolve_scope,
)
from ..spectral import is_pointwise, operator_norm, supports_fft
from ..training import SpectralNet, as_model_input
from ._monitor import DivergenceGuard
from ._progress import EpochProgressBar, progress

__all__ = ["SpectralEstimatorBase", "REGULARIZERS", "OPTIMIZERS", "resolve_device",
           "validate_tabular"]

#: ``optimizer`` names.
OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}

#: The least number of rows per inference batch when ``iterator_valid__batch_size`` is not
#: routed (the training ``batch_size`` when that is larger).
_INFERENCE_BATCH_SIZE = 1024

#: Prefixes of the skorch parameters an estimator routes to its net (``module__x`` ...).
ROUTED_PREFIXES = ("module", "optimizer", "criterion", "iterator_train", "iterator_valid",
                   "callbacks")


def resolve_device(device):
    """Resolve ``"auto"`` to ``"cuda"`` when CUDA is available, else ``"cpu"``.

    Parameters
    ----------
    device : str or torch.device
        ``"auto"``, or anything :class:`torch.device` accepts.

    Returns
    -------
    str
        The device, as torch writes it (``"cpu"``, ``"cuda"``, ``"cuda:1"`` ...).

    Raises
    ------
    ValueError
        If the device string is malformed, names the meta device, or a backend this
        process lacks (CUDA or ``mps`` not available, an index past the last device).

    Examples
    --------
    >>> from skspectral.estimators import resolve_device
    >>> resolve_device("cpu")
    'cpu'
    >>> resolve_device("auto") in ("cpu", "cuda")
    True
    """
    return check_device(device)


def _takes_momentum(optimizer):
    """Whether the optimizer class accepts a ``momentum`` argument (SGD, RMSprop, ...)."""
    return "momentum" in inspect.signature(optimizer.__init__).parameters


@contextmanager
def _seeded(seed, device):
    """Run the body with torch's generators seeded, restoring their state afterwards."""
    dev = torch.device(device)
    devices = [dev.index or 0] if dev.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


class SpectralEstimatorBase(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator,
                            metaclass=ABCMeta):
    """Task-neutral base of the spectrally regularized estimators.

    A concrete estimator defines ``__init__`` (its own parameters, then the shared ones,
    then ``**kwargs`` for routed skorch parameters, stored by ``self._store_params(locals())``)
    and the abstract hooks below; a task layer (classifier, self-supervised transformer)
    defines how its training data is read (``_training_data``).

    Routed parameters. Keyword arguments named ``<prefix>__<name>`` with a prefix in
    ``module``, ``optimizer``, ``criterion``, ``iterator_train``, ``iterator_valid``,
    ``callbacks`` are passed unchanged to the skorch net (e.g. ``optimizer__nesterov=True``);
    they take part in ``get_params``/``set_params``/``clone`` like any parameter.

    The parameters below are those every estimator shares; each concrete estimator lists
    them with its own defaults.

    Parameters
    ----------
    regularizer : str, list of str or None
        Layers penalized: ``"rep"`` the layers up to the feature map Φ (rep-spectral),
        ``"all"`` every layer, ``"head"`` the readout only, None none, or explicit module
        names (the names an estimator accepts are in its own documentation).
    gamma : float
        Penalty strength, >= 0: the penalty is ``(gamma / 2) * sum_l sigma_max(W_l)^2``.
    burnin : int or float
        Penalty-free epochs at the start: an int number of epochs in ``[0, max_epochs]``,
        or a float in ``[0, 1)`` as a fraction of ``max_epochs``.
    update_every : int
        The singular vectors are refreshed and the penalty gradient applied every
        ``update_every`` optimizer steps.
    n_power_iterations : int
        Warm-started power-iteration steps per refresh.
    lr : float
        Learning rate of the optimizer.
    momentum : float or None
        Momentum in [0, 1) of an optimizer that takes one (SGD: 0.9 when None); given with
        one that takes none (Adam), it is a ValueError at ``fit``.
    weight_decay : float
        L2 weight decay of the optimizer.
    batch_size : int
        Mini-batch size for training; inference batches hold ``batch_size`` rows and at
        least 1024 (routed ``iterator_valid__batch_size`` sets them).
    max_epochs : int
        Epochs trained by ``fit``.
    optimizer : {"sgd", "adam", "adamw"} or torch.optim.Optimizer subclass
        The optimizer, by name or class.
    device : str or torch.device
        ``"auto"`` (CUDA when available) or a torch device; the resolved one is ``device_``.
    distributed : bool
        Data-parallel training, one process per device, over an initialized
        torch.distributed process group.
    random_state : int, RandomState instance or None
        Seeds initialization, data order and the power iteration's start.
    verbose : int
        0 silent, 1 a progress bar over epochs, 2 also skorch's per-epoch table.
    callbacks : list of skorch callbacks or (name, callback) tuples, or None
        Extra skorch callbacks, run after the estimator's own.
    checkpoint_dir : str, path-like or None
        Folder where ``fit`` writes its whole training state, and from whose newest good
        checkpoint a later ``fit`` of the same configuration resumes; None: no checkpoints.
    checkpoint_every : int
        Epochs between checkpoints.
    **kwargs : dict
        Routed skorch parameters ``<prefix>__<name>``; any other name is a TypeError.

    Attributes
    ----------
    net_ : skspectral.training.SpectralNet
        The fitted skorch net.
    module_ : torch.nn.Module
        The fitted torch module (``features`` is Φ), in evaluation mode.
    history_ : skorch.History
        Per-epoch records of training.
    spectral_norms_ : dict of str to float
        Operator norm of every Linear and Conv1d/2d/3d layer after training.
    regularized_layers_ : list of str
        Layers the penalty covered (empty without a penalty).
    device_ : str
        Device the model lives on.
    n_iter_ : int
        Epochs trained in total.

    See Also
    --------
    skspectral.estimators.SpectralClassifierBase : The classification task on this base.
    skspectral.SpectralMLPClassifier, skspectral.SpectralResNetClassifier : Classifiers.
    skspectral.SpectralBarlowTwins : The self-supervised transformer.

    Examples
    --------
    >>> from skspectral.estimators import SpectralEstimatorBase, SpectralMLPClassifier
    >>> issubclass(SpectralMLPClassifier, SpectralEstimatorBase)
    True
    >>> clf = SpectralMLPClassifier(optimizer__nesterov=True)  # a routed skorch parameter
    >>> clf.get_params()["optimizer__nesterov"]
    True
    """

    #: The skorch net class; a task layer may extend :class:`SpectralNet`.
    _net_class = SpectralNet

    @property
    @abstractmethod
    def _module_class(self):
        """The torch module class; it must expose ``features`` (Φ)."""

    def _check_module_params(self):
        """Check what ``_parameter_constraints`` cannot express (relations between values)."""

    @abstractmethod
    def _module_params(self, n_features):
        """Keyword arguments of ``_module_class`` (without the ``module__`` prefix)."""

    @abstractmethod
    def _validate_X(self, X, y="no_validation", reset=True):
        """Validated ``(X, y)``: X as the float32 array the module takes."""

    @abstractmethod
    def _training_data(self, X, y, reset):
        """``(data, encoded targets or None)`` that training reads; on ``reset``, the data's
        fitted attributes (``n_features_in_``, ``classes_``, ...) are set from X and y."""

    @abstractmethod
    def _criterion(self):
        """``(criterion class, {parameter: value})`` of the training loss."""

    def _task_callbacks(self):
        """skorch callbacks the task adds, as ``(name, callback)`` pairs."""
        return []

    @abstractmethod
    def __init__(self, *, regularizer, gamma, burnin, update_every, n_power_iterations, lr,
                 momentum, weight_decay, batch_size, max_epochs, optimizer, device,
                 distributed, random_state, verbose, callbacks, checkpoint_dir,
                 checkpoint_every, **kwargs):
        self._store_params(locals())

    def _store_params(self, arguments):
        """Store a constructor's arguments (its ``locals()``): every parameter unchanged.

        scikit-learn's rule for ``__init__``; routed ``**kwargs`` are checked by name only.
        A concrete ``__init__`` lists its own parameters and the shared ones, with its
        defaults, so that ``get_params`` sees them, and calls this once.
        """
        store_params(self, arguments)
        self._store_routed(arguments.get("kwargs", {}))

    def _store_routed(self, kwargs, error=TypeError):
        # Routed values are stored unchecked (scikit-learn's rule for __init__ and
        # set_params; fit validates them), but a name that routes nowhere is a typo, refused
        # at once as Python refuses an unknown keyword (TypeError) and scikit-learn's
        # set_params an unknown parameter (ValueError).
        for key in kwargs:
            if "__" not in key or key.split("__", 1)[0] not in ROUTED_PREFIXES:
                raise error(
                    f"{type(self).__name__} got an unexpected parameter {key!r}; its "
                    f"parameters are {sorted(self._get_param_names())}, and routed skorch "
                    f"parameters look like '<prefix>__<name>' with a prefix in "
                    f"{ROUTED_PREFIXES}.")
        self._routed = {**getattr(self, "_routed", {}), **kwargs}

    def _routed_params(self):
        return dict(getattr(self, "_routed", {}))

    def get_params(self, deep=True):
        """Parameters of this estimator, the routed skorch parameters included.

        Parameters
        ----------
        deep : bool, default=True
            Also return the parameters of contained estimators (scikit-learn's meaning).

        Returns
        -------
        dict
            ``{name: value}`` of every constructor parameter and routed parameter.
        """
        params = super().get_params(deep=deep)
        params.update(self._routed_params())
        return params

    def set_params(self, **params):
        """Set parameters, routed skorch parameters (``<prefix>__<name>``) included.

        Parameters
        ----------
        **params : dict
            New values by name.

        Returns
        -------
        self : object
            The estimator.

        Raises
        ------
        ValueError
            If a name is neither a parameter nor a routed one.
        """
        own = self._get_param_names()
        self._store_routed({k: v for k, v in params.items() if k not in own}, ValueError)
        return super().set_params(**{k: v for k, v in params.items() if k in own})

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        # transform always returns float32, the network's dtype.
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    # ----------------------------------------------------------------- validation
    #: scikit-learn's declarative constraints, checked once at ``fit`` (see
    #: :mod:`skspectral._params`); a concrete estimator extends the table with its own.
    _parameter_constraints = {
        **constraints("gamma", "burnin", "update_every", "n_power_iterations", "lr",
                      "momentum", "weight_decay", "batch_size", "max_epochs", "distributed",
                      "verbose", "random_state", "callbacks", "checkpoint_dir",
                      "checkpoint_every"),
        "regularizer": [StrOptions(set(REGULARIZERS)), None,
                        ModuleNames()],
        "optimizer": [StrOptions(set(OPTIMIZERS)), SubclassOf(torch.optim.Optimizer)],
        "device": [str, torch.device],
    }

    @classmethod
    def _default_optimizer(cls):
        return inspect.signature(cls.__init__).parameters["optimizer"].default

    def _check_params(self):
        """Validate the hyperparameters; return ``(scope, optimizer_class)``.

        Types and ranges are the declarative ``_parameter_constraints``; what remains here
        relates parameters to each other (``burnin`` to ``max_epochs``) or to the model.
        """
        self._validate_params()
        check_callbacks(self.callbacks)
        reg = self.regularizer
        scope = list(reg) if isinstance(reg, (list, tuple)) else REGULARIZERS.get(reg)
        with nested_validation_skipped():  # burnin's type and range are checked just above
            resolve_burnin(self.burnin, self.max_epochs)
        optimizer = OPTIMIZERS.get(self.optimizer, self.optimizer)
        self._check_loader_params()
        if self.momentum is not None and not _takes_momentum(optimizer):
            # Silently dropping it would train another optimizer than the caller meant.
            raise ValueError(
                f"momentum={self.momentum!r} was given, but optimizer={self.optimizer!r} "
                f"takes no momentum: pass optimizer='sgd' for SGD with momentum, or leave "
                f"momentum=None (set Adam's betas with optimizer__betas). "
                f"{type(self).__name__}'s default optimizer is {self._default_optimizer()!r}.")
        self._check_module_params()
        return scope, optimizer

    def _loader_params(self, prefix):
        """The routed DataLoader settings (``<prefix>__num_workers``, ...) without prefix."""
        routed = self._routed_params()
        return {name: routed[f"{prefix}__{name}"] for name in LOADER_PARAMS
                if f"{prefix}__{name}" in routed}

    def _check_loader_params(self):
        for prefix in ("iterator_train", "iterator_valid"):
            params = self._loader_params(prefix)
            validate(type(self).__name__,
                     {f"{prefix}__{k}": v for k, v in constraints(*params).items()},
                     {f"{prefix}__{k}": v for k, v in params.items()})
            if not params.get("num_workers") and (params.get("persistent_workers")
                                                  or params.get("prefetch_factor")):
                raise ValueError(
                    f"{prefix}__persistent_workers and {prefix}__prefetch_factor concern "
                    f"worker processes; set {prefix}__num_workers > 0 with them.")
        if "iterator_valid__batch_size" in self._routed_params():
            validate(type(self).__name__,
                     {"iterator_valid__batch_size": constraints("batch_size")["batch_size"]},
                     {"iterator_valid__batch_size": self._inference_batch_size()})

    def _inference_batch_size(self):
        """Rows per batch of ``predict``, ``transform`` and ``score``.

        ``iterator_valid__batch_size`` when routed (skorch's name), else ``batch_size`` and
        at least 1024 rows: inference keeps no activations for a backward
        pass, so it affords larger batches than training, and a small training batch would
        otherwise cost one forward call per few rows.
        """
        return self._routed_params().get("iterator_valid__batch_size",
                                         max(self.batch_size, _INFERENCE_BATCH_SIZE))

    # ----------------------------------------------------------------- data
    def _check_sample_shape(self, shape, reset):
        """The shape of one sample of a Dataset as the network takes it (vectors here).

        Image estimators override this (``(H, W)`` or ``(C, H, W)`` images).
        """
        if len(shape) != 1:
            raise ValueError(f"{type(self).__name__} takes vectors, but the dataset's items are "
                             f"arrays of shape {shape}.")
        return shape

    def _dataset_input(self, dataset, reset, *, classes=None, y=None, value_range=None):
        """A map-style Dataset as the :class:`~skspectral.data.ItemDataset` training reads.

        Item 0 sets the sample shape (``n_features_in_`` on ``reset``), the pixels' kind
        (uint8 or float) and, where the estimator keeps one, ``input_shape_``; every other
        item is checked against them as it is read.
        """
        n = check_map_style(dataset, type(self).__name__)
        if y is not None and len(y) != n:
            raise ValueError(f"The dataset has {n} items but y has {len(y)} labels; pass y=None "
                             "to use the items' own labels, or one label per item.")
        first, uint8 = first_image(dataset)
        shape = self._check_sample_shape(tuple(first.shape), reset)
        n_features = math.prod(shape)
        if reset:
            self.n_features_in_ = n_features
            if hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        elif n_features != self.n_features_in_:
            raise ValueError(f"The dataset's samples have {n_features} values, but "
                             f"{type(self).__name__} was fitted on {self.n_features_in_}.")
        return ItemDataset(dataset, shape, uint8, classes=classes, y=y, value_range=value_range)

    def _inference_input(self, X):
        """X of ``predict``/``transform``: a checked array, or a Dataset's items unlabelled."""
        if is_dataset(X):
            return self._dataset_input(X, reset=False)
        return self._validate_X(X, reset=False)[0]

    # ----------------------------------------------------------------- training
    def _fit(self, X, y, epochs, reset, **data_options):
        """The template of ``fit`` (``reset``: a fresh net) and ``partial_fit`` (``reset`` on
        the first call): check the hyperparameters, read the training data
        (:meth:`_training_data`, given ``data_options``), build the net on ``reset``, and
        train ``epochs`` epochs."""
        scope, optimizer = self._check_params()
        data, y_encoded = self._training_data(X, y, reset, **data_options)
        found = self._build_fresh_net(scope, optimizer) if reset else None
        return self._train(data, y_encoded, epochs, found)

    # ----------------------------------------------------------------- the net
    def _net_params(self):
        """Extra :class:`~skspectral.training.SpectralNet` parameters of a subclass."""
        return {}

    def _own_net_params(self, n_features, optimizer):
        """The module's, criterion's and optimizer's parameters, prefixed as skorch routes them."""
        optimizer_params = {"weight_decay": self.weight_decay}
        momentum = 0.9 if self.momentum is None and optimizer is torch.optim.SGD \
            else self.momentum
        if momentum is not None:
            optimizer_params["momentum"] = momentum
        return {f"{prefix}__{k}": v for prefix, params in (
                    ("module", self._module_params(n_features)),
                    ("criterion", self._criterion()[1]), ("optimizer", optimizer_params))
                for k, v in params.items()}

    def _net_callbacks(self, scope):
        """The net's callbacks: the estimator's own, then the caller's ``callbacks``."""
        callbacks = [("divergence", DivergenceGuard()), *self._task_callbacks()]
        if scope is not None:
            callbacks.append(("spectral", SpectralRegularization(
                burnin=self.burnin, update_every=self.update_every)))
        if self.verbose >= 1 and world()[0] == 0:  # one bar, on rank 0
            callbacks.append(("progress", EpochProgressBar()))
        return callbacks + list(self.callbacks or [])

    def _build_net(self, n_features, scope, optimizer, device):
        own = self._own_net_params(n_features, optimizer)
        routed = self._routed_params()
        clash = sorted(set(routed) & set(own))
        if clash:
            raise ValueError(f"Routed parameters {clash} duplicate {type(self).__name__}'s own "
                             "parameters; set those directly.")
        if self.verbose < 2 and "callbacks__print_log" not in routed:
            # skorch's PrintLog formats its table every epoch even when it prints nothing,
            # a cost that tiny full-batch epochs feel; below verbose=2 it has nothing to show.
            routed["callbacks__print_log"] = None
        return self._net_class(
            module=self._module_class,
            criterion=self._criterion()[0],
            optimizer=optimizer,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            train_split=None,
            dataset=ArrayDataset,
            iterator_train=BatchLoader,
            iterator_train__shuffle=True,
            iterator_train__seed=self._seed,
            iterator_valid=BatchLoader,
            callbacks=self._net_callbacks(scope),
            device=device,
            verbose=int(self.verbose >= 2),
            spectral_scope=scope,
            spectral_gamma=float(self.gamma),
            spectral_n_power_iterations=int(self.n_power_iterations),
            distributed=self.distributed,
            **self._net_params(),
            **own,
            **routed,
        )

    @worker_thread_limits()  # Dask tasks: torch/BLAS threads of the task
    def _train(self, X, y_encoded, epochs, found=None):
        """Train ``epochs`` more epochs on ``X`` (and encoded targets, None for none).

        With ``checkpoint_dir``, the net's :class:`~skspectral.training.TrainingCheckpoint`
        prepares the call: a net :meth:`_build_fresh_net` has just built first takes the
        state of the checkpoint ``found`` then (the configuration checked), and checkpoints
        are written as it trains.
        """
        # The module, penalty and callbacks are built from the values _check_params checked.
        with _seeded(self._seed + len(self.net_.history or ()), self.device_), \
                nested_validation_skipped():
            if not self.net_.initialized_:
                self.net_.initialize()
            checkpoint = dict(self.net_.callbacks_).get("training_checkpoint")
            if checkpoint is not None:
                epochs = checkpoint.prepare(
                    self.net_, found, X, y_encoded, epochs, max_epochs=self.max_epochs,
                    config=self._checkpoint_config(), seed=self._seed,
                    estimator=type(self).__name__)
            with progress(self.net_, epochs, type(self).__name__):
                # A resumed net trains even 0 epochs: its callbacks' on_train_begin and
                # on_train_end run, as after any training.
                if epochs or found is not None:
                    self.net_.partial_fit(X, y_encoded, epochs=epochs)
        penalty = getattr(self.net_, "penalty_", None)
        self._spectral_norms = None  # computed on first access of spectral_norms_
        self.regularized_layers_ = [] if penalty is None else list(penalty.layers)
        self.n_iter_ = len(self.net_.history)
        # Width of Φ, for get_feature_names_out.
        first = X.sample(0)[None] if isinstance(X, ItemDataset) else X[:1]
        self._n_features_out = int(self._map_batches(
            lambda m, xb: m.features(xb).flatten(1), first).shape[1])
        return self

    def _checkpoint_config(self):
        """``{name: text}`` of what a checkpoint must share with the call resuming from it.

        Every parameter except those that change how training is run or watched, not what
        it computes: ``verbose``, ``device`` (a run may move between machines; resuming on
        another kind of device warns), the checkpoint settings, ``callbacks`` (the caller's
        monitors, e.g. a probe or a time limit: the current call's are used, each given the
        state of the checkpoint's callback of the same name), the inference loader's
        settings and the training loader's memory settings.
        """
        from ..training._fingerprint import describe

        ignored = {"verbose", "device", "checkpoint_dir", "checkpoint_every", "callbacks",
                   "callbacks__print_log"}
        config = {name: describe(value) for name, value in self.get_params(deep=False).items()
                  if name not in ignored
                  and not name.startswith(("iterator_valid__", "callbacks__progress__"))
                  and not name.endswith(("__pin_memory", "__persistent_workers",
                                         "__prefetch_factor"))}
        for name in ("classes_", "n_features_in_", "input_shape_", "value_range_"):
            if hasattr(self, name):
                config[name] = describe(getattr(self, name))
        config["(estimator)"] = f"{type(self).__module__}.{type(self).__qualname__}"
        config["(data-parallel processes)"] = describe(world()[1] if self.distributed else 1)
        return config

    @property
    def spectral_norms_(self):
        """``{layer name: operator norm}`` of every Linear and Conv1d/2d/3d layer of the network.

        Exact for dense layers, 1x1 convolutions and where the FFT applies; power iteration to
        a relative change below 1e-5 (at most 300 steps) for other convolutions, continuing
        from the penalty's warm vectors where it has them. Computed on first access after
        training and cached.
        """
        check_is_fitted(self)
        if getattr(self, "_spectral_norms", None) is None:
            self._spectral_norms = self._final_norms(
                self.net_.module_, self.net_.input_shapes_, getattr(self.net_, "penalty_", None))
        return self._spectral_norms

    @staticmethod
    def _final_norms(module, shapes, penalty):
        inexact = {name for name, shape in shapes.items()
                   if not is_pointwise(module.get_submodule(name))
                   and not supports_fft(module.get_submodule(name), shape)}
        warm = {}
        if penalty is not None and inexact & set(penalty.layers):
            warm = penalty.estimate(module, n_iter=300, tol=1e-5)  # a pure read
        return {name: warm[name] if name in warm and name in inexact else operator_norm(
                    module.get_submodule(name), shapes.get(name), method="auto", n_iter=300,
                    tol=1e-5)
                for name in resolve_scope(module, "all")}

    def _build_fresh_net(self, scope, optimizer):
        """Resolve the device and the seed, and build a fresh net; return the checkpoint found.

        With ``checkpoint_dir``, the net gets a
        :class:`~skspectral.training.TrainingCheckpoint` as its last callback, which checks
        the folder and reads its newest good checkpoint here, before the first epoch (a
        damaged one falls back to the one before it, with a warning, or raises
        :class:`~skspectral.training.CheckpointError`); its seed is the run's. What it
        found (None for nothing) goes to :meth:`_train`.
        """
        from ..training import TrainingCheckpoint

        self.device_ = resolve_device(self.device)
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        checkpoint = found = None
        if self.checkpoint_dir is not None:
            checkpoint = TrainingCheckpoint(self.checkpoint_dir, self.checkpoint_every)
            found = checkpoint.find()
            if found is not None:  # the interrupted run's seed, random_state=None included
                seed = found.header["seed"]
        if self.distributed:
            check_process_group(type(self).__name__)
            if self.device_ == "cuda":  # this process's current GPU, set by the launcher
                self.device_ = f"cuda:{torch.cuda.current_device()}"
            seed = broadcast_object(seed)  # one seed for all ranks (random_state=None too)
        self._seed = seed
        self.net_ = self._build_net(self.n_features_in_, scope, optimizer, self.device_)
        if checkpoint is not None:
            # Last (skorch's PrintLog aside): it saves the epoch after every other callback
            # has recorded it, and on resuming resets what their on_train_begin resets.
            self.net_.callbacks = [*(self.net_.callbacks or []),
                                   ("training_checkpoint", checkpoint)]
        return found

    # ----------------------------------------------------------------- inference
    @worker_thread_limits()
    @torch.inference_mode()
    def _map_batches(self, fn, X):
        module = self.net_.module_
        module.eval()
        device = self.net_.device
        size = self._inference_batch_size()
        if isinstance(X, ItemDataset):
            batches = BatchLoader(X, size, **self._loader_params("iterator_valid"))
        else:
            batches = TensorBatchIterator(ArrayDataset(X), size)
        return torch.cat([fn(module, as_model_input(xb, device)).float().cpu()
                          for xb, _ in batches])

    def transform(self, X):
        """The feature representation Φ(X), the input of the readout.

        Parameters
        ----------
        X : array-like or torch.utils.data.Dataset
            Samples as at ``fit``; a map-style Dataset is read through a DataLoader
            (``iterator_valid__num_workers`` ... set its workers), its labels ignored.

        Returns
        -------
        numpy.ndarray of shape (n_samples, n_features_out)
            The features (float32), computed in evaluation mode.
        """
        check_is_fitted(self)
        X = self._inference_input(X)
        return self._map_batches(lambda m, xb: m.features(xb).flatten(1), X).numpy()

    @property
    def module_(self):
        """The fitted torch module (``features`` is Φ), in evaluation mode on ``device_``.

        The estimator's own module, not a copy: modifying it modifies the estimator.
        """
        check_is_fitted(self)
        return self.net_.module_.eval()

    @property
    def history_(self):
        """The skorch training history (per-epoch losses, ``spectral_norms``, ...)."""
        check_is_fitted(self)
        return self.net_.history

    def __setstate__(self, state):
        # skorch maps a CUDA-trained net to the CPU when CUDA is missing; follow its device.
        self.__dict__.update(state)
        if "net_" in state:
            self.device_ = str(self.net_.device)


def validate_tabular(estimator, X, y="no_validation", reset=True, keep_uint8=False):
    """Check a 2-D finite numeric array and, unless ``"no_validation"``, y.

    X comes out float32, or uint8 as given with ``keep_uint8`` (images: converted a batch at
    a time on the device, never as a whole float copy).
    """
    dtype = [np.float32, np.uint8] if keep_uint8 else np.float32
    if isinstance(y, str) and y == "no_validation":
        return validate_data(estimator, X, reset=reset, dtype=dtype), None
    return validate_data(estimator, X, y, reset=reset, dtype=dtype)
