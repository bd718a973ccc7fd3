"""Robustness measures: adversarial distances, a scikit-learn scorer, the certified bound."""

import dataclasses
import inspect
import math
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ._checks import check_array, check_labels
from ._params import CONSTRAINTS, StrictInterval, store_params, validate
from .attacks import (
    CGBA,
    DDN,
    FMN,
    DecisionAttack,
    HopSkipJump,
    MinimumNormAttack,
    TangentAttack,
    cgba_settings,
)
from .attacks._oracle import linear_readout
from .data import check_map_style, dataset_labels, is_dataset, read_items
from .models import MLP
from .spectral import lipschitz_constant, operator_norm
from .spectral._chain import chain_lipschitz, volume_elements

__all__ = ["ATTACKS", "RobustnessScorer", "adversarial_distances", "certified_lower_bound",
           "volume_element"]

#: Attack names accepted by :func:`adversarial_distances` and :class:`RobustnessScorer`.
#: ``"cgba"`` (the default), ``"tangent"`` (the paper's) and ``"hopskipjump"`` need only
#: labels; ``"fmn"`` and ``"ddn"`` (white-box) need a model differentiable end to end.
ATTACKS = {"tangent": TangentAttack, "hopskipjump": HopSkipJump, "cgba": CGBA, "fmn": FMN,
           "ddn": DDN}


def _make_attack(attack, clip_min, clip_max, random_state, params, sample_shape):
    """The attack asked for; ``"cgba"`` takes the settings measured for ``sample_shape``
    (:func:`~skspectral.attacks.cgba_settings`) under the parameters given."""
    if isinstance(attack, (DecisionAttack, MinimumNormAttack)):
        if params:
            raise ValueError("Pass attack parameters to the attack instance, not alongside it: "
                             f"got {sorted(params)}.")
        return attack
    if attack not in ATTACKS:
        raise ValueError(f"attack must be one of {sorted(ATTACKS)} or an attack instance "
                         f"(DecisionAttack or MinimumNormAttack), got {attack!r}.")
    cls = ATTACKS[attack]
    valid = set(inspect.signature(cls).parameters) - {"clip_min", "clip_max", "random_state"}
    unknown = sorted(set(params) - valid)
    if unknown:
        raise TypeError(f"Unknown {cls.__name__} parameter(s) {unknown}; valid ones are "
                        f"{sorted(valid)}.")
    if cls is CGBA:
        params = {**cgba_settings(sample_shape, params.get("image_shape")), **params}
    return cls(clip_min, clip_max, random_state=random_state, **params)


def _sample_shape(X):
    """Shape of one sample of ``X``; ``()`` where none can be read (the attack's own checks
    then report ``X``)."""
    try:
        return tuple(np.shape(X)[1:])
    except ValueError:  # ragged nested sequences
        return ()


def _draw(n, n_samples, rng):
    """Sorted positions of ``n_samples`` of ``n`` samples drawn without replacement (all when
    None or at least ``n``)."""
    if n_samples is None or n_samples >= n:
        return np.arange(n)
    return np.sort(rng.choice(n, size=n_samples, replace=False))


def _draw_items(dataset, y, n_samples, rng, owner):
    """``(X, y, indices)`` of ``n_samples`` items of a map-style Dataset drawn as
    :func:`_draw` draws, reading no other item; ``y`` None takes the items' labels."""
    n = check_map_style(dataset, owner)
    if y is not None and len(y) != n:
        raise ValueError(f"The dataset has {n} items but y has {len(y)} labels.")
    indices = _draw(n, n_samples, rng)
    X, labels = read_items(dataset, indices, owner)
    return X, (labels if y is None else np.asarray(y)[indices]), indices


def _draw_correct(correct, n_samples, rng=None):
    """Sorted positions of up to ``n_samples`` True entries of the mask ``correct`` (the
    correctly classified samples): drawn without replacement with ``rng``, else the first."""
    pool = np.flatnonzero(correct)
    if rng is None:
        return pool[:n_samples]
    return np.sort(rng.choice(pool, size=min(n_samples, len(pool)), replace=False))


def adversarial_distances(estimator, X, y=None, *, n_samples=None, attack="cgba",
                          clip_min=0.0, clip_max=1.0, random_state=None, **attack_params):
    """Minimal L2 perturbation that changes the model's decision, per sample (an upper bound).

    Parameters
    ----------
    estimator : fitted estimator, Pipeline, torch module or callable
        Anything :func:`~skspectral.attacks.as_oracle` accepts.
    X : array-like of shape (n_samples, ...) or torch.utils.data.Dataset
        Samples; or a map-style Dataset of images or ``(image, label)`` items, of which
        only the attacked items are read (pixels as stored: uint8 values are not rescaled,
        so their box is ``[0, 255]``).
    y : array-like of shape (n_samples,) or None, default=None
        True labels (misclassified samples get distance 0); None attacks the predictions,
        or, for a Dataset of labelled items, uses the items' labels.
    n_samples : int or None, default=None
        Attack this many samples drawn at random (``random_state``) without replacement;
        all when None. ``result.indices`` says which.
    attack : {"cgba", "tangent", "hopskipjump", "fmn", "ddn"} or attack instance, default="cgba"
        The attack: :class:`~skspectral.CGBA`, :class:`~skspectral.TangentAttack` (the
        paper's) or :class:`~skspectral.HopSkipJump` (decision-based: labels only),
        :class:`~skspectral.attacks.FMN` or :class:`~skspectral.attacks.DDN` (white-box: a
        model differentiable end to end; their ``result.gradients`` counts the backward
        passes) by name (built with the box, ``random_state`` and ``attack_params``), or
        an attack instance used as it is. ``"cgba"`` on images of at least 16 pixels a
        side (image-shaped ``X``, or flat rows with ``image_shape``) takes
        :data:`~skspectral.attacks.IMAGE_SETTINGS` (low-frequency starts and probes, see
        :func:`~skspectral.attacks.cgba_settings`) unless ``attack_params`` set them.
    clip_min : float, default=0.0
        Lower bound of the input box the attack searches in (``"fmn"`` and ``"ddn"`` also
        take per-feature bounds, an array broadcastable to a sample's shape).
    clip_max : float, default=1.0
        Upper bound of the input box.
    random_state : int, RandomState instance or None, default=None
        Seeds the draw of the samples and the attack.
    **attack_params : dict
        Further parameters of the attack (``max_iter``, ``max_queries``, ``n_starts``, ...;
        ``max_iter`` is the white-box attacks' number of steps); an error alongside an
        attack instance.

    Returns
    -------
    AttackResult
        ``indices`` holds the attacked samples' positions in ``X``.

    Raises
    ------
    ValueError
        If ``attack`` is unknown, ``attack_params`` come with an attack instance, or a
        Dataset and ``y`` differ in length.
    TypeError
        If X is a sparse matrix (the attacks need dense inputs), or a white-box attack is
        asked of a model that is not differentiable end to end.

    See Also
    --------
    skspectral.RobustnessScorer : The same measurement as a scikit-learn scorer.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skspectral import SpectralMLPClassifier, adversarial_distances
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = SpectralMLPClassifier(max_epochs=20, random_state=0).fit(X / 16, y)
    >>> result = adversarial_distances(clf, X / 16, y, n_samples=5, random_state=0,
    ...                                max_iter=5)
    >>> len(result), result.indices.shape, bool(result.success.all())
    (5, (5,), True)
    >>> bool(0 < result.mean() < 8)  # pixels in [0, 1]: the box's diameter is 8
    True

    White-box: FMN's three runs (untargeted, then towards the two runners-up) of 100 steps,
    300 backward passes per sample:

    >>> fmn = adversarial_distances(clf, X / 16, y, n_samples=5, random_state=0,
    ...                             attack="fmn", max_iter=100)
    >>> bool(fmn.success.all()), int(fmn.gradients.max())
    (True, 300)
    """
    validate("adversarial_distances",
             {"n_samples": [StrictInterval(Integral, 1, None, closed="left"), None]},
             {"n_samples": n_samples})
    rng = check_random_state(random_state)
    if is_dataset(X):
        X, y, indices = _draw_items(X, y, n_samples, rng, "adversarial_distances")
    elif n_samples is not None:
        if sp.issparse(X):
            raise TypeError("X is a scipy sparse matrix; the attacks need dense inputs "
                            "(X.toarray()).")
        X = check_array(X, "X", min_ndim=2)
        y = None if y is None else check_labels(y, len(X))
        indices = _draw(len(X), n_samples, rng)
        X, y = X[indices], (None if y is None else np.asarray(y)[indices])
    else:
        indices, rng = None, random_state  # the attack seeded as given: nothing drawn
    result = _make_attack(attack, clip_min, clip_max, rng, attack_params,
                          _sample_shape(X)).attack(estimator, X, y)
    result.indices = np.arange(len(result)) if indices is None else indices
    return result


class RobustnessScorer(BaseEstimator):
    """A scikit-learn scorer of adversarial robustness (greater is better).

    Call it as ``scorer(estimator, X, y)``, alone or in a ``scoring`` dict of
    :class:`~sklearn.model_selection.GridSearchCV` (with ``refit`` naming it).

    Protocol (the paper's, by default): take the samples of ``X`` the estimator classifies
    correctly, attack ``n_samples`` of them drawn at random, and report the mean distance.
    With ``misclassified="zero"`` the ``n_samples`` are drawn from all of ``X`` and the
    misclassified ones count as distance 0. A sample for which no adversarial point exists
    in the box counts as the box's diameter, so that scores stay finite and comparable.

    Parameters
    ----------
    attack : {"cgba", "tangent", "hopskipjump", "fmn", "ddn"} or attack instance, default="cgba"
        The attack, by name (built with the box, the seed and ``attack_params``) or as an
        instance. ``"fmn"`` and ``"ddn"`` are white-box (:class:`~skspectral.attacks.FMN`,
        :class:`~skspectral.attacks.DDN`): far cheaper per sample, for models
        differentiable end to end. ``"cgba"`` on images of at least 16 pixels a side
        takes :data:`~skspectral.attacks.IMAGE_SETTINGS`, as in
        :func:`adversarial_distances`.
    n_samples : int, default=100
        Samples attacked per call (all when ``X`` has fewer).
    statistic : {"mean", "median", "robust_accuracy"} or float in (0, 1), default="mean"
        ``"robust_accuracy"``: the fraction of the attacked samples (misclassified ones
        counting as not robust) whose distance exceeds ``eps``; a float: that quantile.
    eps : float or None, default=None
        Radius for ``"robust_accuracy"`` (required with it).
    misclassified : {"exclude", "zero"}, default="exclude"
        ``"exclude"``: attack only correctly classified samples (the paper's protocol);
        ``"zero"``: draw from all samples, the misclassified ones at distance 0.
    clip_min : float, default=0.0
        Lower bound of the input box the attack searches in.
    clip_max : float, default=1.0
        Upper bound of the input box.
    random_state : int, RandomState instance or None, default=0
        Seeds the choice of samples and the attack; the fixed default scores every
        candidate of a search on the same draw.
    **attack_params : dict
        Further attack parameters (``max_iter``, ``max_queries``, ``n_starts``, ...).

    Raises
    ------
    ValueError
        When called, if a parameter is out of range (``statistic="robust_accuracy"``
        without ``eps``, say) or X and y do not match.

    See Also
    --------
    skspectral.adversarial_distances : Every attacked sample's distance, not one number.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skspectral import RobustnessScorer, SpectralMLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = SpectralMLPClassifier(max_epochs=20, random_state=0).fit(X / 16, y)
    >>> scorer = RobustnessScorer(n_samples=5, max_iter=5)
    >>> bool(0 < scorer(clf, X / 16, y) < 8)  # the mean distance of 5 correct samples
    True

    In a model selection, next to accuracy:

    >>> from sklearn.model_selection import GridSearchCV
    >>> search = GridSearchCV(SpectralMLPClassifier(), {"gamma": [0.0, 2e-2]},
    ...                       scoring={"acc": "accuracy", "robust": scorer}, refit="robust")
    """

    def __init__(self, attack="cgba", n_samples=100, statistic="mean", eps=None,
                 misclassified="exclude", clip_min=0.0, clip_max=1.0, random_state=0,
                 **attack_params):
        store_params(self, locals())
        self.attack_params = attack_params

    #: Declarative constraints (see :mod:`skspectral._params`), checked on every call: a
    #: scorer has no ``fit``, so scikit-learn's ``_fit_context`` (which validates on fit)
    #: does not apply.
    _parameter_constraints = {
        "attack": [StrOptions(set(ATTACKS)), DecisionAttack, MinimumNormAttack],
        "n_samples": [StrictInterval(Integral, 1, None, closed="left")],
        "statistic": [StrOptions({"mean", "median", "robust_accuracy"}),
                      StrictInterval(Real, 0, 1, closed="neither")],
        "eps": [StrictInterval(Real, 0, math.inf, closed="left"), None],
        "misclassified": [StrOptions({"exclude", "zero"})],
        "clip_min": DecisionAttack._parameter_constraints["clip_min"],
        "clip_max": DecisionAttack._parameter_constraints["clip_max"],
        "random_state": CONSTRAINTS["random_state"],
    }

    def get_params(self, deep=True):
        """Parameters of the scorer, ``attack_params`` among them by their own names.

        Parameters
        ----------
        deep : bool, default=True
            Unused: the scorer holds no estimator (kept for scikit-learn's signature).

        Returns
        -------
        dict
            Parameter names mapped to their values.
        """
        return {**super().get_params(deep=deep), **self.attack_params}

    def set_params(self, **params):
        """Set parameters; a name that is not a constructor argument is an attack parameter.

        Parameters
        ----------
        **params : dict
            Scorer or attack parameters.

        Returns
        -------
        RobustnessScorer
            The scorer itself.
        """
        named = set(self._get_param_names())
        self.attack_params = {**self.attack_params,
                              **{k: v for k, v in params.items() if k not in named}}
        return super().set_params(**{k: v for k, v in params.items() if k in named})

    def _check(self):
        params = {name: getattr(self, name) for name in self._parameter_constraints}
        validate(type(self).__name__, self._parameter_constraints, params)
        if self.statistic == "robust_accuracy" and self.eps is None:
            raise ValueError("statistic='robust_accuracy' needs eps, the distance a sample "
                             "must exceed to count as robust.")

    def __call__(self, estimator, X, y):
        """Score ``estimator`` on ``(X, y)``; see the class docstring.

        ``X`` may be a map-style Dataset (``y`` None takes its labels): only the samples
        the protocol needs are read, in a random order until ``n_samples`` correctly
        classified ones are found (the array path draws among all correctly classified
        samples instead: both are uniform draws, not the same draw).

        Parameters
        ----------
        estimator : fitted estimator, Pipeline, torch module or callable
            The model attacked (anything :func:`~skspectral.attacks.as_oracle` accepts).
        X : array-like of shape (n_samples, ...) or torch.utils.data.Dataset
            Samples in the input box.
        y : array-like of shape (n_samples,) or None
            True labels; None only with a Dataset of labelled items.

        Returns
        -------
        float
            The ``statistic`` of the attacked samples' distances (0.0 where no sample is
            classified correctly).
        """
        self._check()
        rng = check_random_state(self.random_state)
        exclude = self.misclassified == "exclude" and self.statistic != "robust_accuracy"
        if exclude and not hasattr(estimator, "predict"):
            raise TypeError(f"RobustnessScorer needs an estimator with predict to find the "
                            f"correctly classified samples; {type(estimator).__name__} has "
                            "none (a featurizer: score a Pipeline of it and a classifier).")
        draw = self._draw_from_dataset if is_dataset(X) else self._draw_from_array
        X, y, shape = draw(estimator, X, y, rng, exclude)
        if X is None:
            return 0.0
        attack = _make_attack(self.attack, self.clip_min, self.clip_max, rng, self.attack_params,
                              shape)
        result = attack.attack(estimator, X, y)
        diameter = (self.clip_max - self.clip_min) * math.sqrt(np.prod(shape))
        return self._statistic(result, diameter)

    def _statistic(self, result, diameter):
        """The ``statistic`` of the result's distances, capped at the box's ``diameter``
        (0.0 where no sample is left)."""
        capped = dataclasses.replace(result, distances=np.minimum(result.distances, diameter))
        if self.statistic == "robust_accuracy":
            return capped.robust_accuracy(self.eps)
        if self.statistic == "mean":
            value = capped.mean(self.misclassified)
        else:
            level = 0.5 if self.statistic == "median" else self.statistic
            value = float(capped.quantile(level, self.misclassified))
        return 0.0 if math.isnan(value) else value

    def _draw_from_array(self, estimator, X, y, rng, exclude):
        """``(X, y, sample shape)`` of the samples to attack (Nones where none is left)."""
        if sp.issparse(X):
            raise TypeError("X is a scipy sparse matrix; RobustnessScorer needs dense "
                            "inputs (X.toarray()).")
        X, y = np.asarray(X), np.asarray(y)
        if X.ndim < 2 or y.shape != (len(X),):
            raise ValueError(f"RobustnessScorer needs X of at least 2 dimensions and y of "
                             f"shape (n_samples,) = ({len(X) if X.ndim else 0},); got X of "
                             f"shape {X.shape} and y of shape {y.shape}.")
        correct = np.asarray(estimator.predict(X)) == y if exclude else np.ones(len(X), bool)
        if exclude and not correct.any():
            return None, None, None
        chosen = _draw_correct(correct, self.n_samples, rng)
        return X[chosen], y[chosen], X.shape[1:]

    def _draw_from_dataset(self, estimator, dataset, y, rng, exclude):
        """``(X, y, sample shape)`` of the samples to attack, reading no other item: the
        first correctly classified ones in a random order (Nones where none is)."""
        n = check_map_style(dataset, type(self).__name__)
        y = dataset_labels(dataset, type(self).__name__) if y is None else np.asarray(y)
        if y.shape != (n,):
            raise ValueError(f"The dataset has {n} items but y has shape {y.shape}.")
        order = rng.permutation(n)
        if not exclude:
            chosen = np.sort(order[:self.n_samples])
            X, _ = read_items(dataset, chosen, type(self).__name__)
            return X, y[chosen], X.shape[1:]
        correct, images = [], []
        for start in range(0, n, self.n_samples):  # chunks of n_samples, until enough
            chunk = order[start:start + self.n_samples]
            X, _ = read_items(dataset, chunk, type(self).__name__)
            correct.append(np.asarray(estimator.predict(X)) == y[chunk])
            images.append(X)
            if sum(map(np.sum, correct)) >= self.n_samples:
                break
        picked = _draw_correct(np.concatenate(correct), self.n_samples)
        if not len(picked):
            return None, None, None
        kept = np.argsort(order[picked])  # in dataset order, as the array path attacks them
        return np.concatenate(images)[picked][kept], y[order[picked][kept]], X.shape[1:]


def certified_lower_bound(estimator, X):
    """Lemma 1 lower bound of the distance to the decision boundary, per sample.

    For a sample predicted as class ``c``, every input ``x'`` the model labels otherwise
    satisfies ``|x' - x| >= min_k [(W_c - W_k) Φ(x) + b_c - b_k] / |W_c - W_k| / Lip(Φ)``.
    ``Lip(Φ)`` is bounded by the product of the layers' constants along Φ: exact operator
    norms of its Linear and convolution layers (a convolution at the input size it sees),
    the activations' Lipschitz constants (:data:`~skspectral.spectral.ACTIVATIONS`, LeakyReLU
    with slope <= 1), 1 for flattening, identities and dropout, and pooling's constants.
    Any attack's distance to a decision change is at least this bound.

    The product bound holds for a *chain* of such maps: the bound is defined for
    :class:`~skspectral.SpectralMLPClassifier`, and for a
    :class:`~skspectral.SpectralClassifier` whose Φ is an ``nn.Sequential`` (nested
    Sequentials allowed) of those layers. Normalization layers (BatchNorm, LayerNorm),
    attention, residual blocks and other modules with their own ``forward`` are not
    linear maps with a fixed operator norm, or hide how their parts compose; for them the
    bound is not defined and the function refuses.

    A Pipeline must be exactly: the featurizer first, a linear classifier last, and between
    them only affine per-feature steps (``StandardScaler``, ``MaxAbsScaler``,
    ``MinMaxScaler(clip=False)``, ``"passthrough"``). Such a step maps ``z`` to
    ``z * a + s``, so the head sees ``W (z * a + s) + b``: the bound folds it into the head
    exactly (``W diag(a)``, ``b + W s``) instead of multiplying ``Lip(Φ)`` by ``max |a|``.
    Any other step (a non-linear transformer, a clipping scaler, PCA, another estimator),
    a head that is not linear (k-NN, trees, kernels, an MLP), and any other model are
    refused with the reason: for them this number would not be a bound.

    Parameters
    ----------
    estimator : fitted estimator or Pipeline
        A SpectralMLPClassifier or SpectralClassifier, alone or as the first step of a
        Pipeline ending in a scikit-learn linear classifier (``LinearClassifierMixin``:
        LogisticRegression, LinearSVC, RidgeClassifier, SGDClassifier, ...). With a
        Pipeline, the readout ``W, b`` is the linear classifier's (``coef_``,
        ``intercept_``), retrained on the features as in the paper's transfer setting.
    X : array-like
        Samples as the estimator takes them: ``(n_samples, n_features)`` rows, or images
        for a SpectralClassifier.

    Returns
    -------
    ndarray of shape (n_samples,)
        The bound, relative to the predicted class (a misclassified sample's bound is its
        distance to a change of its *predicted* label).

    Raises
    ------
    TypeError
        For models whose Lipschitz constant skspectral cannot bound, naming the module
        that prevents it; for a Pipeline step or head the bound does not cover, naming
        the step.
    ValueError
        If X is not valid input of the estimator (NaN, wrong number of features), or the
        head takes another number of features than the featurizer gives.
    sklearn.exceptions.NotFittedError
        If the estimator, a step or the head is not fitted (a ValueError).

    Examples
    --------
    >>> import numpy as np
    >>> from skspectral import SpectralMLPClassifier, certified_lower_bound
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 2))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> clf = SpectralMLPClassifier(hidden_layer_sizes=(8,), max_epochs=5, batch_size=40,
    ...                             random_state=0).fit(X, y)
    >>> bound = certified_lower_bound(clf, X[:3])
    >>> bound.shape, bool((bound >= 0).all())
    ((3,), True)
    """
    featurizer, scalers, head = _bound_structure(estimator)
    lip = _feature_lipschitz(featurizer)
    Z = featurizer.transform(X).astype(np.float64)
    W, b = (a.astype(np.float64) for a in linear_readout(featurizer if head is None else head))
    if head is not None:
        if W.shape[1] != Z.shape[1]:
            raise ValueError(f"The Pipeline's head {type(head).__name__} takes "
                             f"{W.shape[1]} features (coef_ of shape {W.shape}), but the "
                             f"featurizer gives {Z.shape[1]}.")
        for _, scaler in reversed(scalers):  # fold each affine step into the head, exactly
            scale, shift = _affine_step(scaler, Z.shape[1])
            W, b = W * scale[None, :], b + W @ shift
        if W.shape[0] == 1:  # binary: decision function w.z + b against 0
            W, b = np.vstack([np.zeros_like(W[0]), W[0]]), np.array([0.0, b[0]])
    scores = Z @ W.T + b
    c = scores.argmax(axis=1)
    margins = scores[np.arange(len(Z)), c][:, None] - scores               # (n, K)
    norms = np.linalg.norm(W[c][:, None, :] - W[None, :, :], axis=2)       # (n, K)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(np.arange(W.shape[0])[None, :] == c[:, None], np.inf, margins / norms)
    return ratio.min(axis=1) / lip


#: Steps a Pipeline may hold between the featurizer and the head: affine per-feature maps
#: ``z * scale + shift``, folded into the linear head exactly (no Lipschitz factor needed).
_AFFINE_STEPS = ("StandardScaler", "MaxAbsScaler", "MinMaxScaler (clip=False)", "'passthrough'")


def _affine_step(step, n_features):
    """``(scale, shift)`` of a fitted affine step: it maps ``z`` to ``z * scale + shift``."""
    from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, StandardScaler

    ones, zeros = np.ones(n_features), np.zeros(n_features)
    if step is None or (isinstance(step, str) and step == "passthrough"):
        return ones, zeros
    if isinstance(step, StandardScaler):
        scale = ones if step.scale_ is None else 1.0 / np.asarray(step.scale_, np.float64)
        mean = zeros if step.mean_ is None or not step.with_mean \
            else np.asarray(step.mean_, np.float64)
        return scale, -mean * scale
    if isinstance(step, MaxAbsScaler):
        return 1.0 / np.asarray(step.scale_, np.float64), zeros
    if isinstance(step, MinMaxScaler) and not step.clip:
        return np.asarray(step.scale_, np.float64), np.asarray(step.min_, np.float64)
    raise TypeError(f"{type(step).__name__} is not an affine step of {_AFFINE_STEPS}.")


def _bound_structure(estimator):
    """``(featurizer, [(name, affine step)], head or None)`` of a model the bound is defined
    for; TypeError naming the step that is not (see :func:`certified_lower_bound`)."""
    from sklearn.linear_model._base import LinearClassifierMixin
    from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, StandardScaler

    if not isinstance(estimator, Pipeline):
        check_is_fitted(estimator)
        return estimator, [], None
    steps = estimator.steps
    if len(steps) < 2:
        raise TypeError("certified_lower_bound needs a Pipeline of a skspectral featurizer "
                        f"and a linear classifier; this one has {len(steps)} step.")
    (_, featurizer), (head_name, head) = steps[0], steps[-1]
    check_is_fitted(featurizer)
    for name, step in steps[1:-1]:
        affine = step is None or (isinstance(step, str) and step == "passthrough") \
            or isinstance(step, (StandardScaler, MaxAbsScaler)) \
            or (isinstance(step, MinMaxScaler) and not step.clip)
        if not affine:
            raise TypeError(
                f"certified_lower_bound is not defined for this Pipeline: step {name!r} is a "
                f"{type(step).__name__}, whose effect on distances the bound does not "
                f"account for; between the featurizer and the linear head only affine "
                f"per-feature steps are allowed ({', '.join(_AFFINE_STEPS)}).")
        if step is not None and not isinstance(step, str):
            check_is_fitted(step)
    if not isinstance(head, LinearClassifierMixin):
        raise TypeError(
            f"certified_lower_bound is not defined for this Pipeline: its last step "
            f"{head_name!r} is a {type(head).__name__}, not a linear classifier (scikit-learn's "
            "LinearClassifierMixin: LogisticRegression, LinearSVC, RidgeClassifier, "
            "SGDClassifier, ...), whose decision regions are bounded by hyperplanes.")
    check_is_fitted(head)
    return featurizer, steps[1:-1], head


def _feature_lipschitz(featurizer):
    """An upper bound of Lip(Φ) of a fitted SpectralMLPClassifier or SpectralClassifier."""
    from .models import FeatureNetwork  # the module's class decides which bound applies
    from .models.preprocess import Normalize

    module = getattr(featurizer, "module_", None)
    if isinstance(module, MLP):
        activation = lipschitz_constant(featurizer.activation)
        hidden = [m for m in module.features if isinstance(m, torch.nn.Linear)]
        return activation ** len(hidden) * math.prod(operator_norm(m) for m in hidden)
    if isinstance(module, FeatureNetwork):
        return chain_lipschitz(module.features, featurizer.input_shape_,
                               {Normalize: lambda lip, m: lip / float(m.std.min())})
    raise TypeError("certified_lower_bound is implemented for SpectralMLPClassifier and "
                    "SpectralClassifier (alone or as the first step of a Pipeline ending in a "
                    "linear classifier): no Lipschitz bound of "
                    f"{type(featurizer).__name__}'s feature map is implemented.")


def _feature_map(model, X):
    """``(Φ, X as a tensor, device)`` of a model :func:`volume_element` takes."""
    if isinstance(model, Pipeline):
        model = model.steps[0][1]
    if isinstance(model, torch.nn.Module):
        features = getattr(model, "features", model)
        X = torch.as_tensor(check_array(X, "X").astype(np.float32, copy=False))
        param = next(features.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
    else:
        check_is_fitted(model)
        module = getattr(model, "module_", None)
        if not isinstance(module, torch.nn.Module) or not hasattr(module, "features"):
            raise TypeError(f"volume_element needs a fitted skspectral estimator (its "
                            f"module_.features is Φ), a Pipeline starting with one, or a torch "
                            f"module; got {type(model).__name__}.")
        features = module.features
        X = torch.as_tensor(model._validate_X(X, reset=False)[0])
        device = torch.device(model.device_)
    return features, X, device


def volume_element(model, X, *, log=False, return_lambda_max=False, batch_size=64):
    """Volume element of the feature map, ``sqrt(det(J(x)^T J(x)))`` with ``J = dΦ/dx``.

    The paper's Remark 1 (Fig. 3b): how much Φ stretches volume around each input. The
    Jacobian of Φ at each sample is computed with ``torch.func`` (``jacrev`` under ``vmap``)
    on the model's device, in its evaluation mode; ``J^T J`` and its determinant in float64.

    Rule: ``J^T J`` is ``d x d`` (``d`` the input dimension) with rank at most ``m``, the
    feature dimension, so its determinant is 0 everywhere when ``d > m``; that is an error.
    (For images, ``d = C*H*W``.)

    Parameters
    ----------
    model : fitted skspectral estimator, Pipeline starting with one, or torch.nn.Module
        Φ is ``module_.features`` of the estimator (of the Pipeline's first step), or the
        module's ``features`` (the module itself if it has none).
    X : array-like of shape (n_samples, ...)
        The inputs, each of the model's input shape, at which the volume element is evaluated.
    log : bool, default=False
        Return ``log sqrt(det(J^T J))`` (``-inf`` where J is rank-deficient), which does not
        under- or overflow in high dimensions.
    return_lambda_max : bool, default=False
        Also return ``lambda_max(J^T J)``, the squared top singular value of J.
    batch_size : int, default=64
        Samples per vmapped Jacobian.

    Returns
    -------
    volume : ndarray of shape (n_samples,)
        ``sqrt(det(J^T J))`` at each sample (its log with ``log=True``).
    lambda_max : ndarray of shape (n_samples,)
        Only with ``return_lambda_max=True``.

    Raises
    ------
    ValueError
        If X holds no sample, holds NaN or infinity, does not fit the model, or the input
        dimension exceeds the feature dimension; if ``batch_size`` is not a positive int.
    TypeError
        If ``model`` is neither a fitted skspectral estimator (or a Pipeline starting with
        one) nor a torch module, or ``log``/``return_lambda_max`` is not a bool.

    Examples
    --------
    A linear map stretches volume by ``|det W|`` everywhere:

    >>> import torch
    >>> from skspectral import volume_element
    >>> phi = torch.nn.Linear(2, 2, bias=False)
    >>> with torch.no_grad():
    ...     _ = phi.weight.copy_(torch.tensor([[2.0, 0.0], [0.0, 3.0]]))
    >>> volume, lam = volume_element(phi, [[0.0, 0.0], [1.0, -1.0]], return_lambda_max=True)
    >>> volume.round(4), lam.round(4)
    (array([6., 6.]), array([9., 9.]))

    For a fitted estimator, Φ is its feature map (``d <= m``: 2 inputs, 8 features):

    >>> from skspectral import SpectralMLPClassifier
    >>> from skspectral.datasets import make_xor
    >>> X, y = make_xor(20, noise=0.2, random_state=0)
    >>> clf = SpectralMLPClassifier(hidden_layer_sizes=(8,), max_epochs=5,
    ...                             random_state=0).fit(X, y)
    >>> volume_element(clf, X[:3]).shape
    (3,)
    """
    validate("volume_element", {"log": ["boolean"], "return_lambda_max": ["boolean"],
                                "batch_size": CONSTRAINTS["batch_size"]},
             {"log": log, "return_lambda_max": return_lambda_max, "batch_size": batch_size})
    features, X, device = _feature_map(model, X)
    if X.ndim < 2 or len(X) == 0:
        raise ValueError(f"X must hold at least one sample, got shape {tuple(X.shape)}.")
    was_training = features.training
    features.eval()
    try:
        volume, top = volume_elements(features, X, device, batch_size, log)
    finally:
        features.train(was_training)
    return (volume, top) if return_lambda_max else volume
