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
    ──► analysis.report_ablation       text generated from the numbers

A *series* is one column of latencies over the variants: the paper's iPhone 12 (``paper``), a
runtime measured here (``torch``, ``onnxruntime``), or a device of the user's file
(``device_<slug>``). Every series is compared with its own reference variant (ReLU in Table 2,
the baseline in Table 3): ``slowdown = latency / latency of the reference``.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import pandas as pd

from analysis.errors import ConfigError
from analysis.models.ablation import (SE_PLACEMENTS, AblationNet, build_variant,
                                      layer_table, variants)
from analysis.ablation_series import (  # noqa: F401 - re-exported for the notebooks
    COST_LABELS, PAPER_LABEL, RATIO_COSTS, SERIES_COLUMNS, TABLES, AblationTable, DeviceSeries,
    add_slowdowns, comparison_table, cost_correlations, cost_ratio_data,
    device_series, get_table, latency_view, measured_series, paper_rank_correlation,
    paper_results, paper_series, series_info, series_table)
from analysis.util import as_list, run_each

#: Where the "+ Squeeze-Excite" network of Table 3 puts SE by default: after every conv, as
#: the paper's equal Table 2 (SE-ReLU) and Table 3 (+SE) figures suggest; then ablation_se
#: computes exactly what ablation_se_relu computes. "block" and "last_stage" stay selectable.
DEFAULT_SE_PLACEMENT = "every"

# -- the networks -----------------------------------------------------------------------------

def _overrides(model_id: str, se_placement: str) -> dict:
    """Arguments that differ from the registered variant: where "+SE" puts its blocks."""
    if se_placement not in SE_PLACEMENTS or se_placement == "none":
        raise ConfigError(f"SE_PLACEMENT={se_placement!r} is not one of "
                          f"{', '.join(p for p in SE_PLACEMENTS if p != 'none')}")
    return {"se": se_placement} if model_id == "ablation_se" else {}


def build_networks(table: str, *, depth: int, width: int, input_size: int,
                   se_placement: str = DEFAULT_SE_PLACEMENT) -> dict[str, AblationNet]:
    """Every variant of ``table`` built at the given size, ``{model_id: network}`` in the
    paper's row order (``se_placement``: where Table 3's "+SE" puts Squeeze-Excite)."""
    return {v.id: build_variant(v.id, depth=depth, width=width, input_size=input_size,
                                **_overrides(v.id, se_placement))
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


def placement_table(*, depth: int, width: int, input_size: int,
                    se_placement: str = DEFAULT_SE_PLACEMENT) -> pd.DataFrame:
    """The baseline's :func:`layer_table` with where Table 3's blocks go: ``se_in_plus_se``
    (a Squeeze-Excite block after this layer's BN in the "+SE" network) and
    ``skip_in_plus_skip`` (the layer whose input is added before this layer's activation in
    the "+skip" network, or <NA>)."""
    base = layer_table(build_variant("ablation_baseline", depth=depth, width=width,
                                     input_size=input_size))
    se = layer_table(build_variant("ablation_se", depth=depth, width=width,
                                   input_size=input_size, se=se_placement))
    skip = layer_table(build_variant("ablation_skip", depth=depth, width=width,
                                     input_size=input_size))
    out = base.drop(columns=["se", "residual_from"])
    out["se_in_plus_se"] = se["se"].to_numpy()
    out["skip_in_plus_skip"] = pd.array(skip["residual_from"], dtype="Int64")
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
    where = ("every conv layer, the same computation as Table 2's SE-ReLU network (the paper "
             "reports the same 2.10 ms for both)" if len(se) == len(convs) else
             f"layers {_ranges(se)}")
    return (f"- **+SE**: a Squeeze-Excite block (MobileOne's, ratio 1/16) between BN and ReLU of "
            f"{len(se)} of the {len(convs)} conv layers — {where}.\n"
            f"- **+skip**: {len(skips)} identity shortcuts, one around every two-conv block "
            f"(input of layer a added before the ReLU of layer b, a→b: {pairs}), as in ResNet; "
            f"the stride-2 transitions have none (their shapes change).")


# -- cost counts -------------------------------------------------------------------------------

def complexity_table(table: str, *, depth: int, width: int, input_size: int,
                     se_placement: str = DEFAULT_SE_PLACEMENT) -> pd.DataFrame:
    """Every count of :class:`~analysis.complexity.Complexity` per variant of ``table`` (deployed
    form; ``macs`` is fvcore's default, the paper's "FLOPs"), with ``model_id, model,
    paper_row`` and ``<cost>_vs_first`` for every cost of :data:`RATIO_COSTS` (ratio to the
    reference, the table's first row)."""
    from analysis.complexity import count_complexity

    rows = []
    nets = build_networks(table, depth=depth, width=width, input_size=input_size,
                          se_placement=se_placement)
    for v in variants(get_table(table).table):
        counts = count_complexity(nets[v.id], input_size).as_row()
        for key in ("input_shape", "fused"):
            counts.pop(key)
        rows.append({"model_id": v.id, "model": v.display_name, "paper_row": v.paper_row,
                     **counts})
    cx = pd.DataFrame(rows)
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
    No runtimes (``RUNTIMES`` empty, ``""`` or ``"none"``): nothing is measured, an empty
    frame is returned (a phone-only run).
    """
    from analysis.errors import AnalysisError
    from analysis.latency import measure_model
    from analysis.models.ablation import get_variant

    def one(item):
        runtime, model_id = item
        name = get_variant(model_id).display_name
        row = measure_model(networks[model_id], runtime, runs=runs, warmup=warmup,
                            threads=threads, input_size=input_size, name=name, count=False)
        if progress:
            print(f"{runtime:12s} {name:28s} min {row['min_ms']:9.3f} ms  "
                  f"median {row['median_ms']:9.3f} ms  cv {row['cv']:.3f}", flush=True)
        return {**row, "model_id": model_id}

    items = [(rt, mid) for rt in as_list(runtimes) for mid in networks]
    rows, failed = run_each(items, one, reraise=(AnalysisError,),
                            label=lambda it: f"{it[0]} · {get_variant(it[1]).display_name}")
    for name, message in failed.items():
        if progress:
            print(f"{name}: failed ({message})", flush=True)
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
    within a runtime are joined with " / ". Empty when nothing was measured here."""
    rows = []
    if measured.empty:
        return pd.DataFrame(columns=["runtime"]).set_index("runtime")
    for runtime, part in measured.groupby("runtime", sort=False):
        row = {}
        for col in CONTEXT_COLUMNS:
            if col not in part:
                continue
            values = list(dict.fromkeys(str(v) for v in part[col]))
            row[col] = values[0] if col == "date" or len(values) == 1 else " / ".join(values)
        row["statistic"] = "min (latency_ms); median also reported"
        rows.append(row)
    return pd.DataFrame(rows).set_index("runtime")




def cost_colors() -> dict:
    """Colours of the cost kinds by their label in :func:`cost_ratio_data` (house palette)."""
    from analysis.plots import COST_COLORS

    return {COST_LABELS[c]: COST_COLORS[c] for c in RATIO_COSTS}


def cost_markers() -> dict:
    from analysis.plots import COST_MARKERS

    return {COST_LABELS[c]: COST_MARKERS[c] for c in RATIO_COSTS}


# -- the notebooks' steps (02 and 03 share them) --------------------------------------------------

def load_device_file(table: str, latency_csv, *, input_size: int, depth: int,
                     width: int) -> tuple[DeviceSeries | None, list, str]:
    """The user's on-device file(s) for this table: ``(series or None, files, report)``.

    The files are validated first (a bad file stops here with the validator's one-line error);
    the report says which series were found, which rows were ignored, what is missing, and
    where the sizes differ from the networks this notebook builds."""
    from analysis import paths
    from analysis.latency import describe_latency, load_latency

    files = paths.user_paths(as_list(latency_csv))
    if not files:
        return None, [], "no on-device file given: the paper's column and this machine only"
    latency = load_latency(files)
    devices = device_series(table, latency)
    lines = [describe_latency(latency),
             "device series: " + (", ".join(devices.series["series"].unique()) or "none"),
             "rows for other models (ignored): " + (", ".join(devices.ignored) or "none")]
    lines += [f"not measured on {s}: {', '.join(m)}" for s, m in devices.missing.items()]
    lines += [f"note: {s} was measured at {sizes} px, this notebook builds {input_size} px "
              "networks" for s, sizes in devices.input_sizes.items()
              if sizes and sizes != [input_size]]
    if (depth, width) != (30, 48):
        lines.append("note: device files refer to the exported networks (depth 30, width 48), "
                     f"this notebook builds depth {depth}, width {width}")
    return devices, files, "\n".join(lines)


def measured_view(measured: pd.DataFrame) -> pd.DataFrame:
    """This machine's min / median / cv per network (rows) and runtime (columns)."""
    if measured.empty:
        return pd.DataFrame()
    view = measured.pivot_table(index="model", columns="runtime",
                                values=["min_ms", "median_ms", "cv"], sort=False)
    return view.reindex(list(measured["model"].unique()))


def summary(spec: AblationTable, *, parameters: Mapping, files: Sequence, machine: Mapping,
            measured: pd.DataFrame, long: pd.DataFrame, correlations: pd.DataFrame,
            cost_corr: pd.DataFrame, devices: DeviceSeries | None, figures: Sequence,
            conclusion: str, settings: Mapping) -> dict:
    """The notebook's ``summary.json``: parameters, machine and measurement context, the
    statistical settings, every table behind the conclusion, the figures and the text."""
    from analysis import paths
    from analysis.provenance import provenance

    return {
        "notebook": spec.notebook, "table": spec.table, "reference": spec.reference,
        "parameters": {**parameters, "LATENCY_CSV": [paths.relative(f) for f in files]},
        "statistics": dict(settings), "provenance": provenance(spec.notebook),
        "machine": machine, "measurement_context": measurement_context(measured).reset_index(),
        "statistic": "latency_ms and *_slowdown use the minimum over the runs (the paper's "
                     "statistic); *_median_ms / *_median_slowdown the median",
        "columns": COMPARISON_COLUMNS,
        "series": series_info(long), "rank_correlation_with_paper": correlations,
        "failed": measured.attrs.get("failed", {}),
        "device_files": None if devices is None else {
            "ignored": devices.ignored, "missing": devices.missing,
            "input_sizes": devices.input_sizes},
        "cost_correlations": cost_corr,
        "figures": [paths.relative(f) for f in figures], "conclusion": conclusion,
    }


#: What the columns of the comparison CSV hold (``summary.json`` describes them).
COMPARISON_COLUMNS = {
    "model_id, model, paper_row": "the network, its display name and the paper's row label",
    "macs … merges": "counts of the deployed network (fvcore MACs = the paper's FLOPs)",
    "<cost>_vs_first": "count relative to the table's reference (first row)",
    "paper_ms, paper_slowdown": "the paper's iPhone 12 latency and its slowdown vs the reference",
    "<runtime>_min_ms, <runtime>_median_ms": "this machine: min and median over the timed runs",
    "<runtime>_slowdown, <runtime>_median_slowdown": "slowdown vs the reference, from min / median",
    "device_<slug>_ms, device_<slug>_slowdown": "a device of the user's file and its slowdown",
}


def write_results(spec: AblationTable, out_dir, comparison: pd.DataFrame,
                  summary_dict: Mapping) -> list[str]:
    """Write ``<csv_name>`` and ``summary.json`` into ``out_dir``; the files written."""
    from analysis.util import write_results as write

    return write(out_dir, {spec.csv_name.removesuffix(".csv"): comparison}, summary_dict)


def cost_figure(spec: AblationTable, cx: pd.DataFrame, fig_dir) -> list:
    """The cost-ratio dot plot (every count relative to the reference), saved and shown."""
    from analysis import plots

    fig = plots.plot_dot_rows(cost_ratio_data(cx), category="paper_row", value="ratio",
                              series="cost", colors=cost_colors(), markers=cost_markers(),
                              reference_line=1.0,
                              xlabel=f"count relative to {spec.reference_label} (×, log scale)",
                              title=f"{spec.paper_name}: what each cost count sees "
                                    f"(deployed networks)")
    return plots.publish(fig, spec.figure_name("cost_ratios"), fig_dir)


def series_figures(spec: AblationTable, long: pd.DataFrame, fig_dir) -> list:
    """Latency and slowdown per variant (dots, one colour per series), saved and shown."""
    from analysis import plots

    colors, markers = plots.series_styles(series_info(long))
    files = []
    for value, what, label, ref, title in (
            ("latency_ms", "latency", "latency (ms, log scale)", None,
             f"{spec.paper_name}: latency per network (min over runs)"),
            ("slowdown", "slowdown", f"× {spec.reference_label} (log scale)", 1.0,
             f"{spec.paper_name}: slowdown relative to {spec.reference_label} (min)")):
        fig = plots.plot_dot_rows(long, category="paper_row", value=value, series="series",
                                  colors=colors, markers=markers, reference_line=ref,
                                  xlabel=label, title=title)
        files += plots.publish(fig, spec.figure_name(what), fig_dir)
    return files


def series_views(spec: AblationTable, long: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """``(caption, table)``: the series, their latencies and their slowdowns, for display."""
    return [("Series", series_info(long)),
            ("Latency (ms)", latency_view(long, "latency_ms")),
            (f"Slowdown relative to {spec.reference_label} (×)", latency_view(long, "slowdown"))]
