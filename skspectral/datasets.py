"""Datasets of the paper: XOR (generated) and MNIST (through torchvision)."""

import os
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch, check_random_state

from ._checks import check_numbers

__all__ = ["make_xor", "load_mnist", "find_mnist", "get_data_home", "DATA_HOME_ENV"]

#: Environment variable naming the default data folder.
DATA_HOME_ENV = "SKSPECTRAL_DATA"


def make_xor(n_per_corner=1, noise=0.0, random_state=None):
    """The XOR problem: the corners of ``[-1, 1]^2``, labelled by the sign of ``x1 * x2``.

    ``make_xor()`` is the paper's clean 4-point XOR; ``make_xor(20, noise=0.2)`` its noisy
    80-point XOR.

    Parameters
    ----------
    n_per_corner : int, default=1
        Points per corner.
    noise : float, default=0.0
        Standard deviation of the isotropic Gaussian noise added to every point.
    random_state : int, RandomState instance or None, default=None
        Seeds the noise.

    Returns
    -------
    X : ndarray of shape (4 * n_per_corner, 2), float64
        Points, corners in the order (-1, -1), (-1, 1), (1, -1), (1, 1).
    y : ndarray of shape (4 * n_per_corner,), int64
        0 where ``x1 * x2 > 0`` at the corner, 1 otherwise.

    Examples
    --------
    >>> from skspectral.datasets import make_xor
    >>> X, y = make_xor()
    >>> X.tolist(), y.tolist()
    ([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]], [0, 1, 1, 0])
    """
    if isinstance(n_per_corner, bool) or not isinstance(n_per_corner, (int, np.integer)) \
            or n_per_corner < 1:
        raise ValueError(f"n_per_corner must be an int >= 1, got {n_per_corner!r}.")
    noise = float(check_numbers(noise, "noise", low=0.0, allow_inf=False, scalar=True))
    corners = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
    X = np.repeat(corners, n_per_corner, axis=0)
    y = (X[:, 0] * X[:, 1] < 0).astype(np.int64)
    if noise > 0:
        X = X + noise * check_random_state(random_state).standard_normal(X.shape)
    return X, y


def get_data_home(data_home=None):
    """The folder datasets are read from (and downloaded to).

    Parameters
    ----------
    data_home : str, path-like or None, default=None
        Used as given (``~`` expanded) when not None.

    Returns
    -------
    pathlib.Path
        ``data_home``, else the ``SKSPECTRAL_DATA`` environment variable, else
        ``~/skspectral_data``.

    Raises
    ------
    TypeError
        If ``data_home`` is neither a str, a path nor None.

    Examples
    --------
    >>> from pathlib import Path
    >>> from skspectral.datasets import get_data_home
    >>> get_data_home("~/data") == Path.home() / "data"
    True
    """
    if data_home is None:
        data_home = os.environ.get(DATA_HOME_ENV) or Path.home() / "skspectral_data"
    elif not isinstance(data_home, (str, os.PathLike)):
        raise TypeError(f"data_home must be a str, a path or None, got "
                        f"{type(data_home).__name__}.")
    return Path(data_home).expanduser()


def find_mnist(data_home=None, *fallbacks):
    """The first folder that holds MNIST's files (``MNIST/raw``), or None.

    Looks in ``data_home`` when given, else in :func:`get_data_home`'s default
    (``SKSPECTRAL_DATA``, then ``~/skspectral_data``), then in each of ``fallbacks`` (a
    checkout's ``../shared/data``, say). The tests, examples and benchmarks share this search.

    Parameters
    ----------
    data_home : str, path-like or None, default=None
        Checked first; when given and holding no MNIST, None is returned whatever the
        fallbacks hold (an explicit folder is never silently replaced).
    *fallbacks : str or path-like
        Folders tried in order after the default, when ``data_home`` is None.

    Returns
    -------
    pathlib.Path or None
        The data home holding ``MNIST/raw``, or None where no candidate does.

    Examples
    --------
    >>> from skspectral.datasets import find_mnist
    >>> find_mnist("/nonexistent") is None
    True
    """
    candidates = [data_home] if data_home is not None else [None, *fallbacks]
    for candidate in candidates:
        home = get_data_home(candidate)
        if (home / "MNIST" / "raw").is_dir():
            return home
    return None


def load_mnist(data_home=None, *, download=False, flatten=True):
    """MNIST as NumPy arrays, pixels scaled to [0, 1] (float32), through torchvision.

    Reads ``<data_home>/MNIST/raw/`` (the original IDX files), the layout of
    :class:`torchvision.datasets.MNIST`.

    Parameters
    ----------
    data_home : str, path-like or None, default=None
        Folder holding ``MNIST/raw``; None: :func:`get_data_home`'s default.
    download : bool, default=False
        Download the files with torchvision when they are missing.
    flatten : bool, default=True
        Images as rows of 784 pixels; else arrays of shape (n, 28, 28).

    Returns
    -------
    sklearn.utils.Bunch
        ``X_train`` (60000 images), ``y_train`` (int64), ``X_test`` (10000), ``y_test``.

    Raises
    ------
    FileNotFoundError
        When the files are missing and ``download`` is False.

    See Also
    --------
    skspectral.datasets.find_mnist : Where the files are, if anywhere.

    Examples
    --------
    Without the files, the error says where they were looked for:

    >>> from skspectral.datasets import load_mnist
    >>> load_mnist("/nonexistent")
    Traceback (most recent call last):
    ...
    FileNotFoundError: MNIST not found under /nonexistent/MNIST/raw; ...

    With them (the files are not on every machine, hence not run here):

    >>> mnist = load_mnist(flatten=False)  # doctest: +SKIP
    >>> mnist.X_train.shape, mnist.X_test.shape  # doctest: +SKIP
    ((60000, 28, 28), (10000, 28, 28))
    """
    from torchvision.datasets import MNIST

    root = get_data_home(data_home)
    splits = {}
    for train in (True, False):
        try:
            ds = MNIST(root=str(root), train=train, download=download)
        except RuntimeError as exc:
            raise FileNotFoundError(
                f"MNIST not found under {root / 'MNIST' / 'raw'}; pass data_home (or set "
                f"{DATA_HOME_ENV}) to the folder holding MNIST/raw, or download=True."
            ) from exc
        X = ds.data.numpy().astype(np.float32) / 255.0
        X = X.reshape(len(X), -1) if flatten else X
        splits[train] = (X, ds.targets.numpy().astype(np.int64))
    return Bunch(X_train=splits[True][0], y_train=splits[True][1],
                 X_test=splits[False][0], y_test=splits[False][1])
