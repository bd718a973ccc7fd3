"""
GridSearchCV over the penalty strength γ
========================================

:class:`~sklearn.model_selection.GridSearchCV` searches ``gamma`` of a
:class:`~skspectral.SpectralMLPClassifier` on digits with two scores: accuracy and
:class:`~skspectral.RobustnessScorer` (mean Tangent Attack distance). ``refit="robust"``
selects the setting with the largest mean distance. With 20 attacked samples per fold and a
short schedule, differences of a few percent are within the folds' spread (the error bars); the
:doc:`choosing γ <../choosing_gamma>` page measures the curve with paired samples over seeds and
data sets, and states the rule that picked the default ``gamma=0.02``.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from skspectral import RobustnessScorer, SpectralMLPClassifier

X, y = load_digits(return_X_y=True)
X = (X / 16.0).astype(np.float32)

gammas = [0.0, 0.005, 0.02, 0.08, 0.3]
search = GridSearchCV(
    SpectralMLPClassifier(hidden_layer_sizes=(128,), max_epochs=20, batch_size=64,
                          random_state=0),
    {"gamma": gammas},
    scoring={"acc": "accuracy", "robust": RobustnessScorer("tangent", n_samples=20, n_starts=1)},
    refit="robust", cv=3,
).fit(X, y)
for g, acc, rob in zip(gammas, search.cv_results_["mean_test_acc"],
                       search.cv_results_["mean_test_robust"], strict=True):
    print(f"gamma {g:<6}  accuracy {acc:.3f}  mean distance {rob:.3f}")
print("selected:", search.best_params_)

# %%
res = search.cv_results_
fig, ax = plt.subplots(figsize=(6, 4))
x = np.arange(len(gammas))
ax.errorbar(x, res["mean_test_robust"], res["std_test_robust"], fmt="o-", color="C0")
ax.set_ylabel("mean distance (3-fold CV)", color="C0")
ax.set_xticks(x, [str(g) for g in gammas])
ax.set_xlabel("gamma")
ax2 = ax.twinx()
ax2.errorbar(x, res["mean_test_acc"], res["std_test_acc"], fmt="s--", color="C1")
ax2.set_ylabel("accuracy", color="C1")
plt.show()
