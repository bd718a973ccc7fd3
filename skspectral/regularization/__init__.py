"""The spectral penalty, which layers it covers, and its training schedule (skorch)."""

from ._net import EpochHistory, EpochMeanLoss, SpectralNet
from ._penalty import SpectralPenalty, unwrap
from ._schedule import SpectralRegularization, resolve_burnin
from ._scope import PENALIZABLE_TYPES, SCOPES, resolve_scope
from ._transfer import L2SP, BackboneWarmup, BatchSpectralShrinkage, batch_spectral_shrinkage

__all__ = [
    "L2SP",
    "BackboneWarmup",
    "BatchSpectralShrinkage",
    "EpochHistory",
    "EpochMeanLoss",
    "PENALIZABLE_TYPES",
    "SCOPES",
    "SpectralNet",
    "SpectralPenalty",
    "SpectralRegularization",
    "batch_spectral_shrinkage",
    "resolve_burnin",
    "resolve_scope",
    "unwrap",
]
