"""In-memory tensors and a mini-batch iterator that slices them (no per-sample collate)."""

import numpy as np
import torch

from .._distributed import broadcast_

__all__ = ["ArrayDataset", "TensorBatchIterator"]


class ArrayDataset(torch.utils.data.Dataset):
    """Dataset over arrays already in memory, sliced a whole batch at a time.

    Parameters
    ----------
    X : numpy.ndarray or torch.Tensor
        Inputs; shared with the caller, not copied, when already float32 and contiguous.
    y : numpy.ndarray or torch.Tensor, optional
        Integer-encoded targets.
    """

    def __init__(self, X, y=None):
        self.X = torch.as_tensor(np.ascontiguousarray(X) if isinstance(X, np.ndarray) else X)
        self.y = None if y is None else torch.as_tensor(y)
        if self.y is not None and len(self.y) != len(self.X):
            raise ValueError(f"X and y have different lengths: {len(self.X)} and {len(self.y)}.")

    def __len__(self):
        return len(self.X)

    def __getitem__(self, index):
        return self.X[index], (None if self.y is None else self.y[index])


class TensorBatchIterator:
    """Iterate over an :class:`ArrayDataset` in mini-batches of sliced tensors.

    A drop-in for skorch's ``iterator_train`` / ``iterator_valid`` (called as
    ``TensorBatchIterator(dataset, batch_size=..., shuffle=...)``). Indexing the stored
    tensors once per batch avoids the per-sample ``__getitem__`` and collate of a
    ``DataLoader``, which costs more than a small network's step on a CPU.

    For data-parallel training each of ``num_replicas`` processes iterates over its share:
    ``batch_size`` is the global batch, and rank ``r`` gets rows ``r, r + num_replicas, ...``
    of each one (``batch_size / num_replicas`` rows). Rank 0's permutation is broadcast
    to all, and the data are padded by wrapping around to a multiple of ``num_replicas``
    (as :class:`torch.utils.data.distributed.DistributedSampler` does), so every rank
    makes the same number of steps on batches of one size.

    Parameters
    ----------
    dataset : ArrayDataset
    batch_size : int
    shuffle : bool, default=False
        Draw a new permutation (from torch's global generator) for every pass.
    drop_last : bool, default=False
        Skip the last incomplete batch.
    min_last_batch : int, default=1
        Skip a last batch of fewer rows (global count) unless it is the only batch; e.g.
        ``batch_size`` drops an incomplete last batch where there are full ones.
    num_replicas : int, default=1
        Number of data-parallel processes (torch.distributed's world size).
    rank : int, default=0
        This process's rank.
    """

    def __init__(self, dataset, batch_size, shuffle=False, drop_last=False, num_replicas=1,
                 rank=0, min_last_batch=1):
        if not isinstance(dataset, ArrayDataset):
            raise TypeError(f"TensorBatchIterator needs an ArrayDataset, got "
                            f"{type(dataset).__name__}.")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank must be in [0, num_replicas={num_replicas}), got {rank}.")
        if batch_size % num_replicas:
            raise ValueError(f"batch_size={batch_size} is the global batch of "
                             f"{num_replicas} data-parallel processes and must be divisible "
                             "by their number.")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.min_last_batch = int(min_last_batch)
        self.num_replicas = int(num_replicas)
        self.rank = int(rank)

    def _n_rows(self):
        """Rows this rank iterates over per pass (after padding)."""
        return -(-len(self.dataset) // self.num_replicas)

    def __len__(self):
        n, b = self._n_rows(), self.batch_size // self.num_replicas
        full, rest = divmod(n, b)
        if rest and (self.drop_last or (full and rest * self.num_replicas
                                        < self.min_last_batch)):
            return full
        return full + bool(rest)

    def __iter__(self):
        n = len(self.dataset)
        order = torch.randperm(n) if self.shuffle else None
        if self.num_replicas > 1:
            order = torch.arange(n) if order is None else broadcast_([order])[0]
            padded = order.repeat(-(-self.num_replicas * self._n_rows() // n))
            order = padded[:self.num_replicas * self._n_rows()][self.rank::self.num_replicas]
        rows, b = self._n_rows(), self.batch_size // self.num_replicas
        for i in range(len(self)):
            start, stop = i * b, min((i + 1) * b, rows)
            yield self.dataset[order[start:stop] if order is not None else slice(start, stop)]
