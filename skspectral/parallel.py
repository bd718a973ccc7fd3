"""Running skspectral on a dask.distributed cluster (the ``dask`` extra).

Searches and cross-validation use stock scikit-learn on joblib's Dask backend::

    import joblib
    from skspectral.parallel import connect, recoverable

    client = connect("tcp://scheduler:8786")      # a distributed.Client, workers checked
    with joblib.parallel_config(backend="dask", client=recoverable(client)):
        search.fit(X, y)                          # GridSearchCV, cross_validate, ...

and ``skspectral reproduce --scheduler ADDRESS`` runs the paper's units as Dask tasks
(:func:`open_client`). What skspectral adds is small, and lives here:

- **Thread limits in the workers.** A worker with ``nthreads`` threads runs up to
  ``nthreads`` tasks at once on the ``nthreads`` cores it was given, so each task that trains
  or attacks runs with one torch and BLAS/OpenMP thread (:func:`task_threads`); two tasks
  never fight over the same cores. The Dask configuration value ``skspectral.task-threads``
  (environment ``DASK_SKSPECTRAL__TASK_THREADS`` on the workers) gives each task more, for
  workers that run one task at a time on several cores. Outside a Dask task nothing changes.
- **Checked workers.** :func:`connect` and :func:`check_workers` name every worker that
  cannot import skspectral or has another version of it, before any work is sent.
- **Data that survives a lost worker.** :func:`recoverable` makes the arguments joblib
  scatters recomputable, so that the scheduler's rerun of a lost worker's fits finds them.

Nothing here imports dask until it is used: skspectral runs without the extra.
"""

import logging
import os
import warnings
from contextlib import contextmanager

from ._threads import (
    TASK_THREADS,
    _dask_module,
    dask_distributed,
    task_threads,
    worker_thread_limits,
)
from ._version import __version__

__all__ = ["ClusterError", "check_workers", "connect", "open_client", "recoverable",
           "task_threads", "worker_thread_limits"]

#: Packages whose versions are compared between the client and the workers (a difference
#: warns: a pickled estimator may not load, or may compute differently, across them).
_COMPARED = ("torch", "sklearn", "skorch", "numpy")


class ClusterError(RuntimeError):
    """The Dask cluster cannot run skspectral's work.

    Raised when its scheduler cannot be reached, or some of its workers lack skspectral or
    have another version of it; the message names the address or every such worker.

    See Also
    --------
    connect : Raises it for an unreachable scheduler or mismatched workers.
    check_workers : Raises it for mismatched workers.

    Examples
    --------
    >>> from skspectral.parallel import ClusterError, connect
    >>> try:
    ...     connect("tcp://127.0.0.1:9", timeout=0.2)  # nothing listens there
    ... except ClusterError as exc:
    ...     print(str(exc)[:56])
    Could not reach a Dask scheduler at 'tcp://127.0.0.1:9'
    """


def _identity(data):
    return data


class _Recoverable:
    """A client whose ``scatter`` makes recomputable tasks; see :func:`recoverable`."""

    def __init__(self, client):
        self._client = client

    def __getattr__(self, name):
        if name == "_client":  # not set yet (copy, unpickling): no endless recursion
            raise AttributeError(name)
        return getattr(self._client, name)

    def __repr__(self):
        return f"recoverable({self._client!r})"

    def _hold(self, data):
        from uuid import uuid4

        with warnings.catch_warnings():  # the data rides in the task spec, by design
            warnings.filterwarnings("ignore", message=".*[Ll]arge graph")
            return self._client.submit(_identity, data, pure=False,
                                       key=f"skspectral-data-{type(data).__name__}-"
                                           f"{uuid4().hex}")

    def scatter(self, data, *, asynchronous=None, **kwargs):
        # broadcast, hash, workers, direct: one holder task per item makes them moot
        if isinstance(data, dict):
            futures = {key: self._hold(value) for key, value in data.items()}
        elif isinstance(data, (list, tuple)):
            futures = [self._hold(value) for value in data]
        else:
            futures = self._hold(data)
        if asynchronous:
            async def scattered():
                return futures
            return scattered()
        return futures


def recoverable(client):
    """``client`` for joblib's Dask backend, with arguments that survive a lost worker.

    joblib's Dask backend scatters every argument over 1 kB (X, y, each fold's indices) to
    one worker; if that worker dies, the data is gone and the search fails with
    ``FutureCancelledError`` (copies made with ``scatter=[X, y]`` do not help: Dask's
    active memory manager drops extra replicas within seconds). Through this view each such
    argument becomes a task that returns it: the scheduler keeps its spec and computes it
    again on another worker, so a lost worker only costs the fits it was running, which the
    scheduler reruns elsewhere. The data passes through the scheduler once per search.

    Parameters
    ----------
    client : distributed.Client
        The connected client; every attribute but ``scatter`` is its own.

    Returns
    -------
    view : object
        The client, except for ``scatter``; pass it as joblib's ``client``::

            with joblib.parallel_config(backend="dask", client=recoverable(client)):
                search.fit(X, y)

    Examples
    --------
    >>> from distributed import Client, LocalCluster
    >>> cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
    ...                        dashboard_address=":0")
    >>> from skspectral.parallel import recoverable
    >>> client = Client(cluster)
    >>> view = recoverable(client)
    >>> futures = view.scatter({"X": [1, 2, 3]})  # a task that returns the data
    >>> client.gather(futures)
    {'X': [1, 2, 3]}
    >>> view.id == client.id  # every other attribute is the client's
    True
    >>> client.close(); cluster.close()
    """
    return _Recoverable(client)


def _worker_report(names, dask_worker=None):
    """Where it runs: skspectral's version (or import error), the versions of ``names``,
    Python's, and whether ``dask_worker`` (which ``Client.run`` passes) runs Dask's
    statistical profiler. Self-contained (its imports inside, no global of this module), so
    that, sent as a copy of its code (:func:`_portable`), it runs where skspectral cannot be
    imported."""
    import importlib
    import sys

    report = {}
    try:
        # the whole package, as the worker's tasks will import it (a probe of the worker's
        # environment, not a dependency of this module)
        importlib.import_module("skspectral")
        report["skspectral"] = importlib.import_module("skspectral._version").__version__
    except Exception as exc:  # whatever breaks the import is the report
        report["skspectral"] = None
        report["error"] = f"{type(exc).__name__}: {exc}"
    for name in names:
        try:
            report[name] = importlib.import_module(name).__version__
        except Exception:
            report[name] = None
    report["python"] = sys.version.split()[0]
    # The worker's own state: it read its configuration when it started.
    callbacks = getattr(dask_worker, "periodic_callbacks", None)
    report["profiler"] = None if callbacks is None else "profile" in callbacks
    return report


def _portable(function):
    """A copy of a self-contained ``function`` that cloudpickle sends by value (its code),
    not as a reference to this module, which the receiving side may not have."""
    import types

    copy = types.FunctionType(function.__code__, {"__builtins__": __builtins__},
                              function.__name__, function.__defaults__)
    copy.__module__ = "__main__"
    copy.__qualname__ = f"<skspectral>.{function.__name__}"
    return copy


def check_workers(client):
    """Check that every worker of ``client``'s cluster runs this skspectral.

    Parameters
    ----------
    client : distributed.Client
        A client of the cluster whose connected workers are checked.

    Returns
    -------
    reports : dict
        ``{worker address: {"skspectral": version, "torch": ..., "sklearn": ...,
        "skorch": ..., "numpy": ..., "python": ..., "profiler": bool}}`` of the workers
        connected now (none
        for a cluster that has not started its workers yet; ``skspectral reproduce`` also
        checks each result against the version of the worker that computed it).

    Raises
    ------
    ClusterError
        Naming every worker that cannot import skspectral (with the import error) or has
        another version than this process.

    Warns
    -----
    UserWarning
        Where torch, scikit-learn, skorch or NumPy differ between this process and a worker,
        and where workers run Dask's statistical profiler (``"profiler": True`` in their
        report), which slows training by about 15%.

    Examples
    --------
    >>> import dask
    >>> import skspectral
    >>> from distributed import Client, LocalCluster
    >>> from skspectral.parallel import check_workers
    >>> with dask.config.set({"distributed.worker.profile.enabled": False}):
    ...     cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
    ...                            dashboard_address=":0")
    ...     client = Client(cluster)
    ...     reports = check_workers(client)
    >>> [report["skspectral"] == skspectral.__version__ for report in reports.values()]
    [True]
    >>> client.close(); cluster.close()
    """
    reports = client.run(_portable(_worker_report), list(_COMPARED))
    problems = []
    for address, report in sorted(reports.items()):
        if report["skspectral"] is None:
            problems.append(f"{address} cannot import skspectral ({report['error']})")
        elif report["skspectral"] != __version__:
            problems.append(f"{address} has skspectral {report['skspectral']}")
    if problems:
        raise ClusterError(
            f"{len(problems)} of {len(reports)} Dask worker(s) cannot run this process's "
            f"skspectral {__version__}: " + "; ".join(problems) + ". Install skspectral=="
            f"{__version__} (pip install 'skspectral[dask]') where the workers run, and "
            "restart them.")
    local = _worker_report(_COMPARED)
    differing = sorted({f"{name} {report[name]} on {address} (here {local[name]})"
                        for address, report in reports.items() for name in _COMPARED
                        if report[name] != local[name]})
    if differing:
        warnings.warn("The Dask workers' packages differ from this process's: "
                      + "; ".join(differing) + ". Estimators pickled on one side may not load, "
                      "or may compute differently, on the other.", UserWarning, stacklevel=2)
    profiling = sorted(address for address, report in reports.items() if report.get("profiler"))
    if profiling:
        warnings.warn(f"{len(profiling)} of {len(reports)} Dask worker(s) run Dask's statistical "
                      "profiler, which costs about 15% of a skorch fit's time (docs/scaling.md): "
                      "start the workers with DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False.",
                      UserWarning, stacklevel=2)
    return reports


def connect(address, *, timeout=10.0, check=True, security=None):
    """A :class:`distributed.Client` of the scheduler at ``address``, its workers checked.

    Parameters
    ----------
    address : str
        The scheduler's address (``"tcp://host:8786"``, ``"tls://host:8786"``), or a cluster
        object (``SLURMCluster``, ``LocalCUDACluster``, ...).
    timeout : float, default=10.0
        Seconds to wait for the scheduler before giving up.
    check : bool, default=True
        Run :func:`check_workers` on the connected workers.
    security : distributed.Security or None, default=None
        TLS certificates for a ``tls://`` scheduler, passed to :class:`distributed.Client`;
        None takes them from Dask's configuration (``distributed.comm.tls.*``), as Dask
        does (docs/security.md).

    Returns
    -------
    client : distributed.Client
        A client connected to the scheduler (its workers checked when ``check``).

    Raises
    ------
    ClusterError
        If the scheduler cannot be reached within ``timeout`` seconds, or a worker lacks
        skspectral or has another version of it.
    ImportError
        Without the ``dask`` extra.

    See Also
    --------
    open_client : The same as a context manager, with local clusters made on request.
    recoverable : The client to pass to joblib's Dask backend.

    Examples
    --------
    A cluster object stands for its scheduler's address:

    >>> import dask
    >>> from distributed import LocalCluster
    >>> from skspectral.parallel import connect
    >>> with dask.config.set({"distributed.worker.profile.enabled": False}):
    ...     cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
    ...                            dashboard_address=":0")
    ...     client = connect(cluster)
    >>> len(client.scheduler_info()["workers"])
    1
    >>> client.close(); cluster.close()
    """
    distributed = dask_distributed()
    try:
        client = distributed.Client(address, timeout=timeout, security=security)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"Could not reach a Dask scheduler at {address!r} within "
                           f"{timeout:g} s ({type(exc).__name__}: {exc}). Check the address "
                           "and that the scheduler is running.") from exc
    if check:
        try:
            check_workers(client)
        except BaseException:
            client.close()
            raise
    return client


@contextmanager
def open_client(scheduler, *, timeout=10.0):
    """A checked client of ``scheduler``; a cluster made here is closed on leaving.

    Parameters
    ----------
    scheduler : str
        A scheduler's address, or ``"local"`` (a LocalCluster of one single-threaded worker
        process per core) or ``"local:N"`` (N worker processes, each task with
        ``cpu_count // N`` torch/BLAS threads, as ``--jobs N`` would run); a local cluster's
        workers run without Dask's statistical profiler.
    timeout : float, default=10.0
        Seconds to wait for a remote scheduler.

    Yields
    ------
    client : distributed.Client
        A client whose workers were checked (:func:`check_workers`); closed on leaving,
        with the local cluster if one was made.

    Raises
    ------
    ValueError
        If ``"local:N"`` does not give a positive number of workers.
    ClusterError
        If a remote scheduler cannot be reached or a worker cannot run this skspectral.

    Examples
    --------
    >>> from skspectral.parallel import open_client, task_threads
    >>> with open_client("local:0"):
    ...     pass
    Traceback (most recent call last):
    ...
    ValueError: --scheduler local:N takes a positive number of workers, got 'local:0'.

    A local cluster starts worker processes that import skspectral (several seconds, too
    slow for this example), so that part is not run here:

    >>> with open_client("local:1") as client:  # doctest: +SKIP
    ...     print(client.submit(task_threads).result() >= 1)
    True
    """
    if scheduler == "local" or scheduler.startswith("local:"):
        count = scheduler.partition(":")[2]
        cpus = os.cpu_count() or 1
        if count and not (count.isdigit() and int(count) >= 1):
            raise ValueError(f"--scheduler local:N takes a positive number of workers, got "
                             f"{scheduler!r}.")
        n_workers = int(count) if count else cpus
        distributed, config = dask_distributed(), _dask_module("dask.config")
        # The workers are spawned with this process's Dask configuration. Dask's statistical
        # profiler slows a skorch fit measurably (docs/scaling.md) and nothing here reads its
        # profiles.
        with config.set({TASK_THREADS: max(1, cpus // n_workers),
                         "distributed.worker.profile.enabled": False}):
            cluster = distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1,
                                               processes=True, dashboard_address=":0",
                                               silence_logs=logging.ERROR)
        try:
            with distributed.Client(cluster) as client:
                check_workers(client)
                yield client
        finally:
            cluster.close()
        return
    client = connect(scheduler, timeout=timeout)
    try:
        yield client
    finally:
        client.close()
