"""The skspectral command: spectral regularization for adversarially robust representations."""

import argparse
import sys
import time

__all__ = ["main", "run_demo"]

_DEMO_MODELS = (("none", None), ("ll-spectral (all)", "all"), ("rep-spectral", "rep"))


def _number(kind, low, strict=False):
    """An argparse type: a ``kind`` number >= ``low`` (> ``low`` when ``strict``)."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {kind.__name__}, got {text!r}") from None
        if not (value > low if strict else value >= low) or value != value:
            raise argparse.ArgumentTypeError(f"must be {'>' if strict else '>='} {low}, "
                                             f"got {text}")
        return value
    return parse


def run_demo(epochs=200, gamma=2e-2, hidden=1024, seed=0, attack_samples=100, quiet=False,
             file=None):
    """Train unregularized, ll-spectral and rep-spectral MLPs on the digits data; print a table.

    Uses scikit-learn's embedded 8x8 digits (pixels scaled to [0, 1]), a stratified 75/25
    train/test split, one hidden GELU layer, SGD (lr 0.1, momentum 0.9, batch 64) and a
    burn-in of half the epochs. The adversarial distance is the mean Tangent Attack distance
    (L2, input box [0, 1], default attack settings) over ``attack_samples`` correctly
    classified test samples, the paper's protocol.

    Parameters
    ----------
    epochs : int, default=200
    gamma : float, default=2e-2
        Strong enough on this small problem for the penalty's effect on the distances to
        show (the estimator's own default, 2e-3, is the paper's MNIST value).
    hidden : int, default=1024
        Hidden-layer width.
    seed : int, default=0
        ``random_state`` of the split, of every model and of the attack.
    attack_samples : int, default=100
        Test samples attacked per model (0 skips the attack).
    quiet : bool, default=False
        No progress bars.
    file : file-like, optional
        Where the table goes (stdout when None).

    Returns
    -------
    list of dict
        One row per model: ``model``, ``accuracy``, ``sigma`` (``{layer: value}``),
        ``seconds`` (training), ``distance`` (mean adversarial distance, or None) and
        ``attack_seconds``.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from .estimators import paper_estimator
    from .metrics import RobustnessScorer

    file = sys.stdout if file is None else file
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16.0, y, test_size=0.25, random_state=seed, stratify=y)
    layers = ["features.hidden0", "head"]
    header = (["model", "test acc"] + [f"sigma[{name}]" for name in layers] + ["train s"]
              + (["mean adv dist", "attack s"] if attack_samples else []))
    widths = [max(len(h), 17 if i == 0 else 8) for i, h in enumerate(header)]

    def line(cells):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

    print(f"digits: {len(X_train)} train / {len(X_test)} test, MLP 64-{hidden}-10 GELU, "
          f"{epochs} epochs (burn-in {epochs // 2}), gamma={gamma}", file=file)
    print("sigma[layer]: the layer's top singular value (exact, after training); train s: "
          "training time in seconds", file=file)
    if attack_samples:
        print(f"mean adv dist: mean L2 Tangent Attack distance over {attack_samples} correctly "
              "classified test samples, input box [0, 1]; attack s: its time in seconds",
              file=file)
    print(line(header), file=file)
    print(line(["-" * w for w in widths]), file=file, flush=True)
    rows = []
    for i, (label, regularizer) in enumerate(_DEMO_MODELS, 1):
        progress = {} if quiet else {"callbacks__progress__desc": f"{i}/{len(_DEMO_MODELS)} "
                                                                   f"{label}"}
        clf = paper_estimator(  # the paper's MNIST MLP recipe, scaled to digits
            "mnist-mlp", hidden_layer_sizes=(hidden,), regularizer=regularizer, gamma=gamma,
            max_epochs=epochs, burnin=0.5, batch_size=64, random_state=seed,
            verbose=0 if quiet else 1, **progress)
        start = time.perf_counter()
        clf.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        row = {"model": label, "accuracy": clf.score(X_test, y_test),
               "sigma": clf.spectral_norms_, "seconds": seconds, "distance": None,
               "attack_seconds": 0.0}
        if attack_samples:
            start = time.perf_counter()
            row["distance"] = RobustnessScorer(n_samples=attack_samples, random_state=seed,
                                               verbose=0 if quiet else 1)(clf, X_test, y_test)
            row["attack_seconds"] = time.perf_counter() - start
        rows.append(row)
        # Each row as soon as its model is done.
        print(line([row["model"], f"{row['accuracy']:.4f}"]
                   + [f"{row['sigma'][n]:.3f}" for n in layers] + [f"{row['seconds']:.1f}"]
                   + ([f"{row['distance']:.4f}", f"{row['attack_seconds']:.1f}"]
                      if attack_samples else [])), file=file, flush=True)
    return rows


def main(argv=None):
    """Entry point of the ``skspectral`` console script."""
    from . import __version__

    parser = argparse.ArgumentParser(prog="skspectral", description=__doc__.strip())
    parser.add_argument("--version", action="version", version=f"skspectral {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    summary = ("train unregularized, ll-spectral and rep-spectral MLPs on scikit-learn's "
               "embedded digits data and print, per model, test accuracy, each layer's top "
               "singular value, training time and the mean Tangent Attack distance")
    demo = sub.add_parser("demo", help=summary, description=summary[0].upper() + summary[1:]
                          + ".")
    demo.add_argument("--epochs", type=_number(int, 2), default=200,
                      help="training epochs, >= 2 (default 200)")
    demo.add_argument("--gamma", type=_number(float, 0.0), default=2e-2,
                      help="penalty strength, >= 0 (default 0.02)")
    demo.add_argument("--hidden", type=_number(int, 1), default=1024,
                      help="hidden-layer width (default 1024)")
    demo.add_argument("--seed", type=_number(int, 0), default=0, help="random_state (default 0)")
    demo.add_argument("--attack-samples", type=_number(int, 0), default=100,
                      help="test samples attacked per model, 0 for no attack (default 100)")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    _add_reproduce(sub)
    args = parser.parse_args(argv)
    if args.command == "demo":
        run_demo(epochs=args.epochs, gamma=args.gamma, hidden=args.hidden, seed=args.seed,
                 attack_samples=args.attack_samples, quiet=args.quiet)
    elif args.command == "reproduce":
        return run_reproduce(args, parser)
    return 0


_REPRODUCE_FLAGS = {  # flag: (setting, help)
    "--epochs": ("epochs", "training epochs (the pretraining's for transfer-mnist)"),
    "--train-samples": ("train_samples", "training images used"),
    "--test-samples": ("test_samples", "test images the accuracy is measured on"),
    "--attack-samples": ("attack_samples", "correctly classified test samples attacked per "
                                           "model"),
    "--max-queries": ("max_queries", "query budget per sample ('none': the full attack)"),
}


def _setting_value(text):
    """A setting from the command line: int, float, or None ("none")."""
    if text.lower() == "none":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    raise argparse.ArgumentTypeError(f"expected a number or 'none', got {text!r}")


def _add_reproduce(sub):
    from .experiments import EXPERIMENTS

    lines = "\n".join(f"  {name:<15s} {e.description}; settings: "
                      + ", ".join(f"{k}={v}" for k, v in e.defaults.items())
                      for name, e in EXPERIMENTS.items())
    summary = ("run an experiment of the paper for every regularizer and seed, resumably, "
               "and write per-sample results (samples.csv), a summary (summary.json) and "
               "figures (PNG)")
    rep = sub.add_parser(
        "reproduce", help=summary, formatter_class=argparse.RawDescriptionHelpFormatter,
        description=summary[0].upper() + summary[1:] + ".",
        epilog=f"experiments (defaults are the paper's budgets):\n{lines}\n\nA unit (condition, "
               "regularizer, seed) that has finished in OUT is never recomputed: run the "
               "same command again to continue an interrupted run.")
    rep.add_argument("experiment", choices=list(EXPERIMENTS))
    rep.add_argument("--out", required=True, help="output folder (resumed if it exists)")
    rep.add_argument("--seeds", type=_number(int, 1), default=10,
                     help="seeds 0 .. N-1 (default 10, the paper's)")
    rep.add_argument("--jobs", type=_number(int, 1), default=1,
                     help="units run in parallel, each with cpu_count/J threads (default 1)")
    rep.add_argument("--device", default="auto", help="'auto', 'cpu' or 'cuda' (default auto)")
    rep.add_argument("--data-home", default=None,
                     help="folder holding MNIST/raw (default: $SKSPECTRAL_DATA, else "
                          "~/skspectral_data)")
    rep.add_argument("--only", default=None, metavar="CONDITIONS",
                     help="comma-separated subset of the experiment's conditions")
    for flag, (setting, text) in _REPRODUCE_FLAGS.items():
        rep.add_argument(flag, dest=setting, type=_setting_value, default=argparse.SUPPRESS,
                         help=text)
    rep.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="any other setting of the experiment (repeatable)")
    rep.add_argument("--quiet", action="store_true", help="no progress bar")


def run_reproduce(args, parser):
    """Run ``skspectral reproduce`` from parsed arguments; print where the results are."""
    from .experiments import get_experiment, reproduce

    experiment = get_experiment(args.experiment)
    overrides = {setting: getattr(args, setting) for setting, _ in _REPRODUCE_FLAGS.values()
                 if hasattr(args, setting)}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--set expects KEY=VALUE, got {item!r}")
        try:
            overrides[key] = _setting_value(value)
        except argparse.ArgumentTypeError as exc:
            parser.error(f"--set {key}: {exc}")
    unknown = sorted(set(overrides) - set(experiment.defaults))
    if unknown:
        parser.error(f"{experiment.name} has no setting(s) {unknown}; its settings are "
                     f"{sorted(experiment.defaults)}")
    conditions = None if args.only is None else args.only.split(",")
    try:
        summary = reproduce(experiment, args.out, seeds=args.seeds, jobs=args.jobs,
                            device=args.device, conditions=conditions, overrides=overrides,
                            data_home=args.data_home, quiet=args.quiet)
    except (ValueError, FileNotFoundError) as exc:
        print(f"skspectral reproduce: error: {exc}", file=sys.stderr)
        return 2
    print(f"{experiment.name}: {len(summary['records'])} model records, "
          f"{len(summary['missing_units'])} units missing; wrote {args.out}/summary.json, "
          f"samples.csv and {', '.join(summary['figures']) or 'no figure'}")
    _print_models(summary["models"])
    return 0


def _print_models(models):
    print(f"{'condition':<14s} {'regularizer':<11s} {'readout':<16s} {'seeds':>5s} "
          f"{'test acc':>16s} {'mean TA dist':>18s}")
    for m in models:
        print(f"{m['condition']:<14s} {m['regularizer']:<11s} {m['readout']:<16s} "
              f"{m['n_seeds']:>5d} {m['accuracy_mean']:8.4f} ({m['accuracy_std']:.4f}) "
              f"{m['mean_distance_mean']:9.4f} ({m['mean_distance_std']:.4f})")


if __name__ == "__main__":
    sys.exit(main())
