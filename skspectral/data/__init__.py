"""What X can be and how its batches reach the device.

Arrays in memory are sliced a whole batch at a time (:class:`ArrayDataset`,
:class:`TensorBatchIterator`: the fast path of small networks); a map-style
:class:`torch.utils.data.Dataset` (a folder of images, say) is read item by item by a
:class:`~torch.utils.data.DataLoader` with worker processes (:class:`ItemDataset`,
:class:`BatchLoader`). Both follow one batch order (:class:`GlobalBatches`), which also
shards each global batch across data-parallel ranks. uint8 images stay uint8 until the
device. The estimators ask this layer for their batches and do not otherwise care which
kind X was.
"""

from ._arrays import ArrayDataset, TensorBatchIterator
from ._batches import GlobalBatches
from ._items import (
    ItemDataset,
    check_map_style,
    dataset_labels,
    first_image,
    is_dataset,
    read_items,
)
from ._loader import LOADER_PARAMS, BatchLoader, collate

__all__ = [
    "LOADER_PARAMS",
    "ArrayDataset",
    "BatchLoader",
    "GlobalBatches",
    "ItemDataset",
    "TensorBatchIterator",
    "check_map_style",
    "collate",
    "dataset_labels",
    "first_image",
    "is_dataset",
    "read_items",
]
