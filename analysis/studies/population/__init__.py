"""Notebook 05 · the population behind Table 1: ~1,400 public CPU measurements, and how much a
21-model study can tell.

The steps the notebook shows, in order, and :func:`run`, which chains exactly them::

    P = parameters()                       # or parameters(globals()) in the notebook
    data = load(P)                         # the timm file, its populations
    correlations = correlate(data, P)      # ρ per population and metric (primary inference)
    comparisons = compare(data, P)         # best metric vs the others, paired and Holm-adjusted
    figures = population_figures(data, correlations)
    subsets = subsample(data, P)           # ρ(latency, MACs) over random subsets
    table9 = paper_devices(P)              # the paper's devices, same statistic
    points = reference_points(data, correlations, table9)
    figures |= subsample_figures(data, correlations, subsets, points)
    family = family_difference(data, P)    # ρ_conv − ρ_transformer, independent bootstrap
    found = findings(data, correlations, comparisons, subsets, table9, family)
    result = assemble(P, data, correlations, comparisons, subsets, points, found, figures)

Numbers in :mod:`.compute`, typed findings in :mod:`.findings`, the conclusion in
:mod:`.prose`, figures in :mod:`.figures`.
"""

from __future__ import annotations

from analysis.studies.core import StudyResult, Table
from analysis.studies.params import Parameters, at_least, between, collect, files_exist, make
from analysis.studies.population import compute, figures as charts
from analysis.studies.population.compute import (METRICS, POPULATIONS, Population,
                                                 RhoDifference, Subsamples, figure2_overview,
                                                 rho_matrix)
from analysis.studies.population.findings import Findings, findings
from analysis.studies.population.prose import (conclusion, describe, describe_figure2,
                                               skipped_notes)

NOTEBOOK = "05_population_study"
RULES = {
    "LATENCY_CSV": files_exist,
    "EFFICIENT_MAX_GMACS": between(0.001, 1000),
    "EFFICIENT_MAX_PARAMS_M": between(0.01, 10_000),
    "MAX_INPUT_SIZE": between(16, 4096),
    "SUBSAMPLE_SIZES": at_least(3),
    "N_SUBSAMPLES": at_least(100),
    "N_BOOTSTRAP": at_least(100),
    "SEED": at_least(0),
}

__all__ = ["NOTEBOOK", "RULES", "Findings", "Population", "assemble", "compare", "conclusion",
           "correlate", "describe", "describe_figure2", "family_difference", "figure2_overview",
           "findings", "load", "paper_devices", "parameters", "population_figures",
           "reference_points", "rho_matrix", "run", "skipped_notes", "subsample",
           "subsample_figures"]


def parameters(namespace=None, **overrides) -> Parameters:
    """The checked parameters: from a running notebook's ``globals()``, else the defaults of
    the notebook's parameters cell with ``overrides``."""
    if namespace is not None:
        return collect(NOTEBOOK, namespace, RULES)
    return make(NOTEBOOK, RULES, **overrides)


# -- the steps ------------------------------------------------------------------------------------

def load(params: Parameters) -> Population:
    """The population file (``LATENCY_CSV``, default the shipped timm file) and its named
    populations (the efficient regime by the ``EFFICIENT_*`` and ``MAX_INPUT_SIZE`` bounds)."""
    return compute.population(params.LATENCY_CSV, params.EFFICIENT_MAX_GMACS,
                              params.EFFICIENT_MAX_PARAMS_M, params.MAX_INPUT_SIZE)


def correlate(data: Population, params: Parameters):
    """ρ(latency, metric) per population and metric with its primary inference."""
    return compute.population_correlations(data.groups, METRICS, params.N_BOOTSTRAP,
                                           params.SEED)


def compare(data: Population, params: Parameters):
    """Per population, the best metric against each other one (paired bootstrap, Holm)."""
    return compute.predictor_comparisons(data.groups, METRICS, params.N_BOOTSTRAP, params.SEED)


def population_figures(data: Population, correlations) -> dict:
    """The scatter of the whole population and the ρ of every population and metric."""
    return {
        "population_latency_vs_macs_params": charts.plot_population_scatter(
            data.table, efficient=data.in_efficient, figure2=data.in_figure2,
            device=data.device_short, title=f"timm benchmark, batch 1: {data.device}"),
        "population_spearman_by_population_and_metric": charts.plot_population_correlations(
            correlations, populations=POPULATIONS, title=data.device)}


def subsample(data: Population, params: Parameters) -> Subsamples:
    """ρ(latency, MACs) of ``N_SUBSAMPLES`` random subsets of the efficient regime per size in
    ``SUBSAMPLE_SIZES``, and their quantiles."""
    return compute.subsamples(data.groups["efficient"], params.SUBSAMPLE_SIZES,
                              params.N_SUBSAMPLES, params.SEED)


def paper_devices(params: Parameters):
    """ρ(latency, published MACs) over the Figure 2 models on each of the paper's devices."""
    return compute.paper_device_references(params.N_BOOTSTRAP, params.SEED)


def reference_points(data: Population, correlations, table9):
    """The paper's devices and this file's Figure 2 models, as points beside the subsets."""
    return compute.reference_points(table9, correlations, data.device_short)


def subsample_figures(data: Population, correlations, subsets: Subsamples, points) -> dict:
    """The subset distribution with the paper's values and the reference points."""
    own = correlations[(correlations["population"] == "efficient")
                       & (correlations["metric"] == "macs")]["rho"]
    return {"subsample_spearman_macs_by_study_size": charts.plot_subsample_rho(
        subsets.quantiles, device=data.device_short, paper=compute.paper_table1_macs(),
        references=points, population_rho=float(own.iloc[0]) if len(own) else None)}


def family_difference(data: Population, params: Parameters) -> RhoDifference:
    """ρ_conv − ρ_transformer of ρ(latency, MACs): two independent samples, each resampled."""
    return compute.independent_rho_difference(data.groups["conv"], data.groups["transformer"],
                                              "macs", params.N_BOOTSTRAP, params.SEED)


def assemble(params: Parameters, data: Population, correlations, comparisons,
             subsets: Subsamples, points, found: Findings, figures: dict) -> StudyResult:
    """The study's result: its five tables, findings, generated conclusion and figures."""
    own = {"population": "named population: all, efficient (regime), conv, transformer "
                         "(families by name), figure2 (the paper's Figure 2 models in timm)"}
    paired = {**own, "best": "metric with the highest ρ in the population",
              "other": "metric compared with the best", "rho_best": "ρ of the best metric",
              "rho_other": "ρ of the other metric",
              "p_value": "two-sided paired-bootstrap p of Δρ = 0",
              "better": "the paired interval excludes 0 and p_holm ≤ α"}
    tables = {
        "population_correlations": Table(correlations, "per population and metric: ρ, p, CI, "
                                         "Kendall τ, n, primary inference", own),
        "subsample_rho": Table(subsets.quantiles, "quantiles of ρ(latency, MACs) over random "
                               "subsets of the efficient regime, per subset size",
                               {"n": "models per subset", "quantile": "quantile of the subsets' "
                                "ρ", "rho": "that quantile of ρ(latency, MACs)"}),
        "predictor_comparisons": Table(comparisons, "paired Δρ between metrics, Holm-adjusted "
                                       "within each population", paired),
        "missing_counts": Table(data.missing, "models whose count is missing, per population "
                                "and metric", {**own, "n_missing": "models without the count",
                                               "models": "their names"}),
        "reference_points": Table(points, "the paper's devices (Table 9, Figure 2 models, "
                                  "published MACs) and this file's Figure 2 models on the "
                                  "subsets' scale", {"label": "whose ρ(latency, MACs)"})}
    return StudyResult(NOTEBOOK, params, tables, findings=found, conclusion=conclusion(found),
                       figures=figures, inputs=compute.input_files(data))


def run(params: Parameters, *, draw: bool = True) -> StudyResult:
    """Notebook 05 in-process: exactly the steps the notebook calls (figures only with
    ``draw``)."""
    data = load(params)
    correlations = correlate(data, params)
    comparisons = compare(data, params)
    figures = population_figures(data, correlations) if draw else {}
    subsets = subsample(data, params)
    table9 = paper_devices(params)
    points = reference_points(data, correlations, table9)
    if draw:
        figures |= subsample_figures(data, correlations, subsets, points)
    family = family_difference(data, params)
    found = findings(data, correlations, comparisons, subsets, table9, family)
    return assemble(params, data, correlations, comparisons, subsets, points, found, figures)
