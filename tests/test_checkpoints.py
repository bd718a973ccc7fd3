"""Checkpoints: a resumed fit ends bit-identical to an uninterrupted one (on the CPU, one
thread), a damaged checkpoint is detected and never silently replaced by a fresh start, a
checkpoint of another configuration is refused, and ``skspectral reproduce`` resumes a unit
inside training."""

import csv
import hashlib
import io
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest
import torch
from _gloo import spawn_ranks
from skorch.callbacks import Callback, LRScheduler

from skspectral import SpectralBarlowTwins, SpectralMLPClassifier, SpectralResNetClassifier
from skspectral.experiments import reproduce
from skspectral.training import CheckpointError

# Multi-batch (7 batches an epoch), the penalty on from epoch 3 and applied every third
# step, so its schedule position and vectors cross the interruption in epoch 4.
MLP = dict(hidden_layer_sizes=(16,), gamma=0.01, batch_size=16, max_epochs=6, burnin=2,
           update_every=3, random_state=0)


def mlp_data():
    rng = np.random.RandomState(0)
    X = rng.randn(100, 5).astype(np.float32)
    return X, (X[:, 0] * X[:, 1] > 0).astype(int)


def images():
    rng = np.random.RandomState(0)
    return rng.randint(0, 256, size=(24, 1, 8, 8)).astype(np.uint8), np.arange(24) % 2


@pytest.fixture(autouse=True)
def one_thread():
    # Bit-identity holds for one thread count: CPU kernels split work by threads.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


class Interrupted(Exception):
    pass


class Interrupt(Callback):
    """Raise in the middle of epoch ``epoch``, at the end of its ``batch``-th batch."""

    def __init__(self, epoch, batch=1):
        self.epoch = epoch
        self.batch = batch

    def initialize(self):
        self.batches_ = 0
        return self

    def on_batch_end(self, net, training=False, **kwargs):
        if training and len(net.history) == self.epoch:
            self.batches_ += 1
            if self.batches_ == self.batch:
                raise Interrupted(f"epoch {self.epoch}, batch {self.batch}")


class EpochCount(Callback):
    def initialize(self):
        self.epochs_ = 0
        return self

    def on_epoch_begin(self, net, **kwargs):
        self.epochs_ += 1


def header(path):
    return json.loads(path.read_bytes().split(b"\n", 3)[2])


def assert_identical(a, b):
    """Every parameter, buffer and optimizer tensor bitwise equal; the same losses."""
    for left, right in ((a.net_.module_, b.net_.module_),
                        (getattr(a.net_, "penalty_", None), getattr(b.net_, "penalty_", None))):
        if left is None:
            assert right is None
            continue
        sa, sb = left.state_dict(), right.state_dict()
        assert sa.keys() == sb.keys()
        for name in sa:
            assert torch.equal(sa[name], sb[name]), name
    oa, ob = a.net_.optimizer_.state_dict()["state"], b.net_.optimizer_.state_dict()["state"]
    assert oa.keys() == ob.keys()
    for key in oa:
        for name, value in oa[key].items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(ob[key][name])), name
    assert a.history_[:, "train_loss"] == b.history_[:, "train_loss"]
    assert len(a.history_) == len(b.history_)


def interrupt_and_resume(make, args, directory, epoch, batch, callbacks=()):
    """Fit until ``Interrupt`` stops it mid-epoch, then fit again: the resumed estimator."""
    with pytest.raises(Interrupted):
        make(checkpoint_dir=directory,
             callbacks=[*callbacks, ("interrupt", Interrupt(epoch, batch))]).fit(*args)
    assert header(directory / "latest.ckpt")["epochs"] < epoch
    return make(checkpoint_dir=directory, callbacks=list(callbacks) or None).fit(*args)


# ------------------------------------------------------------------ bit-identical resumes
def test_a_resumed_mlp_fit_is_bit_identical(tmp_path):
    X, y = mlp_data()
    uninterrupted = SpectralMLPClassifier(**MLP).fit(X, y)
    resumed = interrupt_and_resume(lambda **kw: SpectralMLPClassifier(**MLP, **kw), (X, y),
                                   tmp_path, epoch=4, batch=3)
    assert header(tmp_path / "latest.ckpt")["epochs"] == 6
    assert_identical(uninterrupted, resumed)
    # the power-iteration records continue from the saved vectors too
    assert ([h["spectral_norms"] for h in uninterrupted.history_]
            == [h["spectral_norms"] for h in resumed.history_])


class Noisy(torch.utils.data.Dataset):
    """``(x + noise, y)`` items: a random transform drawing from torch's generator."""

    def __init__(self, X, y):
        self.X, self.y = torch.as_tensor(X), torch.as_tensor(y)

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i] + 0.01 * torch.randn(self.X.shape[1]), self.y[i]


def test_a_resumed_fit_on_a_dataset_is_bit_identical(tmp_path):
    # Reading items for the data's fingerprint must neither vary with the transform's draws
    # nor shift training's: with checkpoints, a fit trains as without.
    X, y = mlp_data()
    uninterrupted = SpectralMLPClassifier(**MLP).fit(Noisy(X, y))
    resumed = interrupt_and_resume(lambda **kw: SpectralMLPClassifier(**MLP, **kw),
                                   (Noisy(X, y),), tmp_path, epoch=4, batch=3)
    assert_identical(uninterrupted, resumed)
    with pytest.raises(ValueError, match=r"training data \(X\)"):
        SpectralMLPClassifier(**MLP, checkpoint_dir=tmp_path).fit(Noisy(X[::-1].copy(), y))


def test_a_learning_rate_schedule_continues_where_it_stopped(tmp_path):
    # skorch's LRScheduler rebuilds its scheduler at every train begin; StepLR rebuilt at
    # epoch 2 would decay once more there. The checkpoint's scheduler state prevails.
    def schedule():
        return ("lr", LRScheduler(torch.optim.lr_scheduler.StepLR, step_size=2, gamma=0.5))

    X, y = mlp_data()
    uninterrupted = SpectralMLPClassifier(**MLP, callbacks=[schedule()]).fit(X, y)
    resumed = interrupt_and_resume(lambda **kw: SpectralMLPClassifier(**MLP, **kw), (X, y),
                                   tmp_path, epoch=3, batch=2, callbacks=[schedule()])
    assert resumed.history_[:, "event_lr"] == uninterrupted.history_[:, "event_lr"]
    assert_identical(uninterrupted, resumed)


def test_a_resumed_barlow_twins_fit_is_bit_identical(tmp_path):
    # The augmentations draw from torch's generator: the resumed epoch draws the same views.
    X, _ = images()
    params = dict(projector=(16,), batch_size=8, max_epochs=3, burnin=1, update_every=2,
                  random_state=0, device="cpu")
    uninterrupted = SpectralBarlowTwins(**params).fit(X)
    resumed = interrupt_and_resume(
        lambda **kw: SpectralBarlowTwins(**params, checkpoint_every=2, **kw), (X,), tmp_path,
        epoch=3, batch=2)
    assert_identical(uninterrupted, resumed)
    assert (uninterrupted.history_[:, "barlow_off_diagonal"]
            == resumed.history_[:, "barlow_off_diagonal"])


def test_a_resumed_resnet_fit_with_a_cosine_schedule_is_bit_identical(tmp_path):
    # Also Batch Spectral Shrinkage (a forward hook, attached anew on resuming) and L2-SP
    # (reference weights, saved).
    X, y = images()
    params = dict(lr_schedule="cosine", augment=True, bss=1e-3, l2sp=1e-3, batch_size=8,
                  max_epochs=3, burnin=1, update_every=2, random_state=0, device="cpu")
    uninterrupted = SpectralResNetClassifier(**params).fit(X, y)
    resumed = interrupt_and_resume(
        lambda **kw: SpectralResNetClassifier(**params, checkpoint_every=2, **kw), (X, y),
        tmp_path, epoch=3, batch=2)
    assert resumed.history_[:, "event_lr"] == uninterrupted.history_[:, "event_lr"]
    assert_identical(uninterrupted, resumed)


@pytest.mark.slow  # fp16 autocast on the CPU: minutes
def test_a_resumed_fp16_fit_keeps_its_loss_scale(tmp_path):
    # The GradScaler is rebuilt and loads its state dict (scale, growth tracker).
    X, y = images()
    params = dict(precision="fp16", batch_size=8, max_epochs=3, burnin=1, update_every=2,
                  random_state=0, device="cpu")
    uninterrupted = SpectralResNetClassifier(**params).fit(X, y)
    resumed = interrupt_and_resume(lambda **kw: SpectralResNetClassifier(**params, **kw),
                                   (X, y), tmp_path, epoch=3, batch=2)
    assert resumed.net_.scaler_.state_dict() == uninterrupted.net_.scaler_.state_dict()
    assert_identical(uninterrupted, resumed)


_KILLED_FIT = """
import os, signal, sys
import numpy as np, torch
from skorch.callbacks import Callback
from skspectral import SpectralMLPClassifier
torch.set_num_threads(1)

class Kill(Callback):
    def __init__(self, epoch, batch):
        self.epoch, self.batch = epoch, batch
    def initialize(self):
        self.batches_ = 0
        return self
    def on_batch_end(self, net, training=False, **kwargs):
        if training and len(net.history) == self.epoch:
            self.batches_ += 1
            if self.batches_ == self.batch:
                os.kill(os.getpid(), signal.SIGKILL)

rng = np.random.RandomState(0)
X = rng.randn(100, 5).astype(np.float32)
y = (X[:, 0] * X[:, 1] > 0).astype(int)
SpectralMLPClassifier(**{params!r}, checkpoint_dir=sys.argv[1],
                      callbacks=[("kill", Kill(4, 3))]).fit(X, y)
"""


def _env():
    return dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_a_fit_killed_mid_epoch_and_rerun_ends_bit_identical(tmp_path):
    script = tmp_path / "killed_fit.py"
    script.write_text(_KILLED_FIT.format(params=MLP))
    directory = tmp_path / "checkpoints"
    run = subprocess.run([sys.executable, str(script), str(directory)], env=_env(),
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == -signal.SIGKILL, run.stderr
    assert header(directory / "latest.ckpt")["epochs"] == 3  # killed in epoch 4
    assert header(directory / "previous.ckpt")["epochs"] == 2
    X, y = mlp_data()
    resumed = SpectralMLPClassifier(**MLP, checkpoint_dir=directory).fit(X, y)
    assert_identical(SpectralMLPClassifier(**MLP).fit(X, y), resumed)


def _fit_distributed(rank, world_size, results, directory):
    torch.set_num_threads(1)
    X, y = mlp_data()
    params = {**MLP, "distributed": True}
    uninterrupted = SpectralMLPClassifier(**params).fit(X, y)
    with pytest.raises(Interrupted):  # every rank stops at the same step
        SpectralMLPClassifier(**params, checkpoint_dir=directory,
                              callbacks=[("interrupt", Interrupt(4, 2))]).fit(X, y)
    resumed = SpectralMLPClassifier(**params, checkpoint_dir=directory).fit(X, y)
    same = all(torch.equal(a, b) for a, b in zip(
        [*uninterrupted.module_.state_dict().values(), *uninterrupted.net_.penalty_.buffers()],
        [*resumed.module_.state_dict().values(), *resumed.net_.penalty_.buffers()],
        strict=True))
    same = torch.tensor([same, resumed.n_iter_ == 6])
    gathered = [torch.zeros_like(same) for _ in range(world_size)]
    torch.distributed.all_gather(gathered, same)
    if rank == 0:
        results.put(torch.stack(gathered).tolist())


@pytest.mark.skipif(not torch.distributed.is_available()
                    or not torch.distributed.is_gloo_available(), reason="needs gloo")
def test_a_resumed_data_parallel_fit_is_bit_identical_on_every_rank(tmp_path):
    # Rank 0 writes, every rank reads the same file (a shared file system). Per rank: resumed
    # weights equal to the uninterrupted fit's, and 6 steps counted.
    assert spawn_ranks(_fit_distributed, tmp_path) == [[True, True], [True, True]]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.ckpt", "previous.ckpt"]


# ------------------------------------------------------------------ damage and refusals
@pytest.fixture(scope="module")
def interrupted(tmp_path_factory):
    """A folder whose latest checkpoint holds 3 epochs and the previous one 2, and the
    uninterrupted fit they belong to."""
    torch.set_num_threads(1)
    directory = tmp_path_factory.mktemp("interrupted")
    X, y = mlp_data()
    with pytest.raises(Interrupted):
        SpectralMLPClassifier(**MLP, checkpoint_dir=directory,
                              callbacks=[("interrupt", Interrupt(4, 3))]).fit(X, y)
    return directory, SpectralMLPClassifier(**MLP).fit(X, y)


def _copy(interrupted, tmp_path):
    directory = tmp_path / "checkpoints"
    shutil.copytree(interrupted[0], directory)
    return directory


def test_a_truncated_checkpoint_falls_back_to_the_previous_one_and_says_so(interrupted,
                                                                          tmp_path):
    directory = _copy(interrupted, tmp_path)
    latest = directory / "latest.ckpt"
    latest.write_bytes(latest.read_bytes()[:-1000])
    X, y = mlp_data()
    with pytest.warns(UserWarning, match=r"latest\.ckpt is unusable: truncated.*"
                                         r"previous\.ckpt \(2 epochs\)"):
        resumed = SpectralMLPClassifier(**MLP, checkpoint_dir=directory).fit(X, y)
    assert_identical(interrupted[1], resumed)
    # the bad file was replaced, the good one kept: both are good now
    assert header(directory / "latest.ckpt")["epochs"] == 6
    assert header(directory / "previous.ckpt")["epochs"] == 5


def test_a_flipped_byte_is_detected(interrupted, tmp_path):
    directory = _copy(interrupted, tmp_path)
    latest = directory / "latest.ckpt"
    data = bytearray(latest.read_bytes())
    data[len(data) // 2] ^= 0x01
    latest.write_bytes(bytes(data))
    X, y = mlp_data()
    with pytest.warns(UserWarning, match="do not match their SHA-256 checksum"):
        resumed = SpectralMLPClassifier(**MLP, checkpoint_dir=directory).fit(X, y)
    assert_identical(interrupted[1], resumed)


def test_without_a_good_checkpoint_fit_refuses_to_start_from_scratch(interrupted, tmp_path):
    directory = _copy(interrupted, tmp_path)
    (directory / "latest.ckpt").write_bytes(b"")
    previous = directory / "previous.ckpt"
    previous.write_bytes(previous.read_bytes()[:100])
    X, y = mlp_data()
    with pytest.raises(CheckpointError, match=r"latest\.ckpt is unusable: .*empty.*"
                                              r"previous\.ckpt is unusable: truncated.*"
                                              r"delete the folder"):
        SpectralMLPClassifier(**MLP, checkpoint_dir=directory).fit(X, y)


def test_an_incomplete_write_is_ignored(interrupted, tmp_path):
    # A run killed while writing leaves latest.ckpt.part; the renamed files are whole.
    directory = _copy(interrupted, tmp_path)
    (directory / "latest.ckpt.part").write_bytes(b"SKSPECTRAL-CHECKPOINT 2\n{")
    X, y = mlp_data()
    resumed = SpectralMLPClassifier(**MLP, checkpoint_dir=directory).fit(X, y)
    assert_identical(interrupted[1], resumed)
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "latest.ckpt.part").write_bytes(b"SKSPECTRAL")
    with pytest.warns(UserWarning, match="only an incomplete checkpoint"):
        SpectralMLPClassifier(**{**MLP, "max_epochs": 2}, checkpoint_dir=alone).fit(X, y)


def test_a_checkpoint_of_another_configuration_is_refused(interrupted, tmp_path):
    directory = _copy(interrupted, tmp_path)
    X, y = mlp_data()
    with pytest.raises(ValueError, match=r"differs in \['gamma'\] \(gamma: 0\.01 in the "
                                         r"checkpoint, 0\.5 now\)"):
        SpectralMLPClassifier(**{**MLP, "gamma": 0.5}, checkpoint_dir=directory).fit(X, y)
    with pytest.raises(ValueError, match=r"differs in \['hidden_layer_sizes', 'lr'\]"):
        SpectralMLPClassifier(**{**MLP, "lr": 0.1, "hidden_layer_sizes": [8]},
                              checkpoint_dir=directory).fit(X, y)
    with pytest.raises(ValueError, match=r"training data \(X\).*training data \(y\)"):
        SpectralMLPClassifier(**MLP, checkpoint_dir=directory).fit(X[:90], y[:90])
    # what does not change the computation does not count (verbose, checkpoint_every)
    SpectralMLPClassifier(**{**MLP, "hidden_layer_sizes": [16], "verbose": 1},
                          checkpoint_dir=directory, checkpoint_every=2).fit(X, y)


def test_a_finished_checkpoint_returns_the_fitted_model_without_training(interrupted,
                                                                       tmp_path):
    directory = _copy(interrupted, tmp_path)
    X, y = mlp_data()
    SpectralMLPClassifier(**MLP, checkpoint_dir=directory).fit(X, y)
    again = SpectralMLPClassifier(**MLP, checkpoint_dir=directory,
                                  callbacks=[("count", EpochCount())]).fit(X, y)
    assert dict(again.net_.callbacks_)["count"].epochs_ == 0
    assert again.n_iter_ == 6
    assert_identical(interrupted[1], again)
    np.testing.assert_array_equal(again.predict(X), interrupted[1].predict(X))
    again.partial_fit(X, y)  # past max_epochs: fit cannot resume from that
    with pytest.raises(ValueError, match="holds 7 epochs, more than max_epochs=6"):
        SpectralMLPClassifier(**MLP, checkpoint_dir=directory).fit(X, y)


def test_partial_fit_writes_checkpoints_and_its_first_call_continues_from_them(tmp_path):
    X, y = mlp_data()
    uninterrupted = SpectralMLPClassifier(**MLP)
    for _ in range(4):
        uninterrupted.partial_fit(X, y, classes=[0, 1])
    first = SpectralMLPClassifier(**MLP, checkpoint_dir=tmp_path)
    first.partial_fit(X, y, classes=[0, 1])
    first.partial_fit(X, y)
    assert header(tmp_path / "latest.ckpt")["epochs"] == 2
    second = SpectralMLPClassifier(**MLP, checkpoint_dir=tmp_path)
    second.partial_fit(X, y, classes=[0, 1])  # restores 2 epochs, trains the third
    assert second.n_iter_ == 3
    second.partial_fit(X, y)
    assert_identical(uninterrupted, second)


def test_random_state_none_resumes_with_the_interrupted_runs_seed(tmp_path):
    X, y = mlp_data()
    params = {**MLP, "random_state": None}
    with pytest.raises(Interrupted):
        SpectralMLPClassifier(**params, checkpoint_dir=tmp_path,
                              callbacks=[("interrupt", Interrupt(2))]).fit(X, y)
    resumed = SpectralMLPClassifier(**params, checkpoint_dir=tmp_path).fit(X, y)
    assert resumed._seed == header(tmp_path / "latest.ckpt")["seed"]


# ------------------------------------------------------------------ data, not code
class Planted:
    """Unpickling it creates ``marker`` (as ``os.system`` could do anything else)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _pickled(marker, archive):
    """A payload whose unpickling runs code: a ``torch.save`` archive or a bare pickle."""
    if not archive:
        return pickle.dumps({"net": Planted(marker)}, protocol=2)
    buffer = io.BytesIO()
    torch.save({"net": Planted(marker), "callbacks": {}, "rng": {}}, buffer)
    return buffer.getvalue()


def forge(path, payload, **changes):
    """Write ``path`` as an attacker who can write the folder would: a real checkpoint's
    header (with ``changes``), ``payload``, and a SHA-256 that matches them."""
    fields = {**header(path), **changes, "payload_bytes": len(payload)}
    body = json.dumps({k: v for k, v in fields.items() if v is not None},
                      sort_keys=True).encode() + b"\n" + payload
    path.write_bytes(b"SKSPECTRAL-CHECKPOINT 2\n" + hashlib.sha256(body).hexdigest().encode()
                     + b"\n" + body)


@pytest.mark.parametrize("archive", [True, False], ids=["torch-archive", "bare-pickle"])
def test_a_pickle_in_the_newest_checkpoint_runs_nothing_and_is_passed_over(
        interrupted, tmp_path, archive):
    directory, marker = _copy(interrupted, tmp_path), tmp_path / "ran"
    forge(directory / "latest.ckpt", _pickled(marker, archive))
    X, y = mlp_data()
    with pytest.warns(UserWarning, match=r"latest\.ckpt is unusable: its payload is not "
                                         r"checkpoint data \(torch\.load with "
                                         r"weights_only=True refused it.*previous\.ckpt"):
        resumed = SpectralMLPClassifier(**MLP, checkpoint_dir=directory).fit(X, y)
    assert not marker.exists()
    assert_identical(interrupted[1], resumed)


def test_pickles_in_both_checkpoints_run_nothing_and_are_refused(interrupted, tmp_path):
    directory, marker = _copy(interrupted, tmp_path), tmp_path / "ran"
    for name in ("latest.ckpt", "previous.ckpt"):
        forge(directory / name, _pickled(marker, archive=True))
    X, y = mlp_data()
    with pytest.raises(CheckpointError, match=r"latest\.ckpt is unusable: its payload is not "
                                              r"checkpoint data.*previous\.ckpt is unusable: "
                                              r"its payload is not checkpoint data"):
        SpectralMLPClassifier(**MLP, checkpoint_dir=directory).fit(X, y)
    assert not marker.exists()


def test_partial_fit_runs_no_pickle_either(interrupted, tmp_path):
    directory, marker = _copy(interrupted, tmp_path), tmp_path / "ran"
    forge(directory / "latest.ckpt", _pickled(marker, archive=True))
    X, y = mlp_data()
    clf = SpectralMLPClassifier(**MLP, checkpoint_dir=directory)
    with pytest.warns(UserWarning, match=r"latest\.ckpt is unusable: its payload is not "):
        clf.partial_fit(X, y, classes=[0, 1])
    assert clf.n_iter_ == 3  # previous.ckpt's 2 epochs and this call's
    forge(directory / "previous.ckpt", _pickled(marker, archive=False))
    forge(directory / "latest.ckpt", _pickled(marker, archive=False))
    with pytest.raises(CheckpointError, match="weights_only=True refused it"):
        SpectralMLPClassifier(**MLP, checkpoint_dir=directory).partial_fit(X, y, classes=[0, 1])
    assert not marker.exists()


def test_a_changed_header_is_caught_by_the_checksum(interrupted, tmp_path):
    # The header is inside the checksum: 3 epochs made 5 would end the fit early.
    directory = _copy(interrupted, tmp_path)
    latest = directory / "latest.ckpt"
    data = latest.read_bytes()
    assert data.count(b'"epochs": 3') == 1
    latest.write_bytes(data.replace(b'"epochs": 3', b'"epochs": 5'))
    X, y = mlp_data()
    with pytest.warns(UserWarning, match=r"latest\.ckpt is unusable: its contents do not "
                                         r"match their SHA-256 checksum"):
        resumed = SpectralMLPClassifier(**MLP, checkpoint_dir=directory).fit(X, y)
    assert_identical(interrupted[1], resumed)


@pytest.mark.parametrize(("changes", "message"), [
    ({"epochs": "3"}, r"its header's epochs is a str, not a int"),
    ({"epochs": True}, r"its header's epochs is a bool, not a int"),
    ({"epochs": 0}, r"its header's epochs \(0\) is outside \[1, 2147483648\)"),
    ({"seed": -1}, r"its header's seed \(-1\) is outside \[0, 2147483648\)"),
    ({"seed": None}, r"its header has the fields \['config', 'data', 'device', 'epochs', "
                     r"'estimator', 'payload_bytes'\], not \["),
    ({"extra": 1}, r"its header has the fields \[.*'extra'"),
    ({"config": {"gamma": 0.01}}, r"its header's config is not a mapping of texts"),
    ({"device": "warp-drive"}, r"its header's device 'warp-drive' is no device"),
    ({"epochs": 2}, r"its history does not hold the 2 epochs its header names"),
])
def test_a_header_out_of_its_types_or_ranges_counts_as_damage(interrupted, tmp_path, changes,
                                                              message):
    # Written with a matching checksum: the fields are checked on their own.
    directory = _copy(interrupted, tmp_path)
    latest = directory / "latest.ckpt"
    payload = latest.read_bytes().split(b"\n", 3)[3]
    forge(latest, payload, **changes)
    X, y = mlp_data()
    with pytest.warns(UserWarning, match=r"latest\.ckpt is unusable: " + message):
        resumed = SpectralMLPClassifier(**MLP, checkpoint_dir=directory).fit(X, y)
    assert_identical(interrupted[1], resumed)


def test_checkpoints_of_the_pickled_format_are_refused_unread(interrupted, tmp_path):
    directory, marker = _copy(interrupted, tmp_path), tmp_path / "ran"
    for name in ("latest.ckpt", "previous.ckpt"):  # as skspectral 0.2.0's first versions wrote
        head = json.dumps({**header(directory / name), "payload_sha256": "0" * 64})
        (directory / name).write_bytes(b"SKSPECTRAL-CHECKPOINT 1\n" + head.encode() + b"\n"
                                       + _pickled(marker, archive=True))
    X, y = mlp_data()
    with pytest.raises(CheckpointError, match=r"latest\.ckpt is unusable: it has the format of "
                                              r"skspectral 0\.2\.0's development versions "
                                              r"\(format 1, a pickle of Python objects\), which "
                                              r"this version does not load.*previous\.ckpt"):
        SpectralMLPClassifier(**MLP, checkpoint_dir=directory).fit(X, y)
    assert not marker.exists()


def test_data_that_does_not_fit_the_network_is_refused(interrupted, tmp_path):
    # Well-formed data with a matching checksum, made by hand: the state dict of another net.
    directory = _copy(interrupted, tmp_path)
    latest = directory / "latest.ckpt"
    state = torch.load(io.BytesIO(latest.read_bytes().split(b"\n", 3)[3]), weights_only=True)
    state["net"]["module_"]["state_dict"].popitem()
    buffer = io.BytesIO()
    torch.save(state, buffer)
    forge(latest, buffer.getvalue())
    X, y = mlp_data()
    with pytest.raises(CheckpointError, match=r"latest\.ckpt cannot be resumed: its module_ "
                                              r"does not fit this configuration's"):
        SpectralMLPClassifier(**MLP, checkpoint_dir=directory).fit(X, y)


class Holder(Callback):
    """A callback whose state is not data (a lock)."""

    def initialize(self):
        self.lock_ = threading.Lock()
        return self


def test_a_callback_state_that_is_not_data_starts_afresh_with_a_warning(tmp_path):
    X, y = mlp_data()
    params = {**MLP, "max_epochs": 2}
    SpectralMLPClassifier(**params, checkpoint_dir=tmp_path,
                          callbacks=[("holder", Holder())]).partial_fit(X, y, classes=[0, 1])
    with pytest.warns(UserWarning, match=r"callback 'holder' could not be saved in .*"
                                         r"callback 'holder''s lock_ is a _thread\.lock, which "
                                         r"is not plain data\): it starts afresh"):
        SpectralMLPClassifier(**params, checkpoint_dir=tmp_path,
                              callbacks=[("holder", Holder())]).fit(X, y)


# ------------------------------------------------------------------ the folder
def _no_epoch(make_dir, tmp_path):
    """The fit with ``checkpoint_dir=make_dir(tmp_path)``'s error, and that no epoch ran."""
    count = EpochCount()
    X, y = mlp_data()
    with pytest.raises(ValueError) as exc:
        SpectralMLPClassifier(**MLP, checkpoint_dir=make_dir(tmp_path),
                              callbacks=[("count", count)]).fit(X, y)
    assert not hasattr(count, "epochs_")  # refused before the net was even built
    return str(exc.value)


def _a_file(tmp_path):
    (tmp_path / "notes.txt").write_text("")
    return tmp_path / "notes.txt"


def test_an_unusable_checkpoint_folder_is_refused_before_the_first_epoch(tmp_path):
    assert "checkpoint_dir='' names no folder" in _no_epoch(lambda _: "", tmp_path)
    assert "notes.txt' is a file, not a folder" in _no_epoch(_a_file, tmp_path)
    message = _no_epoch(lambda p: p / "notes.txt" / "checkpoints", tmp_path)
    assert "notes.txt/checkpoints' cannot be written" in message


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="POSIX permissions, which bind a user other than root")
def test_a_folder_without_write_permission_is_refused_before_the_first_epoch(tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir(mode=0o500)
    try:
        assert "read-only' cannot be written" in _no_epoch(lambda _: folder, tmp_path)
    finally:
        folder.chmod(0o700)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_a_folder_every_user_can_write_is_refused_with_the_fix(tmp_path):
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o1777)  # the sticky bit does not keep others from planting a first file
    message = _no_epoch(lambda _: folder, tmp_path)
    assert "is writable by every user of this machine (permissions drwxrwxrwt)" in message
    assert f"chmod o-w {folder}" in message
    folder.chmod(0o775)  # a group of one's colleagues is the user's to choose
    X, y = mlp_data()
    SpectralMLPClassifier(**{**MLP, "max_epochs": 2}, checkpoint_dir=folder).fit(X, y)


# ------------------------------------------------------------------ skspectral reproduce
_XOR = dict(epochs=30, attack_samples=3, max_queries=300)
_XOR_RUN = dict(seeds=1, conditions=["noisy-wd1e-4"], overrides=_XOR, quiet=True)

_KILLED_UNIT = """
import os, signal, sys
import torch
from skorch.callbacks import Callback
import skspectral.experiments.xor as xor
from skspectral.experiments import reproduce
torch.set_num_threads(1)

class Kill(Callback):
    def on_epoch_begin(self, net, **kwargs):
        if len(net.history) == 20:
            os.kill(os.getpid(), signal.SIGKILL)

unit_estimator = xor.unit_estimator

def killed_in_training(preset, unit, settings, **params):
    model = unit_estimator(preset, unit, settings, **params)
    if unit.regularizer == "ll-all":  # the third unit, in its 20th epoch
        model.set_params(callbacks=[("kill", Kill())])
    return model

xor.unit_estimator = killed_in_training
reproduce("xor", sys.argv[1], **{run!r})
"""


def _samples(out):
    with open(out / "samples.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_reproduce_resumes_a_unit_inside_training(tmp_path, monkeypatch):
    out = tmp_path / "out"
    script = tmp_path / "killed_unit.py"
    script.write_text(_KILLED_UNIT.format(run=_XOR_RUN))
    run = subprocess.run([sys.executable, str(script), str(out)], env=_env(),
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == -signal.SIGKILL, run.stderr
    unit = "noisy-wd1e-4__ll-all__seed0"
    assert sorted(p.stem for p in (out / "units").glob("*.json")) == [
        "noisy-wd1e-4__ll-head__seed0", "noisy-wd1e-4__none__seed0"]
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == [unit]
    assert header(out / "checkpoints" / unit / "model" / "latest.ckpt")["epochs"] == 19

    import skspectral.training._checkpoint as checkpoint

    resumed_from, restore = [], checkpoint.restore_training_state

    def spy(net, found, **kwargs):
        resumed_from.append(found.header["epochs"])
        return restore(net, found, **kwargs)

    monkeypatch.setattr(checkpoint, "restore_training_state", spy)
    summary = reproduce("xor", out, **_XOR_RUN)
    assert resumed_from == [19] and len(summary["records"]) == 4
    assert not (out / "checkpoints").exists()  # each unit's go once its results are written
    monkeypatch.undo()
    reproduce("xor", tmp_path / "uninterrupted", **_XOR_RUN)
    assert _samples(out) == _samples(tmp_path / "uninterrupted")
