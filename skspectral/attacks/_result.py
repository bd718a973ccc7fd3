"""The outcome of an attack and the summaries the paper plots."""

from dataclasses import dataclass

import numpy as np

from .._checks import check_numbers

__all__ = ["AttackResult"]


@dataclass
class AttackResult:
    """Per-sample outcome of a decision-based attack.

    Returned by :meth:`~skspectral.attacks.DecisionAttack.attack` and
    :func:`~skspectral.adversarial_distances`; its methods give the statistics the paper
    reports. The parameters are stored as the attributes of the same names.

    Parameters
    ----------
    distances : ndarray of shape (n_samples,)
        L2 distance from each sample to its adversarial point.
    adversarial : ndarray of shape (n_samples, ...)
        The adversarial point found per sample.
    success : ndarray of bool, shape (n_samples,)
        Whether an adversarial point was found.
    queries : ndarray of int, shape (n_samples,)
        Label queries spent per sample.
    clip_min : float
        Lower bound of the input box the attack searched in.
    clip_max : float
        Upper bound of the input box.
    indices : ndarray of int, shape (n_samples,) or None, default=None
        Positions in the caller's X of the attacked samples, where they were drawn from it.
    gradients : ndarray of int, shape (n_samples,) or None, default=None
        Backward passes (input gradients) spent per sample by a white-box attack; None for
        a decision-based attack, which takes none.

    Attributes
    ----------
    distances : ndarray of shape (n_samples,)
        L2 distance from each sample to its adversarial point (an upper bound of the
        minimal adversarial distance): 0 for a sample the model already misclassifies,
        ``inf`` where no adversarial point was found.
    adversarial : ndarray of shape (n_samples, ...)
        The smallest adversarial point found per sample, re-checked to be classified
        differently; the sample itself when misclassified; NaN where none was found.
    success : ndarray of bool, shape (n_samples,)
        Whether an adversarial point was found (misclassified samples count as found).
    queries : ndarray of int, shape (n_samples,)
        Label queries spent per sample. For a white-box attack (:class:`~skspectral.attacks.FMN`,
        :class:`~skspectral.attacks.DDN`), the forward passes of the model per sample: each
        one labels a point, and its logits also feed a backward pass.
    clip_min, clip_max : float or ndarray
        The input box the attack searched in (distances are in its units); arrays where a
        white-box attack was given per-feature bounds.
    indices : ndarray of int, shape (n_samples,), optional
        Positions in the caller's X of the attacked samples, where they were drawn from it
        (:func:`~skspectral.adversarial_distances` with ``n_samples``, or a Dataset).
    gradients : ndarray of int, shape (n_samples,) or None
        Backward passes per sample of a white-box attack (None for a decision-based one):
        its cost is ``queries + gradients`` passes (AttackBench's count).

    Examples
    --------
    One sample misclassified (distance 0), three attacked:

    >>> import numpy as np
    >>> from skspectral import AttackResult
    >>> result = AttackResult(distances=np.array([0.0, 0.5, 1.0, 1.5]),
    ...                       adversarial=np.zeros((4, 2)), success=np.ones(4, dtype=bool),
    ...                       queries=np.array([1, 90, 100, 110]), clip_min=0.0, clip_max=1.0)
    >>> result.mean(), result.mean(misclassified="zero"), float(result.median())
    (1.0, 0.75, 1.0)
    >>> result.quantile([0.1, 0.9]).round(2), result.fraction_above([0.25, 1.25]).round(2)
    (array([0.6, 1.4]), array([1.  , 0.33]))
    >>> result.robust_accuracy(0.75)  # correctly classified and farther than 0.75
    0.5
    >>> result.summary()["n_misclassified"], result.summary()["mean_queries"]
    (1, 75.25)
    """

    distances: np.ndarray
    adversarial: np.ndarray
    success: np.ndarray
    queries: np.ndarray
    clip_min: float
    clip_max: float
    indices: np.ndarray | None = None
    gradients: np.ndarray | None = None

    def __len__(self):
        return len(self.distances)

    def _select(self, misclassified):
        if misclassified not in ("exclude", "zero"):
            raise ValueError(f"misclassified must be 'exclude' or 'zero', got {misclassified!r}.")
        return self.distances if misclassified == "zero" else self.distances[self.distances > 0]

    def mean(self, misclassified="exclude"):
        """Mean distance; ``inf`` (no adversarial point found) propagates.

        Parameters
        ----------
        misclassified : {"exclude", "zero"}, default="exclude"
            ``"exclude"`` (the paper's protocol) leaves out the samples at distance 0 (those
            the model misclassifies); ``"zero"`` counts them as 0.

        Returns
        -------
        float
            The mean, NaN where no sample is left.

        Raises
        ------
        ValueError
            If ``misclassified`` is neither ``"exclude"`` nor ``"zero"``.
        """
        d = self._select(misclassified)
        return float(np.mean(d)) if len(d) else float("nan")

    def median(self, misclassified="exclude"):
        """Median distance.

        Parameters
        ----------
        misclassified : {"exclude", "zero"}, default="exclude"
            Leave out the samples at distance 0, or count them as 0 (see :meth:`mean`).

        Returns
        -------
        float
            The median (see :meth:`quantile` beside ``inf``), NaN where no sample is left.
        """
        return self.quantile(0.5, misclassified)

    def quantile(self, q, misclassified="exclude"):
        """Quantile(s) ``q`` in [0, 1] of the distances (see :meth:`mean`).

        NumPy's default (linear) definition, except beside an ``inf`` distance (a sample with
        no adversarial point found): where ``q`` falls on an order statistic that statistic
        is returned, and between a finite one and ``inf`` the result is ``inf``, where
        :func:`numpy.quantile`'s interpolation gives NaN (``0 * inf``, ``inf - inf``).

        Parameters
        ----------
        q : float or array-like of float
            Quantile level(s) in [0, 1].
        misclassified : {"exclude", "zero"}, default="exclude"
            Leave out the samples at distance 0, or count them as 0 (see :meth:`mean`).

        Returns
        -------
        float or numpy.ndarray
            The quantile(s), of the shape of ``q``; NaN where no sample is left.

        Raises
        ------
        TypeError
            If ``q`` holds something other than real numbers.
        ValueError
            If a level is NaN or outside [0, 1], or ``misclassified`` is unknown.
        """
        q = check_numbers(q, "q", low=0.0, high=1.0)
        d = np.sort(self._select(misclassified))
        if not len(d):
            return np.full(np.shape(q), np.nan)
        h = (len(d) - 1) * q
        lo, hi = np.floor(h).astype(int), np.ceil(h).astype(int)
        low, high = d[lo], d[hi]
        with np.errstate(invalid="ignore"):
            step = np.where(high == low, 0.0, (h - lo) * (high - low))
        return low + step

    def fraction_above(self, thresholds, misclassified="exclude"):
        """Fraction of samples whose distance exceeds each threshold (the paper's curves).

        Parameters
        ----------
        thresholds : float or array-like of float
            Distances to compare with.
        misclassified : {"exclude", "zero"}, default="exclude"
            Leave out the samples at distance 0, or count them as 0 (see :meth:`mean`).

        Returns
        -------
        numpy.ndarray of shape (n_thresholds,)
            One fraction per threshold; NaN where no sample is left.

        Raises
        ------
        TypeError
            If ``thresholds`` holds something other than real numbers.
        ValueError
            If a threshold is NaN, or ``misclassified`` is unknown.
        """
        thresholds = np.atleast_1d(check_numbers(thresholds, "thresholds"))
        d = self._select(misclassified)
        if not len(d):
            return np.full(thresholds.shape, np.nan)
        return (d[:, None] > thresholds[None, :]).mean(axis=0)

    def robust_accuracy(self, eps):
        """Fraction of all samples that are correctly classified and at distance > ``eps``.

        Parameters
        ----------
        eps : float
            The perturbation budget (L2, in the input box's units).

        Returns
        -------
        float
            An upper bound of the accuracy under L2 attacks of size ``eps`` (the attack's
            distances are upper bounds of the minimal ones).

        Raises
        ------
        TypeError
            If ``eps`` is not a real number.
        ValueError
            If ``eps`` is NaN or negative (``inf`` gives 0.0).
        """
        # A negative radius would count the misclassified samples (distance 0) as robust.
        eps = float(check_numbers(eps, "eps", low=0.0, scalar=True))
        return float(np.mean(self.distances > eps))

    def summary(self, thresholds=None):
        """Dict of the usual statistics (over correctly classified samples).

        Parameters
        ----------
        thresholds : array-like of float or None, default=None
            Also report :meth:`fraction_above` at these distances.

        Returns
        -------
        dict
            ``n_samples``, ``n_misclassified``, ``n_failed``, ``mean``, ``median``, ``q10``,
            ``q90``, ``mean_queries``, for a white-box attack ``mean_gradients`` (backward
            passes) and, with ``thresholds``, ``fraction_above``.
        """
        d = self.distances
        out = {"n_samples": len(d), "n_misclassified": int(np.sum(d == 0)),
               "n_failed": int(np.sum(~self.success)), "mean": self.mean(),
               "median": float(self.median()), "q10": float(self.quantile(0.1)),
               "q90": float(self.quantile(0.9)), "mean_queries": float(np.mean(self.queries))}
        if self.gradients is not None:
            out["mean_gradients"] = float(np.mean(self.gradients))
        if thresholds is not None:
            out["fraction_above"] = self.fraction_above(thresholds)
        return out
