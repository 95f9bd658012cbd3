"""How far a rank correlation moves with measurement noise alone (issue 19, item 3).

For every series measured in repeated sessions (a campaign of this project, or a user's),
ρ(latency, metric) is computed separately in every session (:func:`analysis.noise.rho_by_session`,
on the models the study analyses) and set beside the interval of the pooled ρ over models: if
the sessions' ρ's differ by far less than that interval is wide, the uncertainty of a
correlation lies in the choice of models, not in the timing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from analysis.latency import load_sessions, select_devices
from analysis.noise import rho_by_session

SESSION_COLUMNS = ("device", "metric", "campaign", "session", "rho", "n")
SPREAD_COLUMNS = ("device", "metric", "n_sessions", "rho_low", "rho_high", "rho_range",
                  "rho", "ci_low", "ci_high")


def session_rhos(files: Sequence[Path], devices, device_key, counts: pd.DataFrame,
                 metrics: Sequence[str]) -> pd.DataFrame:
    """ρ of every metric with latency in every session of every series of ``files`` (the
    study's latency files: only their session rows count, every sitting of a campaign with its
    own; the ``devices`` selected as the study selects them, each series named by
    ``device_key``), on the models of ``counts``: ``device, metric, campaign, session, rho,
    n``."""
    if not files or counts.empty:
        return pd.DataFrame(columns=list(SESSION_COLUMNS))
    sessions = select_devices(load_sessions(list(files)), devices)
    sessions = sessions[sessions["session"].notna()]
    if sessions.empty:  # no file of the study holds sessions
        return pd.DataFrame(columns=list(SESSION_COLUMNS))
    sessions = sessions.drop(columns=[c for c in counts.columns if c not in ("model_id", "model")],
                             errors="ignore")  # the files' own macs/params: the counts rule
    names = pd.Series(device_key(sessions), index=sessions.index)
    parts = []
    for metric in metrics:
        if metric not in counts:
            continue
        table = rho_by_session(sessions.assign(device=names), counts, metric)
        parts.append(table.assign(metric=metric))
    if not parts:
        return pd.DataFrame(columns=list(SESSION_COLUMNS))
    table = pd.concat(parts, ignore_index=True)
    if "campaign" not in table:
        table["campaign"] = ""
    return table[list(SESSION_COLUMNS)]


def session_spread(per_session: pd.DataFrame, correlations: pd.DataFrame) -> pd.DataFrame:
    """Per series × metric: sessions, the lowest and highest per-session ρ and their range,
    beside the pooled ρ (median latency over sessions) and its 95 % interval over models."""
    if per_session.empty:
        return pd.DataFrame(columns=list(SPREAD_COLUMNS))
    g = per_session.groupby(["device", "metric"], sort=False)["rho"]
    out = g.agg(n_sessions="count", rho_low="min", rho_high="max").reset_index()
    out["rho_range"] = out["rho_high"] - out["rho_low"]
    pooled = correlations[["device", "metric", "rho", "ci_low", "ci_high"]]
    return out.merge(pooled, on=["device", "metric"], how="left")[list(SPREAD_COLUMNS)]
