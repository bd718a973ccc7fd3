"""The spectral penalty, which layers it covers, and its training schedule (skorch callbacks).

The net that applies them is :class:`skspectral.training.SpectralNet`.
"""

from ._penalty import SpectralPenalty, unwrap
from ._schedule import SpectralRegularization, resolve_burnin
from ._scope import PENALIZABLE_TYPES, REGULARIZERS, SCOPES, resolve_scope
from ._transfer import L2SP, BackboneWarmup, BatchSpectralShrinkage, batch_spectral_shrinkage

__all__ = [
    "L2SP",
    "BackboneWarmup",
    "BatchSpectralShrinkage",
    "PENALIZABLE_TYPES",
    "REGULARIZERS",
    "SCOPES",
    "SpectralPenalty",
    "SpectralRegularization",
    "batch_spectral_shrinkage",
    "resolve_burnin",
    "resolve_scope",
    "unwrap",
]
