"""skorch net that owns a spectral penalty module."""

from skorch import NeuralNet

from ._penalty import SpectralPenalty
from ._scope import resolve_scope

__all__ = ["SpectralNet"]


class SpectralNet(NeuralNet):
    """A :class:`skorch.NeuralNet` with a :class:`SpectralPenalty` as its ``penalty_`` module.

    The penalty is built right after the module, over the layers ``spectral_scope`` names,
    and is registered like any custom skorch module: it moves to ``device`` and is pickled
    with the net (and loads on a CPU-only machine). Add a
    :class:`~skspectral.regularization.SpectralRegularization` callback to apply it.

    Parameters
    ----------
    module, criterion : see :class:`skorch.NeuralNet`
    spectral_scope : {"representation", "head", "all"} or list of str, default=None
        Layers to penalize (:func:`~skspectral.regularization.resolve_scope`); None builds
        no penalty.
    spectral_gamma : float, default=0.0
        Penalty strength (:class:`SpectralPenalty`'s ``gamma``).
    spectral_n_power_iterations : int, default=1
        Power-iteration steps per penalty update.
    **kwargs :
        Everything else :class:`skorch.NeuralNet` accepts.
    """

    def __init__(self, module, *args, spectral_scope=None, spectral_gamma=0.0,
                 spectral_n_power_iterations=1, **kwargs):
        super().__init__(module, *args, **kwargs)
        self.spectral_scope = spectral_scope
        self.spectral_gamma = spectral_gamma
        self.spectral_n_power_iterations = spectral_n_power_iterations

    def initialize_module(self):
        super().initialize_module()
        if self.spectral_scope is None:
            if hasattr(self, "penalty_"):
                del self.penalty_
            return self
        layers = resolve_scope(self.module_, self.spectral_scope)
        self.penalty_ = SpectralPenalty(self.module_, layers, gamma=self.spectral_gamma,
                                        n_power_iterations=self.spectral_n_power_iterations)
        return self
