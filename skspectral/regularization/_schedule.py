"""When the penalty acts: burn-in and amortization (a skorch callback)."""

import numbers

from skorch.callbacks import Callback

from .._params import constraints, validate
from ._hooks import hook_parameters

__all__ = ["SpectralRegularization", "resolve_burnin"]

_spectral_net_hook = hook_parameters(
    "skspectral.training.SpectralNet",
    "The net being trained; its ``penalty_`` is the penalty this callback drives.")


def resolve_burnin(burnin, max_epochs):
    """Number of penalty-free epochs.

    Parameters
    ----------
    burnin : int or float
        An integer number of epochs in ``[0, max_epochs]``, or a float in ``[0, 1)``: that
        fraction of ``max_epochs``, rounded to the nearest epoch.
    max_epochs : int
        Length of the training run the fraction refers to (at least 1).

    Returns
    -------
    epochs : int
        Number of epochs, counted from the first, that train without the penalty.

    Raises
    ------
    ValueError
        If ``burnin`` is out of range or of the wrong type.

    Examples
    --------
    >>> from skspectral.regularization import resolve_burnin
    >>> resolve_burnin(3, max_epochs=10), resolve_burnin(0.25, max_epochs=10)
    (3, 2)
    """
    validate("resolve_burnin", constraints("burnin", "max_epochs"),
             {"burnin": burnin, "max_epochs": max_epochs})
    if isinstance(burnin, numbers.Integral):
        if burnin > max_epochs:
            raise ValueError(
                f"burnin={burnin} epochs is out of range [0, max_epochs={max_epochs}].")
        return int(burnin)
    return int(round(burnin * max_epochs))


class SpectralRegularization(Callback):
    """Drive a net's :class:`~skspectral.regularization.SpectralPenalty` during training.

    The net must have the penalty as its ``penalty_`` module (see
    :class:`~skspectral.training.SpectralNet`).

    Schedule. Epochs ``1 .. burnin`` train without the penalty (epochs counted over the
    net's whole history, so ``partial_fit`` continues the schedule). From then on, *one
    step* is one optimizer step (one mini-batch): on every ``update_every``-th step the
    singular vectors get ``n_power_iterations`` power-iteration updates and
    ``gamma * sigma * u v^T`` is added to each penalized weight's gradient (the first active
    step included). The vectors are set to the exact singular vectors when training
    first starts and again when the penalty switches on.

    Each epoch records into the net's history ``spectral_norms`` (``{layer: sigma}``
    for the penalized layers, refined by up to 20 power iterations until sigma changes by
    less than 1e-4 relative between two iterations) and ``spectral_penalty``
    (``(gamma/2) sum sigma^2``, 0 during burn-in). Recording is a pure read: the refinement
    runs on copies (:meth:`~skspectral.regularization.SpectralPenalty.estimate`), so the
    vectors training continues from are the penalty's own. The record starts from the
    previous epoch's refined vectors, which the callback keeps (``record_vectors_``): during
    burn-in the penalty's vectors do not follow the moving weights, and refining from the
    last record takes a few iterations where refining from them would take all 20.

    Parameters
    ----------
    burnin : int or float, default=0
        Penalty-free epochs at the start of training: an integer number of epochs, or a
        float in ``[0, 1)``, that fraction of ``max_epochs`` (see :func:`resolve_burnin`).
    update_every : int, default=1
        Amortization period k, in optimizer steps: the penalty updates its vectors and adds
        its gradient on every k-th step only.

    Attributes
    ----------
    burnin_epochs_ : int
        ``burnin`` resolved against the net's ``max_epochs`` when training begins.
    active_ : bool
        Whether the penalty acts in the current epoch (False during burn-in).
    steps_ : int
        Optimizer steps taken with the penalty active, over the whole history.
    record_vectors_ : dict or None
        The refined vectors of the last record, the next record's start.

    See Also
    --------
    skspectral.training.SpectralNet : The net that owns the penalty this callback drives.
    skspectral.regularization.SpectralPenalty : The penalty itself.

    Examples
    --------
    One penalty-free epoch, then the penalty acts; each epoch records the spectral norms:

    >>> import numpy as np
    >>> import torch
    >>> from skspectral.models import MLP
    >>> from skspectral.regularization import SpectralRegularization
    >>> from skspectral.training import SpectralNet
    >>> _ = torch.manual_seed(0)
    >>> X = np.random.RandomState(0).randn(64, 4).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(np.int64)
    >>> net = SpectralNet(
    ...     MLP, module__n_features=4, module__n_classes=2, module__hidden_layer_sizes=(8,),
    ...     criterion=torch.nn.CrossEntropyLoss, spectral_scope="rep",
    ...     spectral_gamma=0.1, max_epochs=3, train_split=None, verbose=0,
    ...     callbacks=[("spectral", SpectralRegularization(burnin=1))])
    >>> net = net.fit(X, y)
    >>> [value > 0 for value in net.history[:, "spectral_penalty"]]
    [False, True, True]
    >>> list(net.history[-1, "spectral_norms"])
    ['features.hidden0']
    """

    def __init__(self, burnin=0, update_every=1):
        self.burnin = burnin
        self.update_every = update_every

    def initialize(self):
        """Check the parameters and reset the schedule's state.

        Returns
        -------
        self : SpectralRegularization
            This callback, initialized.

        Raises
        ------
        ValueError
            If ``burnin`` or ``update_every`` is out of range.
        """
        validate(type(self).__name__, constraints("burnin", "update_every"),
                 {"burnin": self.burnin, "update_every": self.update_every})
        self.active_ = False
        self.steps_ = 0
        self.record_vectors_ = None
        return self

    def __getstate__(self):
        # The record's vectors are a cache on the training device, and pickle would carry
        # them there (skorch maps only the net's own modules to the CPU on load); the next
        # record starts from the penalty's vectors instead.
        state = self.__dict__.copy()
        state["record_vectors_"] = None
        return state

    @_spectral_net_hook
    def on_train_begin(self, net, **kwargs):
        """Resolve the burn-in and converge the penalty's vectors on first training."""
        self.burnin_epochs_ = resolve_burnin(self.burnin, net.max_epochs)
        if not net.penalty_.converged:
            net.penalty_.converge_(net.module_)

    @_spectral_net_hook
    def on_epoch_begin(self, net, **kwargs):
        """Switch the penalty on once the burn-in is over (re-converging its vectors then)."""
        # The net has already opened this epoch's history row: len(history) is its number.
        active = len(net.history) > self.burnin_epochs_
        if active and not self.active_ and len(net.history) > 1:
            # Switching on after trained epochs: the weights moved since the last convergence.
            net.penalty_.converge_(net.module_)
        self.active_ = active

    @_spectral_net_hook
    def on_grad_computed(self, net, named_parameters, training=False, **kwargs):
        """Add the penalty's gradient on every ``update_every``-th active training step."""
        if not (training and self.active_):
            return
        if self.steps_ % self.update_every == 0:
            net.penalty_.apply_(net.module_)
        self.steps_ += 1

    @_spectral_net_hook
    def on_epoch_end(self, net, **kwargs):
        """Record ``spectral_norms`` and ``spectral_penalty`` in the net's history."""
        penalty = net.penalty_
        norms, self.record_vectors_ = penalty.estimate(
            net.module_, n_iter=20, tol=1e-4, start=self.record_vectors_, return_vectors=True)
        net.history.record("spectral_norms", norms)
        value = 0.5 * penalty.gamma * sum(s * s for s in norms.values())
        net.history.record("spectral_penalty", value if self.active_ else 0.0)
