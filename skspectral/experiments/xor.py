"""XOR, the paper's Figs. 2 and 3: the MLP with 8 GELU units on clean and noisy XOR."""

import pickle
import time

import numpy as np

from ..datasets import make_xor
from ._base import Experiment, unit_estimator
from ._evaluation import measure
from ._figures import save_figure, set_up_figure

__all__ = ["XORExperiment"]

#: condition: (preset, weight decay)
_CONDITIONS = {"clean-wd0": ("xor", 0.0), "clean-wd1e-4": ("xor", 1e-4),
               "noisy-wd1e-4": ("noisy-xor", 1e-4)}
_BOX = 2.0  # the attack's input box [-2, 2]^2, the paper's
_TITLES = {"none": "none", "ll-head": "ll-spectral, readout only", "ll-all":
           "ll-spectral, all layers", "rep": "rep-spectral"}


class XORExperiment(Experiment):
    """Train the paper's XOR MLP (``paper_estimator("xor" | "noisy-xor")``) per unit.

    Conditions: clean 4-point XOR without and with weight decay 1e-4 (Fig. 2), and the
    80-point noisy XOR (noise 0.2, weight decay 1e-4). Test points are a fresh noisy-XOR
    draw per seed (``test_per_corner`` per corner, ``test_noise``), labelled by their
    corner; the Tangent Attack runs in the box [-2, 2]^2. Figures: per-seed mean distance
    per regularizer and condition (Fig. 2); decision regions and the volume element of
    seed 0's clean-XOR models (Fig. 3).
    """

    name = "xor"
    description = ("Figs. 2-3: 2-8-2 GELU MLP on clean XOR (weight decay 0 and 1e-4) and "
                   "noisy XOR, 15,000 full-batch epochs")
    conditions = tuple(_CONDITIONS)
    regularizers = ("none", "ll-head", "ll-all", "rep")
    defaults = dict(epochs=15000, test_per_corner=50, test_noise=0.2, attack_samples=200,
                    max_queries=None)

    def run(self, unit, settings, store):
        preset, weight_decay = _CONDITIONS[unit.condition]
        if preset == "xor":
            X, y = make_xor()
        else:
            X, y = make_xor(20, noise=0.2, random_state=unit.seed)
        clf = unit_estimator(preset, unit, settings, weight_decay=weight_decay)
        start = time.perf_counter()
        clf.fit(X, y)
        train_seconds = time.perf_counter() - start
        X_test, y_test = make_xor(settings["test_per_corner"], noise=settings["test_noise"],
                                  random_state=10_000 + unit.seed)
        record, samples = measure(
            clf, X_test, y_test, unit, settings, "end-to-end", clip=(-_BOX, _BOX),
            train_accuracy=float(clf.score(X, y)), train_seconds=round(train_seconds, 3),
            spectral_norms=clf.spectral_norms_)
        if unit.seed == 0:  # the model Fig. 3 draws
            (store / f"{unit.id}.pkl").write_bytes(pickle.dumps(clf))
        return [record], samples

    def figures(self, records, samples, settings, out, store):
        paths = []
        conditions = [c for c in self.conditions if any(r["condition"] == c for r in records)]
        if conditions:
            fig, axes = set_up_figure(1, len(conditions), size=(3.6, 3.0))
            for ax, condition in zip(axes[0], conditions, strict=True):
                from ..plotting import plot_seed_boxes

                plot_seed_boxes({reg: [r["mean_distance"] for r in records
                                       if r["condition"] == condition
                                       and r["regularizer"] == reg]
                                 for reg in self.regularizers},
                                "mean TA distance" if ax is axes[0][0] else "", ax=ax)
                ax.set_title(condition, fontsize="medium")
            fig.suptitle("XOR: mean adversarial distance per seed (Fig. 2)")
            fig.tight_layout()
            paths.append(save_figure(fig, out / "xor_distance.png"))
        models = {reg: store / f"clean-wd0__{reg}__seed0.pkl" for reg in self.regularizers}
        if all(path.exists() for path in models.values()):
            from ..metrics import volume_element
            from ..plotting import plot_decision_regions, plot_volume_element

            X, y = make_xor()
            bounds = ((-_BOX, _BOX), (-_BOX, _BOX))
            models = {reg: pickle.loads(path.read_bytes()) for reg, path in models.items()}
            grid = np.stack(np.meshgrid(*2 * [np.linspace(-_BOX, _BOX, 80)]), -1).reshape(-1, 2)
            volumes = np.concatenate([volume_element(clf, grid.astype(np.float32))
                                      for clf in models.values()])
            volumes = volumes[volumes > 0]  # one colour scale for the four models
            fig, axes = set_up_figure(2, len(models), size=(3.4, 3.0))
            for j, (reg, clf) in enumerate(models.items()):
                plot_decision_regions(clf, X, y, bounds=bounds, resolution=150, ax=axes[0, j])
                axes[0, j].set_title(_TITLES[reg], fontsize="medium")
                axes[0, j].get_legend().remove()
                plot_volume_element(clf, bounds, resolution=80, ax=axes[1, j],
                                    vmin=volumes.min(), vmax=volumes.max())
            fig.suptitle("clean XOR, seed 0: decision regions (top) and volume element "
                         "(bottom, one log scale) (Fig. 3)")
            fig.tight_layout()
            paths.append(save_figure(fig, out / "xor_regions.png"))
        return paths

