"""The tables of the ablation notebooks (Tables 2 and 3): what differs between the two
notebooks (:class:`AblationTable`), the paper's values, and the *series* — one column of
latencies over the variants: the paper's iPhone 12 (``paper``), a runtime measured here
(``torch``, ``onnxruntime``), or a device of the user's file (``device_<slug>``) — with their
slowdowns relative to the table's reference, the wide comparison table the notebooks write,
and the rank agreement with the paper. :mod:`analysis.ablation_study` builds, counts and
measures the networks and re-exports these names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from analysis import paths
from analysis.errors import ConfigError
from analysis.models.ablation import PAPER_TABLES, variants
from analysis.report_ablation import PAPER_KEY
from analysis.util import slug

PAPER_LABEL = "Paper: iPhone 12 (Core ML, min)"
#: Cost counts shown next to latency (columns of :func:`complexity_table`), with labels.
COST_LABELS = {
    "macs": "MACs (fvcore default = paper's FLOPs)",
    "elementwise": "element-wise ops (fvcore skips)",
    "params": "parameters",
    "memory_bytes": "memory traffic (bytes, est.)",
    "merges": "multi-branch merges",
    "operators": "operators",
}
#: Costs whose ratio to the reference is reported (``<cost>_vs_first``) and charted.
RATIO_COSTS = ("macs", "elementwise", "memory_bytes", "params")


@dataclass(frozen=True)
class AblationTable:
    """What differs between the two notebooks."""

    table: str  # "table2" or "table3" (analysis.models.ablation.variants)
    notebook: str  # the notebook's stem (its results folder)
    paper_name: str  # "Table 2" / "Table 3"
    reference: str  # model id every slowdown is relative to
    reference_label: str  # its short name in text and axis labels
    csv_name: str  # the results file in OUTPUT_DIR
    figure_prefix: str  # figure file names start with it

    def figure_name(self, what: str) -> str:
        """A figure's file stem from the table's own prefix: ``cost_ratios`` →
        ``table2_activation_cost_ratios_vs_relu``, ``latency`` →
        ``table2_activation_latency_paper_vs_ours``, ``slowdown`` →
        ``table2_activation_slowdown_vs_relu``."""
        ref = slug(self.reference_label)
        names = {"cost_ratios": f"cost_ratios_vs_{ref}", "latency": "latency_paper_vs_ours",
                 "slowdown": f"slowdown_vs_{ref}"}
        if what not in names:
            raise ConfigError(f"unknown figure {what!r}; known: {', '.join(names)}")
        return f"{self.figure_prefix}_{names[what]}"


TABLES = {
    "table2": AblationTable("table2", "02_activation_ablation", "Table 2", "ablation_relu",
                            "ReLU", "ablation_activations.csv", "table2_activation"),
    "table3": AblationTable("table3", "03_block_ablation", "Table 3", "ablation_baseline",
                            "baseline", "ablation_blocks.csv", "table3_block"),
}


def get_table(table: str) -> AblationTable:
    if table not in TABLES:
        raise ConfigError(f"unknown ablation table {table!r}; known: {', '.join(TABLES)}")
    return TABLES[table]


def paper_results(table: str) -> pd.DataFrame:
    """The paper's table joined to our variants: ``model_id``, ``model`` (display name),
    ``paper_row``, ``paper_mobile_ms`` (iPhone 12; NaN where the paper's value is not
    available) and ``note``, one row per variant in the paper's order."""
    table = get_table(table).table
    name, column = PAPER_TABLES[table]
    paper = pd.read_csv(paths.paper_table(name), dtype={column: str}).set_index(column)
    notes = paper["note"].fillna("") if "note" in paper.columns else None
    return pd.DataFrame([
        {"model_id": v.id, "model": v.display_name, "paper_row": v.paper_row,
         "paper_mobile_ms": float(paper.loc[v.paper_row, "mobile_ms"]),
         "note": "" if notes is None else str(notes.loc[v.paper_row])}
        for v in variants(table)])


# -- series: paper, this machine, user devices ----------------------------------------------------

SERIES_COLUMNS = ("series", "key", "kind", "statistic", "model_id", "model", "paper_row",
                  "latency_ms", "median_ms")


def paper_series(table: str) -> pd.DataFrame:
    """The paper's iPhone 12 column as a series (NaN where the value is not available)."""
    p = paper_results(get_table(table).table)
    return pd.DataFrame({"series": PAPER_LABEL, "key": PAPER_KEY, "kind": "paper",
                         "statistic": "min", "model_id": p["model_id"], "model": p["model"],
                         "paper_row": p["paper_row"], "latency_ms": p["paper_mobile_ms"],
                         "median_ms": np.nan})


def measured_series(table: str, measured: pd.DataFrame) -> pd.DataFrame:
    """This machine's measurements (:func:`measure_variants`) as one series per runtime:
    ``latency_ms`` = min (the paper's statistic), ``median_ms`` = median."""
    ids = pd.DataFrame([{"model_id": v.id, "model": v.display_name, "paper_row": v.paper_row}
                        for v in variants(get_table(table).table)])
    parts = []
    if len(measured) == 0:
        return pd.DataFrame(columns=list(SERIES_COLUMNS))
    for runtime, part in measured.groupby("runtime", sort=False):
        part = ids.merge(part[["model_id", "min_ms", "median_ms"]], on="model_id", how="left")
        parts.append(pd.DataFrame({
            "series": f"This CPU: {runtime} (min)", "key": slug(runtime),
            "kind": "this machine", "statistic": "min", "model_id": part["model_id"],
            "model": part["model"], "paper_row": part["paper_row"],
            "latency_ms": part["min_ms"], "median_ms": part["median_ms"]}))
    return pd.concat(parts, ignore_index=True)


@dataclass
class DeviceSeries:
    """A user's latency file reduced to this table's variants."""

    series: pd.DataFrame  # SERIES_COLUMNS, one block per (device, runtime)
    ignored: list[str]  # models of the file that are not variants of this table
    missing: dict[str, list[str]]  # series -> variants of this table it does not measure
    input_sizes: dict[str, list[int]]  # series -> input sizes found (export default: 224)


def device_series(table: str, latency: pd.DataFrame) -> DeviceSeries:
    """One series per (device, runtime) of a :func:`~analysis.latency.load_latency` table.

    Rows name the networks by their registered display name (``Ablation ReLU``, as in the
    export template) or id (``ablation_relu``); rows for other models are ignored (and
    listed). The series is named ``"<device> (<runtime>, <statistic>)"`` and keyed
    ``device_<slug of device and runtime>``. Two rows for the same variant in one series
    (e.g. two input sizes) are an error.
    """
    chosen = variants(get_table(table).table)
    ids = [v.id for v in chosen]
    lat = latency.copy()
    in_table = lat["model_id"].isin(ids)
    ignored = sorted(set(lat.loc[~in_table, "model"].astype(str)))
    lat = lat[in_table]
    parts, missing, sizes = [], {}, {}
    used_keys = {PAPER_KEY, "torch", "onnxruntime"}
    for (device, runtime), part in lat.groupby(["device", "runtime"], sort=False):
        dup = part[part.duplicated("model_id", keep=False)]
        if len(dup):
            raise ConfigError(
                f"LATENCY_CSV: {dup['model'].iloc[0]} appears {len(dup)} times for device "
                f"{device!r}, runtime {runtime!r} (lines "
                f"{', '.join(str(x) for x in dup['line'])}); "
                f"keep one row per network and device (e.g. one input size)")
        statistic = "/".join(sorted(set(part["statistic"].astype(str))))
        label = f"{device} ({runtime}, {statistic})"
        key = base = "device_" + slug(f"{device}_{runtime}")
        n = 2
        while key in used_keys:
            key, n = f"{base}_{n}", n + 1
        used_keys.add(key)
        merged = pd.DataFrame([{"model_id": v.id, "model": v.display_name,
                                "paper_row": v.paper_row} for v in chosen]).merge(
            part[["model_id", "latency_ms"]], on="model_id", how="left")
        parts.append(merged.assign(series=label, key=key, kind="device", statistic=statistic,
                                   median_ms=np.nan)[list(SERIES_COLUMNS)])
        absent = merged.loc[merged["latency_ms"].isna(), "model"].tolist()
        if absent:
            missing[label] = absent
        sizes[label] = sorted({int(s) for s in part["input_size"].dropna()})
    series = (pd.concat(parts, ignore_index=True) if parts
              else pd.DataFrame(columns=list(SERIES_COLUMNS)))
    return DeviceSeries(series, ignored, missing, sizes)


def add_slowdowns(long: pd.DataFrame, reference: str) -> pd.DataFrame:
    """``slowdown`` = ``latency_ms`` / the reference variant's ``latency_ms`` within each series,
    ``median_slowdown`` the same for ``median_ms`` (NaN where either value is missing)."""
    out = long.copy()
    for value, name in (("latency_ms", "slowdown"), ("median_ms", "median_slowdown")):
        ref = out[out["model_id"] == reference].set_index("key")[value].astype(float)
        if ref.index.duplicated().any():
            raise ConfigError(f"reference {reference} appears twice in one series")
        out[name] = out[value].astype(float) / out["key"].map(ref).astype(float)
    return out


def series_table(table: str, measured: pd.DataFrame,
                 devices: DeviceSeries | None = None) -> pd.DataFrame:
    """Long table, one row per (series, variant): the paper, each runtime measured here, each
    device of the user's file; with :func:`add_slowdowns` relative to the table's reference."""
    parts = [paper_series(table), measured_series(table, measured)]
    if devices is not None:
        parts.append(devices.series)
    parts = [p for p in parts if len(p)]
    long = pd.concat(parts, ignore_index=True)
    long["latency_ms"] = long["latency_ms"].astype(float)
    long["median_ms"] = long["median_ms"].astype(float)
    return add_slowdowns(long, get_table(table).reference)


def series_info(long: pd.DataFrame) -> pd.DataFrame:
    """One row per series: ``series, key, kind, statistic, n_values`` (variants with a value)."""
    return (long.groupby(["series", "key", "kind", "statistic"], sort=False)["latency_ms"]
            .count().rename("n_values").reset_index())


def comparison_table(long: pd.DataFrame, complexity: pd.DataFrame) -> pd.DataFrame:
    """Wide table, one row per variant (the notebook's CSV).

    Columns: ``model_id, model, paper_row``, the counts (``macs, elementwise, params,
    activations, memory_bytes, operators, layers, merges``) and their ``*_vs_first`` ratios;
    ``paper_ms, paper_slowdown``; for every runtime measured here ``<rt>_min_ms,
    <rt>_median_ms, <rt>_slowdown`` (from the min) and ``<rt>_median_slowdown``; for every
    user device ``<key>_ms, <key>_slowdown``.
    """
    counts = ["macs", "elementwise", "params", "activations", "memory_bytes", "operators",
              "layers", "merges"]
    ratios = [c for c in complexity.columns if c.endswith("_vs_first")]
    wide = complexity[["model_id", "model", "paper_row", *counts, *ratios]].copy()
    for key, part in long.groupby("key", sort=False):
        part = part.set_index("model_id")
        kind = part["kind"].iloc[0]
        if kind == "this machine":
            cols = {f"{key}_min_ms": part["latency_ms"], f"{key}_median_ms": part["median_ms"],
                    f"{key}_slowdown": part["slowdown"],
                    f"{key}_median_slowdown": part["median_slowdown"]}
        else:
            cols = {f"{key}_ms": part["latency_ms"], f"{key}_slowdown": part["slowdown"]}
        for name, values in cols.items():
            wide[name] = wide["model_id"].map(values)
    return wide


def latency_view(long: pd.DataFrame, value: str = "latency_ms") -> pd.DataFrame:
    """``value`` per variant (rows, paper's labels) and series (columns), for display."""
    return long.pivot_table(index="paper_row", columns="series", values=value, sort=False,
                            dropna=False).reindex(list(dict.fromkeys(long["paper_row"])))


def cost_ratio_data(complexity: pd.DataFrame) -> pd.DataFrame:
    """Long table ``paper_row, cost, ratio`` of every :data:`RATIO_COSTS` ratio to the
    reference, for a chart next to the slowdowns."""
    rows = []
    for _, r in complexity.iterrows():
        for cost in RATIO_COSTS:
            rows.append({"paper_row": r["paper_row"], "cost": COST_LABELS[cost],
                         "ratio": r[f"{cost}_vs_first"]})
    return pd.DataFrame(rows)


# -- rank agreement with the paper --------------------------------------------------------------

def paper_rank_correlation(long: pd.DataFrame, *, n_bootstrap: int = 10_000,
                           seed: int = 0) -> pd.DataFrame:
    """Spearman ρ between the paper's latencies and every other series over the variants both
    have: ``series, key``, the columns of :class:`analysis.stats.Correlation` (for n ≤ 8 the
    exact permutation p is the primary inference and no CI is given) and ``critical_rho``
    (|ρ| needed for exact p ≤ 0.05 at that n). Empty when the paper has fewer than 3 values."""
    from analysis.stats import CORRELATION_COLUMNS, spearman_ci, spearman_critical_value

    cols = ["series", "key", *CORRELATION_COLUMNS, "critical_rho"]
    paper = long[long["key"] == PAPER_KEY].set_index("model_id")["latency_ms"]
    rows = []
    if paper.notna().sum() >= 3:
        for key, part in long[long["key"] != PAPER_KEY].groupby("key", sort=False):
            part = part.set_index("model_id")
            both = pd.concat([paper, part["latency_ms"]], axis=1, keys=["p", "o"]).dropna()
            c = spearman_ci(both["p"], both["o"], n_bootstrap, seed)
            rows.append({"series": part["series"].iloc[0], "key": key, **c.as_dict(),
                         "critical_rho": spearman_critical_value(c.n)})
    return pd.DataFrame(rows, columns=cols)


def cost_correlations(long: pd.DataFrame, complexity: pd.DataFrame, *,
                      costs: Sequence[str] = ("macs", "elementwise", "memory_bytes", "merges",
                                              "operators"),
                      n_bootstrap: int = 10_000, seed: int = 0) -> pd.DataFrame:
    """Spearman ρ between each cost count and latency over the variants, per series
    (:func:`analysis.stats.correlation_table` with ``by="series"``). Exploratory: n = number of
    variants."""
    from analysis.stats import correlation_table

    data = long.dropna(subset=["latency_ms"]).merge(
        complexity[["model_id", *costs]], on="model_id", how="left")
    return correlation_table(data, list(costs), by="series", n_bootstrap=n_bootstrap, seed=seed)


