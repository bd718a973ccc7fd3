"""How tight is the number: the certified lower bound beside white- and black-box upper bounds.

:func:`robustness_report` measures, on one draw of samples, the three numbers that bracket each
sample's distance to the decision boundary; :func:`paired_difference` says whether two models'
distances on the same samples differ beyond the noise of the draw.
"""

import math
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from scipy import stats
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions

from ._params import StrictInterval, validate
from .attacks import AttackResult
from .data import is_dataset
from .metrics import _draw, _draw_items, adversarial_distances, certified_lower_bound

__all__ = ["PairedDifference", "RobustnessReport", "paired_difference", "robustness_report"]

#: A black-box distance more than this factor above the white-box one counts as loose in
#: :meth:`RobustnessReport.summary` (``blackbox_loose``).
LOOSE_FACTOR = 1.1


@dataclass(frozen=True)
class PairedDifference:
    """The mean of ``a - b`` over paired samples, with a t confidence interval.

    Returned by :func:`paired_difference` and :meth:`RobustnessReport.compare`. The
    parameters are stored as the attributes of the same names.

    Parameters
    ----------
    mean_a : float
        Mean of ``a`` over the pairs.
    mean_b : float
        Mean of ``b`` over the pairs.
    difference : float
        Mean of the per-pair differences ``a - b`` (equal to ``mean_a - mean_b``).
    low : float
        Lower end of the confidence interval of ``difference``.
    high : float
        Upper end of the confidence interval of ``difference``.
    n : int
        Number of pairs.
    confidence : float
        Confidence level of ``[low, high]``.

    Examples
    --------
    >>> from skspectral.report import PairedDifference
    >>> d = PairedDifference(mean_a=1.1, mean_b=1.0, difference=0.1, low=0.05, high=0.15,
    ...                      n=50, confidence=0.95)
    >>> d.excludes_zero, round(d.relative, 3)
    (True, 0.1)
    >>> print(d)
    1.100 vs 1.000: +0.100 [+0.050, +0.150] (+10.0%; 95% CI, 50 pairs)
    """

    mean_a: float
    mean_b: float
    difference: float
    low: float
    high: float
    n: int
    confidence: float

    @property
    def relative(self):
        """``difference / mean_b``: the difference as a fraction of ``b``'s mean."""
        return self.difference / self.mean_b if self.mean_b else math.nan

    @property
    def excludes_zero(self):
        """Whether the interval excludes 0 (the difference is beyond the draw's noise)."""
        return bool(self.low > 0 or self.high < 0)

    def __str__(self):
        return (f"{self.mean_a:.3f} vs {self.mean_b:.3f}: {self.difference:+.3f} "
                f"[{self.low:+.3f}, {self.high:+.3f}] ({100 * self.relative:+.1f}%; "
                f"{100 * self.confidence:g}% CI, {self.n} pairs)")


def _values(x, name):
    """Per-sample values of an AttackResult or an array, with the result's indices."""
    if isinstance(x, AttackResult):
        return np.asarray(x.distances, dtype=float), x.indices
    values = np.asarray(x, dtype=float)
    if values.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional (one value per sample), got shape "
                         f"{values.shape}.")
    return values, None


def paired_difference(a, b, *, confidence=0.95, misclassified="exclude"):
    """Mean difference ``a - b`` over the same samples, with its t confidence interval.

    Two models' mean distances on a few dozen samples differ by chance as much as by the
    models; pairing removes the samples' own spread (an input far from every boundary is far
    for both models). The interval is Student's t on the per-sample differences,
    ``mean ± t_{(1+confidence)/2, n-1} · sd / √n``.

    Parameters
    ----------
    a : AttackResult or array-like of shape (n_samples,)
        Per-sample values of the first model (an attack result's ``distances``).
    b : AttackResult or array-like of shape (n_samples,)
        The second model's, on the same samples in the same order.
    confidence : float, default=0.95
        Confidence level of the interval, in (0, 1).
    misclassified : {"exclude", "zero"}, default="exclude"
        ``"exclude"``: leave out the pairs where either value is 0 (a sample either model
        misclassifies, the paper's protocol); ``"zero"``: keep them.

    Returns
    -------
    PairedDifference
        The means, the mean difference, its interval and the number of pairs.

    Raises
    ------
    ValueError
        If ``a`` and ``b`` differ in length or attacked different samples (both results'
        ``indices`` set and different), a value is not finite (a failed attack's ``inf``),
        fewer than two pairs remain, or a parameter is out of range.

    Examples
    --------
    >>> from skspectral.report import paired_difference
    >>> d = paired_difference([1.0, 2.0, 3.0, 4.0, 5.0], [0.8, 1.9, 2.7, 3.8, 4.9])
    >>> print(d)
    3.000 vs 2.820: +0.180 [+0.076, +0.284] (+6.4%; 95% CI, 5 pairs)
    >>> d.excludes_zero
    True
    """
    validate("paired_difference",
             {"confidence": [StrictInterval(Real, 0, 1, closed="neither")],
              "misclassified": [StrOptions({"exclude", "zero"})]},
             {"confidence": confidence, "misclassified": misclassified})
    (va, ia), (vb, ib) = _values(a, "a"), _values(b, "b")
    if va.shape != vb.shape:
        raise ValueError(f"a and b must hold the same samples: got {len(va)} and {len(vb)} "
                         "values.")
    if ia is not None and ib is not None and not np.array_equal(ia, ib):
        raise ValueError("a and b attacked different samples (their indices differ): draw "
                         "both with the same random_state and n_samples, or attack the same X.")
    for name, values in (("a", va), ("b", vb)):
        bad = np.flatnonzero(~np.isfinite(values))
        if len(bad):
            raise ValueError(f"{name} has a non-finite value at position {bad[0]} "
                             f"({values[bad[0]]}): a failed attack has no distance to compare.")
    if misclassified == "exclude":
        keep = (va != 0) & (vb != 0)
        va, vb = va[keep], vb[keep]
    n = len(va)
    if n < 2:
        raise ValueError(f"paired_difference needs at least 2 pairs, got {n}.")
    diff = va - vb
    mean = float(diff.mean())
    half = float(stats.t.ppf((1 + confidence) / 2, n - 1) * diff.std(ddof=1) / math.sqrt(n))
    return PairedDifference(mean_a=float(va.mean()), mean_b=float(vb.mean()), difference=mean,
                            low=mean - half, high=mean + half, n=n, confidence=confidence)


@dataclass
class RobustnessReport:
    """Per sample: the certified lower bound, the white-box and the black-box upper bound.

    Returned by :func:`robustness_report`; all three are measured on the same samples. The
    true distance ``d`` of a sample to the decision boundary (within the box) satisfies
    ``lower <= d <= min(whitebox, blackbox)``. The parameters are stored as the attributes
    of the same names.

    Parameters
    ----------
    indices : ndarray of int, shape (n_samples,)
        Positions in the caller's X of the measured samples.
    lower : ndarray of shape (n_samples,)
        :func:`~skspectral.certified_lower_bound` per sample; 0 for a misclassified sample,
        NaN where the bound is not defined.
    lower_reason : ndarray of str, shape (n_samples,)
        ``""`` where ``lower`` is the certified bound, ``"misclassified"`` where the sample
        is misclassified (its distance is 0), else why the bound is not defined.
    whitebox : AttackResult
        The white-box attack's result (``queries`` counts forward passes, ``gradients``
        backward passes).
    blackbox : AttackResult
        The black-box attack's result (``queries`` counts label queries).

    Examples
    --------
    >>> import numpy as np
    >>> from skspectral import AttackResult
    >>> from skspectral.report import RobustnessReport
    >>> def result(d):
    ...     d = np.asarray(d)
    ...     return AttackResult(d, np.zeros((len(d), 2)), np.ones(len(d), bool),
    ...                         np.ones(len(d), int), 0.0, 1.0)
    >>> report = RobustnessReport(np.arange(3), lower=np.array([0.2, 0.3, 0.0]),
    ...                           lower_reason=np.array(["", "", "misclassified"]),
    ...                           whitebox=result([0.5, 1.0, 0.0]),
    ...                           blackbox=result([0.6, 1.0, 0.0]))
    >>> report.ratio
    array([1.2, 1. , nan])
    >>> curves = report.robust_accuracy([0.25, 0.55])  # shares of the 3 samples
    >>> for name, share in curves.items():
    ...     print(name, (3 * share).round().astype(int))
    certified [1 0]
    upper [2 1]
    whitebox [2 1]
    blackbox [2 2]
    >>> s = report.summary()
    >>> s["mean_lower"], s["mean_whitebox"], s["blackbox_loose"]
    (0.25, 0.75, 0.5)
    """

    indices: np.ndarray
    lower: np.ndarray
    lower_reason: np.ndarray
    whitebox: AttackResult
    blackbox: AttackResult

    def __len__(self):
        return len(self.lower)

    @property
    def clip_min(self):
        """Lower end of the input box (distances are in its units)."""
        return self.whitebox.clip_min

    @property
    def clip_max(self):
        """Upper end of the input box."""
        return self.whitebox.clip_max

    @property
    def upper(self):
        """ndarray of shape (n_samples,): the smaller of the two upper bounds per sample."""
        return np.fmin(self.whitebox.distances, self.blackbox.distances)

    @property
    def ratio(self):
        """ndarray of shape (n_samples,): black-box / white-box distance; NaN where the
        white-box distance is 0 (misclassified) or either is not finite."""
        wb, bb = self.whitebox.distances, self.blackbox.distances
        ok = (wb > 0) & np.isfinite(wb) & np.isfinite(bb)
        out = np.full(len(wb), np.nan)
        out[ok] = bb[ok] / wb[ok]
        return out

    def robust_accuracy(self, eps):
        """The robust-accuracy curve ``R(eps) = P(d > eps)`` and its band.

        Every sample counts (a misclassified one has ``d = 0``, so it is never robust).
        The true curve lies between ``"certified"`` (the share of samples whose lower bound
        exceeds ``eps``; a sample without a bound counts with the trivial bound 0) and
        ``"upper"`` (the share whose best upper bound exceeds ``eps``).

        Parameters
        ----------
        eps : float or array-like of float
            Radii, in the box's units.

        Returns
        -------
        dict of str to ndarray
            ``"certified"``, ``"upper"``, ``"whitebox"`` and ``"blackbox"``, each of
            ``eps``'s shape (at least 1-D): the share of samples whose bound exceeds ``eps``.
        """
        eps = np.atleast_1d(np.asarray(eps, dtype=float))
        lower = np.nan_to_num(self.lower, nan=0.0)

        def share(d):
            return (np.asarray(d)[:, None] > eps.ravel()[None, :]).mean(axis=0).reshape(
                eps.shape)

        return {"certified": share(lower), "upper": share(self.upper),
                "whitebox": share(self.whitebox.distances),
                "blackbox": share(self.blackbox.distances)}

    def summary(self):
        """Dict of the sandwich's statistics.

        Means are over the correctly classified samples (the paper's protocol); the ratio
        statistics over those where both attacks found a point.

        Returns
        -------
        dict
            ``n_samples``, ``n_misclassified``, ``n_certified`` (samples with a lower
            bound), ``mean_lower`` (NaN where no sample has one), ``mean_whitebox``,
            ``mean_blackbox``, ``mean_upper`` (of the per-sample best upper bound),
            ``ratio_mean``, ``ratio_median``, ``ratio_q90`` (black-box / white-box),
            ``blackbox_loose`` (the share of samples whose black-box distance exceeds
            ``LOOSE_FACTOR`` = 1.1 times the white-box one), ``whitebox_failed`` and
            ``blackbox_failed`` (samples without an adversarial point),
            ``whitebox_cost`` (mean forward plus backward passes per sample, AttackBench's
            cost) and
            ``blackbox_queries`` (mean label queries per sample).
        """
        correct = self.lower_reason != "misclassified"
        certified = correct & ~np.isnan(self.lower)
        ratio = self.ratio[~np.isnan(self.ratio)]

        def mean(values):
            values = values[correct]
            return float(values.mean()) if len(values) else math.nan

        return {
            "n_samples": len(self),
            "n_misclassified": int((~correct).sum()),
            "n_certified": int(certified.sum()),
            "mean_lower": float(self.lower[certified].mean()) if certified.any() else math.nan,
            "mean_whitebox": mean(self.whitebox.distances),
            "mean_blackbox": mean(self.blackbox.distances),
            "mean_upper": mean(self.upper),
            "ratio_mean": float(ratio.mean()) if len(ratio) else math.nan,
            "ratio_median": float(np.median(ratio)) if len(ratio) else math.nan,
            "ratio_q90": float(np.quantile(ratio, 0.9)) if len(ratio) else math.nan,
            "blackbox_loose": float(np.mean(ratio > LOOSE_FACTOR)) if len(ratio) else math.nan,
            "whitebox_failed": int((~self.whitebox.success).sum()),
            "blackbox_failed": int((~self.blackbox.success).sum()),
            "whitebox_cost": float(np.mean(self._cost(self.whitebox))),
            "blackbox_queries": float(np.mean(self.blackbox.queries)),
        }

    @staticmethod
    def _cost(result):
        """Forward plus backward passes per sample (a white-box result counts its backward
        passes in ``gradients``; a black-box result has none)."""
        gradients = getattr(result, "gradients", None)
        return result.queries if gradients is None else result.queries + gradients

    def compare(self, other, bound="whitebox", *, confidence=0.95):
        """Paired difference of one bound between this report's model and ``other``'s.

        Parameters
        ----------
        other : RobustnessReport
            A report of another model on the same samples (same ``indices``: the same X,
            ``n_samples`` and ``random_state``).
        bound : {"whitebox", "blackbox", "upper", "lower"}, default="whitebox"
            Which per-sample number to compare.
        confidence : float, default=0.95
            Confidence level of the interval.

        Returns
        -------
        PairedDifference
            ``self``'s minus ``other``'s, over the samples both classify correctly.

        Raises
        ------
        ValueError
            If the reports measured different samples, ``bound`` is unknown, or the values
            compared are not finite (a failed attack, an undefined lower bound).
        """
        if not isinstance(other, RobustnessReport):
            raise TypeError(f"other must be a RobustnessReport, got {type(other).__name__}.")
        if not np.array_equal(self.indices, other.indices):
            raise ValueError("The reports measured different samples (their indices differ): "
                             "build both with the same X, n_samples and random_state.")
        values = {"whitebox": lambda r: r.whitebox.distances,
                  "blackbox": lambda r: r.blackbox.distances,
                  "upper": lambda r: r.upper, "lower": lambda r: r.lower}
        if bound not in values:
            raise ValueError(f"bound must be one of {sorted(values)}, got {bound!r}.")
        a, b = values[bound](self), values[bound](other)
        # Pairs where either model misclassifies the sample are left out (both at 0 there).
        keep = (self.lower_reason != "misclassified") & (other.lower_reason != "misclassified")
        return paired_difference(a[keep], b[keep], confidence=confidence, misclassified="zero")


def robustness_report(estimator, X, y=None, *, n_samples=None, clip_min=0.0, clip_max=1.0,
                      whitebox="fmn", blackbox="tangent", random_state=None,
                      whitebox_params=None, blackbox_params=None):
    """The certified lower bound and the white- and black-box upper bounds, on one draw.

    Draws ``n_samples`` samples once and measures each of them three ways: the certified
    lower bound (:func:`~skspectral.certified_lower_bound`, where skspectral can bound the
    feature map's Lipschitz constant), a white-box minimum-norm attack (gradients of the
    model's logits) and a black-box attack (labels only), both through
    :func:`~skspectral.adversarial_distances`. The true minimal L2 distance of a sample lies
    between the lower bound and the smaller upper bound; the report says how far apart they
    are and how loose the black-box number is.

    Parameters
    ----------
    estimator : fitted estimator or Pipeline
        A model both attacks accept: a skspectral classifier, or a Pipeline of a skspectral
        featurizer and a linear classifier (the white-box attack needs a model that is
        differentiable end to end).
    X : array-like of shape (n_samples, ...) or torch.utils.data.Dataset
        Samples inside the box (a map-style Dataset: only the drawn items are read).
    y : array-like of shape (n_samples,) or None, default=None
        True labels (misclassified samples have distance 0); None uses the predictions, or
        a Dataset's labels.
    n_samples : int or None, default=None
        Measure this many samples drawn at random (``random_state``) without replacement;
        all when None.
    clip_min : float, default=0.0
        Lower bound of the input box both attacks search in.
    clip_max : float, default=1.0
        Upper bound of the input box.
    whitebox : str or attack instance, default="fmn"
        The white-box attack: a name :func:`~skspectral.adversarial_distances` accepts
        (``"fmn"``, ``"ddn"``) or an instance. FMN's default runs towards the runner-up
        classes too and keeps each sample's smallest distance (see
        :class:`~skspectral.attacks.FMN`'s ``n_targets``), so that the white-box bound is
        the tighter of the two upper bounds on most samples.
    blackbox : str or DecisionAttack, default="tangent"
        The black-box attack (``"tangent"``, ``"hopskipjump"``) or an instance.
    random_state : int, RandomState instance or None, default=None
        Seeds the draw and both attacks.
    whitebox_params : dict or None, default=None
        Further parameters of the white-box attack (``max_iter``, ...).
    blackbox_params : dict or None, default=None
        Further parameters of the black-box attack (``max_queries``, ``n_starts``, ...).

    Returns
    -------
    RobustnessReport
        Per-sample bounds, their reasons and both attacks' results.

    Raises
    ------
    ValueError
        If ``n_samples`` is out of range, X and y differ in length, or an attack refuses
        its input.
    TypeError
        If the model is not differentiable end to end (from the white-box attack).

    See Also
    --------
    skspectral.plotting.plot_robustness_report : The robust-accuracy curve and its band.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skspectral import SpectralMLPClassifier, robustness_report
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16
    >>> clf = SpectralMLPClassifier(max_epochs=20, random_state=0).fit(X, y)
    >>> report = robustness_report(clf, X, y, n_samples=5, random_state=0,
    ...                            blackbox_params={"max_iter": 5, "n_starts": 1})
    >>> s = report.summary()
    >>> bool(s["mean_lower"] <= s["mean_whitebox"]), s["n_samples"]
    (True, 5)
    """
    validate("robustness_report",
             {"n_samples": [StrictInterval(Integral, 1, None, closed="left"), None],
              "whitebox_params": [dict, None], "blackbox_params": [dict, None]},
             {"n_samples": n_samples, "whitebox_params": whitebox_params,
              "blackbox_params": blackbox_params})
    rng = check_random_state(random_state)
    if is_dataset(X):
        X, y, indices = _draw_items(X, y, n_samples, rng, "robustness_report")
    else:
        X = np.asarray(X)
        if y is not None and len(y) != len(X):
            raise ValueError(f"X has {len(X)} samples but y has {len(y)} labels.")
        indices = _draw(len(X), n_samples, rng)
        X, y = X[indices], (None if y is None else np.asarray(y)[indices])
    # The white-box attack first: its error is the one that names a model it cannot attack.
    results = [adversarial_distances(estimator, X, y, attack=attack, clip_min=clip_min,
                                     clip_max=clip_max, random_state=rng, **(params or {}))
               for attack, params in ((whitebox, whitebox_params), (blackbox, blackbox_params))]
    for result in results:
        result.indices = indices
    correct = results[0].distances > 0
    reason = np.full(len(indices), "", dtype=object)
    reason[~correct] = "misclassified"
    try:
        lower = np.asarray(certified_lower_bound(estimator, X), dtype=float)
    except TypeError as exc:  # no Lipschitz bound of this feature map
        lower = np.full(len(indices), np.nan)
        reason[correct] = str(exc)
    lower = np.where(correct, lower, 0.0)
    return RobustnessReport(indices=indices, lower=lower, lower_reason=reason.astype(str),
                            whitebox=results[0], blackbox=results[1])
