"""Top singular value of the linear map a Conv2d applies to a c_in x H x W input.

The operator norm depends on the input size, stride, padding, dilation and groups, not only on
the kernel: flattening the kernel to (c_out, c_in*k*k), as ``torch.nn.utils.spectral_norm``
does, gives a different number.
"""

import torch
import torch.nn as nn

__all__ = [
    "conv_adjoint",
    "conv_apply",
    "conv_dense_matrix",
    "conv_fft_norm",
    "conv_power_iteration",
    "conv_sigma_and_grad",
    "is_pointwise",
    "supports_fft",
]


def conv_apply(layer, x, weight=None):
    """The layer's linear map (no bias) applied to ``x``, honouring its ``padding_mode``."""
    return layer._conv_forward(x, layer.weight if weight is None else weight, None)


def _explicit_padding(layer):
    """``(pad, conv_padding)``: how the layer pads before its convolution, for the modes whose
    adjoint is written out (zeros, circular); None for the others."""
    if layer.padding_mode == "zeros":
        return None, layer.padding
    if layer.padding_mode == "circular":
        return layer._reversed_padding_repeated_twice, (0, 0)
    return None


def _fold_circular(z, pad):
    """Adjoint of circular padding: add the padded borders back onto the rows/columns they copy."""
    left, right, top, bottom = pad
    h = z.shape[-2] - top - bottom
    w = z.shape[-1] - left - right
    rows = z[..., top:top + h, :].clone()
    if bottom:
        rows[..., :bottom, :] += z[..., top + h:, :]
    if top:
        rows[..., h - top:, :] += z[..., :top, :]
    out = rows[..., left:left + w].clone()
    if right:
        out[..., :right] += rows[..., left + w:]
    if left:
        out[..., w - left:] += rows[..., :left]
    return out


def conv_adjoint(layer, y, input_shape, weight=None):
    """``A^T y`` for the layer's linear map ``A`` on inputs of ``input_shape`` (c, H, W)."""
    weight = layer.weight if weight is None else weight
    explicit = _explicit_padding(layer)
    if explicit is None:  # reflect / replicate: the vector-Jacobian product of the map
        x0 = torch.zeros(1, *input_shape, dtype=y.dtype, device=y.device)
        return torch.func.vjp(lambda t: conv_apply(layer, t, weight), x0)[1](y)[0]
    pad, conv_padding = explicit
    h, w = input_shape[1:]
    if pad is not None:
        h, w = h + pad[2] + pad[3], w + pad[0] + pad[1]
    out_pad = []
    for size, out, k, s, p, d in zip((h, w), y.shape[-2:], weight.shape[-2:], layer.stride,
                                     conv_padding, layer.dilation, strict=True):
        out_pad.append(size - ((out - 1) * s - 2 * p + d * (k - 1) + 1))
    z = torch.nn.functional.conv_transpose2d(y, weight, stride=layer.stride,
                                             padding=conv_padding, output_padding=out_pad,
                                             groups=layer.groups, dilation=layer.dilation)
    return z if pad is None else _fold_circular(z, pad)


def is_pointwise(layer):
    """A 1x1 convolution without padding: its operator norm is the norm of the c_out x c_in
    matrix, at any stride (striding only selects pixels)."""
    return (layer.kernel_size == (1, 1) and layer.padding == (0, 0) and layer.groups == 1)


def supports_fft(layer, input_shape):
    """Whether :func:`conv_fft_norm` is exact: circular "same" padding, H and W divisible by
    the stride."""
    _, h, w = input_shape
    (kh, kw), (dh, dw), (sh, sw) = layer.kernel_size, layer.dilation, layer.stride
    same = (layer.padding == ((kh - 1) * dh // 2, (kw - 1) * dw // 2)
            and (kh - 1) * dh % 2 == 0 and (kw - 1) * dw % 2 == 0)
    circular = layer.padding_mode == "circular" or layer.padding == (0, 0)
    return same and circular and sh == sw and h % sh == 0 and w % sw == 0


@torch.no_grad()
def conv_power_iteration(layer, x, n_iter=1, tol=None):
    """Warm-started power iteration on ``A^T A`` for the operator ``A`` of a convolution.

    One iteration is one convolution and its adjoint (a transposed convolution, obtained as
    the vector-Jacobian product of the linear map, so every padding mode, stride, dilation
    and group count is handled exactly).

    Parameters
    ----------
    layer : torch.nn.Conv2d
    x : torch.Tensor of shape (1, c_in, H, W)
        Current estimate of the top right singular vector (unit norm). Not modified.
    n_iter : int, default=1
    tol : float, optional
        Stop once the relative change of sigma is below ``tol`` (synchronizes the device).

    Returns
    -------
    sigma : torch.Tensor (0-d)
    u : torch.Tensor of the output's shape
    x : torch.Tensor of shape (1, c_in, H, W)
    """
    if n_iter < 1:
        raise ValueError(f"n_iter must be >= 1, got {n_iter}.")
    weight = layer.weight.detach()
    x = x.to(weight.dtype)
    shape = tuple(x.shape[1:])
    previous = None
    for _ in range(n_iter):
        y = conv_apply(layer, x, weight)
        if tol is not None:
            sigma = y.norm()
            if previous is not None and abs(sigma - previous) <= tol * sigma:
                break
            previous = sigma
        x = conv_adjoint(layer, y, shape, weight)
        x = x / x.norm().clamp_min(torch.finfo(x.dtype).tiny)
    y = conv_apply(layer, x, weight)
    sigma = y.norm()
    return sigma, y / sigma.clamp_min(torch.finfo(y.dtype).tiny), x


def conv_sigma_and_grad(layer, x):
    """``sigma = |A x|`` and its gradient with respect to the kernel (x held fixed).

    With ``x`` the top right singular vector, ``d sigma / d K`` is the weight-gradient of
    ``<u, conv_K(x)>``, ``u = conv_K(x) / sigma``: one convolution and one weight-gradient at
    batch size 1.

    Returns
    -------
    sigma : torch.Tensor (0-d)
    grad : torch.Tensor of the kernel's shape
    """
    weight = layer.weight.detach()
    explicit = _explicit_padding(layer)
    if explicit is None:
        y, vjp = torch.func.vjp(lambda k: conv_apply(layer, x, k), weight)
        sigma = y.norm()
        return sigma.detach(), vjp(y / sigma.clamp_min(torch.finfo(y.dtype).tiny))[0].detach()
    pad, conv_padding = explicit
    inp = x if pad is None else torch.nn.functional.pad(x, pad, mode="circular")
    y = torch.nn.functional.conv2d(inp, weight, stride=layer.stride, padding=conv_padding,
                                   dilation=layer.dilation, groups=layer.groups)
    sigma = y.norm()
    u = y / sigma.clamp_min(torch.finfo(y.dtype).tiny)
    grad = torch.nn.grad.conv2d_weight(inp, weight.shape, u, stride=layer.stride,
                                       padding=conv_padding, dilation=layer.dilation,
                                       groups=layer.groups)
    return sigma, grad


@torch.no_grad()
def conv_dense_matrix(layer, input_shape):
    """The explicit matrix ``(c_out*H'*W', c_in*H*W)`` of the convolution (tiny layers only)."""
    n = int(torch.tensor(input_shape).prod())
    weight = layer.weight.detach()
    basis = torch.eye(n, dtype=weight.dtype, device=weight.device).reshape(n, *input_shape)
    return conv_apply(layer, basis, weight).reshape(n, -1).T


@torch.no_grad()
def conv_fft_norm(layer, input_shape):
    """Exact top singular value for circular "same" padding, by FFT (Sedghi et al. 2019).

    The kernel is zero-padded at the end of the spatial axes to (H, W) (height by H - k_h,
    width by W - k_w), split into its ``s^2`` polyphase components for stride ``s``, and
    Fourier transformed; the operator is then block diagonal with one complex
    ``c_out x (c_in s^2)`` block per frequency, and sigma is the largest block norm.
    Dilation dilates the kernel; groups give one block set per group.

    Parameters
    ----------
    layer : torch.nn.Conv2d
        See :func:`supports_fft` for when the value is exact.
    input_shape : tuple (c_in, H, W)

    Returns
    -------
    torch.Tensor (0-d)

    Raises
    ------
    ValueError
        If the layer's padding is not circular "same" or H, W are not divisible by the stride.
    """
    if not supports_fft(layer, input_shape):
        raise ValueError(
            "the FFT method is exact only for circular 'same' padding with H and W divisible "
            f"by the stride; got padding={layer.padding}, padding_mode={layer.padding_mode!r}, "
            f"stride={layer.stride}, input {tuple(input_shape)}. Use method='power'.")
    _, h, w = input_shape
    s = layer.stride[0]
    kernel = layer.weight.detach()
    dh, dw = layer.dilation
    if (dh, dw) != (1, 1):
        c_out, c_in_g, kh, kw = kernel.shape
        dilated = kernel.new_zeros(c_out, c_in_g, (kh - 1) * dh + 1, (kw - 1) * dw + 1)
        dilated[:, :, ::dh, ::dw] = kernel
        kernel = dilated
    c_out, c_in_g, kh, kw = kernel.shape
    if kh > h or kw > w:
        raise ValueError(f"kernel {kh}x{kw} larger than the input {h}x{w}.")
    padded = nn.functional.pad(kernel, (0, w - kw, 0, h - kh))  # (left, right, top, bottom)
    phases = torch.stack([padded[:, :, a::s, b::s] for a in range(s) for b in range(s)], dim=2)
    spectrum = torch.fft.fft2(phases.to(torch.float64 if kernel.dtype == torch.float64
                                        else torch.float32))
    # (c_out, c_in_g, s^2, H/s, W/s) -> per frequency (groups, c_out/g, c_in_g * s^2)
    g = layer.groups
    blocks = spectrum.permute(3, 4, 0, 1, 2).reshape(h // s, w // s, g, c_out // g, c_in_g * s * s)
    return torch.linalg.matrix_norm(blocks, ord=2).max().to(kernel.dtype)
