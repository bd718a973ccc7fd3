"""What a checkpoint records of the run it belongs to: canonical texts of parameter values
(:func:`describe`) and a cheap fingerprint of the training data (:func:`data_fingerprint`).
"""

import hashlib
import numbers
import random
import re
import types
from contextlib import contextmanager

import numpy as np
import torch

__all__ = ["data_fingerprint", "describe"]

#: Rows of an array hashed for its fingerprint (evenly spaced, first and last included).
_FINGERPRINT_ROWS = 4096


def _digest(chunks):
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(chunk)
    return h.hexdigest()[:16]


def _tensor_bytes(t):
    t = t.detach().cpu().contiguous().reshape(-1)
    return t.view(torch.uint8).numpy().tobytes() if t.numel() else b""


def _state_digest(state_dict):
    return _digest(chunk for name, t in sorted(state_dict.items())
                   for chunk in (name.encode(), str(t.dtype).encode(),
                                 str(tuple(t.shape)).encode(), _tensor_bytes(t)))


def describe(value):
    """A canonical, comparable text of a parameter value (the checkpoint's record of it).

    Numbers keep their kind (``1`` and ``1.0`` differ: ``burnin=1`` is an epoch,
    ``burnin=1.0`` all of them); tuples and lists read alike; classes and functions are named
    by module and qualified name; arrays, tensors, modules and fitted estimators by their
    contents' SHA-256 (so pretrained weights are compared by value); anything else by its
    ``repr`` without memory addresses.

    Parameters
    ----------
    value : object

    Returns
    -------
    str
    """
    if value is None or isinstance(value, (bool, str)):
        return repr(value)
    if isinstance(value, numbers.Integral):
        return repr(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(describe(v) for v in value) + "]"
    if isinstance(value, dict):
        items = sorted((str(k), describe(v)) for k, v in value.items())
        if items and all(isinstance(v, torch.Tensor) for v in value.values()):
            return f"state dict sha256:{_state_digest(value)}"
        return "{" + ", ".join(f"{k}: {v}" for k, v in items) + "}"
    if isinstance(value, torch.Tensor):
        return f"tensor{tuple(value.shape)} {value.dtype} sha256:{_digest([_tensor_bytes(value)])}"
    if isinstance(value, np.ndarray):
        return (f"array{value.shape} {value.dtype} "
                f"sha256:{_digest([np.ascontiguousarray(value).tobytes()])}")
    if isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)):
        return f"{value.__module__}.{value.__qualname__}"
    if isinstance(value, (np.random.RandomState, np.random.Generator)):
        return f"a {type(value).__name__} instance"
    if isinstance(value, torch.nn.Module):
        return f"{_plain_repr(value)} sha256:{_state_digest(value.state_dict())}"
    module = getattr(value, "__dict__", {}).get("net_")  # a fitted skspectral estimator
    if module is not None and hasattr(module, "module_"):
        return (f"fitted {type(value).__name__} "
                f"sha256:{_state_digest(module.module_.state_dict())}")
    if hasattr(value, "get_params") and not isinstance(value, type):
        params = value.get_params(deep=False)
        return f"{type(value).__qualname__}({describe(params)[1:-1]})"
    return _plain_repr(value)


def _plain_repr(value):
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))


def data_fingerprint(X, y=None):
    """What identifies the training data cheaply: shape, dtype and a hash of some rows.

    Arrays: their shape and dtype, and the SHA-256 of up to 4096 evenly spaced rows (first
    and last included) and of all of ``y``. A Dataset: its class, length, and its first and
    last items (and its label codes where it holds them), read with the random generators
    seeded alike and put back afterwards: random transforms give the same items every time,
    and training draws what it draws without checkpoints.

    Parameters
    ----------
    X : numpy.ndarray, torch.Tensor or torch.utils.data.Dataset
    y : array-like, optional

    Returns
    -------
    dict of str
    """
    out = {}
    if isinstance(X, (np.ndarray, torch.Tensor)):
        n = len(X)
        rows = np.unique(np.linspace(0, n - 1, min(n, _FINGERPRINT_ROWS)).round().astype(int))
        sample = X[torch.as_tensor(rows)] if isinstance(X, torch.Tensor) else X[rows]
        out["X"] = (f"{type(X).__name__}{tuple(X.shape)} {X.dtype} rows "
                    f"sha256:{_digest([_as_bytes(sample)])}")
    else:
        inner = getattr(X, "dataset", X)
        n = len(X)
        with _fixed_rng():  # random transforms give the same items, training draws the same
            ends = [X[i] for i in sorted({0, n - 1})] if n else []
        out["X"] = (f"{type(inner).__module__}.{type(inner).__qualname__} of {n} items, ends "
                    f"sha256:{_digest(_as_bytes(part) for item in ends for part in item)}")
        codes = getattr(X, "y", None)
        if codes is not None:
            out["y"] = f"{len(codes)} labels sha256:{_digest([_as_bytes(codes)])}"
    if y is not None:
        out["y"] = f"{len(y)} labels sha256:{_digest([_as_bytes(y)])}"
    return out


@contextmanager
def _fixed_rng():
    """Run the body with torch's CPU, NumPy's and Python's generators seeded with 0, and
    put their states back afterwards."""
    numpy_state, python_state = np.random.get_state(), random.getstate()  # noqa: NPY002
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            np.random.seed(0)  # noqa: NPY002
            random.seed(0)
            yield
    finally:
        np.random.set_state(numpy_state)  # noqa: NPY002
        random.setstate(python_state)


def _as_bytes(value):
    if isinstance(value, torch.Tensor):
        return _tensor_bytes(value)
    return np.ascontiguousarray(np.asarray(value)).tobytes()
