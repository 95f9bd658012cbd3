"""Cross-check of the harness's GPU timing against CUDA events (a benchmark script; needs CUDA).

The harness times a GPU run as ``torch.cuda.synchronize(); t0 = perf_counter_ns(); run();
torch.cuda.synchronize(); t1 = perf_counter_ns()`` (the one timing loop,
``analysis.latency.timing`` with the setup's ``timer_for``). CUDA events time the same run on
the GPU's own clock: ``start.record(); run(); end.record(); end.synchronize()``, then
``start.elapsed_time(end)``. For each model and mode both are taken on the same prepared runner
(eager, or the captured CUDA graph), one block after the other, and the ratio of the medians
(perf_counter / events) is printed: at or slightly above 1 (the synchronize calls cost a few
microseconds), far above 1 would mean the perf_counter interval holds host work the GPU does
not see.

    python3 benchmarks/cuda_timing.py                                   # 3 models, eager+graph
    python3 benchmarks/cuda_timing.py --models figure2 --runs 100 --precision fp16
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

import numpy as np  # noqa: E402
import torch  # noqa: E402

from analysis.latency.campaign import as_items  # noqa: E402
from analysis.latency.harness import Item, prepare  # noqa: E402
from analysis.latency.runtimes import Setup, check_setup, runner, timer_for  # noqa: E402
from analysis.latency.timing import time_runs  # noqa: E402

DEFAULT_MODELS = "mobileone_s0,mobilenetv2_100,deit_tiny"


def event_times(fn, *, runs: int, warmup: int = 0) -> np.ndarray:
    """``runs`` durations (ms) of ``fn`` measured with CUDA events, after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    out = np.empty(runs)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    for i in range(runs):
        start.record()
        fn()
        end.record()
        end.synchronize()
        out[i] = start.elapsed_time(end)
    return out


def cross_check(item: Item, setup: Setup, *, runs: int = 50, warmup: int = 10,
                seed: int = 0) -> dict:
    """perf_counter (harness) and CUDA-event timing of one item on one setup: min and median
    of each and the ratio of the medians."""
    check_setup(setup)
    module, example = prepare(item, seed=seed)
    with runner(setup, module, example) as run:
        perf = time_runs(run, runs=runs, warmup=warmup, timer=timer_for(setup))
        events = event_times(run, runs=runs)
    return {"model": item.label, "mode": setup.mode, "precision": setup.precision,
            "runs": runs, "perf_min_ms": float(perf.min()),
            "perf_median_ms": float(np.median(perf)), "event_min_ms": float(events.min()),
            "event_median_ms": float(np.median(events)),
            "ratio_median": float(np.median(perf) / np.median(events))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=DEFAULT_MODELS)
    parser.add_argument("--mode", default="eager,graph")
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("error: no CUDA device: this benchmark cross-checks GPU timing", file=sys.stderr)
        return 2
    threads = torch.get_num_threads()
    print(f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}, CUDA "
          f"{torch.version.cuda}; {args.runs} runs after {args.warmup} warm-up", flush=True)
    for item in as_items(args.models):
        for mode in args.mode.split(","):
            r = cross_check(item, Setup("torch", threads, "cuda", mode, args.precision),
                            runs=args.runs, warmup=args.warmup)
            print(f"{r['model']:20s} {mode:5s} {args.precision}: perf_counter median "
                  f"{r['perf_median_ms']:.4f} ms, events median {r['event_median_ms']:.4f} ms,"
                  f" ratio {r['ratio_median']:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
