"""adversarial_distances, RobustnessScorer, certified_lower_bound, summaries."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from skspectral import (
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


def test_adversarial_distances_matches_the_attack_class(fitted, digits):
    X, y = digits
    a = adversarial_distances(fitted, X[1500:1520], y[1500:1520], max_iter=5, random_state=0)
    b = TangentAttack(0.0, 1.0, max_iter=5, random_state=0).attack(fitted, X[1500:1520],
                                                                   y[1500:1520])
    np.testing.assert_array_equal(a.distances, b.distances)
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


def test_certified_bound_rejects_unsupported_models(digits):
    X, y = digits
    with pytest.raises(TypeError, match="SpectralMLPClassifier"):
        certified_lower_bound(LogisticRegression().fit(X[:100], y[:100]), X[:5])


def test_scorer_protocols(fitted, digits):
    X, y = digits
    X_test, y_test = X[1500:], y[1500:]
    kw = dict(n_samples=20, max_iter=5, random_state=0)
    mean = RobustnessScorer(**kw)(fitted, X_test, y_test)
    median = RobustnessScorer(statistic="median", **kw)(fitted, X_test, y_test)
    q10 = RobustnessScorer(statistic=0.1, **kw)(fitted, X_test, y_test)
    assert 0 < q10 <= median and 0 < mean
    zero = RobustnessScorer(misclassified="zero", **kw)(fitted, X_test, y_test)
    assert 0 <= zero
    robust = RobustnessScorer(statistic="robust_accuracy", eps=0.1, **kw)(fitted, X_test, y_test)
    assert 0 <= robust <= fitted.score(X_test, y_test) + 0.3
    assert RobustnessScorer(statistic="robust_accuracy", eps=0.0, **kw)(
        fitted, X_test, y_test) <= 1.0
    assert RobustnessScorer(**kw)(fitted, X_test, y_test) == mean  # seeded


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
