"""The in-memory batch iterator: slicing, and sharding a global batch across ranks."""

import numpy as np
import pytest
import torch

from skspectral.estimators import ArrayDataset, TensorBatchIterator


def _rows(batches):
    return [xb[:, 0].long().tolist() for xb, _ in batches]


def _dataset(n):
    return ArrayDataset(np.arange(n, dtype=np.float32)[:, None], np.zeros(n, dtype=np.int64))


def test_batches_in_order_with_a_short_last_one():
    it = TensorBatchIterator(_dataset(10), batch_size=4)
    assert len(it) == 3
    assert _rows(it) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert _rows(TensorBatchIterator(_dataset(10), 4, drop_last=True)) == [[0, 1, 2, 3],
                                                                           [4, 5, 6, 7]]


def test_a_short_last_batch_below_the_minimum_is_dropped_unless_it_is_the_only_one():
    # Barlow Twins sets min_last_batch = batch_size: the original's drop_last, except that a
    # data set smaller than one batch still trains on it.
    assert _rows(TensorBatchIterator(_dataset(10), 4, min_last_batch=3)) == [[0, 1, 2, 3],
                                                                            [4, 5, 6, 7]]
    assert _rows(TensorBatchIterator(_dataset(11), 4, min_last_batch=3)) == [
        [0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10]]
    assert _rows(TensorBatchIterator(_dataset(3), 4, min_last_batch=4)) == [[0, 1, 2]]


def test_shuffle_draws_a_permutation_from_the_global_generator():
    torch.manual_seed(0)
    rows = sum(_rows(TensorBatchIterator(_dataset(10), 4, shuffle=True)), [])
    torch.manual_seed(0)
    assert rows == torch.randperm(10).tolist()


def test_ranks_share_each_global_batch_and_pad_by_wrapping():
    # 10 rows, 2 ranks, global batch 4: padded to 10 (no pad needed), 2 rows per rank per step.
    shards = [_rows(TensorBatchIterator(_dataset(10), 4, num_replicas=2, rank=r))
              for r in range(2)]
    assert shards[0] == [[0, 2], [4, 6], [8]]
    assert shards[1] == [[1, 3], [5, 7], [9]]
    # 7 rows, 3 ranks, global batch 6: padded to 9 with rows 0 and 1; every rank steps twice.
    shards = [_rows(TensorBatchIterator(_dataset(7), 6, num_replicas=3, rank=r))
              for r in range(3)]
    assert shards == [[[0, 3], [6]], [[1, 4], [0]], [[2, 5], [1]]]
    for g in range(2):  # the union of the ranks' g-th batches is the g-th global batch
        assert sorted(sum((s[g] for s in shards), [])) == sorted(([*range(7), 0, 1])[6 * g:
                                                                                    6 * g + 6])


def test_bad_sharding_is_refused():
    with pytest.raises(ValueError, match="must be divisible"):
        TensorBatchIterator(_dataset(10), 5, num_replicas=2)
    with pytest.raises(ValueError, match="rank must be in"):
        TensorBatchIterator(_dataset(10), 4, num_replicas=2, rank=2)
    with pytest.raises(TypeError, match="needs an ArrayDataset"):
        TensorBatchIterator([1, 2, 3], 2)


def test_a_read_only_array_is_shared_without_a_warning(tmp_path):
    """A memory map (as joblib hands large arrays to its workers) is read, never written:
    shared as is, with no warning. In a fresh process: torch warns once per process."""
    import subprocess
    import sys

    np.save(tmp_path / "X.npy", np.arange(12, dtype=np.float32).reshape(6, 2))
    code = (
        "import warnings, numpy as np\n"
        "warnings.simplefilter('error')\n"
        "from skspectral.estimators import ArrayDataset\n"
        f"X = np.load({str(tmp_path / 'X.npy')!r}, mmap_mode='r')\n"
        "y = np.arange(6); y.flags.writeable = False\n"
        "data = ArrayDataset(X, y)\n"
        "assert data.X.data_ptr() == X.ctypes.data and data.y.data_ptr() == y.ctypes.data\n"
        "assert data[2:4][0].tolist() == [[4.0, 5.0], [6.0, 7.0]]\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
