"""Input preprocessing as modules: per-channel normalization, batch-wise augmentation."""

import torch
import torch.nn as nn
from torchvision.transforms.v2 import functional as TF

__all__ = ["Normalize", "RandomCropFlip", "Resize"]


def _per_channel(values):
    return torch.as_tensor(values, dtype=torch.float32).reshape(1, -1, 1, 1)


class Normalize(nn.Module):
    """``(x - mean) / std`` per channel, with the statistics as buffers.

    Parameters
    ----------
    mean : sequence of float
        One value per channel, subtracted.
    std : sequence of float
        One value per channel, divided by.

    Examples
    --------
    >>> import torch
    >>> from skspectral.models import Normalize
    >>> norm = Normalize(mean=(0.5, 1.0), std=(0.5, 2.0))
    >>> norm(torch.ones(1, 2, 1, 1)).flatten()
    tensor([1., 0.])
    """

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", _per_channel(mean))
        self.register_buffer("std", _per_channel(std))

    def forward(self, x):
        """Normalize a batch.

        Parameters
        ----------
        x : torch.Tensor of shape (N, C, H, W)
            Images with one channel per ``mean`` entry.

        Returns
        -------
        normalized : torch.Tensor of shape (N, C, H, W)
            ``(x - mean) / std``, channel by channel.
        """
        return (x - self.mean) / self.std


class Resize(nn.Module):
    """Resize a batch of images to ``size`` (H, W), bilinear with antialiasing.

    Inside a network it lets a backbone trained at one resolution (e.g. 224 px) take images at
    another (32 px), so inputs and attack distances stay in the user's pixel space. Uses
    torchvision's ``resize`` on tensors (differentiable, any device).

    Parameters
    ----------
    size : tuple (H, W)
    """

    def __init__(self, size):
        super().__init__()
        self.size = tuple(int(s) for s in size)

    def forward(self, x):
        if tuple(x.shape[-2:]) == self.size:
            return x
        return TF.resize(x, list(self.size), interpolation=TF.InterpolationMode.BILINEAR,
                         antialias=True)

    def extra_repr(self):
        return f"size={self.size}"


# Hand-written rather than kornia's RandomCrop(padding=...) + RandomHorizontalFlip: kornia
# draws its crop offsets and flips from torch's generator in another order and form, so every
# augmented fit (the "cifar10-resnet18" preset's included) would train on other crops from
# the same seed. docs/guide.md ("Hand-written beside a library") gives the measured speed of both.
class RandomCropFlip(nn.Module):
    """Training-time augmentation: random crop after zero padding, random horizontal flip.

    Each sample gets its own crop offset and flip, drawn from torch's global generator and
    applied to the whole batch at once on its device (torchvision's v2 transforms draw one
    crop per call, shared by the batch). Identity in evaluation mode.

    Parameters
    ----------
    padding : int, default=4
        Zero padding on each side before the crop back to the input size; the crop offset is
        up to ``2 * padding`` pixels in each direction. 0 disables the crop.
    flip : bool, default=True
        Mirror each sample horizontally with probability 1/2.

    Examples
    --------
    >>> import torch
    >>> from skspectral.models import RandomCropFlip
    >>> _ = torch.manual_seed(0)
    >>> augment = RandomCropFlip(padding=2)
    >>> x = torch.rand(4, 3, 8, 8)
    >>> augment(x).shape
    torch.Size([4, 3, 8, 8])
    >>> bool(torch.equal(augment.eval()(x), x))  # identity in evaluation mode
    True
    >>> augment
    RandomCropFlip(padding=2, flip=True)
    """

    def __init__(self, padding=4, flip=True):
        super().__init__()
        self.padding = int(padding)
        self.flip = flip

    def forward(self, x):
        """Augment a batch (training mode) or return it unchanged (evaluation mode).

        Parameters
        ----------
        x : torch.Tensor of shape (N, C, H, W)
            Images.

        Returns
        -------
        augmented : torch.Tensor of shape (N, C, H, W)
            Each sample cropped and possibly mirrored, independently.
        """
        if not self.training:
            return x
        n, _, h, w = x.shape
        p = self.padding
        if p:
            padded = nn.functional.pad(x, (p, p, p, p))
            dy = torch.randint(0, 2 * p + 1, (n, 1), device=x.device)
            dx = torch.randint(0, 2 * p + 1, (n, 1), device=x.device)
            rows = (dy + torch.arange(h, device=x.device))[:, None, :, None]
            cols = (dx + torch.arange(w, device=x.device))[:, None, None, :]
            batch = torch.arange(n, device=x.device)[:, None, None, None]
            x = padded[batch, torch.arange(x.shape[1], device=x.device)[None, :, None, None],
                       rows, cols]
        if self.flip:
            mirror = torch.rand(n, device=x.device) < 0.5
            x = torch.where(mirror[:, None, None, None], x.flip(-1), x)
        return x

    def extra_repr(self):
        """The parameters shown in the module's repr.

        Returns
        -------
        text : str
            ``"padding=..., flip=..."``.
        """
        return f"padding={self.padding}, flip={self.flip}"
