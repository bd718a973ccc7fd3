"""skorch net that owns a spectral penalty module."""

import contextlib

import torch
from skorch import NeuralNet
from skorch.utils import TeeGenerator

from ..spectral import capture_input_shapes
from ._penalty import SpectralPenalty, unwrap
from ._scope import resolve_scope

__all__ = ["SpectralNet"]


class SpectralNet(NeuralNet):
    """A :class:`skorch.NeuralNet` with a :class:`SpectralPenalty` as its ``penalty_`` module.

    The penalty is built right after the module, over the layers ``spectral_scope`` names,
    and is registered like any custom skorch module: it moves to ``device`` and is pickled
    with the net (and loads on a CPU-only machine). Add a
    :class:`~skspectral.regularization.SpectralRegularization` callback to apply it.

    Parameters
    ----------
    module, criterion : see :class:`skorch.NeuralNet`
    spectral_scope : {"representation", "head", "all"} or list of str, default=None
        Layers to penalize (:func:`~skspectral.regularization.resolve_scope`); None builds
        no penalty.
    spectral_gamma : float, default=0.0
        Penalty strength (:class:`SpectralPenalty`'s ``gamma``).
    spectral_n_power_iterations : int, default=1
        Power-iteration steps per penalty update.
    spectral_input_size : tuple, optional
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
    **kwargs :
        Everything else :class:`skorch.NeuralNet` accepts.
    """

    def __init__(self, module, *args, spectral_scope=None, spectral_gamma=0.0,
                 spectral_n_power_iterations=1, spectral_input_size=None, precision="32",
                 channels_last=False, **kwargs):
        super().__init__(module, *args, **kwargs)
        self.precision = precision
        self.channels_last = channels_last
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

    def initialize(self):
        if self.precision not in ("32", "bf16", "fp16"):
            raise ValueError(f"precision must be '32', 'bf16' or 'fp16', got {self.precision!r}.")
        super().initialize()
        self.scaler_ = (torch.amp.GradScaler(torch.device(self.device).type)
                        if self.precision == "fp16" else None)
        return self

    def _autocast(self):
        if self.precision == "32":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
        return torch.autocast(device_type=torch.device(self.device).type, dtype=dtype)

    def infer(self, x, **fit_params):
        if self.channels_last and isinstance(x, torch.Tensor) and x.ndim == 4:
            x = x.to(self.device).contiguous(memory_format=torch.channels_last)
        with self._autocast():
            return super().infer(x, **fit_params)

    def get_loss(self, y_pred, y_true, *args, **kwargs):
        return super().get_loss(y_pred.float(), y_true, *args, **kwargs)

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
