"""The skspectral command: spectral regularization for adversarially robust representations.

This module only parses the command line; the work is in :mod:`skspectral.experiments`.
"""

import argparse
import sys

__all__ = ["main"]


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


def main(argv=None):
    """Entry point of the ``skspectral`` console script."""
    from ._version import __version__

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
        from .experiments import run_demo

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
    rep.add_argument("--jobs", type=_number(int, 1), default=None,
                     help="units run in parallel, each with cpu_count/J threads (default 1)")
    rep.add_argument("--scheduler", default=None, metavar="ADDRESS",
                     help="run the units on a Dask cluster (the dask extra): a scheduler's "
                          "address (tcp://host:8786), 'local' (one single-threaded worker per "
                          "core) or 'local:N' (N workers, cpu_count/N threads per unit); not "
                          "with --jobs")
    rep.add_argument("--scheduler-timeout", type=_number(float, 0.0, strict=True), default=10.0,
                     metavar="SECONDS", help="seconds to wait for the scheduler (default 10)")
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


def _overrides(args, parser, experiment):
    """The settings the flags and ``--set`` give, checked by reproduce's own check of the
    names, here, to show the usage before any work."""
    from .experiments._runner import check_settings

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
    try:
        check_settings(experiment, overrides)
    except ValueError as exc:
        parser.error(str(exc))
    return overrides


def run_reproduce(args, parser):
    """Run ``skspectral reproduce`` from parsed arguments; print where the results are."""
    from .experiments import get_experiment, print_models, reproduce

    experiment = get_experiment(args.experiment)
    overrides = _overrides(args, parser, experiment)
    conditions = None if args.only is None else args.only.split(",")
    if args.scheduler is not None and args.jobs is not None:
        parser.error("--jobs and --scheduler both say where units run: --jobs for processes "
                     "of this machine, --scheduler for a Dask cluster; pass one")
    from ._threads import dask_distributed
    from .parallel import ClusterError

    if args.scheduler is not None:
        try:
            dask_distributed()  # without the extra: the error names it, before any work
        except ImportError as exc:
            print(f"skspectral reproduce: error: {exc}", file=sys.stderr)
            return 2
    try:
        summary = reproduce(experiment, args.out, seeds=args.seeds, jobs=args.jobs or 1,
                            device=args.device, conditions=conditions, overrides=overrides,
                            data_home=args.data_home, quiet=args.quiet,
                            scheduler=args.scheduler, scheduler_timeout=args.scheduler_timeout)
    except (ValueError, FileNotFoundError, ClusterError) as exc:
        print(f"skspectral reproduce: error: {exc}", file=sys.stderr)
        return 2
    print(f"{experiment.name}: {len(summary['records'])} model records, "
          f"{len(summary['missing_units'])} units missing; wrote {args.out}/summary.json, "
          f"samples.csv and {', '.join(summary['figures']) or 'no figure'}")
    print_models(summary["models"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
