"""The steps of notebooks 02 and 03, shared: each takes the checked parameters (which name the
notebook, hence the table) and returns what the notebook shows; :func:`run` chains exactly the
steps the notebooks call. :mod:`~analysis.studies.ablation.activations` (Table 2) and
:mod:`~analysis.studies.ablation.blocks` (Table 3) expose them with their own ``NOTEBOOK`` and
``RULES``.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

import pandas as pd

from analysis import noise, paths
from analysis.constants import ALPHA
from analysis.errors import ConfigError
from analysis.latency import RUNTIMES
from analysis.studies.ablation import compute, figures as fig, measure, prose
from analysis.studies.ablation.compute import TABLES, AblationTable, user_files
from analysis.studies.ablation.findings import AblationFindings, cost_finding
from analysis.studies.ablation.findings import findings as compute_findings
from analysis.studies.ablation.measure import LatencyData, context_table
from analysis.studies.core import StudyResult, Table
from analysis.studies.params import (Parameters, Rule, at_least, collect, files_exist, make,
                                     one_of, output_dirs)

__all__ = ["context_table"]


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
        measure.check_device_files(spec, user_files(value))  # a bad file stops before a folder
        return value
    return rule


def rules(notebook: str) -> dict[str, Rule]:
    """Ranges and choices of the parameters both notebooks share."""
    return {"LATENCY_CSV": _device_file_rule(TABLES[notebook]), "RUNTIMES": _runtimes,
            "N_SESSIONS": at_least(1), "N_RUNS": at_least(1), "N_WARMUP": at_least(0),
            "THREADS": at_least(1), "SEED": at_least(0), "INPUT_SIZE": at_least(32),
            "DEPTH": _multiple(2, 6), "WIDTH": _multiple(4, 4)}


def parameters(notebook: str, rules: Mapping[str, Rule], namespace=None,
               **overrides) -> Parameters:
    """The checked parameters (a notebook's ``globals()``, else the defaults with
    ``overrides``); refuses a run with nothing to compare before any folder is made."""
    params = (make(notebook, rules, **overrides) if namespace is None
              else collect(notebook, namespace, rules, announce=False))
    if not (params.LATENCY_CSV or params.WITH_CAMPAIGNS or params.MEASURE):
        raise ConfigError("LATENCY_CSV is empty, WITH_CAMPAIGNS and MEASURE are false: nothing "
                          "to compare with the paper; give a latency file, keep the shipped "
                          "campaigns or measure here")
    if params.MEASURE and not params.RUNTIMES:
        raise ConfigError("MEASURE is true but RUNTIMES is none: choose torch and/or "
                          "onnxruntime")
    if namespace is not None:
        output_dirs(params, announce=True)
    return params


def spec_of(params: Parameters) -> AblationTable:
    return TABLES[params.notebook]


# -- the steps ------------------------------------------------------------------------------------

def latency_data(params: Parameters) -> LatencyData:
    """Every latency file of the run, read once with the noise model applied per series: the
    shipped campaigns (``WITH_CAMPAIGNS``), the user's files (``LATENCY_CSV``) and, with
    ``MEASURE``, a campaign timed now into the run folder (the one step that may time)."""
    live, failed = None, {}
    if params.MEASURE:
        live, failed = measure.measure_live(
            params.folders[0], runtimes=params.RUNTIMES, sessions=params.N_SESSIONS,
            runs=params.N_RUNS, warmup=params.N_WARMUP, threads=params.THREADS,
            seed=params.SEED, depth=params.DEPTH, width=params.WIDTH,
            input_size=params.INPUT_SIZE, se_placement=params.get("SE_PLACEMENT", "every"))
    data = measure.read_latency(live=live, **measure.data_files(
        with_campaigns=params.WITH_CAMPAIGNS, yours=user_files(params.LATENCY_CSV)))
    return dataclasses.replace(data, failed=failed)


def data_text(params: Parameters, data: LatencyData) -> str:
    """What the files hold for this table (:func:`.prose.data_text`)."""
    spec = spec_of(params)
    covered = measure.coverage(spec, data, measure.measured_series(spec, data))
    return prose.data_text(data, covered, input_size=params.INPUT_SIZE, depth=params.DEPTH,
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


def noise_rule(params: Parameters) -> str:
    """The noise model's rule (:data:`analysis.noise.RULE`), stated before any result."""
    return noise.RULE


def noise_bands(params: Parameters, data: LatencyData) -> pd.DataFrame:
    """One row per measured series: its noise band for the minimum and the median, what it
    covers, and the session spread behind it."""
    return data.bands


def duplicates(params: Parameters, data: LatencyData) -> pd.DataFrame:
    """The calibration check: the identical networks' ratios and verdicts per series."""
    return measure.duplicate_table(data)


def series(params: Parameters, data: LatencyData) -> pd.DataFrame:
    """One row per (series, variant): latency with its session interval, the median, the
    slowdown relative to the reference and the noise model's verdicts."""
    spec = spec_of(params)
    return compute.series_table(spec, measure.measured_series(spec, data))


def series_views(params: Parameters, long: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """``(caption, table)``: the series, their latencies and slowdowns with verdicts."""
    return [("Series", compute.series_info(long)),
            ("Latency, minimum over runs (ms; median over sessions)",
             compute.latency_view(long, "latency_ms")),
            ("Latency, median over runs (ms)", compute.latency_view(long, "median_ms")),
            (f"Slowdown relative to {spec_of(params).reference_label} with the noise model's "
             "verdict (minimum, then median)", compute.verdict_view(long))]


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
             compared: pd.DataFrame, agreement: pd.DataFrame, bands: pd.DataFrame,
             dups: pd.DataFrame, data: LatencyData) -> AblationFindings:
    """The typed findings, with the generated takeaway (at most three sentences)."""
    found = compute_findings(spec_of(params), cx, long, compared, agreement, bands, dups,
                             data.failed)
    return dataclasses.replace(found, takeaway=prose.takeaway(found))


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
BAND = "relative noise band: within noise when 1/(1 + band) <= ratio <= 1 + band"
OWN_COLUMNS = {
    "paper_row": "the variant's row label in the paper's table",
    "key": "short key of the series (column prefix of the comparison table)",
    "kind": "paper, this project (a shipped campaign), this run (a live campaign) or your file",
    "source": "this project (a shipped campaign), this run (a live campaign) or your file",
    "latency_ms": "latency, ms: the series' statistic (min for the paper and every campaign; "
                  "for sessions the median over sessions of each session's minimum)",
    "low_ms": "lowest session of latency_ms, ms (empty without sessions)",
    "high_ms": "highest session of latency_ms, ms",
    "median_ms": "median over the timed runs, ms (for sessions: median over sessions)",
    "median_low_ms": "lowest session median, ms", "median_high_ms": "highest session median, ms",
    "band": f"{BAND}, for the minimum (empty: no sessions, no verdict)",
    "median_band": f"{BAND}, for the median",
    "slowdown": "latency / the reference variant's latency in the same series (×)",
    "median_slowdown": "median / the reference variant's median in the same series (×)",
    "verdict": "the noise model's verdict on the ratio: slower, faster, within noise; n/a "
               "without a band; reference for the reference itself",
    "median_verdict": "the noise model's verdict with the median",
    "slowdown_low": "slowdown / (1 + band): the noise interval's lower end",
    "slowdown_high": "slowdown × (1 + band): its upper end (across 1 = within noise)",
    "within_sitting": "band from pairs of sessions within one sitting (campaign)",
    "between_sittings": "band from pairs of sessions of different sittings (empty: one sitting)",
    "median_within_sitting": "within_sitting for the median",
    "median_between_sittings": "between_sittings for the median",
    "covers": "which noise the band covers", "n_networks": "networks with 2 or more sessions",
    "n_pairs": "pairs of sessions of one network behind the band",
    "median_spread": "median over networks of highest / lowest session − 1",
    "p90_spread": "90th percentile over networks of highest / lowest session − 1",
    "first": "first network of an identical pair", "second": "second network of the pair",
    "ratio": "latency of the first / of the second (minimum)",
    "median_ratio": "the same with the median",
    "p_permutation": "two-sided permutation p of ρ = 0 (exact for n ≤ 8)",
    "p_exact": "whether the permutation p was enumerated exactly",
    "p_mc_se": "Monte Carlo standard error of p (0 when exact)",
    "p_floor": "the smallest p the test can give",
    "critical_rho": f"|ρ| an exact test needs for p ≤ {ALPHA:g} at this n",
    "paper_ms": "the paper's iPhone 12 latency, ms",
    "paper_excess_ms": "the paper's latency minus its reference's, ms",
    "paper_slowdown": "the paper's slowdown relative to the reference (×)",
    "ours_ms": "this series' latency, ms",
    "ours_excess_ms": "this series' latency minus its reference's, ms",
    "ours_slowdown": "this series' slowdown relative to the reference (×)",
    "slowdown_ratio": "the paper's slowdown / this series' slowdown",
}


def result(params: Parameters, *, data: LatencyData, layers: pd.DataFrame, cx: pd.DataFrame,
           bands: pd.DataFrame, dups: pd.DataFrame, long: pd.DataFrame,
           compared: pd.DataFrame, agreement: pd.DataFrame, cost_corr: pd.DataFrame,
           found: AblationFindings, text: str, figures: Mapping | None = None) -> StudyResult:
    """The run's :class:`StudyResult` from the outputs of the steps."""
    spec = spec_of(params)
    wide = compute.comparison_table(long, cx)
    own = OWN_COLUMNS
    tables = {
        spec.comparison: Table(wide, f"one row per network of the paper's {spec.paper_name}: "
                               "counts, the paper's latency and every series' latency, "
                               "slowdown and verdict (minimum and median)",
                               compute.comparison_columns(wide, long)),
        "placement" if spec.table == "table3" else "layers": Table(
            layers, "the reference network's weight layers", LAYER_COLUMNS),
        "series": Table(long, "one row per series and network: latency with its session "
                        "interval, median, slowdowns and the noise model's verdicts", own),
        "noise_bands": Table(bands, f"one row per measured series: the noise band by the "
                             f"stated rule ({noise.RULE})", own),
        "duplicates": Table(dups, "the calibration check: identical networks measured as "
                            "separate items, their ratio and the noise model's verdict", own),
        "paper_vs_ours": Table(compared, "like with like: every variant's latency over the "
                               "reference in the paper and in each series", own),
        "rank_agreement": Table(agreement, "Spearman ρ of each series with the paper's "
                                "latencies over the networks (exact permutation test), with "
                                "the minimum and the median", own),
        "cost_correlations": Table(cost_corr, "exploratory: Spearman ρ of each count with "
                                   "latency across the networks, per series and statistic",
                                   own),
    }
    spec_data = measure.coverage(spec, data, measure.measured_series(spec, data))
    notes = {"sources": {paths.relative(f): s for f, s in data.sources.items()}}
    if spec_data.ignored or spec_data.missing:
        notes["coverage"] = {"ignored": spec_data.ignored, "missing": spec_data.missing}
    return StudyResult(spec.notebook, params, tables, found, text, dict(figures or {}),
                       inputs=(compute.paper_file(spec), *data.files), notes=notes)


def run(params: Parameters, *, draw: bool = True) -> StudyResult:
    """Notebook 02 or 03 in-process: exactly the steps the notebook calls, in order."""
    data = latency_data(params)
    nets = networks(params)
    layers = layout(params, nets)
    cx = counts(params, nets)
    figures = cost_figures(params, cx) if draw else {}
    bands = noise_bands(params, data)
    dups = duplicates(params, data)
    long = series(params, data)
    compared = paper_vs_ours(params, long)
    agreement = rank_agreement(params, long)
    if draw:
        figures.update(series_figures(params, long))
    cost_corr = cost_correlations(params, long, cx)
    found = findings(params, cx, long, compared, agreement, bands, dups, data)
    return result(params, data=data, layers=layers, cx=cx, bands=bands, dups=dups, long=long,
                  compared=compared, agreement=agreement, cost_corr=cost_corr, found=found,
                  text=conclusion(found), figures=figures)
