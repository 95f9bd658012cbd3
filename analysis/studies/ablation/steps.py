"""The steps of notebooks 02 and 03, shared: each takes the checked parameters (which name the
notebook, hence the table) and returns what the notebook shows; :func:`run` chains exactly the
steps the notebooks call. :mod:`~analysis.studies.ablation.activations` (Table 2) and
:mod:`~analysis.studies.ablation.blocks` (Table 3) expose them with their own ``NOTEBOOK`` and
``RULES``.
"""

from __future__ import annotations

from typing import Mapping

import pandas as pd

from analysis.errors import ConfigError
from analysis.latency import RUNTIMES
from analysis.studies.ablation import compute, figures as fig, prose
from analysis.studies.ablation.compute import TABLES, AblationTable, DeviceFile
from analysis.studies.ablation.findings import AblationFindings, cost_finding
from analysis.studies.ablation.findings import findings as compute_findings
from analysis.studies.ablation.measure import (COLUMNS as MEASUREMENT_COLUMNS, Measured,
                                               context_table, measure_live, measured_view,
                                               read_measurements)
from analysis.studies.core import StudyResult, Table
from analysis.studies.params import (Parameters, Rule, at_least, collect, files_exist, make,
                                     one_of, output_dirs)

__all__ = ["context_table", "measured_view"]


# -- parameters -----------------------------------------------------------------------------------

def _runtimes(name: str, value):
    chosen = one_of((*RUNTIMES, "none"))(name, value)
    return list(dict.fromkeys(v for v in chosen if v != "none"))


def _multiple(of: int, minimum: int) -> Rule:
    def rule(name: str, value):
        if value < minimum or value % of:
            raise ConfigError(f"parameter {name} must be a multiple of {of} and >= {minimum}, "
                              f"got {value!r}")
        return value
    return rule


def _device_file_rule(spec: AblationTable) -> Rule:
    def rule(name: str, value):
        files_exist(name, value)
        compute.device_file(spec, value)  # validated now: a bad file stops before any folder
        return value
    return rule


def rules(notebook: str) -> dict[str, Rule]:
    """Ranges and choices of the parameters both notebooks share."""
    return {"LATENCY_CSV": _device_file_rule(TABLES[notebook]),
            "MEASUREMENTS_CSV": files_exist, "RUNTIMES": _runtimes, "N_RUNS": at_least(1),
            "N_WARMUP": at_least(0), "THREADS": at_least(1), "INPUT_SIZE": at_least(32),
            "DEPTH": _multiple(2, 6), "WIDTH": _multiple(4, 4)}


def parameters(notebook: str, rules: Mapping[str, Rule], namespace=None,
               **overrides) -> Parameters:
    """The checked parameters (a notebook's ``globals()``, else the defaults with
    ``overrides``); refuses a run with nothing to compare before any folder is made."""
    params = (make(notebook, rules, **overrides) if namespace is None
              else collect(notebook, namespace, rules, announce=False))
    if not params.RUNTIMES and not params.LATENCY_CSV:
        raise ConfigError("RUNTIMES is none and LATENCY_CSV is empty: nothing to compare with "
                          "the paper; give RUNTIMES (torch, onnxruntime) or a device file as "
                          "LATENCY_CSV")
    if namespace is not None:
        output_dirs(params, announce=True)
    return params


def spec_of(params: Parameters) -> AblationTable:
    return TABLES[params.notebook]


# -- the steps ------------------------------------------------------------------------------------

def device_file(params: Parameters) -> DeviceFile:
    """The on-device file(s) of ``LATENCY_CSV`` reduced to this table's networks."""
    return compute.device_file(spec_of(params), params.LATENCY_CSV)


def device_text(params: Parameters, devices: DeviceFile) -> str:
    return prose.device_text(devices, input_size=params.INPUT_SIZE, depth=params.DEPTH,
                             width=params.WIDTH)


def networks(params: Parameters) -> dict:
    """The table's networks at ``DEPTH``, ``WIDTH``, ``INPUT_SIZE`` (``{model_id: network}``)."""
    return compute.build_networks(spec_of(params), depth=params.DEPTH, width=params.WIDTH,
                                  input_size=params.INPUT_SIZE,
                                  se_placement=params.get("SE_PLACEMENT", "every"))


def layout(params: Parameters, nets: Mapping) -> pd.DataFrame:
    """The reference network's layers (Table 3: with where "+SE" and "+skip" put their blocks)."""
    spec = spec_of(params)
    if spec.table == "table3":
        return compute.placement_table(nets)
    return compute.layers_of(nets[spec.reference])


def layout_text(params: Parameters, layers: pd.DataFrame) -> str:
    text = prose.layout_text(layers)
    return text + "\n\n" + prose.placement_text(layers) if "se_in_plus_se" in layers else text


def counts(params: Parameters, nets: Mapping) -> pd.DataFrame:
    """fvcore's counts of every network (deployed form) and their ratios to the reference."""
    return compute.complexity_table(spec_of(params), nets, params.INPUT_SIZE)


def cost_text(params: Parameters, cx: pd.DataFrame) -> str:
    return prose.cost_sentence(cost_finding(cx), spec_of(params).reference_label)


def cost_figures(params: Parameters, cx: pd.DataFrame) -> dict:
    spec = spec_of(params)
    return {spec.figure_name("cost_ratios"): fig.cost_figure(spec, cx)}


def latencies(params: Parameters, nets: Mapping) -> Measured:
    """The CPU latencies of the networks for ``RUNTIMES``: read from ``MEASUREMENTS_CSV`` when
    given, else timed now with the harness (``N_RUNS``, ``N_WARMUP``, ``THREADS``). The one
    step the measurement campaigns replace."""
    if params.MEASUREMENTS_CSV:
        return read_measurements(spec_of(params), params.MEASUREMENTS_CSV, params.RUNTIMES,
                                 input_size=params.INPUT_SIZE)
    return measure_live(nets, params.RUNTIMES, runs=params.N_RUNS, warmup=params.N_WARMUP,
                        threads=params.THREADS, input_size=params.INPUT_SIZE)


def series(params: Parameters, measured: Measured, devices: DeviceFile) -> pd.DataFrame:
    """One row per (series, variant) with the slowdown relative to the reference."""
    return compute.series_table(spec_of(params), measured.rows, devices.series)


def series_views(params: Parameters, long: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """``(caption, table)``: the series, their latencies and their slowdowns, for display."""
    return [("Series", compute.series_info(long)),
            ("Latency (ms)", compute.latency_view(long, "latency_ms")),
            (f"Slowdown relative to {spec_of(params).reference_label} (×)",
             compute.latency_view(long, "slowdown"))]


def paper_vs_ours(params: Parameters, long: pd.DataFrame) -> pd.DataFrame:
    return compute.paper_vs_ours(long, spec_of(params).reference)


def rank_agreement(params: Parameters, long: pd.DataFrame) -> pd.DataFrame:
    return compute.paper_rank_correlation(long)


def series_figures(params: Parameters, long: pd.DataFrame) -> dict:
    spec = spec_of(params)
    return {spec.figure_name("latency"): fig.latency_figure(spec, long),
            spec.figure_name("slowdown"): fig.slowdown_figure(spec, long)}


def cost_correlations(params: Parameters, long: pd.DataFrame, cx: pd.DataFrame) -> pd.DataFrame:
    return compute.cost_correlations(long, cx)


def findings(params: Parameters, cx: pd.DataFrame, long: pd.DataFrame,
             compared: pd.DataFrame, agreement: pd.DataFrame,
             measured: Measured) -> AblationFindings:
    return compute_findings(spec_of(params), cx, long, compared, agreement, measured.failed)


def conclusion(found: AblationFindings) -> str:
    return prose.conclusion(found)



# -- the result -----------------------------------------------------------------------------------

LAYER_COLUMNS = {
    "layer": "weight layer number (1 = stem, the last = the classifier)",
    "stage": "0 = stem, 1-4 = stages, 5 = head", "role": "the layer's part of the network",
    "kernel": "kernel side", "stride": "stride", "in_channels": "input channels",
    "out_channels": "output channels", "in_size": "input side in pixels",
    "out_size": "output side in pixels", "activation": "activation after the layer",
    "se": "a Squeeze-Excite block between the layer's BN and its activation",
    "residual_from": "layer whose input is added before this layer's activation (empty: none)",
    "macs": "closed-form MACs of the layer (k²·C_in·C_out·H·W; activations, SE and shortcuts "
            "not included)",
    "se_in_plus_se": "the '+ Squeeze-Excite' network has SE after this layer's BN",
    "skip_in_plus_skip": "in the '+ Skip connections' network, the layer whose input is added "
                         "before this layer's activation (empty: none)",
}
SERIES_COLUMNS = {
    "paper_row": "the variant's row label in the paper's table",
    "key": "short key of the series (column prefix of the comparison table)",
    "kind": "paper, measured (a CPU runtime) or device (the user's file)",
    "slowdown": "latency / the reference variant's latency in the same series (×)",
    "median_slowdown": "median / the reference variant's median in the same series (×)",
    "critical_rho": "|ρ| an exact test needs for p ≤ 0.05 at this n",
    "paper_ms": "the paper's iPhone 12 latency, ms",
    "paper_excess_ms": "the paper's latency minus its reference's, ms",
    "paper_slowdown": "the paper's slowdown relative to the reference (×)",
    "ours_ms": "this series' latency, ms",
    "ours_excess_ms": "this series' latency minus its reference's, ms",
    "ours_slowdown": "this series' slowdown relative to the reference (×)",
    "slowdown_ratio": "the paper's slowdown / this series' slowdown",
}


def result(params: Parameters, *, devices: DeviceFile, layers: pd.DataFrame,
           cx: pd.DataFrame, measured: Measured, long: pd.DataFrame,
           compared: pd.DataFrame, agreement: pd.DataFrame, cost_corr: pd.DataFrame,
           found: AblationFindings, text: str, figures: Mapping | None = None) -> StudyResult:
    """The run's :class:`StudyResult` from the outputs of the steps."""
    spec = spec_of(params)
    wide = compute.comparison_table(long, cx)
    own = {**SERIES_COLUMNS, **MEASUREMENT_COLUMNS}
    tables = {
        spec.comparison: Table(wide, f"one row per network of the paper's {spec.paper_name}: "
                               "counts, the paper's latency and every series' latency and "
                               "slowdown (latency_ms and *_slowdown use the minimum over the "
                               "runs, the paper's statistic)",
                               compute.comparison_columns(wide, long)),
        "placement" if spec.table == "table3" else "layers": Table(
            layers, "the reference network's weight layers", LAYER_COLUMNS),
        "series": Table(long, "one row per series and network, with slowdowns", own),
        "paper_vs_ours": Table(compared, "like with like: every variant's latency over the "
                               "reference in the paper and in each series", own),
        "rank_agreement": Table(agreement, "Spearman ρ of each series with the paper's "
                                "latencies over the networks (exact permutation test)", own),
        "cost_correlations": Table(cost_corr, "exploratory: Spearman ρ of each count with "
                                   "latency across the networks, per series", own),
        "measurements": Table(measured.rows, "the CPU latencies behind the measured series "
                              "(loadable again as MEASUREMENTS_CSV)", own),
    }
    notes = {"cpu_latencies": measured.source}
    if devices.files:
        notes["device_file"] = {"ignored": devices.ignored, "missing": devices.missing,
                                "input_sizes": devices.input_sizes}
    return StudyResult(spec.notebook, params, tables, found, text, dict(figures or {}),
                       inputs=(compute.paper_file(spec), *devices.files, *measured.files),
                       notes=notes)


def run(params: Parameters, *, draw: bool = True) -> StudyResult:
    """Notebook 02 or 03 in-process: exactly the steps the notebook calls, in order."""
    devices = device_file(params)
    nets = networks(params)
    layers = layout(params, nets)
    cx = counts(params, nets)
    figures = cost_figures(params, cx) if draw else {}
    measured = latencies(params, nets)
    long = series(params, measured, devices)
    compared = paper_vs_ours(params, long)
    agreement = rank_agreement(params, long)
    if draw:
        figures.update(series_figures(params, long))
    cost_corr = cost_correlations(params, long, cx)
    found = findings(params, cx, long, compared, agreement, measured)
    return result(params, devices=devices, layers=layers, cx=cx, measured=measured,
                  long=long, compared=compared, agreement=agreement, cost_corr=cost_corr,
                  found=found, text=conclusion(found), figures=figures)
