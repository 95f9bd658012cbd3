"""Notebook 07's numbers: on one GPU, what predicts latency in each execution regime?

Flow: a GPU campaign (default: the shipped NVIDIA H200 campaign, ``data/latency/
h200-torch-sessions.csv``; every regime — ``mode`` × ``precision`` — of one device, several
sessions each) ⟶ read twice, with each session's minimum (the paper's statistic, primary) and
each session's median ⟶ joined with the complexity counts of the zoo models
(:mod:`analysis.complexity`) ⟶ per regime: ρ of every cost metric with latency
(:func:`analysis.inference.correlate`), the metrics shown better than MACs and the
selection-aware best (:mod:`analysis.inference`); between regimes: Δρ on the same models by a
paired bootstrap over models; the launch overhead per operator (eager − graph latency regressed
on the operator count); the paper's devices against each regime; the session noise per regime
(:mod:`analysis.noise`). Nothing here writes prose or draws.

Pre-stated before the results were computed (issue 21):

* the regimes' question "does the best metric change?" is asked of one pair of metrics,
  :data:`CONTRAST` — the operator count (what a launch-bound run pays per kernel) against MACs
  (the paper's metric): d = ρ(operators) − ρ(MACs) in each regime, and Δd between every two
  regimes, Holm over the regime pairs. The order of the two *flips* between two regimes when
  Δd is shown (Holm p ≤ α) and d's interval excludes 0 on opposite sides in the two regimes;
* every other test here is exploratory (issue 20): Benjamini–Hochberg within each table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis import noise, paths
from analysis.complexity import profile_model
from analysis.constants import ALPHA, METRIC_LABELS
from analysis.errors import ConfigError
from analysis.inference import (adjusted_within, benjamini_hochberg, best_probability, correlate,
                                correlation_table, versus_reference)
from analysis.latency import h200_campaign_file, load_latency, load_sessions, read_checked
from analysis.latency import select_devices
from analysis.latency.manifest import reference_files
from analysis.models import get_entry, list_models
from analysis.stats import holm_adjust
from analysis.util import as_list

#: Per-session statistics read, the paper's (minimum) first: the primary one.
STATISTICS = ("min", "median")
PRIMARY = STATISTICS[0]
#: The pre-stated pair of metrics (module docstring): launch count against the paper's metric.
CONTRAST = ("operators", "macs")
#: The paper's GPU column (Table 9, TensorRT) among its reference devices.
PAPER_GPU = "NVIDIA RTX-2080Ti"
EAGER, GRAPH = "eager", "graph"


# -- the campaign ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Campaign:
    """One GPU's latencies in several regimes, read with each per-session statistic."""

    files: tuple[Path, ...]
    device: str
    regimes: tuple[str, ...]
    latency: Mapping[str, pd.DataFrame]  # statistic → one row per network and regime
    sessions: Mapping[str, pd.DataFrame]  # statistic → one row per session
    warnings: tuple[str, ...]

    def __repr__(self) -> str:
        rows = self.latency[PRIMARY]
        n = rows.groupby("regime", sort=False)["n_sessions"].max()
        return "\n".join([*[paths.relative(f) for f in self.files],
                          f"{self.device}: {rows['model'].nunique()} networks, "
                          f"{len(self.regimes)} regimes"] +
                         [f"  {r}: {int((rows['regime'] == r).sum())} networks, "
                          f"{_sessions(n.get(r))}" for r in self.regimes])


def _sessions(n) -> str:
    return "no sessions" if n is None or pd.isna(n) else f"{int(n)} sessions"


def campaign_files(latency_csv) -> list[Path]:
    """``LATENCY_CSV`` as paths; the shipped H200 campaign when empty."""
    return paths.user_paths(as_list(latency_csv)) or [h200_campaign_file()]


def _regime_labels(table: pd.DataFrame) -> pd.Series:
    """``eager fp32`` …; ``torch · eager fp32`` when the device has several runtimes."""
    regime = table["regime"].fillna("").astype(str)
    if table["runtime"].nunique() > 1:
        return table["runtime"].astype(str) + " · " + regime
    return regime


def _one_device(table: pd.DataFrame, device, files: Sequence[Path]) -> pd.DataFrame:
    names = ", ".join(p.name for p in files)
    if device:
        table = select_devices(table, device)
    physical = list(dict.fromkeys(table["physical_device"].astype(str)))
    if len(physical) > 1:
        raise ConfigError(f"LATENCY_CSV: {names} holds {len(physical)} devices "
                          f"({', '.join(physical)}); choose one with DEVICE")
    if (table["regime"].fillna("") == "").any():
        raise ConfigError(f"LATENCY_CSV: {names} has rows without a mode and precision; notebook "
                          f"07 compares execution regimes: measure with `python -m analysis "
                          f"measure --accelerator cuda --mode eager,graph`")
    table = table.assign(regime=_regime_labels(table))
    if table["regime"].nunique() < 2:
        raise ConfigError(f"LATENCY_CSV: {names} holds one regime of {physical[0]} "
                          f"({table['regime'].iloc[0]}); at least two are needed (e.g. --mode "
                          f"eager,graph)")
    return table


def read_campaign(latency_csv, device=None) -> Campaign:
    """The campaign's rows of one device, with each statistic (:data:`STATISTICS`); a file
    with several devices needs ``device``; one with fewer than two regimes is refused."""
    files = campaign_files(latency_csv)
    latency, sessions, warned = {}, {}, []
    for statistic in STATISTICS:
        checked = read_checked(files, statistic, warn=False)
        warned += checked.warnings
        latency[statistic] = _one_device(checked.table, device, files)
        rows = _one_device(load_sessions(files, statistic), device, files)
        sessions[statistic] = rows[rows["session"].notna()]
    table = latency[PRIMARY]
    return Campaign(tuple(files), str(table["physical_device"].iloc[0]),
                    tuple(dict.fromkeys(table["regime"])), latency, sessions,
                    tuple(dict.fromkeys(warned)))


# -- the models and their costs -------------------------------------------------------------------

@dataclass(frozen=True)
class Joined:
    """Latency per statistic, regime and model of ``MODELS``, with the models' costs."""

    frame: pd.DataFrame
    metrics: tuple[str, ...]
    models: tuple[str, ...]  # the model ids of MODELS measured in at least one regime
    missing: Mapping[str, tuple[str, ...]]  # regime → models of MODELS not measured there

    def __repr__(self) -> str:
        lines = [f"{len(self.models)} models with costs; metrics: {', '.join(self.metrics)}"]
        lines += [f"not measured in {r}: {', '.join(m)}" for r, m in self.missing.items() if m]
        return "\n".join(lines)


def model_costs(model_ids: Sequence[str]) -> pd.DataFrame:
    """One row per zoo model: ``model_id, model, family`` and every cost metric of
    :data:`~analysis.constants.METRIC_LABELS` (the deployed form's fvcore counts,
    :func:`analysis.complexity.profile_model`: cached, the committed counts reused)."""
    rows = []
    for mid in model_ids:
        entry, counts = get_entry(mid), profile_model(mid)
        rows.append({"model_id": entry.id, "model": entry.display_name, "family": entry.family,
                     **{m: getattr(counts, m) for m in METRIC_LABELS if hasattr(counts, m)}})
    return pd.DataFrame(rows)


def join_costs(data: Campaign, group: str) -> Joined:
    """The campaign's rows of the zoo group ``group`` joined with their costs (one row per
    statistic, regime and model)."""
    wanted = list_models(group)
    primary = data.latency[PRIMARY]
    measured = [m for m in wanted if m in set(primary["model_id"].dropna())]
    if len(measured) < 3:
        raise ConfigError(f"MODELS: {len(measured)} of the {len(wanted)} models of {group!r} "
                          f"are measured in {', '.join(p.name for p in data.files)}; at least 3 "
                          f"are needed")
    costs = model_costs(measured)
    metrics = tuple(m for m in METRIC_LABELS if m in costs.columns)
    keep = ["regime", "model_id", "latency_ms", "session_low_ms", "session_high_ms",
            "n_sessions"]
    parts = []
    for statistic, table in data.latency.items():
        rows = table[table["model_id"].isin(measured)][keep].assign(statistic=statistic)
        parts.append(rows.merge(costs, on="model_id", how="left"))
    frame = pd.concat(parts, ignore_index=True)
    frame = frame[["statistic", "regime", "model_id", "model", "family", *keep[2:], *metrics]]
    missing = {r: tuple(get_entry(m).display_name for m in measured if m not in set(
        primary.loc[primary["regime"] == r, "model_id"])) for r in data.regimes}
    return Joined(frame.reset_index(drop=True), metrics, tuple(measured), missing)


def wide(joined: Joined, statistic: str) -> pd.DataFrame:
    """Latency per model (rows, zoo order) and regime (columns) for one statistic."""
    part = joined.frame[joined.frame["statistic"] == statistic]
    return part.pivot(index="model_id", columns="regime", values="latency_ms").reindex(
        index=[m for m in joined.models if m in set(part["model_id"])],
        columns=list(dict.fromkeys(part["regime"])))


def costs_of(joined: Joined) -> pd.DataFrame:
    """The models' costs, one row per model id."""
    return joined.frame.drop_duplicates("model_id").set_index("model_id")[list(joined.metrics)]


# -- correlations per regime ----------------------------------------------------------------------

def correlations(joined: Joined, *, n_permutations: int, seed: int) -> pd.DataFrame:
    """Per statistic, regime and metric: ρ with its permutation p and Fisher interval; ``q_value``
    = Benjamini–Hochberg over the cells of one statistic (exploratory), ``shown`` = q ≤ α."""
    parts = []
    for statistic, part in joined.frame.groupby("statistic", sort=False):
        table = correlation_table(part, joined.metrics, by="regime",
                                  n_permutations=n_permutations, seed=seed)
        table.insert(0, "statistic", statistic)
        parts.append(table)
    return adjusted_within(pd.concat(parts, ignore_index=True))


def against_macs(joined: Joined, *, n_bootstrap: int, seed: int) -> tuple[pd.DataFrame,
                                                                           pd.DataFrame]:
    """Per statistic and regime: every metric against MACs (paired bootstrap, Holm within the
    regime: :func:`analysis.inference.versus_reference`), and the share of resamples in which
    each metric ranks latency best (:func:`analysis.inference.best_probability`)."""
    versus, best = [], []
    for statistic, part in joined.frame.groupby("statistic", sort=False):
        v = versus_reference(part, joined.metrics, by="regime", n_bootstrap=n_bootstrap,
                             seed=seed)
        b = best_probability(part, joined.metrics, by="regime", n_bootstrap=n_bootstrap,
                             seed=seed)
        versus.append(v.assign(statistic=statistic))
        best.append(b.assign(statistic=statistic))
    versus, best = pd.concat(versus, ignore_index=True), pd.concat(best, ignore_index=True)
    return (versus[["statistic", *versus.columns[:-1]]], best[["statistic", *best.columns[:-1]]])


# -- the paired bootstrap over models -------------------------------------------------------------

def _rank_rows(values: np.ndarray) -> np.ndarray:
    return sps.rankdata(values, axis=1)


def centred_ranks(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Ranks of ``values`` within every resample (row) of ``index``, centred per row."""
    ranks = _rank_rows(values[index])
    return ranks - ranks.mean(axis=1, keepdims=True)


def ranked_rho(rx: np.ndarray, ry: np.ndarray) -> np.ndarray:
    """Row-wise Pearson correlation of centred ranks (:func:`centred_ranks`): Spearman ρ per
    resample (NaN for a constant resample)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rx * ry).sum(axis=1) / np.sqrt((rx * rx).sum(axis=1) * (ry * ry).sum(axis=1))


def boot_rhos(x: np.ndarray, y: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Spearman ρ of ``x`` and ``y`` on every resample (row) of ``index`` (NaN for a constant
    resample)."""
    return ranked_rho(centred_ranks(x, index), centred_ranks(y, index))


def resample_index(n: int, n_bootstrap: int, seed: int) -> np.ndarray:
    """``n_bootstrap`` resamples of ``n`` models with replacement (one row each)."""
    return np.random.default_rng(seed).integers(0, n, size=(n_bootstrap, n))


def bootstrap_summary(point: float, draws: np.ndarray, level: float = 1 - ALPHA) -> dict:
    """``delta`` (the point value), the percentile interval of ``draws`` and the two-sided
    bootstrap p of 0 (twice the smaller tail share, at least 1 / resamples), as
    :func:`analysis.inference.versus_reference` computes them."""
    d = draws[np.isfinite(draws)]
    if not len(d) or not math.isfinite(point):
        return {"delta": point, "ci_low": math.nan, "ci_high": math.nan, "p_value": math.nan}
    alpha = 1 - level
    lo, hi = np.quantile(d, [alpha / 2, 1 - alpha / 2])
    p = max(min(1.0, 2 * min(np.mean(d <= 0), np.mean(d >= 0))), 1 / len(d))
    return {"delta": point, "ci_low": float(lo), "ci_high": float(hi), "p_value": float(p)}


def _rho(x, y) -> float:
    return float(sps.spearmanr(x, y).statistic)


def regime_pairs(regimes: Sequence[str]) -> list[tuple[str, str]]:
    """Every two regimes, in the campaign's order."""
    return list(combinations(regimes, 2))


def regime_differences(joined: Joined, *, n_bootstrap: int, seed: int) -> pd.DataFrame:
    """Exploratory: per statistic, metric and pair of regimes, Δρ = ρ_a − ρ_b on the models
    measured in every regime, the paired-bootstrap interval (the models resampled once for all
    regimes) and p; ``q_value``: Benjamini–Hochberg over the rows of one statistic;
    ``differs`` = q ≤ α and the interval excludes 0."""
    rows = []
    costs = costs_of(joined)
    for statistic in STATISTICS:
        w = wide(joined, statistic).dropna()
        index = resample_index(len(w), n_bootstrap, seed)
        lat = {r: centred_ranks(w[r].to_numpy(float), index) for r in w.columns}
        block = []
        for metric in joined.metrics:
            x = costs.loc[w.index, metric].to_numpy(float)
            rx = centred_ranks(x, index)
            boot = {r: ranked_rho(rx, lat[r]) for r in w.columns}
            rho = {r: _rho(x, w[r]) for r in w.columns}
            for a, b in regime_pairs(list(w.columns)):
                block.append({"statistic": statistic, "metric": metric, "regime_a": a,
                              "regime_b": b, "n": len(w), "rho_a": rho[a], "rho_b": rho[b],
                              **bootstrap_summary(rho[a] - rho[b], boot[a] - boot[b])})
        q = benjamini_hochberg([r["p_value"] for r in block])
        for r, qv in zip(block, q):
            r["q_value"] = float(qv)
            r["differs"] = bool(qv <= ALPHA and (r["ci_low"] > 0 or r["ci_high"] < 0))
        rows += block
    return pd.DataFrame(rows, columns=["statistic", "metric", "regime_a", "regime_b", "n",
                                       "rho_a", "rho_b", "delta", "ci_low", "ci_high",
                                       "p_value", "q_value", "differs"])


def contrast_draws(costs: pd.DataFrame, latency: pd.DataFrame, index: np.ndarray,
                   contrast: Sequence[str] = CONTRAST) -> dict[str, np.ndarray]:
    """Per regime (column of ``latency``), d = ρ(first) − ρ(second) on every resample."""
    first, second = (costs.loc[latency.index, m].to_numpy(float) for m in contrast)
    return {r: boot_rhos(first, latency[r].to_numpy(float), index)
            - boot_rhos(second, latency[r].to_numpy(float), index) for r in latency.columns}


def metric_order(joined: Joined, *, n_bootstrap: int, seed: int,
                 contrast: Sequence[str] = CONTRAST) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The pre-stated question (module docstring), per statistic, on the models measured in
    every regime: ``(per_regime, per_pair)``. Per regime: d = ρ(first) − ρ(second) with its
    paired-bootstrap interval; per pair of regimes: Δd = d_a − d_b, interval, p, Holm over the
    pairs, and ``flips``."""
    costs = costs_of(joined)
    regimes_rows, pair_rows = [], []
    for statistic in STATISTICS:
        w = wide(joined, statistic).dropna()
        index = resample_index(len(w), n_bootstrap, seed)
        draws = contrast_draws(costs, w, index, contrast)
        point = {r: _rho(costs.loc[w.index, contrast[0]], w[r])
                 - _rho(costs.loc[w.index, contrast[1]], w[r]) for r in w.columns}
        per = {}
        for r in w.columns:
            per[r] = bootstrap_summary(point[r], draws[r])
            regimes_rows.append({"statistic": statistic, "regime": r, "first": contrast[0],
                                 "second": contrast[1], "n": len(w), **per[r]})
        block = [{"statistic": statistic, "regime_a": a, "regime_b": b, "n": len(w),
                  "d_a": point[a], "d_b": point[b],
                  **bootstrap_summary(point[a] - point[b], draws[a] - draws[b])}
                 for a, b in regime_pairs(list(w.columns))]
        for r, p in zip(block, holm_adjust([r["p_value"] for r in block])):
            a, b = per[r["regime_a"]], per[r["regime_b"]]
            opposite = ((a["ci_low"] > 0 and b["ci_high"] < 0)
                        or (a["ci_high"] < 0 and b["ci_low"] > 0))
            r["p_holm"], r["n_comparisons"] = float(p), len(block)
            r["flips"] = bool(p <= ALPHA and opposite)
        pair_rows += block
    return (pd.DataFrame(regimes_rows, columns=["statistic", "regime", "first", "second", "n",
                                                "delta", "ci_low", "ci_high", "p_value"]),
            pd.DataFrame(pair_rows, columns=["statistic", "regime_a", "regime_b", "n", "d_a",
                                             "d_b", "delta", "ci_low", "ci_high", "p_value",
                                             "p_holm", "n_comparisons", "flips"]))


# -- the paper's devices --------------------------------------------------------------------------

def paper_devices(models: Sequence[str]) -> pd.DataFrame:
    """The paper's reference devices (Table 9: iPhone 12, desktop CPU, RTX-2080Ti), rows of
    ``models`` only."""
    table = load_latency(reference_files())
    return table[table["model_id"].isin(models)]


def device_agreement(joined: Joined, paper: pd.DataFrame, *, n_permutations: int,
                     n_bootstrap: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(agreement, closest)``. Agreement: per statistic, paper device and regime, ρ between the
    paper's latencies and the regime's on the models both have (permutation p, Fisher
    interval; ``q_value`` BH over the rows of one statistic). Closest: per statistic and paper
    device, the share of resamples of the shared models in which each regime has the highest ρ
    (:func:`analysis.inference.best_probability`, the regimes in the place of metrics)."""
    rows, closest = [], []
    for statistic in STATISTICS:
        w = wide(joined, statistic)
        block = []
        for device, part in paper.groupby("device", sort=False):
            ref = part.set_index("model_id")["latency_ms"]
            shared = w.join(ref.rename("paper_ms"), how="inner")
            for regime in w.columns:
                c = correlate(shared[regime], shared["paper_ms"], n_permutations=n_permutations,
                              seed=seed)
                block.append({"statistic": statistic, "paper_device": device,
                              "paper_statistic": str(part["statistic"].iloc[0]),
                              "regime": regime, **c.as_dict()})
            data = shared.dropna().rename(columns={"paper_ms": "latency_ms"})
            b = best_probability(data.assign(paper_device=device), list(w.columns),
                                 by="paper_device", n_bootstrap=n_bootstrap, seed=seed)
            closest.append(b.rename(columns={"metric": "regime"}).assign(statistic=statistic))
        q = benjamini_hochberg([r["p_permutation"] for r in block])
        for r, qv in zip(block, q):
            r["q_value"], r["shown"] = float(qv), bool(qv <= ALPHA)
        rows += block
    closest = pd.concat(closest, ignore_index=True) if closest else pd.DataFrame()
    if len(closest):
        closest = closest[["statistic", *[c for c in closest.columns if c != "statistic"]]]
    return pd.DataFrame(rows), closest


# -- sessions -------------------------------------------------------------------------------------

def session_noise(data: Campaign, models: Sequence[str]) -> pd.DataFrame:
    """Per statistic and regime: the noise band and session spread over all the campaign's
    networks (:func:`analysis.noise.noise_bands`), and the rank agreement between sessions —
    ρ between two sessions' latencies over ``models`` — lowest and median over session pairs."""
    rows = []
    for statistic, sessions in data.sessions.items():
        if sessions.empty:
            continue
        bands = noise.noise_bands(sessions)
        for regime, part in sessions.groupby("regime", sort=False):
            mode, precision = part["mode"].iloc[0], part["precision"].iloc[0]
            band = bands[(bands["mode"] == mode) & (bands["precision"] == precision)
                         & (bands["runtime"] == part["runtime"].iloc[0])].iloc[0]
            zoo = part[part["model_id"].isin(models)]
            key = zoo["campaign"].astype(str) + "/" + zoo["session"].astype(str)
            by = zoo.assign(_s=key).pivot_table(index="model_id", columns="_s",
                                                values="latency_ms")
            rhos = [_rho(*by[[a, b]].dropna().to_numpy().T)
                    for a, b in combinations(by.columns, 2)]
            rows.append({"statistic": statistic, "regime": regime,
                         "n_sessions": int(part["session"].nunique()),
                         **{k: band[k] for k in ("band", "within_sitting", "between_sittings",
                                                 "n_networks", "n_pairs", "median_spread",
                                                 "p90_spread")},
                         "session_rho_min": min(rhos) if rhos else math.nan,
                         "session_rho_median": float(np.median(rhos)) if rhos else math.nan})
    return pd.DataFrame(rows)


def session_rhos(data: Campaign, joined: Joined,
                 metrics: Sequence[str] = CONTRAST) -> pd.DataFrame:
    """ρ(latency, metric) computed in every session separately (primary statistic), per regime:
    how far a correlation moves with measurement noise alone
    (:func:`analysis.noise.rho_by_session`)."""
    sessions = data.sessions[PRIMARY]
    if sessions.empty:
        return pd.DataFrame(columns=["regime", "metric", "campaign", "session", "rho", "n"])
    costs = costs_of(joined).reset_index()
    zoo = sessions[sessions["model_id"].isin(joined.models)].drop(
        columns=[m for m in joined.metrics if m in sessions.columns])
    parts = []
    for metric in metrics:
        r = noise.rho_by_session(zoo, costs, metric)
        labels = zoo.drop_duplicates(["mode", "precision", "runtime"]).set_index(
            ["mode", "precision", "runtime"])["regime"]
        r["regime"] = [labels[k] for k in zip(r["mode"], r["precision"], r["runtime"])]
        parts.append(r.assign(metric=metric)[["regime", "metric", "campaign", "session", "rho",
                                              "n"]])
    return pd.concat(parts, ignore_index=True)
