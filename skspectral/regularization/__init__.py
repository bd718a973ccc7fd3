"""The spectral penalty, which layers it covers, and its training schedule (skorch)."""

from ._net import SpectralNet
from ._penalty import SpectralPenalty, unwrap
from ._schedule import SpectralRegularization, resolve_burnin
from ._scope import PENALIZABLE_TYPES, SCOPES, resolve_scope

__all__ = [
    "PENALIZABLE_TYPES",
    "SCOPES",
    "SpectralNet",
    "SpectralPenalty",
    "SpectralRegularization",
    "resolve_burnin",
    "resolve_scope",
    "unwrap",
]
