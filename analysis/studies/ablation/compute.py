"""Notebooks 02 and 03's numbers: the 30-layer networks of the paper's Tables 2 and 3, their
cost counts, the latency *series* and the tables that compare them with the paper.

MobileOne (Vasu et al., CVPR 2023, §3) times one 30-layer CNN on an iPhone 12 with seven
activations (Table 2) and with Squeeze-Excite or skip connections added (Table 3), to show that
what forces a synchronization (a global pool) or adds memory traffic costs far more latency than
its FLOPs suggest. The networks are :mod:`analysis.models.ablation`'s.

A *series* is one column of latencies over the variants: the paper's iPhone 12 (key
``paper``), a runtime measured on a CPU (key = the runtime: ``torch``, ``onnxruntime``; see
:mod:`analysis.studies.ablation.measure`), or a device of the user's file (key
``device_<slug>``). Every series is compared with its own reference variant (ReLU in Table 2,
the baseline in Table 3): ``slowdown = latency / latency of the reference``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from analysis import paths
from analysis.complexity import count_complexity
from analysis.constants import N_BOOTSTRAP
from analysis.errors import ConfigError
from analysis.latency import describe_latency, load_latency
from analysis.models.ablation import (PAPER_TABLES, AblationNet, build_variant, layer_table,
                                      variants)
from analysis.stats import CORRELATION_COLUMNS, spearman_ci, spearman_critical_value

#: Series key of the paper's iPhone 12 column.
PAPER_KEY = "paper"
PAPER_LABEL = "Paper: iPhone 12 (Core ML, min)"
#: Where Table 3's "+ Squeeze-Excite" may put SE (``AblationNet(se=…)``).
SE_CHOICES = ("every", "block", "last_stage")
#: The command that exports the networks a device file must hold.
EXPORT_COMMAND = "python -m analysis export --models ablation"
#: Table 2 variants whose activation needs a global average pool of the feature map (a
#: synchronization point: every output waits for the whole input).
SYNCHRONIZING = ("ablation_se_relu", "ablation_dynamic_shift_max", "ablation_dyrelu_a",
                 "ablation_dyrelu_b")
#: Cost counts whose ratio to the reference is reported (``<cost>_vs_first``) and charted.
RATIO_COSTS = ("macs", "elementwise", "memory_bytes", "params")
COST_LABELS = {"macs": "MACs (fvcore default = paper's FLOPs)",
               "elementwise": "element-wise ops (fvcore skips)",
               "memory_bytes": "memory traffic (bytes, est.)", "params": "parameters"}
#: Counts of the comparison table, in order.
COUNTS = ("macs", "elementwise", "params", "activations", "memory_bytes", "operators", "layers",
          "merges")
#: Counts correlated with latency across the variants (exploratory). MACs are not among them:
#: the variants' MACs differ by at most a fraction of a per cent, so a rank correlation of
#: MACs would rank rounding-size differences, not cost.
CORRELATED_COSTS = ("elementwise", "memory_bytes", "merges", "operators")
SERIES_COLUMNS = ("series", "key", "kind", "statistic", "model_id", "model", "paper_row",
                  "latency_ms", "median_ms")


@dataclass(frozen=True)
class AblationTable:
    """What differs between notebooks 02 and 03."""

    table: str  # "table2" or "table3" (analysis.models.ablation.variants)
    notebook: str  # the notebook's stem
    paper_name: str  # "Table 2" / "Table 3"
    reference: str  # model id every slowdown is relative to
    reference_label: str  # its short name in text and axis labels
    comparison: str  # name of the wide result table (its CSV)
    figure_prefix: str  # figure file names start with it

    @property
    def ids(self) -> list[str]:
        return [v.id for v in variants(self.table)]

    def figure_name(self, what: str) -> str:
        """``cost_ratios`` → ``table2_activation_cost_ratios_vs_relu``, ``latency`` →
        ``…_latency_paper_vs_ours``, ``slowdown`` → ``…_slowdown_vs_relu``."""
        ref = slug(self.reference_label)
        names = {"cost_ratios": f"cost_ratios_vs_{ref}", "latency": "latency_paper_vs_ours",
                 "slowdown": f"slowdown_vs_{ref}"}
        return f"{self.figure_prefix}_{names[what]}"


TABLES = {
    "02_activation_ablation": AblationTable("table2", "02_activation_ablation", "Table 2",
                                            "ablation_relu", "ReLU", "ablation_activations",
                                            "table2_activation"),
    "03_block_ablation": AblationTable("table3", "03_block_ablation", "Table 3",
                                       "ablation_baseline", "baseline", "ablation_blocks",
                                       "table3_block"),
}


def slug(text: str) -> str:
    """Lower-case ``[a-z0-9_]`` form of a name, for keys and column names."""
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_") or "x"


def user_files(value) -> list[Path]:
    """The files of a ``*_CSV`` parameter (``None``, a path, ``"a.csv,b.csv"`` or a list)."""
    items = value if isinstance(value, (list, tuple)) else str(value or "").split(",")
    return [paths.user_path(str(v).strip()) for v in items if str(v).strip()]


def paper_file(spec: AblationTable) -> Path:
    return paths.paper_table(PAPER_TABLES[spec.table][0])


def paper_results(spec: AblationTable) -> pd.DataFrame:
    """The paper's table joined to our variants: ``model_id, model, paper_row, paper_ms``
    (iPhone 12) and ``note``, one row per variant in the paper's order."""
    column = PAPER_TABLES[spec.table][1]
    paper = pd.read_csv(paper_file(spec), dtype={column: str}).set_index(column)
    notes = paper["note"].fillna("") if "note" in paper.columns else None
    return pd.DataFrame([
        {"model_id": v.id, "model": v.display_name, "paper_row": v.paper_row,
         "paper_ms": float(paper.loc[v.paper_row, "mobile_ms"]),
         "note": "" if notes is None else str(notes.loc[v.paper_row])}
        for v in variants(spec.table)])


# -- the networks ---------------------------------------------------------------------------------

def build_networks(spec: AblationTable, *, depth: int, width: int, input_size: int,
                   se_placement: str = "every") -> dict[str, AblationNet]:
    """Every variant of the table, ``{model_id: network}`` in the paper's row order
    (``se_placement``: where Table 3's "+SE" puts Squeeze-Excite)."""
    if se_placement not in SE_CHOICES:
        raise ConfigError(f"SE_PLACEMENT={se_placement!r} is not one of {', '.join(SE_CHOICES)}")
    return {v.id: build_variant(v.id, depth=depth, width=width, input_size=input_size,
                                **({"se": se_placement} if v.id == "ablation_se" else {}))
            for v in variants(spec.table)}


def layers_of(model: AblationNet) -> pd.DataFrame:
    """:func:`~analysis.models.ablation.layer_table` of ``model`` as a frame (one row per weight
    layer; ``residual_from`` an integer column with <NA>)."""
    frame = pd.DataFrame(layer_table(model))
    frame["residual_from"] = pd.array(frame["residual_from"], dtype="Int64")
    return frame


def placement_table(networks: Mapping[str, AblationNet]) -> pd.DataFrame:
    """The baseline's layers with where Table 3's blocks go: ``se_in_plus_se`` (a Squeeze-Excite
    block after this layer's BN in the "+SE" network) and ``skip_in_plus_skip`` (the layer whose
    input is added before this layer's activation in the "+skip" network, or <NA>)."""
    out = layers_of(networks["ablation_baseline"]).drop(columns=["se", "residual_from"])
    out["se_in_plus_se"] = layers_of(networks["ablation_se"])["se"].to_numpy()
    out["skip_in_plus_skip"] = layers_of(networks["ablation_skip"])["residual_from"].to_numpy()
    return out


# -- cost counts ----------------------------------------------------------------------------------

def complexity_table(spec: AblationTable, networks: Mapping[str, AblationNet],
                     input_size: int) -> pd.DataFrame:
    """Every count of :class:`~analysis.complexity.Complexity` per variant (deployed form;
    ``macs`` is fvcore's default, the paper's "FLOPs") with ``model_id, model, paper_row`` and
    ``<cost>_vs_first`` for every :data:`RATIO_COSTS` (ratio to the table's first row)."""
    rows = []
    for v in variants(spec.table):
        counts = count_complexity(networks[v.id], input_size).as_row()
        for key in ("input_shape", "fused"):
            counts.pop(key)
        rows.append({"model_id": v.id, "model": v.display_name, "paper_row": v.paper_row,
                     **counts})
    cx = pd.DataFrame(rows)
    for cost in RATIO_COSTS:
        cx[f"{cost}_vs_first"] = cx[cost] / cx[cost].iloc[0]
    return cx


def counts_view(cx: pd.DataFrame) -> pd.DataFrame:
    """The counts in readable units (M = 10⁶, MB = 10⁶ bytes), one row per variant."""
    return pd.DataFrame({
        "MACs (M)": cx["macs"] / 1e6, "MACs ×": cx["macs_vs_first"],
        "element-wise (M)": cx["elementwise"] / 1e6,
        "element-wise ×": cx["elementwise_vs_first"], "params (M)": cx["params"] / 1e6,
        "memory (MB)": cx["memory_bytes"] / 1e6, "memory ×": cx["memory_bytes_vs_first"],
        "merges": cx["merges"], "operators": cx["operators"],
    }).set_index(cx["paper_row"].rename("variant"))


def cost_ratio_data(cx: pd.DataFrame) -> pd.DataFrame:
    """Long table ``paper_row, cost, ratio`` of every :data:`RATIO_COSTS` ratio (for the chart)."""
    return pd.DataFrame([{"paper_row": r["paper_row"], "cost": COST_LABELS[cost],
                          "ratio": r[f"{cost}_vs_first"]}
                         for _, r in cx.iterrows() for cost in RATIO_COSTS])


# -- the user's device file -----------------------------------------------------------------------

@dataclass(frozen=True)
class DeviceFile:
    """A user's latency file(s) reduced to one table's variants."""

    files: tuple[Path, ...] = ()
    series: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SERIES_COLUMNS))
    ignored: tuple[str, ...] = ()  # models of the file that are not variants of this table
    missing: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # series -> variants
    input_sizes: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    description: str = ""  # describe_latency of the files


def require_networks(spec: AblationTable, latency: pd.DataFrame, parameter: str,
                     files: Sequence[Path], advice: str) -> None:
    """One-line :class:`ConfigError` when ``latency`` holds none of the table's networks."""
    if latency["model_id"].isin(spec.ids).any():
        return
    names = ", ".join(v.display_name for v in variants(spec.table))
    raise ConfigError(f"{parameter}: {', '.join(p.name for p in files)} holds none of the "
                      f"{len(spec.ids)} {spec.paper_name} networks ({names}); {advice}")


def device_file(spec: AblationTable, value) -> DeviceFile:
    """The user's on-device file(s) for this table (validated by :func:`load_latency`; a file
    without any of the table's networks is a :class:`ConfigError` advising the export)."""
    files = user_files(value)
    if not files:
        return DeviceFile()
    latency = load_latency(files)
    require_networks(spec, latency, "LATENCY_CSV", files,
                     f"export them first with `{EXPORT_COMMAND}`, time them on the device and "
                     f"fill in the export's latency_template.csv")
    series, ignored, missing, sizes = device_series(spec, latency)
    return DeviceFile(tuple(files), series, ignored, missing, sizes, describe_latency(latency))


def device_series(spec: AblationTable, latency: pd.DataFrame):
    """``(series, ignored, missing, input_sizes)``: one series per (device, runtime) of a
    :func:`~analysis.latency.load_latency` table, named ``"<device> · <runtime> (<statistic>)"``
    and keyed ``device_<slug>``; rows for other models are ignored (and listed). Two rows for
    one variant in one series (e.g. two input sizes) are an error."""
    lat = latency[latency["model_id"].isin(spec.ids)]
    ignored = tuple(sorted(set(latency.loc[~latency["model_id"].isin(spec.ids), "model"]
                               .astype(str))))
    parts, missing, sizes, used = [], {}, {}, {PAPER_KEY, "torch", "onnxruntime"}
    for (device, runtime), part in lat.groupby(["device", "runtime"], sort=False):
        dup = part[part.duplicated("model_id", keep=False)]
        if len(dup):
            raise ConfigError(
                f"LATENCY_CSV: {dup['model'].iloc[0]} appears {len(dup)} times for device "
                f"{device!r}, runtime {runtime!r} (lines {', '.join(map(str, dup['line']))}); "
                f"keep one row per network and device (e.g. one input size)")
        statistic = "/".join(sorted(set(part["statistic"].astype(str))))
        label = f"{device} · {runtime} ({statistic})"
        key = base = "device_" + slug(f"{device}_{runtime}")
        n = 2
        while key in used:
            key, n = f"{base}_{n}", n + 1
        used.add(key)
        merged = variant_frame(spec).merge(part[["model_id", "latency_ms"]], on="model_id",
                                           how="left")
        parts.append(merged.assign(series=label, key=key, kind="device", statistic=statistic,
                                   median_ms=np.nan)[list(SERIES_COLUMNS)])
        absent = tuple(merged.loc[merged["latency_ms"].isna(), "model"])
        if absent:
            missing[label] = absent
        sizes[label] = tuple(sorted({int(s) for s in part["input_size"].dropna()}))
    series = (pd.concat(parts, ignore_index=True) if parts
              else pd.DataFrame(columns=list(SERIES_COLUMNS)))
    return series, ignored, missing, sizes


# -- series and slowdowns -------------------------------------------------------------------------

def variant_frame(spec: AblationTable) -> pd.DataFrame:
    return pd.DataFrame([{"model_id": v.id, "model": v.display_name, "paper_row": v.paper_row}
                         for v in variants(spec.table)])


def paper_series(spec: AblationTable) -> pd.DataFrame:
    """The paper's iPhone 12 column as a series."""
    p = paper_results(spec)
    return pd.DataFrame({"series": PAPER_LABEL, "key": PAPER_KEY, "kind": "paper",
                         "statistic": "min", "model_id": p["model_id"], "model": p["model"],
                         "paper_row": p["paper_row"], "latency_ms": p["paper_ms"],
                         "median_ms": np.nan})


def measured_series(spec: AblationTable, rows: pd.DataFrame) -> pd.DataFrame:
    """Measurement rows (:class:`~analysis.studies.ablation.measure.Measured`) as one series
    per runtime, named ``"<device> · <runtime> (min)"``: ``latency_ms`` = min (the paper's
    statistic), ``median_ms`` = median; variants not measured are NaN."""
    parts = []
    for runtime, part in rows.groupby("runtime", sort=False):
        device = " / ".join(dict.fromkeys(part["device"].astype(str)))
        part = variant_frame(spec).merge(part[["model_id", "min_ms", "median_ms"]],
                                         on="model_id", how="left")
        parts.append(pd.DataFrame({
            "series": f"{device} · {runtime} (min)", "key": slug(runtime), "kind": "measured",
            "statistic": "min", "model_id": part["model_id"], "model": part["model"],
            "paper_row": part["paper_row"], "latency_ms": part["min_ms"],
            "median_ms": part["median_ms"]}))
    return (pd.concat(parts, ignore_index=True) if parts
            else pd.DataFrame(columns=list(SERIES_COLUMNS)))


def add_slowdowns(long: pd.DataFrame, reference: str) -> pd.DataFrame:
    """``slowdown`` = ``latency_ms`` / the reference's ``latency_ms`` within each series,
    ``median_slowdown`` the same for ``median_ms`` (NaN where either value is missing)."""
    out = long.copy()
    for value, name in (("latency_ms", "slowdown"), ("median_ms", "median_slowdown")):
        ref = out[out["model_id"] == reference].set_index("key")[value].astype(float)
        if ref.index.duplicated().any():
            raise ConfigError(f"reference {reference} appears twice in one series")
        out[name] = out[value].astype(float) / out["key"].map(ref).astype(float)
    return out


def series_table(spec: AblationTable, rows: pd.DataFrame,
                 devices: pd.DataFrame | None = None) -> pd.DataFrame:
    """Long table, one row per (series, variant): the paper, each runtime measured, each device
    of the user's file; with :func:`add_slowdowns` relative to the table's reference."""
    parts = [paper_series(spec), measured_series(spec, rows)]
    parts += [devices] if devices is not None else []
    long = pd.concat([p for p in parts if len(p)], ignore_index=True)
    long["latency_ms"] = long["latency_ms"].astype(float)
    long["median_ms"] = long["median_ms"].astype(float)
    return add_slowdowns(long, spec.reference)


def series_info(long: pd.DataFrame) -> pd.DataFrame:
    """One row per series: ``series, key, kind, statistic, n_values`` (variants with a value)."""
    return (long.groupby(["series", "key", "kind", "statistic"], sort=False)["latency_ms"]
            .count().rename("n_values").reset_index())


def latency_view(long: pd.DataFrame, value: str = "latency_ms") -> pd.DataFrame:
    """``value`` per variant (rows, the paper's labels) and series (columns), for display."""
    return long.pivot_table(index="paper_row", columns="series", values=value, sort=False,
                            dropna=False).reindex(list(dict.fromkeys(long["paper_row"])))


def comparison_table(long: pd.DataFrame, cx: pd.DataFrame) -> pd.DataFrame:
    """Wide table, one row per variant: ``model_id, model, paper_row``, the :data:`COUNTS` and
    their ``*_vs_first`` ratios; ``paper_ms, paper_slowdown``; per runtime measured
    ``<rt>_min_ms, <rt>_median_ms, <rt>_slowdown, <rt>_median_slowdown``; per user device
    ``<key>_ms, <key>_slowdown``."""
    ratios = [c for c in cx.columns if c.endswith("_vs_first")]
    wide = cx[["model_id", "model", "paper_row", *COUNTS, *ratios]].copy()
    for key, part in long.groupby("key", sort=False):
        part = part.set_index("model_id")
        if part["kind"].iloc[0] == "measured":
            cols = {f"{key}_min_ms": part["latency_ms"], f"{key}_median_ms": part["median_ms"],
                    f"{key}_slowdown": part["slowdown"],
                    f"{key}_median_slowdown": part["median_slowdown"]}
        else:
            cols = {f"{key}_ms": part["latency_ms"], f"{key}_slowdown": part["slowdown"]}
        for name, values in cols.items():
            wide[name] = wide["model_id"].map(values)
    return wide


def comparison_columns(wide: pd.DataFrame, long: pd.DataFrame) -> dict[str, str]:
    """What each column of :func:`comparison_table` holds (for ``summary.json``)."""
    series = dict(zip(long["key"], long["series"]))
    out = {"paper_row": "the variant's row label in the paper's table"}
    for c in wide.columns:
        if c.endswith("_vs_first"):
            out[c] = f"{c.removesuffix('_vs_first')} relative to the table's reference (first row)"
    for key, label in series.items():
        what = {"_ms": "latency, ms", "_min_ms": "minimum over the timed runs, ms",
                "_median_ms": "median over the timed runs, ms",
                "_slowdown": "latency / the reference's latency (×)",
                "_median_slowdown": "median / the reference's median (×)"}
        for suffix, text in what.items():
            if f"{key}{suffix}" in wide.columns:
                out[f"{key}{suffix}"] = f"{label}: {text}"
    return out


def paper_vs_ours(long: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Like with like: per variant and series outside the paper, the paper's and our latency
    over the reference in ms (``*_excess_ms``) and as slowdowns; ``slowdown_ratio`` = the
    paper's slowdown / ours."""
    paper = long[long["key"] == PAPER_KEY].set_index("model_id")
    ref_paper = float(paper.loc[reference, "latency_ms"])
    rows = []
    for _, part in long[long["key"] != PAPER_KEY].groupby("key", sort=False):
        ref_ms = part.loc[part["model_id"] == reference, "latency_ms"]
        ref_ms = float(ref_ms.iloc[0]) if len(ref_ms) else np.nan
        for _, r in part[part["model_id"] != reference].iterrows():
            p = paper.loc[r["model_id"]]
            rows.append({"paper_row": r["paper_row"], "model_id": r["model_id"],
                         "series": r["series"], "paper_ms": p["latency_ms"],
                         "paper_excess_ms": p["latency_ms"] - ref_paper,
                         "paper_slowdown": p["slowdown"], "ours_ms": r["latency_ms"],
                         "ours_excess_ms": r["latency_ms"] - ref_ms,
                         "ours_slowdown": r["slowdown"],
                         "slowdown_ratio": p["slowdown"] / r["slowdown"]})
    return pd.DataFrame(rows, columns=["paper_row", "model_id", "series", "paper_ms",
                                       "paper_excess_ms", "paper_slowdown", "ours_ms",
                                       "ours_excess_ms", "ours_slowdown", "slowdown_ratio"])


# -- rank agreement and cost correlations ---------------------------------------------------------

def paper_rank_correlation(long: pd.DataFrame) -> pd.DataFrame:
    """Spearman ρ between the paper's latencies and every other series over the variants both
    have: ``series, key``, the columns of :class:`analysis.stats.Correlation` (n ≤ 8 here: the
    exact permutation p is the primary inference, no interval) and ``critical_rho`` (|ρ| an
    exact test needs for p ≤ 0.05 at that n)."""
    paper = long[long["key"] == PAPER_KEY].set_index("model_id")["latency_ms"]
    rows = []
    for key, part in long[long["key"] != PAPER_KEY].groupby("key", sort=False):
        part = part.set_index("model_id")
        both = pd.concat([paper, part["latency_ms"]], axis=1, keys=["p", "o"]).dropna()
        c = spearman_ci(both["p"], both["o"], N_BOOTSTRAP)
        rows.append({"series": part["series"].iloc[0], "key": key, **c.as_dict(),
                     "critical_rho": spearman_critical_value(c.n)})
    return pd.DataFrame(rows, columns=["series", "key", *CORRELATION_COLUMNS, "critical_rho"])


def cost_correlations(long: pd.DataFrame, cx: pd.DataFrame,
                      costs: Sequence[str] = CORRELATED_COSTS) -> pd.DataFrame:
    """Spearman ρ between each count and latency over the variants, per series (exploratory:
    n = the number of variants, the exact test): ``series, metric`` and the columns of
    :class:`analysis.stats.Correlation`."""
    data = long.dropna(subset=["latency_ms"]).merge(cx[["model_id", *costs]], on="model_id")
    rows = []
    for label, part in data.groupby("series", sort=False):
        for cost in costs:
            c = spearman_ci(part[cost], part["latency_ms"], N_BOOTSTRAP)
            rows.append({"series": label, "metric": cost, **c.as_dict()})
    return pd.DataFrame(rows, columns=["series", "metric", *CORRELATION_COLUMNS])
