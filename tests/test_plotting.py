"""The pictures: each function draws the expected artists holding the expected data."""

import sys

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")  # headless

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PathCollection, QuadMesh  # noqa: E402

from skspectral import (  # noqa: E402
    AttackResult,
    SpectralMLPClassifier,
    plotting,
    volume_element,
)
from skspectral.datasets import make_xor  # noqa: E402
from skspectral.plotting import (  # noqa: E402
    plot_adversarial_examples,
    plot_decision_regions,
    plot_distance_density,
    plot_fraction_above,
    plot_robustness_report,
    plot_seed_boxes,
    plot_spectral_norms,
    plot_volume_element,
)
from skspectral.report import RobustnessReport  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def xor_model():
    X, y = make_xor(n_per_corner=20, noise=0.2, random_state=0)
    clf = SpectralMLPClassifier(hidden_layer_sizes=(8,), max_epochs=30, burnin=0.5,
                                batch_size=20, lr=0.05, random_state=0).fit(X, y)
    return clf, X, y


def _result(distances):
    d = np.asarray(distances, dtype=float)
    n = len(d)
    return AttackResult(distances=d, adversarial=np.zeros((n, 4, 4), np.float32),
                        success=np.isfinite(d), queries=np.ones(n, int), clip_min=0.0,
                        clip_max=1.0)


def test_decision_regions_fill_the_predicted_classes_and_scatter_each_class(xor_model):
    clf, X, y = xor_model
    ax = plot_decision_regions(clf, X, y, resolution=50)
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(scatters) == 2
    np.testing.assert_allclose(np.vstack([s.get_offsets() for s in scatters]),
                               np.vstack([X[y == k] for k in (0, 1)]), rtol=1e-6)
    with pytest.raises(ValueError, match=r"shape \(n_samples, 2\)"):
        plot_decision_regions(clf, np.zeros((3, 3)), [0, 1, 0])


def test_volume_element_mesh_holds_the_volume_element_on_the_grid(xor_model):
    clf, _, _ = xor_model
    ax = plot_volume_element(clf, ((-2, 2), (-2, 2)), resolution=20)
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    xx, yy = np.meshgrid(np.linspace(-2, 2, 20), np.linspace(-2, 2, 20))
    expected = volume_element(clf, np.column_stack([xx.ravel(), yy.ravel()]))
    np.testing.assert_allclose(np.asarray(mesh.get_array()).ravel(), expected, rtol=1e-12)
    assert mesh.norm.__class__.__name__ == "LogNorm"
    assert (mesh.norm.vmin, mesh.norm.vmax) == (expected[expected > 0].min(), expected.max())
    shared = plot_volume_element(clf, ((-2, 2), (-2, 2)), resolution=20, vmin=1e-3, vmax=1e3)
    (mesh,) = [c for c in shared.collections if isinstance(c, QuadMesh)]
    assert (mesh.norm.vmin, mesh.norm.vmax) == (1e-3, 1e3)


def test_density_and_fractions_draw_one_curve_per_model_from_the_right_samples():
    results = {"none": _result([0.0, 0.5, 1.0, 1.5, np.inf]), "rep": [0.7, 1.2, 1.9, 2.0]}
    ax = plot_distance_density(results)
    assert [line.get_label() for line in ax.lines] == ["none", "rep"]
    ax = plot_fraction_above(results, thresholds=[0.0, 1.0, 1.8])
    # "none": 0 (misclassified) and inf (failed) are left out, so 3 samples remain
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [1.0, 1 / 3, 0.0])
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [1.0, 0.75, 0.5])
    assert len(plot_fraction_above(results).lines[0].get_xdata()) == 15  # the paper's 15


def test_seed_boxes_draw_a_box_and_every_seed_per_model():
    ax = plot_seed_boxes({"none": [0.91, 0.92, 0.9], "rep": [0.93, 0.95, 0.94]}, "accuracy")
    dots = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(dots) == 2
    np.testing.assert_allclose(dots[1].get_offsets()[:, 1], [0.93, 0.95, 0.94])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["none", "rep"]


def test_spectral_norms_follow_the_history(xor_model):
    clf, _, _ = xor_model
    ax = plot_spectral_norms(clf)
    assert [line.get_label() for line in ax.lines] == ["features.hidden0"]
    np.testing.assert_allclose(ax.lines[0].get_ydata(),
                               [r["features.hidden0"] for r in clf.history_[:, "spectral_norms"]])
    plain = SpectralMLPClassifier(hidden_layer_sizes=(4,), regularizer=None, max_epochs=1)
    plain.fit(*make_xor(random_state=0))
    with pytest.raises(ValueError, match="no spectral_norms record"):
        plot_spectral_norms(plain)


def test_adversarial_grid_has_three_rows_and_skips_samples_without_a_point(tmp_path):
    X = np.random.default_rng(0).uniform(size=(5, 4, 4))
    result = _result([0.3, np.inf, 0.0, 0.2, 0.4])
    result.adversarial[:] = X + 0.1
    fig = plot_adversarial_examples(X, result, n=8)
    assert len(fig.axes) == 3 * 3  # samples 0, 3, 4
    assert [ax.get_title() for ax in fig.axes[6:]] == ["0.30", "0.20", "0.40"]
    fig.savefig(tmp_path / "grid.png")  # writes headless
    assert (tmp_path / "grid.png").stat().st_size > 0


def _report():
    return RobustnessReport(np.arange(4), lower=np.array([0.1, 0.4, 0.0, np.nan]),
                            lower_reason=np.array(["", "", "misclassified", "no bound"]),
                            whitebox=_result([0.5, 1.0, 0.0, 0.6]),
                            blackbox=_result([0.5, 1.2, 0.0, 0.9]))


def test_robustness_report_draws_the_band_between_the_certified_and_the_best_upper_curve():
    report = _report()
    eps = np.array([0.0, 0.3, 0.55, 0.7, 1.1])
    ax = plot_robustness_report(report, eps=eps)
    certified, whitebox, blackbox = ax.lines
    np.testing.assert_array_equal(certified.get_ydata(), [0.5, 0.25, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(whitebox.get_ydata(), [0.75, 0.75, 0.5, 0.25, 0.0])
    np.testing.assert_array_equal(blackbox.get_ydata(), [0.75, 0.75, 0.5, 0.5, 0.25])
    for line in ax.lines:
        np.testing.assert_array_equal(line.get_xdata(), eps)
    (band,) = ax.collections
    # The band's outline runs along the upper curve (min of both bounds) and the certified one.
    vertices = band.get_paths()[0].vertices
    upper = report.robust_accuracy(eps)["upper"]
    for x, top, bottom in zip(eps, upper, certified.get_ydata(), strict=True):
        ys = vertices[np.isclose(vertices[:, 0], x), 1]
        assert ys.max() == top and ys.min() == bottom
    default = plot_robustness_report(report)
    assert default.lines[0].get_xdata()[-1] == pytest.approx(1.05 * 1.2)
    with pytest.raises(TypeError, match="needs a RobustnessReport"):
        plot_robustness_report(report.whitebox)


def _calls(xor_model):
    clf, X, y = xor_model
    results = {"none": _result([0.5, 1.0]), "rep": [0.7, 1.2]}
    return {
        "plot_decision_regions": lambda: plot_decision_regions(clf, X, y, resolution=5),
        "plot_volume_element": lambda: plot_volume_element(clf, ((-2, 2), (-2, 2)), 5),
        "plot_distance_density": lambda: plot_distance_density(results),
        "plot_fraction_above": lambda: plot_fraction_above(results),
        "plot_seed_boxes": lambda: plot_seed_boxes({"none": [0.9, 0.91]}, "accuracy"),
        "plot_robustness_report": lambda: plot_robustness_report(_report()),
        "plot_spectral_norms": lambda: plot_spectral_norms(clf),
        "plot_adversarial_examples": lambda: plot_adversarial_examples(
            np.zeros((2, 4, 4)), _result([0.5, 1.0])),
    }


@pytest.mark.parametrize("name", plotting.__all__)
def test_without_matplotlib_every_function_first_names_the_plot_extra(xor_model, name,
                                                                     monkeypatch):
    call = _calls(xor_model)[name]
    call()  # works with matplotlib
    # As if matplotlib were not installed: every `import matplotlib...` fails, even of the
    # submodules already loaded (a `from matplotlib.colors import ...` would find those).
    for module in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ImportError, match=r"pip install 'skspectral\[plot\]'"):
        call()
