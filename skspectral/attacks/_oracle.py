"""Label oracles: anything that predicts labels, as a batched ``points -> label codes`` call.

An attack only sees predicted labels. An oracle takes a float tensor of flattened inputs
``(m, d)`` on its ``device`` and returns int64 label codes ``(m,)`` on the same device, in
chunks of at most ``batch_size`` points. Codes are consistent across calls, so comparing codes
is comparing labels.
"""

import copy

import numpy as np
import torch
import torch.nn as nn
from sklearn.base import is_classifier
from sklearn.linear_model._base import LinearClassifierMixin
from sklearn.pipeline import Pipeline

__all__ = ["LabelOracle", "as_oracle"]


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

    def __init__(self, coef, intercept):
        super().__init__()
        coef = np.atleast_2d(coef)
        dtype = torch.float64 if np.result_type(np.float32, coef.dtype) == np.float64 \
            else torch.float32
        self.register_buffer("coef", torch.as_tensor(coef, dtype=dtype))
        self.register_buffer("intercept", torch.as_tensor(np.asarray(intercept),
                                                          dtype=dtype).reshape(-1))

    def forward(self, z):
        scores = z.to(self.coef.dtype) @ self.coef.T + self.intercept
        if scores.shape[1] == 1:  # binary: classes_[1] where the decision function is > 0
            return (scores[:, 0] > 0).long()
        return scores.argmax(dim=1)


def _is_linear_classifier(est):
    # scikit-learn's linear classifiers (LogisticRegression, LinearSVC, RidgeClassifier,
    # SGDClassifier, Perceptron, LinearDiscriminantAnalysis, ...) share LinearClassifierMixin,
    # whose decision function is X @ coef_.T + intercept_: what _LinearHead computes.
    return (isinstance(est, LinearClassifierMixin) and hasattr(est, "coef_")
            and hasattr(est, "intercept_") and hasattr(est, "classes_"))


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
        return np.where(classes[idx] == labels, idx, -1)

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
    if isinstance(model, Pipeline) and len(model.steps) == 2 \
            and _fitted_module(model.steps[0][1]) is not None \
            and _is_linear_classifier(model.steps[-1][1]):
        feat, head = model.steps[0][1], model.steps[-1][1]
        device = torch.device(device or feat.device_)
        features = _on_device(feat.module_, device).features
        linear = _LinearHead(head.coef_, head.intercept_).to(device)
        return LabelOracle(lambda x: linear(features(x).flatten(1)),
                           _sample_shape(feat), device, batch_size,
                           encode=_class_encoder(head.classes_))
    if _fitted_module(model) is not None and not is_classifier(model):
        raise TypeError(f"{type(model).__name__} is a featurizer and predicts no labels: attack a "
                        "Pipeline of it and a classifier, e.g. Pipeline([('feat', featurizer), "
                        "('clf', LogisticRegression())]).")
    if _fitted_module(model) is not None:
        device = torch.device(device or model.device_)
        module = _on_device(model.module_, device)
        return LabelOracle(lambda x: module(x).argmax(dim=1), _sample_shape(model),
                           device, batch_size, encode=_class_encoder(model.classes_))
    if isinstance(model, nn.Module):
        if input_shape is None:
            raise ValueError("input_shape is required to query a torch module.")
        if device is None:
            param = next(model.parameters(), None)
            device = param.device if param is not None else "cpu"
        model.eval()
        _check_takes(model, input_shape, device)
        return LabelOracle(lambda x: model(x).argmax(dim=1), input_shape, device, batch_size)
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


def _on_device(module, device):
    """The module in eval mode on ``device``: itself if it is there, else a copy."""
    param = next(module.parameters(), None)
    if param is not None and param.device != device:
        module = copy.deepcopy(module).to(device)
    return module.eval()


def _sample_shape(estimator):
    shape = getattr(estimator, "input_shape_", None)
    return tuple(shape) if shape is not None else (estimator.n_features_in_,)
