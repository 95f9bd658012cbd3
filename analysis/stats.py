"""Rank-correlation building blocks; numbers only, no plotting.

The paper's Table 1 reports Spearman's ρ between latency and a cost metric (FLOPs, params)
with a two-sided p-value. The study's inference is in :mod:`analysis.inference`: the
permutation test of ρ = 0 is primary at every n (exact enumeration for n ≤
:data:`~analysis.constants.EXACT_MAX_N`, :func:`exact_spearman_p` here; Monte Carlo above, with
"borderline" within three standard errors of α), the interval of ρ is Fisher-z (its coverage
is simulated by ``benchmarks/rho_interval_coverage.py``), and scipy's asymptotic p is
secondary. It builds on what this module holds:

* the vectorised rank helpers (:func:`spearman_rows` and the row-wise ranks and Pearson
  correlation behind it), :func:`exact_spearman_p` and :func:`spearman_critical_value`;
* :func:`holm_adjust` (Holm's step-down adjustment).

A table of ρ per device and metric with its inference is
:func:`analysis.inference.correlation_table`.

Every function takes plain arrays or DataFrames and returns numbers or DataFrames.
"""

from __future__ import annotations

import functools
import math
from itertools import permutations
from typing import Sequence

import numpy as np
from scipy import stats as sps

from analysis.constants import ALPHA, EXACT_MAX_N
def _rank_rows(a: np.ndarray) -> np.ndarray:
    """Average ranks along the last axis (ties share their mean rank, as in Spearman)."""
    return sps.rankdata(a, axis=-1)


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
