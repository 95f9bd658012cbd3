"""Notebook 01's logic: which cost metric predicts latency, on which device?

Flow: latency rows (:mod:`analysis.latency`) ⟶ joined with complexity counts
(:mod:`analysis.complexity`, or the row's own ``macs``/``params`` for models outside the zoo)
⟶ per device × metric rank correlations (:mod:`analysis.stats`) ⟶ tables the notebook shows
and writes. The paper's own comparison (Table 1) uses the published Table 9 numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from analysis import paths
from analysis.errors import ConfigError

#: Candidate predictors, in display order, with their labels.
METRIC_LABELS = {
    "macs": "MACs (paper's FLOPs)",
    "params": "Parameters",
    "activations": "Activations (fvcore)",
    "memory_bytes": "Memory traffic (bytes)",
    "operators": "Operators",
    "layers": "Conv / linear / matmul layers",
    "merges": "Multi-branch merges",
    "elementwise": "Element-wise ops",
}
#: Devices of the paper's Table 9 as named in the shipped latency files.
PAPER_DEVICE_ORDER = ("iPhone 12", "Xeon Gold 5118", "RTX-2080Ti")


def count_models(model_ids: Sequence[str], metrics: Sequence[str] | None = None,
                 progress: bool = False) -> pd.DataFrame:
    """One row per model id with every available complexity metric (disk-cached counts)."""
    from tqdm import tqdm  # plain bar: no ipywidgets needed in notebooks

    from analysis.complexity import profile_model
    from analysis.models import get_entry

    rows = []
    for mid in tqdm(list(model_ids), desc="counting", unit="model", disable=not progress):
        entry = get_entry(mid)
        c = profile_model(entry.id)
        # as in the paper's Figure 2: its number where the paper numbers the model, else its name
        number = entry.figure2_label if entry.figure2_label.isdigit() else ""
        row = {"model_id": entry.id, "model": entry.display_name, "family": entry.family,
               "label": number or entry.display_name}
        for name in METRIC_LABELS:
            if hasattr(c, name):
                row[name] = getattr(c, name)
        rows.append(row)
    table = pd.DataFrame(rows)
    if metrics is not None:
        unknown = [m for m in metrics if m not in table.columns]
        if unknown:
            raise ConfigError(f"unknown metric(s) {unknown}; available: "
                              f"{[m for m in METRIC_LABELS if m in table.columns]}")
    return table


@dataclass
class JoinReport:
    """What the join kept and what it could not use."""

    joined: pd.DataFrame
    not_countable: list[str] = field(default_factory=list)  # in the CSV, no counts available
    not_measured: dict[str, list[str]] = field(default_factory=dict)  # device -> selected models without latency
    outside_selection: list[str] = field(default_factory=list)  # zoo models in the CSV, not selected


def join_latency_costs(latency: pd.DataFrame, selection: Sequence[str],
                       counts: pd.DataFrame) -> JoinReport:
    """Join latency rows to complexity counts by ``model_id``.

    Rows for zoo models outside ``selection`` are dropped (and reported); rows for models
    outside the zoo are kept when they carry their own ``macs`` and ``params`` (the other
    metrics are then missing for them), else reported as not countable.
    """
    lat = latency.copy()
    if "model_id" not in lat:
        lat["model_id"] = None
    in_zoo = lat["model_id"].notna() & (lat["model_id"].astype(str) != "")
    sel = set(selection)
    outside = sorted(set(lat.loc[in_zoo & ~lat["model_id"].isin(sel), "model"]))
    zoo_rows = lat[in_zoo & lat["model_id"].isin(sel)]
    zoo = zoo_rows.drop(columns=[c for c in counts.columns if c in zoo_rows.columns
                                 and c != "model_id"]).merge(counts, on="model_id", how="left")
    own = lat[~in_zoo].copy()
    has_own = pd.Series(False, index=own.index)
    if {"macs", "params"} <= set(own.columns):
        has_own = own["macs"].notna() & own["params"].notna()
    not_countable = sorted(set(own.loc[~has_own, "model"]))
    own = own[has_own]
    if len(own):
        own["family"] = own.get("family", pd.Series("external", index=own.index)).fillna("external")
        own["label"] = ""
    joined = pd.concat([zoo, own], ignore_index=True)
    not_measured = {}
    for device, part in joined.groupby("device"):
        missing = sorted(sel - set(part["model_id"].dropna()))
        if missing:
            not_measured[str(device)] = missing
    return JoinReport(joined, not_countable, not_measured, outside)


def device_key(latency: pd.DataFrame) -> pd.Series:
    """One name per measurement series: the device, plus the runtime when a device has several."""
    runtime = latency.get("runtime", pd.Series("", index=latency.index)).fillna("").astype(str)
    n_rt = latency.assign(_rt=runtime).groupby("device")["_rt"].transform("nunique")
    return np.where(n_rt > 1, latency["device"].astype(str) + " · " + runtime,
                    latency["device"].astype(str))


def table1_comparison(paper_table1: pd.DataFrame, ours: pd.DataFrame,
                      device_map: dict[str, str]) -> pd.DataFrame:
    """Paper Table 1 next to our values: one row per (device, metric) of the paper.

    ``paper_table1`` has ``device, metric, rho, p_value`` (metric ``flops`` = our ``macs``);
    ``ours`` is a correlation table with a ``device`` column named as in ``device_map``'s
    values and a ``source`` column (e.g. "published sizes", "our fvcore counts").
    """
    metric_map = {"flops": "macs", "params": "params"}
    rows = []
    for _, p in paper_table1.iterrows():
        dev = device_map[p["device"]]
        metric = metric_map[p["metric"]]
        for source, part in ours.groupby("source", sort=False):
            o = part[(part["device"] == dev) & (part["metric"] == metric)]
            if o.empty:
                continue
            o = o.iloc[0]
            rows.append({"device": dev, "metric": metric, "source": source,
                         "paper_rho": p["rho"], "our_rho": o["rho"],
                         "rho_diff": o["rho"] - p["rho"], "paper_p": p["p_value"],
                         "our_p": o["p_value"], "ci_low": o["ci_low"], "ci_high": o["ci_high"],
                         "paper_rho_in_ci": bool(o["ci_low"] <= p["rho"] <= o["ci_high"]),
                         "n": o["n"]})
    return pd.DataFrame(rows)


def best_predictors(correlations: pd.DataFrame) -> pd.DataFrame:
    """Per device, the metric with the highest ρ, and whether its CI overlaps the runner-up's."""
    rows = []
    for device, part in correlations.dropna(subset=["rho"]).groupby("device", sort=False):
        part = part.sort_values("rho", ascending=False)
        best = part.iloc[0]
        second = part.iloc[1] if len(part) > 1 else None
        rows.append({"device": device, "best_metric": best["metric"], "rho": best["rho"],
                     "ci_low": best["ci_low"], "ci_high": best["ci_high"], "n": best["n"],
                     "runner_up": None if second is None else second["metric"],
                     "runner_up_rho": math.nan if second is None else second["rho"],
                     "separated_from_runner_up": bool(second is not None
                                                      and best["ci_low"] > second["ci_high"])})
    return pd.DataFrame(rows)


def _strength(rho: float) -> str:
    a = abs(rho)
    if math.isnan(a):
        return "undefined"
    return ("very weak" if a < 0.2 else "weak" if a < 0.4 else "moderate" if a < 0.6
            else "strong" if a < 0.8 else "very strong")


def conclusion(correlations: pd.DataFrame, table1: pd.DataFrame | None = None,
               best: pd.DataFrame | None = None, agreement: pd.DataFrame | None = None,
               conv_only: pd.DataFrame | None = None, timm: pd.DataFrame | None = None) -> str:
    """A short written conclusion, every claim computed from the tables passed in."""
    lines = []
    if table1 is not None and len(table1):
        for _, r in table1.iterrows():
            verdict = "inside" if r["paper_rho_in_ci"] else "outside"
            lines.append(
                f"- {r['device']}, {METRIC_LABELS.get(r['metric'], r['metric'])} ({r['source']}): "
                f"ρ = {r['our_rho']:.2f} (95% CI {r['ci_low']:.2f} to {r['ci_high']:.2f}, "
                f"p = {r['our_p']:.2g}, n = {int(r['n'])}) vs the paper's {r['paper_rho']:.2f} "
                f"(p = {r['paper_p']:.2g}); the paper's value is {verdict} our interval.")
    if best is not None:
        for _, r in best.iterrows():
            sep = ("its interval is clear of the runner-up's"
                   if r["separated_from_runner_up"] else
                   f"its interval overlaps the runner-up's ({METRIC_LABELS.get(r['runner_up'], r['runner_up'])}, "
                   f"ρ = {r['runner_up_rho']:.2f}), so the ranking is not conclusive")
            lines.append(f"- Best predictor on {r['device']}: "
                         f"{METRIC_LABELS.get(r['best_metric'], r['best_metric'])}, ρ = {r['rho']:.2f} "
                         f"({_strength(r['rho'])}; 95% CI {r['ci_low']:.2f} to {r['ci_high']:.2f}, "
                         f"n = {int(r['n'])}); {sep}.")
    macs = correlations[correlations["metric"] == "macs"].dropna(subset=["rho"])
    if len(macs):
        lo, hi = macs.loc[macs["rho"].idxmin()], macs.loc[macs["rho"].idxmax()]
        lines.append(f"- MACs track latency most on {hi['device']} (ρ = {hi['rho']:.2f}) and least "
                     f"on {lo['device']} (ρ = {lo['rho']:.2f}).")
    if agreement is not None and len(agreement):
        off = agreement[agreement["a"] != agreement["b"]].dropna(subset=["rho"])
        if len(off):
            lo = off.loc[off["rho"].idxmin()]
            hi = off.loc[off["rho"].idxmax()]
            lines.append(f"- Devices agree most between {hi['a']} and {hi['b']} (ρ = {hi['rho']:.2f}) "
                         f"and least between {lo['a']} and {lo['b']} (ρ = {lo['rho']:.2f}): "
                         "a latency ranking measured on one device "
                         + ("transfers poorly" if lo["rho"] < 0.5 else "transfers reasonably")
                         + " to the others.")
    if conv_only is not None and len(conv_only):
        both = correlations.merge(conv_only, on=["device", "metric"], suffixes=("_all", "_conv"))
        both = both[both["metric"] == "macs"].dropna(subset=["rho_all", "rho_conv"])
        for _, r in both.iterrows():
            lines.append(f"- Convolutional models only, {r['device']}: MACs ρ = {r['rho_conv']:.2f} "
                         f"(n = {int(r['n_conv'])}) vs {r['rho_all']:.2f} with all models.")
    if timm is not None and len(timm):
        m = timm[timm["metric"] == "macs"].set_index("sample")
        if {"all models", "mobile-sized"} <= set(m.index):
            a, s = m.loc["all models"], m.loc["mobile-sized"]
            lowered = s["ci_high"] < a["ci_low"]
            text = (f"- A larger sample (timm's CPU benchmark): across all {int(a['n'])} models MACs "
                    f"rank latency with ρ = {a['rho']:.2f} (95% CI {a['ci_low']:.2f} to {a['ci_high']:.2f}); "
                    f"restricted to the {int(s['n'])} mobile-sized ones (MACs in the Figure 2 models' "
                    f"range) ρ = {s['rho']:.2f} ({s['ci_low']:.2f} to {s['ci_high']:.2f}), so a narrower "
                    f"range of sizes {'clearly lowers' if lowered else 'does not clearly lower'} the "
                    "correlation.")
            cpu = correlations[(correlations["device"] == TABLE1_DEVICES["desktop_cpu"])
                               & (correlations["metric"] == "macs")]
            if len(cpu) and np.isfinite(cpu["rho"].iloc[0]):
                c = cpu.iloc[0]
                if s["ci_low"] > c["ci_high"]:
                    text += (f" Even the mobile-sized timm sample correlates far more strongly than "
                             f"the {int(c['n'])} models on the paper's desktop CPU (ρ = {c['rho']:.2f}, "
                             f"CI up to {c['ci_high']:.2f}): range restriction alone does not explain "
                             "the paper's finding; which models are measured, and with which runtime, "
                             "matter as much.")
                else:
                    text += (f" The paper's desktop-CPU ρ = {c['rho']:.2f} (n = {int(c['n'])}) is "
                             "compatible with the mobile-sized timm sample.")
            lines.append(text)
    return "\n".join(lines)


#: The shipped files of the paper's Table 9 used by default (phone and desktop CPU).
PAPER_LATENCY_FILES = ("paper-iphone12-coreml.csv", "paper-xeon5118-cpu.csv")
#: Table 1's device names → the ``device`` of the shipped paper files.
TABLE1_DEVICES = {"iPhone12": "iPhone 12", "desktop_cpu": "Intel Xeon Gold 5118"}


def default_latency_files() -> list[Path]:
    """The paper's iPhone 12 and desktop-CPU files, plus local measurements (``local-*.csv``)."""
    files = [paths.LATENCY_DATA / name for name in PAPER_LATENCY_FILES]
    return files + sorted(paths.LATENCY_DATA.glob("local-*.csv"))


def paper_table1_inputs(figure2_ids: Sequence[str], counts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Long table for reproducing Table 1 from the paper's own Table 9 data.

    One row per (figure-2 model, Table 1 device, source): ``source`` = "published sizes"
    (Table 9's FLOPs and params, as shipped in the paper latency files) and, for models in
    ``counts``, "our fvcore counts".
    """
    from analysis.latency import load_latency

    lat = load_latency([paths.LATENCY_DATA / f for f in PAPER_LATENCY_FILES])
    lat = lat[lat["model_id"].isin(figure2_ids)]
    published = lat.assign(source="published sizes")
    parts = [published]
    if counts is not None and len(counts):
        ours = lat.drop(columns=["macs", "params"]).merge(
            counts[["model_id", "macs", "params"]], on="model_id", how="inner")
        parts.append(ours.assign(source="our fvcore counts"))
    return pd.concat(parts, ignore_index=True)


#: timm's public CPU benchmark results, shipped under data/external (see its README).
TIMM_BENCHMARK = "timm-benchmarks/benchmark-infer-fp32-nchw-pt240-cpu-i7_12700h-dynamo.csv"


def timm_samples(timm: pd.DataFrame, macs_range: tuple[float, float],
                 max_input_size: int = 256) -> pd.DataFrame:
    """timm's rows labelled by sample: ``"all models"`` and ``"mobile-sized"`` — MACs inside
    ``macs_range`` (e.g. the Figure 2 models' range) at inputs of at most ``max_input_size``.

    Returned long, with a boolean ``mobile_sized`` column: every row once with
    ``sample = "all models"``, plus the mobile-sized rows
    again with their own label, so one :func:`analysis.stats.correlation_table` call with
    ``by="sample"`` compares both.
    """
    lo, hi = macs_range
    timm = timm.assign(mobile_sized=(timm["macs"] >= lo) & (timm["macs"] <= hi)
                       & (timm["input_size"] <= max_input_size))
    return pd.concat([timm.assign(sample="all models"),
                      timm[timm["mobile_sized"]].assign(sample="mobile-sized")], ignore_index=True)
