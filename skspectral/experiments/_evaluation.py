"""What every experiment measures of a fitted model: accuracy and per-sample TA distances."""

import time

import numpy as np

from ..metrics import _draw_correct, adversarial_distances

__all__ = ["measure"]


def measure(model, X_test, y_test, unit, settings, readout, clip=(0.0, 1.0), **extra):
    """Accuracy on the test set and the Tangent Attack distances of correctly classified
    test samples (the first ``settings["attack_samples"]``, in test-set order).

    Returns ``(record, samples)`` as :meth:`Experiment.run` returns them; ``extra`` goes
    into the record.
    """
    predictions = model.predict(X_test)
    accuracy = float(np.mean(predictions == y_test))
    chosen = _draw_correct(predictions == y_test, settings["attack_samples"])
    start = time.perf_counter()
    result = adversarial_distances(model, X_test[chosen], y_test[chosen], attack="tangent",
                                   clip_min=clip[0], clip_max=clip[1], random_state=unit.seed,
                                   max_queries=settings["max_queries"])
    keys = dict(condition=unit.condition, regularizer=unit.regularizer, seed=unit.seed,
                readout=readout)
    found = np.isfinite(result.distances)
    record = dict(keys, accuracy=accuracy, mean_distance=result.mean(),
                  median_distance=float(result.median()), n_attacked=len(chosen),
                  n_unfound=int((~found).sum()), mean_queries=float(result.queries.mean()),
                  attack_seconds=round(time.perf_counter() - start, 3), **extra)
    samples = [dict(keys, sample=int(i), label=int(y_test[i]), distance=float(d), queries=int(q))
               for i, d, q in zip(chosen, result.distances, result.queries, strict=True)]
    return record, samples

