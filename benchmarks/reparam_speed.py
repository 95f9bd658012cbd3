"""Performance targets of notebook 04 (issue 12), printed — never timed tests.

1. Fused MobileOne-S0 ≥ 3× faster than train-time S0 (k = 4), PyTorch eager.
2. Fused / plain ``nn.Sequential`` of the same layers ≤ 1.05 (interleaved timing, min of runs),
   per variant.
3. For orientation: the measured matmul ceiling (torch.matmul 2048×2048 fp32, min of 10 runs)
   and the share of it each fused variant reaches in PyTorch eager (2 × MACs / min latency).

All timings are interleaved (one loop times every model once per round, alternating order), so
a busy shared machine slows all models alike; the minimum over runs is reported. Run::

    .venv/bin/python benchmarks/reparam_speed.py                   # S0–S4, 224 px
    .venv/bin/python benchmarks/reparam_speed.py --variants S0 --runs 50 --threads 1
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

import torch  # noqa: E402

from analysis import reparam_study as rs  # noqa: E402
from analysis import reparam_timing as rt  # noqa: E402
from analysis.latency import describe_context, machine_context  # noqa: E402
from analysis.report_reparam import TARGET_S0_SPEEDUP, TARGET_SEQUENTIAL_RATIO  # noqa: E402


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", default="S0,S1,S2,S3,S4")
    ap.add_argument("--runs", type=int, default=30, help="interleaved rounds (S0; S1–S4 scaled by MACs)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--input-size", type=int, default=224)
    args = ap.parse_args(argv)
    variants = rs.variant_ids(args.variants)
    size, threads = args.input_size, args.threads
    print(describe_context(machine_context()))
    print(f"threads {threads}, input {size}x{size}, batch 1, fp32, PyTorch {torch.__version__}, "
          f"statistic: min of interleaved runs\n")
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0))

    if "s0" in variants:
        train, fused = rs.build_pair("s0", rs.official_k("s0"))
        t = rt.interleaved_times({"train": train, "fused": fused}, x, runs=args.runs,
                                 warmup=args.warmup, threads=threads)
        ratio = t["train"].min() / t["fused"].min()
        print(f"[1] S0 train-time (k = {rs.official_k('s0')}) {t['train'].min():.2f} ms, fused "
              f"{t['fused'].min():.2f} ms: fused is {ratio:.2f}x faster "
              f"(target >= {TARGET_S0_SPEEDUP:g}x: {verdict(ratio >= TARGET_S0_SPEEDUP)})")

    from analysis.complexity import count_complexity

    macs = {v: count_complexity(rs.build_pair(v, 1)[1], size, fuse=False).macs for v in variants}
    ref = min(macs.values())
    runs = {v.upper(): rs.runs_for(m, ref, args.runs, 5) for v, m in macs.items()}
    seq = rt.sequential_overhead(variants, input_size=size, threads=threads, runs=runs,
                                 warmup=args.warmup)
    for _, r in seq.iterrows():
        print(f"[2] {r['variant']}: fused {r['fused_min_ms']:.2f} ms, plain Sequential "
              f"{r['sequential_min_ms']:.2f} ms, ratio {r['ratio_min']:.3f} (median "
              f"{r['ratio_median']:.3f}, {r['n_runs']} runs; target <= {TARGET_SEQUENTIAL_RATIO}: "
              f"{verdict(r['ratio_min'] <= TARGET_SEQUENTIAL_RATIO)})")

    ceiling = rt.matmul_ceiling(threads)
    print(f"[3] ceiling: {rt.ceiling_derivation(ceiling).replace('**', '')}")
    for _, r in seq.iterrows():
        gflops = 2 * macs[r["variant"].lower()] / (r["fused_min_ms"] / 1e3) / 1e9
        print(f"    fused {r['variant']} (torch): {gflops:.1f} GFLOP/s = "
              f"{gflops / ceiling['gflops']:.0%} of the ceiling")
    return 0


if __name__ == "__main__":
    sys.exit(main())
