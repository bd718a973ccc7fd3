"""Time per epoch of the paper's XOR fit (4 points, 2-8-2 GELU, full batch), in one run.

A clean-XOR fit is 15,000 full-batch steps, so its time is per-epoch overhead. Configurations,
interleaved round-robin so that machine noise hits all alike, one torch thread each:

1. a bare PyTorch loop (forward, cross-entropy, backward, SGD with momentum) on the same
   module: the floor;
2. ``paper_estimator("xor")`` with skorch's own ``History`` and ``PassthroughScoring``
   (what SpectralNet used before ``EpochHistory`` / ``EpochMeanLoss``);
3. ``paper_estimator("xor")`` as it is.

Each estimator configuration runs unregularized and with rep-spectral (burn-in 70%), and the
two estimator versions are checked to train identical weights.

    python benchmarks/bench_xor.py [--epochs 15000] [--rounds 3]
"""

import argparse
import statistics
import time
from unittest import mock

import torch
from skorch import NeuralNet

from skspectral import paper_estimator
from skspectral.datasets import make_xor
from skspectral.training import SpectralNet


def bare_loop(X, y, epochs):
    clf = paper_estimator("xor", regularizer=None, max_epochs=1, random_state=0).fit(X, y)
    module = clf.module_.train()
    optimizer = torch.optim.SGD(module.parameters(), lr=1.0, momentum=0.9)
    criterion = torch.nn.CrossEntropyLoss()
    X, y = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y)
    start = time.perf_counter()
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = criterion(module(X), y)
        loss.backward()
        optimizer.step()
        loss.item()  # the estimator reads the loss every epoch too
    return time.perf_counter() - start, None


def estimator(X, y, epochs, regularizer, skorch_records):
    clf = paper_estimator("xor", regularizer=regularizer, max_epochs=epochs, random_state=0)
    patches = []
    if skorch_records:  # skorch's History and PassthroughScoring, as before
        patches = [mock.patch.object(SpectralNet, "_default_callbacks",
                                     NeuralNet._default_callbacks),
                   mock.patch.object(SpectralNet, "initialize_history",
                                     NeuralNet.initialize_history)]
    for patch in patches:
        patch.start()
    try:
        start = time.perf_counter()
        clf.fit(X, y)
        seconds = time.perf_counter() - start
    finally:
        for patch in patches:
            patch.stop()
    return seconds, [p.detach().clone() for p in clf.module_.parameters()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    X, y = make_xor()
    configs = {"bare PyTorch loop": lambda: bare_loop(X, y, args.epochs)}
    for regularizer in (None, "rep"):
        for skorch_records in (True, False):
            label = (f"estimator, {'rep' if regularizer else 'none'}, "
                     f"{'skorch History + PassthroughScoring' if skorch_records else 'now'}")
            configs[label] = (lambda r=regularizer, s=skorch_records:
                              estimator(X, y, args.epochs, r, s))
    times = {label: [] for label in configs}
    weights = {}
    for _ in range(args.rounds):
        for label, run in configs.items():
            seconds, params = run()
            times[label].append(seconds)
            weights[label] = params
    print(f"XOR, {args.epochs} full-batch epochs, 1 thread, median of {args.rounds} "
          "interleaved rounds")
    print(f"{'configuration':<58s} {'s/fit':>7s} {'ms/epoch':>9s}")
    for label, values in times.items():
        median = statistics.median(values)
        print(f"{label:<58s} {median:7.2f} {1000 * median / args.epochs:9.3f}")
    for reg in ("none", "rep"):
        old = weights[f"estimator, {reg}, skorch History + PassthroughScoring"]
        new = weights[f"estimator, {reg}, now"]
        same = all(torch.equal(a, b) for a, b in zip(old, new, strict=True))
        print(f"{reg}: identical weights with skorch's records and with ours: {same}")


if __name__ == "__main__":
    main()
