"""Notebook 01's findings: the numbers behind every sentence of its conclusion, typed.

:func:`find` reads the adjusted tables (:mod:`.families`) and keeps what the prose states. The
rules (Vasu et al., CVPR 2023 §3 is judged by them):

- a correlation is *supported* only when its adjusted p ≤ :data:`~analysis.constants.ALPHA`
  (Holm within the confirmatory Table 1 family, Benjamini–Hochberg over everything else);
  every count of supported results is made after that adjustment;
- a metric is *better than MACs* only when its Holm-adjusted paired comparison says so, and is
  *the best* only when its bootstrap probability of being the best reaches
  :data:`~analysis.constants.BEST_PROBABILITY`;
- runtimes, thread settings and regimes of one physical device are one device in every count
  of devices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import pandas as pd

from analysis.constants import (ALPHA, BEST_PROBABILITY, EXACT_MAX_N, PAPER_METRICS,
                                WEAK_THRESHOLD)
from analysis.studies.correlation.compute import PUBLISHED
from analysis.studies.correlation.families import Tests, claim_verdicts

#: The paper prints ρ with two decimals: on the same latencies a difference beyond this cannot
#: be rounding.
PAPER_ROUNDING = 0.005


def _num(row, key: str) -> float:
    value = row.get(key, math.nan) if hasattr(row, "get") else math.nan
    return math.nan if value is None or pd.isna(value) else float(value)


@dataclass(frozen=True)
class Rho:
    """Spearman ρ with its test: the permutation p (``p_exact``, or Monte Carlo, whose smallest
    value is ``p_floor``), the Fisher-z interval, scipy's p (secondary), and the verdict after
    its family's adjustment."""

    rho: float
    n: int
    ci_low: float = math.nan
    ci_high: float = math.nan
    p_permutation: float = math.nan
    p_exact: bool = False
    p_floor: float = math.nan
    p_value: float = math.nan
    p_adjusted: float = math.nan
    family: str = ""
    supported: bool = False
    borderline: bool = False

    @property
    def has_ci(self) -> bool:
        return math.isfinite(self.ci_low) and math.isfinite(self.ci_high)

    @classmethod
    def of(cls, row) -> "Rho":
        """From a row of an adjusted correlation table."""
        return cls(_num(row, "rho"), int(row["n"]), _num(row, "ci_low"), _num(row, "ci_high"),
                   _num(row, "p_permutation"), bool(row.get("p_exact", False)),
                   _num(row, "p_floor"), _num(row, "p_value"),
                   _num(row, "p_adjusted"), str(row.get("family", "") or ""),
                   bool(row.get("supported", False)), bool(row.get("borderline", False)))


@dataclass(frozen=True)
class Table1Cell:
    """One cell of the paper's Table 1 next to ours on the paper's own latencies."""

    device: str
    metric: str
    source: str
    paper_rho: float
    paper_p: float
    ours: Rho
    diff: float
    diff_low: float
    diff_high: float
    paper_rho_in_ci: bool

    @property
    def beyond_rounding(self) -> bool:
        """Ours and the paper's differ by more than the paper's rounding."""
        return abs(self.diff) > PAPER_ROUNDING


@dataclass(frozen=True)
class Table1:
    """The confirmatory family (Holm over its cells) on the primary size basis, and the same
    cells on the other basis."""

    basis: str
    cells: tuple[Table1Cell, ...]
    other: tuple[Table1Cell, ...]
    supported: int
    inside: int
    largest: Table1Cell | None  # the largest difference beyond the paper's rounding
    rounding: float = PAPER_ROUNDING


@dataclass(frozen=True)
class ClaimVerdict:
    """The paper's "latency is weakly correlated with <metric>" on one series."""

    device: str
    physical: str
    metric: str
    verdict: str
    rho: Rho


@dataclass(frozen=True)
class DeviceSummary:
    """One metric on one physical device: its series, the range of ρ, how many are supported
    (after adjustment)."""

    physical: str
    metric: str
    source: str
    series: tuple[str, ...]
    rho_low: float
    rho_high: float
    supported: int


@dataclass(frozen=True)
class MetricVsMacs:
    metric: str
    delta: float
    ci_low: float
    ci_high: float
    p_holm: float


@dataclass(frozen=True)
class VersusMacs:
    """Every metric against MACs on one series (Holm over its metrics), and the metric most
    often the best over bootstrap resamples."""

    device: str
    physical: str
    n: int
    rho_macs: float
    n_comparisons: int
    better: tuple[MetricVsMacs, ...]
    worse: tuple[MetricVsMacs, ...]
    top_metric: str
    p_best: float
    called_best: bool


@dataclass(frozen=True)
class ConvDifference:
    """ρ on convolutional models minus ρ on all models (nested samples), and with the monotone
    MobileOne family collapsed to one point."""

    device: str
    physical: str
    metric: str
    rho_conv: float
    rho_all: float
    delta: float
    ci_low: float
    ci_high: float
    p_adjusted: float
    supported: bool
    n_conv: int
    n_all: int
    n_family: int
    collapsed_low: float
    collapsed_high: float


@dataclass(frozen=True)
class PairAgreement:
    """Agreement of two physical devices: their series pairs, how many agree beyond chance
    (after adjustment), the range of ρ."""

    a: str
    b: str
    pairs: int
    supported: int
    rho_low: float
    rho_high: float


@dataclass(frozen=True)
class Agreement:
    """How far devices agree on the latency ranking (series pairs with n > EXACT_MAX_N)."""

    between: tuple[PairAgreement, ...]
    within: tuple[PairAgreement, ...]  # series of one physical device (a == b)
    all_agree: int
    some_agree: int
    none_agree: int


@dataclass(frozen=True)
class PaperDifference:
    """One of our series against the paper's device of the same kind, same models."""

    device: str
    physical: str
    paper_device: str
    metric: str
    rho: float
    rho_paper: float
    delta: float
    ci_low: float
    ci_high: float
    p_adjusted: float
    supported: bool


@dataclass(frozen=True)
class SessionSpread:
    """How far ρ moves between the sessions of one series, beside its interval over models."""

    device: str
    physical: str
    metric: str
    n_sessions: int
    rho_low: float
    rho_high: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class StatisticChange:
    """A verdict that differs between minimum and median latency."""

    what: str
    device: str
    item: str
    minimum: str
    median: str


@dataclass(frozen=True)
class LeftOut:
    """Models not analysed on some series, and why."""

    models: tuple[str, ...]
    reason: str
    devices: tuple[str, ...]


@dataclass(frozen=True)
class Findings:
    """Everything notebook 01 concludes, as numbers and verdicts; ``takeaway`` (at most three
    sentences, :func:`.prose.takeaway`) opens the conclusion."""

    devices: tuple[str, ...]
    physical: Mapping[str, str]
    sources: Mapping[str, str]
    n_models: int
    metrics: tuple[str, ...]
    table1: Table1 | None
    claims: tuple[ClaimVerdict, ...]
    summaries: tuple[DeviceSummary, ...]
    versus: tuple[VersusMacs, ...]
    conv: tuple[ConvDifference, ...]
    conv_supported: int
    conv_cells: int
    agreement: Agreement | None
    paper_devices: tuple[PaperDifference, ...]
    sessions: tuple[SessionSpread, ...]
    statistic_series: tuple[str, ...]
    statistic_compared: int
    statistic_changes: tuple[StatisticChange, ...]
    n_exploratory: int
    left_out: tuple[LeftOut, ...] = ()
    takeaway: str = ""
    weak_threshold: float = WEAK_THRESHOLD
    best_probability: float = BEST_PROBABILITY
    exact_max_n: int = EXACT_MAX_N
    alpha: float = ALPHA

    def claim(self, device: str, metric: str) -> ClaimVerdict:
        """The claim verdict (with ρ) of ``metric`` on ``device``."""
        return next(c for c in self.claims if c.device == device and c.metric == metric)

    def summary(self, physical: str, metric: str) -> DeviceSummary:
        return next(s for s in self.summaries if s.physical == physical and s.metric == metric)

    def versus_on(self, device: str) -> VersusMacs:
        return next(v for v in self.versus if v.device == device)

    @property
    def physical_devices(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.physical.get(d, d) for d in self.devices))


# -- from the tables ------------------------------------------------------------------------------

def table1_cells(table1: pd.DataFrame) -> tuple[Table1Cell, ...]:
    return tuple(Table1Cell(str(r["device"]), str(r["metric"]), str(r["source"]),
                            float(r["paper_rho"]), float(r["paper_p"]), Rho.of(r),
                            float(r["rho_diff"]), _num(r, "diff_low"), _num(r, "diff_high"),
                            bool(r["paper_rho_in_ci"]))
                 for _, r in table1.iterrows())


def table1_finding(table1: pd.DataFrame, basis: str = PUBLISHED) -> Table1 | None:
    cells = table1_cells(table1) if len(table1) else ()
    main = tuple(c for c in cells if c.source == basis)
    if not main:
        return None
    beyond = [c for c in main if c.beyond_rounding]
    largest = max(beyond, key=lambda c: abs(c.diff)) if beyond else None
    return Table1(basis, main, tuple(c for c in cells if c.source != basis),
                  sum(c.ours.supported for c in main), sum(c.paper_rho_in_ci for c in main),
                  largest)


def summaries(correlations: pd.DataFrame, sources: Mapping[str, str],
              metrics=PAPER_METRICS) -> tuple[DeviceSummary, ...]:
    out = []
    for (phys, metric), part in correlations[correlations["metric"].isin(metrics)].groupby(
            ["physical_device", "metric"], sort=False):
        part = part.dropna(subset=["rho"])
        if part.empty:
            continue
        series = tuple(str(d) for d in part["device"])
        out.append(DeviceSummary(str(phys), str(metric), sources.get(series[0], ""), series,
                                 float(part["rho"].min()), float(part["rho"].max()),
                                 int(part["supported"].sum())))
    return tuple(out)


def versus_findings(tests: Tests, physical: Mapping[str, str]) -> tuple[VersusMacs, ...]:
    out = []
    for device, part in tests.versus.groupby("device", sort=False):
        def items(verdict):
            rows = part[part["verdict"] == verdict]
            return tuple(MetricVsMacs(str(r["metric"]), float(r["delta"]), float(r["ci_low"]),
                                      float(r["ci_high"]), float(r["p_holm"]))
                         for _, r in rows.iterrows())

        best = tests.best[tests.best["device"] == device]
        top = best.sort_values("p_best", ascending=False, kind="stable").iloc[0] \
            if len(best) else None
        out.append(VersusMacs(
            str(device), physical.get(device, device), int(part["n"].iloc[0]),
            float(part["rho_reference"].iloc[0]), int(part["n_comparisons"].iloc[0]),
            items("better"), items("worse"), "" if top is None else str(top["metric"]),
            math.nan if top is None else float(top["p_best"]),
            bool(top is not None and top["called_best"])))
    return tuple(out)


def conv_findings(tests: Tests, physical: Mapping[str, str]) -> tuple[ConvDifference, ...]:
    return tuple(ConvDifference(
        str(r["device"]), physical.get(r["device"], r["device"]), str(r["metric"]),
        _num(r, "rho_subset"), _num(r, "rho_all"), _num(r, "delta"), _num(r, "ci_low"),
        _num(r, "ci_high"), _num(r, "p_adjusted"), bool(r["supported"]), int(r["n_subset"]),
        int(r["n_all"]), int(r["n_family"]), _num(r, "collapsed_delta_low"),
        _num(r, "collapsed_delta_high"))
        for _, r in tests.conv_difference.iterrows() if math.isfinite(_num(r, "delta")))


def agreement(table: pd.DataFrame, physical: Mapping[str, str]) -> Agreement | None:
    """Series pairs with n > EXACT_MAX_N grouped by their physical devices: a pair of devices
    agrees in all, some or none of its series pairs (after adjustment); pairs within one
    physical device are reported apart, never counted as devices."""
    big = table[(table["n"] > EXACT_MAX_N) & table["rho"].notna()]
    if big.empty:
        return None
    pa = big["a"].map(lambda d: physical.get(d, d))
    pb = big["b"].map(lambda d: physical.get(d, d))
    keyed = big.assign(_a=[min(x, y) for x, y in zip(pa, pb)],
                       _b=[max(x, y) for x, y in zip(pa, pb)])
    between, within = [], []
    for (a, b), part in keyed.groupby(["_a", "_b"], sort=False):
        pair = PairAgreement(a, b, len(part),
                             int((part["supported"].astype(bool) & (part["rho"] > 0)).sum()),
                             float(part["rho"].min()), float(part["rho"].max()))
        (within if a == b else between).append(pair)
    return Agreement(tuple(between), tuple(within),
                     sum(p.supported == p.pairs for p in between),
                     sum(0 < p.supported < p.pairs for p in between),
                     sum(p.supported == 0 for p in between))


def paper_findings(tests: Tests, physical: Mapping[str, str]) -> tuple[PaperDifference, ...]:
    return tuple(PaperDifference(
        str(r["device"]), physical.get(r["device"], r["device"]), str(r["paper_device"]),
        str(r["metric"]), float(r["rho"]), float(r["rho_paper"]), float(r["delta"]),
        _num(r, "ci_low"), _num(r, "ci_high"), _num(r, "p_adjusted"), bool(r["supported"]))
        for _, r in tests.paper_devices.iterrows())


def session_findings(spread: pd.DataFrame, physical: Mapping[str, str],
                     metrics=PAPER_METRICS) -> tuple[SessionSpread, ...]:
    return tuple(SessionSpread(
        str(r["device"]), physical.get(r["device"], r["device"]), str(r["metric"]),
        int(r["n_sessions"]), _num(r, "rho_low"), _num(r, "rho_high"), _num(r, "ci_low"),
        _num(r, "ci_high"))
        for _, r in spread.iterrows() if r["metric"] in metrics and r["n_sessions"] >= 2)


def find(table1: pd.DataFrame, tests: Tests, spread: pd.DataFrame, changes: pd.DataFrame,
         compared: int, median_series, *, sources: Mapping[str, str],
         physical: Mapping[str, str], n_models: int, metrics,
         left_out: pd.DataFrame | None = None) -> Findings:
    """The findings of one run, from its adjusted tables (``takeaway`` left empty: the study's
    ``find`` step generates it from these findings)."""
    corr = tests.correlations
    verdicts = claim_verdicts(corr)
    claims = tuple(ClaimVerdict(str(r["device"]), physical.get(r["device"], r["device"]),
                                str(r["metric"]), str(v), Rho.of(r))
                   for (_, r), v in zip(corr.loc[verdicts.index].iterrows(),
                                        verdicts["verdict"]))
    left = () if left_out is None else tuple(
        LeftOut(tuple(str(r.models).split(", ")), str(r.reason),
                tuple(str(r.devices).split(", ")))
        for r in left_out.itertuples())
    conv = tests.conv
    return Findings(
        devices=tuple(dict.fromkeys(corr["device"].astype(str))),
        physical={str(k): str(v) for k, v in physical.items()},
        sources=dict(sources), n_models=int(n_models), metrics=tuple(metrics),
        table1=table1_finding(table1), claims=claims,
        summaries=summaries(corr, sources), versus=versus_findings(tests, physical),
        conv=conv_findings(tests, physical),
        conv_supported=int(conv["supported"].sum()) if len(conv) else 0,
        conv_cells=int(conv["rho"].notna().sum()) if len(conv) else 0,
        agreement=agreement(tests.agreement, physical),
        paper_devices=paper_findings(tests, physical),
        sessions=session_findings(spread, physical),
        statistic_series=tuple(median_series), statistic_compared=int(compared),
        statistic_changes=tuple(StatisticChange(*(str(v) for v in r))
                                for r in changes[["what", "device", "item", "minimum",
                                                  "median"]].itertuples(index=False)),
        n_exploratory=tests.n_exploratory, left_out=left)
