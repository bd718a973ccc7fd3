"""Parameter constraints: one declaration per parameter, one error text everywhere.

Every public class checks its hyperparameters against the entries of :data:`CONSTRAINTS`
with scikit-learn's declarative validator, so a bad ``gamma`` reads the same whether it
reaches :class:`~skspectral.SpectralMLPClassifier` or
:class:`~skspectral.regularization.SpectralPenalty` directly:
``The 'gamma' parameter of <Class> must be a float in the range [0.0, inf). Got -1 instead.``
The estimators validate at ``fit`` (their ``_parameter_constraints`` are built from this
table); the torch modules and skorch pieces below them check the same entries when they are
built, which is what makes them safe to use on their own.

scikit-learn's ``sklearn.utils._param_validation`` is private but is the validator its own
estimators and many third-party ones use; it has been stable since scikit-learn 1.2.
"""

import math
import numbers
import os
from contextlib import contextmanager
from numbers import Integral, Real

from sklearn import config_context, get_config
from sklearn.utils._param_validation import (
    Interval,
    Options,
    StrOptions,
    validate_parameter_constraints,
)

__all__ = ["CONSTRAINTS", "ModuleNames", "PositiveInts", "StrictInterval", "SubclassOf",
           "constraints", "nested_validation_skipped", "store_params", "validate"]


class _Structured(Options):
    # There is no public route to a constraint with its own test: scikit-learn (1.6 to 1.9)
    # exposes no constraint API at all, and its validator's make_constraint takes keywords,
    # types (isinstance only, blind to a tuple's items), None, ``callable``, and instances of
    # Interval, StrOptions, Options, HasMethods and MissingValues; anything else raises
    # "Unknown constraint type". Options is the one of those whose test and message can be
    # overridden without changing what it means elsewhere.
    def __init__(self):
        super().__init__(tuple, set())


class PositiveInts(_Structured):
    """A tuple or list of positive ints (bools refused), of ``length`` items if given."""

    def __init__(self, length=None):
        super().__init__()
        self.length = length

    def is_satisfied_by(self, val):
        return (isinstance(val, (tuple, list)) and len(val) >= 1
                and (self.length is None or len(val) == self.length)
                and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1
                        for v in val))

    def __str__(self):
        count = "one or more" if self.length is None else str(self.length)
        return f"a tuple of {count} positive ints"


class ModuleNames(_Structured):
    """A non-empty list or tuple of module names (str)."""

    def is_satisfied_by(self, val):
        return (isinstance(val, (tuple, list)) and len(val) >= 1
                and all(isinstance(v, str) for v in val))

    def __str__(self):
        return "a non-empty list of module names (str)"


class SubclassOf(_Structured):
    """A class derived from ``base``."""

    def __init__(self, base):
        super().__init__()
        self.base = base

    def is_satisfied_by(self, val):
        return isinstance(val, type) and issubclass(val, self.base)

    def __str__(self):
        return f"a subclass of {self.base.__module__}.{self.base.__qualname__}"


class StrictInterval(Interval):
    """An :class:`Interval` that refuses bools where it wants ints (True is not 1 epoch)."""

    def is_satisfied_by(self, val):
        return not isinstance(val, bool) and super().is_satisfied_by(val)


def _positive(kind, closed="left", low=0):
    # Bounded by inf (open) rather than None so that inf itself is refused: every real
    # hyperparameter here must be finite, and the Interval already refuses NaN.
    return StrictInterval(kind, low, math.inf if kind is Real else None, closed=closed)


#: Constraints of every hyperparameter name used in skspectral, in scikit-learn's format.
CONSTRAINTS = {
    # the penalty and its schedule
    "gamma": [_positive(Real)],
    "n_power_iterations": [_positive(Integral, low=1)],
    "update_every": [_positive(Integral, low=1)],
    "burnin": [_positive(Integral), StrictInterval(Real, 0, 1, closed="left")],
    # optimization
    "lr": [_positive(Real, closed="neither")],
    "momentum": [StrictInterval(Real, 0, 1, closed="left"), None],
    "weight_decay": [_positive(Real)],
    "batch_size": [_positive(Integral, low=1)],
    "max_epochs": [_positive(Integral, low=1)],
    "precision": [StrOptions({"32", "bf16", "fp16"})],
    "channels_last": ["boolean"],
    "distributed": ["boolean"],
    "verbose": ["verbose"],
    "random_state": ["random_state"],
    "callbacks": [list, None],
    "checkpoint_dir": [str, os.PathLike, None],
    "checkpoint_every": [_positive(Integral, low=1)],
    # reading Datasets (DataLoader settings, routed as iterator_train__<name> ...)
    "num_workers": [_positive(Integral)],
    "pin_memory": ["boolean"],
    "persistent_workers": ["boolean"],
    "prefetch_factor": [_positive(Integral, low=1), None],
    # running experiments
    "seeds": [_positive(Integral, low=1)],
    "jobs": [_positive(Integral, low=1)],
}


def constraints(*names, **extra):
    """The :data:`CONSTRAINTS` entries of ``names``, plus class-specific ``extra`` ones."""
    table = {name: CONSTRAINTS[name] for name in names}
    table.update(extra)
    return table


def validate(owner, table, params):
    """Raise scikit-learn's ``InvalidParameterError`` (a ValueError and a TypeError).

    Parameters
    ----------
    owner : str
        The class named in the message.
    table : dict
        ``{name: [constraint, ...]}``.
    params : dict
        ``{name: value}``; names absent from ``table`` are not checked.

    Nothing is checked inside :func:`nested_validation_skipped` (or scikit-learn's
    ``config_context(skip_parameter_validation=True)``).
    """
    if get_config()["skip_parameter_validation"]:
        return
    validate_parameter_constraints(table, params, caller_name=owner)


@contextmanager
def nested_validation_skipped():
    """Skip :func:`validate` in the body: the caller has checked the values it passes down.

    An estimator validates its hyperparameters once at its boundary (``fit``) and builds
    the modules, penalty and callbacks below it from checked values; those check the same
    entries when used on their own. scikit-learn's ``prefer_skip_nested_validation`` does the
    same with the same (thread-local) configuration flag.

    Why not ``sklearn.base._fit_context(prefer_skip_nested_validation=True)`` on ``fit``: it
    switches validation off for the whole method, but the estimators' ``fit`` still validates
    values of its own after ``_validate_params`` (the routed ``iterator_train__num_workers``
    and the other DataLoader settings, which are not constructor parameters; pinned by
    tests/test_dataset_inputs.py), and those checks would then be skipped; and it skips
    ``_validate_params`` in ``partial_fit`` once fitted, where ours re-checks parameters
    changed by ``set_params``. This context covers exactly the building and training below
    the checks.
    """
    with config_context(skip_parameter_validation=True):
        yield


def store_params(obj, arguments):
    """Store a constructor's arguments (its ``locals()``) on ``obj`` unchanged.

    scikit-learn's rule for ``__init__``: one attribute per parameter of the signature, which
    ``get_params`` and ``clone`` read back. One helper for the estimators, the attacks and
    the scorers.

    Parameters
    ----------
    obj : sklearn.base.BaseEstimator
        The object being constructed.
    arguments : dict
        The constructor's ``locals()``; it holds every parameter of the signature.
    """
    for name in obj._get_param_names():
        setattr(obj, name, arguments[name])
