"""Notebooks 02 and 03's logic: the 30-layer activation and block ablations (Tables 2 and 3).

MobileOne (Vasu et al., CVPR 2023, §3) times one 30-layer CNN on an iPhone 12 with seven
activations (Table 2) and with Squeeze-Excite or skip connections added (Table 3), to show that
what forces a synchronization (global pooling) or adds memory traffic costs far more latency
than its FLOPs suggest. This module turns the networks of :mod:`analysis.models.ablation`, the
harness of :mod:`analysis.latency` and the paper's CSVs into the tables the notebooks show.

Flow::

    complexity_table(table, …)        counts per variant (MACs, element-wise, memory, merges)
    measure_variants(table, runtimes)  this machine, paper protocol (min and median)
    device_series(load_latency(csv))   an optional on-device file (e.g. a phone)
    ──► series_table(...)              long: one row per (series, variant), with slowdowns
    ──► comparison_table(...)          wide: one row per variant (the CSV the notebook writes)
    ──► paper_rank_correlation(...)    Spearman of every series against the paper's ranking
    ──► conclusion(...)                text generated from the numbers

A *series* is one column of latencies over the variants: the paper's iPhone 12 (``paper``), a
runtime measured here (``torch``, ``onnxruntime``), or a device of the user's file
(``device_<slug>``). Every series is compared with its own reference variant (ReLU in Table 2,
the baseline in Table 3): ``slowdown = latency / latency of the reference``.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from analysis import paths
from analysis.errors import AnalysisError, ConfigError
from analysis.models.ablation import (PAPER_TABLES, AblationNet, ablation_complexity,
                                      build_variant, layer_table, paper_results, variants)

#: Series key of the paper's iPhone 12 column.
PAPER_KEY = "paper"
PAPER_LABEL = "Paper: iPhone 12 (Core ML, min)"
#: A slowdown within this relative band of 1 is described as within run-to-run differences,
#: never as "more than its MACs suggest" (noise of a shared desktop CPU is of this order).
NOISE_BAND = 0.05
#: Table 2 variants whose activation needs a global average pool of the feature map (a
#: synchronization point: every output waits for the whole input), per ablation-ops.md.
SYNCHRONIZING = ("ablation_se_relu", "ablation_dynamic_shift_max", "ablation_dyrelu_a",
                 "ablation_dyrelu_b")
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
#: Table 3 variants for which Table 2 holds the closest published figure (the paper's Table 3
#: values were not recovered; data/paper/table3_blocks.csv notes this). The baseline is the
#: same network as Table 2's ReLU row; "+SE" is close to SE-ReLU, which has SE at every conv
#: layer (29) instead of the second conv of every block (12).
TABLE3_CLOSEST_PUBLISHED = {"ablation_baseline": "ablation_relu",
                            "ablation_se": "ablation_se_relu"}


@dataclass(frozen=True)
class AblationTable:
    """What differs between the two notebooks."""

    table: str  # "table2" or "table3" (analysis.models.ablation.variants)
    reference: str  # model id every slowdown is relative to
    reference_label: str  # its short name in text and axis labels
    what: str  # "activation" / "block"
    csv_name: str  # the results file in OUTPUT_DIR
    figure_prefix: str  # figure file names start with it


TABLES = {
    "table2": AblationTable("table2", "ablation_relu", "ReLU", "activation",
                            "ablation_activations.csv", "table2_activation"),
    "table3": AblationTable("table3", "ablation_baseline", "baseline", "block",
                            "ablation_blocks.csv", "table3_block"),
}


def get_table(table: str) -> AblationTable:
    if table not in TABLES:
        raise ConfigError(f"unknown ablation table {table!r}; known: {', '.join(TABLES)}")
    return TABLES[table]


def output_dirs(notebook: str, output_dir: str | Path | None,
                figure_dir: str | Path | None) -> tuple[Path, Path]:
    """``(results folder, figure folder)``: the given ones, else ``notebooks/outputs/<notebook>``
    and ``figures/``. The results folder is created."""
    out = Path(output_dir) if output_dir else paths.NOTEBOOK_OUTPUTS / notebook
    fig = Path(figure_dir) if figure_dir else paths.FIGURES
    out.mkdir(parents=True, exist_ok=True)
    return out, fig


def as_list(value) -> list:
    """A parameter given as one string or a list of strings (e.g. ``RUNTIMES``), as a list."""
    if value is None:
        return []
    if isinstance(value, (str, Path)):
        return [value]
    return list(value)


def slug(text: str) -> str:
    """Lower-case ``[a-z0-9_]`` form of a name, for column and file names."""
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_") or "x"


# -- the networks -----------------------------------------------------------------------------

def build_networks(table: str, *, depth: int, width: int,
                   input_size: int) -> dict[str, AblationNet]:
    """Every variant of ``table`` built at the given size, ``{model_id: network}`` in the
    paper's row order."""
    return {v.id: build_variant(v.id, depth=depth, width=width, input_size=input_size)
            for v in variants(get_table(table).table)}


def layout_summary(model: AblationNet) -> str:
    """One paragraph describing the built network (generated from its :func:`layer_table`)."""
    t = layer_table(model)
    convs = t[t["role"] != t["role"].iloc[-1]]
    cfg = model.config
    blocks = ", ".join(str(b) for b in cfg.stage_blocks)
    widths = ", ".join(str(w) for w in cfg.stage_widths)
    return (f"{cfg.depth} weight layers: {len(convs)} conv3×3-BN-activation layers and a linear "
            f"classifier after global average pooling. A stride-2 stem, then 4 stages, each a "
            f"stride-2 transition conv followed by ({blocks}) blocks of two stride-1 convs; "
            f"widths ({widths}) channels; the resolution goes from {cfg.input_size} px to "
            f"{int(convs['out_size'].iloc[-1])} px. Conv MACs (closed form): "
            f"{t['macs'].sum() / 1e6:,.1f} M.")


def placement_table(*, depth: int, width: int, input_size: int) -> pd.DataFrame:
    """The baseline's :func:`layer_table` with where Table 3's blocks go: ``se_in_plus_se``
    (a Squeeze-Excite block after this layer's BN in the "+SE" network) and
    ``skip_in_plus_skip`` (the layer whose input is added before this layer's activation in
    the "+skip" network, or <NA>)."""
    base = layer_table(build_variant("ablation_baseline", depth=depth, width=width,
                                     input_size=input_size))
    se = layer_table(build_variant("ablation_se", depth=depth, width=width,
                                   input_size=input_size))
    skip = layer_table(build_variant("ablation_skip", depth=depth, width=width,
                                     input_size=input_size))
    out = base.drop(columns=["se", "residual_from"])
    out["se_in_plus_se"] = se["se"].to_numpy()
    out["skip_in_plus_skip"] = skip["residual_from"].to_numpy()
    return out


def _ranges(numbers: Sequence[int]) -> str:
    """``[4, 7, 9, 10, 11]`` → ``"4, 7, 9–11"``."""
    numbers = sorted(int(n) for n in numbers)
    parts, start = [], None
    for i, n in enumerate(numbers):
        if start is None:
            start = n
        if i + 1 == len(numbers) or numbers[i + 1] != n + 1:
            parts.append(str(start) if start == n else f"{start}–{n}")
            start = None
    return ", ".join(parts)


def placement_summary(placement: pd.DataFrame) -> str:
    """Where "+SE" and "+skip" put their blocks, generated from :func:`placement_table`."""
    convs = placement[placement["kernel"] == 3]
    se = convs.loc[convs["se_in_plus_se"], "layer"].tolist()
    skips = convs.dropna(subset=["skip_in_plus_skip"])
    pairs = ", ".join(f"{int(r.skip_in_plus_skip)}→{int(r.layer)}" for r in skips.itertuples())
    return (f"- **+SE**: a Squeeze-Excite block (MobileOne's, ratio 1/16) between BN and ReLU of "
            f"{len(se)} of the {len(convs)} conv layers — the second conv of every block "
            f"(layers {_ranges(se)}), as in SE-ResNet.\n"
            f"- **+skip**: {len(skips)} identity shortcuts, one around every two-conv block "
            f"(input of layer a added before the ReLU of layer b, a→b: {pairs}), as in ResNet; "
            f"the stride-2 transitions have none (their shapes change).")


# -- cost counts -------------------------------------------------------------------------------

def complexity_table(table: str, *, depth: int, width: int, input_size: int) -> pd.DataFrame:
    """:func:`~analysis.models.ablation.ablation_complexity` (every count per variant, deployed
    form) plus ``<cost>_vs_first`` for every cost of :data:`RATIO_COSTS` (ratio to the
    reference, the table's first row)."""
    cx = ablation_complexity(get_table(table).table, depth=depth, width=width,
                             input_size=input_size)
    for cost in RATIO_COSTS:
        cx[f"{cost}_vs_first"] = cx[cost] / cx[cost].iloc[0]
    return cx


def complexity_view(cx: pd.DataFrame) -> pd.DataFrame:
    """The counts in readable units (M = 10⁶, MB = 10⁶ bytes), one row per variant."""
    view = pd.DataFrame({
        "variant": cx["paper_row"],
        "MACs (M)": cx["macs"] / 1e6,
        "MACs ×": cx["macs_vs_first"],
        "element-wise (M)": cx["elementwise"] / 1e6,
        "element-wise ×": cx["elementwise_vs_first"],
        "params (M)": cx["params"] / 1e6,
        "memory (MB)": cx["memory_bytes"] / 1e6,
        "memory ×": cx["memory_bytes_vs_first"],
        "merges": cx["merges"],
        "operators": cx["operators"],
    })
    return view.set_index("variant")


# -- measurement -------------------------------------------------------------------------------

def measure_variants(networks: Mapping[str, AblationNet], runtimes: Sequence[str], *,
                     runs: int, warmup: int, threads: int | None, input_size: int,
                     progress: bool = True) -> pd.DataFrame:
    """Time every network on every runtime with the harness (:func:`analysis.latency.
    measure_model`: deployed form, input pre-allocated and runtime prepared before timing,
    ``warmup`` dropped runs, ``runs`` timed one by one, minimum = the paper's statistic).

    ``networks`` is ``{model_id: module}`` (:func:`build_networks`). Returns the harness rows
    (``model`` = display name, ``model_id`` = the variant's id) for runtime after runtime. A
    model that fails on a runtime (e.g. an export failure) is skipped and reported in
    ``frame.attrs["failed"]`` (``{"runtime · model": message}``); configuration errors raise.
    """
    from analysis.latency import measure_model
    from analysis.models.ablation import get_variant

    runtimes = as_list(runtimes)
    if not runtimes:
        raise ConfigError("RUNTIMES is empty: name at least one of torch, onnxruntime")
    rows, failed = [], {}
    for runtime in runtimes:
        for model_id, module in networks.items():
            variant = get_variant(model_id)
            try:
                row = measure_model(module, runtime, runs=runs, warmup=warmup, threads=threads,
                                    input_size=input_size, name=variant.display_name,
                                    count=False)
            except AnalysisError:
                raise
            except Exception as exc:  # noqa: BLE001 - reported, the other models continue
                text = str(exc).strip()
                message = f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"
                failed[f"{runtime} · {variant.display_name}"] = message
                if progress:
                    print(f"{runtime:12s} {variant.display_name}: failed ({message})", flush=True)
                continue
            row["model_id"] = model_id
            rows.append(row)
            if progress:
                print(f"{runtime:12s} {variant.display_name:28s} min {row['min_ms']:9.3f} ms  "
                      f"median {row['median_ms']:9.3f} ms  cv {row['cv']:.3f}", flush=True)
    frame = pd.DataFrame(rows)
    frame.attrs["failed"] = failed
    return frame


#: Context columns of a measurement, per runtime (:func:`measurement_context`).
CONTEXT_COLUMNS = ("runtime", "runtime_version", "cpu", "cores_physical", "cores_logical",
                   "threads", "n_runs", "warmup", "input_size", "batch_size", "precision",
                   "fused", "statistic", "torch_version", "onnxruntime_version",
                   "python_version", "platform", "code_commit", "date")


def measurement_context(measured: pd.DataFrame) -> pd.DataFrame:
    """One row per runtime with the context of its measurements (CPU, threads, versions, runs,
    input size, precision, statistic, date of the first model); several values of a column
    within a runtime are joined with " / "."""
    rows = []
    for runtime, part in measured.groupby("runtime", sort=False):
        row = {}
        for col in CONTEXT_COLUMNS:
            if col not in part:
                continue
            values = list(dict.fromkeys(str(v) for v in part[col]))
            row[col] = values[0] if col == "date" or len(values) == 1 else " / ".join(values)
        row["statistic"] = "min (latency_ms); median also reported"
        rows.append(row)
    return pd.DataFrame(rows)


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


def chart_data(long: pd.DataFrame, value: str) -> pd.DataFrame:
    """Rows of ``long`` for a chart of ``value``. A series without any value (the paper's
    Table 3) is kept, so that every series keeps its colour across the charts, but its label
    says ``"— not available"`` (it draws no bars)."""
    out = long.copy()
    empty = ~out.groupby("key")[value].transform(lambda s: s.notna().any()).astype(bool)
    out.loc[empty, "series"] = out.loc[empty, "series"] + " — not available"
    return out


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

def _spearman_of_ranks(rx: np.ndarray, ry: np.ndarray) -> np.ndarray:
    rx = rx - rx.mean(axis=-1, keepdims=True)
    ry = ry - ry.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rx * ry).sum(axis=-1) / np.sqrt((rx ** 2).sum(axis=-1) * (ry ** 2).sum(axis=-1))


#: Largest n for which :func:`exact_spearman_p` enumerates every permutation (8! = 40 320).
EXACT_MAX_N = 8


def exact_spearman_p(x: Sequence[float], y: Sequence[float]) -> float:
    """Exact two-sided permutation p-value of Spearman's ρ (all n! orderings of y against x;
    ties keep their average ranks): the share of orderings with |ρ| ≥ the observed |ρ|.
    NaN for n < 3 or n > :data:`EXACT_MAX_N` or a constant input."""
    from scipy.stats import rankdata

    x, y = np.asarray(x, float), np.asarray(y, float)
    n = len(x)
    if n < 3 or n > EXACT_MAX_N or len(y) != n:
        return math.nan
    rx, ry = rankdata(x), rankdata(y)
    observed = float(_spearman_of_ranks(rx, ry))
    if not math.isfinite(observed):
        return math.nan
    perms = np.array(list(itertools.permutations(range(n))))
    rhos = _spearman_of_ranks(np.broadcast_to(rx, perms.shape), ry[perms])
    return float(np.mean(np.abs(rhos) >= abs(observed) - 1e-12))


def spearman_critical_value(n: int, alpha: float = 0.05) -> float:
    """Smallest |ρ| whose exact two-sided p-value (no ties) is ≤ ``alpha`` for ``n`` pairs;
    NaN when no ordering reaches it or n is outside 3..:data:`EXACT_MAX_N`."""
    if n < 3 or n > EXACT_MAX_N:
        return math.nan
    ranks = np.arange(1, n + 1, dtype=float)
    perms = np.array(list(itertools.permutations(range(n))))
    rhos = np.round(np.abs(_spearman_of_ranks(np.broadcast_to(ranks, perms.shape),
                                              ranks[perms])), 12)
    for value in np.unique(rhos):
        if np.mean(rhos >= value - 1e-12) <= alpha:
            return float(value)
    return math.nan


def paper_rank_correlation(long: pd.DataFrame, *, n_bootstrap: int = 10_000,
                           seed: int = 0) -> pd.DataFrame:
    """Spearman ρ between the paper's latencies and every other series over the variants both
    have: ``series, key, rho, p_value`` (scipy's), ``exact_p`` (:func:`exact_spearman_p`),
    ``ci_low, ci_high`` (percentile bootstrap, 95 %), ``kendall_tau, n``,
    ``critical_rho`` (|ρ| needed for exact p ≤ 0.05 at that n). Empty when the paper has fewer
    than 3 values (Table 3)."""
    from analysis.stats import spearman_ci

    cols = ["series", "key", "rho", "p_value", "exact_p", "ci_low", "ci_high", "kendall_tau",
            "n", "critical_rho"]
    paper = long[long["key"] == PAPER_KEY].set_index("model_id")["latency_ms"]
    rows = []
    if paper.notna().sum() >= 3:
        for key, part in long[long["key"] != PAPER_KEY].groupby("key", sort=False):
            part = part.set_index("model_id")
            both = pd.concat([paper, part["latency_ms"]], axis=1, keys=["p", "o"]).dropna()
            c = spearman_ci(both["p"], both["o"], n_bootstrap, seed)
            rows.append({"series": part["series"].iloc[0], "key": key, "rho": c.rho,
                         "p_value": c.p_value, "exact_p": exact_spearman_p(both["p"], both["o"]),
                         "ci_low": c.ci_low, "ci_high": c.ci_high,
                         "kendall_tau": c.kendall_tau, "n": c.n,
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


# -- text -----------------------------------------------------------------------------------------

def _x(value: float) -> str:
    """A ratio as ``1.37×`` (three significant figures; NaN as "n/a")."""
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.3g}×" if value < 100 else f"{value:,.0f}×"


def _pct(ratio: float) -> str:
    return f"{(ratio - 1) * 100:+.2f} %"


def cost_sentence(complexity: pd.DataFrame, reference_label: str) -> str:
    """How much each count moves across the variants, relative to the reference."""
    others = complexity.iloc[1:]
    if not len(others):
        return ""

    def extreme(cost: str) -> tuple[float, str]:
        col = others[f"{cost}_vs_first"]
        i = col.idxmax()
        return float(col.loc[i]), str(others.loc[i, "paper_row"])

    macs_lo, macs_hi = others["macs_vs_first"].min(), others["macs_vs_first"].max()
    ew, ew_row = extreme("elementwise")
    mem, mem_row = extreme("memory_bytes")
    merges0 = int(complexity["merges"].iloc[0])
    merges_hi = int(others["merges"].max())
    merges_row = str(others.loc[others["merges"].idxmax(), "paper_row"])
    return (f"MACs (fvcore's default count, the paper's FLOPs) stay within "
            f"{_pct(macs_lo)} to {_pct(macs_hi)} of {reference_label}; the element-wise work "
            f"fvcore skips grows up to {_x(ew)} ({ew_row}), the estimated memory traffic up to "
            f"{_x(mem)} ({mem_row}), and multi-branch merges (synchronization points) from "
            f"{merges0} to up to {merges_hi} ({merges_row}).")


def _series_sentence(part: pd.DataFrame, reference: str, reference_label: str,
                     macs: pd.Series) -> str:
    others = part[part["model_id"] != reference].dropna(subset=["slowdown"])
    if not len(others):
        return f"- **{part['series'].iloc[0]}**: no slowdown can be computed (values missing)."
    slow = others.loc[others["slowdown"].idxmax()]
    fast = others.loc[others["slowdown"].idxmin()]
    ref = part[part["model_id"] == reference]["latency_ms"]
    ref_text = f"{float(ref.iloc[0]):.3g} ms" if len(ref) and ref.notna().all() else "n/a"
    text = (f"- **{part['series'].iloc[0]}** ({reference_label} {ref_text}): slowdowns from "
            f"{_x(fast['slowdown'])} ({fast['paper_row']}) to {_x(slow['slowdown'])} "
            f"({slow['paper_row']})")
    if slow["model_id"] in macs.index:
        extra_time = slow["slowdown"] - 1
        extra_macs = float(macs[slow["model_id"]]) - 1
        text += (f"; for the slowest, latency is {_x(slow['slowdown'])} {reference_label}'s while "
                 f"its MACs are {_pct(extra_macs + 1)}")
        if abs(extra_time) <= NOISE_BAND:
            text += (f" (a difference within ±{NOISE_BAND:.0%}, the order of run-to-run "
                     "differences on a shared CPU)")
        elif extra_time > 10 * abs(extra_macs):
            text += (": far more than its MACs suggest" if slow["slowdown"] >= 2
                     else ": more than its MACs suggest")
    return text + "."


def _groups_sentence(long: pd.DataFrame) -> list[str]:
    """Table 2: synchronizing activations vs. the static ones, per series."""
    lines = []
    for key, part in long.groupby("key", sort=False):
        sync = part[part["model_id"].isin(SYNCHRONIZING)]["slowdown"].dropna()
        static = part[~part["model_id"].isin(SYNCHRONIZING)
                      & (part["model_id"] != "ablation_relu")]["slowdown"].dropna()
        if len(sync) and len(static):
            lines.append(f"{part['series'].iloc[0]}: {_x(static.min())}–{_x(static.max())} for "
                         f"GELU/SiLU vs {_x(sync.min())}–{_x(sync.max())} for the activations "
                         f"with a global pool")
    return lines


def _agreement_words(r: pd.Series) -> str:
    exact = r["exact_p"] if math.isfinite(r["exact_p"]) else r["p_value"]
    significant = exact <= 0.05
    crit = (f"with n = {int(r['n'])} only |ρ| ≥ {r['critical_rho']:.2f} reaches p ≤ 0.05"
            if math.isfinite(r["critical_rho"]) else f"n = {int(r['n'])}")
    return (f"ρ = {r['rho']:.2f} (Kendall τ = {r['kendall_tau']:.2f}; exact permutation "
            f"p = {exact:.2g}; 95 % bootstrap CI {r['ci_low']:.2f} to {r['ci_high']:.2f}); {crit}, "
            + ("so the agreement is statistically supported"
               if significant and r["rho"] > 0 else
               "so this ranking agreement is not established at this sample size"))


#: Min- and median-based slowdowns differing by more than this factor flag a noisy series.
NOISY_RATIO = 1.25


def noise_check(long: pd.DataFrame, ratio: float = NOISY_RATIO) -> list[str]:
    """Series measured here whose min- and median-based slowdowns disagree by more than
    ``ratio`` (either way) for some variant: ``["<series>: <variant> <min>× vs <median>×"]``
    (the worst variant per series)."""
    out = []
    here = long[long["kind"] == "this machine"].dropna(subset=["slowdown", "median_slowdown"])
    for _, part in here.groupby("key", sort=False):
        gap = np.abs(np.log(part["slowdown"] / part["median_slowdown"]))
        if len(gap) and gap.max() > math.log(ratio):
            worst = part.loc[gap.idxmax()]
            out.append(f"{worst['series']}: {worst['paper_row']} {_x(worst['slowdown'])} (min) vs "
                       f"{_x(worst['median_slowdown'])} (median)")
    return out


def conclusion(table: str, long: pd.DataFrame, complexity: pd.DataFrame,
               correlations: pd.DataFrame | None = None,
               failed: Mapping[str, str] | None = None,
               closest: pd.DataFrame | None = None) -> str:
    """Markdown conclusion; every claim computed from the tables passed in (``closest``:
    :func:`closest_published`, for Table 3)."""
    t = get_table(table)
    lines = [f"- **Cost counts.** {cost_sentence(complexity, t.reference_label)}"]
    lines.append(f"- **Latency relative to {t.reference_label}, per series:**")
    macs = complexity.set_index("model_id")["macs_vs_first"]
    for _, part in long.groupby("key", sort=False):
        if part["latency_ms"].notna().any():
            lines.append("  " + _series_sentence(part, t.reference, t.reference_label, macs))
    ours = long[long["kind"] != "paper"]
    others = ours[(ours["model_id"] != t.reference)].dropna(subset=["slowdown"])
    paper = long[long["key"] == PAPER_KEY].dropna(subset=["slowdown"])
    paper_others = paper[paper["model_id"] != t.reference]
    if len(paper_others) and len(others):
        p_max = paper_others["slowdown"].max()
        o_max = others["slowdown"].max()
        factor = (p_max - 1) / (o_max - 1) if o_max > 1 else math.inf
        lines.append(
            f"- **Paper vs ours.** The paper's largest slowdown is {_x(p_max)} "
            f"({paper_others.loc[paper_others['slowdown'].idxmax(), 'paper_row']}); the largest "
            f"measured outside the paper is {_x(o_max)}. "
            + (f"The extra time over {t.reference_label} is {factor:,.0f}× larger in the paper's "
               f"phone measurement than here: the synchronization cost it reports is a property "
               f"of the device and runtime, not of the MAC count."
               if factor >= 2 else
               "The slowdowns are of a similar magnitude."))
    if table == "table2":
        groups = _groups_sentence(long)
        if groups:
            lines.append("- **Static vs global-pool activations:** " + "; ".join(groups) + ".")
    if correlations is not None and len(correlations):
        lines.append("- **Rank agreement with the paper's Table 2 ordering:**")
        for _, r in correlations.iterrows():
            lines.append(f"  - {r['series']}: {_agreement_words(r)}.")
    paper_values = long.loc[long["kind"] == "paper", "latency_ms"]
    if len(paper_values) and paper_values.isna().all():
        name = PAPER_TABLES[t.table][0]
        lines.append(f"- **The paper's Table {name[5]} values are "
                     f"not available** (not recovered from the paper; `data/paper/{name}.csv` "
                     f"leaves them empty), so only our measurements are compared; no paper "
                     f"slowdown or rank correlation is computed.")
    noisy = noise_check(long)
    if noisy:
        lines.append("- **Measurement noise.** The minimum and the median disagree on some "
                     "slowdowns by more than a factor "
                     f"{NOISY_RATIO:g} ({'; '.join(noisy)}): the machine was probably busy; "
                     "re-run on an idle machine (or with more runs) before reading small "
                     "differences.")
    if closest is not None:
        for _, c in closest.dropna(subset=["closest_slowdown"]).iterrows():
            if c["model_id"] == t.reference:
                continue
            ours_here = long[(long["model_id"] == c["model_id"]) & (long["kind"] != "paper")]
            ours_here = ours_here.dropna(subset=["slowdown"])
            measured_text = ", ".join(f"{_x(r.slowdown)} on {r.series}"
                                      for r in ours_here.itertuples()) or "not measured"
            lines.append(f"- **Closest published figure for {c['paper_row']}:** "
                         f"{c['closest_row']} runs at {c['closest_ms']:.3g} ms on the iPhone 12, "
                         f"{_x(c['closest_slowdown'])} the ReLU network (not the same network: "
                         f"see above); ours: {measured_text}.")
    if failed:
        lines.append("- **Not measured:** " + "; ".join(f"{k} ({v})" for k, v in failed.items())
                     + ".")
    return "\n".join(lines)


def closest_published(table: str = "table3") -> pd.DataFrame:
    """For Table 3: the closest published iPhone 12 figures (from Table 2,
    :data:`TABLE3_CLOSEST_PUBLISHED`): ``model_id, paper_row, closest_row, closest_ms,
    closest_slowdown`` (relative to Table 2's ReLU), and the file's note. Not the paper's Table 3
    values, which are not available."""
    t2 = paper_results("table2").set_index("model_id")
    t3 = paper_results(get_table(table).table)
    ref = float(t2.loc["ablation_relu", "paper_mobile_ms"])
    rows = []
    for _, r in t3.iterrows():
        proxy = TABLE3_CLOSEST_PUBLISHED.get(r["model_id"])
        ms = float(t2.loc[proxy, "paper_mobile_ms"]) if proxy else math.nan
        rows.append({"model_id": r["model_id"], "paper_row": r["paper_row"],
                     "closest_row": f"Table 2 {t2.loc[proxy, 'paper_row']}" if proxy else "",
                     "closest_ms": ms, "closest_slowdown": ms / ref, "note": r["note"]})
    return pd.DataFrame(rows)


def to_jsonable(value):
    """``value`` with numpy scalars, NaN and paths made JSON-friendly (NaN → None)."""
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, pd.DataFrame):
        return to_jsonable(value.to_dict(orient="records"))
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if value is pd.NA:
        return None
    return value


__all__ = [
    "AblationTable", "COST_LABELS", "DeviceSeries", "NOISE_BAND", "PAPER_KEY", "PAPER_LABEL",
    "SYNCHRONIZING", "TABLES", "add_slowdowns", "build_networks", "chart_data",
    "closest_published", "comparison_table", "complexity_table", "complexity_view",
    "conclusion", "cost_correlations", "cost_ratio_data", "cost_sentence", "device_series",
    "exact_spearman_p", "get_table", "latency_view", "layout_summary", "measure_variants",
    "measured_series", "measurement_context", "noise_check", "output_dirs",
    "paper_rank_correlation",
    "paper_series", "placement_summary", "placement_table", "series_info", "series_table",
    "spearman_critical_value", "to_jsonable",
]
