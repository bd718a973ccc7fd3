"""``distributed=True`` under torchrun, launched for real: env:// rendezvous, gloo, and the
same model as one process.

``tests/_torchrun_fit.py`` fits on fixed data in every process torchrun starts; rank 0 writes
its state. Launched twice: as one node (``--standalone --nproc-per-node 2``) and as two nodes
on this machine (two torchrun agents, ``--nnodes 2 --nproc-per-node 1`` each, meeting at a c10d
``--rdzv-endpoint``: the multi-node command of docs/scaling.md, on the loopback address).
"""

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch.distributed as dist
from _torchrun_fit import PARAMS, data, state

from skspectral import SpectralMLPClassifier

SCRIPT = Path(__file__).with_name("_torchrun_fit.py")
TORCHRUN = Path(sys.executable).with_name("torchrun")

pytestmark = [
    pytest.mark.skipif(not TORCHRUN.exists(), reason=f"no torchrun beside {sys.executable}"),
    pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(),
                       reason="torch.distributed with gloo is not available"),
]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(commands, out):
    """Run torchrun ``commands`` at once; fail with their output unless all exit 0."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, env=env) for command in commands]
    outputs = []
    try:
        for proc in procs:
            outputs.append(proc.communicate(timeout=300)[0])
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert all(proc.returncode == 0 for proc in procs), "\n".join(outputs)[-4000:]
    return dict(np.load(out))


@pytest.fixture(scope="module")
def one_process():
    return state(SpectralMLPClassifier(**PARAMS).fit(*data())).numpy()


def _check(report, one_process):
    assert int(report["world"]) == 2
    assert float(report["difference"]) == 0.0  # both ranks hold the same weights
    assert int(report["steps"]) == 128 // 32  # each rank steps once per global batch
    # Two half-batch means, averaged by DistributedDataParallel, are the global batch's mean
    # up to float32 rounding: the tolerance of tests/test_distributed.py.
    np.testing.assert_allclose(report["state"], one_process, rtol=1e-5, atol=1e-6)


def test_torchrun_standalone_trains_the_model_of_one_process(tmp_path, one_process):
    out = tmp_path / "state.npz"
    report = _launch([[str(TORCHRUN), "--standalone", "--nproc-per-node", "2", str(SCRIPT),
                       str(out)]], out)
    _check(report, one_process)


def test_torchrun_across_two_nodes_trains_the_model_of_one_process(tmp_path, one_process):
    out = tmp_path / "state.npz"
    node = [str(TORCHRUN), "--nnodes", "2", "--nproc-per-node", "1", "--rdzv-backend", "c10d",
            "--rdzv-endpoint", f"127.0.0.1:{_free_port()}", "--rdzv-id", "skspectral-test",
            str(SCRIPT), str(out)]
    report = _launch([node, node], out)  # two agents, as on two machines
    _check(report, one_process)
