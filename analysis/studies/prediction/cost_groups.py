"""Notebook 06, which costs the predictor needs — measured out of sample.

The graph-level costs are strongly collinear (operators, layers and merges correlate at
r ≈ 0.9 or more; element-wise work and memory traffic at ≈ 0.9), so the importance of one cost
inside a fit on all of them says little, and an in-sample importance rewards overfitting.
Here the costs are taken in the groups of :data:`analysis.predict.COST_GROUPS` (compute,
memory, launch/synchronization, family) and each group's importance is what leaving it out
costs *out of sample*: per device, a ridge on all costs and a ridge without the group, each
model predicted from the device's other models (nested leave one out: α is chosen by
leave-one-out on the other models only, :func:`analysis.predict.ridge_cv`), and

    ratio = RMSE(without the group) / RMSE(all costs)

of the held-out log latencies (1: the group adds nothing the others do not carry). Its 95 %
percentile interval resamples the device's models (the same resample for both errors). A
group is *needed* where the interval lies above 1; one group matters more than another only
where their intervals do not overlap — otherwise the data cannot order them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import predict as P
from analysis.constants import ALPHA, N_BOOTSTRAP

def held_out_errors(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Log-latency error of each model predicted from the others by a ridge on ``x`` (α by
    leave-one-out on the others only)."""
    n = len(y)
    out = np.empty(n)
    for i in range(n):
        rest = np.arange(n) != i
        fit = P.ridge_cv(x[rest], y[rest])
        out[i] = fit.predict(x[i:i + 1])[0] - y[i]
    return out


def importance(series: dict, feats: pd.DataFrame, n_bootstrap: int = N_BOOTSTRAP,
               seed: int = 0, level: float = 1 - ALPHA) -> pd.DataFrame:
    """One row per device and cost group (columns: :data:`.tables.COLUMNS`)."""
    cols = list(P.FEATURE_SETS["costs"])
    rows = []
    for name, y in series.items():
        y = y[y.index.isin(feats.index)]
        x, target = feats.loc[y.index, cols].to_numpy(float), y.to_numpy(float)
        full = held_out_errors(target, x) ** 2
        idx = np.random.default_rng(seed).integers(0, len(target),
                                                   size=(n_bootstrap, len(target)))
        full_boot = full[idx].mean(axis=1)
        for group, members in P.COST_GROUPS.items():
            keep = [i for i, c in enumerate(cols) if c not in members]
            without = held_out_errors(target, x[:, keep]) ** 2
            with np.errstate(divide="ignore", invalid="ignore"):
                boot = np.sqrt(without[idx].mean(axis=1) / full_boot)
            lo, hi = np.nanquantile(boot, [(1 - level) / 2, (1 + level) / 2])
            ratio = float(np.sqrt(without.mean() / full.mean()))
            rows.append({"device": name, "n": len(target), "group": group,
                         "costs": ", ".join(members), "rmse_all": float(np.sqrt(full.mean())),
                         "rmse_without": float(np.sqrt(without.mean())), "ratio": ratio,
                         "ratio_low": float(lo), "ratio_high": float(hi),
                         "needed": bool(lo > 1)})
    return pd.DataFrame(rows)


def ordering(table: pd.DataFrame) -> dict[str, tuple[tuple[str, str], ...]]:
    """Per device, the pairs ``(a, b)`` of groups where ``a`` is shown to matter more than
    ``b``: a's interval lies entirely above b's."""
    out = {}
    for device, g in table.groupby("device", sort=False):
        pairs = [(a["group"], b["group"]) for _, a in g.iterrows() for _, b in g.iterrows()
                 if a["ratio_low"] > b["ratio_high"]]
        out[str(device)] = tuple(pairs)
    return out
