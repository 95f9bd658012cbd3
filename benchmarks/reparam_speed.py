"""Performance targets of notebook 04 (issue 12), printed — never timed tests.

1. Fused MobileOne-S0 ≥ 3× faster than train-time S0 (k = 4), PyTorch eager.
2. Fused / plain ``nn.Sequential`` of the same layers ≤ 1.05 (interleaved timing, min of runs),
   per variant.
3. For orientation: the matmul reference throughput (torch.matmul 2048×2048 fp32, min of 10
   runs) and the share of it each fused variant reaches in PyTorch eager (2 × MACs / min
   latency). The reference is not the CPU's peak: a share above 100 % is possible.

The numbers come from notebook 04's own steps (``analysis.studies.reparam``), measured live: all
timings are interleaved (one loop times every model once per round, alternating order), so a
busy shared machine slows all models alike; the minimum over runs is reported. Run::

    .venv/bin/python benchmarks/reparam_speed.py                   # S0–S4, 224 px
    .venv/bin/python benchmarks/reparam_speed.py --variants S0 --runs 50 --threads 1
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

import torch  # noqa: E402

from analysis.constants import TARGET_S0_SPEEDUP, TARGET_SEQUENTIAL_RATIO  # noqa: E402
from analysis.latency import describe_context, machine_context  # noqa: E402
from analysis.studies import reparam as study  # noqa: E402


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", default="S0,S1,S2,S3,S4")
    ap.add_argument("--runs", type=int, default=30,
                    help="interleaved rounds (S0; S1–S4 scaled by MACs)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--input-size", type=int, default=224)
    args = ap.parse_args(argv)
    P = study.parameters(VARIANTS=args.variants, N_RUNS=args.runs, N_WARMUP=args.warmup,
                         THREADS=args.threads, INPUT_SIZE=args.input_size, RUNTIMES=["torch"],
                         SWEEP_RUNTIMES=[], COREML_VARIANTS=[])
    print(describe_context(machine_context()))
    print(f"threads {P.THREADS}, input {P.INPUT_SIZE}x{P.INPUT_SIZE}, batch 1, fp32, PyTorch "
          f"{torch.__version__}, statistic: min of interleaved runs\n")
    counts = study.count_forms(P)
    reparam = study.reparam_table(counts, study.fusing_timings(P, counts))
    for _, r in study.speedup_table(reparam).iterrows():
        if r["variant"] == "S0":
            print(f"[1] S0 train-time (k = {r['k']}) {r['train_ms']:.2f} ms, fused "
                  f"{r['fused_ms']:.2f} ms: fused is {r['speedup']:.2f}x faster "
                  f"(target >= {TARGET_S0_SPEEDUP:g}x: "
                  f"{verdict(r['speedup'] >= TARGET_S0_SPEEDUP)})")
    seq = study.sequential_overhead(study.sequential_check(P), study.sequential_timings(P, counts))
    for _, r in seq.iterrows():
        print(f"[2] {r['variant']}: fused {r['fused_min_ms']:.2f} ms, plain Sequential "
              f"{r['sequential_min_ms']:.2f} ms, ratio {r['ratio_min']:.3f} (median "
              f"{r['ratio_median']:.3f}, {r['n_runs']} runs; target <= {TARGET_SEQUENTIAL_RATIO}: "
              f"{verdict(r['ratio_min'] <= TARGET_SEQUENTIAL_RATIO)})")
    reference = study.reference_throughput(study.reference_timings(P))
    print(f"[3] reference: {study.reference_derivation(reference).replace('**', '')}")
    for _, r in study.throughput_table(reparam, reference).iterrows():
        print(f"    fused {r['variant']} (torch): {r['gflops']:.1f} GFLOP/s = "
              f"{r['share_of_reference']:.0%} of the reference")
    return 0


if __name__ == "__main__":
    sys.exit(main())
