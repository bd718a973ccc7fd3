"""The spectral penalty (gamma / 2) * sum_l sigma_max(W_l)^2 and its analytic gradient."""

import torch
import torch.nn as nn

from ..spectral import as_matrix, power_iteration, random_unit_vector, top_singular_triplet

__all__ = ["SpectralPenalty"]


class SpectralPenalty(nn.Module):
    """Spectral penalty over a set of layers, with its power-iteration state.

    The penalty is ``R = (gamma / 2) * sum_l sigma_max(W_l)^2``. Its gradient with respect
    to ``W_l`` is ``gamma * sigma_l * u_l v_l^T`` (``u_l``, ``v_l`` the top singular
    vectors), which :meth:`apply_` adds to the weights' ``.grad`` without differentiating
    through an SVD.

    The state (right singular vector and last ``sigma`` per layer) lives in buffers, so it
    is saved with ``state_dict``, pickles, and follows ``.to(device)``. The module holds
    only layer *names*; the network is passed to every call, so the penalty never owns
    (or double-registers) the network's parameters.

    Parameters
    ----------
    module : torch.nn.Module
        The network whose layers are penalized; used here to size the state.
    layers : list of str
        Names of the penalized layers (see :func:`~skspectral.regularization.resolve_scope`).
    gamma : float, default=0.0
        Strength. Note the factor 1/2: the authors' code adds ``gamma * sum sigma^2``, so
        their gamma corresponds to ``2 * gamma`` here.
    n_power_iterations : int, default=1
        Power-iteration steps per refresh (:meth:`apply_`).

    Attributes
    ----------
    layers : list of str
    converged : bool
        Whether the vectors were set to the exact singular vectors since the last
        re-initialization.
    """

    def __init__(self, module, layers, gamma=0.0, n_power_iterations=1):
        super().__init__()
        if not gamma >= 0:
            raise ValueError(f"gamma must be >= 0, got {gamma!r}.")
        if int(n_power_iterations) != n_power_iterations or n_power_iterations < 1:
            raise ValueError(f"n_power_iterations must be an integer >= 1, got "
                             f"{n_power_iterations!r}.")
        self.layers = list(layers)
        self.gamma = float(gamma)
        self.n_power_iterations = int(n_power_iterations)
        self.converged = False
        for i, name in enumerate(self.layers):
            weight = as_matrix(module.get_submodule(name))
            self.register_buffer(f"v{i}", random_unit_vector(
                weight.shape[1], dtype=weight.dtype, device=weight.device))
            self.register_buffer(f"sigma{i}", torch.zeros((), dtype=weight.dtype,
                                                          device=weight.device))

    def _weights(self, module):
        for i, name in enumerate(self.layers):
            weight = as_matrix(module.get_submodule(name))
            v = getattr(self, f"v{i}")
            if v.shape[0] != weight.shape[1]:
                # The layer was rebuilt with another shape: start over from a random vector.
                self._buffers[f"v{i}"] = random_unit_vector(
                    weight.shape[1], dtype=v.dtype, device=weight.device)
                self.converged = False
            yield i, weight

    def _store(self, i, sigma, v):
        getattr(self, f"v{i}").copy_(v)
        getattr(self, f"sigma{i}").copy_(sigma)

    @torch.no_grad()
    def converge_(self, module):
        """Set every layer's vectors to its exact top singular vectors (dense SVD).

        Parameters
        ----------
        module : torch.nn.Module

        Returns
        -------
        self
        """
        for i, weight in self._weights(module):
            sigma, _, v = top_singular_triplet(weight)
            self._store(i, sigma, v)
        self.converged = True
        return self

    @torch.no_grad()
    def refresh_(self, module, n_iter=None, tol=None):
        """Advance the warm-started power iteration and return the ``(sigma, u, v)`` triplets.

        Parameters
        ----------
        module : torch.nn.Module
        n_iter : int, optional
            Iterations; ``n_power_iterations`` when None.
        tol : float, optional
            Early-stopping tolerance (see :func:`~skspectral.spectral.power_iteration`).

        Returns
        -------
        list of tuple
            ``(weight, sigma, u, v)`` per layer, in the order of ``layers``.
        """
        n_iter = self.n_power_iterations if n_iter is None else n_iter
        out = []
        for i, weight in self._weights(module):
            sigma, u, v = power_iteration(weight, getattr(self, f"v{i}"), n_iter=n_iter, tol=tol)
            self._store(i, sigma, v)
            out.append((weight, sigma, u, v))
        return out

    @torch.no_grad()
    def apply_(self, module):
        """Refresh the singular vectors and add ``gamma * sigma * u v^T`` to each weight's grad.

        Call it after ``loss.backward()`` and before ``optimizer.step()``. It does not
        synchronize with the device.

        Parameters
        ----------
        module : torch.nn.Module

        Returns
        -------
        self
        """
        for weight, sigma, u, v in self.refresh_(module):
            if not weight.requires_grad or self.gamma == 0.0:
                continue
            grad = torch.outer(u, v).mul_(sigma * self.gamma).to(weight.dtype)
            if weight.grad is None:
                weight.grad = grad
            else:
                weight.grad.add_(grad)
        return self

    def value(self):
        """The penalty ``(gamma / 2) * sum sigma^2`` at the last refresh, as a 0-d tensor."""
        sigmas = self.sigmas()
        if not sigmas:
            return torch.zeros(())
        return 0.5 * self.gamma * torch.stack(sigmas).square().sum()

    def sigmas(self):
        """The top singular values at the last refresh, in the order of ``layers``."""
        return [getattr(self, f"sigma{i}") for i in range(len(self.layers))]

    def norms(self):
        """``{layer name: sigma}`` at the last refresh, as Python floats."""
        return {name: float(s) for name, s in zip(self.layers, self.sigmas(), strict=True)}

    def extra_repr(self):
        return (f"layers={self.layers}, gamma={self.gamma}, "
                f"n_power_iterations={self.n_power_iterations}")
