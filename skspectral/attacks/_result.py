"""The outcome of an attack and the summaries the paper plots."""

from dataclasses import dataclass

import numpy as np

__all__ = ["AttackResult"]


@dataclass
class AttackResult:
    """Per-sample outcome of a decision-based attack.

    Attributes
    ----------
    distances : ndarray of shape (n_samples,)
        L2 distance from each sample to its adversarial point (an upper bound of the
        minimal adversarial distance): 0 for a sample the model already misclassifies,
        ``inf`` where no adversarial point was found.
    adversarial : ndarray of shape (n_samples, *input_shape)
        The smallest adversarial point found per sample, re-checked to be classified
        differently; the sample itself when misclassified; NaN where none was found.
    success : ndarray of bool, shape (n_samples,)
        Whether an adversarial point was found (misclassified samples count as found).
    queries : ndarray of int, shape (n_samples,)
        Label queries spent per sample.
    clip_min, clip_max : float
        The input box the attack searched in (distances are in its units).
    indices : ndarray of int, shape (n_samples,), optional
        Positions in the caller's X of the attacked samples, where they were drawn from it
        (:func:`~skspectral.adversarial_distances` with ``n_samples``, or a Dataset).
    """

    distances: np.ndarray
    adversarial: np.ndarray
    success: np.ndarray
    queries: np.ndarray
    clip_min: float
    clip_max: float
    indices: np.ndarray | None = None

    def __len__(self):
        return len(self.distances)

    def _select(self, misclassified):
        if misclassified not in ("exclude", "zero"):
            raise ValueError(f"misclassified must be 'exclude' or 'zero', got {misclassified!r}.")
        return self.distances if misclassified == "zero" else self.distances[self.distances > 0]

    def mean(self, misclassified="exclude"):
        """Mean distance. ``misclassified="exclude"`` (the paper's protocol) leaves out samples
        at distance 0; ``"zero"`` counts them as 0. ``inf`` (no adversarial found) propagates."""
        d = self._select(misclassified)
        return float(np.mean(d)) if len(d) else float("nan")

    def median(self, misclassified="exclude"):
        """Median distance (see :meth:`mean` for ``misclassified``)."""
        return self.quantile(0.5, misclassified)

    def quantile(self, q, misclassified="exclude"):
        """Quantile(s) ``q`` in [0, 1] of the distances (see :meth:`mean`).

        NumPy's default (linear) definition, except beside an ``inf`` distance (a sample with
        no adversarial point found): where ``q`` falls on an order statistic that statistic
        is returned, and between a finite one and ``inf`` the result is ``inf``, where
        :func:`numpy.quantile`'s interpolation gives NaN (``0 * inf``, ``inf - inf``).
        """
        d = np.sort(self._select(misclassified))
        if not len(d):
            return np.full(np.shape(q), np.nan)
        h = (len(d) - 1) * np.asarray(q, dtype=float)
        lo, hi = np.floor(h).astype(int), np.ceil(h).astype(int)
        low, high = d[lo], d[hi]
        with np.errstate(invalid="ignore"):
            step = np.where(high == low, 0.0, (h - lo) * (high - low))
        return low + step

    def fraction_above(self, thresholds, misclassified="exclude"):
        """Fraction of samples whose distance exceeds each threshold (the paper's curves)."""
        d = self._select(misclassified)
        thresholds = np.atleast_1d(np.asarray(thresholds, dtype=float))
        if not len(d):
            return np.full(thresholds.shape, np.nan)
        return (d[:, None] > thresholds[None, :]).mean(axis=0)

    def robust_accuracy(self, eps):
        """Fraction of all samples that are correctly classified and at distance > ``eps``."""
        return float(np.mean(self.distances > eps))

    def summary(self, thresholds=None):
        """Dict of the usual statistics (over correctly classified samples)."""
        d = self.distances
        out = {"n_samples": len(d), "n_misclassified": int(np.sum(d == 0)),
               "n_failed": int(np.sum(~self.success)), "mean": self.mean(),
               "median": float(self.median()), "q10": float(self.quantile(0.1)),
               "q90": float(self.quantile(0.9)), "mean_queries": float(np.mean(self.queries))}
        if thresholds is not None:
            out["fraction_above"] = self.fraction_above(thresholds)
        return out
