"""Harness overhead, run-to-run stability and the session spread per thread count (a benchmark).

1. **Overhead**: the harness's median (``analysis.latency.measure_model``, the one timing loop)
   for one model (default MobileOne-S0, fused, native size, batch 1) against
   ``torch.utils.benchmark.Timer.blocked_autorange`` on the same model, input and threads,
   printed as a ratio (1.00 = the harness adds nothing measurable).
2. **Session spread per thread count** (issue 19, item 4): a campaign of ``--sessions``
   sessions of a group (default ``figure2``) at each of ``--threads-list`` (default 1 and 2);
   per network the spread of its per-session minimum, max / min − 1, summarised by its median
   and 90th percentile over the networks, and the Spearman ρ between the first two sessions'
   rankings. The steadier thread count is the one to ship campaigns at.

Run on an idle machine (the spread part at defaults takes about 2 × 3 sessions × 21 models)::

    .venv/bin/python benchmarks/harness_overhead.py                      # both parts
    .venv/bin/python benchmarks/harness_overhead.py --skip-overhead --models mobileone \\
        --sessions 3 --runs 30 --threads-list 1,2

Everything printed states its context (CPU, cores, threads, versions, runs, input size).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

import numpy as np  # noqa: E402
import torch  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402
from torch.utils.benchmark import Timer  # noqa: E402

from analysis.latency import describe_context, machine_context, measure_model  # noqa: E402
from analysis.latency.campaign import as_items, run_campaign  # noqa: E402
from analysis.latency.harness import prepare  # noqa: E402
from analysis.models import get_entry  # noqa: E402
from analysis.noise import session_spread  # noqa: E402


def overhead(model_name: str, runtime: str, runs: int, warmup: int, threads: int,
             min_run_time: float) -> dict:
    """Print (and return) the harness median, the Timer median and their ratio."""
    entry = get_entry(model_name)
    row = measure_model(entry.id, runtime, runs=runs, warmup=warmup, threads=threads)
    model, x = prepare(as_items(entry.id)[0])
    timer = Timer(stmt="model(x)", globals={"model": model, "x": x}, num_threads=threads)
    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        measurement = timer.blocked_autorange(min_run_time=min_run_time)
    timer_ms = measurement.median * 1e3
    print(f"\n[overhead] {entry.display_name}, fused, {entry.input_size}x{entry.input_size}, "
          f"batch 1, fp32, {threads} threads, runtime {runtime}")
    print(f"  harness ({row['clock']} per run, {runs} runs after {warmup} warm-up): "
          f"median {row['median_ms']:.4f} ms, min {row['min_ms']:.4f} ms, cv {row['cv']:.3f}")
    print(f"  torch.utils.benchmark.Timer.blocked_autorange (min_run_time {min_run_time} s, "
          f"{len(measurement.times)} blocks of {measurement.number_per_run} runs): "
          f"median {timer_ms:.4f} ms, IQR {measurement.iqr * 1e3:.4f} ms")
    print(f"  ratio harness median / Timer median = {row['median_ms'] / timer_ms:.3f}")
    if runtime != "torch":
        print("  (the Timer times PyTorch eager; with another runtime the ratio compares "
              "runtimes, not only the harness)")
    return {"harness_median_ms": row["median_ms"], "timer_median_ms": timer_ms}


def spread_summary(rows) -> dict:
    """Median and 90th percentile over networks of max/min − 1 of the per-session minimum,
    and Spearman ρ between the rankings of sessions 1 and 2."""
    spread = session_spread(rows)["spread"].to_numpy(dtype=float)
    first = rows[rows["session"] == 1].set_index("model")["latency_ms"]
    second = rows[rows["session"] == 2].set_index("model")["latency_ms"]
    common = first.index.intersection(second.index)
    rho = spearmanr(first[common], second[common]).statistic if len(common) > 2 else np.nan
    return {"n_models": int(len(spread)), "median_spread": float(np.median(spread)),
            "p90_spread": float(np.percentile(spread, 90)), "rho_sessions_1_2": float(rho)}


def spread_by_threads(models: str, runtime: str, runs: int, warmup: int, sessions: int,
                      threads_list: list[int], seed: int) -> dict[int, dict]:
    """A ``sessions``-session campaign at each thread count; print the spread figures."""
    out = {}
    for threads in threads_list:
        print(f"\n[spread] {models}, runtime {runtime}, {sessions} sessions, {runs} runs after "
              f"{warmup} warm-up, {threads} thread(s), native sizes, batch 1, fp32, fused",
              flush=True)
        result = run_campaign(as_items(models), runtime, sessions=sessions, runs=runs,
                              warmup=warmup, threads=threads, seed=seed, progress=True)
        out[threads] = spread_summary(result.rows)
    print(f"\n[spread] session spread of each network's minimum (max/min - 1 over {sessions} "
          f"sessions), over the networks:")
    for threads, s in out.items():
        print(f"  {threads} thread(s): median {s['median_spread']:.1%}, 90th percentile "
              f"{s['p90_spread']:.1%} ({s['n_models']} networks); Spearman rho sessions 1-2 "
              f"{s['rho_sessions_1_2']:.3f}")
    steadier = min(out, key=lambda t: (out[t]["p90_spread"], out[t]["median_spread"]))
    print(f"  steadier: {steadier} thread(s) (lower 90th percentile of the spread)")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="MobileOne-S0", help="model for the overhead part")
    parser.add_argument("--models", default="figure2",
                        help="group / models for the spread part (default figure2)")
    parser.add_argument("--runtime", choices=["torch", "onnxruntime"], default="torch")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(),
                        help="threads of the overhead part")
    parser.add_argument("--threads-list", default="1,2",
                        help="thread counts of the spread part (default 1,2)")
    parser.add_argument("--sessions", type=int, default=3, help="sessions per thread count")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-run-time", type=float, default=5.0,
                        help="seconds for Timer.blocked_autorange (default 5)")
    parser.add_argument("--skip-overhead", action="store_true")
    parser.add_argument("--skip-spread", action="store_true")
    args = parser.parse_args(argv)

    print("context:", describe_context(machine_context()))
    if not args.skip_overhead:
        overhead(args.model, args.runtime, args.runs, args.warmup, args.threads,
                 args.min_run_time)
    if not args.skip_spread:
        spread_by_threads(args.models, args.runtime, args.runs, args.warmup, args.sessions,
                          [int(t) for t in args.threads_list.split(",")], args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
