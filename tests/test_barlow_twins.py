"""SpectralBarlowTwins: a self-supervised featurizer in Pipelines, searches and attacks."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline

from skspectral import (
    FeatureProbe,
    RobustnessScorer,
    SpectralBarlowTwins,
    adversarial_distances,
    certified_lower_bound,
)
from skspectral.attacks import as_oracle
from skspectral.models import BarlowTwins, BarlowTwinsLoss, TwoViews

TINY = dict(max_epochs=2, batch_size=16, burnin=1, update_every=2, lr=0.05, projector=(32,),
            random_state=0)


def _images(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 1, 8, 8), dtype=np.float32)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16).reshape(-1, 1, 8, 8).astype(np.float32), y


@pytest.fixture(scope="module")
def fitted():
    return SpectralBarlowTwins(**TINY).fit(_images())


# ------------------------------------------------------------------------ what is penalized
def test_the_penalty_covers_the_backbone_convolutions_only(fitted):
    assert len(fitted.regularized_layers_) == 20  # every conv of ResNet18
    assert all(name.startswith("features.") for name in fitted.regularized_layers_)
    projector = [name for name in fitted.spectral_norms_ if name.startswith("projector.")]
    assert projector == ["projector.linear0"]  # reported, never penalized


def test_the_penalty_leaves_the_projector_gradient_alone(fitted):
    module, penalty = fitted.module_, fitted.net_.penalty_
    for p in module.parameters():
        p.grad = None
    penalty.apply_(module)
    assert module.projector.linear0.weight.grad is None
    assert all(module.get_submodule(name).weight.grad is not None
               for name in penalty.layers)
    for p in module.parameters():
        p.grad = None


def test_history_records_the_loss_its_parts_and_the_norms(fitted):
    row = fitted.history_[-1]
    assert row["train_loss"] == pytest.approx(row["barlow_on_diagonal"]
                                              + row["barlow_off_diagonal"], rel=1e-5)
    assert set(row["spectral_norms"]) == set(fitted.regularized_layers_)
    assert fitted.history_[0, "spectral_penalty"] == 0.0 and row["spectral_penalty"] > 0


# ------------------------------------------------------------------------ transformer API
def test_transform_returns_the_pooled_features(fitted):
    X = _images(5, seed=1)
    features = fitted.transform(X)
    assert features.shape == (5, 512) and features.dtype == np.float32
    with torch.inference_mode():
        expected = fitted.module_.features(torch.from_numpy(X)).numpy()
    np.testing.assert_array_equal(features, expected)
    assert list(fitted.get_feature_names_out()[:2]) == ["spectralbarlowtwins0",
                                                         "spectralbarlowtwins1"]
    # Flat rows of the same images give the same features.
    np.testing.assert_array_equal(fitted.transform(X.reshape(5, -1)), features)


def test_features_survive_pickling(fitted):
    X = _images(6, seed=2)
    clone = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(clone.transform(X), fitted.transform(X))


def test_the_same_random_state_gives_the_same_views_and_model():
    X = _images()
    a = SpectralBarlowTwins(**TINY).fit(X)
    b = SpectralBarlowTwins(**TINY).fit(X)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert a.history_[:, "train_loss"] == b.history_[:, "train_loss"]
    c = SpectralBarlowTwins(**{**TINY, "random_state": 1}).fit(X)
    assert not np.array_equal(a.transform(X), c.transform(X))
    views = TwoViews("barlow", (3, 16, 16))
    x = torch.rand(4, 3, 16, 16)
    torch.manual_seed(0)
    first = views(x)
    torch.manual_seed(0)
    second = views(x)
    for u, v in zip(first, second, strict=True):
        torch.testing.assert_close(u, v, rtol=0, atol=0)
    assert not torch.equal(first[0], first[1])  # two different views of each image


def test_views_are_drawn_per_sample():
    x = torch.rand(1, 3, 16, 16).repeat(8, 1, 1, 1)  # eight copies of one image
    torch.manual_seed(0)
    view1, _ = TwoViews("barlow", (3, 16, 16))(x)
    assert len({tuple(v.flatten()[:20].tolist()) for v in view1}) == 8


def test_partial_fit_continues_the_schedule():
    X = _images()
    est = SpectralBarlowTwins(**{**TINY, "max_epochs": 3, "burnin": 2})
    for _ in range(3):
        est.partial_fit(X)
    assert est.n_iter_ == 3
    assert est.history_[:, "spectral_penalty"][:2] == [0.0, 0.0]
    assert est.history_[-1, "spectral_penalty"] > 0


def test_uint8_images_use_the_range_0_255():
    X = (_images() * 255).astype(np.uint8)
    est = SpectralBarlowTwins(**{**TINY, "max_epochs": 1}).fit(X)
    assert est.value_range_ == (0.0, 255.0)
    assert est.module_.augment.high == 255.0


def test_a_probe_records_accuracy_and_does_not_change_training(digits):
    X, y = digits
    probe = FeatureProbe(X[:200], y[:200], method="knn", cv=3)
    with_probe = SpectralBarlowTwins(**{**TINY, "callbacks": [("probe", probe)]}).fit(X[:64])
    without = SpectralBarlowTwins(**TINY).fit(X[:64])
    accuracies = with_probe.history_[:, "probe_accuracy"]
    assert len(accuracies) == 2 and all(0.1 < a <= 1 for a in accuracies)
    np.testing.assert_array_equal(with_probe.transform(X[:10]), without.transform(X[:10]))


# ------------------------------------------------------------------------ learning
@pytest.fixture(scope="module")
def digits_split(digits):
    X, y = digits
    return train_test_split(X, y, test_size=0.5, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def learned(digits_split):
    """Ten epochs on half of digits (as 1x8x8 images), labels unused."""
    X_train = digits_split[0]
    return SpectralBarlowTwins(max_epochs=10, batch_size=128, lr=0.2, burnin=0.5,
                               update_every=4, augmentation="affine",
                               random_state=0).fit(X_train)


def _random_backbone():
    torch.manual_seed(0)
    return BarlowTwins(in_channels=1, image_shape=(1, 8, 8)).eval()


def _held_out_loss(module, X):
    """Barlow Twins loss of fixed views of held-out images, in evaluation mode."""
    torch.manual_seed(1)
    with torch.inference_mode():
        return BarlowTwinsLoss()(module.eval()(torch.from_numpy(X))).item()


def test_training_makes_the_views_of_unseen_images_agree(learned, digits_split):
    """What Barlow Twins learns is invariance: on images it never saw, two augmented views'
    projections correlate feature by feature, and features decorrelate (216.9 -> 64.5 when
    measured). A readout comparison is not a specification on digits: a random ResNet18's
    features already give a LogisticRegression 0.93 accuracy (raw pixels 0.96), and a
    ten-epoch fit reaches 0.945 (docs/self_supervised.md)."""
    X_test = digits_split[1]
    before = _held_out_loss(_random_backbone(), X_test)
    after = _held_out_loss(learned.module_, X_test)
    assert after < 0.5 * before, (after, before)


# ------------------------------------------------------------------------ pipelines, attacks
@pytest.fixture(scope="module")
def pipeline(digits):
    X, y = digits
    # Trained enough that the decision function is not flat along a ray: on a nearly
    # collapsed representation float32 rounding, which varies with the batch's shape, moves
    # labels even 1e-3 of the distance past the boundary.
    feat = SpectralBarlowTwins(**{**TINY, "batch_size": 64, "max_epochs": 5, "lr": 0.2,
                                  "augmentation": "affine", "projector": (64,)})
    pipe = Pipeline([("feat", feat), ("clf", LogisticRegression(max_iter=2000))])
    return pipe.fit(X[:300], y[:300])


def test_a_pipeline_is_attacked_through_the_fused_torch_path(pipeline, digits):
    X, y = digits
    oracle = as_oracle(pipeline, (1, 8, 8))
    assert oracle._encode is not None  # the fused path encodes labels by the head's classes
    rng = np.random.default_rng(0)
    points = torch.from_numpy(rng.random((50, 64), dtype=np.float32))
    codes = oracle(points).numpy()
    expected = pipeline.predict(points.numpy().reshape(-1, 1, 8, 8))
    np.testing.assert_array_equal(pipeline["clf"].classes_[codes], expected)
    X_test, y_test = X[300:400], y[300:400]
    correct = pipeline.predict(X_test) == y_test
    chosen = np.concatenate([np.flatnonzero(correct)[:6], np.flatnonzero(~correct)[:2]])
    result = adversarial_distances(pipeline, X_test[chosen], y_test[chosen], max_iter=3,
                                   random_state=0)
    assert np.all(result.distances[:6] > 0) and np.all(result.distances[6:] == 0)
    found = result.success[:6]
    assert found.any()
    assert np.all(pipeline.predict(result.adversarial[:6][found]) != y_test[chosen[:6]][found])


def test_a_featurizer_alone_is_not_an_oracle(fitted):
    with pytest.raises(TypeError, match="featurizer and predicts no labels"):
        as_oracle(fitted)


def test_certified_bound_refuses_clearly(pipeline, digits):
    with pytest.raises(TypeError, match="no Lipschitz bound of SpectralBarlowTwins"):
        certified_lower_bound(pipeline, digits[0][:3])


def test_grid_search_over_the_penalty_scored_by_robustness(digits):
    X, y = digits
    pipe = Pipeline([("feat", SpectralBarlowTwins(**{**TINY, "max_epochs": 1,
                                                     "batch_size": 64})),
                     ("clf", LogisticRegression(max_iter=500))])
    search = GridSearchCV(pipe, {"feat__gamma": [0.0, 0.2]}, cv=2, refit="robust",
                          scoring={"acc": "accuracy",
                                   "robust": RobustnessScorer(n_samples=4, max_iter=2)})
    search.fit(X[:120], y[:120])
    assert search.best_params_["feat__gamma"] in (0.0, 0.2)
    assert np.all(search.cv_results_["mean_test_robust"] > 0)


# ------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(("params", "error", "match"), [
    (dict(projector=(256, "a")), ValueError, "The 'projector' parameter of SpectralBarlowTwins"),
    (dict(projector=[256, 0]), ValueError, "projector' parameter .* one or more positive ints"),
    (dict(projector=()), ValueError, "projector' parameter .* one or more positive ints"),
    (dict(regularizer="all"), ValueError, r"'regularizer' parameter .* among \{'rep'\}"),
    (dict(augmentation=(print,)), ValueError, "augmentation as a sequence must be a pair"),
    (dict(lambda_offdiag=-1.0), ValueError, "lambda_offdiag"),
    (dict(augmentation="jitter"), ValueError, "The 'augmentation' parameter of"),
    (dict(value_range=(1, 0)), ValueError, "value_range must be finite"),
])
def test_bad_parameters_are_named(params, error, match):
    with pytest.raises(error, match=match):
        SpectralBarlowTwins(**{**TINY, **params}).fit(_images())


def test_bad_data_is_named():
    X = _images()
    with pytest.raises(ValueError, match=r"shape \(40, 1, 1, 8, 8\)"):
        SpectralBarlowTwins(**TINY).fit(X[:, None])
    with pytest.raises(ValueError, match="at least 2 images"):
        SpectralBarlowTwins(**TINY).fit(X[:1])
    bad = X.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        SpectralBarlowTwins(**TINY).fit(bad)
    with pytest.raises(ValueError, match="outside value_range"):
        SpectralBarlowTwins(**TINY).fit(X * 3)
    est = SpectralBarlowTwins(**{**TINY, "max_epochs": 1}).fit(X)
    with pytest.raises(ValueError, match=r"images of shape \(1, 4, 16\)"):
        est.transform(X.reshape(40, 1, 4, 16))
