"""The skspectral command."""

import subprocess
import sys

import pytest

from skspectral.cli import main, run_demo


def test_demo_prints_one_row_per_model(capsys):
    rows = run_demo(epochs=4, hidden=32, quiet=True)
    out = capsys.readouterr()
    assert [r["model"] for r in rows] == ["none", "ll-spectral (all)", "rep-spectral"]
    lines = out.out.strip().splitlines()
    assert "test acc" in lines[1] and "sigma[features.hidden0]" in lines[1]
    assert "sigma[head]" in lines[1] and "train s" in lines[1]
    assert [line.split()[0] for line in lines[3:]] == ["none", "ll-spectral", "rep-spectral"]
    assert out.err == ""  # --quiet: no progress bars
    for row in rows:
        assert 0.0 <= row["accuracy"] <= 1.0 and row["seconds"] > 0
        assert set(row["sigma"]) == {"features.hidden0", "head"}


def test_demo_shows_progress_unless_quiet(capsys):
    main(["demo", "--epochs", "2", "--hidden", "8"])
    assert "2/2" in capsys.readouterr().err


def test_bad_arguments_exit_with_usage(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--epochs", "1"])
    assert exc.value.code == 2
    assert "--epochs must be >= 2" in capsys.readouterr().err


def test_python_dash_m_runs_the_same_command():
    result = subprocess.run([sys.executable, "-m", "skspectral", "demo", "--epochs", "2",
                             "--hidden", "8", "--quiet"], capture_output=True, text=True,
                            timeout=300, check=True)
    assert "rep-spectral" in result.stdout
