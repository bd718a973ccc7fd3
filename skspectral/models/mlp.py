"""Multilayer perceptron with a separate feature map and readout."""

import math
import numbers
from collections import OrderedDict

import torch.nn as nn
from sklearn.utils._param_validation import StrOptions

from .._params import PositiveInts, StrictInterval, validate
from ..spectral import ACTIVATIONS

__all__ = ["MLP", "INITS"]

#: Weight initializations: "small" is the paper's N(0, 0.01^2) for weights and biases with
#: the logits scaled by 1/sqrt(width); "default" is PyTorch's Linear initialization.
INITS = ("small", "default")


class MLP(nn.Module):
    """Fully connected network ``head(features(x)) * output_scale``.

    ``features`` is Φ, the representation: ``Linear -> activation`` per hidden layer, its
    output the last hidden layer's activations. ``head`` is the linear readout.

    Parameters
    ----------
    n_features : int
        Input dimension.
    n_classes : int
        Number of outputs (logits).
    hidden_layer_sizes : tuple of int, default=(2000,)
        Widths of the hidden layers (at least one).
    activation : {"relu", "tanh", "sigmoid", "gelu", "silu"}, default="gelu"
        Nonlinearity after each hidden Linear layer (see
        :data:`~skspectral.spectral.ACTIVATIONS` for their Lipschitz constants).
    init : {"small", "default"}, default="small"
        ``"small"``: weights and biases drawn from N(0, 0.01^2) and the logits multiplied
        by ``1 / sqrt(width of the last hidden layer)`` (the paper's MLP setting);
        ``"default"``: PyTorch's initialization and no output scaling.

    Attributes
    ----------
    features : torch.nn.Sequential
        Hidden layers named ``hidden0, act0, hidden1, act1, ...``.
    head : torch.nn.Linear
        The readout, last hidden width -> ``n_classes``.
    output_scale : float
        Factor applied to the logits: ``1 / sqrt(width)`` with ``init="small"``, else 1.

    Raises
    ------
    ValueError
        If a parameter is out of range or not one of its options.

    See Also
    --------
    skspectral.estimators.SpectralMLPClassifier : The estimator that trains it.

    Examples
    --------
    >>> import torch
    >>> from skspectral.models import MLP
    >>> _ = torch.manual_seed(0)
    >>> model = MLP(n_features=4, n_classes=3, hidden_layer_sizes=(16, 8))
    >>> [name for name, _ in model.features.named_children()]
    ['hidden0', 'act0', 'hidden1', 'act1']
    >>> model.head
    Linear(in_features=8, out_features=3, bias=True)
    >>> model(torch.zeros(5, 4)).shape
    torch.Size([5, 3])
    >>> round(model.output_scale, 4)
    0.3536
    """

    #: Checked when built (see :mod:`skspectral._params`); the estimator reuses the entries.
    _parameter_constraints = {
        "n_features": [StrictInterval(numbers.Integral, 1, None, closed="left")],
        "n_classes": [StrictInterval(numbers.Integral, 1, None, closed="left")],
        "hidden_layer_sizes": [PositiveInts()],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "init": [StrOptions(set(INITS))],
    }

    def __init__(self, n_features, n_classes, hidden_layer_sizes=(2000,), activation="gelu",
                 init="small"):
        super().__init__()
        validate(type(self).__name__, self._parameter_constraints, {
            "n_features": n_features, "n_classes": n_classes,
            "hidden_layer_sizes": hidden_layer_sizes, "activation": activation, "init": init})
        act_cls = ACTIVATIONS[activation][0]
        layers = OrderedDict()
        width = n_features
        for i, size in enumerate(hidden_layer_sizes):
            layers[f"hidden{i}"] = nn.Linear(width, size)
            layers[f"act{i}"] = act_cls()
            width = size
        self.features = nn.Sequential(layers)
        self.head = nn.Linear(width, n_classes)
        self.output_scale = 1.0 / math.sqrt(width) if init == "small" else 1.0
        if init == "small":
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0.0, 0.01)
                    nn.init.normal_(m.bias, 0.0, 0.01)

    def forward(self, x):
        """Logits of a batch.

        Parameters
        ----------
        x : torch.Tensor of shape (N, n_features)
            Input batch.

        Returns
        -------
        logits : torch.Tensor of shape (N, n_classes)
            ``head(features(x)) * output_scale``.
        """
        out = self.head(self.features(x))
        return out * self.output_scale if self.output_scale != 1.0 else out
