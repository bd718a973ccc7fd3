"""Searches and cross-validation on a dask.distributed cluster, through joblib's Dask backend
(the ``dask`` extra): the results of ``n_jobs=1``, thread limits in the workers, models that
come back usable, a worker killed mid-search, and the checks of the workers' skspectral; and
``skspectral reproduce --scheduler``: the samples of ``--jobs 1``, and its bad input.

Every cluster here is a LocalCluster of 2 single-threaded worker processes, closed whatever
happens. The baselines run with one torch thread, as the workers do: the results are equal
to the bit, not only to float rounding.
"""

import json
import os
import pickle
import signal
import sys
import threading
import time
import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, cross_validate
from sklearn.pipeline import Pipeline
from skorch.callbacks import Callback
from threadpoolctl import threadpool_info

from skspectral import RobustnessScorer, SpectralMLPClassifier

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")
joblib = pytest.importorskip("joblib")

from skspectral.parallel import (  # noqa: E402 - after the skip without the extra
    ClusterError,
    check_workers,
    connect,
    recoverable,
    task_threads,
    worker_thread_limits,
)

SCORE_KEYS = ("mean_test_acc", "std_test_acc", "rank_test_acc", "mean_test_robust",
              "std_test_robust", "rank_test_robust", "split0_test_acc", "split1_test_acc",
              "split2_test_acc", "split0_test_robust", "split1_test_robust",
              "split2_test_robust")


def _cluster(**config):
    # workers as docs/scaling.md recommends them: without Dask's statistical profiler
    with dask.config.set({"distributed.worker.profile.enabled": False, **config}):
        return distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                        dashboard_address=":0", silence_logs=40)


@pytest.fixture(scope="module")
def client():
    cluster = _cluster()
    try:
        with distributed.Client(cluster) as client:
            yield client
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    keep = rng.permutation(len(X))[:360]
    return (X[keep] / 16.0).astype(np.float32), y[keep]


def _mlp(**params):
    return SpectralMLPClassifier(**{**dict(hidden_layer_sizes=(32,), max_epochs=8,
                                           batch_size=64, lr=3e-3, random_state=0),
                                    **params})


def _scoring():
    return {"acc": "accuracy", "robust": RobustnessScorer(n_samples=8, max_iter=3)}


@pytest.fixture()
def one_thread():
    """This process with one torch thread (as a worker), restored afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _on_dask(search, X, y):
    with joblib.parallel_config(backend="dask"):
        return search.fit(X, y)


def _assert_same_search(on_dask, serial, keys=SCORE_KEYS):
    for key in keys:
        np.testing.assert_array_equal(on_dask.cv_results_[key], serial.cv_results_[key],
                                      err_msg=key)
    assert on_dask.cv_results_["params"] == serial.cv_results_["params"]
    assert on_dask.best_index_ == serial.best_index_
    assert on_dask.best_params_ == serial.best_params_


def test_grid_search_with_the_robustness_scorer_matches_n_jobs_1(client, digits, one_thread):
    X, y = digits
    grid = {"gamma": [0.0, 0.5]}
    serial = GridSearchCV(_mlp(), grid, cv=3, scoring=_scoring(), refit="robust").fit(X, y)
    on_dask = _on_dask(GridSearchCV(_mlp(), grid, cv=3, scoring=_scoring(), refit="robust"),
                       X, y)
    _assert_same_search(on_dask, serial)
    assert np.all(np.isfinite(on_dask.cv_results_["mean_test_robust"]))
    np.testing.assert_array_equal(on_dask.predict(X), serial.predict(X))  # refit here


def test_randomized_search_of_a_pipeline_matches_n_jobs_1(client, digits, one_thread):
    X, y = digits
    pipe = Pipeline([("feat", _mlp(max_epochs=5)), ("clf", LogisticRegression(max_iter=200))])
    space = {"feat__gamma": [0.0, 0.01, 0.1, 1.0], "clf__C": [0.1, 1.0]}

    def search():
        return RandomizedSearchCV(pipe, space, n_iter=3, cv=3, random_state=0,
                                  scoring="accuracy")

    serial = search().fit(X, y)
    on_dask = _on_dask(search(), X, y)
    keys = ("mean_test_score", "std_test_score", "rank_test_score", "split0_test_score",
            "split1_test_score", "split2_test_score")
    _assert_same_search(on_dask, serial, keys)


def test_models_fitted_on_workers_come_back_small_and_usable(client, digits, one_thread):
    X, y = digits
    serial = cross_validate(_mlp(), X, y, cv=3, return_estimator=True)
    with joblib.parallel_config(backend="dask"):
        on_dask = cross_validate(_mlp(), X, y, cv=3, return_estimator=True)
    np.testing.assert_array_equal(on_dask["test_score"], serial["test_score"])
    for remote, local in zip(on_dask["estimator"], serial["estimator"], strict=True):
        assert remote.device_ == "cpu"
        np.testing.assert_array_equal(remote.predict(X), local.predict(X))
        np.testing.assert_array_equal(remote.transform(X), local.transform(X))
        assert remote.spectral_norms_ == local.spectral_norms_


class _TensorSpy(pickle.Pickler):
    """A pickler that records every torch tensor pickled as an object of its own."""

    def __init__(self, file):
        super().__init__(file, protocol=5)
        self.tensors = []

    def reducer_override(self, obj):
        if isinstance(obj, torch.Tensor):
            self.tensors.append(obj)
        return NotImplemented


def test_a_fitted_estimator_pickles_as_bytes_of_its_weights(digits):
    """What travels back from a worker: the network's state as torch.save bytes (skorch's
    pickling, which maps CUDA storages to the CPU where CUDA is missing), no tensor object
    of its own, and about the size of the weights and the optimizer's moments."""
    import io

    X, y = digits
    clf = _mlp().fit(X, y)
    buffer = io.BytesIO()
    spy = _TensorSpy(buffer)
    spy.dump(clf)
    assert spy.tensors == []
    weights = sum(p.numel() * 4 for p in clf.module_.parameters())
    # weights, Adam's two moments, the penalty's vectors; history and parameters < 64 kB
    assert len(buffer.getvalue()) < 3 * weights + 64_000, (len(buffer.getvalue()), weights)
    assert len(pickle.dumps(_mlp())) < 4_000  # what travels to a worker: parameters only


# ------------------------------------------------------------------ threads in the workers
class _ThreadSpy(Callback):
    """Records the torch and BLAS threads at the end of every epoch (in this process)."""

    def on_epoch_end(self, net, **kwargs):
        _SEEN["torch"] = torch.get_num_threads()
        _SEEN["blas"] = sorted({pool["num_threads"] for pool in threadpool_info()
                                if pool["user_api"] == "blas"})
        _SEEN["task_threads"] = task_threads()


_SEEN = {}


def _threads_while_training(X, y):
    """Run in a worker: the torch and BLAS threads seen during fit, and torch's after."""
    _SEEN.clear()
    torch.set_num_threads(2)  # what an unlimited worker would use on this machine
    _mlp(max_epochs=1, callbacks=[("spy", _ThreadSpy())]).fit(X, y)
    return dict(_SEEN, after=torch.get_num_threads())


def test_each_task_trains_with_one_thread_per_worker_thread(client, digits):
    X, y = digits
    seen = client.submit(_threads_while_training, X, y, pure=False).result(timeout=120)
    assert seen == {"torch": 1, "blas": [1] * bool(seen["blas"]), "task_threads": 1,
                    "after": 2}


def test_the_task_threads_setting_gives_a_task_more_threads(client, digits):
    X, y = digits

    def configured(X, y):
        with dask.config.set({"skspectral.task-threads": 3}):
            return _threads_while_training(X, y)

    seen = client.submit(configured, X, y, pure=False).result(timeout=120)
    assert seen["torch"] == 3 and seen["task_threads"] == 3 and seen["after"] == 2

    def bad():
        with dask.config.set({"skspectral.task-threads": "many"}):
            return task_threads()

    with pytest.raises(ValueError, match="'skspectral.task-threads' must be a positive "
                                         "integer, got 'many'"):
        client.submit(bad, pure=False).result(timeout=60)


def test_outside_a_dask_task_nothing_changes():
    previous = torch.get_num_threads()
    assert task_threads() is None
    with worker_thread_limits():
        assert torch.get_num_threads() == previous


# ------------------------------------------------------------------ a worker killed mid-search
class _FitLog(Callback):
    """Appends a line to ``path`` when a fit ends (the test sees fits finish on workers)."""

    def __init__(self, path):
        self.path = path

    def on_train_end(self, net, **kwargs):
        with open(self.path, "a") as log:
            log.write("fit\n")


def _kill_a_busy_worker(client, log, done, killed):
    """Once a fit has finished, SIGKILL a worker that is running another."""
    pids = client.run(os.getpid)
    deadline = time.monotonic() + 90
    while not done.is_set() and time.monotonic() < deadline:
        busy = [address for address, keys in client.processing().items()
                if any(str(key).startswith("batch_of__fit_and_score") for key in keys)]
        if log.exists() and busy and busy[0] in pids:
            os.kill(pids[busy[0]], signal.SIGKILL)
            killed.append(busy[0])
            return
        time.sleep(0.02)


def test_a_worker_killed_mid_search_is_replaced_and_the_results_are_unchanged(
        digits, one_thread, tmp_path):
    X, y = digits
    grid = {"gamma": [0.0, 0.05, 0.5]}
    log = tmp_path / "fits.log"

    def search(path):
        return GridSearchCV(_mlp(max_epochs=20, callbacks=[("log", _FitLog(str(path)))]), grid,
                            cv=3, scoring="accuracy", refit=False)

    serial = search(tmp_path / "serial.log").fit(X, y)
    # A worker that needed the lost worker's data retries connecting to it for this long
    # (30 s by default) before fetching it elsewhere.
    cluster = _cluster(**{"distributed.comm.timeouts.connect": "3s"})
    try:
        with distributed.Client(cluster) as client:
            done, killed = threading.Event(), []
            killer = threading.Thread(target=_kill_a_busy_worker,
                                      args=(client, log, done, killed))
            killer.start()
            try:
                # the arguments joblib scatters (X, y, the folds) are recomputable
                with joblib.parallel_config(backend="dask", client=recoverable(client)):
                    on_dask = search(log).fit(X, y)
            finally:
                done.set()
                killer.join()
            assert killed, "no worker was running a fit after the first had finished"
            assert killed[0] not in client.scheduler_info()["workers"]  # a new process
    finally:
        cluster.close()
    assert len(log.read_text().split()) >= 9  # 9 fits, and any finished with the worker
    keys = ("mean_test_score", "std_test_score", "rank_test_score", "split0_test_score",
            "split1_test_score", "split2_test_score")
    _assert_same_search(on_dask, serial, keys)


# ------------------------------------------------------------------ checked workers
def test_workers_without_skspectral_or_with_another_version_are_named(client):
    import skspectral

    addresses = sorted(client.scheduler_info()["workers"])
    assert set(check_workers(client)) == set(addresses)

    def hide():
        sys.modules["skspectral"] = None  # `import skspectral` fails, as if not installed

    def older():
        from skspectral import _version
        _version.__version__ = "0.0.1"

    def restore(version):
        sys.modules.pop("skspectral", None)
        from skspectral import _version
        _version.__version__ = version

    client.run(hide, workers=[addresses[0]])
    client.run(older, workers=[addresses[1]])
    try:
        with pytest.raises(ClusterError) as error:
            check_workers(client)
    finally:
        client.run(restore, skspectral.__version__)
    message = str(error.value)
    assert f"{addresses[0]} cannot import skspectral (ModuleNotFoundError" in message
    assert f"{addresses[1]} has skspectral 0.0.1" in message
    assert f"2 of 2 Dask worker(s) cannot run this process's skspectral " \
           f"{skspectral.__version__}" in message
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_workers(client)  # restored: no error, no warning


@pytest.mark.parametrize("profiler", [True, False])
def test_workers_running_dasks_profiler_draw_a_warning_with_the_remedy(profiler):
    with dask.config.set({"distributed.worker.profile.enabled": profiler}):
        cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                           dashboard_address=":0", silence_logs=40)
    try:
        with distributed.Client(cluster, set_as_default=False) as client, \
                warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            reports = check_workers(client)
    finally:
        cluster.close()
    assert [report["profiler"] for report in reports.values()] == [profiler]
    messages = [str(w.message) for w in caught if "profiler" in str(w.message)]
    assert messages == ([
        "1 of 1 Dask worker(s) run Dask's statistical profiler, which costs about 15% of a "
        "skorch fit's time (docs/scaling.md): start the workers with "
        "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False."] if profiler else [])


def test_an_unreachable_scheduler_is_an_error_within_the_timeout():
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    with pytest.raises(ClusterError, match=rf"Could not reach a Dask scheduler at "
                                           rf"'tcp://127.0.0.1:{port}' within 2 s"):
        connect(f"tcp://127.0.0.1:{port}", timeout=2)
    assert time.monotonic() - start < 15


# ------------------------------------------------------------------ skspectral reproduce
_XOR = ["xor", "--seeds", "1", "--only", "clean-wd0", "--epochs", "30", "--attack-samples",
        "3", "--max-queries", "300", "--quiet"]


def test_reproduce_on_a_local_cluster_writes_the_samples_of_jobs_1(tmp_path):
    from skspectral.cli import main

    serial, on_dask = tmp_path / "serial", tmp_path / "dask"
    assert main(["reproduce", *_XOR, "--out", str(serial), "--jobs", "1"]) == 0
    assert main(["reproduce", *_XOR, "--out", str(on_dask), "--scheduler", "local:2"]) == 0
    assert (on_dask / "samples.csv").read_bytes() == (serial / "samples.csv").read_bytes()

    def records(folder):
        summary = json.loads((folder / "summary.json").read_text())
        return [{k: v for k, v in r.items() if not k.endswith("seconds")}
                for r in summary["records"]]

    assert records(on_dask) == records(serial) and len(records(serial)) == 4
    # the client wrote what the units stored in their workers (XOR's seed-0 models)
    assert sorted(p.name for p in (on_dask / "store").iterdir()) == sorted(
        p.name for p in (serial / "store").iterdir()) != []
    assert not (on_dask / "checkpoints").exists()  # nor the run's marker is left
    written = {p: p.stat().st_mtime_ns for p in (on_dask / "units").iterdir()}
    assert main(["reproduce", *_XOR, "--out", str(on_dask), "--scheduler", "local:2"]) == 0
    assert {p: p.stat().st_mtime_ns for p in (on_dask / "units").iterdir()} == written


@pytest.mark.parametrize(("extra", "message"), [
    (["--jobs", "2", "--scheduler", "local"], "--jobs and --scheduler both say where units run"),
    (["--jobs", "1", "--scheduler", "local"], "--jobs and --scheduler both say where units run"),
])
def test_jobs_with_a_scheduler_is_refused(capsys, tmp_path, extra, message):
    from skspectral.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["reproduce", *_XOR, "--out", str(tmp_path), *extra])
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_reproduce_with_an_unreachable_scheduler_exits_with_its_address(capsys, tmp_path):
    import socket

    from skspectral.cli import main

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    assert main(["reproduce", *_XOR, "--out", str(tmp_path), "--scheduler",
                 f"tcp://127.0.0.1:{port}", "--scheduler-timeout", "2"]) == 2
    assert time.monotonic() - start < 20
    err = capsys.readouterr().err
    assert f"Could not reach a Dask scheduler at 'tcp://127.0.0.1:{port}' within 2 s" in err
    assert main(["reproduce", *_XOR, "--out", str(tmp_path), "--scheduler", "local:two"]) == 2
    assert "--scheduler local:N takes a positive number of workers, got 'local:two'" in \
        capsys.readouterr().err
