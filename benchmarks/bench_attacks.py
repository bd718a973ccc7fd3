"""Attack throughput and quality, in one run on the same model and samples.

1. skspectral's batched TangentAttack vs a straightforward per-sample implementation of the
   same algorithm (one sample at a time, NumPy vector math, each stage one model call on that
   sample's points, as the original code runs): samples per second and mean distance
   (target: >= 10x faster at equal mean distance, within 2%). Both at the defaults
   (T = 40, n_starts = 5, start_iter = 5), both warmed up on a few samples first, then run
   in turns with random states 0, 1, ..., ``--repeats - 1`` (so drifts in the machine's speed
   hit both alike); times are medians, the speed-up the median of the rounds' ratios, and
   distances means over the runs. Each round also times the *floor*: classifying as many
   points as the attack queried, in batches, which no implementation of the algorithm can
   beat on this model.
2. TangentAttack vs HopSkipJump: mean distance at budgets of 1k, 5k and 10k queries per
   sample (n_starts=1), and unlimited with the default n_starts=5.
3. Start methods, interleaved over ``--repeats`` random states: the defaults (five Gaussian
   starts, 75 probes at the first iteration), the defaults before (five uniform starts, 100
   probes), and single-start runs with each ``start`` at the published 100 probes, against
   the per-sample published algorithm (Gaussian start, closest label-changing draw, one
   start): samples/s, queries per sample, mean distance, and returned points that the model
   labels as the original class when it classifies them alone or in batches of 7.
   ``--only-starts`` runs this section alone, ``--no-reference`` leaves the per-sample run out.
4. ``--protocol``: only the paper's evaluation, TangentAttack at its defaults once over all
   ``--samples`` samples (the paper attacks 1000 MNIST test images: ``--mnist --samples 1000``):
   samples/s, queries per sample, mean and median distance.

5. ``--curves``: distance against queries, each attack's distance per sample divided by a
   white-box minimum-norm attack's (DDN of adv-lib, ``--wb-steps`` steps, no quantization:
   the benchmark's only use of adv-lib, ``pip install adv-lib``), for the Tangent Attack,
   HopSkipJump and CGBA at budgets ``--budgets`` (each a run with ``max_queries`` = the
   budget and no iteration cap), on the same ``--n-samples`` correctly classified test
   samples of each of ``--models``: the digits MLP, a small CNN on the digits
   (SpectralClassifier, 1x8x8 input) and the MNIST MLP. Prints per model and budget the
   mean and 90th percentile of the ratios, and each attack's seconds per query at the
   largest budget against the floor (classifying as many points in batches); ``--figure``
   writes the curves as a PNG. ``--tail`` first diagnoses the Tangent Attack's tail (at
   the largest budget up to 10k): its adversarial class against DDN's, a targeted DDN to its
   class on the 12 worst samples, and how often DDN's class is among 10 and 30 Gaussian start
   draws and is the closest draw's.

The model is a SpectralMLPClassifier trained on the digits data (64-256-10 GELU) or, with
``--mnist``, the paper's MNIST MLP (784-2000-10, 3 epochs), read from ``$SKSPECTRAL_DATA`` or
``../shared/data``.

    python benchmarks/bench_attacks.py [--samples 100] [--repeats 5] [--mnist] [--device auto]
                                       [--only-starts] [--no-reference] [--protocol]
    python benchmarks/bench_attacks.py --curves [--models digits-mlp digits-cnn mnist-mlp]
                                       [--n-samples 200] [--budgets 1000 2500 5000 10000 20000]
                                       [--wb-steps 1000] [--attacks TangentAttack ...]
                                       [--subspace 0.5] [--figure docs/attack_curves.png]
"""

import argparse
import math
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits

from skspectral import CGBA, HopSkipJump, SpectralClassifier, TangentAttack, paper_estimator
from skspectral.datasets import find_mnist, load_mnist


def reference_tangent_attack(predict, x, y, rng, clip_min=0.0, clip_max=1.0, max_iter=40,
                             init_probes=75, max_probes=10_000, init_trials=100, init_batch=10,
                             max_halvings=20, n_starts=5, start_iter=5, start="gaussian",
                             start_scale=0.5, pool=None):
    """One sample, the same algorithm as TangentAttack; returns (distance, queries).

    The defaults are TangentAttack's. ``start="gaussian"`` is the published start (x + N(0,
    (start_scale * width)^2) clipped to the box, the closest label-changing draw); with
    ``n_starts=1, init_probes=100`` this is the published algorithm. ``pool`` = (points, their
    labels): where no draw is adversarial, the closest pool point of another label is the start.
    """
    d = x.size
    steps = math.ceil(math.log2(1.0 / min(1.0 / (d * math.sqrt(d)), 1e-4)))
    queries = 0

    def adversarial(points):
        nonlocal queries
        queries += len(points)
        return predict(points.astype(np.float32)) != y

    def clip(p):
        return np.clip(p, clip_min, clip_max)

    def boundary(p):
        low, high = 0.0, 1.0
        for _ in range(steps):
            mid = (low + high) / 2
            if adversarial((x + mid * (p - x))[None])[0]:
                high = mid
            else:
                low = mid
        return x + high * (p - x)

    def tangent(x_b, normal, radius):
        ox = x - x_b
        norm_ox = np.linalg.norm(ox)
        proj = ox @ normal
        sin_a = np.clip(-proj / norm_ox, -1, 1)
        cos_a = math.sqrt(max(1 - sin_a ** 2, 0))
        cos_b = min(radius / norm_ox, 1.0)
        sin_b = math.sqrt(max(1 - cos_b ** 2, 0))
        sin_g = max(sin_b * cos_a - cos_b * sin_a, 0.0)
        cos_g = math.sqrt(1 - sin_g ** 2)
        e = ox - proj * normal
        e /= max(np.linalg.norm(e), 1e-12)
        return x_b + radius * cos_g * e + radius * sin_g * normal

    def halving(candidate, size):
        for _ in range(max_halvings + 1):
            point = clip(candidate(size))
            if adversarial(point[None])[0]:
                return point, size
            size /= 2
        return None, size

    def step(x_b, i):
        dist = np.linalg.norm(x_b - x)
        delta = 0.1 * (clip_max - clip_min) if i == 1 else dist / d
        k = min(int(init_probes * math.sqrt(i)), max_probes)
        r = rng.standard_normal((k, d))
        r *= delta / np.linalg.norm(r, axis=1, keepdims=True)
        f = np.where(adversarial(clip(x_b + r)), 1.0, -1.0)
        if abs(f.mean()) != 1:
            f -= f.mean()
        normal = (f[:, None] * r).mean(axis=0)
        normal /= max(np.linalg.norm(normal), 1e-12)
        size = dist / math.sqrt(i)
        t, used = halving(lambda radius: tangent(x_b, normal, radius), size)
        candidates = [] if t is None else [t]
        if t is None or used < size / 8:
            g, _ = halving(lambda eps: x_b + eps * normal, size)
            candidates += [] if g is None else [g]
        if not candidates:
            return x_b
        return min((boundary(c) for c in candidates), key=lambda p: np.linalg.norm(p - x))

    def iterate(x_b, iterations):
        best, best_dist = x_b, np.linalg.norm(x_b - x)
        for i in iterations:
            x_b = step(x_b, i)
            if np.linalg.norm(x_b - x) < best_dist:
                best, best_dist = x_b, np.linalg.norm(x_b - x)
        return best, best_dist

    if adversarial(x[None])[0]:
        return 0.0, queries
    starts = []
    for _ in range(0, init_trials, init_batch):
        if start == "gaussian":
            noise = rng.standard_normal((init_batch, d)) * start_scale * (clip_max - clip_min)
            draws = clip(x + noise)
        else:
            draws = rng.uniform(clip_min, clip_max, size=(init_batch, d))
        hit = adversarial(draws)
        if hit.any():
            starts = sorted(draws[hit], key=lambda p: np.linalg.norm(p - x))[:n_starts]
            break
    if not starts and pool is not None and np.any(pool[1] != y):
        others = pool[0][pool[1] != y]
        nearest = others[np.linalg.norm(others - x, axis=1).argmin()]
        starts = [nearest] if adversarial(nearest[None])[0] else []
    if not starts:
        return math.inf, queries
    first = min(start_iter, max_iter) if n_starts > 1 else 0
    tracks = [iterate(boundary(p), range(1, first + 1)) for p in starts]
    best, best_dist = min(tracks, key=lambda track: track[1])
    _, final = iterate(best, range(first + 1, max_iter + 1))
    return min(best_dist, final), queries + 2  # + the final checks the batched attack makes


def timed(fns, repeats):
    """Per function: wall times of ``fn(0), ..., fn(repeats - 1)``, and the results.

    The functions take turns, so a drift in the machine's speed hits them alike.
    """
    times = [[] for _ in fns]
    results = [[] for _ in fns]
    for seed in range(repeats):
        for fn, fn_times, fn_results in zip(fns, times, results, strict=True):
            start = time.perf_counter()
            fn_results.append(fn(seed))
            fn_times.append(time.perf_counter() - start)
    return list(zip(times, results, strict=True))


def floor_work(module, d, device, batch_size=10_000):
    """``n_points -> None``: classify ``n_points`` points (``d`` values each, or of shape
    ``d``) in batches of ``batch_size``.

    Every query is one classified point: no implementation of the algorithm does less work.
    """
    points = torch.rand(batch_size, *np.atleast_1d(d).tolist(), device=device,
                        generator=torch.Generator(device=device).manual_seed(0))

    @torch.inference_mode()
    def work(n_points):
        for start in range(0, n_points, batch_size):
            module(points[:min(batch_size, n_points - start)]).argmax(1)
        if device != "cpu":
            torch.cuda.synchronize()

    return work


def model_and_data(mnist, device, n):
    if mnist:
        data = load_mnist(find_mnist(None, Path(__file__).resolve().parents[2] / "shared"
                                     / "data"))
        clf = paper_estimator("mnist-mlp", max_epochs=3, burnin=0, device=device,
                              random_state=0)
        clf.fit(data.X_train, data.y_train)
        X, y, name = data.X_test, data.y_test, "MNIST MLP 784-2000-10 (3 epochs)"
    else:
        X, y = load_digits(return_X_y=True)
        X = (X / 16.0).astype(np.float32)
        clf = paper_estimator("mnist-mlp", hidden_layer_sizes=(256,), max_epochs=60,
                              batch_size=64, burnin=0.5, device=device,
                              random_state=0).fit(X[:1300], y[:1300])
        X, y, name = X[1300:], y[1300:], "digits MLP 64-256-10"
    correct = np.flatnonzero(clf.predict(X) == y)[:n]
    return clf, X[correct], y[correct], name


def sections_1_and_2(args, clf, X, y, module, predict, device):
    ours = []

    def run_ours(seed):
        ours.append(TangentAttack(0.0, 1.0, random_state=seed).attack(clf, X, y))

    classify = floor_work(module, X.shape[1], device)

    def run_floor(seed):
        classify(int(ours[-1].queries.sum()))  # as many points as this round's attack

    def run_reference(seed):
        rng = np.random.default_rng(seed)
        pool = (X.reshape(len(X), -1).astype(np.float64), predict(X))
        return [reference_tangent_attack(predict, x.astype(np.float64), int(label), rng,
                                         pool=pool)
                for x, label in zip(X, y, strict=True)]

    # Warm-up: first calls pay for allocations and kernel selection.
    TangentAttack(0.0, 1.0, random_state=0).attack(clf, X[:5], y[:5])
    reference_tangent_attack(predict, X[0].astype(np.float64), int(y[0]),
                             np.random.default_rng(0))
    (ours_times, _), (ref_times, ref), (floor_times, _) = timed(
        [run_ours, run_reference, run_floor], args.repeats)
    t_ours, t_ref, t_floor = (statistics.median(t) for t in (ours_times, ref_times,
                                                              floor_times))
    # Each round's pair ran back to back: the median of their ratios resists drift best.
    speedup = statistics.median(r / o for r, o in zip(ref_times, ours_times, strict=True))
    ours_dist = np.mean([result.mean() for result in ours])
    ours_queries = np.mean([result.queries.mean() for result in ours])
    ref_dist = np.mean([[distance for distance, _ in run] for run in ref])
    ref_queries = np.mean([[queries for _, queries in run] for run in ref])
    print(f"\n1. batched vs per-sample Tangent Attack (T=40, n_starts=5; median of "
          f"{args.repeats} random states)")
    print(f"  {'':<28s} {'samples/s':>10s} {'mean dist':>10s} {'mean queries':>13s} "
          f"{'x floor':>8s}")
    print(f"  {'skspectral (batched)':<28s} {len(X) / t_ours:10.2f} {ours_dist:10.4f} "
          f"{ours_queries:13.0f} {t_ours / t_floor:8.2f}")
    print(f"  {'per-sample reference':<28s} {len(X) / t_ref:10.2f} {ref_dist:10.4f} "
          f"{ref_queries:13.0f} {t_ref / t_floor:8.2f}")
    print(f"  {'floor (classify the queries)':<28s} {len(X) / t_floor:10.2f}")
    print(f"  speed-up {speedup:.1f}x, median of the rounds' ratios ({t_ref / t_ours:.1f}x from "
          f"the median times; target >= 10; at most {t_ref / t_floor:.1f}x "
          f"on this model and machine); mean distance ratio {ours_dist / ref_dist:.4f} "
          "(target within 2%)")

    print("\n2. Tangent Attack vs HopSkipJump, mean distance by budget (queries per sample)")
    print(f"  {'budget':<22s} {'TangentAttack':>14s} {'HopSkipJump':>12s}")
    for budget in (1000, 5000, 10_000):
        row = [cls(0.0, 1.0, max_queries=budget, n_starts=1, random_state=0).attack(
            clf, X, y).mean() for cls in (TangentAttack, HopSkipJump)]
        print(f"  {budget:<22d} {row[0]:14.4f} {row[1]:12.4f}")
    row = [cls(0.0, 1.0, random_state=0).attack(clf, X, y) for cls in (TangentAttack,
                                                                        HopSkipJump)]
    label = f"T=40, n_starts=5 (~{row[0].queries.mean() / 1000:.0f}k)"
    print(f"  {label:<22s} {row[0].mean():14.4f} {row[1].mean():12.4f}")


class TinyCNN(torch.nn.Module):
    """A small CNN for 1x8x8 digits: two 3x3 convolutions (8 and 16 channels), then a
    linear readout."""

    def __init__(self, n_out=10):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.GELU(),
            torch.nn.Conv2d(8, 16, 3, stride=2, padding=1), torch.nn.GELU(),
            torch.nn.Flatten())
        self.fc = torch.nn.Linear(16 * 4 * 4, n_out)

    def forward(self, x):
        return self.fc(self.body(x))


def curve_model(name, device, n):
    """(classifier, torch module, X, y, description) of one of the curves' models: ``n``
    correctly classified test samples, X in the model's input shape."""
    if name == "mnist-mlp":
        return model_and_data(True, device, n)
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    if name == "digits-mlp":
        return model_and_data(False, device, n)
    X = X.reshape(-1, 1, 8, 8)
    clf = SpectralClassifier(TinyCNN, max_epochs=60, batch_size=64, burnin=0.5, lr=0.05,
                             device=device, random_state=0).fit(X[:1300], y[:1300])
    X, y = X[1300:], y[1300:]
    correct = np.flatnonzero(clf.predict(X) == y)[:n]
    return clf, X[correct], y[correct], "digits CNN 1x8x8 (conv 8, conv 16, linear)"


def _ddn():
    import sys
    import types

    # adv-lib imports visdom for an optional logger at import time only.
    sys.modules.setdefault("visdom", types.ModuleType("visdom"))
    from adv_lib.attacks import ddn

    return ddn


def white_box(module, X, y, steps, device, targeted=False):
    """Per sample, the L2 distance of adv-lib's DDN (``steps`` steps, no quantization) where
    the model labels its point differently (as ``y`` where ``targeted``; inf elsewhere), and
    the label of its point."""
    module = module.eval()
    x = torch.as_tensor(X, dtype=torch.float32, device=device)
    labels = torch.as_tensor(y, dtype=torch.int64, device=device)
    adv = _ddn()(module, x, labels, targeted=targeted, steps=steps, levels=None)
    with torch.inference_mode():
        predicted = module(adv).argmax(1)
    ok = (predicted == labels) if targeted else (predicted != labels)
    dist = (adv - x).flatten(1).norm(dim=1)
    return (torch.where(ok, dist, float("inf")).cpu().numpy().astype(np.float64),
            predicted.cpu().numpy())


def tail(clf, module, X, y, wb, wb_class, args, device):
    """Why samples end far above the white-box distance: the attack's class against DDN's,
    the targeted white-box distance to the attack's class for the worst samples, and how
    often DDN's class is among the Gaussian start draws and is the closest draw's."""
    budget = max(b for b in args.budgets if b <= 10_000)
    result = TangentAttack(0.0, 1.0, max_iter=10**9, max_queries=budget,
                           random_state=0).attack(clf, X, y)
    ratio = result.distances / wb
    with torch.inference_mode():
        points = torch.as_tensor(result.adversarial, dtype=torch.float32, device=device)
        attack_class = module(points.reshape(X.shape)).argmax(1).cpu().numpy()
    same = attack_class == wb_class
    print(f"  tail, TangentAttack at {budget} queries: the attack's class is DDN's for "
          f"{int(same.sum())} samples (mean ratio {ratio[same].mean():.3f}), another for "
          f"{int((~same).sum())} (mean ratio {ratio[~same].mean():.3f})")
    worst = np.argsort(-ratio)[:12]
    targeted, _ = white_box(module, X[worst], attack_class[worst], args.wb_steps, device,
                            targeted=True)
    print("  12 worst: attack / DDN        " + " ".join(f"{r:.2f}" for r in ratio[worst]))
    print("            targeted DDN to the attack's class / DDN "
          + " ".join(f"{r:.2f}" for r in targeted / wb[worst]))
    generator = torch.Generator(device=device).manual_seed(0)
    x = torch.as_tensor(X, dtype=torch.float32, device=device).flatten(1)
    labels = torch.as_tensor(y, device=device)
    wb_labels = torch.as_tensor(wb_class, device=device)
    for k in (10, 30):
        noise = torch.randn(k, x.shape[1], generator=generator, device=device)
        draws = (x[:, None] + 0.5 * noise).clamp(0.0, 1.0)
        with torch.inference_mode():
            drawn = module(draws.reshape(-1, *X.shape[1:])).argmax(1).reshape(len(x), k)
        adv = drawn != labels[:, None]
        among = ((drawn == wb_labels[:, None]) & adv).any(dim=1).float().mean().item()
        dist = torch.where(adv, (draws - x[:, None]).norm(dim=2), float("inf"))
        closest = drawn.gather(1, dist.argmin(dim=1, keepdim=True)).squeeze(1)
        first = (closest == wb_labels).float().mean().item()
        print(f"  {k} Gaussian draws (the default start): DDN's class among the adversarial "
              f"draws for {among:.0%} of the samples, the closest draw's class for {first:.0%}")


def curve_attacks(image_shape, subspace):
    """The curves' attacks: name -> (class, parameters)."""
    attacks = {"TangentAttack": (TangentAttack, {}), "HopSkipJump": (HopSkipJump, {}),
               "CGBA": (CGBA, {}), "CGBA-H": (CGBA, {"variant": "cgba-h"})}
    if subspace is not None:
        attacks[f"CGBA subspace={subspace}"] = (CGBA, {"subspace": subspace,
                                                       "image_shape": image_shape})
    return attacks


def curves(args, device):
    """Section 5: distance / white-box against queries; returns the rows for the figure."""
    rows = []
    for name in args.models:
        clf, X, y, description = curve_model(name, device, args.n_samples)
        module = clf.module_
        start = time.perf_counter()
        wb, wb_class = white_box(module, X, y, args.wb_steps, device)
        print(f"\n5. {description}: {len(X)} correctly classified test samples; DDN "
              f"({args.wb_steps} steps) succeeded on {int(np.isfinite(wb).sum())}, mean "
              f"distance {wb[np.isfinite(wb)].mean():.4f} ({time.perf_counter() - start:.0f} s)")
        keep = np.isfinite(wb)
        if args.tail:
            tail(clf, module, X[keep], y[keep], wb[keep], wb_class[keep], args, device)
        image_shape = X.shape[1:] if X.ndim > 2 else ((28, 28) if name == "mnist-mlp"
                                                       else (8, 8))
        floor = floor_work(module, X.shape[1:], device)
        print(f"  {'attack':<24s} {'queries':>8s} {'mean':>7s} {'p90':>7s} {'median':>7s} "
              f"{'max':>7s} {'us/query':>9s} {'x floor':>8s}")
        for label, (cls, params) in curve_attacks(image_shape, args.subspace).items():
            if label not in args.attacks and not label.startswith("CGBA subspace"):
                continue
            for budget in args.budgets:
                attack = cls(0.0, 1.0, max_iter=10**9, max_queries=budget, random_state=0,
                             **params)
                start = time.perf_counter()
                result = attack.attack(clf, X, y)
                seconds = time.perf_counter() - start
                ratio = result.distances[keep] / wb[keep]
                queries = int(result.queries.sum())
                start = time.perf_counter()
                floor(queries)
                floor_seconds = time.perf_counter() - start
                row = dict(model=name, attack=label, budget=budget, mean=ratio.mean(),
                           p90=np.percentile(ratio, 90))
                rows.append(row)
                print(f"  {label:<24s} {budget:8d} {row['mean']:7.3f} {row['p90']:7.3f} "
                      f"{np.median(ratio):7.3f} {ratio.max():7.3f} "
                      f"{seconds / queries * 1e6:9.2f} {seconds / floor_seconds:8.2f}",
                      flush=True)
    return rows


def plot_curves(rows, path):
    """Mean and 90th-percentile ratio against the budget, one panel per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(dict.fromkeys(row["model"] for row in rows))
    fig, axes = plt.subplots(1, len(models), figsize=(4.2 * len(models), 3.6), squeeze=False)
    for ax, model in zip(axes[0], models, strict=True):
        mine = [row for row in rows if row["model"] == model]
        for k, attack in enumerate(dict.fromkeys(row["attack"] for row in mine)):
            pts = [row for row in mine if row["attack"] == attack]
            budgets = [row["budget"] for row in pts]
            color = f"C{k}"
            ax.plot(budgets, [row["mean"] for row in pts], "-o", color=color, ms=3,
                    label=f"{attack} mean")
            ax.plot(budgets, [row["p90"] for row in pts], "--", color=color, lw=1,
                    label=f"{attack} p90")
        ax.axhline(1.0, color="k", lw=0.5)
        ax.set(xscale="log", xlabel="queries per sample", title=model,
               ylabel="distance / white-box (DDN)")
    axes[0, -1].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"figure written to {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--mnist", action="store_true")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--only-starts", action="store_true",
                        help="run section 3 only")
    parser.add_argument("--no-reference", action="store_true",
                        help="leave the per-sample published reference out of section 3")
    parser.add_argument("--protocol", action="store_true",
                        help="only one run of the defaults over all samples (section 4)")
    parser.add_argument("--curves", action="store_true",
                        help="only distance / white-box against queries (section 5)")
    parser.add_argument("--models", nargs="+", default=["digits-mlp", "digits-cnn",
                                                        "mnist-mlp"],
                        choices=["digits-mlp", "digits-cnn", "mnist-mlp"])
    parser.add_argument("--n-samples", type=int, default=200)
    parser.add_argument("--budgets", type=int, nargs="+",
                        default=[1000, 2500, 5000, 10_000, 20_000])
    parser.add_argument("--wb-steps", type=int, default=1000)
    parser.add_argument("--attacks", nargs="+", default=["TangentAttack", "HopSkipJump", "CGBA",
                                                         "CGBA-H"],
                        choices=["TangentAttack", "HopSkipJump", "CGBA", "CGBA-H"])
    parser.add_argument("--subspace", type=float, default=None,
                        help="also run CGBA with probes in this DCT subspace")
    parser.add_argument("--figure", default=None, help="PNG path for the curves")
    parser.add_argument("--tail", action="store_true",
                        help="with --curves: first diagnose the Tangent Attack's tail")
    args = parser.parse_args()
    device = "cuda" if args.device == "auto" and torch.cuda.is_available() else (
        "cpu" if args.device == "auto" else args.device)
    if args.curves:
        print(f"device {device}; torch {torch.__version__}, {torch.get_num_threads()} threads")
        rows = curves(args, device)
        if args.figure:
            plot_curves(rows, args.figure)
        return
    clf, X, y, name = model_and_data(args.mnist, device, args.samples)
    module = clf.module_

    @torch.inference_mode()
    def predict(points):
        return module(torch.from_numpy(points).to(device)).argmax(1).cpu().numpy()

    print(f"model: {name}; {len(X)} correctly classified samples; device {device}; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")

    if args.protocol:
        TangentAttack(0.0, 1.0, random_state=0).attack(clf, X[:5], y[:5])  # warm-up
        start = time.perf_counter()
        result = TangentAttack(0.0, 1.0, random_state=0).attack(clf, X, y)
        seconds = time.perf_counter() - start
        print(f"\n4. the paper's protocol: TangentAttack defaults over {len(X)} samples: "
              f"{len(X) / seconds:.2f} samples/s ({seconds:.0f} s), "
              f"{result.queries.mean():.0f} queries/sample, mean distance {result.mean():.4f}, "
              f"median {np.median(result.distances[result.success]):.4f}, "
              f"{int((~result.success).sum())} without an adversarial point")
        return
    if not args.only_starts:
        sections_1_and_2(args, clf, X, y, module, predict, device)

    print(f"\n3. start methods (T=40; {args.repeats} interleaved random states; 'lost' counts "
          "returned points that the model labels as the original class when classified alone "
          "or in a batch of 7)")
    configs = {"defaults (5 gaussian, probes 75)": {},
               "before (5 uniform, probes 100)": dict(start="uniform", init_probes=100)}
    configs.update({f"n_starts=1, {m}, probes 100": dict(n_starts=1, start=m, init_probes=100)
                    for m in ("gaussian", "uniform", "blended")})
    results = {label: [] for label in configs}
    published = []

    def runner(label):
        return lambda seed: results[label].append(
            TangentAttack(0.0, 1.0, random_state=seed, **configs[label]).attack(clf, X, y))

    def run_published(seed):
        rng = np.random.default_rng(seed)
        pool = (X.reshape(len(X), -1).astype(np.float64), predict(X))
        published.append([reference_tangent_attack(predict, x.astype(np.float64), int(label),
                                                   rng, n_starts=1, start="gaussian",
                                                   init_probes=100, pool=pool)
                          for x, label in zip(X, y, strict=True)])

    fns = [runner(label) for label in configs]
    if not args.no_reference:
        fns.append(run_published)
    times, _ = zip(*timed(fns, args.repeats), strict=True)
    print(f"  {'':<30s} {'samples/s':>10s} {'queries':>8s} {'mean dist':>10s} {'lost':>6s}")
    for (label, runs), t in zip(results.items(), times, strict=False):
        lost = sum(lost_points(predict, X, y, r) for r in runs)
        print(f"  {label:<30s} {len(X) / statistics.median(t):10.2f} "
              f"{np.mean([r.queries.mean() for r in runs]):8.0f} "
              f"{np.mean([r.mean() for r in runs]):10.4f} {lost:>3d}/{len(X) * len(runs)}")
    if not args.no_reference:
        dist = np.mean([[dd for dd, _ in run] for run in published])
        queries = np.mean([[q for _, q in run] for run in published])
        print(f"  {'published (per-sample, n=1)':<30s} "
              f"{len(X) / statistics.median(times[-1]):10.2f} {queries:8.0f} {dist:10.4f}")


def lost_points(predict, X, y, result):
    """Returned adversarial points labelled ``y`` alone or in batches of 7."""
    ok = np.flatnonzero(result.success & (result.distances > 0))
    points = result.adversarial[ok].astype(np.float32)
    alone = np.array([predict(p[None])[0] for p in points])
    seven = np.concatenate([predict(points[i:i + 7]) for i in range(0, len(points), 7)])
    return int(np.sum((alone == y[ok]) | (seven == y[ok])))


if __name__ == "__main__":
    main()
