"""Data-parallel training: the penalty's state stays identical on every rank (gloo, 2 CPUs).

First the penalty under a hand-written DDP loop, then the estimators' own ``distributed=True``
engine, which must (a) keep weights and singular vectors bit-identical across ranks and
(b) with a global batch split evenly across ranks, train the same model as one process.
"""

import pickle

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.nn as nn
from _gloo import spawn_ranks

from skspectral import SpectralMLPClassifier, SpectralResNetClassifier
from skspectral.models import BarlowTwinsLoss
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


def _train_on_rank(rank, world_size, results):
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


needs_gloo = pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(),
                                reason="torch.distributed with gloo is not available")


@needs_gloo
def test_weights_and_singular_vectors_stay_identical_across_ranks():
    difference, moved, n_layers = spawn_ranks(_train_on_rank)
    assert n_layers == 4
    assert difference == 0.0  # bit-identical weights and penalty state on both ranks
    assert moved > 0  # the state did evolve during training


# ---------------------------------------------------------------- estimators, distributed=True
MLP_PARAMS = dict(hidden_layer_sizes=(16,), batch_size=32, max_epochs=4, burnin=1, gamma=0.05,
                  lr=0.1, random_state=0)
RESNET_PARAMS = dict(arch="resnet18", batch_size=8, max_epochs=2, burnin=0, update_every=2,
                     lr=0.05)  # random_state=None: rank 0's seed must reach every rank


def _tabular():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(128, 10)).astype(np.float32)
    return X, (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)


def _images():
    rng = np.random.default_rng(1)
    return rng.random((24, 1, 8, 8), dtype=np.float32), rng.integers(0, 3, 24)


def _state(clf):
    """Every weight, BatchNorm statistic and penalty buffer, flattened."""
    net = clf.net_
    return torch.cat([t.detach().flatten().float() for t in
                      [*net.module_.state_dict().values(), *net.penalty_.buffers()]])


def _fit_estimators_on_rank(rank, world_size, results):
    torch.manual_seed(rank)  # the estimators must not depend on the ranks' torch state
    report = {}
    for name, cls, params, data in (("mlp", SpectralMLPClassifier, MLP_PARAMS, _tabular()),
                                    ("resnet", SpectralResNetClassifier, RESNET_PARAMS,
                                     _images())):
        clf = cls(distributed=True, device="cpu", **params).fit(*data)
        state = _state(clf)
        gathered = [torch.zeros_like(state) for _ in range(world_size)]
        dist.all_gather(gathered, state)
        report[name] = dict(difference=float((gathered[0] - gathered[1]).abs().max()),
                            state=state.numpy(), steps=len(clf.history_[-1, "batches"]),
                            layers=clf.regularized_layers_,
                            penalty=clf.history_[-1, "spectral_penalty"])
        if rank == 0:  # after training, one rank alone uses the model: no collectives
            report[name]["norms"] = clf.spectral_norms_
            report[name]["unpickled"] = pickle.loads(pickle.dumps(clf)).predict(data[0])
            report[name]["predicted"] = clf.predict(data[0])
    if rank == 0:
        results.put(report)


@pytest.fixture(scope="module")
def distributed_fits():
    return spawn_ranks(_fit_estimators_on_rank)


@needs_gloo
def test_distributed_mlp_matches_one_process_with_the_same_global_batch(distributed_fits):
    report = distributed_fits["mlp"]
    assert report["difference"] == 0.0
    assert report["steps"] == 128 // 32  # each rank steps once per global batch
    assert report["penalty"] > 0
    single = SpectralMLPClassifier(device="cpu", **MLP_PARAMS).fit(*_tabular())
    # Two half-batch means, averaged by DDP, are the global batch's mean: the same training,
    # up to float rounding.
    np.testing.assert_allclose(report["state"], _state(single).numpy(), rtol=1e-5, atol=1e-6)


@needs_gloo
def test_distributed_resnet_keeps_every_rank_identical(distributed_fits):
    report = distributed_fits["resnet"]
    assert len(report["layers"]) == 20  # every conv of ResNet18
    assert report["steps"] == 24 // 8
    assert report["penalty"] > 0
    assert report["difference"] == 0.0  # weights, BN statistics and singular vectors
    assert len(report["norms"]) == 21  # 20 convs and the head, read on rank 0 alone
    np.testing.assert_array_equal(report["unpickled"], report["predicted"])


class _ReadCounting(torch.utils.data.Dataset):
    """``(X[i], y[i])`` items that count how often they are read in this process."""

    def __init__(self, X, y):
        self.X, self.y, self.targets, self.reads = X, y, y, 0

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        self.reads += 1
        return self.X[i], self.y[i]


def _fit_dataset_on_rank(rank, world_size, results):
    data = _ReadCounting(*_tabular())
    clf = SpectralMLPClassifier(distributed=True, device="cpu", **MLP_PARAMS).fit(data)
    state = _state(clf)
    gathered = [torch.zeros_like(state) for _ in range(world_size)]
    dist.all_gather(gathered, state)
    reads = [torch.zeros(1, dtype=torch.int64) for _ in range(world_size)]
    dist.all_gather(reads, torch.tensor([data.reads]))
    if rank == 0:
        results.put(dict(difference=float((gathered[0] - gathered[1]).abs().max()),
                         state=state.numpy(), reads=[int(r) for r in reads]))


@needs_gloo
def test_distributed_dataset_each_rank_reads_its_share_and_trains_one_model():
    report = spawn_ranks(_fit_dataset_on_rank)
    assert report["difference"] == 0.0
    # 128 items, 2 ranks, 4 epochs: 64 reads per rank per epoch, plus item 0 twice (its
    # shape, and the feature width after training).
    assert report["reads"] == [4 * 64 + 2] * 2
    single = SpectralMLPClassifier(device="cpu", **MLP_PARAMS).fit(*_tabular())
    np.testing.assert_allclose(report["state"], _state(single).numpy(), rtol=1e-5, atol=1e-6)


def test_distributed_needs_a_process_group():
    X, y = _tabular()
    with pytest.raises(ValueError, match="initialized torch.distributed process group"):
        SpectralMLPClassifier(distributed=True, max_epochs=1).fit(X, y)
    with pytest.raises(TypeError, match="The 'distributed' parameter of SpectralMLPClassifier "
                                        "must be an instance of 'bool'"):
        SpectralMLPClassifier(distributed="yes", max_epochs=1).fit(X, y)


# ---------------------------------------------------------------- Barlow Twins, global batch
def _projections():
    rng = np.random.default_rng(3)
    z1 = rng.normal(size=(16, 6))
    return torch.tensor(z1), torch.tensor(z1 + rng.normal(size=(16, 6)))


def _barlow_loss_on_rank(rank, world_size, results):
    rows = slice(8 * rank, 8 * (rank + 1))  # each rank holds half of the global batch
    z1, z2 = (z[rows].clone().requires_grad_() for z in _projections())
    loss = BarlowTwinsLoss(distributed=True)((z1, z2))
    loss.backward()
    local = torch.cat([loss.detach()[None], z1.grad.flatten(), z2.grad.flatten()])
    gathered = [torch.zeros_like(local) for _ in range(world_size)]
    dist.all_gather(gathered, local)
    if rank == 0:
        results.put([g.numpy() for g in gathered])


@needs_gloo
def test_barlow_loss_is_that_of_the_global_batch():
    """Every rank gets the loss one process computes on the whole batch; its gradient is the
    whole batch's times the number of ranks, which DistributedDataParallel's mean undoes."""
    gathered = spawn_ranks(_barlow_loss_on_rank)
    z1, z2 = (z.clone().requires_grad_() for z in _projections())
    loss = BarlowTwinsLoss()((z1, z2))
    loss.backward()
    for rank, report in enumerate(gathered):
        assert report[0] == pytest.approx(loss.item(), rel=1e-12)
        rows = slice(8 * rank, 8 * (rank + 1))
        grads = np.concatenate([z1.grad[rows].flatten(), z2.grad[rows].flatten()])
        np.testing.assert_allclose(report[1:] / 2, grads, rtol=1e-10, atol=1e-14)
