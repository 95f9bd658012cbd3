"""Notebook 06, the findings: typed records computed from the tables of
:mod:`~analysis.studies.prediction.compute`, the numbers and verdicts behind every sentence of
the generated prose. The rules: a target is met only by the numbers (the targets are stated in
:mod:`analysis.constants` before the results), a near tie (within :data:`NEAR_TIE`) is never
counted as ahead, "better" than MACs only where the paired 95 % interval excludes 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis import predict as P
from analysis.constants import (MIN_MODELS_FOR_TARGET, NEAR_TIE, TARGET_K, TARGET_LOO_RHO,
                                TARGET_MEDIAN_RHO, TARGET_P10_RHO)
from analysis.studies.prediction.compute import (FLOP_COSTS, MACS, PAPER_COSTS, PREDICTOR,
                                                 SELECTED, SIMILAR, report_k)

#: Verdicts of the leave-one-out ρ target on a device.
MET, MISSED, NO_TARGET = "met", "missed", "no target"
#: Verdicts of the predictor against ranking by MACs (paired bootstrap of Δρ).
BETTER, WORSE, UNDECIDED, TOO_FEW = ("predictor better", "MACs better", "cannot be told apart",
                                     "too few models")


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
class DeviceImportance:
    """Which costs the per-device ridge relies on (shares of the permutation importance)."""

    device: str
    top: tuple[tuple[str, float], ...]  # the three largest (feature, share)
    paper_share: float  # the memory-access and synchronization costs the paper names
    flops_share: float  # MACs and parameters
    family_share: float  # the family indicators
    paper_leads: bool  # paper_share > flops_share
    family_dominates: bool  # family_share > paper_share + flops_share


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
    """Everything notebook 06 concludes, per section, and the verdicts of the conclusion."""

    devices: tuple[str, ...]
    loo: tuple[DeviceLoo, ...]
    versus_macs: tuple[VersusMacs, ...]
    k: int | None  # calibration models the new-device findings are given for
    new_device: tuple[DeviceNew, ...]
    importance: tuple[DeviceImportance, ...]
    weak: tuple[WeakDevice, ...]
    gaps: tuple[NewDeviceGap, ...]
    loo_met: tuple[str, ...]  # devices with ≥ MIN_MODELS_FOR_TARGET models reaching the target
    loo_missed: tuple[str, ...]
    new_device_met: tuple[str, ...]  # devices meeting all three targets at k
    ahead: tuple[tuple[str, float], ...]  # paired Δρ > NEAR_TIE
    near_ties: tuple[tuple[str, float], ...]  # |paired Δρ| ≤ NEAR_TIE
    behind: tuple[tuple[str, float], ...]  # paired Δρ < −NEAR_TIE
    coverage_new_device: float  # mean 90 %-interval coverage at k
    coverage_loo_low: float  # lowest and highest leave-one-out coverage over devices
    coverage_loo_high: float


def _selected(scores: pd.DataFrame) -> pd.DataFrame:
    return scores[scores["predictor"] == SELECTED]


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
    """Per device: Δρ of the predictor against MACs and its verdict ("better" only where the
    paired 95 % interval excludes 0)."""
    out = []
    for _, r in table.iterrows():
        verdict = (TOO_FEW if not np.isfinite(r["ci_low"]) else BETTER if r["ci_low"] > 0
                   else WORSE if r["ci_high"] < 0 else UNDECIDED)
        out.append(VersusMacs(str(r["device"]), int(r["n"]), float(r["rho_predictor"]),
                              float(r["rho_macs"]), float(r["delta_rho"]), float(r["ci_low"]),
                              float(r["ci_high"]), float(r["p_value"]), verdict))
    return tuple(out)


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


def importance_findings(imp: pd.DataFrame) -> tuple[DeviceImportance, ...]:
    """Per device: the three most important costs, and the shares of the costs the paper
    names, of MACs and parameters, and of the family indicators."""
    out = []
    for device, g in imp.groupby("device", sort=False):
        g = g.sort_values("share", ascending=False)
        top = tuple((str(f), float(s)) for f, s in zip(g["feature"][:3], g["share"][:3]))
        paper = float(g[g["feature"].isin(PAPER_COSTS)]["share"].sum())
        flops = float(g[g["feature"].isin(FLOP_COSTS)]["share"].sum())
        family = float(g[g["feature"].isin(P.FAMILY_FEATURES)]["share"].sum())
        out.append(DeviceImportance(str(device), top, paper, flops, family, paper > flops,
                                    family > paper + flops))
    return tuple(out)


def weak_devices(scores: pd.DataFrame, predictions: pd.DataFrame, names: dict | None = None,
                 noise: dict | None = None) -> tuple[WeakDevice, ...]:
    """Every device whose leave-one-out ρ is below :data:`TARGET_LOO_RHO`: its worst-predicted
    models, the spread of its latencies, how many neighbours its median error reorders, and
    (``noise``: device → median run-to-run CV) how noisy its measurements are."""
    names, noise = names or {}, noise or {}
    out = []
    sel = _selected(scores)
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
             splits: pd.DataFrame, summary: pd.DataFrame, imp: pd.DataFrame,
             names: dict | None = None, noise: dict | None = None) -> Findings:
    """The findings of notebook 06 from its tables (the new-device findings at
    :data:`TARGET_K` calibration models, else the largest k evaluated)."""
    k = report_k(summary, TARGET_K)
    loo = loo_findings(scores)
    new = new_device_findings(summary, k)
    groups = paired_groups(new)
    sel = _selected(scores)
    cov = sel["coverage90"].dropna()
    return Findings(
        devices=tuple(str(d) for d in dict.fromkeys(scores["device"])), loo=loo,
        versus_macs=versus_macs_findings(versus_macs), k=k, new_device=new,
        importance=importance_findings(imp),
        weak=weak_devices(scores, predictions, names, noise),
        gaps=new_device_gaps(scores, splits, k) if k is not None else (),
        loo_met=tuple(d.device for d in loo if d.target == MET),
        loo_missed=tuple(d.device for d in loo if d.target == MISSED),
        new_device_met=tuple(d.device for d in new if d.all_met),
        ahead=groups["above"], near_ties=groups["tie"], behind=groups["below"],
        coverage_new_device=(float(np.mean([d.coverage90 for d in new])) if new else np.nan),
        coverage_loo_low=float(cov.min()) if len(cov) else np.nan,
        coverage_loo_high=float(cov.max()) if len(cov) else np.nan)
