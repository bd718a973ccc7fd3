"""Decision-based (labels-only) attacks measuring the distance to the decision boundary."""

from ._engine import DecisionAttack
from ._oracle import LabelOracle, as_oracle
from ._result import AttackResult
from ._subspace import dct_matrix
from .cgba import CGBA
from .hopskipjump import HopSkipJump
from .tangent import TangentAttack, tangent_point

__all__ = [
    "AttackResult",
    "CGBA",
    "DecisionAttack",
    "HopSkipJump",
    "LabelOracle",
    "TangentAttack",
    "as_oracle",
    "dct_matrix",
    "tangent_point",
]
