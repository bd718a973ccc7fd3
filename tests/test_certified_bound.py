"""certified_lower_bound is a bound: never above a distance an attack finds, on random models.

Random small networks and Pipelines (seeded: widths, depths, activations, regularizers,
heads, scalers between the featurizer and the head) are fitted, and on each the bound is
compared with the Tangent Attack's distance (a black-box upper bound of the distance to the
decision boundary) on every sample where the attack found one.

Rounding, from the arithmetic:

- The attack queries a float64 copy of the model (Φ in float64, the scaler and the head
  in float64), so its labels are those of the exact function up to float64 rounding.
- The bound uses the float32 features ``Z32 = transform(X)``. Each margin
  ``m_k(z) = (W_c - W_k) z + b_c - b_k`` is ``|W_c - W_k|``-Lipschitz in ``z``, so the
  bound computed from ``Z32`` exceeds the one from the float64 features ``Z64`` by at most
  ``|Z32 - Z64| / Lip(Φ)`` (``Lip(Φ)`` the constant the bound divides by).
- The attack's distance is the float32 norm of a difference of float32 points: its
  relative error is at most ``γ_d = d u / (1 - d u)``, ``u = 2^-24``, ``d`` the dimension.
- What float64 rounding leaves (the oracle's labels, the bound's own float64 sums over at
  most a few hundred terms: relative errors of order 1e-14) is covered by ``1e-9 (1 + d)``.
"""

import copy

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, StandardScaler
from sklearn.svm import LinearSVC

from skspectral import SpectralClassifier, SpectralMLPClassifier, adversarial_distances
from skspectral import certified_lower_bound as bound_of
from skspectral.metrics import _feature_lipschitz

ACTIVATIONS = ["relu", "tanh", "sigmoid", "gelu", "silu"]
REGULARIZERS = [None, "rep", "all"]
HEADS = [lambda: LogisticRegression(max_iter=2000), lambda: LinearSVC(max_iter=20000),
         RidgeClassifier]
SCALERS = [None, StandardScaler, MaxAbsScaler, MinMaxScaler, "passthrough"]


def _blobs(rng, n, d, k):
    centers = rng.uniform(0.2, 0.8, size=(k, d))
    y = rng.integers(0, k, size=n)
    X = np.clip(centers[y] + rng.normal(0, 0.12, size=(n, d)), 0, 1).astype(np.float32)
    return X, y


class _Chain(torch.nn.Module):
    """A small CNN whose Φ is a chain (conv, activation, pooling, flatten)."""

    def __init__(self, channels=3):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Conv2d(1, channels, 3, padding=1),
                                        torch.nn.Tanh(), torch.nn.AvgPool2d(2),
                                        torch.nn.Flatten())
        self.fc = torch.nn.Linear(channels * 9, 3)

    def forward(self, x):
        return self.fc(self.body(x))


def _random_model(seed):
    """``(model, X, description)``: a fitted featurizer alone or in a Pipeline."""
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 4))
    common = dict(regularizer=REGULARIZERS[rng.integers(3)], gamma=float(rng.choice([0, 0.05])),
                  max_epochs=60, lr=3e-2, batch_size=64, random_state=seed)
    if rng.random() < 0.2:  # a convolutional chain on 6 x 6 images
        X, y = _blobs(rng, 160, 36, k)
        X = X.reshape(-1, 1, 6, 6)
        feat = SpectralClassifier(_Chain, features="body",
                                  module__channels=int(rng.integers(2, 5)),
                                  **common)
        what = "CNN"
    else:
        d = int(rng.choice([2, 5, 8]))
        X, y = _blobs(rng, 160, d, k)
        widths = tuple(int(w) for w in rng.integers(4, 17, size=rng.integers(1, 4)))
        activation = ACTIVATIONS[rng.integers(len(ACTIVATIONS))]
        feat = SpectralMLPClassifier(hidden_layer_sizes=widths, activation=activation,
                                     init=str(rng.choice(["small", "default"])), **common)
        what = f"MLP d={d} {widths} {activation}"
    what += f" reg={common['regularizer']} gamma={common['gamma']}"
    if rng.random() < 0.4:
        return feat.fit(X, y), X, what
    steps = [("feat", feat)]
    scaler = SCALERS[rng.integers(len(SCALERS))]
    if scaler is not None:
        steps.append(("scale", scaler if isinstance(scaler, str) else scaler()))
        what += f" -> {scaler if isinstance(scaler, str) else scaler.__name__}"
    head = HEADS[rng.integers(len(HEADS))]()
    steps.append(("head", head))
    return Pipeline(steps).fit(X, y), X, what + f" -> {type(head).__name__}"


def _float64_oracle(model):
    """``(predict codes of float64 evaluation, float64 features)`` of the model."""
    featurizer = model.steps[0][1] if isinstance(model, Pipeline) else model
    features = copy.deepcopy(featurizer.module_.features).double().eval()

    @torch.no_grad()
    def phi(x):
        return features(torch.as_tensor(np.asarray(x), dtype=torch.float64)).flatten(1).numpy()

    if isinstance(model, Pipeline):
        rest = model[1:]

        def predict(x):
            return rest.predict(phi(x))
    else:
        head = copy.deepcopy(featurizer.module_.head).double()

        @torch.no_grad()
        def predict(x):
            return head(torch.as_tensor(phi(x))).argmax(1).numpy()
    return predict, phi, featurizer


def _check_bound(seed, n_attacked=8):
    model, X, what = _random_model(seed)
    X = X[:n_attacked]
    predict, phi, featurizer = _float64_oracle(model)
    bound = bound_of(model, X)
    assert bound.shape == (len(X),) and np.all(bound >= 0), what
    result = adversarial_distances(predict, X, clip_min=0.0, clip_max=1.0, random_state=seed,
                                   max_iter=20)
    d = X[0].size
    u = 2.0 ** -24
    gamma = d * u / (1 - d * u)
    z_error = np.linalg.norm(featurizer.transform(X).astype(np.float64) - phi(X), axis=1)
    slack = z_error / _feature_lipschitz(featurizer) + 1e-9 * (1 + result.distances)
    found = np.isfinite(result.distances)
    excess = bound - (result.distances * (1 + gamma) + slack)
    assert np.all(excess[found] <= 0), (what, bound[found], result.distances[found])
    return int(found.sum())


@pytest.mark.parametrize("seed", range(6))
def test_the_bound_is_below_the_attack_distance_on_random_models(seed):
    assert _check_bound(seed) >= 1  # the attack found a distance to compare with


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(6, 60))
def test_the_bound_is_below_the_attack_distance_on_more_random_models(seed):
    _check_bound(seed)


def test_a_scaler_between_featurizer_and_head_is_folded_into_the_head_exactly():
    # featurizer -> StandardScaler -> head is featurizer -> head' with W' = W / s,
    # b' = b - W' mean: the bound of both is one number (to float64 rounding).
    rng = np.random.default_rng(0)
    X, y = _blobs(rng, 120, 5, 3)
    feat = SpectralMLPClassifier(hidden_layer_sizes=(8,), max_epochs=10, random_state=0)
    pipe = Pipeline([("feat", feat), ("scale", StandardScaler()),
                     ("head", LogisticRegression(max_iter=2000))]).fit(X, y)
    scaler, head = pipe.named_steps["scale"], pipe.named_steps["head"]
    folded = copy.deepcopy(head)
    folded.coef_ = head.coef_ / scaler.scale_
    folded.intercept_ = head.intercept_ - folded.coef_ @ scaler.mean_
    unscaled = Pipeline([("feat", pipe.named_steps["feat"]), ("head", folded)])
    np.testing.assert_allclose(bound_of(pipe, X[:20]), bound_of(unscaled, X[:20]),
                               rtol=1e-9, atol=0)
    # Ignoring the scaler would give another number: the step matters.
    ignored = Pipeline([("feat", pipe.named_steps["feat"]), ("head", head)])
    assert not np.allclose(bound_of(ignored, X[:20]), bound_of(pipe, X[:20]))
