"""Notebook 06, the numbers: how well the latency predictor (:mod:`analysis.predict`) predicts
a device's latencies, per device, against two baselines.

* :func:`load_devices` — the evaluated devices (log latencies by model id, one series per
  device · runtime · regime as notebook 01 names them), the pool of prior devices and the
  physical device of each;
* :func:`leave_one_out` — per device, each model predicted from the device's other models (one
  row per feature set, and the full predictor whose design and α are chosen by an inner
  cross-validation on the training models only, with the *other* physical devices as prior);
* :func:`loo_vs_macs` — the predictor's leave-one-out ρ against ranking by MACs (paired
  bootstrap of Δρ, :func:`analysis.inference.versus_reference`; Benjamini–Hochberg over the
  devices, an exploratory family);
* :func:`new_device` — one physical device held out entirely; the predictor gets k random
  calibration models from it, repeated ``n_splits`` times, and is scored on the device's other
  models, next to two baselines: rank by MACs, and rank by the reference device whose
  latencies agree best (Spearman) with the k calibration models; :func:`summarize_new_device`;
  the calibration draws of a device depend only on the seed and the device's name, so two
  runs with different reference pools (:func:`pool_comparison`) are paired draw by draw;
* :func:`coverage_table` — the 90 % intervals' coverage per device, leave one out and at each
  k, with a bootstrap interval over the device's models.

The out-of-sample importance of the cost groups is in
:mod:`~analysis.studies.prediction.cost_groups`.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import paths
from analysis import predict as P
from analysis.constants import (ALPHA, MIN_MODELS_EVALUATED, N_BOOTSTRAP,
                                PREDICTION_TOLERANCE)
from analysis.errors import ConfigError
from analysis.inference import benjamini_hochberg, versus_reference
from analysis.latency import load_latency
from analysis.models import resolve_models

#: The methods of the new-device scenario: the predictor and its two baselines.
PREDICTOR, MACS, SIMILAR = "predictor", "rank by MACs", "most similar device"
#: The leave-one-out row of the full predictor (the others are named by their feature set).
SELECTED = "selected"
#: Verdicts of the predictor against ranking by MACs.
BETTER, WORSE, UNDECIDED, TOO_FEW = ("predictor better", "MACs better", "cannot be told apart",
                                     "too few models")
#: The ``k`` of the leave-one-out rows of the coverage table (all other models calibrate).
LOO_K = "all others"

@dataclass(frozen=True)
class Devices:
    """The data of the study.

    Attributes:
        series: evaluated devices, ``{name: log latency by model id}``.
        pool: every device the prior may draw on (the shipped ones and the given ones).
        groups: physical device of every name in ``pool``.
        costs: counts of every zoo model (:func:`analysis.predict.cost_table`).
        feats: standardized features (:func:`analysis.predict.features`).
        noise: median run-to-run coefficient of variation per evaluated device (where known).
        files: the data files read.
        profiles: every pool device's profile (:func:`analysis.predict.reference_profiles`),
            computed once and shared by every predictor.
    """

    series: dict
    pool: dict
    groups: dict
    costs: pd.DataFrame
    feats: pd.DataFrame
    noise: dict
    files: tuple[Path, ...]
    profiles: dict

    @property
    def names(self) -> dict:
        """Display name by model id."""
        return self.costs["model"].to_dict()

    def overview(self) -> pd.DataFrame:
        """One row per evaluated device: physical device, number of models, latency range."""
        return pd.DataFrame([{"device": n, "physical_device": self.groups[n], "models": len(y),
                              "min_ms": float(np.exp(y.min())), "max_ms": float(np.exp(y.max()))}
                             for n, y in self.series.items()])


@dataclass(frozen=True)
class LeaveOneOut:
    """Leave-one-model-out: ``scores`` per device and predictor, ``predictions`` per device,
    predictor and model; the section's typed findings and generated text; its figure."""

    scores: pd.DataFrame
    predictions: pd.DataFrame
    findings: Any = None
    text: str = ""
    figure: Any = None


@dataclass(frozen=True)
class NewDevice:
    """The new-device scenario: ``splits`` (one row per device, k, split and method), its
    ``summary`` per device, k and method, and ``hits`` (per device, k and model: how often the
    model was held out and inside its interval); the section's findings, text and figure."""

    splits: pd.DataFrame
    summary: pd.DataFrame
    hits: pd.DataFrame
    findings: Any = None
    text: str = ""
    figure: Any = None


@dataclass(frozen=True)
class Section:
    """A step with one table: the table, the section's findings, text and figure (if any)."""

    table: pd.DataFrame
    findings: Any = None
    text: str = ""
    figure: Any = None


def file_list(value) -> list[Path]:
    """A ``*_CSV`` parameter (a path, a comma-separated string or a list) as absolute paths
    (:func:`analysis.paths.user_path`), whatever the working directory."""
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return [paths.user_path(v.strip() if isinstance(v, str) else v).resolve() for v in items
            if str(v).strip() and str(v).strip().lower() != "none"]


def average_ranks(a) -> np.ndarray:
    """Ranks along the last axis, ties sharing their mean rank (as Spearman's ρ and
    :func:`scipy.stats.rankdata` rank them; vectorised for the many small samples here)."""
    a = np.asarray(a, float)
    n = a.shape[-1]
    order = np.argsort(a, axis=-1, kind="stable")
    s = np.take_along_axis(a, order, axis=-1)
    first = np.ones(a.shape, bool)
    first[..., 1:] = s[..., 1:] != s[..., :-1]
    last = np.ones(a.shape, bool)
    last[..., :-1] = first[..., 1:]
    idx = np.arange(n)
    start = np.maximum.accumulate(np.where(first, idx, 0), axis=-1)
    end = np.flip(np.minimum.accumulate(np.flip(np.where(last, idx, n - 1), -1), axis=-1), -1)
    ranks = np.empty(a.shape)
    np.put_along_axis(ranks, order, (start + end) / 2 + 1, axis=-1)
    return ranks


def _pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r of each row of ``a`` with the vector ``b`` (NaN for a constant input)."""
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean()
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a @ b) / np.sqrt((a * a).sum(axis=-1) * (b @ b))


def rank_rho(a, b) -> float:
    """Spearman ρ (average ranks for ties; NaN for fewer than 3 values or a constant input)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return np.nan
    return float(_pearson(average_ranks(a), average_ranks(b)))


def scores(predicted_ms, measured_ms) -> dict:
    """Spearman ρ, median absolute percentage error and share within ±10 %."""
    p, m = np.asarray(predicted_ms, float), np.asarray(measured_ms, float)
    err = np.abs(p / m - 1)
    return {"rho": rank_rho(p, m), "mdape": float(100 * np.median(err)),
            "within10": float(np.mean(err <= PREDICTION_TOLERANCE))}


def candidates(feature_sets, prior: bool) -> list[tuple]:
    """The predictor's candidate designs: each feature set alone, and with ``prior`` the
    reference-device prior alone and with each feature set."""
    out = [(fs, False) for fs in feature_sets]
    return out + [(fs, True) for fs in (None, *feature_sets)] if prior else out


def references_for(pool: dict, groups: dict, name: str, without=None) -> dict:
    """Every device of ``pool`` on other hardware than ``name`` (and, with ``without``, not on
    that physical device)."""
    return {n: v for n, v in pool.items()
            if groups[n] != groups[name] and (without is None or groups[n] != without)}


def _noise(table: pd.DataFrame, names) -> dict:
    """Median run-to-run coefficient of variation per series (``cv`` column; series without it
    are left out)."""
    if "cv" not in table:
        return {}
    cv = table["cv"].groupby(pd.Series(names, index=table.index), sort=False).median()
    return {str(name): float(v) for name, v in cv.items() if pd.notna(v)}


def load_devices(latency_csv=None, models="table9") -> Devices:
    """The devices of ``latency_csv`` (default every shipped zoo file,
    :func:`analysis.predict.reference_files`) restricted to ``models``, and the pool of prior
    devices (the shipped ones and the given ones, all models). A given file named like a
    shipped one replaces it; devices with fewer than :data:`MIN_MODELS_EVALUATED` of
    ``models`` are not evaluated."""
    given = file_list(latency_csv) or P.reference_files()
    shipped = [f for f in P.reference_files() if f.name not in {g.name for g in given}]
    table = load_latency(given)
    names = P.series_names(table)
    evaluated, groups = P.device_latencies(table, names)
    if shipped:
        other = load_latency(shipped)
        pool, pool_groups = P.device_latencies(other)
    else:
        pool, pool_groups = {}, {}
    ids = set(resolve_models(models))
    pool, groups = {**pool, **evaluated}, {**pool_groups, **groups}
    evaluated = {n: y[y.index.isin(ids)] for n, y in evaluated.items()}
    evaluated = {n: y for n, y in evaluated.items() if len(y) >= MIN_MODELS_EVALUATED}
    if not evaluated:
        raise ConfigError(f"no device with at least {MIN_MODELS_EVALUATED} of the selected zoo "
                          f"models to evaluate on (3 to calibrate, 3 to predict)")
    costs = P.cost_table()
    feats = P.features(costs)
    committed = paths.NOTEBOOK_OUTPUTS / "complexity.csv"
    return Devices(evaluated, pool, groups, costs, feats, _noise(table, names),
                   tuple([*given, *shipped, *([committed] if committed.is_file() else [])]),
                   P.reference_profiles(feats, pool))


def _on_features(y: pd.Series, feats: pd.DataFrame) -> pd.Series:
    return y[y.index.isin(feats.index)]


def leave_one_out(series: dict, groups: dict, feats: pd.DataFrame,
                  feature_sets=tuple(P.FEATURE_SETS), pool: dict | None = None,
                  profiles: dict | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(scores, predictions)``: per device and predictor (each feature set alone, then
    :data:`SELECTED`) ρ / MdAPE / ±10 % share / 90 %-interval coverage over leave-one-model-out
    predictions; ``predictions`` has one row per device, predictor and model. ``pool``:
    devices the prior may use (default ``series``; never the evaluated hardware)."""
    rows, preds = [], []
    for name, y in series.items():
        y = _on_features(y, feats)
        refs = references_for(pool or series, groups, name)
        setups = [(fs, P.LatencyPredictor(feats, candidates=[(fs, False)]))
                  for fs in feature_sets]
        setups.append((SELECTED, P.LatencyPredictor(feats, refs, groups, profiles=profiles,
                                                    candidates=candidates(feature_sets, True))))
        for label, predictor in setups:
            fitted = []
            for m in y.index:
                predictor.fit(y.drop(m), intervals=label == SELECTED)
                fitted.append({**predictor.predict([m]).iloc[0].to_dict(),
                               "design": predictor.describe()})
            f = pd.DataFrame(fitted, index=y.index)
            f["latency_ms"] = np.exp(y)
            inside = (f["low_ms"] <= f["latency_ms"]) & (f["latency_ms"] <= f["high_ms"])
            rows.append({"device": name, "physical_device": groups[name], "n": len(y),
                         "predictor": label, **scores(f["predicted_ms"], f["latency_ms"]),
                         "coverage90": float(inside.mean()) if label == SELECTED else np.nan,
                         "designs": "; ".join(f"{d} ({c})" for d, c in
                                              f["design"].value_counts().items())})
            preds.append(f.assign(device=name, predictor=label).rename_axis("model_id")
                         .reset_index())
    return pd.DataFrame(rows), pd.concat(preds, ignore_index=True)


def with_models(predictions: pd.DataFrame, costs: pd.DataFrame) -> pd.DataFrame:
    """``predictions`` with each model's ``family`` and display name (``model``) added."""
    out = predictions.copy()
    out["family"] = costs.loc[out["model_id"], "family"].to_numpy()
    out["model"] = out["model_id"].map(costs["model"].to_dict())
    return out


def loo_vs_macs(predictions: pd.DataFrame, costs: pd.DataFrame,
                n_bootstrap: int = N_BOOTSTRAP, seed: int = 0,
                predictor: str = SELECTED) -> pd.DataFrame:
    """Per device: the predictor's leave-one-out ρ against ranking the same models by MACs,
    a paired bootstrap of Δρ (:func:`analysis.inference.versus_reference`), then
    Benjamini–Hochberg over the devices (an exploratory family): ``verdict`` is "predictor
    better" / "MACs better" only where q ≤ α and the interval excludes 0 on that side."""
    part = predictions[predictions["predictor"] == predictor]
    data = pd.DataFrame({"device": part["device"].to_numpy(),
                         "predictor": part["predicted_ms"].to_numpy(float),
                         "macs": costs.loc[part["model_id"], "macs"].to_numpy(float),
                         "latency_ms": part["latency_ms"].to_numpy(float)})
    vs = versus_reference(data, ["predictor"], reference="macs", n_bootstrap=n_bootstrap,
                          seed=seed).set_index("device")
    rows = []
    for device, g in data.groupby("device", sort=False):
        r = vs.loc[device] if device in vs.index else None
        rows.append({"device": device, "n": len(g),
                     "rho_predictor": rank_rho(g["predictor"], g["latency_ms"]),
                     "rho_macs": rank_rho(g["macs"], g["latency_ms"]),
                     **{c: (float(r[s]) if r is not None else np.nan) for c, s in
                        (("ci_low", "ci_low"), ("ci_high", "ci_high"),
                         ("p_value", "p_value"))}})
    out = pd.DataFrame(rows)
    out.insert(4, "delta_rho", out["rho_predictor"] - out["rho_macs"])
    out["q_value"] = benjamini_hochberg(out["p_value"])
    shown = out["q_value"] <= ALPHA
    out["verdict"] = np.select(
        [out["p_value"].isna(), shown & (out["ci_low"] > 0), shown & (out["ci_high"] < 0)],
        [TOO_FEW, BETTER, WORSE], UNDECIDED)
    return out


def _similar(ref_logs: np.ndarray, cal_cols: np.ndarray, cal: np.ndarray) -> int | None:
    """Row of ``ref_logs`` (references × models) whose latencies at ``cal_cols`` agree best
    with ``cal``: highest Spearman ρ, then Pearson r of the logs, then the first."""
    if not len(ref_logs):
        return None
    x = ref_logs[:, cal_cols]
    rho = np.nan_to_num(_pearson(average_ranks(x), average_ranks(cal)), nan=-2.0)
    r = np.nan_to_num(_pearson(x, cal), nan=-2.0)
    order = np.lexsort((-np.arange(len(x)), r, rho))  # the last key sorts first
    return int(order[-1])


def _rng(seed: int, name: str) -> np.random.Generator:
    """The calibration draws of one device: from the seed and the device's name only."""
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])


def new_device(series: dict, groups: dict, feats: pd.DataFrame, costs: pd.DataFrame,
               ks=(3, 5, 8, 12), n_splits: int = 50, seed: int = 0,
               feature_sets=tuple(P.FEATURE_SETS), n_simulations: int = 10,
               pool: dict | None = None, profiles: dict | None = None, without=None,
               baselines: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(splits, hits)``. ``splits``: one row per device, k, split and method
    (:data:`PREDICTOR`, and with ``baselines`` :data:`MACS`, :data:`SIMILAR`): ρ, MdAPE and
    ±10 % share on the device's non-calibration models, and the predictor's 90 %-interval
    coverage. ``hits``: per device, k and model, how often it was held out and how often
    inside the interval. The baselines' ms predictions scale MACs or the similar device's
    latencies by the median calibration ratio (one fitted constant). ``pool``: reference
    devices (default ``series``; never the held-out hardware, nor the physical device
    ``without``)."""
    rows, hits = [], []
    for name, y in series.items():
        y = _on_features(y, feats)
        refs = references_for(pool or series, groups, name, without)
        predictor = P.LatencyPredictor(feats, refs, groups, seed=seed, profiles=profiles,
                                       candidates=candidates(feature_sets, True),
                                       n_simulations=n_simulations)
        complete = [n for n, v in refs.items() if set(y.index) <= set(v.index)]
        ref_logs = np.array([refs[n][y.index].to_numpy(float) for n in complete])
        log_macs = np.log(costs.loc[y.index, "macs"].to_numpy(float))
        logs, rng = y.to_numpy(float), _rng(seed, name)
        for k in ks:
            if k > len(y) - 3:
                continue
            held, inside_count = np.zeros(len(y)), np.zeros(len(y))
            for split in range(n_splits):
                cal = np.sort(rng.choice(len(y), size=k, replace=False))
                rest = np.setdiff1d(np.arange(len(y)), cal)
                measured = np.exp(logs[rest])
                base = {"device": name, "physical_device": groups[name], "k": k,
                        "split": split, "n_evaluated": len(rest)}
                pred = predictor.fit(y.iloc[cal]).predict(y.index[rest])
                inside = ((pred["low_ms"].to_numpy() <= measured)
                          & (measured <= pred["high_ms"].to_numpy()))
                held[rest] += 1
                inside_count[rest] += inside
                rows.append({**base, "method": PREDICTOR, "reference": "",
                             "design": predictor.describe(),
                             **scores(pred["predicted_ms"], measured),
                             "coverage90": float(inside.mean())})
                if not baselines:
                    continue
                shift = np.median(logs[cal] - log_macs[cal])
                rows.append({**base, "method": MACS, "reference": "", "design": "",
                             **scores(np.exp(log_macs[rest] + shift), measured),
                             "coverage90": np.nan})
                i = _similar(ref_logs, cal, logs[cal])
                if i is not None:
                    r = ref_logs[i]
                    shift = np.median(logs[cal] - r[cal])
                    rows.append({**base, "method": SIMILAR, "reference": complete[i],
                                 "design": "", **scores(np.exp(r[rest] + shift), measured),
                                 "coverage90": np.nan})
            hits.append(pd.DataFrame({"device": name, "k": k, "model_id": y.index,
                                      "held_out": held, "inside": inside_count}))
    hits = pd.concat(hits, ignore_index=True) if hits else pd.DataFrame(
        columns=["device", "k", "model_id", "held_out", "inside"])
    return pd.DataFrame(rows), hits


def summarize_new_device(table: pd.DataFrame) -> pd.DataFrame:
    """Per device, k and method: median and 10th percentile of ρ, median MdAPE and ±10 %
    share, mean interval coverage, and (predictor rows) the share of splits in which the
    predictor's ρ beats both baselines' and ``paired_delta_median``: the median over splits of
    the predictor's ρ minus the better baseline's ρ **in the same split** (paired by split)."""
    wide = table.pivot_table(index=["device", "k", "split"], columns="method", values="rho")
    gap = wide[PREDICTOR] - wide.drop(columns=PREDICTOR).max(axis=1)
    beats = (gap > 0).groupby(level=["device", "k"]).mean()
    paired = gap.groupby(level=["device", "k"]).median()
    g = table.groupby(["device", "k", "method"], sort=False)
    out = g.agg(n_splits=("rho", "size"), rho_median=("rho", "median"),
                rho_p10=("rho", lambda r: np.nanpercentile(r, 10)),
                rho_p90=("rho", lambda r: np.nanpercentile(r, 90)),
                mdape_median=("mdape", "median"), within10_median=("within10", "median"),
                coverage90=("coverage90", "mean")).reset_index()
    out["beats_both_share"] = [beats.get((d, k), np.nan) if m == PREDICTOR else np.nan
                               for d, k, m in zip(out["device"], out["k"], out["method"])]
    out["paired_delta_median"] = [paired.get((d, k), np.nan) if m == PREDICTOR else np.nan
                                  for d, k, m in zip(out["device"], out["k"], out["method"])]
    return out


def pool_comparison(with_splits: pd.DataFrame, without_splits: pd.DataFrame,
                    without: str) -> pd.DataFrame:
    """Per device and k: the predictor's median ρ with the full reference pool and without the
    physical device ``without``, paired by calibration draw (the same k models in both)."""
    key = ["device", "k", "split"]
    a = with_splits[with_splits["method"] == PREDICTOR].set_index(key)
    b = without_splits[without_splits["method"] == PREDICTOR].set_index(key)
    both = a[["rho", "coverage90"]].join(b[["rho", "coverage90"]], how="inner",
                                         lsuffix="_with", rsuffix="_without")
    diff = both["rho_with"] - both["rho_without"]
    g = both.assign(diff=diff, up=diff > 0, down=diff < 0).groupby(level=["device", "k"],
                                                                   sort=False)
    out = g.agg(n_splits=("diff", "size"), rho_median_with=("rho_with", "median"),
                rho_median_without=("rho_without", "median"), paired_delta=("diff", "median"),
                improved_share=("up", "mean"), worsened_share=("down", "mean"),
                coverage_with=("coverage90_with", "mean"),
                coverage_without=("coverage90_without", "mean")).reset_index()
    out.insert(2, "without", without)
    return out


def coverage_table(loo_predictions: pd.DataFrame, hits: pd.DataFrame,
                   n_bootstrap: int = N_BOOTSTRAP, seed: int = 0,
                   level: float = 1 - ALPHA) -> pd.DataFrame:
    """Per device: the share of held-out latencies inside the predictor's 90 % interval,
    leaving one model out (``k`` = :data:`LOO_K`) and at each k of the new-device scenario
    (every held-out model of every split), with a percentile interval at ``level`` from
    resampling the device's models (the splits reuse the same models, so the model, not the
    split, is the unit: covered / held out, summed over the resampled models)."""
    sel = loo_predictions[loo_predictions["predictor"] == SELECTED]
    parts = []
    for device, g in sel.groupby("device", sort=False):
        inside = ((g["low_ms"] <= g["latency_ms"]) & (g["latency_ms"] <= g["high_ms"]))
        parts.append((device, LOO_K, np.ones(len(g)), inside.to_numpy(float)))
    for (device, k), g in hits[hits["held_out"] > 0].groupby(["device", "k"], sort=False):
        parts.append((device, str(k), g["held_out"].to_numpy(float),
                      g["inside"].to_numpy(float)))
    out = []
    rng = np.random.default_rng(seed)
    for device, k, held, inside in parts:
        idx = rng.integers(0, len(held), size=(n_bootstrap, len(held)))
        boot = inside[idx].sum(axis=1) / held[idx].sum(axis=1)
        lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
        out.append({"device": device, "k": k, "n_models": len(held),
                    "coverage90": float(inside.sum() / held.sum()), "ci_low": float(lo),
                    "ci_high": float(hi)})
    return pd.DataFrame(out)


def report_k(summary: pd.DataFrame, target_k: int) -> int | None:
    """The k the findings are given for: ``target_k`` when evaluated, else the largest k."""
    ks = set(summary["k"]) if len(summary) else set()
    return target_k if target_k in ks else (int(max(ks)) if ks else None)
