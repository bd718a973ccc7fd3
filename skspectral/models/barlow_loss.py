"""The Barlow Twins loss (Zbontar et al. 2021), with global-batch statistics under DDP."""

import torch
import torch.nn as nn

from .._collectives import world

__all__ = ["BarlowTwinsLoss", "cross_correlation"]


def _global_sum(t, distributed):
    """``t`` summed over the ranks, differentiably (autograd sums the gradients back)."""
    if distributed and world()[1] > 1:
        import torch.distributed.nn.functional as dist_fn  # only where a group exists

        return dist_fn.all_reduce(t)
    return t


def _standardize(z, n, distributed, eps):
    """Columns of ``z`` centred and scaled by the (global) batch mean and biased variance."""
    mean = _global_sum(z.sum(dim=0), distributed) / n
    centred = z - mean
    var = _global_sum(centred.square().sum(dim=0), distributed) / n
    return centred / (var + eps).sqrt()


def cross_correlation(z1, z2, *, eps=1e-5, distributed=False):
    """``C = z1ᵀ z2 / N`` of the two branches, each standardized over the batch on its own.

    Each branch is centred and scaled by *its own* mean and variance (BatchNorm1d without
    affine parameters, biased variance, ``eps`` added to it), never by statistics pooled over
    the two branches.

    Parameters
    ----------
    z1, z2 : torch.Tensor of shape (N, D)
        Projections of the two views (row i of each from the same image).
    eps : float, default=1e-5
        Added to each variance (BatchNorm's default); 0 for the exact correlation.
    distributed : bool, default=False
        Under torch.distributed, use the global batch of all ranks (N summed over them):
        means, variances and C are all-reduced differentiably, so every rank gets the loss
        of the global batch and, after DistributedDataParallel averages the gradients, the
        gradient one process would compute on the whole batch.

    Returns
    -------
    C : torch.Tensor of shape (D, D)
        ``C[i, j]`` is the correlation of feature i of the first branch with feature j of
        the second over the batch (with ``eps=0``: 1 on the diagonal for identical branches).

    Raises
    ------
    ValueError
        If ``z1`` and ``z2`` are not matrices of one shape.

    Examples
    --------
    >>> import torch
    >>> from skspectral.models import cross_correlation
    >>> z = torch.tensor([[1.0, 2.0], [-1.0, 2.0], [1.0, -2.0], [-1.0, -2.0]])
    >>> cross_correlation(z, z, eps=0.0)
    tensor([[1., 0.],
            [0., 1.]])
    >>> cross_correlation(z, -z, eps=0.0).diagonal()
    tensor([-1., -1.])
    """
    if z1.shape != z2.shape or z1.ndim != 2:
        raise ValueError(f"z1 and z2 must be matrices of one shape (N, D), got {tuple(z1.shape)} "
                         f"and {tuple(z2.shape)}.")
    n = _global_sum(torch.tensor(float(len(z1)), device=z1.device, dtype=z1.dtype), distributed)
    z1 = _standardize(z1, n, distributed, eps)
    z2 = _standardize(z2, n, distributed, eps)
    return _global_sum(z1.T @ z2, distributed) / n


class BarlowTwinsLoss(nn.Module):
    """``sum_i (1 - C_ii)^2 + lambda_offdiag * sum_{i != j} C_ij^2``.

    ``C`` is :func:`cross_correlation` of the two branches. The first term makes each feature
    invariant to the augmentations, the second decorrelates the features.

    Parameters
    ----------
    lambda_offdiag : float, default=0.005
        Weight of the redundancy-reduction (off-diagonal) term.
    eps : float, default=1e-5
        Added to the variances when standardizing.
    distributed : bool, default=False
        Cross-correlation of the global batch under torch.distributed (see
        :func:`cross_correlation`).

    Attributes
    ----------
    last_parts_ : tuple of float tensors
        ``(on-diagonal term, lambda_offdiag * off-diagonal term)`` of the last call, detached.

    See Also
    --------
    cross_correlation : The matrix ``C``.
    BarlowTwins : The module whose output this loss takes.

    Examples
    --------
    Identical, decorrelated branches give a zero loss; opposite ones cost 4 per feature:

    >>> import torch
    >>> from skspectral.models import BarlowTwinsLoss
    >>> z = torch.tensor([[1.0, 2.0], [-1.0, 2.0], [1.0, -2.0], [-1.0, -2.0]])
    >>> loss = BarlowTwinsLoss(eps=0.0)
    >>> float(loss((z, z))), float(loss((z, -z)))
    (0.0, 8.0)
    >>> loss
    BarlowTwinsLoss(lambda_offdiag=0.005, eps=0.0)
    """

    def __init__(self, lambda_offdiag=0.005, eps=1e-5, distributed=False):
        super().__init__()
        self.lambda_offdiag = float(lambda_offdiag)
        self.eps = float(eps)
        self.distributed = bool(distributed)

    def forward(self, z, y=None):
        """Loss of the projections of the two views.

        Parameters
        ----------
        z : tuple (z1, z2) of torch.Tensor of shape (N, D)
            Projections of the two views, as :class:`BarlowTwins` returns them.
        y : object, default=None
            Ignored (self-supervised); present for skorch's ``criterion(y_pred, y)`` call.

        Returns
        -------
        loss : torch.Tensor (0-d)
            The on-diagonal plus the weighted off-diagonal term, in at least float32.
        """
        # At least float32 (the projections may come from autocast); float64 stays float64.
        z1, z2 = (t.to(torch.promote_types(t.dtype, torch.float32)) for t in z)
        c = cross_correlation(z1, z2, eps=self.eps, distributed=self.distributed)
        d = c.shape[0]
        on = (1 - torch.diagonal(c)).square().sum()
        # The off-diagonal entries without a subtraction (which would cancel against the ~D
        # of the diagonal): the flattened matrix minus its last entry, as rows of D + 1
        # starting with a diagonal entry.
        off_diagonal = c.flatten()[:-1].view(d - 1, d + 1)[:, 1:]
        off = self.lambda_offdiag * off_diagonal.square().sum()
        self.last_parts_ = (on.detach(), off.detach())
        return on + off

    def extra_repr(self):
        """The parameters shown in the module's repr.

        Returns
        -------
        text : str
            ``"lambda_offdiag=..., eps=..."``.
        """
        return f"lambda_offdiag={self.lambda_offdiag}, eps={self.eps}"
