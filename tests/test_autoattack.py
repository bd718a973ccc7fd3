"""Robust accuracy at a fixed radius under AutoAttack (the ``autoattack`` extra)."""

import sys

import numpy as np
import pytest
import scipy.sparse as sp
import torch
import torch.nn as nn
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.tree import DecisionTreeClassifier

from skspectral import SpectralMLPClassifier
from skspectral.autoattack import AutoAttackScorer, run_autoattack

pytest.importorskip("pyautoattack", reason="the autoattack extra: pip install "
                                           "'skspectral[autoattack]'")

CHEAP = {"version": "custom", "attacks": ["apgd-ce", "apgd-t"]}


def _linear(scale=1.0):
    """A 4-class linear model on 6 features (its logits), for inputs in [0, scale]."""
    torch.manual_seed(0)
    model = nn.Linear(6, 4).double()
    with torch.no_grad():
        model.weight.div_(scale)
    return model.float()


def _exact(model, X, norm, top=1.0):
    """Closed-form distance to the decision boundary of a linear model, its predicted
    class, and whether the nearest boundary point lies in the box ``[0, top]``."""
    W = model.weight.detach().double().numpy()
    b = model.bias.detach().double().numpy()
    scores = X.astype(np.float64) @ W.T + b
    c = scores.argmax(axis=1)
    dist, inside = np.empty(len(X)), np.empty(len(X), bool)
    for i, (x, ci) in enumerate(zip(X.astype(np.float64), c, strict=True)):
        best = np.inf
        for k in range(len(b)):
            if k == ci:
                continue
            w = W[ci] - W[k]
            margin = scores[i, ci] - scores[i, k]
            d = margin / (np.linalg.norm(w) if norm == "L2" else np.abs(w).sum())
            if d < best:
                step = w / np.linalg.norm(w) * d if norm == "L2" else np.sign(w) * d
                best, point = d, x - step
        dist[i], inside[i] = best, bool(((point >= 0) & (point <= top)).all())
    return dist, c, inside


@pytest.mark.parametrize("norm", ["L2", "Linf"])
@pytest.mark.parametrize("scale", [1.0, 255.0])
def test_on_a_linear_model_a_sample_is_robust_iff_its_exact_distance_exceeds_eps(norm, scale):
    rng = np.random.default_rng(0)
    X = (rng.uniform(0.3, 0.7, size=(400, 6)) * scale).astype(np.float32)
    model = _linear(scale)
    dist, c, inside = _exact(model, X, norm, scale)
    eps = float(np.median(dist[inside]))
    # Samples whose distance is clear of eps (the attack's own tolerance is a few 1e-3) and
    # whose nearest boundary point is in the box, where the closed form is the distance.
    clear = inside & (np.abs(dist - eps) > 0.02 * eps)
    X, c, dist = X[clear], c[clear], dist[clear]
    result = run_autoattack(model, X, c, eps, norm=norm, clip_min=0.0, clip_max=scale,
                            random_state=0, **CHEAP)
    np.testing.assert_array_equal(result.robust, dist > eps)
    assert 0.3 < result.robust_accuracy() < 0.7
    assert result.eps == eps and result.norm == norm and result.attacks == CHEAP["attacks"]
    # Every returned point is within eps (float32 rounding of the box's units) and in the box.
    assert (result.perturbation <= eps * (1 + 1e-5)).all()
    assert result.adversarial.min() >= 0 and result.adversarial.max() <= scale
    flipped = ~result.robust
    logits = model(torch.as_tensor(result.adversarial[flipped])).argmax(1).numpy()
    assert (logits != c[flipped]).all()
    np.testing.assert_array_equal(result.adversarial[~flipped], X[~flipped])


def test_a_per_feature_box_of_one_width_rescales_and_unequal_widths_are_refused():
    rng = np.random.default_rng(1)
    low = np.array([-3.0, -1.0, 0.0, 2.0, 5.0, -0.5])
    X = (low + rng.uniform(0.3, 0.7, size=(200, 6))).astype(np.float32)
    model = _linear()
    dist, c, inside = _exact(model, X - low.astype(np.float32), "L2")
    with torch.no_grad():  # the same decision function on the shifted inputs
        model.bias.sub_(model.weight @ torch.as_tensor(low, dtype=torch.float32))
    eps = float(np.median(dist))
    result = run_autoattack(model, X, c, eps, clip_min=low, clip_max=low + 1.0,
                            random_state=0, **CHEAP)
    clear = inside & (np.abs(dist - eps) > 0.02 * eps)
    np.testing.assert_array_equal(result.robust[clear], dist[clear] > eps)
    with pytest.raises(ValueError, match="widths range from 1 to 2.*ellipsoid"):
        run_autoattack(model, X, c, eps, clip_min=low, clip_max=low + np.r_[1, 1, 1, 1, 1, 2],
                       **CHEAP)


def test_the_model_its_gradients_and_the_random_streams_are_unchanged():
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    clf = SpectralMLPClassifier(hidden_layer_sizes=(32,), max_epochs=5, batch_size=64,
                                random_state=0).fit(X[:600], y[:600])
    module = clf.module_
    params = {k: v.clone() for k, v in module.state_dict().items()}
    grads = [None if p.grad is None else p.grad.clone() for p in module.parameters()]
    requires = [p.requires_grad for p in module.parameters()]
    torch_state = torch.random.get_rng_state()
    np_state = np.random.get_state()  # noqa: NPY002 (the global stream is what is checked)
    # FAB calls backward(), which would add to the parameters' .grad.
    kwargs = {"version": "custom", "attacks": ["apgd-ce", "fab-t"], "random_state": 0}
    result = run_autoattack(clf, X[600:640], y[600:640], 0.5, **kwargs)
    for k, v in module.state_dict().items():
        assert torch.equal(v, params[k]), k
    for p, g, r in zip(module.parameters(), grads, requires, strict=True):
        assert p.requires_grad == r
        assert (p.grad is None and g is None) or torch.equal(p.grad, g)
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], np_state[1])  # noqa: NPY002
    correct = clf.predict(X[600:640]) == y[600:640]
    assert not (result.robust & ~correct).any()  # misclassified samples are never robust
    fooled = ~result.robust & correct
    assert fooled.any()
    assert (clf.predict(result.adversarial[fooled]) != y[600:640][fooled]).all()
    again = run_autoattack(clf, X[600:640], y[600:640], 0.5, **kwargs)
    np.testing.assert_array_equal(again.robust, result.robust)


def test_a_torch_module_keeps_its_training_flag_and_the_attacks_fit_the_model():
    model = nn.Sequential(_linear(), nn.Dropout(0.5)).train()
    X = np.full((3, 6), 0.5, np.float32)
    with torch.no_grad():
        wrong = (model[0](torch.as_tensor(X)).argmax(1).numpy() + 1) % 4
    # Misclassified samples: AutoAttack has nothing left to attack, and says which it would.
    result = run_autoattack(model, X, wrong, 0.01, random_state=0)
    assert model.training and model[1].training
    assert not result.robust.any()
    # 6 features are no image for Square; 4 classes allow the targeted attacks.
    assert result.attacks == ["apgd-ce", "apgd-t", "fab-t"]
    binary = nn.Linear(25, 2)
    X = np.full((2, 25), 0.5, np.float32)
    with torch.no_grad():
        wrong = 1 - binary(torch.as_tensor(X)).argmax(1).numpy()
    # 25 features are a 5 x 5 image; 2 classes leave out the targeted APGD (DLR loss).
    assert run_autoattack(binary, X, wrong, 1e-3, random_state=0).attacks == [
        "apgd-ce", "fab-t", "square"]


def test_the_scorer_attacks_its_draw_and_counts_misclassified_samples_as_not_robust():
    model = _linear()
    rng = np.random.default_rng(2)
    X = rng.uniform(0.3, 0.7, size=(300, 6)).astype(np.float32)
    dist, c, _ = _exact(model, X, "L2")
    y = c.copy()
    y[:100] = (c[:100] + 1) % 4  # a third of the labels wrong
    scorer = AutoAttackScorer(eps=0.0, n_samples=60, random_state=5, **CHEAP)
    chosen = np.sort(np.random.RandomState(5).choice(300, 60, replace=False))
    assert scorer(model, X, y) == pytest.approx(np.mean(y[chosen] == c[chosen]))
    assert AutoAttackScorer(eps=10.0, n_samples=60, **CHEAP)(model, X, y) == 0.0
    # A scikit-learn estimator: its repr, get_params and clone come from BaseEstimator.
    assert repr(scorer) == ("AutoAttackScorer(attacks=['apgd-ce', 'apgd-t'], eps=0.0, "
                            "n_samples=60,\n                 random_state=5, version='custom')")
    assert clone(scorer).get_params() == scorer.get_params()
    assert clone(scorer)(model, X, y) == scorer(model, X, y)
    with pytest.raises(ValueError, match="n_samples"):
        AutoAttackScorer(eps=0.1, n_samples=0)(model, X, y)
    with pytest.raises(ValueError, match="y has shape"):
        AutoAttackScorer(eps=0.1)(model, X, y[:5])


def test_bad_inputs_get_their_errors():
    model = _linear()
    X = np.full((4, 6), 0.5, np.float32)
    y = np.array([0, 1, 2, 3])
    with pytest.raises(ValueError, match="eps"):
        run_autoattack(model, X, y, -0.1)
    with pytest.raises(ValueError, match="norm"):
        run_autoattack(model, X, y, 0.1, norm="L1")
    with pytest.raises(ValueError, match="attacks goes with version='custom'"):
        run_autoattack(model, X, y, 0.1, version="custom")
    with pytest.raises(ValueError, match="attacks goes with version='custom'"):
        run_autoattack(model, X, y, 0.1, attacks=["apgd-ce"])
    with pytest.raises(ValueError, match="non-empty list of"):
        run_autoattack(model, X, y, 0.1, version="custom", attacks=["pgd"])
    with pytest.raises(ValueError, match=r"X\[2\] lies outside the box"):
        run_autoattack(model, np.where(np.arange(4)[:, None] == 2, 1.5, X), y, 0.1, **CHEAP)
    with pytest.raises(ValueError, match=r"y\[3\] = 7 is not a class"):
        run_autoattack(model, X, np.array([0, 1, 2, 7]), 0.1, **CHEAP)
    with pytest.raises(ValueError, match="y of shape"):
        run_autoattack(model, X, y[:3], 0.1, **CHEAP)
    with pytest.raises(ValueError, match="clip_min < clip_max"):
        run_autoattack(model, X, y, 0.1, clip_min=1.0, clip_max=0.0, **CHEAP)
    with pytest.raises(TypeError, match="sparse"):
        run_autoattack(model, sp.csr_matrix(X), y, 0.1, **CHEAP)
    tree = DecisionTreeClassifier().fit(X[:2] + np.eye(6)[:2].astype(np.float32) * 0.1, [0, 1])
    with pytest.raises(TypeError, match="not differentiable end to end"):
        run_autoattack(tree, X[:2], [0, 1], 0.1, **CHEAP)


def test_without_pyautoattack_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyautoattack", None)
    with pytest.raises(ImportError, match=r"pip install 'skspectral\[autoattack\]'"):
        run_autoattack(_linear(), np.full((2, 6), 0.5, np.float32), [0, 1], 0.1)
    with pytest.raises(ImportError, match=r"skspectral\[autoattack\]"):
        AutoAttackScorer(eps=0.1)(_linear(), np.full((2, 6), 0.5, np.float32), [0, 1])
