"""Top singular value of the linear map a convolution applies to an input of a given size.

Conv1d, Conv2d and Conv3d alike (inputs ``(c_in, L)``, ``(c_in, H, W)``, ``(c_in, D, H, W)``).
The operator norm depends on the input size, stride, padding, dilation and groups, not only on
the kernel: flattening the kernel to (c_out, c_in*k*k), as ``torch.nn.utils.spectral_norm``
does, gives a different number.
"""

import torch
import torch.nn as nn

#: The convolution types whose operator norms this module computes.
CONV_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d)

_FUNCTIONAL = {1: (nn.functional.conv1d, nn.functional.conv_transpose1d, nn.grad.conv1d_weight),
               2: (nn.functional.conv2d, nn.functional.conv_transpose2d, nn.grad.conv2d_weight),
               3: (nn.functional.conv3d, nn.functional.conv_transpose3d, nn.grad.conv3d_weight)}


def _ndim(layer):
    """Number of spatial axes of a convolution (1, 2 or 3)."""
    return len(layer.kernel_size)


def conv_apply(layer, x, weight=None):
    """The layer's linear map (no bias) applied to ``x``, honouring its ``padding_mode``.

    Parameters
    ----------
    layer : torch.nn.Conv1d, torch.nn.Conv2d or torch.nn.Conv3d
        The convolution; its stride, padding (and ``padding_mode``), dilation and groups
        define the map. Its bias is not applied.
    x : torch.Tensor of shape ``(N, c_in, *spatial)``
        Inputs.
    weight : torch.Tensor, optional
        A kernel of the layer's weight shape to use instead of ``layer.weight`` (e.g. one
        that requires grad, to differentiate through the map).

    Returns
    -------
    torch.Tensor of shape ``(N, c_out, *spatial_out)``

    Examples
    --------
    >>> import torch
    >>> from skspectral.spectral import conv_apply
    >>> conv = torch.nn.Conv1d(1, 1, 3, padding=1, bias=True)
    >>> _ = conv.weight.data.fill_(1.0)
    >>> conv_apply(conv, torch.tensor([[[1.0, 2.0, 3.0]]])).detach()
    tensor([[[3., 6., 5.]]])
    """
    return layer._conv_forward(x, layer.weight if weight is None else weight, None)


def _int_padding(layer):
    """The layer's padding as a tuple of ints, or None for ``padding="same"`` (which may pad
    one side more than the other)."""
    if layer.padding == "valid":
        return (0,) * _ndim(layer)
    return None if isinstance(layer.padding, str) else tuple(layer.padding)


def _explicit_padding(layer):
    """``(pad, conv_padding)``: how the layer pads before its convolution, for the modes whose
    adjoint is written out (zeros, circular); None for the others (and ``padding="same"``)."""
    if _int_padding(layer) is None:
        return None
    if layer.padding_mode == "zeros":
        return None, _int_padding(layer)
    if layer.padding_mode == "circular":
        return layer._reversed_padding_repeated_twice, (0,) * _ndim(layer)
    return None


def _fold_circular(z, pad):
    """Adjoint of circular padding: add the padded borders back onto the entries they copy.

    ``pad`` is in :func:`torch.nn.functional.pad`'s order (last axis first), any number of
    axes."""
    for axis in range(len(pad) // 2):
        before, after = pad[2 * axis], pad[2 * axis + 1]
        dim = z.ndim - 1 - axis
        n = z.shape[dim] - before - after
        out = z.narrow(dim, before, n).clone()
        if after:
            out.narrow(dim, 0, after).add_(z.narrow(dim, before + n, after))
        if before:
            out.narrow(dim, n - before, before).add_(z.narrow(dim, 0, before))
        z = out
    return z


def conv_adjoint(layer, y, input_shape, weight=None):
    """``A^T y`` for the layer's linear map ``A`` on inputs of ``input_shape``.

    Parameters
    ----------
    layer : torch.nn.Conv1d, torch.nn.Conv2d or torch.nn.Conv3d
        The convolution ``A`` (bias excluded).
    y : torch.Tensor of shape ``(N, c_out, *spatial_out)``
        Vectors in the output space of ``A``.
    input_shape : tuple
        ``(c_in, *spatial)`` of one input, which fixes the operator.
    weight : torch.Tensor, optional
        A kernel to use instead of ``layer.weight``.

    Returns
    -------
    torch.Tensor of shape ``(N, c_in, *spatial)``
        A transposed convolution for zeros and circular padding; the vector-Jacobian product
        of the map for the other padding modes.

    Examples
    --------
    >>> import torch
    >>> from skspectral.spectral import conv_adjoint, conv_apply
    >>> conv = torch.nn.Conv1d(1, 1, 2, stride=2, bias=False)
    >>> _ = conv.weight.data.copy_(torch.tensor([[[1.0, 2.0]]]))
    >>> x, y = torch.tensor([[[1.0, 0.0, 2.0, 1.0]]]), torch.tensor([[[1.0, 3.0]]])
    >>> conv_adjoint(conv, y, (1, 4)).detach()
    tensor([[[1., 2., 3., 6.]]])
    >>> with torch.no_grad():
    ...     float((conv_apply(conv, x) * y).sum()), float((x * conv_adjoint(conv, y, (1, 4))).sum())
    (13.0, 13.0)
    """
    weight = layer.weight if weight is None else weight
    explicit = _explicit_padding(layer)
    if explicit is None:  # reflect / replicate: the vector-Jacobian product of the map
        x0 = torch.zeros(1, *input_shape, dtype=y.dtype, device=y.device)
        return torch.func.vjp(lambda t: conv_apply(layer, t, weight), x0)[1](y)[0]
    pad, conv_padding = explicit
    sizes = list(input_shape[1:])
    if pad is not None:  # pad is last axis first
        sizes = [size + pad[2 * j] + pad[2 * j + 1]
                 for size, j in zip(sizes, reversed(range(len(sizes))), strict=True)]
    out_pad = []
    for size, out, k, s, p, d in zip(sizes, y.shape[2:], weight.shape[2:], layer.stride,
                                     conv_padding, layer.dilation, strict=True):
        out_pad.append(size - ((out - 1) * s - 2 * p + d * (k - 1) + 1))
    transpose = _FUNCTIONAL[_ndim(layer)][1]
    z = transpose(y, weight, stride=layer.stride, padding=conv_padding, output_padding=out_pad,
                  groups=layer.groups, dilation=layer.dilation)
    return z if pad is None else _fold_circular(z, pad)


def is_pointwise(layer):
    """Whether a convolution is a per-position matrix: kernel 1 along every axis, no padding,
    one group.

    Its operator norm is then the norm of the ``c_out x c_in`` kernel matrix, at any input
    size and stride (striding only selects positions).

    Parameters
    ----------
    layer : torch.nn.Conv1d, torch.nn.Conv2d or torch.nn.Conv3d
        The convolution.

    Returns
    -------
    bool

    Examples
    --------
    >>> import torch
    >>> from skspectral.spectral import is_pointwise
    >>> is_pointwise(torch.nn.Conv3d(4, 8, 1, stride=2)), is_pointwise(torch.nn.Conv1d(4, 8, 3))
    (True, False)
    """
    padding = _int_padding(layer)
    return (all(k == 1 for k in layer.kernel_size) and padding is not None
            and not any(padding) and layer.groups == 1)


def supports_fft(layer, input_shape):
    """Whether :func:`conv_fft_norm` is exact: a Conv2d with circular "same" padding, H and W
    divisible by the stride.

    Parameters
    ----------
    layer : torch.nn.Conv1d, torch.nn.Conv2d or torch.nn.Conv3d
        Only a Conv2d can qualify.
    input_shape : tuple
        ``(c_in, *spatial)`` of one input.

    Returns
    -------
    bool

    Examples
    --------
    >>> import torch
    >>> from skspectral.spectral import supports_fft
    >>> conv = torch.nn.Conv2d(3, 8, 3, padding=1, padding_mode="circular")
    >>> supports_fft(conv, (3, 8, 8)), supports_fft(torch.nn.Conv2d(3, 8, 3), (3, 8, 8))
    (True, False)
    """
    if not isinstance(layer, nn.Conv2d) or isinstance(layer.padding, str):
        return False
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
    layer : torch.nn.Conv1d, torch.nn.Conv2d or torch.nn.Conv3d
        The convolution (bias excluded).
    x : torch.Tensor of shape ``(1, c_in, *spatial)``
        Current estimate of the top right singular vector (unit norm), shaped like one input
        (its spatial size fixes the operator). Not modified.
    n_iter : int, default=1
        Iterations (at least 1).
    tol : float, optional
        Stop once the relative change of sigma is below ``tol`` (synchronizes the device);
        None runs all ``n_iter``.

    Returns
    -------
    sigma : torch.Tensor (0-d)
        ``|A x|`` for the returned ``x``.
    u : torch.Tensor of the output's shape
        ``A x / sigma``, the left singular vector estimate.
    x : torch.Tensor of shape ``(1, c_in, *spatial)``
        The refined right singular vector estimate (unit norm).

    Examples
    --------
    >>> import torch
    >>> from skspectral.spectral import conv_power_iteration
    >>> conv = torch.nn.Conv1d(1, 1, 2, bias=False)
    >>> _ = conv.weight.data.copy_(torch.tensor([[[1.0, 1.0]]]))
    >>> x = torch.ones(1, 1, 2) / 2 ** 0.5
    >>> sigma, u, v = conv_power_iteration(conv, x, n_iter=3)
    >>> round(float(sigma), 4)
    1.4142
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

    Parameters
    ----------
    layer : torch.nn.Conv1d, torch.nn.Conv2d or torch.nn.Conv3d
        The convolution ``A`` (bias excluded).
    x : torch.Tensor of shape ``(1, c_in, *spatial)``
        A unit vector shaped like one input (the top right singular vector, e.g. from
        :func:`conv_power_iteration`).

    Returns
    -------
    sigma : torch.Tensor (0-d)
    grad : torch.Tensor of the kernel's shape

    Examples
    --------
    >>> import torch
    >>> from skspectral.spectral import conv_sigma_and_grad
    >>> conv = torch.nn.Conv1d(1, 1, 1, bias=False)
    >>> _ = conv.weight.data.fill_(3.0)
    >>> sigma, grad = conv_sigma_and_grad(conv, torch.tensor([[[1.0, 0.0]]]))
    >>> float(sigma), grad.flatten().tolist()
    (3.0, [1.0])
    """
    weight = layer.weight.detach()
    explicit = _explicit_padding(layer)
    if explicit is None:
        y, vjp = torch.func.vjp(lambda k: conv_apply(layer, x, k), weight)
        sigma = y.norm()
        return sigma.detach(), vjp(y / sigma.clamp_min(torch.finfo(y.dtype).tiny))[0].detach()
    pad, conv_padding = explicit
    conv, _, conv_weight = _FUNCTIONAL[_ndim(layer)]
    inp = x if pad is None else torch.nn.functional.pad(x, pad, mode="circular")
    y = conv(inp, weight, stride=layer.stride, padding=conv_padding, dilation=layer.dilation,
             groups=layer.groups)
    sigma = y.norm()
    u = y / sigma.clamp_min(torch.finfo(y.dtype).tiny)
    grad = conv_weight(inp, weight.shape, u, stride=layer.stride, padding=conv_padding,
                       dilation=layer.dilation, groups=layer.groups)
    return sigma, grad


@torch.no_grad()
def conv_dense_matrix(layer, input_shape):
    """The explicit matrix ``(c_out*prod(spatial_out), c_in*prod(spatial))`` of a
    convolution (tiny layers only): the layer applied to every basis vector.

    Parameters
    ----------
    layer : torch.nn.Conv1d, torch.nn.Conv2d or torch.nn.Conv3d
        The convolution (bias excluded).
    input_shape : tuple
        ``(c_in, *spatial)`` of one input.

    Returns
    -------
    torch.Tensor
        In the layer's dtype; rows and columns in C order of ``(c, *spatial)``.

    Examples
    --------
    >>> import torch
    >>> from skspectral.spectral import conv_dense_matrix
    >>> conv = torch.nn.Conv1d(1, 1, 2, bias=False)
    >>> _ = conv.weight.data.copy_(torch.tensor([[[1.0, 2.0]]]))
    >>> conv_dense_matrix(conv, (1, 3))
    tensor([[1., 2., 0.],
            [0., 1., 2.]])
    """
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
        Shape of one input.

    Returns
    -------
    torch.Tensor (0-d)

    Raises
    ------
    ValueError
        If the layer is not a Conv2d with circular "same" padding, or H, W are not divisible
        by the stride.

    Examples
    --------
    >>> import torch
    >>> from skspectral.spectral import conv_fft_norm
    >>> conv = torch.nn.Conv2d(1, 1, 3, padding=1, padding_mode="circular", bias=False)
    >>> _ = conv.weight.data.fill_(1.0)
    >>> float(conv_fft_norm(conv, (1, 8, 8)))
    9.0
    """
    if not supports_fft(layer, input_shape):
        raise ValueError(
            "the FFT method is exact only for circular 'same' padding of a Conv2d with H, W "
            f"divisible by the stride; got {type(layer).__name__} padding={layer.padding}, "
            f"padding_mode={layer.padding_mode!r}, stride={layer.stride}, input "
            f"{tuple(input_shape)}. Use method='power'.")
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
    # On an h x w torus a tap at offset i acts at i mod h: fold a kernel larger than the
    # input onto it (zero-pad to whole periods, sum the periods).
    ph, pw = -(-kh // h) * h, -(-kw // w) * w
    padded = nn.functional.pad(kernel, (0, pw - kw, 0, ph - kh))  # (left, right, top, bottom)
    padded = padded.reshape(c_out, c_in_g, ph // h, h, pw // w, w).sum(dim=(2, 4))
    phases = torch.stack([padded[:, :, a::s, b::s] for a in range(s) for b in range(s)], dim=2)
    spectrum = torch.fft.fft2(phases.to(torch.float64 if kernel.dtype == torch.float64
                                        else torch.float32))
    # (c_out, c_in_g, s^2, H/s, W/s) -> per frequency (groups, c_out/g, c_in_g * s^2)
    g = layer.groups
    blocks = spectrum.permute(3, 4, 0, 1, 2).reshape(h // s, w // s, g, c_out // g, c_in_g * s * s)
    return torch.linalg.matrix_norm(blocks, ord=2).max().to(kernel.dtype)
