"""Which layers a spectral penalty covers."""

import warnings

import torch.nn as nn

from ..spectral import CONV_TYPES

__all__ = ["REGULARIZERS", "SCOPES", "PENALIZABLE_TYPES", "resolve_scope"]

#: Named scopes of :func:`resolve_scope`, which are also the estimators' ``regularizer``
#: values: ``"rep"`` every layer up to the feature map (rep-spectral), ``"head"`` the readout
#: only, ``"all"`` every penalizable layer (ll-spectral). The one definition of this vocabulary.
SCOPES = ("rep", "head", "all")

#: ``{regularizer value: scope}``; a regularizer names its scope by the scope's own name.
REGULARIZERS = {name: name for name in SCOPES}

#: Deprecated spellings of the scopes (they warn, naming the canonical one).
_DEPRECATED_SCOPES = {"representation": "rep"}

#: Module types whose weight the penalty knows how to regularize: linear maps with an
#: operator norm (convolutions at the input size they see).
PENALIZABLE_TYPES = (nn.Linear, *CONV_TYPES)


def _penalizable(module, prefix=""):
    return [
        prefix + name if name else prefix.rstrip(".")
        for name, m in module.named_modules()
        if isinstance(m, PENALIZABLE_TYPES)
    ]


def resolve_scope(module, scope):
    """Names of the layers of ``module`` that a penalty with ``scope`` covers.

    Parameters
    ----------
    module : torch.nn.Module
        The network. Named scopes need it to expose ``features`` (the representation
        Φ) and ``head`` (the readout) submodules, as every skspectral model does.
    scope : {"rep", "head", "all"} or list of str
        A named scope, or explicit module names (as in ``module.named_modules()``).
        ``"representation"``, a deprecated spelling of ``"rep"``, warns.

    Returns
    -------
    list of str
        Module names in forward order.

    Raises
    ------
    ValueError
        Unknown scope, a module name that does not exist or is not a penalizable layer,
        or a named scope that matches no layer.
    TypeError
        A named scope on a module without ``features``/``head``.

    Examples
    --------
    >>> import torch.nn as nn
    >>> from skspectral.regularization import resolve_scope
    >>> net = nn.Module()
    >>> net.features = nn.Sequential(nn.Conv1d(1, 4, 3), nn.ReLU(), nn.Flatten())
    >>> net.head = nn.Linear(8, 2)
    >>> resolve_scope(net, "rep"), resolve_scope(net, "all")
    (['features.0'], ['features.0', 'head'])
    """
    if isinstance(scope, str):
        if scope in _DEPRECATED_SCOPES:
            warnings.warn(f"The scope {scope!r} is deprecated and will be removed in "
                          f"skspectral 0.4; use {_DEPRECATED_SCOPES[scope]!r}.", FutureWarning,
                          stacklevel=2)
            scope = _DEPRECATED_SCOPES[scope]
        if scope not in SCOPES:
            raise ValueError(f"Unknown scope {scope!r}; expected one of {SCOPES} or a list of "
                             "module names.")
        if scope == "all":
            names = _penalizable(module)
        else:
            part = "features" if scope == "rep" else "head"
            sub = getattr(module, part, None)
            if not isinstance(sub, nn.Module):
                raise TypeError(
                    f"Scope {scope!r} needs a module with a '{part}' submodule; "
                    f"{type(module).__name__} has none. Pass explicit layer names instead."
                )
            names = _penalizable(sub, prefix=part + ".")
        if not names:
            raise ValueError(f"Scope {scope!r} matches no {_type_names()} layer in "
                             f"{type(module).__name__}.")
        return names

    names = list(scope)
    available = _penalizable(module)
    for name in names:
        if not isinstance(name, str) or name not in available:
            raise ValueError(
                f"Layer {name!r} is not a {_type_names()} layer of {type(module).__name__}; "
                f"available: {available}."
            )
    if len(set(names)) != len(names):
        raise ValueError(f"Layer names must be unique, got {names}.")
    return names


def _type_names():
    return "/".join(t.__name__ for t in PENALIZABLE_TYPES)
