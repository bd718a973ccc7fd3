"""adversarial_distances, RobustnessScorer, certified_lower_bound, summaries."""

import math

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from skspectral import (
    CGBA,
    AttackResult,
    RobustnessScorer,
    SpectralMLPClassifier,
    TangentAttack,
    adversarial_distances,
    certified_lower_bound,
)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y


@pytest.fixture(scope="module")
def fitted(digits):
    X, y = digits
    return SpectralMLPClassifier(hidden_layer_sizes=(64, 32), activation="gelu", max_epochs=15,
                                 batch_size=64, burnin=0.5, init="default",
                                 random_state=0).fit(X[:1500], y[:1500])


def _result(distances):
    d = np.asarray(distances, dtype=float)
    return AttackResult(distances=d, adversarial=np.zeros((len(d), 1)), success=np.isfinite(d),
                        queries=np.ones(len(d), dtype=int), clip_min=0.0, clip_max=1.0)


def _lerp_quantile(values, q):
    """The quantile by linear interpolation between order statistics, written out (numpy's
    default method, computed here without numpy's quantile)."""
    v = sorted(values)
    pos = q * (len(v) - 1)
    lo = int(np.floor(pos))
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (pos - lo) * (v[hi] - v[lo])


#: float64 statistics of a few dozen values against exactly rounded ones: numpy's pairwise
#: mean of n <= 128 values (8 partial sums) is within ~(n/8 + 4) units of 2**-53 of the exact
#: mean, and the interpolation of a quantile adds 3 roundings; 8 eps = 16 units covers both.
#: numpy computes a quantile's fractional index as n q + 1 - q - 1, which differs from
#: q (n - 1) by a few roundings of n q: that moves the result by at most n eps times the gap
#: between the two order statistics (``_quantile_atol``).
ULPS = 8 * np.finfo(np.float64).eps


def _quantile_atol(values):
    return len(values) * np.finfo(np.float64).eps * np.ptp(values)


def test_result_summaries_follow_the_protocols():
    r = _result([0.0, 1.0, 2.0, 3.0, 0.0, 4.0])
    assert r.mean() == 2.5  # the paper's protocol: correctly classified samples only
    assert r.mean(misclassified="zero") == pytest.approx(10 / 6)
    assert r.median() == 2.5
    np.testing.assert_allclose(r.quantile([0.0, 1.0]), [1.0, 4.0])
    np.testing.assert_allclose(r.fraction_above([0.5, 2.0, 5.0]), [1.0, 0.5, 0.0])
    assert r.robust_accuracy(1.5) == pytest.approx(3 / 6)
    summary = r.summary(thresholds=[2.0])
    assert summary["n_misclassified"] == 2 and summary["mean"] == 2.5
    with pytest.raises(ValueError, match="misclassified"):
        r.mean(misclassified="drop")


def test_result_statistics_equal_independent_computations():
    rng = np.random.default_rng(0)
    d = rng.gamma(2.0, 0.4, size=37)
    d[[3, 11, 12, 30]] = 0.0  # misclassified
    correct, every = d[d > 0], d
    r = _result(d)
    # mean over the correctly classified (exclude) or over all with 0 for the misclassified
    assert r.mean() == pytest.approx(math.fsum(correct) / 33, rel=ULPS, abs=0)
    assert r.mean(misclassified="zero") == pytest.approx(math.fsum(every) / 37, rel=ULPS, abs=0)
    qs = [0.0, 0.1, 0.25, 0.5, 0.9, 1.0]
    for misclassified, values in (("exclude", correct), ("zero", every)):
        expected = [_lerp_quantile(values, q) for q in qs]
        atol = _quantile_atol(values)
        np.testing.assert_allclose(r.quantile(qs, misclassified), expected, rtol=ULPS,
                                   atol=atol)
        assert float(r.quantile(0.1, misclassified)) == pytest.approx(expected[1], rel=ULPS,
                                                                      abs=atol)
        assert r.median(misclassified) == pytest.approx(_lerp_quantile(values, 0.5), rel=ULPS,
                                                        abs=atol)
    assert float(r.quantile(0.08, "zero")) == 0.0  # order statistics 0..3 are the four 0s
    thresholds = [0.0, 0.2, 0.5, 1.0, 2.0, 10.0]
    for misclassified, values in (("exclude", correct), ("zero", every)):
        expected = [sum(v > t for v in values) / len(values) for t in thresholds]
        np.testing.assert_array_equal(r.fraction_above(thresholds, misclassified), expected)
    np.testing.assert_array_equal(r.fraction_above(0.5), [sum(correct > 0.5) / 33])
    # robust accuracy: over all samples, the misclassified (distance 0) never robust
    for eps in (0.0, 0.3, 0.8, 5.0):
        assert r.robust_accuracy(eps) == sum(v > eps for v in every) / 37
    summary = r.summary(thresholds=thresholds)
    assert summary["n_samples"] == 37 and summary["n_misclassified"] == 4
    assert summary["n_failed"] == 0 and summary["mean_queries"] == 1.0
    assert summary["mean"] == r.mean() and summary["median"] == r.median()
    assert summary["q10"] == float(r.quantile(0.1)) and summary["q90"] == float(r.quantile(0.9))
    np.testing.assert_array_equal(summary["fraction_above"], r.fraction_above(thresholds))


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # summary's NaN median
def test_result_failed_samples_count_as_infinitely_far():
    r = _result([0.0, 1.0, np.inf, 2.0])
    assert r.mean() == np.inf  # documented: inf propagates into the mean
    np.testing.assert_array_equal(r.fraction_above([1.5, 1e300]), [2 / 3, 1 / 3])
    assert r.robust_accuracy(1.5) == 2 / 4  # inf is beyond every radius, 0 within every one
    assert r.summary()["n_failed"] == 1 and r.summary()["n_misclassified"] == 1


def test_result_quantiles_with_a_failed_sample_are_the_order_statistics():
    r = _result([0.0, 1.0, np.inf, 2.0])
    assert r.median() == 2.0  # the middle of (1, 2, inf)
    np.testing.assert_array_equal(r.quantile([0.0, 0.5, 1.0]), [1.0, 2.0, np.inf])
    assert r.quantile(0.75) == np.inf  # between 2 and inf
    assert r.quantile(0.25) == 1.5  # finite neighbours interpolate as numpy does
    assert r.summary()["median"] == 2.0


def test_result_statistics_of_an_all_misclassified_result_are_nan():
    r = _result([0.0, 0.0])
    assert np.isnan(r.mean()) and np.isnan(r.median())
    assert np.isnan(r.quantile([0.1, 0.9])).all() and np.isnan(r.fraction_above([0.5])).all()
    assert r.mean(misclassified="zero") == 0.0 and r.robust_accuracy(0.0) == 0.0


class _Linear:
    """A multiclass linear classifier ``argmax(W x + b)`` with hand-set weights, in float64."""

    W = np.array([[1.0, 0.0], [-0.5, 0.8], [-0.6, -0.9]])
    b = np.array([0.05, 0.1, -0.2])
    classes_ = np.array([0, 1, 2])
    n_features_in_ = 2

    def predict(self, X):
        return np.argmax(np.asarray(X, dtype=np.float64) @ self.W.T + self.b, axis=1)

    def exact_distances(self, X):
        """min_k [(w_c - w_k) x + b_c - b_k] / |w_c - w_k| for the predicted class c: the
        distance to the nearest point labelled otherwise (the box permitting)."""
        X = np.asarray(X, dtype=np.float64)
        scores = X @ self.W.T + self.b
        c = scores.argmax(axis=1)
        margins = scores[np.arange(len(X)), c][:, None] - scores
        norms = np.linalg.norm(self.W[c][:, None, :] - self.W[None], axis=2)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(c[:, None] == np.arange(3), np.inf, margins / norms)
        return ratio.min(axis=1)


#: Relative accuracy of the attack against an exact distance. Lower side: a returned point is
#: labelled otherwise, so its true distance is >= the exact one; the attack reports the norm of
#: a float32 difference (3 roundings of float32's unit roundoff 2**-24, 8 allowed). Upper side:
#: docs/robustness.md, "with five starts ... every sample is within 1%" on linear models.
LOW, HIGH = 1 - 8 * 2.0 ** -24, 1.01


def _within(value, exact):
    value, exact = np.asarray(value, dtype=float), np.asarray(exact, dtype=float)
    assert np.all(value >= LOW * exact), (value, exact)
    assert np.all(value <= HIGH * exact), (value, exact)


@pytest.fixture(scope="module")
def linear_task():
    # float32 inputs, so that the exact distances are those of the points the attack sees
    X = np.random.default_rng(1).uniform(-1.0, 1.0, size=(80, 2)).astype(np.float32)
    model = _Linear()
    X = X[model.exact_distances(X) > 0.02][:40]  # none on a boundary
    y = model.predict(X)
    wrong = np.array([2, 9, 17, 25])
    y[wrong] = (y[wrong] + 1) % 3
    exact = model.exact_distances(X)
    assert len(X) == 40 and len(np.unique(y)) == 3
    return model, X, y, wrong, exact


def test_attack_distances_of_a_linear_model_are_the_exact_ones(linear_task):
    model, X, y, wrong, exact = linear_task
    # A box [-3, 3]^2 holds every sample's nearest boundary point: |x| <= sqrt(2), d <= 1.5.
    result = adversarial_distances(model, X, y, clip_min=-3.0, clip_max=3.0, random_state=0)
    correct = np.setdiff1d(np.arange(40), wrong)
    np.testing.assert_array_equal(result.distances[wrong], 0.0)  # misclassified: 0 ...
    np.testing.assert_array_equal(result.adversarial[wrong], X[wrong])  # ... its own point
    assert result.success.all()
    _within(result.distances[correct], exact[correct])
    assert np.all(model.predict(result.adversarial[correct]) != y[correct])


def test_scorer_statistics_equal_those_of_the_exact_distances(linear_task):
    model, X, y, wrong, exact = linear_task
    correct = np.setdiff1d(np.arange(40), wrong)
    zeroed = exact.copy()
    zeroed[wrong] = 0.0
    kw = dict(n_samples=100, clip_min=-3.0, clip_max=3.0, random_state=0)  # all 40 samples

    def score(**params):
        return RobustnessScorer(**kw, **params)(model, X, y)

    # Each statistic is monotone in every distance, so each distance's bounds carry over.
    _within(score(), np.mean(exact[correct]))
    _within(score(statistic="median"), _lerp_quantile(exact[correct], 0.5))
    _within(score(statistic=0.1), _lerp_quantile(exact[correct], 0.1))
    _within(score(misclassified="zero"), np.mean(zeroed))
    _within(score(misclassified="zero", statistic=0.75), _lerp_quantile(zeroed, 0.75))
    # Robust accuracy at radii where no exact distance is within the attack's accuracy:
    # then every sample is on the same side of eps as its exact distance.
    d = np.sort(exact[correct])
    gaps = d[1:] / d[:-1]
    for i, misclassified in ((int(np.argmax(gaps[:15])), "exclude"),
                             (15 + int(np.argmax(gaps[15:])), "zero")):
        assert gaps[i] > HIGH / LOW * 1.001
        eps = float(np.sqrt(d[i] * d[i + 1]))
        expected = np.sum(zeroed > eps) / 40  # the misclassified count as not robust
        assert 0 < expected < len(correct) / 40
        # robust accuracy attacks every sample whatever `misclassified` says
        assert score(statistic="robust_accuracy", eps=eps,
                     misclassified=misclassified) == expected
    assert score(statistic="robust_accuracy", eps=0.0) == len(correct) / 40


def test_adversarial_distances_matches_the_attack_class(fitted, digits):
    X, y = digits
    a = adversarial_distances(fitted, X[1500:1520], y[1500:1520], attack="tangent", max_iter=5,
                              random_state=0)
    b = TangentAttack(0.0, 1.0, max_iter=5, random_state=0).attack(fitted, X[1500:1520],
                                                                   y[1500:1520])
    np.testing.assert_array_equal(a.distances, b.distances)
    default = adversarial_distances(fitted, X[1500:1520], y[1500:1520], max_iter=5,
                                    random_state=0)
    cgba = CGBA(0.0, 1.0, max_iter=5, random_state=0).attack(fitted, X[1500:1520],
                                                             y[1500:1520])
    np.testing.assert_array_equal(default.distances, cgba.distances)
    c = adversarial_distances(fitted, X[1500:1520], attack="hopskipjump", max_iter=5,
                              random_state=0)
    assert c.success.all() and np.all(c.distances > 0)
    with pytest.raises(ValueError, match="attack must be one of"):
        adversarial_distances(fitted, X[:2], attack="fgsm")
    with pytest.raises(ValueError, match="attack instance"):
        adversarial_distances(fitted, X[:2], attack=TangentAttack(), max_iter=3)


def test_certified_bound_is_below_every_attack_distance(fitted, digits):
    X, y = digits
    X_test = X[1500:1600]
    bound = certified_lower_bound(fitted, X_test)
    result = adversarial_distances(fitted, X_test, random_state=0)  # attack the predictions
    assert result.success.all()
    assert np.all(bound > 0)
    assert np.all(bound <= result.distances)


def test_certified_bound_of_a_pipeline_with_retrained_readout(fitted, digits):
    X, y = digits
    # Clones: refitting the shared featurizer on other labels would change it for later tests.
    pipe = Pipeline([("feat", clone(fitted)), ("clf", LogisticRegression(max_iter=2000))])
    pipe.fit(X[:1500], y[:1500])
    bound = certified_lower_bound(pipe, X[1500:1550])
    result = adversarial_distances(pipe, X[1500:1550], random_state=0)
    assert np.all(bound <= result.distances)
    binary = Pipeline([("feat", clone(fitted)), ("clf", LogisticRegression(max_iter=2000))])
    binary.fit(X[:1500], y[:1500] < 5)
    assert np.all(certified_lower_bound(binary, X[1500:1550])
                  <= adversarial_distances(binary, X[1500:1550], random_state=0).distances)


def _hand_mlp(activation, weights):
    """A fitted 2-3-3-3 SpectralMLPClassifier whose weights are then set by hand."""
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    clf = SpectralMLPClassifier(hidden_layer_sizes=(3, 3), activation=activation,
                                regularizer=None, init="default", max_epochs=1, batch_size=3,
                                random_state=0).fit(X, [0, 1, 2])
    module = clf.module_
    layers = [module.features.hidden0, module.features.hidden1, module.head]
    with torch.no_grad():
        for layer, (W, b) in zip(layers, weights, strict=True):
            layer.weight.copy_(torch.tensor(W))
            layer.bias.copy_(torch.tensor(b))
    return clf


# Dyadic weights and inputs: every product and sum of the forward pass is exact in float32.
# W1 = [[3, 4], [4, -3], [0, 0]] has sigma 5 (its rows are orthogonal of norm 5); W2 =
# diag(2, 1, 1/2) + one off-diagonal entry; sigma(W2) from a float64 SVD.
_HAND_WEIGHTS = [
    ([[3.0, 4.0], [4.0, -3.0], [0.0, 0.0]], [0.25, -0.5, 1.0]),
    ([[2.0, 0.0, 0.0], [0.0, 1.0, 0.5], [0.0, 0.0, 0.5]], [0.0, 0.125, -0.25]),
    ([[1.0, -1.0, 0.5], [-0.5, 1.0, 0.0], [0.25, 0.25, -1.0]], [0.0, 0.5, -0.25]),
]
_HAND_X = np.array([[0.5, 0.25], [-0.75, 0.5], [0.125, -1.0], [1.0, 1.0], [-0.25, -0.5]],
                   dtype=np.float32)


def _lemma1_by_hand(act, lipschitz):
    """Lemma 1 in float64: margin / |W_c - W_k| / (L_act^2 sigma(W1) sigma(W2)), min over k."""
    (W1, b1), (W2, b2), (W3, b3) = [(np.array(W), np.array(b)) for W, b in _HAND_WEIGHTS]
    sigma = sigma_product(W1, W2)
    assert np.linalg.svd(W1, compute_uv=False)[0] == 5.0
    bounds = []
    for x in _HAND_X.astype(np.float64):
        z = act(W2 @ act(W1 @ x + b1) + b2)
        s = W3 @ z + b3
        c = int(np.argmax(s))
        bounds.append(min((s[c] - s[k]) / np.linalg.norm(W3[c] - W3[k])
                          for k in range(3) if k != c))
    return np.array(bounds) / (lipschitz ** 2 * sigma)


def test_certified_bound_equals_lemma_1_computed_by_hand_relu():
    clf = _hand_mlp("relu", _HAND_WEIGHTS)
    expected = _lemma1_by_hand(lambda t: np.maximum(t, 0.0), 1.0)
    # The forward pass is exact (dyadic numbers, ReLU), the margins and |W_c - W_k| are
    # computed in float64 from exact float32 values; the only rounding is the float32 SVD of
    # W1 and W2 (backward stable: each sigma within a few units of 2**-24, 16 allowed each).
    np.testing.assert_allclose(certified_lower_bound(clf, _HAND_X), expected,
                               rtol=2 * 16 * 2.0 ** -24, atol=0)
    assert np.all(expected > 0)


def test_certified_bound_equals_lemma_1_computed_by_hand_gelu():
    from math import erf, exp, pi, sqrt

    clf = _hand_mlp("gelu", _HAND_WEIGHTS)
    # GELU' = Phi + z phi peaks where GELU'' = phi (2 - z^2) = 0:
    # L = Phi(sqrt 2) + sqrt 2 phi(sqrt 2)
    lipschitz = 0.5 * (1 + erf(1.0)) + sqrt(2.0) * exp(-1.0) / sqrt(2 * pi)
    assert lipschitz == pytest.approx(1.1289, abs=1e-4)  # method.md's value
    gelu = np.vectorize(lambda t: 0.5 * t * (1 + erf(t / sqrt(2.0))))
    expected = _lemma1_by_hand(gelu, lipschitz)
    got = certified_lower_bound(clf, _HAND_X)

    # Forward error of the float32 features, propagated in float64 (u = 2**-24):
    # an affine map of n terms adds gamma_{n+1} (|W||h| + |b|) (Higham, Thm 3.5) to
    # |W| times the error it receives; GELU(t) = t/2 (1 + erf(t/sqrt 2)) adds at most
    # (2|t| + 4|GELU(t)|) u (erf within 2 ulps, four roundings) to L times the error it
    # receives. The readout runs in float64 on the float32 features.
    u = 2.0 ** -24

    def gamma(n):
        return n * u / (1 - n * u)

    (W1, b1), (W2, b2), (W3, _) = [(np.array(W), np.array(b)) for W, b in _HAND_WEIGHTS]
    tolerance = []
    for x, bound in zip(_HAND_X.astype(np.float64), expected, strict=True):
        t1 = W1 @ x + b1
        e1 = gamma(3) * (np.abs(W1) @ np.abs(x) + np.abs(b1))
        g1 = gelu(t1)
        e1 = lipschitz * e1 + (2 * np.abs(t1) + 4 * np.abs(g1)) * u
        t2 = W2 @ g1 + b2
        e2 = np.abs(W2) @ e1 + gamma(4) * (np.abs(W2) @ np.abs(g1) + np.abs(b2))
        z = gelu(t2)
        ez = lipschitz * e2 + (2 * np.abs(t2) + 4 * np.abs(z)) * u
        c = int(np.argmax(W3 @ z))
        # |min_k a_k - min_k b_k| <= max_k |a_k - b_k|; each sigma from a float32 SVD
        # within 16 u (as in the ReLU test), a few more roundings in float64.
        margin_error = max(np.abs(W3[c] - W3[k]) @ ez / np.linalg.norm(W3[c] - W3[k])
                           for k in range(3) if k != c)
        tolerance.append(margin_error / (lipschitz ** 2 * sigma_product(W1, W2))
                         + (2 * 16 * u + 1e-15) * bound)
    tolerance = np.array(tolerance)
    assert np.all(np.abs(got - expected) <= tolerance), (got - expected) / tolerance
    assert np.all(tolerance < 1e-5 * expected)  # the check is tight


def sigma_product(W1, W2):
    return np.linalg.svd(W1, compute_uv=False)[0] * np.linalg.svd(W2, compute_uv=False)[0]


def test_certified_bound_rejects_unsupported_models(digits):
    X, y = digits
    with pytest.raises(TypeError, match="SpectralMLPClassifier"):
        certified_lower_bound(LogisticRegression().fit(X[:100], y[:100]), X[:5])


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"statistic": "max"}, "The 'statistic' parameter of RobustnessScorer must be a str among"),
    ({"statistic": 1.5}, r"or a float in the range \(0.0, 1.0\)\. Got 1.5 instead"),
    ({"statistic": "robust_accuracy"}, "statistic='robust_accuracy' needs eps"),
    ({"misclassified": "drop"}, "The 'misclassified' parameter of RobustnessScorer"),
    ({"n_samples": 0}, "The 'n_samples' parameter of RobustnessScorer must be an int")])
def test_scorer_errors(fitted, digits, kwargs, match):
    X, y = digits
    with pytest.raises(ValueError, match=match):
        RobustnessScorer(**kwargs)(fitted, X[:10], y[:10])


def test_scorer_parameters_repr_and_clone_come_from_scikit_learn():
    from sklearn.base import BaseEstimator, clone

    scorer = RobustnessScorer(attack="fmn", n_samples=5, max_iter=5)
    assert isinstance(scorer, BaseEstimator)
    assert repr(scorer) == "RobustnessScorer(attack='fmn', max_iter=5, n_samples=5)"
    assert scorer.get_params() == {"attack": "fmn", "n_samples": 5, "statistic": "mean",
                                   "eps": None, "misclassified": "exclude", "clip_min": 0.0,
                                   "clip_max": 1.0, "random_state": 0, "max_iter": 5}
    twin = clone(scorer)
    assert twin is not scorer and twin.get_params() == scorer.get_params()
    # A name that is no constructor argument is an attack parameter.
    twin.set_params(n_samples=3, max_iter=7, n_starts=2)
    assert (twin.n_samples, twin.attack_params) == (3, {"max_iter": 7, "n_starts": 2})
    assert scorer.attack_params == {"max_iter": 5}
    # Validation stays at call time (a scorer has no fit): building a bad one is allowed.
    with pytest.raises(ValueError, match="The 'n_samples' parameter of RobustnessScorer"):
        clone(scorer).set_params(n_samples=0)(None, np.zeros((2, 2)), np.zeros(2))


def test_scorer_statistics_are_attack_results_on_distances_capped_at_the_diameter():
    from skspectral import AttackResult

    d = np.array([0.0, 0.25, 0.5, np.inf])  # one misclassified, one with no point found
    result = AttackResult(d, np.zeros((4, 2)), np.array([True, True, True, False]),
                          np.ones(4, int), 0.0, 1.0)
    diameter = np.sqrt(2)
    cases = {("mean", "exclude"): (0.25 + 0.5 + diameter) / 3,
             ("mean", "zero"): (0.25 + 0.5 + diameter) / 4,
             ("median", "exclude"): 0.5, ("median", "zero"): 0.375,
             (0.0, "exclude"): 0.25}
    for (statistic, misclassified), expected in cases.items():
        scorer = RobustnessScorer(statistic=statistic, misclassified=misclassified)
        assert scorer._statistic(result, diameter) == pytest.approx(expected, rel=1e-15)
    scorer = RobustnessScorer(statistic="robust_accuracy", eps=0.3)
    assert scorer._statistic(result, diameter) == 0.5  # 0.5 and the capped diameter
    empty = AttackResult(np.zeros(2), np.zeros((2, 2)), np.ones(2, bool), np.ones(2, int),
                         0.0, 1.0)
    assert RobustnessScorer()._statistic(empty, diameter) == 0.0  # no correct sample left


def test_one_draw_of_correctly_classified_samples_serves_every_caller():
    from sklearn.utils import check_random_state

    from skspectral.metrics import _draw_correct

    correct = np.array([True, False, True, True, False, True, True])
    pool = np.flatnonzero(correct)
    np.testing.assert_array_equal(_draw_correct(correct, 3), [0, 2, 3])  # the first, no RNG
    np.testing.assert_array_equal(_draw_correct(correct, 9), pool)
    rng, twin = check_random_state(4), check_random_state(4)
    np.testing.assert_array_equal(_draw_correct(correct, 3, rng),
                                  np.sort(twin.choice(pool, size=3, replace=False)))
    assert rng.randint(2 ** 31) == twin.randint(2 ** 31)  # the same RNG use
    assert len(_draw_correct(np.zeros(4, bool), 3)) == 0


def test_scorer_counts_boundary_free_models_as_the_box_diameter(digits):
    X, y = digits

    class Constant:
        def predict(self, X):
            return np.zeros(len(X), dtype=int)

    score = RobustnessScorer(n_samples=5, init_trials=20)(Constant(), X[y == 0][:10],
                                                          np.zeros(10, dtype=int))
    assert score == pytest.approx(np.sqrt(64))


def test_grid_search_with_robustness_scoring_and_refit(digits):
    X, y = digits
    grid = GridSearchCV(
        SpectralMLPClassifier(hidden_layer_sizes=(32,), max_epochs=4, batch_size=64,
                              burnin=0, init="default", random_state=0),
        {"gamma": [0.0, 0.05]}, cv=2,
        scoring={"acc": "accuracy",
                 "robust": RobustnessScorer(n_samples=10, max_iter=3, random_state=0)},
        refit="robust")
    grid.fit(X[:600], y[:600])
    assert set(grid.cv_results_) >= {"mean_test_acc", "mean_test_robust"}
    assert np.all(grid.cv_results_["mean_test_robust"] > 0)
    best = int(np.argmax(grid.cv_results_["mean_test_robust"]))
    assert grid.best_params_ == grid.cv_results_["params"][best]
    assert grid.best_estimator_.n_iter_ == 4
