"""
Adversarial distance against the attack's query budget
======================================================

A decision-based attack only ever finds an *upper bound* on the distance to the decision
boundary, which tightens as it spends queries. This example fits one
:class:`~skspectral.SpectralMLPClassifier` on digits and runs the Tangent Attack
(:class:`~skspectral.TangentAttack`) on the same 40 test inputs under growing ``max_queries``:
the mean distance falls quickly, then levels off. The budget at which it levels off is the
smallest one that compares models fairly. Two references bracket it: the white-box FMN
attack's mean distance (``attack="fmn"``, gradients, 1000 steps), the tighter upper bound, and
the certified lower bound (:func:`~skspectral.certified_lower_bound`) from below.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skspectral import SpectralMLPClassifier, adversarial_distances, certified_lower_bound

X, y = load_digits(return_X_y=True)
X = (X / 16.0).astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                    random_state=0)
clf = SpectralMLPClassifier(hidden_layer_sizes=(256,), max_epochs=30, batch_size=64,
                            random_state=0).fit(X_train, y_train)
print(f"test accuracy {clf.score(X_test, y_test):.3f}")

# %%
# The same samples and seed at every budget: only ``max_queries`` changes.
budgets = [100, 200, 400, 800, 1600, 3200]
means, queries = [], []
for budget in budgets:
    result = adversarial_distances(clf, X_test[:40], y_test[:40], clip_min=0.0, clip_max=1.0,
                                   attack="tangent", max_queries=budget, n_starts=1,
                                   random_state=0)
    means.append(result.mean())
    queries.append(result.queries[result.success].mean())
    print(f"max_queries {budget:5d}: mean distance {means[-1]:.3f} "
          f"({queries[-1]:.0f} queries used on average)")
whitebox = adversarial_distances(clf, X_test[:40], y_test[:40], attack="fmn")
print(f"white-box FMN: mean distance {whitebox.mean():.3f} "
      f"({np.mean(whitebox.queries + whitebox.gradients):.0f} forward + backward passes)")
lower = certified_lower_bound(clf, X_test[:40])[whitebox.distances > 0]
print(f"certified lower bound: mean {np.mean(lower):.4f}")

# %%
fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(queries, means, "o-", label="Tangent Attack (upper bound)")
ax.axhline(whitebox.mean(), color="C1", ls="-.", label="white-box FMN (upper bound)")
ax.axhline(np.mean(lower), color="grey", ls="--", label="certified lower bound")
ax.set_xscale("log")
ax.set_xlabel("queries per sample")
ax.set_ylabel("mean L2 distance")
ax.legend()
plt.show()
