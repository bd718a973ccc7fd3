"""
Barlow Twins on digits, without labels
======================================

:class:`~skspectral.SpectralBarlowTwins` learns a representation from two augmented views of
each image, no labels involved, with rep-spectral on the backbone. This example pretrains a
ResNet18 (small stem) on 8x8 digit images for a few epochs, with and without the penalty, and
then fits a linear readout on the features with the labels (a linear probe). The budget is a
demonstration (the paper trains 1000 epochs on CIFAR-10, a GPU job): it shows the path and
the penalty's effect on the operator norms of the convolutions, recorded every epoch.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from skspectral import SpectralBarlowTwins
from skspectral.plotting import plot_spectral_norms

X, y = load_digits(return_X_y=True)
images = (X / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
train, test = slice(0, 192), slice(1000, 1300)

models = {}
for name, gamma in (("no penalty", 0.0), ("rep-spectral", 0.02)):
    models[name] = SpectralBarlowTwins(
        augmentation="crop-flip", projector=(64,), gamma=gamma, burnin=1, update_every=2,
        lr=0.05, batch_size=64, max_epochs=3, random_state=0,
    ).fit(images[train])
    # The pretrained featurizer stays as it is; only the readout sees labels.
    probe = Pipeline([("feat", FrozenEstimator(models[name])),
                      ("clf", LogisticRegression(max_iter=2000))]).fit(images[train], y[train])
    norms = models[name].spectral_norms_
    print(f"{name:13s} Barlow Twins loss {models[name].history_[-1, 'train_loss']:.1f}  "
          f"linear probe accuracy {probe.score(images[test], y[test]):.3f}  "
          f"largest conv norm {max(norms.values()):.1f}")

# %%
# Operator norms of the backbone's layers over the epochs, with the penalty on from epoch 2.
ax = plot_spectral_norms(models["rep-spectral"])
ax.set_title("rep-spectral: per-layer operator norms")
plt.show()
