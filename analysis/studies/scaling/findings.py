"""Notebook 08's findings: every number and verdict its conclusion states, typed.

Computed from the step tables of :mod:`.compute` (no resampling here); :mod:`.prose` only
formats them. The rules are stated in :mod:`.compute`'s docstring: b against 1 and e against 2
by their t intervals, correlations shown after Benjamini–Hochberg, Lite/B ratios by the
series' noise band; the minimum is primary and every verdict that changes with the median is
listed (:attr:`Findings.statistic_changes`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from analysis.studies.changes import StatisticChange, verdict_changes
from analysis.studies.scaling.compute import (ACROSS, BELOW, CLAIMED_EXPONENT, FAMILY,
                                              NO_INTERVAL)
from analysis.studies.scaling.data import COMPOUND, PRIMARY, STATISTICS


@dataclass(frozen=True)
class Exponent:
    """One sweep on one series: b (latency ∝ MACs^b) with its t interval and session range,
    e (latency ∝ multiplier^e; NaN for compound scaling), c (MACs ∝ multiplier^c), the
    within-sweep ρ."""

    sweep: str
    knob: str
    n: int
    b: float
    b_low: float
    b_high: float
    b_session_low: float
    b_session_high: float
    b_verdict: str
    e: float
    e_low: float
    e_high: float
    e_verdict: str
    c: float
    rho: float


@dataclass(frozen=True)
class Rho:
    """ρ(latency, MACs) over a set of models, with its inference."""

    scope: str
    models: str
    n: int
    rho: float
    ci_low: float
    ci_high: float
    p_permutation: float
    q_value: float
    shown: bool


@dataclass(frozen=True)
class LitePair:
    """EfficientNet-Lite_i against EfficientNet-B_i on one series."""

    series: str
    lite: str
    b_model: str
    macs_ratio: float
    ratio: float
    ratio_low: float
    ratio_high: float
    band: float
    verdict: str
    equal_macs_ratio: float
    equal_macs_low: float
    equal_macs_high: float


@dataclass(frozen=True)
class SeriesFinding:
    """What one series (device · runtime [· regime]) says."""

    series: str
    across_label: str  # the series the across-family ρ is computed on (the H200 reference:
    # this project's own campaign in the same regime)
    one_pass: bool  # no sessions (the H200 reference): no session range, a borrowed band
    band: float
    band_source: str
    exponents: tuple[Exponent, ...]
    across: Rho | None
    family: Rho | None
    lite: tuple[LitePair, ...]

    @property
    def with_interval(self) -> tuple[Exponent, ...]:
        return tuple(x for x in self.exponents if x.b_verdict != NO_INTERVAL)

    @property
    def b_range(self) -> tuple[float, float]:
        """Lowest and highest b over the sweeps with an interval."""
        bs = [x.b for x in self.with_interval]
        return (min(bs), max(bs)) if bs else (math.nan, math.nan)


@dataclass(frozen=True)
class CountClaim:
    """The claim "cost ∝ α² (ρ²)" on the counts of one sweep: the count exponent c and the
    point farthest from the prediction."""

    sweep: str
    knob: str
    c: float
    n: int
    worst_model: str
    worst_input_size: int
    worst_multiplier: float
    worst_ratio: float  # that point's MACs ratio / the multiplier squared
    paper_worst_ratio: float  # the MobileNet paper's own ratio / the multiplier squared (NaN)


@dataclass(frozen=True)
class AblationCost:
    """What the paper's ablations say Squeeze-Excite or swish costs, in one series."""

    table: str
    row: str
    series: str
    device_kind: str
    slowdown: float
    verdict: str


@dataclass(frozen=True)
class Findings:
    """Everything the conclusion of notebook 08 states; ``takeaway`` (at most three sentences,
    :func:`analysis.studies.scaling.prose.takeaway`) opens it."""

    statistic: str
    across_models: str
    series: tuple[SeriesFinding, ...]
    counts: tuple[CountClaim, ...]
    ablation: tuple[AblationCost, ...]
    h200: str | None  # the H200 reference's series name, when it is part of the run
    n_sweeps_rho_one: int  # sweeps (with ≥ 3 points) whose within-sweep ρ is 1
    n_sweeps_ranked: int
    statistic_changes: tuple[StatisticChange, ...]
    takeaway: str = ""

    def of(self, series: str) -> SeriesFinding | None:
        return next((s for s in self.series if s.series == series), None)


# -- from the tables ---------------------------------------------------------------------------------

def _primary(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["statistic"] == PRIMARY] if len(frame) else frame


def _exponent(r) -> Exponent:
    return Exponent(str(r.sweep), str(r.knob), int(r.n), float(r.b), float(r.b_ci_low),
                    float(r.b_ci_high), float(r.b_session_low), float(r.b_session_high),
                    str(r.b_verdict), float(r.e), float(r.e_ci_low), float(r.e_ci_high),
                    str(r.e_verdict), float(r.c), float(r.rho))


def _rho(r) -> Rho:
    return Rho(str(r["scope"]), str(r["models"]), int(r["n"]), float(r["rho"]),
               float(r["ci_low"]), float(r["ci_high"]), float(r["p_permutation"]),
               float(r["q_value"]), bool(r["shown"]))


def _lite(r) -> LitePair:
    return LitePair(str(r.series), str(r.lite), str(r.b_model), float(r.macs_ratio),
                    float(r.ratio), float(r.ratio_low), float(r.ratio_high), float(r.band),
                    str(r.verdict), float(r.equal_macs_ratio), float(r.equal_macs_low),
                    float(r.equal_macs_high))


def series_findings(exponents, correlations, lite, noise, points,
                    across_labels: dict | None = None) -> tuple[SeriesFinding, ...]:
    ex, corr, lite, noise, points = (_primary(t) for t in (exponents, correlations, lite, noise,
                                                           points))
    sessions = points.groupby("series")["n_sessions"].max()
    out = []
    for series in dict.fromkeys(ex["series"]):
        c = corr[corr["series"] == series].set_index("scope", drop=False)
        band = noise[noise["series"] == series]
        scope = lambda name: _rho(c.loc[name]) if name in c.index else None  # noqa: E731
        out.append(SeriesFinding(
            str(series), str((across_labels or {}).get(series, series)),
            bool(sessions.get(series, 1) <= 1),
            float(band["band"].iloc[0]) if len(band) else math.nan,
            str(band["band_source"].iloc[0]) if len(band) else "",
            tuple(_exponent(r) for r in ex[ex["series"] == series].itertuples()),
            scope(ACROSS), scope(FAMILY),
            tuple(_lite(r) for r in lite[lite["series"] == series].itertuples())))
    return tuple(out)


def count_claims(count_scaling: pd.DataFrame, exponents: pd.DataFrame) -> tuple[CountClaim, ...]:
    out = []
    c = _primary(exponents).groupby("sweep", sort=False)["c"].first()
    for sweep, part in count_scaling.groupby("sweep", sort=False):
        off = part[part["multiplier"] != 1.0]
        if off.empty:
            continue
        worst = off.loc[(off["ratio_to_prediction"] - 1).abs().idxmax()]
        paper = worst["paper_ratio"] / worst["predicted_ratio"]
        out.append(CountClaim(str(sweep), str(worst["knob"]), float(c.get(sweep, math.nan)),
                              int(len(part)), str(worst["model"]), int(worst["input_size"]),
                              float(worst["multiplier"]), float(worst["ratio_to_prediction"]),
                              float(paper)))
    return tuple(out)


def ablation_costs(ablation: pd.DataFrame) -> tuple[AblationCost, ...]:
    return tuple(AblationCost(str(r.table), str(r.paper_row), str(r.series),
                              str(r.device_kind), float(r.slowdown), str(r.verdict))
                 for r in ablation.itertuples())


#: What a :class:`StatisticChange` is about.
EXPONENT_B, EXPONENT_E, LITE, CORRELATION = "b", "e", "Lite vs B", "correlation"


def statistic_changes(exponents, lite, correlations) -> tuple[StatisticChange, ...]:
    """Every verdict that differs between the minimum and the median."""
    shown = lambda v: "shown" if v else "not shown"  # noqa: E731
    e = exponents[exponents["knob"] != COMPOUND]
    out = verdict_changes(exponents, ["series", "sweep"], "b_verdict", EXPONENT_B,
                          statistics=STATISTICS)
    out += verdict_changes(e, ["series", "sweep"], "e_verdict", EXPONENT_E,
                           statistics=STATISTICS)
    out += verdict_changes(lite, ["series", "lite"], "verdict", LITE, statistics=STATISTICS)
    out += verdict_changes(correlations, ["series", "scope"], "shown", CORRELATION, shown,
                           statistics=STATISTICS)
    return tuple(out)


def find(tables: dict, across_models: str, h200: str | None,
         h200_campaign: str = "") -> Findings:
    """The findings of notebook 08 from its result tables (by name); ``h200``: the H200
    reference's series, whose across-family ρ comes from ``h200_campaign``."""
    t = tables
    ex = _primary(t["exponents"])
    ranked = ex[ex["n"] >= 3]
    return Findings(
        statistic=PRIMARY, across_models=across_models,
        series=series_findings(t["exponents"], t["correlations"], t["lite_vs_b"], t["noise"],
                               t["points"], {h200: h200_campaign} if h200 else {}),
        counts=count_claims(t["count_scaling"], t["exponents"]),
        ablation=ablation_costs(t["ablation_context"]), h200=h200,
        n_sweeps_rho_one=int((ranked["rho"] >= 1 - 1e-12).sum()),
        n_sweeps_ranked=int(len(ranked)),
        statistic_changes=statistic_changes(t["exponents"], t["lite_vs_b"],
                                            t["correlations"]))


__all__ = ["AblationCost", "BELOW", "CLAIMED_EXPONENT", "CORRELATION", "CountClaim",
           "EXPONENT_B", "EXPONENT_E", "Exponent", "Findings", "LITE", "LitePair", "Rho",
           "SeriesFinding", "StatisticChange", "find"]
