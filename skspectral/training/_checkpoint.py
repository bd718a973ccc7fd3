"""Resumable training: the whole training state as data in one checked file, written atomically.

A checkpoint is one file: a magic line (``SKSPECTRAL-CHECKPOINT 2``), the SHA-256 of the
rest of the file, a one-line JSON header (the configuration it belongs to, the number of
epochs done, the seed, the payload's size) and the payload, a ``torch.save`` archive of
state dicts, tensors and plain Python values (:mod:`._state`), read back with
``torch.load(weights_only=True)``: a checkpoint file cannot run code when it is loaded. The
module, optimizer, penalty and callbacks are rebuilt from the estimator's configuration and
take their saved state.

:class:`TrainingCheckpoint` (a skorch callback) writes it, finds the newest good one of its
folder and resumes a run from it. See docs/checkpoints.md.
"""

import hashlib
import io
import json
import os
import stat
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from skorch.callbacks import Callback

from .._collectives import world
from .._files import PARTIAL_SUFFIX, differences, write_atomic
from ._fingerprint import data_fingerprint
from ._state import NotData, capture, check_payload, restore_callbacks, restore_net, set_rng_state

__all__ = ["CHECKPOINT_FILES", "CheckpointError", "TrainingCheckpoint", "check_directory",
           "find_checkpoint", "restore_training_state", "write_checkpoint"]

_MAGIC = b"SKSPECTRAL-CHECKPOINT 2\n"

#: The first line of the checkpoints of skspectral 0.2.0's development versions, whose
#: payload was a pickle of whole Python objects.
_PICKLED_MAGIC = b"SKSPECTRAL-CHECKPOINT 1\n"

#: The two files of a checkpoint folder: the newest checkpoint and the one before it.
CHECKPOINT_FILES = ("latest.ckpt", "previous.ckpt")

#: Every header field and its type (``bool`` is not an ``int`` here).
_HEADER = {"config": dict, "data": dict, "device": str, "epochs": int, "estimator": str,
           "payload_bytes": int, "seed": int}

#: The ranges ``[low, high)`` of a header's numbers: a checkpoint is written at the end of
#: an epoch, and seeds are drawn below 2**31.
_RANGES = {"epochs": (1, 2**31), "seed": (0, 2**31)}


class CheckpointError(RuntimeError):
    """A checkpoint folder holds checkpoints, but none that can be resumed from.

    Raised by an estimator's ``fit`` with ``checkpoint_dir`` when every checkpoint there is
    damaged, is not checkpoint data, or has an older format (the message names each file and
    what failed); delete the folder or pass another to start afresh.

    Examples
    --------
    >>> from skspectral.training import CheckpointError
    >>> issubclass(CheckpointError, RuntimeError)
    True
    """


class _Corrupt(Exception):
    """One checkpoint file failed verification (the message says how)."""


@dataclass
class FoundCheckpoint:
    """A verified checkpoint file: its path, header and loaded state (plain data)."""

    path: Path
    header: dict
    state: dict
    latest_good: bool


# ----------------------------------------------------------------------- the file
def _encode(header, payload):
    body = json.dumps(dict(header, payload_bytes=len(payload)), sort_keys=True).encode() \
        + b"\n" + payload
    return _MAGIC + hashlib.sha256(body).hexdigest().encode() + b"\n" + body


def _split(data):
    """``(header, payload)`` of a checkpoint's bytes, the checksum verified."""
    if data.startswith(_PICKLED_MAGIC):
        raise _Corrupt("it has the format of skspectral 0.2.0's development versions "
                       "(format 1, a pickle of Python objects), which this version does not "
                       "load: unpickling can run code")
    if not data.startswith(_MAGIC):
        raise _Corrupt("it does not start as a skspectral checkpoint does"
                       + (" (the file is empty)" if not data else ""))
    checksum_end = data.find(b"\n", len(_MAGIC))
    header_end = data.find(b"\n", checksum_end + 1) if checksum_end >= 0 else -1
    if header_end < 0:
        raise _Corrupt(f"truncated inside its header ({len(data)} bytes)")
    try:
        header = json.loads(data[checksum_end + 1:header_end])
        size = header["payload_bytes"]
    except (ValueError, KeyError, TypeError) as exc:
        raise _Corrupt(f"its header is damaged ({type(exc).__name__}: {exc})") from None
    payload = data[header_end + 1:]
    if isinstance(size, int) and len(payload) < size:
        raise _Corrupt(f"truncated: {len(payload)} of its {size} payload bytes are there")
    if hashlib.sha256(data[checksum_end + 1:]).hexdigest().encode() \
            != data[len(_MAGIC):checksum_end]:
        raise _Corrupt("its contents do not match their SHA-256 checksum (the file was "
                       "altered or damaged)")
    return header, payload


def _check_header(header, payload):
    """Every field there, of its type and in its range, and no other (a _Corrupt says not)."""
    if not isinstance(header, dict) or set(header) != set(_HEADER):
        found = sorted(header) if isinstance(header, dict) else type(header).__name__
        raise _Corrupt(f"its header has the fields {found}, not {sorted(_HEADER)}")
    for key, kind in _HEADER.items():
        if type(header[key]) is not kind:
            raise _Corrupt(f"its header's {key} is a {type(header[key]).__name__}, not a "
                           f"{kind.__name__}")
    for key in ("config", "data"):
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in header[key].items()):
            raise _Corrupt(f"its header's {key} is not a mapping of texts")
    for key, (low, high) in _RANGES.items():
        if not low <= header[key] < high:
            raise _Corrupt(f"its header's {key} ({header[key]}) is outside [{low}, {high})")
    if header["payload_bytes"] != len(payload):
        raise _Corrupt(f"its header's payload_bytes ({header['payload_bytes']}) is not its "
                       f"payload's size ({len(payload)})")
    try:
        torch.device(header["device"])
    except (RuntimeError, ValueError) as exc:
        raise _Corrupt(f"its header's device {header['device']!r} is no device") from exc


def _load_state(payload, epochs):
    """The payload's training state, read as data only, its shape checked."""
    try:
        state = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - whatever the bytes hold, they are refused
        first = (str(exc).strip().splitlines() or [""])[0]
        raise _Corrupt(f"its payload is not checkpoint data (torch.load with weights_only=True "
                       f"refused it: {type(exc).__name__}: {first})") from None
    try:
        check_payload(state, epochs)
    except ValueError as exc:
        raise _Corrupt(str(exc)) from None
    return state


def _read(path):
    """``(header, state)`` of a checkpoint file, or :class:`_Corrupt` saying what is wrong."""
    header, payload = _split(path.read_bytes())
    _check_header(header, payload)
    return header, _load_state(payload, header["epochs"])


def write_checkpoint(directory, header, payload, rotate=True):
    """Write a checkpoint durably and atomically as ``latest.ckpt``, keeping the one before.

    The former ``latest.ckpt`` becomes ``previous.ckpt`` just before the new one is renamed
    into place, unless ``rotate`` is False (it is known to be bad).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    latest, previous = (directory / name for name in CHECKPOINT_FILES)

    def keep_latest():
        if rotate and latest.exists():
            os.replace(latest, previous)

    return write_atomic(latest, _encode(header, payload), durable=True,
                        before_replace=keep_latest)


def find_checkpoint(directory):
    """The newest good checkpoint in ``directory``, or None where there is none.

    ``latest.ckpt`` is verified (magic, checksum, header, payload); if it is missing or bad,
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
            header, state = _read(path)
        except (_Corrupt, OSError) as exc:
            problems.append(f"{path} is unusable: {exc}")
            continue
        if problems:
            warnings.warn(f"{'; '.join(problems)}. Resuming from the checkpoint before it, "
                          f"{path} ({header['epochs']} epochs).", UserWarning, stacklevel=4)
        return FoundCheckpoint(path, header, state, latest_good=path == latest)
    if problems:
        raise CheckpointError(
            f"No usable checkpoint in {directory}: {'; '.join(problems)}. Training does not "
            "restart from scratch over them: delete the folder (or pass another "
            "checkpoint_dir) to start afresh.")
    if latest.with_name(latest.name + PARTIAL_SUFFIX).exists():
        warnings.warn(f"{directory} holds only an incomplete checkpoint (the run stopped while "
                      "writing its first one); training starts from scratch.", UserWarning,
                      stacklevel=4)
    return None


def check_directory(directory):
    """Check a checkpoint folder before training: a folder (made if missing) that this
    process can write to, and that other users cannot.

    Raises
    ------
    ValueError
        If ``directory`` is ``""``, a file, cannot be created or written, or is writable by
        every user of the machine (POSIX permission ``o+w``): anyone could put a checkpoint
        of other weights there, which ``fit`` would continue from.
    """
    if os.fspath(directory) == "":
        raise ValueError("checkpoint_dir='' names no folder (it would write into the working "
                         "directory): pass a folder, or None for no checkpoints.")
    path = Path(directory)
    if path.exists() and not path.is_dir():
        raise ValueError(f"checkpoint_dir={os.fspath(directory)!r} is a file, not a folder: "
                         "pass a folder for the checkpoints.")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise ValueError(f"checkpoint_dir={os.fspath(directory)!r} cannot be written "
                         f"({exc}): pass a folder this process can create files in.") from exc
    mode = path.stat().st_mode
    if os.name == "posix" and mode & stat.S_IWOTH:
        raise ValueError(
            f"checkpoint_dir={os.fspath(directory)!r} is writable by every user of this "
            f"machine (permissions {stat.filemode(mode)}): anyone could put a checkpoint of "
            "other weights there, which fit would continue from. Remove their write "
            f"permission (chmod o-w {os.fspath(directory)}) or pass a folder of your own.")


# ----------------------------------------------------------------------- resuming
def restore_training_state(net, found, continue_run=True):
    """Put a checkpoint's training state into ``net``, freshly built and initialized.

    The net keeps its own parameters and callbacks (the current call's, which may differ
    from those that wrote the checkpoint in anything the configuration check ignores); its
    module, optimizer, criterion, penalty and scaler load the checkpoint's state dicts, its
    history becomes the checkpoint's, and each callback takes the state of the checkpoint's
    callback of the same name and class.

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

    Raises
    ------
    CheckpointError
        If the checkpoint's state does not fit the net this configuration builds.
    """
    device, state = net.device, found.state
    try:
        restore_net(net, state["net"], device)
        schedulers = restore_callbacks(net, state["callbacks"], device, found.path,
                                       skip=TrainingCheckpoint)
    except (ValueError, TypeError, KeyError, AttributeError, RuntimeError) as exc:
        # Intact (the checksum held) and data, but not of this net: a file made by hand.
        raise CheckpointError(f"The checkpoint {found.path} cannot be resumed: {exc}. Delete "
                              "the folder (or pass another checkpoint_dir) to start afresh.") \
            from exc
    checkpoint = next(cb for _, cb in net.callbacks_ if isinstance(cb, TrainingCheckpoint))
    checkpoint.latest_good_ = found.latest_good
    if continue_run:
        checkpoint.pending_ = {
            "rng": state["rng"], "schedulers": schedulers,
            "param_groups": [{k: v for k, v in group.items() if k != "params"}
                             for group in net.optimizer_.param_groups]}
    if torch.device(state["rng"]["device"]).type != torch.device(device).type:
        warnings.warn(f"The checkpoint {found.path} was written training on "
                      f"{state['rng']['device']}; training continues on {device}, which "
                      "draws other random numbers and rounds otherwise: the result is not "
                      "bit-identical to an uninterrupted run.", UserWarning, stacklevel=4)
    return found.header["epochs"]


def _check_configuration(found, header, whole_fit, max_epochs, estimator):
    """Refuse a checkpoint of another configuration (and, for ``fit``, other data)."""
    changed = differences(found.header["config"], header["config"])
    if whole_fit:
        changed += [(f"training data ({name})", saved, now) for name, saved, now
                    in differences(found.header["data"], header["data"])]
    if changed:
        listed = "; ".join(f"{name}: {saved} in the checkpoint, {now} now"
                           for name, saved, now in changed)
        raise ValueError(
            f"{found.path} is a checkpoint of another configuration of {estimator}; it "
            f"differs in {[d[0] for d in changed]} ({listed}). Fit with the checkpoint's "
            "values to resume, or pass another checkpoint_dir (or delete this one) to start "
            "afresh.")
    if whole_fit and found.header["epochs"] > max_epochs:
        raise ValueError(
            f"{found.path} holds {found.header['epochs']} epochs, more than "
            f"max_epochs={max_epochs} (partial_fit trained past it): fit cannot end where an "
            "uninterrupted fit ends. Pass another checkpoint_dir.")


def _serialize(state):
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


class TrainingCheckpoint(Callback):
    """Write the whole training state to ``directory`` at the end of epochs, and resume from it.

    Every ``every`` epochs (counted over the whole history) and at the last epoch of every
    training call, after every other callback has recorded the epoch (the estimators add it
    last; skorch's PrintLog, which records nothing, still follows it). Only rank 0 writes
    when the net trains data-parallel (``distributed=True``).

    An estimator asks it for the folder's newest good checkpoint (:meth:`find`) before it
    builds the net, and hands what it found to :meth:`prepare` before training: the callback
    checks the configuration, restores the state and says how many epochs remain. Its
    ``on_train_begin`` then runs after every other callback's and sets what those would
    otherwise set anew: the learning rates and schedulers' states (skorch's ``LRScheduler``
    rebuilds its scheduler from the history at every train begin: a rebuilt ``StepLR`` decays
    once more on a step boundary) and the random number generators, so the next epoch draws
    what it would have drawn uninterrupted.

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
        """Forget the previous training call's settings (skorch calls this).

        Returns
        -------
        self : TrainingCheckpoint
        """
        self.header_ = {}
        self.stop_at_ = None
        self.pending_ = None
        self.latest_good_ = True
        return self

    def find(self):
        """Check the folder and read its newest good checkpoint.

        The folder must not be ``""`` or a file, is made if missing, must take a file from
        this process, and (on POSIX) must not be writable by every user of the machine;
        see docs/checkpoints.md.

        Returns
        -------
        FoundCheckpoint or None
            The verified checkpoint (a damaged newest one falls back to the one before it,
            with a warning), or None where the folder holds none.

        Raises
        ------
        ValueError
            If the folder is unusable (the message says why and how to fix it).
        CheckpointError
            If checkpoint files are there but none is good.
        """
        check_directory(self.directory)
        return find_checkpoint(self.directory)

    def prepare(self, net, found, X, y, epochs, *, max_epochs, config, seed, estimator):
        """Set up a training call of ``epochs`` epochs; resume from ``found``.

        ``found`` (what :meth:`find` returned when the net was built, None otherwise) must
        belong to this ``config`` and, for ``fit`` (the call that asks for ``max_epochs``),
        to this training data ``X``, ``y``. ``fit`` then trains what remains of its
        epochs; ``partial_fit`` (one epoch, on data that may change from call to call)
        trains its epoch after the checkpoint's, torch seeded with ``seed`` plus the epochs
        done as in an unbroken sequence of calls. With ``max_epochs=1`` the two cannot be
        told apart and both resume as ``fit``.

        Parameters
        ----------
        net : SpectralNet
            The initialized net this callback belongs to.
        found : FoundCheckpoint or None
            What :meth:`find` returned.
        X : numpy.ndarray, torch.Tensor or torch.utils.data.Dataset
            This call's training data, as the net takes it.
        y : array-like or None
            Its encoded targets.
        epochs : int
            The epochs the call asks for: ``max_epochs`` for ``fit``, 1 for ``partial_fit``.
        max_epochs : int
            The estimator's ``max_epochs``.
        config : dict of str
            ``{name: text}`` of what a checkpoint must share with this call (the
            estimator's parameters as canonical texts).
        seed : int
            The run's seed.
        estimator : str
            The estimator's class name, for the header and messages.

        Returns
        -------
        int
            The epochs this call trains.

        Raises
        ------
        ValueError
            If ``found`` belongs to another configuration or data, or (for ``fit``) holds
            more than ``max_epochs`` epochs.
        """
        whole_fit = epochs == max_epochs
        self.header_ = {"config": config, "data": data_fingerprint(X, y), "seed": seed,
                        "device": str(net.device), "estimator": estimator}
        done = len(net.history or ())
        if found is not None:
            _check_configuration(found, self.header_, whole_fit, max_epochs, estimator)
            # fit continues its interrupted run, generators and all; partial_fit starts its
            # call from the checkpoint as it would from the net's state in memory.
            done = restore_training_state(net, found, continue_run=whole_fit)
            if whole_fit:
                epochs = max_epochs - done
            else:
                torch.manual_seed(seed + done)
        self.stop_at_ = done + epochs
        return epochs

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
        set_rng_state(pending["rng"], net.device)

    def on_epoch_end(self, net, **kwargs):
        done = len(net.history)
        if self.directory is None or not (done % self.every == 0 or done == self.stop_at_):
            return
        if getattr(net, "distributed", False) and world()[0] != 0:
            return  # one writer: every rank holds the same state
        try:
            payload = _serialize(capture(net, skip=TrainingCheckpoint))
        except NotData as exc:
            raise TypeError(f"Epoch {done} cannot be checkpointed: {exc}. Checkpoints hold "
                            "tensors, state dicts and plain Python values only "
                            "(docs/checkpoints.md).") from exc
        write_checkpoint(self.directory, dict(self.header_, epochs=done), payload,
                         rotate=self.latest_good_)
        self.latest_good_ = True
