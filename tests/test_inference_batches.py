"""Inference batches: ``max(batch_size, 1024)`` rows unless ``iterator_valid__batch_size`` is
routed, and at ``iterator_valid__batch_size=batch_size`` the batched forward pass of the
training batch size, to the bit."""

import copy

import numpy as np
import pytest
import torch
import torch.nn as nn
from sklearn.datasets import load_digits

from skspectral import SpectralClassifier, SpectralMLPClassifier

EPS32 = float(np.finfo(np.float32).eps)


class _CNN(nn.Module):
    def __init__(self, width=4):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, width, 3, padding=1), nn.ReLU(),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(width, 10)

    def forward(self, x):
        return self.fc(self.body(x))


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32), y


@pytest.fixture(scope="module")
def mlp(digits):
    X, y = digits
    return SpectralMLPClassifier(hidden_layer_sizes=(16,), batch_size=50, max_epochs=2,
                                 device="cpu", random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def cnn(digits):
    X, y = digits
    return SpectralClassifier(module=_CNN, batch_size=64, max_epochs=1, burnin=0,
                              device="cpu", random_state=0).fit(X[:256].reshape(-1, 1, 8, 8),
                                                                y[:256])


def _batch_rows(clf, call, submodule=None):
    """The rows of every forward call that ``call(clf)`` makes."""
    rows = []
    target = clf.module_ if submodule is None else clf.module_.get_submodule(submodule)
    handle = target.register_forward_hook(lambda m, args, out: rows.append(len(args[0])))
    try:
        call(clf)
    finally:
        handle.remove()
    return rows


def test_inference_reads_the_larger_of_batch_size_and_1024_rows(mlp, digits):
    X, y = digits  # 1797 rows, trained in batches of 50
    for call in (lambda c: c.predict(X), lambda c: c.predict_proba(X),
                 lambda c: c.score(X, y)):
        assert _batch_rows(mlp, call) == [1024, 773]
    assert _batch_rows(mlp, lambda c: c.transform(X), "features") == [1024, 773]
    wide = SpectralMLPClassifier(hidden_layer_sizes=(4,), batch_size=1500, max_epochs=1,
                                 device="cpu", random_state=0).fit(X, y)
    assert _batch_rows(wide, lambda c: c.predict(X)) == [1500, 297]


def test_iterator_valid_batch_size_sets_the_inference_batches(mlp, digits):
    X, _ = digits
    clf = copy.deepcopy(mlp).set_params(iterator_valid__batch_size=700)
    assert _batch_rows(clf, lambda c: c.predict_proba(X)) == [700, 700, 397]
    assert clf.get_params()["iterator_valid__batch_size"] == 700


@pytest.mark.parametrize("value", [0, -1, 2.5, "10"])
def test_a_bad_iterator_valid_batch_size_is_refused_at_fit(digits, value):
    X, y = digits
    clf = SpectralMLPClassifier(max_epochs=1, iterator_valid__batch_size=value)
    with pytest.raises(ValueError, match="iterator_valid__batch_size"):
        clf.fit(X[:20], y[:20])


def _batched_forward(clf, X, rows, features=False):
    """The old inference: the module in evaluation mode on ``rows``-row slices, concatenated."""
    module = clf.module_
    with torch.inference_mode():
        parts = [module.features(torch.as_tensor(X[i:i + rows])).flatten(1) if features
                 else module(torch.as_tensor(X[i:i + rows])) for i in range(0, len(X), rows)]
    return torch.cat(parts)


@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_at_the_training_batch_size_inference_is_the_training_batches_forward_pass(
        name, request, digits):
    """Pinned: ``iterator_valid__batch_size=batch_size`` gives the outputs inference gave
    before it had its own batches, to the bit (convolutions may round differently in
    another batch size)."""
    clf = request.getfixturevalue(name)
    X = digits[0][:300] if name == "mlp" else digits[0][:300].reshape(-1, 1, 8, 8)
    pinned = copy.deepcopy(clf).set_params(iterator_valid__batch_size=clf.batch_size)
    logits = _batched_forward(pinned, X, clf.batch_size)
    expected = torch.softmax(logits.double(), dim=1).numpy()
    np.testing.assert_array_equal(pinned.predict_proba(X), expected)
    np.testing.assert_array_equal(pinned.predict(X), pinned.classes_[expected.argmax(1)])
    np.testing.assert_array_equal(
        pinned.transform(X), _batched_forward(pinned, X, clf.batch_size, True).numpy())


@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_the_default_batches_agree_with_the_training_batches_within_float32_rounding(
        name, request, digits):
    """Each output row depends on its input row alone; only the float32 rounding of the
    products may change with the batch. Bound: a length-n float32 dot product is within
    n * eps * sum|w x| of the exact one; summed over the layers' fan-ins, on the scale of the
    float64 logits."""
    clf = request.getfixturevalue(name)
    X = digits[0] if name == "mlp" else digits[0].reshape(-1, 1, 8, 8)
    default = _batched_forward(clf, X, 1024).numpy()
    at_training = _batched_forward(clf, X, clf.batch_size).numpy()
    with torch.inference_mode():
        exact = copy.deepcopy(clf.module_).double()(torch.as_tensor(X, dtype=torch.float64))
    exact = exact.numpy()
    fan_in = sum(m.weight[0].numel() for m in clf.module_.modules()
                 if isinstance(m, (nn.Linear, nn.Conv2d)))
    tol = fan_in * EPS32 * (1 + np.abs(exact).max())
    assert np.abs(default - exact).max() <= tol
    assert np.abs(at_training - exact).max() <= tol
    np.testing.assert_array_equal(clf.predict_proba(X),
                                  torch.softmax(torch.as_tensor(default).double(), 1).numpy())
