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
from analysis.report import METRIC_LABELS
from analysis.stats import correlation_table

#: The shipped latency files of the default study, listed explicitly (never a glob: a file
#: written to data/latency/ joins the study only when it is added here). Paper files first.
PAPER_LATENCY_FILES = ("paper-iphone12-coreml.csv", "paper-xeon5118-cpu.csv",
                       "paper-rtx2080ti-tensorrt.csv")
LOCAL_LATENCY_FILES = ("local-amd_epyc-torch.csv", "local-amd_epyc-onnxruntime.csv")
#: Table 1's device names → the ``device`` of the shipped paper files.
TABLE1_DEVICES = {"iPhone12": "iPhone 12", "desktop_cpu": "Intel Xeon Gold 5118"}


def study_files(latency_csv=None, with_reference: bool = True) -> list[Path]:
    """The latency files a run analyses.

    No ``latency_csv``: the shipped study (the paper's iPhone 12, desktop CPU and GPU columns
    and this project's CPU measurements). With a user's file(s): those files plus, when
    ``with_reference``, the paper's three reference devices, so that "paper vs yours", device
    agreement and Figure 2 keep their reference points."""
    from analysis.util import as_list

    user = paths.user_paths(as_list(latency_csv))
    paper = [paths.LATENCY_DATA / f for f in PAPER_LATENCY_FILES]
    if not user:
        return paper + [paths.LATENCY_DATA / f for f in LOCAL_LATENCY_FILES]
    given = {u.resolve() for u in user}
    return user + ([f for f in paper if f.resolve() not in given] if with_reference else [])


def device_sources(latency: pd.DataFrame) -> dict[str, str]:
    """``device → "paper" | "measured here" | "your file"`` by the file each device came from."""
    out = {}
    for device, files in latency.groupby("device")["file"]:
        names = {Path(str(f)).name for f in files}
        out[str(device)] = ("paper" if names <= set(PAPER_LATENCY_FILES) else
                            "measured here" if names <= set(LOCAL_LATENCY_FILES) else "your file")
    return out


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

    def describe(self) -> str:
        """What was joined and what was left out, a few lines."""
        j = self.joined
        lines = [f"{j['model'].nunique()} models with latency on {j['device'].nunique()} device(s)",
                 "in the files but not countable (no zoo entry, no macs/params): "
                 + (", ".join(self.not_countable) or "none"),
                 "zoo models in the files but outside the selection (ignored): "
                 + (", ".join(self.outside_selection) or "none")]
        lines += [f"selected but not measured on {d}: {', '.join(m)}"
                  for d, m in self.not_measured.items()]
        return "\n".join(lines)


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
                         "our_p": o["p_value"], "exact_p": o["exact_p"],
                         "ci_low": o["ci_low"], "ci_high": o["ci_high"],
                         "paper_rho_in_ci": bool(o["ci_low"] <= p["rho"] <= o["ci_high"]),
                         "n": o["n"], "inference": o["inference"],
                         "supported": o["supported"], "borderline": o["borderline"]})
    return pd.DataFrame(rows)


def paper_table1_inputs(figure2_ids: Sequence[str], counts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Long table for reproducing Table 1 from the paper's own Table 9 data.

    One row per (figure-2 model, Table 1 device, source): ``source`` = "published sizes"
    (Table 9's FLOPs and params, as shipped in the paper latency files) and, for models in
    ``counts``, "our fvcore counts".
    """
    from analysis.latency import load_latency

    lat = load_latency([paths.LATENCY_DATA / f for f in PAPER_LATENCY_FILES[:2]])
    lat = lat[lat["model_id"].isin(figure2_ids)]
    published = lat.assign(source="published sizes")
    parts = [published]
    if counts is not None and len(counts):
        ours = lat.drop(columns=["macs", "params"]).merge(
            counts[["model_id", "macs", "params"]], on="model_id", how="inner")
        parts.append(ours.assign(source="our fvcore counts"))
    return pd.concat(parts, ignore_index=True)


def best_predictors(correlations: pd.DataFrame, paired: pd.DataFrame) -> pd.DataFrame:
    """Per device: the metric with the highest ρ, its runner-up, the paired Δρ between them
    (CI, Holm-adjusted p over the device's comparisons) and whether the best is *shown*
    better than the runner-up and than all others (:func:`analysis.stats.paired_comparisons`)."""
    rows = []
    for device, part in correlations.dropna(subset=["rho"]).groupby("device", sort=False):
        best = part.sort_values("rho", ascending=False).iloc[0]
        comp = paired[(paired["device"] == device) & (paired["best"] == best["metric"])]
        runner = comp.sort_values("rho_other", ascending=False).iloc[0] if len(comp) else None

        def get(key, default=math.nan):
            return default if runner is None else runner[key]

        rows.append({
            "device": device, "best_metric": best["metric"], "rho": best["rho"], "n": best["n"],
            "inference": best["inference"], "runner_up": get("other", None),
            "runner_up_rho": get("rho_other"), "delta": get("delta"),
            "delta_ci_low": get("ci_low"), "delta_ci_high": get("ci_high"),
            "p_holm": get("p_holm"), "n_comparisons": int(get("n_comparisons", 0)),
            "better_than_runner_up": bool(get("better", False)),
            "better_than_all": bool(len(comp) and comp["better"].all())})
    return pd.DataFrame(rows)


def table1_reproduction(figure2_ids: Sequence[str], counts: pd.DataFrame, *,
                        n_bootstrap: int, seed: int) -> pd.DataFrame:
    """Table 1 from the paper's own Table 9 data (published sizes and our fvcore counts) next
    to the paper's values (:func:`table1_comparison`)."""
    inputs = paper_table1_inputs(figure2_ids, counts[counts["model_id"].isin(figure2_ids)])
    ours = pd.concat([
        correlation_table(part, ["macs", "params"], n_bootstrap=n_bootstrap, seed=seed)
        .assign(source=source) for source, part in inputs.groupby("source", sort=False)],
        ignore_index=True)
    paper = pd.read_csv(paths.paper_table("table1_spearman"))
    return table1_comparison(paper, ours, TABLE1_DEVICES)


def agreement_tables(joined: pd.DataFrame, *, n_bootstrap: int,
                     seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Rank agreement between devices: the long table of
    :func:`analysis.stats.rank_agreement`, and the square ρ and n matrices for the heat map."""
    from analysis.stats import rank_agreement

    wide = joined.pivot_table(index="model", columns="device", values="latency_ms", sort=False)
    agreement = rank_agreement(wide, n_bootstrap=n_bootstrap, seed=seed)
    order = list(wide.columns)
    rho = agreement.pivot(index="a", columns="b", values="rho")
    rho = rho.combine_first(rho.T).reindex(index=order, columns=order)
    n = agreement.pivot(index="a", columns="b", values="n")
    n = n.combine_first(n.T).reindex(index=order, columns=order)
    return agreement, rho, n


def device_subtitles(latency: pd.DataFrame) -> dict[str, str]:
    """Per device (as named by :func:`device_key`): its runtime — unless the name already
    carries it — and the statistic, in words, for the figure titles."""
    out = {}
    for device, part in latency.groupby("device", sort=False):
        runtimes = sorted(set(part["runtime"].astype(str)))
        stats = sorted(set(part["statistic"].astype(str)))
        words = []
        if not all(f"· {r}" in str(device) for r in runtimes):
            words.append("runtime not stated" if runtimes == ["unstated"] else
                         "runtime " + ", ".join(runtimes))
        words.append("statistic not stated" if stats == ["unstated"] else
                     ", ".join(stats) + " latency")
        out[str(device)] = "; ".join(words)
    return out


#: What the result files of notebook 01 hold (``summary.json`` describes them).
RESULT_FILES = {
    "correlations.csv": "per device × metric: Spearman ρ, scipy p, bootstrap CI (n > 8), "
                        "exact permutation p (n ≤ 8), Kendall τ, n, primary inference, supported",
    "table1_comparison.csv": "the paper's Table 1 next to ours on its own data (published sizes "
                             "and our fvcore counts)",
    "claim_verdicts.csv": "the paper's 'weakly correlated' claim judged per device and metric",
    "paired_comparisons.csv": "per device, the best metric vs every other: paired-bootstrap Δρ, "
                              "CI, p and Holm-adjusted p",
    "best_predictors.csv": "per device, the best metric, its runner-up and whether it is shown "
                           "better",
    "device_agreement.csv": "Spearman ρ between devices' latency rankings",
    "correlations_conv_only.csv": "as correlations.csv, convolutional models only",
    "joined.csv": "the latency rows joined with the complexity counts",
}


def summary(*, parameters: dict, files, selection, metrics, join: JoinReport,
            sources: dict, figures, conclusion: str, settings: dict) -> dict:
    """Notebook 01's ``summary.json``."""
    from analysis.provenance import provenance

    return {"notebook": "01_metric_correlation", "parameters": parameters,
            "statistics": settings, "provenance": provenance("01_metric_correlation"),
            "latency_files": [paths.relative(f) for f in files], "device_sources": sources,
            "models": list(selection), "metrics": list(metrics),
            "not_countable": join.not_countable, "not_measured": join.not_measured,
            "files": RESULT_FILES, "figures": [paths.relative(f) for f in figures],
            "conclusion": conclusion}
