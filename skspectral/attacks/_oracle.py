"""Label oracles: anything that predicts labels, as a batched ``points -> label codes`` call.

An attack only sees predicted labels. An oracle takes a float tensor of flattened inputs
``(m, d)`` on its ``device`` and returns int64 label codes ``(m,)`` on the same device, in
chunks of at most ``batch_size`` points. Codes are consistent across calls, so comparing codes
is comparing labels.
"""

import contextlib
import copy
import warnings
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import torch
import torch.nn as nn
from sklearn.base import is_classifier
from sklearn.linear_model._base import LinearClassifierMixin
from sklearn.pipeline import Pipeline

__all__ = ["LabelOracle", "LogitOracle", "as_logit_oracle", "as_oracle"]


class LabelOracle:
    """Batched label queries of a model.

    Build one with :func:`as_oracle`.

    Parameters
    ----------
    predict_codes : callable
        ``(tensor of shape (m, *input_shape) on device) -> int64 tensor (m,)``.
    input_shape : tuple of int
        Shape of one input sample.
    device : torch.device
        Where queries are made and vector math happens.
    batch_size : int, default=10000
        Largest number of points per model call.
    encode : callable or None, default=None
        Maps raw labels (NumPy array) to codes; None: a table that grows as new labels
        appear.

    Attributes
    ----------
    n_calls : int
        Model calls made so far (one per chunk).

    See Also
    --------
    skspectral.attacks.as_oracle : Build the oracle of a model.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skspectral.attacks import as_oracle
    >>> clf = LogisticRegression().fit([[-1.0], [-0.5], [0.5], [1.0]], ["a", "a", "b", "b"])
    >>> oracle = as_oracle(clf)
    >>> oracle(torch.tensor([[-2.0], [2.0]])), oracle.encode(["b"])
    (tensor([0, 1]), tensor([1]))
    >>> oracle.input_shape, oracle.n_calls
    ((1,), 1)
    """

    def __init__(self, predict_codes, input_shape, device, batch_size=10_000, encode=None):
        self._predict_codes = predict_codes
        self.input_shape = tuple(input_shape)
        self.device = torch.device(device)
        self.batch_size = int(batch_size)
        self._encode = encode
        self._table = {}
        self.n_calls = 0

    def encode(self, labels):
        """Integer codes of raw labels (consistent with the codes queries return).

        Parameters
        ----------
        labels : array-like of shape (m,)
            Labels as the model predicts them (``classes_`` values).

        Returns
        -------
        torch.Tensor of int64, shape (m,)
            Their codes, on ``device``.
        """
        labels = np.asarray(labels)
        if self._encode is not None:
            return torch.as_tensor(self._encode(labels), dtype=torch.int64, device=self.device)
        codes = [self._table.setdefault(label, len(self._table)) for label in labels.tolist()]
        return torch.tensor(codes, dtype=torch.int64, device=self.device)

    @torch.inference_mode()
    def __call__(self, points):
        """Label codes of ``points``, queried in chunks of at most ``batch_size``.

        Parameters
        ----------
        points : torch.Tensor of shape (m, d)
            Flattened inputs, on ``device``.

        Returns
        -------
        torch.Tensor of int64, shape (m,)
            The predicted labels' codes, on ``device``.
        """
        if 0 < len(points) <= self.batch_size:  # the common case, without a copy by cat
            self.n_calls += 1
            return self._predict_codes(points.reshape(-1, *self.input_shape))
        out = [torch.empty(0, dtype=torch.int64, device=self.device)]
        for start in range(0, len(points), self.batch_size):
            chunk = points[start:start + self.batch_size].reshape(-1, *self.input_shape)
            out.append(self._predict_codes(chunk))
            self.n_calls += 1
        return torch.cat(out)


class LogitOracle:
    """Differentiable logits of a model, for white-box attacks.

    Build one with :func:`as_logit_oracle`. Calls take flattened inputs ``(m, d)`` on
    ``device`` and return the model's logits ``(m, n_classes)``, differentiable with respect
    to the inputs (for a Pipeline ending in a linear classifier, the decision function as
    logits: ``[0, f]`` for a binary one). :meth:`labels` gives the labels the model predicts
    (those :func:`as_oracle` queries), as codes that index the logits' columns.

    Calls must be made inside :meth:`evaluating`, which puts the model's modules in
    evaluation mode and restores every module's train/eval flag afterwards. Gradients are
    only ever taken with respect to the inputs (``torch.autograd.grad``), so the model's
    parameters, buffers and ``.grad`` stay as they are.

    Parameters
    ----------
    path : _TorchPath
        The model's torch adapters (built by :func:`as_logit_oracle`).
    n_classes : int or None
        Number of logits, where the model's classes are known (None for a torch module).

    Attributes
    ----------
    input_shape : tuple of int
        Shape of one input sample.
    device : torch.device
        Where the model is evaluated.
    n_classes : int or None
        Number of classes (logits per point); None until known for a torch module.

    See Also
    --------
    skspectral.attacks.as_logit_oracle : Build the oracle of a model.

    Examples
    --------
    >>> import torch
    >>> from skspectral.attacks import as_logit_oracle
    >>> module = torch.nn.Linear(3, 2)
    >>> oracle = as_logit_oracle(module, input_shape=(3,))
    >>> x = torch.zeros(4, 3, requires_grad=True)
    >>> with oracle.evaluating():
    ...     logits = oracle(x)
    ...     labels = oracle.labels(x.detach())
    >>> logits.shape, logits.requires_grad, labels.shape
    (torch.Size([4, 2]), True, torch.Size([4]))
    """

    def __init__(self, path, n_classes):
        self._path = path
        self.input_shape = tuple(path.input_shape)
        self.device = path.device
        self.n_classes = n_classes

    def __call__(self, points):
        """Logits of ``points``, differentiable with respect to them.

        Parameters
        ----------
        points : torch.Tensor of shape (m, d)
            Flattened inputs, on ``device``.

        Returns
        -------
        torch.Tensor of shape (m, n_classes)
            The logits (float32, or float64 for a linear classifier fitted in float64).
        """
        out = self._path.logits(points.reshape(-1, *self.input_shape))
        self.n_classes = out.shape[1]
        return out

    @torch.inference_mode()
    def labels(self, points):
        """Label codes the model predicts for ``points`` (the label oracle's).

        Parameters
        ----------
        points : torch.Tensor of shape (m, d)
            Flattened inputs, on ``device``.

        Returns
        -------
        torch.Tensor of int64, shape (m,)
            Codes: indices of the logits' columns.
        """
        return self._path.labels(points.reshape(-1, *self.input_shape))

    def encode(self, labels):
        """Codes of raw labels (-1 for a label the model does not know).

        Parameters
        ----------
        labels : array-like of shape (m,)
            Labels as the model predicts them (``classes_`` values; for a torch module,
            the logits' column indices).

        Returns
        -------
        torch.Tensor of int64, shape (m,)
            Their codes, on ``device``.
        """
        codes = np.asarray(self._path.encode(np.asarray(labels)))
        if self.n_classes is not None:
            codes = np.where(codes < self.n_classes, codes, -1)
        return torch.as_tensor(codes, dtype=torch.int64, device=self.device)

    @contextlib.contextmanager
    def evaluating(self):
        """Context in which the model's modules are in evaluation mode; on exit every
        module's train/eval flag is what it was."""
        flags = [(m, m.training) for module in self._path.modules for m in module.modules()]
        try:
            for module in self._path.modules:
                module.eval()
            yield self
        finally:
            for m, training in flags:
                m.training = training


def as_logit_oracle(model, input_shape=None, *, device=None):
    """Wrap a model that is differentiable end to end as a :class:`LogitOracle`.

    The same adapters as :func:`as_oracle` (so the logits' argmax is the label the label
    oracle returns), for the models that run in torch.

    Parameters
    ----------
    model : estimator, Pipeline or torch.nn.Module
        - a fitted skspectral classifier: its module's logits;
        - a fitted two-step :class:`~sklearn.pipeline.Pipeline` of a skspectral estimator
          (a classifier's features, or a featurizer) and a linear scikit-learn classifier:
          the features, then the linear decision function, fused in torch;
        - a ``torch.nn.Module`` returning logits.
    input_shape : tuple of int or None, default=None
        Shape of one sample; required for a torch module (skspectral estimators and
        Pipelines use their own).
    device : str, torch.device or None, default=None
        Where the model is evaluated; defaults to the model's device (a model elsewhere is
        copied there).

    Returns
    -------
    LogitOracle
        The model's differentiable logits.

    Raises
    ------
    TypeError
        If the model is not differentiable end to end in torch (a bare callable, an
        estimator known only by ``predict``, a Pipeline with another kind of step such as
        a tree or a k-nearest-neighbours readout), or is a featurizer that predicts no
        labels. The decision-based attacks (``attack="tangent"`` or ``"hopskipjump"``)
        need only labels.
    ValueError
        If ``input_shape`` is needed and missing.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from skspectral.attacks import as_logit_oracle
    >>> tree = DecisionTreeClassifier().fit(np.eye(2), [0, 1])
    >>> try:
    ...     as_logit_oracle(tree)
    ... except TypeError as error:
    ...     print(str(error)[:60])
    DecisionTreeClassifier is not differentiable end to end in t
    """
    if isinstance(model, LabelOracle):
        path = None
    else:
        path = _torch_path(model, input_shape, device)
    if path is None:
        raise TypeError(
            f"{type(model).__name__} is not differentiable end to end in torch, so the white-box "
            "attacks cannot take its gradient. They need a fitted skspectral classifier, a "
            "two-step Pipeline of a skspectral estimator and a linear classifier "
            "(LogisticRegression, LinearSVC, ...), or a torch module returning logits. For any "
            "other model use a decision-based attack, which needs only predicted labels: "
            "attack='tangent' (the default) or attack='hopskipjump'.")
    classes = getattr(model if not isinstance(model, Pipeline) else model.steps[-1][1],
                      "classes_", None)
    n_classes = None if classes is None or isinstance(model, nn.Module) else len(classes)
    return LogitOracle(path, n_classes)


# ---------------------------------------------------------------------- torch paths
class _LinearHead(nn.Module):
    """A fitted scikit-learn linear classifier as a torch module returning label codes.

    The decision function is evaluated in the precision scikit-learn evaluates it in: the
    float32 features times ``coef_`` promote to ``coef_``'s dtype (float64 for a classifier
    fitted on float64 data, float32 for one fitted on the float32 features, as
    recent versions of LogisticRegression keep them). Evaluated in another precision,
    labels near the boundary of large features would disagree with the Pipeline's own
    ``predict``.
    """

    def __init__(self, head):
        super().__init__()
        coef, intercept = linear_readout(head)
        dtype = torch.float64 if np.result_type(np.float32, coef.dtype) == np.float64 \
            else torch.float32
        self.register_buffer("coef", torch.as_tensor(coef, dtype=dtype))
        self.register_buffer("intercept", torch.as_tensor(intercept, dtype=dtype))

    def forward(self, z):
        scores = z.to(self.coef.dtype) @ self.coef.T + self.intercept
        if scores.shape[1] == 1:  # binary: classes_[1] where the decision function is > 0
            return (scores[:, 0] > 0).long()
        return scores.argmax(dim=1)

    def logits(self, z):
        """The decision function as one score per class ``(m, n_classes)``.

        Binary: ``[0, f(z)]``, whose argmax (the first index on a tie) is ``forward``'s label.
        """
        scores = z.to(self.coef.dtype) @ self.coef.T + self.intercept
        if scores.shape[1] == 1:
            return torch.cat([torch.zeros_like(scores), scores], dim=1)
        return scores


def _is_linear_classifier(est):
    # scikit-learn's linear classifiers (LogisticRegression, LinearSVC, RidgeClassifier,
    # SGDClassifier, Perceptron, LinearDiscriminantAnalysis, ...) share LinearClassifierMixin,
    # whose decision function is X @ coef_.T + intercept_: what _LinearHead computes.
    return (isinstance(est, LinearClassifierMixin) and hasattr(est, "coef_")
            and hasattr(est, "intercept_") and hasattr(est, "classes_"))


def linear_readout(est):
    """``(coef (K, m), intercept (K,))`` of a linear readout, in the dtype it is stored in:
    a fitted scikit-learn linear classifier's ``coef_``, ``intercept_`` (one row for a
    binary one), or the ``head`` layer of a fitted skspectral classifier's module."""
    if _is_linear_classifier(est):
        return np.atleast_2d(est.coef_), np.ravel(np.asarray(est.intercept_))
    head = est.module_.head
    return head.weight.detach().cpu().numpy(), head.bias.detach().cpu().numpy()


def _fitted_module(est):
    """The fitted torch module of a skspectral estimator (``module_``), else None."""
    try:
        module = getattr(est, "module_", None)
    except ValueError:  # NotFittedError: an unfitted skspectral estimator
        return None
    return module if isinstance(module, nn.Module) and hasattr(module, "features") else None


def _class_encoder(classes):
    classes = np.asarray(classes)

    def encode(labels):
        try:
            idx = np.searchsorted(classes, labels)
        except TypeError:  # labels of a kind the classes cannot be compared with
            return np.full(np.shape(labels), -1)
        idx = np.clip(idx, 0, len(classes) - 1)
        with warnings.catch_warnings():
            # numpy < 2 compares labels and classes of unlike kinds (strings, integers) as
            # one False, with a FutureWarning; numpy 2 elementwise. Either means unknown.
            warnings.simplefilter("ignore", FutureWarning)
            known = classes[idx] == labels
        return np.where(known, idx, -1)

    return encode


def as_oracle(model, input_shape=None, *, device=None, batch_size=10_000):
    """Wrap a model as a :class:`LabelOracle`.

    Parameters
    ----------
    model : estimator, Pipeline, torch.nn.Module or callable
        - a fitted skspectral classifier: its torch module answers on its device;
        - a fitted :class:`~sklearn.pipeline.Pipeline` of a skspectral estimator (a
          classifier's features, or a featurizer such as
          :class:`~skspectral.SpectralBarlowTwins`) followed by a linear scikit-learn
          classifier (LogisticRegression, LinearSVC, RidgeClassifier, SGDClassifier, ...):
          fused into one torch module (features, then the linear decision function) so every
          query runs on the device;
        - a ``torch.nn.Module`` returning logits: queried as tensors on ``device``;
        - any fitted estimator with ``predict`` (queried with NumPy batches on the CPU);
        - a plain callable ``X (NumPy, shape (m, *input_shape)) -> labels``.
    input_shape : tuple of int or None, default=None
        Shape of one sample; required for torch modules and callables when it cannot be
        read off the model (set by the attacks from the data). skspectral estimators and
        Pipelines always use their own (``input_shape_`` or ``(n_features_in_,)``).
    device : str, torch.device or None, default=None
        Device of the queries; defaults to the model's device (CPU for NumPy models).
    batch_size : int, default=10000
        Largest number of points per model call.

    Returns
    -------
    LabelOracle
        The model's batched label queries (``model`` itself if it is one).

    Raises
    ------
    TypeError
        If ``model`` is a featurizer that predicts no labels.
    ValueError
        If ``input_shape`` is needed and missing, or a torch module cannot take samples
        of ``input_shape``.

    Examples
    --------
    >>> import torch
    >>> from skspectral.attacks import as_oracle
    >>> module = torch.nn.Linear(3, 2)  # logits of 2 classes
    >>> oracle = as_oracle(module, input_shape=(3,))
    >>> oracle.device, oracle(torch.zeros(4, 3)).shape
    (device(type='cpu'), torch.Size([4]))
    """
    if isinstance(model, LabelOracle):
        return model
    path = _torch_path(model, input_shape, device)
    if path is not None:
        for module in path.modules:
            module.eval()
        if isinstance(model, nn.Module):
            _check_takes(model, path.input_shape, path.device)
        encode = None if isinstance(model, nn.Module) else path.encode
        return LabelOracle(path.labels, path.input_shape, path.device, batch_size,
                           encode=encode)
    if hasattr(model, "predict") or callable(model):
        if input_shape is None:
            n_features = getattr(model, "n_features_in_", None)
            if n_features is None:
                raise ValueError("input_shape is required for a model that does not expose "
                                 "n_features_in_.")
            input_shape = (n_features,)
        predict = model.predict if hasattr(model, "predict") else model
        classes = getattr(model, "classes_", None)
        oracle = LabelOracle(None, input_shape, "cpu" if device is None else device, batch_size,
                             encode=None if classes is None else _class_encoder(classes))

        def predict_codes(x):
            labels = np.asarray(predict(x.detach().cpu().numpy()))
            return oracle.encode(labels)

        oracle._predict_codes = predict_codes
        return oracle
    raise TypeError(f"Cannot query labels from {type(model).__name__}: expected a fitted "
                    "estimator or Pipeline, a torch module, or a callable.")


@torch.inference_mode()
def _check_takes(module, input_shape, device):
    """ValueError naming the samples' shape where ``module`` cannot take one (a pure read:
    evaluation mode, no query counted)."""
    param = next(module.parameters(), None)
    dtype = param.dtype if param is not None and param.is_floating_point() else None
    try:
        module(torch.zeros(1, *input_shape, device=device, dtype=dtype))
    except RuntimeError as exc:
        if isinstance(exc, torch.cuda.OutOfMemoryError):
            raise
        raise ValueError(f"The torch module cannot take samples of shape {tuple(input_shape)} "
                         f"(X's): {type(exc).__name__}: {exc}") from exc


class _TorchPath(NamedTuple):
    """A model that runs as torch modules: its logits, labels and where they are computed.

    ``logits`` and ``labels`` take a float tensor of shape ``(m, *input_shape)`` on
    ``device``; ``labels`` returns the codes ``encode`` gives the model's labels (for a
    torch module: the logits' column indices). ``modules`` are the modules to put in
    evaluation mode before calling them (the model's own, or copies on ``device``).
    """

    logits: Callable
    labels: Callable
    input_shape: tuple
    device: torch.device
    encode: Callable
    modules: tuple


def _torch_path(model, input_shape=None, device=None):
    """The :class:`_TorchPath` of a model that runs in torch (a skspectral classifier, a
    Pipeline of a skspectral featurizer and a linear classifier, a torch module), else None.

    The adapters of :func:`as_oracle` (labels) and :func:`as_logit_oracle` (differentiable
    logits), shared so that both evaluate the model the same way. Leaves the modules'
    train/eval flags as they are (the callers set them).
    """
    if isinstance(model, Pipeline) and len(model.steps) == 2 \
            and _fitted_module(model.steps[0][1]) is not None \
            and _is_linear_classifier(model.steps[-1][1]):
        feat, head = model.steps[0][1], model.steps[-1][1]
        device = torch.device(device or feat.device_)
        module = _to_device(feat.module_, device)
        features = module.features
        linear = _LinearHead(head).to(device)
        return _TorchPath(lambda x: linear.logits(features(x).flatten(1)),
                          lambda x: linear(features(x).flatten(1)), _sample_shape(feat),
                          device, _class_encoder(head.classes_), (module,))
    if _fitted_module(model) is not None and not is_classifier(model):
        raise TypeError(f"{type(model).__name__} is a featurizer and predicts no labels: attack a "
                        "Pipeline of it and a classifier, e.g. Pipeline([('feat', featurizer), "
                        "('clf', LogisticRegression())]).")
    if _fitted_module(model) is not None:
        device = torch.device(device or model.device_)
        module = _to_device(model.module_, device)
        return _TorchPath(module, lambda x: module(x).argmax(dim=1), _sample_shape(model),
                          device, _class_encoder(model.classes_), (module,))
    if isinstance(model, nn.Module):
        if input_shape is None:
            raise ValueError("input_shape is required to query a torch module.")
        if device is None:
            param = next(model.parameters(), None)
            device = param.device if param is not None else "cpu"
        return _TorchPath(model, lambda x: model(x).argmax(dim=1), tuple(input_shape),
                          torch.device(device), _column_encoder, (model,))
    return None


def _column_encoder(labels):
    """Codes of a torch module's labels: the logits' column indices themselves (integers;
    -1 for anything else)."""
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        return np.full(labels.shape, -1)
    return np.where(labels >= 0, labels, -1)


def _to_device(module, device):
    """The module on ``device``: itself if it is there, else a copy."""
    param = next(module.parameters(), None)
    if param is not None and param.device != device:
        module = copy.deepcopy(module).to(device)
    return module


def _sample_shape(estimator):
    shape = getattr(estimator, "input_shape_", None)
    return tuple(shape) if shape is not None else (estimator.n_features_in_,)
