"""White-box minimum-norm attacks (FMN, DDN): exactness on linear models, the sandwich with the
certified bound and the Tangent Attack, the re-checked points, the model left untouched, the
errors, and the agreement with adv-lib's reference implementations where adv-lib is installed.
"""

import copy
import inspect
import math

import numpy as np
import pytest
import torch
import torch.nn as nn
from sklearn.base import BaseEstimator, clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils import check_random_state

from skspectral import (
    RobustnessScorer,
    SpectralClassifier,
    SpectralMLPClassifier,
    adversarial_distances,
    certified_lower_bound,
)
from skspectral.attacks import (
    DDN,
    FMN,
    as_logit_oracle,
    as_oracle,
    decoupled_direction_norm,
    fast_minimum_norm,
)
from skspectral.datasets import make_xor

BOX = 4.0  # the box [-4, 4]^6 of the linear models: their boundary points lie inside it
GAMMA_FINAL = 1e-3  # FMN's last relative change of its norm bound: its resolution
GAMMA_DDN = 0.05  # DDN's (fixed) relative change of its norm per step
# FMN's steps where a test asks for its resolution GAMMA_FINAL: gamma is annealed over
# max_iter steps, and the default 50 leave few at the smallest gamma (about 2e-3 above)
FMN_STEPS = 100


class Affine(nn.Module):
    """A user's network that is affine end to end: ``fc(body(x))``."""

    def __init__(self, d=6, width=8, n_out=3):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(d, width))
        self.fc = nn.Linear(width, n_out)

    def forward(self, x):
        return self.fc(self.body(x))


def _tabular(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, 6)).astype(np.float32)
    return X, np.argmax(X[:, :3] + 0.3 * X[:, 3:], axis=1)


@pytest.fixture(scope="module")
def affine():
    X, y = _tabular()
    return SpectralClassifier(Affine, features="body", max_epochs=30, batch_size=32,
                              random_state=0).fit(X, y)


def _affine_map(module):
    """``(W, b)`` of ``module.features`` (one Linear) in float64."""
    layer = module.features.phi[0]
    return layer.weight.detach().double().numpy(), layer.bias.detach().double().numpy()


def _exact(X, W, b):
    """Per sample: the predicted class, the distance to each other class's half-space
    ``f_k >= f_c`` and the minimum (the exact distance to a decision change)."""
    f = X.astype(np.float64) @ W.T + b
    c = f.argmax(axis=1)
    norms = np.linalg.norm(W[c][:, None] - W[None], axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_class = np.where(np.arange(len(W))[None] == c[:, None], np.inf,
                             (f[np.arange(len(X)), c][:, None] - f) / norms)
    return c, per_class, per_class.min(axis=1)


# ------------------------------------------------------------------ exact on linear models
def test_fmn_equals_the_closed_form_distance_of_a_binary_linear_pipeline():
    """A Pipeline of an affine skspectral featurizer and a LogisticRegression: the distance
    is ``|w.x + b| / |w|``. FMN resolves it to its last norm step, GAMMA_FINAL (relative);
    it cannot be below it beyond float32 rounding of the logits (about 1e-6 here)."""
    X, y = _tabular()
    y2 = (X[:, 0] + X[:, 1] > 0.2).astype(int)
    feat = SpectralClassifier(Affine, features="body", max_epochs=5, batch_size=32,
                              random_state=0).fit(X, y)
    pipe = Pipeline([("feat", feat), ("clf", LogisticRegression())]).fit(X, y2)
    W1, b1 = _affine_map(feat.module_)
    w, b = pipe[-1].coef_ @ W1, pipe[-1].coef_ @ b1 + pipe[-1].intercept_
    exact = np.abs(X[:40] @ w.T + b)[:, 0] / np.linalg.norm(w)
    labels = pipe.predict(X[:40])
    result = adversarial_distances(pipe, X[:40], labels, attack="fmn", clip_min=-BOX,
                                   clip_max=BOX, max_iter=FMN_STEPS)
    assert result.success.all()
    np.testing.assert_array_less(exact * (1 - 1e-5), result.distances)
    np.testing.assert_array_less(result.distances, exact * (1 + GAMMA_FINAL))
    ddn = adversarial_distances(pipe, X[:40], labels, attack="ddn", clip_min=-BOX,
                                clip_max=BOX, random_state=0)
    np.testing.assert_array_less(exact * (1 - 1e-5), ddn.distances)
    np.testing.assert_array_less(ddn.distances, exact / (1 - GAMMA_DDN) ** 2)


def test_multiclass_linear_model_fmn_reaches_its_target_class_and_ddn_the_nearest(affine):
    """A 3-class affine SpectralClassifier. Untargeted FMN's margin (``n_targets=1``) is the
    true logit minus the largest other one, so it walks to the boundary of the runner-up
    class: where that class is also the nearest, FMN's distance is the exact one to
    GAMMA_FINAL (the case of most samples); elsewhere it is that class's, an upper bound.
    The default (``n_targets=3``, capped at the 2 other classes) also runs towards the other
    class and keeps the smaller distance: the exact one on every sample. DDN's cross-entropy
    weighs every class: within its norm grid (two factors 1 / (1 - gamma)) of the exact
    distance."""
    X, _ = _tabular()
    X = X[:60]
    W1, b1 = _affine_map(affine.module_)
    W2 = affine.module_.head.weight.detach().double().numpy()
    b2 = affine.module_.head.bias.detach().double().numpy()
    c, per_class, exact = _exact(X, W2 @ W1, W2 @ b1 + b2)
    f = X.astype(np.float64) @ (W2 @ W1).T + W2 @ b1 + b2
    runner_up = np.argsort(f, axis=1)[:, -2]
    target = per_class[np.arange(len(X)), runner_up]
    nearest = per_class.argmin(axis=1) == runner_up
    assert 0.8 < nearest.mean() < 1  # some samples' nearest boundary is not the runner-up's
    one = FMN(-BOX, BOX, n_targets=1, max_iter=FMN_STEPS).attack(affine, X, c)
    fmn = adversarial_distances(affine, X, c, attack="fmn", clip_min=-BOX, clip_max=BOX,
                                max_iter=FMN_STEPS)
    for result in (one, fmn):
        assert result.success.all()
        np.testing.assert_array_less(exact * (1 - 1e-5), result.distances)
    np.testing.assert_allclose(one.distances[nearest], exact[nearest], rtol=GAMMA_FINAL)
    np.testing.assert_array_less(one.distances, target * (1 + GAMMA_FINAL))
    # where the runner-up's boundary is farther, the untargeted run can end on it
    assert (one.distances[~nearest] > exact[~nearest] * 1.05).any()
    np.testing.assert_allclose(fmn.distances, exact, rtol=GAMMA_FINAL)
    np.testing.assert_array_equal(fmn.gradients, 2 * one.gradients)
    ddn = adversarial_distances(affine, X, c, attack="ddn", clip_min=-BOX, clip_max=BOX,
                                random_state=0)
    np.testing.assert_array_less(exact * (1 - 1e-5), ddn.distances)
    np.testing.assert_array_less(ddn.distances, exact / (1 - GAMMA_DDN) ** 2)


def test_attacks_are_scikit_learn_estimators():
    """get_params / set_params / clone / repr are scikit-learn's; parameters are checked
    when the attack runs, not when it is built."""
    attack = FMN(0, 255, max_iter=200, n_targets=1)
    assert isinstance(attack, BaseEstimator)
    assert repr(attack) == "FMN(clip_max=255, clip_min=0, max_iter=200, n_targets=1)"
    params = attack.get_params()
    assert params["n_targets"] == 1 and params["alpha_final"] is None
    assert set(params) == set(inspect.signature(FMN).parameters)
    twin = clone(attack)
    assert twin is not attack and twin.get_params() == params
    assert DDN().set_params(gamma=0.1).gamma == 0.1
    assert set(DDN().get_params()) == set(inspect.signature(DDN).parameters)
    bad = FMN(n_targets=0)  # built without complaint
    X, _ = _tabular()
    with pytest.raises(ValueError, match="n_targets"):
        bad.attack(nn.Linear(X.shape[1], 2), X[:2], [0, 1])


def test_uint8_pixels_in_their_own_box():
    """Pixels as stored (uint8, box [0, 255]): a linear torch module labelling by the mean of
    the first four pixels against 100; the distance is ``|mean - 100| * 4 / 2`` (the normal
    is (1, 1, 1, 1) / 2), reached inside the box."""
    model = nn.Linear(8, 2)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[0.0] * 8, [0.25] * 4 + [0.0] * 4]))
        model.bias.copy_(torch.tensor([0.0, -100.0]))
    X = np.random.default_rng(0).integers(30, 220, size=(20, 8)).astype(np.uint8)
    mean = X[:, :4].astype(np.float64).mean(axis=1)
    exact = np.abs(mean - 100) * 2
    keep = exact > 1
    for attack in ("fmn", "ddn"):
        steps = {"max_iter": FMN_STEPS} if attack == "fmn" else {}
        result = adversarial_distances(model, X[keep], attack=attack, clip_min=0,
                                       clip_max=255, random_state=0, **steps)
        tol = GAMMA_FINAL if attack == "fmn" else 1 / (1 - GAMMA_DDN) ** 2 - 1
        assert result.success.all()
        np.testing.assert_array_less(exact[keep] * (1 - 1e-5), result.distances)
        np.testing.assert_array_less(result.distances, exact[keep] * (1 + tol))
        assert (result.adversarial >= 0).all() and (result.adversarial <= 255).all()


def test_per_feature_bounds_are_respected_and_change_the_distance():
    """Standardized tabular data with per-feature bounds: feature 0 may not move at all
    beyond [-1, 1] where the boundary x0 + x1 = 1.5 lies outside it for x1 alone; the
    attack stays in the box and goes around it (the closed form on the box's face)."""
    model = nn.Linear(2, 2)
    with torch.no_grad():  # class 1 where x0 + x1 > 1.5
        model.weight.copy_(torch.tensor([[0.0, 0.0], [1.0, 1.0]]))
        model.bias.copy_(torch.tensor([0.0, -1.5]))
    X = np.array([[0.0, 0.0], [0.9, 0.0]], np.float32)
    lower, upper = np.array([-1.0, -3.0]), np.array([1.0, 3.0])
    result = adversarial_distances(model, X, attack="fmn", clip_min=lower, clip_max=upper,
                                   max_iter=FMN_STEPS)
    assert result.success.all()
    assert (result.adversarial >= lower).all() and (result.adversarial <= upper).all()
    # sample 0: the unconstrained point (0.75, 0.75) is inside: 1.5 / sqrt(2)
    np.testing.assert_allclose(result.distances[0], 1.5 / math.sqrt(2), rtol=GAMMA_FINAL)
    # sample 1: (1.2, 0.3) would leave x0 <= 1; on the face x0 = 1: (1, 0.5), |(0.1, 0.5)|
    np.testing.assert_allclose(result.distances[1], math.hypot(0.1, 0.5), rtol=GAMMA_FINAL)


# ------------------------------------------------------------------ sandwich and protocol
@pytest.fixture(scope="module")
def digits_mlp():
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    clf = SpectralMLPClassifier(hidden_layer_sizes=(32,), max_epochs=30,
                                random_state=0).fit(X[:1000], y[:1000])
    return clf, X[1000:1030], y[1000:1030]


def test_every_returned_point_is_adversarial_under_predict(digits_mlp):
    clf, X, y = digits_mlp
    for attack in ("fmn", "ddn"):
        result = adversarial_distances(clf, X, y, attack=attack, max_iter=200, random_state=0)
        wrong = clf.predict(X) != y
        np.testing.assert_array_equal(result.distances == 0, wrong)
        np.testing.assert_array_equal(result.adversarial[wrong], X[wrong])
        attacked = result.success & ~wrong
        assert attacked.sum() == (~wrong).sum()
        adv = result.adversarial[attacked]
        assert (clf.predict(adv) != y[attacked]).all()
        assert all(clf.predict(p[None])[0] != label for p, label in zip(adv, y[attacked],
                                                                         strict=True))
        np.testing.assert_allclose(result.distances[attacked],
                                   np.linalg.norm(adv - X[attacked], axis=1), rtol=1e-5)
        assert (adv >= 0).all() and (adv <= 1).all()
        # FMN: an untargeted and two targeted runs (n_targets=3 on 10 classes) after one
        # forward pass that ranks the classes; DDN: one run
        runs, rank = (3, 1) if attack == "fmn" else (1, 0)
        np.testing.assert_array_equal(result.gradients, np.where(wrong, 0, 200 * runs))
        # the clean label, the forward passes, two re-checks (four where pushed)
        steps = 200 * runs + rank
        assert set(result.queries[~wrong]) <= {steps + 3, steps + 5, steps + 7}
        np.testing.assert_array_equal(result.queries[wrong], 1)
        assert result.summary()["mean_gradients"] == result.gradients.mean()


def test_sandwich_on_small_mlps(digits_mlp):
    """certified lower bound <= white-box <= black-box.

    The lower bound holds per sample for any adversarial point (Lemma 1), up to float32
    rounding of the logits (relative 1e-5). On a binary 2-D problem FMN reaches the nearest
    boundary: it is at most the Tangent Attack's distance plus FMN's resolution, per sample.
    On 10 classes FMN follows the runner-up class and may end at a farther boundary for
    some samples: there the claim is on the mean.
    """
    X, y = make_xor(20, noise=0.2, random_state=0)
    clf = SpectralMLPClassifier(hidden_layer_sizes=(16,), max_epochs=200, batch_size=80,
                                lr=0.05, random_state=0).fit(X, y)
    X_test, y_test = make_xor(10, noise=0.2, random_state=1)
    fmn = adversarial_distances(clf, X_test, y_test, attack="fmn", clip_min=-2, clip_max=2)
    tangent = adversarial_distances(clf, X_test, y_test, attack="tangent", clip_min=-2,
                                    clip_max=2, random_state=0)
    bound = certified_lower_bound(clf, X_test)
    ok = fmn.distances > 0
    assert ok.sum() >= 30
    np.testing.assert_array_less(bound[ok] * (1 - 1e-5), fmn.distances[ok])
    np.testing.assert_array_less(fmn.distances[ok], tangent.distances[ok] * (1 + GAMMA_FINAL))

    clf, X, y = digits_mlp
    fmn = adversarial_distances(clf, X, y, attack="fmn")
    ddn = adversarial_distances(clf, X, y, attack="ddn", random_state=0)
    tangent = adversarial_distances(clf, X, y, attack="tangent", random_state=0)
    bound = certified_lower_bound(clf, X)
    ok = fmn.distances > 0
    for white in (fmn.distances, ddn.distances):
        np.testing.assert_array_less(bound[ok] * (1 - 1e-5), white[ok])
    assert fmn.mean() <= tangent.mean()


def test_batches_equal_one_sample_at_a_time(digits_mlp):
    """Every per-sample computation is row-wise: only float32 rounding differs with the
    batch's shape, which can move a trajectory at most by the attack's resolution."""
    clf, X, y = digits_mlp
    X, y = X[:12], y[:12]
    for attack, tol in (("fmn", GAMMA_FINAL), ("ddn", GAMMA_DDN)):
        batch = adversarial_distances(clf, X, y, attack=attack, max_iter=200, random_state=0)
        alone = adversarial_distances(clf, X, y, attack=attack, max_iter=200, random_state=0,
                                      batch_size=1)
        np.testing.assert_array_equal(batch.success, alone.success)
        np.testing.assert_array_equal(batch.gradients, alone.gradients)
        np.testing.assert_allclose(batch.distances, alone.distances, rtol=tol)
        again = adversarial_distances(clf, X, y, attack=attack, max_iter=200, random_state=0)
        np.testing.assert_array_equal(batch.distances, again.distances)


def _state(module):
    return ({k: v.detach().clone() for k, v in module.state_dict().items()},
            {k: None if p.grad is None else p.grad.clone() for k, p in module.named_parameters()},
            {k: m.training for k, m in module.named_modules()},
            {k: p.requires_grad for k, p in module.named_parameters()})


@pytest.mark.parametrize("attack", ["fmn", "ddn"])
@pytest.mark.parametrize("random_state", [0, None])
def test_the_model_and_the_global_random_streams_are_left_untouched(attack, random_state):
    """Parameters, buffers (BatchNorm's running statistics), .grad, every module's train/eval
    flag, requires_grad, and torch's and NumPy's global random streams; for a torch module
    (attacked as it is) and a skspectral estimator (its module_)."""
    X, y = _tabular()
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.Dropout(0.5), nn.GELU(),
                        nn.Linear(8, 3))
    net.train()
    net(torch.as_tensor(X))  # running statistics that differ from their initial values
    net[4].eval()  # mixed flags, as a user may leave them
    net[0].weight.requires_grad_(False)
    clf = SpectralClassifier(Affine, features="body", max_epochs=2, batch_size=32,
                             random_state=0).fit(X, y)
    clf.module_.train()
    for model, module in ((net, net), (clf, clf.module_)):
        for p in module.parameters():
            p.grad = torch.full_like(p, 0.5)
        _check_untouched(model, module, X[:10], y[:10], attack, random_state)


def _check_untouched(model, module, X, y, attack, random_state):
    before = _state(module)
    torch_rng = torch.get_rng_state()
    np_rng = np.random.get_state()  # noqa: NPY002 (the global stream)
    result = adversarial_distances(model, X, y, attack=attack, max_iter=20,
                                   clip_min=-1, clip_max=1, random_state=random_state)
    # FMN on 3 classes: the untargeted run and one targeted (n_targets=3 capped at 2)
    assert len(result) == 10 and result.gradients.max() == (40 if attack == "fmn" else 20)
    after = _state(module)
    for b, a in zip(before[0].values(), after[0].values(), strict=True):
        assert torch.equal(b, a)
    for b, a in zip(before[1].values(), after[1].values(), strict=True):
        assert torch.equal(b, a)
    assert before[2:] == after[2:]
    assert torch.equal(torch.get_rng_state(), torch_rng)
    np_after = np.random.get_state()  # noqa: NPY002 (the global stream)
    assert np_after[0] == np_rng[0] and np.array_equal(np_after[1], np_rng[1]) \
        and np_after[2:] == np_rng[2:]


# ------------------------------------------------------------------ errors
def test_models_that_are_not_differentiable_point_to_the_black_box_attacks(affine):
    X, y = _tabular()
    tree = Pipeline([("feat", copy.deepcopy(affine)),
                     ("clf", DecisionTreeClassifier(random_state=0))]).fit(X, y)
    knn = Pipeline([("feat", copy.deepcopy(affine)), ("clf", KNeighborsClassifier())]).fit(X, y)
    models = [tree, knn, lambda Z: np.zeros(len(Z), int), LogisticRegression().fit(X, y),
              as_oracle(affine)]
    for model in models:
        for attack in ("fmn", "ddn"):
            with pytest.raises(TypeError, match="attack='tangent'.*'hopskipjump'"):
                adversarial_distances(model, X[:3], y[:3], attack=attack, clip_min=-1,
                                      clip_max=1)
    # and the black-box attacks take them
    assert len(adversarial_distances(tree, X[:2], y[:2], clip_min=-1, clip_max=1,
                                     max_iter=1, random_state=0)) == 2


def test_bad_inputs_get_their_errors(affine):
    X, y = _tabular()
    with pytest.raises(ValueError, match="attack must be one of .*'ddn'.*'fmn'"):
        adversarial_distances(affine, X[:3], y[:3], attack="fgsm", clip_min=-1, clip_max=1)
    for bad in (0, -5, 2.5, "many"):
        with pytest.raises((ValueError, TypeError), match="max_iter"):
            adversarial_distances(affine, X[:3], y[:3], attack="fmn", max_iter=bad,
                                  clip_min=-1, clip_max=1)
    for name, bad in (("gamma_init", 1.5), ("alpha_init", 0.0), ("gamma_final", -0.1)):
        with pytest.raises(ValueError, match=name):
            FMN(-1, 1, **{name: bad}).attack(affine, X[:3], y[:3])
    with pytest.raises(ValueError, match="gamma"):
        DDN(-1, 1, gamma=0.0).attack(affine, X[:3], y[:3])
    with pytest.raises(ValueError, match="batch_size"):
        DDN(-1, 1, batch_size=0).attack(affine, X[:3], y[:3])
    with pytest.raises(TypeError, match="Unknown FMN parameter.*n_starts"):
        adversarial_distances(affine, X[:3], y[:3], attack="fmn", n_starts=3)
    with pytest.raises(ValueError, match="Pass attack parameters to the attack instance"):
        adversarial_distances(affine, X[:3], y[:3], attack=FMN(-1, 1), max_iter=3)
    # boxes
    with pytest.raises(ValueError, match="clip_min must be < clip_max.*feature \\(2,\\)"):
        FMN(np.array([-1.0] * 6), np.array([1, 1, -1, 1, 1, 1.0])).attack(affine, X[:3])
    with pytest.raises(ValueError, match="clip_min must be < clip_max"):
        FMN(1, 1).attack(affine, X[:3])
    with pytest.raises(ValueError, match="clip_max of shape \\(4,\\) does not broadcast"):
        FMN(-1, np.ones(4)).attack(affine, X[:3])
    with pytest.raises(ValueError, match="clip_min must be finite"):
        FMN(-np.inf, 1).attack(affine, X[:3])
    with pytest.raises(ValueError, match="clip_min must be a number"):
        FMN("low", 1).attack(affine, X[:3])
    with pytest.raises(ValueError, match="outside the input box.*sample 1"):
        FMN(-1, 1).attack(affine, np.vstack([X[:1], X[:1] + 3]))
    # data
    with pytest.raises(ValueError, match="y must have shape \\(3,\\)"):
        FMN(-1, 1).attack(affine, X[:3], y[:2])
    with pytest.raises(ValueError, match="labels the model does not know"):
        FMN(-1, 1).attack(affine, X[:3], [0, 1, 7])
    with pytest.raises(ValueError, match="NaN"):
        FMN(-1, 1).attack(affine, np.full((2, 6), np.nan))
    with pytest.raises(ValueError, match="shape"):
        FMN(-1, 1).attack(affine, X[:3, :4])
    module = nn.Linear(6, 3)
    with pytest.raises(ValueError, match="labels the model does not know"):
        FMN(-1, 1).attack(module, X[:3], [0, 1, 3])  # a torch module's labels are columns


# ------------------------------------------------------------------ scorer and search
def test_robustness_scorer_with_fmn_scores_the_protocols_draw(digits_mlp):
    clf, X, y = digits_mlp
    scorer = RobustnessScorer(attack="fmn", n_samples=8, max_iter=100)
    score = scorer(clf, X, y)
    rng = check_random_state(0)
    pool = np.flatnonzero(clf.predict(X) == y)
    chosen = np.sort(rng.choice(pool, size=8, replace=False))
    expected = FMN(max_iter=100, random_state=rng).attack(clf, X[chosen], y[chosen]).mean()
    assert score == expected
    assert "attack='fmn'" in repr(scorer)
    search = GridSearchCV(SpectralMLPClassifier(hidden_layer_sizes=(16,), max_epochs=3),
                          {"gamma": [0.0, 0.1]}, cv=2,
                          scoring={"acc": "accuracy", "robust": scorer}, refit="robust")
    search.fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_robust"]).all()


# ------------------------------------------------------------------ reference implementation
def test_equal_to_adv_libs_fmn_and_ddn_away_from_the_box_faces():
    """adv-lib (AttackBench's reference; BSD-3), in the box [0, 1] it assumes. DDN is
    adv-lib's ddn (levels=None) to the bit. FMN takes adv-lib's fmn's steps but for two
    changes (the first norm bound aimed (1 + gamma) past the linear estimate of the boundary,
    not on it; no gradient component out of a face the iterate touches): it finds a point for
    every sample where adv-lib's does, at most adv-lib's distance plus FMN's resolution.
    (adv-lib's, aimed on the estimate, stays on the clean side for most samples here.)"""
    pytest.importorskip("visdom", reason="adv-lib imports visdom, which is not installed")
    attacks = pytest.importorskip("adv_lib.attacks", reason="adv-lib is not installed")
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 32), nn.Tanh(), nn.Linear(32, 4)).eval()
    x = 0.4 + 0.2 * torch.rand(64, 10)
    labels = model(x).argmax(dim=1)
    ours_ddn, norms_ddn = decoupled_direction_norm(model, x, labels, 0.0, 1.0, steps=100)
    theirs_ddn = attacks.ddn(model, x, labels, steps=100, levels=None)
    found = torch.isfinite(norms_ddn)
    assert found.float().mean() > 0.9
    torch.testing.assert_close(ours_ddn[found], theirs_ddn[found])
    _, norms_fmn = fast_minimum_norm(model, x, labels, 0.0, 1.0, steps=100)
    theirs = attacks.fmn(model, x, labels, norm=2, steps=100)
    theirs_found = model(theirs).argmax(dim=1) != labels
    theirs_norm = (theirs - x).norm(dim=1)
    assert torch.isfinite(norms_fmn).all() and theirs_found.any()
    assert (norms_fmn[theirs_found] <= theirs_norm[theirs_found] * (1 + GAMMA_FINAL)).all()


def test_logit_oracle_logits_agree_with_the_label_oracle(affine):
    X, _ = _tabular()
    oracle = as_logit_oracle(affine)
    x = torch.as_tensor(X[:50])
    with oracle.evaluating():
        with torch.no_grad():
            logits = oracle(x)
        labels = oracle.labels(x)
    np.testing.assert_array_equal(logits.argmax(dim=1).numpy(), labels.numpy())
    np.testing.assert_array_equal(affine.predict(X[:50]), affine.classes_[labels.numpy()])
    assert oracle.n_classes == 3


# ------------------------------------------------------------------ the paper's effect
def test_rep_spectral_effect_holds_with_the_white_box_distance():
    """tests/test_effect.py's first test (noisy-label clusters, a 256-unit GELU layer), with
    FMN's distance in place of the Tangent Attack's."""
    from test_effect import BOX as XOR_BOX
    from test_effect import _clean_test, _noisy_labels

    seed = 0
    X, y = _noisy_labels(seed)
    X_test, y_test = _clean_test(seed)
    params = dict(hidden_layer_sizes=(256,), activation="gelu", optimizer="adam", lr=0.02,
                  weight_decay=0.0, batch_size=len(X), max_epochs=1000, gamma=1.0,
                  burnin=0.6, init="default", random_state=seed)
    mean = {}
    for reg in (None, "rep"):
        clf = SpectralMLPClassifier(regularizer=reg, **params).fit(X, y)
        mean[reg] = adversarial_distances(clf, X_test, y_test, attack="fmn",
                                          clip_min=-XOR_BOX, clip_max=XOR_BOX).mean()
    assert mean["rep"] >= 1.5 * mean[None], mean


# ------------------------------------------------------------------ CUDA
def _check_device_matches_cpu(device, digits_mlp):
    """The attack runs on the model's device; a run there and a run on a CPU copy of the
    network (attacked as a torch module) differ only by float32 rounding (other kernels),
    which moves a trajectory by at most the attack's resolution."""
    clf, X, y = digits_mlp
    on_device = copy.deepcopy(clf)
    on_device.module_.to(device)
    on_device.set_params(device=device)
    assert as_logit_oracle(on_device).device.type == torch.device(device).type
    cpu_module = copy.deepcopy(clf.module_).cpu()
    for attack, tol in (("fmn", GAMMA_FINAL), ("ddn", GAMMA_DDN)):
        there = adversarial_distances(on_device, X, y, attack=attack, max_iter=300,
                                      random_state=0)
        here = adversarial_distances(cpu_module, X, y, attack=attack, max_iter=300,
                                     random_state=0)
        np.testing.assert_array_equal(there.success, here.success)
        np.testing.assert_array_equal(there.gradients, here.gradients)
        np.testing.assert_allclose(there.distances, here.distances, rtol=tol)
        moved = there.distances > 0
        assert (on_device.predict(there.adversarial[moved]) != y[moved]).all()


def test_device_logic_on_the_cpu(digits_mlp):
    _check_device_matches_cpu("cpu", digits_mlp)


@pytest.mark.cuda
def test_white_box_attacks_on_cuda_match_the_cpu(digits_mlp):
    _check_device_matches_cpu("cuda", digits_mlp)


def test_gpu_figures_whitebox_step_runs_on_the_cpu(tmp_path):
    """``.ci/gpu``'s white-box step, at tiny sizes on the CPU: its JSON has every figure."""
    import importlib.util
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / ".ci" / "gpu_figures.py"
    spec = importlib.util.spec_from_file_location("_gpu_figures", path)
    figures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(figures)
    out = tmp_path / "whitebox.json"
    assert figures.main(["whitebox", "--device", "cpu", "--samples", "4", "--max-iter", "20",
                         "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["samples"] == 4 and data["max_iter"] == 20
    assert [row["attack"] for row in data["attacks"]] == ["tangent", "fmn", "ddn"]
    for row in data["attacks"]:
        assert row["not_found"] == 0 and 0 < row["optimality"] <= 1 and row["mean"] > 0
    assert data["fmn_device_vs_cpu"]["same_success"]
    assert data["fmn_device_vs_cpu"]["max_relative_difference"] <= GAMMA_FINAL
