"""Barlow Twins: augmentation throughput, penalty overhead, augmentation's share of a step.

Three figures, each measured in one run with the configurations interleaved round by round
(this machine's speed drifts within minutes) and reported as medians over the rounds:

1. Two-view augmentation throughput, images/s: skspectral's batched views (kornia, per-sample
   parameters, one call per batch on the device) against the same recipe with
   torchvision.transforms.v2 applied per sample in a DataLoader with ``--workers`` workers
   (the usual way; v2 draws one parameter set per call, so a batch call would give every
   image the same crop).
2. Training step time with rep-spectral (penalty every ``--update-every`` steps, from the
   first step) against no penalty, over a whole number of penalty periods.
3. Share of a training step spent augmenting (augmentation alone timed at the same batch).

    python benchmarks/bench_barlow.py [--device auto] [--batch-size 64] [--image-size 32]
                                      [--augment-batch-size 512] [--rounds 3]

On a GPU use the paper's batch: ``--batch-size 512``.
"""

import argparse
import statistics
import time

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from skspectral import SpectralBarlowTwins
from skspectral.estimators import resolve_device
from skspectral.models import TwoViews


def _sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


class _PerSampleViews(Dataset):
    """The "barlow" recipe with torchvision.transforms.v2, one image at a time."""

    def __init__(self, images):
        from torchvision.transforms import v2

        self.images = images
        size = images.shape[-2:]
        kernel = max(3, int(0.1 * min(size)) // 2 * 2 + 1)

        def common():
            return [v2.RandomResizedCrop(size, scale=(0.08, 1.0), antialias=True),
                    v2.RandomHorizontalFlip(),
                    v2.RandomApply([v2.ColorJitter(0.4, 0.4, 0.2, 0.1)], p=0.8),
                    v2.RandomGrayscale(p=0.2)]

        self.view1 = v2.Compose([*common(), v2.GaussianBlur(kernel, (0.1, 2.0))])
        self.view2 = v2.Compose([*common(),
                                 v2.RandomApply([v2.GaussianBlur(kernel, (0.1, 2.0))], p=0.1),
                                 v2.RandomSolarize(0.5, p=0.2)])

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        image = self.images[i]
        return self.view1(image), self.view2(image)


def augmentation_throughput(images, batch_size, workers, device, rounds):
    ours = TwoViews("barlow", images.shape[1:]).to(device)
    loader = DataLoader(_PerSampleViews(images), batch_size=batch_size, shuffle=True,
                        num_workers=workers, persistent_workers=workers > 0, drop_last=True)
    gpu_images = images.to(device)
    n_batches = len(images) // batch_size

    def run_ours():
        for i in range(n_batches):
            ours(gpu_images[i * batch_size:(i + 1) * batch_size])
        _sync(device)

    def run_loader():
        for view1, view2 in loader:
            view1.to(device), view2.to(device)
        _sync(device)

    run_ours(), run_loader()  # warm-up (and worker start-up)
    rates = {"skspectral batched (kornia)": [],
             f"torchvision v2 per sample, {workers} workers": []}
    for _ in range(rounds):
        for times, fn in zip(rates.values(), (run_ours, run_loader), strict=True):
            start = time.perf_counter()
            fn()
            times.append(n_batches * batch_size / (time.perf_counter() - start))
    return {name: statistics.median(values) for name, values in rates.items()}


def step_times(images, batch_size, update_every, device, rounds):
    steps = 2 * update_every  # whole penalty periods
    X = images[:steps * batch_size].numpy()
    common = dict(max_epochs=1, batch_size=batch_size, update_every=update_every, burnin=0,
                  device=device, random_state=0)
    configs = {"no penalty": dict(regularizer=None), "rep-spectral": dict(regularizer="rep")}
    times = {name: [] for name in configs}
    for params in configs.values():  # warm-up
        SpectralBarlowTwins(**common, **params).fit(X[:2 * batch_size])
    for _ in range(rounds):
        for name, params in configs.items():
            est = SpectralBarlowTwins(**common, **params)
            est.fit(X[:batch_size * 2])  # build the net and the penalty outside the timing
            _sync(device)
            start = time.perf_counter()
            est.partial_fit(X)
            _sync(device)
            times[name].append((time.perf_counter() - start) / steps)
    return {name: statistics.median(values) for name, values in times.items()}


def augmentation_share(images, batch_size, device, step_seconds, rounds):
    ours = TwoViews("barlow", images.shape[1:]).to(device)
    batch = images[:batch_size].to(device)
    ours(batch)
    times = []
    for _ in range(rounds * 5):
        _sync(device)
        start = time.perf_counter()
        ours(batch)
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times) / step_seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=64,
                        help="training batch of figures 2 and 3 (512 on a GPU)")
    parser.add_argument("--augment-batch-size", type=int, default=512,
                        help="batch of figure 1")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--images", type=int, default=2048)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--update-every", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    device = resolve_device(args.device)
    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.random((max(args.images, 2 * args.update_every
                                              * args.batch_size), 3, args.image_size,
                                             args.image_size), dtype=np.float32))
    print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"ResNet18 (small stem), {args.image_size}x{args.image_size} RGB, medians of "
          f"{args.rounds} interleaved rounds")

    rates = augmentation_throughput(images[:args.images], args.augment_batch_size,
                                    args.workers, device, args.rounds)
    print(f"\n1. two-view augmentation throughput (images/s, batch {args.augment_batch_size})")
    for name, rate in rates.items():
        print(f"   {name:<40s} {rate:10.0f}")
    ours, theirs = rates.values()
    print(f"   ratio {ours / theirs:.2f}x (target >= 5x on the CPU)")

    times = step_times(images, args.batch_size, args.update_every, device, args.rounds)
    print(f"\n2. training step (two views, backbone, projector, loss, SGD), batch "
          f"{args.batch_size}, seconds per step over {2 * args.update_every} steps")
    for name, seconds in times.items():
        print(f"   {name:<40s} {seconds:10.4f}")
    ratio = times["rep-spectral"] / times["no penalty"]
    print(f"   ratio {ratio:.3f}x (rep-spectral every {args.update_every} steps; target <= 1.05x)")

    share = augmentation_share(images, args.batch_size, device, times["no penalty"],
                               args.rounds)
    print(f"\n3. augmentation's share of a step: {100 * share:.1f}% (target <= 10% on a GPU)")


if __name__ == "__main__":
    main()
