"""Every public path on a CUDA device, with values checked, not only that the code runs.

Tests marked ``cuda`` are skipped with the reason "needs a CUDA device" where CUDA is missing
(tests/conftest.py); ``.ci/gpu`` runs them on a GPU machine. Where a test's logic does not need
a GPU (reloading a pickle in a process without CUDA, the fused Pipeline oracle against
``Pipeline.predict``, the float32 error bound, the kornia views), it lives in a helper taking
the device, and an unmarked test runs that helper once on the CPU, so the logic is proven on
every machine.

Exact comparisons between the CPU and a GPU are only possible where the arithmetic is exact;
elsewhere the tolerance is derived, not guessed:

- A ReLU MLP's float32 logits: each evaluation, on any device and in any summation order, lies
  within the classical forward error bound of the exact (float64) value,
  ``|fl(Wa + b) - (Wa + b)| <= gamma_{n+1} (|W| |a| + |b|)`` with ``gamma_k = k u / (1 - k u)``,
  ``u = 2**-24``, propagated through the layers (ReLU is exact and 1-Lipschitz). Two
  evaluations differ by at most twice that bound; softmax probabilities computed from logits
  that moved by at most ``eps`` move by at most ``p (exp(2 eps) - 1)`` (the numerator and the
  normalizer each move by a factor within ``exp(+-eps)``). Predicted labels are compared
  exactly wherever the top two logits are further apart than the bound allows to swap.
- cuDNN convolutions use TF32 by default (10-bit mantissa); comparisons of a ResNet with the
  CPU switch it off for the comparison and then use a float32 tolerance.
- The Jacobian of a ReLU layer is its weight rows, exactly, so ``volume_element`` of a ReLU
  MLP equals the float64 value computed by hand up to float64 rounding.
"""

import copy
import json
import os
import pickle
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.nn as nn
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from skorch.exceptions import DeviceWarning

import skspectral
from skspectral import (
    RobustnessScorer,
    SpectralBarlowTwins,
    SpectralMLPClassifier,
    SpectralResNetClassifier,
    adversarial_distances,
    certified_lower_bound,
    volume_element,
)
from skspectral.attacks import as_oracle
from skspectral.models import TwoViews

U32 = 2.0 ** -24  # unit roundoff of float32
U64 = 2.0 ** -53  # unit roundoff of float64 (the reference's own rounding)
PACKAGE_ROOT = Path(skspectral.__file__).resolve().parents[1]


# ---------------------------------------------------------------------------- data
@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y


def _rgb(n, size=16, seed=0):
    """Random three-channel images in [0, 1] (the "barlow" views' colour ops need 3)."""
    return np.random.default_rng(seed).random((n, 3, size, size), dtype=np.float32)


def _tensors(clf):
    """Every parameter and buffer of the module and of the penalty."""
    net = clf.net_
    penalty = getattr(net, "penalty_", None)
    return [*net.module_.state_dict().values(),
            *([] if penalty is None else penalty.buffers())]


def _assert_on(clf, device_type):
    devices = {t.device.type for t in _tensors(clf)}
    assert devices == {device_type}, devices


# ---------------------------------------------------------------------------- float32 bound
def _gamma(n):
    return n * U32 / (1 - n * U32) + n * U64 / (1 - n * U64)


def _relu_mlp_bound(module, X):
    """Exact (float64) features and logits of a ReLU MLP, and bounds on the float32 errors.

    Returns ``(features, features_bound, logits, logits_bound)``: any float32 evaluation
    (any device, any summation order, FMA or not) lies within the bound of the exact value,
    entry by entry. The reference's own float64 rounding is included in ``_gamma``.
    """
    hidden = [m for m in module.features if isinstance(m, nn.Linear)]
    assert all(isinstance(m, (nn.Linear, nn.ReLU)) for m in module.features), \
        "the bound is for ReLU MLPs (ReLU is exact and 1-Lipschitz)"
    a = X.astype(np.float64)
    err = np.zeros_like(a)
    features = features_err = None
    for i, layer in enumerate([*hidden, module.head]):
        W = layer.weight.detach().cpu().double().numpy()
        b = layer.bias.detach().cpu().double().numpy()
        absW = np.abs(W)
        # computed = fl(W a_hat + b), |a_hat - a| <= err:
        # |computed - (W a + b)| <= |W| err + gamma_{n+1} (|W| (|a| + err) + |b|)
        err = err @ absW.T + _gamma(W.shape[1] + 1) * ((np.abs(a) + err) @ absW.T + np.abs(b))
        a = a @ W.T + b
        if i < len(hidden):
            a = np.maximum(a, 0.0)  # ReLU: exact, 1-Lipschitz, so err carries over
            features, features_err = a, err
    scale = float(module.output_scale)
    if scale != 1.0:
        err = abs(scale) * err + U32 * abs(scale) * (np.abs(a) + err)
        a = scale * a
    return features, features_err, a, err


def _clear_margin(logits, bound):
    """Rows whose arg-max cannot change under perturbations within ``bound``."""
    order = np.argsort(logits, axis=1)
    rows = np.arange(len(logits))
    top, second = order[:, -1], order[:, -2]
    gap = logits[rows, top] - logits[rows, second]
    return gap > bound[rows, top] + bound.max(axis=1)


def _assert_logits_and_proba_within_bound(logits_a, proba_a, logits_b, proba_b, bound):
    """Two float32 evaluations of one ReLU MLP, each within ``bound`` of the exact value."""
    diff = np.abs(logits_a.astype(np.float64) - logits_b)
    assert np.all(diff <= 2 * bound), float((diff / (2 * bound)).max())
    eps = 2 * bound.max(axis=1, keepdims=True)  # per row: the most any logit moved
    np.testing.assert_array_less(np.abs(proba_a - proba_b), proba_b * np.expm1(2 * eps)
                                 + np.finfo(np.float64).tiny)


# ---------------------------------------------------------------------------- reload helper
_RELOAD = r"""
import json, pickle, sys, warnings
import numpy as np, torch
model, data, out, threads = sys.argv[1:5]
torch.set_num_threads(int(threads))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    with open(model, "rb") as f:
        est = pickle.load(f)
X = np.load(data)
np.save(out + "/transform.npy", est.transform(X))
if hasattr(est, "predict_proba"):
    np.save(out + "/predict.npy", est.predict(X))
    np.save(out + "/proba.npy", est.predict_proba(X))
    with torch.inference_mode():
        np.save(out + "/logits.npy", est.module_(torch.from_numpy(X)).numpy())
penalty = getattr(est.net_, "penalty_", None)
tensors = [*est.net_.module_.state_dict().values(), *([] if penalty is None else
                                                        penalty.buffers())]
with open(out + "/report.json", "w") as f:
    json.dump({"cuda_available": torch.cuda.is_available(), "device": est.device_,
               "tensor_devices": sorted({t.device.type for t in tensors}),
               "warnings": [w.category.__name__ for w in caught]}, f)
"""


def _reload_without_cuda(est, X, folder):
    """Pickle ``est``, load it in a fresh process with ``CUDA_VISIBLE_DEVICES=""`` and return
    what that process computed on ``X`` (NumPy arrays saved as .npy: ``transform``, and for
    a classifier ``predict``, ``predict_proba`` and the module's logits) and a report (CUDA
    seen, ``device_``, tensor devices, warnings)."""
    out = folder / "out"
    out.mkdir(parents=True)
    model, data = folder / "model.pkl", folder / "X.npy"
    with open(model, "wb") as f:
        pickle.dump(est, f)
    np.save(data, X)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "",
           "PYTHONPATH": os.pathsep.join(p for p in (str(PACKAGE_ROOT),
                                                     os.environ.get("PYTHONPATH")) if p)}
    done = subprocess.run([sys.executable, "-c", _RELOAD, str(model), str(data), str(out),
                           str(torch.get_num_threads())],
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    with open(out / "report.json") as f:
        report = json.load(f)
    assert report["cuda_available"] is False
    assert report["device"] == "cpu" and report["tensor_devices"] == ["cpu"]
    if torch.device(est.device_).type == "cuda":  # skorch maps a CUDA net to the CPU, saying so
        assert "DeviceWarning" in report["warnings"]
    return {path.stem: np.load(path) for path in out.glob("*.npy")}, report


def _check_reload_without_cuda(clf, X, tmp_path):
    """The reloaded model predicts as ``clf`` does: labels exactly (where the float32 bound
    cannot swap the top two logits, which is asserted to be nearly everywhere), logits and
    probabilities within the bound of float32 arithmetic. Returns the largest differences."""
    device = torch.device(clf.device_)
    with torch.inference_mode():
        logits = clf.module_(torch.from_numpy(X).to(device)).float().cpu().numpy()
    proba, predicted = clf.predict_proba(X), clf.predict(X)
    got, _ = _reload_without_cuda(clf, X, tmp_path)

    _, _, exact, bound = _relu_mlp_bound(clf.module_, X)
    # Both evaluations are within the bound of the exact logits.
    assert np.all(np.abs(logits - exact) <= bound)
    assert np.all(np.abs(got["logits"] - exact) <= bound)
    _assert_logits_and_proba_within_bound(got["logits"], got["proba"], logits, proba, bound)
    clear = _clear_margin(exact, 2 * bound)
    assert clear.mean() > 0.99, clear.mean()
    np.testing.assert_array_equal(got["predict"][clear], predicted[clear])
    assert set(got["predict"]) <= set(clf.classes_)
    return (float(np.abs(got["logits"] - logits).max()),
            float(np.abs(got["proba"] - proba).max()))


def _relu_mlp(device, **params):
    defaults = dict(hidden_layer_sizes=(256,), activation="relu", max_epochs=10,
                    batch_size=64, burnin=0.5, random_state=0, device=device)
    return SpectralMLPClassifier(**{**defaults, **params})


def test_reload_without_cuda_helper_on_the_cpu(digits, tmp_path):
    """The subprocess reload and the float32 bound, proven on the CPU: there, the reloaded
    model runs the same arithmetic with the same threads, so the results are bit-identical."""
    X, y = digits
    clf = _relu_mlp("cpu", max_epochs=3).fit(X[:600], y[:600])
    logits_diff, proba_diff = _check_reload_without_cuda(clf, X[600:900], tmp_path)
    assert logits_diff == 0.0 and proba_diff == 0.0


def _tf32(a):
    """``a`` rounded toward zero to TF32's 10-bit mantissa (what TF32 tensor cores read)."""
    a = np.array(a, dtype=np.float32)
    a.view(np.uint32)[...] &= np.uint32(0xFFFFE000)
    return a.astype(np.float64)


def test_the_float32_bound_is_tight_enough_to_mean_something(digits):
    """Every float32 evaluation lies within the bound; the bound is far below the logits'
    scale; and TF32 arithmetic (what a GPU may substitute for float32) breaks it, so a check
    against it is a real check."""
    X, y = digits
    clf = _relu_mlp("cpu", max_epochs=2).fit(X[:400], y[:400])
    X_test = X[400:600]
    features, features_bound, exact, bound = _relu_mlp_bound(clf.module_, X_test)
    with torch.inference_mode():
        logits = clf.module_(torch.from_numpy(X_test)).numpy()
    assert np.all(np.abs(logits - exact) <= bound)
    assert np.all(np.abs(clf.transform(X_test) - features) <= features_bound)
    assert bound.max() < 1e-3 * np.abs(exact).max()
    hidden, head = clf.module_.features.hidden0, clf.module_.head
    h = np.maximum(_tf32(X_test) @ _tf32(hidden.weight.detach().numpy()).T
                   + hidden.bias.detach().double().numpy(), 0.0)
    tf32_logits = (_tf32(h) @ _tf32(head.weight.detach().numpy()).T
                   + head.bias.detach().double().numpy())
    assert np.any(np.abs(tf32_logits - exact) > bound)


# ---------------------------------------------------------------------------- oracle helper
def _check_pipeline_oracle(device, digits):
    """A Pipeline of a skspectral featurizer and a LogisticRegression, attacked through the
    fused oracle on ``device``: the oracle's labels are ``pipe.predict``'s on the same points
    (random points, test points and the adversarial points found), and the attack's points
    change the label, alone, as its contract says."""
    X, y = digits
    feat = SpectralMLPClassifier(hidden_layer_sizes=(64,), max_epochs=30, batch_size=512,
                                 burnin=0.5, random_state=0, device=device)
    pipe = Pipeline([("feat", feat), ("clf", LogisticRegression(max_iter=2000))])
    pipe.fit(X[:1000], y[:1000])
    oracle = as_oracle(pipe)
    assert oracle.device.type == device and oracle.input_shape == (64,)
    assert next(pipe["feat"].module_.parameters()).device.type == device

    def oracle_labels(points):
        codes = oracle(torch.from_numpy(np.ascontiguousarray(points, dtype=np.float32))
                       .reshape(len(points), -1).to(oracle.device))
        assert codes.device.type == device
        return pipe.classes_[codes.cpu().numpy()]

    # At most batch_size points per comparison: transform then runs one batch of the same
    # shape as the oracle's call (float32 rounding may depend on the batch's shape).
    rng = np.random.default_rng(0)
    for points in (rng.random((300, 64), dtype=np.float32), X[1000:1400]):
        np.testing.assert_array_equal(oracle_labels(points), pipe.predict(points))

    X_test, y_test = X[1400:1460], y[1400:1460]
    correct = pipe.predict(X_test) == y_test
    chosen = np.concatenate([np.flatnonzero(correct)[:10], np.flatnonzero(~correct)[:2]])
    result = adversarial_distances(pipe, X_test[chosen], y_test[chosen], max_iter=10,
                                   random_state=0)
    n_correct = int(correct[chosen].sum())
    assert np.all(result.distances[:n_correct] > 0)
    assert np.all(result.distances[n_correct:] == 0)
    found = np.flatnonzero(result.success[:n_correct] & np.isfinite(result.distances[:n_correct]))
    assert len(found) >= n_correct - 1
    adversarial = result.adversarial[found]
    np.testing.assert_allclose(np.linalg.norm(adversarial - X_test[chosen][found], axis=1),
                               result.distances[found], rtol=1e-5)
    np.testing.assert_array_equal(oracle_labels(adversarial), pipe.predict(adversarial))
    for point, label in zip(adversarial, y_test[chosen][found], strict=True):
        assert pipe.predict(point[None])[0] != label  # adversarial alone
    return pipe, result


def test_fused_pipeline_oracle_helper_on_the_cpu(digits):
    _check_pipeline_oracle("cpu", digits)


# ---------------------------------------------------------------------------- views helper
def _check_two_views(augment, device):
    """The "barlow" views of three-channel images on ``device``: per-sample parameters (eight
    copies of one image give eight different views), two different views, pixels in [0, 1],
    the colour operations present."""
    names = {type(m).__name__ for view in (augment.view1, augment.view2) for m in view}
    assert {"RandomResizedCrop", "ColorJitter", "RandomGrayscale", "RandomGaussianBlur",
            "RandomSolarize"} <= names, names
    image = torch.from_numpy(_rgb(1, seed=5)).to(device)
    batch = image.expand(8, -1, -1, -1).contiguous()
    torch.manual_seed(0)
    view1, view2 = augment(batch)
    for view in (view1, view2):
        assert view.device.type == device and view.dtype == torch.float32
        assert view.shape == batch.shape
        assert view.min() >= -1e-5 and view.max() <= 1 + 1e-5
        per_sample = (view[1:] - view[0]).flatten(1).abs().amax(dim=1)
        assert torch.all(per_sample > 1e-3)  # every copy got its own draw
    assert (view1 - view2).abs().amax() > 1e-3
    assert (view1 - batch).abs().amax() > 1e-3


def test_two_views_helper_on_the_cpu():
    _check_two_views(TwoViews("barlow", (3, 16, 16)), "cpu")


# ---------------------------------------------------------------- any network helper
class _DepthwiseCNN(nn.Module):
    """A user network: a strided, a depthwise and a pointwise convolution, then a readout."""

    def __init__(self, n_classes=10):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(8, 8, 3, padding=1, groups=8), nn.ReLU(),
            nn.Conv2d(8, 16, 1), nn.ReLU(), nn.Flatten())
        self.readout = nn.Linear(16 * 4 * 4, n_classes)

    def forward(self, x):
        return self.readout(self.body(x))


def _check_any_network(device, digits):
    """SpectralClassifier on a user CNN trains on ``device`` with its three convolutions
    penalized at the sizes they see; each convolution's unrolled operator built on the device
    in float64 is the CPU's to the bit (every entry is one product: exact in any order), and
    ``spectral_norms_`` never exceeds its exact value (power iteration's Rayleigh quotient);
    features and labels are those of a float64 CPU copy (float32 tolerance; TF32 off)."""
    from skspectral import SpectralClassifier
    from skspectral.spectral import conv_dense_matrix

    X, y = digits
    images = X.reshape(-1, 1, 8, 8)
    clf = SpectralClassifier(_DepthwiseCNN, max_epochs=2, batch_size=64, burnin=0,
                             update_every=1, gamma=0.1, lr=0.05, device=device,
                             random_state=0).fit(images[:512], y[:512])
    assert clf.device_ == device
    _assert_on(clf, device)
    convs = ["features.phi.body.0", "features.phi.body.2", "features.phi.body.4"]
    assert clf.regularized_layers_ == convs
    assert clf.input_shapes_[convs[1]] == (8, 4, 4)  # after the stride-2 convolution
    cpu = copy.deepcopy(clf.module_).cpu().double().eval()
    norms = clf.spectral_norms_
    for name in convs[:2]:
        shape = clf.input_shapes_[name]
        on_device = copy.deepcopy(clf.module_.get_submodule(name)).double()
        dense = conv_dense_matrix(cpu.get_submodule(name), shape)
        assert torch.equal(conv_dense_matrix(on_device, shape).cpu(), dense)
        exact = torch.linalg.matrix_norm(dense, ord=2).item()
        assert 0 < norms[name] <= exact * (1 + 1e-5)
    tf32 = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    try:
        features = clf.transform(images[512:768])
    finally:
        torch.backends.cudnn.allow_tf32 = tf32
    with torch.inference_mode():
        expected = cpu.features(torch.from_numpy(images[512:768]).double()).float().numpy()
    np.testing.assert_allclose(features, expected, rtol=1e-4,
                               atol=1e-5 * np.abs(expected).max())
    assert clf.predict(images[512:768]).shape == (256,)
    return clf


def test_any_network_helper_on_the_cpu(digits):
    _check_any_network("cpu", digits)


# ============================================================================ CUDA
@pytest.fixture(scope="module")
def cuda_mlp(digits):
    X, y = digits
    return _relu_mlp("cuda").fit(X[:1200], y[:1200])


@pytest.fixture(scope="module")
def cuda_resnet(digits):
    X, y = digits
    return SpectralResNetClassifier(max_epochs=2, batch_size=32, burnin=1, update_every=2,
                                    lr=0.05, random_state=0, device="cuda").fit(
        X[:256].reshape(-1, 8, 8), y[:256])


@pytest.fixture(scope="module")
def cuda_barlow():
    return SpectralBarlowTwins(projector=(32,), max_epochs=2, batch_size=32, burnin=1,
                               update_every=2, lr=0.05, random_state=0,
                               device="cuda").fit(_rgb(64))


# ---------------------------------------------------------------------------- estimators
@pytest.mark.cuda
def test_mlp_fit_predict_transform_on_cuda(cuda_mlp, digits):
    X, y = digits
    clf, X_test, y_test = cuda_mlp, X[1200:], y[1200:]
    assert clf.device_ == "cuda"
    _assert_on(clf, "cuda")
    assert clf.regularized_layers_ == ["features.hidden0"]
    assert clf.history_[0, "spectral_penalty"] == 0.0 and clf.history_[-1, "spectral_penalty"] > 0
    np.testing.assert_array_equal(clf.classes_, np.arange(10))
    predicted = clf.predict(X_test)
    assert predicted.shape == (len(X_test),) and set(predicted) <= set(clf.classes_)
    assert np.mean(predicted == y_test) > 0.85
    proba = clf.predict_proba(X_test)
    assert proba.shape == (len(X_test), 10) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], predicted)
    # Features and logits against the exact float64 values of the same weights.
    features, features_bound, exact, bound = _relu_mlp_bound(clf.module_, X_test)
    transformed = clf.transform(X_test)
    assert transformed.shape == (len(X_test), 256) and transformed.dtype == np.float32
    assert np.all(np.abs(transformed - features) <= features_bound)
    with torch.inference_mode():
        logits = clf.module_(torch.from_numpy(X_test).cuda()).cpu().numpy()
    assert np.all(np.abs(logits - exact) <= bound)
    clear = _clear_margin(exact, bound)
    np.testing.assert_array_equal(predicted[clear], exact[clear].argmax(axis=1))
    # The norms read on the device are the layers' exact top singular values.
    for name, sigma in clf.spectral_norms_.items():
        W = clf.module_.get_submodule(name).weight.detach().cpu().double().numpy()
        assert sigma == pytest.approx(np.linalg.norm(W, 2), rel=1e-5)


@pytest.mark.cuda
def test_mlp_pickled_on_cuda_predicts_identically_in_a_process_without_cuda(cuda_mlp, digits,
                                                                             tmp_path):
    """Labels equal; logits and probabilities within twice the float32 bound (CPU and GPU
    sum in other orders, so they are not bitwise equal in general)."""
    X, _ = digits
    _check_reload_without_cuda(cuda_mlp, X[1200:], tmp_path)


@pytest.mark.cuda
def test_resnet_and_barlow_pickled_on_cuda_load_in_a_process_without_cuda(
        cuda_resnet, cuda_barlow, digits, tmp_path, monkeypatch):
    """BatchNorm statistics, penalty vectors and the kornia views travel to a CPU-only
    process; its float32 results match the GPU's (cuDNN's TF32 off for the reference)."""
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    X, _ = digits
    images = X[256:384].reshape(-1, 1, 8, 8)
    got, _ = _reload_without_cuda(cuda_resnet, images, tmp_path / "resnet")
    logits = np.log(cuda_resnet.predict_proba(images))  # the logits up to a constant per row
    np.testing.assert_allclose(np.log(got["proba"]), logits, rtol=1e-3,
                               atol=1e-4 * np.abs(logits).max())
    clear = _clear_margin(logits, np.full_like(logits, 1e-3 * np.abs(logits).max()))
    assert clear.mean() > 0.95
    np.testing.assert_array_equal(got["predict"][clear], cuda_resnet.predict(images)[clear])
    features = cuda_resnet.transform(images)
    np.testing.assert_allclose(got["transform"], features, rtol=1e-3,
                               atol=1e-4 * np.abs(features).max())
    rgb = _rgb(16, seed=7)
    got, _ = _reload_without_cuda(cuda_barlow, rgb, tmp_path / "barlow")
    assert set(got) == {"transform"}
    features = cuda_barlow.transform(rgb)
    np.testing.assert_allclose(got["transform"], features, rtol=1e-3,
                               atol=1e-4 * np.abs(features).max())


@pytest.mark.cuda
def test_fit_on_cuda_then_load_without_cuda(monkeypatch):
    """Moved from tests/test_mlp_classifier.py: the in-process variant of the reload."""
    from sklearn.datasets import make_classification
    X, y = make_classification(n_samples=120, n_features=8, n_informative=5, n_classes=3,
                               random_state=0)
    X = X.astype(np.float32)
    clf = SpectralMLPClassifier(hidden_layer_sizes=(16,), max_epochs=10, batch_size=16,
                                burnin=0, init="default", random_state=0,
                                device="auto").fit(X, y)
    assert clf.device_.startswith("cuda")
    assert clf.net_.penalty_.v0.is_cuda
    expected = clf.predict_proba(X)
    blob = pickle.dumps(clf)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(DeviceWarning):
        restored = pickle.loads(blob)
    assert restored.device_ == "cpu"
    np.testing.assert_allclose(restored.predict_proba(X), expected, atol=1e-5)


@pytest.mark.cuda
def test_resnet_fit_predict_transform_on_cuda(cuda_resnet, digits, monkeypatch):
    X, y = digits
    clf = cuda_resnet
    X_test = X[256:512].reshape(-1, 8, 8)
    assert clf.device_ == "cuda"
    _assert_on(clf, "cuda")
    assert len(clf.regularized_layers_) == 20
    assert clf.input_shapes_["features.conv1"] == (1, 8, 8)
    assert clf.history_[0, "spectral_penalty"] == 0.0 and clf.history_[-1, "spectral_penalty"] > 0
    predicted = clf.predict(X_test)
    assert predicted.shape == (256,) and set(predicted) <= set(clf.classes_)
    proba = clf.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], predicted)
    features = clf.transform(X_test)
    assert features.shape == (256, 512) and features.dtype == np.float32
    assert np.all(np.isfinite(features)) and features.min() >= 0  # pooled ReLU outputs
    # Against a CPU copy, with cuDNN's TF32 off for the comparison: float32 both sides.
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    with torch.inference_mode():
        gpu_features = clf.transform(X_test)
        gpu_logits = clf.module_(torch.from_numpy(X_test[:, None]).cuda()).cpu().numpy()
    cpu = copy.deepcopy(clf.module_).cpu().eval()
    with torch.inference_mode():
        cpu_features = cpu.features(torch.from_numpy(X_test[:, None])).numpy()
        cpu_logits = cpu(torch.from_numpy(X_test[:, None])).numpy()
    scale = np.abs(cpu_logits).max()
    np.testing.assert_allclose(gpu_features, cpu_features, rtol=1e-3,
                               atol=1e-4 * np.abs(cpu_features).max())
    np.testing.assert_allclose(gpu_logits, cpu_logits, rtol=1e-3, atol=1e-4 * scale)
    clear = _clear_margin(cpu_logits, np.full_like(cpu_logits, 1e-3 * scale))
    assert clear.mean() > 0.95
    np.testing.assert_array_equal(predicted[clear], clf.classes_[cpu_logits[clear].argmax(1)])


@pytest.mark.cuda
def test_barlow_twins_fit_transform_with_kornia_views_on_cuda(cuda_barlow):
    est = cuda_barlow
    assert est.device_ == "cuda"
    _assert_on(est, "cuda")
    assert len(est.regularized_layers_) == 20
    assert all(name.startswith("features.") for name in est.regularized_layers_)
    row = est.history_[-1]
    assert np.isfinite(row["train_loss"]) and row["spectral_penalty"] > 0
    assert row["train_loss"] == pytest.approx(row["barlow_on_diagonal"]
                                              + row["barlow_off_diagonal"], rel=1e-5)
    features = est.transform(_rgb(10, seed=1))
    assert features.shape == (10, 512) and features.dtype == np.float32
    assert np.all(np.isfinite(features))
    # The kornia views run on the device, per sample.
    _check_two_views(est.module_.augment, "cuda")


# ---------------------------------------------------------------------------- precision
@pytest.mark.cuda
@pytest.mark.parametrize(("estimator", "precision", "channels_last"), [
    ("resnet", "bf16", True), ("resnet", "fp16", False), ("barlow", "bf16", True)])
def test_autocast_and_channels_last_on_cuda(estimator, precision, channels_last):
    common = dict(max_epochs=1, batch_size=32, burnin=0, update_every=2, lr=0.05,
                  random_state=0, device="cuda", precision=precision,
                  channels_last=channels_last)
    if estimator == "resnet":
        # Three channels: for one-channel images and stems both memory formats coincide.
        X, y = _rgb(128, size=8, seed=2), np.random.default_rng(2).integers(0, 3, 128)
        est = SpectralResNetClassifier(**common).fit(X, y)
        batch = (torch.from_numpy(X[:32]), torch.from_numpy(np.searchsorted(est.classes_,
                                                                            y[:32])))
    else:
        X = _rgb(64, seed=2)
        est = SpectralBarlowTwins(projector=(32,), **common).fit(X)
        batch = (torch.from_numpy(X[:32]), None)
    net = est.net_
    assert np.isfinite(est.history_[-1, "train_loss"])
    assert est.history_[-1, "spectral_penalty"] > 0
    _assert_on(est, "cuda")
    conv1 = net.module_.features.conv1
    seen = []
    handle = conv1.register_forward_hook(lambda m, i, o: seen.append(
        (o.dtype, o.is_contiguous(memory_format=torch.channels_last))))
    try:
        net.train_step(batch)  # a training step: under autocast
        est.transform(X[:4])   # inference: float32
    finally:
        handle.remove()
    expected = torch.bfloat16 if precision == "bf16" else torch.float16
    if estimator == "resnet":
        assert seen[0] == (expected, channels_last)
    else:
        assert seen[0][0] == expected and seen[1][0] == expected  # the two views
    assert seen[-1][0] == torch.float32
    assert conv1.weight.dtype == torch.float32  # fp32 master weights
    assert conv1.weight.is_contiguous(memory_format=torch.channels_last) == channels_last
    assert (net.scaler_ is not None) == (precision == "fp16")
    if net.scaler_ is not None:
        assert np.isfinite(net.scaler_.get_scale()) and net.scaler_.get_scale() > 0
    if estimator == "resnet":
        predicted = est.predict(X)
        assert predicted.shape == (len(X),) and set(predicted) <= set(est.classes_)
        assert np.isfinite(est.predict_proba(X)).all()
    else:
        assert est.transform(X).shape == (len(X), 512)


# ---------------------------------------------------------------------------- attacks, metrics
@pytest.mark.cuda
def test_fused_pipeline_oracle_on_cuda(digits):
    _, result = _check_pipeline_oracle("cuda", digits)
    assert np.all(result.queries > 0)


@pytest.fixture(scope="module")
def cuda_barlow_pipeline():
    """The README's flagship: a SpectralBarlowTwins featurizer on the GPU with a retrained
    LogisticRegression, attacked as one torch module on the device."""
    X = _rgb(96, seed=3)
    # Labels the features can carry (random ones give a constant readout: no boundary).
    y = (X[:, 0].mean(axis=(1, 2)) > X[:, 1].mean(axis=(1, 2))).astype(int)
    feat = SpectralBarlowTwins(projector=(32,), max_epochs=2, batch_size=64, burnin=0,
                               update_every=2, lr=0.05, random_state=0, device="cuda")
    pipe = Pipeline([("feat", feat), ("clf", LogisticRegression(max_iter=2000))]).fit(X, y)
    predicted = pipe.predict(X[:6])
    result = adversarial_distances(pipe, X[:6], predicted, max_iter=3, random_state=0)
    return pipe, X[:6], predicted, result


@pytest.mark.cuda
def test_fused_barlow_pipeline_oracle_on_cuda(cuda_barlow_pipeline):
    pipe, X, predicted, result = cuda_barlow_pipeline
    oracle = as_oracle(pipe)
    assert oracle.device.type == "cuda" and oracle.input_shape == (3, 16, 16)
    points = _rgb(40, seed=4)
    codes = oracle(torch.from_numpy(points).reshape(40, -1).cuda())
    assert codes.is_cuda
    np.testing.assert_array_equal(pipe.classes_[codes.cpu().numpy()], pipe.predict(points))
    assert result.adversarial.shape == (6, 3, 16, 16) and np.all(result.queries > 0)
    found = np.flatnonzero(result.success & (result.distances > 0))
    assert len(found) >= 4
    np.testing.assert_allclose(
        np.linalg.norm((result.adversarial[found] - X[found]).reshape(len(found), -1), axis=1),
        result.distances[found], rtol=1e-5)


@pytest.mark.cuda
def test_barlow_pipeline_attack_points_are_adversarial_for_pipeline_predict(
        cuda_barlow_pipeline):
    pipe, _, predicted, result = cuda_barlow_pipeline
    found = np.flatnonzero(result.success & (result.distances > 0))
    points = result.adversarial[found]
    # The oracle's float32 head (on the GPU) and scikit-learn's (NumPy) sum in other orders:
    # a point within float32 rounding of the boundary may be labelled either way by them.
    scores = pipe.decision_function(points)
    bound = 512 * 2.0 ** -23 * np.abs(pipe["feat"].transform(points)) @ np.abs(
        pipe["clf"].coef_.T)
    clear = np.abs(np.ravel(scores)) > bound[:, 0]
    assert (pipe.predict(points)[clear] != predicted[found][clear]).all()


@pytest.mark.cuda
def test_robustness_scorer_on_a_cuda_model(cuda_mlp, digits):
    X, y = digits
    X_test, y_test = X[1200:1400], y[1200:1400]
    scorer = RobustnessScorer(n_samples=10, max_iter=5, random_state=0)
    score = scorer(cuda_mlp, X_test, y_test)
    assert scorer(cuda_mlp, X_test, y_test) == score  # seeded: the same on the device
    # The documented protocol by hand: 10 correctly classified samples drawn with the seed,
    # the mean of their distances, capped at the box's diameter.
    rng = np.random.RandomState(0)
    pool = np.flatnonzero(cuda_mlp.predict(X_test) == y_test)
    chosen = np.sort(rng.choice(pool, size=10, replace=False))
    result = adversarial_distances(cuda_mlp, X_test[chosen], y_test[chosen], max_iter=5,
                                   random_state=rng)
    d = np.minimum(result.distances, np.sqrt(64.0))
    assert score == pytest.approx(d[d > 0].mean(), rel=1e-12)
    assert 0 < score < np.sqrt(64.0)
    # Upper bounds of the true distances: at least the certified lower bound (Lemma 1).
    bound = certified_lower_bound(cuda_mlp, X_test[chosen])
    assert np.all(bound > 0) and np.all(bound <= result.distances)
    for point, label in zip(result.adversarial[result.success], y_test[chosen][result.success],
                            strict=True):
        assert cuda_mlp.predict(point[None])[0] != label


@pytest.mark.cuda
def test_volume_element_on_a_cuda_model(cuda_mlp, digits):
    """Φ = ReLU(W x + b): J = the rows of W whose unit is active, exactly (jacrev multiplies
    by 1 and adds zeros), so the volume element is the float64 value computed by hand."""
    X, _ = digits
    assert torch.get_float32_matmul_precision() == "highest"  # no TF32: J is W's rows
    Xs = X[1200:1216]
    log_volume, top = volume_element(cuda_mlp, Xs, log=True, return_lambda_max=True)
    assert log_volume.shape == (16,) and top.shape == (16,)
    layer = cuda_mlp.module_.features.hidden0
    W = layer.weight.detach().cpu().double().numpy()
    b = layer.bias.detach().cpu().double().numpy()
    z = Xs.astype(np.float64) @ W.T + b
    ok = np.all(np.abs(z) > 1e-4, axis=1)  # no unit so close to 0 that rounding could flip it
    assert ok.sum() >= 12
    for i in np.flatnonzero(ok):
        J = W[z[i] > 0]
        sign, logdet = np.linalg.slogdet(J.T @ J)
        expected = 0.5 * logdet if sign > 0 else -np.inf
        assert log_volume[i] == pytest.approx(expected, rel=1e-6, abs=1e-6)
        assert top[i] == pytest.approx(np.linalg.norm(J, 2) ** 2, rel=1e-6)
    assert np.isfinite(log_volume[ok]).all()  # 256 units, ~half active: J has full rank 64
    np.testing.assert_allclose(volume_element(cuda_mlp, Xs), np.exp(log_volume), rtol=1e-9)


# ---------------------------------------------------------------------------- distributed
def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _state(clf):
    return torch.cat([t.detach().flatten().float().cpu() for t in _tensors(clf)])


@pytest.mark.cuda
@pytest.mark.timeout(150)
def test_distributed_nccl_at_world_size_one(digits):
    if not (dist.is_available() and dist.is_nccl_available()):
        pytest.skip("torch.distributed with nccl is not available")
    X, y = digits
    X_images, y_images = X[:64].reshape(-1, 1, 8, 8), y[:64]
    mlp_params = dict(hidden_layer_sizes=(16,), batch_size=32, max_epochs=4, burnin=1,
                      gamma=0.05, lr=0.1, random_state=0)
    resnet_params = dict(batch_size=16, max_epochs=2, burnin=0, update_every=2, lr=0.05,
                         random_state=0)
    torch.cuda.set_device(0)
    dist.init_process_group(backend="nccl", init_method=f"tcp://127.0.0.1:{_free_port()}",
                            world_size=1, rank=0, timeout=timedelta(seconds=120))
    try:
        assert dist.get_backend() == "nccl" and dist.get_world_size() == 1
        probe = torch.full((3,), 2.0, device="cuda")
        dist.all_reduce(probe)  # a real NCCL collective
        torch.testing.assert_close(probe, torch.full((3,), 2.0, device="cuda"))
        for cls, params, data in ((SpectralMLPClassifier, mlp_params, (X[:256], y[:256])),
                                  (SpectralResNetClassifier, resnet_params,
                                   (X_images, y_images))):
            clf = cls(distributed=True, device="cuda", **params).fit(*data)
            assert clf.device_ == "cuda:0"  # the process's current device
            _assert_on(clf, "cuda")
            assert clf.history_[-1, "spectral_penalty"] > 0
            single = cls(device="cuda", **params).fit(*data)  # the group is ignored
            # One rank holds the whole batch: the same training as one process.
            torch.testing.assert_close(_state(clf), _state(single), rtol=1e-4, atol=1e-5)
            restored = pickle.loads(pickle.dumps(clf))
            np.testing.assert_array_equal(restored.predict(data[0]), clf.predict(data[0]))
            assert set(clf.spectral_norms_) >= set(clf.regularized_layers_)
    finally:
        dist.destroy_process_group()
    assert not dist.is_initialized()


# ---------------------------------------------------------------------------- transfer
@pytest.mark.cuda
def test_pretrained_weights_from_a_cuda_fitted_barlow_twins(cuda_barlow):
    X = _rgb(64, seed=6)
    y = np.random.default_rng(6).integers(0, 3, len(X))
    probe = SpectralResNetClassifier(pretrained_weights=cuda_barlow, freeze_backbone=True,
                                     regularizer=None, max_epochs=2, batch_size=32, lr=0.05,
                                     random_state=0, device="cuda").fit(X, y)
    _assert_on(probe, "cuda")
    assert next(cuda_barlow.module_.parameters()).is_cuda  # the source stays where it was
    report = probe.module_.load_report_
    assert report["new"] == ["head.bias", "head.weight"]
    assert any(k.startswith("projector.") for k in report["ignored"])
    source = {k: v for k, v in cuda_barlow.module_.state_dict().items()
              if k.startswith("features.")}
    after = probe.module_.state_dict()
    assert set(source) <= set(after)
    assert all(torch.equal(after[k], v) for k, v in source.items())  # BN statistics too
    torch.testing.assert_close(torch.from_numpy(probe.transform(X)),
                               torch.from_numpy(cuda_barlow.transform(X)),
                               rtol=1e-5, atol=1e-6)
    assert set(probe.predict(X)) <= {0, 1, 2}


@pytest.mark.cuda
def test_pretrained_weights_from_a_cuda_fitted_resnet_classifier(cuda_resnet, digits):
    X, y = digits
    X_target, y_target = X[256:384].reshape(-1, 8, 8), y[256:384]
    # Same classes: the head is loaded too. A tiny learning rate on a frozen backbone leaves
    # the source's decision function, so the labels are the source's.
    ft = SpectralResNetClassifier(pretrained_weights=cuda_resnet, freeze_backbone=True,
                                  regularizer=None, max_epochs=1, batch_size=32, lr=1e-12,
                                  random_state=0, device="cuda").fit(X_target, y_target)
    _assert_on(ft, "cuda")
    report = ft.module_.load_report_
    assert report["new"] == [] and {"head.weight", "head.bias"} <= set(report["loaded"])
    np.testing.assert_array_equal(ft.classes_, cuda_resnet.classes_)
    # Log-probabilities differ from the logits by a constant per row: the same gaps.
    source_logits = np.log(cuda_resnet.predict_proba(X_target))
    clear = _clear_margin(source_logits, np.full_like(source_logits, 1e-6))
    assert clear.mean() > 0.95
    np.testing.assert_array_equal(ft.predict(X_target)[clear],
                                  cuda_resnet.predict(X_target)[clear])
    # And a full fine-tune trains on the device from there.
    full = SpectralResNetClassifier(pretrained_weights=cuda_resnet, backbone_lr=0.01,
                                    max_epochs=1, batch_size=32, lr=0.05, burnin=0,
                                    update_every=2, random_state=0,
                                    device="cuda").fit(X_target, y_target)
    _assert_on(full, "cuda")
    assert full.history_[-1, "spectral_penalty"] > 0
    assert not torch.equal(full.module_.features.conv1.weight,
                           cuda_resnet.module_.features.conv1.weight)


@pytest.mark.cuda
def test_any_network_fit_transform_on_cuda(digits):
    _check_any_network("cuda", digits)
