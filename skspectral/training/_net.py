"""The training engine: a skorch net that owns the spectral penalty, with AMP, channels-last
and data parallelism."""

import contextlib
import inspect
from collections.abc import Mapping

import torch
from skorch import NeuralNet
from skorch.callbacks import PassthroughScoring
from skorch.utils import TeeGenerator, to_tensor
from torch.nn.parallel import DistributedDataParallel

from .._collectives import broadcast_, check_process_group, world
from .._params import constraints, validate
from ..regularization import SpectralPenalty, resolve_scope, unwrap
from ..spectral import capture_input_shapes
from ._history import EpochHistory, EpochMeanLoss

__all__ = ["SpectralNet", "as_model_input"]


def as_model_input(x, device, channels_last=False):
    """A batch on ``device`` as the network takes it.

    Integer pixels (uint8 images travel as uint8 to the device, a quarter of float32's
    bytes) become float32 there, unscaled; image batches go channels-last where asked.
    Anything else passes through.

    Parameters
    ----------
    x : torch.Tensor or object
        The batch; what is not a tensor is returned unchanged.
    device : str or torch.device
        Where the network runs.
    channels_last : bool, default=False
        Give 4-D batches the channels-last memory format.

    Returns
    -------
    torch.Tensor or object
        The batch on ``device``, floating point.

    Examples
    --------
    >>> import torch
    >>> from skspectral.training import as_model_input
    >>> x = as_model_input(torch.tensor([[0, 255]], dtype=torch.uint8), "cpu")
    >>> x, x.dtype
    (tensor([[  0., 255.]]), torch.float32)
    """
    if not isinstance(x, torch.Tensor):
        return x
    x = x.to(device)
    if not x.is_floating_point():
        x = x.float()
    if channels_last and x.ndim == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x


class SpectralNet(NeuralNet):
    """A skorch net with a spectral penalty as its ``penalty_`` module.

    A :class:`~skorch.net.NeuralNet` whose
    :class:`~skspectral.regularization.SpectralPenalty` is built right after the module,
    over the layers ``spectral_scope`` names, and registered like any custom skorch module:
    it moves to ``device`` and is pickled with the net (and loads on a CPU-only machine).
    Add a
    :class:`~skspectral.regularization.SpectralRegularization` callback to apply it.

    Its history is an :class:`EpochHistory` and its epoch losses are recorded by
    :class:`EpochMeanLoss`: skorch's records, without the per-epoch copies of the history
    that dominate tiny full-batch problems trained for thousands of epochs.

    Parameters
    ----------
    module : torch.nn.Module class or instance
        The network, as :class:`~skorch.net.NeuralNet` takes it; it must expose ``features``
        where ``spectral_scope`` is ``"rep"``.
    *args : tuple
        Further positional parameters of skorch, ``criterion`` (the loss) first.
    spectral_scope : {"rep", "head", "all"}, list of str or None, default=None
        Layers to penalize (:func:`~skspectral.regularization.resolve_scope`); None builds
        no penalty.
    spectral_gamma : float, default=0.0
        Penalty strength (the ``gamma`` of
        :class:`~skspectral.regularization.SpectralPenalty`).
    spectral_n_power_iterations : int, default=1
        Power-iteration steps per penalty update.
    spectral_input_size : tuple or None, default=None
        Shape of one input sample, e.g. ``(3, 32, 32)``; needed when convolutions are
        penalized (their operator depends on the input size). After initialization,
        ``input_shapes_`` maps every convolution's name to the input shape it sees.
    precision : {"32", "bf16", "fp16"}, default="32"
        Forward pass and loss under autocast with this dtype (the loss itself, the weights,
        the optimizer and the penalty stay in fp32). ``"fp16"`` scales the loss with a
        ``GradScaler`` and unscales the gradients before the penalty adds its own.
    channels_last : bool, default=False
        Module and image batches in channels-last memory format (faster convolutions on
        recent GPUs).
    distributed : bool, default=False
        Data-parallel training over torch.distributed's default process group (one process
        per device, e.g. launched by ``torchrun``; the group must be initialized before
        training). While training, the module runs wrapped in
        :class:`~torch.nn.parallel.DistributedDataParallel` (which starts every rank from
        rank 0's weights and all-reduces the gradients), ``batch_size`` is the global batch,
        split evenly across the ranks by the training iterator (which must accept
        ``num_replicas`` and ``rank``, as :class:`~skspectral.data.BatchLoader` does: each
        rank reads only its share of the data), and the penalty keeps
        its state identical on every rank. The history records each rank's own losses.
        BatchNorm normalizes with each rank's batch statistics.
    **kwargs : dict
        Everything else :class:`~skorch.net.NeuralNet` accepts (``criterion``, ``optimizer``,
        ``lr``, ``max_epochs``, ``callbacks``, routed ``module__*`` ...).

    Attributes
    ----------
    penalty_ : skspectral.regularization.SpectralPenalty
        The penalty over the scoped layers (absent when ``spectral_scope`` is None).
    input_shapes_ : dict of str to tuple
        ``{convolution: input shape}`` with ``spectral_input_size``, else empty.

    See Also
    --------
    skspectral.SpectralMLPClassifier : The estimators build and train this net for you.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skspectral.models import MLP
    >>> from skspectral.regularization import SpectralRegularization
    >>> from skspectral.training import SpectralNet
    >>> X = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(np.int64)
    >>> net = SpectralNet(MLP, criterion=torch.nn.CrossEntropyLoss, module__n_features=4,
    ...                   module__n_classes=2, module__hidden_layer_sizes=(8,),
    ...                   spectral_scope="rep", spectral_gamma=0.02,
    ...                   callbacks=[("spectral", SpectralRegularization())],
    ...                   max_epochs=2, train_split=None, lr=0.1, verbose=0).fit(X, y)
    >>> net.penalty_.layers
    ['features.hidden0']
    >>> sorted(net.history[-1, "spectral_norms"]), type(net.history).__name__
    (['features.hidden0'], 'EpochHistory')
    """

    def __init__(self, module, *args, spectral_scope=None, spectral_gamma=0.0,
                 spectral_n_power_iterations=1, spectral_input_size=None, precision="32",
                 channels_last=False, distributed=False, **kwargs):
        super().__init__(module, *args, **kwargs)
        self.precision = precision
        self.channels_last = channels_last
        self.distributed = distributed
        self.spectral_scope = spectral_scope
        self.spectral_gamma = spectral_gamma
        self.spectral_n_power_iterations = spectral_n_power_iterations
        self.spectral_input_size = spectral_input_size

    def initialize_module(self):
        super().initialize_module()
        if self.channels_last:
            self.module_ = self.module_.to(memory_format=torch.channels_last)
        self.input_shapes_ = ({} if self.spectral_input_size is None else
                              capture_input_shapes(self.module_, self.spectral_input_size))
        if self.spectral_scope is None:
            if hasattr(self, "penalty_"):
                del self.penalty_
            return self
        layers = resolve_scope(unwrap(self.module_), self.spectral_scope)
        self.penalty_ = SpectralPenalty(self.module_, layers, gamma=self.spectral_gamma,
                                        n_power_iterations=self.spectral_n_power_iterations,
                                        input_shapes=self.input_shapes_)
        return self

    @property
    def _default_callbacks(self):
        # skorch's defaults, with the epoch losses recorded by EpochMeanLoss.
        return [(name, EpochMeanLoss(name=cb.name, on_train=cb.on_train)
                 if type(cb) is PassthroughScoring else cb)
                for name, cb in super()._default_callbacks]

    def initialize_history(self):
        if not isinstance(self.history_, EpochHistory):
            self.history_ = EpochHistory(self.history_ or ())
        return super().initialize_history()

    def initialize(self):
        validate(type(self).__name__, constraints("precision"), {"precision": self.precision})
        if self.distributed:
            check_process_group(type(self).__name__)
            accepted = inspect.signature(self.iterator_train).parameters
            if not {"num_replicas", "rank"} <= set(accepted):
                raise ValueError(
                    f"distributed=True shards the training batches through iterator_train, "
                    f"which must accept num_replicas and rank; {self.iterator_train!r} does "
                    "not (use skspectral.data.BatchLoader).")
        super().initialize()
        self.scaler_ = (torch.amp.GradScaler(torch.device(self.device).type)
                        if self.precision == "fp16" else None)
        return self

    def _autocast(self):
        if self.precision == "32":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
        return torch.autocast(device_type=torch.device(self.device).type, dtype=dtype)

    # ------------------------------------------------------------ data parallelism
    def on_train_begin(self, net, X=None, y=None, **kwargs):
        # Runs before the callbacks' on_train_begin: the penalty converges on the weights
        # DistributedDataParallel has just broadcast from rank 0.
        super().on_train_begin(net, X=X, y=y, **kwargs)
        if getattr(self, "penalty_", None) is not None:
            self.penalty_.distributed = bool(self.distributed)
        ddp = None
        if self.distributed and world()[1] > 1:
            device = torch.device(self.device)
            if device.type == "cuda" and device.index is None:
                device = torch.device("cuda", torch.cuda.current_device())
            ddp = DistributedDataParallel(
                self.module_, device_ids=[device.index] if device.type == "cuda" else None)
        # Deliberately not a registered skorch module (skorch's __setattr__ would insist):
        # the wrapper holds the process group, lives only while training, and is not pickled.
        object.__setattr__(self, "_ddp", ddp)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        super().on_train_end(net, X=X, y=y, **kwargs)
        if getattr(self, "penalty_", None) is not None:
            # Outside training, ranks use the model on their own (e.g. rank 0 alone reads
            # spectral_norms_): no more collectives.
            self.penalty_.distributed = False
        if getattr(self, "_ddp", None) is not None:
            # DDP syncs buffers (BatchNorm statistics) from rank 0 before each forward; the
            # last forward's updates are still each rank's own.
            broadcast_(list(self.module_.buffers()))
        object.__setattr__(self, "_ddp", None)

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_ddp", None)
        return state

    def get_iterator(self, dataset, training=False):
        if not training:
            return super().get_iterator(dataset, training=training)
        kwargs = self.get_params_for("iterator_train")
        batch_size = kwargs.pop("batch_size", self.batch_size)
        if batch_size == -1:
            batch_size = len(dataset)
        accepted = inspect.signature(self.iterator_train).parameters
        if "start_epoch" in accepted:  # seeds per epoch, resumed fits included
            kwargs["start_epoch"] = len(self.history)
        rank, size = world()
        if self.distributed and size > 1:
            kwargs.update(num_replicas=size, rank=rank)
        return self.iterator_train(dataset, batch_size=batch_size, **kwargs)

    def infer(self, x, **fit_params):
        x = as_model_input(x, self.device, self.channels_last)
        with self._autocast():
            ddp = getattr(self, "_ddp", None)
            if ddp is None or not self.module_.training:
                return super().infer(x, **fit_params)
            x = to_tensor(x, device=self.device)
            if isinstance(x, Mapping):
                return ddp(**self._merge_x_and_fit_params(x, fit_params))
            return ddp(x, **fit_params)

    def get_loss(self, y_pred, y_true, *args, **kwargs):
        # The loss in fp32 under autocast; a module may return one tensor or a tuple (e.g.
        # the projections of two views). Self-supervised training has no targets.
        y_pred = (y_pred.float() if isinstance(y_pred, torch.Tensor)
                  else type(y_pred)(t.float() for t in y_pred))
        if y_true is None:
            return self.criterion_(y_pred, None)
        return super().get_loss(y_pred, y_true, *args, **kwargs)

    def train_step_single(self, batch, **fit_params):
        if self.scaler_ is None:
            return super().train_step_single(batch, **fit_params)
        self._set_training(True)
        Xi, yi = batch
        y_pred = self.infer(Xi, **fit_params)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        self.scaler_.scale(loss).backward()
        return {"loss": loss, "y_pred": y_pred}

    def train_step(self, batch, **fit_params):
        if self.scaler_ is None:
            return super().train_step(batch, **fit_params)
        # fp16: unscale before callbacks (the penalty) see the gradients, then let the scaler
        # skip the step if they overflowed.
        self._zero_grad_optimizer()
        step = self.train_step_single(batch, **fit_params)
        self.scaler_.unscale_(self.optimizer_)
        self.notify("on_grad_computed",
                    named_parameters=TeeGenerator(self.get_all_learnable_params()),
                    batch=batch, training=True)
        self.scaler_.step(self.optimizer_)
        self.scaler_.update()
        return step
