"""Inference for rank correlations, chosen before looking at the results (issue 20).

* **Is there a correlation?** The permutation test of ρ = 0 is the primary test at every n:
  exact enumeration of the n! orderings for n ≤ :data:`~analysis.constants.EXACT_MAX_N`
  (:func:`analysis.stats.exact_spearman_p`), above it ``scipy.stats.permutation_test`` with
  :data:`~analysis.constants.N_PERMUTATIONS` resamples. A Monte Carlo p within three standard
  errors of α is *borderline* (another seed could flip it). scipy's asymptotic p is kept as a
  secondary column.
* **How strong?** The 95 % interval of ρ is the Fisher-z interval with the Bonett–Wright
  variance for Spearman's ρ, (1 + ρ²/2) / (n − 3) (Bonett & Wright 2000, Psychometrika 65:23):
  analytic, so it does not move with a seed; its coverage is shown by simulation in
  ``benchmarks/rho_interval_coverage.py`` and ``tests/test_inference.py``. A claim about the
  strength |ρ| (:func:`claim_verdict`) is *borderline* when a bound lies within
  :data:`~analysis.constants.VERDICT_MARGIN` of the threshold — closer than the two decimals the
  prose prints.
* **Which metric predicts best?** Not "the winner against the runner-up" chosen on the same
  data: each metric is compared with MACs, the paper's metric, by a paired bootstrap of Δρ, Holm
  over the family of metrics of one device (:func:`versus_reference`); and, aware of the
  selection, the bootstrap probability that each metric is the best (:func:`best_probability`),
  a metric being called best only when that probability reaches
  :data:`~analysis.constants.BEST_PROBABILITY`.
* **Multiplicity:** Holm within a confirmatory family (the paper's Table 1 cells),
  Benjamini–Hochberg over everything exploratory (:func:`benjamini_hochberg`).

Every function returns numbers (records or DataFrames); none writes prose.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.constants import (ALPHA, BEST_PROBABILITY, EXACT_MAX_N, N_BOOTSTRAP,
                                N_PERMUTATIONS, VERDICT_MARGIN)
from analysis.errors import ConfigError
from analysis.stats import _pearson_rows, _rank_rows, exact_spearman_p, holm_adjust

EXACT, MONTE_CARLO, TOO_FEW = "exact permutation", "permutation (Monte Carlo)", "too few models"


def _clean(*arrays) -> list[np.ndarray]:
    arrays = [np.asarray(a, float) for a in arrays]
    if len({a.shape for a in arrays}) != 1 or arrays[0].ndim != 1:
        raise ConfigError(f"inputs must be 1-D of one length, got {[a.shape for a in arrays]}")
    keep = np.logical_and.reduce([np.isfinite(a) for a in arrays])
    return [a[keep] for a in arrays]


# -- the test of ρ = 0 ---------------------------------------------------------------------------

@dataclass(frozen=True)
class PermutationTest:
    """Two-sided permutation p of Spearman's ρ = 0: ``exact`` enumeration or ``n_resamples``
    Monte Carlo resamples (p = (k + 1) / (N + 1), scipy's convention, so ``floor`` is the
    smallest p it can give); ``mc_se`` its Monte Carlo standard error (0 when exact)."""

    p: float
    exact: bool
    n_resamples: int
    mc_se: float
    floor: float

    def borderline(self, alpha: float = ALPHA) -> bool:
        """The p lies within three Monte Carlo standard errors of ``alpha``."""
        return bool(not self.exact and math.isfinite(self.p)
                    and abs(self.p - alpha) <= 3 * self.mc_se)


def permutation_p(x: Sequence[float], y: Sequence[float], *,
                  n_permutations: int = N_PERMUTATIONS, seed: int = 0) -> PermutationTest:
    """The permutation test of ρ = 0 (see the module docstring). NaN for n < 3 or a constant
    input."""
    x, y = _clean(x, y)
    n = len(x)
    if n < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return PermutationTest(math.nan, True, 0, 0.0, math.nan)
    if n <= EXACT_MAX_N:
        p = exact_spearman_p(x, y)
        return PermutationTest(p, True, math.factorial(n), 0.0, 1 / math.factorial(n))
    if n_permutations < 99:
        raise ConfigError(f"n_permutations must be >= 99, got {n_permutations}")
    rx = sps.rankdata(x)

    def rho(y_perm, axis=-1):
        return _pearson_rows(np.broadcast_to(rx, np.shape(y_perm)),
                             sps.rankdata(y_perm, axis=axis))

    res = sps.permutation_test((y,), rho, permutation_type="pairings", vectorized=True,
                               n_resamples=n_permutations, alternative="two-sided",
                               rng=np.random.default_rng(seed))
    p = float(min(res.pvalue, 1.0))
    return PermutationTest(p, False, n_permutations,
                           math.sqrt(max(p * (1 - p), 1e-12) / n_permutations),
                           2 / (n_permutations + 1))


# -- the interval of ρ -----------------------------------------------------------------------------

def fisher_interval(rho: float, n: int, level: float = 1 - ALPHA) -> tuple[float, float]:
    """The Fisher-z interval of Spearman's ρ with the Bonett–Wright variance
    ``(1 + ρ²/2) / (n − 3)``: ``tanh(atanh ρ ± z · se)``. NaN for n ≤ 3 or NaN ρ."""
    if not (math.isfinite(rho) and n > 3 and 0 < level < 1):
        return math.nan, math.nan
    r = float(np.clip(rho, -0.999999, 0.999999))
    se = math.sqrt((1 + r * r / 2) / (n - 3))
    z = sps.norm.ppf(0.5 + level / 2)
    return math.tanh(math.atanh(r) - z * se), math.tanh(math.atanh(r) + z * se)


@dataclass(frozen=True)
class Correlation:
    """Spearman ρ with its inference (module docstring): ``p_permutation`` (primary),
    ``p_exact`` (enumerated), ``p_mc_se``, ``p_floor``; ``ci_low``/``ci_high`` the Fisher-z
    interval; ``p_value`` scipy's asymptotic p (secondary); ``supported`` = p_permutation ≤ α;
    ``borderline`` = a Monte Carlo p within 3 standard errors of α."""

    rho: float
    n: int
    p_permutation: float
    p_exact: bool
    p_mc_se: float
    p_floor: float
    ci_low: float
    ci_high: float
    p_value: float
    kendall_tau: float
    inference: str
    supported: bool
    borderline: bool

    def as_dict(self) -> dict:
        return asdict(self)


CORRELATION_COLUMNS = tuple(Correlation.__dataclass_fields__)


def correlate(x: Sequence[float], y: Sequence[float], *, n_permutations: int = N_PERMUTATIONS,
              seed: int = 0, level: float = 1 - ALPHA) -> Correlation:
    """Spearman ρ of ``x`` and ``y`` (NaN pairs dropped) with its inference."""
    x, y = _clean(x, y)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return with_test(x, y, None, 1 - level)
    test = permutation_p(x, y, n_permutations=n_permutations, seed=seed)
    return with_test(x, y, test, 1 - level)


def with_test(x: np.ndarray, y: np.ndarray, test: PermutationTest | None,
              alpha: float = ALPHA) -> Correlation:
    """The :class:`Correlation` of clean ``x``, ``y`` given the permutation test of its ρ
    (computed by :func:`permutation_p`, or vectorised over many metrics at once): ρ, the
    Fisher-z interval at 1 − ``alpha``, scipy's p and Kendall's τ; too few models (n < 3 or a
    constant input, ``test`` may then be None) give NaNs."""
    n = len(x)
    if n < 3 or np.ptp(x) == 0 or np.ptp(y) == 0 or test is None:
        return Correlation(math.nan, n, math.nan, True, 0.0, math.nan, math.nan, math.nan,
                           math.nan, math.nan, TOO_FEW, False, False)
    res = sps.spearmanr(x, y)
    rho = float(res.statistic)
    lo, hi = fisher_interval(rho, n, 1 - alpha)
    return Correlation(rho, n, test.p, test.exact, test.mc_se, test.floor, lo, hi,
                       float(res.pvalue), float(sps.kendalltau(x, y).statistic),
                       EXACT if test.exact else MONTE_CARLO, bool(test.p <= alpha),
                       test.borderline(alpha))


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
    """Per group of ``by`` × metric: :class:`Correlation` between the metric and latency, each
    cell what :func:`correlate` gives on its rows, vectorised over the metrics (one permutation
    test per group and set of rows). The seed is the same for every cell, so a cell does not
    depend on which others are computed."""
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


# -- claims about strength ---------------------------------------------------------------------------

HOLDS, CONTRADICTED, INCONCLUSIVE, BORDERLINE = ("holds", "contradicted", "inconclusive",
                                                 "borderline")


def claim_verdict(ci_low: float, ci_high: float, threshold: float, claim: str = "weak",
                  margin: float = VERDICT_MARGIN) -> str:
    """A claim about |ρ| by a stated rule. "weak" (|ρ| < threshold) ``holds`` when the whole
    interval lies inside (−threshold, threshold), is ``contradicted`` when it lies wholly beyond
    ±threshold, else ``inconclusive``; "strong" is the mirror image. When moving the threshold
    by ``margin`` either way would change that verdict, it is ``borderline`` instead."""
    if claim not in ("weak", "strong"):
        raise ConfigError(f"claim must be 'weak' or 'strong', got {claim!r}")
    if not (math.isfinite(ci_low) and math.isfinite(ci_high)):
        return INCONCLUSIVE

    def decide(t: float) -> str:
        weak = -t < ci_low and ci_high < t
        strong = ci_low > t or ci_high < -t
        if claim == "weak":
            return HOLDS if weak else CONTRADICTED if strong else INCONCLUSIVE
        return HOLDS if strong else CONTRADICTED if weak else INCONCLUSIVE

    verdicts = {decide(threshold - margin), decide(threshold), decide(threshold + margin)}
    return decide(threshold) if len(verdicts) == 1 else BORDERLINE


# -- comparing metrics ----------------------------------------------------------------------------

def _boot_rhos(columns: dict[str, np.ndarray], y: np.ndarray, n_bootstrap: int,
               seed: int) -> dict[str, np.ndarray]:
    """ρ of every column with ``y`` on the same ``n_bootstrap`` resamples of the rows."""
    n = len(y)
    idx = np.random.default_rng(seed).integers(0, n, size=(n_bootstrap, n))
    ry = _rank_rows(y[idx])
    return {m: _pearson_rows(_rank_rows(v[idx]), ry) for m, v in columns.items()}


def versus_reference(data: pd.DataFrame, metrics: Sequence[str], *, reference: str = "macs",
                     latency: str = "latency_ms", by: str = "device",
                     n_bootstrap: int = N_BOOTSTRAP, seed: int = 0,
                     level: float = 1 - ALPHA) -> pd.DataFrame:
    """The pre-stated comparison: per group, every metric against ``reference`` on the same
    models. Δρ = ρ(metric) − ρ(reference), its paired-bootstrap percentile interval, the
    two-sided bootstrap p (twice the smaller tail share, at least 1 / resamples) and Holm over
    the group's metrics. ``verdict``: ``better`` / ``worse`` when the Holm p ≤ α and the
    interval excludes 0 on that side, else ``not shown``."""
    cols = [by, "metric", "reference", "n", "rho", "rho_reference", "delta", "ci_low",
            "ci_high", "p_value", "p_holm", "n_comparisons", "verdict"]
    rows = []
    alpha = 1 - level
    for group, part in data.groupby(by, sort=False):
        others = [m for m in metrics if m != reference and m in part.columns]
        if reference not in part.columns or not others:
            continue
        keep = part[[reference, latency, *others]].dropna()
        n = len(keep)
        if n <= EXACT_MAX_N:
            continue
        y = keep[latency].to_numpy(float)
        cols_np = {m: keep[m].to_numpy(float) for m in [reference, *others]}
        boot = _boot_rhos(cols_np, y, n_bootstrap, seed)
        rho = {m: float(sps.spearmanr(v, y).statistic) for m, v in cols_np.items()}
        block = []
        for m in others:
            d = boot[m] - boot[reference]
            d = d[np.isfinite(d)]
            lo, hi = np.quantile(d, [alpha / 2, 1 - alpha / 2]) if len(d) else (math.nan,) * 2
            p = max(min(1.0, 2 * min(np.mean(d <= 0), np.mean(d >= 0))), 1 / max(len(d), 1))
            block.append({by: group, "metric": m, "reference": reference, "n": n,
                          "rho": rho[m], "rho_reference": rho[reference],
                          "delta": rho[m] - rho[reference], "ci_low": float(lo),
                          "ci_high": float(hi), "p_value": float(p)})
        for r, ph in zip(block, holm_adjust([r["p_value"] for r in block])):
            r["p_holm"], r["n_comparisons"] = float(ph), len(block)
            shown = math.isfinite(ph) and ph <= alpha
            r["verdict"] = ("better" if shown and r["ci_low"] > 0 else
                            "worse" if shown and r["ci_high"] < 0 else "not shown")
        rows += block
    return pd.DataFrame(rows, columns=cols)


def best_probability(data: pd.DataFrame, metrics: Sequence[str], *,
                     latency: str = "latency_ms", by: str = "device",
                     n_bootstrap: int = N_BOOTSTRAP, seed: int = 0) -> pd.DataFrame:
    """Selection-aware: per group and metric, the share of bootstrap resamples of the models in
    which that metric has the highest ρ (ties share the resample). ``called_best`` is True only
    for a metric whose share reaches :data:`~analysis.constants.BEST_PROBABILITY`."""
    rows = []
    for group, part in data.groupby(by, sort=False):
        present = [m for m in metrics if m in part.columns]
        keep = part[[latency, *present]].dropna()
        if len(keep) <= EXACT_MAX_N or len(present) < 2:
            continue
        y = keep[latency].to_numpy(float)
        boot = _boot_rhos({m: keep[m].to_numpy(float) for m in present}, y, n_bootstrap, seed)
        mat = np.vstack([np.nan_to_num(boot[m], nan=-np.inf) for m in present])
        top = mat == mat.max(axis=0, keepdims=True)
        share = (top / top.sum(axis=0, keepdims=True)).mean(axis=1)
        for m, s in zip(present, share):
            rows.append({by: group, "metric": m, "n": len(keep),
                         "rho": float(sps.spearmanr(keep[m], y).statistic),
                         "p_best": float(s), "called_best": bool(s >= BEST_PROBABILITY)})
    return pd.DataFrame(rows, columns=[by, "metric", "n", "rho", "p_best", "called_best"])


# -- multiplicity ---------------------------------------------------------------------------------

def benjamini_hochberg(p_values: Sequence[float]) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values) of ``p_values``; NaN stays NaN."""
    p = np.asarray(p_values, float)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = len(ok)
    if not m:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    ranked = p[order] * m / np.arange(1, m + 1)
    out[order] = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    return out


def adjusted_within(table: pd.DataFrame, by: str = "statistic", p: str = "p_permutation",
                    alpha: float = ALPHA) -> pd.DataFrame:
    """``table`` with ``q_value`` (:func:`benjamini_hochberg` over the rows of each ``by``
    value: one exploratory family per statistic, fixed before running) and ``shown``
    (q ≤ ``alpha``) appended."""
    table = table.copy()
    table["q_value"] = np.nan
    for _, part in table.groupby(by, sort=False):
        table.loc[part.index, "q_value"] = benjamini_hochberg(part[p])
    table["shown"] = table["q_value"] <= alpha
    return table


# -- nested and clustered samples ---------------------------------------------------------------------

#: Columns of :func:`nested_difference`'s result.
NESTED = ("rho_subset", "rho_all", "delta", "ci_low", "ci_high", "p_bootstrap", "n_subset",
          "n_all")


def bootstrap_p(deltas: np.ndarray) -> float:
    """Two-sided bootstrap p of Δ = 0: twice the smaller tail share, at least one resample's
    worth (as :func:`versus_reference` computes it)."""
    if not len(deltas):
        return math.nan
    return float(max(min(1.0, 2 * min(np.mean(deltas <= 0), np.mean(deltas >= 0))),
                     1 / len(deltas)))


def nested_difference(x: Sequence[float], y: Sequence[float], subset: Sequence[bool], *,
                      n_bootstrap: int = N_BOOTSTRAP, seed: int = 0,
                      level: float = 1 - ALPHA) -> dict:
    """ρ on a subset of the models minus ρ on all of them, with a bootstrap interval that
    resamples the models once for both (the samples are nested, not independent) and the
    bootstrap p of Δ = 0 (:func:`bootstrap_p`); :data:`NESTED` keys. The resamples are computed
    at once — a resample is a weight (copies) per model and ρ the weighted Pearson correlation
    of the weighted mid-ranks, equal to ``scipy.stats.spearmanr`` on the resampled rows
    (``tests/test_correlation_study.py``). A subset or sample of at most
    :data:`~analysis.constants.EXACT_MAX_N` models gives NaNs."""
    x, y, s = (np.asarray(v, float) for v in (x, y, subset))
    keep = np.isfinite(x) & np.isfinite(y) & np.isfinite(s)
    x, y, s = x[keep], y[keep], s[keep].astype(bool)
    n = len(x)
    out = dict.fromkeys(NESTED, math.nan) | {"n_subset": int(s.sum()), "n_all": n}
    if s.sum() <= EXACT_MAX_N or n <= EXACT_MAX_N:
        return out
    out["rho_subset"] = float(sps.spearmanr(x[s], y[s]).statistic)
    out["rho_all"] = float(sps.spearmanr(x, y).statistic)
    out["delta"] = out["rho_subset"] - out["rho_all"]
    # one (B, n) draw is the stream of B draws of n (numpy's bounded integers do not buffer)
    picks = np.random.default_rng(seed).integers(0, n, size=(n_bootstrap, n))
    offsets = picks + n * np.arange(n_bootstrap)[:, None]
    w = np.bincount(offsets.ravel(), minlength=n_bootstrap * n).reshape(n_bootstrap, n)
    w = w.astype(float)
    ws = w * s
    with np.errstate(invalid="ignore", divide="ignore"):
        a = _weighted_pearson(_weighted_midranks(x, ws), _weighted_midranks(y, ws), ws)
        b = _weighted_pearson(_weighted_midranks(x, w), _weighted_midranks(y, w), w)
    ok = (ws.sum(axis=1) >= 3) & np.isfinite(a) & np.isfinite(b)
    deltas = (a - b)[ok]
    if len(deltas):
        alpha = 1 - level
        out["ci_low"], out["ci_high"] = (float(v) for v in
                                         np.quantile(deltas, [alpha / 2, 1 - alpha / 2]))
        out["p_bootstrap"] = bootstrap_p(deltas)
    return out


def _weighted_midranks(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Mid-ranks of ``values`` when row i appears ``weights[b, i]`` times, for every row b of
    ``weights`` (ties, including copies, share their mean rank)."""
    uniq, inv = np.unique(values, return_inverse=True)
    onehot = np.zeros((len(values), len(uniq)))
    onehot[np.arange(len(values)), inv] = 1.0
    per_value = weights @ onehot  # copies of each distinct value, per resample
    below = np.cumsum(per_value, axis=1) - per_value
    return (below + (per_value + 1) / 2)[:, inv]


def _weighted_pearson(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    total = w.sum(axis=1, keepdims=True)
    ma = (w * a).sum(axis=1, keepdims=True) / total
    mb = (w * b).sum(axis=1, keepdims=True) / total
    cov = (w * (a - ma) * (b - mb)).sum(axis=1)
    var = np.sqrt((w * (a - ma) ** 2).sum(axis=1) * (w * (b - mb) ** 2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return cov / var


def cluster_bootstrap_rhos(x: Sequence[float], y: Sequence[float], clusters: Sequence,
                           *, n_bootstrap: int = N_BOOTSTRAP, seed: int = 0,
                           chunk: int = 500) -> np.ndarray:
    """Spearman ρ of ``n_bootstrap`` cluster-bootstrap resamples: whole clusters (e.g. one
    architecture at all its input sizes) are drawn with replacement, never single rows, so the
    repeated rows of one network do not count as independent evidence. Rows with NaN are
    dropped first. Vectorised: a resample is a weight (number of copies) per row, and ρ is the
    weighted Pearson correlation of the weighted mid-ranks."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    labels = np.asarray(list(clusters), dtype=object)
    if not len(x) == len(y) == len(labels):
        raise ConfigError(f"x, y and clusters must have one length, got {len(x)}, {len(y)}, "
                          f"{len(labels)}")
    keep = np.isfinite(x) & np.isfinite(y)
    x, y, labels = x[keep], y[keep], labels[keep]
    codes, uniques = pd.factorize(pd.Series(labels))
    k = len(uniques)
    if k < 3:
        return np.full(n_bootstrap, np.nan)
    rng = np.random.default_rng(seed)
    out = np.empty(n_bootstrap)
    for start in range(0, n_bootstrap, chunk):
        b = min(chunk, n_bootstrap - start)
        picks = rng.integers(0, k, size=(b, k))
        counts = np.zeros((b, k))
        np.add.at(counts, (np.repeat(np.arange(b), k), picks.ravel()), 1.0)
        w = counts[:, codes]  # copies of each row
        out[start:start + b] = _weighted_pearson(_weighted_midranks(x, w),
                                                 _weighted_midranks(y, w), w)
    return out
