"""benchmarks/bench_attacks.py: the white-box reference and the timing's query record."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from skspectral import CGBA


@pytest.fixture(scope="module")
def bench():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_attacks.py"
    spec = importlib.util.spec_from_file_location("_bench_attacks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _linear(n_features=4, n_classes=3, seed=0):
    torch.manual_seed(seed)
    layer = torch.nn.Linear(n_features, n_classes)
    return layer.eval()


def _exact_distances(layer, X, y):
    """Minimum L2 distance to a point another class's logit reaches the true one's: per
    class pair a hyperplane, float64."""
    W = layer.weight.detach().double().numpy()
    b = layer.bias.detach().double().numpy()
    X = X.astype(np.float64)
    out = np.full(len(X), np.inf)
    for i, (x, t) in enumerate(zip(X, y, strict=True)):
        for c in range(len(W)):
            if c != t:
                w = W[t] - W[c]
                out[i] = min(out[i], (w @ x + b[t] - b[c]) / np.linalg.norm(w))
    return out


def test_per_class_white_box_finds_the_exact_distance_of_a_linear_model(bench):
    layer = _linear()
    rng = np.random.default_rng(0)
    X = rng.uniform(0.45, 0.55, size=(12, 4)).astype(np.float32)
    with torch.no_grad():
        y = layer(torch.from_numpy(X)).argmax(1).numpy()
    exact = _exact_distances(layer, X, y)
    assert np.all(exact < 0.45)  # every nearest boundary point lies inside the box [0, 1]
    dist, points = bench.per_class_white_box(layer, X, y, steps=300, device="cpu")
    # no adversarial point is closer than the exact distance (float32 rounding of the point)
    assert np.all(dist >= exact * (1 - 1e-5))
    # FMN's last steps change its norm by gamma_final = 0.001 each
    np.testing.assert_allclose(dist, exact, rtol=1e-2)
    with torch.no_grad():
        labels = layer(torch.from_numpy(points)).argmax(1).numpy()
    assert np.all(labels != y)
    np.testing.assert_allclose(np.linalg.norm(points - X, axis=1), dist, rtol=1e-5)


def test_recorder_sees_every_query_of_an_attack(bench):
    layer = _linear()
    recorder = bench._Recorder(layer)
    X = np.random.default_rng(1).uniform(0.3, 0.7, size=(5, 4)).astype(np.float32)
    result = CGBA(0.0, 1.0, max_queries=300, random_state=0).attack(recorder, X)
    # one more point: the oracle's check that the module takes X's shape
    assert sum(recorder.sizes) == result.queries.sum() + 1


def test_targets_reports_met_and_not_met(bench, capsys):
    rows = [dict(model="m", attack="CGBA", budget=1000, mean=1.10, p90=1.20),
            dict(model="m", attack="CGBA", budget=10_000, mean=1.04, p90=1.14),
            dict(model="m", attack="CGBA", budget=20_000, mean=1.0, p90=1.0),
            dict(model="m", attack="TangentAttack", budget=1000, mean=1.5, p90=2.0)]
    bench.targets(rows, "m", [1000, 10_000, 20_000], "CGBA")
    out = capsys.readouterr().out
    assert "the default here (adversarial_distances, attack='cgba'): CGBA" in out
    assert "CGBA at 10000: mean 1.040, p90 1.140: met; first met at 10000" in out
    assert "CGBA mean / Tangent mean 0.733 <= 0.8: met" in out
    rows[1]["p90"] = 1.16
    bench.targets(rows, "m", [1000, 10_000, 20_000], "CGBA")
    assert "NOT met; first met at none of the budgets" in capsys.readouterr().out


def test_paired_reports_the_mean_ratio_per_sample_and_its_t_interval(bench, capsys):
    runs = {("CGBA", 1000): np.array([1.0, 2.0, 3.0, 4.0]),
            ("TangentAttack", 1000): np.array([2.0, 2.0, 3.0, 8.0]),
            ("CGBA", 2500): np.array([1.0])}  # no Tangent run at 2500: nothing printed
    bench.paired(runs, "CGBA", [1000, 2500])
    # ratios 0.5, 1, 1, 0.5: mean 0.75, sample std sqrt(0.25 / 3), half-width 1.96 std / 2
    assert capsys.readouterr().out == (
        "  paired at 1000: CGBA / TangentAttack per sample, mean 0.750 (95% CI 0.467 to "
        "1.033), below 1 on 2 of 4\n")


def test_rows_from_outputs_reads_the_ratio_tables(bench, tmp_path):
    out = tmp_path / "curves.txt"
    out.write_text(
        "device cpu\n\n"
        "5. digits MLP 64-256-10, test accuracy 0.8833: 200 correctly classified ...\n"
        "  attack                    queries    mean     p90  median     max  seconds\n"
        "  CGBA                         1000   1.120   1.160   1.100   1.717      0.3\n"
        "  best of all runs ...\n"
        "  attack                    queries  wb mean  wb p90 best mean  best p90\n"
        "  CGBA                         1000    1.120   1.160     1.125     1.171\n"
        "  CGBA subspace=0.5            2500    1.043   1.080     1.048     1.087\n"
        "  target at 1000: CGBA mean / Tangent mean 0.729 <= 0.8: met\n")
    assert bench.rows_from_outputs([out]) == [
        dict(model="digits MLP 64-256-10", attack="CGBA", budget=1000, mean=1.12, p90=1.16,
             best_mean=1.125, best_p90=1.171),
        dict(model="digits MLP 64-256-10", attack="CGBA subspace=0.5", budget=2500,
             mean=1.043, p90=1.08, best_mean=1.048, best_p90=1.087)]
