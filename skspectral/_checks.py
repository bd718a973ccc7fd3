"""Input checks shared by every path: one function per concept, one error text everywhere.

Hyperparameters are checked against :mod:`skspectral._params`' table; the *data* and the
few arguments that are not hyperparameters are checked here: values that must be finite
(arrays, a Dataset's items, attack starts, the inputs of the volume element), numbers
with a range (quantile levels, radii), labels (their number and kind), device names and
skorch callbacks. Arrays given to an estimator go through scikit-learn's ``validate_data``
(whose NaN/inf error these match in kind: a ``ValueError`` naming the input); a Dataset's
items, attack inputs and plotting inputs come here. Every error is a ``ValueError`` or
``TypeError`` that names the parameter, or the item's index.

NumPy and torch only (the bottom of the import graph, beside ``_params``).
"""

import numbers

import numpy as np
import torch

__all__ = ["check_array", "check_callbacks", "check_device", "check_finite", "check_label_kinds",
           "check_labels", "check_numbers"]


def check_finite(values, name, *, samples=True):
    """Raise ``ValueError`` naming ``name`` where ``values`` hold NaN or infinity.

    Parameters
    ----------
    values : numpy.ndarray or torch.Tensor
        Numeric values (integers are finite and pass at once).
    name : str
        What the values are, as the message starts: ``"X"``, ``"starting_points"``,
        ``"Item 3 of the dataset"``.
    samples : bool, default=True
        Whether the first axis enumerates samples (named in the message), as in X.

    Raises
    ------
    ValueError
        ``"<name> contains NaN"`` or ``"... infinity"``; for arrays of samples, with the
        position of the first sample holding it.
    """
    if isinstance(values, torch.Tensor):
        if not values.is_floating_point() and not values.is_complex():
            return
        finite = torch.isfinite(values)
        if bool(finite.all()):
            return
        nan = bool(torch.isnan(values).any())
        first = (int((~finite).reshape(len(values), -1).any(dim=1).nonzero()[0, 0])
                 if values.ndim > 1 and samples else None)
    else:
        values = np.asarray(values)
        if values.dtype.kind not in "fc":
            return
        finite = np.isfinite(values)
        if finite.all():
            return
        nan = bool(np.isnan(values).any())
        first = (int(np.flatnonzero((~finite).reshape(len(values), -1).any(axis=1))[0])
                 if values.ndim > 1 and samples else None)
    what = "NaN" if nan else "infinity"
    where = "" if first is None else f" (sample {first} first)"
    raise ValueError(f"{name} contains {what}{where}; every value must be finite.")


def check_array(X, name, *, min_ndim=1, finite=True):
    """``X`` as a dense real NumPy array; refuses what the math cannot take, naming ``name``.

    Parameters
    ----------
    X : array-like or torch.Tensor
        Numbers of one shape (nested lists of one length per level).
    name : str
        The parameter, named in the errors.
    min_ndim : int, default=1
        Fewest dimensions (2: samples of at least one value).
    finite : bool, default=True
        Refuse NaN and infinity.

    Returns
    -------
    numpy.ndarray
        ``X`` (not copied where it already is one), bool/int/float dtype.

    Raises
    ------
    TypeError
        For a sparse matrix, a non-numeric or complex dtype.
    ValueError
        For ragged nesting, too few dimensions, no sample, NaN or infinity.
    """
    if hasattr(X, "tocsr") and hasattr(X, "nnz"):  # scipy.sparse, without importing it
        raise TypeError(f"{name} is a scipy sparse matrix; a dense array is needed "
                        f"({name}.toarray()).")
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    try:
        X = np.asarray(X)
    except ValueError as exc:
        raise ValueError(f"{name} must be an array of one shape (equal-length rows); "
                         f"NumPy cannot make it one: {exc}") from None
    if X.dtype.kind == "O":
        try:
            X = X.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must hold numbers, got an object array with "
                            f"{_kinds(X.ravel())}.") from None
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {X.dtype}.")
    if X.ndim < min_ndim or (min_ndim >= 2 and (len(X) == 0 or X[0].size == 0)):
        raise ValueError(f"{name} must hold at least one sample of at least one value "
                         f"({min_ndim} or more dimensions), got shape {X.shape}.")
    if finite:
        check_finite(X, name)
    return X


def check_numbers(values, name, *, low=None, high=None, allow_inf=True, scalar=False):
    """Real numbers (a scalar or an array) in ``[low, high]``, NaN refused.

    Parameters
    ----------
    values : float or array-like of float
        The numbers.
    name : str
        The parameter, named in the errors.
    low, high : float or None, default=None
        Closed bounds; None: none.
    allow_inf : bool, default=True
        Whether ``inf`` and ``-inf`` pass (inside the bounds).
    scalar : bool, default=False
        Whether only one number is allowed.

    Returns
    -------
    numpy.ndarray of float64
        The values, of their own shape (0-d for a scalar).

    Raises
    ------
    TypeError
        If a value is not a real number (a string, a bool, None, a complex number), or
        ``scalar`` and ``values`` are several.
    ValueError
        If a value is NaN, infinite where not allowed, or out of the bounds.
    """
    if scalar and (isinstance(values, (list, tuple)) or np.ndim(values) != 0):
        raise TypeError(f"{name} must be a real number, got {values!r:.60}.")
    flat = values if isinstance(values, (np.ndarray, list, tuple)) else [values]
    for v in np.asarray(flat, dtype=object).ravel():
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
            raise TypeError(f"{name} must be a real number or an array of them, got "
                            f"{v!r} ({type(v).__name__}).")
    array = np.asarray(values, dtype=np.float64)
    if np.isnan(array).any():
        raise ValueError(f"{name} must not be NaN, got {values!r}.")
    if not allow_inf and np.isinf(array).any():
        raise ValueError(f"{name} must be finite, got {values!r}.")
    if (low is not None and (array < low).any()) or (high is not None and (array > high).any()):
        span = f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"
        raise ValueError(f"{name} must be in {span}, got {values!r}.")
    return array


def _kinds(values):
    return "values of types " + ", ".join(sorted({type(v).__name__ for v in values}))


def check_labels(y, n=None, name="y"):
    """Labels as an array of shape ``(n,)``, all numbers or all strings.

    Parameters
    ----------
    y : array-like
        One label per sample.
    n : int or None, default=None
        The number of samples they belong to; None: any.
    name : str, default="y"
        The parameter, named in the errors.

    Returns
    -------
    numpy.ndarray of shape (n,)

    Raises
    ------
    ValueError
        If the shape is not ``(n,)``, or labels mix numbers and strings (NumPy would turn
        ``[0, "1"]`` into strings: the classes would not be the caller's).
    """
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    check_label_kinds(y, name)
    try:
        y = np.asarray(y)
    except ValueError as exc:
        raise ValueError(f"{name} must be an array of labels of shape (n_samples,): {exc}") \
            from None
    if y.ndim != 1 or (n is not None and len(y) != n):
        expected = "(n_samples,)" if n is None else f"({n},)"
        raise ValueError(f"{name} must have shape {expected} to match X, got {y.shape}.")
    return y


def check_label_kinds(y, name="y"):
    """Refuse labels that mix numbers and strings (or other kinds).

    NumPy turns ``[0, "1"]`` into the strings ``["0", "1"]``: the classes would silently
    not be the caller's, and an object array of both cannot be sorted.

    Parameters
    ----------
    y : array-like
        Labels, in any container (only lists, tuples and object arrays can mix kinds).
    name : str, default="y"
        The parameter, named in the error.

    Raises
    ------
    ValueError
        Naming the kinds found.
    """
    if not (isinstance(y, (list, tuple)) or (isinstance(y, np.ndarray) and y.dtype.kind == "O")):
        return
    kinds = set()
    for v in np.asarray(y, dtype=object).ravel():
        kinds.add("string" if isinstance(v, (str, bytes, np.str_)) else
                  "number" if isinstance(v, (numbers.Number, np.number)) else
                  type(v).__name__)
    if len(kinds) > 1:
        raise ValueError(f"{name} mixes label types ({', '.join(sorted(kinds))}); labels must "
                         "be all numbers or all strings.")


def check_device(device, name="device"):
    """A torch device this process can use, as torch writes it; ``"auto"`` picks CUDA.

    Parameters
    ----------
    device : str or torch.device
        ``"auto"`` or anything :class:`torch.device` parses, on a backend this build of
        torch has and this machine provides.
    name : str, default="device"
        The parameter, named in the errors.

    Returns
    -------
    str
        ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"`` ...

    Raises
    ------
    ValueError
        If the name is malformed, names the ``meta`` device (tensors without data: nothing
        can be trained or measured on it), or a backend that is absent (CUDA on a machine
        without it, ``mps`` off Apple silicon, a device index past the last device).
    """
    if isinstance(device, str) and device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be 'auto' or a torch device such as 'cpu' or 'cuda', "
                         f"got {device!r}.") from exc
    if resolved.type == "meta":
        raise ValueError(f"{name}={device!r}: the meta device holds no data; use 'auto', "
                         "'cpu' or 'cuda'.")
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{name}={device!r} was requested but CUDA is not available; use "
                         f"{name}='auto' or 'cpu'.")
    if resolved.type != "cpu":
        try:
            torch.empty(0, device=resolved)
        except (RuntimeError, AssertionError, AttributeError, ValueError, ImportError,
                NotImplementedError) as exc:
            raise ValueError(f"{name}={device!r} is not available in this process "
                             f"({type(exc).__name__}: {exc}); use {name}='auto' or "
                             "'cpu'.") from None
    return str(resolved)


def check_callbacks(callbacks, name="callbacks"):
    """Each entry a skorch callback (instance or class) or a pair ``(name, callback)``.

    Parameters
    ----------
    callbacks : list or None
        As skorch's ``callbacks`` parameter takes them.
    name : str, default="callbacks"
        The parameter, named in the errors.

    Raises
    ------
    TypeError
        Naming the first entry that is not one (its position and type).
    """
    if callbacks is None:
        return
    from skorch.callbacks import Callback  # skorch is only needed where callbacks are

    def is_callback(cb):
        return isinstance(cb, Callback) or (isinstance(cb, type) and issubclass(cb, Callback))

    for i, entry in enumerate(callbacks):
        if is_callback(entry):
            continue
        if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str) \
                and is_callback(entry[1]):
            continue
        raise TypeError(f"{name}[{i}] must be a skorch callback (an instance or class of "
                        "skorch.callbacks.Callback) or a pair (name, callback), got "
                        f"{entry!r:.80} ({type(entry).__name__}).")
