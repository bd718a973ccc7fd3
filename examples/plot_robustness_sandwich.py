"""
How tight is the number? The certified and attack bounds on one draw
====================================================================

An attack's distance to the decision boundary is an upper bound: the true minimal distance
may be smaller. :func:`~skspectral.robustness_report` measures each sample three ways on the
same draw: the certified lower bound (:func:`~skspectral.certified_lower_bound`), the
white-box FMN attack (gradients, ``attack="fmn"``) and the black-box Tangent Attack (labels
only, the paper's attack). The true distance of every sample lies between the lower bound and
the smaller of the two attack distances; the report says how far apart they are, and how much
the black-box number overstates the white-box one.
"""

# %%
# A digits MLP with rep-spectral, and 200 test samples measured three ways.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skspectral import SpectralMLPClassifier, robustness_report
from skspectral.plotting import plot_robustness_report

X, y = load_digits(return_X_y=True)
X = (X / 16.0).astype(np.float32)  # pixels in [0, 1], the attacks' box
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                    random_state=0)
clf = SpectralMLPClassifier(hidden_layer_sizes=(256,), gamma=0.02, max_epochs=30,
                            batch_size=64, random_state=0).fit(X_train, y_train)
print(f"test accuracy {clf.score(X_test, y_test):.3f}")

report = robustness_report(clf, X_test, y_test, n_samples=200, random_state=0)
s = report.summary()
print(f"{s['n_samples']} samples, {s['n_misclassified']} misclassified (distance 0)")
print(f"mean certified lower bound  {s['mean_lower']:.3f}")
print(f"mean white-box (FMN)        {s['mean_whitebox']:.3f}   "
      f"({s['whitebox_cost']:.0f} forward + backward passes per sample)")
print(f"mean black-box (Tangent)    {s['mean_blackbox']:.3f}   "
      f"({s['blackbox_queries']:.0f} label queries per sample)")
print(f"Tangent / FMN per sample: mean {s['ratio_mean']:.3f}, median {s['ratio_median']:.3f}, "
      f"90th percentile {s['ratio_q90']:.3f}; Tangent > 1.1 x FMN on "
      f"{100 * s['blackbox_loose']:.0f}% of the samples")

# %%
# What the numbers say, in words (computed from them, so it holds whichever way they fall).
# A ratio below 1 on a sample means the Tangent Attack found the closer point there.
gap = s["mean_whitebox"] / s["mean_lower"]
print(f"The true mean distance lies in [{s['mean_lower']:.3f}, {s['mean_upper']:.3f}]: the "
      f"white-box number is {gap:.2f}x the certified one.")
looser = s["mean_blackbox"] / s["mean_whitebox"] - 1
print(f"The black-box mean is {100 * looser:+.1f}% off the white-box mean; a difference "
      "between two models smaller than this can be the attack's, not the models'.")

# %%
# The robust-accuracy curve R(eps) = P(d > eps): the true curve lies in the shaded band,
# between the share of samples certified beyond eps and the share no attack reached within
# eps.
ax = plot_robustness_report(report)
ax.set_title("digits MLP, rep-spectral: 200 test samples")
plt.show()
