"""Notebook 06, the numbers: how well the latency predictor (:mod:`analysis.predict`) predicts
a device's latencies, per device, against two baselines.

* :func:`load_devices` — the evaluated devices (log latencies by model id), the pool of prior
  devices and the physical device of each;
* :func:`leave_one_out` — per device, each model predicted from the device's other models (one
  row per feature set, and the full predictor whose design and α are chosen by an inner
  cross-validation on the training models only, with the *other* physical devices as prior);
* :func:`loo_vs_macs` — the predictor's leave-one-out ρ against ranking by MACs (paired
  bootstrap of Δρ);
* :func:`new_device` — one physical device held out entirely; the predictor gets k random
  calibration models from it, repeated ``n_splits`` times, and is scored on the device's other
  models, next to two baselines: rank by MACs, and rank by the reference device whose
  latencies agree best (Spearman) with the k calibration models; :func:`summarize_new_device`;
* :func:`importance` — permutation importance of each cost per device.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps
from sklearn.inspection import permutation_importance
from sklearn.linear_model import Ridge, RidgeCV

from analysis import paths
from analysis import predict as P
from analysis.constants import MIN_MODELS_EVALUATED, N_BOOTSTRAP, PREDICTION_TOLERANCE
from analysis.errors import ConfigError
from analysis.latency import load_latency
from analysis.models import resolve_models
from analysis.stats import paired_spearman_difference

#: The methods of the new-device scenario: the predictor and its two baselines.
PREDICTOR, MACS, SIMILAR = "predictor", "rank by MACs", "most similar device"
#: The leave-one-out row of the full predictor (the others are named by their feature set).
SELECTED = "selected"
#: Costs the paper names as what FLOPs miss (memory access and synchronization).
PAPER_COSTS = ("activations", "elementwise", "memory_bytes", "operators", "layers", "merges")
#: MACs and parameters: the paper's own metrics.
FLOP_COSTS = ("macs", "params")

#: What the columns special to notebook 06's tables hold (the rest: the shared glossary).
COLUMNS = {
    "predictor": "feature set of a costs-only ridge, or 'selected': the full predictor "
                 "(design and α chosen by inner cross-validation)",
    "mdape": "median absolute percentage error of the predicted latency, %",
    "within10": "share of models predicted within ±10 % (nn-Meter's accuracy metric)",
    "coverage90": "share of measured latencies inside the predictor's 90 % interval",
    "designs": "designs chosen over the leave-one-out fits (count in brackets)",
    "design": "design the predictor's inner cross-validation chose (feature set, prior, α)",
    "predicted_ms": "predicted latency, ms",
    "low_ms": "lower end of the 90 % prediction interval, ms",
    "high_ms": "upper end of the 90 % prediction interval, ms",
    "rho_predictor": "ρ of the predictor's leave-one-out predictions with latency",
    "rho_macs": "ρ of MACs with latency on the same models",
    "delta_rho": "ρ_predictor − ρ_MACs",
    "p_value": "two-sided p of the paired bootstrap of Δρ",
    "k": "calibration models measured on the held-out device",
    "method": "predictor, rank by MACs, or the most similar reference device",
    "n_splits": "random calibration sets (splits) behind the row",
    "rho_median": "median over splits of ρ on the held-out models",
    "rho_p10": "10th percentile over splits of ρ on the held-out models",
    "mdape_median": "median over splits of the MdAPE, %",
    "within10_median": "median over splits of the share within ±10 %",
    "beats_both_share": "share of splits in which the predictor's ρ is above both baselines'",
    "paired_delta_median": "median over splits of the predictor's ρ minus the better "
                           "baseline's ρ in the same split",
    "split": "number of the random calibration set",
    "n_evaluated": "held-out models the split is scored on",
    "reference": "the most similar reference device chosen (that baseline only)",
    "feature": "cost feature (log10, standardized) or family indicator",
    "importance": "permutation importance: increase of the squared log error when the cost "
                  "is shuffled",
    "share": "the cost's share of the device's total (positive) importance",
    "coefficient": "standardized ridge coefficient of the cost",
    "models": "zoo models evaluated on the device",
}


@dataclass(frozen=True)
class Devices:
    """The data of the study.

    Attributes:
        series: evaluated devices, ``{"device / runtime": log latency by model id}``.
        pool: every device the prior may draw on (the shipped ones and the given ones).
        groups: physical device of every name in ``pool``.
        costs: counts of every zoo model (:func:`analysis.predict.cost_table`).
        feats: standardized features (:func:`analysis.predict.features`).
        noise: median run-to-run coefficient of variation per evaluated device (where known).
        files: the data files read.
    """

    series: dict
    pool: dict
    groups: dict
    costs: pd.DataFrame
    feats: pd.DataFrame
    noise: dict
    files: tuple[Path, ...]

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
    """The new-device scenario: ``splits`` (one row per device, k, split and method) and its
    ``summary`` per device, k and method; the section's findings, text and figure."""

    splits: pd.DataFrame
    summary: pd.DataFrame
    findings: Any = None
    text: str = ""
    figure: Any = None


@dataclass(frozen=True)
class Section:
    """A step with one table (the comparison with MACs, the importance): the table, the
    section's findings, text and figure (if any)."""

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


def scores(predicted_ms, measured_ms) -> dict:
    """Spearman ρ, median absolute percentage error and share within ±10 %."""
    p, m = np.asarray(predicted_ms, float), np.asarray(measured_ms, float)
    err = np.abs(p / m - 1)
    rho = sps.spearmanr(p, m)[0] if len(p) > 2 and np.ptp(p) > 0 else np.nan
    return {"rho": float(rho), "mdape": float(100 * np.median(err)),
            "within10": float(np.mean(err <= PREDICTION_TOLERANCE))}


def candidates(feature_sets, prior: bool) -> list[tuple]:
    """The predictor's candidate designs: each feature set alone, and with ``prior`` the
    reference-device prior alone and with each feature set."""
    out = [(fs, False) for fs in feature_sets]
    return out + [(fs, True) for fs in (None, *feature_sets)] if prior else out


def _references(series, groups, name):
    """Every device of ``series`` on other hardware than ``name``."""
    return {n: v for n, v in series.items() if groups[n] != groups[name]}


def _noise(table: pd.DataFrame) -> dict:
    """Median run-to-run coefficient of variation per device (``cv`` column; devices without
    it are left out)."""
    if "cv" not in table:
        return {}
    cv = {name: g["cv"].median() for name, g in P.by_device(table)}
    return {name: float(v) for name, v in cv.items() if pd.notna(v)}


def load_devices(latency_csv=None, models="table9") -> Devices:
    """The devices of ``latency_csv`` (default every shipped zoo file,
    :func:`analysis.predict.reference_files`) restricted to ``models``, and the pool of prior
    devices (the shipped ones and the given ones, all models). A given file named like a
    shipped one replaces it; devices with fewer than :data:`MIN_MODELS_EVALUATED` of
    ``models`` are not evaluated."""
    given = file_list(latency_csv) or P.reference_files()
    shipped = [f for f in P.reference_files() if f.name not in {g.name for g in given}]
    table = load_latency(given)
    evaluated, groups = P.device_latencies(table)
    pool, pool_groups = P.device_latencies(load_latency(shipped)) if shipped else ({}, {})
    ids = set(resolve_models(models))
    pool, groups = {**pool, **evaluated}, {**pool_groups, **groups}
    evaluated = {n: y[y.index.isin(ids)] for n, y in evaluated.items()}
    evaluated = {n: y for n, y in evaluated.items() if len(y) >= MIN_MODELS_EVALUATED}
    if not evaluated:
        raise ConfigError(f"no device with at least {MIN_MODELS_EVALUATED} of the selected zoo "
                          f"models to evaluate on (3 to calibrate, 3 to predict)")
    costs = P.cost_table()
    committed = paths.NOTEBOOK_OUTPUTS / "complexity.csv"
    return Devices(evaluated, pool, groups, costs, P.features(costs), _noise(table),
                   tuple([*given, *shipped, *([committed] if committed.is_file() else [])]))


def leave_one_out(series: dict, groups: dict, feats: pd.DataFrame,
                  feature_sets=tuple(P.FEATURE_SETS), pool: dict | None = None
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(scores, predictions)``: per device and predictor (each feature set alone, then
    :data:`SELECTED`) ρ / MdAPE / ±10 % share / 90 %-interval coverage over leave-one-model-out
    predictions; ``predictions`` has one row per device, predictor and model. ``pool``:
    devices the prior may use (default ``series``; never the evaluated hardware)."""
    rows, preds = [], []
    for name, y in series.items():
        y = y[[m for m in y.index if m in feats.index]]
        refs = _references(pool or series, groups, name)
        setups = [(fs, P.LatencyPredictor(feats, candidates=[(fs, False)]))
                  for fs in feature_sets]
        setups.append((SELECTED, P.LatencyPredictor(feats, refs, groups,
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
    compared by a paired bootstrap of Δρ (:func:`analysis.stats.paired_spearman_difference`;
    one comparison per device, so no multiplicity adjustment)."""
    rows = []
    for device, g in predictions[predictions["predictor"] == predictor].groupby(
            "device", sort=False):
        macs = costs.loc[g["model_id"], "macs"].to_numpy(float)
        d = paired_spearman_difference(g["predicted_ms"], macs, g["latency_ms"],
                                       n_bootstrap=n_bootstrap, seed=seed)
        rows.append({"device": device, "n": d.n,
                     "rho_predictor": sps.spearmanr(g["predicted_ms"], g["latency_ms"])[0],
                     "rho_macs": sps.spearmanr(macs, g["latency_ms"])[0],
                     "delta_rho": d.delta, "ci_low": d.ci_low, "ci_high": d.ci_high,
                     "p_value": d.p_value})
    return pd.DataFrame(rows)


def _similar_device(refs: dict, cal: pd.Series, needed) -> str | None:
    """The reference device (with every ``needed`` model) whose latencies agree best with the
    calibration models: highest Spearman ρ, then Pearson r of the logs."""
    best, key = None, None
    for name, v in refs.items():
        if not set(needed) <= set(v.index):
            continue
        x = v[cal.index].to_numpy()
        k = (np.nan_to_num(sps.spearmanr(x, cal)[0], nan=-2),
             np.nan_to_num(np.corrcoef(x, cal)[0, 1], nan=-2))
        if key is None or k > key:
            best, key = name, k
    return best


def new_device(series: dict, groups: dict, feats: pd.DataFrame, costs: pd.DataFrame,
               ks=(3, 5, 8, 12), n_splits: int = 50, seed: int = 0,
               feature_sets=tuple(P.FEATURE_SETS), n_simulations: int = 10,
               pool: dict | None = None) -> pd.DataFrame:
    """One row per device, k, split and method (:data:`PREDICTOR`, :data:`MACS`,
    :data:`SIMILAR`): ρ, MdAPE and ±10 % share on the device's non-calibration models, and
    the predictor's 90 %-interval coverage. The baselines' ms predictions scale MACs or the
    similar device's latencies by the median calibration ratio (one fitted constant).
    ``pool``: reference devices (default ``series``; never the held-out hardware)."""
    rows = []
    rng = np.random.default_rng(seed)
    for name, y in series.items():
        y = y[[m for m in y.index if m in feats.index]]
        refs = _references(pool or series, groups, name)
        predictor = P.LatencyPredictor(feats, refs, groups, seed=seed,
                                       candidates=candidates(feature_sets, True),
                                       n_simulations=n_simulations)
        log_macs = np.log(costs.loc[y.index, "macs"].astype(float))
        for k in ks:
            if k > len(y) - 3:
                continue
            for split in range(n_splits):
                cal_idx = rng.choice(len(y), size=k, replace=False)
                cal, rest = y.iloc[cal_idx], y.drop(y.index[cal_idx])
                measured = np.exp(rest.to_numpy())
                base = {"device": name, "physical_device": groups[name], "k": k,
                        "split": split, "n_evaluated": len(rest)}
                pred = predictor.fit(cal).predict(rest.index)
                inside = (pred["low_ms"] <= measured) & (measured <= pred["high_ms"])
                rows.append({**base, "method": PREDICTOR, "reference": "",
                             "design": predictor.describe(),
                             **scores(pred["predicted_ms"], measured),
                             "coverage90": float(inside.mean())})
                shift = np.median(cal - log_macs[cal.index])
                rows.append({**base, "method": MACS, "reference": "", "design": "",
                             **scores(np.exp(log_macs[rest.index] + shift), measured),
                             "coverage90": np.nan})
                ref = _similar_device(refs, cal, y.index)
                if ref is not None:
                    r = refs[ref]
                    shift = np.median(cal - r[cal.index])
                    rows.append({**base, "method": SIMILAR, "reference": ref, "design": "",
                                 **scores(np.exp(r[rest.index] + shift), measured),
                                 "coverage90": np.nan})
    return pd.DataFrame(rows)


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
                mdape_median=("mdape", "median"), within10_median=("within10", "median"),
                coverage90=("coverage90", "mean")).reset_index()
    out["beats_both_share"] = [beats.get((d, k), np.nan) if m == PREDICTOR else np.nan
                               for d, k, m in zip(out["device"], out["k"], out["method"])]
    out["paired_delta_median"] = [paired.get((d, k), np.nan) if m == PREDICTOR else np.nan
                                  for d, k, m in zip(out["device"], out["k"], out["method"])]
    return out


def importance(series: dict, feats: pd.DataFrame, n_repeats: int = 30,
               seed: int = 0) -> pd.DataFrame:
    """Per device and cost: permutation importance (increase in squared log error when the
    cost is shuffled) of a ridge fitted on all the device's models with every cost, its
    share of the device's total, and the standardized coefficient."""
    cols = list(P.FEATURE_SETS["costs"])
    rows = []
    for name, y in series.items():
        y = y[[m for m in y.index if m in feats.index]]
        x = feats.loc[y.index, cols].to_numpy()
        alpha = RidgeCV(alphas=P.ALPHAS).fit(x, y.to_numpy()).alpha_
        ridge = Ridge(alpha=alpha).fit(x, y.to_numpy())
        imp = permutation_importance(ridge, x, y.to_numpy(), n_repeats=n_repeats,
                                     random_state=seed, scoring="neg_mean_squared_error")
        total = imp.importances_mean.clip(min=0).sum() or 1.0
        for c, mean, coef in zip(cols, imp.importances_mean, ridge.coef_):
            rows.append({"device": name, "feature": c, "importance": float(mean),
                         "share": float(max(mean, 0) / total), "coefficient": float(coef)})
    return pd.DataFrame(rows)


def report_k(summary: pd.DataFrame, target_k: int) -> int | None:
    """The k the findings are given for: ``target_k`` when evaluated, else the largest k."""
    ks = set(summary["k"]) if len(summary) else set()
    return target_k if target_k in ks else (int(max(ks)) if ks else None)

