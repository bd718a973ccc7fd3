"""Top singular triplet of a dense matrix: warm-started power iteration and exact SVD."""

import torch


def random_unit_vector(n, *, dtype=None, device=None, generator=None):
    """Draw a vector uniformly from the unit sphere in ``R^n``.

    Parameters
    ----------
    n : int
        Dimension of the vector.
    dtype : torch.dtype, default=None
        Floating-point type of the result; torch's default dtype when None.
    device : torch.device or str, default=None
        Device the vector is created on; torch's default device when None.
    generator : torch.Generator, default=None
        Source of randomness; the global generator when None.

    Returns
    -------
    v : torch.Tensor of shape (n,)
        A vector of Euclidean norm 1 with a rotation-invariant direction.

    See Also
    --------
    power_iteration : Uses such a vector as its cold start.

    Examples
    --------
    >>> import torch
    >>> from skspectral.spectral import random_unit_vector
    >>> v = random_unit_vector(5, generator=torch.Generator().manual_seed(0))
    >>> v.shape, round(float(v.norm()), 6)
    (torch.Size([5]), 1.0)
    """
    v = torch.randn(n, dtype=dtype, device=device, generator=generator)
    return v / v.norm()


@torch.no_grad()
def power_iteration(weight, v, n_iter=1, tol=None):
    """Refine the top right singular vector of ``weight`` by power iteration on ``W^T W``.

    One iteration is ``v <- W^T W v / ||W^T W v||``; afterwards ``sigma = ||W v||`` and
    ``u = W v / sigma``. Starting from the previous step's ``v`` (a warm start), one
    iteration per optimizer step tracks the top singular vector because ``W`` moves slowly.

    Parameters
    ----------
    weight : torch.Tensor of shape (m, n)
        The matrix whose top singular triplet is estimated (detached: no gradient flows).
    v : torch.Tensor of shape (n,)
        Current estimate of the top right singular vector (unit norm). Not modified.
    n_iter : int, default=1
        Maximum number of iterations (at least 1).
    tol : float, default=None
        Stop early once the relative change of ``sigma`` between two iterations is below
        ``tol``. Checking it synchronizes with the device, so leave it None in hot loops.

    Returns
    -------
    sigma : torch.Tensor (0-d)
        Estimate of the top singular value; a lower bound of the exact value.
    u : torch.Tensor of shape (m,)
        Top left singular vector estimate.
    v : torch.Tensor of shape (n,)
        Top right singular vector estimate (a new tensor).

    Raises
    ------
    ValueError
        If ``n_iter`` is smaller than 1.

    See Also
    --------
    top_singular_triplet : The exact triplet through a full SVD.
    random_unit_vector : A cold start for ``v``.

    Examples
    --------
    The estimate approaches the top singular value (here 3) from below:

    >>> import torch
    >>> from skspectral.spectral import power_iteration
    >>> W = torch.diag(torch.tensor([3.0, 1.0]))
    >>> sigma, u, v = power_iteration(W, torch.tensor([0.6, 0.8]), n_iter=20)
    >>> round(float(sigma), 4), [round(float(x), 3) for x in v]
    (3.0, [1.0, 0.0])
    >>> sigma, _, _ = power_iteration(W, torch.tensor([0.6, 0.8]), n_iter=1)
    >>> 2.9 < float(sigma) < 3.0
    True
    """
    if n_iter < 1:
        raise ValueError(f"n_iter must be >= 1, got {n_iter}.")
    w = weight.detach()
    v = v.to(dtype=w.dtype)
    previous = None
    for _ in range(n_iter):
        wv = w @ v
        if tol is not None:  # sigma at the current v, from the product the step needs anyway
            sigma = wv.norm()
            if previous is not None and abs(sigma - previous) <= tol * sigma:
                break
            previous = sigma
        v = w.T @ wv
        v = v / v.norm().clamp_min(torch.finfo(v.dtype).tiny)
    wv = w @ v
    sigma = wv.norm()
    u = wv / sigma.clamp_min(torch.finfo(wv.dtype).tiny)
    return sigma, u, v


@torch.no_grad()
def top_singular_triplet(weight):
    """Exact top singular value and vectors of a dense matrix through a full SVD.

    Parameters
    ----------
    weight : torch.Tensor of shape (m, n)
        The matrix; detached, so no gradient flows through the decomposition.

    Returns
    -------
    sigma : torch.Tensor (0-d)
        The largest singular value (the spectral norm of ``weight``).
    u : torch.Tensor of shape (m,)
        A unit left singular vector for ``sigma`` (its sign is arbitrary).
    v : torch.Tensor of shape (n,)
        A unit right singular vector for ``sigma``, with ``weight @ v = sigma * u``.

    See Also
    --------
    power_iteration : A cheap, warm-started estimate of the same triplet.

    Examples
    --------
    >>> import torch
    >>> from skspectral.spectral import top_singular_triplet
    >>> W = torch.tensor([[0.0, 2.0], [1.0, 0.0]])
    >>> sigma, u, v = top_singular_triplet(W)
    >>> round(float(sigma), 4)
    2.0
    >>> bool(torch.allclose(W @ v, sigma * u))
    True
    """
    u, s, vh = torch.linalg.svd(weight.detach(), full_matrices=False)
    return s[0], u[:, 0], vh[0]
