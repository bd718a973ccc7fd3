"""Epoch time of the paper's MNIST MLP (784-2000-10 GELU, batch 1024), in one run:

1. SpectralMLPClassifier unregularized vs rep-spectral with update_every=1
   (the penalty's overhead; target ratio <= 1.10);
2. a plain PyTorch training loop vs SpectralMLPClassifier on the same network
   (skorch's and skspectral's overhead; target ratio <= 1.15).

Each configuration trains ``--epochs`` epochs; the first epoch is a warm-up and the
median of the others is reported. Runs are interleaved (round-robin) so that machine
noise hits all of them alike.

    python benchmarks/bench_mlp_overhead.py [--epochs 4] [--rounds 2] [--device auto]

Uses MNIST from ``$SKSPECTRAL_DATA`` or ``../shared/data`` when present, else random data
of the same shape (timings do not depend on the values).
"""

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from skspectral import paper_estimator
from skspectral.datasets import find_mnist, load_mnist
from skspectral.estimators import resolve_device
from skspectral.models import MLP

HIDDEN, BATCH, LR, MOMENTUM, WD = 2000, 1024, 0.1, 0.9, 1e-4


def load_data():
    home = find_mnist(None, Path(__file__).resolve().parents[2] / "shared" / "data")
    if home is not None:
        d = load_mnist(home)
        return d.X_train, d.y_train, "MNIST train (60000 x 784)"
    rng = np.random.default_rng(0)
    return (rng.random((60000, 784), dtype=np.float32), rng.integers(0, 10, 60000),
            "random data shaped like MNIST (MNIST not found)")


def estimator_epochs(X, y, regularizer, epochs, device):
    clf = paper_estimator("mnist-mlp", hidden_layer_sizes=(HIDDEN,), regularizer=regularizer,
                                gamma=2e-3, burnin=0, update_every=1, lr=LR, momentum=MOMENTUM,
                                weight_decay=WD, batch_size=BATCH, max_epochs=epochs,
                                device=device, random_state=0)
    clf.fit(X, y)
    return list(clf.history_[:, "dur"])


def plain_epochs(X, y, epochs, device):
    torch.manual_seed(0)
    model = MLP(X.shape[1], 10, (HIDDEN,), "gelu", "small").to(device)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WD)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    durations = []
    for _ in range(epochs):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(Xt))
        for i in range(0, len(Xt), BATCH):
            idx = order[i:i + BATCH]
            xb, yb = Xt[idx].to(device), yt[idx].to(device)
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            loss.item()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        durations.append(time.perf_counter() - start)
    return durations


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = resolve_device(args.device)
    X, y, source = load_data()
    runs = {"plain PyTorch loop": lambda: plain_epochs(X, y, args.epochs, device),
            "SpectralMLPClassifier, unregularized": lambda: estimator_epochs(
                X, y, None, args.epochs, device),
            "SpectralMLPClassifier, rep-spectral k=1": lambda: estimator_epochs(
                X, y, "rep", args.epochs, device)}
    times = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            times[name].extend(run()[1:])  # drop the warm-up epoch
    median = {name: statistics.median(t) for name, t in times.items()}
    print(f"data: {source}; device: {device}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print(f"MLP 784-{HIDDEN}-10 GELU, batch {BATCH}; median of "
          f"{args.rounds} x {args.epochs - 1} epochs each")
    for name, value in median.items():
        print(f"  {name:<42s} {value:7.3f} s/epoch")
    plain = median["plain PyTorch loop"]
    none = median["SpectralMLPClassifier, unregularized"]
    rep = median["SpectralMLPClassifier, rep-spectral k=1"]
    print(f"rep-spectral (k=1) / unregularized:       {rep / none:.3f}   (target <= 1.10)")
    print(f"SpectralMLPClassifier / plain PyTorch:    {none / plain:.3f}   (target <= 1.15)")


if __name__ == "__main__":
    main()
