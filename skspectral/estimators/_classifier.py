"""The classification task on the task-neutral base: labels, cross-entropy, ``predict``."""

import numpy as np
import torch
import torch.nn as nn
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from ._base import SpectralEstimatorBase

__all__ = ["SpectralClassifierBase"]


class SpectralClassifierBase(ClassifierMixin, SpectralEstimatorBase):
    """Classifiers: labels encoded against ``classes_``, cross-entropy on the logits.

    The module is sized by ``classes_`` (concrete classifiers read ``len(self.classes_)`` in
    ``_module_params``); ``transform`` returns the features Φ(X) the readout sees.
    """

    def _criterion(self):
        return nn.CrossEntropyLoss, {}

    def _validate_targets(self, y):
        check_classification_targets(y)
        classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes in y; "
                             f"got 1 class ({classes[0]!r}).")
        return classes

    def fit(self, X, y):
        """Train the network from scratch for ``max_epochs`` epochs.

        Parameters
        ----------
        X : array-like
            Training inputs (converted to float32).
        y : array-like of shape (n_samples,)
            Class labels of any type (at least two classes).

        Returns
        -------
        self
        """
        scope, optimizer = self._check_params()
        X, y = self._validate_X(X, y, reset=True)
        self.classes_ = self._validate_targets(y)
        y_encoded = np.searchsorted(self.classes_, y).astype(np.int64)
        self._start(scope, optimizer)
        return self._train(X, y_encoded, self.max_epochs)

    def partial_fit(self, X, y, classes=None):
        """Train for one epoch, continuing from the current state.

        The first call builds the network (as ``fit`` does, with ``classes`` or, if None,
        the labels present in ``y``); later calls continue training, the burn-in and
        update schedule included.

        Parameters
        ----------
        X : array-like
        y : array-like of shape (n_samples,)
        classes : array-like, optional
            All labels that will ever be seen; only used on the first call.

        Returns
        -------
        self
        """
        first = not hasattr(self, "net_")
        scope, optimizer = self._check_params()
        X, y = self._validate_X(X, y, reset=first)
        if first:
            self.classes_ = self._validate_targets(y if classes is None else np.asarray(classes))
            self._start(scope, optimizer)
        check_classification_targets(y)
        unseen = np.setdiff1d(np.unique(y), self.classes_)
        if unseen.size:
            raise ValueError(f"y holds labels {unseen.tolist()} not in classes_ "
                             f"{self.classes_.tolist()}.")
        y_encoded = np.searchsorted(self.classes_, y).astype(np.int64)
        return self._train(X, y_encoded, 1)

    def _logits(self, X):
        check_is_fitted(self)
        X, _ = self._validate_X(X, reset=False)
        return self._map_batches(lambda m, xb: m(xb), X)

    def predict_proba(self, X):
        """Class probabilities, softmax of the logits.

        Parameters
        ----------
        X : array-like

        Returns
        -------
        numpy.ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        return torch.softmax(self._logits(X).double(), dim=1).numpy()

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : array-like

        Returns
        -------
        numpy.ndarray of shape (n_samples,)
        """
        index = self._logits(X).argmax(dim=1).numpy()
        return self.classes_[index]
