"""Notebook 01's rank tests beyond one series: the agreement of two devices' rankings
(:func:`agreement_table`, with the vectorised tests of :func:`analysis.inference.correlations`)
and the families of the notebook, fixed before running: Holm over the confirmatory Table 1
cells, Benjamini–Hochberg over everything exploratory (:func:`adjust`). The table of ρ per
series and metric is :func:`analysis.inference.correlation_table`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.constants import ALPHA, N_PERMUTATIONS
from analysis.inference import CORRELATION_COLUMNS, benjamini_hochberg, correlations
from analysis.stats import holm_adjust

CONFIRMATORY, EXPLORATORY = "confirmatory", "exploratory"
HOLM, BH = "Holm", "Benjamini–Hochberg"


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
