"""The spectral core: top singular values of dense layers, activation constants."""

import math

import numpy as np
import pytest
import torch
import torch.nn as nn

from skspectral.spectral import (
    ACTIVATIONS,
    lipschitz_constant,
    operator_norm,
    power_iteration,
    random_unit_vector,
    top_singular_triplet,
)


def _matrix(m, n, seed=0):
    return torch.randn(m, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_power_iteration_on_diagonal_matrix_is_exact():
    w = torch.diag(torch.tensor([3.0, -5.0, 1.0], dtype=torch.float64))
    sigma, u, v = power_iteration(w, torch.ones(3, dtype=torch.float64) / math.sqrt(3), n_iter=200)
    assert sigma.item() == pytest.approx(5.0, rel=1e-12)
    assert torch.allclose(v.abs(), torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64), atol=1e-12)
    assert torch.allclose(w @ v, sigma * u)


@pytest.mark.parametrize("shape", [(30, 20), (20, 30), (1, 7), (7, 1)])
def test_power_iteration_converges_to_svd(shape):
    w = _matrix(*shape)
    sigma, u, v = power_iteration(w, random_unit_vector(shape[1], dtype=w.dtype), n_iter=2000,
                                  tol=1e-14)
    s_ref, u_ref, v_ref = top_singular_triplet(w)
    assert sigma.item() == pytest.approx(s_ref.item(), rel=1e-10)
    assert abs(torch.dot(u, u_ref).item()) == pytest.approx(1.0, abs=1e-8)
    assert abs(torch.dot(v, v_ref).item()) == pytest.approx(1.0, abs=1e-8)


def test_power_iteration_is_a_lower_bound_that_improves_monotonically():
    w = _matrix(50, 40)
    v = random_unit_vector(40, dtype=w.dtype, generator=torch.Generator().manual_seed(1))
    exact = torch.linalg.matrix_norm(w, ord=2).item()
    previous = 0.0
    for _ in range(20):
        sigma, _, v = power_iteration(w, v, n_iter=1)
        assert previous - 1e-12 <= sigma.item() <= exact + 1e-12
        previous = sigma.item()


def test_power_iteration_does_not_modify_its_input_vector():
    w = _matrix(5, 4)
    v = random_unit_vector(4, dtype=w.dtype)
    before = v.clone()
    power_iteration(w, v, n_iter=3)
    assert torch.equal(v, before)


def test_power_iteration_rejects_zero_iterations():
    with pytest.raises(ValueError, match="n_iter"):
        power_iteration(_matrix(3, 3), torch.ones(3, dtype=torch.float64), n_iter=0)


def test_operator_norm_of_diagonal_matrix():
    assert operator_norm(torch.diag(torch.tensor([3.0, -5.0, 1.0]))) == 5.0


@pytest.mark.parametrize("method", ["auto", "exact", "power"])
def test_operator_norm_of_linear_layer_matches_matrix_norm(method):
    torch.manual_seed(0)
    layer = nn.Linear(40, 25).double()
    expected = torch.linalg.matrix_norm(layer.weight.detach(), ord=2).item()
    value = operator_norm(layer, method=method, generator=torch.Generator().manual_seed(0))
    # The power method stops once sigma changes by less than 1e-7 per iteration.
    assert value == pytest.approx(expected, rel=1e-5 if method == "power" else 1e-12)


def test_operator_norm_rejects_unsupported_input():
    with pytest.raises(TypeError, match="ConvTranspose2d"):
        operator_norm(nn.ConvTranspose2d(1, 1, 3))
    with pytest.raises(ValueError, match="input_shape .* is required for a Conv2d"):
        operator_norm(nn.Conv2d(1, 1, 3))
    with pytest.raises(ValueError, match="c_in=2"):
        operator_norm(nn.Conv2d(2, 1, 3), input_shape=(3, 8, 8))
    with pytest.raises(ValueError, match="exact only for circular"):
        operator_norm(nn.Conv2d(1, 1, 3, padding=1), input_shape=(1, 8, 8), method="fft")
    with pytest.raises(ValueError, match="convolutions only"):
        operator_norm(nn.Linear(3, 3), method="fft")
    with pytest.raises(TypeError, match=r"shape \(3,\)"):
        operator_norm(torch.ones(3))
    with pytest.raises(ValueError, match="input_shape"):
        operator_norm(nn.Linear(3, 3), input_shape=(3,))
    with pytest.raises(ValueError, match="method"):
        operator_norm(nn.Linear(3, 3), method="fft")


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_lipschitz_constant_is_the_maximal_slope(name):
    z = torch.linspace(-12, 12, 480_001, dtype=torch.float64, requires_grad=True)
    ACTIVATIONS[name][0]()(z).sum().backward()
    assert lipschitz_constant(name) == pytest.approx(z.grad.abs().max().item(), rel=1e-9)


def test_lipschitz_constants_known_values():
    assert lipschitz_constant("relu") == 1.0
    assert lipschitz_constant("tanh") == 1.0
    assert lipschitz_constant("sigmoid") == 0.25
    assert lipschitz_constant("gelu") == pytest.approx(1.1289, abs=1e-4)
    assert lipschitz_constant("silu") == pytest.approx(1.0998, abs=1e-4)
    assert lipschitz_constant(nn.GELU()) == lipschitz_constant("gelu")


def test_lipschitz_constant_errors():
    with pytest.raises(ValueError, match="Unknown activation 'elu'"):
        lipschitz_constant("elu")
    with pytest.raises(ValueError, match="No Lipschitz constant"):
        lipschitz_constant(nn.GELU(approximate="tanh"))
    with pytest.raises(ValueError, match="No Lipschitz constant"):
        lipschitz_constant(nn.ELU())


def test_random_unit_vector_is_unit_and_seeded():
    a = random_unit_vector(10, generator=torch.Generator().manual_seed(3))
    b = random_unit_vector(10, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert np.isclose(a.norm().item(), 1.0)


def test_chain_lipschitz_multiplies_the_leaves_constants_and_applies_the_callers():
    from skspectral.spectral._chain import chain_lipschitz

    class Halve(nn.Module):  # a layer above spectral, whose constant its caller knows
        def forward(self, x):
            return x / 2

    first, last = nn.Linear(2, 2, bias=False), nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        first.weight.copy_(torch.tensor([[3.0, 0.0], [0.0, -1.0]]))  # norm 3
        last.weight.copy_(torch.tensor([[0.0, 4.0]]))  # norm 4
    chain = nn.Sequential(first, nn.Sequential(nn.LeakyReLU(0.5), Halve()), nn.Dropout(),
                          last, nn.Sigmoid(), nn.Flatten())
    halve = {Halve: lambda lip, m: lip / 2}
    assert chain_lipschitz(chain, (2,), halve) == pytest.approx(3 * 4 * 0.25 / 2, rel=1e-6)
    with pytest.raises(TypeError, match=r"features\.1\.1 is a Halve"):
        chain_lipschitz(chain, (2,))
    with pytest.raises(TypeError, match=r"features\.0 is a LeakyReLU"):
        chain_lipschitz(nn.Sequential(nn.LeakyReLU(-2.0)), (2,))  # slope beyond 1
