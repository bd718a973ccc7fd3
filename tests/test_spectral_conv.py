"""Operator norms of convolutions against the explicit operator matrix."""

import math

import pytest
import torch
import torch.nn as nn

from skspectral.spectral import (
    capture_input_shapes,
    conv_adjoint,
    conv_apply,
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


@pytest.mark.parametrize(("name", "hw"), [("3x3 circular", (2, 2)),
                                          ("3x3 circular stride 2", (2, 4)),
                                          ("7x7 circular", (4, 4)), ("7x7 circular", (3, 5)),
                                          ("dilation 2 circular", (2, 2))])
def test_fft_method_is_exact_for_kernels_larger_than_the_input(name, hw):
    # on a torus smaller than the kernel, taps wrap around and add up
    layer = _layer(CASES[name])
    shape = (layer.in_channels, *hw)
    assert supports_fft(layer, shape)
    exact = _exact(layer, shape)
    assert conv_fft_norm(layer, shape).item() == pytest.approx(exact, rel=1e-6)
    assert operator_norm(layer, shape) == pytest.approx(exact, rel=1e-6)  # "auto": the FFT


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


def _operator_matrix(layer, weight, shape):
    """The convolution's matrix built from its definition (explicit padding of each basis
    image, then an unpadded convolution), differentiable in ``weight``."""
    n = math.prod(shape)
    basis = torch.eye(n, dtype=weight.dtype).reshape(n, *shape)
    padding = layer.padding
    if layer.padding_mode != "zeros":
        (ph, pw), padding = layer.padding, 0
        basis = nn.functional.pad(basis, (pw, pw, ph, ph), mode=layer.padding_mode)
    out = nn.functional.conv2d(basis, weight, stride=layer.stride, padding=padding,
                               dilation=layer.dilation, groups=layer.groups)
    return out.reshape(n, -1).T


GRADIENT_CASES = {
    "zeros stride 2": dict(CASES["3x3 zeros stride 2"], shape=(3, 6, 6)),
    "circular": dict(CASES["3x3 circular"], shape=(3, 6, 8)),
    "circular stride 2": dict(CASES["3x3 circular stride 2"], shape=(3, 6, 8)),
    "circular dilation 2": dict(CASES["dilation 2 circular"], shape=(4, 5, 7)),
    "circular groups 2": dict(CASES["groups 2 circular"], shape=(4, 6, 6)),
    "reflect": dict(CASES["reflect"], shape=(2, 6, 8)),
    "reflect stride 2": dict(CASES["reflect"], stride=2, shape=(2, 6, 8)),
    "replicate": dict(CASES["reflect"], mode="replicate", shape=(2, 6, 8)),
}


@pytest.mark.parametrize("name", sorted(GRADIENT_CASES))
def test_gradient_of_sigma_equals_autograd_of_the_exact_norm(name):
    case = GRADIENT_CASES[name]
    layer, shape = _layer(case), case["shape"]
    weight = layer.weight.detach().clone().requires_grad_()
    matrix = _operator_matrix(layer, weight, shape)
    torch.testing.assert_close(matrix.detach(), conv_dense_matrix(layer, shape), rtol=0, atol=0)
    exact = torch.linalg.matrix_norm(matrix, ord=2)
    (expected,) = torch.autograd.grad(exact, weight)
    top = torch.linalg.svdvals(matrix.detach())[:3]
    # A real kernel's circular operator has its top singular value twice (frequencies k and
    # -k): sigma stays differentiable (the two branches coincide for every real kernel), and
    # any unit vector of the top subspace gives the same gradient. Otherwise it is simple.
    assert top[1] < top[0] * (1 - 1e-3) or case["mode"] == "circular"
    assert top[2] < top[0] * (1 - 1e-3)  # the power iteration converges geometrically

    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, *shape, dtype=torch.float64, generator=g)
    _, _, x = conv_power_iteration(layer, x / x.norm(), n_iter=20000, tol=1e-15)
    sigma, grad = conv_sigma_and_grad(layer, x)
    # float64 throughout: sigma to the power iteration's convergence (relative 1e-15 in sigma,
    # so ~3e-8 in the vector and its first-order gradient); 1e-6 leaves room for ill-conditioning.
    assert sigma.item() == pytest.approx(exact.item(), rel=1e-9)
    assert torch.linalg.norm(grad - expected) <= 1e-6 * torch.linalg.norm(expected)


def test_capture_input_shapes_of_a_strided_network():
    net = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(),
                        nn.Conv2d(8, 4, 1), nn.Conv2d(4, 4, 3, padding=1))
    net.train()
    assert capture_input_shapes(net, (3, 32, 20)) == {"0": (3, 32, 20), "2": (8, 16, 10),
                                                      "3": (4, 16, 10)}
    assert net.training


# ---------------------------------------------------------------- Conv1d, Conv2d, Conv3d

def _unrolled(layer, shape):
    """The convolution's matrix from the definition, by index arithmetic in NumPy (no torch
    convolution): output (o, q) sums w[o, c, j] x[g*c_in_g + c, q*s - p + j*d] over the
    kernel offsets j that land inside the input (zero padding)."""
    import itertools

    import numpy as np

    w = layer.weight.detach().double().numpy()
    c_in, *spatial = shape
    g = layer.groups
    c_out, c_in_g = w.shape[:2]
    out_sizes = [(n + 2 * p - d * (k - 1) - 1) // s + 1 for n, k, s, p, d in
                 zip(spatial, layer.kernel_size, layer.stride, layer.padding, layer.dilation,
                     strict=True)]
    matrix = np.zeros((c_out, *out_sizes, c_in, *spatial))
    for o in range(c_out):
        group = o // (c_out // g)
        for q in itertools.product(*map(range, out_sizes)):
            for c in range(c_in_g):
                for j in itertools.product(*map(range, layer.kernel_size)):
                    i = [qq * s - p + jj * d for qq, jj, s, p, d in
                         zip(q, j, layer.stride, layer.padding, layer.dilation, strict=True)]
                    if all(0 <= ii < n for ii, n in zip(i, spatial, strict=True)):
                        matrix[(o, *q, group * c_in_g + c, *i)] += w[(o, c, *j)]
    return torch.from_numpy(matrix.reshape(c_out * math.prod(out_sizes), -1))


ND_CASES = {
    "1d": (nn.Conv1d, dict(c_in=3, c_out=4, k=3, padding=1), (3, 9)),
    "1d strided dilated": (nn.Conv1d, dict(c_in=2, c_out=3, k=3, stride=2, padding=2,
                                           dilation=2), (2, 11)),
    "1d grouped": (nn.Conv1d, dict(c_in=4, c_out=6, k=3, padding=1, groups=2), (4, 7)),
    "1d depthwise": (nn.Conv1d, dict(c_in=3, c_out=3, k=5, padding=2, groups=3), (3, 8)),
    "2d depthwise strided": (nn.Conv2d, dict(c_in=3, c_out=6, k=3, stride=2, padding=1,
                                             groups=3), (3, 7, 6)),
    "2d grouped dilated": (nn.Conv2d, dict(c_in=4, c_out=4, k=3, padding=2, dilation=2,
                                           groups=2), (4, 6, 5)),
    "3d": (nn.Conv3d, dict(c_in=2, c_out=3, k=3, padding=1), (2, 4, 3, 5)),
    "3d depthwise strided": (nn.Conv3d, dict(c_in=2, c_out=2, k=3, stride=2, padding=1,
                                             groups=2), (2, 5, 4, 4)),
    "3d grouped dilated": (nn.Conv3d, dict(c_in=4, c_out=2, k=2, padding=1, dilation=2,
                                           groups=2), (4, 3, 4, 3)),
}


def _nd_layer(name, seed=0):
    cls, kw, _ = ND_CASES[name]
    torch.manual_seed(seed)
    return cls(kw["c_in"], kw["c_out"], kw["k"], stride=kw.get("stride", 1),
               padding=kw["padding"], dilation=kw.get("dilation", 1),
               groups=kw.get("groups", 1)).double()


@pytest.mark.parametrize("name", sorted(ND_CASES))
def test_nd_operator_norm_is_the_svd_of_the_unrolled_operator(name):
    layer, shape = _nd_layer(name), ND_CASES[name][2]
    unrolled = _unrolled(layer, shape)
    # conv_dense_matrix (torch's convolution on a basis) is the same matrix, up to the float64
    # rounding of a sum of at most c_in_g * prod(k) products (~1e-15 relative).
    torch.testing.assert_close(conv_dense_matrix(layer, shape), unrolled, rtol=0, atol=1e-12)
    exact = torch.linalg.matrix_norm(unrolled, ord=2).item()
    assert operator_norm(layer, shape, method="dense") == pytest.approx(exact, rel=1e-12)
    # The power iteration (convolution, then its transposed convolution) to a relative change
    # of 1e-13 in sigma: sigma's error is second order in the vector's, well below 1e-9.
    power = operator_norm(layer, shape, method="power", n_iter=20000, tol=1e-13,
                          generator=torch.Generator().manual_seed(0))
    assert power == pytest.approx(exact, rel=1e-9)


@pytest.mark.parametrize("name", ["1d strided dilated", "3d depthwise strided"])
def test_nd_adjoint_and_gradient_of_sigma(name):
    layer, shape = _nd_layer(name), ND_CASES[name][2]
    weight = layer.weight.detach().clone().requires_grad_()
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1, *shape, dtype=torch.float64, generator=g)
    y = torch.randn_like(conv_apply(layer, x), dtype=torch.float64)
    # <A x, y> = <x, A^T y> (the adjoint is the transpose of the unrolled matrix)
    unrolled = _unrolled(layer, shape)
    torch.testing.assert_close(conv_adjoint(layer, y, shape).flatten(), unrolled.T @ y.flatten(),
                               rtol=0, atol=1e-12)
    matrix = torch.func.functional_call(layer, {"weight": weight}, (
        torch.eye(math.prod(shape), dtype=torch.float64).reshape(-1, *shape),))
    matrix = (matrix - layer.bias.detach().reshape(1, -1, *[1] * len(shape[1:]))).reshape(
        math.prod(shape), -1).T
    exact = torch.linalg.matrix_norm(matrix, ord=2)
    (expected,) = torch.autograd.grad(exact, weight)
    _, _, v = conv_power_iteration(layer, x / x.norm(), n_iter=20000, tol=1e-15)
    sigma, grad = conv_sigma_and_grad(layer, v)
    assert sigma.item() == pytest.approx(exact.item(), rel=1e-9)
    assert torch.linalg.norm(grad - expected) <= 1e-6 * torch.linalg.norm(expected)


@pytest.mark.parametrize("mode", ["circular", "reflect"])
def test_nd_padding_modes_match_the_dense_operator(mode):
    layer = nn.Conv3d(2, 3, 3, padding=1, padding_mode=mode, bias=False).double()
    shape = (2, 4, 3, 5)
    exact = operator_norm(layer, shape, method="dense")
    power = operator_norm(layer, shape, method="power", n_iter=20000, tol=1e-13,
                          generator=torch.Generator().manual_seed(0))
    assert power == pytest.approx(exact, rel=1e-9)


def test_pointwise_nd_convolutions_are_their_kernel_matrices():
    for layer in (nn.Conv1d(4, 6, 1, stride=2), nn.Conv3d(4, 6, 1)):
        expected = torch.linalg.matrix_norm(layer.weight.detach().reshape(6, 4), ord=2).item()
        assert operator_norm(layer) == pytest.approx(expected, rel=1e-6)


def test_nd_input_shape_errors_name_the_expected_axes():
    with pytest.raises(ValueError, match=r"\(c_in=2, D, H, W\)"):
        operator_norm(nn.Conv3d(2, 3, 3), (5, 5))
    with pytest.raises(ValueError, match=r"\(c_in=2, L\) is required"):
        operator_norm(nn.Conv1d(2, 3, 3))
