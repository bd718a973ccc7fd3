"""What the Dask engine costs: one search, run four ways, on this machine.

A GridSearchCV of ``SpectralMLPClassifier`` on scikit-learn's digits (4 candidates of
``gamma`` x 3 folds = 12 fits), scored by accuracy and ``RobustnessScorer`` (Tangent Attack),
refit off (what is timed is the 12 fits and their scores):

1. ``n_jobs=1`` in this process;
2. joblib's loky backend, ``n_jobs=2`` (two worker processes, one thread each);
3. joblib's Dask backend on a ``LocalCluster`` of 2 single-threaded worker processes, through
   :func:`skspectral.parallel.recoverable`, workers started without Dask's statistical
   profiler (``distributed.worker.profile.enabled: False``, as docs/scaling.md recommends);
4. the same with Dask's default configuration (the profiler samples the running task's stack
   every 10 ms).

Rounds are interleaved (the ways in turn, ``--rounds`` times) so that machine drift hits
all alike; loky's pool and the cluster are started before the first round, and a warm-up
search on each loads torch and skspectral in the workers, so the rounds time the engine, not
process start-up (reported apart). The ways are checked to give the same ``cv_results_``
scores, to the bit. Prints a table of wall times (median over rounds) and the ratio
Dask / loky.

    python benchmarks/bench_dask.py [--rounds 2] [--epochs 20] [--hidden 256]
"""

import argparse
import statistics
import time

import joblib
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from skspectral import RobustnessScorer, SpectralMLPClassifier
from skspectral.parallel import recoverable


def search(epochs, hidden):
    clf = SpectralMLPClassifier(hidden_layer_sizes=(hidden,), max_epochs=epochs, batch_size=64,
                                random_state=0)
    return GridSearchCV(clf, {"gamma": [0.0, 0.002, 0.02, 0.2]}, cv=3, refit=False,
                        scoring={"acc": "accuracy",
                                 "robust": RobustnessScorer("tangent", n_samples=20,
                                                                   max_iter=10)})


def timed(fit):
    start = time.perf_counter()
    result = fit()
    return time.perf_counter() - start, result


def scores(fitted):
    return {k: v for k, v in fitted.cv_results_.items() if "test_" in k}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--hidden", type=int, default=256)
    args = parser.parse_args()

    import dask
    import distributed

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    torch.set_num_threads(1)  # n_jobs=1 on one core, as each worker of the other two ways

    def start_cluster(**config):
        start = time.perf_counter()
        with dask.config.set(config):  # the workers start with this configuration
            cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                               processes=True, dashboard_address=":0",
                                               silence_logs=40)
        client = distributed.Client(cluster, set_as_default=False)
        with joblib.parallel_config(backend="dask", client=recoverable(client)):
            warm, _ = timed(lambda: search(1, 8).fit(X, y))  # torch, skspectral loaded
        print(f"start-up (not in the table): LocalCluster {time.perf_counter() - start:.1f} s "
              f"including a first search of {warm:.1f} s", flush=True)
        return cluster, client

    clusters = {"Dask, profiler off": start_cluster(
                    **{"distributed.worker.profile.enabled": False}),
                "Dask, default configuration": start_cluster()}
    loky_warm, _ = timed(lambda: search(1, 8).set_params(n_jobs=2).fit(X, y))
    print(f"start-up (not in the table): first loky search {loky_warm:.1f} s")

    def on_dask(client):
        def fit():
            with joblib.parallel_config(backend="dask", client=recoverable(client)):
                return search(args.epochs, args.hidden).fit(X, y)
        return fit

    ways = {
        "n_jobs=1": lambda: search(args.epochs, args.hidden).fit(X, y),
        "loky, n_jobs=2": lambda: search(args.epochs, args.hidden).set_params(n_jobs=2)
        .fit(X, y),
        **{f"{name}, 2 workers x 1 thread": on_dask(client)
           for name, (_, client) in clusters.items()},
    }
    times = {name: [] for name in ways}
    results = {}
    try:
        for round_ in range(args.rounds):
            for name, fit in ways.items():
                seconds, fitted = timed(fit)
                times[name].append(seconds)
                results[name] = scores(fitted)
                print(f"round {round_ + 1}: {name}: {seconds:.1f} s", flush=True)
    finally:
        for cluster, client in clusters.values():
            client.close()
            cluster.close()

    reference = results["n_jobs=1"]
    for name, result in results.items():
        for key, value in reference.items():
            np.testing.assert_array_equal(result[key], value, err_msg=f"{name}: {key}")
    print(f"\n12 fits ({args.hidden}-unit MLP, {args.epochs} epochs, 1198 digits each) with "
          "accuracy and RobustnessScorer(n_samples=20, max_iter=10); "
          f"median of {args.rounds} interleaved rounds; identical cv_results_ scores\n")
    print("| way | wall time (s) | rounds (s) | speed-up vs n_jobs=1 |")
    print("|---|---|---|---|")
    medians = {name: statistics.median(t) for name, t in times.items()}
    for name, t in times.items():
        print(f"| {name} | {medians[name]:.1f} | {', '.join(f'{s:.1f}' for s in t)} | "
              f"{medians['n_jobs=1'] / medians[name]:.2f}x |")
    print()
    for name in clusters:
        ratio = medians[f"{name}, 2 workers x 1 thread"] / medians["loky, n_jobs=2"]
        print(f"{name}: Dask / loky = {ratio:.3f} (target <= 1.10)")


if __name__ == "__main__":
    main()
