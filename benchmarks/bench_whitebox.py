"""White-box (FMN, DDN) against decision-based (Tangent Attack, HopSkipJump) distances.

1. Attacks, on the same correctly classified samples of one model: the Tangent Attack and
   HopSkipJump at their defaults, FMN and DDN at theirs (FMN: 3 runs of 50 steps; DDN: 1000
   steps, AttackBench's budget; ``--max-iter`` sets both).
   Per attack: mean distance, wall time per sample, cost per sample (label queries, plus the
   backward passes of the white-box attacks: AttackBench's forward + backward count), the
   number of samples without an adversarial point, and the optimality: the mean over
   samples of ``best / d``, where ``best`` is the smallest distance any of the attacks found
   for that sample (AttackBench's per-sample measure; 1 = always the best). Models: the
   digits MLP (64-256-10 GELU, pixels / 16) and, with ``--mnist``, the paper's MNIST MLP
   (``paper_estimator("mnist-mlp")``, 784-2000-10, ``--epochs`` epochs on ``--train``
   images), MNIST read from ``$SKSPECTRAL_DATA`` or ``../shared/data``.
2. ``--search``: GridSearchCV over gamma (digits, 3 folds) scored by
   ``RobustnessScorer(attack="fmn")`` and by ``attack="tangent"``: wall time
   of each search and the gamma each picks.
3. ``--looseness``: the Tangent Attack's looseness, ``tangent / white-box`` per sample (the
   white-box distance: the smaller of FMN's and DDN's), for the same digits network trained
   with ``regularizer=None`` and with rep-spectral: the mean ratio of each with a 95%
   t-interval, and the paired difference over the samples both classify correctly.
4. ``--steps 50 100 ...``: a sweep of FMN's and DDN's steps in place of section 1.

    python benchmarks/bench_whitebox.py [--samples 200] [--mnist] [--train 20000]
        [--epochs 3] [--search] [--looseness] [--steps N ...] [--max-iter N]
        [--skip hopskipjump] [--device cpu]
"""

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from skspectral import (
    RobustnessScorer,
    adversarial_distances,
    paired_difference,
    paper_estimator,
)
from skspectral.datasets import find_mnist, load_mnist

ATTACK_NAMES = ("tangent", "hopskipjump", "fmn", "ddn")


def digits_data():
    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y


def digits_model(X, y, device="cpu", regularizer="rep", gamma=None, random_state=0):
    params = {} if gamma is None else {"gamma": gamma}
    return paper_estimator("mnist-mlp", hidden_layer_sizes=(256,), max_epochs=60,
                           batch_size=64, burnin=0.5, device=device, regularizer=regularizer,
                           random_state=random_state, **params).fit(X[:1300], y[:1300])


def mnist_model(n_train, epochs, device="cpu"):
    data = load_mnist(find_mnist(None, Path(__file__).resolve().parents[2] / "shared" / "data"))
    clf = paper_estimator("mnist-mlp", max_epochs=epochs, burnin=0, device=device,
                          random_state=0).fit(data.X_train[:n_train], data.y_train[:n_train])
    return clf, data.X_test, data.y_test


def correct_samples(clf, X, y, n):
    correct = np.flatnonzero(clf.predict(X) == y)[:n]
    return X[correct], y[correct]


def run_attacks(clf, X, y, attacks=ATTACK_NAMES, random_state=0, **params):
    """``{name: (AttackResult, seconds)}`` of each attack on the same samples."""
    out = {}
    for name in attacks:
        start = time.perf_counter()
        result = adversarial_distances(clf, X, y, attack=name, random_state=random_state,
                                       **params.get(name, {}))
        out[name] = (result, time.perf_counter() - start)
    return out


def attack_table(results):
    """Rows of section 1: mean distance, s/sample, cost, failures and optimality."""
    d = np.array([r.distances for r, _ in results.values()])
    best = d.min(axis=0)
    rows = []
    for (name, (result, seconds)), dist in zip(results.items(), d, strict=True):
        with np.errstate(divide="ignore"):
            optimality = np.where(np.isfinite(dist), best / dist, 0.0)
        gradients = 0.0 if result.gradients is None else float(result.gradients.mean())
        rows.append({"attack": name, "mean": result.mean(), "median": float(result.median()),
                     "s_per_sample": seconds / len(result),
                     "queries": float(result.queries.mean()), "gradients": gradients,
                     "cost": float(result.queries.mean()) + gradients,
                     "not_found": int((~result.success).sum()),
                     "optimality": float(optimality.mean())})
    return rows


def print_table(title, rows):
    print(f"\n{title}")
    print(f"{'attack':<12}{'mean':>9}{'median':>9}{'s/sample':>10}{'queries':>10}"
          f"{'backward':>10}{'cost':>10}{'none':>6}{'optimality':>12}")
    for r in rows:
        print(f"{r['attack']:<12}{r['mean']:>9.4f}{r['median']:>9.4f}{r['s_per_sample']:>10.4f}"
              f"{r['queries']:>10.0f}{r['gradients']:>10.0f}{r['cost']:>10.0f}"
              f"{r['not_found']:>6}{r['optimality']:>12.4f}")
    by = {r["attack"]: r for r in rows}
    if "tangent" in by:
        for white in ("fmn", "ddn"):
            if white in by:
                print(f"{white}: mean distance {by[white]['mean'] / by['tangent']['mean']:.3f}x "
                      f"the Tangent Attack's, at "
                      f"{by['tangent']['s_per_sample'] / by[white]['s_per_sample']:.1f}x less "
                      "wall time per sample")


def sweep(title, clf, X, y, steps, reference="tangent"):
    """Section 4: FMN and DDN at each number of steps against ``reference`` at its defaults.

    Per row: mean distance, optimality against the per-sample best of every run of the
    sweep, wall time per sample, the speed-up over the reference, and the share of samples
    whose white-box distance is above the reference's (the white-box bound is not the
    tighter one there). ``fmn1``: untargeted FMN alone (``n_targets=1``); ``fmn``: its
    default (``n_targets=3``, ``max_iter`` steps per run); ``fmn|ddn``: the per-sample
    minimum of ``fmn`` and DDN.
    """
    runs = {reference: run_attacks(clf, X, y, (reference,))[reference]}
    variants = {"fmn1": ("fmn", {"n_targets": 1}), "fmn": ("fmn", {}), "ddn": ("ddn", {})}
    for n in steps:
        for label, (name, params) in variants.items():
            runs[f"{label}@{n}"] = run_attacks(
                clf, X, y, (name,), **{name: {"max_iter": n, **params}})[name]
    d = {k: r.distances for k, (r, _) in runs.items()}
    sec = {k: s / len(X) for k, (_, s) in runs.items()}
    for n in steps:
        d[f"fmn|ddn@{n}"] = np.fmin(d[f"fmn@{n}"], d[f"ddn@{n}"])
        sec[f"fmn|ddn@{n}"] = sec[f"fmn@{n}"] + sec[f"ddn@{n}"]
    best = np.min(list(d.values()), axis=0)
    ref = d[reference]
    print(f"\n{title}")
    print(f"{'run':<14}{'mean':>9}{'optimality':>12}{'s/sample':>10}{'speed-up':>10}"
          f"{'above ' + reference:>15}")
    names = [f"{a}@{n}" for n in steps for a in (*variants, "fmn|ddn")]
    for name in [reference] + names:
        dist = d[name]
        with np.errstate(divide="ignore", invalid="ignore"):
            optimality = np.where(dist > 0, best / dist, 1.0)
        above = np.mean(dist > ref * (1 + 1e-3))
        print(f"{name:<14}{np.mean(dist):>9.4f}{np.mean(optimality):>12.4f}{sec[name]:>10.4f}"
              f"{sec[reference] / sec[name]:>9.1f}x{100 * above:>14.1f}%")


def looseness(args):
    X, y = digits_data()
    X_test, y_test = X[1300:], y[1300:]
    ratios = {}
    for reg in (None, "rep"):
        clf = digits_model(X, y, args.device, regularizer=reg)
        res = run_attacks(clf, X_test[:args.samples], y_test[:args.samples],
                          attacks=("tangent", "fmn", "ddn"))
        tangent = res["tangent"][0].distances
        white = np.minimum(res["fmn"][0].distances, res["ddn"][0].distances)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios[reg] = np.where(white > 0, tangent / white, np.nan)
        finite = np.isfinite(ratios[reg])
        # The ratio's interval: the paired difference of the Tangent distance and the
        # white-box one, relative to the white-box mean, is the ratio of the means; the
        # per-sample ratio's mean is printed beside it.
        gap = paired_difference(tangent[finite], white[finite])
        loose = np.mean(ratios[reg][finite] > 1.1)
        print(f"regularizer={reg!s:<5} accuracy {clf.score(X_test, y_test):.4f}: tangent / "
              f"white-box {np.mean(ratios[reg][finite]):.4f} per sample; tangent - white-box "
              f"{gap}; > 1.1 on {100 * loose:.1f}% of samples; "
              f"mean white-box {np.mean(white[white > 0]):.4f}, tangent "
              f"{np.mean(tangent[tangent > 0]):.4f}")
    both = np.isfinite(ratios[None]) & np.isfinite(ratios["rep"])
    diff = paired_difference(ratios["rep"][both], ratios[None][both])
    print(f"paired difference rep - none of the ratio tangent / white-box: {diff} "
          f"(samples classified correctly by both)")


def search(args):
    X, y = digits_data()
    gammas = args.gammas
    out = {}
    for name, scorer in (("fmn", RobustnessScorer(attack="fmn", n_samples=args.search_samples)),
                         ("tangent", RobustnessScorer(n_samples=args.search_samples))):
        est = paper_estimator("mnist-mlp", hidden_layer_sizes=(256,), max_epochs=30,
                              batch_size=64, burnin=0.5, device=args.device, random_state=0)
        grid = GridSearchCV(est, {"gamma": gammas}, cv=3, scoring={"robust": scorer},
                            refit=False)
        start = time.perf_counter()
        grid.fit(X[:1300], y[:1300])
        seconds = time.perf_counter() - start
        fit_s = float(np.sum(grid.cv_results_["mean_fit_time"]) * 3)
        score_s = float(np.sum(grid.cv_results_["mean_score_time"]) * 3)
        scores = grid.cv_results_["mean_test_robust"]
        out[name] = gammas[int(np.argmax(scores))]
        per_gamma = {g: round(float(v), 4) for g, v in zip(gammas, scores, strict=True)}
        print(f"GridSearchCV, scorer attack={name!r}: {seconds:.1f} s ({fit_s:.1f} s fitting, "
              f"{score_s:.1f} s scoring); mean distance per gamma {per_gamma}; picks gamma = "
              f"{out[name]}")
    print(f"same gamma picked: {out['fmn'] == out['tangent']}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--mnist", action="store_true")
    parser.add_argument("--no-digits", action="store_true")
    parser.add_argument("--train", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--max-iter", type=int, default=None,
                        help="steps of FMN and DDN (default: each attack's own default; "
                             "AttackBench: 1000)")
    parser.add_argument("--skip", nargs="*", default=[], choices=ATTACK_NAMES)
    parser.add_argument("--search", action="store_true")
    parser.add_argument("--search-samples", type=int, default=50)
    parser.add_argument("--gammas", type=float, nargs="+", default=[0.0, 0.003, 0.03])
    parser.add_argument("--looseness", action="store_true")
    parser.add_argument("--steps", type=int, nargs="+", default=None,
                        help="sweep: FMN and DDN at each number of steps (replaces section 1)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    attacks = [a for a in ATTACK_NAMES if a not in args.skip]
    params = ({} if args.max_iter is None
              else {a: {"max_iter": args.max_iter} for a in ("fmn", "ddn")})
    if not args.no_digits:
        X, y = digits_data()
        clf = digits_model(X, y, args.device)
        Xs, ys = correct_samples(clf, X[1300:], y[1300:], args.samples)
        if args.steps:
            sweep(f"digits MLP 64-256-10 (rep-spectral), {len(Xs)} samples: steps sweep",
                  clf, Xs, ys, args.steps)
        else:
            print_table(f"digits MLP 64-256-10 (rep-spectral), {len(Xs)} correctly "
                        f"classified test samples, device {args.device}",
                        attack_table(run_attacks(clf, Xs, ys, attacks, **params)))
    if args.mnist:
        clf, X, y = mnist_model(args.train, args.epochs, args.device)
        Xs, ys = correct_samples(clf, X, y, args.samples)
        if args.steps:
            sweep(f"MNIST MLP 784-2000-10 ({args.epochs} epochs on {args.train} images), "
                  f"{len(Xs)} samples: steps sweep", clf, Xs, ys, args.steps)
        else:
            print_table(f"MNIST MLP 784-2000-10 ({args.epochs} epochs on {args.train} "
                        f"images), {len(Xs)} correctly classified test samples, device "
                        f"{args.device}", attack_table(run_attacks(clf, Xs, ys, attacks, **params)))
    if args.search:
        print()
        search(args)
    if args.looseness:
        print()
        looseness(args)


if __name__ == "__main__":
    main()
