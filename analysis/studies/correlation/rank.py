"""Notebook 01's rank tests, vectorised: the inference of :mod:`analysis.inference` for many
metrics (or devices) against one latency column at once.

Every cell is the :class:`analysis.inference.Correlation` that ``inference.correlate`` gives on
the same rows — Spearman ρ, the permutation test of ρ = 0 (exact for n ≤
:data:`~analysis.constants.EXACT_MAX_N`, ``scipy.stats.permutation_test`` with
:data:`~analysis.constants.N_PERMUTATIONS` resamples above), the Fisher-z (Bonett–Wright)
interval, scipy's asymptotic p as a secondary column — but the Monte Carlo permutations of one
latency column are drawn once and applied to every metric measured on the same models (the same
seeded draws ``inference.permutation_p`` makes for each of them, so each p is the one it would
give; ``tests/test_correlation_study.py`` checks it). Then the families of the notebook, fixed
before running: Holm over the confirmatory Table 1 cells, Benjamini–Hochberg over everything
exploratory (:func:`adjust`).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.constants import ALPHA, EXACT_MAX_N, N_PERMUTATIONS
from analysis.errors import ConfigError
from analysis.inference import (CORRELATION_COLUMNS, Correlation, PermutationTest,
                                benjamini_hochberg, permutation_p, with_test)
from analysis.stats import holm_adjust

CONFIRMATORY, EXPLORATORY = "confirmatory", "exploratory"
HOLM, BH = "Holm", "Benjamini–Hochberg"


def _standard(a: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=-1, keepdims=True)
    return a / np.sqrt((a ** 2).sum(axis=-1, keepdims=True))


def permutation_tests(xs: np.ndarray, y: np.ndarray, *, n_permutations: int = N_PERMUTATIONS,
                      seed: int = 0) -> list[PermutationTest]:
    """The permutation test of ρ(x, y) = 0 for every row x of ``xs`` (finite, one length with
    ``y``): exact enumeration for n ≤ EXACT_MAX_N (:func:`analysis.inference.permutation_p`),
    else one ``scipy.stats.permutation_test`` whose seeded permutations of ``y``'s ranks serve
    every row (the statistic is the matrix of standardised ranks, so ρ of all rows at once)."""
    xs, y = np.atleast_2d(np.asarray(xs, float)), np.asarray(y, float)
    n = len(y)
    if n <= EXACT_MAX_N or np.ptp(y) == 0:
        return [permutation_p(x, y, n_permutations=n_permutations, seed=seed) for x in xs]
    if n_permutations < 99:
        raise ConfigError(f"n_permutations must be >= 99, got {n_permutations}")
    ok = np.ptp(xs, axis=1) > 0
    tests = [PermutationTest(math.nan, True, 0, 0.0, math.nan)] * len(xs)
    if not ok.any():
        return tests
    zx = _standard(sps.rankdata(xs[ok], axis=-1))

    def rho(y_ranks, axis=-1):
        return y_ranks @ zx.T

    res = sps.permutation_test((_standard(sps.rankdata(y)),), rho, permutation_type="pairings",
                               vectorized=True, n_resamples=n_permutations,
                               alternative="two-sided", rng=np.random.default_rng(seed))
    for i, p in zip(np.flatnonzero(ok), np.atleast_1d(res.pvalue)):
        p = float(min(p, 1.0))
        tests[i] = PermutationTest(p, False, n_permutations,
                                   math.sqrt(max(p * (1 - p), 1e-12) / n_permutations),
                                   2 / (n_permutations + 1))
    return tests


def correlations(columns: dict[str, np.ndarray], y: np.ndarray, *,
                 n_permutations: int = N_PERMUTATIONS, seed: int = 0) -> dict[str, Correlation]:
    """``{name: Correlation}`` of every column with ``y`` (NaN pairs dropped per column; the
    columns that keep the same rows share one permutation test)."""
    y = np.asarray(y, float)
    by_rows: dict[bytes, list[str]] = {}
    for name, x in columns.items():
        keep = np.isfinite(np.asarray(x, float)) & np.isfinite(y)
        by_rows.setdefault(keep.tobytes(), []).append(name)
    out = {}
    for key, names in by_rows.items():
        keep = np.frombuffer(key, dtype=bool)
        xs = np.array([np.asarray(columns[m], float)[keep] for m in names]).reshape(
            len(names), int(keep.sum()))
        if keep.sum() < 3:
            tests = [PermutationTest(math.nan, True, 0, 0.0, math.nan)] * len(names)
        else:
            tests = permutation_tests(xs, y[keep], n_permutations=n_permutations, seed=seed)
        out.update({m: with_test(x, y[keep], t) for m, x, t in zip(names, xs, tests)})
    return {m: out[m] for m in columns}


def correlation_table(data: pd.DataFrame, metrics: Sequence[str], *,
                      latency: str = "latency_ms", by: str = "device",
                      n_permutations: int = N_PERMUTATIONS, seed: int = 0) -> pd.DataFrame:
    """Per group of ``by`` × metric: the rows :func:`analysis.inference.correlation_table`
    gives (same columns, same numbers), vectorised over the metrics."""
    missing = [c for c in [by, latency, *metrics] if c not in data.columns]
    if missing:
        raise ConfigError(f"correlation_table: missing column(s) {missing}; have "
                          f"{list(data.columns)}")
    rows = []
    for group, part in data.groupby(by, sort=False):
        cells = correlations({m: part[m].to_numpy(float) for m in metrics},
                             part[latency].to_numpy(float), n_permutations=n_permutations,
                             seed=seed)
        rows += [{by: group, "metric": m, **c.as_dict()} for m, c in cells.items()]
    return pd.DataFrame(rows, columns=[by, "metric", *CORRELATION_COLUMNS])


def agreement_table(wide: pd.DataFrame, physical: dict | None = None, *,
                    n_permutations: int = N_PERMUTATIONS, seed: int = 0) -> pd.DataFrame:
    """Spearman ρ between the latency rankings of every pair of columns of ``wide`` (one row
    per model, one column per series), on the models both measured: ``a, b`` (each unordered
    pair once, ``a`` first in column order), ``same_device`` (the two series are runtimes,
    thread settings or regimes of one physical device, by ``physical``), then the
    :class:`Correlation` fields of ``inference.correlate(wide[b], wide[a])``."""
    physical = physical or {}
    cols = list(wide.columns)
    rows = []
    for i, a in enumerate(cols):
        others = cols[i + 1:]
        if not others:
            continue
        cells = correlations({b: wide[b].to_numpy(float) for b in others},
                             wide[a].to_numpy(float), n_permutations=n_permutations, seed=seed)
        rows += [{"a": a, "b": b,
                  "same_device": physical.get(a, a) == physical.get(b, b), **c.as_dict()}
                 for b, c in cells.items()]
    return pd.DataFrame(rows, columns=["a", "b", "same_device", *CORRELATION_COLUMNS])


# -- the families ---------------------------------------------------------------------------------

def adjust(tables: dict[str, pd.DataFrame], confirmatory: dict[str, pd.Series] | None = None,
           *, p: dict[str, str] | None = None, alpha: float = ALPHA) -> dict[str, pd.DataFrame]:
    """Multiplicity, families fixed before running: rows flagged in ``confirmatory`` (per
    table, a boolean Series) form one Holm family; every other row of every table with a finite
    ``p`` forms one Benjamini–Hochberg family (the notebook's exploratory tests). Adds
    ``family``, ``p_adjusted``, ``adjustment`` (method and family size), ``supported``
    (p_adjusted ≤ α: what is counted) and ``borderline`` (the adjusted verdict lies within three
    Monte Carlo standard errors of α, the error scaled by the adjustment; exact and bootstrap
    p's count as without Monte Carlo error unless a ``p_mc_se`` column says otherwise)."""
    confirmatory = confirmatory or {}
    flags = {k: (confirmatory[k].reindex(t.index).fillna(False).astype(bool).to_numpy()
                 if k in confirmatory else np.zeros(len(t), bool)) for k, t in tables.items()}
    p = p or {}
    ps = {k: t[p.get(k, "p_permutation")].to_numpy(float) for k, t in tables.items()}
    out = {k: t.copy() for k, t in tables.items()}
    for family, method, func in ((CONFIRMATORY, HOLM, holm_adjust),
                                 (EXPLORATORY, BH, benjamini_hochberg)):
        chosen = {k: flags[k] if family == CONFIRMATORY else ~flags[k] for k in tables}
        pooled = np.concatenate([ps[k][chosen[k]] for k in tables] or [np.array([])])
        adjusted = func(pooled) if len(pooled) else pooled
        size = int(np.isfinite(pooled).sum())
        start = 0
        for k, t in out.items():
            m = chosen[k]
            part = adjusted[start:start + int(m.sum())]
            start += int(m.sum())
            if "family" not in t:
                t["family"], t["p_adjusted"], t["adjustment"] = "", math.nan, ""
            t.loc[m, "family"] = family
            t.loc[m, "p_adjusted"] = part
            t.loc[m, "adjustment"] = f"{method} over {size}"
    for k, t in out.items():
        raw, adj = ps[k], t["p_adjusted"].to_numpy(float)
        se = t["p_mc_se"].to_numpy(float) if "p_mc_se" in t else np.zeros(len(t))
        with np.errstate(invalid="ignore", divide="ignore"):
            se_adj = np.where(raw > 0, se * adj / raw, se)
        t["supported"] = np.isfinite(adj) & (adj <= alpha)
        t["borderline"] = np.isfinite(adj) & (np.abs(adj - alpha) <= 3 * se_adj) & (se > 0)
    return out
