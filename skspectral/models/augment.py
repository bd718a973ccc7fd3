"""Two augmented views per image, drawn per sample and applied a whole batch at a time.

Built on :mod:`kornia.augmentation`: it draws every random parameter per sample and applies a
batch at once on the batch's device (torchvision's v2 transforms draw one parameter set per
call, shared by a whole batch, so they must run per sample in DataLoader workers, which starves
a GPU). Random draws come from torch's global generator, so a seeded fit sees the same views.
"""

import torch
import torch.nn as nn

__all__ = ["AUGMENTATIONS", "TwoViews", "barlow_views"]

#: Preset names accepted by :class:`TwoViews`.
AUGMENTATIONS = ("barlow", "crop-flip", "affine")


def _kornia():
    try:
        import kornia.augmentation as K
    except ImportError as exc:  # a declared dependency; a clear message if it was removed
        raise ImportError("skspectral's batched augmentations need kornia "
                          "(pip install kornia).") from exc
    return K


def barlow_views(image_size, channels, preset="barlow"):
    """The two view pipelines of a preset, for images of ``image_size`` (H, W) in [0, 1].

    ``"barlow"`` is the recipe of the paper (method.md §5, after Zbontar et al.): on both
    views RandomResizedCrop to the input size (scale 0.08-1), horizontal flip p 0.5, colour
    jitter (0.4, 0.4, 0.2, 0.1) p 0.8 and grayscale p 0.2; Gaussian blur (sigma 0.1-2,
    kernel about a tenth of the image, odd, at least 3) on view 1 always and on view 2 with
    p 0.1; solarization (threshold 0.5) on view 2 with p 0.2. Colour jitter and grayscale
    apply to three-channel images only. ``"crop-flip"``: the crop and the flip alone.
    ``"affine"`` (skspectral's, for small grayscale images such as digits, where a crop of 8%
    of the image or a mirror destroys the class): rotation up to 15 degrees, translation up to
    an eighth of the image, scaling 0.9-1.1, then Gaussian noise of standard deviation 0.1,
    independently on each view.

    Returns
    -------
    (torch.nn.Module, torch.nn.Module)
    """
    K = _kornia()
    size = tuple(int(s) for s in image_size)

    def common():
        ops = [K.RandomResizedCrop(size, scale=(0.08, 1.0)), K.RandomHorizontalFlip(p=0.5)]
        if preset == "barlow" and channels == 3:
            ops += [K.ColorJitter(0.4, 0.4, 0.2, 0.1, p=0.8), K.RandomGrayscale(p=0.2)]
        return ops

    if preset == "crop-flip":
        return nn.Sequential(*common()), nn.Sequential(*common())
    if preset == "affine":
        return tuple(nn.Sequential(
            K.RandomAffine(degrees=15, translate=(0.125, 0.125), scale=(0.9, 1.1)),
            K.RandomGaussianNoise(std=0.1, p=1.0)) for _ in range(2))
    kernel = max(3, int(0.1 * min(size)) // 2 * 2 + 1)

    def blur(p):
        return K.RandomGaussianBlur((kernel, kernel), (0.1, 2.0), p=p)

    view1 = nn.Sequential(*common(), blur(1.0))
    view2 = nn.Sequential(*common(), blur(0.1),
                          K.RandomSolarize(thresholds=(0.5, 0.5), additions=(0.0, 0.0), p=0.2))
    return view1, view2


class TwoViews(nn.Module):
    """``x -> (view1(x), view2(x))`` with the pixel range mapped to [0, 1] around the views.

    Parameters
    ----------
    views : str, callable or pair of callables
        A preset name from :data:`~skspectral.models.AUGMENTATIONS`, one callable
        ``batch -> batch`` applied twice (independent draws each time), or a pair
        ``(view1, view2)``. Callables receive and return float images ``(N, C, H, W)`` in
        [0, 1]. Presets: ``"barlow"``, the paper's recipe (random resized crop, flip, colour
        jitter and grayscale on colour images, blur, solarization on view 2);
        ``"crop-flip"``, the crop and the flip alone; ``"affine"``, for small grayscale
        images such as digits: rotation up to 15 degrees, translation up to an eighth,
        scaling 0.9-1.1, Gaussian noise of standard deviation 0.1.
    image_shape : tuple (C, H, W)
        Shape of one image; the presets are built for its size and channels.
    value_range : tuple (low, high), default=(0.0, 1.0)
        Range of the pixel values the network receives; the views come back in it.

    See Also
    --------
    BarlowTwins : The module that draws its views with this.

    Examples
    --------
    >>> import torch
    >>> from skspectral.models import TwoViews
    >>> _ = torch.manual_seed(0)
    >>> views = TwoViews("affine", image_shape=(1, 8, 8), value_range=(0.0, 16.0))
    >>> x = torch.rand(2, 1, 8, 8) * 16
    >>> v1, v2 = views(x)
    >>> v1.shape, bool((v1 != v2).any())
    (torch.Size([2, 1, 8, 8]), True)
    >>> flip = TwoViews((lambda b: b, lambda b: b.flip(-1)), image_shape=(1, 8, 8))
    >>> a, b = flip(x / 16)
    >>> bool(torch.equal(b, a.flip(-1)))
    True
    """

    def __init__(self, views, image_shape, value_range=(0.0, 1.0)):
        super().__init__()
        channels, *size = image_shape
        if isinstance(views, str):
            views = barlow_views(size, channels, views)
        elif callable(views):
            views = (views, views)
        self.view1, self.view2 = views
        self.low, self.high = (float(v) for v in value_range)

    def forward(self, x):
        """Draw the two views of a batch.

        Parameters
        ----------
        x : torch.Tensor of shape (N, C, H, W)
            Images with pixel values in ``value_range``.

        Returns
        -------
        view1, view2 : torch.Tensor of shape (N, C, H, W)
            The two views, float32, in ``value_range``.
        """
        scale = self.high - self.low
        unit = (x - self.low) / scale if (self.low, scale) != (0.0, 1.0) else x
        # Augment in fp32 even under mixed precision (colour maths, grid sampling).
        with torch.autocast(device_type=x.device.type, enabled=False):
            unit = unit.float()
            views = self.view1(unit), self.view2(unit)
        if (self.low, scale) == (0.0, 1.0):
            return views
        return tuple(v * scale + self.low for v in views)
