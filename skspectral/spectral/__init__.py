"""Spectral mathematics (torch only): top singular values of layers, activation constants.

This is the lowest layer of skspectral; it imports nothing from the rest of the package.
"""

from ._dense import power_iteration, random_unit_vector, top_singular_triplet
from ._lipschitz import ACTIVATIONS, lipschitz_constant
from ._operator import as_matrix, operator_norm

__all__ = [
    "ACTIVATIONS",
    "as_matrix",
    "lipschitz_constant",
    "operator_norm",
    "power_iteration",
    "random_unit_vector",
    "top_singular_triplet",
]
