"""Robust accuracy at a fixed radius under AutoAttack, as the community reports it.

AutoAttack (Croce & Hein, 2020) is run through its authors' package, ``pyautoattack`` (the
``autoattack`` extra), on the model's differentiable logits
(:func:`~skspectral.attacks.as_logit_oracle`). AutoAttack assumes inputs in ``[0, 1]``: the
model is wrapped so that it maps ``[0, 1]`` back to the box ``[clip_min, clip_max]``, and
``eps``, given in the box's units, is divided by the box's width.
"""

import contextlib
import math
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn as nn
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions

from ._params import CONSTRAINTS, StrictInterval, store_params, validate
from .attacks import as_logit_oracle
from .metrics import _draw

__all__ = ["AutoAttackResult", "AutoAttackScorer", "run_autoattack"]

#: AutoAttack's attacks, by the names its ``attacks`` list takes (``version="custom"``).
AUTOATTACK_ATTACKS = ("apgd-ce", "apgd-dlr", "apgd-t", "fab", "fab-t", "square")

#: Smallest image side on which AutoAttack's Square attack runs (its L2 start tiles 5 x 5).
_SQUARE_MIN_SIDE = 5

#: Relative spread of the box's widths up to which a per-feature box counts as one width.
_WIDTH_RTOL = 1e-6

_CONSTRAINTS = {
    "eps": [StrictInterval(Real, 0, math.inf, closed="left")],
    "norm": [StrOptions({"L2", "Linf"})],
    "version": [StrOptions({"standard", "plus", "custom"})],
    "attacks": [list, tuple, None],
    "batch_size": [StrictInterval(Integral, 1, None, closed="left")],
    "random_state": CONSTRAINTS["random_state"],
}


def _autoattack_class():
    """``pyautoattack.AutoAttack``; an ImportError naming the extra where it is missing."""
    try:
        from pyautoattack import AutoAttack
    except ImportError as exc:
        raise ImportError("AutoAttack needs the authors' package pyautoattack, the 'autoattack' "
                          "extra: pip install 'skspectral[autoattack]'.") from exc
    return AutoAttack


@dataclass
class AutoAttackResult:
    """Per-sample outcome of AutoAttack at one radius.

    Returned by :func:`run_autoattack`. The parameters are stored as the attributes of the
    same names.

    Parameters
    ----------
    robust : ndarray of bool, shape (n_samples,)
        Whether the sample is classified correctly at the point AutoAttack returned (the
        sample itself where no attack succeeded), re-checked with the model's labels.
    adversarial : ndarray of shape (n_samples, ...)
        The point AutoAttack returned per sample, in the box's units: the sample itself
        where it stayed robust (or was misclassified to begin with).
    perturbation : ndarray of shape (n_samples,)
        The ``norm`` of ``adversarial - X`` per sample (at most ``eps``).
    eps : float
        The radius, in the box's units.
    norm : {"L2", "Linf"}
        The threat model.
    attacks : list of str
        The attacks AutoAttack ran (its version's, less those the model or input rules
        out: see :func:`run_autoattack`).

    Examples
    --------
    >>> import numpy as np
    >>> from skspectral.autoattack import AutoAttackResult
    >>> result = AutoAttackResult(robust=np.array([True, False, True, True]),
    ...                           adversarial=np.zeros((4, 2)), perturbation=np.zeros(4),
    ...                           eps=0.5, norm="L2", attacks=["apgd-ce"])
    >>> result.robust_accuracy(), len(result)
    (0.75, 4)
    """

    robust: np.ndarray
    adversarial: np.ndarray
    perturbation: np.ndarray
    eps: float
    norm: str
    attacks: list

    def __len__(self):
        return len(self.robust)

    def robust_accuracy(self):
        """The share of samples classified correctly within ``eps`` of every attack.

        Returns
        -------
        float
            ``robust.mean()`` (an upper bound of the true robust accuracy: an attack can
            only miss adversarial points).
        """
        return float(np.mean(self.robust))


class _UnitBox(nn.Module):
    """The model on ``[0, 1]``-scaled inputs: ``u -> logits(low + width * u)``."""

    def __init__(self, oracle, low, width):
        super().__init__()
        self.oracle = oracle
        self.low = low
        self.width = width

    def forward(self, u):
        return self.oracle(self.low + self.width * u.flatten(1))


def _modules(estimator):
    """The torch modules whose parameters the logits depend on."""
    if isinstance(estimator, nn.Module):
        return [estimator]
    if isinstance(estimator, Pipeline):
        estimator = estimator.steps[0][1]
    module = getattr(estimator, "module_", None)
    return [module] if isinstance(module, nn.Module) else []


@contextlib.contextmanager
def _frozen(modules):
    """Parameters do not require gradients inside: FAB calls ``backward``, which would
    otherwise add to the parameters' ``.grad``."""
    params = [p for m in modules for p in m.parameters()]
    flags = [p.requires_grad for p in params]
    try:
        for p in params:
            p.requires_grad_(False)
        yield
    finally:
        for p, flag in zip(params, flags, strict=True):
            p.requires_grad_(flag)


def _box(clip_min, clip_max, shape):
    """``(low, width)`` of the box as float64 arrays of ``shape``; refuses boxes of unequal
    widths, which would map the ``eps`` ball to an ellipsoid in ``[0, 1]``."""
    try:
        low = np.broadcast_to(np.asarray(clip_min, dtype=np.float64), shape)
        high = np.broadcast_to(np.asarray(clip_max, dtype=np.float64), shape)
    except ValueError as exc:
        raise ValueError(f"clip_min and clip_max must be floats or arrays broadcastable to a "
                         f"sample's shape {shape}.") from exc
    width = high - low
    if not np.isfinite(low).all() or not np.isfinite(high).all() or not (width > 0).all():
        raise ValueError("The box must be finite with clip_min < clip_max everywhere.")
    w = float(width.flat[0])
    if np.abs(width - w).max() > _WIDTH_RTOL * w:
        raise ValueError(
            f"AutoAttack rescales the box to [0, 1]; this box's widths range from "
            f"{width.min():g} to {width.max():g}, and only a box of one width maps the eps ball "
            "to a ball (unequal widths make it an ellipsoid). Standardize the features to one "
            "range, or give clip_min and clip_max of equal widths.")
    return low, w


def run_autoattack(estimator, X, y, eps, *, norm="L2", version="standard", attacks=None,
                   clip_min=0.0, clip_max=1.0, device=None, batch_size=250, random_state=None):
    """Run AutoAttack at radius ``eps`` on every sample of X; per-sample robustness.

    The model's logits (:func:`~skspectral.attacks.as_logit_oracle`, in evaluation mode)
    are wrapped to take inputs in ``[0, 1]``, which AutoAttack assumes: ``u`` maps to
    ``clip_min + (clip_max - clip_min) * u`` and ``eps`` to ``eps / (clip_max -
    clip_min)``. The model's parameters, their gradients, its train/eval flags and the
    global random streams are as they were afterwards (AutoAttack seeds torch's global
    generator; it runs inside ``torch.random.fork_rng``).

    With fewer than 10 classes the targeted attacks aim at every other class (AutoAttack's
    9 targets need 10); the targeted APGD (DLR loss) needs at least 4 classes and is left
    out below that, as is the untargeted DLR loss of ``version="plus"`` below 3. Square
    perturbs square patches of images of at least 5 x 5 pixels: a flat sample of a square
    size is handed to it as a one-channel image (784 features as 28 x 28), and it is left
    out for any other input. ``result.attacks`` lists the attacks that ran.

    Parameters
    ----------
    estimator : fitted estimator, Pipeline or torch.nn.Module
        A model differentiable end to end (anything
        :func:`~skspectral.attacks.as_logit_oracle` accepts).
    X : array-like of shape (n_samples, ...)
        Samples inside the box.
    y : array-like of shape (n_samples,)
        True labels (for a torch module, the logits' column indices).
    eps : float
        Radius of the threat model, in the box's units (pixels in ``[0, 255]``: ``eps`` in
        those units).
    norm : {"L2", "Linf"}, default="L2"
        The threat model's norm.
    version : {"standard", "plus", "custom"}, default="standard"
        AutoAttack's version: ``"standard"`` (APGD-CE, APGD-T, FAB-T, Square with 5000
        queries; what RobustBench reports), ``"plus"``, or ``"custom"`` with ``attacks``.
    attacks : list of str or None, default=None
        With ``version="custom"``: the attacks to run, from
        ``"apgd-ce"``, ``"apgd-dlr"``, ``"apgd-t"``, ``"fab"``, ``"fab-t"``, ``"square"``
        (``["apgd-ce", "apgd-t"]`` is a cheap check).
    clip_min : float or array-like, default=0.0
        Lower bound of the input box; an array broadcastable to a sample's shape for a
        per-feature box (of one width: see Raises).
    clip_max : float or array-like, default=1.0
        Upper bound of the input box.
    device : str, torch.device or None, default=None
        Where AutoAttack runs; None: the model's device (passed to AutoAttack explicitly,
        whose own default is not the model's).
    batch_size : int, default=250
        Samples per AutoAttack batch.
    random_state : int, RandomState instance or None, default=None
        Seeds AutoAttack's random restarts and Square's draws.

    Returns
    -------
    AutoAttackResult
        Per-sample robustness (re-checked with the model's labels), the returned points and
        their perturbation norms.

    Raises
    ------
    ImportError
        If pyautoattack (the ``autoattack`` extra) is not installed.
    TypeError
        If the model is not differentiable end to end, or X is sparse.
    ValueError
        If a parameter is out of range, ``attacks`` does not go with ``version``, X lies
        outside the box, a label is unknown to the model, or the box's widths differ
        between features (only a box of one width rescales an L2 or L∞ ball to a ball).

    See Also
    --------
    AutoAttackScorer : The same as a scikit-learn scorer.
    skspectral.robustness_report : Minimal distances, and the curve over all radii.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skspectral import SpectralMLPClassifier
    >>> from skspectral.autoattack import run_autoattack
    >>> X, y = load_digits(return_X_y=True)
    >>> X = (X / 16).astype(np.float32)
    >>> clf = SpectralMLPClassifier(max_epochs=10, random_state=0).fit(X, y)
    >>> result = run_autoattack(clf, X[:20], y[:20], eps=0.5, version="custom",
    ...                         attacks=["apgd-ce"], random_state=0)
    >>> bool(result.robust_accuracy() <= np.mean(clf.predict(X[:20]) == y[:20]))
    True
    >>> bool((result.perturbation <= 0.5 + 1e-5).all())
    True
    """
    AutoAttack = _autoattack_class()
    validate("run_autoattack", _CONSTRAINTS,
             {"eps": eps, "norm": norm, "version": version, "attacks": attacks,
              "batch_size": batch_size, "random_state": random_state})
    _check_attacks(version, attacks)
    X, y = _dense(X, y, dtype=np.float32)
    if X.ndim < 2:
        raise ValueError(f"run_autoattack needs X of at least 2 dimensions; got X of shape "
                         f"{X.shape}.")
    oracle = as_logit_oracle(estimator, X.shape[1:], device=device)
    shape = oracle.input_shape
    if math.prod(X.shape[1:]) != math.prod(shape):
        raise ValueError(f"X's samples have shape {X.shape[1:]}, the model takes {shape}.")
    low, width = _box(clip_min, clip_max, shape)
    flat = X.reshape(len(X), -1).astype(np.float64)
    outside = np.flatnonzero(((flat < low.ravel()) | (flat > low.ravel() + width)).any(axis=1))
    if len(outside):
        raise ValueError(f"X[{outside[0]}] lies outside the box [clip_min, clip_max]; set the "
                         "box to the model's input range.")
    seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    aa_options = {"norm": norm, "eps": eps / width, "version": version, "seed": seed,
                  "attacks": None if attacks is None else list(attacks)}
    forked = [oracle.device] if oracle.device.type == "cuda" else []
    with _frozen(_modules(estimator)), oracle.evaluating(), \
            torch.random.fork_rng(devices=forked):
        adv, robust, ran = _evaluate(AutoAttack, oracle, flat, y, low, width, aa_options,
                                     batch_size)
    delta = adv - flat
    perturbation = (np.linalg.norm(delta, axis=1) if norm == "L2"
                    else np.abs(delta).max(axis=1))
    return AutoAttackResult(robust=robust, adversarial=adv.reshape(X.shape).astype(X.dtype),
                            perturbation=perturbation, eps=float(eps), norm=norm,
                            attacks=ran)


def _check_attacks(version, attacks):
    """``attacks`` goes with ``version="custom"`` (only), as a non-empty list of known names."""
    if (version == "custom") != (attacks is not None):
        raise ValueError("attacks goes with version='custom' (and only with it): got "
                         f"version={version!r} and attacks={attacks!r}.")
    if attacks is not None:
        unknown = sorted(set(attacks) - set(AUTOATTACK_ATTACKS))
        if unknown or not attacks:
            raise ValueError(f"attacks must be a non-empty list of {list(AUTOATTACK_ATTACKS)}, "
                             f"got {list(attacks)}.")


def _dense(X, y, dtype=None):
    """``X`` and ``y`` as arrays, ``y`` of one label per sample; refuses a sparse X."""
    if sp.issparse(X):
        raise TypeError("X is a scipy sparse matrix; AutoAttack needs dense inputs "
                        "(X.toarray()).")
    X, y = np.asarray(X, dtype=dtype), np.asarray(y)
    if y.shape != (len(X),):
        raise ValueError(f"X has {len(X)} samples but y has shape {y.shape}; y of shape "
                         "(n_samples,) is needed.")
    return X, y


def _evaluate(AutoAttack, oracle, flat, y, low, width, options, batch_size):
    """AutoAttack on the flat samples ``flat`` mapped to ``[0, 1]``: the points it returns
    (in the box's units), whether each keeps its label, and the attacks that ran."""
    dev, dtype, shape = oracle.device, torch.float32, oracle.input_shape
    model = _UnitBox(oracle, torch.tensor(low.ravel(), dtype=dtype, device=dev), width)
    image_shape = _image_shape(shape)
    u = torch.as_tensor((flat - low.ravel()) / width, dtype=dtype, device=dev)
    u = u.clamp_(0, 1).reshape(len(flat), *(image_shape or shape))
    with torch.no_grad():
        n_classes = model(u[:1]).shape[1]
    labels = oracle.encode(y).to(dev)
    unknown = np.flatnonzero(((labels < 0) | (labels >= n_classes)).cpu().numpy())
    if len(unknown):
        raise ValueError(f"y[{unknown[0]}] = {y[unknown[0]].item()!r} is not a class of the "
                         "model.")
    aa = AutoAttack(model, device=dev, **options)
    aa.verbose = False
    aa.attacks_to_run = _feasible(aa.attacks_to_run, n_classes, image_shape)
    aa.apgd_targeted.n_target_classes = min(aa.apgd_targeted.n_target_classes, n_classes - 1)
    aa.fab.n_target_classes = min(aa.fab.n_target_classes, n_classes - 1)
    u_adv, _ = aa.run_standard_evaluation(u, labels, batch_size=batch_size)
    # A sample no attack moved is returned as given (not as its round trip through
    # [0, 1], which may differ in the last bit).
    moved = (u_adv != u).flatten(1).any(dim=1).cpu().numpy()
    u_adv = u_adv.detach().flatten(1).cpu().double().numpy()
    adv = np.where(moved[:, None], low.ravel() + width * u_adv, flat)
    with torch.no_grad():
        points = torch.as_tensor(adv, dtype=dtype, device=dev)
        robust = (oracle.labels(points) == labels).cpu().numpy()
    return adv, robust, list(aa.attacks_to_run)


def _image_shape(shape):
    """The ``(c, h, w)`` shape the samples are handed to AutoAttack in: their own for
    images, a square for flat samples of a square size (784 = 28 x 28), else None (Square's
    patches need images of at least 5 x 5 pixels)."""
    if len(shape) == 3:
        return tuple(shape) if min(shape[1:]) >= _SQUARE_MIN_SIDE else None
    side = math.isqrt(math.prod(shape))
    return (1, side, side) if side * side == math.prod(shape) and side >= _SQUARE_MIN_SIDE \
        else None


def _feasible(attacks, n_classes, image_shape):
    """AutoAttack's attacks that a model of ``n_classes`` classes and its input allow (DLR
    compares the three largest logits, its targeted form needs a fourth; Square needs
    images)."""
    return [a for a in attacks
            if not (a == "apgd-t" and n_classes < 4) and not (a == "apgd-dlr" and n_classes < 3)
            and not (a == "square" and image_shape is None)]


class AutoAttackScorer(BaseEstimator):
    """A scikit-learn scorer of robust accuracy at ``eps`` under AutoAttack.

    Call it as ``scorer(estimator, X, y)``, alone or in a ``scoring`` dict of
    :class:`~sklearn.model_selection.GridSearchCV`. It draws ``n_samples`` samples of ``X``
    at random (misclassified ones count as not robust, as robust accuracy is reported) and
    returns the share that stays correctly classified under :func:`run_autoattack`. Needs
    the ``autoattack`` extra (``pip install 'skspectral[autoattack]'``).

    Parameters
    ----------
    eps : float
        Radius of the threat model, in the box's units.
    norm : {"L2", "Linf"}, default="L2"
        The threat model's norm.
    n_samples : int, default=100
        Samples attacked per call (all when ``X`` has fewer).
    version : {"standard", "plus", "custom"}, default="standard"
        AutoAttack's version (``"custom"`` with ``attacks``).
    attacks : list of str or None, default=None
        With ``version="custom"``: the attacks to run.
    clip_min : float or array-like, default=0.0
        Lower bound of the input box (per feature: of one width).
    clip_max : float or array-like, default=1.0
        Upper bound of the input box.
    device : str, torch.device or None, default=None
        Where AutoAttack runs; None: the model's device.
    batch_size : int, default=250
        Samples per AutoAttack batch.
    random_state : int, RandomState instance or None, default=0
        Seeds the draw of the samples and AutoAttack; the fixed default scores every
        candidate of a search on the same draw.

    Raises
    ------
    ValueError
        When called, if a parameter is out of range or the input is refused (see
        :func:`run_autoattack`).
    ImportError
        When called, if pyautoattack is not installed.

    See Also
    --------
    run_autoattack : Per-sample robustness, not one number.
    skspectral.RobustnessScorer : Minimal distances (the Tangent Attack or FMN/DDN).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skspectral import SpectralMLPClassifier
    >>> from skspectral.autoattack import AutoAttackScorer
    >>> X, y = load_digits(return_X_y=True)
    >>> X = (X / 16).astype(np.float32)
    >>> clf = SpectralMLPClassifier(max_epochs=10, random_state=0).fit(X, y)
    >>> scorer = AutoAttackScorer(eps=0.5, n_samples=20, version="custom",
    ...                           attacks=["apgd-ce"])
    >>> bool(0 <= scorer(clf, X, y) <= 1)
    True
    """

    def __init__(self, eps, norm="L2", n_samples=100, version="standard", attacks=None,
                 clip_min=0.0, clip_max=1.0, device=None, batch_size=250, random_state=0):
        store_params(self, locals())

    def __call__(self, estimator, X, y):
        """Robust accuracy of ``estimator`` on ``n_samples`` samples of ``(X, y)``.

        Parameters
        ----------
        estimator : fitted estimator, Pipeline or torch.nn.Module
            The model attacked (differentiable end to end).
        X : array-like of shape (n_samples, ...)
            Samples inside the box.
        y : array-like of shape (n_samples,)
            True labels.

        Returns
        -------
        float
            The share of the drawn samples classified correctly under AutoAttack.
        """
        validate(type(self).__name__,
                 {"n_samples": [StrictInterval(Integral, 1, None, closed="left")]},
                 {"n_samples": self.n_samples})
        X, y = _dense(X, y)
        rng = check_random_state(self.random_state)
        chosen = _draw(len(X), self.n_samples, rng)
        result = run_autoattack(estimator, X[chosen], y[chosen], self.eps, norm=self.norm,
                                version=self.version, attacks=self.attacks,
                                clip_min=self.clip_min, clip_max=self.clip_max,
                                device=self.device, batch_size=self.batch_size,
                                random_state=rng)
        return result.robust_accuracy()
