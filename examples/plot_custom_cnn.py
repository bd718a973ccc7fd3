"""
rep-spectral on your own CNN, in a Pipeline scored on robustness
================================================================

:class:`~skspectral.SpectralClassifier` takes any PyTorch network, as skorch does
(``module=`` a class, with ``module__*`` parameters routed to it). Its representation Φ is
the part before the final Linear readout, here the convolutional ``body``; the penalty
covers every convolution of Φ, the depthwise and strided ones included, each at the input
size it sees. A :class:`~sklearn.linear_model.LogisticRegression` is then retrained on the
features Φ(x), and :class:`~skspectral.RobustnessScorer` measures the mean L2 distance from
correctly classified test digits to the Pipeline's decision boundary (the Tangent Attack,
through the fused torch path: features, then the logistic regression, on the device).
The same CNN without the penalty is the reference, compared on the same test digits with
the white-box FMN distance and the paired 95% interval of the difference.
"""

# %%
# A user-defined CNN for 8 x 8 digits: two 3x3 convolutions, a strided depthwise one, a
# pointwise one, global average pooling, and a Linear readout that SpectralClassifier
# replaces by one for the task's classes.
import numpy as np
import torch.nn as nn
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from skspectral import (
    RobustnessScorer,
    SpectralClassifier,
    adversarial_distances,
    paired_difference,
)


class DigitCNN(nn.Module):
    def __init__(self, width=32):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1), nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1, stride=2, groups=width), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(2), nn.Flatten())
        self.fc = nn.Linear(8 * width, 10)

    def forward(self, x):
        return self.fc(self.body(x))


X, y = load_digits(return_X_y=True)
X = (X / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)  # pixels in [0, 1], the attack's box
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                    random_state=0)

# %%
# The penalized layers, and the input size each convolution is regularized at.
clf = SpectralClassifier(DigitCNN, module__width=32, gamma=0.02, burnin=0, lr=0.05,
                         max_epochs=30, batch_size=64, random_state=0)
clf.fit(X_train, y_train)
for name, shape in clf.input_shapes_.items():
    print(f"{name:<22s} input {shape}")
print("not penalized:", clf.unpenalized_layers_ or "nothing (no normalization layer)")

# %%
# Pipelines with and without the penalty: accuracy and the mean distance to the boundary of
# 40 correctly classified test digits (the black-box Tangent Attack, as a scorer; one start).
# Then the comparison itself: FMN distances (white-box) of the same 200 test digits for both
# pipelines, and the paired 95% interval of their difference.
scorer = RobustnessScorer("tangent", n_samples=40, n_starts=1, random_state=0)
fmn = {}
for regularizer in (None, "rep"):
    pipe = Pipeline([
        ("feat", SpectralClassifier(DigitCNN, module__width=32, regularizer=regularizer,
                                    gamma=0.02, burnin=0, lr=0.05, max_epochs=30,
                                    batch_size=64, random_state=0)),
        ("clf", LogisticRegression(max_iter=1000)),
    ]).fit(X_train, y_train)
    fmn[regularizer] = adversarial_distances(pipe, X_test, y_test, attack="fmn",
                                             n_samples=200, random_state=0)
    print(f"regularizer={regularizer!s:5}  test accuracy {pipe.score(X_test, y_test):.3f}  "
          f"mean Tangent distance {scorer(pipe, X_test, y_test):.3f}  "
          f"mean FMN distance {fmn[regularizer].mean():.3f}")
d = paired_difference(fmn["rep"], fmn[None])
print(f"rep minus none, FMN: {d}")
print("The difference is " + ("beyond" if d.excludes_zero else "within") + " this draw's "
      "noise" + (f": the penalty {'increases' if d.difference > 0 else 'decreases'} the "
                 "distance." if d.excludes_zero else " (the interval includes 0)."))
