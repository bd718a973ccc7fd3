"""Thread limits for work that runs inside a Dask task: the ground floor every layer may use.

A Dask worker with ``nthreads`` threads runs up to ``nthreads`` tasks at once on the
``nthreads`` cores it was given, so each task that trains, predicts or attacks gets its share
of torch and BLAS/OpenMP threads (:func:`task_threads`) and two tasks never fight over the same
cores. Outside a Dask task nothing changes. dask is imported only when a Dask worker exists in
this process: skspectral runs without the ``dask`` extra.
"""

import importlib
import sys
import threading
from contextlib import contextmanager

__all__ = ["TASK_THREADS", "dask_distributed", "task_threads", "thread_limits",
           "worker_thread_limits"]

#: The Dask configuration key of the torch/BLAS threads per task.
TASK_THREADS = "skspectral.task-threads"


def _dask_module(name):
    """The module ``name`` of Dask, or an ImportError naming the ``dask`` extra."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ImportError(f"Running on a Dask cluster needs {name}, the 'dask' extra: pip "
                          "install 'skspectral[dask]'.") from exc


def dask_distributed():
    """``distributed``, or an ImportError naming the ``dask`` extra."""
    return _dask_module("distributed")


def _current_worker():
    """The Dask worker running the current task, or None (not inside a Dask task)."""
    if "distributed" not in sys.modules:  # dask never imported: no worker in this process
        return None
    try:
        return dask_distributed().get_worker()
    except ValueError:  # "No worker found": not inside a task
        return None


def task_threads():
    """The torch and BLAS threads a Dask task may use; None outside a Dask task.

    A worker with ``nthreads`` threads was given ``nthreads`` cores and runs up to
    ``nthreads`` tasks at once, so a task gets one thread per core it can count on: 1. The
    Dask configuration value ``skspectral.task-threads`` (a positive integer; environment
    variable ``DASK_SKSPECTRAL__TASK_THREADS`` where the worker starts) replaces it, for
    workers that run one task at a time on several cores (``--nthreads 1`` on a node of 16
    cores: 16).

    Returns
    -------
    threads : int or None
        The thread count for the current Dask task (1 unless configured), or None when not
        called from inside a Dask task.

    Raises
    ------
    ValueError
        If ``skspectral.task-threads`` is set to something other than a positive integer.

    See Also
    --------
    worker_thread_limits : Applies this count around a block of work.

    Examples
    --------
    >>> from distributed import Client, LocalCluster
    >>> cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
    ...                        dashboard_address=":0")
    >>> from skspectral._threads import task_threads
    >>> client = Client(cluster)
    >>> task_threads() is None  # not inside a Dask task
    True
    >>> client.submit(task_threads).result()
    1
    >>> client.close(); cluster.close()
    """
    worker = _current_worker()
    if worker is None:
        return None
    configured = _dask_module("dask.config").get(TASK_THREADS, None)
    if configured is None:
        return 1  # up to nthreads tasks at once on the worker's nthreads cores: one each
    text = str(configured).strip()
    if isinstance(configured, bool) or not text.isdigit() or int(text) < 1:
        raise ValueError(f"The Dask configuration value {TASK_THREADS!r} must be a positive "
                         f"integer, got {configured!r}.")
    return int(text)


# BLAS and OpenBLAS keep one thread count per process, which every concurrent task of a
# worker shares: the first task to enter limits it, the last to leave restores it. The
# libraries are looked up once per process (a look-up is slow next to a predict), not at every
# fit, predict and attack.
_blas_lock = threading.Lock()
_blas_users = 0
_blas_limiter = None
_controller = None


@contextmanager
def _process_blas_limits(threads):
    global _blas_users, _blas_limiter, _controller
    from threadpoolctl import ThreadpoolController

    with _blas_lock:
        if _blas_users == 0:
            if _controller is None:
                _controller = ThreadpoolController()
            _blas_limiter = _controller.limit(limits=threads)
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                _blas_limiter.restore_original_limits()
                _blas_limiter = None


@contextmanager
def worker_thread_limits():
    """Inside a Dask task, run the body with :func:`task_threads` torch and BLAS threads.

    torch's intra-op thread count (per calling thread) is set and restored around the body;
    the BLAS/OpenMP limits of threadpoolctl are held while any task of the process is inside.
    Outside a Dask task (or without dask installed) the body runs unchanged. skspectral's
    estimators train and predict, and its attacks run, inside this context, so searches on
    a Dask cluster need nothing more. The same as ``thread_limits(task_threads())``.

    Yields
    ------
    None
        The body runs with the limits in place; they are restored on leaving.

    Raises
    ------
    ValueError
        If ``skspectral.task-threads`` is not a positive integer (see :func:`task_threads`).

    Examples
    --------
    >>> from distributed import Client, LocalCluster
    >>> cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
    ...                        dashboard_address=":0")
    >>> import torch
    >>> from skspectral._threads import worker_thread_limits
    >>> def threads_in_task():
    ...     with worker_thread_limits():
    ...         return torch.get_num_threads()
    >>> client = Client(cluster)
    >>> client.submit(threads_in_task).result()
    1
    >>> client.close(); cluster.close()
    """
    with thread_limits(task_threads()):
        yield


@contextmanager
def thread_limits(threads):
    """Run the body with ``threads`` torch and BLAS/OpenMP threads; None changes nothing.

    torch's intra-op thread count (per calling thread) is set and restored around the body;
    the BLAS/OpenMP limits of threadpoolctl are held while any thread of the process is inside
    (they are per process: the first to enter sets them, the last to leave restores them).

    Parameters
    ----------
    threads : int or None
        Threads for the body; None runs it unchanged.

    Yields
    ------
    None
        The body runs with the limits in place; they are restored on leaving.

    Examples
    --------
    >>> import torch
    >>> from skspectral._threads import thread_limits
    >>> before = torch.get_num_threads()
    >>> with thread_limits(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    if threads is None:
        yield
        return
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with _process_blas_limits(threads):
            yield
    finally:
        torch.set_num_threads(previous)
