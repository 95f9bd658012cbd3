"""The GPU check (issue 21): one prepared script for a CUDA machine, at most 5 minutes.

Run from the repository root on the GPU machine (the package is imported from the source
tree; it needs torch, numpy, pandas and scipy, not fvcore, coremltools or papermill)::

    PYTHONUNBUFFERED=1 python3 benchmarks/gpu_check.py          # writes into $OUT

Protocol (the shipped H200 campaign's, ``data/external/h200/README.md``): clocks raised with
3 s of matmuls; ``cudnn.benchmark`` on, TF32 off; 10 warm-up + 50 timed runs per model and mode;
the Figure 2 zoo timed with the project's harness as a 1-session campaign in eager and CUDA-graph
mode, fp32, then fp16 if time is left; a CUDA-event cross-check of the perf_counter timing on a
few models (``benchmarks/cuda_timing.py``). Then it compares with the shipped H200 numbers
(``data/external/h200/h200_sessions.csv``, median over its sessions of each network's minimum):
per regime the Spearman ρ between the two machines' latencies and the median ratio ours / shipped
(skipped, with a note, when the file is absent). Every phase has a deadline inside
``--budget-s``: what does not fit is skipped and listed, never left running.

Writes ``gpu_campaign.csv`` (the campaign, the project's format) and ``gpu_check.json`` (the
summary) to the folder named by ``$OUT`` (default ``runs/gpu_check``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]  # the source tree, and cuda_timing

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from cuda_timing import cross_check  # noqa: E402 - the sibling benchmark script
from scipy.stats import spearmanr  # noqa: E402

from analysis import paths  # noqa: E402
from analysis.latency.campaign import as_items, run_campaign  # noqa: E402
from analysis.latency.context import describe_context, machine_context  # noqa: E402
from analysis.latency.runtimes import Setup  # noqa: E402

REFERENCE = paths.EXTERNAL_DATA / "h200" / "h200_sessions.csv"
CROSS_CHECK_MODELS = "mobileone_s0,mobilenetv2_100,deit_tiny"
START = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - START:6.1f} s] {message}", flush=True)


def warm_clocks(seconds: float, accelerator: str) -> int:
    """fp32 matmuls for ``seconds`` (raises the GPU's clocks); returns how many ran."""
    device = "cuda" if accelerator == "cuda" else "cpu"
    n = 4096 if device == "cuda" else 256
    a = torch.randn(n, n, device=device)
    count, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        for _ in range(10):
            a = torch.matmul(a, a).clamp_(-1, 1)
        if device == "cuda":
            torch.cuda.synchronize()
        count += 10
    return count


def reference_table(path: Path) -> pd.DataFrame | None:
    """Per (model, regime) the median over sessions of the minimum, from the shipped H200
    sessions file; ``None`` when it is absent."""
    if not path.is_file():
        return None
    ref = pd.read_csv(path)
    if "error" in ref.columns:
        ref = ref[ref["error"].isna() | (ref["error"].astype(str).str.strip() == "")]
    return (ref.groupby(["model", "mode"])["min_ms"].median().rename("reference_ms")
            .reset_index().rename(columns={"mode": "regime"}))


def compare(ours: pd.DataFrame, ref: pd.DataFrame | None) -> list[dict]:
    """Per regime (``<mode>_<precision>``): models in common, Spearman ρ of the latencies and
    the median ratio ours / reference."""
    if ref is None or ours.empty:
        return []
    ours = ours.assign(regime=ours["mode"] + "_" + ours["precision"])
    both = ours.merge(ref, on=["model", "regime"])
    out = []
    for regime, part in both.groupby("regime", sort=True):
        rho = spearmanr(part["latency_ms"], part["reference_ms"]).statistic \
            if len(part) > 2 else float("nan")
        out.append({"regime": regime, "n_models": int(len(part)), "rho": float(rho),
                    "median_ratio": float(np.median(part["latency_ms"] / part["reference_ms"]))})
    return out


def _campaign(items, args, out: Path, precision: str, modes: list[str], deadline: float,
              resume: bool):
    return run_campaign(items, "torch", sessions=1, runs=args.runs, warmup=args.warmup,
                        seed=args.seed, out=out, accelerator=args.accelerator, modes=modes,
                        precisions=[precision], resume=resume, force=not resume,
                        deadline=deadline, command="python3 benchmarks/gpu_check.py "
                        + " ".join(sys.argv[1:]))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default="figure2", help="models or groups (default figure2)")
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--budget-s", type=float, default=270.0,
                   help="wall-clock budget of the whole check, seconds (default 270)")
    p.add_argument("--warm-s", type=float, default=3.0, help="seconds of matmuls first")
    p.add_argument("--accelerator", choices=["cuda", "cpu"], default="cuda",
                   help="cpu: a dry run of the same code path (eager fp32 only), for tests")
    p.add_argument("--input-size", type=int, default=None, help="override (dry runs)")
    p.add_argument("--reference", type=Path, default=REFERENCE)
    p.add_argument("--no-fp16", action="store_true")
    args = p.parse_args(argv)
    out_dir = Path(os.environ.get("OUT") or paths.ROOT / "runs" / "gpu_check")
    out_dir.mkdir(parents=True, exist_ok=True)
    gpu = args.accelerator == "cuda"
    if gpu and not torch.cuda.is_available():
        print("error: no CUDA device here (pass --accelerator cpu for a dry run)",
              file=sys.stderr)
        return 2
    budget_end = START + args.budget_s
    summary: dict = {"context": machine_context(args.accelerator), "runs": args.runs,
                     "warmup": args.warmup, "phases": {}, "comparison": [], "cross_check": [],
                     "failed": {}, "unfinished": []}
    log(f"context: {describe_context(summary['context'])}")
    log(f"warming clocks for {args.warm_s} s")
    summary["phases"]["warm_matmuls"] = warm_clocks(args.warm_s, args.accelerator)
    items = as_items(args.models, input_size=args.input_size)
    modes = ["eager", "graph"] if gpu else ["eager"]
    csv_path = out_dir / "gpu_campaign.csv"
    rows = []
    plan = [("fp32", 0.55)] + ([("fp16", 0.88)] if gpu and not args.no_fp16 else [])
    for i, (precision, share) in enumerate(plan):
        deadline = START + share * args.budget_s
        if time.monotonic() > deadline - 20:
            log(f"{precision}: skipped, no time left")
            summary["unfinished"].append(f"all {precision}")
            continue
        log(f"{precision}: {len(items)} models x {modes}, deadline in "
            f"{deadline - time.monotonic():.0f} s")
        t0 = time.monotonic()
        result = _campaign(items, args, csv_path, precision, modes, deadline, resume=i > 0)
        summary["phases"][f"campaign_{precision}_s"] = round(time.monotonic() - t0, 1)
        summary["failed"].update(result.failed)
        summary["unfinished"] += result.unfinished
        rows.append(result.rows)
        if i == 0 and gpu and time.monotonic() < budget_end - 60:
            summary["cross_check"] = _cross_check(args)
    ours = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    ref = reference_table(args.reference)
    if ref is None:
        log(f"reference {args.reference} not found: comparison skipped")
    summary["comparison"] = compare(ours, ref)
    for c in summary["comparison"]:
        log(f"vs shipped H200, {c['regime']}: {c['n_models']} models, Spearman rho "
            f"{c['rho']:.3f}, median ratio ours/shipped {c['median_ratio']:.3f}")
    summary["rows"], summary["elapsed_s"] = len(ours), round(time.monotonic() - START, 1)
    (out_dir / "gpu_check.json").write_text(json.dumps(summary, indent=2, default=str))
    log(f"wrote {csv_path.name} ({len(ours)} rows) and gpu_check.json to {out_dir}; "
        f"{len(summary['failed'])} failed, {len(summary['unfinished'])} unfinished")
    return 0


def _cross_check(args) -> list[dict]:
    """CUDA events against perf_counter on a few models, eager and graph (fp32)."""
    results = []
    for item in as_items(CROSS_CHECK_MODELS):
        for mode in ("eager", "graph"):
            try:
                r = cross_check(item, Setup("torch", torch.get_num_threads(), "cuda", mode),
                                runs=args.runs, warmup=args.warmup, seed=args.seed)
            except Exception as exc:  # noqa: BLE001 - a check, reported and skipped
                log(f"cross-check {item.label} {mode}: failed ({exc})")
                continue
            results.append(r)
            log(f"cross-check {r['model']} {mode}: perf_counter median "
                f"{r['perf_median_ms']:.4f} ms, CUDA events {r['event_median_ms']:.4f} ms, "
                f"ratio {r['ratio_median']:.3f}")
    return results


if __name__ == "__main__":
    raise SystemExit(main())
