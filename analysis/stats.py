"""Rank correlations with bootstrap confidence intervals; numbers only, no plotting.

The paper's Table 1 reports Spearman's ρ between latency and a cost metric (FLOPs, params)
with a two-sided p-value. This module computes the same (with scipy), and adds what the paper
does not give: a seeded percentile-bootstrap 95% confidence interval over models (models are
resampled with replacement, pairs kept together), Kendall's τ, and n.

Every function takes plain arrays or DataFrames and returns numbers or DataFrames.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.errors import ConfigError


@dataclass(frozen=True)
class Correlation:
    """Spearman ρ with its two-sided p-value and bootstrap CI, Kendall τ, and n."""

    rho: float
    p_value: float
    ci_low: float
    ci_high: float
    kendall_tau: float
    n: int

    def as_dict(self) -> dict:
        return asdict(self)


def _rank_rows(a: np.ndarray) -> np.ndarray:
    """Average ranks along the last axis (ties share their mean rank, as in Spearman)."""
    return sps.rankdata(a, axis=-1)


def bootstrap_spearman(x: Sequence[float], y: Sequence[float], n_bootstrap: int = 10_000,
                       seed: int = 0) -> np.ndarray:
    """Spearman ρ of ``n_bootstrap`` resamples of the (x, y) pairs (NaN where a resample is
    constant in x or y, e.g. all copies of one model)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = len(x)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_bootstrap, n))
    rx, ry = _rank_rows(x[idx]), _rank_rows(y[idx])
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    denom = np.sqrt((rx ** 2).sum(axis=1) * (ry ** 2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rx * ry).sum(axis=1) / denom


def spearman_ci(x: Sequence[float], y: Sequence[float], n_bootstrap: int = 10_000,
                seed: int = 0, level: float = 0.95) -> Correlation:
    """Spearman ρ and p (scipy), percentile-bootstrap CI at ``level``, Kendall τ-b, n."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.shape != y.shape or x.ndim != 1:
        raise ConfigError(f"x and y must be 1-D of the same length, got {x.shape} and {y.shape}")
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    n = len(x)
    if n < 3:
        return Correlation(np.nan, np.nan, np.nan, np.nan, np.nan, n)
    if not 0 < level < 1 or n_bootstrap < 1:
        raise ConfigError(f"level must be in (0, 1) and n_bootstrap >= 1, got {level}, {n_bootstrap}")
    res = sps.spearmanr(x, y)
    tau = sps.kendalltau(x, y).statistic
    boot = bootstrap_spearman(x, y, n_bootstrap, seed)
    boot = boot[np.isfinite(boot)]
    alpha = (1 - level) / 2
    lo, hi = (np.quantile(boot, [alpha, 1 - alpha]) if len(boot) else (np.nan, np.nan))
    return Correlation(float(res.statistic), float(res.pvalue), float(lo), float(hi),
                       float(tau), int(n))


def correlation_table(data: pd.DataFrame, metrics: Sequence[str], *, latency: str = "latency_ms",
                      by: str = "device", n_bootstrap: int = 10_000,
                      seed: int = 0) -> pd.DataFrame:
    """For each group of ``by`` × metric: ρ, p, CI, τ, n between the metric and latency.

    ``data`` is one row per (model, device) with a latency column and one column per metric.
    Returns columns ``device, metric, rho, p_value, ci_low, ci_high, kendall_tau, n`` (the
    first named after ``by``). The seed is the same for every cell, so a cell's CI does not
    depend on which other cells are computed.
    """
    missing = [c for c in [by, latency, *metrics] if c not in data.columns]
    if missing:
        raise ConfigError(f"correlation_table: missing column(s) {missing}; "
                          f"have {list(data.columns)}")
    rows = []
    for group, part in data.groupby(by, sort=False):
        for metric in metrics:
            c = spearman_ci(part[metric], part[latency], n_bootstrap, seed)
            rows.append({by: group, "metric": metric, **c.as_dict()})
    return pd.DataFrame(rows, columns=[by, "metric", "rho", "p_value", "ci_low", "ci_high",
                                       "kendall_tau", "n"])


def rank_agreement(wide: pd.DataFrame, n_bootstrap: int = 10_000, seed: int = 0) -> pd.DataFrame:
    """Spearman ρ between the latency rankings of every pair of columns (devices).

    ``wide`` has one row per model and one latency column per device; each pair uses the models
    both devices measured. Returns long form: ``a, b, rho, p_value, ci_low, ci_high,
    kendall_tau, n`` (each unordered pair once, plus the diagonal with ρ = 1).
    """
    rows = []
    for a in wide.columns:
        rows.append({"a": a, "b": a, **Correlation(1.0, 0.0, 1.0, 1.0, 1.0,
                                                   int(wide[a].notna().sum())).as_dict()})
    for a, b in combinations(wide.columns, 2):
        c = spearman_ci(wide[a], wide[b], n_bootstrap, seed)
        rows.append({"a": a, "b": b, **c.as_dict()})
    return pd.DataFrame(rows)
