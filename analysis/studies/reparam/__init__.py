"""Notebook 04: MobileOne's re-parameterization, measured (Vasu et al., CVPR 2023, §3.1, §3.3,
Table 7): Table 7 read off the code, exact fusion, what the k train-time branches cost and
what fusing saves.

The steps, as the notebook shows them (``run`` chains exactly these)::

    P = parameters(globals())
    table7 = table7_check(P)                          # Table 7 from the built networks
    counts = count_forms(P); sizes = size_table(counts)
    exactness = exactness_table(P)                    # float64, float32, per block
    timings = fusing_timings(P, counts)               # latencies: live, or TIMINGS_CSV
    reparam = reparam_table(counts, timings); speedups = speedup_table(reparam)
    sweep = k_sweep(reparam)
    check = sequential_check(P)
    sequential = sequential_overhead(check, sequential_timings(P, counts))
    reference = reference_throughput(reference_timings(P))
    throughput = throughput_table(reparam, reference)
    coreml, template = coreml_packages(P)
    found = findings(table7, exactness, reparam, sequential, throughput, reference, timings)
    write(result(P, tables, found, figures))

Each ``*_timings`` step fetches latencies through :func:`.timing.latencies`, the one place
that decides their source (see :mod:`analysis.studies.reparam.timing`).
"""

from __future__ import annotations

import pandas as pd

from analysis import paths
from analysis.constants import TARGET_SEQUENTIAL_RATIO, TOL_BLOCK_FLOAT32, TOL_FLOAT64
from analysis.errors import ConfigError
from analysis.latency.runtimes import RUNTIMES
from analysis.studies.core import StudyResult, Table
from analysis.studies.params import (Parameters, at_least, between, collect, files_exist, make,
                                     one_of)
from analysis.studies.reparam import figures
from analysis.studies.reparam.compute import (VARIANTS, count_forms, exactness_table,
                                              sequential_check, size_table, table7_check)
from analysis.studies.reparam.coreml import coreml_packages
from analysis.studies.reparam.measured import (k_sweep, reference_throughput, reparam_table,
                                               sequential_overhead, speedup_table,
                                               throughput_table)
from analysis.studies.reparam.findings import ReparamFindings, findings
from analysis.studies.reparam.prose import conclusion, reference_derivation
from analysis.studies.reparam.tables import describe
from analysis.studies.reparam.timing import (fusing_timings, read_timings, reference_timings,
                                             sequential_timings, source_line)

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
    "K_VALUES": between(1, 8),
    "RUNTIMES": some(one_of(RUNTIMES)),
    "SWEEP_RUNTIMES": one_of(RUNTIMES),
    "N_RUNS": at_least(1),
    "N_RUNS_MIN": at_least(1),
    "N_WARMUP": at_least(0),
    "THREADS": at_least(1),
    "INPUT_SIZE": at_least(32),
    "EXACT_SIZE": at_least(32),
    "MATMUL_SIZE": at_least(16),
    "MATMUL_RUNS": at_least(1),
    "TIMINGS_CSV": files_exist,
    "COREML_VARIANTS": one_of(VARIANTS),
    "COREML_PRECISIONS": one_of(("fp16", "fp32")),
    "SEED": at_least(0),
}
#: Figure names, as written.
FIGURES = ("reparam_fused_vs_train_latency", "reparam_s0_k_sweep",
           "reparam_fused_vs_plain_sequential", "reparam_share_of_matmul_reference")


def parameters(namespace=None, **overrides) -> Parameters:
    """The checked parameters: from a running notebook's ``globals()`` (printing where it
    writes and where its latencies come from), or the defaults with ``overrides``."""
    if namespace is not None:
        params = collect(NOTEBOOK, namespace, RULES)
        print(source_line(params))
        return params
    return make(NOTEBOOK, RULES, **overrides)


def measured_on(timings: pd.DataFrame) -> dict:
    """``{"device": …, "threads": …}`` of the timings, named in every latency figure's title."""
    return {"device": str(timings["device"].iloc[0]), "threads": int(timings["threads"].iloc[0])}


def fusing_figure(speedups: pd.DataFrame, where: dict) -> dict:
    """Train-time vs fused latency per variant and runtime."""
    return {FIGURES[0]: figures.plot_fusing_latency(speedups, **where)}


def sweep_figure(sweep: pd.DataFrame, where: dict) -> dict:
    """The S0 k sweep, when more than one k was timed (else nothing)."""
    if sweep.empty or sweep["k"].nunique() < 2:
        return {}
    return {FIGURES[1]: figures.plot_k_sweep(sweep, **where)}


def sequential_figure(sequential: pd.DataFrame, where: dict) -> dict:
    """Fused / plain-Sequential ratios per variant, with the target band."""
    return {FIGURES[2]: figures.plot_sequential_ratio(sequential, TARGET_SEQUENTIAL_RATIO,
                                                      **where)}


def throughput_figure(throughput: pd.DataFrame, where: dict) -> dict:
    """The fused variants' share of the matmul reference throughput."""
    return {FIGURES[3]: figures.plot_reference_share(throughput, **where)}


def timings_table(*parts: pd.DataFrame) -> pd.DataFrame:
    """Every timing of the run in one table (the run's ``timings.csv``; ``TIMINGS_CSV`` reads
    it back)."""
    return pd.concat(parts, ignore_index=True)


def result(params: Parameters, tables: dict[str, pd.DataFrame], found: ReparamFindings,
           drawn: dict | None = None) -> StudyResult:
    """Everything the run writes: its tables (described), findings, conclusion, figures."""
    described = {name: Table(frame, *describe(name)) for name, frame in tables.items()}
    inputs = [paths.paper_table("table7_mobileone_spec")]
    if params.TIMINGS_CSV:
        inputs.append(paths.user_path(params.TIMINGS_CSV))
    notes = {"statistic": "min over the timed runs (the paper's); median beside it",
             "tolerances": {"float64_relative": TOL_FLOAT64,
                            "block_float32_relative": TOL_BLOCK_FLOAT32},
             "latencies": "read from TIMINGS_CSV" if params.TIMINGS_CSV else "measured live"}
    return StudyResult(NOTEBOOK, params, described, found, conclusion(found),
                       figures=drawn or {}, inputs=inputs, notes=notes)


def run(params: Parameters, *, draw: bool = True) -> StudyResult:
    """The whole study, the notebook's steps in order (``draw=False``: no figures)."""
    table7 = table7_check(params)
    counts = count_forms(params)
    sizes = size_table(counts)
    exactness = exactness_table(params)
    timings = fusing_timings(params, counts)
    reparam = reparam_table(counts, timings)
    speedups = speedup_table(reparam)
    sweep = k_sweep(reparam)
    where = measured_on(timings)
    check = sequential_check(params)
    seq_timings = sequential_timings(params, counts)
    sequential = sequential_overhead(check, seq_timings)
    ref_timings = reference_timings(params)
    reference = reference_throughput(ref_timings)
    throughput = throughput_table(reparam, reference)
    coreml, template = coreml_packages(params)
    found = findings(table7, exactness, reparam, sequential, throughput, reference, timings)
    drawn = ({**fusing_figure(speedups, where), **sweep_figure(sweep, where),
              **sequential_figure(sequential, where), **throughput_figure(throughput, where)}
             if draw else {})
    tables = {"table7_check": table7, "counts": counts, "sizes": sizes, "exactness": exactness,
              "timings": timings_table(timings, seq_timings, ref_timings),
              "reparam": reparam, "sequential_overhead": sequential,
              "reference_throughput": throughput, "coreml_packages": coreml,
              "coreml_latency_template": template}
    return result(params, tables, found, drawn)


__all__ = ["FIGURES", "NOTEBOOK", "RULES", "conclusion", "coreml_packages", "count_forms",
           "exactness_table", "findings", "fusing_figure", "fusing_timings", "k_sweep",
           "measured_on", "parameters", "read_timings", "reference_derivation",
           "reference_throughput", "reference_timings", "reparam_table", "result", "run",
           "sequential_check", "sequential_figure", "sequential_overhead", "sequential_timings",
           "size_table", "source_line", "speedup_table", "sweep_figure", "table7_check",
           "throughput_figure", "throughput_table", "timings_table"]
