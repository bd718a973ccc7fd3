"""In-memory arrays and a mini-batch iterator that slices them (no per-sample collate)."""

import warnings

import numpy as np
import torch

from ._batches import GlobalBatches

__all__ = ["ArrayDataset", "TensorBatchIterator"]


class ArrayDataset(torch.utils.data.Dataset):
    """Dataset over arrays already in memory, sliced a whole batch at a time.

    Parameters
    ----------
    X : numpy.ndarray or torch.Tensor
        Inputs, shared with the caller, never copied when contiguous (read-only arrays,
        such as memory maps, too: the dataset never writes to them): uint8 images stay
        uint8 (a quarter of float32's memory) and are converted a batch at a time on the
        training device.
    y : numpy.ndarray, torch.Tensor or None, default=None
        Integer-encoded targets, one per row of X; None for unlabelled data (items then
        have target None).

    Raises
    ------
    ValueError
        If X and y differ in length.

    See Also
    --------
    skspectral.data.TensorBatchIterator : Its mini-batches, one slice per batch.

    Examples
    --------
    >>> import numpy as np
    >>> from skspectral.data import ArrayDataset
    >>> data = ArrayDataset(np.zeros((5, 3), dtype=np.float32), np.arange(5))
    >>> len(data)
    5
    >>> x, y = data[1:3]  # a whole batch in one slice
    >>> tuple(x.shape), y.tolist()
    ((2, 3), [1, 2])
    """

    def __init__(self, X, y=None):
        self.X = _shared_tensor(np.ascontiguousarray(X) if isinstance(X, np.ndarray) else X)
        self.y = None if y is None else _shared_tensor(y)
        if self.y is not None and len(self.y) != len(self.X):
            raise ValueError(f"X and y have different lengths: {len(self.X)} and {len(self.y)}.")

    def __len__(self):
        return len(self.X)

    def __getitem__(self, index):
        return self.X[index], (None if self.y is None else self.y[index])


def _shared_tensor(a):
    """``torch.as_tensor(a)``, sharing a read-only array (a memory map, joblib's arrays in
    its workers) without torch's warning that writing to it is undefined: the dataset only
    reads it."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.as_tensor(a)


class TensorBatchIterator:
    """Iterate over an :class:`ArrayDataset` in mini-batches of sliced tensors.

    A drop-in for skorch's ``iterator_train`` / ``iterator_valid`` (called as
    ``TensorBatchIterator(dataset, batch_size=..., shuffle=...)``). Indexing the stored
    tensors once per batch avoids the per-sample ``__getitem__`` and collate of a
    ``DataLoader``, which costs more than a small network's step on a CPU. The batches are
    those of :class:`GlobalBatches` (order, padding and data-parallel sharding). A
    ``DataLoader`` fetching whole batches from the same :class:`GlobalBatches` gives the same
    batches, but starts an iterator and draws a seed on every pass, which an epoch of one
    small batch (the XOR preset's) feels.

    Parameters
    ----------
    dataset : ArrayDataset
        The arrays to iterate over.
    batch_size, shuffle, drop_last, num_replicas, rank, min_last_batch
        The batch order and this process's share of it, as :class:`GlobalBatches` takes
        them.

    Raises
    ------
    TypeError
        If ``dataset`` is not an :class:`ArrayDataset`.

    Examples
    --------
    >>> import numpy as np
    >>> from skspectral.data import ArrayDataset, TensorBatchIterator
    >>> data = ArrayDataset(np.arange(10.0).reshape(5, 2), np.arange(5))
    >>> batches = TensorBatchIterator(data, batch_size=2)
    >>> len(batches), [y.tolist() for _, y in batches]
    (3, [[0, 1], [2, 3], [4]])
    >>> [y.tolist() for _, y in TensorBatchIterator(data, batch_size=2, drop_last=True)]
    [[0, 1], [2, 3]]
    """

    def __init__(self, dataset, batch_size, shuffle=False, drop_last=False, num_replicas=1,
                 rank=0, min_last_batch=1):
        if not isinstance(dataset, ArrayDataset):
            raise TypeError(f"TensorBatchIterator needs an ArrayDataset, got "
                            f"{type(dataset).__name__}.")
        self.dataset = dataset
        self.batches = GlobalBatches(len(dataset), batch_size, shuffle=shuffle,
                                     drop_last=drop_last, min_last_batch=min_last_batch,
                                     num_replicas=num_replicas, rank=rank)

    def __len__(self):
        return len(self.batches)

    def __iter__(self):
        for index in self.batches:
            yield self.dataset[index]
