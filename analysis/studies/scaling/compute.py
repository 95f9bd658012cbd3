"""Notebook 08's numbers: within the MobileNet family, do MACs predict latency?

Stated before the results were computed:

* **The exponent.** Per series (device · runtime [· regime]), statistic and sweep, latency ∝
  MACs^b is fitted by least squares on the logarithms (:func:`loglog_fit`); its 95 % interval
  is the t interval with n − 2 degrees of freedom — with the 3–5 points of a sweep it is wide
  (t = 12.7 at n = 3, 4.3 at n = 4, 3.2 at n = 5) and it measures how far the points lie
  from a straight line, not the measurement noise. The noise is shown separately: b refitted
  on every choice of one session per network (``b_session_low``/``b_session_high``). *b = 1*
  (MACs predict latency proportionally inside the family) is excluded when the interval lies
  wholly below 1 (*sub-linear*: shrinking the network by MACs saves less time) or above it
  (*super-linear*); a sweep of two points has no interval.
* **The family's own claim**: the width multiplier α and the resolution multiplier ρ cut the
  cost by about α² and ρ². On counts: the MACs of each point relative to the sweep's base
  (α = 1, 224 px) against α² or ρ², and the count exponent c (MACs ∝ multiplier^c, 2 if the
  claim held exactly). On latency: the exponent e (latency ∝ multiplier^e) with its t
  interval, against 2.
* **Across families**: Spearman's ρ of latency with MACs over the zoo's Figure 2 models on the
  same device, runtime and regime (Table 1's question; :func:`analysis.inference.correlate`:
  permutation p, Fisher-z interval) and over all the family's sweep networks; exploratory,
  Benjamini–Hochberg over the rows of one statistic.
* **EfficientNet-Lite_i against EfficientNet-B_i**: their latency ratio with the session
  interval, judged by the series' noise band (:func:`analysis.noise.verdict`); and, since only
  Lite0/B0 have (nearly) equal MACs, the ratio at equal MACs: Lite_i against B's own fitted
  curve at Lite_i's MACs.

The minimum (each session's, the paper's statistic) is primary; everything is computed with
each session's median too. Nothing here writes prose or draws.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis import noise, paths
from analysis.constants import ALPHA, N_PERMUTATIONS
from analysis.inference import CORRELATION_COLUMNS, adjusted_within, correlate
from analysis.latency import read_checked
from analysis.latency.manifest import study_files
from analysis.models import list_models
from analysis.studies.ablation import compute as ablation
from analysis.studies.ablation import measure
from analysis.studies.scaling.data import (COMPOUND, H200_DEVICE, KEY, LITE_PAIRS, PRIMARY,
                                           RESOLUTION, STATISTICS, SWEEPS, WIDTH, Latency,
                                           campaign_files, h200_label, h200_sessions,
                                           sweep_rows)

#: Verdicts on an exponent against its reference value (1 for b, 2 for e).
BELOW, CONSISTENT, ABOVE, NO_INTERVAL = "below", "consistent", "above", "no interval"
#: The family's claim: cost ∝ multiplier² (α², ρ²).
CLAIMED_EXPONENT = 2.0
#: Most session combinations enumerated for the session range of b (more: a seeded sample).
MAX_COMBINATIONS = 50_000


# -- the fit ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Fit:
    """log y = slope · log x + intercept by least squares: ``slope`` with its standard error and
    t interval (n − 2 degrees of freedom), ``r_squared``; NaN where n is too small."""

    slope: float
    intercept: float
    se: float
    ci_low: float
    ci_high: float
    r_squared: float
    n: int


def loglog_fit(x: Sequence[float], y: Sequence[float], level: float = 1 - ALPHA) -> Fit:
    """The exponent of y ∝ x^slope (module docstring): least squares on the logarithms."""
    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    n = len(lx)
    if n < 2 or np.ptp(lx) == 0:
        return Fit(*(math.nan,) * 6, n)
    dx = lx - lx.mean()
    sxx = float(dx @ dx)
    slope = float(dx @ (ly - ly.mean())) / sxx
    intercept = float(ly.mean() - slope * lx.mean())
    resid = ly - (intercept + slope * lx)
    rss, tss = float(resid @ resid), float(((ly - ly.mean()) ** 2).sum())
    r2 = 1 - rss / tss if tss > 0 else math.nan
    if n < 3:
        return Fit(slope, intercept, math.nan, math.nan, math.nan, r2, n)
    se = math.sqrt(rss / (n - 2) / sxx)
    t = float(sps.t.ppf(0.5 + level / 2, n - 2))
    return Fit(slope, intercept, se, slope - t * se, slope + t * se, r2, n)


def judge(low: float, high: float, reference: float) -> str:
    """:data:`BELOW` / :data:`ABOVE` when the interval excludes ``reference`` on that side,
    :data:`CONSISTENT` when it contains it, :data:`NO_INTERVAL` without one."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return NO_INTERVAL
    return BELOW if high < reference else ABOVE if low > reference else CONSISTENT


def session_slopes(x: Sequence[float], sessions: Sequence[Sequence[float]], *,
                   seed: int = 0) -> np.ndarray:
    """The log–log slope refitted on every choice of one session per point (``sessions[i]``:
    the session values of point i); a seeded sample of :data:`MAX_COMBINATIONS` choices when
    there are more."""
    lx = np.log(np.asarray(x, float))
    values = [np.log(np.asarray(v, float)) for v in sessions]
    if len(lx) < 2 or np.ptp(lx) == 0 or any(len(v) == 0 for v in values):
        return np.array([])
    total = math.prod(len(v) for v in values)
    if total <= MAX_COMBINATIONS:
        ys = np.array(list(itertools.product(*values)))
    else:
        rng = np.random.default_rng(seed)
        ys = np.column_stack([rng.choice(v, MAX_COMBINATIONS) for v in values])
    dx = lx - lx.mean()
    return (ys - ys.mean(axis=1, keepdims=True)) @ dx / float(dx @ dx)


# -- exponents per sweep ----------------------------------------------------------------------------

EXPONENT_COLUMNS = ("statistic", "series", "sweep", "family", "knob", "n", "macs_low",
                    "macs_high", "latency_low_ms", "latency_high_ms", "b", "b_se", "b_ci_low",
                    "b_ci_high", "intercept", "r_squared", "b_session_low", "b_session_high",
                    "b_verdict", "e", "e_ci_low", "e_ci_high", "e_verdict", "c", "rho",
                    "p_permutation")
POINT_COLUMNS = ("statistic", "series", "sweep", "family", "knob", "multiplier", "model",
                 "model_id", "input_size", "macs", "params", "latency_ms", "session_low_ms",
                 "session_high_ms", "n_sessions", "device", "runtime", "regime",
                 "implementation")


def sweep_points(latency: Latency, counts: pd.DataFrame) -> pd.DataFrame:
    """The points of every fit: per statistic, series and sweep, its networks with their MACs,
    parameters and latency (a network of two sweeps — MobileNetV1 at 224 px — appears in
    both)."""
    c = counts[["model_id", "input_size", "macs", "params"]]
    parts = []
    for statistic in STATISTICS:
        pts = latency.points[statistic].merge(c, on=["model_id", "input_size"], how="left")
        for s in SWEEPS:
            r = sweep_rows(pts, s)
            if len(r):
                parts.append(r.assign(statistic=statistic, sweep=s.name, family=s.family,
                                      knob=s.knob))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return out.reindex(columns=list(POINT_COLUMNS))


def _sessions_of(sessions: pd.DataFrame, rows: pd.DataFrame) -> list[np.ndarray]:
    by = {k: g["latency_ms"].to_numpy(float) for k, g in
          sessions.groupby(["model_id", "input_size"], sort=False)}
    return [by.get((m, s), np.array([])) for m, s in zip(rows["model_id"], rows["input_size"])]


def sweep_exponents(points: pd.DataFrame, latency: Latency, *, seed: int = 0) -> pd.DataFrame:
    """Per statistic, series and sweep with at least two networks (``points``:
    :func:`sweep_points`): b (latency vs MACs), its t interval, session range and verdict
    against 1; e (latency vs multiplier) against 2; c (MACs vs multiplier); the within-sweep
    Spearman ρ with its exact permutation p."""
    rows = []
    for (statistic, series, name), r in points.groupby(["statistic", "series", "sweep"],
                                                         sort=False):
        if len(r) < 2:
            continue
        sessions = latency.sessions[statistic]
        x, y = r["macs"].to_numpy(float), r["latency_ms"].to_numpy(float)
        fit = loglog_fit(x, y)
        boot = session_slopes(x, _sessions_of(sessions[sessions["series"] == series], r),
                              seed=seed)
        knob = r["knob"].iloc[0] != COMPOUND
        e = loglog_fit(r["multiplier"], y) if knob else Fit(*(math.nan,) * 6, len(r))
        c = loglog_fit(r["multiplier"], x).slope if knob else math.nan
        corr = correlate(x, y, n_permutations=N_PERMUTATIONS, seed=seed)
        rows.append({
            "statistic": statistic, "series": series, "sweep": name,
            "family": r["family"].iloc[0], "knob": r["knob"].iloc[0], "n": len(r),
            "macs_low": x.min(), "macs_high": x.max(), "latency_low_ms": y.min(),
            "latency_high_ms": y.max(), "b": fit.slope, "b_se": fit.se,
            "b_ci_low": fit.ci_low, "b_ci_high": fit.ci_high, "intercept": fit.intercept,
            "r_squared": fit.r_squared,
            "b_session_low": float(boot.min()) if len(boot) else math.nan,
            "b_session_high": float(boot.max()) if len(boot) else math.nan,
            "b_verdict": judge(fit.ci_low, fit.ci_high, 1.0), "e": e.slope,
            "e_ci_low": e.ci_low, "e_ci_high": e.ci_high,
            "e_verdict": judge(e.ci_low, e.ci_high, CLAIMED_EXPONENT) if knob else "",
            "c": c, "rho": corr.rho, "p_permutation": corr.p_permutation})
    return pd.DataFrame(rows, columns=list(EXPONENT_COLUMNS))


# -- the claim on counts --------------------------------------------------------------------------

COUNT_SCALING_COLUMNS = ("sweep", "knob", "model", "model_id", "input_size", "multiplier",
                         "macs", "base_macs", "macs_ratio", "predicted_ratio",
                         "ratio_to_prediction", "paper_ratio")


def count_scaling(counts: pd.DataFrame) -> pd.DataFrame:
    """Per point of every width and resolution sweep: its MACs relative to the sweep's base
    (α = 1 at 224 px) against the claim's α² or ρ², and the MobileNet paper's own ratio where
    its Tables 6 and 7 have the network."""
    rows = []
    for s in SWEEPS:
        if s.knob == COMPOUND:
            continue
        r = sweep_rows(counts, s).sort_values("multiplier")
        base = r[r["multiplier"] == 1.0]
        if base.empty or len(r) < 2:
            continue
        b = base.iloc[0]
        for p in r.itertuples():
            predicted = p.multiplier ** CLAIMED_EXPONENT
            rows.append({"sweep": s.name, "knob": s.knob, "model": p.model,
                         "model_id": p.model_id, "input_size": p.input_size,
                         "multiplier": p.multiplier, "macs": p.macs, "base_macs": b["macs"],
                         "macs_ratio": p.macs / b["macs"], "predicted_ratio": predicted,
                         "ratio_to_prediction": p.macs / b["macs"] / predicted,
                         "paper_ratio": p.paper_macs / b["paper_macs"]})
    return pd.DataFrame(rows, columns=list(COUNT_SCALING_COLUMNS))


# -- correlations -----------------------------------------------------------------------------------

#: The scopes of the correlation table.
ACROSS, FAMILY = "across families", "MobileNet family"
CORRELATION_TABLE_COLUMNS = ("statistic", "series", "scope", "models", *CORRELATION_COLUMNS,
                             "q_value", "shown")


def zoo_files(zoo_csv, latency_csv) -> list:
    """The latency files of the across-family ρ: ``ZOO_CSV``; without it, ``LATENCY_CSV``
    itself when given, else the shipped campaigns of the zoo."""
    if zoo_csv:
        return campaign_files(zoo_csv)
    if latency_csv:
        return campaign_files(latency_csv)
    return study_files("zoo", kind="campaign")


def read_zoo(files, group: str, latency: Latency) -> dict[str, pd.DataFrame]:
    """Per statistic: the rows of ``group``'s models (fused, batch 1) in ``files`` whose device,
    runtime and regime are one of the sweeps' series, labelled with that series."""
    series = {}
    for p in latency.points[PRIMARY].itertuples():
        series.setdefault((p.device, p.runtime, p.regime), p.series)
    models = set(list_models(group))
    out = {}
    for statistic in STATISTICS:
        t = read_checked(files, statistic, warn=False).table
        t = t[t["model_id"].isin(models) & (t["form"].fillna("fused") == "fused")
              & (t["batch_size"].fillna(1) == 1)]
        t = t.assign(regime=t["regime"].fillna("").astype(str))
        labels = [series.get(k) for k in zip(*(t[c] for c in KEY))]
        rows = t.assign(series=labels)
        out[statistic] = rows[rows["series"].notna()]
    return out


def correlations(latency: Latency, counts: pd.DataFrame, zoo: Mapping[str, pd.DataFrame],
                 zoo_macs: Mapping[str, int], group: str, *, n_permutations: int,
                 seed: int) -> pd.DataFrame:
    """Per statistic and series: ρ(latency, MACs) across the zoo's ``group`` models and over the
    family's networks at their native input (module docstring); BH over one statistic's rows."""
    macs = counts.set_index(["model_id", "input_size"])["macs"]
    native = counts[counts["native"]][["model_id", "input_size"]]
    rows = []
    for statistic in STATISTICS:
        fam = latency.points[statistic].merge(native, on=["model_id", "input_size"])
        for series in dict.fromkeys(latency.points[statistic]["series"]):
            across = zoo[statistic][zoo[statistic]["series"] == series]
            scopes = ((ACROSS, group, across["model_id"].map(zoo_macs), across),
                      (FAMILY, "mobilenet_scaling", None, fam[fam["series"] == series]))
            for scope, models, x, part in scopes:
                if x is None:
                    x = macs.loc[list(zip(part["model_id"], part["input_size"]))]
                c = correlate(np.asarray(x, float), part["latency_ms"].to_numpy(float),
                              n_permutations=n_permutations, seed=seed)
                rows.append({"statistic": statistic, "series": series, "scope": scope,
                             "models": models, **c.as_dict()})
    cells = pd.DataFrame(rows, columns=list(CORRELATION_TABLE_COLUMNS[:-2]))  # then q, shown
    return adjusted_within(cells)[list(CORRELATION_TABLE_COLUMNS)]


# -- noise and EfficientNet-Lite vs B ---------------------------------------------------------------

NOISE_COLUMNS = ("statistic", "series", "band", "within_sitting", "between_sittings",
                 "n_networks", "n_pairs", "median_spread", "p90_spread", "band_source")
OWN, BORROWED = "its own sessions", "borrowed: this project's H200 campaign, same regime"


def noise_table(latency: Latency, with_h200: bool, h200_mode: str) -> pd.DataFrame:
    """Per statistic and series: the noise band of :mod:`analysis.noise` from the series' own
    sessions; the one-pass H200 reference borrows the band of this project's H200 campaign in
    the same regime (same GPU, runtime, mode and precision)."""
    rows = []
    fields = NOISE_COLUMNS[2:-1]
    for statistic in STATISTICS:
        s = latency.sessions[statistic]
        if len(s):
            bands = noise.noise_bands(s.drop(columns=["series", "regime"]))
            labels = s.drop_duplicates(["device", "runtime", "mode", "precision"])
            for b in bands.itertuples():
                match = labels[(labels["device"] == b.device) & (labels["runtime"] == b.runtime)
                               & (labels["mode"] == b.mode)
                               & (labels["precision"] == b.precision)]
                rows.append({"statistic": statistic, "series": match["series"].iloc[0],
                             **{f: getattr(b, f) for f in fields}, "band_source": OWN})
        if with_h200:
            b = noise.noise_bands(h200_sessions(statistic, h200_mode)).iloc[0]
            rows.append({"statistic": statistic, "series": h200_label(h200_mode),
                         **{f: b[f] for f in fields}, "band_source": BORROWED})
    return pd.DataFrame(rows, columns=list(NOISE_COLUMNS))


LITE_COLUMNS = ("statistic", "series", "pair", "lite", "b_model", "lite_macs", "b_macs",
                "macs_ratio", "lite_ms", "b_ms", "ratio", "ratio_low", "ratio_high", "band",
                "verdict", "b_exponent", "equal_macs_ratio", "equal_macs_low",
                "equal_macs_high")


def lite_versus_b(latency: Latency, counts: pd.DataFrame, exponents: pd.DataFrame,
                  bands: pd.DataFrame) -> pd.DataFrame:
    """Per statistic, series and pair i with both networks: Lite_i / B_i latency, its session
    interval (Lite's lowest session / B's highest, and the reverse), the noise verdict; and the
    ratio at equal MACs: Lite_i / (B_i · (MACs_Lite / MACs_B)^b), b the B sweep's exponent on
    the series (its interval from b's t interval)."""
    macs = counts[counts["native"]].set_index("model_id")["macs"]
    rows = []
    for statistic in STATISTICS:
        pts = latency.points[statistic]
        for series, part in pts.groupby("series", sort=False):
            native = part[part["input_size"] == part["model_id"].map(
                counts[counts["native"]].set_index("model_id")["input_size"])]
            lat = native.set_index("model_id")
            band = bands[(bands["statistic"] == statistic) & (bands["series"] == series)]
            band = float(band["band"].iloc[0]) if len(band) else math.nan
            ex = exponents[(exponents["statistic"] == statistic) & (exponents["series"] == series)
                           & (exponents["family"] == "EfficientNet")]
            b = ex.iloc[0] if len(ex) else None
            for i, (lite, bm) in enumerate(LITE_PAIRS):
                if lite not in lat.index or bm not in lat.index:
                    continue
                L, B = lat.loc[lite], lat.loc[bm]
                ratio, m = L["latency_ms"] / B["latency_ms"], macs[lite] / macs[bm]
                ends = [m ** v for v in ((b["b"], b["b_ci_low"], b["b_ci_high"])
                                         if b is not None else (math.nan,) * 3)]
                rows.append({
                    "statistic": statistic, "series": series, "pair": i, "lite": L["model"],
                    "b_model": B["model"], "lite_macs": macs[lite], "b_macs": macs[bm],
                    "macs_ratio": m, "lite_ms": L["latency_ms"], "b_ms": B["latency_ms"],
                    "ratio": ratio, "ratio_low": L["session_low_ms"] / B["session_high_ms"],
                    "ratio_high": L["session_high_ms"] / B["session_low_ms"], "band": band,
                    "verdict": noise.verdict(ratio, band),
                    "b_exponent": b["b"] if b is not None else math.nan,
                    "equal_macs_ratio": ratio / ends[0],
                    "equal_macs_low": np.nanmin([ratio / ends[1], ratio / ends[2]])
                    if all(map(math.isfinite, ends[1:])) else math.nan,
                    "equal_macs_high": np.nanmax([ratio / ends[1], ratio / ends[2]])
                    if all(map(math.isfinite, ends[1:])) else math.nan})
    return pd.DataFrame(rows, columns=list(LITE_COLUMNS))


# -- Tables 2 and 3: what Lite removes --------------------------------------------------------------

#: The rows of the paper's ablations that EfficientNet-Lite removes: Squeeze-Excite and swish.
LITE_REMOVES = (("Table 2", "SE-ReLU"), ("Table 2", "SiLU"), ("Table 3", "+ Squeeze-Excite"))
ABLATION_COLUMNS = ("table", "paper_row", "series", "device_kind", "regime", "slowdown",
                    "slowdown_low", "slowdown_high", "verdict", "median_slowdown",
                    "median_verdict", "band")


def ablation_files() -> list:
    """The files :func:`ablation_context` reads: the shipped ablation campaigns and the
    paper's Tables 2 and 3."""
    return [*measure.shipped_files(), paths.paper_table("table2_activations"),
            paths.paper_table("table3_blocks")]


def ablation_context(h200_mode: str = "graph") -> pd.DataFrame:
    """Squeeze-Excite and SiLU (swish) in the paper's Tables 2 and 3 — the paper's phone, the
    build machine's CPU and the H200 in the reference's regime — computed by notebooks 02/03's
    code (:mod:`analysis.studies.ablation`: series, slowdowns, the noise verdict per series),
    as notebook 07 does."""
    data = measure.read_latency(shipped=measure.shipped_files())
    bands = data.bands.set_index("series")

    def kind(series: str) -> str:
        if series not in bands.index:
            return "phone (paper)"
        return "GPU" if str(bands.loc[series, "physical_device"]) == H200_DEVICE else "CPU"

    parts = []
    for spec in ablation.TABLES.values():
        long = ablation.series_table(spec, measure.measured_series(spec, data))
        parts.append(long.assign(table=spec.paper_name))
    r = pd.concat(parts, ignore_index=True)
    r["device_kind"] = r["series"].map(kind)
    r["regime"] = [str(bands.loc[s, "regime"] or "") if k == "GPU" else ""
                   for s, k in zip(r["series"], r["device_kind"])]
    keep = pd.Series(False, index=r.index)
    for table, row in LITE_REMOVES:
        keep |= (r["table"] == table) & (r["paper_row"] == row)
    keep &= (r["device_kind"] != "GPU") | (r["regime"] == f"{h200_mode} fp32")
    return r[keep][list(ABLATION_COLUMNS)].reset_index(drop=True)


__all__ = ["ABOVE", "ACROSS", "BELOW", "CONSISTENT", "FAMILY", "Fit", "NO_INTERVAL",
           "RESOLUTION", "WIDTH", "ablation_context", "ablation_files", "correlations", "count_scaling", "judge",
           "lite_versus_b", "loglog_fit", "noise_table", "read_zoo", "session_slopes",
           "sweep_exponents", "sweep_points", "zoo_files"]
