"""Cheap per-epoch history for long trainings of small networks (skorch's records, O(1) rows)."""

import numpy as np
from skorch.callbacks import PassthroughScoring
from skorch.history import History

__all__ = ["EpochHistory", "EpochMeanLoss"]


class EpochHistory(History):
    """The skorch :class:`~skorch.history.History` with one epoch's row reached in O(1).

    skorch resolves every index, ``history[-1]`` included, through a copy of the whole list,
    and records each value through ``history[-1]``: with a dozen records per epoch, a tiny
    full-batch problem spends more time copying its history than training once it has
    thousands of epochs. An integer index here returns the same row object directly; every
    other index is skorch's.

    Parameters
    ----------
    iterable : iterable of dict, default=()
        Epoch rows to start from (as :class:`list` takes them); empty when omitted.

    Examples
    --------
    >>> from skspectral.training import EpochHistory
    >>> history = EpochHistory()
    >>> history.new_epoch()
    >>> history.record("train_loss", 0.5)
    >>> history[-1]["train_loss"], history[:, "train_loss"]
    (0.5, [0.5])
    """

    def __getitem__(self, i):
        if isinstance(i, int):
            return list.__getitem__(self, i)
        return super().__getitem__(i)


class EpochMeanLoss(PassthroughScoring):
    """The skorch :class:`~skorch.callbacks.PassthroughScoring`, reading the batch records directly.

    The same record (``name`` and ``name_best``: the batch-size-weighted mean of the
    batches' values, by :func:`numpy.average`), without skorch's fancy history indexing, which
    copies the history twice per epoch and raises and catches a KeyError every epoch where
    there are no validation batches.

    Parameters
    ----------
    name : str
        The batch record averaged, and the epoch record written (``train_loss``, say).
    lower_is_better : bool, default=True
        Whether a lower mean is a better epoch, for the ``name_best`` record.
    on_train : bool, default=False
        Average the training batches (else the validation batches).

    Examples
    --------
    :class:`SpectralNet` records its epoch losses with it:

    >>> import torch
    >>> from skspectral.training import EpochMeanLoss, SpectralNet
    >>> net = SpectralNet(torch.nn.Linear(2, 2), criterion=torch.nn.CrossEntropyLoss)
    >>> callback = dict(net.get_default_callbacks())["train_loss"]
    >>> type(callback).__name__, callback.name, callback.on_train
    ('EpochMeanLoss', 'train_loss', True)
    """

    def on_epoch_end(self, net, **kwargs):
        size = ("train" if self.on_train else "valid") + "_batch_size"
        batches = [row for row in net.history[-1]["batches"] if self.name in row and size in row]
        if not batches:
            return
        score = np.average([row[self.name] for row in batches],
                           weights=[row[size] for row in batches])
        is_best = self._is_best_score(score)
        if is_best:
            self.best_score_ = score
        net.history.record(self.name, score)
        if is_best is not None:
            net.history.record(self.name + "_best", bool(is_best))
