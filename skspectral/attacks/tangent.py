"""Tangent Attack, hemisphere variant (Ma et al. 2021)."""

import math

import torch

from ._engine import PARAMETERS, DecisionAttack, with_parameters

__all__ = ["TangentAttack", "tangent_point"]


def tangent_point(x, center, normal, radius):
    """Tangent point from ``x`` to the hemisphere of ``radius`` at ``center`` facing ``normal``.

    Closed form in the plane of ``x``, ``center`` and ``normal`` (method.md §6). When the
    full sphere's tangent point lies below the hemisphere's base (x far below it), the
    tangent point of the hemisphere is the rim point, so the elevation angle is clamped at 0.

    Parameters
    ----------
    x : torch.Tensor of shape (n, d)
        The points the rays start from.
    center : torch.Tensor of shape (n, d)
        Centres of the hemispheres (the boundary points).
    normal : torch.Tensor of shape (n, d)
        Unit normals the hemispheres face.
    radius : torch.Tensor of shape (n,)
        Radii, smaller than ``|x - center|``.

    Returns
    -------
    torch.Tensor of shape (n, d)
        The tangent points, on the hemispheres.

    Examples
    --------
    Hemispheres at the origin facing up (+y). From just below the base, at ``(0, -2)``,
    the tangent point of the radius-1 hemisphere is its rim point; from ``(1, 0)`` in the
    base plane, that of the radius-0.5 hemisphere is at 60 degrees of elevation:

    >>> import torch
    >>> from skspectral.attacks import tangent_point
    >>> center, normal = torch.zeros(2, 2), torch.tensor([[0.0, 1.0], [0.0, 1.0]])
    >>> x = torch.tensor([[1e-6, -2.0], [1.0, 0.0]])
    >>> tangent_point(x, center, normal, torch.tensor([1.0, 0.5])).round(decimals=3)
    tensor([[1.0000, 0.0000],
            [0.2500, 0.4330]])
    """
    return _tangent_points(x, center, normal)(radius)


def _tangent_points(x, center, normal):
    """``radius -> tangent_point(x, center, normal, radius)``, the radius-free parts computed
    once (a step search tries many radii).

    Every cosine and sine is computed from a difference or a norm that is accurate near the
    edge cases, never as ``sqrt(1 - s**2)``, which keeps only half the digits when ``s`` is
    near 1 (a tangent point at the top of the hemisphere, x straight behind its base, R near
    ``|x - center|``): ``cos α`` is the length of ox's part orthogonal to the normal,
    ``sin β = sqrt((1 - cos β)(1 + cos β))`` (exact subtraction near 1), and ``cos γ`` is the
    angle-difference formula, not a square root of ``1 - sin² γ``.
    """
    ox = x - center
    norm_ox = ox.norm(dim=1).clamp_min(torch.finfo(x.dtype).tiny)
    proj = (ox * normal).sum(dim=1)
    e = ox - proj[:, None] * normal
    norm_e = e.norm(dim=1)
    sin_a = (-proj / norm_ox).clamp(-1.0, 1.0)
    cos_a = (norm_e / norm_ox).clamp(0.0, 1.0)
    e = e / norm_e.clamp_min(torch.finfo(x.dtype).tiny)[:, None]

    def at(radius):
        cos_b = (radius / norm_ox).clamp(0.0, 1.0)
        sin_b = ((1 - cos_b) * (1 + cos_b)).sqrt()
        sin_g = sin_b * cos_a - cos_b * sin_a
        cos_g = cos_b * cos_a + sin_b * sin_a
        # Below the base the hemisphere's tangent point is the rim point: γ = 0.
        below = sin_g < 0
        sin_g = sin_g.masked_fill(below, 0.0)
        cos_g = cos_g.masked_fill(below, 1.0)
        return center + (radius * cos_g)[:, None] * e + (radius * sin_g)[:, None] * normal

    return at


@with_parameters(PARAMETERS)
class TangentAttack(DecisionAttack):
    """Decision-based L2 attack that steps to the tangent point of a hemisphere.

    At iteration ``i`` the hemisphere has radius ``R = |x - x_b| / sqrt(i)``, is centred at
    the boundary point ``x_b`` and faces the estimated boundary normal; the attack moves to
    the tangent point of the ray from ``x``, halving ``R`` until that point is adversarial,
    then binary-searches back to the boundary. Batched over samples and probes; see
    :class:`~skspectral.attacks.DecisionAttack` for the shared stages and parameters.

    Where only a radius halved three or more times gives an adversarial tangent point, or
    none does (a sample far across a convex boundary: any error in the estimated normal
    tilts the tangent point towards ``x``, and the published attack stalls there), the step
    also tries HopSkipJump's geometric step along the normal and keeps whichever lands
    closer after the binary search, so the attack keeps moving.

    {parameters}

    See Also
    --------
    skspectral.attacks.HopSkipJump : The geometric step alone.
    skspectral.adversarial_distances : Attack an estimator's test set in one call.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skspectral.attacks import TangentAttack
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, size=(200, 5)); y = (X[:, 0] > 0).astype(int)
    >>> clf = LogisticRegression().fit(X, y)
    >>> result = TangentAttack(-3, 3, max_iter=10, random_state=0).attack(clf, X[:5], y[:5])
    >>> bool(result.success.all())
    True
    >>> exact = np.abs(clf.decision_function(X[:5])) / np.linalg.norm(clf.coef_)
    >>> (result.distances / exact).round(2)  # the exact distances to the hyperplane
    array([1., 1., 1., 1., 1.])
    >>> bool(result.mean() == result.distances.mean())  # none misclassified
    True
    """

    _n_candidates = 2

    def _step(self, run, x, x_b, normal, dist, i, rows):
        radius = dist / math.sqrt(i)
        points, ok, used = run.halving_search(_tangent_points(x, x_b, normal), radius, rows)
        # A tangent point found only after 3+ halvings (or none) means the geometry has
        # degenerated and the step would be negligible.
        stalled = rows & (~ok | (used < radius / 8))
        if not stalled.any():
            return [(points, ok)]
        return [(points, ok), run.geometric_step(x_b, normal, dist, i, stalled)]
