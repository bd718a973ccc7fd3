"""A net's training state as data: state dicts, plain containers and tensors, nothing else.

What :func:`capture` returns loads with ``torch.load(weights_only=True)``, which refuses
everything but tensors and plain Python values: loading a checkpoint never runs code. The
module, optimizer, penalty and callbacks are those the estimator builds from its
configuration; :func:`restore_net` and :func:`restore_callbacks` load their saved state into
them (so the hooks the built ones carry stay, and the optimizer keeps the module's very
parameters).
"""

import random
import types
import warnings
from collections import OrderedDict
from functools import partial

import numpy as np
import torch
from skorch.history import History

from ..regularization import SpectralPenalty

__all__ = ["NotData", "capture", "check_payload", "restore_callbacks", "restore_net",
           "set_rng_state"]

#: Fitted attributes of a net that a freshly initialized net rebuilds identically from its
#: configuration (and some hold bound methods of the net): never taken from a checkpoint.
_NET_REBUILT = {"callbacks_", "virtual_params_", "init_context_", "prefixes_",
                "cuda_dependent_attributes_", "initialized_", "input_shapes_"}

#: The key of the dict that stands for a NumPy array or scalar (its bytes as a uint8 tensor).
_ARRAY = "__numpy__"

#: NumPy kinds stored: bool, integers, floats, complex, text and bytes (never objects).
_ARRAY_KINDS = set("biufcUS")

#: Values :func:`capture` skips in a callback's state: code, which the callback's
#: ``initialize`` builds anew from its parameters (skorch's ``LRScheduler.policy_``).
_CODE = (type, types.FunctionType, types.BuiltinFunctionType, types.MethodType, partial)

_SCALARS = (type(None), bool, int, float, complex, str)


class NotData(TypeError):
    """A value that a checkpoint cannot hold: it is not plain data (the message says where)."""


# ----------------------------------------------------------------------- the codec
def to_data(value, where):
    """``value`` as tensors and plain containers; NumPy arrays and scalars by their bytes."""
    if type(value) in _SCALARS or type(value) in (torch.Tensor, torch.nn.Parameter):
        return value
    if isinstance(value, (np.ndarray, np.generic)) and value.dtype.kind in _ARRAY_KINDS:
        raw = np.frombuffer(np.ascontiguousarray(value).tobytes(), dtype=np.uint8)
        return {_ARRAY: torch.from_numpy(raw.copy()), "dtype": value.dtype.str,
                "shape": list(np.shape(value)), "scalar": isinstance(value, np.generic)}
    if type(value) in (list, tuple):
        return type(value)(to_data(v, f"{where}[{i}]") for i, v in enumerate(value))
    if type(value) in (dict, OrderedDict) and _ARRAY not in value:
        bad = [k for k in value if type(k) not in _SCALARS]
        if bad:
            raise NotData(f"{where} has a key of type {type(bad[0]).__name__}")
        return type(value)((k, to_data(v, f"{where}[{k!r}]")) for k, v in value.items())
    raise NotData(f"{where} is a {type(value).__module__}.{type(value).__qualname__}, which "
                  "is not plain data")


def from_data(value, device):
    """What :func:`to_data` stored, tensors moved to ``device``."""
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, dict) and _ARRAY in value:
        dtype = np.dtype(value["dtype"])
        if dtype.kind not in _ARRAY_KINDS:
            raise NotData(f"a stored array of dtype {dtype} is not plain data")
        array = np.frombuffer(value[_ARRAY].numpy().tobytes(), dtype=dtype).reshape(
            value["shape"]).copy()
        return array[()] if value["scalar"] else array
    if isinstance(value, (list, tuple)):
        return type(value)(from_data(v, device) for v in value)
    if isinstance(value, dict):
        return type(value)((k, from_data(v, device)) for k, v in value.items())
    return value


# ----------------------------------------------------------------------- random generators
def rng_state(device):
    """Torch's CPU and training GPU generators, NumPy's and Python's global ones, as data."""
    # NumPy's legacy global generator is the one code draws from without a Generator of its
    # own (a callback, a transform): its state is what there is to save.
    kind, keys, pos, has_gauss, gauss = np.random.get_state()  # noqa: NPY002
    version, internal, gauss_next = random.getstate()
    state = {"torch": torch.get_rng_state(), "device": str(device),
             "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)),
                       "pos": int(pos), "has_gauss": int(has_gauss), "gauss": float(gauss)},
             "python": [version, list(internal), gauss_next]}
    dev = torch.device(device)
    if dev.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(dev.index or 0)
    return state


def set_rng_state(state, device):
    """Put back what :func:`rng_state` returned."""
    torch.set_rng_state(state["torch"].cpu())
    numpy = state["numpy"]
    np.random.set_state((numpy["kind"], numpy["keys"].numpy().astype(np.uint32),  # noqa: NPY002
                         numpy["pos"], numpy["has_gauss"], numpy["gauss"]))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    dev = torch.device(device)
    if dev.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"].cpu(), dev.index or 0)


# ----------------------------------------------------------------------- the net
def _net_entry(key, value):
    if isinstance(value, torch.nn.Module):
        entry = {"state_dict": OrderedDict(value.state_dict())}
        for name, item in entry["state_dict"].items():  # extra states: data only
            if not isinstance(item, torch.Tensor):
                entry["state_dict"][name] = to_data(item, f"{key}[{name!r}]")
        if isinstance(value, SpectralPenalty):  # not a buffer: it decides the next update
            entry["converged"] = bool(value.converged)
        return entry
    if hasattr(value, "state_dict") and hasattr(value, "load_state_dict"):
        return {"state_dict": to_data(value.state_dict(), key)}  # optimizer, GradScaler
    if isinstance(value, History):
        return {"history": to_data(list(value), key)}
    return {"value": to_data(value, key)}


def _fitted(net):
    return {k: v for k, v in vars(net).items()
            if k.endswith("_") and not k.startswith("_") and k not in _NET_REBUILT}


def capture(net, skip=()):
    """The training state of ``net`` now (at the end of an epoch), as data.

    ``{"net": ..., "callbacks": ..., "rng": ...}``: the net's fitted attributes (modules and
    optimizers by their state dicts, the history by its rows), each callback's state but
    those of the classes ``skip``, and the random generators' states.

    Raises
    ------
    NotData
        If a fitted attribute of the net holds something else than data.
    """
    return {"net": {key: _net_entry(key, value) for key, value in _fitted(net).items()},
            "callbacks": {name: _callback_entry(name, cb) for name, cb in net.callbacks_
                          if not isinstance(cb, skip)},
            "rng": rng_state(net.device)}


def restore_net(net, saved, device):
    """Load the fitted attributes ``saved`` into ``net``, built by the same configuration.

    Raises
    ------
    ValueError
        If they do not fit the net (another set of attributes, other state dict keys or
        shapes).
    """
    built = _fitted(net)
    if set(built) != set(saved):
        raise ValueError(f"it holds the net attributes {sorted(saved)}, this configuration "
                         f"builds {sorted(built)}")
    for key, entry in saved.items():
        current = built[key]
        if "history" in entry:
            net.__dict__[key] = type(current)(from_data(entry["history"], "cpu"))
        elif "state_dict" in entry:
            try:
                current.load_state_dict(from_data(entry["state_dict"], device))
            except (RuntimeError, ValueError, KeyError, TypeError, AttributeError) as exc:
                raise ValueError(f"its {key} does not fit this configuration's ({exc})") from exc
            if "converged" in entry:
                current.converged = bool(entry["converged"])
        else:  # bypass skorch's __setattr__: the names are registered
            net.__dict__[key] = from_data(entry["value"], device)


# ----------------------------------------------------------------------- the callbacks
def _is_scheduler(value):
    schedulers = torch.optim.lr_scheduler
    return isinstance(value, (getattr(schedulers, "LRScheduler", ()),
                              getattr(schedulers, "_LRScheduler", ()),
                              schedulers.ReduceLROnPlateau))


def _callback_entry(name, cb):
    """A callback's state: its attributes ending in ``_`` (skorch's convention for what
    ``initialize`` sets and training changes) but code, schedulers as their ``state_dict``;
    or, where that is not data, the reason."""
    params = set(cb.get_params(deep=False)) if hasattr(cb, "get_params") else set()
    entry = {"class": f"{type(cb).__module__}.{type(cb).__qualname__}", "state": {},
             "schedulers": {}}
    try:
        for key, value in vars(cb).items():
            if not key.endswith("_") or key.startswith("_") or key in params \
                    or isinstance(value, _CODE):
                continue
            where = f"callback {name!r}'s {key}"
            if _is_scheduler(value):
                entry["schedulers"][key] = to_data(value.state_dict(), where)
            else:
                entry["state"][key] = to_data(value, where)
    except NotData as exc:
        return {"class": entry["class"], "error": str(exc)}
    return entry


def _restorable(name, cb, entry, path):
    """Whether ``entry`` is the state of ``cb``; warn why not."""
    kind = f"{type(cb).__module__}.{type(cb).__qualname__}"
    if entry["class"] != kind:
        reason = f"is a {entry['class']}, this fit's a {kind}"
    elif "error" in entry:
        reason = f"could not be saved in {path} ({entry['error']})"
    else:
        return True
    warnings.warn(f"The checkpoint's callback {name!r} {reason}: it starts afresh.",
                  UserWarning, stacklevel=5)
    return False


def restore_callbacks(net, saved, device, path, skip=()):
    """Give each callback of ``net`` the saved state of the callback of its name and class.

    Returns
    -------
    dict
        ``{(callback name, attribute): state dict}`` of the learning-rate schedulers, which
        are loaded when training begins (their callback rebuilds them then).
    """
    schedulers = {}
    for name, cb in net.callbacks_:
        entry = saved.get(name)
        if isinstance(cb, skip) or entry is None or not _restorable(name, cb, entry, path):
            continue
        for key, value in entry["state"].items():
            setattr(cb, key, from_data(value, device))
        for key, value in entry["schedulers"].items():
            schedulers[(name, key)] = from_data(value, "cpu")
    return schedulers


# ----------------------------------------------------------------------- checks
def _require(condition, message):
    if not condition:
        raise ValueError(message)


def check_payload(payload, epochs):
    """Check the shape of a loaded payload of ``epochs`` epochs (a ValueError says how)."""
    _require(isinstance(payload, dict) and set(payload) == {"net", "callbacks", "rng"},
             "its payload does not hold a net, callbacks and generator states")
    net, callbacks, rng = payload["net"], payload["callbacks"], payload["rng"]
    _require(isinstance(net, dict) and all(isinstance(e, dict) and len(e) in (1, 2)
                                           for e in net.values()),
             "its net attributes are malformed")
    history = net.get("history_", {}).get("history")
    _require(isinstance(history, list) and len(history) == epochs,
             f"its history does not hold the {epochs} epochs its header names")
    _require(isinstance(callbacks, dict) and all(
        isinstance(e, dict) and isinstance(e.get("class"), str)
        and ("error" in e or {"state", "schedulers"} <= set(e)) for e in callbacks.values()),
        "its callback states are malformed")
    _require(all(isinstance(row, dict) for row in history), "its history rows are malformed")
    numpy = rng.get("numpy") if isinstance(rng, dict) else None
    _require(isinstance(numpy, dict) and isinstance(numpy.get("keys"), torch.Tensor)
             and numpy["keys"].shape == (624,) and isinstance(rng.get("torch"), torch.Tensor)
             and isinstance(rng.get("python"), list) and len(rng["python"]) == 3
             and isinstance(rng.get("device"), str), "its generator states are malformed")
