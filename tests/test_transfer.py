"""Transfer learning: sources of a representation, fine-tuning modes, fine-tuning regularizers."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torchvision
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from skspectral import (
    SpectralBarlowTwins,
    SpectralResNetClassifier,
    adversarial_distances,
)
from skspectral.models import ResNet
from skspectral.regularization import L2SP, batch_spectral_shrinkage
from skspectral.regularization._transfer import _AddShrinkageGradient

EPS32 = float(np.finfo(np.float32).eps)


def _small(**params):
    defaults = dict(max_epochs=1, batch_size=32, lr=0.05, burnin=0, update_every=2,
                    random_state=0)
    return SpectralResNetClassifier(**{**defaults, **params})


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32).reshape(-1, 8, 8)
    return X[:96], y[:96] % 5, X[96:192], y[96:192] % 3  # a source task and a target task


@pytest.fixture(scope="module")
def source(digits):
    X, y, _, _ = digits
    return _small(max_epochs=2).fit(X, y)


def _backbone(module):
    return {k: v.clone() for k, v in module.state_dict().items() if k.startswith("features.")}


# ------------------------------------------------------------------------ the regularizers
def test_bss_is_the_sum_of_the_smallest_squared_singular_values():
    u, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(6, 3)))
    v, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(3, 3)))
    features = torch.tensor(u @ np.diag([3.0, 2.0, 0.5]) @ v.T)
    assert float(batch_spectral_shrinkage(features)) == pytest.approx(0.25, rel=8 * EPS32)
    assert float(batch_spectral_shrinkage(features, k=2)) == pytest.approx(4.25, rel=8 * EPS32)
    # a batch of 2 samples has 2 singular values: the smallest of those
    assert float(batch_spectral_shrinkage(torch.tensor([[3.0, 0, 0], [0, 1.0, 0]]))) == 1.0


def test_bss_adds_the_exact_gradient_of_eta_times_the_penalty():
    features = torch.randn(8, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    upstream = torch.randn(8, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    x = features.clone().requires_grad_()
    record = []
    _AddShrinkageGradient.apply(x, 0.3, 2, record).backward(upstream)
    y = features.clone().requires_grad_()
    (0.3 * batch_spectral_shrinkage(y.double(), k=2)).backward()
    # float32 SVD: each term of 2 sigma u v^T carries a few float32 roundings of |F|
    np.testing.assert_allclose(x.grad - upstream, y.grad, atol=64 * EPS32 * float(
        features.norm()))
    assert float(record[0]) == pytest.approx(float(batch_spectral_shrinkage(features, k=2)),
                                             rel=1e-5)


def test_l2sp_is_zero_at_the_start_and_adds_its_exact_gradient():
    torch.manual_seed(0)
    module = torch.nn.Module()
    module.features, module.head = torch.nn.Linear(3, 4), torch.nn.Linear(4, 2)
    net = SimpleNamespace(module_=module)
    cb = L2SP(alpha=0.5, beta=0.1).initialize()
    cb.on_train_begin(net)
    alpha_only = L2SP(alpha=0.5).initialize()
    alpha_only.on_train_begin(net)
    assert alpha_only.penalty(net) == 0.0  # at the pretrained starting point
    start = {k: v.detach().clone() for k, v in module.named_parameters()}
    with torch.no_grad():
        module.features.weight += 0.25
    for p in module.parameters():
        p.grad = torch.ones_like(p)
    cb.on_grad_computed(net, module.named_parameters(), training=True)
    torch.testing.assert_close(module.features.weight.grad,
                               1 + 0.5 * (module.features.weight - start["features.weight"]),
                               rtol=0, atol=0)
    torch.testing.assert_close(module.features.bias.grad, torch.ones(4), rtol=0, atol=0)
    torch.testing.assert_close(module.head.weight.grad, 1 + 0.1 * module.head.weight.detach(),
                               rtol=0, atol=0)
    expected = 0.5 * 0.5 * 12 * 0.25 ** 2 + 0.5 * 0.1 * sum(
        float((p.detach() ** 2).sum()) for p in module.head.parameters())
    assert cb.penalty(net) == pytest.approx(expected, rel=16 * EPS32)


# ------------------------------------------------------------------------ sources
def test_every_form_of_a_source_loads_the_same_backbone(source, digits, tmp_path):
    _, _, X, y = digits
    state = source.module_.state_dict()
    torch.save(state, tmp_path / "source.pt")
    forms = [source, state, str(tmp_path / "source.pt"), tmp_path / "source.pt"]
    expected = _backbone(source.module_)
    for form in forms:
        ft = _small(pretrained_weights=form, freeze_backbone=True, regularizer=None).fit(X, y)
        got = _backbone(ft.module_)
        assert got.keys() == expected.keys()
        assert all(torch.equal(got[k], expected[k]) for k in expected), form
        report = ft.module_.load_report_
        assert report["new"] == ["head.bias", "head.weight"]  # 5 classes there, 3 here
        assert set(report["loaded"]) == {k for k in expected if ".augment." not in k}


def test_a_torchvision_weights_name_resolves_through_torchvisions_api(digits, monkeypatch):
    _, _, X, y = digits
    reference = torchvision.models.resnet18(num_classes=1000).state_dict()
    calls = []

    def fake_state_dict(self, *args, **kwargs):  # no network in tests: what it would load
        calls.append(self)
        return reference

    monkeypatch.setattr(torchvision.models.WeightsEnum, "get_state_dict", fake_state_dict)
    for form in ("IMAGENET1K_V1", torchvision.models.ResNet18_Weights.IMAGENET1K_V1):
        ft = _small(pretrained_weights=form, stem="imagenet", freeze_backbone=True,
                    regularizer=None).fit(np.repeat(X[:, None], 3, axis=1), y)
        assert torch.equal(ft.module_.features.conv1.weight, reference["conv1.weight"])
    assert calls == [torchvision.models.ResNet18_Weights.IMAGENET1K_V1] * 2
    with pytest.raises(ValueError, match="'IMAGENET9K' is not a torchvision weights name of "
                                         "resnet18; those are"):
        _small(pretrained_weights="IMAGENET9K").fit(X, y)


def test_a_backbone_of_another_shape_is_an_error_not_a_silent_skip(source, digits):
    _, _, X, y = digits
    with pytest.raises(ValueError, match=r"pretrained weights do not fit this backbone .* 1 of "
                                         r"another shape \['features.conv1.weight: "
                                         r"\(64, 1, 3, 3\) for \(64, 1, 7, 7\)'\]"):
        _small(pretrained_weights=source, stem="imagenet").fit(X, y)
    with pytest.raises(ValueError, match="missing"):
        _small(pretrained_weights={"conv1.weight": torch.zeros(64, 1, 3, 3)}).fit(X, y)


def test_an_unfitted_or_cloned_source_is_refused_with_the_way_out(source, digits):
    _, _, X, y = digits
    ft = clone(_small(pretrained_weights=source))  # clone unfits estimator parameters
    with pytest.raises(ValueError, match=r"pretrained_weights is an unfitted "
                                         r"SpectralResNetClassifier.*module_.state_dict\(\)"):
        ft.fit(X, y)


def test_a_barlow_twins_backbone_transfers_and_its_projector_is_ignored(digits):
    X, _, X2, y2 = digits
    bt = SpectralBarlowTwins(augmentation="crop-flip", projector=(8,), max_epochs=1,
                             batch_size=32, burnin=0, update_every=2, random_state=0,
                             value_range=(0.0, 1.0)).fit(X)
    ft = _small(pretrained_weights=bt, head_warmup=1, regularizer=None).fit(X2, y2)
    np.testing.assert_array_equal(ft.transform(X2), bt.transform(X2))
    assert any(k.startswith("projector.") for k in ft.module_.load_report_["ignored"])


# ------------------------------------------------------------------------ fine-tuning modes
def test_a_frozen_backbone_is_bit_identical_after_fit_and_its_features_too(source, digits):
    _, _, X, y = digits
    ft = _small(pretrained_weights=source, freeze_backbone=True, regularizer=None,
                max_epochs=2).fit(X, y)
    after = _backbone(ft.module_)
    before = _backbone(source.module_)
    assert all(torch.equal(after[k], before[k]) for k in before)  # BatchNorm statistics too
    np.testing.assert_array_equal(ft.transform(X), source.transform(X))
    assert not torch.equal(ft.module_.head.weight[:3], source.module_.head.weight[:3])


def test_the_features_before_the_first_step_are_the_sources(source, digits):
    _, _, X, y = digits
    module = ResNet(n_classes=3, in_channels=1, pretrained_weights=source.module_.state_dict())
    with torch.inference_mode():
        features = module.eval().features(torch.from_numpy(X[:, None])).numpy()
    np.testing.assert_array_equal(features, source.transform(X))


def test_warmup_trains_the_head_alone_first_then_everything(source, digits):
    _, _, X, y = digits
    ft = _small(pretrained_weights=source, head_warmup=1, regularizer=None,
                max_epochs=1).fit(X, y)
    before = _backbone(source.module_)
    assert all(torch.equal(_backbone(ft.module_)[k], before[k]) for k in before)
    ft.partial_fit(X, y)  # epoch 2: the backbone trains
    assert not torch.equal(ft.module_.features.conv1.weight, before["features.conv1.weight"])


def test_backbone_and_head_learning_rates_and_the_cosine_schedule(source, digits):
    _, _, X, y = digits
    ft = _small(pretrained_weights=source, backbone_lr=0.002, lr=0.01, lr_schedule="cosine",
                max_epochs=4, regularizer=None).fit(X, y)
    groups = ft.net_.optimizer_.param_groups
    assert [g["initial_lr"] for g in groups] == [0.002, 0.01]
    assert len(groups[0]["params"]) == len(list(ft.module_.features.parameters()))
    # CosineAnnealingLR over 4 epochs, stepped after each: lr_t = lr (1 + cos(pi t / 4)) / 2
    assert groups[1]["lr"] == pytest.approx(0.01 * (1 + math.cos(math.pi * 4 / 4)) / 2,
                                            abs=1e-12)


def test_the_regularizers_compose_and_record(source, digits):
    _, _, X, y = digits
    ft = _small(pretrained_weights=source, bss=0.1, l2sp=(0.01, 0.001), max_epochs=2).fit(X, y)
    assert set(ft.history_[-1]) >= {"bss_penalty", "l2sp_penalty", "spectral_penalty"}
    assert ft.history_[-1, "bss_penalty"] > 0 and ft.history_[-1, "l2sp_penalty"] > 0


def test_a_frozen_backbone_refuses_a_penalty_on_it(source, digits):
    _, _, X, y = digits
    with pytest.raises(ValueError, match="freeze_backbone=True trains the head alone"):
        _small(pretrained_weights=source, freeze_backbone=True).fit(X, y)


# ------------------------------------------------------------------------ resolution
def test_resizing_inside_the_network_keeps_attacks_in_the_users_pixel_space(digits):
    _, _, X, y = digits
    ft = _small(resize=(16, 16), regularizer="rep").fit(X, y)
    assert ft.input_shapes_["features.conv1"] == (1, 16, 16)  # the size the conv sees
    assert ft.module_.features.resize.size == (16, 16)
    result = adversarial_distances(ft, X[:3], y[:3], max_iter=2, random_state=0)
    assert result.adversarial.shape == (3, 8, 8)
    pipe = Pipeline([("feat", clone(ft)), ("clf", LogisticRegression(max_iter=200))]).fit(X, y)
    assert adversarial_distances(pipe, X[:3], y[:3], max_iter=2, random_state=0).success.any()
