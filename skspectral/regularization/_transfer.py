"""Fine-tuning-time regularizers (skorch callbacks): Batch Spectral Shrinkage and L2-SP.

Both are the baselines the paper compares pretraining with rep-spectral against (§4.5).
Like the spectral penalty, they add their gradients to the network's gradients directly; the
training loss skorch records stays the task's loss, and each records its own value per
epoch in the history.
"""

import torch
from skorch.callbacks import Callback

__all__ = ["BackboneWarmup", "BatchSpectralShrinkage", "L2SP", "batch_spectral_shrinkage"]


def batch_spectral_shrinkage(features, k=1):
    """Sum of the ``k`` smallest squared singular values of the batch feature matrix.

    Parameters
    ----------
    features : torch.Tensor of shape (batch, ...)
        Flattened to ``(batch, m)``; it has ``min(batch, m)`` singular values.
    k : int, default=1

    Returns
    -------
    torch.Tensor
        A scalar (Chen et al. 2019, "Catastrophic forgetting meets negative transfer").
    """
    s = torch.linalg.svdvals(features.flatten(1).float())  # descending
    return (s[-k:] ** 2).sum()


class _AddShrinkageGradient(torch.autograd.Function):
    """Identity forward; backward adds ``eta * d/dF sum_{i<=k} sigma_min,i(F)^2``.

    That gradient is ``2 eta sum_i sigma_i u_i v_i^T`` over the k smallest singular triplets
    of the batch matrix F, computed from one SVD in the forward pass.
    """

    @staticmethod
    def forward(ctx, features, eta, k, record):
        flat = features.detach().flatten(1).float()
        u, s, vh = torch.linalg.svd(flat, full_matrices=False)
        u, s, vh = u[:, -k:], s[-k:], vh[-k:]
        record.append((s ** 2).sum())  # a tensor: no device sync per batch
        ctx.save_for_backward((2.0 * eta) * (u * s) @ vh)
        return features.view_as(features)

    @staticmethod
    def backward(ctx, grad):
        (extra,) = ctx.saved_tensors
        return grad + extra.view_as(grad).to(grad.dtype), None, None, None


class BatchSpectralShrinkage(Callback):
    """Batch Spectral Shrinkage: ``eta * sum of the k smallest sigma(F)^2`` on every batch.

    ``F`` is the output of the net's ``module_.<layer>`` (the features Φ) for the training
    batch. A forward hook on that layer adds the penalty's gradient in the backward pass, so
    no second forward is needed. Records ``bss_penalty`` (``eta`` times the epoch's mean of
    the batch values) in the history.

    Parameters
    ----------
    eta : float
        Weight η (> 0).
    k : int, default=1
        Number of smallest singular values penalized.
    layer : str, default="features"
        Name of the submodule whose output is F.
    """

    def __init__(self, eta, k=1, layer="features"):
        self.eta = eta
        self.k = k
        self.layer = layer

    def initialize(self):
        self.values_ = []
        self._handle = None
        return self

    def on_train_begin(self, net, **kwargs):
        def hook(module, inputs, output):
            if module.training and torch.is_grad_enabled():
                return _AddShrinkageGradient.apply(output, float(self.eta), int(self.k),
                                                   self.values_)
            return None

        self._handle = net.module_.get_submodule(self.layer).register_forward_hook(hook)

    def on_train_end(self, net, **kwargs):
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def on_epoch_end(self, net, **kwargs):
        values, self.values_[:] = list(self.values_), []
        mean = float(torch.stack(values).mean()) if values else 0.0
        net.history.record("bss_penalty", float(self.eta) * mean)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_handle"] = None  # a hook handle is not picklable; it lives while training
        return state


class L2SP(Callback):
    """L2-SP (Li et al. 2018): ``alpha/2 |w_backbone - w0|^2 + beta/2 |w_head|^2``.

    ``w0`` are the backbone's weights when training first begins (the pretrained starting
    point); the gradient ``alpha (w - w0)`` (backbone) and ``beta w`` (head) is added to each
    parameter's gradient after the backward pass. Parameters without a gradient (frozen) are
    left alone. Records ``l2sp_penalty`` at the end of each epoch.

    Parameters
    ----------
    alpha : float
        Weight of the distance to the starting point, for the parameters under ``backbone``.
    beta : float, default=0.0
        Weight of plain L2 on the parameters under ``head``.
    backbone, head : str, default="features", "head"
        Names of the two submodules.
    """

    def __init__(self, alpha, beta=0.0, backbone="features", head="head"):
        self.alpha = alpha
        self.beta = beta
        self.backbone = backbone
        self.head = head

    def initialize(self):
        self.reference_ = None
        return self

    def _groups(self, net):
        module = net.module_
        return (list(module.get_submodule(self.backbone).named_parameters()),
                list(module.get_submodule(self.head).named_parameters()))

    def on_train_begin(self, net, **kwargs):
        if self.reference_ is None:  # partial_fit keeps the first starting point
            backbone, _ = self._groups(net)
            self.reference_ = {name: p.detach().clone() for name, p in backbone}

    @torch.no_grad()
    def on_grad_computed(self, net, named_parameters, training=False, **kwargs):
        if not training:
            return
        backbone, head = self._groups(net)
        for name, p in backbone:
            if p.grad is not None and self.alpha:
                p.grad.add_(p - self.reference_[name], alpha=float(self.alpha))
        for _, p in head:
            if p.grad is not None and self.beta:
                p.grad.add_(p, alpha=float(self.beta))

    @torch.no_grad()
    def penalty(self, net):
        """The current value of the penalty."""
        backbone, head = self._groups(net)
        drift = sum(float(((p - self.reference_[name]) ** 2).sum()) for name, p in backbone)
        size = sum(float((p ** 2).sum()) for _, p in head)
        return 0.5 * float(self.alpha) * drift + 0.5 * float(self.beta) * size

    def on_epoch_end(self, net, **kwargs):
        net.history.record("l2sp_penalty", self.penalty(net))


class BackboneWarmup(Callback):
    """Train the head alone for the first ``epochs`` epochs, then everything.

    The module must have ``freeze_backbone_(frozen)`` (as
    :class:`~skspectral.models.ResNet`): while frozen, the backbone gets no gradient and
    keeps its BatchNorm statistics, so only the new head learns. Epochs are counted over the
    net's whole history (``partial_fit`` continues the schedule).

    Parameters
    ----------
    epochs : int
    always : bool, default=False
        Keep the backbone frozen for good (a linear probe).
    """

    def __init__(self, epochs=0, always=False):
        self.epochs = epochs
        self.always = always

    def on_epoch_begin(self, net, **kwargs):
        # The net has already opened this epoch's history row: len(history) is its number.
        net.module_.freeze_backbone_(self.always or len(net.history) <= self.epochs)
