"""Operator norms of convolutions against the explicit operator matrix."""

import pytest
import torch
import torch.nn as nn

from skspectral.spectral import (
    capture_input_shapes,
    conv_dense_matrix,
    conv_fft_norm,
    conv_power_iteration,
    conv_sigma_and_grad,
    operator_norm,
    supports_fft,
)

CASES = {
    "3x3 zeros": dict(c_in=3, c_out=4, k=3, stride=1, padding=1, mode="zeros"),
    "3x3 circular": dict(c_in=3, c_out=4, k=3, stride=1, padding=1, mode="circular"),
    "3x3 circular stride 2": dict(c_in=3, c_out=4, k=3, stride=2, padding=1, mode="circular"),
    "3x3 zeros stride 2": dict(c_in=3, c_out=5, k=3, stride=2, padding=1, mode="zeros"),
    "7x7 zeros stride 2": dict(c_in=2, c_out=3, k=7, stride=2, padding=3, mode="zeros"),
    "7x7 circular": dict(c_in=2, c_out=3, k=7, stride=1, padding=3, mode="circular"),
    "1x1": dict(c_in=3, c_out=5, k=1, stride=1, padding=0, mode="zeros"),
    "1x1 stride 2": dict(c_in=3, c_out=5, k=1, stride=2, padding=0, mode="zeros"),
    "dilation 2 circular": dict(c_in=4, c_out=6, k=3, stride=1, padding=2, mode="circular",
                                dilation=2),
    "dilation 2 zeros": dict(c_in=4, c_out=6, k=3, stride=1, padding=2, mode="zeros",
                             dilation=2),
    "groups 2 circular": dict(c_in=4, c_out=6, k=3, stride=1, padding=1, mode="circular",
                              groups=2),
    "groups 2 zeros": dict(c_in=4, c_out=6, k=3, stride=1, padding=1, mode="zeros", groups=2),
    "reflect": dict(c_in=2, c_out=3, k=3, stride=1, padding=1, mode="reflect"),
}
SHAPES = [(8, 8), (8, 12)]  # square and non-square inputs


def _layer(case, seed=0):
    torch.manual_seed(seed)
    return nn.Conv2d(case["c_in"], case["c_out"], case["k"], stride=case["stride"],
                     padding=case["padding"], padding_mode=case["mode"],
                     dilation=case.get("dilation", 1), groups=case.get("groups", 1)).double()


def _exact(layer, shape):
    return torch.linalg.matrix_norm(conv_dense_matrix(layer, shape), ord=2).item()


@pytest.mark.parametrize("hw", SHAPES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_power_method_matches_the_operator_matrix(name, hw):
    layer = _layer(CASES[name])
    shape = (layer.in_channels, *hw)
    value = operator_norm(layer, shape, method="power", n_iter=5000, tol=1e-9,
                          generator=torch.Generator().manual_seed(0))
    assert value == pytest.approx(_exact(layer, shape), rel=1e-4)


@pytest.mark.parametrize("hw", SHAPES)
@pytest.mark.parametrize("name", [n for n in sorted(CASES)
                                  if CASES[n]["mode"] == "circular" or CASES[n]["k"] == 1])
def test_fft_method_is_exact_for_circular_same_padding(name, hw):
    layer = _layer(CASES[name])
    shape = (layer.in_channels, *hw)
    assert supports_fft(layer, shape)
    assert conv_fft_norm(layer, shape).item() == pytest.approx(_exact(layer, shape), rel=1e-6)


@pytest.mark.parametrize(("stride", "expected"), [(1, 81.0), (2, 25.0)])
def test_known_values_of_the_all_ones_kernel(stride, expected):
    layer = nn.Conv2d(1, 1, 3, stride=stride, padding=1, padding_mode="circular", bias=False)
    with torch.no_grad():
        layer.weight.fill_(1.0)
    assert operator_norm(layer, (1, 8, 8), method="fft") ** 2 == pytest.approx(expected)
    assert operator_norm(layer, (1, 8, 8), method="dense") ** 2 == pytest.approx(expected,
                                                                                 rel=1e-5)


def test_pointwise_convolution_is_its_kernel_matrix():
    layer = nn.Conv2d(64, 128, 1, stride=2, bias=False)
    expected = torch.linalg.matrix_norm(layer.weight[:, :, 0, 0].detach(), ord=2).item()
    assert operator_norm(layer) == pytest.approx(expected)  # no input shape needed
    assert operator_norm(layer, (64, 6, 6), method="power") == pytest.approx(expected, rel=1e-4)


def test_zero_and_circular_padding_differ():
    zeros = _layer(CASES["3x3 zeros"])
    circular = _layer(CASES["3x3 circular"])  # same kernel
    assert torch.equal(zeros.weight, circular.weight)
    assert _exact(zeros, (3, 8, 8)) != pytest.approx(_exact(circular, (3, 8, 8)), rel=1e-3)
    flattened = torch.linalg.matrix_norm(zeros.weight.reshape(4, -1), ord=2).item()
    assert flattened != pytest.approx(_exact(zeros, (3, 8, 8)), rel=1e-3)


def test_auto_method_picks_an_exact_value():
    layer = _layer(CASES["3x3 zeros"])
    assert operator_norm(layer, (3, 8, 8)) == pytest.approx(_exact(layer, (3, 8, 8)), rel=1e-6)
    assert operator_norm(layer, (8, 8)) == operator_norm(layer, (3, 8, 8))


def test_gradient_of_sigma_equals_autograd_of_the_exact_norm():
    layer = _layer(CASES["3x3 zeros stride 2"])
    shape = (3, 6, 6)
    x = torch.randn(1, *shape, dtype=torch.float64)
    _, _, x = conv_power_iteration(layer, x / x.norm(), n_iter=5000, tol=1e-14)
    sigma, grad = conv_sigma_and_grad(layer, x)
    weight = layer.weight.detach().clone().requires_grad_()
    basis = torch.eye(108, dtype=torch.float64).reshape(108, *shape)
    matrix = nn.functional.conv2d(basis, weight, stride=2, padding=1).reshape(108, -1)
    exact = torch.linalg.matrix_norm(matrix, ord=2)
    (expected,) = torch.autograd.grad(exact, weight)
    assert sigma.item() == pytest.approx(exact.item(), rel=1e-9)
    assert torch.linalg.norm(grad - expected) <= 1e-6 * torch.linalg.norm(expected)


def test_capture_input_shapes_of_a_strided_network():
    net = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(),
                        nn.Conv2d(8, 4, 1), nn.Conv2d(4, 4, 3, padding=1))
    net.train()
    assert capture_input_shapes(net, (3, 32, 20)) == {"0": (3, 32, 20), "2": (8, 16, 10),
                                                      "3": (4, 16, 10)}
    assert net.training
