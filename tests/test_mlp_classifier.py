"""SpectralMLPClassifier: the scikit-learn face, the penalty's effect, errors, persistence."""

import io
import pickle
import warnings
from contextlib import contextmanager

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits, make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from skorch.exceptions import DeviceWarning

from skspectral import SpectralMLPClassifier
from skspectral.regularization import SpectralPenalty


def _data(n=120, n_features=8, n_classes=3, seed=0):
    X, y = make_classification(n_samples=n, n_features=n_features, n_informative=5,
                               n_classes=n_classes, random_state=seed)
    return X.astype(np.float32), y


def _small(**params):
    defaults = dict(hidden_layer_sizes=(16,), max_epochs=10, batch_size=16, burnin=0,
                    init="default", random_state=0)
    return SpectralMLPClassifier(**{**defaults, **params})


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y


# ------------------------------------------------------------------------ labels, shapes
@pytest.mark.parametrize("labels", [np.array(["cat", "dog", "emu"]), np.array([-3, 10, 42]),
                                    np.array([1.0, 2.0, 5.0])])
def test_arbitrary_labels_round_trip(labels):
    X, y = _data()
    clf = _small(max_epochs=30).fit(X, labels[y])
    assert list(clf.classes_) == sorted(labels)
    assert set(clf.predict(X)) <= set(labels)
    assert clf.predict_proba(X).shape == (len(X), 3)
    assert clf.score(X, labels[y]) > 0.6


def test_predict_proba_rows_are_probabilities_and_argmax_is_predict():
    X, y = _data()
    clf = _small().fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))


def test_transform_returns_the_last_hidden_layer():
    X, y = _data()
    clf = _small(hidden_layer_sizes=(16, 7), activation="relu").fit(X, y)
    Z = clf.transform(X)
    assert Z.shape == (len(X), 7) and Z.dtype == np.float32
    assert (Z >= 0).all()  # ReLU features
    with torch.no_grad():
        expected = clf.net_.module_.features(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(Z, expected, rtol=1e-6)
    names = clf.get_feature_names_out()
    assert list(names) == [f"spectralmlpclassifier{i}" for i in range(7)]


def test_predictions_do_not_depend_on_batch_composition():
    X, y = _data()
    clf = _small(hidden_layer_sizes=(16, 16)).fit(X, y)
    full = clf.predict_proba(X)
    parts = np.vstack([clf.predict_proba(X[i:i + 7]) for i in range(0, len(X), 7)])
    np.testing.assert_allclose(parts, full, atol=1e-5)
    np.testing.assert_array_equal(clf.classes_[parts.argmax(1)], clf.predict(X))


def test_fitted_attributes(digits):
    X, y = digits
    clf = _small(hidden_layer_sizes=(32, 16), regularizer="rep", max_epochs=3).fit(X, y)
    assert clf.n_features_in_ == 64
    assert clf.n_iter_ == 3
    assert clf.device_ == "cpu"
    assert clf.regularized_layers_ == ["features.hidden0", "features.hidden1"]
    module = clf.net_.module_
    assert set(clf.spectral_norms_) == {"features.hidden0", "features.hidden1", "head"}
    for name, value in clf.spectral_norms_.items():
        exact = torch.linalg.matrix_norm(module.get_submodule(name).weight.detach(), ord=2)
        assert value == pytest.approx(exact.item(), rel=1e-6)


@pytest.mark.parametrize(("regularizer", "expected"), [
    ("rep", ["features.hidden0"]), ("all", ["features.hidden0", "head"]), ("head", ["head"]),
    (None, []), (["head"], ["head"])])
def test_regularized_layers_follow_the_regularizer(regularizer, expected):
    X, y = _data()
    assert _small(regularizer=regularizer, max_epochs=1).fit(X, y).regularized_layers_ == expected


# ------------------------------------------------------------------------ the penalty at work
def test_rep_spectral_shrinks_only_the_representation(digits):
    X, y = digits
    params = dict(hidden_layer_sizes=(128,), max_epochs=20, batch_size=64, lr=0.1, burnin=0)
    plain = _small(regularizer=None, **params).fit(X, y).spectral_norms_
    rep = _small(regularizer="rep", gamma=0.05, **params).fit(X, y).spectral_norms_
    ll = _small(regularizer="all", gamma=0.05, **params).fit(X, y).spectral_norms_
    assert rep["features.hidden0"] < 0.8 * plain["features.hidden0"]
    assert ll["features.hidden0"] < 0.8 * plain["features.hidden0"]
    assert ll["head"] < 0.8 * plain["head"]
    assert rep["head"] > 0.9 * plain["head"]  # the readout is free under rep-spectral


def test_history_records_norms_every_epoch_and_penalty_after_burnin():
    X, y = _data()
    clf = _small(regularizer="all", gamma=0.1, max_epochs=6, burnin=4).fit(X, y)
    norms = clf.history_[:, "spectral_norms"]
    penalty = clf.history_[:, "spectral_penalty"]
    assert len(norms) == 6 and all(set(n) == {"features.hidden0", "head"} for n in norms)
    assert penalty[:4] == [0.0] * 4 and all(p > 0 for p in penalty[4:])
    final = clf.spectral_norms_
    for name in ("features.hidden0", "head"):
        assert norms[-1][name] == pytest.approx(final[name], rel=1e-3)


def test_history_rows_hold_skorchs_epoch_records():
    # Three batches of 24, 24 and 12 rows: the epoch loss is their size-weighted mean, and
    # "train_loss_best" flags a new minimum, as skorch's PassthroughScoring records them.
    X, y = _data()
    clf = _small(batch_size=24, max_epochs=4).fit(X[:60], y[:60])
    best = np.inf
    for row in clf.history_:
        losses = [b["train_loss"] for b in row["batches"]]
        assert [b["train_batch_size"] for b in row["batches"]] == [24, 24, 12]
        assert row["train_loss"] == np.average(losses, weights=[24, 24, 12])
        assert row["train_loss_best"] == (row["train_loss"] < best)
        best = min(best, row["train_loss"])
        assert set(row) >= {"epoch", "dur", "train_batch_count"}
        assert "valid_loss" not in row
    assert clf.history_[-1] is clf.history_[len(clf.history_) - 1]  # rows, not copies


@pytest.mark.parametrize(("update_every", "burnin", "expected_calls"),
                         [(1, 0, 20), (3, 0, 7), (1, 2, 10), (3, 2, 4), (25, 0, 1)])
def test_penalty_is_applied_every_k_steps_after_burnin(monkeypatch, update_every, burnin,
                                                       expected_calls):
    calls = []
    original = SpectralPenalty.apply_
    monkeypatch.setattr(SpectralPenalty, "apply_",
                        lambda self, module: calls.append(1) or original(self, module))
    X, y = _data(n=40)
    # 40 samples / batch 8 = 5 steps per epoch, 4 epochs = 20 steps.
    _small(batch_size=8, max_epochs=4, burnin=burnin, update_every=update_every).fit(X, y)
    assert len(calls) == expected_calls


def test_partial_fit_continues_training_and_the_schedule():
    X, y = _data()
    clf = _small(max_epochs=4, burnin=2, regularizer="all", gamma=0.1)
    for _ in range(3):
        clf.partial_fit(X, y)
    assert clf.n_iter_ == 3
    assert clf.history_[:, "spectral_penalty"][:2] == [0.0, 0.0]
    assert clf.history_[-1, "spectral_penalty"] > 0


def test_partial_fit_with_classes_and_unseen_labels():
    X, y = _data()
    clf = _small().partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    assert list(clf.classes_) == [0, 1, 2]
    clf.partial_fit(X, y)
    with pytest.raises(ValueError, match=r"labels \[7\] not in classes_"):
        clf.partial_fit(X[:3], np.array([0, 1, 7]))


# ------------------------------------------------------------------------ sklearn composition
def test_clone_pipeline_and_cross_val_score(digits):
    X, y = digits
    clf = _small(hidden_layer_sizes=(32,), max_epochs=5, batch_size=64, optimizer="sgd", lr=0.1,
                 optimizer__nesterov=True)
    twin = clone(clf)
    assert twin.get_params()["optimizer__nesterov"] is True
    pipe = Pipeline([("feat", twin), ("clf", LogisticRegression(max_iter=500))]).fit(X, y)
    assert pipe.score(X, y) > 0.8
    assert pipe[0].net_.optimizer_.defaults["nesterov"] is True
    scores = cross_val_score(clf, X, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.5


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_grid_search_over_gamma_and_regularizer(digits, n_jobs):
    X, y = digits
    grid = GridSearchCV(_small(hidden_layer_sizes=(32,), max_epochs=4, batch_size=64),
                        {"gamma": [0.0, 1e-2], "regularizer": ["rep", "all"]}, cv=2,
                        n_jobs=n_jobs)
    grid.fit(X, y)
    assert len(grid.cv_results_["params"]) == 4
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    assert grid.best_estimator_.regularizer in ("rep", "all")
    assert grid.best_estimator_.n_iter_ == 4


def test_set_params_routes_and_refit_uses_new_values():
    X, y = _data()
    clf = _small(optimizer="sgd").set_params(gamma=0.3, optimizer__dampening=0.0,
                                             max_epochs=2)
    assert clf.get_params()["optimizer__dampening"] == 0.0
    clf.fit(X, y)
    assert clf.net_.penalty_.gamma == 0.3 and clf.n_iter_ == 2


def test_other_optimizers():
    X, y = _data()
    clf = _small(optimizer="adam", lr=1e-2, optimizer__betas=(0.8, 0.9)).fit(X, y)
    assert isinstance(clf.net_.optimizer_, torch.optim.Adam)
    assert clf.net_.optimizer_.defaults["betas"] == (0.8, 0.9)
    assert isinstance(_small(optimizer=torch.optim.RMSprop, lr=1e-3).fit(X, y).net_.optimizer_,
                      torch.optim.RMSprop)


# ------------------------------------------------------------------------ determinism
def test_same_random_state_gives_identical_models():
    X, y = _data()
    a = _small(random_state=3).fit(X, y).predict_proba(X)
    b = _small(random_state=3).fit(X, y).predict_proba(X)
    c = _small(random_state=4).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_fit_leaves_torch_global_rng_alone():
    X, y = _data()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    _small().fit(X, y)
    assert torch.equal(torch.rand(3), expected)


# ------------------------------------------------------------------------ errors
@pytest.mark.parametrize(("X", "y", "error", "match"), [
    (np.array([[0.0, np.nan], [1.0, 2.0]]), [0, 1], ValueError, "NaN"),
    (np.array([[0.0, np.inf], [1.0, 2.0]]), [0, 1], ValueError, "infinity"),
    (np.empty((0, 3)), [], ValueError, "0 sample"),
    (np.array([1.0, 2.0, 3.0]), [0, 1, 0], ValueError, "Expected 2D array"),
    (np.ones((4, 2)), [1, 1, 1, 1], ValueError, "at least 2 classes"),
    (sp.csr_matrix(np.eye(4)), [0, 1, 0, 1], TypeError, "[Ss]parse"),
    (np.array([["a", "b"], ["c", "d"]]), [0, 1], ValueError, "could not convert"),
    (np.ones((4, 2)), [0.1, 0.2, 0.3, 0.4], ValueError, "Unknown label type"),
    (np.ones((4, 2)), [0, 1, 0], ValueError, "inconsistent numbers of samples"),
])
def test_bad_data_is_rejected_with_a_clear_error(X, y, error, match):
    with pytest.raises(error, match=match):
        _small().fit(X, y)


@pytest.mark.parametrize(("params", "error", "match"), [
    (dict(gamma=-1e-3), ValueError, "gamma"),
    (dict(gamma=float("inf")), ValueError, "gamma"),
    (dict(gamma="big"), TypeError, "gamma"),
    (dict(regularizer="spectral"), ValueError, "The 'regularizer' parameter of Spectral"),
    (dict(regularizer=["nope"]), ValueError, "'nope' is not a Linear/Conv1d/Conv2d/Conv3d layer"),
    (dict(regularizer=3), TypeError, "regularizer"),
    (dict(activation="elu"), ValueError, "The 'activation' parameter of Spectral"),
    (dict(burnin=11), ValueError, "burnin"),
    (dict(burnin=1.0), ValueError, "burnin"),
    (dict(burnin=-0.5), ValueError, "burnin"),
    (dict(update_every=0), ValueError, "update_every"),
    (dict(n_power_iterations=0), ValueError, "n_power_iterations"),
    (dict(lr=0.0), ValueError, "lr"),
    (dict(momentum=1.0), ValueError, "momentum"),
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(max_epochs=0), ValueError, "max_epochs"),
    (dict(hidden_layer_sizes=()), ValueError, "one or more positive ints. Got \\(\\)"),
    (dict(hidden_layer_sizes=(8, 0)), ValueError, "hidden_layer_sizes"),
    (dict(init="xavier"), ValueError, "The 'init' parameter of Spectral"),
    (dict(optimizer="lbfgs"), ValueError, "The 'optimizer' parameter of Spectral"),
    (dict(optimizer=object), TypeError, "a subclass of torch.optim"),
    (dict(device="tpu"), ValueError, "device"),
    (dict(module__hidden_layer_sizes=(3,)), ValueError, "duplicate"),
])
def test_bad_parameters_are_rejected_at_fit(params, error, match):
    X, y = _data(n=30)
    # __init__ never validates values (scikit-learn convention); an unknown parameter *name*
    # is refused at once, as Python refuses an unknown keyword (tests/test_bad_input.py).
    clf = _small(**params)
    with pytest.raises(error, match=match):
        clf.fit(X, y)


def test_cuda_request_without_cuda_is_an_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    X, y = _data(n=30)
    with pytest.raises(ValueError, match="CUDA is not available"):
        _small(device="cuda").fit(X, y)
    assert _small(device="auto", max_epochs=1).fit(X, y).device_ == "cpu"


def test_wrong_number_of_features_at_predict():
    X, y = _data()
    clf = _small(max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="X has 5 features"):
        clf.predict(X[:, :5])


# ------------------------------------------------------------------------ persistence
def test_pickle_round_trip_keeps_predictions_and_penalty_state():
    X, y = _data()
    clf = _small().fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    assert torch.equal(restored.net_.penalty_.v0, clf.net_.penalty_.v0)
    restored.partial_fit(X, y)  # training resumes
    assert restored.n_iter_ == clf.n_iter_ + 1


@contextmanager
def _storages_tagged_as_cuda():
    """Make torch serialization record CPU tensors as living on cuda:0 (a CUDA-saved file)."""
    registry = torch.serialization._package_registry
    entry = (-1000, lambda obj: "cuda:0" if obj.device.type == "cpu" else None,
             lambda obj, location: None)
    registry.insert(0, entry)
    try:
        yield
    finally:
        registry.remove(entry)


def test_model_saved_on_cuda_loads_on_a_cpu_only_machine(monkeypatch):
    X, y = _data()
    clf = _small().fit(X, y)
    expected = clf.predict_proba(X)
    clf.net_.device = clf.device_ = "cuda"  # as if trained on a GPU
    with _storages_tagged_as_cuda():
        blob = pickle.dumps(clf)
        tensor_blob = io.BytesIO()
        torch.save(torch.ones(1), tensor_blob)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="CUDA"):  # the file really asks for CUDA
        torch.load(io.BytesIO(tensor_blob.getvalue()))
    with pytest.warns(DeviceWarning, match="cpu"):
        restored = pickle.loads(blob)
    assert restored.device_ == "cpu"
    assert restored.net_.penalty_.v0.device.type == "cpu"
    np.testing.assert_array_equal(restored.predict_proba(X), expected)


# ------------------------------------------------------------------------ verbosity
def test_verbose_zero_is_silent_and_one_shows_a_progress_bar(capsys):
    X, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _small(verbose=0).fit(X, y)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    _small(verbose=1, max_epochs=3).fit(X, y)
    assert "3/3" in capsys.readouterr().err
