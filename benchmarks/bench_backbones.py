"""rep-spectral's overhead per training step on torchvision backbones at 32 x 32, on the CPU.

For each family (convnext_tiny, efficientnet_b0 and wide_resnet50_2 with their small stems,
vit_b_16 with ``image_size=32``), a SpectralClassifier is built and initialized, then one
process times, in turns, a plain training step (forward, backward, SGD step: the cost
without the penalty, gamma = 0) and one penalty update (``SpectralPenalty.apply_``: a
warm-started power-iteration step and the gradient of every penalized layer at the input
size it sees), ``--rounds`` times each, so that drifts of the machine's speed hit both
alike. With the penalty updated every k = 24 steps, a step costs on average
``step + update / 24``; the table gives that ratio (target <= 1.10), the median times, and
the once-per-epoch record of the norms (20 power-iteration steps per layer, not part of a
step).

    OMP_NUM_THREADS=2 python benchmarks/bench_backbones.py [--batch-size 16] [--rounds 5]
"""

import argparse
import time

import numpy as np
import torch

from skspectral import SpectralClassifier
from skspectral.regularization import SpectralRegularization

FAMILIES = {
    "convnext_tiny": dict(stem="small"),
    "efficientnet_b0": dict(stem="small"),
    "wide_resnet50_2": dict(stem="small"),
    "vit_b_16": dict(module__image_size=32),
}
K = 24


def prepared(name, params, batch_size):
    """A fitted (one step) SpectralClassifier and a training batch."""
    rng = np.random.default_rng(0)
    X = rng.random((batch_size, 3, 32, 32), dtype=np.float32)
    y = np.arange(batch_size) % 10
    clf = SpectralClassifier(name, update_every=K, burnin=0, batch_size=batch_size,
                             max_epochs=1, device="cpu", random_state=0, **params).fit(X, y)
    for _, callback in clf.net_.callbacks_:
        if isinstance(callback, SpectralRegularization):
            callback.active_ = False  # train_step alone is the step without the penalty
    batch = (torch.as_tensor(X), torch.as_tensor(np.searchsorted(clf.classes_, y)))
    return clf, batch


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--families", nargs="*", default=list(FAMILIES))
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch "
          f"{args.batch_size}, 32x32 images, k = {K}, {args.rounds} rounds")
    print(f"{'family':<17s} {'penalized':>9s} {'step s':>8s} {'update s':>9s} "
          f"{'record s':>9s} {'ratio':>7s}")
    for name in args.families:
        clf, batch = prepared(name, FAMILIES[name], args.batch_size)
        net, penalty, module = clf.net_, clf.net_.penalty_, clf.net_.module_
        net.train_step(batch)  # warm-up: allocations
        penalty.apply_(module)
        steps, updates = [], []
        for _ in range(args.rounds):
            steps.append(timed(net.train_step, batch))
            updates.append(timed(penalty.apply_, module))
        record = timed(penalty.estimate, module, n_iter=20, tol=1e-4)
        step, update = float(np.median(steps)), float(np.median(updates))
        ratio = (K * step + update) / (K * step)
        print(f"{name:<17s} {len(penalty.layers):>9d} {step:>8.3f} {update:>9.3f} "
              f"{record:>9.3f} {ratio:>7.3f}", flush=True)


if __name__ == "__main__":
    main()
