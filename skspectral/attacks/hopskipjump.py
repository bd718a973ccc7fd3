"""HopSkipJump (Chen, Jordan & Wainwright 2020), L2, untargeted."""

from ._engine import DecisionAttack

__all__ = ["HopSkipJump"]


class HopSkipJump(DecisionAttack):
    """Decision-based L2 attack stepping along the estimated gradient with a geometric search.

    At iteration ``i`` it steps from the boundary point along the estimated normal by
    ``|x - x_b| / sqrt(i)``, halving the step until the point is adversarial, then
    binary-searches back to the boundary. Shares initialization, binary search and normal
    estimation with :class:`~skspectral.attacks.TangentAttack`
    (see :class:`~skspectral.attacks.DecisionAttack`).

    The parameters are those of every decision-based attack; the details of each stage and
    parameter are in :class:`~skspectral.attacks.DecisionAttack`.

    Parameters
    ----------
    clip_min : float, default=0.0
        Lower bound of the input box; every query lies in it.
    clip_max : float, default=1.0
        Upper bound of the input box.
    max_iter : int, default=40
        Boundary-walking iterations per sample.
    max_queries : int or None, default=None
        Per-sample budget of label queries, counted exactly (at least 6); None: none.
    init_probes : int, default=75
        Probes of the first iteration's normal estimate (``init_probes * sqrt(i)`` at
        iteration ``i``).
    max_probes : int, default=10000
        Cap on the probes of one normal estimate.
    binary_search_tol : float or None, default=None
        Precision of the boundary binary searches, in units of the segment's length; None:
        ``min(1 / (d * sqrt(d)), 1e-4)``.
    n_starts : int, default=5
        Adversarial starts explored per sample (the closest after ``start_iter``
        iterations goes on).
    start_iter : int, default=5
        Iterations every start runs before the closest is kept.
    start : {"gaussian", "uniform", "blended"}, default="gaussian"
        How candidate starts are drawn: Gaussian around the sample, uniform in the box, or
        uniform then line-searched towards the sample.
    start_scale : float, default=0.5
        Standard deviation of the Gaussian starts, in units of the box's width.
    blend_steps : int, default=10
        Line-search steps of ``start="blended"``.
    init_trials : int, default=100
        Candidate starts drawn per sample at most.
    init_batch : int, default=10
        Candidate starts drawn per sample per round.
    max_halvings : int, default=20
        Cap on the step-size halvings of one step search.
    batch_size : int, default=10000
        Largest number of points per model call.
    random_state : int, RandomState instance or None, default=None
        Seeds the start and probe draws: the same integer gives the same result.
    verbose : int, default=0
        1 shows a progress bar over iterations.

    See Also
    --------
    skspectral.attacks.TangentAttack : Usually closer at the same budget.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skspectral import HopSkipJump
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, size=(200, 5)); y = (X[:, 0] > 0).astype(int)
    >>> clf = LogisticRegression().fit(X, y)
    >>> result = HopSkipJump(-3, 3, max_queries=200, random_state=0).attack(clf, X[:5], y[:5])
    >>> bool(result.success.all()), int(result.queries.max()) <= 200
    (True, True)
    >>> exact = np.abs(clf.decision_function(X[:5])) / np.linalg.norm(clf.coef_)
    >>> bool(np.all(result.distances >= exact * (1 - 1e-5)))  # an upper bound, always
    True
    """

    def _step(self, run, x, x_b, normal, dist, i, rows):
        return [run.geometric_step(x_b, normal, dist, i, rows)]
