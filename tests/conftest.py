import os
from pathlib import Path

import pytest
import torch
from threadpoolctl import threadpool_limits

from skspectral.datasets import find_mnist

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def mnist_home():
    """Folder holding MNIST/raw: $SKSPECTRAL_DATA, else ../shared/data beside the repo."""
    home = find_mnist(None, REPO.parent / "shared" / "data")
    if home is not None:
        return home
    pytest.skip("MNIST not available: set SKSPECTRAL_DATA or provide ../shared/data/MNIST/raw")


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


def pytest_xdist_auto_num_workers(config):
    """``-n auto`` (pyproject's default): one test process per core, at most 4 (each holds
    its own torch, a few hundred MB)."""
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                      else os.cpu_count() or 1))


def _share_the_cores():
    """In a pytest-xdist worker: this process's share of the cores for torch, BLAS/OpenMP and
    the processes tests start (workers that each used every core would slow each other down
    many times over: OpenMP threads spin)."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers <= 1:
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = max(1, (cores or 1) // workers)
    torch.set_num_threads(threads)
    threadpool_limits(threads)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(threads)


_share_the_cores()
