"""XOR generation and MNIST loading."""

import numpy as np
import pytest

from skspectral.datasets import DATA_HOME_ENV, get_data_home, load_mnist, make_xor


def test_clean_xor_is_the_four_corners():
    X, y = make_xor()
    np.testing.assert_array_equal(X, [[-1, -1], [-1, 1], [1, -1], [1, 1]])
    np.testing.assert_array_equal(y, [0, 1, 1, 0])
    assert X.dtype == np.float64 and y.dtype == np.int64


def test_noisy_xor_has_80_points_around_the_corners():
    X, y = make_xor(20, noise=0.2, random_state=0)
    assert X.shape == (80, 2) and np.bincount(y).tolist() == [40, 40]
    corners = np.sign(np.repeat([[-1, -1], [-1, 1], [1, -1], [1, 1]], 20, axis=0))
    assert 0.15 < np.std(X - corners) < 0.25
    np.testing.assert_array_equal(X, make_xor(20, noise=0.2, random_state=0)[0])
    assert not np.array_equal(X, make_xor(20, noise=0.2, random_state=1)[0])


@pytest.mark.parametrize(("kwargs", "match"), [({"n_per_corner": 0}, "n_per_corner"),
                                               ({"n_per_corner": 2.5}, "n_per_corner"),
                                               ({"noise": -0.1}, "noise"),
                                               ({"noise": float("nan")}, "noise")])
def test_make_xor_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_xor(**kwargs)


def test_data_home_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv(DATA_HOME_ENV, str(tmp_path))
    assert get_data_home() == tmp_path
    assert get_data_home("/elsewhere") == get_data_home("/elsewhere").resolve()
    monkeypatch.delenv(DATA_HOME_ENV)
    assert get_data_home().name == "skspectral_data"


def test_missing_mnist_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="MNIST not found.*download=True"):
        load_mnist(tmp_path)


def test_load_mnist(mnist_home, monkeypatch):
    monkeypatch.setenv(DATA_HOME_ENV, str(mnist_home))
    data = load_mnist()
    assert data.X_train.shape == (60000, 784) and data.X_test.shape == (10000, 784)
    assert data.X_train.dtype == np.float32
    assert data.X_train.min() == 0.0 and data.X_train.max() == 1.0
    assert np.bincount(data.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028,
                                                 974, 1009]
    assert data.y_test[:5].tolist() == [7, 2, 1, 0, 4]
    images = load_mnist(mnist_home, flatten=False)
    assert images.X_test.shape == (10000, 28, 28)
    np.testing.assert_array_equal(images.X_test.reshape(10000, -1), data.X_test)
