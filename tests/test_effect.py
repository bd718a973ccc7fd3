"""The paper's central effect: rep-spectral moves the decision boundary away from the data.

Measured as the mean Tangent Attack distance of correctly classified test samples (the paper's
protocol), for the same network trained from the same seed without and with the penalty.
"""

import numpy as np
import pytest

from skspectral import SpectralMLPClassifier, adversarial_distances, paper_estimator
from skspectral.datasets import make_xor

BOX = 2.0  # the attack's input box [-2, 2]^2, as for the paper's XOR


def _noisy_labels(seed, n_per_corner=10, flipped_per_corner=2):
    """Four Gaussian clusters (make_xor's corners, noise 0.2) labelled by the side of
    x1 = 0, with 20% of the labels flipped, as many in each cluster."""
    X, _ = make_xor(n_per_corner, noise=0.2, random_state=seed)
    y = np.repeat([0, 0, 1, 1], n_per_corner)
    rng = np.random.default_rng(seed)
    for corner in range(4):
        flip = corner * n_per_corner + rng.choice(n_per_corner, flipped_per_corner,
                                                  replace=False)
        y[flip] = 1 - y[flip]
    return X.astype(np.float32), y


def _clean_test(seed, n_per_corner=25):
    X, _ = make_xor(n_per_corner, noise=0.3, random_state=1000 + seed)
    return np.clip(X, -BOX, BOX).astype(np.float32), np.repeat([0, 0, 1, 1], n_per_corner)


def test_rep_spectral_keeps_a_wide_network_from_carving_islands_around_noisy_labels():
    """A 256-unit GELU layer trained full batch memorizes flipped labels: small islands of
    the wrong class inside the clusters, close to every clean test point near them. With
    rep-spectral (switched on after 60% of the epochs) sigma_max of the hidden layer is
    held down, Φ cannot bend that sharply, and the boundary stays between the clusters.

    Measured while writing this test (same settings, seeds 0-9, torch threads 1 and 2,
    identical to 3 digits between thread counts): rep / none mean distance 2.26 (seed 0),
    4.13, 3.00, 3.58, 3.44, 2.76, 1.71, 1.90, 2.71, 3.36; minimum 1.71; rep ~1.0 on every
    seed (the distance of the clean points to x1 = 0), none 0.23-0.61.
    """
    seed = 0
    X, y = _noisy_labels(seed)
    X_test, y_test = _clean_test(seed)
    params = dict(hidden_layer_sizes=(256,), activation="gelu", optimizer="adam", lr=0.02,
                  weight_decay=0.0, batch_size=len(X), max_epochs=1000, gamma=1.0,
                  burnin=0.6, init="default", random_state=seed)
    models = {reg: SpectralMLPClassifier(regularizer=reg, **params).fit(X, y)
              for reg in (None, "rep")}
    mean = {reg: adversarial_distances(clf, X_test, y_test, clip_min=-BOX, clip_max=BOX,
                                       max_iter=10, random_state=0).mean()
            for reg, clf in models.items()}
    # the mechanism: the unregularized network fits flipped labels, rep-spectral does not
    assert models[None].score(X, y) > models["rep"].score(X, y)
    assert models["rep"].score(X_test, y_test) > models[None].score(X_test, y_test)
    assert mean["rep"] >= 1.5 * mean[None], mean


@pytest.mark.slow
def test_rep_spectral_beats_unregularized_on_xor_averaged_over_three_seeds():
    """The paper's Fig. 2 setting (clean 4-point XOR, 8 GELU units, weight decay 0,
    ``paper_estimator("xor")``; test points and attack as ``skspectral reproduce xor``)
    with 6000 instead of 15,000 epochs (burn-in 70% as the paper). docs/reproducing.md,
    at 15,000 epochs: rep beat none on 10/10 seeds (mean distance 0.8188 vs 0.6782, +21%).
    Measured while writing this test at 6000 epochs: none 0.730, 0.633, 0.618; rep 0.843,
    0.705, 0.674 (seeds 0-2; rep ahead on each, +12% on the mean); ~140 s on one thread.
    """
    X, y = make_xor()
    means = {None: [], "rep": []}
    for seed in range(3):
        X_test, y_test = make_xor(50, noise=0.2, random_state=10_000 + seed)
        for reg in means:
            clf = paper_estimator("xor", weight_decay=0.0, regularizer=reg, max_epochs=6000,
                                  random_state=seed).fit(X, y)
            result = adversarial_distances(clf, X_test, y_test, clip_min=-BOX, clip_max=BOX,
                                           random_state=seed)
            means[reg].append(result.mean())
    assert np.mean(means["rep"]) > np.mean(means[None]), means
