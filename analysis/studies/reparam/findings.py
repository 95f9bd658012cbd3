"""Notebook 04's findings: the numbers and verdicts every sentence of its conclusion rests on.

:func:`findings` reduces the study's tables to a :class:`ReparamFindings` (typed, frozen); the
prose (:mod:`analysis.studies.reparam.prose`) only formats it. Verdicts are decided here:

* a latency ratio is ``faster`` / ``slower`` only outside the noise band, else
  ``within noise`` (:func:`ratio_verdict`); the band is the larger of
  :data:`analysis.constants.NOISE_BAND` and the spread of the fused S0 across k — the fused
  network is the same for every k, so that spread is the run-to-run noise of the measurement;
* fused S0 against :data:`~analysis.constants.TARGET_S0_SPEEDUP`;
* fused against plain Sequential: a variant shows overhead only if both its min and its median
  ratio exceed :data:`~analysis.constants.TARGET_SEQUENTIAL_RATIO`;
* exactness against :data:`~analysis.constants.TOL_FLOAT64` and
  :data:`~analysis.constants.TOL_BLOCK_FLOAT32`, relative to the output scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.constants import (NOISE_BAND, TARGET_S0_SPEEDUP, TARGET_SEQUENTIAL_RATIO,
                                TOL_BLOCK_FLOAT32, TOL_FLOAT64)
from analysis.studies.reparam.measured import Reference, k_sweep, speedup_table


@dataclass(frozen=True)
class Table7Difference:
    """A Table 7 row where the paper and the built network disagree."""

    variant: str
    stage: str
    fields: tuple[str, ...]
    channels_paper: int | None
    channels_code: int | None


@dataclass(frozen=True)
class Exactness:
    """How exactly the fused networks reproduce the train-time ones (relative = max |difference|
    / max |train-time output|, over every variant and k)."""

    max_rel_f64: float
    tol_f64: float
    f64_exact: bool
    max_block_rel_f32: float
    tol_block_f32: float
    blocks_f32_ok: bool
    worst_f32_variant: str  # the largest whole-network float32 difference
    worst_f32_k: int
    worst_f32_rel: float
    worst_f32_abs: float
    worst_f32_scale: float


@dataclass(frozen=True)
class KSweep:
    """The S0 k sweep in one runtime."""

    runtime: str
    k_min: int
    k_max: int
    train_ms_at_kmin: float
    train_ms_at_kmax: float
    train_ms_per_branch: float  # least-squares slope of train-time min latency on k
    fused_spread: float  # max / min − 1 of the fused latency across k: run-to-run noise
    fused_ms_min: float
    fused_ms_max: float
    train_mb_at_kmin: float
    train_mb_at_kmax: float
    train_ops_at_kmin: int
    train_ops_at_kmax: int
    fused_ops: tuple[int, ...]


@dataclass(frozen=True)
class Speedup:
    """Fusing one variant at its published k in one runtime (min latency)."""

    variant: str
    k: int
    runtime: str
    train_ms: float
    fused_ms: float
    speedup: float  # train / fused
    verdict: str  # "faster", "slower" or "within noise" (the fused form relative to train-time)


@dataclass(frozen=True)
class SequentialRatio:
    """The fused network against a plain nn.Sequential of its layers."""

    variant: str
    ratio_min: float
    ratio_median: float
    identical_output: bool
    overhead_us_per_block: float
    overhead: bool  # both ratios above the target


@dataclass(frozen=True)
class Throughput:
    """The best fused variant of one runtime against the matmul reference throughput."""

    runtime: str
    variant: str
    gflops: float
    share: float  # of the reference throughput


@dataclass(frozen=True)
class ReparamFindings:
    """Everything notebook 04's conclusion says, as numbers and verdicts."""

    device: str  # the machine the latencies were measured on
    threads: int
    table7_rows: int
    table7_differences: tuple[Table7Difference, ...]
    exactness: Exactness
    nominal_band: float  # the assumed band (constants.NOISE_BAND)
    noise_band: float  # the band used: the larger of the nominal one and the fused spread
    k_sweeps: tuple[KSweep, ...]
    speedups: tuple[Speedup, ...]
    s0_speedup: float | None  # fused S0 vs train-time S0 (published k), PyTorch eager
    s0_k: int | None
    s0_target: float
    s0_target_met: bool | None
    sequential: tuple[SequentialRatio, ...]
    sequential_target: float
    sequential_target_met: bool | None
    reference: Reference | None
    best_throughput: tuple[Throughput, ...]


def ratio_verdict(ratio: float, band: float) -> str:
    """``faster`` (ratio > 1), ``slower`` (< 1), or ``within noise`` when both the ratio and
    its inverse lie within 1 ± ``band``; ``not measured`` for a missing ratio."""
    if not math.isfinite(ratio) or ratio <= 0:
        return "not measured"
    if abs(ratio - 1) <= band and abs(1 / ratio - 1) <= band:
        return "within noise"
    return "faster" if ratio > 1 else "slower"


def _slope(x, y) -> float:
    """Least-squares slope of y on x (NaN for fewer than two distinct x)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(np.unique(x)) < 2:
        return float("nan")
    return float(np.polyfit(x, y, 1)[0])


def table7_findings(table7: pd.DataFrame) -> tuple[int, tuple[Table7Difference, ...]]:
    diff = table7[table7["differs"] != ""]
    out = []
    for _, r in diff.iterrows():
        fields = tuple(f.strip() for f in r["differs"].split(","))
        both = "channels" in fields and pd.notna(r["channels_paper"])
        out.append(Table7Difference(r["variant"], str(r["stage"]), fields,
                                    int(r["channels_paper"]) if both else None,
                                    int(r["channels_code"]) if both else None))
    return len(table7), tuple(out)


def exactness_findings(exactness: pd.DataFrame) -> Exactness:
    worst = exactness.loc[exactness["max_rel_diff_f32"].idxmax()]
    f64, block = float(exactness["max_rel_diff_f64"].max()), \
        float(exactness["max_block_rel_diff_f32"].max())
    return Exactness(f64, TOL_FLOAT64, f64 <= TOL_FLOAT64, block, TOL_BLOCK_FLOAT32,
                     block <= TOL_BLOCK_FLOAT32, str(worst["variant"]), int(worst["k"]),
                     float(worst["max_rel_diff_f32"]), float(worst["max_abs_diff_f32"]),
                     float(worst["output_scale_f32"]))


def sweep_findings(reparam: pd.DataFrame) -> tuple[KSweep, ...]:
    out = []
    for runtime, part in k_sweep(reparam).groupby("runtime", sort=False):
        train, fused = part[part["form"] == "train"], part[part["form"] == "fused"]
        if train["k"].nunique() < 2:
            continue
        out.append(KSweep(
            runtime, int(train["k"].min()), int(train["k"].max()),
            float(train["min_ms"].iloc[0]), float(train["min_ms"].iloc[-1]),
            _slope(train["k"], train["min_ms"]),
            float(fused["min_ms"].max() / fused["min_ms"].min() - 1),
            float(fused["min_ms"].min()), float(fused["min_ms"].max()),
            float(train["memory_bytes"].iloc[0] / 1e6),
            float(train["memory_bytes"].iloc[-1] / 1e6),
            int(train["operators"].iloc[0]), int(train["operators"].iloc[-1]),
            tuple(sorted({int(o) for o in fused["operators"]}))))
    return tuple(out)


def noise_band(sweeps: tuple[KSweep, ...]) -> float:
    """The larger of :data:`~analysis.constants.NOISE_BAND` and the spread of the fused
    network's latency across k (identical networks: that spread is the measurement's noise)."""
    spreads = [s.fused_spread for s in sweeps if math.isfinite(s.fused_spread)]
    return max([NOISE_BAND] + spreads)


def sequential_findings(sequential: pd.DataFrame,
                        target: float = TARGET_SEQUENTIAL_RATIO) -> tuple[SequentialRatio, ...]:
    return tuple(SequentialRatio(
        r["variant"], float(r["ratio_min"]), float(r["ratio_median"]),
        bool(r["identical_output"]), float(r["overhead_us_per_block"]),
        bool(r["ratio_min"] > target and r["ratio_median"] > target))
        for _, r in sequential.iterrows())


def throughput_findings(throughput: pd.DataFrame) -> tuple[Throughput, ...]:
    if throughput.empty:
        return ()
    best = throughput.loc[throughput.groupby("runtime", sort=False)["share_of_reference"]
                          .idxmax()]
    best = best.sort_values("share_of_reference", ascending=False, kind="stable")
    return tuple(Throughput(r["runtime"], r["variant"], float(r["gflops"]),
                            float(r["share_of_reference"])) for _, r in best.iterrows())


def findings(table7: pd.DataFrame, exactness: pd.DataFrame, reparam: pd.DataFrame,
             sequential: pd.DataFrame, throughput: pd.DataFrame, reference: Reference | None,
             timings: pd.DataFrame) -> ReparamFindings:
    """The study's findings from its tables (:mod:`analysis.studies.reparam.compute`) and
    its timings (for the device and threads they were measured with)."""
    rows, diffs = table7_findings(table7)
    sweeps = sweep_findings(reparam)
    band = noise_band(sweeps)
    speedups = tuple(Speedup(r["variant"], int(r["k"]), r["runtime"], float(r["train_ms"]),
                             float(r["fused_ms"]), float(r["speedup"]),
                             ratio_verdict(float(r["speedup"]), band))
                     for _, r in speedup_table(reparam).iterrows())
    s0 = next((s for s in speedups if s.variant == "S0" and s.runtime == "torch"), None)
    seq = sequential_findings(sequential)
    return ReparamFindings(
        device=str(timings["device"].iloc[0]) if len(timings) else "",
        threads=int(timings["threads"].iloc[0]) if len(timings) else 0,
        table7_rows=rows, table7_differences=diffs,
        exactness=exactness_findings(exactness), nominal_band=NOISE_BAND, noise_band=band,
        k_sweeps=sweeps,
        speedups=speedups, s0_speedup=None if s0 is None else s0.speedup,
        s0_k=None if s0 is None else s0.k, s0_target=TARGET_S0_SPEEDUP,
        s0_target_met=None if s0 is None else s0.speedup >= TARGET_S0_SPEEDUP,
        sequential=seq, sequential_target=TARGET_SEQUENTIAL_RATIO,
        sequential_target_met=(not any(r.overhead for r in seq)) if seq else None,
        reference=reference, best_throughput=throughput_findings(throughput))
