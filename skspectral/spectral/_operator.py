"""Operator norm (top singular value) of a layer, by the method the caller asks for."""

import torch
import torch.nn as nn

from ._conv import (
    conv_dense_matrix,
    conv_fft_norm,
    conv_power_iteration,
    is_pointwise,
    supports_fft,
)
from ._dense import power_iteration, random_unit_vector

__all__ = ["as_matrix", "capture_input_shapes", "operator_norm", "resolve_input_shape"]

_METHODS = ("auto", "exact", "power", "fft", "dense")
_DENSE_LIMIT = 1024  # largest c_in*H*W for which "auto" builds the explicit matrix


def as_matrix(layer):
    """The dense matrix a layer applies, when it is one: ``(out, in)``.

    ``nn.Linear`` gives its weight; a 1x1 convolution without padding gives its
    ``c_out x c_in`` kernel matrix (a view), whose norm is the operator's at any input size
    and stride; a 2-D tensor is returned as is.

    Raises
    ------
    TypeError
        For anything else (convolutions with larger kernels included).
    """
    if isinstance(layer, nn.Linear):
        return layer.weight
    if isinstance(layer, nn.Conv2d) and is_pointwise(layer):
        return layer.weight[:, :, 0, 0]
    if isinstance(layer, torch.Tensor) and layer.ndim == 2:
        return layer
    raise TypeError(
        "expected torch.nn.Linear, a 1x1 unpadded Conv2d or a 2-D weight tensor; got "
        f"{type(layer).__name__}"
        + (f" with shape {tuple(layer.shape)}" if isinstance(layer, torch.Tensor) else "") + ".")


def resolve_input_shape(layer, input_shape):
    """``(c_in, H, W)`` of a convolution's input from ``(c_in, H, W)``, ``(H, W)`` or
    ``(1, c_in, H, W)``."""
    if input_shape is None:
        raise ValueError("input_shape (c_in, H, W) is required for a Conv2d: its operator norm "
                         "depends on the input size.")
    shape = tuple(int(s) for s in input_shape)
    if len(shape) == 4 and shape[0] == 1:
        shape = shape[1:]
    if len(shape) == 2:
        shape = (layer.in_channels, *shape)
    if len(shape) != 3 or shape[0] != layer.in_channels or min(shape) < 1:
        raise ValueError(f"input_shape must be (c_in={layer.in_channels}, H, W), got "
                         f"{input_shape!r}.")
    return shape


def capture_input_shapes(module, input_size, types=(nn.Conv2d,)):
    """Input shape ``(c, H, W)`` of every layer of the given types, from one forward pass.

    Parameters
    ----------
    module : torch.nn.Module
    input_size : tuple
        Shape of one input sample, e.g. ``(3, 32, 32)``.
    types : tuple of module types, default=(Conv2d,)

    Returns
    -------
    dict
        ``{module name: shape without the batch axis}``.
    """
    shapes, hooks = {}, []
    for name, layer in module.named_modules():
        if isinstance(layer, types):
            hooks.append(layer.register_forward_pre_hook(
                lambda m, args, name=name: shapes.__setitem__(name, tuple(args[0].shape[1:]))))
    was_training = module.training
    param = next(module.parameters(), None)
    try:
        module.eval()
        with torch.no_grad():
            module(torch.zeros(1, *input_size, device=param.device if param is not None
                               else "cpu", dtype=param.dtype if param is not None else None))
    finally:
        module.train(was_training)
        for hook in hooks:
            hook.remove()
    return shapes


@torch.no_grad()
def operator_norm(layer, input_shape=None, method="auto", *, n_iter=1000, tol=1e-7,
                  generator=None):
    """Top singular value of the linear map a layer applies (bias excluded).

    Parameters
    ----------
    layer : torch.nn.Linear, torch.nn.Conv2d or torch.Tensor
        The layer, or a 2-D weight matrix.
    input_shape : tuple, optional
        For a convolution: its input ``(c_in, H, W)`` (or ``(H, W)``); not needed for a 1x1
        unpadded convolution, whose norm does not depend on it. Must be None for dense layers.
    method : {"auto", "exact", "power", "fft", "dense"}, default="auto"
        - ``"power"``: power iteration on the operator (for a convolution: convolution, then
          its adjoint), from a random start until the relative change is below ``tol``;
          valid for any padding, stride, dilation and groups.
        - ``"fft"``: exact, for circular "same" padding (Sedghi et al. 2019, stride-aware).
        - ``"dense"``: SVD of the explicit operator matrix (tiny layers; ground truth).
        - ``"exact"``: a matrix norm for dense layers and 1x1 convolutions; ``"fft"`` where it
          is exact, else ``"dense"`` for other convolutions.
        - ``"auto"``: ``"exact"``, except ``"power"`` for convolutions that ``"fft"`` does not
          cover and that are too large for ``"dense"``.
    n_iter, tol : int, float
        Iteration cap and relative tolerance of ``"power"``.
    generator : torch.Generator, optional
        Randomness of the power method's start.

    Returns
    -------
    float

    Examples
    --------
    >>> import torch
    >>> from skspectral.spectral import operator_norm
    >>> operator_norm(torch.diag(torch.tensor([3.0, -5.0, 1.0])))
    5.0
    >>> conv = torch.nn.Conv2d(1, 1, 3, padding=1, padding_mode="circular", bias=False)
    >>> _ = conv.weight.data.fill_(1.0)
    >>> round(operator_norm(conv, (1, 8, 8), method="fft") ** 2, 4)
    81.0
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}.")
    conv = isinstance(layer, nn.Conv2d)
    if conv and not is_pointwise(layer):
        shape = resolve_input_shape(layer, input_shape)
        n_in = shape[0] * shape[1] * shape[2]
        if method in ("auto", "exact"):
            method = ("fft" if supports_fft(layer, shape)
                      else "dense" if n_in <= _DENSE_LIMIT or method == "exact" else "power")
        if method == "fft":
            return float(conv_fft_norm(layer, shape))
        if method == "dense":
            return float(torch.linalg.matrix_norm(conv_dense_matrix(layer, shape), ord=2))
        weight = layer.weight
        x = torch.randn(1, *shape, dtype=weight.dtype, device=weight.device, generator=generator)
        return float(conv_power_iteration(layer, x / x.norm(), n_iter=n_iter, tol=tol)[0])
    if input_shape is not None and not conv:
        raise ValueError(
            "input_shape must be None for a dense layer: its operator norm does not "
            f"depend on the input size (got {input_shape!r}).")
    weight = as_matrix(layer)
    if method == "power":
        v = random_unit_vector(weight.shape[1], dtype=weight.dtype, device=weight.device,
                               generator=generator)
        return float(power_iteration(weight, v, n_iter=n_iter, tol=tol)[0])
    if method == "fft":
        raise ValueError("method='fft' applies to convolutions only.")
    return float(torch.linalg.matrix_norm(weight.detach(), ord=2))
