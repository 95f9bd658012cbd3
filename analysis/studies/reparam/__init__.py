"""Notebook 04: MobileOne's re-parameterization, measured (Vasu et al., CVPR 2023, §3.1, §3.3,
Table 7): Table 7 read off the code, exact fusion, what the k train-time branches cost and
what fusing saves, judged by the measured noise model.

The steps, as the notebook shows them (``run`` chains exactly these)::

    P = parameters(globals())
    table7 = table7_check(P)                          # Table 7 from the built networks
    counts = count_forms(P); sizes = size_table(counts)
    exactness = exactness_table(P)                    # float64, float32, per block
    data = campaigns(P)                               # shipped, your files, or measured now
    rule = noise_rule(); bands = noise_bands(data)    # the rule before the results
    reparam = reparam_table(P, counts, data); speedups = speedup_table(reparam, bands)
    sweep = k_sweep(reparam)
    check = sequential_check(P, counts); sequential = sequential_overhead(P, check, data, bands)
    reference = reference_throughput(P, data); throughput = throughput_table(reparam, reference)
    coreml, template = coreml_packages(P)
    found = findings(table7, exactness, data, bands, reparam, speedups, sequential, throughput,
                     reference)
    write(result(P, found, figures, table7=table7, …))
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from analysis import noise, paths
from analysis.constants import TARGET_SEQUENTIAL_RATIO, TOL_BLOCK_FLOAT32, TOL_FLOAT64
from analysis.errors import ConfigError
from analysis.latency.runtimes import RUNTIMES
from analysis.latency.sets import S0_K_SWEEP
from analysis.studies.core import StudyResult, Table
from analysis.studies.params import (Parameters, at_least, between, collect, files_exist, make,
                                     one_of)
from analysis.studies.reparam import figures
from analysis.studies.reparam.sources import Campaigns, band_table, campaigns
from analysis.studies.reparam.compute import (VARIANTS, exactness_table, exactness_verdicts,
                                              sequential_check, table7_check)
from analysis.studies.reparam.coreml import coreml_packages
from analysis.studies.reparam.counts import count_forms, size_table
from analysis.studies.reparam.findings import ReparamFindings
from analysis.studies.reparam.findings import findings as typed_findings
from analysis.studies.reparam.measured import (k_sweep, reference_throughput, reparam_table,
                                               speedup_table, throughput_table)
from analysis.studies.reparam.measured import sequential_overhead as overhead_table
from analysis.studies.reparam.prose import conclusion, reference_derivation, takeaway
from analysis.studies.reparam.tables import describe

NOTEBOOK = "04_mobileone_reparameterization"


def some(rule):
    """``rule``, and at least one value."""
    def check(name, value):
        if not value:
            raise ConfigError(f"parameter {name} must name at least one value")
        return rule(name, value)
    return check


#: Ranges and allowed values (types come from the notebook's parameters cell).
RULES = {
    "VARIANTS": some(one_of(VARIANTS)),
    "K_VALUES": between(min(S0_K_SWEEP), max(S0_K_SWEEP)),
    "RUNTIMES": some(one_of(RUNTIMES)),
    "SWEEP_RUNTIMES": one_of(RUNTIMES),
    "LATENCY_CSV": files_exist,
    "N_SESSIONS": at_least(1),
    "N_RUNS": at_least(1),
    "N_WARMUP": at_least(0),
    "THREADS": at_least(1),
    "MATMUL_RUNS": at_least(1),
    "MATMUL_SIZE": at_least(16),
    "INPUT_SIZE": at_least(32),
    "EXACT_SIZE": at_least(32),
    "COREML_VARIANTS": one_of(VARIANTS),
    "COREML_PRECISIONS": one_of(("fp16", "fp32")),
    "SEED": at_least(0),
}
#: Figure names, as written.
FIGURES = ("reparam_fused_vs_train_latency", "reparam_s0_k_sweep",
           "reparam_fused_vs_plain_sequential", "reparam_share_of_matmul_reference")
#: The result tables, in the order written.
TABLES = ("table7_check", "counts", "sizes", "exactness", "noise_bands", "reparam",
          "speedups", "sequential_overhead", "reference_throughput", "coreml_packages",
          "coreml_latency_template")


def parameters(namespace=None, **overrides) -> Parameters:
    """The checked parameters: from a running notebook's ``globals()`` (printing where it
    writes), or the defaults with ``overrides``."""
    params = (collect(NOTEBOOK, namespace, RULES) if namespace is not None
              else make(NOTEBOOK, RULES, **overrides))
    if params.MEASURE and params.LATENCY_CSV:
        raise ConfigError("MEASURE is true and LATENCY_CSV names files: choose one source of "
                          "latencies (MEASURE times a new campaign here)")
    return params


def noise_rule() -> str:
    """The noise model's rule (:data:`analysis.noise.RULE`), stated before any result."""
    return f"**The noise rule, stated before the results:** {noise.RULE}."


def noise_bands(data: Campaigns) -> pd.DataFrame:
    """The measured noise band per runtime (:func:`.sources.band_table`)."""
    return band_table(data)


def sequential_overhead(params: Parameters, check: pd.DataFrame, data: Campaigns,
                        bands: pd.DataFrame) -> pd.DataFrame:
    """The fused network against its plain-Sequential twin, judged against
    :data:`~analysis.constants.TARGET_SEQUENTIAL_RATIO` (:func:`.measured.sequential_overhead`)."""
    return overhead_table(params, check, data, bands, TARGET_SEQUENTIAL_RATIO)


def findings(table7, exactness, data: Campaigns, bands, reparam, speedups, sequential,
             throughput, reference) -> ReparamFindings:
    """The typed findings, with the generated takeaway (at most three sentences)."""
    found = typed_findings(table7, exactness, data, bands, reparam, speedups, sequential,
                           throughput, reference)
    return dataclasses.replace(found, takeaway=takeaway(found))


def measured_on(data: Campaigns) -> dict:
    """``{"device": …, "threads": …}`` of the campaigns, named in every latency figure's
    title."""
    return {"device": data.device, "threads": data.threads}


def fusing_figure(speedups: pd.DataFrame, data: Campaigns) -> dict:
    """Train-time vs fused latency per variant and runtime."""
    return {FIGURES[0]: figures.plot_fusing_latency(speedups, **measured_on(data))}


def sweep_figure(sweep: pd.DataFrame, bands: pd.DataFrame, data: Campaigns) -> dict:
    """The S0 k sweep with the measured band, when more than one k was analysed (else
    nothing)."""
    if sweep.empty or sweep["k"].nunique() < 2:
        return {}
    band = dict(zip(bands["runtime"], bands["band"]))
    return {FIGURES[1]: figures.plot_k_sweep(sweep, band, **measured_on(data))}


def sequential_figure(sequential: pd.DataFrame, data: Campaigns) -> dict:
    """Fused / plain-Sequential ratios per variant, with the target's noise band."""
    return {FIGURES[2]: figures.plot_sequential_ratio(sequential, TARGET_SEQUENTIAL_RATIO,
                                                      **measured_on(data))}


def throughput_figure(throughput: pd.DataFrame, data: Campaigns) -> dict:
    """The fused variants' share of the matmul reference throughput."""
    return {FIGURES[3]: figures.plot_reference_share(throughput, **measured_on(data))}


def result(params: Parameters, found: ReparamFindings, drawn: dict | None, data: Campaigns,
           **tables: pd.DataFrame) -> StudyResult:
    """Everything the run writes: its tables (:data:`TABLES`, described; the exactness as its
    machine-independent verdicts), findings, conclusion, figures."""
    missing = [t for t in TABLES if t not in tables]
    if missing:
        raise ConfigError(f"result(): missing table(s) {', '.join(missing)}")
    tables = {**tables, "exactness": exactness_verdicts(tables["exactness"])}
    described = {name: Table(tables[name], *describe(name)) for name in TABLES}
    inputs = [paths.paper_table("table7_mobileone_spec"), *data.files]
    notes = {"statistic": "per session the min over runs (the paper's) and the median; per "
                          "network the median over sessions, with the lowest and highest "
                          "session as its interval",
             "noise_rule": noise.RULE,
             "tolerances": {"float64_relative": TOL_FLOAT64,
                            "float32_relative": TOL_BLOCK_FLOAT32},
             "latencies": data.source}
    return StudyResult(NOTEBOOK, params, described, found, conclusion(found),
                       figures=drawn or {}, inputs=inputs, notes=notes)


def run(params: Parameters, *, draw: bool = True) -> StudyResult:
    """The whole study, the notebook's steps in order (``draw=False``: no figures)."""
    table7 = table7_check(params)
    counts = count_forms(params)
    sizes = size_table(counts)
    exactness = exactness_table(params)
    data = campaigns(params)
    bands = noise_bands(data)
    reparam = reparam_table(params, counts, data)
    speedups = speedup_table(reparam, bands)
    sweep = k_sweep(reparam)
    check = sequential_check(params, counts)
    sequential = sequential_overhead(params, check, data, bands)
    reference = reference_throughput(params, data)
    throughput = throughput_table(reparam, reference)
    coreml, template = coreml_packages(params)
    found = findings(table7, exactness, data, bands, reparam, speedups, sequential, throughput,
                     reference)
    drawn = ({**fusing_figure(speedups, data), **sweep_figure(sweep, bands, data),
              **sequential_figure(sequential, data), **throughput_figure(throughput, data)}
             if draw else {})
    return result(params, found, drawn, data, table7_check=table7, counts=counts, sizes=sizes,
                  exactness=exactness, noise_bands=bands, reparam=reparam, speedups=speedups,
                  sequential_overhead=sequential, reference_throughput=throughput,
                  coreml_packages=coreml, coreml_latency_template=template)


__all__ = ["FIGURES", "NOTEBOOK", "RULES", "TABLES", "campaigns", "conclusion",
           "coreml_packages", "count_forms", "exactness_table", "findings", "fusing_figure",
           "k_sweep", "measured_on", "noise_bands", "noise_rule", "parameters",
           "reference_derivation", "reference_throughput", "reparam_table", "result", "run",
           "sequential_check", "sequential_figure", "sequential_overhead", "size_table",
           "speedup_table", "sweep_figure", "table7_check", "throughput_figure",
           "throughput_table"]
