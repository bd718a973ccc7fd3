"""Resumable training: the whole training state in one checked file, written atomically.

A checkpoint is one file: a magic line, a one-line JSON header (the configuration it belongs
to, the number of epochs done, the seed, the payload's size and SHA-256) and the payload, a
``torch.save`` archive of

- the net's fitted attributes (``module_``, ``optimizer_``, ``criterion_``, ``penalty_`` with
  its power-iteration vectors, ``scaler_``, ``history_``, ...), saved together so the
  optimizer still holds the module's very parameters when loaded;
- every callback's state (its attributes ending in ``_``: the penalty schedule's position,
  best scores, L2-SP's reference weights, ...), each saved on its own, so that a callback
  that cannot be saved or loaded does not take the rest with it; a learning-rate scheduler
  held by a callback is saved as its ``state_dict``;
- the random number generators' states at the end of the epoch (torch's CPU generator, the
  training GPU's, NumPy's and Python's global ones).

:class:`TrainingCheckpoint` (a skorch callback) writes it; :func:`find_checkpoint` reads the
newest good one, :func:`restore_training_state` puts it into a freshly built net. See
docs/checkpoints.md.
"""

import hashlib
import io
import json
import numbers
import os
import random
import re
import types
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from skorch.callbacks import Callback

from .._collectives import world

__all__ = ["CHECKPOINT_FILES", "CheckpointError", "TrainingCheckpoint", "describe",
           "data_fingerprint", "config_differences", "find_checkpoint", "restore_training_state"]

_MAGIC = b"SKSPECTRAL-CHECKPOINT 1\n"

#: The two files of a checkpoint folder: the newest checkpoint and the one before it.
CHECKPOINT_FILES = ("latest.ckpt", "previous.ckpt")

#: Fitted attributes of a net that a freshly initialized net rebuilds identically (and some
#: hold bound methods of the net that wrote them): never taken from a checkpoint.
_NET_REBUILT = {"callbacks_", "virtual_params_", "init_context_", "prefixes_",
                "cuda_dependent_attributes_", "initialized_"}

#: Rows of an array hashed for its fingerprint (evenly spaced, first and last included).
_FINGERPRINT_ROWS = 4096


class CheckpointError(RuntimeError):
    """A checkpoint folder holds checkpoints, but none that can be resumed from.

    Raised by an estimator's ``fit`` with ``checkpoint_dir`` when every checkpoint there is
    damaged (the message names each file and what failed); delete the folder or pass
    another to start afresh.

    Examples
    --------
    >>> from skspectral.training import CheckpointError
    >>> issubclass(CheckpointError, RuntimeError)
    True
    """


class _Corrupt(Exception):
    """One checkpoint file failed verification (the message says how)."""


# ----------------------------------------------------------------------- configuration
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


def config_differences(saved, current):
    """``[(name, saved text, current text)]`` of every entry that differs (sorted by name)."""
    missing = "(not set)"
    return [(name, saved.get(name, missing), current.get(name, missing))
            for name in sorted(set(saved) | set(current))
            if saved.get(name, missing) != current.get(name, missing)]


# ----------------------------------------------------------------------- the file
@dataclass
class FoundCheckpoint:
    """A verified checkpoint file: its path, header and (unparsed) payload."""

    path: Path
    header: dict
    payload: bytes
    latest_good: bool


def _encode(header, payload):
    header = dict(header, payload_bytes=len(payload),
                  payload_sha256=hashlib.sha256(payload).hexdigest())
    return _MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n" + payload


def _decode(path):
    """``(header, payload)`` of a checkpoint file, or :class:`_Corrupt` saying what is wrong."""
    data = path.read_bytes()
    if not data.startswith(_MAGIC):
        raise _Corrupt("it does not start as a skspectral checkpoint does"
                       + (" (the file is empty)" if not data else ""))
    end = data.find(b"\n", len(_MAGIC))
    if end < 0:
        raise _Corrupt(f"truncated inside its header ({len(data)} bytes)")
    try:
        header = json.loads(data[len(_MAGIC):end])
        size, digest = int(header["payload_bytes"]), str(header["payload_sha256"])
    except (ValueError, KeyError, TypeError) as exc:
        raise _Corrupt(f"its header is damaged ({exc})") from None
    payload = data[end + 1:]
    if len(payload) != size:
        raise _Corrupt(f"truncated: {len(payload)} of its {size} payload bytes are there"
                       if len(payload) < size else
                       f"{len(payload) - size} bytes too long")
    if hashlib.sha256(payload).hexdigest() != digest:
        raise _Corrupt("its contents do not match their SHA-256 checksum (the file was "
                       "altered or damaged)")
    return header, payload


def _fsync_directory(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # not possible on every platform (Windows); the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_checkpoint(directory, header, payload, rotate=True):
    """Write a checkpoint atomically as ``latest.ckpt``, keeping the one before.

    The bytes go to ``latest.ckpt.tmp`` beside the target, are flushed and fsynced, and the
    file is renamed into place (``os.replace``, atomic on POSIX and Windows): a reader sees
    the old file or the new one, never a part. The former ``latest.ckpt`` becomes
    ``previous.ckpt`` first, unless ``rotate`` is False (it is known to be bad).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    latest, previous = (directory / name for name in CHECKPOINT_FILES)
    tmp = latest.with_name(latest.name + ".tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(_encode(header, payload))
            f.flush()
            os.fsync(f.fileno())
        if rotate and latest.exists():
            os.replace(latest, previous)
        os.replace(tmp, latest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_directory(directory)
    return latest


def find_checkpoint(directory):
    """The newest good checkpoint in ``directory``, or None where there is none.

    ``latest.ckpt`` is verified (magic, header, size, SHA-256); if it is missing or bad,
    ``previous.ckpt`` is, with a UserWarning naming the bad file and what is wrong with it.

    Raises
    ------
    CheckpointError
        If checkpoint files are there but none is good: training never silently starts
        from scratch over a damaged checkpoint.
    """
    directory = Path(directory)
    latest, previous = (directory / name for name in CHECKPOINT_FILES)
    problems = []
    for path in (latest, previous):
        if not path.exists():
            if path is latest and previous.exists():
                problems.append(f"{path} is missing (the run stopped while replacing it)")
            continue
        try:
            header, payload = _decode(path)
        except (_Corrupt, OSError) as exc:
            problems.append(f"{path} is unusable: {exc}")
            continue
        if problems:
            warnings.warn(f"{'; '.join(problems)}. Resuming from the checkpoint before it, "
                          f"{path} ({header['epochs']} epochs).", UserWarning, stacklevel=3)
        return FoundCheckpoint(path, header, payload, latest_good=path == latest)
    if problems:
        raise CheckpointError(
            f"No usable checkpoint in {directory}: {'; '.join(problems)}. Training does not "
            "restart from scratch over them: delete the folder (or pass another "
            "checkpoint_dir) to start afresh.")
    if latest.with_name(latest.name + ".tmp").exists():
        warnings.warn(f"{directory} holds only an incomplete checkpoint (the run stopped while "
                      "writing its first one); training starts from scratch.", UserWarning,
                      stacklevel=3)
    return None


# ----------------------------------------------------------------------- the state
def _rng_state(device):
    # NumPy's legacy global generator is the one code draws from without a Generator of its
    # own (a callback, a transform): its state is what there is to save.
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),  # noqa: NPY002
             "python": random.getstate(), "device": str(device)}
    dev = torch.device(device)
    if dev.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(dev.index or 0)
    return state


def _set_rng_state(state, device):
    torch.set_rng_state(state["torch"].cpu())
    np.random.set_state(state["numpy"])  # noqa: NPY002
    random.setstate(state["python"])
    dev = torch.device(device)
    if dev.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"].cpu(), dev.index or 0)


def _is_scheduler(value):
    schedulers = torch.optim.lr_scheduler
    return isinstance(value, (getattr(schedulers, "LRScheduler", ()),
                              getattr(schedulers, "_LRScheduler", ()),
                              schedulers.ReduceLROnPlateau))


class _SchedulerState(dict):
    """A learning-rate scheduler's ``state_dict`` standing in for the scheduler."""


def _save(obj):
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def _load(data, device):
    return torch.load(io.BytesIO(data), map_location=device, weights_only=False)


def _callback_state(cb):
    """A callback's state: its attributes ending in ``_`` (skorch's convention for what
    ``initialize`` sets and training changes), schedulers as their ``state_dict``."""
    params = set(cb.get_params(deep=False)) if hasattr(cb, "get_params") else set()
    state = {}
    for key, value in vars(cb).items():
        if key.endswith("_") and not key.startswith("_") and key not in params:
            state[key] = _SchedulerState(value.state_dict()) if _is_scheduler(value) else value
    return state


#: The hooks of an ``nn.Module`` that code attaches to call it: forward and backward.
_HOOKS = ("_forward_hooks", "_forward_hooks_with_kwargs", "_forward_hooks_always_called",
          "_forward_pre_hooks", "_forward_pre_hooks_with_kwargs", "_backward_hooks",
          "_backward_pre_hooks")


@contextmanager
def _without_hooks(modules):
    """Detach every forward and backward hook of ``modules`` and their submodules for the body.

    Callbacks attach them for training (Batch Spectral Shrinkage's, as closures that do not
    pickle) and attach them again when a resumed run begins; the module a net builds has
    its own, which :func:`_adopt_hooks` gives the loaded one.
    """
    detached = []
    for module in modules:
        for sub in module.modules():
            for name in _HOOKS:
                hooks = sub.__dict__.get(name)
                if hooks:
                    detached.append((sub, name, hooks))
                    sub.__dict__[name] = type(hooks)()
    try:
        yield
    finally:
        for sub, name, hooks in detached:
            sub.__dict__[name] = hooks


def _adopt_hooks(built, loaded):
    """Give the submodules of ``loaded`` the hooks of their namesakes in ``built``."""
    subs = dict(loaded.named_modules())
    for name, sub in built.named_modules():
        if name in subs:
            for attr in _HOOKS:
                if attr in sub.__dict__:
                    subs[name].__dict__[attr] = sub.__dict__[attr]


def _capture(net):
    """The payload of a checkpoint of ``net`` now (at the end of an epoch)."""
    fitted = {k: v for k, v in vars(net).items()
              if k.endswith("_") and not k.startswith("_") and k not in _NET_REBUILT}
    modules = [v for v in fitted.values() if isinstance(v, torch.nn.Module)]
    callbacks = {}
    for name, cb in net.callbacks_:
        if isinstance(cb, TrainingCheckpoint):
            continue
        entry = {"class": f"{type(cb).__module__}.{type(cb).__qualname__}", "state": None}
        try:
            entry["state"] = _save(_callback_state(cb))
        except Exception as exc:  # a user's callback holding something unpicklable
            entry["error"] = f"{type(exc).__name__}: {exc}"
        callbacks[name] = entry
    with _without_hooks(modules):
        return _save({"net": fitted, "callbacks": callbacks, "rng": _rng_state(net.device)})


def restore_training_state(net, found, continue_run=True):
    """Put a checkpoint's training state into ``net``, freshly built and initialized.

    The net keeps its own parameters and callbacks (the current call's, which may differ
    from those that wrote the checkpoint in anything the configuration check ignores); it
    takes the checkpoint's fitted attributes (module, optimizer, penalty, history, ...) and
    each callback's state where a callback of the same name and class is there.

    Parameters
    ----------
    net : SpectralNet
        Initialized, with a :class:`TrainingCheckpoint` among its callbacks.
    found : FoundCheckpoint
    continue_run : bool, default=True
        Continue the interrupted training call as though it had never stopped: when
        training begins (after every other callback's ``on_train_begin``), the net's
        :class:`TrainingCheckpoint` puts back the learning rates, the schedulers' states
        and the random number generators as they were at the checkpoint's epoch end.
        False starts a new training call from the checkpoint's state, as ``partial_fit``
        does after an earlier call (the caller seeds the generators; schedulers are
        rebuilt as skorch rebuilds them at every train begin).

    Returns
    -------
    int
        The number of epochs the checkpoint holds.
    """
    device = net.device
    try:
        payload = _load(found.payload, device)
    except Exception as exc:  # intact bytes (the checksum held) that do not load here
        raise CheckpointError(
            f"The checkpoint {found.path} is intact but cannot be loaded here "
            f"({type(exc).__name__}: {exc}); a class or function it refers to may have "
            "moved. Delete the folder (or pass another checkpoint_dir) to start "
            "afresh.") from exc
    for key, value in payload["net"].items():
        built = net.__dict__.get(key)
        if isinstance(built, torch.nn.Module) and isinstance(value, torch.nn.Module):
            _adopt_hooks(built, value)
        net.__dict__[key] = value  # bypass skorch's __setattr__: the names are registered
    penalty = getattr(net, "penalty_", None)
    if penalty is not None:
        # Outside training the penalty runs on one rank; on_train_begin sets it per run.
        penalty.distributed = False
    schedulers = {}
    for name, cb in net.callbacks_:
        entry = payload["callbacks"].get(name)
        if isinstance(cb, TrainingCheckpoint) or entry is None:
            continue
        kind = f"{type(cb).__module__}.{type(cb).__qualname__}"
        if entry["class"] != kind:
            warnings.warn(f"The checkpoint's callback {name!r} is a {entry['class']}, this "
                          f"fit's a {kind}: it starts afresh.", UserWarning, stacklevel=4)
            continue
        if entry["state"] is None:
            warnings.warn(f"The state of callback {name!r} could not be saved in the "
                          f"checkpoint ({entry.get('error')}): it starts afresh.", UserWarning,
                          stacklevel=4)
            continue
        try:
            state = _load(entry["state"], device)
        except Exception as exc:
            warnings.warn(f"The state of callback {name!r} in {found.path} cannot be loaded "
                          f"({type(exc).__name__}: {exc}): it starts afresh.", UserWarning,
                          stacklevel=4)
            continue
        for key, value in state.items():
            if isinstance(value, _SchedulerState):
                schedulers[(name, key)] = dict(value)
            else:
                setattr(cb, key, value)
    checkpoint = _checkpoint_callback(net)
    checkpoint.latest_good_ = found.latest_good
    if continue_run:
        checkpoint.pending_ = {
            "rng": payload["rng"], "schedulers": schedulers,
            "param_groups": [{k: v for k, v in group.items() if k != "params"}
                             for group in net.optimizer_.param_groups]}
    if torch.device(payload["rng"]["device"]).type != torch.device(device).type:
        warnings.warn(f"The checkpoint {found.path} was written training on "
                      f"{payload['rng']['device']}; training continues on {device}, which "
                      "draws other random numbers and rounds otherwise: the result is not "
                      "bit-identical to an uninterrupted run.", UserWarning, stacklevel=4)
    return int(found.header["epochs"])


def _checkpoint_callback(net):
    for _, cb in net.callbacks_:
        if isinstance(cb, TrainingCheckpoint):
            return cb
    raise ValueError("The net has no TrainingCheckpoint callback.")


class TrainingCheckpoint(Callback):
    """Write the whole training state to ``directory`` at the end of epochs.

    Every ``every`` epochs (counted over the whole history) and at the last epoch of every
    training call, after every other callback has recorded the epoch (the estimators add it
    last; skorch's PrintLog, which records nothing, still follows it). Only rank 0 writes
    when the net trains data-parallel (``distributed=True``). The header it writes is set by
    the estimator per call (``header_``: configuration, data fingerprint, seed).

    On a resumed run (see ``restore_training_state``), its ``on_train_begin`` runs after
    every other callback's and sets what those would otherwise set anew: the learning rates
    and schedulers' states (skorch's ``LRScheduler`` rebuilds its scheduler from the history
    at every train begin: a rebuilt ``StepLR`` decays once more on a step boundary) and the
    random number generators, so the next epoch draws what it would have drawn
    uninterrupted.

    Parameters
    ----------
    directory : str, path-like or None, default=None
        Folder the checkpoints are written to; None writes nothing.
    every : int, default=1
        Epochs between checkpoints (the last epoch of a training call is always written).

    See Also
    --------
    skspectral.training.CheckpointError : No checkpoint of the folder can be resumed.

    Examples
    --------
    Estimators add it for ``checkpoint_dir``; a second ``fit`` of the same configuration
    resumes where the first ended (here: nothing left to train):

    >>> import tempfile
    >>> from sklearn.datasets import load_digits
    >>> from skspectral import SpectralMLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     params = dict(hidden_layer_sizes=(16,), max_epochs=2, random_state=0,
    ...                   checkpoint_dir=folder)
    ...     clf = SpectralMLPClassifier(**params).fit(X / 16, y)
    ...     callback = dict(clf.net_.callbacks_)["training_checkpoint"]
    ...     again = SpectralMLPClassifier(**params).fit(X / 16, y)
    >>> type(callback).__name__, again.n_iter_
    ('TrainingCheckpoint', 2)
    """

    def __init__(self, directory=None, every=1):
        self.directory = directory
        self.every = every

    def initialize(self):
        self.header_ = {}
        self.stop_at_ = None
        self.pending_ = None
        self.latest_good_ = True
        return self

    def on_train_begin(self, net, **kwargs):
        pending, self.pending_ = self.pending_, None
        if pending is None:
            return
        for group, saved in zip(net.optimizer_.param_groups, pending["param_groups"],
                                strict=True):
            group.update(saved)
        callbacks = dict(net.callbacks_)
        for (name, key), state in pending["schedulers"].items():
            scheduler = getattr(callbacks[name], key, None)
            if scheduler is not None and hasattr(scheduler, "load_state_dict"):
                scheduler.load_state_dict(state)
        _set_rng_state(pending["rng"], net.device)

    def on_epoch_end(self, net, **kwargs):
        done = len(net.history)
        if self.directory is None or not (done % self.every == 0 or done == self.stop_at_):
            return
        if getattr(net, "distributed", False) and world()[0] != 0:
            return  # one writer: every rank holds the same state
        header = dict(self.header_, epochs=done)
        write_checkpoint(self.directory, header, _capture(net), rotate=self.latest_good_)
        self.latest_good_ = True
