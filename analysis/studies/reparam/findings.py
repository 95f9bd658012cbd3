"""Notebook 04's findings: the numbers and verdicts every sentence of its conclusion rests on.

:func:`findings` reduces the study's tables to a :class:`ReparamFindings` (typed, frozen); the
prose (:mod:`analysis.studies.reparam.prose`) only formats it. Verdicts are decided in the tables
(:mod:`analysis.studies.reparam.measured`) by the measured noise model of each runtime
(:data:`analysis.noise.RULE`, stated before any result) and collected here:

* fused against train-time: ``faster`` / ``slower`` / ``within noise``
  (:func:`analysis.noise.verdict`), for the minimum over runs (primary) and the median;
* the targets (fused S0 ≥ :data:`~analysis.constants.TARGET_S0_SPEEDUP` × faster than train-time
  S0; fused ≤ :data:`~analysis.constants.TARGET_SEQUENTIAL_RATIO` × a plain Sequential): ``met``,
  ``not met`` or ``not decidable within noise`` (:func:`.measured.target_verdict`);
* exactness against :data:`~analysis.constants.TOL_FLOAT64` and
  :data:`~analysis.constants.TOL_BLOCK_FLOAT32`, relative to the output scale (verdicts only:
  the differences depend on the CPU).

Only what holds on every machine is a finding: the latencies come from campaign files, the
exactness enters as verdicts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.constants import (NOISE_QUANTILE, TARGET_S0_SPEEDUP, TARGET_SEQUENTIAL_RATIO,
                                TOL_BLOCK_FLOAT32, TOL_FLOAT64)
from analysis.studies.reparam.sources import Campaigns
from analysis.studies.reparam.measured import (MET, NOT_MET, UNDECIDED, Reference, k_sweep,
                                               target_verdict)


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
    """Whether the fused networks reproduce the train-time ones within the tolerances (relative
    = max |difference| / max |train-time output|, over every variant and k checked)."""

    n_checked: int
    tol_f64: float
    f64_exact: bool
    tol_f32: float  # per block, and whole networks judged against it too
    blocks_f32_ok: bool
    whole_f32_ok: bool


@dataclass(frozen=True)
class NoiseBand:
    """The measured noise band of one runtime (:func:`analysis.noise.noise_bands`)."""

    runtime: str
    band: float  # minimum over runs
    median_band: float  # median over runs
    covers: str
    n_networks: int
    n_pairs: int
    common_shift: float = math.nan  # later / earlier sitting − 1 (analysis.noise)
    between_after_shift: float = math.nan  # between-sittings band without that shift


@dataclass(frozen=True)
class KSweep:
    """The S0 k sweep in one runtime (minimum over runs, median over sessions)."""

    runtime: str
    k_min: int
    k_max: int
    train_ms_at_kmin: float
    train_ms_at_kmax: float
    train_ms_per_branch: float  # least-squares slope of train-time latency on k
    fused_ms: float
    band: float
    train_mb_at_kmin: float
    train_mb_at_kmax: float
    train_ops_at_kmin: int
    train_ops_at_kmax: int
    fused_ops: tuple[int, ...]


@dataclass(frozen=True)
class Speedup:
    """Fusing one variant at its published k in one runtime."""

    variant: str
    k: int
    runtime: str
    train_ms: float
    fused_ms: float
    speedup: float  # train / fused, minimum over runs
    low: float  # session interval
    high: float
    band: float
    verdict: str  # the fused form relative to train-time: faster, slower, within noise
    median_speedup: float
    median_verdict: str


@dataclass(frozen=True)
class SequentialRatio:
    """The fused network against a plain nn.Sequential of its layers (fused / Sequential)."""

    variant: str
    ratio_min: float
    low: float
    high: float
    ratio_median: float
    band: float
    verdict: str  # slower: overhead beyond noise
    target_verdict: str  # met, not met, not decidable within noise
    median_verdict: str
    median_target_verdict: str
    identical_output: bool
    overhead_us_per_block: float


@dataclass(frozen=True)
class StatisticChange:
    """A verdict that differs between the minimum and the median over runs."""

    what: str
    min_verdict: str
    median_verdict: str


@dataclass(frozen=True)
class Throughput:
    """The best fused variant of one runtime against the matmul reference throughput."""

    runtime: str
    variant: str
    gflops: float
    share: float  # of the reference throughput (minimum over runs)
    share_low: float
    share_high: float
    median_share: float


@dataclass(frozen=True)
class ReparamFindings:
    """Everything notebook 04's conclusion says, as numbers and verdicts; ``takeaway`` (at most
    three sentences, :func:`.prose.takeaway`) opens it."""

    device: str  # the machine (and threads) of the campaigns
    threads: int
    source: str  # where the latencies come from
    sessions: tuple[int, int]  # fewest and most sessions per network
    noise_quantile: float
    bands: tuple[NoiseBand, ...]
    table7_rows: int
    table7_differences: tuple[Table7Difference, ...]
    exactness: Exactness
    k_sweeps: tuple[KSweep, ...]
    speedups: tuple[Speedup, ...]
    s0_speedup: float | None  # fused S0 vs train-time S0 (published k), PyTorch eager
    s0_k: int | None
    s0_target: float
    s0_verdict: str | None  # met, not met, not decidable within noise
    s0_median_verdict: str | None
    sequential: tuple[SequentialRatio, ...]
    sequential_target: float
    sequential_verdict: str | None
    sequential_median_verdict: str | None
    statistic_changes: tuple[StatisticChange, ...]
    reference: Reference | None
    best_throughput: tuple[Throughput, ...]
    takeaway: str = ""


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
    return Exactness(len(exactness), TOL_FLOAT64, bool(exactness["f64_exact"].all()),
                     TOL_BLOCK_FLOAT32, bool(exactness["blocks_f32_ok"].all()),
                     bool(exactness["whole_f32_ok"].all()))


def band_findings(bands: pd.DataFrame) -> tuple[NoiseBand, ...]:
    return tuple(NoiseBand(r["runtime"], float(r["band"]), float(r["median_band"]),
                           str(r["covers"]), int(r["n_networks"]), int(r["n_pairs"]),
                           float(r["common_shift"]), float(r["between_after_shift"]))
                 for _, r in bands.iterrows())


def sweep_findings(reparam: pd.DataFrame, bands: tuple[NoiseBand, ...]) -> tuple[KSweep, ...]:
    band = {b.runtime: b.band for b in bands}
    out = []
    for runtime, part in k_sweep(reparam).groupby("runtime", sort=False):
        train, fused = part[part["form"] == "train"], part[part["form"] == "fused"]
        if train["k"].nunique() < 2:
            continue
        out.append(KSweep(
            runtime, int(train["k"].min()), int(train["k"].max()),
            float(train["min_ms"].iloc[0]), float(train["min_ms"].iloc[-1]),
            _slope(train["k"], train["min_ms"]), float(fused["min_ms"].iloc[0]),
            band.get(runtime, math.nan),
            float(train["memory_bytes"].iloc[0] / 1e6),
            float(train["memory_bytes"].iloc[-1] / 1e6),
            int(train["operators"].iloc[0]), int(train["operators"].iloc[-1]),
            tuple(sorted({int(o) for o in fused["operators"]}))))
    return tuple(out)


def speedup_findings(speedups: pd.DataFrame) -> tuple[Speedup, ...]:
    return tuple(Speedup(r["variant"], int(r["k"]), r["runtime"], float(r["train_ms"]),
                         float(r["fused_ms"]), float(r["speedup"]), float(r["speedup_low"]),
                         float(r["speedup_high"]), float(r["band"]), r["verdict"],
                         float(r["median_speedup"]), r["median_verdict"])
                 for _, r in speedups.iterrows())


def sequential_findings(sequential: pd.DataFrame) -> tuple[SequentialRatio, ...]:
    return tuple(SequentialRatio(
        r["variant"], float(r["ratio_min"]), float(r["ratio_min_low"]),
        float(r["ratio_min_high"]), float(r["ratio_median"]), float(r["band"]), r["verdict"],
        r["target_verdict"], r["median_verdict"], r["median_target_verdict"],
        bool(r["identical_output"]), float(r["overhead_us_per_block"]))
        for _, r in sequential.iterrows())


def overall(verdicts) -> str | None:
    """All variants' target verdicts as one: ``not met`` if any is, ``met`` if all are, else
    ``not decidable within noise`` (``n/a`` when any has no band); None without variants."""
    verdicts = list(verdicts)
    if not verdicts:
        return None
    if NOT_MET in verdicts:
        return NOT_MET
    if all(v == MET for v in verdicts):
        return MET
    return "n/a" if "n/a" in verdicts else UNDECIDED


def throughput_findings(throughput: pd.DataFrame) -> tuple[Throughput, ...]:
    if throughput.empty:
        return ()
    best = throughput.loc[throughput.groupby("runtime", sort=False)["share_of_reference"]
                          .idxmax()]
    best = best.sort_values("share_of_reference", ascending=False, kind="stable")
    return tuple(Throughput(r["runtime"], r["variant"], float(r["gflops"]),
                            float(r["share_of_reference"]), float(r["share_low"]),
                            float(r["share_high"]), float(r["median_share"]))
                 for _, r in best.iterrows())


def statistic_changes(speedups, s0, sequential, seq_overall) -> tuple[StatisticChange, ...]:
    """Every verdict that the median over runs would turn into another one."""
    pairs = [(f"fused vs train-time {s.variant} ({s.runtime})", s.verdict, s.median_verdict)
             for s in speedups]
    if s0 is not None:
        pairs.append(("the S0 target", *s0))
    pairs += [(f"fused vs Sequential {r.variant}", r.verdict, r.median_verdict)
              for r in sequential]
    pairs += [(f"the Sequential target for {r.variant}", r.target_verdict,
               r.median_target_verdict) for r in sequential]
    if seq_overall[0] is not None:
        pairs.append(("the Sequential target", *seq_overall))
    return tuple(StatisticChange(w, a, b) for w, a, b in pairs if a != b)


def findings(table7: pd.DataFrame, exactness: pd.DataFrame, c: Campaigns, bands: pd.DataFrame,
             reparam: pd.DataFrame, speedups: pd.DataFrame, sequential: pd.DataFrame,
             throughput: pd.DataFrame, reference: Reference | None) -> ReparamFindings:
    """The study's findings from its tables (``takeaway`` left empty: the study's ``findings``
    step adds it)."""
    rows, diffs = table7_findings(table7)
    noise_bands = band_findings(bands)
    sp = speedup_findings(speedups)
    s0 = next((s for s in sp if s.variant == "S0" and s.runtime == "torch"), None)
    s0_verdicts = None if s0 is None else (
        target_verdict(s0.speedup, TARGET_S0_SPEEDUP, s0.band, True),
        target_verdict(s0.median_speedup, TARGET_S0_SPEEDUP,
                       next(b.median_band for b in noise_bands if b.runtime == "torch"), True))
    seq = sequential_findings(sequential)
    seq_overall = (overall(r.target_verdict for r in seq),
                   overall(r.median_target_verdict for r in seq))
    n = c.sessions.groupby(["sets", "model", "form", "k", "runtime"], dropna=False).size()
    return ReparamFindings(
        device=c.device, threads=c.threads, source=c.source,
        sessions=(int(n.min()), int(n.max())), noise_quantile=NOISE_QUANTILE,
        bands=noise_bands, table7_rows=rows, table7_differences=diffs,
        exactness=exactness_findings(exactness), k_sweeps=sweep_findings(reparam, noise_bands),
        speedups=sp, s0_speedup=None if s0 is None else s0.speedup,
        s0_k=None if s0 is None else s0.k, s0_target=TARGET_S0_SPEEDUP,
        s0_verdict=None if s0_verdicts is None else s0_verdicts[0],
        s0_median_verdict=None if s0_verdicts is None else s0_verdicts[1],
        sequential=seq, sequential_target=TARGET_SEQUENTIAL_RATIO,
        sequential_verdict=seq_overall[0], sequential_median_verdict=seq_overall[1],
        statistic_changes=statistic_changes(sp, s0_verdicts, seq, seq_overall),
        reference=reference, best_throughput=throughput_findings(throughput))
