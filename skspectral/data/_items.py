"""A user's map-style Dataset as estimators read it: items checked, images kept uint8."""

import numbers

import numpy as np
import torch
from torchvision.transforms.functional import pil_to_tensor

from .._checks import check_finite, check_label_kinds

__all__ = ["ItemDataset", "check_map_style", "dataset_labels", "first_image", "is_dataset",
           "read_items"]


def is_dataset(X):
    """Whether ``X`` is a torch Dataset (map-style or iterable) rather than an array.

    Parameters
    ----------
    X : object
        What an estimator was given as X.

    Returns
    -------
    bool
        True for any :class:`torch.utils.data.Dataset`.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skspectral.data import is_dataset
    >>> is_dataset(torch.utils.data.TensorDataset(torch.zeros(3, 2))), is_dataset(np.zeros(3))
    (True, False)
    """
    return isinstance(X, torch.utils.data.Dataset)


def check_map_style(dataset, owner):
    """Refuse what cannot be indexed: an iterable-style or an empty dataset.

    Parameters
    ----------
    dataset : torch.utils.data.Dataset
        The dataset to check.
    owner : str
        Named in the errors (the estimator's class name, say).

    Returns
    -------
    int
        The number of items.

    Raises
    ------
    TypeError
        If the dataset is iterable-style or has no ``__len__``.
    ValueError
        If it is empty.

    Examples
    --------
    >>> import torch
    >>> from skspectral.data import check_map_style
    >>> check_map_style(torch.utils.data.TensorDataset(torch.zeros(3, 2)), "MyEstimator")
    3
    """
    if isinstance(dataset, torch.utils.data.IterableDataset):
        raise TypeError(f"{owner} got an iterable-style dataset ({type(dataset).__name__}); it "
                        "needs a map-style torch Dataset (with __getitem__ and __len__), whose "
                        "samples it can draw by index, shuffle and shard.")
    try:
        n = len(dataset)
    except TypeError:
        raise TypeError(f"{owner} needs a map-style Dataset with __len__; "
                        f"{type(dataset).__name__} has none.") from None
    if n < 1:
        raise ValueError(f"{owner} got an empty dataset ({type(dataset).__name__}, 0 items).")
    return n


def _split(item):
    """``(image, label)`` of an item; ``label`` is ``_NO_LABEL`` for an image alone."""
    if isinstance(item, (tuple, list)):
        if len(item) != 2:
            raise ValueError(f"is a sequence of {len(item)} values; items must be an image or "
                             "a pair (image, label)")
        return item[0], item[1]
    return item, _NO_LABEL


_NO_LABEL = object()


def _image_tensor(image):
    if isinstance(image, torch.Tensor):
        tensor = image
    elif isinstance(image, np.ndarray):
        tensor = torch.from_numpy(np.ascontiguousarray(image))
    else:
        try:
            tensor = pil_to_tensor(image)  # (C, H, W) uint8, as the file stores it
        except TypeError:
            raise TypeError(f"holds a {type(image).__name__}; an image must be a PIL image, "
                            "a NumPy array or a torch tensor") from None
    if tensor.dtype == torch.uint8:
        return tensor
    if tensor.is_floating_point():
        return tensor.float()
    raise TypeError(f"has dtype {tensor.dtype}; images must be uint8 or floating point")


def _label_value(label):
    if isinstance(label, torch.Tensor):
        if label.numel() != 1:
            raise ValueError(f"has a label of shape {tuple(label.shape)}; a label is one value")
        return label.item()
    if isinstance(label, np.generic):
        return label.item()
    return label


class ItemDataset(torch.utils.data.Dataset):
    """Items of a user's map-style Dataset, checked and converted for the network.

    Item ``i`` of ``dataset`` is an image, or a pair ``(image, label)``; an image is a PIL
    image (as :class:`torchvision.datasets.ImageFolder` returns without a transform), a
    NumPy array or a tensor, uint8 or floating point. It comes out as ``(x, code)``: ``x``
    a tensor of ``sample_shape`` (uint8 images stay uint8 until the training device) and
    ``code`` the label's index in ``classes`` (``-1`` where no labels are used). Every
    mistake names the item's index: a wrong type, shape or dtype, a missing label, a label
    outside ``classes``, NaN or infinite values, pixels outside ``value_range``.

    Parameters
    ----------
    dataset : torch.utils.data.Dataset
        The user's map-style dataset.
    sample_shape : tuple of int
        Shape every ``x`` must have; an image of ``sample_shape[1:]`` gains the channel
        axis when ``sample_shape[0] == 1``.
    uint8 : bool
        Whether the items are uint8 (else floating point): one data set holds one kind.
    classes : array-like or None, default=None
        The labels, in code order; None ignores the items' labels.
    y : array-like of int or None, default=None
        Codes given alongside the dataset, used instead of the items' labels.
    value_range : tuple (low, high) or None, default=None
        Float pixels outside it are an error; None checks no range.

    Examples
    --------
    >>> import torch
    >>> from skspectral.data import ItemDataset
    >>> images = torch.zeros(4, 8, 8, dtype=torch.uint8)
    >>> users = torch.utils.data.TensorDataset(images, torch.tensor([3, 5, 3, 5]))
    >>> items = ItemDataset(users, (1, 8, 8), uint8=True, classes=[3, 5])
    >>> x, code = items[1]  # a channel axis added, the label encoded
    >>> tuple(x.shape), x.dtype, code
    ((1, 8, 8), torch.uint8, 1)
    """

    def __init__(self, dataset, sample_shape, uint8, classes=None, y=None, value_range=None):
        self.dataset = dataset
        self.sample_shape = tuple(int(s) for s in sample_shape)
        self.uint8 = bool(uint8)
        self.classes = None if classes is None else list(np.asarray(classes).tolist())
        self._codes = None if classes is None else {c: i for i, c in enumerate(self.classes)}
        self.y = None if y is None else np.asarray(y, dtype=np.int64)
        self.value_range = value_range

    def __len__(self):
        return len(self.dataset)

    def sample(self, index):
        """``x`` of item ``index`` alone (its label unread and unchecked).

        Parameters
        ----------
        index : int
            Position of the item.

        Returns
        -------
        torch.Tensor
            The sample, of ``sample_shape``, checked and converted as in ``__getitem__``.
        """
        return self._convert(index, *_checked(self.dataset, index))[0]

    def __getitem__(self, index):
        image, label = _checked(self.dataset, index)
        return self._convert(index, image, label)

    def _convert(self, index, image, label):
        try:
            x = _image_tensor(image)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"Item {index} of the dataset {exc}.") from None
        shape = self.sample_shape
        if tuple(x.shape) != shape:
            if shape[0] == 1 and tuple(x.shape) == shape[1:]:
                x = x.unsqueeze(0)
            else:
                raise ValueError(
                    f"Item {index} of the dataset has an image of shape {tuple(x.shape)}, but "
                    f"the first item's is {shape}: every image must have one size (resize "
                    "them in the dataset's transform, e.g. torchvision.transforms.Resize).")
        if (x.dtype == torch.uint8) != self.uint8:
            raise TypeError(f"Item {index} of the dataset has dtype {x.dtype}, but the first "
                            f"item's is {'uint8' if self.uint8 else 'floating point'}: one "
                            "dataset holds one kind of pixels.")
        if not self.uint8:  # NaN would give NaN scores, which predict labels class 0
            check_finite(x, f"Item {index} of the dataset", samples=False)
        if self.value_range is not None and not self.uint8:
            low, high = self.value_range
            if x.numel() and (x.min() < low or x.max() > high):
                raise ValueError(f"Item {index} of the dataset has pixel values in "
                                 f"[{x.min():.4g}, {x.max():.4g}], outside value_range "
                                 f"{tuple(self.value_range)}.")
        if self.y is not None:
            return x, int(self.y[index])
        if self._codes is None:
            return x, -1
        if label is _NO_LABEL or label is None:
            raise ValueError(f"Item {index} of the dataset has no label "
                             f"({'None' if label is None else 'an image alone'}); a classifier "
                             "needs (image, label) items, or y passed alongside the dataset.")
        value = _label_value(label)
        try:
            return x, self._codes[value]
        except (KeyError, TypeError):
            raise ValueError(f"Item {index} of the dataset has label {value!r}, not one of the "
                             f"classes {self.classes}.") from None


def _checked(dataset, index):
    try:
        return _split(dataset[index])
    except ValueError as exc:
        if str(exc).startswith("is a sequence"):
            raise ValueError(f"Item {index} of the dataset {exc}.") from None
        raise


def first_image(dataset):
    """``(tensor, uint8)`` of item 0: the shape and kind every item must share.

    Parameters
    ----------
    dataset : torch.utils.data.Dataset
        Map-style; its items are images or ``(image, label)`` pairs.

    Returns
    -------
    image : torch.Tensor
        Item 0's image as a tensor (uint8 as stored, floats as float32).
    uint8 : bool
        Whether it is uint8.

    Raises
    ------
    TypeError
        If the image is not a PIL image, array or tensor, or not uint8 or floating point.

    Examples
    --------
    >>> import torch
    >>> from skspectral.data import first_image
    >>> data = torch.utils.data.TensorDataset(torch.zeros(2, 3, 4, 4), torch.tensor([0, 1]))
    >>> image, uint8 = first_image(data)
    >>> tuple(image.shape), uint8
    ((3, 4, 4), False)
    """
    image, _ = _checked(dataset, 0)
    try:
        x = _image_tensor(image)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"Item 0 of the dataset {exc}.") from None
    return x, x.dtype == torch.uint8


def dataset_labels(dataset, owner="skspectral"):
    """The labels of every item of a map-style dataset, as a NumPy array.

    Read from the dataset's ``targets`` attribute where it has one of the right length (as
    torchvision's ImageFolder and MNIST do: nothing is decoded), else from the items
    themselves.

    Parameters
    ----------
    dataset : torch.utils.data.Dataset
        Map-style, with ``(image, label)`` items.
    owner : str, default="skspectral"
        Named in errors.

    Returns
    -------
    numpy.ndarray of shape (len(dataset),)
        One label per item, in item order.

    Raises
    ------
    ValueError
        Where an item has no label (naming its index).
    TypeError
        If a label is neither a number nor a string.

    Examples
    --------
    >>> import torch
    >>> from skspectral.data import dataset_labels
    >>> data = torch.utils.data.TensorDataset(torch.zeros(3, 2), torch.tensor([7, 8, 7]))
    >>> dataset_labels(data).tolist()
    [7, 8, 7]
    """
    n = check_map_style(dataset, owner)
    targets = getattr(dataset, "targets", None)
    if targets is not None and len(targets) == n:
        labels = [_label_value(t) for t in targets]
    else:
        labels = []
        for i in range(n):
            _, label = _checked(dataset, i)
            if label is _NO_LABEL or label is None:
                raise ValueError(f"Item {i} of the dataset has no label "
                                 f"({'None' if label is None else 'an image alone'}); {owner} "
                                 "needs (image, label) items, or y passed alongside the "
                                 "dataset.")
            labels.append(_label_value(label))
    if any(label is None for label in labels):
        i = next(i for i, label in enumerate(labels) if label is None)
        raise ValueError(f"Item {i} of the dataset has no label (None in its targets).")
    odd = [v for v in labels if not isinstance(v, (numbers.Number, str))]
    if odd:
        raise TypeError(f"{owner} needs labels that are numbers or strings; the dataset's "
                        f"include {type(odd[0]).__name__}.")
    check_label_kinds(labels, "The dataset's labels")
    return np.asarray(labels)


def read_items(dataset, indices, owner="skspectral"):
    """The images (float32, as one array) and labels of the items at ``indices`` only.

    Parameters
    ----------
    dataset : torch.utils.data.Dataset
        Map-style; items are images or ``(image, label)`` pairs.
    indices : array-like of int
        Positions of the items to read; the others are never read.
    owner : str, default="skspectral"
        Named in errors.

    Returns
    -------
    X : numpy.ndarray of shape (len(indices), ...), float32
        The images, of the items' shape; pixels as stored (uint8 values are not rescaled).
    labels : numpy.ndarray of shape (len(indices),) or None
        None where the items carry no labels.

    Examples
    --------
    >>> import torch
    >>> from skspectral.data import read_items
    >>> images = torch.arange(4 * 4, dtype=torch.uint8).reshape(4, 2, 2)
    >>> data = torch.utils.data.TensorDataset(images, torch.tensor([0, 1, 0, 1]))
    >>> X, labels = read_items(data, [1, 3])
    >>> X.shape, X.dtype, X[0].ravel().tolist(), labels.tolist()
    ((2, 2, 2), dtype('float32'), [4.0, 5.0, 6.0, 7.0], [1, 1])
    """
    check_map_style(dataset, owner)
    first, uint8 = first_image(dataset)
    items = ItemDataset(dataset, tuple(first.shape), uint8)
    images, labels = [], []
    for i in np.asarray(indices, dtype=np.int64).tolist():
        image, label = _checked(dataset, i)
        images.append(items._convert(i, image, label)[0].float())
        labels.append(None if label is _NO_LABEL else _label_value(label))
    X = torch.stack(images).numpy() if images else np.zeros((0, *first.shape), np.float32)
    if any(label is None for label in labels) or not labels:
        return X, None
    return X, np.asarray(labels)
