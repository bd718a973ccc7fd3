"""Barlow Twins on MNIST without labels, no penalty vs rep-spectral, then a linear readout.
========================================================================================

Pretrains SpectralBarlowTwins (ResNet18, small stem, the paper's single Linear projector) on
``--train-samples`` MNIST training images (28x28, labels unused), once without a penalty and
once with rep-spectral on the backbone (gamma 0.02, i.e. the paper's 0.01 in the authors'
convention). A LogisticRegression is then fitted on the features of the first
``--readout-samples`` training images with their labels, and the Pipeline (backbone +
readout, attacked as one torch module) is measured: test accuracy on ``--test-samples``
images, and the Tangent Attack distance (L2, pixels in [0, 1]) of the first
``--attack-samples`` correctly classified test images, with ``--attack-iter`` iterations.
Also printed: the operator norm of every convolution and of the projector.

On 2 CPU cores a ResNet18 Barlow Twins epoch over all of MNIST takes tens of minutes and the
paper's attack (40 iterations, about 18,000 queries per image) about two minutes per image, so
the defaults are a subset and a short attack that finish in under 30 minutes. The protocol on a
GPU::

    python examples/mnist_barlow.py --device cuda --train-samples 60000 --epochs 100 \\
        --batch-size 1024 --update-every 24 --attack-samples 1000 --attack-iter 40 \\
        --n-starts 5 --test-samples 10000 --readout-samples 60000

On the CPU::

    python examples/mnist_barlow.py [--train-samples 1000] [--epochs 8] [--device auto]

Measured with the defaults on this project's 2-core CPU (15 minutes; ``docs/self_supervised.md``
has the protocol and the operator norms); the Tangent Attack is short (4 iterations), so the
distances are loose upper bounds:

============  =================  ========  ===============  =========  ================
model         Barlow Twins loss  test acc  mean TA (found)  median TA  no start found
============  =================  ========  ===============  =========  ================
none          148.44             0.7305    0.8816           0.9298     11 of 100
rep-spectral  144.86             0.6760    1.3819           1.2435     0 of 100
============  =================  ========  ===============  =========  ================
"""

import argparse
import time

import numpy as np
from _mnist import mnist_home
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from skspectral import SpectralBarlowTwins, adversarial_distances
from skspectral.datasets import load_mnist


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-samples", type=int, default=1000)
    parser.add_argument("--test-samples", type=int, default=2000)
    parser.add_argument("--readout-samples", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.2)
    parser.add_argument("--gamma", type=float, default=0.02)
    parser.add_argument("--burnin", type=float, default=0.5)
    parser.add_argument("--update-every", type=int, default=4)
    parser.add_argument("--augmentation", default="affine",
                        help="'affine' (small grayscale images), 'barlow' (the paper's CIFAR "
                             "recipe) or 'crop-flip'")
    parser.add_argument("--attack-samples", type=int, default=100)
    parser.add_argument("--attack-iter", type=int, default=4)
    parser.add_argument("--n-starts", type=int, default=1)
    parser.add_argument("--init-probes", type=int, default=50)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = load_mnist(mnist_home(args.data_home), flatten=False)
    X_train = data.X_train[:args.train_samples, None]
    X_readout, y_readout = (data.X_train[:args.readout_samples, None],
                            data.y_train[:args.readout_samples])
    X_test, y_test = data.X_test[:args.test_samples, None], data.y_test[:args.test_samples]

    rows = {}
    for label, regularizer in (("none", None), ("rep-spectral", "rep")):
        feat = SpectralBarlowTwins(
            regularizer=regularizer, gamma=args.gamma, burnin=args.burnin,
            update_every=args.update_every, batch_size=args.batch_size, lr=args.lr,
            max_epochs=args.epochs, augmentation=args.augmentation, device=args.device,
            random_state=args.seed)
        start = time.perf_counter()
        feat.fit(X_train)  # no labels
        pretrain = time.perf_counter() - start
        pipe = Pipeline([("feat", feat), ("clf", LogisticRegression(max_iter=2000))])
        pipe.named_steps["clf"].fit(feat.transform(X_readout), y_readout)  # the readout only
        accuracy = pipe.score(X_test, y_test)
        correct = np.flatnonzero(pipe.predict(X_test) == y_test)[:args.attack_samples]
        start = time.perf_counter()
        result = adversarial_distances(
            pipe, X_test[correct], y_test[correct], attack="tangent", clip_min=0.0,
            clip_max=1.0, max_iter=args.attack_iter, n_starts=args.n_starts,
            init_probes=args.init_probes, random_state=args.seed)
        attack = time.perf_counter() - start
        found = np.isfinite(result.distances)
        rows[label] = dict(accuracy=accuracy, mean=float(result.distances[found].mean()),
                           median=float(np.median(result.distances)), n=len(correct),
                           unfound=int((~found).sum()),
                           loss=feat.history_[-1, "train_loss"], pretrain=pretrain,
                           attack=attack, norms=feat.spectral_norms_)
        print(f"  {label} done ({pretrain:.0f} s pretraining, {attack:.0f} s attack)",
              flush=True)

    print(f"\nBarlow Twins ResNet18 on MNIST (28x28): {args.train_samples} unlabelled training "
          f"images, {args.epochs} epochs, batch {args.batch_size}, lr {args.lr}, "
          f"'{args.augmentation}' views; rep-spectral gamma {args.gamma} from "
          f"{args.burnin:.0%} of the epochs, every {args.update_every} steps. Readout: "
          f"LogisticRegression on the features of {args.readout_samples} labelled training "
          "images.")
    print(f"Tangent Attack: {args.attack_iter} iterations, {args.n_starts} start(s), "
          f"{args.init_probes}*sqrt(i) probes, box [0, 1]; mean TA over the attacked images "
          "with an adversarial point found (no start: the count of those without).\n")
    print(f"  {'model':<13s} {'BT loss':>8s} {'test acc':>9s} {'mean TA':>8s} "
          f"{'median TA':>10s} {'attacked':>9s} {'no start':>9s} {'pretrain s':>11s} "
          f"{'attack s':>9s}")
    for label, r in rows.items():
        print(f"  {label:<13s} {r['loss']:8.2f} {r['accuracy']:9.4f} {r['mean']:8.4f} "
              f"{r['median']:10.4f} {r['n']:9d} {r['unfound']:9d} {r['pretrain']:11.0f} "
              f"{r['attack']:9.0f}")
    print("\n  operator norms (convolutions at the input size they see, and the projector)")
    print(f"  {'layer':<34s} {'none':>8s} {'rep':>8s}")
    for name, value in rows["none"]["norms"].items():
        print(f"  {name:<34s} {value:8.3f} {rows['rep-spectral']['norms'][name]:8.3f}")


if __name__ == "__main__":
    main()
