"""The spectral penalty, which layers it covers, and its training schedule (skorch callbacks).

The net that applies them is :class:`skspectral.training.SpectralNet`. Also here: the
fine-tuning baselines the paper compares against, Batch Spectral Shrinkage
(:class:`BatchSpectralShrinkage`) and L2-SP (:class:`L2SP`), and the head-only warm-up of a
pretrained backbone (:class:`BackboneWarmup`), all skorch callbacks.
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
