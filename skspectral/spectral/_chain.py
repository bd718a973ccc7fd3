"""Lipschitz bounds of a chain of layers and the volume element of a feature map."""

import math

import numpy as np
import torch
import torch.nn as nn

from ._conv import CONV_TYPES
from ._lipschitz import ACTIVATIONS, lipschitz_constant
from ._operator import capture_input_shapes, operator_norm

_DENSE_ENTRIES = 2 ** 24  # largest explicit convolution matrix built for an exact norm
_POOLING = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d,
            nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)
_ACTIVATIONS = tuple(cls for cls, _ in ACTIVATIONS.values())
_UNIT = (nn.Flatten, nn.Identity, nn.Dropout)  # 1-Lipschitz maps


def chain_leaves(module, path):
    """The ``(path, module)`` leaves of a chain of Sequentials, in order."""
    if isinstance(module, nn.Sequential):
        for name, child in module.named_children():
            yield from chain_leaves(child, f"{path}.{name}")
        return
    yield path, module


def conv_upper_bound(layer):
    """``sqrt(prod(kernel)) * max_g |W_g|``: each input entry meets every kernel offset at
    most once, so ``|A x|^2 <= |W_g|^2 prod(kernel) |x|^2`` (zero padding, any stride)."""
    w = layer.weight.detach().double()
    g = layer.groups
    blocks = w.reshape(g, w.shape[0] // g, -1)
    return math.sqrt(math.prod(layer.kernel_size)) * float(
        torch.linalg.matrix_norm(blocks, ord=2).max())


def pool_constant(layer, shape):
    """Lipschitz constant of a pooling layer on inputs of ``shape`` (c, *spatial), or None
    where it is not known (overlapping adaptive windows, dilated max pooling)."""
    spatial = shape[1:]
    if isinstance(layer, (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)):
        out = layer.output_size
        out = (out,) * len(spatial) if isinstance(out, int) else out
        out = [n if o is None else o for o, n in zip(out, spatial, strict=True)]
        if all(n % o == 0 for n, o in zip(spatial, out, strict=True)):
            return 1.0  # disjoint windows: the mean of k entries is 1/sqrt(k)-Lipschitz
        return None
    kernel = layer.kernel_size
    stride = layer.stride if layer.stride is not None else kernel
    kernel = (kernel,) * len(spatial) if isinstance(kernel, int) else kernel
    stride = (stride,) * len(spatial) if isinstance(stride, int) else stride
    overlap = math.prod(-(-k // s) for k, s in zip(kernel, stride, strict=True))
    if isinstance(layer, (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)):
        if any(d != 1 for d in np.atleast_1d(layer.dilation)):
            return None
        return math.sqrt(overlap)  # a max moves by at most the largest change in its window
    return math.sqrt(overlap / math.prod(kernel))  # average pooling


def _conv_constant(layer, shape):
    """The exact norm where its dense matrix is small enough (or padding is not zeros),
    else :func:`conv_upper_bound`."""
    with torch.no_grad():
        n_out = layer(torch.zeros(1, *shape, dtype=layer.weight.dtype,
                                  device=layer.weight.device)).numel()
    if math.prod(shape) * n_out <= _DENSE_ENTRIES or not layer.padding_mode == "zeros":
        return operator_norm(layer, shape, method="exact")
    return conv_upper_bound(layer)


def _leaf_constant(name, m, shape):
    """Lipschitz constant of one leaf on inputs of ``shape``; TypeError where none is known."""
    if isinstance(m, nn.Linear):
        return operator_norm(m)
    if isinstance(m, CONV_TYPES):
        return _conv_constant(m, shape)
    if isinstance(m, _POOLING):
        constant = pool_constant(m, shape)
        if constant is None:
            raise TypeError(f"certified_lower_bound is not defined for this feature map: "
                            f"{name} ({m!r}) pools overlapping windows of unknown "
                            f"Lipschitz constant on inputs of shape {shape}.")
        return constant
    if isinstance(m, nn.LeakyReLU):
        return 1.0
    return lipschitz_constant(m) if isinstance(m, _ACTIVATIONS) else 1.0


def chain_lipschitz(features, input_shape, extra=None):
    """An upper bound of Lip(Φ) for Φ a chain (nested ``nn.Sequential``) of layers with
    known constants: the product of its leaves' constants.

    ``extra`` maps further module classes (the layers above spectral, such as a
    normalization by fixed statistics) to a ``(bound so far, module) -> bound`` function.
    TypeError names the first leaf of no known constant.
    """
    extra = extra or {}
    leaves = list(chain_leaves(features, "features"))
    for name, m in leaves:
        known = isinstance(m, (nn.Linear, *CONV_TYPES, *_ACTIVATIONS, *_POOLING, nn.LeakyReLU,
                               *_UNIT, *extra))
        if not known or (isinstance(m, nn.LeakyReLU) and abs(m.negative_slope) > 1):
            raise TypeError(
                f"certified_lower_bound is not defined for this feature map: {name} is a "
                f"{type(m).__name__}, which is not a Linear or convolution layer, an activation "
                "of known Lipschitz constant, pooling, flattening or dropout in a chain of "
                "nn.Sequential (normalization layers, attention and residual blocks are not "
                "linear maps with a fixed operator norm, or hide how their parts compose).")
    shapes = capture_input_shapes(features, input_shape,
                                  types=tuple({type(m) for _, m in leaves}))
    lip = 1.0
    for name, m in leaves:
        apply = next((f for cls, f in extra.items() if isinstance(m, cls)), None)
        lip = apply(lip, m) if apply else lip * _leaf_constant(
            name, m, shapes.get(name[len("features."):]))
    return lip


def volume_elements(features, X, device, batch_size, log):
    """``(volumes, lambda_max)`` of ``features`` at each row of the tensor ``X``: the
    volume element ``sqrt(det(J^T J))`` (its log with ``log``) and ``|J|_2^2``, ``J`` the
    Jacobian computed with ``jacrev`` under ``vmap``, in float64 from there on.

    ValueError where the map fails on X's samples or the input dimension exceeds the
    feature dimension (the determinant is then 0 everywhere).
    """
    def phi(x):
        return features(x[None]).flatten()

    d = math.prod(X.shape[1:])
    with torch.no_grad():
        try:
            m = phi(X[0].to(device)).numel()
        except RuntimeError as exc:  # a module that cannot take X's samples
            raise ValueError(f"The feature map failed on X's samples of shape "
                             f"{tuple(X.shape[1:])}: {exc}") from exc
    if d > m:
        raise ValueError(f"volume_element needs an input dimension d <= the feature "
                         f"dimension m: J^T J is d x d of rank <= m, so with d = {d} > "
                         f"m = {m} its determinant is 0 everywhere.")
    jacobian = torch.func.vmap(torch.func.jacrev(phi))
    volumes, tops = [], []
    for start in range(0, len(X), batch_size):
        # An outer no_grad keeps the parameters out of the graph; jacrev, a function
        # transform, still differentiates with respect to x (torch.func's documented rule).
        with torch.no_grad():
            J = jacobian(X[start:start + batch_size].to(device))
        J = J.reshape(-1, m, d).double()
        sign, logdet = torch.linalg.slogdet(J.transpose(1, 2) @ J)
        logvol = torch.where(sign > 0, 0.5 * logdet, float("-inf"))
        volumes.append(logvol if log else logvol.exp())
        tops.append(torch.linalg.matrix_norm(J, ord=2) ** 2)
    return torch.cat(volumes).cpu().numpy(), torch.cat(tops).cpu().numpy()
