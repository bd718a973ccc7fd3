"""HopSkipJump (Chen, Jordan & Wainwright 2020), L2, untargeted."""

from ._engine import PARAMETERS, DecisionAttack, with_parameters

__all__ = ["HopSkipJump"]


@with_parameters(PARAMETERS)
class HopSkipJump(DecisionAttack):
    """Decision-based L2 attack stepping along the estimated gradient with a geometric search.

    At iteration ``i`` it steps from the boundary point along the estimated normal by
    ``|x - x_b| / sqrt(i)``, halving the step until the point is adversarial, then
    binary-searches back to the boundary. Shares initialization, binary search and normal
    estimation with :class:`~skspectral.attacks.TangentAttack`
    (see :class:`~skspectral.attacks.DecisionAttack`).

    {parameters}

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
