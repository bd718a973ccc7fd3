"""Transfer learning on MNIST, the design of the paper's Fig. 8: what robustness survives?
=======================================================================================

Pretrain a ResNet18 (small stem) on MNIST digits 0-4, without and with rep-spectral; then
fine-tune each backbone on digits 5-9 (a new 5-class head), without and with Batch Spectral
Shrinkage (BSS, eta = ``--bss``). Four combinations per seed. Each fine-tune uses the paper's
recipe, scaled down: head lr ``--lr``, backbone lr ``--lr / 5``, cosine schedule, one
warm-up epoch training the head alone. For every fine-tuned model: test accuracy on digits
5-9 and the mean Tangent Attack distance over ``--attack-samples`` correctly classified test
images (input box [0, 1]).

Images are MNIST padded to 32x32, read from ``$SKSPECTRAL_DATA`` or ``../shared/data`` (see
``examples/_mnist.py``). The defaults are the paper's protocol on a GPU; on a 2-core CPU a
ResNet18 classifies ~140 images/s and a full attack makes ~15,000 queries per image, so use
small numbers there (the command quoted in docs/transfer.md)::

    python examples/transfer.py [--seeds 3] [--pretrain-samples 30000] [--finetune-samples 30000]
        [--pretrain-epochs 20] [--finetune-epochs 10] [--attack-samples 300]
        [--max-queries None] [--n-starts 5] [--device auto] [--plot transfer.png]

Measured on this project's 2-core CPU with ``--seeds 3 --pretrain-samples 1500
--finetune-samples 600 --test-samples 1000 --pretrain-epochs 3 --finetune-epochs 4 --lr 0.05
--attack-samples 8 --max-queries 600 --n-starts 1`` (36 minutes; ``docs/transfer.md``). Mean
(std) over the 3 seeds; at 600 queries the distances are loose upper bounds:

============  =========  ===============  ================
pretrain      fine-tune  test acc         mean TA distance
============  =========  ===============  ================
none          plain      0.8582 (0.0114)  3.5137 (0.5592)
none          BSS        0.8575 (0.0109)  3.7468 (0.7532)
rep-spectral  plain      0.8699 (0.0476)  5.0933 (0.5466)
rep-spectral  BSS        0.8699 (0.0477)  4.5062 (0.6538)
============  =========  ===============  ================
"""

import argparse
import time

import numpy as np
from _mnist import padded_mnist

from skspectral import SpectralResNetClassifier, TangentAttack


def split(X, y, digits):
    keep = np.isin(y, digits)
    return X[keep], (y[keep] - min(digits)).astype(np.int64)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--pretrain-samples", type=int, default=30000)
    parser.add_argument("--finetune-samples", type=int, default=30000)
    parser.add_argument("--test-samples", type=int, default=10000)
    parser.add_argument("--pretrain-epochs", type=int, default=20)
    parser.add_argument("--finetune-epochs", type=int, default=10)
    parser.add_argument("--gamma", type=float, default=0.02)
    parser.add_argument("--bss", type=float, default=0.001)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--attack-samples", type=int, default=300)
    parser.add_argument("--max-queries", type=int, default=None)
    parser.add_argument("--n-starts", type=int, default=5,
                        help="TangentAttack's n_starts (1 for small query budgets)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--plot", default=None, metavar="PNG",
                        help="also save per-seed box plots of accuracy and distance here")
    args = parser.parse_args()
    n_train = 2 * max(args.pretrain_samples, args.finetune_samples)
    X_train, y_train, X_test, y_test = padded_mnist(args.data_home, min(n_train, 60000),
                                                    args.test_samples)
    X_src, y_src = split(X_train, y_train, [0, 1, 2, 3, 4])
    X_tgt, y_tgt = split(X_train, y_train, [5, 6, 7, 8, 9])
    X_src, y_src = X_src[:args.pretrain_samples], y_src[:args.pretrain_samples]
    X_tgt, y_tgt = X_tgt[:args.finetune_samples], y_tgt[:args.finetune_samples]
    X_eval, y_eval = split(X_test, y_test, [5, 6, 7, 8, 9])
    print(f"pretrain on {len(X_src)} images of 0-4 ({args.pretrain_epochs} epochs), fine-tune "
          f"on {len(X_tgt)} of 5-9 ({args.finetune_epochs} epochs), test on {len(X_eval)}; "
          f"TA distance over {args.attack_samples} correct test images, "
          f"max_queries={args.max_queries}", flush=True)
    print(f"{'pretrain':<13s} {'fine-tune':<10s} {'seed':>4s} {'test acc':>8s} "
          f"{'mean dist':>9s} {'seconds':>8s}", flush=True)
    rows = []
    for seed in range(args.seeds):
        for pre_label, regularizer in (("none", None), ("rep-spectral", "rep")):
            start = time.perf_counter()
            source = SpectralResNetClassifier(
                regularizer=regularizer, gamma=args.gamma, burnin=0.5, update_every=4,
                lr=0.05, batch_size=128, max_epochs=args.pretrain_epochs, device=args.device,
                random_state=seed).fit(X_src, y_src)
            pretrain_seconds = time.perf_counter() - start
            for bss in (0.0, args.bss):
                start = time.perf_counter()
                model = SpectralResNetClassifier(
                    pretrained_weights=source, regularizer=None, lr=args.lr,
                    backbone_lr=args.lr / 5, lr_schedule="cosine", head_warmup=1, bss=bss,
                    batch_size=args.batch_size, max_epochs=args.finetune_epochs,
                    device=args.device, random_state=seed).fit(X_tgt, y_tgt)
                accuracy = model.score(X_eval, y_eval)
                correct = np.flatnonzero(model.predict(X_eval) == y_eval)
                chosen = np.random.default_rng(seed).choice(
                    correct, min(args.attack_samples, len(correct)), replace=False)
                attack = TangentAttack(0.0, 1.0, max_queries=args.max_queries,
                                       n_starts=args.n_starts, random_state=seed)
                result = attack.attack(model, X_eval[chosen], y_eval[chosen])
                seconds = pretrain_seconds / 2 + time.perf_counter() - start
                fine = "BSS" if bss else "plain"
                rows.append((pre_label, fine, seed, accuracy, result.mean()))
                print(f"{pre_label:<13s} {fine:<10s} {seed:>4d} {accuracy:8.4f} "
                      f"{result.mean():9.4f} {seconds:8.0f}", flush=True)
    print(f"\nmean (std) over {args.seeds} seeds", flush=True)
    print(f"{'pretrain':<13s} {'fine-tune':<10s} {'test acc':>15s} {'mean dist':>15s}")
    for pre in ("none", "rep-spectral"):
        for fine in ("plain", "BSS"):
            acc = [r[3] for r in rows if r[:2] == (pre, fine)]
            dist = [r[4] for r in rows if r[:2] == (pre, fine)]
            print(f"{pre:<13s} {fine:<10s} {np.mean(acc):8.4f} ({np.std(acc):.4f}) "
                  f"{np.mean(dist):8.4f} ({np.std(dist):.4f})")
    if args.plot:
        save_plot(rows, args.plot)


def save_plot(rows, path):
    """Per-seed boxes of accuracy and mean distance for the four combinations."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skspectral.plotting import plot_seed_boxes

    labels = {(pre, fine): f"{pre}\n{fine}" for pre in ("none", "rep-spectral")
              for fine in ("plain", "BSS")}
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    plot_seed_boxes({labels[k]: [r[3] for r in rows if r[:2] == k] for k in labels},
                    "test accuracy", ax=left)
    plot_seed_boxes({labels[k]: [r[4] for r in rows if r[:2] == k] for k in labels},
                    "mean TA distance", ax=right)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    print(f"saved {path}")


if __name__ == "__main__":
    main()
