"""Run an experiment's units resumably and in parallel, then merge and draw.

Layout of the output folder::

    settings.json      the experiment and its settings (a resumed run must match them)
    units/<id>.json    one finished unit's records (written last: its presence = done)
    units/<id>.csv     its per-sample rows
    checkpoints/<id>/  a running unit's training checkpoints, one folder per model
                       (removed once the unit's results are written)
    store/             files a unit leaves for the figures (e.g. a pickled model)
    samples.csv        every finished unit's per-sample rows
    summary.json       settings, per-unit records, mean/std per model over seeds
    *.png              the figures
"""

import contextlib
import csv
import json
import os
import shutil
import time
import warnings
from pathlib import Path

import numpy as np

from .._files import differences, write_atomic
from .._params import constraints, validate
from .._threads import thread_limits
from ._registry import get_experiment

__all__ = ["print_models", "reproduce", "run_units", "summarize"]

_SAMPLE_FIELDS = ("condition", "regularizer", "seed", "readout", "sample", "label", "distance",
                  "queries")


def _write_rows(path, rows, fields=_SAMPLE_FIELDS):
    def write(f):
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="raise")
        writer.writeheader()
        writer.writerows(rows)
    write_atomic(path, write)


def _read_rows(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:  # back to numbers (inf stays inf)
        row["seed"], row["sample"], row["label"] = (int(row["seed"]), int(row["sample"]),
                                                    int(row["label"]))
        row["distance"], row["queries"] = float(row["distance"]), int(row["queries"])
    return rows


def _run_unit(experiment, unit, settings, store, checkpoints, threads):
    """Run one unit in this process with ``threads`` torch/BLAS threads, its models
    checkpointing into ``checkpoints``; return its records (``unit_seconds`` added) and
    per-sample rows."""
    settings = dict(settings, checkpoint_dir=str(checkpoints))
    with thread_limits(threads):
        start = time.perf_counter()
        records, samples = experiment.run(unit, settings, store)
        seconds = time.perf_counter() - start
    for record in records:
        record["unit_seconds"] = round(seconds, 3)
    return records, samples


def _write_unit(out, unit, records, samples):
    """Write a finished unit's rows, then its records (their presence marks it done), and
    remove its checkpoints."""
    _write_rows(out / "units" / f"{unit.id}.csv", samples)
    write_atomic(out / "units" / f"{unit.id}.json",
                  lambda f: json.dump(records, f, indent=1, default=_json_default))
    shutil.rmtree(out / "checkpoints" / unit.id, ignore_errors=True)


def _run_and_write(experiment, unit, settings, out, threads):
    """Run one unit in this process with ``threads`` torch/BLAS threads; write its files.

    Its models checkpoint into ``checkpoints/<unit id>/`` (``settings["checkpoint_dir"]``),
    so a unit interrupted inside training resumes there; the folder goes once the unit's
    results are written.
    """
    records, samples = _run_unit(experiment, unit, settings, out / "store",
                            out / "checkpoints" / unit.id, threads)
    _write_unit(out, unit, records, samples)
    return unit


def _run_unit_on_worker(experiment, unit, settings, out, marker):
    """Run one unit in a Dask worker; return its results and the files it stored.

    Nothing is written into ``out`` but checkpoints, and those only where the worker sees
    the client's folder (its ``marker`` file, made for this run, is there: a shared file
    system), so that a unit rerun after a lost worker resumes inside training; elsewhere the
    unit runs in a temporary folder of the worker. The client writes the results.
    """
    import tempfile

    from .._threads import task_threads
    from .._version import __version__

    shared = (out / "checkpoints" / marker).exists()
    with tempfile.TemporaryDirectory(prefix=f"skspectral-{unit.id}-") as tmp:
        store = Path(tmp) / "store"
        store.mkdir()
        checkpoints = out / "checkpoints" / unit.id if shared else Path(tmp) / "checkpoints"
        records, samples = _run_unit(experiment, unit, settings, store, checkpoints,
                                task_threads() or 1)
        files = {path.relative_to(store).as_posix(): path.read_bytes()
                 for path in sorted(store.rglob("*")) if path.is_file()}
    return dict(records=records, samples=samples, files=files, version=__version__)


def _dask_result(future, unit, client):
    """What the Dask task of ``unit`` returned, from a worker of this skspectral version."""
    from .._threads import dask_distributed
    from .._version import __version__
    from ..parallel import ClusterError, check_workers

    try:
        result = future.result()
    except dask_distributed().KilledWorker as exc:
        raise ClusterError(
            f"Unit {unit.id} was running on every worker that died while running it ({exc}); "
            "out of memory? Finished units are kept: run the same command again to "
            "continue.") from exc
    except ImportError as exc:
        if "skspectral" in str(exc):  # a worker joined without skspectral
            check_workers(client)  # names it
        raise
    if result["version"] != __version__:
        raise ClusterError(
            f"Unit {unit.id} was computed by a Dask worker with skspectral "
            f"{result['version']}, not this {__version__}; it is not written. Install the "
            "same version on every worker.")
    return result


def _run_on_dask(experiment, todo, settings, out, scheduler, timeout, bar, done):
    """Run ``todo`` as Dask tasks of ``scheduler``; write each unit's files as it returns."""
    from uuid import uuid4

    from .._threads import dask_distributed
    from ..parallel import open_client

    distributed = dask_distributed()
    marker = out / "checkpoints" / f".client-{uuid4().hex}"
    marker.parent.mkdir(exist_ok=True)
    marker.touch()
    try:
        with open_client(scheduler, timeout=timeout) as client:
            futures = {client.submit(_run_unit_on_worker, experiment, unit, settings, out,
                                     marker.name, pure=False,
                                     key=f"{experiment.name}-{unit.id}-{uuid4().hex[:8]}"):
                       unit for unit in todo}
            try:
                for future in distributed.as_completed(futures):
                    unit = futures[future]
                    result = _dask_result(future, unit, client)
                    for name, content in result["files"].items():
                        path = out / "store" / name
                        path.parent.mkdir(parents=True, exist_ok=True)
                        write_atomic(path, content)
                    _write_unit(out, unit, result["records"], result["samples"])
                    done.append(unit)
                    bar.set_postfix_str(unit.id)
                    bar.update()
            finally:
                client.cancel(list(futures))  # what has not finished (an error, Ctrl-C)
    finally:
        marker.unlink(missing_ok=True)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def run_units(experiment, units, settings, out, jobs=1, quiet=False, scheduler=None,
              scheduler_timeout=10.0):
    """Run the units that have no result in ``out`` yet, ``jobs`` at a time or on Dask.

    Parameters
    ----------
    experiment : Experiment
        The experiment whose :meth:`~Experiment.run` computes each unit.
    units : list of Unit
        The units wanted; those with a result file in ``out/units`` are skipped.
    settings : dict
        The settings every unit runs with (the experiment's ``defaults`` with overrides,
        plus ``device`` and ``data_home``).
    out : pathlib.Path
        The output folder: results go to ``out/units``, stored files to ``out/store``,
        checkpoints to ``out/checkpoints``.
    jobs : int, default=1
        Parallel worker processes (joblib). Each gets ``cpu_count // jobs`` (at least one)
        torch and BLAS threads, so workers do not oversubscribe the cores; with one job the
        unit runs in this process with torch's current thread count.
    quiet : bool, default=False
        No progress bar.
    scheduler : str, default=None
        Run the units as tasks of a dask.distributed cluster instead (the ``dask`` extra):
        a scheduler's address, ``"local"`` or ``"local:N"`` (see
        :func:`skspectral.parallel.open_client`); ``jobs`` must then be 1. Each unit runs in
        a worker with :func:`skspectral.parallel.task_threads` threads and comes back to
        this process, which writes its files as it arrives: the workers need no shared file
        system (where they share ``out``, their checkpoints go there). A unit whose worker
        is lost reruns on another.
    scheduler_timeout : float, default=10.0
        Seconds to wait for the scheduler; past them a
        :class:`~skspectral.parallel.ClusterError` names the address.

    Returns
    -------
    done : list of Unit
        The units run now (finished ones are skipped).

    See Also
    --------
    reproduce : Runs the units, then merges their results and draws the figures.

    Examples
    --------
    A unit's result file marks it done, so a second call runs nothing:

    >>> from skspectral.experiments import Experiment
    >>> class Toy(Experiment):  # one record and one sample row per unit
    ...     name, conditions, regularizers = "toy", ("a",), ("none", "rep")
    ...
    ...     def run(self, unit, settings, store):
    ...         keys = dict(condition="a", regularizer=unit.regularizer, seed=unit.seed,
    ...                     readout="end-to-end")
    ...         return ([dict(keys, accuracy=1.0, mean_distance=1.0)],
    ...                 [dict(keys, sample=0, label=1, distance=1.0, queries=10)])
    ...
    ...     def figures(self, records, samples, settings, out, store):
    ...         return []
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skspectral.experiments import run_units
    >>> toy = Toy()
    >>> with tempfile.TemporaryDirectory() as out:
    ...     first = run_units(toy, toy.units(seeds=2), toy.defaults, Path(out), quiet=True)
    ...     again = run_units(toy, toy.units(seeds=2), toy.defaults, Path(out), quiet=True)
    ...     files = sorted(p.name for p in (Path(out) / "units").iterdir())
    >>> [unit.id for unit in first], again
    (['a__none__seed0', 'a__rep__seed0', 'a__none__seed1', 'a__rep__seed1'], [])
    >>> files[:2]
    ['a__none__seed0.csv', 'a__none__seed0.json']
    """
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    (out / "units").mkdir(parents=True, exist_ok=True)
    (out / "store").mkdir(exist_ok=True)
    todo = [u for u in units if not (out / "units" / f"{u.id}.json").exists()]
    bar = tqdm(total=len(units), initial=len(units) - len(todo), unit="unit",
               desc=f"reproduce {experiment.name}", disable=quiet)
    done = []
    try:
        if scheduler is not None:
            if todo:
                _run_on_dask(experiment, todo, settings, out, scheduler, scheduler_timeout,
                             bar, done)
        elif jobs == 1:
            import torch
            for unit in todo:
                bar.set_postfix_str(unit.id)
                done.append(_run_and_write(experiment, unit, settings, out,
                                           torch.get_num_threads()))
                bar.update()
        else:
            threads = max(1, (os.cpu_count() or 1) // jobs)
            tasks = (delayed(_run_and_write)(experiment, u, settings, out, threads) for u in todo)
            for unit in Parallel(n_jobs=jobs, return_as="generator_unordered")(tasks):
                done.append(unit)
                bar.set_postfix_str(unit.id)
                bar.update()
    finally:
        bar.close()
    return done


def summarize(records):
    """Mean, standard deviation and count over seeds per (condition, regularizer, readout),
    in the order the models first appear in ``records``.

    Parameters
    ----------
    records : list of dict
        One per model and seed, with ``condition``, ``regularizer``, ``readout``,
        ``accuracy`` and ``mean_distance`` (as :meth:`Experiment.run` returns them).

    Returns
    -------
    models : list of dict
        Per model: ``condition``, ``regularizer``, ``readout``, ``n_seeds``,
        ``accuracy_mean``, ``accuracy_std``, ``mean_distance_mean`` and
        ``mean_distance_std`` (population std over seeds).

    See Also
    --------
    print_models : Prints the result as a table.

    Examples
    --------
    >>> from skspectral.experiments import summarize
    >>> records = [
    ...     dict(condition="mlp", regularizer=reg, readout="end-to-end", seed=seed,
    ...          accuracy=acc, mean_distance=dist)
    ...     for reg, seed, acc, dist in [("none", 0, 0.98, 1.0), ("none", 1, 0.96, 1.5),
    ...                                  ("rep", 0, 0.97, 2.0), ("rep", 1, 0.97, 3.0)]]
    >>> for model in summarize(records):
    ...     print(model["regularizer"], model["n_seeds"], round(model["accuracy_mean"], 4),
    ...           model["mean_distance_mean"], model["mean_distance_std"])
    none 2 0.97 1.25 0.25
    rep 2 0.97 2.5 0.5
    """
    groups = {}
    for r in records:
        groups.setdefault((r["condition"], r["regularizer"], r["readout"]), []).append(r)
    rows = []
    for (condition, regularizer, readout), group in groups.items():
        row = dict(condition=condition, regularizer=regularizer, readout=readout,
                   n_seeds=len(group))
        for key in ("accuracy", "mean_distance"):
            values = np.array([g[key] for g in group], dtype=float)
            row[f"{key}_mean"], row[f"{key}_std"] = float(values.mean()), float(values.std())
        rows.append(row)
    return rows


def _check_settings(out, header):
    path = out / "settings.json"
    if path.exists():
        previous = json.loads(path.read_text())
        if previous != header:
            changed = [name for name, _, _ in differences(previous["settings"],
                                                          header["settings"])]
            if previous["experiment"] != header["experiment"]:
                changed = ["experiment"]
            raise ValueError(
                f"{out} holds units of another configuration (differs in {changed}: "
                f"{ {k: previous['settings'].get(k, previous.get(k)) for k in changed} }); "
                "resume with the same settings, or choose another --out.")
    else:
        out.mkdir(parents=True, exist_ok=True)
        write_atomic(path, lambda f: json.dump(header, f, indent=1))


def reproduce(experiment, out, seeds=10, jobs=1, device="auto", conditions=None,
              overrides=None, data_home=None, quiet=False, scheduler=None,
              scheduler_timeout=10.0):
    """Run an experiment of the paper, resumably, and write its results and figures.

    Parameters
    ----------
    experiment : str or Experiment
        A name of :data:`~skspectral.experiments.EXPERIMENTS` (``"xor"``, ``"mnist"``,
        ``"resnet-mnist"``, ``"barlow-mnist"``, ``"transfer-mnist"``) or an instance.
    out : str or path-like
        The output folder; a folder holding finished units of the same settings is resumed.
    seeds : int, default=10
        Seeds ``0 .. seeds - 1`` (the paper's figures use 10).
    jobs : int, default=1
        Units run in parallel (see :func:`run_units`).
    device : str, default="auto"
        Device the models train and the attacks run on: ``"auto"`` (CUDA when available)
        or a torch device name such as ``"cpu"`` or ``"cuda:1"``.
    conditions : list of str, default=None
        A subset of the experiment's conditions (all when None).
    overrides : dict, default=None
        Settings to change from the experiment's ``defaults`` (smaller budgets).
    data_home : str or path-like, default=None
        Where MNIST is read from (see :func:`~skspectral.datasets.load_mnist`).
    quiet : bool, default=False
        No progress bar.
    scheduler : str, default=None
        Run the units on a dask.distributed cluster: a scheduler's address
        (``"tcp://host:8786"``), ``"local"`` (a LocalCluster of one single-threaded worker
        per core) or ``"local:N"`` (N workers, each unit with ``cpu_count // N`` threads, as
        ``jobs=N``). Not with ``jobs`` other than 1. See :func:`run_units`.
    scheduler_timeout : float, default=10.0
        Seconds to wait for the scheduler.

    Returns
    -------
    summary : dict
        The summary written to ``summary.json``: ``experiment``, ``settings``, ``seeds``,
        ``records`` (every finished unit's), ``models`` (:func:`summarize`),
        ``missing_units``, ``figures`` (paths) and ``seconds`` (this call's).

    Raises
    ------
    ValueError
        If the experiment, a condition or a setting is unknown, ``seeds`` or ``jobs`` is
        out of range, both ``jobs`` and ``scheduler`` are given, or ``out`` holds units of
        other settings.

    See Also
    --------
    run_units : Runs the units alone.
    print_models : Prints the summary's ``models`` as a table.

    Examples
    --------
    XOR at a tiny budget, one seed of one condition (about 15 s on one core, most of it
    drawing the figures, so not run here):

    >>> from skspectral.experiments import reproduce
    >>> out = "xor_results"  # created by the run; nothing is written on a bad setting
    >>> summary = reproduce(  # doctest: +SKIP
    ...     "xor", out, seeds=1, conditions=["clean-wd0"], quiet=True,
    ...     overrides=dict(epochs=2000, test_per_corner=5, attack_samples=5))
    >>> summary["figures"]  # doctest: +SKIP
    ['xor_distance.png', 'xor_regions.png']

    Settings are checked before anything runs:

    >>> reproduce("xor", out, overrides={"epoch": 10})
    Traceback (most recent call last):
    ...
    ValueError: Unknown setting(s) ['epoch'] of 'xor'; its settings are [...].

    :class:`Experiment` shows a complete run of a small experiment.
    """
    started = time.perf_counter()
    experiment = get_experiment(experiment)
    validate("reproduce", constraints("seeds", "jobs"), {"seeds": seeds, "jobs": jobs})
    if scheduler is not None and jobs != 1:
        raise ValueError(f"jobs={jobs} and scheduler={scheduler!r} both say where units run: "
                         "pass one (jobs: processes of this machine; scheduler: a Dask "
                         "cluster).")
    settings = check_settings(experiment, overrides or {}, conditions)
    out = Path(out)
    # Where it runs and reads from is not part of a unit's identity: units finished on a
    # GPU and on a CPU mix.
    _check_settings(out, {"experiment": experiment.name, "settings": settings})
    settings = dict(settings, device=device,
                    data_home=None if data_home is None else str(data_home))
    units = experiment.units(seeds, conditions)
    run_units(experiment, units, settings, out, jobs=jobs, quiet=quiet, scheduler=scheduler,
              scheduler_timeout=scheduler_timeout)
    with contextlib.suppress(OSError):  # empty once every unit run has finished
        (out / "checkpoints").rmdir()

    records, samples, missing = _finished(experiment, seeds, out)
    try:
        figures = experiment.figures(records, samples, settings, out, out / "store")
    except ImportError as exc:  # the results stand without pictures; a rerun draws them
        warnings.warn(f"No figures drawn ({exc}): install matplotlib (pip install "
                      "'skspectral[plot]') and run the same command again; finished units "
                      "are not recomputed.", stacklevel=2)
        figures = []
    summary = dict(experiment=experiment.name, settings=settings, seeds=seeds,
                   models=summarize(records), records=records, missing_units=missing,
                   figures=[str(Path(p).name) for p in figures],
                   seconds=round(time.perf_counter() - started, 1))
    write_atomic(out / "summary.json",
                  lambda f: json.dump(summary, f, indent=1, default=_json_default))
    return summary


def _finished(experiment, seeds, out):
    """``(records, samples, missing unit ids)`` of the units in ``out``; writes samples.csv."""
    # In the experiment's order (seed-major), whatever order the units finished in.
    finished = [path for u in experiment.units(seeds)
                if (path := out / "units" / f"{u.id}.json").exists()]
    records = [r for path in finished for r in json.loads(path.read_text())]
    samples = [row for path in finished for row in _read_rows(path.with_suffix(".csv"))]
    _write_rows(out / "samples.csv", samples)
    missing = [u.id for u in experiment.units(seeds)
               if not (out / "units" / f"{u.id}.json").exists()]
    records.sort(key=lambda r: (experiment.conditions.index(r["condition"]),
                                experiment.regularizers.index(r["regularizer"]), r["seed"]))
    return records, samples, missing


def check_settings(experiment, overrides, conditions=None):
    """The experiment's settings with ``overrides``; a ValueError names unknown settings or
    ``conditions``."""
    unknown = sorted(set(overrides) - set(experiment.defaults))
    if unknown:
        raise ValueError(f"Unknown setting(s) {unknown} of {experiment.name!r}; its settings "
                         f"are {sorted(experiment.defaults)}.")
    unknown = sorted(set(conditions or ()) - set(experiment.conditions))
    if unknown:
        raise ValueError(f"Unknown condition(s) {unknown} of {experiment.name!r}; its "
                         f"conditions are {list(experiment.conditions)}.")
    return {**experiment.defaults, **overrides}


def print_models(models):
    """Print one line per model of a :func:`reproduce` summary.

    Each line shows the model (condition, regularizer, readout), its number of seeds, and
    its test accuracy and mean Tangent Attack distance as ``mean (std)`` over seeds.

    Parameters
    ----------
    models : list of dict
        The summary's ``models``, as :func:`summarize` returns them.

    Examples
    --------
    >>> from skspectral.experiments import print_models
    >>> print_models([dict(condition="mlp", regularizer="rep", readout="end-to-end",
    ...                    n_seeds=2, accuracy_mean=0.97, accuracy_std=0.01,
    ...                    mean_distance_mean=2.5, mean_distance_std=0.5)])
    condition      regularizer readout          seeds         test acc       mean TA dist
    mlp            rep         end-to-end           2   0.9700 (0.0100)    2.5000 (0.5000)
    """
    print(f"{'condition':<14s} {'regularizer':<11s} {'readout':<16s} {'seeds':>5s} "
          f"{'test acc':>16s} {'mean TA dist':>18s}")
    for m in models:
        print(f"{m['condition']:<14s} {m['regularizer']:<11s} {m['readout']:<16s} "
              f"{m['n_seeds']:>5d} {m['accuracy_mean']:8.4f} ({m['accuracy_std']:.4f}) "
              f"{m['mean_distance_mean']:9.4f} ({m['mean_distance_std']:.4f})")
