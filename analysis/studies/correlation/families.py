"""Notebook 01's families of tests, fixed before running, and the same analysis with the median.

**Confirmatory:** the paper's Table 1 cells — MACs and parameters on the iPhone 12 and the
Intel Xeon Gold 5118, the paper's own latencies of its Figure 2 models — Holm over the four (on
Table 9's published sizes, the paper's own data; the same four on our fvcore counts as a
check). A correlation cell of the study that is one of those tests (same device, metric,
models and ρ) carries the Table 1 result.

**Exploratory:** everything else the notebook tests — every other series × metric cell, the
same on convolutional models only, conv-only minus all models, every pair of series in the
device agreement, our devices minus the paper's — one Benjamini–Hochberg family
(:func:`analysis.studies.correlation.rank.adjust`); a count of "supported" results is made
only after it. The comparisons of each metric with MACs are Holm-adjusted over the metrics of
their series (:func:`analysis.inference.versus_reference`), and not pooled further.

**Statistic:** the paper's minimum is primary; :func:`median_frame` swaps in each session's
median where a file has one, the whole analysis is rerun, and :func:`verdict_changes` lists
every verdict the choice changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.constants import PAPER_METRICS, WEAK_THRESHOLD
from analysis.inference import claim_verdict
from analysis.studies.correlation.rank import adjust

ADJUSTED = ("family", "p_adjusted", "adjustment", "supported", "borderline")


@dataclass(frozen=True)
class Tests:
    """Every test of one analysis after its family's adjustment (see the module docstring)."""

    correlations: pd.DataFrame
    conv: pd.DataFrame
    conv_difference: pd.DataFrame
    agreement: pd.DataFrame
    paper_devices: pd.DataFrame
    versus: pd.DataFrame
    best: pd.DataFrame

    @property
    def n_exploratory(self) -> int:
        """Tests in the exploratory (Benjamini–Hochberg) family."""
        return int(sum((t["family"] == "exploratory").sum() for t in
                       (self.correlations, self.conv, self.conv_difference, self.agreement,
                        self.paper_devices) if "family" in t))


def confirmatory_cells(correlations: pd.DataFrame, table1: pd.DataFrame, basis: str
                       ) -> pd.Series:
    """The rows of ``correlations`` that are Table 1's tests on ``basis``: same device, metric,
    number of models and ρ (so the same models)."""
    t1 = table1[table1["source"] == basis] if len(table1) else table1
    flags = pd.Series(False, index=correlations.index)
    for i, r in correlations.iterrows():
        same = t1[(t1["device"] == r["device"]) & (t1["metric"] == r["metric"])
                  & (t1["n"] == r["n"])] if len(t1) else t1
        flags[i] = bool(len(same)) and bool(np.isclose(same["rho"].iloc[0], r["rho"],
                                                       rtol=0, atol=1e-12))
    return flags


def adjust_tests(table1: pd.DataFrame, basis: str, correlations: pd.DataFrame,
                 conv: pd.DataFrame, conv_difference: pd.DataFrame, agreement: pd.DataFrame,
                 paper_devices: pd.DataFrame, versus: pd.DataFrame,
                 best: pd.DataFrame) -> Tests:
    """The families of the module docstring applied to one analysis' tables."""
    conf = confirmatory_cells(correlations, table1, basis)
    tables = {"correlations": correlations, "conv": conv, "conv_difference": conv_difference,
              "agreement": agreement, "paper_devices": paper_devices}
    p = {"conv_difference": "p_bootstrap", "paper_devices": "p_bootstrap"}
    out = adjust(tables, {"correlations": conf}, p=p)
    corr = out["correlations"]
    t1 = table1[table1["source"] == basis].set_index(["device", "metric"]) if len(table1) \
        else None
    for i in corr.index[conf.to_numpy()]:
        row = t1.loc[(corr.at[i, "device"], corr.at[i, "metric"])]
        for column in ADJUSTED:
            corr.at[i, column] = row[column]
    return Tests(corr, out["conv"], out["conv_difference"], out["agreement"],
                 out["paper_devices"], versus, best)


def claim_verdicts(correlations: pd.DataFrame, metrics=PAPER_METRICS,
                   threshold: float = WEAK_THRESHOLD) -> pd.DataFrame:
    """The paper's claim "latency is weakly correlated with <metric>" judged on every series
    by :func:`analysis.inference.claim_verdict` on the Fisher-z interval: ``holds`` (the
    interval lies within ±threshold), ``contradicted`` (wholly beyond), ``inconclusive``, or
    ``borderline`` (a bound within resampling error of the threshold)."""
    part = correlations[correlations["metric"].isin(metrics)].copy()
    part["verdict"] = [claim_verdict(lo, hi, threshold, "weak")
                       for lo, hi in zip(part["ci_low"], part["ci_high"])]
    keep = [c for c in ("device", "physical_device", "metric", "rho", "ci_low", "ci_high", "n",
                        "verdict") if c in part.columns]
    return part[keep]


# -- the statistic ------------------------------------------------------------------------------

def median_frame(joined: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """``joined`` with each row's median (``median_ms``: the median over sessions of each
    session's median, as ``load_latency(statistic="median")`` gives it) as its latency where
    the file has one; rows with one statistic only (the paper's) keep theirs. Returns the frame
    and the series whose latency changed."""
    frame = joined.copy()
    if "median_ms" not in frame:
        return frame, []
    has = frame["median_ms"].notna()
    frame.loc[has, "latency_ms"] = frame.loc[has, "median_ms"]
    frame.loc[has, "statistic"] = "median"
    for low, high in (("session_low_ms", "session_high_ms"),):
        if low in frame:
            frame.loc[has, [low, high]] = math.nan  # the session range is of the minimum
    return frame, list(dict.fromkeys(frame.loc[has, "device"].astype(str)))


def _supported(table: pd.DataFrame, keys: list[str], what: str) -> pd.DataFrame:
    if table.empty:
        return pd.DataFrame(columns=["what", "device", "item", "verdict"])
    item = table[keys[1:]].astype(str).agg(" vs ".join, axis=1) if len(keys) > 1 else ""
    return pd.DataFrame({"what": what, "device": table[keys[0]].astype(str), "item": item,
                         "verdict": np.where(table["supported"], "supported",
                                             "not supported")})


def verdicts(tests: Tests) -> pd.DataFrame:
    """Every verdict of one analysis, one row each: ``what, device, item, verdict``."""
    claims = claim_verdicts(tests.correlations)
    best = tests.best[tests.best["called_best"]] if len(tests.best) else tests.best
    called = pd.DataFrame({"what": "best metric", "device": tests.best["device"].unique()}) \
        if len(tests.best) else pd.DataFrame(columns=["what", "device"])
    called["item"] = ""
    called["verdict"] = [", ".join(best.loc[best["device"] == d, "metric"]) or "none called"
                         for d in called["device"]]
    return pd.concat([
        _supported(tests.correlations, ["device", "metric"], "ρ ≠ 0"),
        pd.DataFrame({"what": "weak-correlation claim", "device": claims["device"],
                      "item": claims["metric"], "verdict": claims["verdict"]}),
        pd.DataFrame({"what": "versus MACs", "device": tests.versus["device"],
                      "item": tests.versus["metric"], "verdict": tests.versus["verdict"]}),
        called,
        _supported(tests.conv, ["device", "metric"], "ρ ≠ 0, conv only"),
        _supported(tests.conv_difference, ["device", "metric"], "conv only − all models"),
        _supported(tests.agreement, ["a", "b"], "device agreement"),
        _supported(tests.paper_devices, ["device", "paper_device", "metric"],
                   "ours − the paper's device"),
    ], ignore_index=True)


def verdict_changes(minimum: Tests, median: Tests, series: list[str]) -> pd.DataFrame:
    """Every verdict of the analysis that differs between the minimum and the median, among
    those that involve a series with a median (``series``): ``what, device, item, minimum,
    median``."""
    a = verdicts(minimum).rename(columns={"verdict": "minimum"})
    b = verdicts(median).rename(columns={"verdict": "median"})
    both = a.merge(b, on=["what", "device", "item"], how="outer")
    touched = both["device"].isin(series) | both["item"].apply(
        lambda text: any(s in str(text).split(" vs ") for s in series))
    changed = both[touched & (both["minimum"].fillna("") != both["median"].fillna(""))]
    return changed.reset_index(drop=True)[["what", "device", "item", "minimum", "median"]]


def compared_verdicts(minimum: Tests, series: list[str]) -> int:
    """How many verdicts the statistic could change (those that involve a series with a
    median)."""
    v = verdicts(minimum)
    touched = v["device"].isin(series) | v["item"].apply(
        lambda text: any(s in str(text).split(" vs ") for s in series))
    return int(touched.sum())
