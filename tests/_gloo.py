"""Two-process gloo groups for the data-parallel tests: start the ranks, collect rank 0's report.

A rank leaves with ``os._exit`` and never destroys its process group: before torch 2.8 the gloo
group's destructor held the GIL while it joined its worker threads, and a worker that still
needed the GIL (freeing a finished collective's tensors) hung it, about one run in three on
torch 2.5 (pytorch/pytorch#154976). Every rank first meets the others at a barrier, and flushes
the report queue, so nothing is lost by skipping the destructors.
"""

import os
import queue
import socket
import time
import traceback

import torch.distributed as dist
import torch.multiprocessing as mp


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_rank(target, rank, world_size, port, results, args):
    try:
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        dist.init_process_group("gloo", rank=rank, world_size=world_size)
        target(rank, world_size, results, *args)
        dist.barrier()
        results.close()
        results.join_thread()  # the report is in the pipe before the process ends
    except BaseException:
        traceback.print_exc()
        os._exit(1)
    os._exit(0)


def spawn_ranks(target, *args, world_size=2, timeout=600):
    """Run ``target(rank, world_size, results, *args)`` on every rank of a gloo group.

    Returns the first report a rank puts on ``results``. Waits until a report arrives or a rank
    fails, then requires every rank to exit with 0.
    """
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    port = free_port()
    procs = [ctx.Process(target=_run_rank, args=(target, rank, world_size, port, results, args))
             for rank in range(world_size)]
    for proc in procs:
        proc.start()
    report, deadline = None, time.monotonic() + timeout
    while (report is None and time.monotonic() < deadline
           and all(proc.exitcode in (None, 0) for proc in procs)):
        try:
            report = results.get(timeout=1)
        except queue.Empty:
            continue
    for proc in procs:
        proc.join(timeout=60 if report is not None else 5)
        if proc.is_alive():
            proc.kill()
            proc.join()
    assert all(proc.exitcode == 0 for proc in procs), [proc.exitcode for proc in procs]
    return report
