"""Throughput of training on a folder of image files: the estimators vs a plain PyTorch loop.

Writes an ImageFolder of generated PNGs (``torchvision.datasets.FakeData``, 10 classes) to a
temporary folder, then times one epoch of

- ``SpectralResNetClassifier`` (ResNet18, small stem) and
- ``SpectralBarlowTwins`` (ResNet18 backbone, the paper's projector and views),

each reading the folder through its DataLoader with ``--workers`` worker processes, against
a plain PyTorch loop over the same folder with the same DataLoader settings, the same model
(built by the same classes, the same seed) and the same optimizer (SGD, lr 0.01, momentum 0.9,
weight decay 1e-4), uint8 batches converted on the device in both. The estimators train
without the penalty (``regularizer=None``): this measures the data path and the training
engine, not the penalty (``bench_resnet.py`` does). The four runs take turns for
``--rounds`` rounds, so drifts of the machine's speed hit them alike; each epoch's time is
skorch's ``dur`` for the estimators and the same span (first batch requested to last step
done) for the plain loop. Target: ratio <= 1.10.

    python benchmarks/bench_streaming.py [--images 20000] [--size 64] [--workers 2]
        [--batch-size 128] [--rounds 3] [--device auto]

The defaults are sized for a 2-core CPU (2,000 images of 32x32); ``--images 20000 --size 64``
is the full setting for a GPU (``--device cuda`` also pins memory).
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch


def write_folder(root, n, size):
    """``n`` FakeData images of ``size`` x ``size`` as PNG files, one folder per class."""
    from torchvision.datasets import FakeData

    fake = FakeData(size=n, image_size=(3, size, size), num_classes=10, random_offset=0)
    for i in range(n):
        image, label = fake[i]
        folder = Path(root) / f"class{label}"
        folder.mkdir(exist_ok=True)
        image.save(folder / f"{i:06d}.png")


def folder(root):
    from torchvision.datasets import ImageFolder

    return ImageFolder(root)  # items: (PIL image, label); skspectral reads them as uint8


def _sync(device):
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def estimator_epoch(kind, root, args, device):
    from skspectral import SpectralBarlowTwins, SpectralResNetClassifier

    loader = {"iterator_train__num_workers": args.workers,
              "iterator_train__pin_memory": device.startswith("cuda")}
    common = dict(max_epochs=1, batch_size=args.batch_size, regularizer=None, lr=0.01,
                  device=device, random_state=0, **loader)
    if kind == "resnet":
        est = SpectralResNetClassifier(**common)
    else:
        est = SpectralBarlowTwins(**common)
    est.fit(folder(root))
    return est.history_[-1, "dur"]


class UInt8Folder(torch.utils.data.Dataset):
    """The plain loop's dataset: the folder's images as uint8 (C, H, W) tensors."""

    def __init__(self, root):
        self.folder = folder(root)

    def __len__(self):
        return len(self.folder)

    def __getitem__(self, i):
        from torchvision.transforms.functional import pil_to_tensor

        image, label = self.folder[i]
        return pil_to_tensor(image), label


def plain_epoch(kind, root, args, device):
    from skspectral.models import BarlowTwins, BarlowTwinsLoss, ResNet

    torch.manual_seed(0)
    data = UInt8Folder(root)
    size = data[0][0].shape
    if kind == "resnet":
        model = ResNet("resnet18", n_classes=10, in_channels=3).to(device)
        loss_fn = torch.nn.CrossEntropyLoss()
    else:
        model = BarlowTwins("resnet18", in_channels=3, image_shape=tuple(size),
                            value_range=(0.0, 255.0)).to(device)
        loss_fn = BarlowTwinsLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    loader = torch.utils.data.DataLoader(data, batch_size=args.batch_size, shuffle=True,
                                         num_workers=args.workers,
                                         pin_memory=device.startswith("cuda"),
                                         drop_last=kind == "barlow")
    model.train()
    _sync(device)
    start = time.perf_counter()
    for x, y in loader:
        x = x.to(device).float()
        out = model(x)
        loss = loss_fn(out, y.to(device)) if kind == "resnet" else loss_fn(out)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    _sync(device)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--only", choices=["resnet", "barlow"], default=None)
    args = parser.parse_args()
    from skspectral.estimators import resolve_device

    device = resolve_device(args.device)
    kinds = [args.only] if args.only else ["resnet", "barlow"]
    with tempfile.TemporaryDirectory() as root:
        start = time.perf_counter()
        write_folder(root, args.images, args.size)
        print(f"ImageFolder: {args.images} PNGs of 3x{args.size}x{args.size} written in "
              f"{time.perf_counter() - start:.1f} s; batch {args.batch_size}, "
              f"{args.workers} workers, device {device}, torch {torch.__version__}",
              flush=True)
        times = {(k, w): [] for k in kinds for w in ("skspectral", "plain")}
        for r in range(args.rounds):
            for kind in kinds:
                order = ("skspectral", "plain") if r % 2 == 0 else ("plain", "skspectral")
                for who in order:
                    run = estimator_epoch if who == "skspectral" else plain_epoch
                    times[kind, who].append(run(kind, root, args, device))
                print(f"round {r + 1}: " + ", ".join(
                    f"{k} {w} {t[-1]:.2f} s" for (k, w), t in times.items() if t), flush=True)
    print(f"\n{'model':<8s} {'skspectral s/epoch':>19s} {'plain s/epoch':>14s} {'ratio':>6s} "
          f"{'images/s (skspectral)':>22s}")
    for kind in kinds:
        ours = statistics.median(times[kind, "skspectral"])
        plain = statistics.median(times[kind, "plain"])
        print(f"{kind:<8s} {ours:19.2f} {plain:14.2f} {ours / plain:6.3f} "
              f"{args.images / ours:22.1f}")
    print("median over rounds; target ratio <= 1.10")


if __name__ == "__main__":
    main()
