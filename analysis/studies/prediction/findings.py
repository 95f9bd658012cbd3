"""Notebook 06, the findings: typed records computed from the tables of
:mod:`~analysis.studies.prediction.compute`, the numbers and verdicts behind every sentence of
the generated prose. The rules: a target is met only by the numbers (the targets are stated in
:mod:`analysis.constants` before the results); a near tie (within :data:`NEAR_TIE`) is never
counted as ahead; "better" than MACs only where the Benjamini–Hochberg q ≤ α and the paired
interval excludes 0; a cost group is needed only where its interval lies above 1, and one group
matters more than another only where their intervals do not overlap; interval coverage is
below or above the nominal level only where its interval excludes it. Devices are counted as
physical devices (all runtimes and regimes of one machine are one device): a physical device
meets a target when every one of its series does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis import predict as P
from analysis.constants import (MIN_MODELS_FOR_TARGET, NEAR_TIE, TARGET_K, TARGET_LOO_RHO,
                                TARGET_MEDIAN_RHO, TARGET_P10_RHO)
from analysis.studies.prediction.compute import (  # noqa: F401 (the verdicts re-exported)
    BETTER, LOO_K, MACS, PREDICTOR, SELECTED, SIMILAR, TOO_FEW, UNDECIDED, WORSE, report_k)
from analysis.studies.prediction.cost_groups import ordering

#: Verdicts of the leave-one-out ρ target on a device.
MET, MISSED, NO_TARGET = "met", "missed", "no target"
#: The verdicts against MACs (BETTER, WORSE, UNDECIDED, TOO_FEW) are compute's, re-exported here.
#: Coverage of the 90 % intervals against the nominal level (the interval excludes it or not).
BELOW, ABOVE, NOMINAL = "below", "above", "consistent"
#: Effect of one physical device in the reference pool (paired median Δρ beyond ±NEAR_TIE).
HELPS, HURTS, NO_EFFECT = "helps", "hurts", "within the near-tie margin"


@dataclass(frozen=True)
class DeviceLoo:
    """Leave one model out on one device: the full predictor's scores and the target."""

    device: str
    n: int
    rho: float
    mdape: float  # median absolute percentage error, %
    within10: float  # share of models within ±10 %
    coverage90: float  # share of measured latencies inside the 90 % interval
    best_single: str  # feature set with the highest ρ on its own
    best_single_rho: float
    target: str  # MET / MISSED (ρ against TARGET_LOO_RHO), NO_TARGET below MIN_MODELS_FOR_TARGET


@dataclass(frozen=True)
class VersusMacs:
    """The predictor's leave-one-out ρ against ranking the same models by MACs."""

    device: str
    n: int
    rho_predictor: float
    rho_macs: float
    delta: float
    ci_low: float
    ci_high: float
    p_value: float
    q_value: float  # Benjamini–Hochberg over the devices
    verdict: str  # BETTER / WORSE / UNDECIDED / TOO_FEW


@dataclass(frozen=True)
class Baseline:
    """A baseline's ρ on the held-out models of a new device (over splits)."""

    method: str
    rho_median: float
    rho_p10: float


@dataclass(frozen=True)
class DeviceNew:
    """A new device with k calibration models: the predictor against the targets and both
    baselines."""

    device: str
    k: int
    n_splits: int
    rho_median: float
    rho_p10: float
    mdape_median: float  # %
    beats_both_share: float  # share of splits above both baselines
    paired_delta: float  # median over splits of ρ − the better baseline's ρ (same split)
    coverage90: float
    baselines: tuple[Baseline, ...]
    median_met: bool  # rho_median ≥ TARGET_MEDIAN_RHO
    p10_met: bool  # rho_p10 ≥ TARGET_P10_RHO
    beats_met: bool  # above both baselines in every split

    @property
    def all_met(self) -> bool:
        return self.median_met and self.p10_met and self.beats_met


@dataclass(frozen=True)
class DeviceCoverage:
    """Coverage of the 90 % intervals on one device, with its 95 % interval (models
    resampled): leaving one model out, and on a new device with k calibration models."""

    device: str
    loo: float
    loo_low: float
    loo_high: float
    loo_verdict: str  # BELOW / ABOVE / NOMINAL
    k: int | None
    at_k: float
    at_k_low: float
    at_k_high: float
    at_k_verdict: str


@dataclass(frozen=True)
class GroupImportance:
    """What leaving one cost group out costs out of sample on one device."""

    group: str
    ratio: float  # held-out RMSE without the group / with all costs
    low: float
    high: float
    needed: bool  # the interval lies above 1


@dataclass(frozen=True)
class DeviceImportance:
    """The cost groups on one device, and the orderings the intervals support."""

    device: str
    n: int
    rmse_all: float  # held-out RMSE of log latency with all costs
    groups: tuple[GroupImportance, ...]
    ordered: tuple[tuple[str, str], ...]  # (a, b): a's interval lies entirely above b's

    @property
    def needed(self) -> tuple[str, ...]:
        return tuple(g.group for g in self.groups if g.needed)


@dataclass(frozen=True)
class PoolEffect:
    """One device predicted with and without one physical device in the reference pool, on
    the same calibration draws, at k calibration models."""

    device: str
    k: int
    rho_with: float  # median over splits
    rho_without: float
    paired_delta: float  # median over splits of ρ(with) − ρ(without)
    improved_share: float
    worsened_share: float
    coverage_with: float
    coverage_without: float
    verdict: str  # HELPS / HURTS / NO_EFFECT


@dataclass(frozen=True)
class PoolComparison:
    """The both-ways comparison: every device not on ``without``, at ``k``."""

    without: str
    k: int
    effects: tuple[PoolEffect, ...]


@dataclass(frozen=True)
class Advice:
    """How many models to measure, from the new-device results: ``typical`` is, per k, the
    median over physical devices of the predictor's median ρ (each physical device the median
    of its series); ``k`` the smallest k within :data:`NEAR_TIE` of the largest k's value (more
    models stop helping), ``rising`` when that is the largest k evaluated (more may help)."""

    k: int
    rising: bool
    typical: tuple[tuple[int, float], ...]
    n_physical: int
    met: tuple[str, ...]  # physical devices whose every series reaches TARGET_MEDIAN_RHO at k
    macs_as_good: tuple[tuple[str, float, float], ...]  # (series, predictor ρ, MACs ρ) at k
    smallest_k: int
    smallest_low: float  # lowest and highest predictor median ρ over series at smallest_k
    smallest_high: float
    smallest_macs_as_good: tuple[str, ...]


@dataclass(frozen=True)
class WeakDevice:
    """A device whose leave-one-out ρ stays below the target, and why."""

    device: str
    rho: float
    mdape: float  # %
    worst: tuple[tuple[str, float], ...]  # the three worst-predicted (model, relative error)
    spread: float  # slowest / fastest latency
    close_share: float  # neighbours (latency order) closer together than the median error
    noise_cv: float | None  # median run-to-run coefficient of variation, where known


@dataclass(frozen=True)
class NewDeviceGap:
    """A new device whose median ρ at k stays below the target: the gap to leave-one-out."""

    device: str
    k: int
    rho_median: float
    loo_rho: float  # the same predictor with all other models (NaN: not evaluated)
    n_draws: int
    rho_p10: float
    rho_p90: float
    designs: tuple[tuple[str, float], ...]  # the three designs chosen most often (share)


@dataclass(frozen=True)
class Findings:
    """Everything notebook 06 concludes, per section, and the verdicts of the conclusion;
    ``takeaway`` (at most three sentences, :func:`.prose.takeaway`) opens the conclusion."""

    devices: tuple[str, ...]
    physical: tuple[tuple[str, str], ...]  # (series, physical device)
    loo: tuple[DeviceLoo, ...]
    versus_macs: tuple[VersusMacs, ...]
    k: int | None  # calibration models the new-device findings are given for
    new_device: tuple[DeviceNew, ...]
    coverage: tuple[DeviceCoverage, ...]
    importance: tuple[DeviceImportance, ...]
    pool: PoolComparison | None
    advice: Advice | None
    weak: tuple[WeakDevice, ...]
    gaps: tuple[NewDeviceGap, ...]
    loo_met: tuple[str, ...]  # physical devices whose every series (≥ MIN_MODELS) reaches it
    loo_missed: tuple[str, ...]  # physical devices with a series below it
    new_device_met: tuple[str, ...]  # physical devices meeting all three targets at k
    new_device_judged: int  # physical devices evaluated at k
    ahead: tuple[tuple[str, float], ...]  # paired Δρ > NEAR_TIE
    near_ties: tuple[tuple[str, float], ...]  # |paired Δρ| ≤ NEAR_TIE
    behind: tuple[tuple[str, float], ...]  # paired Δρ < −NEAR_TIE
    takeaway: str = ""

    def physical_of(self, device: str) -> str:
        return dict(self.physical).get(device, device)


def by_physical(verdicts: dict, groups: dict) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(true, false)``: physical devices all of whose series are True, and the others (in
    order of first appearance)."""
    out: dict[str, bool] = {}
    for series, ok in verdicts.items():
        phys = groups.get(series, series)
        out[phys] = out.get(phys, True) and bool(ok)
    return (tuple(p for p, ok in out.items() if ok), tuple(p for p, ok in out.items() if not ok))


def loo_findings(scores: pd.DataFrame) -> tuple[DeviceLoo, ...]:
    """Per device: the full predictor's leave-one-out scores, the best single feature set and
    the ρ target (applies from :data:`MIN_MODELS_FOR_TARGET` models)."""
    out = []
    for device, g in scores.groupby("device", sort=False):
        sel = g[g["predictor"] == SELECTED].iloc[0]
        single = g[g["predictor"] != SELECTED].sort_values("rho", ascending=False)
        n = int(sel["n"])
        target = (NO_TARGET if n < MIN_MODELS_FOR_TARGET else
                  MET if sel["rho"] >= TARGET_LOO_RHO else MISSED)
        out.append(DeviceLoo(str(device), n, float(sel["rho"]), float(sel["mdape"]),
                             float(sel["within10"]), float(sel["coverage90"]),
                             str(single.iloc[0]["predictor"]) if len(single) else "",
                             float(single.iloc[0]["rho"]) if len(single) else np.nan, target))
    return tuple(out)


def versus_macs_findings(table: pd.DataFrame) -> tuple[VersusMacs, ...]:
    """Per device: Δρ of the predictor against MACs and its verdict (the table's, from the
    Benjamini–Hochberg q and the side of the interval)."""
    return tuple(VersusMacs(str(r["device"]), int(r["n"]), float(r["rho_predictor"]),
                            float(r["rho_macs"]), float(r["delta_rho"]), float(r["ci_low"]),
                            float(r["ci_high"]), float(r["p_value"]), float(r["q_value"]),
                            str(r["verdict"])) for _, r in table.iterrows())


def new_device_findings(summary: pd.DataFrame, k: int | None) -> tuple[DeviceNew, ...]:
    """Per held-out device at ``k`` calibration models: the predictor, both baselines and the
    three targets (median ρ, 10th percentile, above both baselines in every split)."""
    out = []
    part = summary[summary["k"] == k] if k is not None else summary[:0]
    for device, g in part.groupby("device", sort=False):
        by = g.set_index("method")
        if PREDICTOR not in by.index:
            continue
        p = by.loc[PREDICTOR]
        baselines = tuple(Baseline(m, float(by.loc[m, "rho_median"]), float(by.loc[m, "rho_p10"]))
                          for m in (MACS, SIMILAR) if m in by.index)
        out.append(DeviceNew(
            str(device), int(k), int(p["n_splits"]), float(p["rho_median"]),
            float(p["rho_p10"]), float(p["mdape_median"]), float(p["beats_both_share"]),
            float(p.get("paired_delta_median", np.nan)), float(p["coverage90"]), baselines,
            bool(p["rho_median"] >= TARGET_MEDIAN_RHO), bool(p["rho_p10"] >= TARGET_P10_RHO),
            bool(p["beats_both_share"] == 1.0)))
    return tuple(out)


def coverage_verdict(low: float, high: float, nominal: float = P.COVERAGE) -> str:
    """BELOW / ABOVE the nominal coverage only where the interval excludes it."""
    return BELOW if high < nominal else ABOVE if low > nominal else NOMINAL


def coverage_findings(table: pd.DataFrame, k: int | None) -> tuple[DeviceCoverage, ...]:
    """Per device: the leave-one-out coverage and the coverage at ``k`` with their verdicts."""
    out = []
    for device, g in table.groupby("device", sort=False):
        rows = g.set_index("k")
        loo = rows.loc[LOO_K] if LOO_K in rows.index else None
        at = rows.loc[str(k)] if k is not None and str(k) in rows.index else None
        vals = []
        for r in (loo, at):
            vals += ([float(r["coverage90"]), float(r["ci_low"]), float(r["ci_high"]),
                      coverage_verdict(r["ci_low"], r["ci_high"])] if r is not None
                     else [np.nan, np.nan, np.nan, ""])
        out.append(DeviceCoverage(str(device), *vals[:4], k if at is not None else None,
                                  *vals[4:]))
    return tuple(out)


def importance_findings(table: pd.DataFrame) -> tuple[DeviceImportance, ...]:
    """Per device: each group's held-out error ratio with its interval, and the orderings the
    intervals support (:func:`~analysis.studies.prediction.cost_groups.ordering`)."""
    orders = ordering(table)
    out = []
    for device, g in table.groupby("device", sort=False):
        groups = tuple(GroupImportance(str(r["group"]), float(r["ratio"]), float(r["ratio_low"]),
                                       float(r["ratio_high"]), bool(r["needed"]))
                       for _, r in g.iterrows())
        out.append(DeviceImportance(str(device), int(g["n"].iloc[0]),
                                    float(g["rmse_all"].iloc[0]), groups,
                                    orders.get(str(device), ())))
    return tuple(out)


def pool_findings(table: pd.DataFrame, k: int | None) -> PoolComparison | None:
    """The both-ways comparison at ``k``: per device, with vs without the physical device of
    the table's ``without`` column; HELPS / HURTS only beyond ±:data:`NEAR_TIE`."""
    if k is None or not len(table) or not (table["k"] == k).any():
        return None
    part = table[table["k"] == k]
    effects = []
    for _, r in part.iterrows():
        d = float(r["paired_delta"])
        verdict = HELPS if d > NEAR_TIE else HURTS if d < -NEAR_TIE else NO_EFFECT
        effects.append(PoolEffect(str(r["device"]), int(k), float(r["rho_median_with"]),
                                  float(r["rho_median_without"]), d, float(r["improved_share"]),
                                  float(r["worsened_share"]), float(r["coverage_with"]),
                                  float(r["coverage_without"]), verdict))
    return PoolComparison(str(part["without"].iloc[0]), int(k), tuple(effects))


def advice_findings(summary: pd.DataFrame, groups: dict) -> Advice | None:
    """The number of calibration models the new-device results support (:class:`Advice`)."""
    pred = summary[summary["method"] == PREDICTOR]
    if not len(pred):
        return None
    macs = summary[summary["method"] == MACS].set_index(["device", "k"])["rho_median"]
    phys = pred["device"].map(lambda d: groups.get(d, d))
    per_phys = pred.assign(phys=phys).groupby(["k", "phys"])["rho_median"].median()
    typical = per_phys.groupby(level="k").median()
    ks = sorted(int(k) for k in typical.index)
    top = float(typical[ks[-1]])
    k = next(k for k in ks if typical[k] >= top - NEAR_TIE)

    def as_good(at: int) -> list[tuple[str, float, float]]:
        rows = pred[pred["k"] == at]
        return [(str(d), float(r), float(macs[(d, at)])) for d, r in
                zip(rows["device"], rows["rho_median"])
                if (d, at) in macs.index and macs[(d, at)] >= r - NEAR_TIE]

    at_k = pred[pred["k"] == k]
    met, _ = by_physical(dict(zip(at_k["device"], at_k["rho_median"] >= TARGET_MEDIAN_RHO)),
                         groups)
    first = pred[pred["k"] == ks[0]]["rho_median"]
    return Advice(k, k == ks[-1], tuple((int(x), float(typical[x])) for x in ks),
                  int(phys.nunique()), met, tuple(as_good(k)), ks[0], float(first.min()),
                  float(first.max()), tuple(d for d, _, _ in as_good(ks[0])))


def weak_devices(scores: pd.DataFrame, predictions: pd.DataFrame, names: dict | None = None,
                 noise: dict | None = None) -> tuple[WeakDevice, ...]:
    """Every device whose leave-one-out ρ is below :data:`TARGET_LOO_RHO`: its worst-predicted
    models, the spread of its latencies, how many neighbours its median error reorders, and
    (``noise``: device → median run-to-run CV) how noisy its measurements are."""
    names, noise = names or {}, noise or {}
    out = []
    sel = scores[scores["predictor"] == SELECTED]
    for _, row in sel[sel["rho"] < TARGET_LOO_RHO].iterrows():
        p = predictions[(predictions["device"] == row["device"])
                        & (predictions["predictor"] == SELECTED)].copy()
        p["err"] = p["predicted_ms"] / p["latency_ms"] - 1
        worst = p.reindex(p["err"].abs().sort_values(ascending=False).index)[:3]
        gaps = np.diff(np.sort(np.log(p["latency_ms"])))
        cv = noise.get(row["device"])
        out.append(WeakDevice(
            str(row["device"]), float(row["rho"]), float(row["mdape"]),
            tuple((str(names.get(m, m)), float(e)) for m, e in zip(worst["model_id"],
                                                                   worst["err"])),
            float(p["latency_ms"].max() / p["latency_ms"].min()),
            float(np.mean(gaps < np.log(1 + row["mdape"] / 100))),
            float(cv) if cv is not None and np.isfinite(cv) else None))
    return tuple(out)


def new_device_gaps(scores: pd.DataFrame, splits: pd.DataFrame,
                    k: int | None) -> tuple[NewDeviceGap, ...]:
    """Every device whose predictor median ρ at ``k`` is below :data:`TARGET_MEDIAN_RHO`: what
    the same predictor reaches with all other models (leave one out), how much ρ varies with
    the k models drawn, and which designs the inner cross-validation picked."""
    out = []
    part = splits[(splits["k"] == k) & (splits["method"] == PREDICTOR)]
    for device, g in part.groupby("device", sort=False):
        if g["rho"].median() >= TARGET_MEDIAN_RHO:
            continue
        sel = scores[(scores["device"] == device) & (scores["predictor"] == SELECTED)]
        lo, hi = np.nanpercentile(g["rho"], [10, 90])
        designs = g["design"].str.replace(r", α = .*", "", regex=True).value_counts(
            normalize=True)
        out.append(NewDeviceGap(
            str(device), int(k), float(g["rho"].median()),
            float(sel["rho"].iloc[0]) if len(sel) else np.nan, len(g), float(lo), float(hi),
            tuple((str(d), float(s)) for d, s in designs[:3].items())))
    return tuple(out)


def paired_groups(new: tuple[DeviceNew, ...], margin: float = NEAR_TIE) -> dict[str, tuple]:
    """The devices ``above`` / ``tie`` / ``below`` by the paired Δρ over splits (a near tie
    is within ± ``margin``; devices without a paired Δρ are left out)."""
    groups = {"above": [], "tie": [], "below": []}
    for d in new:
        if not np.isfinite(d.paired_delta):
            continue
        key = ("above" if d.paired_delta > margin else "below" if d.paired_delta < -margin
               else "tie")
        groups[key].append((d.device, d.paired_delta))
    return {key: tuple(v) for key, v in groups.items()}


def findings(scores: pd.DataFrame, predictions: pd.DataFrame, versus_macs: pd.DataFrame,
             splits: pd.DataFrame, summary: pd.DataFrame, coverage: pd.DataFrame,
             imp: pd.DataFrame, pool: pd.DataFrame, groups: dict,
             names: dict | None = None, noise: dict | None = None) -> Findings:
    """The findings of notebook 06 from its tables (the new-device findings at
    :data:`TARGET_K` calibration models, else the largest k evaluated); ``groups``: the
    physical device of each series; ``takeaway`` left empty (the study's ``findings_of`` adds
    it)."""
    k = report_k(summary, TARGET_K)
    loo = loo_findings(scores)
    new = new_device_findings(summary, k)
    paired = paired_groups(new)
    devices = tuple(str(d) for d in dict.fromkeys(scores["device"]))
    judged = {d.device: d.target == MET for d in loo if d.target != NO_TARGET}
    loo_met, loo_missed = by_physical(judged, groups)
    new_met, new_missed = by_physical({d.device: d.all_met for d in new}, groups)
    return Findings(
        devices=devices, physical=tuple((d, str(groups.get(d, d))) for d in devices),
        loo=loo, versus_macs=versus_macs_findings(versus_macs), k=k, new_device=new,
        coverage=coverage_findings(coverage, k), importance=importance_findings(imp),
        pool=pool_findings(pool, k), advice=advice_findings(summary, groups),
        weak=weak_devices(scores, predictions, names, noise),
        gaps=new_device_gaps(scores, splits, k) if k is not None else (),
        loo_met=loo_met, loo_missed=loo_missed, new_device_met=new_met,
        new_device_judged=len(new_met) + len(new_missed),
        ahead=paired["above"], near_ties=paired["tie"], behind=paired["below"])
