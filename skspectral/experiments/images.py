"""The ResNet experiments on MNIST images (1 x 28 x 28, pixels in [0, 1]).

The paper ran them on CIFAR-10 and ImageNet, which cannot be downloaded here; MNIST keeps
their protocol (the presets' training recipes, the attack in the box [0, 1]) on data that
is at hand. Augmentations that do not suit digits are off: no flips for the classifiers,
the small affine views for Barlow Twins.
"""

import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from ..datasets import load_mnist
from ..estimators import SpectralResNetClassifier
from ._base import Experiment, checkpoint_params, unit_estimator
from ._evaluation import measure
from ._figures import model_figures

__all__ = ["ResNetMNISTExperiment", "BarlowMNISTExperiment", "TransferMNISTExperiment"]


def _images(settings, digits=None):
    """``(X_train, y_train, X_test, y_test)`` as (n, 1, 28, 28) images, optionally only
    ``digits`` (relabelled from 0), the first ``train_samples`` / ``test_samples``."""
    data = load_mnist(settings["data_home"], flatten=False)
    splits = []
    for X, y, n in ((data.X_train, data.y_train, settings["train_samples"]),
                    (data.X_test, data.y_test, settings["test_samples"])):
        if digits is not None:
            keep = np.isin(y, digits)
            X, y = X[keep], y[keep] - min(digits)
        splits += [X[:n, None], y[:n]]
    return splits


def _fit(estimator, X, y=None):
    start = time.perf_counter()
    estimator.fit(X) if y is None else estimator.fit(X, y)
    return round(time.perf_counter() - start, 3)


class _ImageExperiment(Experiment):
    def figures(self, records, samples, settings, out, store):
        return model_figures(self, records, samples, out)


class ResNetMNISTExperiment(_ImageExperiment):
    """``paper_estimator("cifar10-resnet18", augment=False)`` per unit, end to end.

    The authors' ll-spectral on ResNets penalizes every convolution and the readout, so
    the regularizers are none, ``ll-all`` and rep-spectral.
    """

    name = "resnet-mnist"
    description = "Fig. 6 protocol on MNIST: ResNet18 (3x3 stem), 200 epochs"
    conditions = ("resnet18",)
    regularizers = ("none", "ll-all", "rep")
    defaults = dict(epochs=200, train_samples=60000, test_samples=10000, attack_samples=1000,
                    max_queries=None)

    def run(self, unit, settings, store):
        X, y, X_test, y_test = _images(settings)
        clf = unit_estimator("cifar10-resnet18", unit, settings, augment=False)
        seconds = _fit(clf, X, y)
        record, samples = measure(clf, X_test, y_test, unit, settings, "end-to-end",
                                  train_seconds=seconds)
        return [record], samples


class BarlowMNISTExperiment(_ImageExperiment):
    """``paper_estimator("cifar10-barlow", augmentation="affine")`` per unit, trained without
    labels; a LogisticRegression readout is fitted on its features of the first
    ``readout_samples`` labelled training images, and the Pipeline is measured."""

    name = "barlow-mnist"
    description = ("Fig. 7 protocol on MNIST: Barlow Twins ResNet18, 1000 epochs, "
                   "LogisticRegression readout")
    conditions = ("barlow",)
    regularizers = ("none", "rep")
    defaults = dict(epochs=1000, train_samples=60000, test_samples=10000, attack_samples=1000,
                    max_queries=None, readout_samples=60000, readout_max_iter=1000)

    def run(self, unit, settings, store):
        X, y, X_test, y_test = _images(settings)
        feat = unit_estimator("cifar10-barlow", unit, settings, augmentation="affine")
        seconds = _fit(feat, X)
        n = settings["readout_samples"]
        readout = LogisticRegression(max_iter=settings["readout_max_iter"])
        readout.fit(feat.transform(X[:n]), y[:n])
        pipe = Pipeline([("feat", feat), ("clf", readout)])
        record, samples = measure(pipe, X_test, y_test, unit, settings, "logistic-readout",
                                  train_seconds=seconds)
        return [record], samples


class TransferMNISTExperiment(_ImageExperiment):
    """Fig. 8's design on MNIST: pretrain on digits 0-4, fine-tune on 5-9.

    A unit pretrains ``paper_estimator("cifar10-resnet18", augment=False)`` (``epochs``)
    without or with rep-spectral, then fine-tunes it twice on digits 5-9 with the paper's
    recipe (a new head, SGD with cosine schedule, head lr ``finetune_lr``, backbone lr a
    fifth of it, batch 64, ``finetune_epochs``, one warm-up epoch training the head
    alone): plainly (readout ``fine-tune``) and with Batch Spectral Shrinkage ``bss``
    (readout ``fine-tune+bss``). Both are measured on the test images of 5-9.
    """

    name = "transfer-mnist"
    description = ("Fig. 8 design on MNIST: ResNet18 pretrained on digits 0-4, fine-tuned "
                   "on 5-9 without and with BSS")
    conditions = ("0-4_to_5-9",)
    regularizers = ("none", "rep")
    defaults = dict(epochs=200, train_samples=30000, test_samples=10000, attack_samples=500,
                    max_queries=None, finetune_epochs=50, finetune_lr=0.01, bss=1e-3)

    def run(self, unit, settings, store):
        X_src, y_src, _, _ = _images(settings, digits=[0, 1, 2, 3, 4])
        X, y, X_test, y_test = _images(settings, digits=[5, 6, 7, 8, 9])
        source = unit_estimator("cifar10-resnet18", unit, settings, name="pretrain",
                             augment=False)
        pretrain_seconds = _fit(source, X_src, y_src)
        records, samples = [], []
        lr = settings["finetune_lr"]
        for readout, bss in (("fine-tune", 0.0), ("fine-tune+bss", settings["bss"])):
            model = SpectralResNetClassifier(
                pretrained_weights=source, regularizer=None, optimizer="sgd", momentum=0.9,
                weight_decay=1e-4, lr=lr, backbone_lr=lr / 5, lr_schedule="cosine",
                head_warmup=1, bss=bss, batch_size=64, max_epochs=settings["finetune_epochs"],
                random_state=unit.seed, device=settings["device"],
                **checkpoint_params(settings, readout, settings["finetune_epochs"]))
            seconds = _fit(model, X, y)
            record, rows = measure(model, X_test, y_test, unit, settings, readout,
                                   train_seconds=seconds, pretrain_seconds=pretrain_seconds)
            records.append(record)
            samples += rows
        return records, samples
