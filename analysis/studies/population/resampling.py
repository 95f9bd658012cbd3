"""Notebook 05's inference with **architectures** as the unit, not rows (issue 20, item 6).

timm benchmarks one network at several input sizes (resnet50 at 160, 176, 224 and 288 px), so
the file's ~1,400 rows are not ~1,400 independent pieces of evidence. Every resampling here
draws whole architectures (:func:`.compute.architecture_of` names them):

* **Intervals of ρ**: the cluster bootstrap over architectures
  (:func:`analysis.inference.cluster_bootstrap_rhos`: an architecture drawn brings all its rows)
  with a percentile interval, where some architecture of the population has several rows.
  Where every architecture has one row (the paper's Figure 2 models) the cluster bootstrap is a
  plain row bootstrap, whose percentile interval under-covers at small n, so the Fisher-z
  interval (:func:`analysis.inference.fisher_interval`, coverage shown in
  ``tests/test_inference.py``) is used there, as in notebook 01. ``ci_method`` says which.
* **Test of ρ = 0**: a permutation test on **one row per architecture**
  (:func:`.compute.representative`: its input size nearest ``REFERENCE_SIZE`` px), so the
  permuted units are independent architectures: exact enumeration for n ≤
  :data:`~analysis.constants.EXACT_MAX_N` (:func:`analysis.inference.permutation_p`), else
  Monte Carlo with ``N_PERMUTATIONS`` permutations of the latency ranks, p = (1 + #{|ρ*| ≥
  |ρ|}) / (N + 1). The cells of one table are exploratory: Benjamini–Hochberg over all of them.
* **Metric comparisons** (pre-stated): each metric against MACs, the paper's metric, on the
  same resamples (paired), Holm within the population; and, aware of the selection, the share
  of resamples in which each metric has the highest ρ.
* **conv vs transformer**: independent samples (no architecture is in both), each resampled by
  architecture from its own stream.

A resample's ρ is rounded to :data:`.compute.ROUND_DIGITS` decimals before any comparison, so a
tie in exact arithmetic (common at small n) is a tie on every machine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis import inference
from analysis.constants import ALPHA, BEST_PROBABILITY, EXACT_MAX_N, WEAK_THRESHOLD
from analysis.stats import holm_adjust
from analysis.studies.population.compute import (METRICS, POPULATIONS, ROUND_DIGITS,
                                                 representative)

CLUSTER, FISHER = "cluster bootstrap (architectures)", "Fisher z (one row per architecture)"
REFERENCE = "macs"


def stream(seed: int, population: str) -> int:
    """The seed of one population's resamples: its own stream, so populations (and the two
    independent families) never share random numbers, and a cell does not depend on which
    other populations exist."""
    key = POPULATIONS.index(population) if population in POPULATIONS else \
        int.from_bytes(population.encode()[:8], "little")
    return int(np.random.SeedSequence([seed, key]).generate_state(1)[0])


# -- resampling ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Resamples:
    """Cluster-bootstrap ρ(latency, metric) per population: ``rhos[(population, metric)]`` on the
    rows that have the metric, ``paired[population][metric]`` on the rows that have every
    metric (the same resamples of architectures for all metrics of a population: paired)."""

    rhos: Mapping[tuple[str, str], np.ndarray]
    paired: Mapping[str, Mapping[str, np.ndarray]]
    n_bootstrap: int


def _boot(part: pd.DataFrame, metric: str, n_bootstrap: int, seed: int) -> np.ndarray:
    r = inference.cluster_bootstrap_rhos(part[metric], part["latency_ms"], part["architecture"],
                                         n_bootstrap=n_bootstrap, seed=seed)
    return np.round(r, ROUND_DIGITS)


def resample(pops: Mapping[str, pd.DataFrame], metrics=METRICS, n_bootstrap: int = 2000,
             seed: int = 0) -> Resamples:
    """:class:`Resamples` of every population with at least 3 rows."""
    rhos, paired = {}, {}
    for pop, part in pops.items():
        present = [m for m in metrics if m in part and part[m].notna().sum() >= 3]
        if len(part) < 3 or not present:
            continue
        s = stream(seed, pop)
        for m in present:
            rhos[(pop, m)] = _boot(part[part[m].notna()], m, n_bootstrap, s)
        complete = part[present].notna().all(axis=1)
        if complete.all():  # the same rows for every metric: the same resamples
            paired[pop] = {m: rhos[(pop, m)] for m in present}
        elif complete.sum() >= 3:
            paired[pop] = {m: _boot(part[complete], m, n_bootstrap, s) for m in present}
    return Resamples(rhos, paired, n_bootstrap)


def _percentile(values: np.ndarray, level: float = 1 - ALPHA) -> tuple[float, float]:
    v = values[np.isfinite(values)]
    if not len(v):
        return math.nan, math.nan
    tail = (1 - level) / 2
    lo, hi = np.quantile(v, [tail, 1 - tail])
    return float(lo), float(hi)


# -- the permutation test on one row per architecture --------------------------------------------

@dataclass(frozen=True)
class Permutation:
    """ρ on one row per architecture and its two-sided permutation p (``exact`` or Monte Carlo
    with ``n_permutations``; ``floor`` the smallest p possible, ``mc_se`` its standard error)."""

    rho: float
    n: int
    p: float
    exact: bool
    floor: float
    mc_se: float


def _centred_ranks(v: np.ndarray) -> np.ndarray:
    r = sps.rankdata(v)
    return r - r.mean()


def permutation_tests(x: Mapping[str, np.ndarray], y: np.ndarray, n_permutations: int,
                      seed: int, chunk: int = 2000) -> dict[str, Permutation]:
    """The permutation test of ρ = 0 between ``y`` and each column of ``x`` (same rows, no NaN),
    all on the same permutations of ``y``'s ranks (the ranks of a permuted sample are the
    permuted ranks, so nothing is re-ranked)."""
    n = len(y)
    out = {}
    if n <= EXACT_MAX_N:
        for m, v in x.items():
            t = inference.permutation_p(v, y)
            rho = float(sps.spearmanr(v, y).statistic) if n >= 3 else math.nan
            out[m] = Permutation(rho, n, t.p, t.exact, t.floor, t.mc_se)
        return out
    ry = _centred_ranks(y)
    names = [m for m, v in x.items() if np.ptp(v) > 0 and np.ptp(y) > 0]
    rx = np.column_stack([_centred_ranks(x[m]) for m in names]) if names else np.empty((n, 0))
    norm = np.sqrt((rx ** 2).sum(axis=0) * (ry ** 2).sum())
    observed = np.round(ry @ rx / norm, ROUND_DIGITS)
    hits = np.zeros(len(names))
    rng = np.random.default_rng(seed)
    for start in range(0, n_permutations, chunk):
        b = min(chunk, n_permutations - start)
        perm = rng.permuted(np.broadcast_to(ry, (b, n)), axis=1)
        hits += (np.abs(np.round(perm @ rx / norm, ROUND_DIGITS)) >= np.abs(observed)).sum(0)
    for m in x:
        if m not in names:
            out[m] = Permutation(math.nan, n, math.nan, True, math.nan, 0.0)
            continue
        p = float((1 + hits[names.index(m)]) / (n_permutations + 1))
        out[m] = Permutation(float(observed[names.index(m)]), n, p, False,
                             1 / (n_permutations + 1),
                             math.sqrt(p * (1 - p) / n_permutations))
    return out


def population_tests(part: pd.DataFrame, metrics: Sequence[str], n_permutations: int,
                     seed: int) -> dict[str, Permutation]:
    """:func:`permutation_tests` per metric on one row per architecture of ``part`` (metrics
    with the same rows share their permutations)."""
    rows = representative(part)
    out, groups = {}, {}
    for m in metrics:
        groups.setdefault(tuple(rows[m].notna()), []).append(m)
    for mask, group in groups.items():
        keep = rows[list(mask)]
        out |= permutation_tests({m: keep[m].to_numpy(float) for m in group},
                                 keep["latency_ms"].to_numpy(float), n_permutations, seed)
    return out


# -- the correlation table ------------------------------------------------------------------------

#: The columns of ``population_correlations.csv`` and what each holds.
CORRELATION_COLUMNS = {
    "population": "named population: all, efficient (regime), conv, transformer (families by "
                  "name), figure2 (the paper's Figure 2 models in timm)",
    "metric": "cost metric correlated with latency",
    "n": "rows (model × input size) with the metric",
    "n_architectures": "architectures among those rows (the unit every resampling draws)",
    "rho": "Spearman ρ(latency, metric) over the rows",
    "ci_low": "lower bound of the 95 % interval of ρ (ci_method)",
    "ci_high": "upper bound of the 95 % interval of ρ (ci_method)",
    "ci_method": "cluster bootstrap over architectures (percentile), or Fisher z where every "
                 "architecture has one row",
    "rho_architectures": "ρ on one row per architecture (input size nearest 224 px): the "
                         "statistic the permutation test permutes",
    "p_permutation": "two-sided permutation p of ρ = 0, architectures permuted (one row each)",
    "p_exact": "True: exact enumeration (n ≤ 8); False: Monte Carlo",
    "p_floor": "smallest p the test can give (1 / (permutations + 1) for Monte Carlo)",
    "p_mc_se": "Monte Carlo standard error of p_permutation (0 when exact)",
    "p_bh": "Benjamini–Hochberg adjusted p over every cell of this table (exploratory)",
    "supported": "a non-zero correlation: p_bh ≤ α",
    "borderline": "p_bh within three Monte Carlo standard errors of α",
    "weak_claim": "the paper's 'weakly correlated' (|ρ| < threshold) judged on the interval: "
                  "holds, contradicted, inconclusive or borderline (empty for n ≤ 8 "
                  "architectures)",
    "kendall_tau": "Kendall's τ-b over the rows",
}


def correlation_table(pops: Mapping[str, pd.DataFrame], boot: Resamples, metrics=METRICS,
                      n_permutations: int = 9999, seed: int = 0,
                      threshold: float = WEAK_THRESHOLD) -> pd.DataFrame:
    """Per population and metric: ρ over the rows, its interval with architectures as the unit,
    the permutation test on one row per architecture and Benjamini–Hochberg over the table."""
    rows = []
    for pop, part in pops.items():
        if len(part) < 3:
            continue
        tests = population_tests(part, [m for m in metrics if m in part], n_permutations,
                                 stream(seed, pop))
        for m in metrics:
            ok = part[part[m].notna()] if m in part else part.iloc[:0]
            x, y = ok[m].to_numpy(float), ok["latency_ms"].to_numpy(float)
            n, k = len(ok), int(ok["architecture"].nunique())
            rho = float(sps.spearmanr(x, y).statistic) if n >= 3 else math.nan
            if k == n:
                lo, hi, method = *inference.fisher_interval(rho, n), FISHER
            else:
                (lo, hi), method = _percentile(boot.rhos.get((pop, m), np.array([]))), CLUSTER
            t = tests.get(m, Permutation(math.nan, 0, math.nan, True, math.nan, 0.0))
            verdict = (inference.claim_verdict(lo, hi, threshold, "weak")
                       if k > EXACT_MAX_N and math.isfinite(rho) else "")
            tau = float(sps.kendalltau(x, y).statistic) if n >= 3 else math.nan
            rows.append({"population": pop, "metric": m, "n": n, "n_architectures": k,
                         "rho": rho, "ci_low": lo, "ci_high": hi, "ci_method": method,
                         "rho_architectures": t.rho, "p_permutation": t.p, "p_exact": t.exact,
                         "p_floor": t.floor, "p_mc_se": t.mc_se, "weak_claim": verdict,
                         "kendall_tau": tau})
    table = pd.DataFrame(rows, columns=[c for c in CORRELATION_COLUMNS
                                        if c not in ("p_bh", "supported", "borderline")])
    q = inference.benjamini_hochberg(table["p_permutation"].to_numpy(float))
    p = table["p_permutation"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = table["p_mc_se"].to_numpy(float) * np.where(p > 0, q / p, 1.0)
    table["p_bh"] = q
    table["supported"] = np.nan_to_num(q, nan=1.0) <= ALPHA
    table["borderline"] = ~table["p_exact"].astype(bool) & (np.abs(q - ALPHA) <= 3 * se)
    return table[list(CORRELATION_COLUMNS)]


# -- comparing metrics -------------------------------------------------------------------------

def versus_macs(pops: Mapping[str, pd.DataFrame], boot: Resamples, metrics=METRICS,
                level: float = 1 - ALPHA) -> pd.DataFrame:
    """Per population, each metric against MACs on the same resamples of architectures: Δρ =
    ρ(metric) − ρ(MACs) over the rows every metric has, its percentile interval, the two-sided
    bootstrap p (twice the smaller tail share, at least 1 / resamples), Holm over the
    population's comparisons; ``verdict`` better / worse (Holm p ≤ α and the interval on that
    side of 0) or not shown."""
    cols = ["population", "metric", "reference", "n", "n_architectures", "rho", "rho_reference",
            "delta", "ci_low", "ci_high", "p_value", "p_holm", "n_comparisons", "verdict"]
    rows = []
    for pop, rhos in boot.paired.items():
        others = [m for m in metrics if m != REFERENCE and m in rhos]
        if REFERENCE not in rhos or not others:
            continue
        part = pops[pop].dropna(subset=list(rhos))
        y = part["latency_ms"].to_numpy(float)
        rho = {m: float(sps.spearmanr(part[m], y).statistic) for m in rhos}
        block = []
        for m in others:
            d = rhos[m] - rhos[REFERENCE]
            d = np.round(d[np.isfinite(d)], ROUND_DIGITS)
            lo, hi = _percentile(d, level)
            p = max(min(1.0, 2 * min(np.mean(d <= 0), np.mean(d >= 0))), 1 / len(d)) \
                if len(d) else math.nan
            block.append({"population": pop, "metric": m, "reference": REFERENCE,
                          "n": len(part), "n_architectures": int(part["architecture"].nunique()),
                          "rho": rho[m], "rho_reference": rho[REFERENCE],
                          "delta": rho[m] - rho[REFERENCE], "ci_low": lo, "ci_high": hi,
                          "p_value": float(p)})
        for r, ph in zip(block, holm_adjust([r["p_value"] for r in block])):
            shown = math.isfinite(ph) and ph <= 1 - level
            r |= {"p_holm": float(ph), "n_comparisons": len(block),
                  "verdict": "better" if shown and r["ci_low"] > 0 else
                  "worse" if shown and r["ci_high"] < 0 else "not shown"}
        rows += block
    return pd.DataFrame(rows, columns=cols)


def best_probability(boot: Resamples, metrics=METRICS) -> pd.DataFrame:
    """Selection-aware: per population and metric, the share of resamples (of architectures) in
    which the metric has the highest ρ (ties share the resample); ``called_best`` only at
    :data:`~analysis.constants.BEST_PROBABILITY` or more."""
    rows = []
    for pop, rhos in boot.paired.items():
        present = [m for m in metrics if m in rhos]
        if len(present) < 2:
            continue
        mat = np.vstack([np.nan_to_num(rhos[m], nan=-np.inf) for m in present])
        top = mat == mat.max(axis=0, keepdims=True)
        share = (top / top.sum(axis=0, keepdims=True)).mean(axis=1)
        rows += [{"population": pop, "metric": m, "p_best": float(s),
                  "called_best": bool(s >= BEST_PROBABILITY)} for m, s in zip(present, share)]
    return pd.DataFrame(rows, columns=["population", "metric", "p_best", "called_best"])


# -- two independent samples ----------------------------------------------------------------------

@dataclass(frozen=True)
class RhoDifference:
    """ρ_a − ρ_b of two independent samples (disjoint architectures), each resampled by
    architecture from its own stream; ``differs``: the percentile interval excludes 0."""

    n_a: int
    architectures_a: int
    rho_a: float
    n_b: int
    architectures_b: int
    rho_b: float
    delta: float
    ci_low: float
    ci_high: float
    differs: bool


def rho_difference(pops: Mapping[str, pd.DataFrame], boot: Resamples, a: str = "conv",
                   b: str = "transformer", metric: str = "macs",
                   level: float = 1 - ALPHA) -> RhoDifference | None:
    """ρ_a − ρ_b of ρ(latency, ``metric``) between populations ``a`` and ``b`` (``None`` when
    either has no resamples)."""
    if (a, metric) not in boot.rhos or (b, metric) not in boot.rhos:
        return None
    parts = [pops[p][pops[p][metric].notna()] for p in (a, b)]
    rho = [float(sps.spearmanr(p[metric], p["latency_ms"]).statistic) for p in parts]
    lo, hi = _percentile(np.round(boot.rhos[(a, metric)] - boot.rhos[(b, metric)],
                                  ROUND_DIGITS), level)
    return RhoDifference(len(parts[0]), int(parts[0]["architecture"].nunique()), rho[0],
                         len(parts[1]), int(parts[1]["architecture"].nunique()), rho[1],
                         rho[0] - rho[1], lo, hi,
                         bool(math.isfinite(lo) and (lo > 0 or hi < 0)))


@dataclass(frozen=True)
class Comparisons:
    """The metric comparisons of every population: ``versus`` (:func:`versus_macs`), ``best``
    (:func:`best_probability`), on ``n_bootstrap`` resamples of architectures."""

    versus: pd.DataFrame
    best: pd.DataFrame
    n_bootstrap: int


def comparisons(pops: Mapping[str, pd.DataFrame], boot: Resamples,
                metrics=METRICS) -> Comparisons:
    """:func:`versus_macs` and :func:`best_probability` on the same resamples."""
    return Comparisons(versus_macs(pops, boot, metrics), best_probability(boot, metrics),
                       boot.n_bootstrap)
