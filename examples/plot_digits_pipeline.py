"""
A rep-spectral featurizer in a Pipeline, scored on robustness
=============================================================

A :class:`~skspectral.SpectralMLPClassifier` pretrains a representation of scikit-learn's
digits with the rep-spectral penalty; a :class:`~sklearn.linear_model.LogisticRegression` is
then retrained on its features, as a downstream user would. Cross-validation scores the whole
:class:`~sklearn.pipeline.Pipeline` on accuracy and on :class:`~skspectral.RobustnessScorer`,
the mean L2 distance from correctly classified inputs to the decision boundary. The same
pipeline without the penalty is the reference.

Two models' mean distances on a few dozen samples differ by chance as much as by the models.
So the comparison is made on the held-out test set, on the *same* samples for both models
(one draw), with the per-sample differences' 95% confidence interval
(:func:`~skspectral.paired_difference`), and with two distances: the white-box FMN attack's
(gradients) and the black-box Tangent Attack's (labels only).
"""

# %%
# Data: pixels scaled to [0, 1], the box the attacks search.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_validate, train_test_split
from sklearn.pipeline import Pipeline

from skspectral import RobustnessScorer, SpectralMLPClassifier, robustness_report
from skspectral.plotting import plot_robustness_report

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
# Cross-validated accuracy and robustness. ``RobustnessScorer`` attacks ``n_samples``
# correctly classified inputs of each fold (here with the white-box FMN attack, fast enough
# for 100 per fold); like a string scorer it goes into ``scoring=``. The two models' fold
# scores come from different samples (each model's own correctly classified ones), so their
# difference is not measured here, only their spread over folds.
scoring = {"acc": "accuracy", "robust": RobustnessScorer(attack="fmn", n_samples=100)}
for regularizer in (None, "rep"):
    cv = cross_validate(pipeline(regularizer), X_train, y_train, cv=3, scoring=scoring)
    print(f"regularizer={regularizer!s:5}  accuracy {cv['test_acc'].mean():.3f}  "
          f"mean FMN distance {cv['test_robust'].mean():.3f} "
          f"(folds {np.round(cv['test_robust'], 3).tolist()})")

# %%
# The comparison: both pipelines fitted on the training set, 300 test samples drawn once and
# measured on both, each three ways (:func:`~skspectral.robustness_report`: certified lower
# bound, white-box FMN, black-box Tangent Attack).
reports = {}
for regularizer in (None, "rep"):
    pipe = pipeline(regularizer).fit(X_train, y_train)
    reports[regularizer] = report = robustness_report(pipe, X_test, y_test, n_samples=300,
                                                      random_state=0)
    s = report.summary()
    print(f"regularizer={regularizer!s:5}  test accuracy {pipe.score(X_test, y_test):.3f}  "
          f"mean lower bound {s['mean_lower']:.3f}  FMN {s['mean_whitebox']:.3f}  "
          f"Tangent {s['mean_blackbox']:.3f}")

print("rep-spectral minus no penalty, on the samples both classify correctly:")
for bound, name in (("whitebox", "FMN"), ("blackbox", "Tangent Attack")):
    d = reports["rep"].compare(reports[None], bound)
    if d.excludes_zero:
        verdict = "the penalty " + ("increases" if d.difference > 0 else "decreases") + \
            " the distance beyond this draw's noise"
    else:
        verdict = "no difference measurable on these samples (the interval includes 0)"
    print(f"  {name:15s} {d}: {verdict}")

# %%
# The robust-accuracy curves R(eps) = P(d > eps) of both pipelines; the true curve of each
# lies in its shaded band, between the certified and the attack bounds.
fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True, constrained_layout=True)
for ax, (regularizer, report) in zip(axes, reports.items(), strict=True):
    plot_robustness_report(report, eps=np.linspace(0, 1.5, 151), ax=ax)
    ax.set_title(f"regularizer={regularizer}")
plt.show()
