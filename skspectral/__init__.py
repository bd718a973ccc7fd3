"""skspectral: adversarially robust representation learning with spectral regularization.

Estimators train PyTorch networks through skorch with a penalty on the top singular values
of the layers up to the feature map (rep-spectral; Yang, Zavatone-Veth & Pehlevan, 2024);
decision-based attacks measure how far inputs sit from the decision boundary.
"""

from .attacks import AttackResult, HopSkipJump, TangentAttack
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

__version__ = "0.2.0"

__all__ = [
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
    "paper_estimator",
    "volume_element",
]
