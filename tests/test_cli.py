"""The skspectral command."""

import subprocess
import sys

import pytest

from skspectral.cli import main
from skspectral.experiments import run_demo


def test_demo_prints_one_row_per_model(capsys):
    rows = run_demo(epochs=4, hidden=32, attack_samples=5, quiet=True)
    out = capsys.readouterr()
    assert [r["model"] for r in rows] == ["none", "ll-spectral (all)", "rep-spectral"]
    lines = out.out.strip().splitlines()
    assert lines[1].startswith("sigma[layer]: the layer's top singular value")
    assert "5 correctly classified test samples" in lines[2] and "attack s:" in lines[2]
    header, rows_printed = lines[3], lines[5:]
    assert "sigma[head]" in header and "train s" in header and "mean adv dist" in header
    assert [line.split()[0] for line in rows_printed] == ["none", "ll-spectral", "rep-spectral"]
    for line, row in zip(rows_printed, rows, strict=True):
        assert line.split()[-2] == f"{row['distance']:.4f}" and row["distance"] > 0
    assert out.err == ""  # --quiet: no progress bars
    for row in rows:
        assert 0.0 <= row["accuracy"] <= 1.0 and row["seconds"] > 0
        assert set(row["sigma"]) == {"features.hidden0", "head"}


def test_demo_shows_progress_unless_quiet(capsys):
    main(["demo", "--epochs", "2", "--hidden", "8", "--attack-samples", "0"])
    err = capsys.readouterr().err
    assert "1/3 none" in err and "2/3 ll-spectral (all)" in err and "3/3 rep-spectral" in err
    assert "2/2" in err


def test_help_and_version(capsys):
    from skspectral import __version__

    for argv in (["--help"], ["demo", "--help"], ["--version"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "(default 200)" in out and "``" not in out
    assert f"skspectral {__version__}" in out


@pytest.mark.parametrize(("args", "message"), [
    (["--epochs", "1"], "argument --epochs: must be >= 2, got 1"),
    (["--attack-samples", "-1"], "argument --attack-samples: must be >= 0"),
    (["--hidden", "0"], "argument --hidden: must be >= 1, got 0"),
    (["--gamma", "-1"], "argument --gamma: must be >= 0.0, got -1"),
    (["--gamma", "nan"], "argument --gamma: must be >= 0.0, got nan"),
    (["--epochs", "ten"], "argument --epochs: expected int, got 'ten'"),
])
def test_bad_arguments_exit_with_usage(capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        main(["demo", *args])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_python_dash_m_runs_the_same_command():
    result = subprocess.run([sys.executable, "-m", "skspectral", "demo", "--epochs", "2",
                             "--hidden", "8", "--attack-samples", "3", "--quiet"],
                            capture_output=True, text=True, timeout=300, check=True)
    assert "rep-spectral" in result.stdout and "mean adv dist" in result.stdout
