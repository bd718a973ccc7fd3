"""Spectral mathematics (torch only): top singular values of layers, activation constants,
the Lipschitz bound of a chain of layers and the volume element of a feature map.

This is the lowest layer of skspectral; it imports nothing from the rest of the package.
"""

from ._conv import (
    CONV_TYPES,
    conv_adjoint,
    conv_apply,
    conv_dense_matrix,
    conv_fft_norm,
    conv_power_iteration,
    conv_sigma_and_grad,
    is_pointwise,
    supports_fft,
)
from ._dense import power_iteration, random_unit_vector, top_singular_triplet
from ._lipschitz import ACTIVATIONS, lipschitz_constant
from ._operator import as_matrix, capture_input_shapes, operator_norm, resolve_input_shape

# The submodules are private: this list is the one statement of the public names.
__all__ = [
    "ACTIVATIONS",
    "CONV_TYPES",
    "as_matrix",
    "capture_input_shapes",
    "conv_adjoint",
    "conv_apply",
    "conv_dense_matrix",
    "conv_fft_norm",
    "conv_power_iteration",
    "conv_sigma_and_grad",
    "is_pointwise",
    "lipschitz_constant",
    "operator_norm",
    "power_iteration",
    "random_unit_vector",
    "resolve_input_shape",
    "supports_fft",
    "top_singular_triplet",
]
