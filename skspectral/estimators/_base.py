"""The task-neutral scikit-learn face of skspectral's estimators, on top of a skorch net.

:class:`SpectralEstimatorBase` owns the net: routed parameters, shared hyperparameter checks,
device and seed, data parallelism, building and training the net, the penalty schedule,
``transform``, ``spectral_norms_``, ``history_``, ``module_`` and pickling. A task layer on it
(the classifier of :mod:`._classifier`, the self-supervised transformer of :mod:`.barlow`)
declares the task's hooks: its criterion and how labels enter training.
"""

import inspect
from abc import ABCMeta, abstractmethod
from contextlib import contextmanager

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .._distributed import broadcast_object, check_process_group, world
from .._params import ModuleNames, SubclassOf, constraints, nested_validation_skipped
from ..regularization import (
    REGULARIZERS,
    SpectralRegularization,
    resolve_burnin,
    resolve_scope,
)
from ..spectral import is_pointwise, operator_norm, supports_fft
from ..training import SpectralNet
from ._data import ArrayDataset, TensorBatchIterator
from ._monitor import DivergenceGuard
from ._progress import EpochProgressBar, progress

__all__ = ["SpectralEstimatorBase", "REGULARIZERS", "OPTIMIZERS", "resolve_device",
           "validate_tabular"]

#: ``optimizer`` names.
OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}

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

    Raises
    ------
    ValueError
        If the device string is malformed, or CUDA is asked for and not available.
    """
    if isinstance(device, str) and device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device must be 'auto' or a torch device such as 'cpu' or 'cuda', "
                         f"got {device!r}.") from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but CUDA is not available; use "
                         "device='auto' or 'cpu'.")
    return str(resolved)


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
    then ``**kwargs`` for routed skorch parameters, all passed on to this ``__init__``, which
    stores the shared ones) and the abstract hooks below; a task layer (classifier,
    self-supervised transformer) defines ``fit`` from :meth:`_check_params`,
    :meth:`_validate_X`, :meth:`_start` and :meth:`_train`.

    Routed parameters. Keyword arguments named ``<prefix>__<name>`` with a prefix in
    ``module``, ``optimizer``, ``criterion``, ``iterator_train``, ``iterator_valid``,
    ``callbacks`` are passed unchanged to the skorch net (e.g. ``optimizer__nesterov=True``);
    they take part in ``get_params``/``set_params``/``clone`` like any parameter.
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
    def _criterion(self):
        """``(criterion class, {parameter: value})`` of the training loss."""

    def _task_callbacks(self):
        """skorch callbacks the task adds, as ``(name, callback)`` pairs."""
        return []

    @abstractmethod
    def __init__(self, *, regularizer, gamma, burnin, update_every, n_power_iterations, lr,
                 momentum, weight_decay, batch_size, max_epochs, optimizer, device,
                 distributed, random_state, verbose, callbacks, **kwargs):
        # The hyperparameters every estimator shares, stored in one place (as scikit-learn's
        # BaseMultilayerPerceptron does); a concrete __init__ lists them in its own signature,
        # with its defaults, so that get_params sees them, and passes them on here.
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
        self.device = device
        self.distributed = distributed
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self._store_routed(kwargs)

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
        params = super().get_params(deep=deep)
        params.update(self._routed_params())
        return params

    def set_params(self, **params):
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
                      "verbose", "random_state", "callbacks"),
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
        reg = self.regularizer
        scope = list(reg) if isinstance(reg, (list, tuple)) else REGULARIZERS.get(reg)
        with nested_validation_skipped():  # burnin's type and range are checked just above
            resolve_burnin(self.burnin, self.max_epochs)
        optimizer = OPTIMIZERS.get(self.optimizer, self.optimizer)
        if self.momentum is not None and not _takes_momentum(optimizer):
            # Silently dropping it would train another optimizer than the caller meant (a
            # script written when SpectralMLPClassifier's default was SGD, say).
            raise ValueError(
                f"momentum={self.momentum!r} was given, but optimizer={self.optimizer!r} "
                f"takes no momentum: pass optimizer='sgd' for SGD with momentum, or leave "
                f"momentum=None (set Adam's betas with optimizer__betas). "
                f"{type(self).__name__}'s default optimizer is {self._default_optimizer()!r}.")
        self._check_module_params()
        return scope, optimizer

    # ----------------------------------------------------------------- the net
    def _net_params(self):
        """Extra :class:`~skspectral.training.SpectralNet` parameters of a subclass."""
        return {}

    def _build_net(self, n_features, scope, optimizer, device):
        module_params = {f"module__{k}": v for k, v in self._module_params(n_features).items()}
        criterion, criterion_params = self._criterion()
        criterion_params = {f"criterion__{k}": v for k, v in criterion_params.items()}
        optimizer_params = {"optimizer__weight_decay": self.weight_decay}
        momentum = 0.9 if self.momentum is None and optimizer is torch.optim.SGD \
            else self.momentum
        if momentum is not None:
            optimizer_params["optimizer__momentum"] = momentum
        routed = self._routed_params()
        clash = sorted(set(routed) & (set(module_params) | set(optimizer_params)
                                      | set(criterion_params)))
        if clash:
            raise ValueError(f"Routed parameters {clash} duplicate {type(self).__name__}'s own "
                             "parameters; set those directly.")
        callbacks = [("divergence", DivergenceGuard()), *self._task_callbacks()]
        if scope is not None:
            callbacks.append(("spectral", SpectralRegularization(
                burnin=self.burnin, update_every=self.update_every)))
        if self.verbose >= 1 and world()[0] == 0:  # one bar, on rank 0
            callbacks.append(("progress", EpochProgressBar()))
        callbacks.extend(self.callbacks or [])
        if self.verbose < 2 and "callbacks__print_log" not in routed:
            # skorch's PrintLog formats its table every epoch even when it prints nothing
            # (14% of a tiny full-batch epoch); below verbose=2 it has nothing to show.
            routed["callbacks__print_log"] = None
        return self._net_class(
            module=self._module_class,
            criterion=criterion,
            optimizer=optimizer,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            train_split=None,
            dataset=ArrayDataset,
            iterator_train=TensorBatchIterator,
            iterator_train__shuffle=True,
            iterator_valid=TensorBatchIterator,
            callbacks=callbacks,
            device=device,
            verbose=int(self.verbose >= 2),
            spectral_scope=scope,
            spectral_gamma=float(self.gamma),
            spectral_n_power_iterations=int(self.n_power_iterations),
            distributed=self.distributed,
            **self._net_params(),
            **module_params,
            **criterion_params,
            **optimizer_params,
            **routed,
        )

    def _train(self, X, y_encoded, epochs):
        """Train ``epochs`` more epochs on ``X`` (and encoded targets, None for none)."""
        # The module, penalty and callbacks are built from the values _check_params checked.
        with _seeded(self._seed + len(self.net_.history or ()), self.device_), \
                nested_validation_skipped():
            if not self.net_.initialized_:
                self.net_.initialize()
            with progress(self.net_, epochs, type(self).__name__):
                self.net_.partial_fit(X, y_encoded, epochs=epochs)
        penalty = getattr(self.net_, "penalty_", None)
        self._spectral_norms = None  # computed on first access of spectral_norms_
        self.regularized_layers_ = [] if penalty is None else list(penalty.layers)
        self.n_iter_ = len(self.net_.history)
        # Width of Φ, for get_feature_names_out.
        self._n_features_out = int(self._map_batches(
            lambda m, xb: m.features(xb).flatten(1), X[:1]).shape[1])
        return self

    @property
    def spectral_norms_(self):
        """``{layer name: operator norm}`` of every Linear and Conv2d layer of the network.

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

    def _start(self, scope, optimizer):
        """Resolve the device and the seed, and build a fresh net."""
        self.device_ = resolve_device(self.device)
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        if self.distributed:
            check_process_group(type(self).__name__)
            if self.device_ == "cuda":  # this process's current GPU, set by the launcher
                self.device_ = f"cuda:{torch.cuda.current_device()}"
            seed = broadcast_object(seed)  # one seed for all ranks (random_state=None too)
        self._seed = seed
        self.net_ = self._build_net(self.n_features_in_, scope, optimizer, self.device_)

    # ----------------------------------------------------------------- inference
    @torch.inference_mode()
    def _map_batches(self, fn, X):
        module = self.net_.module_
        module.eval()
        device = self.net_.device
        batches = TensorBatchIterator(ArrayDataset(X), self.batch_size)
        return torch.cat([fn(module, xb.to(device)).float().cpu() for xb, _ in batches])

    def transform(self, X):
        """The feature representation Φ(X), the input of the readout.

        Parameters
        ----------
        X : array-like

        Returns
        -------
        numpy.ndarray of shape (n_samples, n_features_out)
            float32 features, computed in evaluation mode.
        """
        check_is_fitted(self)
        X, _ = self._validate_X(X, reset=False)
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


def validate_tabular(estimator, X, y="no_validation", reset=True):
    """Check a 2-D finite numeric array (float32 out) and, unless ``"no_validation"``, y."""
    if isinstance(y, str) and y == "no_validation":
        return validate_data(estimator, X, reset=reset, dtype=np.float32), None
    return validate_data(estimator, X, y, reset=reset, dtype=np.float32)
