"""The paper's training configurations, one call away.

The estimators' defaults are quick baselines (``SpectralMLPClassifier()`` is close to
scikit-learn's ``MLPClassifier()``; see ``benchmarks/bench_baselines.py``); the paper's
configurations (Yang, Zavatone-Veth & Pehlevan 2024, Appendix C; docs/method.md of the
project) are presets:

>>> from skspectral import paper_estimator
>>> clf = paper_estimator("mnist-mlp", random_state=0)
>>> clf.hidden_layer_sizes, clf.batch_size, clf.max_epochs
((2000,), 1024, 200)

``gamma`` is in skspectral's convention, ``(gamma / 2) * sum sigma^2``: the authors' code adds
``gamma * sum sigma^2``, so its ``1e-3`` is ``2e-3`` here. ``burnin`` is the fraction of
``max_epochs`` trained without the penalty.
"""

from .barlow import SpectralBarlowTwins
from .mlp import SpectralMLPClassifier
from .resnet import SpectralResNetClassifier

__all__ = ["PAPER_PRESETS", "paper_estimator", "paper_params"]

_PAPER_MLP = dict(activation="gelu", init="small", regularizer="rep", optimizer="sgd",
                  momentum=0.9, update_every=1)

#: ``{name: (estimator class, parameters)}`` of the paper's experiments.
PAPER_PRESETS = {
    # 4 points, 8 GELU units, full batch; the paper's figure runs weight_decay 0 and 1e-4.
    "xor": (SpectralMLPClassifier, dict(
        _PAPER_MLP, hidden_layer_sizes=(8,), lr=1.0, weight_decay=0.0, batch_size=4,
        max_epochs=15000, gamma=2e-3, burnin=0.7)),
    # 80 points (20 per corner, noise 0.2), mini-batches of 20.
    "noisy-xor": (SpectralMLPClassifier, dict(
        _PAPER_MLP, hidden_layer_sizes=(8,), lr=1.0, weight_decay=1e-4, batch_size=20,
        max_epochs=15000, gamma=2e-3, burnin=0.7)),
    # 784-2000-10 on raw pixels in [0, 1]. The small init and 1/sqrt(width) readout start on a
    # plateau at the chance loss that takes several hundred SGD steps to leave: the paper's
    # 11,800 steps do; a few epochs at batch 1024 on a subset do not (docs/guide.md).
    "mnist-mlp": (SpectralMLPClassifier, dict(
        _PAPER_MLP, hidden_layer_sizes=(2000,), lr=0.1, weight_decay=1e-4, batch_size=1024,
        max_epochs=200, gamma=2e-3, burnin=0.8)),
    # ResNet18 with the 3x3 stem, random crop + flip, constant learning rate.
    "cifar10-resnet18": (SpectralResNetClassifier, dict(
        arch="resnet18", stem="small", augment=True, regularizer="rep", optimizer="sgd",
        lr=0.01, momentum=0.9, weight_decay=1e-4, batch_size=1024, max_epochs=200,
        gamma=0.02, burnin=0.8, update_every=24)),
    # Barlow Twins pretraining of ResNet18, projector 512 -> 256.
    "cifar10-barlow": (SpectralBarlowTwins, dict(
        arch="resnet18", stem="small", projector=(256,), lambda_offdiag=0.005,
        augmentation="barlow", regularizer="rep", optimizer="sgd", lr=0.01, momentum=0.9,
        weight_decay=1e-4, batch_size=1024, max_epochs=1000, gamma=0.02, burnin=0.9,
        update_every=24)),
}


def paper_params(name):
    """The parameters of the paper's configuration ``name`` (a new dict).

    Parameters
    ----------
    name : str
        A key of :data:`PAPER_PRESETS`: ``"xor"``, ``"noisy-xor"``, ``"mnist-mlp"``,
        ``"cifar10-resnet18"``, ``"cifar10-barlow"``.

    Returns
    -------
    dict
        ``{parameter: value}`` of the estimator; changing it leaves the preset unchanged.

    Raises
    ------
    ValueError
        If ``name`` is not a preset.

    See Also
    --------
    skspectral.paper_estimator : The estimator itself, so configured.

    Examples
    --------
    >>> from skspectral.estimators import paper_params
    >>> params = paper_params("xor")
    >>> params["hidden_layer_sizes"], params["gamma"], params["burnin"], params["max_epochs"]
    ((8,), 0.002, 0.7, 15000)
    """
    return dict(_lookup(name)[1])


def paper_estimator(name, **overrides):
    """An unfitted estimator configured as the paper's experiment ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`PAPER_PRESETS`: ``"xor"``, ``"noisy-xor"``, ``"mnist-mlp"``,
        ``"cifar10-resnet18"``, ``"cifar10-barlow"``.
    **overrides : dict
        Parameters to change (``random_state``, ``device``, ``max_epochs`` ...), given to
        the estimator's constructor in place of the preset's values.

    Returns
    -------
    estimator : SpectralMLPClassifier, SpectralResNetClassifier or SpectralBarlowTwins
        The unfitted estimator of the preset's class.

    Raises
    ------
    ValueError
        If ``name`` is not a preset.

    See Also
    --------
    skspectral.estimators.paper_params : The preset's parameters as a dict.

    Examples
    --------
    >>> from skspectral import paper_estimator
    >>> clf = paper_estimator("mnist-mlp", random_state=0, max_epochs=10)
    >>> type(clf).__name__, clf.hidden_layer_sizes, clf.lr, clf.max_epochs
    ('SpectralMLPClassifier', (2000,), 0.1, 10)
    >>> type(paper_estimator("cifar10-barlow")).__name__
    'SpectralBarlowTwins'
    """
    cls, params = _lookup(name)
    return cls(**{**params, **overrides})


def _lookup(name):
    if not isinstance(name, str) or name not in PAPER_PRESETS:
        raise ValueError(f"Unknown paper preset {name!r}; the presets are "
                         f"{sorted(PAPER_PRESETS)}.")
    return PAPER_PRESETS[name]
