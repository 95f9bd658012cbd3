"""Harness overhead and run-to-run stability of local latency measurements (a benchmark script).

1. **Overhead**: the harness's median (``analysis.latency.measure_model``) for one model
   (default MobileOne-S0, fused, native size, batch 1) against
   ``torch.utils.benchmark.Timer.blocked_autorange`` on the same model, input and threads,
   printed as a ratio (1.00 = the harness adds nothing measurable).
2. **Stability**: two full measurements of a group (default ``figure2``) one after the other;
   the Spearman rank correlation between the two passes' medians (and minima) says how
   reproducible a ranking measured on this machine is.

Run on an idle machine::

    .venv/bin/python benchmarks/harness_overhead.py                 # both parts
    .venv/bin/python benchmarks/harness_overhead.py --models mobileone --runs 30

Everything printed states its context (CPU, cores, threads, versions, runs, input size).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

import torch  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

from analysis.latency import (describe_context, machine_context, measure_model,  # noqa: E402
                              measure_models)


def overhead(model_name: str, runtime: str, runs: int, warmup: int, threads: int,
             min_run_time: float) -> None:
    """Print the harness median, the Timer median and their ratio for one model."""
    from torch.utils.benchmark import Timer

    from analysis.export import example_input
    from analysis.models import create_model, deploy, get_entry

    entry = get_entry(model_name)
    row = measure_model(entry.id, runtime, runs=runs, warmup=warmup, threads=threads)
    model = deploy(create_model(entry.id))
    x = example_input(entry.input_size)
    timer = Timer(stmt="model(x)", globals={"model": model, "x": x}, num_threads=threads)
    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        measurement = timer.blocked_autorange(min_run_time=min_run_time)
    timer_ms = measurement.median * 1e3
    print(f"\n[overhead] {entry.display_name}, fused, {entry.input_size}x{entry.input_size}, "
          f"batch 1, fp32, {threads} threads, runtime {runtime}")
    print(f"  harness (perf_counter_ns per run, {runs} runs after {warmup} warm-up): "
          f"median {row['median_ms']:.4f} ms, min {row['min_ms']:.4f} ms, "
          f"cv {row['cv']:.3f}")
    print(f"  torch.utils.benchmark.Timer.blocked_autorange (min_run_time {min_run_time} s, "
          f"{len(measurement.times)} blocks of {measurement.number_per_run} runs): "
          f"median {timer_ms:.4f} ms, IQR {measurement.iqr * 1e3:.4f} ms")
    print(f"  ratio harness median / Timer median = {row['median_ms'] / timer_ms:.3f}")
    if runtime != "torch":
        print("  (the Timer times PyTorch eager; with another runtime the ratio compares "
              "runtimes, not only the harness)")


def stability(models: str, runtime: str, runs: int, warmup: int, threads: int) -> None:
    """Measure ``models`` twice and print the Spearman correlation of the two passes."""
    passes = []
    for i in (1, 2):
        print(f"\n[stability] pass {i}: {models}, runtime {runtime}, {runs} runs, "
              f"{warmup} warm-up, {threads} threads, native sizes, batch 1, fp32, fused")
        passes.append(measure_models(models, runtime, runs=runs, warmup=warmup,
                                     threads=threads, progress=True))
    a, b = passes
    b = b.set_index("model").loc[a["model"]].reset_index()
    print(f"\n[stability] {len(a)} models, two passes on this machine")
    for stat in ("median_ms", "min_ms"):
        rho, p = spearmanr(a[stat], b[stat])
        rel = ((b[stat] - a[stat]).abs() / a[stat])
        print(f"  {stat[:-3]:>6}: Spearman rho = {rho:.4f} (p = {p:.2g}); relative change "
              f"per model: median {rel.median():.1%}, max {rel.max():.1%} "
              f"({a.loc[rel.idxmax(), 'model']})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="MobileOne-S0", help="model for the overhead part")
    parser.add_argument("--models", default="figure2",
                        help="group / models for the stability part (default figure2)")
    parser.add_argument("--runtime", choices=["torch", "onnxruntime"], default="torch")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--min-run-time", type=float, default=5.0,
                        help="seconds for Timer.blocked_autorange (default 5)")
    parser.add_argument("--skip-overhead", action="store_true")
    parser.add_argument("--skip-stability", action="store_true")
    args = parser.parse_args(argv)

    print("context:", describe_context(machine_context()))
    if not args.skip_overhead:
        overhead(args.model, args.runtime, args.runs, args.warmup, args.threads,
                 args.min_run_time)
    if not args.skip_stability:
        stability(args.models, args.runtime, args.runs, args.warmup, args.threads)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
