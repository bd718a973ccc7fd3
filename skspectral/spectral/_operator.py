"""Operator norm (top singular value) of a layer, by the method the caller asks for."""

import torch
import torch.nn as nn

from ._dense import power_iteration, random_unit_vector

__all__ = ["operator_norm", "as_matrix"]

_METHODS = ("auto", "exact", "power")


def as_matrix(layer):
    """The dense matrix a linear layer applies, ``(out_features, in_features)``.

    Parameters
    ----------
    layer : torch.nn.Linear or torch.Tensor
        A ``Linear`` module, or a 2-D weight tensor.

    Returns
    -------
    torch.Tensor of shape (m, n)

    Raises
    ------
    TypeError
        If ``layer`` is neither a ``Linear`` module nor a 2-D tensor.
    """
    if isinstance(layer, nn.Linear):
        return layer.weight
    if isinstance(layer, torch.Tensor) and layer.ndim == 2:
        return layer
    raise TypeError(
        "operator_norm supports torch.nn.Linear modules and 2-D weight tensors; "
        f"got {type(layer).__name__}"
        + (f" with shape {tuple(layer.shape)}" if isinstance(layer, torch.Tensor) else "")
        + "."
    )


@torch.no_grad()
def operator_norm(layer, input_shape=None, method="auto", *, n_iter=1000, tol=1e-7,
                  generator=None):
    """Top singular value of the linear map a layer applies (bias excluded).

    Parameters
    ----------
    layer : torch.nn.Linear or torch.Tensor
        The layer, or its 2-D weight matrix.
    input_shape : None
        Reserved for layers whose operator depends on the input size; a dense layer's
        does not, so it must be None here.
    method : {"auto", "exact", "power"}, default="auto"
        ``"exact"`` computes ``torch.linalg.matrix_norm(W, ord=2)`` (a full SVD);
        ``"power"`` runs power iteration on ``W^T W`` from a random start until the relative
        change is below ``tol`` (at most ``n_iter`` iterations); ``"auto"`` is ``"exact"``.
    n_iter : int, default=1000
        Iteration cap for ``"power"``.
    tol : float, default=1e-7
        Relative tolerance for ``"power"``.
    generator : torch.Generator, optional
        Randomness of the power method's start.

    Returns
    -------
    float
        The top singular value.

    Examples
    --------
    >>> import torch
    >>> from skspectral.spectral import operator_norm
    >>> operator_norm(torch.diag(torch.tensor([3.0, -5.0, 1.0])))
    5.0
    """
    weight = as_matrix(layer)
    if input_shape is not None:
        raise ValueError(
            "input_shape must be None for a dense layer: its operator norm does not "
            f"depend on the input size (got {input_shape!r})."
        )
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}.")
    if method == "power":
        v = random_unit_vector(weight.shape[1], dtype=weight.dtype, device=weight.device,
                               generator=generator)
        sigma, _, _ = power_iteration(weight, v, n_iter=n_iter, tol=tol)
        return float(sigma)
    return float(torch.linalg.matrix_norm(weight.detach(), ord=2))

