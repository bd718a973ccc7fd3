"""
GridSearchCV over the penalty strength γ
========================================

:class:`~sklearn.model_selection.GridSearchCV` searches ``gamma`` of a
:class:`~skspectral.SpectralMLPClassifier` on digits with two scores: accuracy and
:class:`~skspectral.RobustnessScorer` with the white-box FMN attack (``attack="fmn"``: the
mean minimal L2 distance of 100 correctly classified samples per fold, in a fraction of the
Tangent Attack's time). ``refit="robust"`` selects the setting with the largest mean distance.
The folds' spread (the error bars) says how much of a difference between settings is noise;
the selected setting is then compared with ``gamma=0`` on a held-out test set, on the same
samples for both, with a paired 95% confidence interval
(:func:`~skspectral.paired_difference`). The :doc:`choosing γ <../choosing_gamma>` page
measures the curve over seeds and data sets, and states the rule that picked the default
``gamma=0.02``.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split

from skspectral import (
    RobustnessScorer,
    SpectralMLPClassifier,
    adversarial_distances,
    paired_difference,
)

X, y = load_digits(return_X_y=True)
X = (X / 16.0).astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                    random_state=0)

gammas = [0.0, 0.005, 0.02, 0.08, 0.3]
search = GridSearchCV(
    SpectralMLPClassifier(hidden_layer_sizes=(128,), max_epochs=20, batch_size=64,
                          random_state=0),
    {"gamma": gammas},
    scoring={"acc": "accuracy", "robust": RobustnessScorer(attack="fmn", n_samples=100)},
    refit="robust", cv=3,
).fit(X_train, y_train)
res = search.cv_results_
for g, acc, rob, sd in zip(gammas, res["mean_test_acc"], res["mean_test_robust"],
                           res["std_test_robust"], strict=True):
    print(f"gamma {g:<6}  accuracy {acc:.3f}  mean FMN distance {rob:.3f} (folds' sd {sd:.3f})")
print("selected:", search.best_params_)

# %%
# The selected setting against no penalty, on 300 held-out samples drawn once: the same
# samples for both models (pairs where either misclassifies are left out).
selected = search.best_estimator_
baseline = clone(search.estimator).set_params(gamma=0.0).fit(X_train, y_train)
fmn = {name: adversarial_distances(model, X_test, y_test, attack="fmn", n_samples=300,
                                   random_state=0)
       for name, model in (("selected", selected), ("gamma=0", baseline))}
if search.best_params_["gamma"] == 0.0:
    print("The search selected gamma=0: no penalty did best on the folds.")
else:
    d = paired_difference(fmn["selected"], fmn["gamma=0"])
    print(f"selected minus gamma=0, FMN distance: {d}")
    if d.excludes_zero:
        print("The held-out difference is beyond this draw's noise: the selected penalty "
              + ("increases" if d.difference > 0 else "decreases") + " the distance.")
    else:
        print("The held-out difference is within this draw's noise (the interval includes "
              "0): this search does not show that the penalty changes the distance.")

# %%
fig, ax = plt.subplots(figsize=(6, 4))
x = np.arange(len(gammas))
ax.errorbar(x, res["mean_test_robust"], res["std_test_robust"], fmt="o-", color="C0")
ax.set_ylabel("mean FMN distance (3-fold CV)", color="C0")
ax.set_xticks(x, [str(g) for g in gammas])
ax.set_xlabel("gamma")
ax2 = ax.twinx()
ax2.errorbar(x, res["mean_test_acc"], res["std_test_acc"], fmt="s--", color="C1")
ax2.set_ylabel("accuracy", color="C1")
plt.show()
