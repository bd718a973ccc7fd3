"""Image inputs shared by the ResNet estimators: shapes, value checks, the operator sizes."""

import math

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted

from .._params import PositiveInts, constraints
from ..models import ResNet
from ._base import validate_tabular

__all__ = ["IMAGE_CONSTRAINTS", "ImageInputMixin"]

#: Constraints of the image parameters, shared by the image estimators' tables.
IMAGE_CONSTRAINTS = {
    **{k: ResNet._parameter_constraints[k] for k in ("arch", "stem", "padding_mode")},
    **constraints("precision", "channels_last"),
    "image_shape": [PositiveInts(3), None],
    "input_size": [PositiveInts(2), PositiveInts(3), None],
    "normalize": [tuple, list, None],
}


class ImageInputMixin:
    """Image conventions of the ResNet estimators.

    X is images ``(n, C, H, W)`` or ``(n, H, W)``, or flat rows ``(n, C*H*W)`` with
    ``image_shape`` (square one-channel images when the row length is a square, else
    ``1 x 1 x d``), or a map-style torch Dataset of ``(C, H, W)`` or ``(H, W)`` images; uint8
    or float pixels, used as given (uint8 stays uint8, a quarter of float32's memory, until
    the device converts each batch). Parameters read: ``arch``, ``stem``,
    ``padding_mode``, ``precision``, ``channels_last``, ``image_shape``, ``input_size``,
    ``normalize``. Sets ``input_shape_`` and provides ``input_shapes_``.
    """

    def _check_image_params(self):
        if self.normalize is not None:
            try:
                mean, std = (np.asarray(v, dtype=float).ravel() for v in self.normalize)
            except (TypeError, ValueError):
                raise ValueError("normalize must be a pair (mean, std) of per-channel "
                                 f"sequences, got {self.normalize!r}.") from None
            if len(mean) != len(std) or not np.all(std > 0) or not np.all(np.isfinite(mean)):
                raise ValueError("normalize needs as many means as stds, finite, with std > 0; "
                                 f"got {self.normalize!r}.")

    def _validate_X(self, X, y="no_validation", reset=True):
        shape = None
        if not sp.issparse(X) and not hasattr(X, "iloc"):
            arr = np.asarray(X)
            if arr.ndim in (3, 4):
                shape = arr.shape[1:] if arr.ndim == 4 else (1, *arr.shape[1:])
                X = arr.reshape(len(arr), -1)
            elif arr.ndim > 4:
                raise ValueError(f"X must be images (n, C, H, W) or (n, H, W), or flat rows "
                                 f"(n, C*H*W); got an array of shape {arr.shape}.")
        X, y = validate_tabular(self, X, y, reset=reset, keep_uint8=True)
        d = X.shape[1]
        if shape is None:
            if self.image_shape is not None:
                shape = tuple(self.image_shape)
            elif not reset:
                shape = self.input_shape_
            else:
                side = math.isqrt(d)
                shape = (1, side, side) if side * side == d else (1, 1, d)
        if math.prod(shape) != d:
            raise ValueError(f"image_shape {tuple(shape)} does not match the {d} values per "
                             "row of X.")
        return X.reshape(len(X), *self._set_image_shape(shape, reset)), y

    def _check_sample_shape(self, shape, reset):
        # A Dataset's items: (C, H, W) images, or (H, W) for one channel.
        if len(shape) not in (2, 3):
            raise ValueError(f"{type(self).__name__} takes images (C, H, W) or (H, W), but "
                             f"the dataset's items have shape {shape}.")
        return self._set_image_shape(shape if len(shape) == 3 else (1, *shape), reset)

    def _set_image_shape(self, shape, reset):
        """Record ``input_shape_`` (on ``reset``) or check ``shape`` against it."""
        shape = tuple(int(s) for s in shape)
        if reset:
            self.input_shape_ = shape
            if self.normalize is not None and len(np.ravel(self.normalize[0])) != shape[0]:
                raise ValueError(f"normalize has {len(np.ravel(self.normalize[0]))} channel "
                                 f"statistics, the images {shape[0]} channels.")
        elif shape != self.input_shape_:
            raise ValueError(f"X has images of shape {shape}, but "
                             f"{type(self).__name__} was fitted on {self.input_shape_}.")
        return shape

    def _net_params(self):
        size = self.input_size
        if size is None:
            size = self.input_shape_
        elif len(size) == 2:
            size = (self.input_shape_[0], *size)
        return {"spectral_input_size": tuple(size), "precision": self.precision,
                "channels_last": self.channels_last}

    @property
    def input_shapes_(self):
        """``{conv name: (c_in, H, W)}``: the input size each convolution is regularized at."""
        check_is_fitted(self)
        return dict(self.net_.input_shapes_)

