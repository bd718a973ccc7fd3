"""Quick baselines: SpectralMLPClassifier() against scikit-learn's MLPClassifier().

On four of scikit-learn's embedded or generated data sets (breast_cancer, wine, digits,
make_classification(2000, 20)), each model is a ``make_pipeline(StandardScaler(), model)``
scored by 5-fold ``cross_val_score`` (scikit-learn's default unshuffled stratified folds),
once per seed (``random_state`` of the model). The models run interleaved, seed by seed, so
the machine's drift hits all columns alike. Printed per data set: mean accuracy over the
seeds (min-max in brackets) and the mean wall time of one 5-fold run.

Columns: scikit-learn's ``MLPClassifier()``; ``SpectralMLPClassifier()`` with its defaults
(rep-spectral on); and, unless ``--no-paper``, ``paper_estimator("mnist-mlp")``, the paper's
MNIST configuration, which the defaults were before they became a quick baseline.

    python benchmarks/bench_baselines.py [--seeds 3] [--no-paper]
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_wine, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_val_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skspectral import SpectralMLPClassifier, paper_estimator


def datasets():
    return {
        "breast_cancer": load_breast_cancer(return_X_y=True),
        "wine": load_wine(return_X_y=True),
        "digits": load_digits(return_X_y=True),
        "make_classification(2000, 20)": make_classification(2000, 20, random_state=0),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--no-paper", action="store_true")
    args = parser.parse_args()
    models = {
        "MLPClassifier()": lambda seed: MLPClassifier(random_state=seed),
        "SpectralMLPClassifier()": lambda seed: SpectralMLPClassifier(random_state=seed),
    }
    if not args.no_paper:
        models['paper "mnist-mlp"'] = lambda seed: paper_estimator("mnist-mlp",
                                                                   random_state=seed)
    print(f"StandardScaler + model, 5-fold cross_val_score, {args.seeds} seeds: mean accuracy "
          "[min, max] and seconds per 5-fold run", flush=True)
    print(" | ".join(["data", *models]), flush=True)
    warnings.simplefilter("ignore", ConvergenceWarning)  # MLPClassifier's max_iter=200
    for name, (X, y) in datasets().items():
        scores = {m: [] for m in models}
        seconds = {m: [] for m in models}
        for seed in range(args.seeds):
            for m, make in models.items():
                start = time.perf_counter()
                scores[m].append(cross_val_score(
                    make_pipeline(StandardScaler(), make(seed)), X, y, cv=5).mean())
                seconds[m].append(time.perf_counter() - start)
        cells = [f"{np.mean(scores[m]):.3f} [{min(scores[m]):.3f}, {max(scores[m]):.3f}] "
                 f"{np.mean(seconds[m]):.1f} s" for m in models]
        print(" | ".join([name, *cells]), flush=True)


if __name__ == "__main__":
    main()
