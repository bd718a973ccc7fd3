"""ResNet18 (small stem, 32x32 input, batch 128): cost of rep-spectral, in one run.

1. Time per training step: unregularized vs rep-spectral with update_every=1 and 24
   (targets on CPU: <= 1.5x at 1, <= 1.10x at 24), through SpectralResNetClassifier
   (skorch) on random data. Each fit trains one warm-up step and then ``--steps`` timed
   steps (24: one full amortization period, one penalty update included at k = 24); the
   three configurations take turns for ``--rounds`` rounds, so drifts of the machine's speed
   hit them alike, and the median step time of each is reported.
2. One operator-norm evaluation for every ResNet18 convolution: a warm-started power
   iteration step (what the penalty does per update) vs the exact FFT method (what the
   authors' code computes every 24 steps, on the circular-padded twin of each layer):
   time, and the size of the largest working tensor.

    python benchmarks/bench_resnet.py [--steps 24] [--rounds 2] [--device auto]
"""

import argparse
import time

import numpy as np
import torch
from skorch.callbacks import Callback

from skspectral import SpectralResNetClassifier
from skspectral.estimators import resolve_device
from skspectral.models import ResNet
from skspectral.regularization import resolve_scope
from skspectral.spectral import (
    capture_input_shapes,
    conv_fft_norm,
    conv_power_iteration,
    conv_sigma_and_grad,
    is_pointwise,
)


class StepTimer(Callback):
    """Wall time of every training step (synchronized on CUDA)."""

    def initialize(self):
        self.times = []
        return self

    def _sync(self, net):
        if str(net.device).startswith("cuda"):
            torch.cuda.synchronize()

    def on_batch_begin(self, net, training=False, **kwargs):
        self._sync(net)
        self._start = time.perf_counter()

    def on_batch_end(self, net, training=False, **kwargs):
        self._sync(net)
        self.times.append(time.perf_counter() - self._start)


def step_times(regularizer, update_every, steps, device):
    rng = np.random.default_rng(0)
    X = rng.random((128 * (steps + 1), 3, 32, 32), dtype=np.float32)
    y = rng.integers(0, 10, len(X))
    timer = StepTimer()
    SpectralResNetClassifier(regularizer=regularizer, update_every=update_every, burnin=0,
                             batch_size=128, max_epochs=1, device=device, random_state=0,
                             callbacks=[("timer", timer)]).fit(X, y)
    return timer.times[1:]


def norm_costs(device):
    model = ResNet("resnet18", stem="small").to(device)
    shapes = capture_input_shapes(model, (3, 32, 32))
    rows = []
    for name in resolve_scope(model, "rep"):
        layer = model.get_submodule(name)
        shape = shapes[name]
        if is_pointwise(layer):
            rows.append((name, shape, None, None, None, None))
            continue
        x = torch.randn(1, *shape, device=device)
        x /= x.norm()
        circular = torch.nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size,
                                   stride=layer.stride, padding=layer.padding, bias=False,
                                   padding_mode="circular").to(device)
        circular.weight.data.copy_(layer.weight.data)

        def power(layer=layer, x=x):
            _, _, v = conv_power_iteration(layer, x, n_iter=1)
            conv_sigma_and_grad(layer, v)

        rows.append((name, shape, timed(power, device), timed(
            lambda c=circular, s=shape: conv_fft_norm(c, s), device),
            2 * x.numel() * 4, fft_bytes(layer, shape)))
    return rows


def fft_bytes(layer, shape):
    """The FFT method's spectrum: c_out x c_in x s^2 x (H/s) x (W/s) complex64 numbers."""
    return layer.out_channels * layer.in_channels * shape[1] * shape[2] * 8


def timed(fn, device, repeat=5):
    fn()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / repeat


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = resolve_device(args.device)
    print(f"device {device}; torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"\n1. ResNet18 small stem, 32x32, batch 128: median step time, {args.rounds} rounds "
          f"of {args.steps} steps per configuration")
    configs = {"unregularized": (None, 1), "rep-spectral, every 1": ("rep", 1),
               "rep-spectral, every 24": ("rep", 24)}
    times = {label: [] for label in configs}
    for _ in range(args.rounds):
        for label, (regularizer, k) in configs.items():
            times[label] += step_times(regularizer, k, args.steps, device)
    base = np.median(times["unregularized"])
    targets = {"rep-spectral, every 1": 1.5, "rep-spectral, every 24": 1.10}
    for label, values in times.items():
        value = np.median(values)
        ratio = "" if label not in targets else (f"   ratio {value / base:.3f} (target <= "
                                                 f"{targets[label]})")
        print(f"  {label:<24s} {value:8.3f} s/step (mean {np.mean(values):.3f}){ratio}")
    print("\n2. one norm evaluation per convolution (input 32x32): power step vs exact FFT")
    print(f"  {'layer':<34s} {'input':>14s} {'power ms':>9s} {'FFT ms':>9s} "
          f"{'power MB':>9s} {'FFT MB':>8s}")
    total = [0.0, 0.0]
    for name, shape, t_power, t_fft, b_power, b_fft in norm_costs(device):
        if t_power is None:
            print(f"  {name:<34s} {str(shape):>14s}   1x1 conv: the c_out x c_in matrix, no FFT")
            continue
        total[0] += t_power
        total[1] += t_fft
        print(f"  {name:<34s} {str(shape):>14s} {t_power * 1e3:9.2f} {t_fft * 1e3:9.2f} "
              f"{b_power / 2**20:9.2f} {b_fft / 2**20:8.1f}")
    print(f"  all 17 3x3 convolutions: power {total[0] * 1e3:.1f} ms, FFT {total[1] * 1e3:.1f} ms"
          f" ({total[1] / total[0]:.1f}x)")


if __name__ == "__main__":
    main()
