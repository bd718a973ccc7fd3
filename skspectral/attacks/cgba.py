"""CGBA and CGBA-H: curvature-aware geometric decision-based attacks (Reza et al. 2023)."""

import math
from numbers import Integral

import torch
from sklearn.utils._param_validation import StrOptions

from .._params import store_params
from ._engine import PARAMETERS, DecisionAttack, with_parameters
from ._subspace import spatial_split

__all__ = ["CGBA", "IMAGE_SETTINGS", "cgba_settings"]

#: CGBA's settings for images of at least 16 pixels a side, which ``attack="cgba"`` of
#: :func:`~skspectral.adversarial_distances` and :class:`~skspectral.RobustnessScorer`
#: applies (see :func:`cgba_settings`).
IMAGE_SETTINGS = {"start": "low-frequency", "start_scale": 1.0, "n_starts": 5, "subspace": 0.5}

#: Shortest spatial side, in pixels, of the images that take :data:`IMAGE_SETTINGS`.
_MIN_SIDE = 16


def cgba_settings(sample_shape, image_shape=None):
    """The CGBA settings measured best for samples of this shape (docs/robustness.md).

    :data:`IMAGE_SETTINGS` (low-frequency starts, five of them, and probes in the lowest
    half of each spatial dimension's frequencies) for images whose spatial sides are all at
    least 16 pixels; none (the class's defaults) for vectors and smaller images. Measured
    by ``benchmarks/bench_attacks.py --curves``: on 28x28 MNIST they bring the distance
    from 1.20 to 1.05 times the white-box one at 10k queries; on 8x8 digits the subspace
    leaves out much of the closest perturbation (1.44 against 1.02), so they stay off
    there. Sizes in between were not measured; 16 splits the two.

    Parameters
    ----------
    sample_shape : tuple of int
        Shape of one sample as the model receives it, channels first.
    image_shape : tuple of int or None, default=None
        The image shape of flat samples (CGBA's parameter), which then decides; anything
        but a tuple or list of at least two integers counts as no image (CGBA itself reports a
        malformed one).

    Returns
    -------
    dict
        A fresh dict of CGBA parameters; empty where the defaults apply.

    Raises
    ------
    TypeError
        If ``sample_shape`` is not a tuple of integers.

    Examples
    --------
    >>> from skspectral.attacks import cgba_settings
    >>> cgba_settings((1, 28, 28))["subspace"]
    0.5
    >>> cgba_settings((784,), image_shape=(28, 28)) == cgba_settings((28, 28))
    True
    >>> cgba_settings((1, 8, 8)), cgba_settings((784,))
    ({}, {})
    """
    if not isinstance(sample_shape, tuple) or not all(
            isinstance(n, Integral) and not isinstance(n, bool) for n in sample_shape):
        raise TypeError(f"sample_shape must be a tuple of integers (one sample's shape), got "
                        f"{sample_shape!r}.")
    shape = sample_shape if image_shape is None else image_shape
    if not isinstance(shape, (tuple, list)) or len(shape) < 2 or not all(
            isinstance(n, Integral) and not isinstance(n, bool) for n in shape):
        return {}
    _, spatial = spatial_split(tuple(shape))
    return dict(IMAGE_SETTINGS) if min(spatial) >= _MIN_SIDE else {}


def _semicircle(x, x_b, normal, dist):
    """``phi -> point``: the circle with diameter ``[x, x_b]`` in the plane of ``x_b - x``
    and the normal, at angle ``phi`` from ``x_b - x`` towards the normal (``phi = 0`` is
    ``x_b``, ``phi = pi / 2`` is ``x``); and which tracks have such a plane.

    A point at angle ``phi`` is ``x + |x_b - x| cos(phi) (cos(phi) v + sin(phi) w)``, ``v``
    the unit ray to ``x_b`` and ``w`` the normal's unit part orthogonal to it. By Thales,
    the circle holds the foot of the perpendicular from ``x`` onto every hyperplane through
    ``x_b``: for a flat boundary whose normal is exact, the closest boundary point is the
    circle's point at the angle between the normal and ``v``.
    """
    v = (x_b - x) / dist.clamp_min(torch.finfo(x.dtype).tiny)[:, None]
    w = normal - (normal * v).sum(dim=1, keepdim=True) * v
    norm_w = w.norm(dim=1)
    # A normal along the ray spans no plane: x_b is then the closest point it shows.
    plane = norm_w > 1e-6
    w = w / norm_w.clamp_min(torch.finfo(x.dtype).tiny)[:, None]

    def at(phi):
        cos, sin = torch.cos(phi)[:, None], torch.sin(phi)[:, None]
        return x + (dist[:, None] * cos) * (cos * v + sin * w)

    return at, plane


def _angle(normal, x, x_b, dist):
    """Angle between the normal and the ray ``x -> x_b``, in ``[0, pi]``."""
    cos = ((x_b - x) * normal).sum(dim=1) / dist.clamp_min(torch.finfo(x.dtype).tiny)
    return torch.acos(cos.clamp(-1.0, 1.0))


def semicircular_search(run, x, x_b, normal, dist, rows):
    """CGBA's step: the boundary point on the semicircle with diameter ``[x, x_b]``.

    Angles ``pi/2 (1 - 2^-k)``, ``k = 1, 2, ...`` (at most ``max_halvings + 1``) are tried
    until one is not adversarial, then the angle is bisected between the last adversarial
    angle (0: ``x_b``) and it, ``bs_steps`` times (the circle's arc between two angles is
    ``|x_b - x|`` times their difference, so this is the precision of the line's binary
    search). Where all tried angles are adversarial the bracket's clean end is ``x``
    itself (angle ``pi/2``), whose label is known. Returns the bracket's adversarial end
    (``x_b`` where no angle is), which is a boundary point.
    """
    at, plane = _semicircle(x, x_b, normal, dist)
    low = torch.zeros_like(dist)
    high = torch.full_like(dist, math.pi / 2)
    todo = rows & plane
    for k in range(1, run.attack.max_halvings + 2):
        if not todo.any():
            break
        phi = torch.full_like(dist, math.pi / 2 * (1 - 2.0 ** -k))
        adv = run.is_adversarial(run.clip(at(phi)), todo)
        low = torch.where(adv, phi, low)
        high = torch.where(todo & ~adv, phi, high)
        todo &= adv
    todo = rows & plane
    for _ in range(run.bs_steps):
        mid = (low + high) / 2
        adv = run.is_adversarial(run.clip(at(mid)), todo)
        low = torch.where(adv, mid, low)
        high = torch.where(todo & ~adv, mid, high)
    moved = rows & plane & (low > 0)
    points = torch.where(moved[:, None], run.clip(at(low)), x_b)
    return points, rows


@with_parameters(PARAMETERS)
class CGBA(DecisionAttack):
    """Curvature-aware geometric decision-based L2 attack (CGBA and CGBA-H).

    Each iteration estimates the boundary normal at the boundary point ``x_b`` and searches
    the plane of the normal and the ray from ``x`` to ``x_b`` along the semicircle whose
    diameter is ``[x, x_b]``, which holds the closest point of every flat boundary through
    ``x_b`` (Reza, Rahmati, Wu & Dai, ICCV 2023):

    - ``variant="cgba"``: angles ``pi/2 (1 - 2^-k)`` from the ray, ``k = 1, 2, ...``, until
      one is not adversarial, then a bisection of the angle onto the boundary, on the
      semicircle (no search along a ray). On a flat boundary with an exact normal this is
      the closest point in one step; its precision is that of the binary searches.
    - ``variant="cgba-h"``: for boundaries curved towards the sample (the paper's targeted
      setting), the semicircle's point at half the angle ``theta`` between the normal and
      the ray, halving the angle until adversarial, then a binary search back along the
      ray from ``x``.

    Batched over samples and probes, with the starts, budgets, final checks and
    ``subspace`` option of every labels-only attack; see
    :class:`~skspectral.attacks.DecisionAttack` for the shared stages and parameters. The
    published attack draws its probes in the DCT subspace of the lowest quarter of each
    spatial dimension's frequencies (``subspace=0.25`` for 224x224 images), from 30 probes
    at the first iteration, as the default ``init_probes=30`` does.

    Its other defaults differ from the Tangent Attack's, chosen by measurement
    (docs/robustness.md): three starts on the boundaries of different classes where the
    30 candidate draws allow (``diverse_starts=True, init_batch=30``), each explored for
    three iterations. No subspace and no low-frequency start by default: both need images
    (``image_shape`` for flat rows), and the subspace made distances larger on 8x8 digits.
    On 28x28 MNIST, :data:`IMAGE_SETTINGS` (``start="low-frequency", start_scale=1.0,
    n_starts=5, subspace=0.5``, with ``image_shape=(28, 28)`` for flat rows) measured
    closest to the white-box distance; :func:`cgba_settings` says which settings a sample
    shape takes, and ``attack="cgba"`` of :func:`~skspectral.adversarial_distances`
    applies them.

    {parameters}
    variant : {"cgba", "cgba-h"}, default="cgba"
        The step: bisection on the semicircle, or CGBA-H's halving of the angle then a
        binary search along the ray.

    See Also
    --------
    skspectral.attacks.TangentAttack : The step to a hemisphere's tangent point.
    skspectral.attacks.HopSkipJump : The geometric step along the estimated normal.

    Examples
    --------
    On a linear model the semicircle holds the exact closest boundary point:

    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skspectral.attacks import CGBA
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, size=(200, 5)); y = (X[:, 0] > 0).astype(int)
    >>> clf = LogisticRegression().fit(X, y)
    >>> result = CGBA(-3, 3, max_iter=10, random_state=0).attack(clf, X[:5], y[:5])
    >>> exact = np.abs(clf.decision_function(X[:5])) / np.linalg.norm(clf.coef_)
    >>> (result.distances / exact).round(2)
    array([1., 1., 1., 1., 1.])
    """

    def __init__(self, clip_min=0.0, clip_max=1.0, *, variant="cgba", max_iter=40,
                 max_queries=None, init_probes=30, max_probes=10_000, binary_search_tol=None,
                 n_starts=3, start_iter=3, start="gaussian", start_scale=0.5, blend_steps=10,
                 init_trials=100, init_batch=30, diverse_starts=True, max_halvings=20,
                 subspace=None, image_shape=None, batch_size=10_000, random_state=None,
                 verbose=0):
        store_params(self, locals())

    _parameter_constraints = {**DecisionAttack._parameter_constraints,
                              "variant": [StrOptions({"cgba", "cgba-h"})]}

    @property
    def _on_boundary(self):
        return self.variant == "cgba"

    def _step(self, run, x, x_b, normal, dist, i, rows):
        if self.variant == "cgba":
            return [semicircular_search(run, x, x_b, normal, dist, rows)]
        at, plane = _semicircle(x, x_b, normal, dist)
        # A normal along the ray (no plane): angle 0, the candidate is x_b itself.
        half = torch.where(plane, _angle(normal, x, x_b, dist) / 2, 0.0)
        points, ok, _ = run.halving_search(at, half, rows)
        return [(points, ok)]
