"""skspectral: adversarially robust representation learning with spectral regularization.

Estimators train PyTorch networks through skorch with a penalty on the top singular values
of the layers up to the feature map (rep-spectral; Yang, Zavatone-Veth & Pehlevan, 2024).
"""

from .estimators import SpectralMLPClassifier

__version__ = "0.1.0"

__all__ = ["SpectralMLPClassifier", "__version__"]
