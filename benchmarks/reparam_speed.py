"""Notebook 04's performance, printed — never timed tests.

1. How long the study takes: ``run(params, draw=False)`` with the defaults on the shipped
   campaigns (nothing is measured), with an empty cache (as CI runs it) and again with the cache
   it filled. Target: ≤ 15 s on a quiet 2-core machine. A fresh clone reuses the committed
   counts and Core ML sizes by key; ``--no-committed`` times the recount and reconversion too.
2. ``--measure``: the study's targets on this machine — a live campaign of the sets reparam,
   sequential and matmul (the notebook's ``MEASURE``) into a temporary folder, judged by its own
   noise model: fused MobileOne-S0 ≥ 3× faster than train-time S0 (k = 4), PyTorch eager; fused
   / plain ``nn.Sequential`` of the same layers ≤ 1.05, per variant; the matmul reference
   throughput and each fused variant's share of it. Run::

    .venv/bin/python benchmarks/reparam_speed.py                  # the run time
    .venv/bin/python benchmarks/reparam_speed.py --measure --variants S0 --sessions 3
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from analysis.latency import describe_context, machine_context  # noqa: E402
from analysis.studies import reparam as study  # noqa: E402
from analysis.studies.reparam import coreml, counts  # noqa: E402


def time_run(committed: bool) -> None:
    """The study with the defaults, an empty cache, then the filled cache."""
    if not committed:
        counts.COMMITTED = coreml.COMMITTED = Path(os.devnull)
    with tempfile.TemporaryDirectory(prefix="reparam-cache-") as cache:
        os.environ["MOBILEONE_STUDY_CACHE"] = cache
        for label in ("empty cache", "warm cache"):
            t = time.perf_counter()
            study.run(study.parameters(), draw=False)
            print(f"run(params, draw=False), {label}"
                  f"{'' if committed else ', no committed counts'}: "
                  f"{time.perf_counter() - t:.1f} s", flush=True)


def measure(args) -> None:
    """The targets, on a campaign measured now."""
    with tempfile.TemporaryDirectory(prefix="reparam-live-") as out:
        p = study.parameters(VARIANTS=args.variants, RUNTIMES=["torch"], SWEEP_RUNTIMES=[],
                             K_VALUES=[4], MEASURE=True, N_SESSIONS=args.sessions,
                             N_RUNS=args.runs, THREADS=args.threads, COREML_VARIANTS=[],
                             OUTPUT_DIR=out, FIGURE_DIR=out)
        data = study.campaigns(p)
        print(data.describe())
        bands = study.noise_bands(data)
        for _, b in bands.iterrows():
            print(f"noise band {b['runtime']}: ±{b['band']:.1%} (min), ±{b['median_band']:.1%} "
                  f"(median), {b['covers']}")
        c = study.count_forms(p)
        reparam = study.reparam_table(p, c, data)
        for _, r in study.speedup_table(reparam, bands).iterrows():
            print(f"[1] {r['variant']} (k = {r['k']}): train-time {r['train_ms']:.2f} ms, fused "
                  f"{r['fused_ms']:.2f} ms: {r['speedup']:.2f}x ({r['verdict']})")
        seq = study.sequential_overhead(p, study.sequential_check(p, c), data, bands)
        for _, r in seq.iterrows():
            print(f"[2] {r['variant']}: fused / Sequential {r['ratio_min']:.3f} (sessions "
                  f"{r['ratio_min_low']:.3f}-{r['ratio_min_high']:.3f}; median "
                  f"{r['ratio_median']:.3f}): {r['verdict']}; target: {r['target_verdict']}")
        reference = study.reference_throughput(p, data)
        print(f"[3] {study.reference_derivation(reference).replace('**', '')}")
        for _, r in study.throughput_table(reparam, reference).iterrows():
            print(f"    fused {r['variant']}: {r['gflops']:.1f} GFLOP/s = "
                  f"{r['share_of_reference']:.0%} of the reference")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--measure", action="store_true", help="the targets on a live campaign")
    ap.add_argument("--no-committed", action="store_true",
                    help="time the recount and reconversion a changed model would need")
    ap.add_argument("--variants", default="S0,S1,S2,S3,S4")
    ap.add_argument("--sessions", type=int, default=3)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    print(describe_context(machine_context()))
    if args.measure:
        measure(args)
    else:
        time_run(not args.no_committed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
