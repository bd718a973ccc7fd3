"""
Transfer on digits: does robustness survive a new readout?
==========================================================

The setting rep-spectral is designed for: a representation is pretrained on one task and a new
readout is trained on another. Here an MLP featurizer is pretrained on the digits 0-4, with and
without the penalty, then frozen (:class:`~sklearn.frozen.FrozenEstimator`) and given a new
:class:`~sklearn.linear_model.LogisticRegression` readout for the digits 5-9. The penalty acted
on the layers up to the feature map only, so whatever robustness it bought is carried by the
representation and measured on the new task. (The image-scale version, ResNet18 fine-tuned with
:class:`~skspectral.SpectralResNetClassifier`, is ``examples/transfer.py``.)
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from skspectral import SpectralMLPClassifier, adversarial_distances

X, y = load_digits(return_X_y=True)
X = (X / 16.0).astype(np.float32)
source, target = y < 5, y >= 5
X_t_train, X_t_test, y_t_train, y_t_test = train_test_split(
    X[target], y[target], test_size=0.4, stratify=y[target], random_state=0)

results = {}
for name, regularizer in (("no penalty", None), ("rep-spectral", "rep")):
    featurizer = SpectralMLPClassifier(hidden_layer_sizes=(256, 256), regularizer=regularizer,
                                       gamma=0.05, max_epochs=40, batch_size=64,
                                       random_state=0).fit(X[source], y[source])
    pipe = Pipeline([("feat", FrozenEstimator(featurizer)),
                     ("clf", LogisticRegression(max_iter=2000))]).fit(X_t_train, y_t_train)
    results[name] = adversarial_distances(pipe, X_t_test, y_t_test, attack="tangent", n_samples=60,
                                          clip_min=0.0, clip_max=1.0, n_starts=1,
                                          random_state=0)
    print(f"{name:13s} target accuracy {pipe.score(X_t_test, y_t_test):.3f}  mean distance "
          f"{results[name].mean():.3f}  median {results[name].median():.3f}")

# %%
fig, ax = plt.subplots(figsize=(6, 4))
ax.boxplot([r.distances[r.success & (r.distances > 0)] for r in results.values()])
ax.set_xticks([1, 2], list(results))
ax.set_ylabel("Tangent Attack distance on digits 5-9")
plt.show()
