"""CGBA and CGBA-H, the DCT probe subspace, and label-diverse starts."""

import math

import numpy as np
import pytest
import scipy.fft
import torch
from sklearn.linear_model import LogisticRegression

from skspectral import RobustnessScorer, adversarial_distances
from skspectral.attacks import (
    CGBA,
    IMAGE_SETTINGS,
    HopSkipJump,
    TangentAttack,
    as_oracle,
    cgba_settings,
    dct_matrix,
)
from skspectral.attacks._engine import _AttackRun, _diverse_order
from skspectral.attacks._subspace import LowFrequencySubspace
from skspectral.attacks.cgba import semicircular_search
from skspectral.metrics import ATTACKS

EPS32 = float(np.finfo(np.float32).eps)
EPS64 = float(np.finfo(np.float64).eps)


def _linear_problem(d=10, n_classes=4, n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(1000, d))
    y = (X @ rng.normal(size=(d, n_classes))).argmax(1)
    clf = LogisticRegression(C=100, max_iter=5000).fit(X, y)
    return clf, X[:n], y[:n]


def _exact_linear_distance(clf, X):
    """min_k [(w_c - w_k).x + b_c - b_k] / |w_c - w_k| for the predicted class c."""
    W, b = clf.coef_, clf.intercept_
    scores = X @ W.T + b
    c = scores.argmax(1)
    out = np.full(len(X), np.inf)
    for k in range(W.shape[0]):
        with np.errstate(invalid="ignore"):  # k == c: 0 / 0, masked below
            gap = (scores[np.arange(len(X)), c] - scores[:, k]) / np.linalg.norm(W[c] - W[k],
                                                                                 axis=1)
        out = np.where(c == k, out, np.minimum(out, gap))
    return out


# ------------------------------------------------------------------------ exactness
def test_one_semicircle_step_with_the_exact_normal_lands_on_the_foot_of_the_perpendicular():
    """By Thales the circle with diameter [x, x_b] holds the foot x* of the perpendicular
    from x onto a hyperplane through x_b; the bisection brackets its angle to within
    (pi/4) 2^-bs_steps (the first bracket is at most pi/4 wide), and a chord of the circle
    (diameter D) is at most D times its angle: |p - x*| <= D (pi/4) 2^-bs_steps, plus the
    float32 rounding of the point's coordinates (a few eps32 of their magnitude each)."""
    rng = np.random.default_rng(0)
    d, n = 6, 12
    w = rng.normal(size=d)
    b = 0.3

    def model(Z):  # float64 decision, so the boundary is the hyperplane to float64 rounding
        return (Z.astype(np.float64) @ w + b > 0).astype(int)

    X = rng.uniform(-1, 1, size=(n, d))
    X = X[model(X) == 0][:8].astype(np.float32)
    margin = -(X.astype(np.float64) @ w + b) / np.linalg.norm(w)
    unit = w / np.linalg.norm(w)
    foot = X + margin[:, None] * unit
    # Boundary points off the foot: along random rays, a hair past the hyperplane.
    rays = rng.normal(size=X.shape)
    t = margin / (rays @ unit)
    rays[t < 0] *= -1
    t = np.abs(t) * (1 + 1e-6)
    x_b = (X + t[:, None] * rays).astype(np.float32)
    attack = CGBA(-10, 10)
    oracle = as_oracle(model, (d,))
    with _AttackRun(attack, oracle, X) as run:
        run.label_samples(None)
        xt, xbt = run.x, torch.as_tensor(x_b)
        assert bool((oracle(xbt) == 1).all())
        normal = torch.as_tensor(np.tile(unit, (len(X), 1)), dtype=torch.float32)
        dist = (xbt - xt).norm(dim=1)
        rows = torch.ones(len(X), dtype=torch.bool)
        points, ok = semicircular_search(run, xt, xbt, normal, dist, rows)
    assert bool(ok.all())
    points = points.numpy().astype(np.float64)
    assert np.all(model(points) == 1)  # the bracket's adversarial end
    D = np.linalg.norm(x_b.astype(np.float64) - X, axis=1)
    rounding = 8 * EPS32 * (np.abs(X).max() + D) * math.sqrt(d)
    bound = D * (math.pi / 4) * 2.0 ** -run.bs_steps + rounding
    assert np.all(np.linalg.norm(points - foot, axis=1) <= bound)


@pytest.mark.parametrize("variant", ["cgba", "cgba-h"])
def test_the_exact_distance_of_a_linear_multiclass_model(variant):
    """Upper bounds always; within 1%, the Tangent Attack's tolerance on the same problem: on
    a hyperplane a step's distance is off by a factor 1 / cos(angle error of the normal),
    second order in the estimate's error, and the binary searches add 2^-bs_steps."""
    clf, X, y = _linear_problem()
    correct = clf.predict(X) == y
    result = CGBA(-10, 10, variant=variant, random_state=0).attack(clf, X, y)
    exact = _exact_linear_distance(clf, X)
    assert np.all(result.distances[correct] >= exact[correct] * (1 - 1e-6))
    np.testing.assert_allclose(result.distances[correct], exact[correct], rtol=0.01)


def test_returned_points_are_adversarial_alone_and_in_the_box():
    clf, X, y = _linear_problem(n=20)
    result = CGBA(-10, 10, max_iter=10, random_state=0).attack(clf, X, y)
    ok = result.success & (result.distances > 0)
    assert ok.sum() > 10
    points = result.adversarial[ok]
    assert np.all((points >= -10) & (points <= 10))
    assert np.all(clf.predict(points) != y[ok])
    assert all(clf.predict(p[None])[0] != label for p, label in zip(points, y[ok],
                                                                    strict=True))
    np.testing.assert_allclose(np.linalg.norm(points - X[ok], axis=1), result.distances[ok],
                               rtol=10 * EPS32)


@pytest.mark.parametrize("diverse", [False, True])
def test_diverse_starts_lie_in_different_classes(diverse):
    """Class 0 in a disc, 1 right of it, 2 left: with ``diverse_starts`` the two starts of
    every sample have two labels, the first the closest adversarial draw (as without)."""
    def model(Z):
        Z = Z.reshape(len(Z), -1)
        return np.where(np.linalg.norm(Z, axis=1) < 0.3, 0, np.where(Z[:, 0] > 0, 1, 2))

    X = np.random.default_rng(0).uniform(-0.1, 0.1, size=(20, 2)).astype(np.float32)
    attack = CGBA(-1, 1, n_starts=2, init_batch=30, diverse_starts=diverse, random_state=0)
    with _AttackRun(attack, as_oracle(model, (2,)), X) as run:
        correct = run.label_samples(None)
        starts, count = run.find_starts(correct)
    assert bool((count == 2).all())
    labels = model(starts.reshape(-1, 2).numpy()).reshape(20, 2)
    assert np.all(labels > 0)
    distinct = labels[:, 0] != labels[:, 1]
    # Without: the two closest draws often share a label (here for most samples).
    assert distinct.all() if diverse else not distinct.all()
    first = np.linalg.norm(starts[:, 0].numpy() - X, axis=1)
    second = np.linalg.norm(starts[:, 1].numpy() - X, axis=1)
    assert np.all(first <= second)


# ------------------------------------------------------------------------ the DCT basis
@pytest.mark.parametrize("n", [1, 2, 7, 28])
def test_dct_matrix_is_scipys_orthonormal_dct_and_orthonormal(n):
    """Computed in float64: each entry is one cosine (error ~ its argument times eps64, at
    most pi n eps64) times a square root; C C^T sums n products."""
    C = dct_matrix(n, dtype=torch.float64).numpy()
    reference = scipy.fft.dct(np.eye(n), norm="ortho", axis=0)
    np.testing.assert_allclose(C, reference, rtol=0, atol=4 * math.pi * n * EPS64)
    np.testing.assert_allclose(C @ C.T, np.eye(n), rtol=0, atol=8 * math.pi * n * n * EPS64)
    assert np.all(C[0] == np.float64(math.sqrt(1.0 / n)))  # the constant row, exactly


def test_dct_matrix_is_a_copy_of_the_cached_one():
    a = dct_matrix(5)
    a.zero_()
    assert dct_matrix(5).abs().sum() > 0
    assert dct_matrix(5).dtype == torch.float32


@pytest.mark.parametrize("n, dtype", [(0, torch.float32), (2.0, torch.float32),
                                      (True, torch.float32), (3, torch.int64)])
def test_dct_matrix_errors(n, dtype):
    with pytest.raises(ValueError, match="n must|dtype must"):
        dct_matrix(n, dtype=dtype)


def test_subspace_directions_are_unit_and_low_frequency():
    """Directions of a (2, 6, 4) image at fraction 0.5: their DCT vanishes outside the
    lowest 3 x 2 frequencies of each channel (to float32 rounding) and they have unit norm."""
    sub = LowFrequencySubspace((2, 6, 4), 0.5, torch.device("cpu"), torch.float32)
    assert sub.sizes == (3, 2) and sub.dim == 2 * 3 * 2
    u = sub.draw(50, torch.Generator().manual_seed(0)).numpy().astype(np.float64)
    np.testing.assert_allclose(np.linalg.norm(u, axis=1), 1.0, rtol=4 * EPS32 * 24)
    coef = scipy.fft.dctn(u.reshape(50, 2, 6, 4), norm="ortho", axes=(2, 3))
    mask = np.zeros((6, 4), dtype=bool)
    mask[:3, :2] = True
    assert np.abs(coef[:, :, ~mask]).max() < 16 * EPS32
    assert np.abs(coef[:, :, mask]).max() > 0.1


def test_subspace_of_a_single_channel_image_and_of_the_whole_space():
    sub = LowFrequencySubspace((6, 4), 1.0, torch.device("cpu"), torch.float64)
    assert sub.channels == 1 and sub.sizes == (6, 4)
    u = sub.draw(3, torch.Generator().manual_seed(0))
    np.testing.assert_allclose(u.norm(dim=1).numpy(), 1.0, rtol=1e-12)


# ------------------------------------------------------------------------ the subspace option
def _low_frequency_linear_model(shape=(8, 8), seed=0):
    """A linear rule whose weight lies in the lowest 4 x 4 DCT frequencies."""
    rng = np.random.default_rng(seed)
    coef = np.zeros(shape)
    coef[:4, :4] = rng.normal(size=(4, 4))
    w = scipy.fft.idctn(coef, norm="ortho").ravel()
    X = rng.uniform(0.2, 0.8, size=(200, w.size))
    b = -np.median(X @ w)

    def model(Z):
        return (Z.reshape(len(Z), -1).astype(np.float64) @ w + b > 0).astype(int)

    exact = np.abs(X @ w + b) / np.linalg.norm(w)
    return model, X[:12], exact[:12]


@pytest.mark.parametrize("attack", [TangentAttack, HopSkipJump, CGBA])
def test_every_attack_finds_a_low_frequency_boundary_with_probes_in_the_subspace(attack):
    model, X, exact = _low_frequency_linear_model()
    result = attack(0, 1, subspace=0.5, image_shape=(8, 8), random_state=0).attack(model, X)
    assert np.all(result.distances >= exact * (1 - 1e-5))
    np.testing.assert_allclose(result.distances, exact, rtol=0.01)


def test_image_shaped_samples_need_no_image_shape():
    model, X, _ = _low_frequency_linear_model()
    flat = CGBA(0, 1, subspace=0.5, image_shape=(8, 8), max_iter=5,
                random_state=0).attack(model, X)
    images = CGBA(0, 1, subspace=0.5, max_iter=5, random_state=0).attack(
        lambda Z: model(Z.reshape(len(Z), -1)), X.reshape(-1, 8, 8))
    np.testing.assert_array_equal(flat.queries, images.queries)
    np.testing.assert_allclose(flat.distances, images.distances, rtol=64 * EPS32)


@pytest.mark.parametrize("attack", [TangentAttack, HopSkipJump, CGBA])
def test_subspace_is_refused_on_vectors(attack):
    model, X, _ = _low_frequency_linear_model()
    with pytest.raises(ValueError, match="samples are vectors"):
        attack(0, 1, subspace=0.5).attack(model, X)


def test_low_frequency_starts_need_an_image_shape_for_vectors():
    model, X, _ = _low_frequency_linear_model()
    with pytest.raises(ValueError, match="start='low-frequency' draws starts in a low-frequency "
                                         "subspace of images, but the samples are vectors"):
        CGBA(0, 1, start="low-frequency").attack(model, X)


@pytest.mark.parametrize(("shape", "sizes"), [((28, 28), (3, 3)), ((8, 8), (2, 2)),
                                              ((3, 1, 40), (1, 4))])
def test_low_frequency_starts_keep_a_tenth_of_the_frequencies_and_at_least_two(shape, sizes):
    sub = LowFrequencySubspace(shape, 0.1, torch.device("cpu"), torch.float32, at_least=2)
    assert sub.sizes == sizes


def test_low_frequency_starts_are_smooth_offsets_of_the_gaussian_starts_norm():
    """The first candidate draws, as the model receives them: ``x + s sqrt(d) u`` with ``u``
    a unit vector whose DCT vanishes outside the lowest 2 x 2 frequencies of the 8 x 8
    image (float32 rounding of the sum and of the DCT of 64 values)."""
    calls = []

    def model(Z):
        calls.append(np.array(Z, dtype=np.float64).reshape(len(Z), -1))
        return (Z.reshape(len(Z), -1).sum(axis=1) > 32.5).astype(int)

    X = np.full((2, 64), 0.5, dtype=np.float32)
    CGBA(0, 1, start="low-frequency", start_scale=0.01, image_shape=(8, 8), max_iter=1,
         random_state=0).attack(model, X)
    draws = next(Z for Z in calls if len(Z) == 2 * 30).reshape(2, 30, 64)
    offsets = draws - 0.5
    np.testing.assert_array_equal(offsets[0], offsets[1])  # one set of draws for the batch
    np.testing.assert_allclose(np.linalg.norm(offsets[0], axis=1), 0.01 * 8, rtol=64 * EPS32)
    coef = scipy.fft.dctn(offsets[0].reshape(30, 8, 8), norm="ortho", axes=(1, 2))
    mask = np.zeros((8, 8), dtype=bool)
    mask[:2, :2] = True
    assert np.abs(coef[:, ~mask]).max() < 64 * EPS32 * 0.5
    assert np.abs(coef[:, mask]).max() > 0.01


def test_low_frequency_starts_find_a_linear_boundary_exactly():
    model, X, exact = _low_frequency_linear_model()
    result = CGBA(0, 1, start="low-frequency", image_shape=(8, 8),
                  random_state=0).attack(model, X)
    assert np.all(result.distances >= exact * (1 - 1e-5))
    np.testing.assert_allclose(result.distances, exact, rtol=0.01)


@pytest.mark.parametrize("image_shape", [(8,), (8, 9), (2, 2, 2)])
def test_image_shape_must_hold_the_samples_values(image_shape):
    model, X, _ = _low_frequency_linear_model()
    with pytest.raises(ValueError, match="image_shape must be a tuple"):
        CGBA(0, 1, subspace=0.5, image_shape=image_shape).attack(model, X)


def test_image_shape_is_unused_without_subspace():
    clf, X, y = _linear_problem(n=5)
    a = CGBA(-10, 10, max_iter=3, image_shape=(5, 2), random_state=0).attack(clf, X, y)
    b = CGBA(-10, 10, max_iter=3, random_state=0).attack(clf, X, y)
    np.testing.assert_array_equal(a.distances, b.distances)


@pytest.mark.parametrize("start", ["uniform", "low-frequency"])
def test_a_sample_gets_the_same_result_alone_as_in_a_batch_with_a_subspace(start):
    """As every attack (tests/test_attacks.py): labels exact, distances to float32 rounding
    of a norm of d = 12 terms."""
    def model(Z):
        return (np.sin(4 * Z).sum(axis=1) > 5.0).astype(int)

    X = np.random.default_rng(0).uniform(0, 1, size=(6, 12)).astype(np.float32)
    params = dict(start=start, subspace=0.5, image_shape=(3, 4), random_state=0,
                  max_iter=8)
    batch = CGBA(**params).attack(model, X)
    alone = [CGBA(**params).attack(model, X[i:i + 1]) for i in range(6)]
    np.testing.assert_array_equal(np.concatenate([r.queries for r in alone]), batch.queries)
    np.testing.assert_array_equal(np.concatenate([r.success for r in alone]), batch.success)
    np.testing.assert_allclose(np.concatenate([r.distances for r in alone]), batch.distances,
                               rtol=X.shape[1] * EPS32 / 2)


# ------------------------------------------------------------------------ diverse starts
def test_diverse_order_puts_the_closest_of_each_label_first():
    dist = torch.tensor([[3.0, 1.0, 2.0, float("inf"), 0.5],
                         [1.0, 2.0, 3.0, 4.0, 5.0]])
    labels = torch.tensor([[5, 5, 6, 0, 7],
                           [1, 1, 1, 1, 1]])
    order = _diverse_order(dist, labels)
    assert order.tolist() == [[4, 1, 2, 0, 3], [0, 1, 2, 3, 4]]


def test_diverse_starts_are_off_by_default_for_the_published_attacks():
    assert TangentAttack().diverse_starts is False and HopSkipJump().diverse_starts is False
    assert CGBA().diverse_starts is True


# ------------------------------------------------------------------------ parameters
@pytest.mark.parametrize("kwargs, match", [
    ({"variant": "cgbah"}, "The 'variant' parameter of CGBA"),
    ({"subspace": 0.0}, "The 'subspace' parameter of CGBA"),
    ({"subspace": 1.5}, "The 'subspace' parameter of CGBA"),
    ({"subspace": True}, "The 'subspace' parameter of CGBA"),
    ({"subspace": 0.5, "image_shape": (0, 4)}, "The 'image_shape' parameter of CGBA"),
    ({"subspace": 0.5, "image_shape": [2.0, 2]}, "The 'image_shape' parameter of CGBA"),
    ({"diverse_starts": 1}, "The 'diverse_starts' parameter of CGBA"),
    ({"n_starts": 0}, "The 'n_starts' parameter of CGBA"),
])
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CGBA(**kwargs).attack(lambda Z: np.zeros(len(Z), dtype=int), np.full((2, 4), 0.5))


def test_cgba_is_an_attack_by_name():
    assert ATTACKS["cgba"] is CGBA
    clf, X, y = _linear_problem(n=5)
    result = adversarial_distances(clf, X, y, attack="cgba", clip_min=-10, clip_max=10,
                                   random_state=0, max_iter=5, variant="cgba-h")
    direct = CGBA(-10, 10, max_iter=5, variant="cgba-h", random_state=0).attack(clf, X, y)
    np.testing.assert_array_equal(result.distances, direct.distances)


# ------------------------------------------------------------------------ settings by shape
@pytest.mark.parametrize(("sample_shape", "image_shape", "images"), [
    ((1, 28, 28), None, True),
    ((28, 28), None, True),
    ((3, 16, 16), None, True),
    ((784,), (28, 28), True),
    ((784,), (1, 28, 28), True),
    ((1, 8, 8), None, False),  # the subspace leaves out much of the closest perturbation
    ((3, 32, 15), None, False),  # one side under 16 pixels
    ((784,), None, False),  # vectors: nothing says they are images
    ((64,), (8, 8), False),
    ((784,), (28.0, 28), False),  # malformed: CGBA itself reports it
    ((784,), 784, False),
    ((784,), (True, 28), False),
    ((), None, False),
])
def test_cgba_settings_are_the_image_settings_for_images_of_16_pixels_a_side(
        sample_shape, image_shape, images):
    assert cgba_settings(sample_shape, image_shape) == (IMAGE_SETTINGS if images else {})


@pytest.mark.parametrize("sample_shape", [None, 784, [1, 28, 28], (28.0, 28), (True, 28)])
def test_cgba_settings_need_a_tuple_of_integers(sample_shape):
    with pytest.raises(TypeError, match="sample_shape must be a tuple of integers"):
        cgba_settings(sample_shape)


def test_cgba_settings_are_a_fresh_dict():
    settings = cgba_settings((1, 28, 28))
    settings["n_starts"] = 1
    assert IMAGE_SETTINGS["n_starts"] == 5 and cgba_settings((28, 28))["n_starts"] == 5


def _image_problem(side):
    """A linear 3-class torch model on 1 x side x side images in [0, 1], and 4 samples."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(side * side, 3)).eval()
    X = np.random.default_rng(0).uniform(0.4, 0.6, size=(4, 1, side, side)).astype(np.float32)
    return model, X


@pytest.mark.parametrize(("side", "settings"), [(16, IMAGE_SETTINGS), (8, {})])
def test_attack_cgba_by_name_takes_the_settings_of_the_sample_shape(side, settings):
    model, X = _image_problem(side)
    budget = dict(max_iter=3, random_state=0)
    by_name = adversarial_distances(model, X, attack="cgba", **budget)
    direct = CGBA(**settings, **budget).attack(model, X)
    np.testing.assert_array_equal(by_name.distances, direct.distances)
    np.testing.assert_array_equal(by_name.queries, direct.queries)


def test_the_users_attack_parameters_override_the_image_settings():
    model, X = _image_problem(16)
    flat = X.reshape(len(X), -1)
    budget = dict(max_iter=3, random_state=0)
    by_name = adversarial_distances(model, flat, attack="cgba", image_shape=(16, 16),
                                    n_starts=2, **budget)
    direct = CGBA(**(IMAGE_SETTINGS | {"n_starts": 2}), image_shape=(16, 16),
                  **budget).attack(model, X)
    np.testing.assert_array_equal(by_name.distances, direct.distances)
    np.testing.assert_array_equal(by_name.queries, direct.queries)


def test_robustness_scorer_takes_the_image_settings_of_the_drawn_samples():
    """The scorer draws its samples, then seeds the attack with the same RandomState."""
    model, X = _image_problem(16)

    class Classifier:
        def predict(self, Z):
            with torch.no_grad():
                return model(torch.as_tensor(Z)).argmax(1).numpy()

    y = Classifier().predict(X)
    score = RobustnessScorer(n_samples=4, random_state=0, max_iter=3)(Classifier(), X, y)
    rng = np.random.RandomState(0)
    order = np.sort(rng.choice(np.arange(4), size=4, replace=False))
    direct = CGBA(**IMAGE_SETTINGS, max_iter=3, random_state=rng).attack(
        Classifier().predict, X[order], y[order])
    assert score == direct.mean()


@pytest.mark.parametrize("attack", [CGBA, TangentAttack, HopSkipJump])
def test_the_documented_defaults_are_the_signatures(attack):
    """The one Parameters source (``with_parameters``) reads each default from the attack's own
    signature."""
    import inspect
    import re

    signature = inspect.signature(attack).parameters
    documented = dict(re.findall(r"^\s*(\w+) : .*, default=(.*)$", attack.__doc__, flags=re.M))
    assert set(documented) == set(signature)
    for name, text in documented.items():
        value = signature[name].default
        assert text == (f'"{value}"' if isinstance(value, str) else repr(value)), name
