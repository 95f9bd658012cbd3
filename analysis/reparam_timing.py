"""Notebook 04, the machine side: no overhead left behind, the matmul ceiling, Core ML packages.

- :func:`~analysis.models.fusion.plain_sequential` + :func:`interleaved_times` — the fused
  MobileOne against a plain ``nn.Sequential`` of the very same layers (convs, SE, ReLUs,
  pooling, classifier), timed interleaved in one loop so that both see the same machine state;
- :func:`matmul_ceiling` — the machine's measured fp32 compute ceiling (``torch.matmul`` of
  two n×n matrices, min of runs) and :func:`achieved` — a model's GFLOP/s as a fraction of it;
- :func:`coreml_packages` — S0–S4 fused exported to Core ML (fp16, fp32) and package sizes.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn as nn

from analysis.errors import ConfigError
from analysis.latency.runtimes import runner, torch_threads
from analysis.latency.timing import time_interleaved, time_runs
from analysis.models import MobileOneBlock
from analysis.models.fusion import plain_sequential  # noqa: F401 - moved there; old name kept


def interleaved_times(models: dict[str, nn.Module], example: torch.Tensor, *, runs: int,
                      warmup: int, threads: int, runtime: str = "torch") -> dict[str, np.ndarray]:
    """Per model, ``runs`` single-inference times (ms) in ``runtime``, timed interleaved by the
    project's one timing loop (:func:`analysis.latency.timing.time_interleaved`): every model
    prepared first by the harness's runtime (:func:`analysis.latency.runtimes.runner`), then
    warmed up; each round times every model once, alternating the order between rounds."""
    with contextlib.ExitStack() as stack:
        run = {n: stack.enter_context(runner(runtime, m.eval(), example, threads))
               for n, m in models.items()}
        return time_interleaved(run, runs=runs, warmup=warmup)


def sequential_overhead(variants, *, input_size: int, threads: int, runs: int | dict[str, int],
                        warmup: int, seed: int = 0) -> pd.DataFrame:
    """Per variant: the fused model and its :func:`plain_sequential` twin, interleaved; min and
    median of each, their ratios (fused / sequential), whether both give identical outputs,
    and the operator count of each traced graph (:func:`analysis.complexity.graph_costs`).
    ``runs``: interleaved rounds, one number or ``{"S0": rounds, …}``."""
    from analysis.complexity import graph_costs
    from analysis.models import mobileone
    from analysis.reparam_study import variant_ids

    rows = []
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, 3, input_size, input_size, generator=g)
    for v in variant_ids(variants):
        torch.manual_seed(seed)
        fused = mobileone(v, inference_mode=True).eval()  # the deployed form (random weights)
        seq = plain_sequential(fused)
        n = runs.get(v.upper(), 5) if isinstance(runs, dict) else runs
        t = interleaved_times({"fused": fused, "sequential": seq}, x, runs=n, warmup=warmup,
                              threads=threads)
        with torch.no_grad():
            same = bool(torch.equal(fused(x), seq(x)))
        rows.append({
            "variant": v.upper(), "runtime": "torch", "threads": threads, "n_runs": n,
            "input_size": input_size,
            "fused_min_ms": t["fused"].min(), "sequential_min_ms": t["sequential"].min(),
            "fused_median_ms": float(np.median(t["fused"])),
            "sequential_median_ms": float(np.median(t["sequential"])),
            "ratio_min": t["fused"].min() / t["sequential"].min(),
            "ratio_median": float(np.median(t["fused"]) / np.median(t["sequential"])),
            "identical_output": same,
            # what the block structure costs: (fused − plain) per fused block, min of runs
            "overhead_us_per_block": (t["fused"].min() - t["sequential"].min()) * 1e3 / sum(
                isinstance(m, MobileOneBlock) for m in fused.modules()),
            "fused_operators": graph_costs(fused, x)["operators"],
            "sequential_operators": graph_costs(seq, x)["operators"],
        })
    return pd.DataFrame(rows)


def matmul_ceiling(threads: int, n: int = 2048, runs: int = 10, seed: int = 0) -> dict:
    """The measured fp32 ceiling: ``torch.matmul`` of two ``n × n`` float32 matrices on
    ``threads`` threads, one untimed run, then the minimum of ``runs`` timed runs (the one
    timing loop, :func:`analysis.latency.timing.time_runs`).

    A product takes n³ multiply-adds = 2 n³ floating-point operations, so
    ``gflops = 2 n³ / t_min / 1e9``."""
    if n < 1 or runs < 1:
        raise ConfigError(f"n and runs must be >= 1, got {n} and {runs}")
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, n, generator=g)
    b = torch.randn(n, n, generator=g)
    with torch_threads(threads), torch.inference_mode():
        times = time_runs(lambda: torch.matmul(a, b), runs=runs, warmup=1) / 1e3
    flop = 2 * n ** 3
    t_min = float(times.min())
    return {"n": n, "runs": runs, "threads": threads, "flop": flop, "min_s": t_min,
            "median_s": float(np.median(times)), "gflops": flop / t_min / 1e9}


def ceiling_derivation(ceiling: dict) -> str:
    """The ceiling's arithmetic, one line of Markdown, from the measured numbers."""
    n, flop, t = ceiling["n"], ceiling["flop"], ceiling["min_s"]
    return (f"One product of two {n}×{n} fp32 matrices is {n}³ = {n ** 3:,} multiply-adds = "
            f"2·{n}³ = {flop:,} floating-point operations. The fastest of {ceiling['runs']} runs "
            f"on {ceiling['threads']} thread(s) took {t * 1e3:.2f} ms, so the ceiling is "
            f"{flop:,} / {t:.5f} s = **{ceiling['gflops']:.1f} GFLOP/s**.")


def achieved(table: pd.DataFrame, ceiling: dict) -> pd.DataFrame:
    """Fused rows at the official k: GFLOP/s = 2 × MACs / min latency, and its fraction of the
    measured ceiling, per variant and runtime."""
    t = table[(table["form"] == "fused") & table["official_k"]].copy()
    t["gflops"] = 2 * t["macs"] / (t["min_ms"] / 1e3) / 1e9
    t["ceiling_gflops"] = ceiling["gflops"]
    t["fraction_of_ceiling"] = t["gflops"] / ceiling["gflops"]
    return t[["variant", "runtime", "threads", "macs", "min_ms", "gflops", "ceiling_gflops",
              "fraction_of_ceiling"]].reset_index(drop=True)


def _size_bytes(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size if path.exists() else 0


def coreml_packages(variants, precisions, *, input_size: int, out_dir=None,
                    template=None) -> pd.DataFrame:
    """Export each fused variant to Core ML in each precision; the package sizes (MB).

    ``out_dir``: where the ``.mlpackage`` folders go (``<out_dir>/<precision>/``); ``None``: a
    temporary folder, deleted once the sizes are read. ``template``: path of the latency
    template to write for timing the packages on a phone (``analysis.export``)."""
    from analysis.export import export_model, write_latency_template
    from analysis.reparam_study import variant_ids
    from analysis.util import as_list

    precisions = as_list(precisions)
    if not precisions:
        return pd.DataFrame(columns=["variant", "precision", "status", "size_mb", "message"])
    rows, results = [], []
    with tempfile.TemporaryDirectory(prefix="mobileone-coreml-") as tmp:
        base = Path(out_dir) if out_dir is not None else Path(tmp)
        for v in variant_ids(variants):
            for p in precisions:
                res = export_model(f"MobileOne-{v.upper()}", "coreml", base / p, precision=p,
                                   force=True, input_size=input_size)
                results.append(res)
                size = _size_bytes(res.path) if res.path is not None else 0
                rows.append({"variant": v.upper(), "precision": p, "status": res.status,
                             "size_mb": size / 1e6 if res.status == "ok" else np.nan,
                             "input_size": input_size, "message": res.message})
        if template is not None:
            write_latency_template([r for r in results if r.ok], template, force=True)
    return pd.DataFrame(rows)
