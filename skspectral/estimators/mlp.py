"""SpectralMLPClassifier: an MLP trained with a spectral penalty, scikit-learn style."""

import numbers

from .._params import StrictInterval
from ..models import MLP
from ._base import validate_tabular
from ._classifier import SpectralClassifierBase

__all__ = ["SpectralMLPClassifier"]


class SpectralMLPClassifier(SpectralClassifierBase):
    """Multilayer perceptron classifier with spectral regularization of its representation.

    Trains ``head(Φ(x))`` with cross-entropy through skorch, adding the gradient of
    ``(gamma / 2) * sum_l sigma_max(W_l)^2`` over the layers the ``regularizer`` selects.
    With ``regularizer="rep"`` (rep-spectral) only the layers up to the feature map Φ are
    penalized, so the representation stays robust when the readout is retrained downstream
    (``transform`` returns Φ(X)).

    The defaults are a quick baseline, close to scikit-learn's ``MLPClassifier()`` in
    accuracy (one hidden layer of 100 units, Adam with lr 1e-3, batches of 200, 100 epochs;
    ``benchmarks/bench_baselines.py`` prints the comparison) with rep-spectral on from the
    first epoch at gamma=0.02 (docs/choosing_gamma.md gives the measurements behind it).
    The paper's MNIST configuration (2000 GELU units, N(0, 0.01^2) init, SGD lr 0.1,
    batches of 1024) is ``paper_estimator("mnist-mlp")``; see
    :data:`~skspectral.estimators.PAPER_PRESETS`.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Widths of the hidden layers; Φ is the last one's activations.
    activation : {"gelu", "relu", "tanh", "sigmoid", "silu"}, default="gelu"
        Nonlinearity after every hidden layer (the paper's networks use GELU).
    regularizer : {"rep", "all", "head"}, list of str or None, default="rep"
        Layers penalized: ``"rep"`` every hidden layer (the paper's rep-spectral),
        ``"all"`` every layer including the readout (ll-spectral of Yoshida & Miyato),
        ``"head"`` the readout only (what the authors' code ran as ll-spectral on
        one-hidden-layer MLPs), None none, or explicit module names such as
        ``["features.hidden0", "head"]``.
    gamma : float, default=2e-2
        Penalty strength, >= 0. The default is the setting with the largest average gain
        in mean adversarial distance over ``regularizer=None`` among those that keep test
        accuracy within 0.5 point of it on each data set of ``benchmarks/bench_gamma.py``
        (docs/choosing_gamma.md). The paper's MNIST value gamma=1e-3 is in the authors'
        convention, ``gamma * sum sigma^2``: 2e-3 here (``paper_estimator("mnist-mlp")``).
    burnin : int or float, default=0.0
        Penalty-free epochs at the start: an int number of epochs in ``[0, max_epochs]``,
        or a float in ``[0, 1)`` as a fraction of ``max_epochs``. The quick baseline
        penalizes from the start, which gains more distance than a late penalty at this
        gamma (docs/choosing_gamma.md); the paper's runs use 0.7-0.9.
    update_every : int, default=1
        Amortization: the singular vectors are refreshed and the penalty gradient applied
        every ``update_every`` optimizer steps (one step = one mini-batch).
    n_power_iterations : int, default=1
        Warm-started power-iteration steps per refresh of the singular vectors; more steps
        give a more exact penalty gradient at a higher cost per refresh.
    lr : float, default=1e-3
        Learning rate of the optimizer.
    momentum : float or None, default=None
        Momentum in [0, 1) of an optimizer that takes one: SGD (0.9 when None), RMSprop.
        Given with an optimizer that takes none (Adam, AdamW: set their betas with
        ``optimizer__betas``), it is an error rather than silently unused.
    weight_decay : float, default=1e-4
        L2 weight decay of the optimizer.
    batch_size : int, default=200
        Mini-batch size for training; inference (``predict``, ``transform``, ``score``)
        reads ``max(batch_size, 1024)`` rows a batch unless ``iterator_valid__batch_size``
        is routed.
    max_epochs : int, default=100
        Epochs trained by ``fit``.
    optimizer : {"adam", "sgd", "adamw"} or torch.optim.Optimizer subclass, default="adam"
        The optimizer, by name or class; its further arguments are routed as
        ``optimizer__<name>``.
    init : {"default", "small"}, default="default"
        ``"small"``: the paper's N(0, 0.01^2) weights and biases, logits scaled by
        ``1 / sqrt(width)``; ``"default"``: PyTorch's initialization.
    device : str or torch.device, default="auto"
        ``"auto"`` uses CUDA when available; the resolved device is ``device_``.
    distributed : bool, default=False
        Data-parallel training, one process per device, over an initialized
        torch.distributed process group: every rank calls ``fit`` with the same data and
        trains on its share of each global batch of ``batch_size`` (which must be divisible
        by the number of processes), starting from rank 0's weights and seed; all ranks end
        with the same model. On GPUs, make each process's device current with
        ``torch.cuda.set_device`` first. See docs/guide.md.
    random_state : int, RandomState instance or None, default=None
        Seeds initialization, data order and the power iteration's start: the same
        integer gives the same model on the CPU; None draws a new seed at every ``fit``.
    verbose : int, default=0
        0 silent, 1 a progress bar over epochs, 2 also skorch's per-epoch table.
    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Extra skorch callbacks, run after the estimator's own (e.g. a
        :class:`~skspectral.FeatureProbe` or skorch's ``EarlyStopping``).
    checkpoint_dir : str, path-like or None, default=None
        Folder of checkpoints (None: none). Every ``checkpoint_every`` epochs ``fit``
        writes the whole training state there, atomically; a later ``fit`` with the same
        configuration resumes from the newest good checkpoint and ends where an
        uninterrupted fit ends. See docs/scaling.md.
    checkpoint_every : int, default=1
        Epochs between checkpoints (with ``checkpoint_dir``).
    **kwargs : dict
        Routed skorch parameters ``<prefix>__<name>`` with a prefix in ``module``,
        ``optimizer``, ``criterion``, ``iterator_train``, ``iterator_valid``, ``callbacks``
        (e.g. ``optimizer__nesterov=True``, ``iterator_train__drop_last=True``), passed
        unchanged to the skorch net; any other name is a TypeError.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels seen at ``fit``, in the order of ``predict_proba``'s columns.
    n_features_in_ : int
        Number of features seen at ``fit``.
    feature_names_in_ : ndarray of str
        Names of the features seen at ``fit``; only when X had string column names.
    net_ : skspectral.training.SpectralNet
        The fitted skorch net.
    module_ : skspectral.models.MLP
        The fitted torch module (``features`` is Φ, ``head`` the readout).
    history_ : skorch.History
        Per-epoch records, including ``spectral_norms`` (``{layer: sigma}`` of the
        penalized layers) and ``spectral_penalty``.
    spectral_norms_ : dict of str to float
        Exact top singular value of every Linear layer after training.
    regularized_layers_ : list of str
        Layers the penalty covered (empty when ``regularizer=None``).
    device_ : str
        Device the model lives on.
    n_iter_ : int
        Epochs trained in total.

    See Also
    --------
    skspectral.SpectralResNetClassifier : The same penalty on a ResNet's convolutions, for images.
    skspectral.paper_estimator : The paper's configurations as ready estimators.
    skspectral.RobustnessScorer : Mean distance to the decision boundary, as a scorer.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skspectral import SpectralMLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = SpectralMLPClassifier(hidden_layer_sizes=(64,), max_epochs=5, batch_size=64,
    ...                             random_state=0).fit(X / 16, y)
    >>> clf.score(X / 16, y) > 0.8
    True
    >>> clf.predict_proba(X[:3] / 16).shape
    (3, 10)
    >>> clf.transform(X[:3] / 16).shape  # the features Φ(X) the readout sees
    (3, 64)
    >>> clf.regularized_layers_, sorted(clf.spectral_norms_)
    (['features.hidden0'], ['features.hidden0', 'head'])
    >>> clf.n_iter_, sorted(clf.history_[-1, "spectral_norms"])
    (5, ['features.hidden0'])
    """

    _module_class = MLP
    _parameter_constraints = {
        **SpectralClassifierBase._parameter_constraints,
        **{k: MLP._parameter_constraints[k] for k in ("activation", "init")},
        "hidden_layer_sizes": [StrictInterval(numbers.Integral, 1, None, closed="left"),
                               *MLP._parameter_constraints["hidden_layer_sizes"]],
    }

    def __init__(self, hidden_layer_sizes=(100,), activation="gelu", regularizer="rep",
                 gamma=2e-2, burnin=0.0, update_every=1, n_power_iterations=1, lr=1e-3,
                 momentum=None, weight_decay=1e-4, batch_size=200, max_epochs=100,
                 optimizer="adam", init="default", device="auto", distributed=False,
                 random_state=None, verbose=0, callbacks=None, checkpoint_dir=None,
                 checkpoint_every=1, **kwargs):
        self._store_params(locals())

    def _check_module_params(self):
        sizes = self.hidden_layer_sizes
        self._hidden = (int(sizes),) if isinstance(sizes, numbers.Integral) else tuple(
            int(s) for s in sizes)

    def _module_params(self, n_features):
        return {"n_features": n_features, "n_classes": len(self.classes_),
                "hidden_layer_sizes": self._hidden, "activation": self.activation,
                "init": self.init}

    def _validate_X(self, X, y="no_validation", reset=True):
        return validate_tabular(self, X, y, reset=reset)
