"""Notebook 07's launch overhead: what eager execution costs per operator.

At one precision, a model's eager latency minus its CUDA-graph latency is what launching its
kernels one by one costs; regressed on the operator count by least squares
(``numpy.linalg.lstsq``) over the models measured in both regimes, the slope is the cost of one
operator, with a bootstrap interval over models (and the classical OLS interval beside it).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.constants import ALPHA
from analysis.studies.regimes.compute import (EAGER, GRAPH, STATISTICS, Joined,
                                              resample_index)


def overhead_rows(joined: Joined, statistic: str) -> dict[str, pd.DataFrame]:
    """Per precision with an eager and a graph regime: the models measured in both, with
    ``eager_ms``, ``graph_ms``, ``overhead_ms`` = eager − graph, their session ranges
    (``overhead_low_ms`` = eager's lowest session − graph's highest, ``overhead_high_ms`` the
    other way) and ``operators``."""
    part = joined.frame[joined.frame["statistic"] == statistic]
    rows = {}
    regimes = list(dict.fromkeys(part["regime"]))
    for eager in regimes:
        if not eager.split(" · ")[-1].startswith(EAGER + " "):
            continue
        graph = eager.replace(EAGER + " ", GRAPH + " ", 1)
        if graph not in regimes:
            continue
        e = part[part["regime"] == eager].set_index("model_id")
        g = part[part["regime"] == graph].set_index("model_id")
        both = e.index.intersection(g.index)
        e, g = e.loc[both], g.loc[both]
        rows[eager.replace(EAGER + " ", "", 1)] = pd.DataFrame({
            "model_id": both, "model": e["model"], "family": e["family"],
            "operators": e["operators"], "eager_ms": e["latency_ms"],
            "graph_ms": g["latency_ms"], "overhead_ms": e["latency_ms"] - g["latency_ms"],
            "overhead_low_ms": e["session_low_ms"] - g["session_high_ms"],
            "overhead_high_ms": e["session_high_ms"] - g["session_low_ms"]}).reset_index(drop=True)
    return rows


def ols(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """``(slope, intercept, slope standard error, R²)`` of y = slope·x + intercept by least
    squares (``numpy.linalg.lstsq``)."""
    design = np.column_stack([x, np.ones_like(x)])
    (slope, intercept), *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ np.array([slope, intercept])
    n = len(x)
    sxx = float(((x - x.mean()) ** 2).sum())
    se = math.sqrt(float(resid @ resid) / (n - 2) / sxx) if n > 2 and sxx > 0 else math.nan
    total = float(((y - y.mean()) ** 2).sum())
    r2 = 1 - float(resid @ resid) / total if total > 0 else math.nan
    return float(slope), float(intercept), se, r2


def launch_overhead(joined: Joined, *, n_bootstrap: int, seed: int,
                    level: float = 1 - ALPHA) -> pd.DataFrame:
    """Per statistic and precision: eager − graph latency regressed on the operator count.
    ``us_per_operator`` (the slope, µs) with a bootstrap interval over models (percentile) and
    the classical OLS interval; ``intercept_ms``; ``r_squared``; ``explained_share`` = median
    over models of slope × operators / eager latency (the part of eager latency the fitted
    per-operator cost accounts for); ``overhead_share`` = median of (eager − graph) / eager."""
    rows = []
    alpha = 1 - level
    for statistic in STATISTICS:
        for precision, d in overhead_rows(joined, statistic).items():
            x, y = d["operators"].to_numpy(float), d["overhead_ms"].to_numpy(float)
            n = len(d)
            if n < 3:
                continue
            slope, intercept, se, r2 = ols(x, y)
            index = resample_index(n, n_bootstrap, seed)
            xs, ys = x[index], y[index]
            xc = xs - xs.mean(axis=1, keepdims=True)
            with np.errstate(invalid="ignore", divide="ignore"):
                boot = (xc * (ys - ys.mean(axis=1, keepdims=True))).sum(axis=1) / \
                    (xc * xc).sum(axis=1)
            boot = boot[np.isfinite(boot)]
            lo, hi = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
            t = sps.t.ppf(1 - alpha / 2, n - 2)
            rows.append({"statistic": statistic, "precision": precision, "n": n,
                         "us_per_operator": 1e3 * slope, "ci_low": 1e3 * float(lo),
                         "ci_high": 1e3 * float(hi), "ols_ci_low": 1e3 * (slope - t * se),
                         "ols_ci_high": 1e3 * (slope + t * se), "intercept_ms": intercept,
                         "r_squared": r2,
                         "explained_share": float(np.median(slope * x / d["eager_ms"])),
                         "overhead_share": float(np.median(y / d["eager_ms"]))})
    return pd.DataFrame(rows, columns=["statistic", "precision", "n", "us_per_operator",
                                       "ci_low", "ci_high", "ols_ci_low", "ols_ci_high",
                                       "intercept_ms", "r_squared", "explained_share",
                                       "overhead_share"])


