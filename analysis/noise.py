"""The measured noise model: how much one network's latency moves between repeated sessions.

A campaign times every network in several **sessions** (``analysis.latency.campaign``: all
networks once per session, in a different seeded order, with a fresh model and input), and a
sitting (one ``campaign`` id) may be repeated later. From those repeats:

* **per latency** an interval: the lowest and highest session value (:func:`session_spread`);
* **per group** — one device, runtime, mode and precision — the distribution of the
  session-to-session ratio of one network: every pair of sessions ``(s, t)`` of the same network
  gives ``|log(x_s / x_t)|`` (:func:`session_pairs`);
* **the band** of the group, by the rule stated before any result was looked at
  (:data:`RULE`): the :data:`~analysis.constants.NOISE_QUANTILE` quantile of those
  ``|log ratio|`` values, as a relative band ``exp(q) − 1`` (:func:`noise_bands`). It is
  computed separately from pairs within one sitting and from pairs of different sittings; the
  band used for verdicts is the larger of the two, so it covers both kinds of noise;
* **the common shift between sittings** (:func:`noise_bands`, a description, not part of the
  rule): the median over networks of the signed ``log(x_later / x_earlier)`` for each pair of
  sittings, and the between-sittings band once that shift is removed. A machine that runs every
  network slower in one sitting (another VM neighbour, another clock) widens the band of the
  rule, yet cancels in the ratio of two networks timed in the same sessions: the two numbers say
  how much of the between-sittings band is such a common shift;
* **a verdict** on two latencies of the same group: their ratio beyond ``1 + band`` is
  *slower*, below ``1 / (1 + band)`` *faster*, otherwise *within noise* (:func:`verdict`).

The two pairs of identical networks of the ablation set (ReLU ≡ baseline, SE-ReLU ≡ + SE) are
the calibration check of this rule: measured as separate networks, they must come out within
noise (notebooks 02/03 report it, whatever it says).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.constants import NOISE_QUANTILE
from analysis.errors import ConfigError

#: Columns that name one group of comparable measurements (present ones are used).
GROUP_COLUMNS = ("device", "runtime", "mode", "precision")
#: Columns that name one network within a group (present ones are used).
IDENTITY_COLUMNS = ("model", "form", "k", "batch_size", "input_size")
RULE = ("two latencies of one device, runtime, mode and precision differ beyond noise when "
        "their ratio lies outside [1 / (1 + b), 1 + b], where b = exp(q) − 1 and q is the "
        f"{NOISE_QUANTILE:.0%} quantile of |log(x_s / x_t)| over every pair of sessions (s, t) "
        "of the same network in that group; q is taken from pairs within one sitting and from "
        "pairs of different sittings, and the larger is used")

SLOWER, FASTER, WITHIN = "slower", "faster", "within noise"


def _present(frame: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    return [c for c in columns if c in frame.columns]


def _keys(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    group, ident = _present(frame, GROUP_COLUMNS), _present(frame, IDENTITY_COLUMNS)
    if "model" not in ident or "session" not in frame.columns:
        raise ConfigError("session rows need 'model' and 'session' columns, got "
                          f"{list(frame.columns)}")
    return group, ident


def session_spread(sessions: pd.DataFrame, value: str = "latency_ms") -> pd.DataFrame:
    """Per network (group and identity): ``n_sessions``, ``median_ms`` (the median over
    sessions), ``low_ms``/``high_ms`` (lowest and highest session) and ``spread`` =
    high / low − 1."""
    group, ident = _keys(sessions)
    keys = group + ident
    g = sessions.assign(_v=sessions[value].astype(float)).groupby(keys, dropna=False, sort=False)
    out = g["_v"].agg(n_sessions="count", median_ms="median", low_ms="min",
                      high_ms="max").reset_index()
    out["spread"] = out["high_ms"] / out["low_ms"] - 1
    return out


def session_pairs(sessions: pd.DataFrame, value: str = "latency_ms") -> pd.DataFrame:
    """Every pair of sessions of the same network: the group and identity columns,
    ``session_a``/``session_b``, ``sitting_a``/``sitting_b`` (the ``campaign`` ids),
    ``same_sitting``, ``log_ratio`` = ``log(x_a / x_b)`` and ``abs_log_ratio``."""
    group, ident = _keys(sessions)
    sitting = sessions["campaign"] if "campaign" in sessions.columns else \
        pd.Series("", index=sessions.index)
    rows = []
    frame = sessions.assign(_sitting=sitting.astype(str), _v=sessions[value].astype(float))
    for key, part in frame.groupby(group + ident, dropna=False, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        values = list(zip(part["session"], part["_sitting"], part["_v"]))
        for (sa, ca, va), (sb, cb, vb) in combinations(values, 2):
            if va > 0 and vb > 0:
                log_ratio = math.log(va / vb)
                rows.append((*key, sa, sb, ca, cb, ca == cb, log_ratio, abs(log_ratio)))
    return pd.DataFrame(rows, columns=[*group, *ident, "session_a", "session_b", "sitting_a",
                                       "sitting_b", "same_sitting", "log_ratio",
                                       "abs_log_ratio"])


@dataclass(frozen=True)
class Band:
    """The noise band of one group (see the module docstring)."""

    band: float  # relative: within noise when 1/(1+band) <= ratio <= 1+band
    within_sitting: float
    between_sittings: float
    n_networks: int
    n_pairs: int
    median_spread: float  # median over networks of max/min − 1 over sessions
    p90_spread: float
    common_shift: float = math.nan  # later / earlier sitting − 1, the largest over sitting pairs
    between_after_shift: float = math.nan  # the between-sittings band with that shift removed

    @property
    def covers(self) -> str:
        """Which noise the band covers, in words."""
        if math.isfinite(self.between_sittings):
            return "within and between sittings"
        return "within one sitting only" if math.isfinite(self.within_sitting) else "none"


def _band(log_ratios: np.ndarray, quantile: float) -> float:
    if len(log_ratios) == 0:
        return math.nan
    return float(math.exp(np.quantile(log_ratios, quantile)) - 1)


def _shift(between: pd.DataFrame, quantile: float) -> tuple[float, float]:
    """(common shift, between-sittings band after removing it) from between-sitting pairs: each
    pair of sittings, oriented later over earlier (campaign ids begin with their date), has its
    own shift, the median signed log ratio over its pairs; the reported shift is the largest."""
    if between.empty:
        return math.nan, math.nan
    a, b = between["sitting_a"].astype(str), between["sitting_b"].astype(str)
    later = a > b
    signed = np.where(later, between["log_ratio"], -between["log_ratio"])
    pair = np.where(later, b + "|" + a, a + "|" + b)
    frame = pd.DataFrame({"pair": pair, "signed": signed})
    shifts = frame.groupby("pair", sort=True)["signed"].median()
    residual = np.abs(frame["signed"].to_numpy() - frame["pair"].map(shifts).to_numpy())
    largest = float(shifts.iloc[int(np.argmax(np.abs(shifts.to_numpy())))])
    return float(math.exp(largest) - 1), _band(residual, quantile)


def noise_bands(sessions: pd.DataFrame, value: str = "latency_ms",
                quantile: float = NOISE_QUANTILE) -> pd.DataFrame:
    """One row per group (device, runtime, mode, precision): the :class:`Band` fields."""
    if not 0 < quantile < 1:
        raise ConfigError(f"quantile must be in (0, 1), got {quantile}")
    group, _ = _keys(sessions)
    pairs = session_pairs(sessions, value)
    spread = session_spread(sessions, value)
    rows = []
    groups = spread.groupby(group, dropna=False, sort=False) if group else [((), spread)]
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        mask = np.ones(len(pairs), bool)
        for col, val in zip(group, key):
            mask &= (pairs[col] == val).to_numpy() | (pairs[col].isna() & pd.isna(val))
        p = pairs[mask]
        within = _band(p.loc[p["same_sitting"], "abs_log_ratio"].to_numpy(), quantile)
        between = _band(p.loc[~p["same_sitting"], "abs_log_ratio"].to_numpy(), quantile)
        band = max((b for b in (within, between) if math.isfinite(b)), default=math.nan)
        multi = part[part["n_sessions"] >= 2]["spread"]
        shift, after = _shift(p[~p["same_sitting"]], quantile)
        rows.append({**dict(zip(group, key)), **Band(
            band, within, between, int((part["n_sessions"] >= 2).sum()), int(len(p)),
            float(multi.median()) if len(multi) else math.nan,
            float(multi.quantile(0.9)) if len(multi) else math.nan, shift, after).__dict__})
    return pd.DataFrame(rows)


def verdict(ratio: float, band: float) -> str:
    """``slower`` / ``faster`` / ``within noise`` for a latency ratio (a / b) against a
    relative band; NaN band or ratio: ``within noise`` is never claimed — ``n/a``."""
    if not (math.isfinite(ratio) and math.isfinite(band)) or ratio <= 0:
        return "n/a"
    if ratio > 1 + band:
        return SLOWER
    if ratio < 1 / (1 + band):
        return FASTER
    return WITHIN


def rho_by_session(sessions: pd.DataFrame, costs: pd.DataFrame, metric: str,
                   value: str = "latency_ms", on: str = "model_id") -> pd.DataFrame:
    """Spearman ρ of latency with a cost metric computed separately in every session (per
    group): how much a rank correlation moves with measurement noise alone. Columns: the group
    columns, ``campaign`` (when present), ``session``, ``rho``, ``n``."""
    group, _ = _keys(sessions)
    split = group + [c for c in ("campaign", "session") if c in sessions.columns]
    joined = sessions.merge(costs[[on, metric]], on=on, how="inner")
    rows = []
    for key, part in joined.groupby(split, dropna=False, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        ok = part[[metric, value]].dropna()
        rho = float(sps.spearmanr(ok[metric], ok[value]).statistic) if len(ok) >= 3 \
            else math.nan
        rows.append({**dict(zip(split, key)), "rho": rho, "n": int(len(ok))})
    return pd.DataFrame(rows)
