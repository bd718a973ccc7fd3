"""``skspectral demo``: three MLPs on scikit-learn's embedded digits, one table."""

import sys
import time

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from ..estimators import paper_estimator
from ..metrics import RobustnessScorer

__all__ = ["run_demo"]

_DEMO_MODELS = (("none", None), ("ll-spectral (all)", "all"), ("rep-spectral", "rep"))


def run_demo(epochs=200, gamma=2e-2, hidden=1024, seed=0, attack_samples=100, quiet=False,
             file=None):
    """Train unregularized, ll-spectral and rep-spectral MLPs on the digits data; print a table.

    Uses scikit-learn's embedded 8x8 digits (pixels scaled to [0, 1]), a stratified 75/25
    train/test split, one hidden GELU layer, SGD (lr 0.1, momentum 0.9, batch 64) and a
    burn-in of half the epochs. The adversarial distance is the mean Tangent Attack distance
    (L2, input box [0, 1], default attack settings) over ``attack_samples`` correctly
    classified test samples, the paper's protocol.

    Parameters
    ----------
    epochs : int, default=200
        Training epochs of each model (the first half without the penalty).
    gamma : float, default=2e-2
        Strength of the spectral penalty of the two regularized models: the quick
        baseline's default (docs/choosing_gamma.md); the paper's MNIST value is 2e-3.
    hidden : int, default=1024
        Hidden-layer width.
    seed : int, default=0
        ``random_state`` of the split, of every model and of the attack.
    attack_samples : int, default=100
        Test samples attacked per model (0 skips the attack).
    quiet : bool, default=False
        No progress bars.
    file : file-like, default=None
        Where the table goes (stdout when None).

    Returns
    -------
    rows : list of dict
        One row per model: ``model``, ``accuracy``, ``sigma`` (``{layer: value}``),
        ``seconds`` (training), ``distance`` (mean adversarial distance, or None) and
        ``attack_seconds``.

    Examples
    --------
    Two epochs of a narrow MLP, without the attack (the table's numbers depend on the
    machine, so the example prints its shape):

    >>> import io
    >>> from skspectral.experiments import run_demo
    >>> table = io.StringIO()
    >>> rows = run_demo(epochs=2, hidden=16, attack_samples=0, quiet=True, file=table)
    >>> [row["model"] for row in rows]
    ['none', 'll-spectral (all)', 'rep-spectral']
    >>> sorted(rows[2]["sigma"]), rows[2]["distance"]
    (['features.hidden0', 'head'], None)
    >>> print(table.getvalue().splitlines()[0])
    digits: 1347 train / 450 test, MLP 64-16-10 GELU, 2 epochs (burn-in 1), gamma=0.02
    """
    file = sys.stdout if file is None else file
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16.0, y, test_size=0.25, random_state=seed, stratify=y)
    table = _Table(file, attack_samples)
    print(f"digits: {len(X_train)} train / {len(X_test)} test, MLP 64-{hidden}-10 GELU, "
          f"{epochs} epochs (burn-in {epochs // 2}), gamma={gamma}", file=file)
    table.header(attack_samples)
    rows = []
    for i, (label, regularizer) in enumerate(_DEMO_MODELS, 1):
        progress = {} if quiet else {"callbacks__progress__desc": f"{i}/{len(_DEMO_MODELS)} "
                                                                   f"{label}"}
        clf = paper_estimator(  # the paper's MNIST MLP recipe, scaled to digits
            "mnist-mlp", hidden_layer_sizes=(hidden,), regularizer=regularizer, gamma=gamma,
            max_epochs=epochs, burnin=0.5, batch_size=64, random_state=seed,
            verbose=0 if quiet else 1, **progress)
        rows.append(_measure(label, clf, (X_train, y_train), (X_test, y_test), attack_samples,
                             seed, quiet))
        table.row(rows[-1])  # each row as soon as its model is done
    return rows


def _measure(label, clf, train, test, attack_samples, seed, quiet):
    """Fit ``clf`` and measure it: the row of the demo's table."""
    start = time.perf_counter()
    clf.fit(*train)
    row = {"model": label, "accuracy": clf.score(*test), "sigma": clf.spectral_norms_,
           "seconds": time.perf_counter() - start, "distance": None, "attack_seconds": 0.0}
    if attack_samples:
        start = time.perf_counter()
        row["distance"] = RobustnessScorer("tangent", n_samples=attack_samples,
                                           random_state=seed, verbose=0 if quiet else 1)(
            clf, *test)
        row["attack_seconds"] = time.perf_counter() - start
    return row


class _Table:
    """The demo's fixed-width table, printed a row at a time."""

    layers = ("features.hidden0", "head")

    def __init__(self, file, attack_samples):
        self.file, self.attack = file, bool(attack_samples)
        self.columns = (["model", "test acc"] + [f"sigma[{name}]" for name in self.layers]
                        + ["train s"] + (["mean adv dist", "attack s"] if self.attack else []))
        self.widths = [max(len(h), 17 if i == 0 else 8) for i, h in enumerate(self.columns)]

    def line(self, cells):
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(cells, self.widths, strict=True))),
              file=self.file, flush=True)

    def header(self, attack_samples):
        print("sigma[layer]: the layer's top singular value (exact, after training); train s: "
              "training time in seconds", file=self.file)
        if self.attack:
            print(f"mean adv dist: mean L2 Tangent Attack distance over {attack_samples} "
                  "correctly classified test samples, input box [0, 1]; attack s: its time in "
                  "seconds", file=self.file)
        self.line(self.columns)
        self.line(["-" * w for w in self.widths])

    def row(self, row):
        self.line([row["model"], f"{row['accuracy']:.4f}"]
                  + [f"{row['sigma'][n]:.3f}" for n in self.layers] + [f"{row['seconds']:.1f}"]
                  + ([f"{row['distance']:.4f}", f"{row['attack_seconds']:.1f}"]
                     if self.attack else []))
