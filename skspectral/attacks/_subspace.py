"""Low-frequency DCT subspaces of images, where labels-only attacks draw their probes.

GeoDA, SurFree and CGBA estimate the boundary normal of an image classifier from probes in
the span of the lowest spatial frequencies: the normal of a natural-image classifier has most
of its energy there, so a probe budget spent in a subspace of dimension ``k`` estimates its
projection about ``d / k`` times more accurately than one spent in all ``d`` dimensions.
"""

import functools
import math
from numbers import Integral

import torch

__all__ = ["dct_matrix"]


def dct_matrix(n, *, device=None, dtype=torch.float32):
    """The orthonormal DCT-II matrix of size ``n``: row ``k`` is the ``k``-th cosine.

    ``C[k, j] = s_k cos(pi (j + 1/2) k / n)`` with ``s_0 = sqrt(1/n)`` and ``s_k = sqrt(2/n)``
    otherwise, so ``C @ x`` is ``scipy.fft.dct(x, norm="ortho")`` and ``C.T @ c`` its inverse.
    Computed in float64 and rounded once to ``dtype``.

    Parameters
    ----------
    n : int
        Signal length, at least 1.
    device : torch.device, str or None, default=None
        Where the matrix lives; None: the CPU.
    dtype : torch.dtype, default=torch.float32
        A floating dtype.

    Returns
    -------
    torch.Tensor of shape (n, n)
        A fresh copy (the attacks share a cached one per size, device and dtype).

    Raises
    ------
    ValueError
        If ``n`` is not a positive integer or ``dtype`` is not a floating dtype.

    Examples
    --------
    >>> import torch
    >>> from skspectral.attacks import dct_matrix
    >>> C = dct_matrix(4, dtype=torch.float64)
    >>> bool(torch.allclose(C @ C.T, torch.eye(4, dtype=torch.float64)))
    True
    >>> C[0]  # the constant signal, unit norm
    tensor([0.5000, 0.5000, 0.5000, 0.5000], dtype=torch.float64)
    """
    if isinstance(n, bool) or not isinstance(n, Integral) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}.")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"dtype must be a floating torch dtype, got {dtype!r}.")
    device = torch.device("cpu" if device is None else device)
    return _cached_dct_matrix(int(n), device, dtype).clone()


@functools.lru_cache(maxsize=32)
def _cached_dct_matrix(n, device, dtype):
    """:func:`dct_matrix` without checks, shared: callers must not modify it."""
    k = torch.arange(n, dtype=torch.float64)[:, None]
    j = torch.arange(n, dtype=torch.float64)[None, :]
    c = torch.cos(math.pi * (j + 0.5) * k / n) * math.sqrt(2.0 / n)
    c[0] = math.sqrt(1.0 / n)
    return c.to(device=device, dtype=dtype)


def spatial_split(image_shape):
    """``(channels, spatial shape)`` of a channels-first image shape: ``(H, W)`` is one
    channel; ``(C, H, W)`` and ``(C, D, H, W)`` have ``C`` channels."""
    if len(image_shape) == 2:
        return 1, tuple(image_shape)
    return image_shape[0], tuple(image_shape[1:])


class LowFrequencySubspace:
    """Unit directions drawn uniformly on the sphere of a low-frequency DCT subspace.

    The subspace holds, per channel, the images whose DCT-II coefficients vanish outside
    the lowest ``ceil(fraction * n)`` frequencies of each spatial dimension of length
    ``n``. A direction is ``C_1^T ... C_r^T z`` (the inverse DCT of Gaussian coefficients
    ``z`` on that corner, each spatial axis multiplied by its truncated orthonormal basis),
    which has the norm of ``z``: Gaussian ``z`` normalized is uniform on the subspace's
    sphere.

    Parameters
    ----------
    image_shape : tuple of int
        Channels-first shape of one sample, at least two dimensions.
    fraction : float in (0, 1]
        Fraction of each spatial dimension's frequencies kept.
    device : torch.device
    dtype : torch.dtype
    at_least : int, default=1
        Fewest frequencies kept per spatial dimension (all of a shorter one).
    """

    def __init__(self, image_shape, fraction, device, dtype, *, at_least=1):
        self.channels, spatial = spatial_split(tuple(image_shape))
        self.sizes = tuple(min(n, max(at_least, math.ceil(fraction * n - 1e-9)))
                           for n in spatial)
        self.bases = [_cached_dct_matrix(n, torch.device(device), dtype)[:k]
                      for n, k in zip(spatial, self.sizes, strict=True)]
        self.dim = self.channels * math.prod(self.sizes)

    def draw(self, m, generator):
        """``m`` unit directions of the subspace, flattened: shape ``(m, d)``."""
        basis = self.bases[0]
        z = torch.randn((m, self.channels, *self.sizes), generator=generator,
                        device=basis.device, dtype=basis.dtype)
        for axis, basis in enumerate(self.bases, start=2):
            z = torch.matmul(z.movedim(axis, -1), basis).movedim(-1, axis)
        u = z.reshape(m, -1)
        return u / torch.linalg.vector_norm(u, dim=1, keepdim=True)
