"""The skspectral command."""

import subprocess
import sys

import pytest

from skspectral.cli import main, run_demo


def test_demo_prints_one_row_per_model(capsys):
    rows = run_demo(epochs=4, hidden=32, attack_samples=5, quiet=True)
    out = capsys.readouterr()
    assert [r["model"] for r in rows] == ["none", "ll-spectral (all)", "rep-spectral"]
    lines = out.out.strip().splitlines()
    assert "5 correctly classified test samples" in lines[1]
    lines = lines[1:]  # the attack's description
    assert "sigma[head]" in lines[1] and "train s" in lines[1]
    assert "mean adv dist" in lines[1]
    assert [line.split()[0] for line in lines[3:]] == ["none", "ll-spectral", "rep-spectral"]
    for line, row in zip(lines[3:], rows, strict=True):
        assert line.split()[-2] == f"{row['distance']:.4f}" and row["distance"] > 0
    assert out.err == ""  # --quiet: no progress bars
    for row in rows:
        assert 0.0 <= row["accuracy"] <= 1.0 and row["seconds"] > 0
        assert set(row["sigma"]) == {"features.hidden0", "head"}


def test_demo_shows_progress_unless_quiet(capsys):
    main(["demo", "--epochs", "2", "--hidden", "8", "--attack-samples", "0"])
    assert "2/2" in capsys.readouterr().err


@pytest.mark.parametrize(("args", "message"), [(["--epochs", "1"], "--epochs must be >= 2"),
                                               (["--attack-samples", "-1"], "--attack-samples")])
def test_bad_arguments_exit_with_usage(capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        main(["demo", *args])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_python_dash_m_runs_the_same_command():
    result = subprocess.run([sys.executable, "-m", "skspectral", "demo", "--epochs", "2",
                             "--hidden", "8", "--attack-samples", "3", "--quiet"],
                            capture_output=True, text=True, timeout=300, check=True)
    assert "rep-spectral" in result.stdout and "mean adv dist" in result.stdout
