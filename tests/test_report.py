"""The sandwich: certified lower bound, white-box and black-box upper bounds on one draw; the
paired confidence interval that examples and reports share."""

import math

import numpy as np
import pytest
import torch.nn as nn
from scipy import stats
from sklearn.datasets import load_digits

from skspectral import (
    AttackResult,
    SpectralClassifier,
    SpectralMLPClassifier,
    adversarial_distances,
    certified_lower_bound,
    paired_difference,
    robustness_report,
)
from skspectral.report import PairedDifference, RobustnessReport

WHITEBOX = "fmn"


def _result(distances, indices=None):
    d = np.asarray(distances, dtype=float)
    n = len(d)
    return AttackResult(distances=d, adversarial=np.zeros((n, 2)), success=np.isfinite(d),
                        queries=np.arange(1, n + 1), clip_min=0.0, clip_max=1.0,
                        indices=indices)


# ------------------------------------------------------------------- paired_difference


def test_paired_difference_is_the_t_interval_of_the_per_sample_differences():
    a = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    b = np.array([0.5, 2.5, 2.0, 4.5, 4.0, 5.0])
    d = paired_difference(a, b, confidence=0.9)
    diff = a - b  # [0.5, -0.5, 1, -0.5, 1, 1]: mean 0.4167
    half = stats.t.ppf(0.95, 5) * diff.std(ddof=1) / math.sqrt(6)
    assert d.n == 6 and d.confidence == 0.9
    assert d.mean_a == pytest.approx(3.5, rel=1e-15) and d.mean_b == pytest.approx(18.5 / 6)
    assert d.difference == pytest.approx(diff.mean(), rel=1e-14)
    assert (d.low, d.high) == pytest.approx((diff.mean() - half, diff.mean() + half),
                                            rel=1e-14)
    assert not d.excludes_zero  # the spread of the differences dwarfs their mean
    assert d.relative == pytest.approx(diff.mean() / (18.5 / 6))
    # A constant shift has no spread: the interval is the shift itself.
    shifted = paired_difference(b + 0.25, b)
    assert (shifted.low, shifted.high) == pytest.approx((0.25, 0.25), abs=1e-12)
    assert shifted.excludes_zero


def test_pairing_removes_the_samples_own_spread():
    rng = np.random.default_rng(0)
    base = rng.gamma(2.0, 0.5, 200)  # samples near and far from every boundary
    a, b = base * 1.05 + rng.normal(0, 0.01, 200), base
    d = paired_difference(a, b)
    assert d.excludes_zero and d.low > 0
    # Unpaired, the same 5% gain is lost in the samples' spread (Welch's interval spans 0).
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))  # Welch-Satterthwaite
    half = stats.t.ppf(0.975, df) * np.sqrt(va + vb)
    diff = a.mean() - b.mean()
    assert diff - half < 0 < diff + half


def test_paired_difference_reads_attack_results_and_leaves_out_misclassified_pairs():
    a = _result([0.0, 1.0, 2.0, 3.0], indices=np.array([3, 5, 7, 9]))
    b = _result([0.5, 0.0, 1.5, 2.0], indices=np.array([3, 5, 7, 9]))
    d = paired_difference(a, b)
    assert d.n == 2 and d.difference == pytest.approx(0.75)
    assert paired_difference(a, b, misclassified="zero").n == 4


def test_paired_difference_refuses_what_it_cannot_pair():
    with pytest.raises(ValueError, match="same samples: got 3 and 2"):
        paired_difference([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="different samples"):
        paired_difference(_result([1.0, 2.0], np.array([0, 1])),
                          _result([1.0, 2.0], np.array([0, 2])))
    with pytest.raises(ValueError, match=r"b has a non-finite value at position 1 \(inf\)"):
        paired_difference([1.0, 2.0], [1.0, np.inf])
    with pytest.raises(ValueError, match="at least 2 pairs, got 1"):
        paired_difference([1.0, 2.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="one-dimensional"):
        paired_difference(np.ones((2, 2)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="confidence"):
        paired_difference([1.0, 2.0], [1.0, 2.0], confidence=1.0)
    with pytest.raises(ValueError, match="misclassified"):
        paired_difference([1.0, 2.0], [1.0, 2.0], misclassified="drop")


def test_paired_difference_prints_the_means_the_interval_and_the_pairs():
    d = PairedDifference(mean_a=0.6, mean_b=0.5, difference=0.1, low=-0.02, high=0.22, n=40,
                         confidence=0.95)
    assert str(d) == "0.600 vs 0.500: +0.100 [-0.020, +0.220] (+20.0%; 95% CI, 40 pairs)"
    assert not d.excludes_zero


# ------------------------------------------------------------------- RobustnessReport


def _report(lower, reasons, wb, bb, indices=None):
    n = len(lower)
    indices = np.arange(n) if indices is None else indices
    return RobustnessReport(indices=indices, lower=np.asarray(lower, float),
                            lower_reason=np.asarray(reasons), whitebox=_result(wb, indices),
                            blackbox=_result(bb, indices))


def test_report_band_ratio_and_summary_on_known_numbers():
    report = _report([0.1, 0.4, 0.0, 0.3], ["", "", "misclassified", ""],
                     wb=[0.5, 1.0, 0.0, 0.6], bb=[0.5, 1.2, 0.0, 0.9])
    np.testing.assert_array_equal(report.upper, [0.5, 1.0, 0.0, 0.6])
    np.testing.assert_allclose(report.ratio, [1.0, 1.2, np.nan, 1.5])
    curves = report.robust_accuracy([0.0, 0.35, 0.55, 1.1])
    np.testing.assert_array_equal(curves["certified"], [0.75, 0.25, 0.0, 0.0])
    np.testing.assert_array_equal(curves["upper"], [0.75, 0.75, 0.5, 0.0])
    np.testing.assert_array_equal(curves["whitebox"], [0.75, 0.75, 0.5, 0.0])
    np.testing.assert_array_equal(curves["blackbox"], [0.75, 0.75, 0.5, 0.25])
    s = report.summary()
    assert (s["n_samples"], s["n_misclassified"], s["n_certified"]) == (4, 1, 3)
    assert s["mean_lower"] == pytest.approx(0.8 / 3)
    assert s["mean_whitebox"] == pytest.approx(2.1 / 3)
    assert s["mean_blackbox"] == pytest.approx(2.6 / 3)
    assert s["mean_upper"] == pytest.approx(2.1 / 3)
    assert s["ratio_mean"] == pytest.approx(3.7 / 3)
    assert s["ratio_median"] == pytest.approx(1.2)
    assert s["ratio_q90"] == pytest.approx(1.2 + 0.8 * 0.3)  # numpy's linear quantile
    assert s["blackbox_loose"] == pytest.approx(2 / 3)  # 1.2 and 1.5 exceed 1.1
    assert (s["whitebox_failed"], s["blackbox_failed"]) == (0, 0)
    assert s["whitebox_cost"] == s["blackbox_queries"] == 2.5


def test_report_without_a_certified_bound_uses_the_trivial_bound_zero_in_the_band():
    why = "certified_lower_bound is not defined for this feature map"
    report = _report([np.nan, np.nan], [why, why], wb=[0.5, 1.0], bb=[0.6, 1.0])
    np.testing.assert_array_equal(report.robust_accuracy([0.0, 0.7])["certified"], [0.0, 0.0])
    s = report.summary()
    assert s["n_certified"] == 0 and math.isnan(s["mean_lower"])


def test_compare_pairs_the_samples_both_models_classify_correctly():
    a = _report([0.1, 0.2, 0.0, 0.3], ["", "", "misclassified", ""], [0.5, 1.0, 0.0, 0.8],
                [0.6, 1.1, 0.0, 0.9])
    b = _report([0.1, 0.0, 0.1, 0.2], ["", "misclassified", "", ""], [0.4, 0.0, 0.3, 0.6],
                [0.5, 0.0, 0.3, 0.7])
    d = a.compare(b)  # samples 0 and 3 only
    assert d.n == 2 and d.difference == pytest.approx(0.15)
    assert a.compare(b, "blackbox").difference == pytest.approx(0.15)
    assert a.compare(b, "lower").difference == pytest.approx(0.05)
    with pytest.raises(ValueError, match="bound must be one of"):
        a.compare(b, "median")
    with pytest.raises(TypeError, match="RobustnessReport"):
        a.compare(b.whitebox)
    other = _report([0.1] * 4, [""] * 4, [1.0] * 4, [1.0] * 4, indices=np.arange(1, 5))
    with pytest.raises(ValueError, match="different samples"):
        a.compare(other)


# ------------------------------------------------------------------- robustness_report


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    clf = SpectralMLPClassifier(hidden_layer_sizes=(32,), max_epochs=10, batch_size=64,
                                random_state=0).fit(X[:1000], y[:1000])
    return clf, X[1000:], y[1000:]


def test_report_measures_all_three_bounds_on_one_draw_and_they_nest(digits):
    clf, X, y = digits
    y = y.copy()
    report = robustness_report(clf, X, y, n_samples=30, random_state=0, whitebox=WHITEBOX,
                               blackbox_params={"n_starts": 1, "max_iter": 10})
    # The draw is the one adversarial_distances makes with the same seed and size.
    drawn = adversarial_distances(clf, X, y, n_samples=30, random_state=0, max_iter=1,
                                  n_starts=1).indices
    np.testing.assert_array_equal(report.indices, drawn)
    np.testing.assert_array_equal(report.whitebox.indices, report.indices)
    np.testing.assert_array_equal(report.blackbox.indices, report.indices)
    wrong = clf.predict(X[report.indices]) != y[report.indices]
    np.testing.assert_array_equal(report.lower_reason == "misclassified", wrong)
    np.testing.assert_array_equal(report.lower[wrong], 0.0)
    np.testing.assert_array_equal(report.whitebox.distances[wrong], 0.0)
    bound = certified_lower_bound(clf, X[report.indices])
    np.testing.assert_array_equal(report.lower[~wrong], bound[~wrong])
    assert (report.lower_reason[~wrong] == "").all()
    assert report.whitebox.success.all() and report.blackbox.success.all()
    # Lower bound <= white-box <= (on the whole) black-box.
    assert (report.lower <= report.whitebox.distances).all()
    assert (report.lower <= report.blackbox.distances).all()
    s = report.summary()
    assert s["mean_lower"] < s["mean_whitebox"] <= s["mean_blackbox"] * 1.01
    curves = report.robust_accuracy(np.linspace(0, 3, 31))
    assert (curves["certified"] <= curves["upper"]).all()
    assert (curves["upper"] <= np.minimum(curves["whitebox"], curves["blackbox"])).all()


class _NormedNet(nn.Module):
    """A network whose feature map holds a LayerNorm: no certified bound, still
    differentiable."""

    def __init__(self, n_classes=10):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.LayerNorm(32), nn.GELU())
        self.out = nn.Linear(32, n_classes)

    def forward(self, x):
        return self.out(self.body(x))


def test_report_gives_the_reason_where_the_certified_bound_is_not_defined(digits):
    _, X, y = digits
    clf = SpectralClassifier(module=_NormedNet, max_epochs=3, batch_size=64,
                             random_state=0).fit(X, y)
    report = robustness_report(clf, X, y, n_samples=8, random_state=0, whitebox=WHITEBOX,
                               blackbox_params={"n_starts": 1, "max_iter": 3})
    correct = report.lower_reason != "misclassified"
    assert correct.any()
    assert np.isnan(report.lower[correct]).all()
    assert all("not defined for this feature map" in reason
               for reason in report.lower_reason[correct])
    assert report.summary()["n_certified"] == 0


def test_report_is_reproducible_and_refuses_bad_input(digits):
    clf, X, y = digits
    kwargs = {"n_samples": 5, "whitebox": WHITEBOX,
              "blackbox_params": {"n_starts": 1, "max_iter": 3}}
    first = robustness_report(clf, X, y, random_state=3, **kwargs)
    second = robustness_report(clf, X, y, random_state=3, **kwargs)
    np.testing.assert_array_equal(first.whitebox.distances, second.whitebox.distances)
    np.testing.assert_array_equal(first.blackbox.distances, second.blackbox.distances)
    with pytest.raises(ValueError, match="n_samples"):
        robustness_report(clf, X, y, n_samples=0)
    with pytest.raises(ValueError, match=f"X has {len(X)} samples but y has 3 labels"):
        robustness_report(clf, X, y[:3])
    with pytest.raises(ValueError, match="whitebox_params"):
        robustness_report(clf, X, y, whitebox_params=[("max_iter", 3)])
    with pytest.raises(ValueError, match="attack must be one of"):
        robustness_report(clf, X, y, n_samples=2, blackbox="square")
