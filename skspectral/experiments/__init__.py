"""The paper's experiments as resumable, parallel runs (``skspectral reproduce``), and the
``skspectral demo`` table.

Each experiment trains every regularizer of its figures for every seed, measures accuracy
and per-sample Tangent Attack distances, and writes per-sample CSV rows, a JSON summary and
PNG figures (see :func:`reproduce`).
"""

from ._base import REGULARIZER_LABELS, Experiment, Unit
from ._registry import EXPERIMENTS, get_experiment
from ._runner import print_models, reproduce, run_units, summarize
from .demo import run_demo

__all__ = ["EXPERIMENTS", "Experiment", "REGULARIZER_LABELS", "Unit", "get_experiment",
           "print_models", "reproduce", "run_demo", "run_units", "summarize"]
