"""Rank correlations with bootstrap confidence intervals; numbers only, no plotting.

The paper's Table 1 reports Spearman's ρ between latency and a cost metric (FLOPs, params)
with a two-sided p-value. This module computes the same (with scipy), and adds what the paper
does not give: a seeded percentile-bootstrap 95% confidence interval over models (models are
resampled with replacement, pairs kept together), Kendall's τ, and n.

**One primary inference per sample size.** With n ≤ :data:`EXACT_MAX_N` (8) models a
bootstrap over models is meaningless (a handful of distinct resamples, CI [1, 1] at n = 3), so
the primary inference is the exact permutation p-value (all n! orderings,
``scipy.stats.permutation_test``) and no CI is reported. With n > 8 the percentile-bootstrap
CI is primary (it covers the true ρ in 95–97 % of simulated samples at n = 21) and scipy's
asymptotic p is secondary; where the two disagree the reports say so.

**Multiplicity:** :func:`holm_adjust` (Holm's step-down adjustment). Paired comparisons of
metrics, claim verdicts and the study's primary inference live in :mod:`analysis.inference`,
which builds on the rank helpers here.

Every function takes plain arrays or DataFrames and returns numbers or DataFrames.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass
from itertools import permutations
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.constants import ALPHA, EXACT_MAX_N
from analysis.errors import ConfigError
#: Primary-inference labels (column ``inference``).
EXACT, BOOTSTRAP, TOO_FEW = "exact permutation", "bootstrap CI", "too few models"


@dataclass(frozen=True)
class Correlation:
    """Spearman ρ with its primary inference (see the module docstring).

    ``p_value`` is scipy's (asymptotic t) p, as the paper reports; ``exact_p`` the exact
    permutation p (n ≤ 8, else NaN); ``ci_low, ci_high`` the percentile-bootstrap CI (n > 8,
    else NaN); ``inference`` which of the two is primary; ``supported`` whether the primary
    inference rejects ρ = 0 at :data:`ALPHA` (exact p ≤ α, or a CI that excludes 0);
    ``borderline`` whether it does so only just (|ρ| at the smallest value that reaches
    p ≤ α for this n, or a CI bound within 0.02 of 0).
    """

    rho: float
    p_value: float
    ci_low: float
    ci_high: float
    kendall_tau: float
    n: int
    exact_p: float = math.nan
    inference: str = TOO_FEW
    supported: bool = False
    borderline: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


CORRELATION_COLUMNS = tuple(Correlation.__dataclass_fields__)


def _rank_rows(a: np.ndarray) -> np.ndarray:
    """Average ranks along the last axis (ties share their mean rank, as in Spearman)."""
    return sps.rankdata(a, axis=-1)


def bootstrap_spearman(x: Sequence[float], y: Sequence[float], n_bootstrap: int = 10_000,
                       seed: int | np.random.Generator = 0) -> np.ndarray:
    """Spearman ρ of ``n_bootstrap`` resamples of the (x, y) pairs (NaN where a resample is
    constant in x or y, e.g. all copies of one model). ``seed`` may be a Generator, which then
    continues its stream (several samples resampled from one seeded stream)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = len(x)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_bootstrap, n))
    return spearman_rows(x[idx], y[idx])


def spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman ρ of each row pair of ``x`` and ``y`` (same shape; ρ along the last axis), e.g.
    resamples or subsets of one sample; NaN where a row is constant."""
    return _pearson_rows(_rank_rows(x), _rank_rows(y))


def _pearson_rows(rx: np.ndarray, ry: np.ndarray) -> np.ndarray:
    """Pearson correlation along the last axis (of ranks: Spearman's ρ); NaN if constant."""
    rx = rx - rx.mean(axis=-1, keepdims=True)
    ry = ry - ry.mean(axis=-1, keepdims=True)
    denom = np.sqrt((rx ** 2).sum(axis=-1) * (ry ** 2).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rx * ry).sum(axis=-1) / denom


def exact_spearman_p(x: Sequence[float], y: Sequence[float]) -> float:
    """Exact two-sided permutation p-value of Spearman's ρ (every one of the n! orderings of y
    against x, ``scipy.stats.permutation_test``). NaN for n < 3, n > :data:`EXACT_MAX_N` or a
    constant input."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = len(x)
    if n < 3 or n > EXACT_MAX_N or len(y) != n or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    rx = sps.rankdata(x)

    def rho(y_perm, axis=-1):
        return _pearson_rows(np.broadcast_to(rx, np.shape(y_perm)), sps.rankdata(y_perm, axis=axis))

    res = sps.permutation_test((y,), rho, permutation_type="pairings", vectorized=True,
                               n_resamples=np.inf, alternative="two-sided")
    return float(min(res.pvalue, 1.0))


@functools.lru_cache(maxsize=None)
def spearman_critical_value(n: int, alpha: float = ALPHA) -> float:
    """Smallest |ρ| whose exact two-sided p-value (no ties) is ≤ ``alpha`` for ``n`` pairs;
    NaN when no ordering reaches it or n is outside 3..:data:`EXACT_MAX_N`."""
    if n < 3 or n > EXACT_MAX_N:
        return math.nan
    ranks = np.arange(1, n + 1, dtype=float)
    perms = np.array(list(permutations(range(n))))
    rhos = np.round(np.abs(_pearson_rows(np.broadcast_to(ranks, perms.shape), ranks[perms])), 12)
    for value in np.unique(rhos):
        if np.mean(rhos >= value - 1e-12) <= alpha:
            return float(value)
    return math.nan


def spearman_ci(x: Sequence[float], y: Sequence[float], n_bootstrap: int = 10_000,
                seed: int = 0, level: float = 1 - ALPHA) -> Correlation:
    """Spearman ρ, scipy's p, Kendall τ-b, n, and the primary inference: for n ≤ 8 the exact
    permutation p (no CI); for n > 8 the percentile-bootstrap CI at ``level``."""
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
    rho, p = float(res.statistic), float(res.pvalue)
    tau = float(sps.kendalltau(x, y).statistic)
    alpha = 1 - level
    if n <= EXACT_MAX_N:
        exact = exact_spearman_p(x, y)
        crit = spearman_critical_value(n, alpha)
        supported = bool(math.isfinite(exact) and exact <= alpha)
        borderline = bool(supported and math.isfinite(crit) and abs(rho) <= crit + 1e-9)
        return Correlation(rho, p, np.nan, np.nan, tau, n, exact, EXACT, supported, borderline)
    boot = bootstrap_spearman(x, y, n_bootstrap, seed)
    boot = boot[np.isfinite(boot)]
    lo, hi = (np.quantile(boot, [alpha / 2, 1 - alpha / 2]) if len(boot) else (np.nan, np.nan))
    supported = bool(lo > 0 or hi < 0)
    borderline = bool(supported and min(abs(lo), abs(hi)) < 0.02)
    return Correlation(rho, p, float(lo), float(hi), tau, n, math.nan, BOOTSTRAP, supported,
                       borderline)


def correlation_table(data: pd.DataFrame, metrics: Sequence[str], *, latency: str = "latency_ms",
                      by: str = "device", n_bootstrap: int = 10_000,
                      seed: int = 0) -> pd.DataFrame:
    """For each group of ``by`` × metric: ρ, p, CI, τ, n between the metric and latency.

    ``data`` is one row per (model, device) with a latency column and one column per metric.
    Returns columns ``device, metric`` (the first named after ``by``) and those of
    :class:`Correlation`. The seed is the same for every cell, so a cell's CI does not
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
    return pd.DataFrame(rows, columns=[by, "metric", *CORRELATION_COLUMNS])


def holm_adjust(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjustment of ``p_values`` (family-wise error); NaN stays NaN."""
    p = np.asarray(p_values, float)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = len(ok)
    order = ok[np.argsort(p[ok], kind="stable")]
    running = 0.0
    for i, j in enumerate(order):
        running = max(running, min(1.0, (m - i) * p[j]))
        out[j] = running
    return out
