"""Fine-tuning parameters shared by the image classifiers: pretrained weights, a frozen or
slower backbone, BSS, L2-SP, a cosine schedule."""

import os
import re
from numbers import Integral, Real

import numpy as np
import torch
import torchvision
from sklearn.utils._param_validation import StrOptions
from skorch.callbacks import LRScheduler

from .._params import CONSTRAINTS, PositiveInts, StrictInterval
from ..regularization import L2SP, BackboneWarmup, BatchSpectralShrinkage
from ._base import SpectralEstimatorBase

__all__ = ["FINETUNE_CONSTRAINTS", "FineTuningMixin"]

#: Constraints of the fine-tuning parameters, shared by the estimators' tables.
FINETUNE_CONSTRAINTS = {
    "pretrained_weights": [dict, str, os.PathLike, torchvision.models.WeightsEnum,
                           SpectralEstimatorBase, None],
    "freeze_backbone": ["boolean"],
    "backbone_lr": [CONSTRAINTS["lr"][0], None],
    "head_warmup": [StrictInterval(Integral, 0, None, closed="left")],
    "bss": CONSTRAINTS["gamma"],
    "l2sp": [*CONSTRAINTS["gamma"], tuple],
    "lr_schedule": [StrOptions({"constant", "cosine"})],
    "resize": [PositiveInts(2), None],
}


class FineTuningMixin:
    """``pretrained_weights``, ``freeze_backbone``, ``backbone_lr``, ``head_warmup``, ``bss``,
    ``l2sp`` and ``lr_schedule`` for a classifier whose module has ``features`` and ``head``
    and takes ``pretrained_weights`` and ``freeze_backbone``.

    Place it before the other bases: its ``_net_params`` and ``_task_callbacks`` extend
    theirs.
    """

    def _torchvision_model_name(self):
        """The torchvision model whose weights names ``pretrained_weights`` may use, or None."""
        return None

    def _check_finetune_params(self):
        weights = self.pretrained_weights
        if isinstance(weights, (str, os.PathLike)) and not os.path.isfile(weights) and not (
                isinstance(weights, str) and re.fullmatch(r"[A-Z0-9_]+", weights)):
            raise ValueError(f"pretrained_weights as a string must be the path of a file saved "
                             f"with torch.save or a torchvision weights name such as "
                             f"'IMAGENET1K_V1'; got {weights!r}, which is neither.")
        if isinstance(weights, SpectralEstimatorBase) and not hasattr(weights, "net_"):
            raise ValueError(
                f"pretrained_weights is an unfitted {type(weights).__name__} (scikit-learn's "
                "clone, which GridSearchCV and cross_val_score use, returns estimator "
                "parameters unfitted): fit it first, or pass its module_.state_dict().")
        if isinstance(self.l2sp, tuple) and not (
                len(self.l2sp) == 2 and all(isinstance(v, Real) and np.isfinite(v) and v >= 0
                                            for v in self.l2sp)):
            raise ValueError(f"l2sp as a tuple must be (alpha, beta), two finite floats >= 0; "
                             f"got {self.l2sp!r}.")
        if self.freeze_backbone and self.regularizer not in (None, "head") and self.gamma:
            raise ValueError(f"freeze_backbone=True trains the head alone, so "
                             f"regularizer={self.regularizer!r} would penalize layers that do "
                             "not train; use regularizer=None or 'head'.")

    def _weights_enum(self, name):
        """``pretrained_weights`` as a member of the torchvision model's weights enum."""
        model = self._torchvision_model_name()
        if model is None:
            raise ValueError(f"pretrained_weights={name!r} is a torchvision weights name, but "
                             "module is not a torchvision model name: pass a state dict, a "
                             "file, or a fitted estimator.")
        enum = torchvision.models.get_model_weights(model)
        try:
            return enum[name]
        except KeyError:
            raise ValueError(f"{name!r} is not a torchvision weights name of {model}; those are "
                             f"{[w.name for w in enum]} and 'DEFAULT'.") from None

    def _pretrained_state(self):
        """``pretrained_weights`` as the state dict (or path) the module loads."""
        weights = self.pretrained_weights
        if isinstance(weights, SpectralEstimatorBase):
            return {k: v.detach().cpu().clone()
                    for k, v in weights.module_.state_dict().items()}
        if isinstance(weights, str) and not os.path.isfile(weights):
            weights = self._weights_enum(weights)
        if isinstance(weights, torchvision.models.WeightsEnum):
            # Data only (never unpickled code), and the download checked against the hash
            # torchvision writes into the file's name.
            return weights.get_state_dict(progress=False, check_hash=True, weights_only=True)
        return weights

    def _net_params(self):
        params = super()._net_params()
        if self.backbone_lr is not None:
            params["optimizer__param_groups"] = [("features.*", {"lr": self.backbone_lr})]
        return params

    def _task_callbacks(self):
        callbacks = list(super()._task_callbacks())
        if self.freeze_backbone or self.head_warmup:
            callbacks.append(("warmup", BackboneWarmup(self.head_warmup,
                                                       always=self.freeze_backbone)))
        if self.bss:
            callbacks.append(("bss", BatchSpectralShrinkage(self.bss)))
        alpha, beta = self.l2sp if isinstance(self.l2sp, tuple) else (self.l2sp, 0.0)
        if alpha or beta:
            callbacks.append(("l2sp", L2SP(alpha, beta)))
        if self.lr_schedule == "cosine":
            callbacks.append(("lr_schedule", LRScheduler(
                policy=torch.optim.lr_scheduler.CosineAnnealingLR, T_max=self.max_epochs)))
        return callbacks
