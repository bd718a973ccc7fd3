"""Bad input, tried as a new user would: every case gets an early error naming the problem."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from skspectral import (
    RobustnessScorer,
    SpectralBarlowTwins,
    SpectralMLPClassifier,
    SpectralResNetClassifier,
    adversarial_distances,
)
from skspectral.regularization import SpectralPenalty, SpectralRegularization

ESTIMATORS = [SpectralMLPClassifier, SpectralResNetClassifier, SpectralBarlowTwins]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32)[:200], y[:200]


@pytest.fixture(scope="module")
def clf(digits):
    return SpectralMLPClassifier(hidden_layer_sizes=(16,), max_epochs=3, batch_size=32,
                                 random_state=0).fit(*digits)


# ------------------------------------------------------------------------ attacks and scores
@pytest.mark.parametrize("shape", [(5, 63), (5, 8, 8), (5, 1, 64)])
def test_attacking_samples_of_the_wrong_shape(clf, digits, shape):
    X = np.zeros(shape, dtype=np.float32)
    with pytest.raises(ValueError, match=r"X has samples of shape .* the model takes samples "
                                         r"of shape \(64,\)"):
        adversarial_distances(clf, X, max_iter=1)


@pytest.mark.parametrize("labels", [np.array(["a"] * 5), np.arange(5) + 10])
def test_labels_the_model_does_not_know(clf, digits, labels):
    with pytest.raises(ValueError, match="labels the model does not know"):
        adversarial_distances(clf, digits[0][:5], labels, max_iter=1)


def test_sparse_inputs_are_refused(clf, digits):
    X, y = digits
    with pytest.raises(TypeError, match="sparse"):
        adversarial_distances(clf, sp.csr_matrix(X[:5]), max_iter=1)
    with pytest.raises(TypeError, match="sparse"):
        RobustnessScorer(n_samples=2, max_iter=1)(clf, sp.csr_matrix(X[:5]), y[:5])


@pytest.mark.parametrize("misclassified", ["exclude", "zero"])
def test_scorer_with_labels_of_the_wrong_length(clf, digits, misclassified):
    X, y = digits
    with pytest.raises(ValueError, match=r"y of shape \(n_samples,\) = \(10,\)"):
        RobustnessScorer(n_samples=2, misclassified=misclassified, max_iter=1)(clf, X[:10],
                                                                              y[:7])


def test_unknown_attack_parameters_name_the_valid_ones(clf, digits):
    with pytest.raises(TypeError, match=r"Unknown CGBA parameter\(s\) \['foo'\]; "
                                        r"valid ones are .*'max_iter'"):
        adversarial_distances(clf, digits[0][:2], foo=1)
    with pytest.raises(TypeError, match=r"Unknown TangentAttack parameter\(s\) \['foo'\]"):
        adversarial_distances(clf, digits[0][:2], attack="tangent", foo=1)


# ------------------------------------------------------------------------ estimators
@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_every_parameter_is_declared_in_the_constraint_table(Estimator):
    assert set(Estimator._parameter_constraints) == set(Estimator._get_param_names())


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_a_bad_value_reads_the_same_in_every_estimator_and_layer(Estimator):
    X = np.zeros((4, 1, 8, 8), dtype=np.float32)
    y = np.array([0, 1, 0, 1])
    with pytest.raises(ValueError) as estimator_error:
        Estimator(gamma=-1.0).fit(X, y)
    with pytest.raises(ValueError) as layer_error:
        SpectralPenalty(SpectralMLPClassifier()._module_class(4, 2), ["head"], gamma=-1.0)
    expected = ("The 'gamma' parameter of {} must be a float in the range [0.0, inf). "
                "Got -1.0 instead.")
    assert str(estimator_error.value) == expected.format(Estimator.__name__)
    assert str(layer_error.value) == expected.format("SpectralPenalty")
    with pytest.raises(ValueError, match="The 'update_every' parameter of "
                                         "SpectralRegularization must be an int"):
        SpectralRegularization(update_every=0).initialize()


@pytest.mark.parametrize("name", ["lr", "momentum", "weight_decay"])
def test_non_finite_hyperparameters(digits, name):
    with pytest.raises(ValueError, match=f"The '{name}' parameter of SpectralMLPClassifier "
                                         r"must be a float in the range .*\. Got nan instead"):
        SpectralMLPClassifier(max_epochs=1, **{name: np.nan}).fit(*digits)


def test_a_diverging_fit_stops_with_an_error_naming_the_cause(digits):
    X, y = digits
    with pytest.raises(ValueError, match=r"Training diverged: the loss of epoch \d+ is (nan|inf)"
                                         r".*lr=100000.0"):
        SpectralMLPClassifier(hidden_layer_sizes=(16,), lr=1e5, optimizer="sgd", max_epochs=5,
                              burnin=0, batch_size=32, random_state=0).fit(X * 1e3, y)


def test_an_unknown_parameter_is_refused_when_set(digits):
    with pytest.raises(TypeError, match="unexpected parameter 'foo'.*'gamma'"):
        SpectralMLPClassifier(foo=1)
    with pytest.raises(ValueError, match="unexpected parameter 'foo'"):
        SpectralMLPClassifier().set_params(foo=1)
    search = GridSearchCV(SpectralMLPClassifier(max_epochs=1), {"gama": [0.0, 1e-3]}, cv=2)
    with pytest.raises(ValueError, match="unexpected parameter 'gama'"):
        search.fit(*digits)
    # Routed skorch parameters are still accepted.
    assert SpectralMLPClassifier(optimizer__nesterov=True).get_params()["optimizer__nesterov"]


def test_momentum_is_refused_where_the_optimizer_would_ignore_it(digits):
    # A script written for SGD defaults (lr=1.0, momentum=0.9) must not train Adam silently.
    with pytest.raises(ValueError, match=r"momentum=0\.9 was given, but optimizer='adam' takes "
                                         r"no momentum.*optimizer='sgd'.*default optimizer is "
                                         r"'adam'"):
        SpectralMLPClassifier(lr=1.0, momentum=0.9, max_epochs=1).fit(*digits)


@pytest.mark.parametrize("optimizer, given, expected", [
    ("sgd", None, 0.9),             # SGD's default momentum
    ("sgd", 0.5, 0.5),
    ("adam", None, None),           # Adam gets none
    (torch.optim.RMSprop, 0.3, 0.3),  # any optimizer that takes momentum gets the value
])
def test_momentum_reaches_the_optimizer_that_takes_it(digits, optimizer, given, expected):
    clf = SpectralMLPClassifier(hidden_layer_sizes=(8,), optimizer=optimizer, momentum=given,
                                max_epochs=1, random_state=0).fit(*digits)
    group = clf.net_.optimizer_.param_groups[0]
    if expected is None:
        assert "momentum" not in group
    else:
        assert group["momentum"] == expected


def test_each_hyperparameter_is_validated_once_per_fit(digits, monkeypatch):
    # The estimator checks its parameters at fit; the penalty, schedule, net and module it
    # builds from them skip their own checks (they still check when used on their own).
    import sklearn.base

    import skspectral._params as params

    checked = []

    def counting(original):
        def validate(constraints, values, caller_name):
            checked.extend(name for name in values if name in constraints)
            return original(constraints, values, caller_name)
        return validate

    monkeypatch.setattr(params, "validate_parameter_constraints",
                        counting(params.validate_parameter_constraints))
    monkeypatch.setattr(sklearn.base, "validate_parameter_constraints",
                        counting(sklearn.base.validate_parameter_constraints))
    SpectralMLPClassifier(hidden_layer_sizes=(8,), max_epochs=2, random_state=0).fit(*digits)
    assert checked.count("burnin") == 1
    assert checked.count("gamma") == 1
    # Used on its own, a layer below still refuses a bad value.
    with pytest.raises(ValueError, match="'burnin' parameter of SpectralRegularization"):
        SpectralRegularization(burnin=-1).initialize()
