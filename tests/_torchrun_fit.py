"""Fit ``SpectralMLPClassifier(distributed=True)`` in every process of a torchrun launch.

``torchrun ... tests/_torchrun_fit.py OUT``: each process joins the env:// process group
torchrun describes (gloo), fits on the same fixed data (each rank trains on its share of every
global batch), and rank 0 writes ``OUT`` (``.npz``): its weights, penalty buffers, the largest
difference from the other ranks' and the world size. ``tests/test_torchrun.py`` launches it and
compares with one process fitting the same data.
"""

import os
import sys

import numpy as np
import torch
import torch.distributed as dist

from skspectral import SpectralMLPClassifier

PARAMS = dict(hidden_layer_sizes=(16,), batch_size=32, max_epochs=4, burnin=1, gamma=0.05,
              lr=0.1, random_state=0, device="cpu")


def data():
    """128 fixed samples of 10 features, 3 classes."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(128, 10)).astype(np.float32)
    return X, (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)


def state(clf):
    """Every weight and penalty buffer, flattened."""
    net = clf.net_
    return torch.cat([t.detach().flatten().float() for t in
                      [*net.module_.state_dict().values(), *net.penalty_.buffers()]])


def main(out):
    dist.init_process_group("gloo")  # env://: torchrun sets RANK, WORLD_SIZE, MASTER_ADDR...
    torch.manual_seed(dist.get_rank())  # the fit must not depend on the ranks' torch state
    clf = SpectralMLPClassifier(distributed=True, **PARAMS).fit(*data())
    mine = state(clf)
    gathered = [torch.zeros_like(mine) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, mine)
    if dist.get_rank() == 0:
        difference = max(float((g - mine).abs().max()) for g in gathered)
        np.savez(out, state=mine.numpy(), difference=difference,
                 world=dist.get_world_size(), steps=len(clf.history_[-1, "batches"]))
    dist.barrier()
    # No destroy_process_group: its gloo destructor can hang before torch 2.8 (see _gloo.py).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1])
