"""SpectralResNetClassifier: layers, input shapes, preprocessing, precision, persistence."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from skspectral import SpectralResNetClassifier
from skspectral.models import Normalize, RandomCropFlip, ResNet
from skspectral.regularization import SpectralPenalty, resolve_scope
from skspectral.spectral import capture_input_shapes, operator_norm


def _small(**params):
    defaults = dict(max_epochs=1, batch_size=64, lr=0.05, burnin=0, update_every=2,
                    random_state=0)
    return SpectralResNetClassifier(**{**defaults, **params})


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32).reshape(-1, 8, 8)[:256], y[:256]


@pytest.fixture(scope="module")
def fitted(digits):
    X, y = digits
    return _small(max_epochs=2, normalize=([0.3], [0.4]), augment=True).fit(X, y)


def test_rep_spectral_covers_every_convolution_up_to_the_features(fitted):
    layers = fitted.regularized_layers_
    assert len(layers) == 20
    assert layers[0] == "features.conv1"
    assert sum(".downsample." in name for name in layers) == 3
    assert not any("bn" in name or name == "head" for name in layers)
    assert len(fitted.history_[-1, "spectral_norms"]) == 20


#: (blocks per stage, convolutions per block, 1x1 shortcut convolutions) of torchvision's ResNets
_ARCHS = {"resnet18": ((2, 2, 2, 2), 2, 3), "resnet34": ((3, 4, 6, 3), 2, 3),
          "resnet50": ((3, 4, 6, 3), 3, 4)}


@pytest.mark.parametrize(("arch", "expected"), [("resnet18", 20), ("resnet34", 36),
                                                ("resnet50", 53)])
def test_rep_scope_counts_every_convolution_of_each_architecture(arch, expected):
    blocks, per_block, shortcuts = _ARCHS[arch]
    # the stem, every block convolution, the 1x1 shortcuts: method.md's 20 (ResNet18) and 53
    # (ResNet50); ResNet34: 1 + 2 * 16 + 3 = 36 (ResNet50's first stage also widens 64 -> 256)
    assert 1 + per_block * sum(blocks) + shortcuts == expected
    module = ResNet(arch, n_classes=10, in_channels=1)
    layers = resolve_scope(module, "rep")
    assert len(layers) == expected
    assert layers[0] == "features.conv1"
    assert all(isinstance(module.get_submodule(name), torch.nn.Conv2d) for name in layers)
    assert sum(".downsample." in name for name in layers) == shortcuts
    assert sum(name.endswith((".conv1", ".conv2", ".conv3")) for name in layers) == \
        1 + per_block * sum(blocks)
    assert layers == [name for name, m in module.named_modules()
                      if isinstance(m, torch.nn.Conv2d)]  # every convolution, none twice
    assert resolve_scope(module, "all") == [*layers, "head"]  # ll-spectral adds only the fc
    shapes = capture_input_shapes(module, (1, 8, 8))
    penalty = SpectralPenalty(module, layers, gamma=0.02, input_shapes=shapes)
    assert len(list(penalty.buffers())) == 2 * expected  # a vector and a sigma per layer


@pytest.mark.parametrize(("arch", "expected"), [("resnet34", 36), ("resnet50", 53)])
def test_deeper_resnets_train_with_every_convolution_penalized(digits, arch, expected):
    X, y = digits
    clf = _small(arch=arch, batch_size=16, update_every=1).fit(X[:16], y[:16])  # one step
    assert len(clf.regularized_layers_) == expected
    record = clf.history_[-1, "spectral_norms"]
    assert list(record) == clf.regularized_layers_
    assert all(np.isfinite(v) and v > 0 for v in record.values())
    assert np.isfinite(clf.history_[-1, "train_loss"])


def test_each_convolution_is_regularized_at_its_own_input_size(fitted):
    shapes = fitted.input_shapes_
    assert fitted.input_shape_ == (1, 8, 8)
    assert shapes["features.conv1"] == (1, 8, 8)
    assert shapes["features.layer2.0.conv1"] == (64, 8, 8)     # stride 2: sees the larger map
    assert shapes["features.layer2.0.conv2"] == (128, 4, 4)
    assert shapes["features.layer2.0.downsample.0"] == (64, 8, 8)
    assert shapes["features.layer4.1.conv2"] == (512, 1, 1)
    penalty = fitted.net_.penalty_
    assert penalty.v1.shape == (1, 64, 8, 8)  # layer1.0.conv1: an input-shaped vector


def test_final_norms_match_the_operator_norms(fitted):
    module, shapes = fitted.net_.module_, fitted.input_shapes_
    for name in ("features.conv1", "features.layer3.0.downsample.0", "head"):
        expected = operator_norm(module.get_submodule(name), shapes.get(name), method="power",
                                 n_iter=2000, tol=1e-9)
        assert fitted.spectral_norms_[name] == pytest.approx(expected, rel=1e-3)


def test_transform_pipeline_and_preprocessing_modules(fitted, digits):
    X, y = digits
    features = fitted.transform(X[:10])
    assert features.shape == (10, 512) and features.dtype == np.float32
    module = fitted.net_.module_
    assert isinstance(module.features.augment, RandomCropFlip)
    assert isinstance(module.features.normalize, Normalize)
    np.testing.assert_array_equal(fitted.predict(X[:20]), fitted.predict(X[:20]))  # eval: no aug
    pipe = Pipeline([("feat", clone(fitted)), ("clf", LogisticRegression(max_iter=2000))])
    assert pipe.fit(X, y).score(X, y) > 0.5


def test_image_layouts_are_equivalent(fitted, digits):
    X, _ = digits
    expected = fitted.predict_proba(X[:8])
    np.testing.assert_array_equal(fitted.predict_proba(X[:8, None]), expected)      # (n, 1, H, W)
    np.testing.assert_array_equal(fitted.predict_proba(X[:8].reshape(8, -1)), expected)  # flat
    with pytest.raises(ValueError, match=r"images of shape \(1, 4, 16\)"):
        fitted.predict(X[:8].reshape(8, 4, 16))
    with pytest.raises(ValueError, match="X has 32 features"):
        fitted.predict(X[:8, :4].reshape(8, -1))


def test_flat_rows_with_an_image_shape(digits):
    X, y = digits
    flat = X[:64].reshape(64, -1)
    clf = _small(image_shape=(1, 4, 16), regularizer=None).fit(flat, y[:64])
    assert clf.input_shape_ == (1, 4, 16)
    assert _small(regularizer=None).fit(flat[:, :40], y[:64]).input_shape_ == (1, 1, 40)


def test_pickle_round_trip(fitted, digits):
    X, _ = digits
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict_proba(X[:16]), fitted.predict_proba(X[:16]))
    assert torch.equal(restored.net_.penalty_.v0, fitted.net_.penalty_.v0)


def test_same_random_state_same_model(digits):
    X, y = digits
    a = _small(augment=True).fit(X[:128], y[:128]).predict_proba(X[:16])
    b = _small(augment=True).fit(X[:128], y[:128]).predict_proba(X[:16])
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("params", "expected_precision"), [
    ({"precision": "bf16"}, torch.bfloat16), ({"precision": "fp16"}, torch.float16),
    ({"channels_last": True}, None)])
def test_mixed_precision_and_channels_last_train(digits, params, expected_precision):
    X, y = digits
    seen = []
    clf = _small(**params)
    clf.fit(X[:64], y[:64])
    net = clf.net_
    handle = net.module_.features.conv1.register_forward_hook(
        lambda m, i, o: seen.append(o.dtype))
    net.train_step((torch.from_numpy(X[:64, None]), torch.from_numpy(
        np.searchsorted(clf.classes_, y[:64]))))
    handle.remove()
    assert np.isfinite(clf.history_[-1, "train_loss"])
    if expected_precision is not None:
        assert seen == [expected_precision]
        assert net.module_.features.conv1.weight.dtype == torch.float32  # fp32 master weights
        assert (net.scaler_ is not None) == (params["precision"] == "fp16")
    else:
        assert net.module_.features.conv1.weight.is_contiguous(memory_format=torch.channels_last)


def test_pretrained_weights_are_loaded(tmp_path, digits):
    X, y = digits
    source = ResNet("resnet18", n_classes=1000, in_channels=1)
    path = tmp_path / "weights.pt"
    # torchvision key layout, as a user's checkpoint would have
    state = {(k[len("features."):] if k.startswith("features.") else "fc." + k[5:]): v
             for k, v in source.state_dict().items()}
    torch.save(state, path)
    clf = _small(pretrained_weights=str(path), lr=1e-12, regularizer=None).fit(X[:64], y[:64])
    assert clf.module_.load_report_["new"] == ["head.bias", "head.weight"]  # 1000 classes there
    loaded = clf.net_.module_.features.layer1[0].conv1.weight.detach()
    torch.testing.assert_close(loaded, source.features.layer1[0].conv1.weight.detach(),
                               rtol=0, atol=1e-6)


@pytest.mark.parametrize(("params", "error", "match"), [
    (dict(arch="resnet101"), ValueError, "The 'arch' parameter of SpectralResNet"),
    (dict(stem="tiny"), ValueError, "The 'stem' parameter of SpectralResNet"),
    (dict(padding_mode="reflect"), ValueError, "The 'padding_mode' parameter of"),
    (dict(precision="fp8"), ValueError, "The 'precision' parameter of"),
    (dict(augment="yes"), TypeError, "The 'augment' parameter of .* must be an instance of"),
    (dict(image_shape=(1, 8)), ValueError, "The 'image_shape' parameter of .* 3 positive"),
    (dict(image_shape=(1, 8, 9)), ValueError, r"image_shape \(1, 8, 9\) does not match"),
    (dict(input_size=(0, 8)), ValueError, "input_size"),
    (dict(normalize=([0.5, 0.5], [0.2, 0.2])), ValueError, "normalize has 2 channel"),
    (dict(normalize=([0.5], [0.0])), ValueError, "std > 0"),
    (dict(pretrained_weights="/nonexistent.pt"), ValueError, "pretrained_weights"),
    (dict(update_every=0), ValueError, "update_every"),
])
def test_bad_parameters(digits, params, error, match):
    X, y = digits
    with pytest.raises(error, match=match):
        _small(**params).fit(X[:32].reshape(32, -1), y[:32])


def test_bad_images(digits):
    X, y = digits
    with pytest.raises(ValueError, match="NaN"):
        _small().fit(np.full((4, 1, 8, 8), np.nan), [0, 1, 0, 1])
    with pytest.raises(ValueError, match=r"shape \(4, 1, 1, 8, 8\)"):
        _small().fit(np.zeros((4, 1, 1, 8, 8)), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="at least 2 classes"):
        _small().fit(X[:4], [3, 3, 3, 3])


def test_reading_the_norms_never_changes_later_training(digits):
    """Observation is pure: two identical fits, the norms read in one only, continue alike."""
    X, y = digits
    X, y = X[:96], y[:96]
    read, unread = _small(max_epochs=1).fit(X, y), _small(max_epochs=1).fit(X, y)
    before = [b.clone() for b in read.net_.penalty_.buffers()]
    assert len(read.spectral_norms_) == 21  # refines the warm vectors of zero-padded convs
    for b, b0 in zip(read.net_.penalty_.buffers(), before, strict=True):
        torch.testing.assert_close(b, b0, rtol=0, atol=0)
    read.partial_fit(X, y)
    unread.partial_fit(X, y)
    for a, b in zip(read.module_.state_dict().values(), unread.module_.state_dict().values(),
                    strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
