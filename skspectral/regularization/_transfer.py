"""Fine-tuning-time regularizers (skorch callbacks): Batch Spectral Shrinkage and L2-SP.

Both are the baselines the paper compares pretraining with rep-spectral against (§4.5).
Like the spectral penalty, they add their gradients to the network's gradients directly; the
training loss skorch records stays the task's loss, and each records its own value per
epoch in the history.
"""

import torch
from skorch.callbacks import Callback

from ._hooks import hook_parameters

__all__ = ["BackboneWarmup", "BatchSpectralShrinkage", "L2SP", "batch_spectral_shrinkage"]


def batch_spectral_shrinkage(features, k=1):
    """Sum of the ``k`` smallest squared singular values of the batch feature matrix.

    Parameters
    ----------
    features : torch.Tensor of shape (batch, ...)
        Flattened to ``(batch, m)``; it has ``min(batch, m)`` singular values.
    k : int, default=1
        Number of smallest singular values summed (at most ``min(batch, m)``).

    Returns
    -------
    value : torch.Tensor (0-d)
        The penalty without its weight (Chen et al. 2019, "Catastrophic forgetting meets
        negative transfer"), differentiable with respect to ``features``.

    See Also
    --------
    BatchSpectralShrinkage : The callback that adds this penalty's gradient while training.

    Examples
    --------
    The singular values of ``diag(3, 2, 1)`` are 3, 2 and 1:

    >>> import torch
    >>> from skspectral.regularization import batch_spectral_shrinkage
    >>> F = torch.diag(torch.tensor([3.0, 2.0, 1.0]))
    >>> round(float(batch_spectral_shrinkage(F)), 4)
    1.0
    >>> round(float(batch_spectral_shrinkage(F, k=2)), 4)
    5.0
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
        Weight η (> 0) of the penalty: the gradient added to the features is scaled by it.
    k : int, default=1
        Number of smallest singular values penalized.
    layer : str, default="features"
        Name of the submodule whose output is F.

    Attributes
    ----------
    values_ : list of torch.Tensor
        The current epoch's unweighted batch values, emptied at each epoch's end.

    See Also
    --------
    batch_spectral_shrinkage : The penalty's value.
    L2SP : The other fine-tuning baseline.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skorch import NeuralNetClassifier
    >>> from skspectral.models import MLP
    >>> from skspectral.regularization import BatchSpectralShrinkage
    >>> _ = torch.manual_seed(0)
    >>> X = np.random.RandomState(0).randn(64, 4).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(np.int64)
    >>> net = NeuralNetClassifier(
    ...     MLP, module__n_features=4, module__n_classes=2, module__hidden_layer_sizes=(8,),
    ...     max_epochs=2, train_split=None, verbose=0,
    ...     callbacks=[("bss", BatchSpectralShrinkage(eta=0.1, k=2))])
    >>> net = net.fit(X, y)
    >>> [value > 0 for value in net.history[:, "bss_penalty"]]
    [True, True]
    """

    def __init__(self, eta, k=1, layer="features"):
        self.eta = eta
        self.k = k
        self.layer = layer

    def initialize(self):
        """Reset the recorded values.

        Returns
        -------
        self : BatchSpectralShrinkage
            This callback, initialized.
        """
        self.values_ = []
        self._handle = None
        return self

    @hook_parameters()
    def on_train_begin(self, net, **kwargs):
        """Register the forward hook that adds the penalty's gradient on ``layer``'s output."""
        def hook(module, inputs, output):
            if module.training and torch.is_grad_enabled():
                return _AddShrinkageGradient.apply(output, float(self.eta), int(self.k),
                                                   self.values_)
            return None

        self._handle = net.module_.get_submodule(self.layer).register_forward_hook(hook)

    @hook_parameters()
    def on_train_end(self, net, **kwargs):
        """Remove the forward hook: inference after training is not penalized."""
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    @hook_parameters()
    def on_epoch_end(self, net, **kwargs):
        """Record ``bss_penalty``, ``eta`` times the epoch's mean batch value."""
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
    backbone : str, default="features"
        Name of the submodule whose parameters are pulled towards their starting point.
    head : str, default="head"
        Name of the submodule whose parameters get plain L2.

    Attributes
    ----------
    reference_ : dict of str to torch.Tensor
        The backbone's parameters when training first began, by name.

    See Also
    --------
    BatchSpectralShrinkage : The other fine-tuning baseline.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skorch import NeuralNetClassifier
    >>> from skspectral.models import MLP
    >>> from skspectral.regularization import L2SP
    >>> _ = torch.manual_seed(0)
    >>> X = np.random.RandomState(0).randn(64, 4).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(np.int64)
    >>> net = NeuralNetClassifier(
    ...     MLP, module__n_features=4, module__n_classes=2, module__hidden_layer_sizes=(8,),
    ...     max_epochs=2, train_split=None, verbose=0,
    ...     callbacks=[("l2sp", L2SP(alpha=0.01, beta=0.01))])
    >>> net = net.fit(X, y)
    >>> l2sp = dict(net.callbacks_)["l2sp"]
    >>> sorted(l2sp.reference_)
    ['hidden0.bias', 'hidden0.weight']
    >>> l2sp.penalty(net) == net.history[-1, "l2sp_penalty"]
    True
    """

    def __init__(self, alpha, beta=0.0, backbone="features", head="head"):
        self.alpha = alpha
        self.beta = beta
        self.backbone = backbone
        self.head = head

    def initialize(self):
        """Forget the starting point; the next training run records a new one.

        Returns
        -------
        self : L2SP
            This callback, initialized.
        """
        self.reference_ = None
        return self

    def _groups(self, net):
        module = net.module_
        return (list(module.get_submodule(self.backbone).named_parameters()),
                list(module.get_submodule(self.head).named_parameters()))

    @hook_parameters()
    def on_train_begin(self, net, **kwargs):
        """Record the backbone's starting point, unless an earlier run already did."""
        if self.reference_ is None:  # partial_fit keeps the first starting point
            backbone, _ = self._groups(net)
            self.reference_ = {name: p.detach().clone() for name, p in backbone}

    @torch.no_grad()
    @hook_parameters()
    def on_grad_computed(self, net, named_parameters, training=False, **kwargs):
        """Add ``alpha (w - w0)`` and ``beta w`` to the gradients after a training step."""
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
        """The current value of the penalty.

        Parameters
        ----------
        net : skorch.NeuralNet
            A net trained with this callback (its starting point recorded).

        Returns
        -------
        value : float
            ``alpha/2 |w_backbone - w0|^2 + beta/2 |w_head|^2`` at the current weights.
        """
        backbone, head = self._groups(net)
        drift = sum(float(((p - self.reference_[name]) ** 2).sum()) for name, p in backbone)
        size = sum(float((p ** 2).sum()) for _, p in head)
        return 0.5 * float(self.alpha) * drift + 0.5 * float(self.beta) * size

    @hook_parameters()
    def on_epoch_end(self, net, **kwargs):
        """Record ``l2sp_penalty``, the penalty's value at the epoch's end."""
        net.history.record("l2sp_penalty", self.penalty(net))


class BackboneWarmup(Callback):
    """Train the head alone for the first ``epochs`` epochs, then everything.

    The module must have ``freeze_backbone_(frozen)`` (as
    :class:`~skspectral.models.ResNet`): while frozen, the backbone gets no gradient and
    keeps its BatchNorm statistics, so only the new head learns. Epochs are counted over the
    net's whole history (``partial_fit`` continues the schedule).

    Parameters
    ----------
    epochs : int, default=0
        Number of epochs, counted from the first, in which only the head trains.
    always : bool, default=False
        Keep the backbone frozen for good (a linear probe).

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skorch import NeuralNetClassifier
    >>> from skspectral.models import ResNet
    >>> from skspectral.regularization import BackboneWarmup
    >>> _ = torch.manual_seed(0)
    >>> X = np.random.RandomState(0).rand(4, 3, 8, 8).astype(np.float32)
    >>> net = NeuralNetClassifier(
    ...     ResNet, module__n_classes=2, max_epochs=1, train_split=None, verbose=0,
    ...     callbacks=[("warmup", BackboneWarmup(epochs=1))])
    >>> net = net.fit(X, np.array([0, 1, 0, 1]))
    >>> net.module_.backbone_frozen  # epoch 1 of 1 trained the head only
    True
    """

    def __init__(self, epochs=0, always=False):
        self.epochs = epochs
        self.always = always

    @hook_parameters(net_text="The net being trained; its ``module_`` must have "
                              "``freeze_backbone_``.")
    def on_epoch_begin(self, net, **kwargs):
        """Freeze the backbone during the warm-up epochs (or always), unfreeze it after."""
        # The net has already opened this epoch's history row: len(history) is its number.
        net.module_.freeze_backbone_(self.always or len(net.history) <= self.epochs)
