"""``skspectral reproduce``: units run once, resume after an interruption, and every
experiment writes its per-sample rows, summary and figures."""

import csv
import json
import sys

import numpy as np
import pytest

from skspectral.cli import main
from skspectral.experiments import EXPERIMENTS, Experiment, Unit, reproduce, summarize

PNG = b"\x89PNG\r\n\x1a\n"


class Counting(Experiment):
    """Two conditions x two regularizers; each unit's distance is a known function of it,
    and every run is logged to a file, so a test sees which units ran."""

    name = "counting"
    description = "a test double"
    conditions = ("a", "b")
    regularizers = ("none", "rep")
    defaults = dict(scale=1.0, fail=None)

    def run(self, unit, settings, store):
        with open(store / "ran.log", "a") as log:
            log.write(unit.id + "\n")
        if settings["fail"] == unit.id:
            raise RuntimeError(f"interrupted in {unit.id}")
        distance = settings["scale"] * (1 + unit.seed + (unit.regularizer == "rep"))
        keys = dict(condition=unit.condition, regularizer=unit.regularizer, seed=unit.seed,
                    readout="end-to-end")
        samples = [dict(keys, sample=i, label=i % 2, distance=distance + i, queries=10)
                   for i in range(2)]
        return [dict(keys, accuracy=0.5 + 0.1 * unit.seed, mean_distance=distance + 0.5)], samples

    def figures(self, records, samples, settings, out, store):
        return []


def _ran(out):
    path = out / "store" / "ran.log"
    return path.read_text().split() if path.exists() else []


def test_units_are_seed_major_over_conditions_and_regularizers():
    units = Counting().units(2, conditions=["b"])
    assert [u.id for u in units] == ["b__none__seed0", "b__rep__seed0", "b__none__seed1",
                                     "b__rep__seed1"]
    assert Unit("a", "rep", 3).id == "a__rep__seed3"


def test_a_finished_unit_is_never_recomputed(tmp_path):
    summary = reproduce(Counting(), tmp_path, seeds=2, quiet=True)
    assert len(_ran(tmp_path)) == 8 and summary["missing_units"] == []
    again = reproduce(Counting(), tmp_path, seeds=3, quiet=True)  # one more seed
    assert _ran(tmp_path)[8:] == ["a__none__seed2", "a__rep__seed2", "b__none__seed2",
                                  "b__rep__seed2"]
    assert len(again["records"]) == 12


def test_an_interrupted_run_continues_where_it_stopped(tmp_path):
    with pytest.raises(RuntimeError, match="interrupted in a__rep__seed1"):
        reproduce(Counting(), tmp_path, seeds=2, overrides={"fail": "a__rep__seed1"},
                  quiet=True)
    assert len(_ran(tmp_path)) == 6  # four of seed 0, a__none__seed1, then the failure
    assert not list((tmp_path / "units").glob("*.part"))
    (tmp_path / "settings.json").unlink()  # the user lifts the cause and runs again
    summary = reproduce(Counting(), tmp_path, seeds=2, quiet=True)
    assert _ran(tmp_path)[6:] == ["a__rep__seed1", "b__none__seed1", "b__rep__seed1"]
    assert summary["missing_units"] == [] and len(summary["records"]) == 8


def test_resuming_with_other_settings_is_refused(tmp_path):
    reproduce(Counting(), tmp_path, seeds=1, quiet=True)
    with pytest.raises(ValueError, match=r"differs in \['scale'\]"):
        reproduce(Counting(), tmp_path, seeds=1, overrides={"scale": 2.0}, quiet=True)


def test_unknown_settings_conditions_and_experiments_are_named(tmp_path):
    with pytest.raises(ValueError, match=r"Unknown setting\(s\) \['epochs'\] of 'counting'"):
        reproduce(Counting(), tmp_path, overrides={"epochs": 3})
    with pytest.raises(ValueError, match=r"Unknown condition\(s\) \['c'\]"):
        reproduce(Counting(), tmp_path, conditions=["c"])
    with pytest.raises(ValueError, match="Unknown experiment 'cifar'"):
        reproduce("cifar", tmp_path)
    with pytest.raises(ValueError, match="'seeds' parameter of reproduce"):
        reproduce(Counting(), tmp_path, seeds=0)


def test_outputs_hold_every_sample_and_the_statistics_over_seeds(tmp_path):
    summary = reproduce(Counting(), tmp_path, seeds=2, overrides={"scale": 2.0}, quiet=True)
    with open(tmp_path / "samples.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 16 and list(rows[0]) == ["condition", "regularizer", "seed",
                                                  "readout", "sample", "label", "distance",
                                                  "queries"]
    written = json.loads((tmp_path / "summary.json").read_text())
    assert written["settings"] == {"scale": 2.0, "fail": None, "device": "auto",
                                   "data_home": None}
    assert written["models"] == summary["models"]
    rep_a = next(m for m in summary["models"] if m["condition"] == "a"
                 and m["regularizer"] == "rep")
    # seeds 0 and 1: distances 2 * (1 + seed + 1) + 0.5 = 4.5 and 6.5; accuracy 0.5, 0.6
    assert rep_a["mean_distance_mean"] == 5.5 and rep_a["mean_distance_std"] == 1.0
    assert rep_a["accuracy_mean"] == pytest.approx(0.55) and rep_a["n_seeds"] == 2
    assert [(m["condition"], m["regularizer"]) for m in summary["models"]] == [
        ("a", "none"), ("a", "rep"), ("b", "none"), ("b", "rep")]


def test_without_matplotlib_the_results_are_written_and_the_figures_left_for_a_rerun(
        tmp_path, monkeypatch):
    settings = dict(epochs=5, attack_samples=2, max_queries=100)
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
        patch.setitem(sys.modules, "matplotlib.figure", None)
        with pytest.warns(UserWarning, match=r"pip install 'skspectral\[plot\]'"):
            summary = reproduce("xor", tmp_path, seeds=1, conditions=["clean-wd0"],
                                overrides=settings, quiet=True)
    assert summary["figures"] == [] and len(summary["records"]) == 4
    again = reproduce("xor", tmp_path, seeds=1, conditions=["clean-wd0"], overrides=settings,
                      quiet=True)
    assert again["figures"] == ["xor_distance.png", "xor_regions.png"]
    assert again["records"] == summary["records"]  # nothing was recomputed


def test_summarize_groups_by_model():
    records = [dict(condition="c", regularizer=r, readout="x", accuracy=a, mean_distance=d)
               for r, a, d in (("none", 1.0, 2.0), ("rep", 0.5, 1.0), ("none", 0.0, 4.0))]
    assert summarize(records) == [
        dict(condition="c", regularizer="none", readout="x", n_seeds=2, accuracy_mean=0.5,
             accuracy_std=0.5, mean_distance_mean=3.0, mean_distance_std=1.0),
        dict(condition="c", regularizer="rep", readout="x", n_seeds=1, accuracy_mean=0.5,
             accuracy_std=0.0, mean_distance_mean=1.0, mean_distance_std=0.0)]


# ------------------------------------------------------------------ the real experiments
_TINY = {"xor": ["--epochs", "30", "--attack-samples", "3", "--max-queries", "300"],
         "mnist": ["--epochs", "1", "--train-samples", "200", "--test-samples", "60",
                   "--attack-samples", "2", "--max-queries", "200", "--set",
                   "readout_max_iter=50"],
         "resnet-mnist": ["--epochs", "1", "--train-samples", "64", "--test-samples", "32",
                          "--attack-samples", "2", "--max-queries", "100"],
         "barlow-mnist": ["--epochs", "1", "--train-samples", "64", "--test-samples", "32",
                          "--attack-samples", "2", "--max-queries", "100", "--set",
                          "readout_samples=64", "--set", "readout_max_iter=50"],
         "transfer-mnist": ["--epochs", "1", "--train-samples", "64", "--test-samples", "32",
                            "--attack-samples", "2", "--max-queries", "100", "--set",
                            "finetune_epochs=2"]}
_FIGURES = {"xor": ["xor_distance.png", "xor_regions.png"]}


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_every_experiment_runs_end_to_end_from_the_command_line(name, tmp_path, capsys,
                                                                 request):
    experiment = EXPERIMENTS[name]
    argv = ["reproduce", name, "--out", str(tmp_path), "--seeds", "1", "--quiet", *_TINY[name]]
    if name != "xor":
        argv += ["--data-home", str(request.getfixturevalue("mnist_home"))]
    if name == "xor":
        argv += ["--only", "clean-wd0"]
    assert main(argv) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    readouts = {"mnist": 2, "transfer-mnist": 2}.get(name, 1)
    assert len(summary["records"]) == len(experiment.regularizers) * readouts
    for record in summary["records"]:
        assert 0.0 <= record["accuracy"] <= 1.0 and record["mean_distance"] > 0
    with open(tmp_path / "samples.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == sum(r["n_attacked"] for r in summary["records"])
    assert all(float(r["distance"]) > 0 and int(r["queries"]) <= 300 for r in rows)
    expected = _FIGURES.get(name, [f"{name.replace('-', '_')}_seeds.png",
                                   f"{name.replace('-', '_')}_distances.png"])
    assert summary["figures"] == expected
    for figure in expected:
        assert (tmp_path / figure).read_bytes()[:8] == PNG
    out = capsys.readouterr().out
    assert f"wrote {tmp_path}/summary.json" in out


def test_parallel_units_give_the_results_of_serial_ones(tmp_path):
    settings = dict(epochs=30, attack_samples=3, max_queries=300)
    serial = reproduce("xor", tmp_path / "serial", seeds=1, conditions=["clean-wd0"],
                       overrides=settings, quiet=True)
    parallel = reproduce("xor", tmp_path / "parallel", seeds=1, jobs=2,
                         conditions=["clean-wd0"], overrides=settings, quiet=True)

    def strip(records):
        return [{k: v for k, v in r.items() if not k.endswith("seconds")} for r in records]

    assert strip(parallel["records"]) == strip(serial["records"])
    assert (tmp_path / "parallel" / "samples.csv").read_text() == (
        tmp_path / "serial" / "samples.csv").read_text()


@pytest.mark.parametrize(("args", "message"), [
    (["xor", "--out", "o", "--train-samples", "5"],
     "Unknown setting(s) ['train_samples'] of 'xor'"),
    (["xor", "--out", "o", "--set", "epochs"], "--set expects KEY=VALUE, got 'epochs'"),
    (["xor", "--out", "o", "--set", "epochs=many"], "--set epochs: expected a number or "
                                                   "'none', got 'many'"),
    (["xor", "--out", "o", "--seeds", "0"], "argument --seeds: must be >= 1, got 0"),
    (["cifar", "--out", "o"], "argument experiment: invalid choice: 'cifar'"),
])
def test_bad_reproduce_arguments_exit_with_usage(capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        main(["reproduce", *args])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_a_run_error_is_reported_without_a_traceback(tmp_path, capsys):
    assert main(["reproduce", "xor", "--out", str(tmp_path), "--seeds", "1", "--only",
                 "clean-wd9"]) == 2
    assert "Unknown condition(s) ['clean-wd9'] of 'xor'" in capsys.readouterr().err


def test_the_help_lists_every_experiment_with_its_settings(capsys):
    with pytest.raises(SystemExit):
        main(["reproduce", "--help"])
    out = capsys.readouterr().out
    for name, experiment in EXPERIMENTS.items():
        assert name in out and f"epochs={experiment.defaults['epochs']}" in out
    assert np.all([f"{k}=" in out for k in EXPERIMENTS["transfer-mnist"].defaults])
