"""The Barlow Twins loss on hand-made projections, against exact values."""

import numpy as np
import pytest
import torch

from skspectral.models import BarlowTwinsLoss, cross_correlation


def _decorrelated(n=8, d=4, seed=0):
    """n x d, zero-mean columns, orthogonal, each of variance 1 (biased): C(z, z) = I."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(n, d + 1)))
    # Orthogonal to the ones vector: centre by projecting it out, then re-orthonormalize.
    ones = np.ones((n, 1)) / np.sqrt(n)
    q, _ = np.linalg.qr(np.hstack([ones, q])[:, : d + 1])
    z = q[:, 1:d + 1] * np.sqrt(n)
    return torch.tensor(z, dtype=torch.float64)


def _loss(z1, z2, lam=0.005):
    return BarlowTwinsLoss(lambda_offdiag=lam, eps=0.0)((z1, z2)).item()


def test_identical_decorrelated_branches_cost_nothing():
    z = _decorrelated()
    np.testing.assert_allclose(cross_correlation(z, z, eps=0.0).numpy(), np.eye(4), atol=1e-12)
    assert _loss(z, z) == pytest.approx(0.0, abs=1e-20)


def test_anticorrelated_branches_cost_four_per_feature():
    z = _decorrelated()
    assert _loss(z, -z) == pytest.approx(4 * 4, rel=1e-12)  # sum (1 - (-1))^2


def test_permuted_features_pay_the_diagonal_and_the_off_diagonal():
    z = _decorrelated()
    shifted = z[:, [1, 2, 3, 0]]  # C is a permutation matrix without fixed points
    # 4 diagonal entries of 0 -> 4 * 1; 4 off-diagonal entries of 1 -> lambda * 4.
    assert _loss(z, shifted, lam=0.005) == pytest.approx(4 + 0.005 * 4, rel=1e-12)


def test_perfectly_correlated_features_pay_every_off_diagonal_entry():
    column = _decorrelated(d=1)
    z = column.repeat(1, 5)  # five copies of one feature: C is all ones
    assert _loss(z, z, lam=0.01) == pytest.approx(0.01 * 5 * 4, rel=1e-12)


def test_each_branch_is_standardized_with_its_own_statistics():
    """Scaling and shifting one branch per column changes nothing; statistics pooled over
    the two branches (lightly's bug fixed in 2025) would see the shift as correlation."""
    rng = np.random.default_rng(1)
    z1 = torch.tensor(rng.normal(size=(32, 6)))
    z2 = z1 + 0.3 * torch.tensor(rng.normal(size=(32, 6)))
    scale = torch.tensor(rng.uniform(0.1, 10, size=6))
    shift = torch.tensor(rng.normal(scale=100, size=6))
    base = _loss(z1, z2)
    assert _loss(z1, z2 * scale + shift) == pytest.approx(base, rel=1e-10)
    assert _loss(z1 * scale - shift, z2) == pytest.approx(base, rel=1e-10)


def test_eps_enters_the_variance_as_in_batchnorm():
    z = _decorrelated()  # every column has variance exactly 1
    eps = 1e-3
    c = cross_correlation(z, z, eps=eps)
    np.testing.assert_allclose(torch.diagonal(c).numpy(), 1 / (1 + eps), rtol=1e-12)


def test_parts_are_recorded_and_sum_to_the_loss():
    z = _decorrelated()
    loss = BarlowTwinsLoss(lambda_offdiag=0.005, eps=0.0)
    value = loss((z, z[:, [1, 2, 3, 0]]))
    on, off = loss.last_parts_
    assert on.item() == pytest.approx(4.0) and off.item() == pytest.approx(0.02)
    assert value.item() == pytest.approx(on.item() + off.item())


def test_float32_loss_agrees_with_float64_within_rounding():
    rng = np.random.default_rng(2)
    z1 = torch.tensor(rng.normal(size=(256, 64)))
    z2 = z1 + torch.tensor(rng.normal(size=(256, 64)))
    exact = _loss(z1, z2)
    single = _loss(z1.float(), z2.float())
    # Each C_ij is a dot product of 256 terms: |error| <~ 256 u with u = 2^-24; the loss
    # sums 64^2 squared entries of magnitude <= 1, each off by <= 2 * 256 u.
    u = 2.0 ** -24
    assert abs(single - exact) <= 64 * 64 * 2 * 256 * u


def test_shapes_must_match():
    with pytest.raises(ValueError, match="one shape"):
        cross_correlation(torch.zeros(4, 3), torch.zeros(4, 2))
