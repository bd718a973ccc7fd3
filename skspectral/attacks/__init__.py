"""Attacks measuring the distance to the decision boundary.

Decision-based (labels only): :class:`TangentAttack` and :class:`HopSkipJump`. White-box
(gradients of a model differentiable end to end): :class:`FMN` and :class:`DDN`.
"""

from ._engine import DecisionAttack
from ._oracle import LabelOracle, LogitOracle, as_logit_oracle, as_oracle
from ._result import AttackResult
from ._subspace import dct_matrix
from .cgba import CGBA, IMAGE_SETTINGS, cgba_settings
from .hopskipjump import HopSkipJump
from .minimum_norm import (
    DDN,
    FMN,
    MinimumNormAttack,
    decoupled_direction_norm,
    fast_minimum_norm,
)
from .tangent import TangentAttack, tangent_point

__all__ = [
    "DDN",
    "FMN",
    "IMAGE_SETTINGS",
    "AttackResult",
    "CGBA",
    "DecisionAttack",
    "HopSkipJump",
    "LabelOracle",
    "LogitOracle",
    "MinimumNormAttack",
    "TangentAttack",
    "as_logit_oracle",
    "as_oracle",
    "cgba_settings",
    "dct_matrix",
    "decoupled_direction_norm",
    "fast_minimum_norm",
    "tangent_point",
]
