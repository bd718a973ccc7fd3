"""Decision-based (labels-only) attacks measuring the distance to the decision boundary."""

from ._engine import DecisionAttack
from ._oracle import LabelOracle, as_oracle
from ._result import AttackResult
from .hopskipjump import HopSkipJump
from .tangent import TangentAttack, tangent_point

__all__ = [
    "AttackResult",
    "DecisionAttack",
    "HopSkipJump",
    "LabelOracle",
    "TangentAttack",
    "as_oracle",
    "tangent_point",
]
