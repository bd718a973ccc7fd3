"""Two hand-written pieces against the library route that would replace them, in one run.

1. Array batches: :class:`~skspectral.data.TensorBatchIterator` (one slice of the stored
   tensors per batch) against a :class:`torch.utils.data.DataLoader` over the same
   :class:`~skspectral.data.GlobalBatches` (``sampler=GlobalBatches``, ``batch_size=None``:
   the DataLoader fetches one whole batch per index), swapped into
   :class:`~skspectral.data.BatchLoader` for whole fits: the configurations of
   ``bench_xor.py`` (``paper_estimator("xor")``, one 4-point batch per epoch),
   ``bench_mlp_overhead.py`` (the MNIST MLP, batch 1024, MNIST-shaped random data) and
   ``bench_barlow.py`` (``SpectralBarlowTwins`` steps, batch ``--barlow-batch``). Each pair is
   checked to train identical weights. Also one pass over the XOR set alone (iteration
   only, microseconds), the per-epoch cost the two differ by.
2. :class:`~skspectral.models.RandomCropFlip` (zero padding 4, flip) against kornia's
   ``RandomCrop(padding=4)`` + ``RandomHorizontalFlip``, training-mode calls on 32 x 32 RGB
   batches; and whether one seed gives the two the same output.

Configurations are interleaved round by round (machine noise hits all alike); medians over
``--rounds``; ratios are library route / hand-written (above 1: the library is slower).

    python benchmarks/bench_library_swaps.py [--rounds 5] [--xor-epochs 2000]
        [--mnist-samples 8192] [--mnist-epochs 3] [--barlow-steps 4] [--barlow-batch 32]
        [--crop-batch 256] [--crop-calls 50]
"""

import argparse
import statistics
import time
from unittest import mock

import numpy as np
import torch

from skspectral import SpectralBarlowTwins, paper_estimator
from skspectral.data import ArrayDataset, GlobalBatches, TensorBatchIterator
from skspectral.datasets import make_xor
from skspectral.models import RandomCropFlip


def _whole_batch(batch):
    return batch


class DataLoaderBatches(torch.utils.data.DataLoader):
    """TensorBatchIterator's signature and batches, as a DataLoader over GlobalBatches."""

    def __init__(self, dataset, batch_size, shuffle=False, drop_last=False, num_replicas=1,
                 rank=0, min_last_batch=1):
        batches = GlobalBatches(len(dataset), batch_size, shuffle=shuffle,
                                drop_last=drop_last, min_last_batch=min_last_batch,
                                num_replicas=num_replicas, rank=rank)
        # Its own generator: the DataLoader draws a base seed per pass, which would
        # otherwise shift torch's global stream (and with it the shuffles and the fit).
        super().__init__(dataset, sampler=batches, batch_size=None, collate_fn=_whole_batch,
                         generator=torch.Generator())


def _fit(make, X, y, library):
    patch = mock.patch("skspectral.data._loader.TensorBatchIterator", DataLoaderBatches)
    est = make()
    if library:
        patch.start()
    try:
        start = time.perf_counter()
        est.fit(X) if y is None else est.fit(X, y)
        seconds = time.perf_counter() - start
    finally:
        if library:
            patch.stop()
    return seconds, [p.detach().clone() for p in est.module_.parameters()]


def batch_configs(args):
    X_xor, y_xor = make_xor()
    rng = np.random.default_rng(0)
    X_mnist = rng.random((args.mnist_samples, 784), dtype=np.float32)
    y_mnist = rng.integers(0, 10, args.mnist_samples)
    X_img = rng.random((args.barlow_steps * args.barlow_batch, 3, 32, 32), dtype=np.float32)
    return {
        f"xor preset, {args.xor_epochs} epochs of batch 4": (lambda: paper_estimator(
            "xor", max_epochs=args.xor_epochs, random_state=0), X_xor, y_xor),
        f"mnist-mlp, {args.mnist_epochs} x {args.mnist_samples} samples, batch 1024": (
            lambda: paper_estimator("mnist-mlp", gamma=2e-3, burnin=0, batch_size=1024,
                                    max_epochs=args.mnist_epochs, random_state=0),
            X_mnist, y_mnist),
        f"barlow, {args.barlow_steps} steps of batch {args.barlow_batch}": (
            lambda: SpectralBarlowTwins(max_epochs=1, batch_size=args.barlow_batch, burnin=0,
                                        update_every=2, projector=(64,), random_state=0),
            X_img, None),
    }


def one_pass(args):
    X, y = make_xor()
    data = ArrayDataset(X.astype(np.float32), y)
    iterators = {"TensorBatchIterator": TensorBatchIterator(data, batch_size=4, shuffle=True),
                 "DataLoader": DataLoaderBatches(data, batch_size=4, shuffle=True)}
    passes = 20 * args.xor_epochs
    times = {name: [] for name in iterators}
    for _ in range(args.rounds):
        for name, iterator in iterators.items():
            start = time.perf_counter()
            for _ in range(passes):
                for _batch in iterator:
                    pass
            times[name].append((time.perf_counter() - start) / passes)
    return {name: statistics.median(values) for name, values in times.items()}


def crop_flip(args):
    import kornia.augmentation as K

    ours = RandomCropFlip(padding=4, flip=True).train()
    theirs = torch.nn.Sequential(K.RandomCrop((32, 32), padding=4),
                                 K.RandomHorizontalFlip(p=0.5)).train()
    x = torch.rand(args.crop_batch, 3, 32, 32)
    torch.manual_seed(0)
    a = ours(x)
    torch.manual_seed(0)
    b = theirs(x)
    same = a.shape == b.shape and bool(torch.equal(a, b))

    def run(module):
        start = time.perf_counter()
        for _ in range(args.crop_calls):
            module(x)
        return time.perf_counter() - start

    run(ours), run(theirs)  # warm-up
    times = {"RandomCropFlip": [], "kornia": []}
    for _ in range(args.rounds):
        times["RandomCropFlip"].append(run(ours))
        times["kornia"].append(run(theirs))
    return {k: statistics.median(v) / args.crop_calls for k, v in times.items()}, same


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--xor-epochs", type=int, default=2000)
    parser.add_argument("--mnist-samples", type=int, default=8192)
    parser.add_argument("--mnist-epochs", type=int, default=3)
    parser.add_argument("--barlow-steps", type=int, default=4)
    parser.add_argument("--barlow-batch", type=int, default=32)
    parser.add_argument("--crop-batch", type=int, default=256)
    parser.add_argument("--crop-calls", type=int, default=50)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread, medians of {args.rounds} interleaved rounds")

    configs = batch_configs(args)
    times = {(name, lib): [] for name in configs for lib in (False, True)}
    weights = {}
    for make, X, y in configs.values():  # warm-up
        _fit(make, X, y, False), _fit(make, X, y, True)
    for _ in range(args.rounds):
        for name, (make, X, y) in configs.items():
            for library in (False, True):
                seconds, weights[name, library] = _fit(make, X, y, library)
                times[name, library].append(seconds)
    print("\n1. whole fits, s: TensorBatchIterator | DataLoader over GlobalBatches | ratio | "
          "identical weights")
    for name in configs:
        ours = statistics.median(times[name, False])
        lib = statistics.median(times[name, True])
        same = all(torch.equal(a, b) for a, b in
                   zip(weights[name, False], weights[name, True], strict=True))
        print(f"   {name:<48s} {ours:8.3f} {lib:8.3f}   {lib / ours:.3f}   {same}")

    passes = one_pass(args)
    print("   one pass over the XOR set (4 rows, shuffled), us: "
          + ", ".join(f"{name} {1e6 * t:.1f}" for name, t in passes.items()))

    per_call, same = crop_flip(args)
    print(f"\n2. crop (padding 4) and flip, batch {args.crop_batch} x 3 x 32 x 32, "
          "ms per training-mode call")
    for name, seconds in per_call.items():
        print(f"   {name:<48s} {1000 * seconds:8.3f}")
    print(f"   ratio kornia / RandomCropFlip {per_call['kornia'] / per_call['RandomCropFlip']:.3f}"
          f"; same output from one seed: {same}")


if __name__ == "__main__":
    main()
