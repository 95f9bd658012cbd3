"""Notebook 01's differences, tested rather than eyeballed (issue 20, item 5).

* **Each metric against MACs**, the paper's metric, per series: paired bootstrap of Δρ, Holm
  over the series' metrics (:func:`analysis.inference.versus_reference`), and, aware of the
  selection, the bootstrap probability that each metric is the best
  (:func:`analysis.inference.best_probability`).
* **Convolutional models only against all models**: the samples are nested, so one bootstrap
  of the models gives both ρ's (:func:`analysis.inference.nested_difference`, with a
  bootstrap p); and, since
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

from analysis.constants import PAPER_METRICS
from analysis.inference import best_probability, nested_difference, versus_reference

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
