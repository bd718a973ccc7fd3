"""What every ``features``/``head`` model shares: freezing Φ, loading a pretrained Φ."""

import pickle
from collections import OrderedDict

import torch
import torch.nn as nn

from .preprocess import Normalize, RandomCropFlip, Resize

__all__ = ["PREPROCESSING", "BackboneMixin", "load_backbone_state", "preprocessing",
           "require_fit"]

#: Names of the preprocessing steps that may run first in ``features`` (no pretrained state).
PREPROCESSING = ("augment", "resize", "normalize")


def preprocessing(augment=False, resize=None, normalize=None):
    """The preprocessing steps that run at the start of ``features``, in order.

    Inputs, and the distances attacks measure, stay in the user's pixel space.

    Parameters
    ----------
    augment : bool, default=False
        Random crop (zero padding 4) and horizontal flip per sample, in training mode only.
    resize : tuple (H, W), optional
        Resize inputs to this size.
    normalize : tuple (mean, std), optional
        Per-channel statistics.

    Returns
    -------
    collections.OrderedDict
        ``{name: module}`` with names from :data:`PREPROCESSING`.
    """
    steps = OrderedDict()
    if augment:
        steps["augment"] = RandomCropFlip(padding=4, flip=True)
    if resize is not None:
        steps["resize"] = Resize(resize)
    if normalize is not None:
        steps["normalize"] = Normalize(*normalize)
    return steps


class BackboneMixin:
    """``freeze_backbone_`` and a ``train`` that keeps a frozen Φ in evaluation mode.

    For ``nn.Module`` subclasses with a ``features`` submodule (Φ).
    """

    def freeze_backbone_(self, frozen=True):
        """Freeze (or unfreeze) ``features``: no gradients, BatchNorm in evaluation mode.

        While frozen, ``train()`` leaves ``features`` in evaluation mode, so training changes
        neither its weights nor its BatchNorm statistics (a linear probe).

        Parameters
        ----------
        frozen : bool, default=True
            Freeze when True, unfreeze when False.

        Returns
        -------
        self : torch.nn.Module
            This module, in its current training mode.

        Examples
        --------
        >>> import torch.nn as nn
        >>> from skspectral.models import FeatureNetwork
        >>> net = FeatureNetwork(nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)),
        ...                      nn.Linear(4, 2)).freeze_backbone_()
        >>> net.train().features.training, net.head.training
        (False, True)
        >>> net.features[0].weight.requires_grad
        False
        """
        self.backbone_frozen = bool(frozen)
        for p in self.features.parameters():
            p.requires_grad_(not frozen)
        return self.train(self.training)

    def train(self, mode=True):
        """Set the training mode, keeping a frozen backbone in evaluation mode.

        Parameters
        ----------
        mode : bool, default=True
            Training mode (True) or evaluation mode (False).

        Returns
        -------
        self : torch.nn.Module
            This module.

        Examples
        --------
        >>> import torch.nn as nn
        >>> from skspectral.models import FeatureNetwork
        >>> net = FeatureNetwork(nn.Linear(3, 4), nn.Linear(4, 2))
        >>> net.train().features.training, net.eval().features.training
        (True, False)
        """
        nn.Module.train(self, mode)
        if getattr(self, "backbone_frozen", False):
            self.features.eval()
        return self


def _first(names, count=5):
    return str(names[:count])[:-1] + (", ...]" if len(names) > count else "]")


def require_fit(own, state, keys, what):
    """Raise ValueError unless ``state`` holds each of ``keys`` with its shape in ``own``."""
    missing = [k for k in keys if k not in state]
    wrong = [f"{k}: {tuple(state[k].shape)} for {tuple(own[k].shape)}" for k in keys
             if k in state and state[k].shape != own[k].shape]
    if missing or wrong:
        raise ValueError(f"pretrained weights do not fit {what}: {len(missing)} missing "
                         f"{_first(missing)}; {len(wrong)} of another shape {_first(wrong)}.")


def load_backbone_state(module, state, hint):
    """Load ``state`` (in ``module``'s key layout) into Φ, and into the head where it fits.

    Every Φ tensor (``features.``, preprocessing buffers aside) must be present with the
    module's shape: a missing one or another shape raises ValueError, never a silent skip.
    The head is loaded where all its shapes fit and otherwise kept new. Other keys are
    ignored.

    Returns
    -------
    dict
        ``{"loaded": [...], "new": [...], "ignored": [...]}`` parameter and buffer names.
    """
    own = module.state_dict()
    steps = tuple(f"features.{name}." for name in PREPROCESSING)
    backbone = [k for k in own if k.startswith("features.") and not k.startswith(steps)]
    require_fit(own, state, backbone, f"this backbone ({hint})")
    head = [k for k in own if k.startswith("head.")]
    head_fits = all(k in state and state[k].shape == own[k].shape for k in head)
    loaded = backbone + (head if head_fits else [])
    module.load_state_dict({k: state[k] for k in loaded}, strict=False)
    return {"loaded": loaded, "new": [] if head_fits else sorted(head),
            "ignored": sorted(set(state) - set(loaded))}


def read_state(weights):
    """A state dict, or the path of one saved with ``torch.save`` (read on the CPU as data
    only: ``weights_only=True`` refuses a file that would run code when unpickled)."""
    if isinstance(weights, dict):
        return weights
    try:
        return torch.load(weights, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        raise ValueError(f"pretrained_weights {str(weights)!r} is not a state dict saved with "
                         f"torch.save: torch.load with weights_only=True refused it "
                         f"({type(exc).__name__}: {first}).") from exc
