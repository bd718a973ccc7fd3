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
    """

    def _step(self, run, x, x_b, normal, dist, i, rows):
        return [run.geometric_step(x_b, normal, dist, i, rows)]
