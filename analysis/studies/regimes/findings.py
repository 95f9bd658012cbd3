"""Notebook 07's findings: every number and verdict its conclusion states, typed.

Computed from the step tables of :mod:`.compute` and :mod:`.slowdowns` (no resampling here);
the prose (:mod:`.prose`) only formats them. The rules, stated before the results:

* a correlation is *shown* when its Benjamini–Hochberg q over the notebook's cells is ≤ α
  (exploratory, issue 20); a metric is *better than MACs* in a regime by
  :func:`analysis.inference.versus_reference` (paired, Holm within the regime); a metric is
  *called best* only when its bootstrap share of being best reaches
  :data:`~analysis.constants.BEST_PROBABILITY`;
* the pre-stated question (:data:`.compute.CONTRAST`): the gap d = ρ(operators) − ρ(MACs)
  *changes* between two regimes when Δd's Holm p ≤ α and its interval excludes 0, and the
  order *reverses* when, in addition, d's intervals exclude 0 on opposite sides;
* a slowdown is slower / within noise / faster by the noise band of its own series
  (notebooks 02/03, :func:`analysis.noise.verdict`);
* the minimum (the paper's statistic) is primary; every verdict is also computed with the
  median, and where the two differ it is listed (:attr:`Findings.statistic_changes`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from analysis.constants import ALPHA
from analysis.studies.changes import StatisticChange, verdict_changes
from analysis.studies.regimes.compute import CONTRAST, PAPER_GPU, PRIMARY
from analysis.studies.regimes.slowdowns import GPU, PHONE


@dataclass(frozen=True)
class Rho:
    """ρ(latency, metric) in one regime with its inference."""

    metric: str
    rho: float
    ci_low: float
    ci_high: float
    p_permutation: float
    p_floor: float  # the smallest p the test can give
    q_value: float
    shown: bool
    n: int


@dataclass(frozen=True)
class RegimeFinding:
    """What ranks latency in one regime (primary statistic)."""

    regime: str
    n: int
    macs: Rho
    contrast: Rho  # the first metric of CONTRAST (operators)
    top: Rho  # the metric with the highest ρ
    top_share: float  # its bootstrap share of being best
    called_best: str | None  # the metric called best (share ≥ BEST_PROBABILITY), else None
    better_than_macs: tuple[str, ...]
    worse_than_macs: tuple[str, ...]
    gap: float  # d = ρ(operators) − ρ(MACs)
    gap_low: float
    gap_high: float


@dataclass(frozen=True)
class GapChange:
    """Δd between two regimes (the pre-stated question)."""

    regime_a: str
    regime_b: str
    gap_a: float
    gap_b: float
    delta: float
    ci_low: float
    ci_high: float
    p_holm: float
    changes: bool
    reverses: bool


@dataclass(frozen=True)
class Overhead:
    """Eager − graph latency per operator at one precision."""

    precision: str
    n: int
    us_per_operator: float
    ci_low: float
    ci_high: float
    ols_ci_low: float
    ols_ci_high: float
    r_squared: float
    explained_share: float
    overhead_share: float


@dataclass(frozen=True)
class Slowdown:
    """One ablation variant over its reference in one series."""

    series: str
    device_kind: str
    regime: str
    slowdown: float
    verdict: str
    band: float


@dataclass(frozen=True)
class AblationFinding:
    """The paper's slowest variant of one table, in every series."""

    table: str
    variant: str
    reference: str
    paper: float
    series: tuple[Slowdown, ...]


@dataclass(frozen=True)
class Calibration:
    """The identical networks of one GPU regime: their largest ratio and whether every pair
    lies within the regime's band (minimum and median)."""

    regime: str
    band: float
    largest_gap: float  # max |ratio − 1| over the pairs, as a share
    within: bool


@dataclass(frozen=True)
class DeviceMatch:
    """One of the paper's devices against the GPU's regimes (shared models)."""

    device: str
    n: int
    rhos: tuple[Rho, ...]  # one per regime, ``metric`` = the regime
    top: str  # regime with the highest ρ
    top_share: float
    called_closest: str | None


@dataclass(frozen=True)
class RegimeNoise:
    """Session noise of one regime (primary statistic)."""

    regime: str
    n_sessions: int
    band: float
    median_spread: float
    p90_spread: float
    session_rho_min: float
    contrast_low: float  # lowest per-session ρ(latency, operators)
    contrast_high: float


#: What a :class:`StatisticChange` is about.
CORRELATION, VERSUS_MACS, GAP, AGREEMENT, SLOWDOWN = ("correlation", "versus MACs", "gap",
                                                      "agreement", "slowdown")


@dataclass(frozen=True)
class Findings:
    """Everything the conclusion of notebook 07 states; ``takeaway`` (at most three sentences,
    :func:`analysis.studies.regimes.prose.takeaway`) opens it."""

    device: str
    regimes: tuple[str, ...]
    n_models: int
    statistic: str
    n_bootstrap: int
    per_regime: tuple[RegimeFinding, ...]
    gap_changes: tuple[GapChange, ...]
    n_differences: int  # per-metric Δρ between regimes shown after BH
    n_difference_tests: int
    overhead: tuple[Overhead, ...]
    ablation: tuple[AblationFinding, ...]
    calibration: tuple[Calibration, ...]
    devices: tuple[DeviceMatch, ...]
    noise: tuple[RegimeNoise, ...]
    statistic_changes: tuple[StatisticChange, ...]
    takeaway: str = ""

    def regime(self, name: str) -> RegimeFinding | None:
        return next((r for r in self.per_regime if r.regime == name), None)

    @property
    def paper_gpu(self) -> DeviceMatch | None:
        return next((d for d in self.devices if d.device == PAPER_GPU), None)


# -- from the tables ------------------------------------------------------------------------------

def _rho(row, metric: str | None = None) -> Rho:
    return Rho(metric or str(row["metric"]), float(row["rho"]), float(row["ci_low"]),
               float(row["ci_high"]), float(row["p_permutation"]), float(row["p_floor"]),
               float(row["q_value"]),
               bool(row["shown"]), int(row["n"]))


def _primary(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["statistic"] == PRIMARY] if len(frame) else frame


def regime_findings(correlations, versus, best, order) -> tuple[RegimeFinding, ...]:
    corr, versus, best, order = (_primary(t) for t in (correlations, versus, best, order))
    out = []
    for regime, part in corr.groupby("regime", sort=False):
        cells = part.set_index("metric")
        top = cells["rho"].astype(float).idxmax()
        b = best[best["regime"] == regime].set_index("metric")
        called = b.index[b["called_best"].astype(bool)].tolist()
        v = versus[versus["regime"] == regime]
        gap = order[order["regime"] == regime]
        g = gap.iloc[0] if len(gap) else None
        out.append(RegimeFinding(
            str(regime), int(cells["n"].max()), _rho(cells.loc["macs"], "macs"),
            _rho(cells.loc[CONTRAST[0]], CONTRAST[0]), _rho(cells.loc[top], top),
            float(b.loc[top, "p_best"]) if top in b.index else math.nan,
            called[0] if called else None,
            tuple(v.loc[v["verdict"] == "better", "metric"]),
            tuple(v.loc[v["verdict"] == "worse", "metric"]),
            *((float(g["delta"]), float(g["ci_low"]), float(g["ci_high"])) if g is not None
              else (math.nan,) * 3)))
    return tuple(out)


def gap_changes(pairs: pd.DataFrame) -> tuple[GapChange, ...]:
    return tuple(GapChange(str(r.regime_a), str(r.regime_b), float(r.d_a), float(r.d_b),
                           float(r.delta), float(r.ci_low), float(r.ci_high), float(r.p_holm),
                           bool(r.p_holm <= ALPHA and (r.ci_low > 0 or r.ci_high < 0)),
                           bool(r.flips))
                 for r in _primary(pairs).itertuples())


def overhead_findings(overhead: pd.DataFrame) -> tuple[Overhead, ...]:
    return tuple(Overhead(str(r.precision), int(r.n), float(r.us_per_operator),
                          float(r.ci_low), float(r.ci_high), float(r.ols_ci_low),
                          float(r.ols_ci_high), float(r.r_squared), float(r.explained_share),
                          float(r.overhead_share)) for r in _primary(overhead).itertuples())


def ablation_findings(ratios: pd.DataFrame) -> tuple[AblationFinding, ...]:
    """Per table, the variant the paper's phone slows most, in every series."""
    out = []
    for table, part in ratios.groupby("table", sort=False):
        phone = part[part["device_kind"] == PHONE]
        if phone.empty or phone["slowdown"].isna().all():
            continue
        worst = phone.loc[phone["slowdown"].astype(float).idxmax()]
        reference = phone.loc[phone["slowdown"].astype(float).idxmin(), "paper_row"]
        rows = part[(part["model_id"] == worst["model_id"]) & (part["device_kind"] != PHONE)]
        out.append(AblationFinding(
            str(table), str(worst["paper_row"]), str(reference), float(worst["slowdown"]),
            tuple(Slowdown(str(r.series), str(r.device_kind), str(r.regime),
                           float(r.slowdown), str(r.verdict), float(r.band))
                  for r in rows.itertuples() if r.slowdown == r.slowdown)))
    return tuple(out)


def calibration_findings(duplicates: pd.DataFrame) -> tuple[Calibration, ...]:
    out = []
    for regime, part in duplicates[duplicates["device_kind"] == GPU].groupby("regime",
                                                                           sort=False):
        ratios = part[["ratio", "median_ratio"]].astype(float).to_numpy().ravel()
        verdicts = set(part["verdict"]) | set(part["median_verdict"])
        out.append(Calibration(str(regime), float(part["band"].iloc[0]),
                               float(max(abs(r - 1) for r in ratios)) if len(ratios)
                               else math.nan, verdicts == {"within noise"}))
    return tuple(out)


def device_findings(agreement: pd.DataFrame, closest: pd.DataFrame) -> tuple[DeviceMatch, ...]:
    agreement, closest = _primary(agreement), _primary(closest)
    out = []
    for device, part in agreement.groupby("paper_device", sort=False):
        rhos = tuple(_rho(r, str(r["regime"])) for _, r in part.iterrows())
        c = closest[closest["paper_device"] == device].set_index("regime")
        top = max(rhos, key=lambda r: r.rho if math.isfinite(r.rho) else -2).metric
        called = c.index[c["called_best"].astype(bool)].tolist() if len(c) else []
        out.append(DeviceMatch(str(device), int(part["n"].max()), rhos, top,
                               float(c.loc[top, "p_best"]) if top in c.index else math.nan,
                               called[0] if called else None))
    return tuple(out)


def noise_findings(noise: pd.DataFrame, session_rhos: pd.DataFrame) -> tuple[RegimeNoise, ...]:
    out = []
    for r in _primary(noise).itertuples():
        s = session_rhos[(session_rhos["regime"] == r.regime)
                         & (session_rhos["metric"] == CONTRAST[0])]["rho"]
        out.append(RegimeNoise(str(r.regime), int(r.n_sessions), float(r.band),
                               float(r.median_spread), float(r.p90_spread),
                               float(r.session_rho_min),
                               float(s.min()) if len(s) else math.nan,
                               float(s.max()) if len(s) else math.nan))
    return tuple(out)


def statistic_changes(correlations, versus, pairs, agreement,
                      ratios) -> tuple[StatisticChange, ...]:
    """Every verdict that differs between the minimum and the median."""
    shown = lambda v: "shown" if v else "not shown"  # noqa: E731
    out = verdict_changes(correlations, ["regime", "metric"], "shown", CORRELATION, shown)
    out += verdict_changes(versus, ["regime", "metric"], "verdict", VERSUS_MACS)
    out += verdict_changes(pairs.assign(c=pairs["p_holm"] <= ALPHA), ["regime_a", "regime_b"],
                           "c", GAP, lambda v: "changes" if v else "no change shown")
    out += verdict_changes(agreement, ["paper_device", "regime"], "shown", AGREEMENT, shown)
    if len(ratios):
        diff = ratios[(ratios["verdict"] != ratios["median_verdict"])
                      & ratios["verdict"].isin(["slower", "faster", "within noise"])]
        out += [StatisticChange(SLOWDOWN, (str(r.table), str(r.paper_row), str(r.series)),
                                str(r.verdict), str(r.median_verdict))
                for r in diff.itertuples()]
    return tuple(out)


def find(device: str, regimes, n_models: int, n_bootstrap: int, tables: dict) -> Findings:
    """The findings of notebook 07 from its step tables (``tables``: the result tables by
    name, as :func:`analysis.studies.regimes.tables` names them)."""
    t = tables
    diffs = _primary(t["regime_differences"])
    return Findings(
        device=device, regimes=tuple(regimes), n_models=n_models, statistic=PRIMARY,
        n_bootstrap=n_bootstrap,
        per_regime=regime_findings(t["correlations"], t["versus_macs"], t["best_metrics"],
                                   t["metric_gap"]),
        gap_changes=gap_changes(t["metric_gap_changes"]),
        n_differences=int(diffs["differs"].sum()), n_difference_tests=len(diffs),
        overhead=overhead_findings(t["launch_overhead"]),
        ablation=ablation_findings(t["ablation_ratios"]),
        calibration=calibration_findings(t["ablation_duplicates"]),
        devices=device_findings(t["device_agreement"], t["closest_regime"]),
        noise=noise_findings(t["session_noise"], t["session_rhos"]),
        statistic_changes=statistic_changes(t["correlations"], t["versus_macs"],
                                            t["metric_gap_changes"], t["device_agreement"],
                                            t["ablation_ratios"]))
