"""Peak resident memory of fitting ResNet18 on a uint8 image array: no whole-array float copy.

skspectral 0.1.0 converted X to float32 while validating it: a 50,000 x 3 x 32 x 32 uint8
array (CIFAR-10's size, 154 MB) became a 614 MB copy before training started. Now uint8
images stay uint8 and each batch is converted on the device. Each measurement runs in a
fresh process:

1. the estimator is built and trained for ``--steps`` steps on a tiny array (64 images),
   while a thread samples the resident set size (``VmRSS``) every millisecond: its peak is
   the baseline of a process with the model built and its training steps' working memory;
2. the full array is generated and the same estimator trains ``--steps`` steps on it
   (interrupted after those steps, as skorch allows); the peak above the baseline is
   reported in units of the array's bytes (target: <= 1.5x).

"now" passes the uint8 array; "0.1.0" passes its float32 copy, made before the fit as
0.1.0's validation made it inside the fit (the same bytes at the same time).

    python benchmarks/bench_memory.py [--n 50000] [--steps 3] [--batch-size 64]
"""

import argparse
import json
import subprocess
import sys
import threading
import time

import numpy as np


def rss_bytes():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status (Linux only)")


class PeakRSS:
    """Sample the resident set size in a thread; ``peak`` is the largest seen."""

    def __enter__(self):
        self.peak, self._stop = rss_bytes(), threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            time.sleep(0.001)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


def child(mode, n, steps, batch_size):
    import torch
    from skorch.callbacks import Callback

    from skspectral import SpectralResNetClassifier

    torch.set_num_threads(2)

    class StopAfter(Callback):
        def on_batch_end(self, net, **kwargs):
            self.seen_ = getattr(self, "seen_", 0) + 1
            if self.seen_ >= steps:
                self.seen_ = 0
                raise KeyboardInterrupt  # skorch ends the fit here, keeping the model

    def estimator():
        return SpectralResNetClassifier(max_epochs=1, batch_size=batch_size, burnin=0,
                                        update_every=24, device="cpu", random_state=0,
                                        callbacks=[StopAfter()])

    rng = np.random.default_rng(0)
    tiny = rng.integers(0, 256, (batch_size * steps, 3, 32, 32), dtype=np.uint8)
    labels = rng.integers(0, 10, len(tiny))
    tiny = tiny if mode == "now" else tiny.astype(np.float32)
    with PeakRSS() as base:
        estimator().fit(tiny, labels)
    X = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    y = rng.integers(0, 10, n)
    with PeakRSS() as run:
        data = X if mode == "now" else X.astype(np.float32)
        estimator().fit(data, y)
    print(json.dumps({"mode": mode, "array_bytes": X.nbytes, "baseline": base.peak,
                      "peak": run.peak}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000, help="images (default 50000)")
    parser.add_argument("--steps", type=int, default=3, help="training steps (default 3)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--child", choices=["now", "0.1.0"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.n, args.steps, args.batch_size)
    print(f"ResNet18 (small stem), {args.steps} steps of batch {args.batch_size} on "
          f"{args.n} x 3 x 32 x 32 uint8 images, each in a fresh process (CPU)")
    print(f"{'X as passed to fit':<34s} {'array MB':>9s} {'baseline MB':>12s} {'peak MB':>9s} "
          f"{'above baseline / array':>23s}")
    for mode, label in (("now", "uint8 (now)"), ("0.1.0", "float32 copy (what 0.1.0 made)")):
        out = subprocess.run([sys.executable, __file__, "--child", mode, "--n", str(args.n),
                              "--steps", str(args.steps), "--batch-size",
                              str(args.batch_size)], check=True, capture_output=True,
                             text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        mb = 2 ** 20
        print(f"{label:<34s} {r['array_bytes'] / mb:9.1f} {r['baseline'] / mb:12.1f} "
              f"{r['peak'] / mb:9.1f} {(r['peak'] - r['baseline']) / r['array_bytes']:22.2f}x",
              flush=True)
    print("target: <= 1.5x the array's bytes above the baseline")


if __name__ == "__main__":
    main()
