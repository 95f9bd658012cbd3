"""The findings of notebooks 02 and 03, typed: every number a sentence of the conclusion states,
computed from the tables of :mod:`analysis.studies.ablation.compute` (no prose here).

"Within noise" uses one assumed band, :data:`analysis.constants.NOISE_BAND` (the measurement
campaigns replace it with a measured band per device and runtime).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

from analysis.constants import NOISE_BAND, NOISY_RATIO
from analysis.studies.ablation.compute import PAPER_KEY, SYNCHRONIZING, AblationTable

WITHIN, SLOWER, FASTER = "within noise", "slower", "faster"
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


def direction(slowdown: float, band: float = NOISE_BAND) -> str:
    """:data:`WITHIN` when ``|slowdown − 1| ≤ band``, else :data:`SLOWER` / :data:`FASTER`."""
    if abs(slowdown - 1) <= band:
        return WITHIN
    return SLOWER if slowdown > 1 else FASTER


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
    """One series: its reference latency, its fastest and slowest variant, and whether the
    slowest costs more than its MACs suggest (:data:`COST_MORE` …)."""

    series: str
    key: str
    reference_ms: float
    fastest: str
    fastest_slowdown: float
    slowest: str
    slowest_slowdown: float
    slowest_macs_ratio: float
    cost: str


@dataclass(frozen=True)
class SeriesExcess:
    """One series' latency of a variant over the reference: ms, slowdown, the paper's / ours."""

    series: str
    excess_ms: float
    slowdown: float
    slowdown_ratio: float


@dataclass(frozen=True)
class PaperComparison:
    """The paper's slowest variant next to the same network in every other series."""

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
    """Rank agreement of one series with the paper's latencies (exact permutation test), and
    the two orderings: ``order`` ascending by latency, ``tied[i]`` when ``order[i + 1]`` is
    within the noise band of ``order[i]`` (the paper's ordering without ties); ``consistent``:
    no pair the paper orders is reversed here beyond the band."""

    series: str
    n: int
    rho: float
    p_value: float
    exact_p: float
    ci_low: float
    ci_high: float
    supported: bool
    borderline: bool
    smallest_p: float  # the smallest exact two-sided p at this n (2 / n!)
    order: tuple[str, ...]
    tied: tuple[bool, ...]
    paper_order: tuple[str, ...]
    consistent: bool


@dataclass(frozen=True)
class NoisySeries:
    """A measured series whose min- and median-based slowdowns differ by more than
    :data:`~analysis.constants.NOISY_RATIO` (its worst variant)."""

    series: str
    variant: str
    min_slowdown: float
    median_slowdown: float


@dataclass(frozen=True)
class AblationFindings:
    """Everything the conclusion of notebook 02 or 03 says."""

    paper_name: str
    table: str
    reference: str
    reference_label: str
    noise_band: float
    noisy_ratio: float
    costs: CostFinding
    series: tuple[SeriesFinding, ...]
    paper_comparison: PaperComparison | None
    groups: tuple[GroupRange, ...]
    agreement: tuple[Agreement, ...]
    noisy: tuple[NoisySeries, ...]
    failed: Mapping[str, str]


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


def series_finding(part: pd.DataFrame, reference: str, macs: pd.Series) -> SeriesFinding | None:
    others = part[part["model_id"] != reference].dropna(subset=["slowdown"])
    if not len(others):
        return None
    slow = others.loc[others["slowdown"].idxmax()]
    fast = others.loc[others["slowdown"].idxmin()]
    ref = part.loc[part["model_id"] == reference, "latency_ms"]
    macs_ratio = float(macs.get(slow["model_id"], math.nan))
    extra_time, extra_macs = slow["slowdown"] - 1, macs_ratio - 1
    if abs(extra_time) <= NOISE_BAND:
        cost = COST_WITHIN_NOISE
    elif extra_time > MACS_EXCESS_FACTOR * abs(extra_macs):
        cost = COST_FAR_MORE if slow["slowdown"] >= FAR_SLOWDOWN else COST_MORE
    else:
        cost = COST_NO_CLAIM
    return SeriesFinding(str(part["series"].iloc[0]), str(part["key"].iloc[0]),
                         float(ref.iloc[0]) if len(ref) else math.nan, str(fast["paper_row"]),
                         float(fast["slowdown"]), str(slow["paper_row"]),
                         float(slow["slowdown"]), macs_ratio, cost)


def paper_comparison(compared: pd.DataFrame) -> PaperComparison | None:
    valid = compared.dropna(subset=["paper_slowdown", "ours_slowdown"])
    if valid.empty:
        return None
    rows = valid[valid["model_id"] == valid.loc[valid["paper_slowdown"].idxmax(), "model_id"]]
    ratios, ours = rows["slowdown_ratio"], rows["ours_slowdown"]
    if ((ours - 1).abs() <= NOISE_BAND).all():
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
                                              float(r.ours_slowdown), float(r.slowdown_ratio))
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


def ordering(values: pd.Series, band: float = NOISE_BAND) -> tuple[tuple[str, ...],
                                                                    tuple[bool, ...]]:
    """Names ascending by value, and for each neighbour whether it lies within ``band``
    (relative) of the previous value (a tie within noise)."""
    v = values.dropna().sort_values(kind="stable")
    tied = tuple(bool(b <= a * (1 + band)) for a, b in zip(v.iloc[:-1], v.iloc[1:]))
    return tuple(str(i) for i in v.index), tied


def consistent_order(paper: pd.Series, ours: pd.Series, band: float = NOISE_BAND) -> bool:
    """No pair the paper orders a < b has ours reversed beyond ``band`` (b·(1 + band) < a)."""
    both = pd.concat([paper, ours], axis=1, keys=["p", "o"]).dropna()
    return not any(both.loc[a, "p"] < both.loc[b, "p"]
                   and both.loc[b, "o"] * (1 + band) < both.loc[a, "o"]
                   for a in both.index for b in both.index)


def _latencies(long: pd.DataFrame, key: str) -> pd.Series:
    return long[long["key"] == key].set_index("paper_row")["latency_ms"].astype(float)


def agreements(long: pd.DataFrame, correlations: pd.DataFrame) -> tuple[Agreement, ...]:
    paper = _latencies(long, PAPER_KEY)
    out = []
    for _, r in correlations.iterrows():
        ours = _latencies(long, r["key"])
        order, tied = ordering(ours)
        n = int(r["n"])
        out.append(Agreement(
            str(r["series"]), n, float(r["rho"]), float(r["p_value"]), float(r["exact_p"]),
            float(r["ci_low"]), float(r["ci_high"]), bool(r["supported"]),
            bool(r["borderline"]), 2 / math.factorial(n) if n >= 1 else math.nan, order, tied,
            ordering(paper, 0)[0], consistent_order(paper, ours)))
    return tuple(out)


def noisy_series(long: pd.DataFrame, ratio: float = NOISY_RATIO) -> tuple[NoisySeries, ...]:
    out = []
    here = long[long["kind"] == "measured"].dropna(subset=["slowdown", "median_slowdown"])
    for _, part in here.groupby("key", sort=False):
        gap = np.abs(np.log(part["slowdown"] / part["median_slowdown"]))
        if len(gap) and gap.max() > math.log(ratio):
            worst = part.loc[gap.idxmax()]
            out.append(NoisySeries(str(worst["series"]), str(worst["paper_row"]),
                                   float(worst["slowdown"]), float(worst["median_slowdown"])))
    return tuple(out)


def findings(spec: AblationTable, cx: pd.DataFrame, long: pd.DataFrame,
             compared: pd.DataFrame, correlations: pd.DataFrame,
             failed: Mapping[str, str] | None = None) -> AblationFindings:
    """The findings of one notebook from its tables (counts, the long series table, the
    like-with-like comparison, the rank agreement) and the networks that failed to run."""
    macs = cx.set_index("model_id")["macs_vs_first"]
    series = [series_finding(part, spec.reference, macs)
              for _, part in long.groupby("key", sort=False) if part["latency_ms"].notna().any()]
    return AblationFindings(
        spec.paper_name, spec.table, spec.reference, spec.reference_label, NOISE_BAND,
        NOISY_RATIO, cost_finding(cx), tuple(s for s in series if s is not None),
        paper_comparison(compared),
        group_ranges(long, spec.reference) if spec.table == "table2" else (),
        agreements(long, correlations), noisy_series(long), dict(failed or {}))
