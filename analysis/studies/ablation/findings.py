"""The findings of notebooks 02 and 03, typed: every number a sentence of the conclusion states,
computed from the tables of :mod:`analysis.studies.ablation.compute` and
:mod:`~analysis.studies.ablation.measure` (no prose here).

Every faster / slower / within-noise verdict is the noise model's (:func:`analysis.noise.verdict`
with the series' measured band, :data:`analysis.noise.RULE`), made in
:func:`~analysis.studies.ablation.compute.add_verdicts`; a series without sessions (the paper, a
file of single summaries) gets none (``n/a``), never a band from a constant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import pandas as pd

from analysis import noise
from analysis.studies.ablation.compute import (PAPER_KEY, REFERENCE, STATISTICS, SYNCHRONIZING,
                                               AblationTable)

WITHIN, SLOWER, FASTER, NO_VERDICT = noise.WITHIN, noise.SLOWER, noise.FASTER, "n/a"
#: A variant "costs more than its MACs suggest" when its extra latency exceeds this many times
#: its extra MACs (both relative to the reference), "far more" from a slowdown of FAR_SLOWDOWN.
MACS_EXCESS_FACTOR = 10
FAR_SLOWDOWN = 2.0
#: Verdicts on the slowest variant of a series (:class:`SeriesFinding` ``cost``).
COST_WITHIN_NOISE, COST_MORE, COST_FAR_MORE, COST_NO_CLAIM = (
    "within noise", "more than its MACs", "far more than its MACs", "no claim")
#: How the paper's slowdown of its slowest variant compares with ours (:class:`PaperComparison`).
GAP_WITHIN_NOISE, GAP_LARGER, GAP_SMALLER, GAP_BETWEEN = (
    "within noise here", "larger in the paper", "smaller in the paper", "between ours")


@dataclass(frozen=True)
class NoiseFinding:
    """The noise band of one measured series (relative: within noise when
    1/(1 + band) ≤ ratio ≤ 1 + band), for the minimum and the median, and which noise it
    covers."""

    series: str
    band: float
    median_band: float
    covers: str
    n_networks: int
    n_pairs: int
    median_spread: float  # median over networks of max/min − 1 over sessions
    p90_spread: float
    common_shift: float = math.nan  # later / earlier sitting − 1 (analysis.noise)
    between_after_shift: float = math.nan  # between-sittings band without that shift
    physical_device: str = ""


@dataclass(frozen=True)
class DuplicateFinding:
    """The calibration check on one series: two identical networks measured as separate
    items; their ratio must come out within noise (minimum and median)."""

    series: str
    first: str
    second: str
    ratio: float
    verdict: str
    median_ratio: float
    median_verdict: str


@dataclass(frozen=True)
class CostFinding:
    """How much each count moves across the variants, relative to the reference."""

    macs_low: float  # smallest MACs ratio of the other variants
    macs_high: float
    elementwise_max: float
    elementwise_variant: str
    memory_max: float
    memory_variant: str
    merges_reference: int
    merges_max: int
    merges_variant: str


@dataclass(frozen=True)
class SeriesFinding:
    """One series (minimum over runs): its reference latency, fastest and slowest variant with
    the noise model's verdicts, how many variants are slower / within noise / faster, and
    whether the slowest costs more than its MACs suggest (:data:`COST_MORE` …)."""

    series: str
    kind: str
    band: float
    reference_ms: float
    fastest: str
    fastest_slowdown: float
    fastest_verdict: str
    slowest: str
    slowest_slowdown: float
    slowest_verdict: str
    slowest_macs_ratio: float
    cost: str
    n_slower: int
    n_within: int
    n_faster: int


@dataclass(frozen=True)
class SeriesExcess:
    """One series' latency of a variant over the reference: ms, slowdown, verdict, the
    paper's slowdown / ours."""

    series: str
    excess_ms: float
    slowdown: float
    verdict: str
    slowdown_ratio: float


@dataclass(frozen=True)
class PaperComparison:
    """The paper's slowest variant next to the same network in every measured series."""

    variant: str
    paper_excess_ms: float
    paper_slowdown: float
    ours: tuple[SeriesExcess, ...]
    gap: str


@dataclass(frozen=True)
class GroupRange:
    """Table 2, one series: slowdowns of the element-wise activations (GELU, SiLU) and of those
    with a global pool (SE-ReLU, Dynamic Shift-Max, DyReLU-A/B)."""

    series: str
    static_low: float
    static_high: float
    pooled_low: float
    pooled_high: float


@dataclass(frozen=True)
class Agreement:
    """Rank agreement of one series (and statistic) with the paper's latencies (exact
    permutation test), and the orderings: ``order`` ascending by latency, ``tied[i]`` when
    ``order[i + 1]`` is within the series' noise band of ``order[i]``; ``consistent``: no pair
    the paper orders is reversed here beyond noise (without a band: reversed at all)."""

    series: str
    statistic: str
    n: int
    rho: float
    p_permutation: float
    ci_low: float
    ci_high: float
    supported: bool  # shown after Benjamini–Hochberg over the series (q ≤ α)
    smallest_p: float  # the smallest exact two-sided p at this n (2 / n!)
    order: tuple[str, ...]
    tied: tuple[bool, ...]
    paper_order: tuple[str, ...]
    consistent: bool
    q_value: float = math.nan  # Benjamini–Hochberg over the series of one statistic


@dataclass(frozen=True)
class StatisticChange:
    """A result whose verdict differs between the minimum (the paper's statistic, primary)
    and the median: a slowdown, a duplicate pair or a rank agreement."""

    series: str
    kind: str  # "slowdown", "duplicates" or "rank agreement"
    what: str
    min_value: float
    min_verdict: str
    median_value: float
    median_verdict: str


@dataclass(frozen=True)
class AblationFindings:
    """Everything the conclusion of notebook 02 or 03 says; ``takeaway`` (at most three
    sentences, :func:`analysis.studies.ablation.prose.takeaway`) opens it."""

    paper_name: str
    table: str
    reference: str
    reference_label: str
    rule: str
    noise: tuple[NoiseFinding, ...]
    duplicates: tuple[DuplicateFinding, ...]
    calibration_passed: bool  # every pair with a band is within noise, min and median
    costs: CostFinding
    series: tuple[SeriesFinding, ...]
    paper_comparison: PaperComparison | None
    groups: tuple[GroupRange, ...]
    agreement: tuple[Agreement, ...]
    statistic_changes: tuple[StatisticChange, ...]
    failed: Mapping[str, str]
    takeaway: str = ""


def noise_findings(bands: pd.DataFrame) -> tuple[NoiseFinding, ...]:
    return tuple(NoiseFinding(str(b.series), float(b.band), float(b.median_band), str(b.covers),
                              int(b.n_networks) if b.n_networks == b.n_networks else 0,
                              int(b.n_pairs) if b.n_pairs == b.n_pairs else 0,
                              float(b.median_spread), float(b.p90_spread),
                              float(b.common_shift), float(b.between_after_shift),
                              str(b.physical_device))
                 for b in bands.itertuples())


def duplicate_findings(duplicates: pd.DataFrame) -> tuple[DuplicateFinding, ...]:
    return tuple(DuplicateFinding(str(d.series), str(d.first), str(d.second), float(d.ratio),
                                  str(d.verdict), float(d.median_ratio), str(d.median_verdict))
                 for d in duplicates.itertuples())


def calibration_passed(duplicates: tuple[DuplicateFinding, ...]) -> bool:
    """Every pair with a verdict is within noise, with the minimum and with the median (and
    at least one pair was judged)."""
    verdicts = [v for d in duplicates for v in (d.verdict, d.median_verdict) if v != NO_VERDICT]
    return bool(verdicts) and all(v == WITHIN for v in verdicts)


def cost_finding(cx: pd.DataFrame) -> CostFinding:
    others = cx.iloc[1:]

    def extreme(column: str) -> tuple[float, str]:
        i = others[column].idxmax()
        return float(others.loc[i, column]), str(others.loc[i, "paper_row"])

    ew, ew_row = extreme("elementwise_vs_first")
    mem, mem_row = extreme("memory_bytes_vs_first")
    merges, merges_row = extreme("merges")
    return CostFinding(float(others["macs_vs_first"].min()), float(others["macs_vs_first"].max()),
                       ew, ew_row, mem, mem_row, int(cx["merges"].iloc[0]), int(merges),
                       merges_row)


def cost_verdict(slowdown: float, verdict: str, macs_ratio: float) -> str:
    """Whether the slowest variant costs more than its MACs suggest: within noise when the
    noise model says so; else more (far more from :data:`FAR_SLOWDOWN`) when its extra latency
    exceeds :data:`MACS_EXCESS_FACTOR` times its extra MACs."""
    if verdict == WITHIN:
        return COST_WITHIN_NOISE
    if verdict in (SLOWER, NO_VERDICT) and \
            slowdown - 1 > MACS_EXCESS_FACTOR * abs(macs_ratio - 1):
        return COST_FAR_MORE if slowdown >= FAR_SLOWDOWN else COST_MORE
    return COST_NO_CLAIM


def series_finding(part: pd.DataFrame, reference: str, macs: pd.Series) -> SeriesFinding | None:
    others = part[part["model_id"] != reference].dropna(subset=["slowdown"])
    if not len(others):
        return None
    slow = others.loc[others["slowdown"].idxmax()]
    fast = others.loc[others["slowdown"].idxmin()]
    ref = part.loc[part["model_id"] == reference, "latency_ms"]
    macs_ratio = float(macs.get(slow["model_id"], math.nan))
    counts = others["verdict"].value_counts()
    return SeriesFinding(
        str(part["series"].iloc[0]), str(part["kind"].iloc[0]), float(part["band"].iloc[0]),
        float(ref.iloc[0]) if len(ref) else math.nan, str(fast["paper_row"]),
        float(fast["slowdown"]), str(fast["verdict"]), str(slow["paper_row"]),
        float(slow["slowdown"]), str(slow["verdict"]), macs_ratio,
        cost_verdict(float(slow["slowdown"]), str(slow["verdict"]), macs_ratio),
        int(counts.get(SLOWER, 0)), int(counts.get(WITHIN, 0)), int(counts.get(FASTER, 0)))


def paper_comparison(compared: pd.DataFrame) -> PaperComparison | None:
    valid = compared.dropna(subset=["paper_slowdown", "ours_slowdown"])
    if valid.empty:
        return None
    rows = valid[valid["model_id"] == valid.loc[valid["paper_slowdown"].idxmax(), "model_id"]]
    ratios = rows["slowdown_ratio"]
    if (rows["verdict"] == WITHIN).all():
        gap = GAP_WITHIN_NOISE
    elif (ratios > 1).all():
        gap = GAP_LARGER
    elif (ratios < 1).all():
        gap = GAP_SMALLER
    else:
        gap = GAP_BETWEEN
    first = rows.iloc[0]
    return PaperComparison(str(first["paper_row"]), float(first["paper_excess_ms"]),
                           float(first["paper_slowdown"]),
                           tuple(SeriesExcess(str(r.series), float(r.ours_excess_ms),
                                              float(r.ours_slowdown), str(r.verdict),
                                              float(r.slowdown_ratio))
                                 for r in rows.itertuples()), gap)


def group_ranges(long: pd.DataFrame, reference: str) -> tuple[GroupRange, ...]:
    out = []
    for _, part in long.groupby("key", sort=False):
        pooled = part[part["model_id"].isin(SYNCHRONIZING)]["slowdown"].dropna()
        static = part[~part["model_id"].isin(SYNCHRONIZING)
                      & (part["model_id"] != reference)]["slowdown"].dropna()
        if len(pooled) and len(static):
            out.append(GroupRange(str(part["series"].iloc[0]), float(static.min()),
                                  float(static.max()), float(pooled.min()), float(pooled.max())))
    return tuple(out)


def ordering(values: pd.Series, band: float = math.nan) -> tuple[tuple[str, ...],
                                                                 tuple[bool, ...]]:
    """Names ascending by value, and for each neighbour whether the noise model calls the two
    the same (:func:`analysis.noise.verdict` of their ratio with ``band``: within noise)."""
    v = values.dropna().sort_values(kind="stable")
    tied = tuple(noise.verdict(b / a, band) == WITHIN for a, b in zip(v.iloc[:-1], v.iloc[1:]))
    return tuple(str(i) for i in v.index), tied


def consistent_order(paper: pd.Series, ours: pd.Series, band: float = math.nan) -> bool:
    """No pair the paper orders a < b is reversed here beyond noise (ours a / b "slower")."""
    both = pd.concat([paper, ours], axis=1, keys=["p", "o"]).dropna()
    return not any(both.loc[a, "p"] < both.loc[b, "p"]
                   and noise.verdict(both.loc[a, "o"] / both.loc[b, "o"], band) != WITHIN
                   and both.loc[a, "o"] > both.loc[b, "o"]
                   for a in both.index for b in both.index)


def agreements(long: pd.DataFrame, correlations: pd.DataFrame) -> tuple[Agreement, ...]:
    paper = long[long["key"] == PAPER_KEY].set_index("paper_row")["latency_ms"].astype(float)
    out = []
    for r in correlations.itertuples():
        part = long[long["key"] == r.key]
        value = STATISTICS[r.statistic]
        ours = part.set_index("paper_row")[value].astype(float)
        band = float(part["band" if r.statistic == "min" else "median_band"].iloc[0])
        if ours.notna().sum() < 2:
            continue
        order, tied = ordering(ours, band)
        n = int(r.n)
        out.append(Agreement(
            str(r.series), str(r.statistic), n, float(r.rho), float(r.p_permutation),
            float(r.ci_low), float(r.ci_high), bool(r.shown),
            2 / math.factorial(n) if n >= 1 else math.nan, order, tied,
            ordering(paper[ours.dropna().index])[0], consistent_order(paper, ours, band),
            float(r.q_value)))
    return tuple(out)


def statistic_changes(long: pd.DataFrame, duplicates: tuple[DuplicateFinding, ...],
                      agreement: tuple[Agreement, ...]) -> tuple[StatisticChange, ...]:
    """Where the minimum and the median give different verdicts (both judged)."""
    out = []
    here = long[(long["kind"] != "paper") & (long["verdict"] != REFERENCE)]
    for r in here.itertuples():
        if NO_VERDICT not in (r.verdict, r.median_verdict) and r.verdict != r.median_verdict:
            out.append(StatisticChange(str(r.series), "slowdown", str(r.paper_row),
                                       float(r.slowdown),
                                       str(r.verdict), float(r.median_slowdown),
                                       str(r.median_verdict)))
    for d in duplicates:
        if NO_VERDICT not in (d.verdict, d.median_verdict) and d.verdict != d.median_verdict:
            out.append(StatisticChange(d.series, "duplicates", f"{d.first} ≡ {d.second}",
                                       d.ratio, d.verdict, d.median_ratio, d.median_verdict))
    by = {(a.series, a.statistic): a for a in agreement}
    for (series, statistic), a in by.items():
        m = by.get((series, "median"))
        if statistic == "min" and m is not None and m.n == a.n and m.supported != a.supported:
            word = {True: "supported", False: "not supported"}
            out.append(StatisticChange(series, "rank agreement", "rank agreement with the paper",
                                       a.rho,
                                       word[a.supported], m.rho, word[m.supported]))
    return tuple(out)


def findings(spec: AblationTable, cx: pd.DataFrame, long: pd.DataFrame,
             compared: pd.DataFrame, correlations: pd.DataFrame, bands: pd.DataFrame,
             duplicates: pd.DataFrame, failed: Mapping[str, str] | None = None
             ) -> AblationFindings:
    """The findings of one notebook from its tables (counts, the long series table, the
    like-with-like comparison, the rank agreement, the noise bands and the duplicates' check)
    and the networks that failed to run (``takeaway`` left empty: the study's ``findings``
    step adds it)."""
    macs = cx.set_index("model_id")["macs_vs_first"]
    series = [series_finding(part, spec.reference, macs)
              for _, part in long.groupby("key", sort=False) if part["latency_ms"].notna().any()]
    dups = duplicate_findings(duplicates)
    agree = agreements(long, correlations)
    return AblationFindings(
        spec.paper_name, spec.table, spec.reference, spec.reference_label, noise.RULE,
        noise_findings(bands), dups, calibration_passed(dups), cost_finding(cx),
        tuple(s for s in series if s is not None), paper_comparison(compared),
        group_ranges(long, spec.reference) if spec.table == "table2" else (), agree,
        statistic_changes(long, dups, agree), dict(failed or {}))
