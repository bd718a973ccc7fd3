"""Decision-based attacks: exactness on known boundaries, budgets, policies, oracles."""

import gc
import inspect
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import (
    LogisticRegression,
    RidgeClassifier,
    SGDClassifier,
)
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC
from tqdm.auto import tqdm

from skspectral import SpectralMLPClassifier
from skspectral.attacks import CGBA, HopSkipJump, TangentAttack, as_oracle, tangent_point

ATTACKS = [TangentAttack, HopSkipJump, CGBA]


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


def _ball_model(radius=1.0):
    """Class 0 inside the ball of the given radius around 0, class 1 outside."""
    return lambda X: (np.linalg.norm(X.reshape(len(X), -1), axis=1) > radius).astype(int)


# ------------------------------------------------------------------------ exactness
def test_tangent_attack_finds_the_exact_distance_of_a_linear_multiclass_model():
    clf, X, y = _linear_problem()
    correct = clf.predict(X) == y
    result = TangentAttack(-10, 10, random_state=0).attack(clf, X, y)
    exact = _exact_linear_distance(clf, X)
    np.testing.assert_allclose(result.distances[correct], exact[correct], rtol=0.01)
    assert np.all(result.distances[correct] >= exact[correct] * (1 - 1e-6))  # upper bounds


def test_hopskipjump_on_a_linear_multiclass_model():
    clf, X, y = _linear_problem()
    correct = clf.predict(X) == y
    result = HopSkipJump(-10, 10, random_state=0).attack(clf, X, y)
    ratio = result.distances[correct] / _exact_linear_distance(clf, X)[correct]
    assert np.all(ratio >= 1 - 1e-6)
    assert np.median(ratio) < 1.01
    # Every sample, not only the median. A sample that converges on its nearest boundary (a
    # hyperplane) is off only by the error of the estimated normal (0.13% at most here); one
    # that converges on another class's boundary is off by 2.6% to 18% (measured at other
    # random states, where one sample in 40 sometimes does, as the Tangent Attack does from
    # the same starts). 1% separates the two and is the Tangent Attack's tolerance above.
    assert np.max(ratio) < 1.01


def test_single_start_gets_stuck_on_other_class_boundaries():
    """Why n_starts > 1 is the default: one start converges to the boundary it starts on."""
    clf, X, y = _linear_problem()
    correct = clf.predict(X) == y
    exact = _exact_linear_distance(clf, X)[correct]
    single = TangentAttack(-10, 10, n_starts=1, random_state=0).attack(clf, X, y)
    assert np.max(single.distances[correct] / exact) > 1.05


@pytest.mark.parametrize("attack", ATTACKS)
def test_two_dimensional_line(attack):
    # Class 1 where x1 + 2 x2 > 0.5: distance |x1 + 2 x2 - 0.5| / sqrt(5).
    def model(X):
        return (X[:, 0] + 2 * X[:, 1] > 0.5).astype(int)

    X = np.random.default_rng(0).uniform(-1, 1, size=(30, 2))
    result = attack(-5, 5, random_state=0).attack(model, X)
    exact = np.abs(X[:, 0] + 2 * X[:, 1] - 0.5) / np.sqrt(5)
    np.testing.assert_allclose(result.distances, exact, rtol=0.01)


def _sphere_problem(d=20, n=20, seed=1):
    rng = np.random.default_rng(seed)
    directions = rng.normal(size=(n, d))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    offsets = rng.uniform(0.2, 0.7, size=n)
    return directions * offsets[:, None], directions, 1.0 - offsets


@pytest.mark.parametrize("attack", ATTACKS)
def test_sphere_boundary_in_higher_dimension(attack):
    X, _, exact = _sphere_problem()
    result = attack(-3, 3, random_state=0).attack(_ball_model(), X)
    assert np.all(result.distances >= exact * (1 - 1e-6))
    np.testing.assert_allclose(result.distances, exact, rtol=0.05)


def test_tangent_attack_escapes_a_start_across_the_sphere():
    """The published attack stalls when started at the far side of a convex boundary."""
    X, directions, exact = _sphere_problem()
    far = -1.5 * directions  # across the sphere: the boundary point found first is antipodal
    result = TangentAttack(-3, 3, random_state=0).attack(_ball_model(), X, starting_points=far)
    initial = 1.0 + np.linalg.norm(X, axis=1)  # distance of the antipodal boundary point
    assert np.all(result.distances <= initial)
    np.testing.assert_allclose(result.distances, exact, rtol=0.05)


# ------------------------------------------------------------------------ tangent point
def test_tangent_point_in_the_plane():
    # Hemisphere of radius 1 at the origin facing +y.
    center, normal, radius = torch.zeros(1, 2), torch.tensor([[0.0, 1.0]]), torch.tensor([1.0])
    # From (2, -1) the tangent point is (0.8, 0.6): (t - x) . t = 0 and |t| = 1.
    t = tangent_point(torch.tensor([[2.0, -1.0]]), center, normal, radius)
    np.testing.assert_allclose(t.numpy(), [[0.8, 0.6]], atol=1e-6)
    # From (0.5, -2) the sphere's tangent point lies below the base: the rim point (1, 0).
    t = tangent_point(torch.tensor([[0.5, -2.0]]), center, normal, radius)
    np.testing.assert_allclose(t.numpy(), [[1.0, 0.0]], atol=1e-6)
    # From (2, 1): sin γ = 1, the top of the hemisphere (where sqrt(1 - sin² γ) lost half
    # the digits of float32).
    t = tangent_point(torch.tensor([[2.0, 1.0]]), center, normal, radius)
    np.testing.assert_allclose(t.numpy(), [[0.0, 1.0]], atol=4 * EPS32)


EPS32 = float(np.finfo(np.float32).eps)


def _plane_configuration(alpha, cos_beta, dim, seed=0):
    """x, center, normal, radius with the angles of method.md §6, in a random plane of R^dim.

    alpha is the elevation of x - center over the hemisphere's base (sin α = -(ox·n)/|ox|),
    cos β = R / |ox|.
    """
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(dim, 2)))  # orthonormal e (base) and n (normal)
    e, n = q[:, 0], q[:, 1]
    center = rng.uniform(-1, 1, size=dim)
    dist = 2.0
    x = center + dist * (np.cos(alpha) * e - np.sin(alpha) * n)
    return [torch.tensor(v[None], dtype=torch.float32)
            for v in (x, center, n)] + [torch.tensor([cos_beta * dist], dtype=torch.float32)]


#: (alpha, cos β): far below and above the base, γ = β - α at and near 90° (sin γ -> 1),
#: near 0 (the rim), R -> |ox| (sin β -> 0) and R << |ox|.
_CONFIGURATIONS = [(a, c) for a in np.deg2rad([-80, -45, -10, 0, 10, 45, 80])
                   for c in (1e-3, 0.2, 0.5, 0.9, 1 - 1e-6)]
_CONFIGURATIONS += [(beta - np.pi / 2 + off, np.cos(beta))
                    for beta in np.deg2rad([30, 60, 85]) for off in (0.0, 1e-4, 1e-2, -1e-4)]


@pytest.mark.parametrize("dim", [2, 50])
@pytest.mark.parametrize(("alpha", "cos_beta"), _CONFIGURATIONS)
def test_tangent_point_in_float32_matches_float64(alpha, cos_beta, dim):
    """The float32 evaluation is within rounding of the same formula in float64.

    Bound: each cosine and sine is a quotient of dot products and norms of ``dim`` terms,
    accurate to about (dim + 4) units of float32 rounding u = eps/2 in absolute terms
    (none is a square root of 1 - s², which would give sqrt(u)); γ's pair adds 2u; e is
    normalized from ox's part orthogonal to n, whose relative error is (dim + 4)u / cos α;
    sin β inherits cos β's error times its condition number cot β <= 1 / sin β (as R -> |ox|
    any formula does). So |t32 - t64| <= c (dim + 4) u (|center| + R (2 + 1 / cos α +
    1 / sin β)) with a small c (4 here).
    """
    x, center, normal, radius = _plane_configuration(alpha, cos_beta, dim)
    t32 = tangent_point(x, center, normal, radius)
    # The same float32 inputs in float64, the normal made unit again (|n32| = 1 only to u).
    n64 = normal.double() / normal.double().norm()
    t64 = tangent_point(x.double(), center.double(), n64, radius.double())
    u = EPS32 / 2
    sin_beta = np.sqrt(1 - cos_beta ** 2)
    scale = center.norm().item() + radius.item() * (2 + 1 / np.cos(alpha) + 1 / sin_beta)
    bound = 4 * (dim + 4) * u * scale
    assert (t32.double() - t64).norm().item() <= bound
    # Geometry, in float64: |t - o| = R; (x - t)·(t - o) = 0 where the tangent point lies on
    # the hemisphere (γ >= 0), and (t - o)·n = 0 at the rim.
    t, o, n, r = t64[0], center[0].double(), n64[0], radius.double().item()
    assert (t - o).norm().item() == pytest.approx(r, rel=1e-12)
    gamma = np.arccos(cos_beta) - alpha
    if gamma > 1e-9:
        assert torch.dot(x[0].double() - t, t - o).item() == pytest.approx(0, abs=1e-12)
    else:
        assert torch.dot(t - o, n).item() == pytest.approx(0, abs=1e-12)


# ------------------------------------------------------------------------ budgets, policies
@pytest.mark.parametrize("attack", ATTACKS)
@pytest.mark.parametrize("n_starts", [1, 5])
@pytest.mark.parametrize("start", ["uniform", "gaussian", "blended"])
def test_distances_never_grow_with_the_budget_and_budgets_hold(attack, n_starts, start):
    clf, X, y = _linear_problem(n=20)
    previous = None
    for budget in (100, 600, 2000, 6000, 20000, None):
        result = attack(-10, 10, max_queries=budget, n_starts=n_starts, start=start,
                        random_state=0).attack(clf, X, y)
        if budget is not None:
            assert result.queries.max() <= budget
        if previous is not None:
            assert np.all(result.distances <= previous)
        previous = result.distances
    assert np.all(np.isfinite(previous))


def test_same_random_state_gives_identical_results():
    clf, X, y = _linear_problem(n=10)
    a = TangentAttack(-10, 10, random_state=7).attack(clf, X, y)
    b = TangentAttack(-10, 10, random_state=7).attack(clf, X, y)
    c = TangentAttack(-10, 10, random_state=8).attack(clf, X, y)
    np.testing.assert_array_equal(a.distances, b.distances)
    np.testing.assert_array_equal(a.queries, b.queries)
    assert not np.array_equal(a.distances, c.distances)


@pytest.mark.parametrize("attack", ATTACKS)
def test_a_sample_gets_the_same_distance_alone_as_in_any_batch(attack):
    """Shared random draws and row-wise arithmetic: a sample's trajectory depends only on the
    random state, not on the batch around it.

    Exact: every label the oracle returns, hence the query counts and success flags. To float32
    rounding: the distances, norms of d = 6 terms (relative error <= d u, u = eps / 2). The one
    batch-dependent part, the fallback start from another sample of the batch, is left out:
    uniform starts find a draw for every sample here (Gaussian ones miss for sample 1).
    """
    def model(Z):  # row by row, so the model itself rounds the same in any batch
        return (np.sin(4 * Z).sum(axis=1) > 3.0).astype(int)

    X = np.random.default_rng(0).uniform(0, 1, size=(8, 6)).astype(np.float32)
    batch = attack(start="uniform", random_state=0).attack(model, X)
    alone = [attack(start="uniform", random_state=0).attack(model, X[i:i + 1]) for i in range(8)]
    other = attack(start="uniform", random_state=0).attack(model, X[[5, 2]])
    rtol = X.shape[1] * EPS32 / 2
    for part, rows in [(alone, range(8)), ([other], [[5, 2]])]:
        rows = list(rows)
        queries = np.concatenate([r.queries for r in part])
        np.testing.assert_array_equal(queries, batch.queries[rows].ravel())
        success = np.concatenate([r.success for r in part])
        np.testing.assert_array_equal(success, batch.success[rows].ravel())
        distances = np.concatenate([r.distances for r in part])
        np.testing.assert_allclose(distances, batch.distances[rows].ravel(), rtol=rtol)


def test_misclassified_samples_get_distance_zero():
    clf, X, y = _linear_problem(n=20)
    wrong = clf.predict(X)
    y_bad = y.copy()
    y_bad[:5] = (wrong[:5] + 1) % 4  # labels the model gets wrong
    result = TangentAttack(-10, 10, max_iter=3, random_state=0).attack(clf, X, y_bad)
    assert np.all(result.distances[:5] == 0) and np.all(result.success[:5])
    np.testing.assert_array_equal(result.adversarial[:5], X[:5].astype(np.float32))
    assert np.all(result.queries[:5] == 1)


def test_no_adversarial_start_means_inf_and_never_the_input():
    X = np.random.default_rng(0).uniform(0, 1, size=(4, 3))
    result = TangentAttack(random_state=0, init_trials=30).attack(
        lambda Z: np.zeros(len(Z), dtype=int), X)
    assert np.all(np.isinf(result.distances)) and not result.success.any()
    assert np.isnan(result.adversarial).all()
    assert np.all(result.queries == 31)


def test_returned_points_are_adversarial_and_in_the_box():
    clf, X, y = _linear_problem(n=30)
    result = TangentAttack(-10, 10, max_iter=10, random_state=0).attack(clf, X, y)
    ok = result.success & (result.distances > 0)
    assert np.all(clf.predict(result.adversarial[ok]) != y[ok])
    assert result.adversarial[ok].min() >= -10 and result.adversarial[ok].max() <= 10
    np.testing.assert_allclose(np.linalg.norm(result.adversarial[ok] - X[ok], axis=1),
                               result.distances[ok], rtol=1e-5)


@pytest.mark.parametrize("attack", ATTACKS)
def test_returned_points_survive_batch_dependent_rounding_a_hair_from_the_boundary(attack):
    # The boundary x0 = 0.5 moves by up to 1e-5 with the batch's size, as float rounding does,
    # and the samples sit 1e-3 from it. The final check pushes a point outward by 1e-5 of its
    # distance (1e-8 here: too little), then by 1e-3 of it plus 1e-4 of the box's width: every
    # sample must succeed, at most that far beyond the boundary.
    def model(Z):
        return (Z[:, 0] - 0.5 + 1e-5 * np.cos(len(Z)) > 0).astype(int)

    X = np.random.default_rng(0).uniform(0.2, 0.8, size=(20, 5))
    X[:, 0] = 0.5 - 1e-3
    result = attack(random_state=0).attack(model, X, np.zeros(20, dtype=int))
    assert result.success.all()
    assert np.all(result.distances >= 1e-3 - 1e-5)
    assert np.all(result.distances <= (1e-3 + 1e-5) * (1 + 1e-3) + 1e-4)


@pytest.mark.parametrize("attack", ATTACKS)
def test_returned_points_stay_adversarial_alone_and_in_any_batch(attack):
    # Logits whose float rounding depends on the batch's shape, as BLAS kernels make them: a
    # point classified alone loses 1e-6 of margin (the logit gap is 0.1 (x0 - 0.5), so that
    # is 1e-5 of x0). A check in the batch alone would pass points that
    # ``predict(point[None])`` labels as the original class.
    def model(Z):
        gap = np.float32(0.1) * (Z[:, 0].astype(np.float32) - np.float32(0.5))
        return (gap - (1e-6 if len(Z) == 1 else 0.0) > 0).astype(int)

    X = np.random.default_rng(0).uniform(0.1, 0.4, size=(30, 4)).astype(np.float32)
    result = attack(max_iter=3, random_state=0).attack(model, X, np.zeros(30, dtype=int))
    assert result.success.all()
    points = result.adversarial
    assert all(model(p[None])[0] == 1 for p in points)
    assert np.all(model(points) == 1) and np.all(model(points[:3]) == 1)


def _start_candidates(attack, x, k):
    """The ``k`` candidate starts the attack draws for sample ``x`` (its documented law, from
    the start generator: the first of the two seeds drawn from ``random_state``)."""
    seed = np.random.RandomState(attack.random_state).randint(np.iinfo(np.int32).max, size=2)[0]
    gen = torch.Generator().manual_seed(int(seed))
    width = attack.clip_max - attack.clip_min
    if attack.start == "gaussian":
        noise = torch.randn(k, x.size, generator=gen) * (attack.start_scale * width)
        return (torch.as_tensor(x) + noise).clamp(attack.clip_min, attack.clip_max).numpy()
    return (torch.rand(k, x.size, generator=gen) * width + attack.clip_min).numpy()


@pytest.mark.parametrize("start", ["gaussian", "uniform", "blended"])
def test_the_start_is_the_closest_of_the_adversarial_candidates(start):
    """With max_iter=0 the result is the start searched back to the boundary, so it lies on
    the segment from the sample to the start the method chose: for "gaussian" (the published
    start) and "uniform" the closest label-changing draw, for "blended" the draw whose first
    adversarial blend x + t (draw - x), t = 1/10, ..., 1, is closest."""
    def model(Z):  # class 1 beyond the line x0 = 0.6
        return (Z[:, 0] > 0.6).astype(int)

    x = np.array([0.3, 0.5], dtype=np.float32)
    attack = TangentAttack(max_iter=0, n_starts=1, start=start, init_trials=20, init_batch=20,
                           random_state=1)
    draws = _start_candidates(attack, x, 20)
    adv = model(draws) == 1
    if start == "blended":
        t = np.arange(1, 11, dtype=np.float32) / 10
        blends = x + t[None, :, None] * (draws - x)[:, None, :]
        first = (model(blends.reshape(-1, 2)).reshape(20, 10) == 1).argmax(axis=1)
        candidates = blends[np.arange(20), first]
    else:
        candidates = draws
    dist = np.where(adv, np.linalg.norm(candidates - x, axis=1), np.inf)
    chosen = candidates[dist.argmin()]
    assert adv.sum() > 1 and dist.argmin() != np.flatnonzero(adv)[0]  # closest is not first
    result = attack.attack(model, x[None])
    direction = result.adversarial[0] - x
    expected = (chosen - x) / np.linalg.norm(chosen - x)
    np.testing.assert_allclose(direction / np.linalg.norm(direction), expected, atol=1e-5)
    assert 0.6 < result.adversarial[0, 0] < 0.6 + 1e-3


def test_a_sample_without_an_adversarial_draw_starts_from_another_class_sample():
    # Class 1 is a ball of radius 0.05 around p: 20 uniform draws in the unit cube miss it
    # (volume 5e-4), so the first sample starts from the second, which the model labels 1.
    p = np.full(3, 0.9)

    def model(Z):
        return (np.linalg.norm(Z - p, axis=1) < 0.05).astype(int)

    X = np.array([[0.1, 0.1, 0.1], p])
    result = TangentAttack(max_iter=10, init_trials=20, random_state=0).attack(model, X)
    exact = np.linalg.norm(X[0] - p) - 0.05
    assert result.success.all()
    assert exact <= result.distances[0] <= exact * (1 + 1e-3)
    alone = TangentAttack(max_iter=10, init_trials=20, random_state=0).attack(model, X[:1])
    assert np.isinf(alone.distances[0]) and not alone.success[0]


def test_attacks_the_models_own_predictions_without_y():
    clf, X, _ = _linear_problem(n=10)
    result = TangentAttack(-10, 10, max_iter=5, random_state=0).attack(clf, X)
    assert np.all(result.distances > 0) and result.success.all()


@pytest.mark.parametrize(("kwargs", "data", "match"), [
    ({"clip_min": 1.0, "clip_max": 0.0}, None, "clip_min must be < clip_max"),
    ({"max_queries": 2}, None,
     r"The 'max_queries' parameter of TangentAttack must be an int in the range \[6, inf\) "
     r"or None\. Got 2 instead\."),
    ({"n_starts": 0}, None, "The 'n_starts' parameter of TangentAttack"),
    ({"binary_search_tol": 1.0}, None, "The 'binary_search_tol' parameter of TangentAttack"),
    ({}, np.full((2, 3), 2.0), "outside the input box"),
    ({}, np.array([[np.nan, 0.5, 0.5]]), "NaN"),
    ({}, np.empty((0, 3)), "at least one sample"),
    ({}, np.array([0.5, 0.5]), "at least one sample"),
])
def test_attack_errors(kwargs, data, match):
    X = np.full((2, 3), 0.5) if data is None else data
    with pytest.raises(ValueError, match=match):
        TangentAttack(**kwargs).attack(lambda Z: np.zeros(len(Z), dtype=int), X)


def test_wrong_y_shape():
    with pytest.raises(ValueError, match=r"y must have shape \(2,\)"):
        TangentAttack().attack(lambda Z: np.zeros(len(Z), dtype=int), np.full((2, 3), 0.5),
                               [0, 1, 0])


# ------------------------------------------------------------------------ the engine
def _assert_same_result(a, b):
    np.testing.assert_array_equal(a.distances, b.distances)
    np.testing.assert_array_equal(a.adversarial, b.adversarial)
    np.testing.assert_array_equal(a.success, b.success)
    np.testing.assert_array_equal(a.queries, b.queries)


class _CountingModel:
    """``model`` as a callable that records how many points it was asked for, call by call."""

    def __init__(self, model, fail_at=None):
        self.model, self.fail_at, self.asked = model, fail_at, []

    def __call__(self, Z):
        if len(self.asked) + 1 == self.fail_at:
            raise RuntimeError("the model failed")
        self.asked.append(len(Z))
        return self.model(Z)


@pytest.mark.parametrize("attack", ATTACKS)
@pytest.mark.parametrize("fail_at", ["first", "middle", "last"])
def test_an_exception_mid_attack_leaves_the_instance_as_constructed(attack, fail_at):
    """The instance keeps only its parameters: a model that raises on its k-th call (the
    clean query, mid-search, the final checks) leaves no oracle, model or progress bar on it,
    the bar is closed, nothing else holds the model, and the next attack gives exactly the
    result of a fresh instance."""
    clf, X, y = _linear_problem(n=6)
    params = dict(clip_min=-10, clip_max=10, max_iter=4, verbose=1, random_state=0)
    counting = _CountingModel(clf.predict)
    attack(**params).attack(counting, X, y)
    n_calls = len(counting.asked)
    k = {"first": 1, "middle": n_calls // 2, "last": n_calls}[fail_at]

    instance = attack(**params)
    constructed = dict(vars(instance))
    open_bars = set(tqdm._instances)
    failing = _CountingModel(clf.predict, fail_at=k)
    with pytest.raises(RuntimeError, match="the model failed"):
        instance.attack(failing, X, y)
    assert vars(instance) == constructed
    assert set(vars(instance)) == set(inspect.signature(attack).parameters)
    assert set(tqdm._instances) == open_bars
    gone = weakref.ref(failing)
    del failing
    gc.collect()
    assert gone() is None

    _assert_same_result(instance.attack(clf, X, y), attack(**params).attack(clf, X, y))


def _meeting(model, parties=2):
    """``model``, whose first call in each of ``parties`` threads waits for the others, so
    that their attacks are under way at the same time."""
    barrier, seen = threading.Barrier(parties, timeout=60), threading.local()

    def labels(Z):
        if not getattr(seen, "met", False):
            seen.met = True
            barrier.wait()
        return model(Z)

    return labels


@pytest.mark.parametrize("attack", ATTACKS)
def test_two_threads_sharing_an_instance_get_the_sequential_results(attack):
    clf, X, y = _linear_problem(n=16)
    inputs = [(X[:8], y[:8]), (X[8:], y[8:])]
    shared = attack(-10, 10, max_iter=10, random_state=0)
    sequential = [shared.attack(clf.predict, Xi, yi) for Xi, yi in inputs]
    model = _meeting(clf.predict)
    with ThreadPoolExecutor(max_workers=2) as pool:
        concurrent = list(pool.map(lambda args: shared.attack(model, *args), inputs))
    for alone, together in zip(sequential, concurrent, strict=True):
        _assert_same_result(together, alone)


def _hair_problem():
    """Samples 1e-3 from a boundary whose position depends on the batch's size: the final
    checks need their second push (and its queries alone)."""
    def model(Z):
        return (Z[:, 0] - 0.5 + 1e-5 * np.cos(len(Z)) > 0).astype(int)

    X = np.random.default_rng(0).uniform(0.2, 0.8, size=(6, 5))
    X[:, 0] = 0.5 - 1e-3
    return model, X, np.zeros(6, dtype=int)


def _mislabelled_linear_problem():
    clf, X, y = _linear_problem(n=8)
    y = y.copy()
    y[0] = (clf.predict(X[:1])[0] + 1) % 4  # misclassified: the clean query only
    return clf.predict, X, y


@pytest.mark.parametrize("attack", ATTACKS)
@pytest.mark.parametrize(("problem", "settings"), [
    (_mislabelled_linear_problem, {}),
    (_mislabelled_linear_problem, {"start": "blended", "n_starts": 1}),
    (_mislabelled_linear_problem, {"start": "uniform", "max_queries": 1500}),
    (_mislabelled_linear_problem, {"starting_points": True}),
    (_hair_problem, {"clip_min": 0.0, "clip_max": 1.0}),
])
def test_the_query_count_is_the_number_of_points_the_model_was_asked_for(attack, problem,
                                                                       settings):
    """Every point the model classifies is one query of one sample, and nothing else is:
    per sample (attacked alone) and in total (attacked together), with the model called in
    chunks of 50, through the start search, budgets, given starts and both final checks."""
    model, X, y = problem()
    settings = {"clip_min": -10, "clip_max": 10, **settings}
    given = settings.pop("starting_points", False)
    instance = attack(max_iter=6, batch_size=50, random_state=0, **settings)

    def run(rows):
        counting = _CountingModel(model)
        starts = np.clip(-X[rows], instance.clip_min, instance.clip_max) if given else None
        result = instance.attack(counting, X[rows], y[rows], starting_points=starts)
        return result, sum(counting.asked)

    together, asked = run(slice(None))
    assert together.queries.sum() == asked
    for i in range(len(X)):
        alone, asked = run(slice(i, i + 1))
        assert alone.queries[0] == asked


# ------------------------------------------------------------------------ oracles
@pytest.fixture(scope="module")
def digits_featurizer():
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    feat = SpectralMLPClassifier(hidden_layer_sizes=(32,), max_epochs=5, batch_size=64,
                                 init="default", random_state=0).fit(X, y)
    return feat, X, y


@pytest.mark.parametrize("head", [LogisticRegression(max_iter=1000), LinearSVC(),
                                  RidgeClassifier(), SGDClassifier(random_state=0)])
@pytest.mark.parametrize("binary", [False, True])
def test_pipeline_with_linear_head_is_fused_into_torch(digits_featurizer, head, binary):
    feat, X, y = digits_featurizer
    if binary:
        y = np.where(y < 5, "low", "high")
    # A clone: refitting the shared featurizer on other labels would change it for later tests.
    pipe = Pipeline([("feat", clone(feat)), ("clf", head)]).fit(X, y)
    oracle = as_oracle(pipe)
    assert oracle.device.type == "cpu" and oracle._encode is not None
    codes = oracle(torch.from_numpy(X[:200]))
    np.testing.assert_array_equal(pipe.classes_[codes.numpy()], pipe.predict(X[:200]))


def test_spectral_estimator_and_torch_module_oracles(digits_featurizer):
    feat, X, _ = digits_featurizer
    oracle = as_oracle(feat, batch_size=64)
    codes = oracle(torch.from_numpy(X[:200]))
    np.testing.assert_array_equal(feat.classes_[codes.numpy()], feat.predict(X[:200]))
    assert oracle.n_calls == 4  # 200 points in chunks of 64
    module_oracle = as_oracle(feat.module_, input_shape=(64,))
    np.testing.assert_array_equal(module_oracle(torch.from_numpy(X[:50])).numpy(), codes[:50])
    with pytest.raises(ValueError, match="input_shape"):
        as_oracle(feat.module_)
    with pytest.raises(TypeError, match="Cannot query labels"):
        as_oracle(42)


def test_attack_on_an_estimator_matches_attack_on_its_pipeline_twin(digits_featurizer):
    feat, X, y = digits_featurizer
    a = TangentAttack(max_iter=5, random_state=0).attack(feat, X[:20], y[:20])
    b = TangentAttack(max_iter=5, random_state=0).attack(feat.predict, X[:20], y[:20])
    np.testing.assert_allclose(a.distances, b.distances, rtol=1e-4)


def test_fused_head_decides_in_the_precision_the_pipeline_predicts_in():
    # A LogisticRegression fitted on float32 features can keep float32 coefficients and then
    # predicts in float32; Barlow features reach ~1e6 after two epochs, where a float64 head
    # moved the boundary enough that returned points kept pipe.predict's label. The head
    # takes coef_'s precision promoted with the float32 features, as NumPy's product does.
    from sklearn.linear_model import LogisticRegression

    from skspectral.attacks._oracle import _LinearHead

    for coef_dtype, expected in ((np.float32, torch.float32), (np.float64, torch.float64)):
        clf = LogisticRegression().fit([[0.0, 0.0], [1.0, 1.0]], [0, 1])
        clf.coef_, clf.intercept_ = (np.array([[1.0, -2.0]], coef_dtype),
                                     np.array([0.5], coef_dtype))
        head = _LinearHead(clf)
        assert head.coef.dtype == head.intercept.dtype == expected
        z = torch.tensor([[3.0, 1.0], [0.0, 1.0]])
        np.testing.assert_array_equal(head(z).numpy(), [1, 0])  # scores 1.5 and -1.5


@pytest.mark.parametrize("attack", [TangentAttack, HopSkipJump, CGBA])
def test_attacks_take_clone_get_params_set_params_and_repr_from_scikit_learn(attack):
    """Parameters only on the instance: a clone attacks as the original does, ``set_params``
    changes one copy, and an out-of-range value set after construction is refused when the
    attack runs."""
    from sklearn.base import BaseEstimator

    clf, X, y = _linear_problem(n=5)
    original = attack(-10, 10, max_iter=3, random_state=0)
    assert isinstance(original, BaseEstimator)
    twin = clone(original)
    assert twin is not original and twin.get_params() == original.get_params()
    np.testing.assert_array_equal(twin.attack(clf, X, y).distances,
                                  original.attack(clf, X, y).distances)
    assert twin.set_params(max_iter=5).max_iter == 5 and original.max_iter == 3
    assert repr(original) == (f"{attack.__name__}(clip_max=10, clip_min=-10, max_iter=3, "
                              "random_state=0)")
    with pytest.raises(ValueError, match="max_iter"):
        twin.set_params(max_iter=-1).attack(clf, X, y)
