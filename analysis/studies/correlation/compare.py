"""Notebook 01's differences, tested rather than eyeballed (issue 20, item 5).

* **Each metric against MACs**, the paper's metric, per series: paired bootstrap of Δρ, Holm
  over the series' metrics (:func:`analysis.inference.versus_reference`), and, aware of the
  selection, the bootstrap probability that each metric is the best
  (:func:`analysis.inference.best_probability`).
* **Convolutional models only against all models**: the samples are nested, so one bootstrap
  of the models gives both ρ's (:func:`nested_difference`, the numbers of
  :func:`analysis.inference.nested_difference` vectorised, with a bootstrap p); and, since
  MobileOne S0–S4 are one monotone family (five points on one line), the same difference with
  MobileOne collapsed to one point, each of the five in turn (:func:`collapsed_family`).
* **Our devices against the paper's** on the same models: Δρ = ρ(ours) − ρ(paper's device of
  the same kind) by the paired bootstrap of :func:`analysis.inference.versus_reference`
  (:func:`versus_paper_devices`).

Numbers only; :mod:`.rank` adjusts the p-values for multiplicity.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.constants import ALPHA, EXACT_MAX_N, N_BOOTSTRAP, PAPER_METRICS
from analysis.inference import (_weighted_midranks, _weighted_pearson, best_probability,
                                versus_reference)

#: Columns of :func:`nested_difference`'s result.
NESTED = ("rho_subset", "rho_all", "delta", "ci_low", "ci_high", "p_bootstrap", "n_subset",
          "n_all")


def bootstrap_p(deltas: np.ndarray) -> float:
    """Two-sided bootstrap p of Δ = 0: twice the smaller tail share, at least one resample's
    worth (as :func:`analysis.inference.versus_reference` computes it)."""
    if not len(deltas):
        return math.nan
    return float(max(min(1.0, 2 * min(np.mean(deltas <= 0), np.mean(deltas >= 0))),
                     1 / len(deltas)))


def nested_difference(x: Sequence[float], y: Sequence[float], subset: Sequence[bool], *,
                      n_bootstrap: int = N_BOOTSTRAP, seed: int = 0,
                      level: float = 1 - ALPHA) -> dict:
    """ρ on a subset of the models minus ρ on all of them: the resamples of
    :func:`analysis.inference.nested_difference` (the same seeded draws, the models resampled
    once for both ρ's), computed at once — a resample is a weight (copies) per model and ρ the
    weighted Pearson correlation of the weighted mid-ranks — plus the bootstrap p of Δ = 0
    (:func:`bootstrap_p`)."""
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


def collapsed_family(x: Sequence[float], y: Sequence[float], subset: Sequence[bool],
                     family: Sequence[bool]) -> pd.DataFrame:
    """The nested difference's point estimates with a family of models (``family``: MobileOne
    S0–S4) collapsed to one point: for each member in turn, the others dropped from both
    samples. One row per kept member: ``kept`` (its position), ``rho_subset``, ``rho_all``,
    ``delta``, ``n_subset``, ``n_all``."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    s, f = np.asarray(subset, bool), np.asarray(family, bool)
    rows = []
    for kept in np.flatnonzero(f):
        keep = ~f | (np.arange(len(x)) == kept)
        xs, ys, ss = x[keep], y[keep], s[keep]
        ok = np.isfinite(xs) & np.isfinite(ys)
        xs, ys, ss = xs[ok], ys[ok], ss[ok]
        sub = float(sps.spearmanr(xs[ss], ys[ss]).statistic) if ss.sum() >= 3 else math.nan
        every = float(sps.spearmanr(xs, ys).statistic) if len(xs) >= 3 else math.nan
        rows.append({"kept": int(kept), "rho_subset": sub, "rho_all": every,
                     "delta": sub - every, "n_subset": int(ss.sum()), "n_all": len(xs)})
    return pd.DataFrame(rows, columns=["kept", "rho_subset", "rho_all", "delta", "n_subset",
                                       "n_all"])


def conv_only(joined: pd.DataFrame, metrics: Sequence[str], conv_families: Sequence[str],
              monotone_family: str, *, n_bootstrap: int, seed: int) -> pd.DataFrame:
    """Per series × metric: ρ on the convolutional models (``conv_families``) against ρ on
    all models (:func:`nested_difference`), and the range of Δρ and of the conv-only ρ with the
    ``monotone_family`` collapsed to one point (:func:`collapsed_family`): ``collapsed_*``."""
    rows = []
    for device, part in joined.groupby("device", sort=False):
        subset = part["family"].isin(conv_families).to_numpy()
        family = (part["family"] == monotone_family).to_numpy()
        for metric in metrics:
            x, y = part[metric].to_numpy(float), part["latency_ms"].to_numpy(float)
            nested = nested_difference(x, y, subset, n_bootstrap=n_bootstrap, seed=seed)
            one = collapsed_family(x, y, subset, family)
            rows.append({"device": device, "metric": metric, **nested,
                         "n_family": int(family.sum()),
                         "collapsed_rho_low": one["rho_subset"].min(),
                         "collapsed_rho_high": one["rho_subset"].max(),
                         "collapsed_delta_low": one["delta"].min(),
                         "collapsed_delta_high": one["delta"].max()})
    return pd.DataFrame(rows)


def versus_macs(joined: pd.DataFrame, metrics: Sequence[str], *, n_bootstrap: int,
                seed: int) -> pd.DataFrame:
    """Every metric against MACs on every series (:func:`analysis.inference.versus_reference`;
    Holm over the series' metrics)."""
    return versus_reference(joined, metrics, reference="macs", n_bootstrap=n_bootstrap,
                            seed=seed)


def best_metric(joined: pd.DataFrame, metrics: Sequence[str], *, n_bootstrap: int,
                seed: int) -> pd.DataFrame:
    """Selection-aware: each metric's bootstrap probability of being the best on every series
    (:func:`analysis.inference.best_probability`)."""
    return best_probability(joined, metrics, n_bootstrap=n_bootstrap, seed=seed)


def versus_paper_devices(joined: pd.DataFrame, counterparts: dict[str, str],
                         metrics: Sequence[str] = PAPER_METRICS, *, n_bootstrap: int,
                         seed: int) -> pd.DataFrame:
    """Per series with a counterpart among the paper's devices (``counterparts``: series →
    paper device of the same kind) and metric: Δρ = ρ(metric, our latency) − ρ(metric, the
    paper's latency) on the models both measured, paired bootstrap interval and p
    (:func:`analysis.inference.versus_reference` with the two latency columns as the metrics
    and the cost metric as the common variable; ρ is symmetric)."""
    wide = joined.pivot_table(index="model", columns="device", values="latency_ms", sort=False)
    costs = joined.drop_duplicates("model").set_index("model")
    rows = []
    for series, paper in counterparts.items():
        for metric in metrics:
            frame = pd.DataFrame({"ours": wide[series], "paper": wide[paper],
                                  "cost": costs[metric].reindex(wide.index)}).dropna()
            res = versus_reference(frame.assign(g=series), ["ours"], reference="paper",
                                   latency="cost", by="g", n_bootstrap=n_bootstrap, seed=seed)
            if res.empty:
                continue
            r = res.iloc[0]
            rows.append({"device": series, "paper_device": paper, "metric": metric,
                         "n": int(r["n"]), "rho": r["rho"], "rho_paper": r["rho_reference"],
                         "delta": r["delta"], "ci_low": r["ci_low"], "ci_high": r["ci_high"],
                         "p_bootstrap": r["p_value"]})
    return pd.DataFrame(rows, columns=["device", "paper_device", "metric", "n", "rho",
                                       "rho_paper", "delta", "ci_low", "ci_high", "p_bootstrap"])
