"""The spectral penalty (gamma / 2) * sum_l sigma_max(W_l)^2 and its analytic gradient."""

import torch
import torch.nn as nn

from .._collectives import all_reduce_mean_, broadcast_
from .._params import constraints, validate
from ..spectral import (
    CONV_TYPES,
    as_matrix,
    conv_power_iteration,
    conv_sigma_and_grad,
    is_pointwise,
    power_iteration,
    random_unit_vector,
    resolve_input_shape,
    top_singular_triplet,
)

__all__ = ["SpectralPenalty"]

# converge_ decomposes a matrix by a full SVD (cost ~ m n min(m, n)) up to this cost, which
# the paper's MNIST MLP layer (2000 x 784) is within; larger matrices start from a power
# iteration instead, whose cost per step is m n (docs/guide.md names such layers).
_SVD_COST = 1.3e9


def _svd_affordable(matrix):
    m, n = matrix.shape
    return m * n * min(m, n) <= _SVD_COST


def unwrap(module):
    """The module inside DistributedDataParallel / DataParallel / torch.compile wrappers.

    Parameters
    ----------
    module : torch.nn.Module
        A network, wrapped any number of times or not at all.

    Returns
    -------
    torch.nn.Module
        The innermost module (``module`` itself when it is not wrapped).

    Examples
    --------
    >>> import torch
    >>> from skspectral.regularization import unwrap
    >>> net = torch.nn.Linear(2, 2)
    >>> unwrap(torch.nn.DataParallel(net)) is net, unwrap(net) is net
    (True, True)
    """
    while True:
        if isinstance(module, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
            module = module.module
        elif hasattr(module, "_orig_mod"):
            module = module._orig_mod
        else:
            return module


def _is_dense(layer):
    return isinstance(layer, nn.Linear) or (isinstance(layer, CONV_TYPES) and is_pointwise(layer))


def _power_iteration(layer, v, n_iter, tol=None):
    """``(sigma, u, v)`` by power iteration on the layer's operator, from ``v``."""
    if _is_dense(layer):
        return power_iteration(as_matrix(layer), v, n_iter=n_iter, tol=tol)
    return conv_power_iteration(layer, v, n_iter=n_iter, tol=tol)


class SpectralPenalty(nn.Module):
    """Spectral penalty over a set of layers, with its power-iteration state.

    The penalty is ``R = (gamma / 2) * sum_l sigma_l^2``, ``sigma_l`` the operator norm of
    layer ``l``: the top singular value of a Linear weight or of a 1x1 convolution's kernel
    matrix, and for other convolutions of the linear map they apply to their input size.
    Its gradient with respect to a weight is ``gamma * sigma * d sigma / d W``: ``gamma sigma
    u v^T`` for a matrix, one convolution weight-gradient at batch size 1 for a convolution;
    :meth:`apply_` adds it to ``.grad`` without differentiating through an SVD. The
    computation runs in the weights' dtype with autocast disabled (fp32 under mixed
    precision).

    The state (right singular vector, shaped like one input for a convolution, and the last
    ``sigma`` per layer) lives in buffers, so it is saved with ``state_dict``, pickles, and
    follows ``.to(device)``. The module holds layer *names* only; the network is passed to
    every call (wrapped in DistributedDataParallel or ``torch.compile`` or not), so the
    penalty never owns the network's parameters. Under data parallelism, apply it after the
    gradients are all-reduced, with ``distributed=True``: every rank then holds the same
    state and adds the same gradient, even where the device's kernels are not bitwise
    deterministic.

    Parameters
    ----------
    module : torch.nn.Module
        The network whose layers are penalized; used here to size the state.
    layers : list of str
        Names of the penalized layers (see :func:`~skspectral.regularization.resolve_scope`).
    gamma : float, default=0.0
        Strength. The authors' code adds ``gamma * sum sigma^2``, so their gamma corresponds to
        ``2 * gamma`` here.
    n_power_iterations : int, default=1
        Power-iteration steps per refresh (:meth:`apply_`).
    input_shapes : dict, optional
        ``{name: (c_in, *spatial)}`` for the convolutions other than pointwise ones (see
        :func:`~skspectral.spectral.capture_input_shapes`).
    distributed : bool, default=False
        Keep the ranks of torch.distributed's default process group in lockstep: after every
        update the state is broadcast from rank 0, and :meth:`apply_` adds the ranks' mean
        of the penalty gradients (one all-reduce of the penalized weights' size per update).
        A no-op in a single process.

    Attributes
    ----------
    layers : list of str
        Names of the penalized layers, in the order of the state.
    input_shapes : dict
        ``{name: (c_in, *spatial)}`` of the convolutions whose state is an input-shaped
        vector.
    converged : bool
        Whether the vectors were iterated to convergence since the last re-initialization.

    Examples
    --------
    A diagonal weight's operator norm is its largest entry. Before any refresh every norm is
    0; :meth:`estimate` refines them without storing anything:

    >>> import torch
    >>> from skspectral.regularization import SpectralPenalty
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 3, bias=False))
    >>> _ = net[0].weight.data.copy_(torch.diag(torch.tensor([4.0, 1.0, 2.0])))
    >>> penalty = SpectralPenalty(net, ["0"], gamma=0.5)
    >>> penalty
    SpectralPenalty(layers=['0'], gamma=0.5, n_power_iterations=1)
    >>> round(penalty.estimate(net, n_iter=200, tol=1e-9)["0"], 4), penalty.norms()
    (4.0, {'0': 0.0})

    :meth:`converge_` stores the exact singular vectors, :meth:`refresh_` advances the power
    iteration from them; both store the norms:

    >>> penalty.converge_(net).norms(), float(penalty.value())  # (0.5 / 2) * 4^2
    ({'0': 4.0}, 4.0)
    >>> [round(float(s), 4) for s in penalty.refresh_(net, n_iter=5).sigmas()]
    [4.0]

    :meth:`apply_` adds ``gamma * sigma * u v^T`` to the weight's gradient:

    >>> net[0].weight.grad = None
    >>> penalty.apply_(net).norms(), net[0].weight.grad.abs().tolist()
    ({'0': 4.0}, [[2.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    """

    def __init__(self, module, layers, gamma=0.0, n_power_iterations=1, input_shapes=None,
                 distributed=False):
        super().__init__()
        validate(type(self).__name__, constraints("gamma", "n_power_iterations"),
                 {"gamma": gamma, "n_power_iterations": n_power_iterations})
        self.layers = list(layers)
        self.gamma = float(gamma)
        self.n_power_iterations = int(n_power_iterations)
        self.input_shapes = {}
        self.distributed = bool(distributed)
        self.converged = False
        module = unwrap(module)
        for i, name in enumerate(self.layers):
            layer = module.get_submodule(name)
            if not _is_dense(layer):
                self.input_shapes[name] = resolve_input_shape(
                    layer, (input_shapes or {}).get(name))
            self.register_buffer(f"v{i}", self._random_state(name, layer))
            self.register_buffer(f"sigma{i}", torch.zeros((), dtype=layer.weight.dtype,
                                                          device=layer.weight.device))

    def _random_state(self, name, layer):
        weight = layer.weight
        if _is_dense(layer):
            return random_unit_vector(as_matrix(layer).shape[1], dtype=weight.dtype,
                                      device=weight.device)
        x = torch.randn(1, *self.input_shapes[name], dtype=weight.dtype, device=weight.device)
        return x / x.norm()

    def _layers(self, module):
        module = unwrap(module)
        for i, name in enumerate(self.layers):
            layer = module.get_submodule(name)
            state = getattr(self, f"v{i}")
            expected = as_matrix(layer).shape[1] if _is_dense(layer) else layer.in_channels
            if state.shape[0 if _is_dense(layer) else 1] != expected:
                # The layer was rebuilt with another shape: start over from a random vector.
                self._buffers[f"v{i}"] = self._random_state(name, layer)
                self.converged = False
            yield i, layer

    def _store(self, i, sigma, v):
        getattr(self, f"v{i}").copy_(v)
        getattr(self, f"sigma{i}").copy_(sigma)

    def _synchronize(self):
        if self.distributed:
            broadcast_(list(self.buffers()))

    def _autocast_off(self):
        device = next(self.buffers(), torch.empty(0)).device.type
        return torch.autocast(device_type=device, enabled=False)

    @torch.no_grad()
    def converge_(self, module, n_iter=50, tol=1e-3):
        """Set the vectors to the top singular vectors: by SVD for matrices up to the size of
        the paper's 2000 x 784 layer, by up to ``n_iter`` power iterations (relative tolerance
        ``tol``) for larger ones and for convolutions.

        Parameters
        ----------
        module : torch.nn.Module
            The network (wrapped or not).
        n_iter : int, default=50
            Most power iterations per layer.
        tol : float, default=1e-3
            Relative change of sigma at which the power iteration stops.

        Returns
        -------
        self : SpectralPenalty
            With ``converged`` True.
        """
        with self._autocast_off():
            for i, layer in self._layers(module):
                if _is_dense(layer) and _svd_affordable(as_matrix(layer)):
                    sigma, _, v = top_singular_triplet(as_matrix(layer))
                else:
                    sigma, _, v = _power_iteration(layer, getattr(self, f"v{i}"), n_iter, tol)
                self._store(i, sigma, v)
        self._synchronize()
        self.converged = True
        return self

    @torch.no_grad()
    def estimate(self, module, n_iter=None, tol=None, start=None, return_vectors=False):
        """Operator norms refined by power iteration from the warm vectors, without storing.

        A pure read: the state that training continues from is left as it is, so observing
        the norms never changes a later update.

        Parameters
        ----------
        module : torch.nn.Module
            The network (wrapped or not).
        n_iter : int, optional
            Iterations; ``n_power_iterations`` when None.
        tol : float, optional
            Early-stopping tolerance on the relative change of sigma (synchronizes with the
            device).
        start : list of torch.Tensor, optional
            Vectors to iterate from instead of the penalty's own, in the order of ``layers``
            (e.g. those a previous call returned); one whose shape no longer fits its layer
            is replaced by the penalty's vector.
        return_vectors : bool, default=False
            Also return the refined vectors (new tensors, in the order of ``layers``).

        Returns
        -------
        norms : dict
            ``{layer name: sigma}`` as Python floats.
        vectors : list of torch.Tensor
            Only when ``return_vectors``.
        """
        norms, vectors = {}, []
        for i, (sigma, v) in self._iterate(module, n_iter, tol, start):
            norms[self.layers[i]] = float(sigma)
            vectors.append(v)
        return (norms, vectors) if return_vectors else norms

    def _iterate(self, module, n_iter, tol, start=None):
        n_iter = self.n_power_iterations if n_iter is None else n_iter
        with self._autocast_off():
            for i, layer in self._layers(module):
                state = getattr(self, f"v{i}")
                if start is not None and start[i].shape == state.shape:
                    state = start[i]
                sigma, _, v = _power_iteration(layer, state, n_iter, tol)
                yield i, (sigma, v)

    @torch.no_grad()
    def refresh_(self, module, n_iter=None, tol=None):
        """Advance the warm-started power iteration of every layer and store the result.

        Parameters
        ----------
        module : torch.nn.Module
            The network (wrapped or not).
        n_iter, tol : optional
            As in :meth:`estimate`.

        Returns
        -------
        self : SpectralPenalty
            With the refined vectors and norms stored.
        """
        for i, (sigma, v) in self._iterate(module, n_iter, tol):
            self._store(i, sigma, v)
        self._synchronize()
        return self

    @torch.no_grad()
    def apply_(self, module):
        """Refresh the singular vectors and add ``gamma * sigma * d sigma / dW`` to each grad.

        Call it after ``loss.backward()`` and before ``optimizer.step()``. It does not
        synchronize with the device.

        Parameters
        ----------
        module : torch.nn.Module
            The network (wrapped or not) whose penalized weights get the gradient.

        Returns
        -------
        self : SpectralPenalty
            With the refreshed vectors and norms stored.
        """
        added = []
        with self._autocast_off():
            for i, layer in self._layers(module):
                weight = layer.weight
                sigma, u, v = _power_iteration(layer, getattr(self, f"v{i}"),
                                               self.n_power_iterations)
                if _is_dense(layer):
                    dsigma = torch.outer(u, v).reshape(weight.shape)
                else:
                    sigma, dsigma = conv_sigma_and_grad(layer, v)
                self._store(i, sigma, v)
                if weight.requires_grad and self.gamma != 0.0:
                    added.append((weight, dsigma.mul_(sigma * self.gamma).to(weight.dtype)))
        self._synchronize()
        if self.distributed:
            all_reduce_mean_([grad for _, grad in added])
        for weight, grad in added:
            if weight.grad is None:
                weight.grad = grad
            else:
                weight.grad.add_(grad)
        return self

    def value(self):
        """The penalty ``(gamma / 2) * sum sigma^2`` at the last refresh.

        Returns
        -------
        torch.Tensor (0-d)
            0 before any refresh.
        """
        sigmas = self.sigmas()
        if not sigmas:
            return torch.zeros(())
        return 0.5 * self.gamma * torch.stack(sigmas).square().sum()

    def sigmas(self):
        """The operator norms at the last refresh, in the order of ``layers``.

        Returns
        -------
        list of torch.Tensor (0-d)
            The buffers themselves (0 before any refresh).
        """
        return [getattr(self, f"sigma{i}") for i in range(len(self.layers))]

    def norms(self):
        """``{layer name: sigma}`` at the last refresh, as Python floats.

        Returns
        -------
        dict
            0.0 for every layer before any refresh.
        """
        return {name: float(s) for name, s in zip(self.layers, self.sigmas(), strict=True)}

    def extra_repr(self):
        """The layers, gamma and iterations, for ``repr``.

        Returns
        -------
        str
            ``layers=[...], gamma=..., n_power_iterations=...``.
        """
        return (f"layers={self.layers}, gamma={self.gamma}, "
                f"n_power_iterations={self.n_power_iterations}")
