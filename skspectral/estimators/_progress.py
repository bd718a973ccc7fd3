"""A tqdm progress bar over training epochs, fed by a skorch callback."""

from contextlib import contextmanager

from skorch.callbacks import Callback
from tqdm.auto import tqdm

__all__ = ["EpochProgressBar", "progress"]


class EpochProgressBar(Callback):
    """Advance ``self.bar`` (a tqdm bar set by :func:`progress`) at the end of every epoch.

    Parameters
    ----------
    desc : str, optional
        The bar's label (routed as ``callbacks__progress__desc``); the estimator's class
        name when None.
    """

    def __init__(self, desc=None):
        self.desc = desc
        self.bar = None

    def on_epoch_end(self, net, **kwargs):
        if self.bar is not None:
            loss = net.history[-1].get("train_loss")
            if loss is not None:
                self.bar.set_postfix(train_loss=f"{loss:.4g}", refresh=False)
            self.bar.update(1)


@contextmanager
def progress(net, total, desc):
    """Show a bar of ``total`` epochs while the body trains ``net`` (if it has the callback)."""
    callback = dict(net.callbacks_).get("progress")
    if callback is None:
        yield
        return
    with tqdm(total=total, desc=callback.desc or desc, unit="epoch",
              dynamic_ncols=True) as bar:
        callback.bar = bar
        try:
            yield
        finally:
            callback.bar = None
