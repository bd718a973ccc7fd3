"""Inference at the training batch size against the estimators' own inference batches.

``predict``, ``predict_proba``, ``transform`` and ``score`` read ``max(batch_size, 1024)`` rows a
batch unless ``iterator_valid__batch_size`` is routed; before, they read ``batch_size`` rows,
which in the XOR preset is 4. For each model this prints the time of one decision-region figure
(``plot_decision_regions``, ``resolution**2`` grid points; models with 2 inputs) and of one
``predict_proba`` over that grid (else over the data), with
``iterator_valid__batch_size=batch_size`` (the old inference) and with the default, interleaved
over ``--rounds``, and whether the two give the same ``predict_proba`` to the bit (else the
largest difference):

- ``paper_estimator("xor")`` (batch 4) and ``paper_estimator("noisy-xor")`` (batch 20);
- ``SpectralMLPClassifier`` on digits (batch 200);
- ``SpectralResNetClassifier`` on 8x8 digits (batch 32), convolutions.

    python benchmarks/bench_inference_batches.py [--epochs 300] [--resolution 200] [--rounds 3]
"""

import argparse
import copy
import statistics
import time

import numpy as np
import torch
from sklearn.datasets import load_digits

from skspectral import SpectralMLPClassifier, SpectralResNetClassifier, paper_estimator
from skspectral.datasets import make_xor


def models(epochs):
    """``{label: (fitted estimator, X to run inference on, y)}``."""
    digits, labels = load_digits(return_X_y=True)
    digits = (digits / 16).astype(np.float32)
    X, y = make_xor()
    Xn, yn = make_xor(n_per_corner=20, noise=0.2, random_state=0)
    return {
        "xor (batch 4)": (paper_estimator("xor", max_epochs=epochs, random_state=0)
                          .fit(X, y), X, y),
        "noisy-xor (batch 20)": (paper_estimator("noisy-xor", max_epochs=epochs,
                                                 random_state=0).fit(Xn, yn), Xn, yn),
        "MLP digits (batch 200)": (SpectralMLPClassifier(max_epochs=5, random_state=0)
                                   .fit(digits, labels), digits, labels),
        "ResNet18 8x8 digits (batch 32)": (SpectralResNetClassifier(
            max_epochs=1, batch_size=32, random_state=0).fit(
                digits[:256].reshape(-1, 1, 8, 8), labels[:256]),
            digits[:512].reshape(-1, 1, 8, 8), labels[:512]),
    }


def timed(clf, X, y, resolution):
    """Seconds of one figure (2 inputs; else None), of one predict_proba over the figure's
    grid (2 inputs) or over X, and those probabilities."""
    from skspectral.plotting import plot_decision_regions

    figure = None
    if X.ndim == 2 and X.shape[1] == 2:
        import matplotlib.pyplot as plt

        start = time.perf_counter()
        plot_decision_regions(clf, X, y, resolution=resolution)
        figure = time.perf_counter() - start
        plt.close("all")
        lo, hi = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
        X = np.stack(np.meshgrid(np.linspace(lo[0], hi[0], resolution),
                                 np.linspace(lo[1], hi[1], resolution)), -1).reshape(-1, 2)
        X = X.astype(np.float32)
    start = time.perf_counter()
    proba = clf.predict_proba(X)
    return figure, time.perf_counter() - start, proba


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=300, help="XOR training epochs")
    parser.add_argument("--resolution", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    import matplotlib

    matplotlib.use("Agg")
    proba = {}
    print(f"1 torch thread, median of {args.rounds} interleaved rounds; figure: "
          f"{args.resolution}x{args.resolution} grid")
    print(f"{'model':<32s} {'figure old s':>12s} {'new s':>7s} {'predict_proba old s':>19s} "
          f"{'new s':>7s} {'ratio':>6s}  predict_proba")
    for label, (clf, X, y) in models(args.epochs).items():
        old = copy.deepcopy(clf).set_params(iterator_valid__batch_size=clf.batch_size)
        times = {(k, w): [] for k in ("figure", "proba") for w in ("old", "new")}
        for _ in range(args.rounds):
            for name, est in (("old", old), ("new", clf)):
                figure, seconds, proba[name] = timed(est, X, y, args.resolution)
                times["figure", name].append(figure)
                times["proba", name].append(seconds)
        med = {k: (statistics.median(v) if v[0] is not None else float("nan"))
               for k, v in times.items()}
        same = np.array_equal(proba["old"], proba["new"])
        diff = ("identical" if same
                else f"max |diff| {np.abs(proba['old'] - proba['new']).max():.3g}")
        print(f"{label:<32s} {med['figure', 'old']:12.3f} {med['figure', 'new']:7.3f} "
              f"{med['proba', 'old']:19.4f} {med['proba', 'new']:7.4f} "
              f"{med['proba', 'old'] / med['proba', 'new']:6.1f}  {diff}")

if __name__ == "__main__":
    main()
