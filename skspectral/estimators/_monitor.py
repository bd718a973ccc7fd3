"""skorch callbacks that record what self-supervised training learns, epoch by epoch."""

from numbers import Integral

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import StrOptions
from skorch.callbacks import Callback

from .._checks import check_array, check_labels
from .._params import CONSTRAINTS, StrictInterval, validate

__all__ = ["DivergenceGuard", "FeatureProbe", "LossParts"]


class DivergenceGuard(Callback):
    """Stop training with a ValueError once the epoch's loss is NaN or infinite.

    Runs before the penalty's end-of-epoch record (whose power iteration would otherwise be
    the first to fail, with a linear-algebra error far from the cause). The message names the
    epoch, the loss and the parameters to change.
    """

    def on_epoch_end(self, net, **kwargs):
        loss = net.history[-1].get("train_loss")
        if loss is not None and not np.isfinite(loss):
            raise ValueError(
                f"Training diverged: the loss of epoch {len(net.history)} is {loss}. Lower the "
                f"learning rate (lr={net.lr}) or the penalty strength, or check the data for "
                "extreme values.")


class LossParts(Callback):
    """Record the criterion's ``last_parts_`` per batch, under ``names``.

    Pair it with :class:`skorch.callbacks.PassthroughScoring` (one per name) for the
    per-epoch means weighted by batch size.

    Parameters
    ----------
    names : tuple of str
    """

    def __init__(self, names):
        self.names = names

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            for name, part in zip(self.names, net.criterion_.last_parts_, strict=True):
                net.history.record_batch(name, float(part))


class FeatureProbe(Callback):
    """Accuracy of a readout on the current features of a labelled set, every epoch.

    A monitor for self-supervised training: at the end of each ``every``-th epoch the
    features Φ(X) of the given labelled set are computed in evaluation mode and a readout is
    cross-validated on them (stratified folds, no shuffling); the mean accuracy is recorded
    in the history as ``name``. A pure read: it draws no random numbers and leaves the
    module in training mode, so training continues exactly as without it.

    Parameters
    ----------
    X : array-like of shape (n_samples, ...)
        Inputs as the network takes them: images ``(n, C, H, W)`` for the ResNet
        estimators, rows ``(n, d)`` for the MLP.
    y : array-like of shape (n_samples,)
        Their labels.
    method : {"knn", "linear"}, default="knn"
        ``"knn"``: a 20-nearest-neighbour vote (cosine distance); ``"linear"``: a
        LogisticRegression on standardized features.
    cv : int, default=5
        Number of stratified cross-validation folds of the readout.
    every : int, default=1
        Epoch period: the probe runs at the end of every ``every``-th epoch.
    name : str, default="probe_accuracy"
        History key under which the mean accuracy is recorded.
    batch_size : int, default=1024
        Samples per forward pass when computing the features.

    Raises
    ------
    ValueError
        When built, and again when training starts (skorch's ``initialize``), if a
        parameter is out of range, X holds NaN or infinity, or X and y differ in length;
        before the first epoch, if the network cannot take X's samples.
    TypeError
        If a parameter has the wrong type (``name`` not a str, say).

    See Also
    --------
    skspectral.SpectralBarlowTwins : The self-supervised estimator it is meant to watch.

    Examples
    --------
    Any estimator takes it; here a small MLP, probed on held-out digits every epoch:

    >>> from sklearn.datasets import load_digits
    >>> from skspectral import FeatureProbe, SpectralMLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> probe = FeatureProbe(X[1000:1200] / 16, y[1000:1200], method="knn", cv=3)
    >>> clf = SpectralMLPClassifier(hidden_layer_sizes=(32,), max_epochs=3, random_state=0,
    ...                             callbacks=[("probe", probe)]).fit(X[:500] / 16, y[:500])
    >>> accuracies = clf.history_[:, "probe_accuracy"]
    >>> len(accuracies), all(0.5 < a <= 1 for a in accuracies)
    (3, True)

    With ``SpectralBarlowTwins(callbacks=[("probe", probe)])`` it records what the
    self-supervised features are worth to a readout as pretraining goes on.
    """

    #: Declarative constraints (see :mod:`skspectral._params`), checked when built and at
    #: ``initialize``.
    _parameter_constraints = {
        "method": [StrOptions({"knn", "linear"})],
        "cv": [StrictInterval(Integral, 2, None, closed="left")],
        "every": [StrictInterval(Integral, 1, None, closed="left")],
        "name": [str],
        "batch_size": CONSTRAINTS["batch_size"],
    }

    def __init__(self, X, y, method="knn", cv=5, every=1, name="probe_accuracy",
                 batch_size=1024):
        self.X = X
        self.y = y
        self.method = method
        self.cv = cv
        self.every = every
        self.name = name
        self.batch_size = batch_size
        self._check()

    def _check(self):
        """Every argument, before any epoch: ``(X, y)`` as arrays."""
        validate(type(self).__name__, self._parameter_constraints,
                 {name: getattr(self, name) for name in self._parameter_constraints})
        X = check_array(self.X, "FeatureProbe's X", min_ndim=2)
        y = check_labels(self.y, len(X), name="FeatureProbe's y")
        if self.cv > len(y):
            raise ValueError(f"FeatureProbe's cv={self.cv} folds need at least {self.cv} "
                             f"samples; X has {len(y)}.")
        return X, y

    def initialize(self):
        """Check the parameters and keep the labels as an array (skorch calls this).

        Returns
        -------
        self : FeatureProbe
            The initialized callback.

        Raises
        ------
        ValueError
            If a parameter is out of range, X holds NaN or infinity, or X and y differ
            in length.
        TypeError
            If a parameter has the wrong type.
        """
        _, self.y_ = self._check()
        return self

    def on_train_begin(self, net, **kwargs):
        """Refuse, before the first epoch, an X the network cannot take.

        Parameters
        ----------
        net : skorch.NeuralNet
            The net about to train.
        **kwargs : dict
            Other callback arguments from skorch, unused.

        Raises
        ------
        ValueError
            If the features of X's first sample cannot be computed.
        """
        try:
            self._features(net, stop=1)
        except RuntimeError as exc:
            if isinstance(exc, torch.cuda.OutOfMemoryError):
                raise
            raise ValueError(f"FeatureProbe's X has samples of shape "
                             f"{np.shape(self.X)[1:]}, which the network cannot take: "
                             f"{exc}") from exc

    def _readout(self):
        if self.method == "knn":
            return KNeighborsClassifier(n_neighbors=min(20, len(self.y_) - 1), metric="cosine")
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))

    @torch.inference_mode()
    def _features(self, net, stop=None):
        module = net.module_
        was_training = module.training
        module.eval()
        X = torch.as_tensor(np.asarray(self.X, dtype=np.float32)[:stop])
        try:
            parts = [module.features(X[i:i + self.batch_size].to(net.device)).flatten(1)
                     .float().cpu() for i in range(0, len(X), self.batch_size)]
        finally:
            module.train(was_training)
        return torch.cat(parts).numpy()

    def on_epoch_end(self, net, **kwargs):
        """Record the readout's cross-validated accuracy, every ``every`` epochs.

        Parameters
        ----------
        net : skorch.NeuralNet
            The net in training; its module's ``features`` give Φ.
        **kwargs : dict
            Other callback arguments from skorch, unused.
        """
        if len(net.history) % self.every:
            return
        folds = StratifiedKFold(n_splits=self.cv)
        scores = cross_val_score(self._readout(), self._features(net), self.y_, cv=folds)
        net.history.record(self.name, float(scores.mean()))
