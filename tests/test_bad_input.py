"""Bad input, tried as a new user would: every case gets an early error naming the problem."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, PolynomialFeatures, StandardScaler
from sklearn.svm import SVC
from skorch.callbacks import Callback

from skspectral import (
    AttackResult,
    FeatureProbe,
    RobustnessScorer,
    SpectralBarlowTwins,
    SpectralClassifier,
    SpectralMLPClassifier,
    SpectralResNetClassifier,
    TangentAttack,
    adversarial_distances,
    certified_lower_bound,
    volume_element,
)
from skspectral.datasets import get_data_home, make_xor
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
    """Our error, and no numpy warning on any numpy admitted (before numpy 2, comparing
    strings with integers warned)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
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


# ------------------------------------------------------------------------ one check per concept
# Every path (arrays, Datasets read by a DataLoader, attacks, results, plotting, the scorer)
# refuses the same bad input with a ValueError/TypeError naming the parameter or item.
class _Items(torch.utils.data.Dataset):
    def __init__(self, X, y):
        self.X, self.y = torch.as_tensor(X), torch.as_tensor(y)

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i], self.y[i]


_DATASET_CALLS = {
    "fit": lambda clf, data: SpectralMLPClassifier(max_epochs=1).fit(data),
    "predict": lambda clf, data: clf.predict(data),
    "predict_proba": lambda clf, data: clf.predict_proba(data),
    "transform": lambda clf, data: clf.transform(data),
    "score": lambda clf, data: clf.score(data),
    "adversarial_distances": lambda clf, data: adversarial_distances(clf, data, max_iter=1),
    "RobustnessScorer": lambda clf, data: RobustnessScorer(n_samples=500, max_iter=1)(
        clf, data, None),
}


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("call", sorted(_DATASET_CALLS))
def test_a_dataset_item_that_is_not_finite_is_refused_with_its_index(clf, digits, call, value):
    # (It used to give a NaN probability row, which predict labelled class 0.)
    X, y = digits
    X = X.copy()
    X[7, 3] = value
    with pytest.raises(ValueError, match="Item 7 of the dataset contains (NaN|infinity)"):
        _DATASET_CALLS[call](clf, _Items(X, y))


def test_a_dataset_item_that_is_not_finite_is_named_also_from_a_loader_worker(clf, digits):
    X, y = digits
    X = X.copy()
    X[11, 0] = np.nan
    clf = clone(clf).set_params(iterator_valid__num_workers=1).fit(*digits)
    with pytest.raises(ValueError, match="Item 11 of the dataset contains NaN"):
        clf.predict(_Items(X, y))


@pytest.mark.parametrize("device", ["meta", "garbage", "xla", "cuda:x", "cuda:99", "mps"])
def test_a_device_this_process_cannot_use_is_refused_naming_device(digits, device):
    if device == "mps" and torch.backends.mps.is_available():
        pytest.skip("mps is available here")
    with pytest.raises(ValueError, match="device"):
        SpectralMLPClassifier(max_epochs=1, device=device).fit(*digits)


@pytest.mark.parametrize("entry", [object(), 3, "probe", ("probe",), ("probe", object()),
                                   ("probe", 3, 4)])
def test_a_callbacks_entry_that_is_not_a_skorch_callback_is_refused(digits, entry):
    with pytest.raises(TypeError, match=r"callbacks\[0\] must be a skorch callback"):
        SpectralMLPClassifier(max_epochs=1, callbacks=[entry]).fit(*digits)


def test_labels_mixing_numbers_and_strings_are_refused(clf, digits):
    X, y = digits
    mixed = [0, "1"] * (len(X) // 2)  # NumPy would silently make them all strings
    with pytest.raises(ValueError, match=r"y mixes label types \(number, string\)"):
        SpectralMLPClassifier(max_epochs=1).fit(X, mixed)
    with pytest.raises(ValueError, match="y mixes label types"):
        adversarial_distances(clf, X[:4], np.array([0, "a", 1, 2], dtype=object), max_iter=1)


def test_labels_shorter_than_X_are_refused_before_the_draw(clf, digits):
    X, y = digits
    with pytest.raises(ValueError, match=r"y must have shape \(6,\) to match X, got \(4,\)"):
        adversarial_distances(clf, X[:6], y[:4], n_samples=3, random_state=0, max_iter=1)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_starting_points_that_are_not_finite_are_refused(clf, digits, value):
    with pytest.raises(ValueError, match="starting_points contains (NaN|infinity)"):
        TangentAttack(max_iter=1).attack(clf, digits[0][:4],
                                         starting_points=np.full((4, 64), value))


def test_a_torch_module_that_cannot_take_the_samples_is_refused_naming_their_shape(digits):
    with pytest.raises(ValueError, match=r"cannot take samples of shape \(64,\)"):
        TangentAttack(max_iter=1).attack(torch.nn.Linear(10, 3), digits[0][:4])


@pytest.mark.parametrize("X", [[[0.5] * 64, [0.5] * 3], np.full((2, 64), 0.5, np.complex64),
                               np.full((2, 64), "a")])
def test_attacked_samples_must_be_one_array_of_real_numbers(clf, X):
    with pytest.raises((ValueError, TypeError), match="X must"):
        adversarial_distances(clf, X, max_iter=1)


@pytest.mark.parametrize("X", [0.5, None, "X"])
def test_attacked_samples_that_are_not_an_array_of_samples_are_refused_before_the_draw(clf, X):
    with pytest.raises((ValueError, TypeError), match="X must"):
        adversarial_distances(clf, X, n_samples=2, random_state=0, max_iter=1)


def test_the_scorer_needs_predict_to_find_the_correct_samples(clf, digits):
    class Featurizer:
        def transform(self, X):
            return clf.transform(X)

    with pytest.raises(TypeError, match="RobustnessScorer needs an estimator with predict"):
        RobustnessScorer(n_samples=2, max_iter=1)(Featurizer(), *digits)


# ------------------------------------------------------------------------ certified bound
def _pipeline(clf, digits, *middle, head=None):
    X, y = digits
    Z = clf.transform(X)
    for _, step in middle:
        Z = Z if step == "passthrough" else step.fit_transform(Z)
    head = LogisticRegression(max_iter=500) if head is None else head
    return Pipeline([("feat", clf), *middle, ("head", head.fit(Z, y))])


@pytest.mark.parametrize(("make", "match"), [
    (lambda: ("head", KNeighborsClassifier()), r"last step 'head' is a KNeighborsClassifier, "
                                               r"not a linear classifier"),
    (lambda: ("head", SVC(kernel="linear")), "last step 'head' is a SVC"),
    (lambda: ("pca", PCA(5)), r"step 'pca' is a PCA, whose effect on distances"),
    (lambda: ("clip", MinMaxScaler(clip=True)), "step 'clip' is a MinMaxScaler"),
    (lambda: ("poly", PolynomialFeatures()), "step 'poly' is a PolynomialFeatures"),
])
def test_the_bound_refuses_every_pipeline_it_cannot_bound(clf, digits, make, match):
    name, step = make()
    pipe = _pipeline(clf, digits, head=step) if name == "head" else \
        _pipeline(clf, digits, (name, step))
    with pytest.raises(TypeError, match=match):
        certified_lower_bound(pipe, digits[0][:3])


def test_the_bound_refuses_an_unfitted_head_or_one_of_another_width(clf, digits):
    X, y = digits
    with pytest.raises(NotFittedError, match="LogisticRegression"):
        certified_lower_bound(Pipeline([("feat", clf), ("head", LogisticRegression())]), X[:3])
    narrow = LogisticRegression().fit(X[:, :5], y)
    with pytest.raises(ValueError, match=r"head LogisticRegression takes 5 features .* the "
                                         r"featurizer gives 16"):
        certified_lower_bound(Pipeline([("feat", clf), ("head", narrow)]), X[:3])


@pytest.mark.parametrize("step", [StandardScaler(), MaxAbsScaler(), MinMaxScaler(),
                                  "passthrough"])
def test_affine_steps_between_featurizer_and_head_are_accepted(clf, digits, step):
    bound = certified_lower_bound(_pipeline(clf, digits, ("scale", step)), digits[0][:5])
    assert bound.shape == (5,) and np.all(np.isfinite(bound)) and np.all(bound >= 0)


# ------------------------------------------------------------------------ volume element
@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"batch_size": 0}, ValueError, "'batch_size' parameter of volume_element"),
    ({"batch_size": -1}, ValueError, "'batch_size' parameter of volume_element"),
    ({"log": "yes"}, ValueError, "'log' parameter of volume_element"),
    ({"X": np.full((2, 4), np.nan)}, ValueError, "X contains NaN"),
    ({"X": np.zeros((2, 5))}, ValueError, r"failed on X's samples of shape \(5,\)"),
    ({"model": "sklearn"}, TypeError, "volume_element needs a fitted skspectral estimator .* "
                                      "got LogisticRegression"),
])
def test_volume_element_refuses_bad_input_naming_it(kwargs, error, match):
    args = {"model": torch.nn.Linear(4, 6), "X": np.zeros((2, 4)), **kwargs}
    if args["model"] == "sklearn":
        args["model"] = LogisticRegression().fit(np.eye(4), [0, 1, 0, 1])
    model, X = args.pop("model"), args.pop("X")
    with pytest.raises(error, match=match):
        volume_element(model, X, **args)


def test_volume_element_of_a_module_without_parameters():
    # ReLU on positive inputs is the identity: volume 1.
    np.testing.assert_array_equal(volume_element(torch.nn.ReLU(), np.full((3, 4), 0.5)),
                                  np.ones(3))


# ------------------------------------------------------------------------ attack results
@pytest.fixture
def result():
    return AttackResult(distances=np.array([0.0, 0.5, 1.0, np.inf]), adversarial=np.zeros((4, 2)),
                        success=np.array([True, True, True, False]), queries=np.full(4, 10),
                        clip_min=0.0, clip_max=1.0)


@pytest.mark.parametrize(("method", "arg", "error", "match"), [
    ("robust_accuracy", -1, ValueError, r"eps must be in \[0.0, inf\]"),
    ("robust_accuracy", np.nan, ValueError, "eps must not be NaN"),
    ("robust_accuracy", "a", TypeError, "eps must be a real number"),
    ("quantile", 1.5, ValueError, r"q must be in \[0.0, 1.0\]"),
    ("quantile", -0.1, ValueError, r"q must be in \[0.0, 1.0\]"),
    ("quantile", np.nan, ValueError, "q must not be NaN"),
    ("quantile", [0.5, 2.0], ValueError, "q must be in"),
    ("fraction_above", np.nan, ValueError, "thresholds must not be NaN"),
    ("fraction_above", ["a"], TypeError, "thresholds must be a real number"),
])
def test_result_statistics_refuse_arguments_out_of_their_domain(result, method, arg, error,
                                                                 match):
    with pytest.raises(error, match=match):
        getattr(result, method)(arg)


def test_result_statistics_at_the_edges_of_their_domain(result):
    assert result.robust_accuracy(np.inf) == 0.0
    assert result.robust_accuracy(0.0) == 0.75  # the misclassified sample is not robust
    assert result.quantile(0.0) == 0.5 and result.quantile(1.0) == np.inf


# ------------------------------------------------------------------------ FeatureProbe
@pytest.mark.parametrize(("kwargs", "match"), [
    ({"method": "svm"}, "'method' parameter of FeatureProbe"),
    ({"cv": 1}, "'cv' parameter of FeatureProbe"),
    ({"every": 0}, "'every' parameter of FeatureProbe"),
    ({"batch_size": 0}, "'batch_size' parameter of FeatureProbe"),
    ({"name": 3}, "'name' parameter of FeatureProbe"),
    ({"y": np.zeros(3)}, r"FeatureProbe's y must have shape \(200,\)"),
    ({"X": np.full((200, 64), np.nan)}, "FeatureProbe's X contains NaN"),
    ({"cv": 500}, "cv=500 folds need at least 500 samples"),
])
def test_feature_probe_refuses_bad_arguments_when_built(digits, kwargs, match):
    with pytest.raises(ValueError, match=match):
        FeatureProbe(**{"X": digits[0], "y": digits[1], **kwargs})


def test_feature_probe_refuses_samples_the_network_cannot_take_before_the_first_epoch(digits):
    X, y = digits
    epochs = []

    class Count(Callback):
        def on_epoch_end(self, net, **kwargs):
            epochs.append(1)

    probe = FeatureProbe(X[:, :5], y)
    with pytest.raises(ValueError, match=r"FeatureProbe's X has samples of shape \(5,\), which "
                                         "the network cannot take"):
        SpectralMLPClassifier(max_epochs=2, callbacks=[("count", Count()),
                                                       ("probe", probe)]).fit(X, y)
    assert epochs == []


# ------------------------------------------------------------------------ the rest
def test_features_naming_the_readout_itself_is_refused(digits):
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 8))
            self.fc = torch.nn.Linear(8, 10)

        def forward(self, x):
            return self.fc(self.body(x))

    X, y = digits
    with pytest.raises(ValueError, match="features='fc' names the network's final Linear "
                                         "layer, its readout"):
        SpectralClassifier(Net, features="fc", max_epochs=1).fit(X.reshape(-1, 1, 8, 8), y)


def test_dataset_helpers_name_their_argument():
    with pytest.raises(TypeError, match="noise must be a real number"):
        make_xor(2, noise="a")
    with pytest.raises(TypeError, match="data_home must be a str, a path or None"):
        get_data_home(3)
