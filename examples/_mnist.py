"""MNIST for the examples: where it is read from, and the 32x32 images the ResNets take."""

from pathlib import Path

import numpy as np

from skspectral.datasets import find_mnist, load_mnist


def mnist_home(data_home=None):
    """``data_home``, else the library's default, else this repository's ``../shared/data``
    (what :func:`load_mnist` then reads; where none holds MNIST, ``data_home`` as given, for
    load_mnist's error or download)."""
    return find_mnist(data_home, Path(__file__).resolve().parents[2] / "shared" / "data") \
        or data_home


def padded_mnist(data_home, train_samples, test_samples):
    """The first MNIST images zero-padded to 1x32x32: X_train, y_train, X_test, y_test."""
    data = load_mnist(mnist_home(data_home), flatten=False)
    pad = ((0, 0), (2, 2), (2, 2))
    return (np.pad(data.X_train[:train_samples], pad)[:, None], data.y_train[:train_samples],
            np.pad(data.X_test[:test_samples], pad)[:, None], data.y_test[:test_samples])
