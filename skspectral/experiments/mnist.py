"""MNIST, the paper's Figs. 4 and 5: the 784-2000-10 GELU MLP, end to end and with a new
LogisticRegression readout on its hidden features."""

import time

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from ..datasets import load_mnist
from ._base import Experiment, unit_estimator
from ._evaluation import measure
from ._figures import model_figures

__all__ = ["MNISTExperiment"]


class MNISTExperiment(Experiment):
    """Train ``paper_estimator("mnist-mlp")`` per unit on the first ``train_samples`` MNIST
    training images (raw pixels in [0, 1]); measure it end to end and with a
    LogisticRegression (``readout_max_iter`` iterations) refitted on its hidden features of
    the same images. Both are attacked on the first ``attack_samples`` correctly classified
    of the first ``test_samples`` test images (box [0, 1]).

    MNIST is read from ``settings["data_home"]`` (see :func:`~skspectral.datasets.load_mnist`).
    """

    name = "mnist"
    description = ("Figs. 4-5: 784-2000-10 GELU MLP on MNIST, 200 epochs, end to end and "
                   "with a LogisticRegression readout")
    conditions = ("mlp",)
    regularizers = ("none", "ll-head", "ll-all", "rep")
    defaults = dict(epochs=200, train_samples=60000, test_samples=10000, attack_samples=1000,
                    max_queries=None, readout_max_iter=1000)

    def run(self, unit, settings, store):
        data = load_mnist(settings["data_home"])
        X, y = data.X_train[:settings["train_samples"]], data.y_train[:settings["train_samples"]]
        X_test, y_test = (data.X_test[:settings["test_samples"]],
                          data.y_test[:settings["test_samples"]])
        clf = unit_estimator("mnist-mlp", unit, settings)
        start = time.perf_counter()
        clf.fit(X, y)
        train_seconds = round(time.perf_counter() - start, 3)
        end_to_end, samples = measure(clf, X_test, y_test, unit, settings, "end-to-end",
                                      train_seconds=train_seconds,
                                      spectral_norms=clf.spectral_norms_)
        readout = LogisticRegression(max_iter=settings["readout_max_iter"])
        readout.fit(clf.transform(X), y)
        pipe = Pipeline([("feat", clf), ("clf", readout)])
        retrained, more = measure(pipe, X_test, y_test, unit, settings, "logistic-readout")
        return [end_to_end, retrained], samples + more

    def figures(self, records, samples, settings, out, store):
        return model_figures(self, records, samples, out)
