"""The order of an epoch's samples: shuffled global batches, split across data-parallel ranks."""

import torch

from .._collectives import broadcast_

__all__ = ["GlobalBatches"]


class GlobalBatches(torch.utils.data.Sampler):
    """Per-rank index batches of one pass over ``n`` samples (a batch sampler).

    ``batch_size`` is the *global* batch: with ``num_replicas`` data-parallel processes, rank
    ``r`` gets positions ``r, r + num_replicas, ...`` of every global batch
    (``batch_size / num_replicas`` rows each), so that the ranks together see exactly the
    batches one process would. Rank 0's permutation is broadcast to all, and the order is
    padded by wrapping around to a multiple of ``num_replicas``, as
    :class:`torch.utils.data.distributed.DistributedSampler` pads, so that every rank makes
    the same number of steps on batches of one size. (``DistributedSampler`` itself shards
    sample by sample, so its per-rank batches would not be one process's batches split.)

    A shuffled pass draws its permutation from torch's global generator when iteration
    starts, so one seed gives one order whether the batches slice arrays in memory or are
    loaded by a :class:`~torch.utils.data.DataLoader`.

    Parameters
    ----------
    n : int
        Number of samples.
    batch_size : int
        Global batch size, divisible by ``num_replicas``.
    shuffle : bool, default=False
        Draw a new permutation of the samples, from torch's global generator, at the start
        of every pass; False keeps their order.
    drop_last : bool, default=False
        Skip the last incomplete batch.
    min_last_batch : int, default=1
        Skip a last batch of fewer rows (global count) unless it is the only batch; e.g.
        ``batch_size`` drops an incomplete last batch where there are full ones.
    num_replicas : int, default=1
        Number of data-parallel processes sharing each global batch.
    rank : int, default=0
        This process's rank, in ``[0, num_replicas)``: which share it yields.

    Raises
    ------
    ValueError
        If ``rank`` is outside ``[0, num_replicas)`` or ``batch_size`` is not divisible by
        ``num_replicas``.

    Examples
    --------
    One process slices in order; two ranks split each global batch of 4 between them:

    >>> from skspectral.data import GlobalBatches
    >>> list(GlobalBatches(5, batch_size=2))
    [slice(0, 2, None), slice(2, 4, None), slice(4, 5, None)]
    >>> [b.tolist() for b in GlobalBatches(8, batch_size=4, num_replicas=2, rank=1)]
    [[1, 3], [5, 7]]
    """

    def __init__(self, n, batch_size, shuffle=False, drop_last=False, min_last_batch=1,
                 num_replicas=1, rank=0):
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank must be in [0, num_replicas={num_replicas}), got {rank}.")
        if batch_size % num_replicas:
            raise ValueError(f"batch_size={batch_size} is the global batch of "
                             f"{num_replicas} data-parallel processes and must be divisible "
                             "by their number.")
        self.n = int(n)
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.min_last_batch = int(min_last_batch)
        self.num_replicas = int(num_replicas)
        self.rank = int(rank)

    def _n_rows(self):
        """Rows this rank iterates over per pass (after padding)."""
        return -(-self.n // self.num_replicas)

    def __len__(self):
        n, b = self._n_rows(), self.batch_size // self.num_replicas
        full, rest = divmod(n, b)
        if rest and (self.drop_last or (full and rest * self.num_replicas
                                        < self.min_last_batch)):
            return full
        return full + bool(rest)

    def __iter__(self):
        """Yield index tensors (slices where the order is the identity on one process)."""
        n = self.n
        order = torch.randperm(n) if self.shuffle else None
        if self.num_replicas > 1:
            order = torch.arange(n) if order is None else broadcast_([order])[0]
            padded = order.repeat(-(-self.num_replicas * self._n_rows() // n))
            order = padded[:self.num_replicas * self._n_rows()][self.rank::self.num_replicas]
        rows, b = self._n_rows(), self.batch_size // self.num_replicas
        for i in range(len(self)):
            start, stop = i * b, min((i + 1) * b, rows)
            yield order[start:stop] if order is not None else slice(start, stop)
