"""Torch modules. Each separates ``features`` (the representation Φ) from its ``head``."""

from .mlp import INITS, MLP

__all__ = ["INITS", "MLP"]
