"""
A rep-spectral featurizer in a Pipeline, scored on robustness
=============================================================

A :class:`~skspectral.SpectralMLPClassifier` pretrains a representation of scikit-learn's
digits with the rep-spectral penalty; a :class:`~sklearn.linear_model.LogisticRegression` is
then retrained on its features, as a downstream user would. Cross-validation scores the whole
:class:`~sklearn.pipeline.Pipeline` on accuracy and on :class:`~skspectral.RobustnessScorer`,
the mean L2 distance from correctly classified inputs to the decision boundary, found by the
black-box Tangent Attack through ``predict`` alone. The same pipeline without the penalty is the
reference.
"""

# %%
# Data: pixels scaled to [0, 1], the box the attack searches.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_validate, train_test_split
from sklearn.pipeline import Pipeline

from skspectral import RobustnessScorer, SpectralMLPClassifier, adversarial_distances
from skspectral.plotting import plot_distance_density

X, y = load_digits(return_X_y=True)
X = (X / 16.0).astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                    random_state=0)


def pipeline(regularizer):
    featurizer = SpectralMLPClassifier(hidden_layer_sizes=(128,), regularizer=regularizer,
                                       gamma=0.02, max_epochs=20, batch_size=64,
                                       random_state=0)
    return Pipeline([("feat", featurizer), ("clf", LogisticRegression(max_iter=1000))])


# %%
# Cross-validated accuracy and robustness. ``RobustnessScorer`` attacks ``n_samples`` test
# inputs of each fold; like a string scorer it goes into ``scoring=``.
scoring = {"acc": "accuracy", "robust": RobustnessScorer("tangent", n_samples=15, n_starts=1)}
for regularizer in (None, "rep"):
    cv = cross_validate(pipeline(regularizer), X_train, y_train, cv=3, scoring=scoring)
    print(f"regularizer={regularizer!s:5}  accuracy {cv['test_acc'].mean():.3f}  "
          f"mean distance {cv['test_robust'].mean():.3f}")

# %%
# Per-sample distances on the held-out test set, one curve per pipeline: the whole
# distribution, not only its mean.
results = {}
for regularizer in (None, "rep"):
    pipe = pipeline(regularizer).fit(X_train, y_train)
    results[f"regularizer={regularizer}"] = adversarial_distances(
        pipe, X_test, y_test, attack="tangent", n_samples=50, clip_min=0.0, clip_max=1.0,
        n_starts=1, random_state=0)
    print(f"regularizer={regularizer!s:5}  test accuracy {pipe.score(X_test, y_test):.3f}  "
          f"median distance {results[f'regularizer={regularizer}'].median():.3f}")

ax = plot_distance_density(results)
ax.set_title("Tangent Attack distances, digits test set")
plt.show()
