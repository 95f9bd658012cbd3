"""Notebook 05 · the population behind Table 1: ~1,400 public CPU measurements of ~1,000
architectures, and how much a 21-model study can tell.

The steps the notebook shows, in order, and :func:`run`, which chains exactly them::

    P = parameters()                       # or parameters(globals()) in the notebook
    data = load(P)                         # the timm file, its populations, its architectures
    boot = resample(data, P)               # cluster bootstrap: architectures, not rows
    correlations = correlate(data, boot, P)  # ρ, interval, permutation p (architectures), BH
    comparisons = compare(data, boot)      # each metric vs MACs (Holm), P(best)
    figures = population_figures(data, correlations)
    table9 = paper_devices(P)              # the paper's devices, same statistic
    subsets = subsample(data, table9, P)   # ρ(latency, MACs) over random sets of architectures
    points = reference_points(data, correlations, table9, subsets)
    figures |= subsample_figures(data, correlations, subsets, points)
    family = family_difference(data, boot)  # ρ_conv − ρ_transformer, independent samples
    found = findings(data, correlations, comparisons, subsets, points, family)
    result = assemble(P, data, correlations, comparisons, subsets, points, found, figures)

Numbers in :mod:`.compute` (data, subsets, the paper's values) and :mod:`.resampling`
(inference with architectures as the unit), typed findings in :mod:`.findings`, the conclusion
in :mod:`.prose`, figures in :mod:`.figures`.
"""

from __future__ import annotations

import dataclasses

from analysis.studies.core import StudyResult, Table
from analysis.studies.params import Parameters, at_least, between, collect, files_exist, make
from analysis.studies.population import compute, figures as charts, resampling
from analysis.studies.population.compute import (METRICS, POPULATIONS, REFERENCE_COLUMNS,
                                                 Population, Subsamples, figure2_overview,
                                                 rho_matrix)
from analysis.studies.population.findings import Findings, findings as typed_findings
from analysis.studies.population.prose import (conclusion, describe, describe_figure2,
                                               skipped_notes, takeaway)
from analysis.studies.population.resampling import (CORRELATION_COLUMNS, Comparisons,
                                                    Resamples, RhoDifference)

NOTEBOOK = "05_population_study"
RULES = {
    "LATENCY_CSV": files_exist,
    "EFFICIENT_MAX_GMACS": between(0.001, 1000),
    "EFFICIENT_MAX_PARAMS_M": between(0.01, 10_000),
    "MAX_INPUT_SIZE": between(16, 4096),
    "SUBSAMPLE_SIZES": at_least(3),
    "N_SUBSAMPLES": at_least(100),
    "N_BOOTSTRAP": at_least(100),
    "N_PERMUTATIONS": at_least(99),
    "SEED": at_least(0),
}

__all__ = ["NOTEBOOK", "RULES", "Findings", "Population", "assemble", "compare", "conclusion",
           "correlate", "describe", "describe_figure2", "family_difference", "figure2_overview",
           "findings", "load", "paper_devices", "parameters", "population_figures",
           "reference_points", "resample", "rho_matrix", "run", "skipped_notes", "subsample",
           "subsample_figures", "takeaway"]


def parameters(namespace=None, **overrides) -> Parameters:
    """The checked parameters: from a running notebook's ``globals()``, else the defaults of
    the notebook's parameters cell with ``overrides``."""
    if namespace is not None:
        return collect(NOTEBOOK, namespace, RULES)
    return make(NOTEBOOK, RULES, **overrides)


# -- the steps ------------------------------------------------------------------------------------

def load(params: Parameters) -> Population:
    """The population file (``LATENCY_CSV``, default the shipped timm file), its named
    populations (the efficient regime by the ``EFFICIENT_*`` and ``MAX_INPUT_SIZE`` bounds) and
    each row's architecture."""
    return compute.population(params.LATENCY_CSV, params.EFFICIENT_MAX_GMACS,
                              params.EFFICIENT_MAX_PARAMS_M, params.MAX_INPUT_SIZE)


def resample(data: Population, params: Parameters) -> Resamples:
    """``N_BOOTSTRAP`` cluster-bootstrap resamples of every population: whole architectures
    drawn with replacement; ρ(latency, metric) of each resample."""
    return resampling.resample(data.groups, METRICS, params.N_BOOTSTRAP, params.SEED)


def correlate(data: Population, boot: Resamples, params: Parameters):
    """Per population and metric: ρ over the rows, its interval with architectures as the unit,
    the permutation test of ρ = 0 on one row per architecture, Benjamini–Hochberg."""
    return resampling.correlation_table(data.groups, boot, METRICS, params.N_PERMUTATIONS,
                                        params.SEED)


def compare(data: Population, boot: Resamples) -> Comparisons:
    """Per population, each metric against MACs on the same resamples (Holm), and the share of
    resamples in which each metric ranks latency best."""
    return resampling.comparisons(data.groups, boot, METRICS)


def population_figures(data: Population, correlations) -> dict:
    """The scatter of the whole population and the ρ of every population and metric."""
    return {
        "population_latency_vs_macs_params": charts.plot_population_scatter(
            data.table, efficient=data.in_efficient, figure2=data.in_figure2,
            device=data.device_short,
            title=f"timm benchmark, batch 1, one mean step time per row: {data.device}"),
        "population_spearman_by_population_and_metric": charts.plot_population_correlations(
            correlations, populations=POPULATIONS, title=data.device)}


def subsample(data: Population, table9, params: Parameters) -> Subsamples:
    """ρ(latency, MACs) of ``N_SUBSAMPLES`` random sets of distinct architectures of the
    efficient regime per size in ``SUBSAMPLE_SIZES``, and at the size of each reference value
    (the paper's Figure 2 models found in the file, each of the paper's devices in ``table9``),
    so each is placed among sets of its own size."""
    return compute.subsamples(data.groups["efficient"], params.SUBSAMPLE_SIZES,
                              params.N_SUBSAMPLES, params.SEED,
                              extra=[len(data.figure2), *table9["n"]])


def paper_devices(params: Parameters):
    """ρ(latency, published MACs) over the Figure 2 models on each of the paper's devices."""
    return compute.paper_device_references(params.N_PERMUTATIONS, params.SEED)


def reference_points(data: Population, correlations, table9, subsets: Subsamples):
    """The paper's devices and the paper's models on this file's device, each with its share of
    random sets of the same size at or below it."""
    return compute.reference_points(table9, correlations, data.device_short, subsets.draws)


def subsample_figures(data: Population, correlations, subsets: Subsamples, points) -> dict:
    """The subset distribution with the paper's values and the reference points."""
    own = correlations[(correlations["population"] == "efficient")
                       & (correlations["metric"] == "macs")]["rho"]
    return {"subsample_spearman_macs_by_study_size": charts.plot_subsample_rho(
        subsets.quantiles, device=data.device_short, paper=compute.paper_table1_macs(),
        references=points, population_rho=float(own.iloc[0]) if len(own) else None)}


def family_difference(data: Population, boot: Resamples) -> RhoDifference | None:
    """ρ_conv − ρ_transformer of ρ(latency, MACs): two independent samples of architectures,
    each resampled by architecture."""
    return resampling.rho_difference(data.groups, boot, "conv", "transformer", "macs")


def findings(data: Population, correlations, comparisons: Comparisons, subsets: Subsamples,
             points, family: RhoDifference | None) -> Findings:
    """The typed findings, with the generated takeaway (at most three sentences)."""
    found = typed_findings(data, correlations, comparisons, subsets, points, family)
    return dataclasses.replace(found, takeaway=takeaway(found))


def assemble(params: Parameters, data: Population, correlations, comparisons: Comparisons,
             subsets: Subsamples, points, found: Findings, figures: dict) -> StudyResult:
    """The study's result: its tables, findings, generated conclusion and figures. The table of
    missing counts is there only when a count is missing."""
    pop = {"population": CORRELATION_COLUMNS["population"]}
    versus = {**pop, "metric": "metric compared with MACs", "reference": "the reference "
              "metric (MACs, the paper's)", "n": "rows with every metric",
              "n_architectures": "architectures among them (the resampling unit)",
              "rho": "ρ(latency, metric)", "rho_reference": "ρ(latency, MACs)",
              "delta": "Δρ = rho − rho_reference",
              "ci_low": "lower bound of the paired 95 % interval of Δρ (architectures "
                        "resampled)", "ci_high": "upper bound of that interval",
              "p_value": "two-sided paired-bootstrap p of Δρ = 0 (at least 1 / resamples)",
              "p_holm": "Holm-adjusted p within the population",
              "n_comparisons": "comparisons in the population's Holm family",
              "verdict": "better / worse than MACs (Holm p ≤ α and the interval on that side "
                         "of 0), else not shown"}
    tables = {
        "population_correlations": Table(correlations, "per population and metric: ρ over the "
                                         "rows, its interval and permutation test with "
                                         "architectures as the unit", CORRELATION_COLUMNS),
        "subsample_rho": Table(subsets.quantiles, "quantiles of ρ(latency, MACs) over random "
                               "sets of distinct architectures of the efficient regime, per "
                               "set size", {"n": "architectures per set", "quantile":
                                            "quantile of the sets' ρ",
                                            "rho": "that quantile of ρ(latency, MACs)"}),
        "predictor_comparisons": Table(comparisons.versus, "each metric against MACs on the "
                                       "same resamples of architectures, Holm within each "
                                       "population", versus),
        "best_probability": Table(comparisons.best, "share of resamples of architectures in "
                                  "which each metric has the highest ρ (selection-aware)",
                                  {**pop, "metric": "cost metric", "p_best": "that share",
                                   "called_best": "the share reaches the stated rule"}),
        "reference_points": Table(points, "the paper's devices and the paper's models on this "
                                  "file's device, placed among random sets of their size",
                                  REFERENCE_COLUMNS)}
    gaps = data.missing[data.missing["n_missing"] > 0]
    if len(gaps):
        tables["missing_counts"] = Table(gaps.reset_index(drop=True), "models whose count is "
                                         "missing, per population and metric",
                                         {**pop, "metric": "cost metric",
                                          "n_missing": "models without the count",
                                          "models": "their names"})
    return StudyResult(NOTEBOOK, params, tables, findings=found, conclusion=conclusion(found),
                       figures=figures, inputs=compute.input_files(data))


def run(params: Parameters, *, draw: bool = True) -> StudyResult:
    """Notebook 05 in-process: exactly the steps the notebook calls (figures only with
    ``draw``)."""
    data = load(params)
    boot = resample(data, params)
    correlations = correlate(data, boot, params)
    comparisons = compare(data, boot)
    figures = population_figures(data, correlations) if draw else {}
    table9 = paper_devices(params)
    subsets = subsample(data, table9, params)
    points = reference_points(data, correlations, table9, subsets)
    if draw:
        figures |= subsample_figures(data, correlations, subsets, points)
    family = family_difference(data, boot)
    found = findings(data, correlations, comparisons, subsets, points, family)
    return assemble(params, data, correlations, comparisons, subsets, points, found, figures)
