"""The classification task on the task-neutral base: labels, cross-entropy, ``predict``."""

import numpy as np
import torch
import torch.nn as nn
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from .._checks import check_label_kinds
from ..data import dataset_labels, is_dataset
from ._base import SpectralEstimatorBase

__all__ = ["SpectralClassifierBase"]


class SpectralClassifierBase(ClassifierMixin, SpectralEstimatorBase):
    """Base of the spectrally regularized classifiers: labels, cross-entropy, ``predict``.

    Labels are encoded against ``classes_`` and the network trained with cross-entropy on
    its logits. The module is sized by ``classes_`` (concrete classifiers read
    ``len(self.classes_)`` in ``_module_params``); ``transform`` returns the features Φ(X)
    the readout sees. Not instantiated directly: its parameters are those of
    :class:`SpectralEstimatorBase`, which a concrete classifier
    (:class:`~skspectral.SpectralMLPClassifier`, :class:`~skspectral.SpectralResNetClassifier`)
    lists with its defaults and documents.

    Parameters
    ----------
    regularizer, gamma, burnin, update_every, n_power_iterations : see SpectralEstimatorBase
        The penalty: which layers, its strength, its schedule and the power iteration that
        estimates it; each is documented in :class:`SpectralEstimatorBase`.
    lr, momentum, weight_decay, batch_size, max_epochs, optimizer : see SpectralEstimatorBase
        The optimizer and the training loop (documented in :class:`SpectralEstimatorBase`).
    device, distributed, random_state, verbose, callbacks : see SpectralEstimatorBase
        Where and how reproducibly training runs, what it shows and which extra skorch
        callbacks it runs (documented in :class:`SpectralEstimatorBase`).
    checkpoint_dir, checkpoint_every : see SpectralEstimatorBase
        Resumable training from checkpoints (documented in :class:`SpectralEstimatorBase`).
    **kwargs : dict
        Routed skorch parameters ``<prefix>__<name>``, passed unchanged to the net.

    See Also
    --------
    skspectral.estimators.SpectralEstimatorBase : The task-neutral base and shared parameters.

    Examples
    --------
    >>> from skspectral.estimators import SpectralClassifierBase, SpectralMLPClassifier
    >>> issubclass(SpectralMLPClassifier, SpectralClassifierBase)
    True
    >>> from sklearn.base import is_classifier
    >>> is_classifier(SpectralMLPClassifier())
    True
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

    def _training_data(self, X, y, reset, classes=None):
        """``(X, y_encoded)`` for training, setting ``classes_`` on ``reset``.

        A Dataset's labels come from ``y`` when given, else from the dataset (its
        ``targets``, or its items); the items are encoded as they are read, so ``y_encoded``
        is None.
        """
        check_label_kinds(y)
        if classes is not None:
            check_label_kinds(classes, "classes")
        if is_dataset(X):
            labels = dataset_labels(X, type(self).__name__) if y is None else np.asarray(y)
            if reset:
                self.classes_ = self._validate_targets(labels if classes is None
                                                       else np.asarray(classes))
            self._check_known(labels)
            codes = None if y is None else np.searchsorted(self.classes_, labels)
            data = self._dataset_input(X, reset, classes=self.classes_, y=codes)
            return data, None
        X, y = self._validate_X(X, y, reset=reset)
        if reset:
            self.classes_ = self._validate_targets(y if classes is None else np.asarray(classes))
        self._check_known(y)
        return X, np.searchsorted(self.classes_, y).astype(np.int64)

    def _check_known(self, y):
        check_classification_targets(y)
        unseen = np.setdiff1d(np.unique(y), self.classes_)
        if unseen.size:
            raise ValueError(f"y holds labels {unseen.tolist()} not in classes_ "
                             f"{self.classes_.tolist()}.")

    def fit(self, X, y=None):
        """Train the network from scratch for ``max_epochs`` epochs.

        Parameters
        ----------
        X : array-like or torch.utils.data.Dataset
            Training inputs (converted to float32; image estimators keep uint8 pixels), or a
            map-style Dataset of ``(sample, label)`` items (or of samples, with ``y``), read
            through a DataLoader: ``iterator_train__num_workers``, ``__pin_memory``,
            ``__persistent_workers`` and ``__prefetch_factor`` set it up.
        y : array-like of shape (n_samples,) or None, default=None
            Class labels of any type (at least two classes). With a Dataset, None takes
            the labels from the dataset.

        Returns
        -------
        self : object
            The fitted estimator.

        Raises
        ------
        ValueError
            If a hyperparameter is out of range, X is not finite, or y holds fewer than two
            classes.
        """
        return self._fit(X, y, self.max_epochs, reset=True)

    def partial_fit(self, X, y=None, classes=None):
        """Train for one epoch, continuing from the current state.

        The first call builds the network (as ``fit`` does, with ``classes`` or, if None,
        the labels present in ``y``); later calls continue training, the burn-in and
        update schedule included.

        Parameters
        ----------
        X : array-like or torch.utils.data.Dataset
            Training inputs of this epoch, in the forms :meth:`fit` takes.
        y : array-like of shape (n_samples,) or None, default=None
            Their class labels; None with a Dataset takes its labels.
        classes : array-like or None, default=None
            All labels that will ever be seen; only used on the first call (None: the
            labels in this first ``y``).

        Returns
        -------
        self : object
            The estimator, trained one epoch more.

        Raises
        ------
        ValueError
            If ``y`` holds a label outside ``classes_``, or X does not match the data of the
            first call.
        """
        return self._fit(X, y, 1, reset=not hasattr(self, "net_"), classes=classes)

    def _logits(self, X):
        check_is_fitted(self)
        return self._map_batches(lambda m, xb: m(xb), self._inference_input(X))

    def score(self, X, y=None, sample_weight=None):
        """Accuracy on ``(X, y)``.

        Parameters
        ----------
        X : array-like or torch.utils.data.Dataset
            Test inputs, in the forms :meth:`fit` takes.
        y : array-like of shape (n_samples,) or None, default=None
            True labels; None with a Dataset takes its labels.
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Weights of the samples in the mean; None weighs them equally.

        Returns
        -------
        float
            Fraction of correctly predicted samples (weighted with ``sample_weight``).
        """
        if y is None and is_dataset(X):
            y = dataset_labels(X, type(self).__name__)
        return super().score(X, y, sample_weight=sample_weight)

    def predict_proba(self, X):
        """Class probabilities, softmax of the logits.

        Parameters
        ----------
        X : array-like or torch.utils.data.Dataset
            Inputs, in the forms :meth:`fit` takes (a Dataset's labels are ignored).

        Returns
        -------
        numpy.ndarray of shape (n_samples, n_classes)
            Probabilities (float64), columns in the order of ``classes_``.
        """
        return torch.softmax(self._logits(X).double(), dim=1).numpy()

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : array-like or torch.utils.data.Dataset
            Inputs, in the forms :meth:`fit` takes (a Dataset's labels are ignored).

        Returns
        -------
        numpy.ndarray of shape (n_samples,)
            The class of largest logit for each sample, a label of ``classes_``.
        """
        index = self._logits(X).argmax(dim=1).numpy()
        return self.classes_[index]
