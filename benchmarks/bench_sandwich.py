"""How tight is the number: the certified lower bound, FMN and the Tangent Attack on one draw.

For a model without and with rep-spectral, :func:`skspectral.robustness_report` measures the
same ``--samples`` test samples three ways: the certified lower bound (Lemma 1), the white-box
FMN distance (its defaults: 50 steps per run, untargeted and towards two runners-up;
``--fmn-steps`` to change the steps) and the black-box Tangent Attack distance (its
defaults). Printed per model: accuracy, the three means, the black-box / white-box ratio (mean,
median, 90th percentile), the share of samples where the Tangent Attack is more than 10% above
FMN, wall times; then the rep-spectral minus no-penalty difference of each bound on the samples
both classify correctly, with its paired 95% t interval (:func:`skspectral.paired_difference`);
then the robust-accuracy band R(eps) = P(d > eps) at a few radii beside AutoAttack's robust
accuracy at the same radii (``--autoattack``, needs the ``autoattack`` extra).

Models: ``digits`` (default), the paper's MNIST MLP preset on 64-256-10 digits (60 epochs on
1300 images, the attack benchmark's model); ``--mnist``, the paper's MNIST MLP 784-2000-10
trained ``--epochs`` epochs on ``--train`` images, MNIST read from ``$SKSPECTRAL_DATA`` or the
checkout's ``../shared/data``.

    python benchmarks/bench_sandwich.py [--samples 200] [--mnist] [--epochs 3] [--train 20000]
        [--autoattack 0.5 1.0] [--aa-version custom]
"""

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

from skspectral import paper_estimator, robustness_report
from skspectral.datasets import find_mnist, load_mnist


def models_and_data(args):
    """``{label: fitted model}``, test X, y and a name."""
    if args.mnist:
        data = load_mnist(find_mnist(None, Path(__file__).resolve().parents[2] / "shared"
                                     / "data"))
        X_train, y_train = data.X_train[:args.train], data.y_train[:args.train]
        X, y = data.X_test, data.y_test

        def make(regularizer):
            return paper_estimator("mnist-mlp", max_epochs=args.epochs, burnin=0.5,
                                   regularizer=regularizer, random_state=0)
        name = f"MNIST MLP 784-2000-10 ({args.epochs} epochs on {len(X_train)} images)"
    else:
        X_all, y_all = load_digits(return_X_y=True)
        X_all = (X_all / 16.0).astype(np.float32)
        X_train, y_train, X, y = X_all[:1300], y_all[:1300], X_all[1300:], y_all[1300:]

        def make(regularizer):
            return paper_estimator("mnist-mlp", hidden_layer_sizes=(256,), max_epochs=60,
                                   batch_size=64, burnin=0.5, regularizer=regularizer,
                                   random_state=0)
        name = "digits MLP 64-256-10 (60 epochs on 1300 images)"
    models = {}
    for label, regularizer in (("none", None), ("rep", "rep")):
        start = time.perf_counter()
        models[label] = make(regularizer).fit(X_train, y_train)
        print(f"fitted {label} in {time.perf_counter() - start:.1f} s", flush=True)
    return models, X, y, name


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--mnist", action="store_true")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train", type=int, default=20000)
    parser.add_argument("--fmn-steps", type=int, default=None,
                        help="FMN's max_iter (default: FMN's own)")
    parser.add_argument("--autoattack", type=float, nargs="*", default=[],
                        help="radii at which to run AutoAttack (L2, in [0, 1] pixel units)")
    parser.add_argument("--aa-version", choices=["standard", "custom"], default="custom",
                        help="custom: APGD-CE and APGD-T only (minutes on a CPU); standard: "
                             "also FAB-T and Square")
    args = parser.parse_args()
    models, X, y, name = models_and_data(args)
    steps = "default" if args.fmn_steps is None else args.fmn_steps
    print(f"\n{name}; {args.samples} test samples drawn once (random_state=0), FMN "
          f"{steps} steps, Tangent Attack defaults\n")
    reports, header = {}, True
    for label, model in models.items():
        start = time.perf_counter()
        reports[label] = report = robustness_report(
            model, X, y, n_samples=args.samples, random_state=0,
            whitebox_params=None if args.fmn_steps is None else {"max_iter": args.fmn_steps})
        wall = time.perf_counter() - start
        s = report.summary()
        if header:
            print("| model | accuracy | lower | FMN | Tangent | ratio mean / median / q90 | "
                  "Tangent > 1.1 x FMN | FMN cost | Tangent queries | wall s |")
            print("|---|---|---|---|---|---|---|---|---|---|")
            header = False
        acc = model.score(X, y)
        print(f"| {label} | {acc:.4f} | {s['mean_lower']:.4f} | {s['mean_whitebox']:.4f} | "
              f"{s['mean_blackbox']:.4f} | {s['ratio_mean']:.3f} / {s['ratio_median']:.3f} / "
              f"{s['ratio_q90']:.3f} | {100 * s['blackbox_loose']:.0f}% | "
              f"{s['whitebox_cost']:.0f} | {s['blackbox_queries']:.0f} | {wall:.1f} |",
              flush=True)
    print("\nrep minus none, paired over the samples both classify correctly (95% t interval):")
    for bound in ("lower", "whitebox", "blackbox"):
        print(f"  {bound:8s} {reports['rep'].compare(reports['none'], bound)}")
    ratio = {k: r.ratio[~np.isnan(r.ratio)] for k, r in reports.items()}
    print(f"  Tangent/FMN ratio: none {ratio['none'].mean():.3f}, rep {ratio['rep'].mean():.3f}")
    if args.autoattack:
        from skspectral.autoattack import run_autoattack

        print("\nRobust accuracy at eps (all drawn samples; misclassified = not robust): the "
              "band [certified, best upper] holds the true value; AutoAttack's is another "
              "upper bound")
        print("| model | eps | certified | FMN | Tangent | AutoAttack | AutoAttack s |")
        print("|---|---|---|---|---|---|---|")
        for label, report in reports.items():
            curves = report.robust_accuracy(args.autoattack)
            for i, eps in enumerate(args.autoattack):
                start = time.perf_counter()
                kwargs = ({"version": "custom", "attacks": ["apgd-ce", "apgd-t"]}
                          if args.aa_version == "custom" else {"version": "standard"})
                aa = run_autoattack(models[label], X[report.indices], y[report.indices], eps,
                                    random_state=0, **kwargs)
                print(f"| {label} | {eps:g} | {curves['certified'][i]:.3f} | "
                      f"{curves['whitebox'][i]:.3f} | {curves['blackbox'][i]:.3f} | "
                      f"{aa.robust_accuracy():.3f} | {time.perf_counter() - start:.1f} |",
                      flush=True)


if __name__ == "__main__":
    main()
