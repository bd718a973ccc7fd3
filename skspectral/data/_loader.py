"""The one batch iterator the estimators give skorch: arrays sliced, Datasets loaded."""

import numpy as np
import torch

from ._arrays import ArrayDataset, TensorBatchIterator
from ._batches import GlobalBatches

__all__ = ["BatchLoader", "LOADER_PARAMS", "collate"]

#: The DataLoader settings a Dataset is read with, as routed estimator parameters
#: ``iterator_train__<name>`` (training) and ``iterator_valid__<name>`` (predict, transform).
LOADER_PARAMS = ("num_workers", "pin_memory", "persistent_workers", "prefetch_factor")


def collate(items):
    """Stack a list of ``(x, code)`` items into a batch ``(images, codes)``.

    The collate function of :class:`BatchLoader`'s DataLoader.

    Parameters
    ----------
    items : list of tuple (torch.Tensor, int)
        Items of an :class:`ItemDataset`: a sample and its class code (-1: unlabelled).

    Returns
    -------
    images : torch.Tensor
        The samples stacked along a new first dimension.
    codes : torch.Tensor of int64 or None
        The codes, or None when every item is unlabelled (-1).

    Examples
    --------
    >>> import torch
    >>> from skspectral.data import collate
    >>> x, codes = collate([(torch.zeros(2), 3), (torch.ones(2), 1)])
    >>> tuple(x.shape), codes.tolist()
    ((2, 2), [3, 1])
    >>> collate([(torch.zeros(2), -1)])[1] is None
    True
    """
    xs, codes = zip(*items, strict=True)
    codes = torch.as_tensor(codes, dtype=torch.int64)
    return torch.stack(xs), (None if bool((codes < 0).all()) else codes)


class _Indices:
    """A :class:`GlobalBatches` as the lists of ints a DataLoader's batch_sampler yields."""

    def __init__(self, batches):
        self.batches = batches

    def __len__(self):
        return len(self.batches)

    def __iter__(self):
        for index in self.batches:
            yield (list(range(index.start, index.stop)) if isinstance(index, slice)
                   else index.tolist())


def _epoch_seed(seed, epoch):
    # Independent, well-mixed streams per (seed, epoch) (SeedSequence hashes the pair).
    return int(np.random.SeedSequence([int(seed) % 2**63, int(epoch)]).generate_state(1)[0])


class BatchLoader:
    """Mini-batches of an :class:`ArrayDataset` (sliced) or of any map-style Dataset.

    skorch's ``iterator_train`` and ``iterator_valid`` for every estimator. Arrays in memory
    are sliced a whole batch at a time (:class:`TensorBatchIterator`: no per-sample
    ``__getitem__``, no worker processes, nothing to gain from them). A Dataset is read by a
    :class:`torch.utils.data.DataLoader` whose ``batch_sampler`` is the same
    :class:`GlobalBatches` (so one seed gives the same batches either way, and each
    data-parallel rank reads only its share), with ``num_workers`` worker processes. The
    workers' seeds (torch, ``random`` and NumPy, which the DataLoader derives from one base
    seed per pass) come from ``seed`` and the epoch, so a given ``random_state`` gives the
    same random transforms in the workers on every run, resumed ones included.

    Parameters
    ----------
    dataset : ArrayDataset or torch.utils.data.Dataset
        A Dataset's items are ``(x, code)`` pairs (see :class:`ItemDataset`).
    batch_size, shuffle, drop_last, min_last_batch, num_replicas, rank
        The batch order and this process's share of it, as :class:`GlobalBatches` takes
        them.
    num_workers : int, default=0
        DataLoader worker processes (0: load in the main process).
    pin_memory : bool, default=False
        Page-locked batches, for faster copies to a GPU.
    persistent_workers : bool, default=False
        Keep the workers between epochs (one fit's passes share one loader).
    prefetch_factor : int or None, default=None
        Batches each worker loads ahead (DataLoader's default, 2, when None).
    seed : int, default=0
        Base of the workers' seeds.
    start_epoch : int, default=0
        Number of the first pass (epochs already trained), mixed into the seeds.

    See Also
    --------
    skspectral.data.GlobalBatches : The batch order, shared by both paths.

    Examples
    --------
    >>> import numpy as np
    >>> from skspectral.data import ArrayDataset, BatchLoader
    >>> loader = BatchLoader(ArrayDataset(np.zeros((5, 3)), np.arange(5)), batch_size=2)
    >>> len(loader), [tuple(x.shape) for x, _ in loader]
    (3, [(2, 3), (2, 3), (1, 3)])
    """

    def __init__(self, dataset, batch_size, shuffle=False, drop_last=False, min_last_batch=1,
                 num_replicas=1, rank=0, num_workers=0, pin_memory=False,
                 persistent_workers=False, prefetch_factor=None, seed=0, start_epoch=0):
        self.dataset = dataset
        if isinstance(dataset, ArrayDataset):
            self._arrays = TensorBatchIterator(dataset, batch_size, shuffle=shuffle,
                                               drop_last=drop_last, num_replicas=num_replicas,
                                               rank=rank, min_last_batch=min_last_batch)
            return
        self._arrays = None
        self.batches = GlobalBatches(len(dataset), batch_size, shuffle=shuffle,
                                     drop_last=drop_last, min_last_batch=min_last_batch,
                                     num_replicas=num_replicas, rank=rank)
        self.seed = seed
        self.epoch = start_epoch
        self.generator = torch.Generator()
        workers = {} if not num_workers else {"persistent_workers": persistent_workers,
                                              "prefetch_factor": prefetch_factor}
        self.loader = torch.utils.data.DataLoader(
            dataset, batch_sampler=_Indices(self.batches), num_workers=num_workers,
            collate_fn=collate, pin_memory=pin_memory, generator=self.generator, **workers)

    def __len__(self):
        return len(self._arrays if self._arrays is not None else self.batches)

    def __iter__(self):
        if self._arrays is not None:
            yield from self._arrays
            return
        self.generator.manual_seed(_epoch_seed(self.seed, self.epoch))
        self.epoch += 1
        yield from self.loader
