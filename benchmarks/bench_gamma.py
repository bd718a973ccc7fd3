"""Choosing the default gamma: accuracy and distance to the boundary over a gamma x burn-in grid.

What it measures, per data set (breast_cancer, wine, digits, make_classification(2000, 20,
random_state=0)) and seed: the data are MinMax-scaled to [0, 1] (the scaler fitted on the whole
set, so that every sample lies in the attack's box [0, 1]; it sees no labels), then split 70/30,
stratified, with ``random_state=seed``. On the training part it fits

- ``MLPClassifier(random_state=seed)`` (scikit-learn), three ``LogisticRegression(C=...)``
  (C = 1, 10, 100: a linear reference for how far a boundary can sit),
- ``SpectralMLPClassifier(regularizer=None, random_state=seed)`` ("none"), and
- ``SpectralMLPClassifier(gamma=g, burnin=b, random_state=seed)`` for every g in ``--gammas``
  and b in ``--burnins``; everything else at the estimator's defaults (rep-spectral),

and reports test accuracy (all of the test part) and the Tangent Attack distance
(``adversarial_distances(..., attack="tangent", clip_min=0, clip_max=1,
random_state=seed)``, the attack's defaults unless ``--n-starts``) of the same test samples
for every model of the seed: the first
``--n-samples`` test samples (test order is the split's random order) that *all* of that seed's
models classify correctly. So every distance difference is paired (same samples, same attack
draws) and no model's mean is lowered or raised by which samples it happens to misclassify.
Printed per data set: mean accuracy over seeds, the per-seed accuracy difference to "none" (in
points), the mean over seeds of the mean and of the median distance, the per-seed relative
difference of the mean distance to "none" (%), the top singular value of the first layer and
the fit time.

The rule (printed with its outcome): among the rep-spectral settings whose accuracy, averaged
over seeds, is within 0.5 point of "none" on every data set, the default is the one with the
largest gain in mean distance over "none" (per data set the mean over seeds of the paired
relative gain; then the mean over the data sets). Target: >= +5%.

Then (unless ``--no-cv``) the 5-fold ``cross_val_score`` of the winning setting against
``MLPClassifier()`` and ``regularizer=None`` (``make_pipeline(scaler, model)`` on the raw data,
scikit-learn's default unshuffled stratified folds, MinMaxScaler and StandardScaler,
``--cv-seeds`` seeds; the promise: within 1 point of ``MLPClassifier()``); ``--cv-only
GAMMA,BURNIN ...`` runs only this comparison, for the settings given; and (unless ``--no-wine``)
why wine does not move: the data's geometry (half the distance from each attacked sample to the
nearest training sample of another class, how linear the fitted network is) next to the linear
references, and wine with a wider, a deeper network, StandardScaler, and 4x/5x more optimizer
steps, each without and with the penalty.

    python benchmarks/bench_gamma.py [--seeds 5] [--n-samples 100] [--gammas 2e-3 1e-2 ...]
                                     [--burnins 0 0.5 0.8] [--n-starts N] [--cv-seeds 3]
                                     [--no-cv] [--no-wine] [--plot docs/choosing_gamma.png]
    python benchmarks/bench_gamma.py --cv-only 0.02,0 0.01,0 [--cv-scaler minmax]
    python benchmarks/bench_gamma.py --quick   # 1 seed, 2 x 2 grid, 30 samples: a smoke run
    python benchmarks/bench_gamma.py --whitebox [0.02,0] [--seeds 5] [--n-samples 100]

``--whitebox GAMMA,BURNIN`` (default 0.02,0, the chosen default) fits only ``regularizer=None``
and that rep-spectral setting per data set and seed (same data, split and seeds as above; the
attacked samples are the first ``--n-samples`` test samples that *both* classify correctly) and
measures per sample the Tangent Attack distance (``attack="tangent"``, defaults) and the
white-box distance, the per-sample minimum of ``attack="fmn"`` and ``attack="ddn"`` (defaults,
box [0, 1]). Printed per data set and over all: the gain of rep-spectral over none by each
distance (per seed mean / none's mean - 1, averaged over seeds; and the paired per-sample
difference rep - none of the white-box distance with its 95% interval), the looseness Tangent /
white-box of each model (mean over samples), and the paired difference of looseness rep - none
with its 95% interval (``skspectral.paired_difference``).

Single-threaded (torch.set_num_threads(1); set OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 too).
"""

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer, load_digits, load_wine, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import pairwise_distances
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from skspectral import SpectralMLPClassifier, adversarial_distances, paired_difference

GAMMAS = (2e-3, 1e-2, 2e-2, 5e-2, 1e-1, 2e-1)
BURNINS = (0.0, 0.5, 0.8)
LOGREG_C = (1.0, 10.0, 100.0)


def datasets():
    return {
        "breast_cancer": load_breast_cancer(return_X_y=True),
        "wine": load_wine(return_X_y=True),
        "digits": load_digits(return_X_y=True),
        "make_classification": make_classification(2000, 20, random_state=0),
    }


def rep_label(gamma, burnin):
    return f"γ={gamma:g} b={burnin:g}"


def main_models(gammas, burnins):
    """label -> (factory(seed), info); info: kind, gamma, burnin."""
    models = {"MLPClassifier()": (lambda s: MLPClassifier(random_state=s), {"kind": "sklearn"})}
    for c in LOGREG_C:
        models[f"LogisticRegression(C={c:g})"] = (
            lambda s, c=c: LogisticRegression(C=c, max_iter=5000), {"kind": "linear"})
    models["none"] = (lambda s: SpectralMLPClassifier(regularizer=None, random_state=s),
                      {"kind": "none", "gamma": 0.0})
    for g in gammas:
        for b in burnins:
            models[rep_label(g, b)] = (
                lambda s, g=g, b=b: SpectralMLPClassifier(gamma=g, burnin=b, random_state=s),
                {"kind": "rep", "gamma": g, "burnin": b})
    return models


def first_layer_norm(model):
    if isinstance(model, Pipeline):
        model = model[-1]
    if isinstance(model, SpectralMLPClassifier):
        return model.spectral_norms_["features.hidden0"]
    if isinstance(model, MLPClassifier):
        return float(np.linalg.norm(model.coefs_[0], 2))
    return float("nan")


def logits(model, X):
    """The network's output before the softmax (NaN for models that are not MLPs)."""
    if isinstance(model, SpectralMLPClassifier):
        with torch.no_grad():
            return model.module_(torch.as_tensor(X, dtype=torch.float32,
                                                 device=model.device_)).cpu().numpy()
    if isinstance(model, MLPClassifier):
        h = X
        for W, b in zip(model.coefs_[:-1], model.intercepts_[:-1], strict=True):
            h = np.maximum(h @ W + b, 0.0)
        return h @ model.coefs_[-1] + model.intercepts_[-1]
    return None


def linearity(model, X):
    """R^2 of the best affine fit of the logits on the input, over X: 1 = a linear model."""
    Z = logits(model, X)
    return float("nan") if Z is None else LinearRegression().fit(X, Z).score(X, Z)


def fit_and_attack(models, Xtr, ytr, Xte, yte, seed, n_samples, attack_params, X_all=None):
    """Fit every model, attack the first n_samples test samples all of them get right.

    Returns {label: record}, the attacked test indices, and the fitted models."""
    fitted, records = {}, {}
    for label, make in models.items():
        start = time.perf_counter()
        fitted[label] = make(seed).fit(Xtr, ytr)
        records[label] = {"fit_s": time.perf_counter() - start,
                          "acc": float(fitted[label].score(Xte, yte))}
    correct = np.ones(len(yte), dtype=bool)
    for model in fitted.values():
        correct &= np.asarray(model.predict(Xte)) == yte
    idx = np.flatnonzero(correct)[:n_samples]
    for label, model in fitted.items():
        result = adversarial_distances(model, Xte[idx], yte[idx], attack="tangent",
                                       clip_min=0.0, clip_max=1.0, random_state=seed,
                                       **attack_params)
        d = result.distances
        records[label].update(mean=float(np.mean(d)), median=float(np.median(d)),
                              lost=int(np.sum(~np.isfinite(d))),
                              sigma=first_layer_norm(model))
        if X_all is not None:
            records[label]["r2"] = linearity(model, X_all)
    return records, idx, fitted


def seed_list(values, fmt):
    return " ".join(fmt(v) for v in values)


def print_grid(name, recs, labels, seeds):
    """One data set's table: rows = models, paired differences to 'none' per seed."""
    none = recs["none"]
    print(f"| {name} | acc | Δacc vs none per seed (pt) | mean dist | median dist | "
          "Δmean vs none per seed (%) | avg Δmean | σ1 | fit s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label in labels:
        r = recs[label]
        acc = np.array([x["acc"] for x in r])
        mean = np.array([x["mean"] for x in r])
        median = np.array([x["median"] for x in r])
        dacc = 100 * (acc - np.array([x["acc"] for x in none]))
        gain = 100 * (mean / np.array([x["mean"] for x in none]) - 1)
        sigma = np.mean([x["sigma"] for x in r])
        lost = sum(x["lost"] for x in r)
        print(f"| {label} | {acc.mean():.4f} | {seed_list(dacc, lambda v: f'{v:+.1f}')} | "
              f"{mean.mean():.4f} | {median.mean():.4f} | "
              f"{seed_list(gain, lambda v: f'{v:+.1f}')} | {gain.mean():+.1f}% | "
              + ("-" if np.isnan(sigma) else f"{sigma:.2f}")
              + f" | {np.mean([x['fit_s'] for x in r]):.2f} |"
              + (f" ({lost} samples without adversarial point)" if lost else ""), flush=True)


def select(results, models):
    """Apply the rule; returns rows (label, dacc per set, gain per set, avg gain, eligible)."""
    rows = []
    for label, (_, info) in models.items():
        if info["kind"] != "rep":
            continue
        dacc, gain = {}, {}
        for name, recs in results.items():
            none = recs["none"]
            dacc[name] = np.mean([a["acc"] - b["acc"] for a, b in zip(recs[label], none,
                                                                        strict=True)])
            gain[name] = np.mean([a["mean"] / b["mean"] - 1 for a, b in zip(recs[label], none,
                                                                             strict=True)])
        eligible = all(v >= -0.005 - 1e-9 for v in dacc.values())
        rows.append((label, dacc, gain, float(np.mean(list(gain.values()))), eligible))
    return rows


def print_selection(rows, names):
    print("\nThe rule: accuracy (mean over seeds) within 0.5 point of none on every set; "
          "then the largest average gain in mean distance (paired, over seeds, then sets).")
    print("| setting | " + " | ".join(f"{n} Δacc / gain" for n in names)
          + " | avg gain | within 0.5 pt |")
    print("|---|" + "---|" * len(names) + "---|---|")
    for label, dacc, gain, avg, ok in rows:
        cells = [f"{100 * dacc[n]:+.2f} / {100 * gain[n]:+.1f}%" for n in names]
        print(f"| {label} | " + " | ".join(cells) + f" | {100 * avg:+.1f}% | "
              f"{'yes' if ok else 'no'} |")
    eligible = [r for r in rows if r[4]]
    best_any = max(rows, key=lambda r: r[3])
    print(f"Largest average gain without the accuracy condition: {best_any[0]} "
          f"({100 * best_any[3]:+.1f}%).")
    if not eligible:
        print("No setting meets the accuracy condition.")
        return None
    winner = max(eligible, key=lambda r: r[3])
    print(f"WINNER under the rule: {winner[0]}, average gain {100 * winner[3]:+.1f}% "
          f"(target +5%: {'reached' if winner[3] >= 0.05 else 'not reached'}); per set: "
          + ", ".join(f"{n} {100 * winner[2][n]:+.1f}%" for n in names), flush=True)
    return winner[0]


def run_cv(settings, seeds, scalers=(MinMaxScaler, StandardScaler)):
    """5-fold CV of MLPClassifier(), regularizer=None and each rep setting (list of kwargs)."""
    models = {"MLPClassifier()": lambda s: MLPClassifier(random_state=s),
              "SpectralMLPClassifier(regularizer=None)":
                  lambda s: SpectralMLPClassifier(regularizer=None, random_state=s)}
    for kwargs in settings:
        models[f"SpectralMLPClassifier({rep_kwargs_str(kwargs)})"] = (
            lambda s, kwargs=kwargs: SpectralMLPClassifier(random_state=s, **kwargs))
    compared = list(models)[2:]
    heads = (["chosen − MLPClassifier() (pt)"] if len(compared) == 1 else
             [f"{rep_kwargs_str(kw)} − MLPClassifier() (pt)" for kw in settings])
    for scaler in scalers:
        print(f"\n5-fold cross_val_score, make_pipeline({scaler.__name__}(), model), {seeds} "
              "seeds: mean accuracy [min, max]; difference in points (per seed)")
        print("| data | " + " | ".join([*models, *heads]) + " |")
        print("|---|" + "---|" * (len(models) + len(heads)))
        for name, (X, y) in datasets().items():
            scores = {m: [] for m in models}
            for seed in range(seeds):
                for m, make in models.items():
                    scores[m].append(cross_val_score(make_pipeline(scaler(), make(seed)), X, y,
                                                     cv=5).mean())
            cells = [f"{np.mean(v):.4f} [{min(v):.4f}, {max(v):.4f}]" for v in scores.values()]
            for m in compared:
                diff = 100 * (np.array(scores[m]) - np.array(scores["MLPClassifier()"]))
                cells.append(f"{diff.mean():+.2f} ({seed_list(diff, lambda v: f'{v:+.1f}')})")
            print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


def parse_setting(text):
    gamma, burnin = (float(v) for v in text.split(","))
    return {"gamma": gamma, "burnin": burnin}


def rep_kwargs_str(kwargs):
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


def explain(results, geometry, names, winner):
    print("\nWhy a set moves or not: the attacked samples' geometry, the networks' linearity, "
          "and the linear references (means over seeds)")
    print("| data | Adam steps (penalized at b=0.8) | half distance to nearest other-class "
          "training sample | R² logits ~ affine(x), none | none | " + winner
          + " | " + " | ".join(f"LogReg C={c:g}" for c in LOGREG_C) + " |")
    print("|---|---|---|---|---|---|" + "---|" * len(LOGREG_C))
    for name in names:
        recs, geo = results[name], geometry[name]
        cells = [f"{np.mean([x['mean'] for x in recs[label]]):.4f}"
                 for label in ["none", winner]
                 + [f"LogisticRegression(C={c:g})" for c in LOGREG_C]]
        print(f"| {name} | {geo['steps']} ({geo['steps'] // 5}) | {np.mean(geo['half']):.4f} | "
              f"{np.mean([x['r2'] for x in recs['none']]):.4f} | " + " | ".join(cells) + " |",
              flush=True)


def wine_variants(winner_kwargs, strong_kwargs, seeds, n_samples, attack_params):
    X, y = load_wine(return_X_y=True)
    X = MinMaxScaler().fit_transform(X)
    variants = {
        "defaults: (100,), MinMax": ({}, False),
        "hidden_layer_sizes=(512,)": ({"hidden_layer_sizes": (512,)}, False),
        "hidden_layer_sizes=(100, 100)": ({"hidden_layer_sizes": (100, 100)}, False),
        "StandardScaler before the net": ({}, True),
        "batch_size=32 (4x the steps)": ({"batch_size": 32}, False),
        "max_epochs=500 (5x the steps)": ({"max_epochs": 500}, False),
    }
    penalties = {"none": {"regularizer": None}, rep_kwargs_str(winner_kwargs): winner_kwargs}
    if strong_kwargs != winner_kwargs:
        penalties[rep_kwargs_str(strong_kwargs)] = strong_kwargs
    print(f"\nwine variants ({seeds} seeds; distances in the MinMax [0, 1] box; paired within "
          "each variant and seed): mean acc, mean distance, Δmean vs that variant's none")
    print("| variant | penalty | acc | mean dist | Δmean vs none per seed (%) | avg Δmean | σ1 |")
    print("|---|---|---|---|---|---|---|")
    for variant, (extra, standardize) in variants.items():
        models = {}
        for pen, kw in penalties.items():
            def make(s, kw=kw, extra=extra, standardize=standardize):
                clf = SpectralMLPClassifier(random_state=s, **{**extra, **kw})
                return make_pipeline(StandardScaler(), clf) if standardize else clf
            models[pen] = make
        recs = {pen: [] for pen in models}
        for seed in range(seeds):
            Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, stratify=y,
                                                  random_state=seed)
            r, _, _ = fit_and_attack(models, Xtr, ytr, Xte, yte, seed, n_samples, attack_params)
            for pen in models:
                recs[pen].append(r[pen])
        base = np.array([x["mean"] for x in recs["none"]])
        for pen, r in recs.items():
            mean = np.array([x["mean"] for x in r])
            gain = 100 * (mean / base - 1)
            print(f"| {variant} | {pen} | {np.mean([x['acc'] for x in r]):.4f} | "
                  f"{mean.mean():.4f} | {seed_list(gain, lambda v: f'{v:+.1f}')} | "
                  f"{gain.mean():+.1f}% | {np.mean([x['sigma'] for x in r]):.2f} |", flush=True)


def plot(path, results, models, names, winner):
    """Top: accuracy difference to none (points); bottom: paired mean-distance gain (%)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    burnins = sorted({info["burnin"] for _, info in models.values() if info["kind"] == "rep"})
    gammas = sorted({info["gamma"] for _, info in models.values() if info["kind"] == "rep"})

    def diffs(recs, label):
        acc = np.mean([a["acc"] - b["acc"] for a, b in zip(recs[label], recs["none"],
                                                            strict=True)])
        gain = np.mean([a["mean"] / b["mean"] - 1 for a, b in zip(recs[label], recs["none"],
                                                                   strict=True)])
        return 100 * acc, 100 * gain

    fig, axes = plt.subplots(2, len(names), figsize=(4 * len(names), 6.4), sharex=True)
    for j, name in enumerate(names):
        recs = results[name]
        for i in range(2):
            ax = axes[i, j]
            for b in burnins:
                ax.plot(gammas, [diffs(recs, rep_label(g, b))[i] for g in gammas], marker="o",
                        label=f"rep-spectral, burn-in {b:g}")
            ax.axhline(0, color="k", ls="--", lw=1, label="regularizer=None")
            ax.axhline(diffs(recs, "MLPClassifier()")[i], color="gray", ls=":",
                       label="MLPClassifier()")
            ax.axhline(-0.5 if i == 0 else 5, color="red", lw=0.8, alpha=0.5,
                       label="rule: -0.5 point / target +5%")
            if winner is not None:
                ax.plot(models[winner][1]["gamma"], diffs(recs, winner)[i], marker="*", ms=15,
                        color="red", ls="none", label=f"chosen: {winner}")
            ax.set_xscale("log")
            ax.set_xticks(gammas, [f"{g:g}" for g in gammas], fontsize=7)
            ax.minorticks_off()
            if i == 0:
                ax.set_title(name)
            else:
                ax.set_xlabel("γ")
    axes[0, 0].set_ylabel("test accuracy − none's (points)")
    axes[1, 0].set_ylabel("mean distance vs none's (%)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8)
    fig.suptitle("SpectralMLPClassifier(gamma=γ, burnin=b) against regularizer=None: means over "
                 f"{len(results[names[0]]['none'])} seeds (paired)", fontsize=10)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(path, dpi=110)
    print(f"\nwrote {path}")


def whitebox_distances(model, X, y, seed):
    """Per-sample Tangent Attack distance and white-box distance (min of FMN and DDN)."""
    box = {"clip_min": 0.0, "clip_max": 1.0}
    tangent = adversarial_distances(model, X, y, attack="tangent", random_state=seed,
                                    **box).distances
    fmn = adversarial_distances(model, X, y, attack="fmn", **box).distances
    ddn = adversarial_distances(model, X, y, attack="ddn", **box).distances
    return np.asarray(tangent, float), np.minimum(fmn, ddn).astype(float)


def run_whitebox(setting, seeds, n_samples):
    """Gains by the Tangent Attack and by the white-box distance, and the attack's looseness."""
    models = {"none": lambda s: SpectralMLPClassifier(regularizer=None, random_state=s),
              "rep": lambda s: SpectralMLPClassifier(random_state=s, **setting)}
    print(f"regularizer=None vs SpectralMLPClassifier({rep_kwargs_str(setting)}); MinMax [0, 1], "
          f"70/30 stratified split, seeds 0-{seeds - 1}; the first {n_samples} test samples both "
          "classify correctly; Tangent Attack (defaults) and white-box = per-sample min(FMN, "
          "DDN) (defaults)", flush=True)
    pooled = {"none": {"t": [], "w": []}, "rep": {"t": [], "w": []}}
    rows = []
    for name, (X_raw, y) in datasets().items():
        X = MinMaxScaler().fit_transform(X_raw)
        per = {"none": {"t": [], "w": []}, "rep": {"t": [], "w": []}}
        gains = {"t": [], "w": []}
        for seed in range(seeds):
            Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, stratify=y,
                                                  random_state=seed)
            fitted = {k: make(seed).fit(Xtr, ytr) for k, make in models.items()}
            correct = np.ones(len(yte), dtype=bool)
            for model in fitted.values():
                correct &= np.asarray(model.predict(Xte)) == yte
            idx = np.flatnonzero(correct)[:n_samples]
            d = {k: whitebox_distances(m, Xte[idx], yte[idx], seed) for k, m in fitted.items()}
            for k in per:
                per[k]["t"].append(d[k][0])
                per[k]["w"].append(d[k][1])
            for j, key in enumerate("tw"):
                gains[key].append(d["rep"][j].mean() / d["none"][j].mean() - 1)
        flat = {k: {key: np.concatenate(v[key]) for key in "tw"} for k, v in per.items()}
        for k in pooled:
            for key in "tw":
                pooled[k][key].append(flat[k][key])
        rows.append((name, gains, flat))
    print("| data | pairs | gain by Tangent (per seed, %) | gain by white-box (per seed, %) | "
          "white-box rep − none [95% CI] | looseness none | looseness rep | "
          "looseness rep − none [95% CI] |")
    print("|---|---|---|---|---|---|---|---|")
    avg = {"t": [], "w": []}
    for name, gains, flat in rows:
        for key in "tw":
            avg[key].append(np.mean(gains[key]))
        print(looseness_row(name, gains, flat), flush=True)
    total = {k: {key: np.concatenate(v[key]) for key in "tw"} for k, v in pooled.items()}
    print(looseness_row("all (gains: mean over sets)", avg, total, per_seed=False), flush=True)


def looseness_row(name, gains, flat, per_seed=True):
    def pct(values):
        text = f"{100 * np.mean(values):+.1f}%"
        return text + (" (" + seed_list(values, lambda v: f"{100 * v:+.1f}") + ")"
                       if per_seed else "")

    finite = np.isfinite(flat["none"]["w"]) & np.isfinite(flat["rep"]["w"]) \
        & np.isfinite(flat["none"]["t"]) & np.isfinite(flat["rep"]["t"])
    loose = {k: flat[k]["t"][finite] / flat[k]["w"][finite] for k in flat}
    dw = paired_difference(flat["rep"]["w"][finite], flat["none"]["w"][finite])
    dl = paired_difference(loose["rep"], loose["none"])
    lost = int(np.sum(~finite))
    return (f"| {name} | {dw.n}" + (f" ({lost} without a point)" if lost else "")
            + f" | {pct(gains['t'])} | {pct(gains['w'])} | {dw.difference:+.4f} "
            f"[{dw.low:+.4f}, {dw.high:+.4f}] ({100 * dw.relative:+.1f}%) | "
            f"{loose['none'].mean():.3f} | {loose['rep'].mean():.3f} | {dl.difference:+.3f} "
            f"[{dl.low:+.3f}, {dl.high:+.3f}] |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--n-samples", type=int, default=100,
                        help="attacked test samples per data set and seed (fewer on wine)")
    parser.add_argument("--gammas", type=float, nargs="+", default=list(GAMMAS))
    parser.add_argument("--burnins", type=float, nargs="+", default=list(BURNINS))
    parser.add_argument("--n-starts", type=int, default=None,
                        help="the attack's n_starts (default: the attack's default, 5)")
    parser.add_argument("--cv-seeds", type=int, default=3)
    parser.add_argument("--no-cv", action="store_true")
    parser.add_argument("--cv-only", nargs="+", metavar="GAMMA,BURNIN", default=None,
                        help="skip the grid: only the 5-fold CV of these settings")
    parser.add_argument("--cv-scaler", choices=["both", "minmax", "standard"], default="both")
    parser.add_argument("--no-wine", action="store_true")
    parser.add_argument("--plot", default=None, help="write the accuracy/distance curves here")
    parser.add_argument("--whitebox", nargs="?", const="0.02,0", default=None,
                        metavar="GAMMA,BURNIN",
                        help="only none and this setting: gains by Tangent and white-box "
                             "distances, and the Tangent Attack's looseness")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 1 seed, gammas 2e-2 1e-1, burn-ins 0 0.8, 30 samples")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.n_samples, args.cv_seeds = 1, 30, 1
        args.gammas, args.burnins = [2e-2, 1e-1], [0.0, 0.8]
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", ConvergenceWarning)  # MLPClassifier's max_iter=200
    scalers = {"both": (MinMaxScaler, StandardScaler), "minmax": (MinMaxScaler,),
               "standard": (StandardScaler,)}[args.cv_scaler]
    if args.whitebox:
        t0, cpu0 = time.perf_counter(), time.process_time()
        run_whitebox(parse_setting(args.whitebox), args.seeds, args.n_samples)
        print(f"\ntotal {time.perf_counter() - t0:.0f} s wall, "
              f"{time.process_time() - cpu0:.0f} s CPU", flush=True)
        return
    if args.cv_only:
        t0, cpu0 = time.perf_counter(), time.process_time()
        run_cv([parse_setting(v) for v in args.cv_only], args.cv_seeds, scalers)
        print(f"\ntotal {time.perf_counter() - t0:.0f} s wall, "
              f"{time.process_time() - cpu0:.0f} s CPU", flush=True)
        return
    attack_params = {} if args.n_starts is None else {"n_starts": args.n_starts}
    models = main_models(args.gammas, args.burnins)
    labels = list(models)
    factories = {label: make for label, (make, _) in models.items()}
    t0, cpu0 = time.perf_counter(), time.process_time()
    print(f"MinMax [0, 1], 70/30 stratified split per seed, {args.seeds} seeds; Tangent Attack "
          f"({attack_params or 'defaults'}) on the first {args.n_samples} test samples that all "
          "models of the seed classify correctly; γ grid "
          f"{args.gammas} x burn-in {args.burnins}", flush=True)
    results, geometry = {}, {}
    for name, (X_raw, y) in datasets().items():
        X = MinMaxScaler().fit_transform(X_raw)
        recs = {label: [] for label in labels}
        geo = {"half": [], "n": []}
        for seed in range(args.seeds):
            Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, stratify=y,
                                                  random_state=seed)
            r, idx, _ = fit_and_attack(factories, Xtr, ytr, Xte, yte, seed, args.n_samples,
                                       attack_params, X_all=X)
            for label in labels:
                recs[label].append(r[label])
            D = pairwise_distances(Xte[idx], Xtr)
            other = np.where(yte[idx, None] != ytr[None, :], D, np.inf).min(axis=1)
            geo["half"].append(other.mean() / 2)
            geo["n"].append(len(idx))
            geo["steps"] = 100 * int(np.ceil(len(Xtr) / 200))
        results[name], geometry[name] = recs, geo
        print(f"\n{name}: {X.shape[0]} samples x {X.shape[1]} features; attacked samples per "
              f"seed {geo['n']}; {time.perf_counter() - t0:.0f} s so far", flush=True)
        print_grid(name, recs, labels, args.seeds)
    names = list(results)
    winner = print_selection(select(results, models), names)
    print(f"\ngrid done in {time.perf_counter() - t0:.0f} s wall, "
          f"{time.process_time() - cpu0:.0f} s CPU", flush=True)
    if args.plot:
        plot(args.plot, results, models, names, winner)
    if winner is None:
        return
    info = models[winner][1]
    winner_kwargs = {"gamma": info["gamma"], "burnin": info["burnin"]}
    explain(results, geometry, names, winner)
    if not args.no_cv:
        t = time.perf_counter()
        run_cv([winner_kwargs], args.cv_seeds, scalers)
        print(f"cross-validation done in {time.perf_counter() - t:.0f} s", flush=True)
    if not args.no_wine:
        t = time.perf_counter()
        strong_kwargs = {"gamma": max(args.gammas), "burnin": min(args.burnins)}
        wine_variants(winner_kwargs, strong_kwargs, args.seeds, args.n_samples, attack_params)
        print(f"wine variants done in {time.perf_counter() - t:.0f} s", flush=True)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s wall, "
          f"{time.process_time() - cpu0:.0f} s CPU", flush=True)


if __name__ == "__main__":
    main()
