"""rep-spectral on any network: SpectralClassifier(module=..., features=...) and its models."""

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn as nn
import torchvision
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from skspectral import (
    RobustnessScorer,
    SpectralBarlowTwins,
    SpectralClassifier,
    adversarial_distances,
    certified_lower_bound,
    volume_element,
)
from skspectral.attacks._oracle import as_oracle
from skspectral.models import FeatureNetwork, small_stem_
from skspectral.regularization import SpectralPenalty, resolve_scope
from skspectral.spectral import capture_input_shapes, conv_dense_matrix


class CNN(nn.Module):
    """A user's CNN: ``body`` (the representation) then ``fc`` (the readout)."""

    def __init__(self, width=4, in_channels=1, n_out=10):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(),
            nn.Conv2d(width, width, 3, stride=2, padding=1, groups=width), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, dilation=2, padding=2), nn.ReLU(),
            nn.AdaptiveAvgPool2d(2), nn.Flatten())
        self.fc = nn.Linear(8 * width, n_out)

    def forward(self, x):
        return self.fc(self.body(x))


class BatchNormCNN(CNN):
    def __init__(self, width=4):
        super().__init__(width)
        self.body.insert(1, nn.BatchNorm2d(width))


def _images(n=24, shape=(1, 8, 8), seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, *shape)).astype(np.float32)
    y = (X.reshape(n, -1).mean(axis=1) > 0.5).astype(int)
    y[:2] = [0, 1]
    return X, y


FAST = dict(max_epochs=1, batch_size=8, burnin=0, update_every=1, random_state=0)


# ---------------------------------------------------------------- the penalty's coverage

def test_custom_features_penalty_and_gradients_equal_the_layers_listed_by_hand():
    torch.manual_seed(0)
    cnn = CNN(width=4).double()
    model = FeatureNetwork.build(cnn, n_classes=3, input_shape=(1, 8, 8), features="body")
    names = resolve_scope(model, "rep")
    assert names == ["features.phi.0", "features.phi.2", "features.phi.4"]
    by_hand = ["body.0", "body.2", "body.4"]  # the same layers in the user's own module

    def penalty(module, layers):
        torch.manual_seed(1)  # the same random start for both
        p = SpectralPenalty(module, layers, gamma=0.5,
                            input_shapes=capture_input_shapes(module, (1, 8, 8)))
        return p.converge_(module, n_iter=5000, tol=1e-12)

    generic, manual = penalty(model, names), penalty(cnn, by_hand)
    for p, module in ((generic, model), (manual, cnn)):
        module.zero_grad()
        p.apply_(module)
    # Same weights, same starts, same operations: the same numbers.
    assert generic.value().item() == manual.value().item()
    for name, hand in zip(names, by_hand, strict=True):
        assert torch.equal(model.get_submodule(name).weight.grad,
                           cnn.get_submodule(hand).weight.grad)
    # And they are the operator norms (float64; the power iteration converged to 1e-12).
    shapes = capture_input_shapes(cnn, (1, 8, 8))
    exact = [torch.linalg.matrix_norm(conv_dense_matrix(cnn.get_submodule(n), shapes[n]),
                                      ord=2).item() for n in by_hand]
    assert generic.value().item() == pytest.approx(0.25 * sum(s * s for s in exact), rel=1e-9)


def test_features_as_name_callable_or_default_cover_the_same_convolutions():
    X, y = _images()
    by_name = SpectralClassifier(CNN, features="body", **FAST).fit(X, y)
    by_callable = SpectralClassifier(CNN, features=lambda net: net.body, **FAST).fit(X, y)
    default = SpectralClassifier(CNN, **FAST).fit(X, y)
    assert by_name.regularized_layers_ == ["features.phi.0", "features.phi.2", "features.phi.4"]
    assert by_callable.regularized_layers_ == by_name.regularized_layers_
    # The default cuts before the last Linear to run (fc): Φ is the CNN without its readout.
    assert default.regularized_layers_ == ["features.phi.body.0", "features.phi.body.2",
                                           "features.phi.body.4"]
    assert default.module_.replaced_ == ["fc"]
    assert default.input_shapes_ == {"features.phi.body.0": (1, 8, 8),
                                     "features.phi.body.2": (4, 8, 8),
                                     "features.phi.body.4": (4, 4, 4)}
    for clf in (by_name, by_callable, default):
        assert clf.transform(X[:5]).shape == (5, 32)
        assert clf.module_.head.weight.shape == (2, 32)  # replaced for the task's 2 classes


def test_module_instance_is_copied_and_never_modified():
    cnn = CNN()
    before = {k: v.clone() for k, v in cnn.state_dict().items()}
    X, y = _images()
    clf = SpectralClassifier(cnn, gamma=1.0, **FAST).fit(X, y)
    assert all(torch.equal(before[k], v) for k, v in cnn.state_dict().items())
    assert clf.module_.features.phi is not cnn and cnn.fc.out_features == 10


def test_module_params_are_routed_to_the_class():
    X, y = _images()
    clf = SpectralClassifier(CNN, module__width=2, **FAST).fit(X, y)
    assert clf.module_.features.phi.body[0].out_channels == 2
    assert clf.get_params()["module__width"] == 2


def test_unpenalized_layers_list_normalization_with_their_type():
    X, y = _images()
    clf = SpectralClassifier(BatchNormCNN, **FAST).fit(X, y)
    assert clf.unpenalized_layers_ == {
        "features.phi.body.1": ("BatchNorm2d", ("weight", "bias"))}
    none = SpectralClassifier(CNN, regularizer=None, **FAST).fit(X, y)
    assert sorted(none.unpenalized_layers_) == ["features.phi.body.0", "features.phi.body.2",
                                                "features.phi.body.4"]


def test_conv1d_and_conv3d_penalty_gradients_are_the_exact_norms_gradients():
    torch.manual_seed(0)
    for net, shape in ((nn.Sequential(nn.Conv1d(2, 3, 3, stride=2, padding=1, groups=1),
                                      nn.ReLU(), nn.Conv1d(3, 3, 3, padding=2, dilation=2,
                                                           groups=3)), (2, 9)),
                       (nn.Sequential(nn.Conv3d(2, 2, 3, padding=1, groups=2), nn.ReLU(),
                                      nn.Conv3d(2, 3, 2, stride=2)), (2, 4, 4, 4))):
        net = net.double()
        layers = ["0", "2"]
        shapes = capture_input_shapes(net, shape)
        penalty = SpectralPenalty(net, layers, gamma=2.0, input_shapes=shapes)
        penalty.converge_(net, n_iter=20000, tol=1e-14)
        net.zero_grad()
        penalty.apply_(net)
        for name in layers:
            layer = net.get_submodule(name)
            weight = layer.weight.detach().clone().requires_grad_()
            matrix = torch.func.functional_call(
                layer, {"weight": weight, "bias": torch.zeros_like(layer.bias)},
                (torch.eye(math.prod(shapes[name]), dtype=torch.float64)
                 .reshape(-1, *shapes[name]),)).reshape(math.prod(shapes[name]), -1).T
            sigma = torch.linalg.matrix_norm(matrix, ord=2)
            (expected,) = torch.autograd.grad(sigma ** 2, weight)  # d (gamma/2 sigma^2) / dW
            grad = layer.weight.grad
            assert torch.linalg.norm(grad - expected) <= 1e-6 * torch.linalg.norm(expected)


# ---------------------------------------------------------------- torchvision families

# Penalized layers of Φ (every Conv2d and Linear before the replaced readout), from the
# architectures' definitions.
FAMILY_COUNTS = {
    # conv1 + 16 bottlenecks x 3 convolutions + 4 downsample shortcuts
    "wide_resnet50_2": ({}, 1 + 16 * 3 + 4),
    # stem + 18 blocks x (depthwise conv + 2 Linear) + 3 downsampling convs
    "convnext_tiny": ({}, 1 + 18 * 3 + 3),
    # stem + MBConv1 (dw, SE 2, project) + 15 MBConv6 (expand, dw, SE 2, project) + head conv
    "efficientnet_b0": ({}, 1 + 4 + 15 * 5 + 1),
    # stem + block 1 (dw, SE 2, project) + 2 blocks without SE (3) + 8 with SE (5) + last
    # conv + the classifier's first Linear (before the final one)
    "mobilenet_v3_small": ({}, 1 + 4 + 2 * 3 + 8 * 5 + 1 + 1),
    # stem + 16 blocks x (a, b, SE 2, c) + 4 stage shortcuts
    "regnet_y_400mf": ({}, 1 + 16 * 5 + 4),
    # patch embedding + 12 encoder layers x (attention out_proj + 2 MLP Linear)
    "vit_b_16": ({"image_size": 32}, 1 + 12 * 3),
}


@pytest.mark.parametrize("name", sorted(FAMILY_COUNTS))
def test_torchvision_families_build_at_32x32_with_their_penalized_layer_counts(name):
    params, count = FAMILY_COUNTS[name]
    torch.manual_seed(0)
    model = FeatureNetwork.build(name, n_classes=10, input_shape=(3, 32, 32), **params)
    layers = resolve_scope(model, "rep")
    assert len(layers) == count
    shapes = capture_input_shapes(model, (3, 32, 32))
    convs = [n for n in layers if isinstance(model.get_submodule(n), nn.Conv2d)]
    assert set(convs) <= set(shapes)  # every convolution is taken at the size it sees
    assert model.head.out_features == 10
    with torch.no_grad():
        assert model.eval()(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


# Small members of the families (the same model classes, so the same resolution and stem
# code) that train in a second.
SMALL_FAMILIES = {
    "wide resnet": (torchvision.models.ResNet, dict(
        block=torchvision.models.resnet.Bottleneck, layers=[1, 1, 1, 1], width_per_group=128,
        num_classes=5), 1 + 4 * 3 + 4),
    "convnext": (torchvision.models.ConvNeXt, dict(block_setting=[
        torchvision.models.convnext.CNBlockConfig(8, 16, 1),
        torchvision.models.convnext.CNBlockConfig(16, None, 1)]), 1 + 2 * 3 + 1),
    "vit": (torchvision.models.VisionTransformer, dict(
        image_size=8, patch_size=4, num_layers=2, num_heads=2, hidden_dim=8, mlp_dim=16),
        1 + 2 * 3),
}


@pytest.mark.parametrize("name", sorted(SMALL_FAMILIES))
def test_small_family_members_fit_with_the_penalty(name):
    cls, params, count = SMALL_FAMILIES[name]
    X, y = _images(8, (3, 8, 8))
    clf = SpectralClassifier(cls, **{f"module__{k}": v for k, v in params.items()},
                             gamma=0.1, **FAST).fit(X, y)
    assert len(clf.regularized_layers_) == count
    norms = clf.history_[-1, "spectral_norms"]
    assert set(norms) == set(clf.regularized_layers_)
    assert all(np.isfinite(v) and v > 0 for v in norms.values())
    assert clf.predict(X).shape == (8,)


def test_vit_unpenalized_layers_are_tokens_embeddings_norms_and_attention_projections():
    cls, params, _ = SMALL_FAMILIES["vit"]
    X, y = _images(16, (3, 8, 8))
    clf = SpectralClassifier(cls, **{f"module__{k}": v for k, v in params.items()},
                             **FAST).fit(X, y)
    kinds = {}
    for type_name, own in clf.unpenalized_layers_.values():
        kinds.setdefault(type_name, set()).update(own)
    assert kinds == {"VisionTransformer": {"class_token"}, "Encoder": {"pos_embedding"},
                     "LayerNorm": {"weight", "bias"},
                     "MultiheadAttention": {"in_proj_weight", "in_proj_bias"}}


def test_mobilenet_v3_small_fits_a_few_steps_with_the_small_stem():
    X, y = _images(8, (3, 32, 32))
    clf = SpectralClassifier("mobilenet_v3_small", stem="small", max_epochs=1, batch_size=4,
                             burnin=0, update_every=1, random_state=0).fit(X, y)
    assert len(clf.regularized_layers_) == FAMILY_COUNTS["mobilenet_v3_small"][1]
    # The stem keeps the resolution: the first block sees 32 x 32 (16 x 16 with stride 2).
    assert clf.input_shapes_["features.phi.features.1.block.0.0"] == (16, 32, 32)
    assert np.isfinite(clf.history_[-1, "train_loss"])


# Full-size fits: 1-3 s for the small families, 7-30 s (slow) for the large ones on one core.
@pytest.mark.parametrize("name", [
    "efficientnet_b0", "mobilenet_v3_small", "regnet_y_400mf",
    *(pytest.param(name, marks=pytest.mark.slow)
      for name in ("convnext_tiny", "vit_b_16", "wide_resnet50_2"))])
def test_torchvision_families_fit_a_few_steps_at_32x32(name):
    params, count = FAMILY_COUNTS[name]
    X, y = _images(8, (3, 32, 32))
    clf = SpectralClassifier(name, **{f"module__{k}": v for k, v in params.items()},
                             max_epochs=1, batch_size=4, burnin=0, update_every=1,
                             random_state=0).fit(X, y)
    assert len(clf.regularized_layers_) == count
    assert np.isfinite(clf.history_[-1, "train_loss"])


def test_small_stems_keep_the_resolution_per_family():
    resnet = torchvision.models.wide_resnet50_2()
    assert small_stem_(resnet) == ["conv1", "maxpool"]
    assert (resnet.conv1.kernel_size, resnet.conv1.stride) == ((3, 3), (1, 1))
    for builder, stem in ((torchvision.models.efficientnet_b0, "features.0.0"),
                          (torchvision.models.regnet_y_400mf, "stem.0"),
                          (torchvision.models.convnext_tiny, "features.0.0")):
        net = builder()
        assert small_stem_(net, in_channels=1) == [stem]
        conv = net.get_submodule(stem)
        assert conv.stride == (1, 1) and conv.in_channels == 1
    with pytest.raises(ValueError, match="module__image_size=32, module__patch_size=4"):
        small_stem_(torchvision.models.vit_b_16())
    with pytest.raises(ValueError, match="adapts the torchvision families"):
        SpectralClassifier(CNN, stem="small", **FAST).fit(*_images())


# ---------------------------------------------------------------- bad input

def test_a_features_name_that_does_not_exist_lists_the_children():
    with pytest.raises(ValueError, match=r"features='head' is not a submodule of CNN; its "
                                         r"children are \['body', 'fc'\]"):
        SpectralClassifier(CNN, features="head", **FAST).fit(*_images())


class TupleFeatures(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.fc = nn.Linear(72, 2)

    def forward(self, x):
        return self.fc(self.conv(x).flatten(1))


def test_a_feature_map_that_is_not_a_tensor_of_n_rows_is_refused():
    with pytest.raises(ValueError, match=r"must return a tensor of shape \(n, \.\.\.\).*"
                                         r"returned a tuple"):
        SpectralClassifier(TupleFeatures, features=lambda net: _Pair(net.conv),
                           **FAST).fit(*_images())
    with pytest.raises(ValueError, match=r"returned a tensor of shape \(\)"):
        SpectralClassifier(TupleFeatures, features=lambda net: _Sum(net.conv),
                           **FAST).fit(*_images())


class _Pair(nn.Module):
    def __init__(self, conv):
        super().__init__()
        self.conv = conv

    def forward(self, x):
        return self.conv(x), x


class _Sum(_Pair):
    def forward(self, x):
        return self.conv(x).sum()


class NoPenalizable(nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(2), nn.Flatten())
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(self.pool(x))


def test_a_module_with_no_penalizable_layer_before_the_features_is_refused():
    with pytest.raises(ValueError, match="has no Linear/Conv1d/Conv2d/Conv3d layer: "
                                         "rep-spectral has nothing to penalize"):
        SpectralClassifier(NoPenalizable, **FAST).fit(*_images())


def test_a_module_without_a_linear_readout_needs_features():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    with pytest.raises(ValueError, match="runs no Linear layer.*pass features="):
        SpectralClassifier(net, **FAST).fit(*_images())


class AfterReadout(CNN):
    def forward(self, x):
        return torch.log_softmax(self.fc(self.body(x)), dim=1) * 2


def test_a_readout_followed_by_more_computation_needs_features():
    with pytest.raises(ValueError, match=r"computes more after its final Linear readout "
                                         r"\('fc'\)"):
        SpectralClassifier(AfterReadout, **FAST).fit(*_images())


@pytest.mark.parametrize(("name", "message"), [
    ("resnet181", r"'resnet181' is not a torchvision classification model \(close matches: "
                  r"\['resnet18'"),
    ("fasterrcnn_resnet50_fpn", "is a torchvision detection model, not a classification"),
    ("deeplabv3_resnet50", "is a torchvision segmentation model"),
    ("r3d_18", "is a torchvision video model"),
])
def test_unknown_or_non_classification_torchvision_names_are_refused(name, message):
    with pytest.raises(ValueError, match=message):
        SpectralClassifier(name, **FAST).fit(*_images(shape=(3, 8, 8)))


def test_module_params_the_module_does_not_accept_are_named():
    with pytest.raises(ValueError, match=r"module__depth: not a parameter of CNN, which "
                                         r"accepts \['in_channels', 'n_out', 'width'\]"):
        SpectralClassifier(CNN, module__depth=3, **FAST).fit(*_images())
    with pytest.raises(ValueError, match=r"module__depth: not a parameter of torchvision's "
                                         r"resnet18 \(ResNet\), which accepts \[.*'num_classes'"):
        SpectralClassifier("resnet18", module__depth=3, **FAST).fit(*_images(shape=(3, 8, 8)))
    with pytest.raises(ValueError, match=r"instance of CNN, so parameters \['module__width'\] "
                                         "cannot be routed"):
        SpectralClassifier(CNN(), module__width=3, **FAST).fit(*_images())
    with pytest.raises(ValueError, match="torchvision's vit_b_16 refused"):
        SpectralClassifier("vit_b_16", module__patch_size=4, **FAST).fit(
            *_images(shape=(3, 8, 8)))


# ---------------------------------------------------------------- pretrained weights

def test_torchvision_weights_names_resolve_without_download(monkeypatch):
    clf = SpectralClassifier("resnet18", pretrained_weights="IMAGENET1K_V1", **FAST)
    assert clf._weights_enum("IMAGENET1K_V1") is torchvision.models.ResNet18_Weights.IMAGENET1K_V1
    assert clf._weights_enum("DEFAULT") is torchvision.models.ResNet18_Weights.DEFAULT
    with pytest.raises(ValueError, match=r"'IMAGENET1K_V9' is not a torchvision weights name "
                                         r"of resnet18; those are \['IMAGENET1K_V1'\]"):
        clf._weights_enum("IMAGENET1K_V9")
    with pytest.raises(ValueError, match="module is not a torchvision model name"):
        SpectralClassifier(CNN, pretrained_weights="IMAGENET1K_V1", **FAST).fit(*_images())
    # The weights' tensors reach Φ (get_state_dict stands in for the download).
    torch.manual_seed(3)
    source = torchvision.models.resnet18().state_dict()
    monkeypatch.setattr(torchvision.models.WeightsEnum, "get_state_dict",
                        lambda self, *args, **kwargs: source)
    X, y = _images(8, (3, 16, 16))
    clf = SpectralClassifier("resnet18", pretrained_weights="IMAGENET1K_V1",
                             freeze_backbone=True, regularizer=None, **FAST).fit(X, y)
    phi = clf.module_.features.phi
    assert torch.equal(phi.layer4[1].conv2.weight, source["layer4.1.conv2.weight"])
    assert torch.equal(phi.bn1.running_mean, source["bn1.running_mean"])
    report = clf.module_.load_report_
    assert report["new"] == ["head.bias", "head.weight"]  # 1000 ImageNet classes there
    assert report["ignored"] == ["fc.bias", "fc.weight"]


def test_a_fitted_estimator_transfers_its_backbone():
    X, y = _images()
    source = SpectralClassifier(CNN, **FAST).fit(X, y)
    target = SpectralClassifier(CNN, pretrained_weights=source, freeze_backbone=True,
                                regularizer=None, **FAST).fit(X, y)
    for (name, a), b in zip(source.module_.features.state_dict().items(),
                            target.module_.features.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert target.module_.load_report_["new"] == []  # 2 classes both: the head fits too
    other = SpectralClassifier(CNN, module__width=2, pretrained_weights=source, **FAST)
    with pytest.raises(ValueError, match="pretrained weights do not fit this backbone"):
        other.fit(X, y)


# ---------------------------------------------------------------- downstream

def _digits_cnn():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X[:200] / 16).reshape(-1, 1, 8, 8).astype(np.float32)
    return X, y[:200]


def test_predict_transform_attacks_pipeline_and_volume_element_on_a_generic_model():
    X, y = _digits_cnn()
    clf = SpectralClassifier(CNN, module__width=8, features="body", max_epochs=3,
                             batch_size=64, lr=0.05, burnin=0, random_state=0).fit(X, y)
    assert clf.predict(X[:5]).shape == (5,) and clf.transform(X[:5]).shape == (5, 64)
    result = adversarial_distances(clf, X[:3], y[:3], attack="tangent", random_state=0,
                                   max_queries=300)
    assert result.distances.shape == (3,)
    pipe = Pipeline([("feat", clf), ("clf", LogisticRegression(max_iter=500))]).fit(X, y)
    labels = pipe.predict(X[:50])
    oracle = as_oracle(pipe)
    # The fused torch path (features, then the linear head) decides as the Pipeline does,
    # without calling the Pipeline.
    pipe.predict = None
    codes = oracle(torch.as_tensor(X[:50]).reshape(50, -1))
    assert torch.equal(codes, oracle.encode(labels))
    del pipe.predict
    score = RobustnessScorer(n_samples=3, attack="tangent", max_queries=300,
                             random_state=0)(pipe, X[:20], y[:20])
    assert np.isfinite(score) and score >= 0
    # volume_element needs d <= m: 1 x 8 x 8 = 64 inputs, 64 features.
    volume = volume_element(clf, X[:2], log=True)
    assert volume.shape == (2,)


def test_certified_lower_bound_on_a_chain_and_its_refusals():
    X, y = _digits_cnn()
    clf = SpectralClassifier(CNN, module__width=4, features="body", max_epochs=2,
                             batch_size=64, burnin=0, random_state=0).fit(X, y)
    bound = certified_lower_bound(clf, X[:20])
    # Lip(Φ): the three convolutions' exact norms (ReLU 1, non-overlapping pooling 1).
    phi = clf.module_.features.phi
    shapes = clf.input_shapes_
    lip = math.prod(torch.linalg.matrix_norm(conv_dense_matrix(
        copy.deepcopy(phi[i]).double(), shapes[f"features.phi.{i}"]), ord=2).item()
        for i in (0, 2, 4))
    Z = clf.transform(X[:20]).astype(np.float64)
    W = clf.module_.head.weight.detach().double().numpy()
    b = clf.module_.head.bias.detach().double().numpy()
    s = Z @ W.T + b
    c = s.argmax(1)
    expected = [min((s[i, c[i]] - s[i, k]) / np.linalg.norm(W[c[i]] - W[k])
                    for k in range(10) if k != c[i]) / lip for i in range(20)]
    np.testing.assert_allclose(bound, expected, rtol=1e-4)  # float32 features, norms to 1e-7
    # An attack never finds a closer label change than the bound.
    found = adversarial_distances(clf, X[:4], clf.predict(X[:4]), attack="tangent",
                                  random_state=0, max_queries=300).distances
    assert np.all(found >= bound[:4] * (1 - 1e-5))
    with pytest.raises(TypeError, match=r"features.phi.1 is a BatchNorm2d"):
        certified_lower_bound(SpectralClassifier(BatchNormCNN, features="body", **FAST)
                              .fit(*_images()), _images()[0])
    with pytest.raises(TypeError, match="features.phi is a CNN"):  # its own forward
        certified_lower_bound(SpectralClassifier(CNN, **FAST).fit(*_images()), _images()[0])


# ---------------------------------------------------------------- self-supervised

def test_barlow_twins_on_a_generic_backbone_penalizes_its_feature_map_only():
    X, _ = _images(16, (1, 8, 8))
    ssl = SpectralBarlowTwins(backbone=CNN, features="body", stem="imagenet", module__width=4,
                              projector=(8,), augmentation="crop-flip", max_epochs=1,
                              batch_size=8, burnin=0, update_every=1, random_state=0).fit(X)
    # Φ resolved as SpectralClassifier resolves it; the projector is never penalized.
    assert ssl.regularized_layers_ == ["features.phi.0", "features.phi.2", "features.phi.4"]
    assert ssl.transform(X[:3]).shape == (3, 32)
    with pytest.raises(ValueError, match=r"\['module__width'\] apply to a backbone network, "
                                         "but backbone is None"):
        SpectralBarlowTwins(module__width=4, max_epochs=1).fit(X)
    with pytest.raises(ValueError, match="stem='small' cannot adapt CNN"):
        SpectralBarlowTwins(backbone=CNN, projector=(8,), max_epochs=1, batch_size=8).fit(X)
