"""Lipschitz constants of activation functions (max of |f'|), needed for certified bounds."""

import math

import torch.nn as nn


def _gelu_lipschitz():
    # GELU'(z) = Phi(z) + z phi(z) peaks where GELU''(z) = phi(z) (2 - z^2) = 0, at z = sqrt(2).
    z = math.sqrt(2.0)
    cdf = 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))
    pdf = math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return cdf + z * pdf


def _silu_lipschitz():
    # SiLU'(z) = s (1 + z (1 - s)) with s = sigmoid(z); SiLU''(z) = s (1 - s) (2 + z (1 - 2 s)),
    # whose only positive root lies in [2, 3] (sign change there): find it by bisection.
    def g(z):
        s = 1.0 / (1.0 + math.exp(-z))
        return 2.0 + z * (1.0 - 2.0 * s)

    lo, hi = 2.0, 3.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if g(lo) * g(mid) <= 0:
            hi = mid
        else:
            lo = mid
    z = 0.5 * (lo + hi)
    s = 1.0 / (1.0 + math.exp(-z))
    return s * (1.0 + z * (1.0 - s))


#: Supported activations: name -> (module class, Lipschitz constant).
ACTIVATIONS = {
    "relu": (nn.ReLU, 1.0),
    "tanh": (nn.Tanh, 1.0),
    "sigmoid": (nn.Sigmoid, 0.25),
    "gelu": (nn.GELU, _gelu_lipschitz()),
    "silu": (nn.SiLU, _silu_lipschitz()),
}


def lipschitz_constant(activation):
    """Lipschitz constant ``sup_z |f'(z)|`` of an activation.

    Parameters
    ----------
    activation : str or torch.nn.Module
        A name from :data:`ACTIVATIONS` or an instance of one of their module classes.

    Returns
    -------
    constant : float
        The smallest ``L`` with ``|f(a) - f(b)| <= L |a - b|`` for all ``a, b``.

    Raises
    ------
    ValueError
        If the activation is not one of the supported ones (for a module: a GELU with the
        ``tanh`` approximation, or any other module class).

    Examples
    --------
    >>> import torch.nn as nn
    >>> from skspectral.spectral import lipschitz_constant
    >>> lipschitz_constant("relu"), lipschitz_constant(nn.Sigmoid())
    (1.0, 0.25)
    >>> round(lipschitz_constant("gelu"), 4)
    1.1289
    """
    if isinstance(activation, nn.Module):
        for name, (cls, const) in ACTIVATIONS.items():
            if type(activation) is cls:
                if name == "gelu" and activation.approximate != "none":
                    break
                return const
        raise ValueError(f"No Lipschitz constant known for activation module {activation!r}.")
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"Unknown activation {activation!r}; expected one of {sorted(ACTIVATIONS)}."
        )
    return ACTIVATIONS[activation][1]
