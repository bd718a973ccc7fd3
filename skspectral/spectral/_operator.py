"""Operator norm (top singular value) of a layer, by the method the caller asks for."""

import math

import torch
import torch.nn as nn

from ._conv import (
    CONV_TYPES,
    conv_dense_matrix,
    conv_fft_norm,
    conv_power_iteration,
    is_pointwise,
    supports_fft,
)
from ._dense import power_iteration, random_unit_vector

_METHODS = ("auto", "exact", "power", "fft", "dense")
_AXES = {1: "L", 2: "H, W", 3: "D, H, W"}  # spatial axes of Conv1d/2d/3d inputs
_DENSE_LIMIT = 1024  # largest c_in*H*W for which "auto" builds the explicit matrix


def as_matrix(layer):
    """The dense matrix a layer applies, when it is one: ``(out, in)``.

    Parameters
    ----------
    layer : torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d or torch.Tensor
        ``nn.Linear`` gives its weight; a pointwise convolution (kernel 1 along every axis,
        no padding, one group; see :func:`~skspectral.spectral.is_pointwise`) gives its
        ``c_out x c_in`` kernel matrix (a view), whose norm is the operator's at any input
        size and stride; a 2-D tensor is returned as is.

    Returns
    -------
    torch.Tensor of shape (out, in)

    Raises
    ------
    TypeError
        For anything else (convolutions with larger kernels included).

    Examples
    --------
    >>> import torch
    >>> from skspectral.spectral import as_matrix
    >>> as_matrix(torch.nn.Conv1d(4, 8, 1)).shape
    torch.Size([8, 4])
    """
    if isinstance(layer, nn.Linear):
        return layer.weight
    if isinstance(layer, CONV_TYPES) and is_pointwise(layer):
        return layer.weight.reshape(layer.weight.shape[:2])
    if isinstance(layer, torch.Tensor) and layer.ndim == 2:
        return layer
    raise TypeError(
        "expected torch.nn.Linear, a pointwise unpadded Conv1d/2d/3d or a 2-D weight tensor; "
        f"got {type(layer).__name__}"
        + (f" with shape {tuple(layer.shape)}" if isinstance(layer, torch.Tensor) else "") + ".")


def resolve_input_shape(layer, input_shape):
    """``(c_in, *spatial)`` of a convolution's input.

    Parameters
    ----------
    layer : torch.nn.Conv1d, torch.nn.Conv2d or torch.nn.Conv3d
        The convolution, with ``n`` spatial axes.
    input_shape : tuple
        ``(c_in, *spatial)``, ``spatial`` alone, or ``(1, c_in, *spatial)``.

    Returns
    -------
    tuple of int
        ``(c_in, *spatial)``.

    Raises
    ------
    ValueError
        If ``input_shape`` is None, has the wrong length, another channel count, or a size
        below 1.

    Examples
    --------
    >>> import torch
    >>> from skspectral.spectral import resolve_input_shape
    >>> resolve_input_shape(torch.nn.Conv3d(2, 4, 3), (5, 6, 7))
    (2, 5, 6, 7)
    """
    n = len(layer.kernel_size)
    expected = f"(c_in={layer.in_channels}, {_AXES.get(n, '...')})"
    if input_shape is None:
        raise ValueError(f"input_shape {expected} is required for a {type(layer).__name__}: its "
                         "operator norm depends on the input size.")
    shape = tuple(int(s) for s in input_shape)
    if len(shape) == n + 2 and shape[0] == 1:
        shape = shape[1:]
    if len(shape) == n:
        shape = (layer.in_channels, *shape)
    if len(shape) != n + 1 or shape[0] != layer.in_channels or min(shape) < 1:
        raise ValueError(f"input_shape must be {expected} for this {type(layer).__name__}, "
                         f"got {input_shape!r}.")
    return shape


def capture_input_shapes(module, input_size, types=CONV_TYPES):
    """Input shape ``(c, *spatial)`` of every layer of the given types, from one forward pass.

    Parameters
    ----------
    module : torch.nn.Module
        The network; run once in evaluation mode, without gradients, on a zero sample (its
        training mode is restored afterwards).
    input_size : tuple
        Shape of one input sample, e.g. ``(3, 32, 32)``.
    types : tuple of module types, default=(Conv1d, Conv2d, Conv3d)
        The layers whose input shapes are recorded.

    Returns
    -------
    dict
        ``{module name: shape without the batch axis}`` (the last call's, for a layer that
        runs more than once).

    Examples
    --------
    >>> import torch
    >>> from skspectral.spectral import capture_input_shapes
    >>> net = torch.nn.Sequential(torch.nn.Conv1d(2, 4, 3, stride=2), torch.nn.Conv1d(4, 4, 1))
    >>> capture_input_shapes(net, (2, 9))
    {'0': (2, 9), '1': (4, 4)}
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
    layer : torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d or torch.Tensor
        The layer, or a 2-D weight matrix.
    input_shape : tuple, optional
        For a convolution: its input ``(c_in, *spatial)`` (or ``spatial``); not needed for a
        pointwise unpadded convolution, whose norm does not depend on it. Must be None for
        dense layers.
    method : {"auto", "exact", "power", "fft", "dense"}, default="auto"
        - ``"power"``: power iteration on the operator (for a convolution: convolution, then
          its adjoint), from a random start until the relative change is below ``tol``;
          valid for any padding, stride, dilation and groups.
        - ``"fft"``: exact, for a Conv2d with circular "same" padding (Sedghi et al. 2019,
          stride-aware).
        - ``"dense"``: SVD of the explicit operator matrix (tiny layers; ground truth).
        - ``"exact"``: a matrix norm for dense layers and 1x1 convolutions; ``"fft"`` where it
          is exact, else ``"dense"`` for other convolutions.
        - ``"auto"``: ``"exact"``, except ``"power"`` for convolutions that ``"fft"`` does not
          cover and that are too large for ``"dense"``.
    n_iter : int, default=1000
        Iteration cap of ``"power"``.
    tol : float, default=1e-7
        Relative tolerance of ``"power"`` on the change of sigma.
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
    conv = isinstance(layer, CONV_TYPES)
    if conv and not is_pointwise(layer):
        shape = resolve_input_shape(layer, input_shape)
        n_in = math.prod(shape)
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
