"""SpectralPenalty's updates equal, to the bit, the spectral functions they are made of.

converge_, refresh_, estimate and apply_ share one dispatch between dense layers (Linear,
pointwise convolutions) and other convolutions; each is checked here against the explicit
composition of :mod:`skspectral.spectral` calls, with ``torch.equal``.
"""

import pytest
import torch
import torch.nn as nn

from skspectral.regularization import SpectralPenalty
from skspectral.spectral import (
    as_matrix,
    conv_power_iteration,
    conv_sigma_and_grad,
    power_iteration,
    top_singular_triplet,
)


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"),
                         nn.Conv2d(3, 4, 1), nn.Flatten(), nn.Linear(4 * 5 * 5, 3))


LAYERS = ["0", "1", "3"]
SHAPES = {"0": (2, 5, 5)}


def _reference(layer, v, n_iter, tol=None):
    if isinstance(layer, nn.Linear) or layer.kernel_size == (1, 1):
        return power_iteration(as_matrix(layer), v, n_iter=n_iter, tol=tol)
    return conv_power_iteration(layer, v, n_iter=n_iter, tol=tol)


def _state(penalty):
    return [getattr(penalty, f"v{i}").clone() for i in range(len(LAYERS))]


def test_converge_refresh_and_estimate_equal_the_spectral_functions():
    net = _net()
    penalty = SpectralPenalty(net, LAYERS, gamma=0.5, input_shapes=SHAPES)
    start = _state(penalty)
    penalty.converge_(net, n_iter=7, tol=1e-3)
    for i, name in enumerate(LAYERS):
        layer = net.get_submodule(name)
        if name == "0":
            sigma, _, v = _reference(layer, start[i], 7, 1e-3)
        else:  # dense and small: the exact triplet
            sigma, _, v = top_singular_triplet(as_matrix(layer))
        assert torch.equal(getattr(penalty, f"v{i}"), v)
        assert torch.equal(getattr(penalty, f"sigma{i}"), sigma)
    before = _state(penalty)
    norms = penalty.estimate(net, n_iter=3)
    assert norms == {name: float(_reference(net.get_submodule(name), before[i], 3)[0])
                     for i, name in enumerate(LAYERS)}
    penalty.refresh_(net, n_iter=2)
    for i, name in enumerate(LAYERS):
        sigma, _, v = _reference(net.get_submodule(name), before[i], 2)
        assert torch.equal(getattr(penalty, f"v{i}"), v)
        assert torch.equal(getattr(penalty, f"sigma{i}"), sigma)


@pytest.mark.parametrize("n_power_iterations", [1, 3])
def test_apply_adds_gamma_sigma_dsigma_of_the_spectral_functions(n_power_iterations):
    net = _net()
    penalty = SpectralPenalty(net, LAYERS, gamma=0.5, n_power_iterations=n_power_iterations,
                              input_shapes=SHAPES).converge_(net)
    before = _state(penalty)
    for p in net.parameters():
        p.grad = None
    penalty.apply_(net)
    for i, name in enumerate(LAYERS):
        layer = net.get_submodule(name)
        sigma, u, v = _reference(layer, before[i], n_power_iterations)
        if name == "0":
            sigma, dsigma = conv_sigma_and_grad(layer, v)
        else:
            dsigma = torch.outer(u, v).reshape(layer.weight.shape)
        assert torch.equal(layer.weight.grad, dsigma.mul_(sigma * 0.5))
        assert torch.equal(getattr(penalty, f"v{i}"), v)
        assert torch.equal(getattr(penalty, f"sigma{i}"), sigma)
