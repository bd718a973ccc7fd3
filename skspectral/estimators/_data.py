"""In-memory tensors and a mini-batch iterator that slices them (no per-sample collate)."""

import numpy as np
import torch

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

    Parameters
    ----------
    dataset : ArrayDataset
    batch_size : int
    shuffle : bool, default=False
        Draw a new permutation (from torch's global generator) for every pass.
    drop_last : bool, default=False
        Skip the last incomplete batch.
    """

    def __init__(self, dataset, batch_size, shuffle=False, drop_last=False):
        if not isinstance(dataset, ArrayDataset):
            raise TypeError(f"TensorBatchIterator needs an ArrayDataset, got "
                            f"{type(dataset).__name__}.")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        n = len(self.dataset)
        order = torch.randperm(n) if self.shuffle else None
        for b in range(len(self)):
            start, stop = b * self.batch_size, min((b + 1) * self.batch_size, n)
            yield self.dataset[order[start:stop] if order is not None else slice(start, stop)]
