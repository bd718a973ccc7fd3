"""The MNIST gain of rep-spectral over regularizer=None, by the Tangent Attack and white-box.

Trains ``paper_estimator("mnist-mlp")`` (784-2000-10 GELU, the paper's small initialization,
SGD lr 0.1, momentum 0.9, weight decay 1e-4, gamma 2e-3, burn-in 0.8 of the epochs) and the
same with ``regularizer=None``, both with ``random_state=seed``, on the first ``--n-train``
training images for ``--epochs`` epochs at ``--batch-size`` (the paper: 60,000 images, 200
epochs, batch 1024). It attacks the first ``--n-samples`` test images that both models classify
correctly with the Tangent Attack (``attack="tangent"``, defaults, ``random_state=seed``) and
the white-box distance (per sample the minimum of ``attack="fmn"`` and ``attack="ddn"``,
defaults), all in the box [0, 1], and prints: test accuracy, the mean distances, the paired
difference rep - none of each distance with its 95% interval (``skspectral.paired_difference``),
the looseness Tangent / white-box of each model and its paired difference rep - none.

The preset's small initialization leaves the network on a plateau at the chance loss for
several hundred SGD steps: at batch 1024 a few epochs on 20,000 images (20 steps each) do not
leave it, so the default here is batch 32 (625 steps an epoch on 20,000 images).

    python benchmarks/bench_mnist_whitebox.py [--n-train 20000] [--epochs 5] [--batch-size 32]
                                              [--n-samples 50] [--seed 0] [--data-home DIR]
                                              [--jobs 1]

Single-threaded (torch.set_num_threads(1); set OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 too).
``--jobs 2`` fits the two models at once in two joblib worker processes, one thread each (the
same fits: each is seeded and single-threaded either way), for the paper's 200-epoch schedule
on two cores.
"""

import argparse
import time

import numpy as np
import torch
from joblib import Parallel, delayed

from skspectral import adversarial_distances, paired_difference, paper_estimator
from skspectral.datasets import find_mnist, load_mnist


def distances(model, X, y, seed):
    """Per-sample Tangent Attack distance, white-box distance (min of FMN, DDN), seconds."""
    t = time.perf_counter()
    tangent = adversarial_distances(model, X, y, attack="tangent", random_state=seed).distances
    t_tangent = time.perf_counter() - t
    t = time.perf_counter()
    fmn = adversarial_distances(model, X, y, attack="fmn").distances
    ddn = adversarial_distances(model, X, y, attack="ddn").distances
    t_white = time.perf_counter() - t
    return np.asarray(tangent, float), np.minimum(fmn, ddn).astype(float), t_tangent, t_white


def fit(model, X, y):
    """``(fitted model, seconds)``, single-threaded (also in a joblib worker)."""
    torch.set_num_threads(1)
    t = time.perf_counter()
    model.fit(X, y)
    return model, time.perf_counter() - t


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--n-samples", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1,
                        help="fit the two models in this many processes (1 or 2)")
    parser.add_argument("--data-home", default=None,
                        help="folder holding MNIST/raw (default: find_mnist's search)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    home = find_mnist(args.data_home, "../shared/data", "../../shared/data")
    if home is None:
        raise SystemExit("MNIST not found: pass --data-home (a folder holding MNIST/raw)")
    data = load_mnist(home)
    Xtr, ytr = data.X_train[:args.n_train], data.y_train[:args.n_train]
    Xte, yte = data.X_test, data.y_test
    common = dict(random_state=args.seed, max_epochs=args.epochs, batch_size=args.batch_size)
    models = {"none": paper_estimator("mnist-mlp", regularizer=None, **common),
              "rep": paper_estimator("mnist-mlp", **common)}
    print(f"paper_estimator('mnist-mlp', max_epochs={args.epochs}, "
          f"batch_size={args.batch_size}, random_state={args.seed}) with and without "
          f"regularizer=None, {args.n_train} training images", flush=True)
    fitted = Parallel(n_jobs=args.jobs)(delayed(fit)(model, Xtr, ytr)
                                        for model in models.values())
    correct = np.ones(len(yte), dtype=bool)
    for name, (model, seconds) in zip(list(models), fitted, strict=True):
        models[name] = model
        pred = np.asarray(model.predict(Xte))
        correct &= pred == yte
        print(f"{name}: test accuracy {np.mean(pred == yte):.4f} (10,000 images), fit "
              f"{seconds:.0f} s", flush=True)
    idx = np.flatnonzero(correct)[:args.n_samples]
    d = {}
    for name, model in models.items():
        d[name] = distances(model, Xte[idx], yte[idx], args.seed)
        print(f"{name}: attacked {len(idx)} samples; Tangent {d[name][2]:.0f} s, "
              f"FMN + DDN {d[name][3]:.0f} s", flush=True)
    finite = np.all([np.isfinite(d[k][j]) for k in d for j in (0, 1)], axis=0)
    if not finite.all():
        print(f"{int(np.sum(~finite))} samples without an adversarial point left out")
    loose = {k: d[k][0][finite] / d[k][1][finite] for k in d}
    print("\n| distance | none mean | rep mean | rep − none [95% CI] | gain | pairs |")
    print("|---|---|---|---|---|---|")
    for j, label in enumerate(["Tangent Attack", "white-box min(FMN, DDN)"]):
        p = paired_difference(d["rep"][j][finite], d["none"][j][finite])
        print(f"| {label} | {p.mean_b:.4f} | {p.mean_a:.4f} | {p.difference:+.4f} "
              f"[{p.low:+.4f}, {p.high:+.4f}] | {100 * p.relative:+.1f}% | {p.n} |")
    p = paired_difference(loose["rep"], loose["none"])
    print(f"| looseness Tangent / white-box | {p.mean_b:.3f} | {p.mean_a:.3f} | "
          f"{p.difference:+.3f} [{p.low:+.3f}, {p.high:+.3f}] | | {p.n} |", flush=True)


if __name__ == "__main__":
    main()
