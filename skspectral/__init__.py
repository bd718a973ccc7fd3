"""skspectral: adversarially robust representation learning with spectral regularization.

Estimators train PyTorch networks through skorch with a penalty on the top singular values
of the layers up to the feature map (rep-spectral; Yang, Zavatone-Veth & Pehlevan, 2024);
decision-based attacks measure how far inputs sit from the decision boundary.

The top-level names are what a user needs day to day: the estimators
(:class:`SpectralMLPClassifier` for vectors, :class:`SpectralResNetClassifier` for images,
:class:`SpectralClassifier` for any network, :class:`SpectralBarlowTwins` for self-supervised
features, :func:`paper_estimator` for the paper's configurations), the attacks
(:class:`TangentAttack`, :class:`HopSkipJump`, :class:`CGBA`, their :class:`AttackResult`) and
the measurements (:func:`adversarial_distances`, the scorer :class:`RobustnessScorer` for
``GridSearchCV``, :func:`certified_lower_bound`, :func:`volume_element`). The layers beneath
are subpackages: :mod:`skspectral.spectral` (operator norms), :mod:`skspectral.regularization`
(the penalty and its schedule), :mod:`skspectral.models` (the networks), :mod:`skspectral.data`
and :mod:`skspectral.training` (batches and the skorch net), :mod:`skspectral.estimators`,
:mod:`skspectral.attacks`, :mod:`skspectral.metrics`, :mod:`skspectral.datasets`,
:mod:`skspectral.parallel`, :mod:`skspectral.plotting` and :mod:`skspectral.experiments`.
"""

from ._version import __version__
from .attacks import CGBA, AttackResult, HopSkipJump, TangentAttack
from .estimators import (
    FeatureProbe,
    SpectralBarlowTwins,
    SpectralClassifier,
    SpectralMLPClassifier,
    SpectralResNetClassifier,
    paper_estimator,
)
from .metrics import (
    RobustnessScorer,
    adversarial_distances,
    certified_lower_bound,
    volume_element,
)
from .report import paired_difference, robustness_report

__all__ = [
    "CGBA",
    "AttackResult",
    "FeatureProbe",
    "HopSkipJump",
    "RobustnessScorer",
    "SpectralBarlowTwins",
    "SpectralClassifier",
    "SpectralMLPClassifier",
    "SpectralResNetClassifier",
    "TangentAttack",
    "__version__",
    "adversarial_distances",
    "certified_lower_bound",
    "paired_difference",
    "paper_estimator",
    "robustness_report",
    "volume_element",
]
