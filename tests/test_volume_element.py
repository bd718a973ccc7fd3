"""The volume element of the feature map, sqrt(det(J^T J)), against closed forms."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from skspectral import SpectralMLPClassifier, volume_element

EPS32 = float(np.finfo(np.float32).eps)


def _module(features):
    module = torch.nn.Module()
    module.features = features
    return module


def test_a_linear_feature_map_has_the_constant_volume_element_of_its_matrix():
    torch.manual_seed(0)
    linear = torch.nn.Linear(3, 5)
    W = linear.weight.detach().double().numpy()
    X = np.random.default_rng(0).normal(size=(7, 3))
    volume, top = volume_element(_module(linear), X, return_lambda_max=True)
    # float32 weights, float64 determinant: the error is the rounding of W itself
    np.testing.assert_allclose(volume, np.sqrt(np.linalg.det(W.T @ W)), rtol=16 * EPS32)
    np.testing.assert_allclose(top, np.linalg.norm(W, 2) ** 2, rtol=16 * EPS32)
    np.testing.assert_allclose(volume_element(_module(linear), X, log=True),
                               np.log(volume), rtol=16 * EPS32)


def test_one_hidden_layer_by_hand_at_a_point():
    torch.manual_seed(1)
    linear = torch.nn.Linear(2, 3)
    x = np.array([[0.3, -0.7]])
    W = linear.weight.detach().double().numpy()
    b = linear.bias.detach().double().numpy()
    # Φ = tanh(Wx + b): J = diag(1 - tanh(Wx + b)^2) W
    J = (1 - np.tanh(W @ x[0] + b) ** 2)[:, None] * W
    expected = np.sqrt(np.linalg.det(J.T @ J))
    got = volume_element(_module(torch.nn.Sequential(linear, torch.nn.Tanh())), x)
    np.testing.assert_allclose(got, [expected], rtol=64 * EPS32)


def test_an_input_wider_than_the_features_is_refused():
    with pytest.raises(ValueError, match=r"d = 5 > m = 2 its determinant is 0 everywhere"):
        volume_element(_module(torch.nn.Linear(5, 2)), np.zeros((3, 5)))


def test_estimators_and_pipelines_read_their_feature_map_without_changing_it():
    X, y = load_digits(return_X_y=True)
    X = (X[:200] / 16).astype(np.float32)
    clf = SpectralMLPClassifier(hidden_layer_sizes=(80,), max_epochs=2, random_state=0)
    clf.fit(X, y[:200])
    before = {k: v.clone() for k, v in clf.module_.state_dict().items()}
    volume = volume_element(clf, X[:4])
    pipe = Pipeline([("feat", clf), ("clf", LogisticRegression(max_iter=300))]).fit(X, y[:200])
    np.testing.assert_array_equal(volume_element(pipe, X[:4]), volume)
    assert volume.shape == (4,) and np.all(volume > 0)
    after = clf.module_.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
