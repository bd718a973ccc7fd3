"""The Python half of ``.ci/gpu``: versions, the figures of each GPU step, the final JSON.

Each subcommand writes one JSON file (``--out``) that ``merge`` folds into ``gpu.json``; the
bash script runs each under ``timeout`` and records its status and wall time. The benchmarks'
own functions are imported from ``benchmarks/`` (their command lines print tables, not JSON),
so the figures are theirs, measured at sizes that fit the GPU run's time budget.

    python3 .ci/gpu_figures.py probe --out FILE
    python3 .ci/gpu_figures.py junit JUNIT_XML --out FILE
    python3 .ci/gpu_figures.py attacks --device cuda [--samples 16] [--repeats 3] --out FILE
    python3 .ci/gpu_figures.py whitebox --device cuda [--samples 100] [--max-iter 1000] --out FILE
    python3 .ci/gpu_figures.py resnet --device cuda [--steps 48] [--rounds 2] --out FILE
    python3 .ci/gpu_figures.py barlow --device cuda [--batch-size 256] [--rounds 2] --out FILE
    python3 .ci/gpu_figures.py merge --work DIR --out FILE [--stopped TEXT] [--exit-code N]
"""

import argparse
import importlib.util
import json
import math
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("torch", "torchvision", "skorch", "kornia", "kornia_rs", "scikit-learn", "numpy",
            "scipy", "joblib", "threadpoolctl", "tqdm", "tabulate", "pytest", "pytest-timeout")


def _write(path, data):
    Path(path).write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def _benchmark(name):
    """``benchmarks/<name>.py`` as a module (the folder is no package)."""
    path = ROOT / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_gpu_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sync(device):
    import torch
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


# ------------------------------------------------------------------------------- probe
def probe(args):
    """Versions and whether CUDA works; never fails on a missing package."""
    from importlib import metadata

    report = {"python": platform.python_version(), "executable": sys.executable,
              "machine": platform.machine(), "packages": {}}
    for name in PACKAGES:
        try:
            report["packages"][name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            report["packages"][name] = None
    try:
        import torch
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        report.update(cuda=False, error=f"cannot import torch: {exc!r}")
        _write(args.out, report)
        print(f"versions: python {report['python']}; torch NOT importable ({exc!r})")
        return 0
    report["torch"] = torch.__version__
    report["torch_cuda_build"] = torch.version.cuda
    report["cuda"] = bool(torch.cuda.is_available())
    if report["cuda"]:
        try:
            props = torch.cuda.get_device_properties(0)
            report.update(gpu=props.name, gpu_memory_gib=round(props.total_memory / 2**30, 1),
                          gpu_count=torch.cuda.device_count(),
                          capability=".".join(map(str, torch.cuda.get_device_capability(0))),
                          cudnn=torch.backends.cudnn.version(),
                          float32_matmul_precision=torch.get_float32_matmul_precision())
            torch.ones(1, device="cuda").add_(1)  # a kernel actually runs
            torch.cuda.synchronize()
            if torch.distributed.is_available() and torch.distributed.is_nccl_available():
                report["nccl"] = ".".join(map(str, torch.cuda.nccl.version()))
        except Exception as exc:  # noqa: BLE001
            report.update(cuda=False, error=f"CUDA is reported available but failed: {exc!r}")
    try:
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                              "--format=csv,noheader"], capture_output=True, text=True,
                             timeout=20, check=False)
        if smi.returncode == 0:
            report["nvidia_smi"] = smi.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        pass
    try:
        import skspectral
        report["skspectral"] = f"{skspectral.__version__} from {Path(skspectral.__file__).parent}"
    except Exception as exc:  # noqa: BLE001
        report["skspectral"] = f"NOT importable: {exc!r}"
    _write(args.out, report)
    packages = ", ".join(f"{k} {v}" for k, v in report["packages"].items() if k != "torch")
    print(f"versions: python {report['python']}; torch {report['torch']} (CUDA build "
          f"{report['torch_cuda_build']}); CUDA available: {report['cuda']}"
          + (f"; GPU {report.get('gpu')}, cuDNN {report.get('cudnn')}, NCCL "
             f"{report.get('nccl')}" if report["cuda"] else "")
          + f"; {packages}; skspectral {report['skspectral']}")
    if report.get("nvidia_smi"):
        print(f"nvidia-smi: {report['nvidia_smi']}")
    return 0


# ------------------------------------------------------------------------------- junit
def junit(args):
    """Counts of the pytest run (passed, failed, errors, skipped, xfailed) and the names and
    messages of every test that did not pass."""
    import xml.etree.ElementTree as ET

    counts = dict(tests=0, passed=0, failed=0, errors=0, skipped=0, xfailed=0)
    not_passed, skip_reasons = [], {}
    for case in ET.parse(args.xml).getroot().iter("testcase"):
        counts["tests"] += 1
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed" if child.tag == "failure" else "errors"
                not_passed.append({"name": name, "outcome": child.tag,
                                   "message": (child.get("message") or "")[:500],
                                   "details": (child.text or "")[-1500:]})
            elif child.tag == "skipped":
                outcome = "xfailed" if child.get("type") == "pytest.xfail" else "skipped"
                reason = (child.get("message") or "")[:300]
                skip_reasons[reason] = skip_reasons.get(reason, 0) + 1
        counts[outcome] += 1
    _write(args.out, {**counts, "not_passed": not_passed, "skip_reasons": skip_reasons})
    print(f"tests: {counts}")
    return 0


# ------------------------------------------------------------------------------- attacks
def attacks(args):
    """Batched TangentAttack vs the per-sample reference of benchmarks/bench_attacks.py, on
    the same model and samples at the attack's defaults (T = 40, 5 starts): samples/s and
    mean distance of each, taking turns over ``--repeats`` random states."""
    import numpy as np
    import torch

    from skspectral import TangentAttack

    bench = _benchmark("bench_attacks")
    device = args.device
    start = time.perf_counter()
    clf, X, y, name = bench.model_and_data(False, device, args.samples)
    train_s = time.perf_counter() - start
    module = clf.module_

    @torch.inference_mode()
    def predict(points):
        return module(torch.from_numpy(points).to(device)).argmax(1).cpu().numpy()

    def run_ours(seed):
        result = TangentAttack(0.0, 1.0, random_state=seed).attack(clf, X, y)
        _sync(device)
        return result

    def run_reference(seed):
        rng = np.random.default_rng(seed)
        pool = (X.reshape(len(X), -1).astype(np.float64), predict(X))
        return [bench.reference_tangent_attack(predict, x.astype(np.float64), int(label), rng,
                                               pool=pool)
                for x, label in zip(X, y, strict=True)]

    TangentAttack(0.0, 1.0, random_state=0).attack(clf, X[:5], y[:5])  # warm-up
    bench.reference_tangent_attack(predict, X[0].astype(np.float64), int(y[0]),
                                   np.random.default_rng(0))
    (ours_t, ours), (ref_t, ref) = bench.timed([run_ours, run_reference], args.repeats)
    ours_d = np.array([r.distances for r in ours])
    ref_d = np.array([[d for d, _ in run] for run in ref])
    ours_mean = float(np.mean([r.mean() for r in ours]))
    ref_finite = ref_d[np.isfinite(ref_d)]
    ref_mean = float(ref_finite.mean()) if ref_finite.size else math.inf
    figures = {
        "model": name, "device": device, "samples": int(len(X)), "repeats": args.repeats,
        "train_s": round(train_s, 3),
        "batched": {"samples_per_s": len(X) / statistics.median(ours_t),
                    "seconds": ours_t, "mean_distance": ours_mean,
                    "not_found": int((~np.isfinite(ours_d)).sum()),
                    "mean_queries": float(np.mean([r.queries.mean() for r in ours]))},
        "per_sample_reference": {
            "samples_per_s": len(X) / statistics.median(ref_t), "seconds": ref_t,
            "mean_distance": ref_mean, "not_found": int((~np.isfinite(ref_d)).sum()),
            "mean_queries": float(np.mean([[q for _, q in run] for run in ref]))},
        "speedup_median_of_rounds": statistics.median(
            r / o for r, o in zip(ref_t, ours_t, strict=True)),
        "mean_distance_ratio": ours_mean / ref_mean if ref_mean else None,
    }
    _write(args.out, figures)
    print(f"attacks on {device}: batched {figures['batched']['samples_per_s']:.2f} samples/s "
          f"(mean distance {ours_mean:.4f}), per-sample reference "
          f"{figures['per_sample_reference']['samples_per_s']:.2f} samples/s (mean distance "
          f"{ref_mean:.4f}); speed-up {figures['speedup_median_of_rounds']:.1f}x, distance "
          f"ratio {figures['mean_distance_ratio']:.4f}")
    return 0


# ------------------------------------------------------------------------------- whitebox
def whitebox(args):
    """FMN and DDN (white-box) beside the Tangent Attack on the device, on the digits MLP of
    benchmarks/bench_whitebox.py: seconds per sample, mean distance and cost of each; and
    FMN on the device against FMN on a CPU copy of the same network (the distances differ
    only by float32 rounding, which moves a trajectory by at most FMN's resolution, 1e-3)."""
    import copy

    import numpy as np

    from skspectral import adversarial_distances

    bench = _benchmark("bench_whitebox")
    device = args.device
    X, y = bench.digits_data()
    start = time.perf_counter()
    clf = bench.digits_model(X, y, device)
    train_s = time.perf_counter() - start
    Xs, ys = bench.correct_samples(clf, X[1300:], y[1300:], args.samples)
    params = {a: {"max_iter": args.max_iter} for a in ("fmn", "ddn")}
    adversarial_distances(clf, Xs[:2], ys[:2], attack="fmn", max_iter=5)  # warm-up
    _sync(device)
    results = bench.run_attacks(clf, Xs, ys, ("tangent", "fmn", "ddn"), **params)
    rows = bench.attack_table(results)
    cpu_module = copy.deepcopy(clf.module_).cpu()
    cpu_fmn = adversarial_distances(cpu_module, Xs, ys, attack="fmn", max_iter=args.max_iter)
    on_device = results["fmn"][0]
    both = on_device.success & cpu_fmn.success
    relative = np.abs(on_device.distances[both] / cpu_fmn.distances[both] - 1)
    figures = {
        "model": "digits MLP 64-256-10", "device": device, "samples": int(len(Xs)),
        "max_iter": args.max_iter, "train_s": round(train_s, 3), "attacks": rows,
        "fmn_device_vs_cpu": {"max_relative_difference": float(relative.max()),
                              "same_success": bool(np.array_equal(on_device.success,
                                                                  cpu_fmn.success)),
                              "cpu_mean": cpu_fmn.mean(), "device_mean": on_device.mean()},
    }
    _write(args.out, figures)
    by = {r["attack"]: r for r in rows}
    print(f"whitebox on {device}: " + "; ".join(
        f"{name} {r['mean']:.4f} at {r['s_per_sample'] * 1e3:.2f} ms/sample"
        for name, r in by.items())
        + f"; FMN device vs CPU max relative difference {relative.max():.2e}")
    return 0


# ------------------------------------------------------------------------------- resnet
def resnet(args):
    """ResNet18 (small stem, 32x32, batch 128) step times through SpectralResNetClassifier:
    no penalty, rep-spectral every 24 steps and every step (benchmarks/bench_resnet.py's
    ``step_times``), configurations taking turns for ``--rounds`` rounds."""
    import numpy as np

    bench = _benchmark("bench_resnet")
    device = args.device
    bench.step_times(None, 24, 2, device)  # warm-up: cuDNN heuristics, allocator
    configs = {"none": (None, 24), "rep_every_24": ("rep", 24), "rep_every_1": ("rep", 1)}
    times = {label: [] for label in configs}
    for _ in range(args.rounds):
        for label, (regularizer, k) in configs.items():
            times[label] += bench.step_times(regularizer, k, args.steps, device)
    summary = {label: {"median_s": float(np.median(v)), "mean_s": float(np.mean(v)),
                       "steps": len(v)} for label, v in times.items()}
    base = summary["none"]
    figures = {"device": device, "model": "ResNet18 small stem, 32x32 RGB, batch 128",
               "steps_per_fit": args.steps, "rounds": args.rounds, "step_times": summary}
    for label in ("rep_every_24", "rep_every_1"):
        figures[f"ratio_{label}_median"] = summary[label]["median_s"] / base["median_s"]
        figures[f"ratio_{label}_mean"] = summary[label]["mean_s"] / base["mean_s"]
    try:  # the penalty's own cost: one power step vs the exact FFT, all 3x3 convolutions
        rows = [r for r in bench.norm_costs(device) if r[2] is not None]
        figures["norm_evaluation_ms"] = {"power_step_all_3x3": 1e3 * sum(r[2] for r in rows),
                                         "fft_all_3x3": 1e3 * sum(r[3] for r in rows),
                                         "layers": len(rows)}
    except Exception as exc:  # noqa: BLE001 - the step times stand without it
        figures["norm_evaluation_ms"] = f"failed: {exc!r}"
    _write(args.out, figures)
    print(f"resnet on {device}: none {base['median_s'] * 1e3:.2f} ms/step, rep k=24 "
          f"{summary['rep_every_24']['median_s'] * 1e3:.2f} ms (ratio median "
          f"{figures['ratio_rep_every_24_median']:.3f}, mean "
          f"{figures['ratio_rep_every_24_mean']:.3f}), rep k=1 "
          f"{summary['rep_every_1']['median_s'] * 1e3:.2f} ms")
    return 0


# ------------------------------------------------------------------------------- barlow
def barlow(args):
    """SpectralBarlowTwins training step (two views, backbone, projector, loss, SGD) with
    rep-spectral every ``--update-every`` steps against none, and the augmentation's share of
    a step (benchmarks/bench_barlow.py's ``step_times`` and ``augmentation_share``)."""
    import numpy as np
    import torch

    bench = _benchmark("bench_barlow")
    device = args.device
    n = 2 * args.update_every * args.batch_size
    images = torch.from_numpy(np.random.default_rng(0).random(
        (n, 3, args.image_size, args.image_size), dtype=np.float32))
    times = bench.step_times(images, args.batch_size, args.update_every, device, args.rounds)
    share = bench.augmentation_share(images, args.batch_size, device, times["no penalty"],
                                     args.rounds)
    figures = {"device": device, "model": f"ResNet18 small stem, {args.image_size}x"
                                          f"{args.image_size} RGB, two 'barlow' views",
               "batch_size": args.batch_size, "update_every": args.update_every,
               "steps_per_fit": 2 * args.update_every, "rounds": args.rounds,
               "step_s": times, "ratio": times["rep-spectral"] / times["no penalty"],
               "augmentation_share_of_step": share}
    _write(args.out, figures)
    print(f"barlow on {device}: no penalty {times['no penalty'] * 1e3:.1f} ms/step, "
          f"rep-spectral {times['rep-spectral'] * 1e3:.1f} ms/step (ratio "
          f"{figures['ratio']:.3f}); augmentation {100 * share:.1f}% of a step")
    return 0


# ------------------------------------------------------------------------------- merge
def merge(args):
    """``gpu.json``: versions, CUDA, every step's status and wall time and its figures."""
    work = Path(args.work)
    versions = {}
    for name in ("versions.json", "probe.json"):
        if (work / name).is_file():
            versions = json.loads((work / name).read_text())
            break
    steps = {}
    if (work / "steps.tsv").is_file():
        for line in (work / "steps.tsv").read_text().splitlines():
            name, status, rc, wall, limit, note = (line.split("\t") + [""] * 6)[:6]
            step = {"status": status, "rc": int(rc) if rc.lstrip("-").isdigit() else None,
                    "wall_s": float(wall) if wall else None,
                    "limit_s": int(limit) if limit.isdigit() else None}
            if note:
                step["note"] = note
            figures = work / f"{name}.json"
            if figures.is_file() and name not in ("probe", "versions"):  # those: "versions"
                step["figures"] = json.loads(figures.read_text())
            log = work / f"{name}.log"
            if log.is_file() and status not in ("ok", "absent"):
                step["log_tail"] = log.read_text(errors="replace")[-3000:]
            elif log.is_file() and name == "streaming":
                step["output_tail"] = log.read_text(errors="replace")[-3000:]
            steps[name] = step
    if "streaming" not in steps and args.stopped is None:
        steps["streaming"] = {"status": "absent"}
    tests = steps.get("tests", {}).get("figures", {})
    report = {
        "cuda": bool(versions.get("cuda", False)),
        "stopped": args.stopped,
        "exit_code": args.exit_code,
        "budget_s": args.budget,
        "wall_s": args.wall,
        "summary": {name: step["status"] for name, step in steps.items()},
        "tests": {k: tests.get(k) for k in ("passed", "failed", "errors", "skipped",
                                            "xfailed", "tests")} if tests else None,
        "versions": versions,
        "steps": steps,
    }
    _write(args.out, report)
    print(f"wrote {args.out}: cuda={report['cuda']}, stopped={args.stopped!r}, "
          f"steps={report['summary']}, tests={report['tests']}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("probe")
    p.add_argument("--out", required=True)
    p = sub.add_parser("junit")
    p.add_argument("xml")
    p.add_argument("--out", required=True)
    p = sub.add_parser("attacks")
    p.add_argument("--device", default="cuda")
    p.add_argument("--samples", type=int, default=16)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", required=True)
    p = sub.add_parser("whitebox")
    p.add_argument("--device", default="cuda")
    p.add_argument("--samples", type=int, default=100)
    p.add_argument("--max-iter", type=int, default=1000)
    p.add_argument("--out", required=True)
    p = sub.add_parser("resnet")
    p.add_argument("--device", default="cuda")
    p.add_argument("--steps", type=int, default=48)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--out", required=True)
    p = sub.add_parser("barlow")
    p.add_argument("--device", default="cuda")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--update-every", type=int, default=24)
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--out", required=True)
    p = sub.add_parser("merge")
    p.add_argument("--work", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--stopped", default=None)
    p.add_argument("--exit-code", type=int, default=None)
    p.add_argument("--budget", type=int, default=None)
    p.add_argument("--wall", type=float, default=None)
    args = parser.parse_args(argv)
    return {"probe": probe, "junit": junit, "attacks": attacks, "whitebox": whitebox,
            "resnet": resnet, "barlow": barlow, "merge": merge}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
