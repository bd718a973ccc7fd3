"""Data-parallel training: the penalty's state stays identical on every rank (gloo, 2 CPUs)."""

import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn

from skspectral.regularization import SpectralPenalty, resolve_scope
from skspectral.spectral import capture_input_shapes


class _ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(),
                                      nn.Conv2d(4, 8, 3, stride=2, padding=1), nn.ReLU(),
                                      nn.Conv2d(8, 8, 1), nn.Flatten())
        self.head = nn.Linear(8 * 4 * 4, 3)

    def forward(self, x):
        return self.head(self.features(x))


def _train_on_rank(rank, world_size, port, results):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    try:
        torch.manual_seed(rank)  # different initial weights: DDP broadcasts rank 0's
        model = _ConvNet()
        ddp = nn.parallel.DistributedDataParallel(model)
        torch.manual_seed(0)  # the penalty's random start is the same on every rank
        penalty = SpectralPenalty(ddp, resolve_scope(model, "all"), gamma=0.5,
                                  input_shapes=capture_input_shapes(model, (1, 8, 8)))
        penalty.converge_(ddp)
        before = penalty.v0.clone()
        optimizer = torch.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
        data = torch.Generator().manual_seed(100 + rank)  # every rank sees other data
        for _ in range(5):
            x = torch.randn(16, 1, 8, 8, generator=data)
            y = torch.randint(0, 3, (16,), generator=data)
            optimizer.zero_grad()
            nn.functional.cross_entropy(ddp(x), y).backward()  # gradients all-reduced here
            penalty.apply_(ddp)
            optimizer.step()
        state = torch.cat([p.detach().flatten() for p in model.parameters()]
                          + [b.flatten() for b in penalty.buffers()])
        gathered = [torch.zeros_like(state) for _ in range(world_size)]
        dist.all_gather(gathered, state)
        if rank == 0:
            results.put((float((gathered[0] - gathered[1]).abs().max()),
                         float((penalty.v0 - before).abs().max()), len(penalty.layers)))
    finally:
        dist.destroy_process_group()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(),
                    reason="torch.distributed with gloo is not available")
def test_weights_and_singular_vectors_stay_identical_across_ranks():
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    port = _free_port()
    procs = [ctx.Process(target=_train_on_rank, args=(rank, 2, port, results))
             for rank in range(2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=240)
    assert all(proc.exitcode == 0 for proc in procs), [proc.exitcode for proc in procs]
    difference, moved, n_layers = results.get(timeout=10)
    assert n_layers == 4
    assert difference == 0.0  # bit-identical weights and penalty state on both ranks
    assert moved > 0  # the state did evolve during training
