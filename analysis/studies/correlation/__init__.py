"""Notebook 01: what predicts on-device latency? Figure 2 and Table 1 of MobileOne (Vasu et al.,
CVPR 2023, §3 "Metric correlations"), reproduced from data and extended.

The steps, as the notebook shows them (``run`` chains exactly these)::

    P = parameters(globals())             # checked; files and DEVICES read before any folder
    inputs = load(P)                      # latency files → validated rows, one name per series
    joined = join(P, inputs)              # + complexity counts; what was left out and why
    correlations = correlate(P, joined)   # ρ per device × metric with its primary inference
    table1 = reproduce_table1(P, joined)  # the paper's Table 1 on its own data
    paired, best = compare_metrics(P, joined, correlations)
    agreement = agree(P, joined)          # devices' rankings against each other
    conv = conv_only(P, joined)
    numbers = Numbers(correlations, table1, paired, best, agreement, conv)
    findings = find(inputs, joined, numbers); conclusion = conclude(findings)
    write(result(P, inputs, joined, numbers, findings, figures))
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis import paths
from analysis.constants import METRIC_LABELS
from analysis.errors import ConfigError, UnknownModelError
from analysis.latency import check_units, describe_latency
from analysis.models import get_entry, list_groups, list_models
from analysis.studies.core import StudyResult, Table
from analysis.studies.correlation import compute, prose
from analysis.studies.correlation import figures as drawing
from analysis.studies.correlation.findings import Findings, table1_cells
from analysis.studies.correlation.findings import find as find_in
from analysis.studies.params import (Parameters, at_least, collect, files_exist, make, one_of,
                                     output_dirs)
from analysis.util import as_list

NOTEBOOK = "01_metric_correlation"


def _model_names() -> list[str]:
    names = []
    for mid in list_models():
        entry = get_entry(mid)
        names += [entry.id, entry.display_name, *entry.aliases]
    return names


def models_rule(name: str, value):
    """``MODELS``: ``None``, or groups and model names (a list or a comma-separated string),
    each known to the registry; one line with a did-you-mean otherwise."""
    items = as_list(value)
    if not items:
        return None
    groups = list_groups()
    for item in items:
        if str(item).lower() in groups:
            continue
        try:
            get_entry(item)
        except UnknownModelError:
            known = {n.lower(): n for n in [*groups, *_model_names()]}
            close = difflib.get_close_matches(str(item).lower(), list(known), n=1, cutoff=0.6)
            hint = f"; did you mean {known[close[0]]!r}?" if close else ""
            raise ConfigError(f"parameter {name}: {item!r} is neither a model nor a group"
                              f"{hint} (`python -m analysis count --list` lists both)") from None
    return items if isinstance(value, list) or len(items) > 1 else items[0]


#: Ranges and allowed values (types come from the notebook's parameters cell). DEVICES is
#: checked against the devices of the files when they are read (:func:`parameters`).
RULES = {
    "LATENCY_CSV": files_exist,
    "MODELS": models_rule,
    "METRICS": one_of(list(METRIC_LABELS)),
    "N_BOOTSTRAP": at_least(100),
    "SEED": at_least(0),
}


def parameters(namespace=None, **overrides) -> Parameters:
    """The checked parameters: from a running notebook's ``globals()`` (then the latency files
    are read and ``DEVICES`` checked against them before the run's folders are made and
    printed), or the defaults with ``overrides`` in-process."""
    if namespace is None:
        return make(NOTEBOOK, RULES, **overrides)
    params = collect(NOTEBOOK, namespace, RULES, announce=False)
    compute.read_latency(_files(params), params.DEVICES)  # a bad file or device: stop here
    output_dirs(params)
    return params


def _files(params) -> list[Path]:
    return compute.study_files(params.LATENCY_CSV, params.WITH_REFERENCE)


# -- the steps ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Inputs:
    """The latency rows a run analyses, and where each device's numbers come from."""

    files: tuple[Path, ...]
    user_files: tuple[Path, ...]
    latency: pd.DataFrame
    sources: dict
    subtitles: dict

    def __repr__(self) -> str:
        return "\n".join(["files:", *[f"  {paths.relative(f)}" for f in self.files],
                          describe_latency(self.latency)])


@dataclass(frozen=True)
class Joined:
    """The latency rows joined with the complexity counts, and what was left out."""

    frame: pd.DataFrame
    selection: tuple[str, ...]
    metrics: tuple[str, ...]
    counts: pd.DataFrame
    left_out: pd.DataFrame
    models_given: object

    def __repr__(self) -> str:
        left = {m for ms in self.left_out["models"] for m in ms.split(", ")}
        return (f"{self.frame['model'].nunique()} models with latency on "
                f"{self.frame['device'].nunique()} device(s), {len(self.metrics)} cost metrics"
                f"\n{len(self.selection)} zoo models selected (MODELS = {self.models_given!r});"
                f" left out on some or all devices: {len(left)} (below)")


@dataclass(frozen=True)
class Agreement:
    """Agreement of devices' latency rankings: the long table and the square matrices."""

    table: pd.DataFrame
    rho: pd.DataFrame
    n: pd.DataFrame


@dataclass(frozen=True)
class Numbers:
    """The statistics of one run (the result tables are made from them)."""

    correlations: pd.DataFrame
    table1: pd.DataFrame
    paired: pd.DataFrame
    best: pd.DataFrame
    agreement: Agreement
    conv_only: pd.DataFrame


def load(params: Parameters) -> Inputs:
    """Read and validate the latency files (a bad file stops with one line naming the file,
    line and column), keep the devices of ``DEVICES``."""
    files = _files(params)
    latency = compute.read_latency(files, params.DEVICES)
    user = paths.user_paths(as_list(params.LATENCY_CSV))
    return Inputs(tuple(files), tuple(user), latency, compute.device_sources(latency),
                  compute.device_subtitles(latency))


def join(params: Parameters, inputs: Inputs) -> Joined:
    """Count the selected models (cached fvcore counts), join them to the latency rows, warn
    when a device's numbers look like seconds or microseconds."""
    selection = compute.model_selection(params.MODELS, inputs.latency, inputs.user_files)
    counts = compute.count_models(selection)
    why = compute.not_selected_reason(params.MODELS, inputs.user_files)
    frame, left_out = compute.join_latency_costs(inputs.latency, selection, counts, why)
    check_units(inputs.latency, counts)
    return Joined(frame, tuple(selection), tuple(compute.metrics_of(frame, params.METRICS)),
                  counts, left_out, params.MODELS)


def correlate(params: Parameters, joined: Joined) -> pd.DataFrame:
    return compute.correlations(joined.frame, joined.metrics, n_bootstrap=params.N_BOOTSTRAP,
                                seed=params.SEED)


def reproduce_table1(params: Parameters, joined: Joined) -> pd.DataFrame:
    return compute.table1_reproduction(joined.counts, n_bootstrap=params.N_BOOTSTRAP,
                                       seed=params.SEED)


def compare_metrics(params: Parameters, joined: Joined,
                    correlations: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    return compute.compare_metrics(joined.frame, correlations, joined.metrics,
                                   n_bootstrap=params.N_BOOTSTRAP, seed=params.SEED)


def agree(params: Parameters, joined: Joined) -> Agreement:
    return Agreement(*compute.agreement_tables(joined.frame, n_bootstrap=params.N_BOOTSTRAP,
                                               seed=params.SEED))


def conv_only(params: Parameters, joined: Joined) -> pd.DataFrame:
    return compute.conv_only(joined.frame, joined.metrics, n_bootstrap=params.N_BOOTSTRAP,
                             seed=params.SEED)


def find(inputs: Inputs, joined: Joined, numbers: Numbers) -> Findings:
    return find_in(numbers.correlations, numbers.table1, numbers.paired, numbers.best,
                   numbers.agreement.table, numbers.conv_only, sources=inputs.sources,
                   n_models=joined.frame["model"].nunique(), metrics=joined.metrics,
                   left_out=joined.left_out)


def describe_table1(table1: pd.DataFrame) -> str:
    """Every Table 1 cell, ours against the paper's, one line each (Markdown)."""
    return prose.table1_detail(table1_cells(table1))


def conclude(findings: Findings) -> str:
    return prose.conclusion(findings)


def figure2(inputs: Inputs, joined: Joined) -> dict:
    return drawing.figure2_figures(joined.frame, inputs.subtitles, inputs.sources)


def ranking(joined: Joined, correlations: pd.DataFrame) -> dict:
    return drawing.ranking_figures(correlations, joined.metrics)


def heatmap(inputs: Inputs, agreement: Agreement) -> dict:
    return drawing.agreement_figures(agreement.rho, agreement.n, inputs.sources)


def result(params: Parameters, inputs: Inputs, joined: Joined, numbers: Numbers,
           findings: Findings, figures: dict | None = None) -> StudyResult:
    """Everything the run writes: its tables, findings, conclusion and figures."""
    frames = {"correlations": numbers.correlations, "table1_comparison": numbers.table1,
              "claim_verdicts": compute.claim_verdicts(numbers.correlations),
              "paired_comparisons": numbers.paired, "best_predictors": numbers.best,
              "device_agreement": numbers.agreement.table,
              "correlations_conv_only": numbers.conv_only,
              "joined": joined.frame.drop(columns=["file", "line"], errors="ignore")}
    tables = {name: Table(frame, *compute.describe(name)) for name, frame in frames.items()}
    table1 = [paths.paper_table("table1_spearman"), *compute.table1_files()]
    notes = {"latency_files": [paths.relative(f) for f in inputs.files],
             "models": list(joined.selection), "metrics": list(joined.metrics)}
    return StudyResult(NOTEBOOK, params, tables, findings, conclude(findings),
                       figures=figures or {}, inputs=(*inputs.files, *table1), notes=notes)


def run(params: Parameters, *, draw: bool = True) -> StudyResult:
    """The whole study, the notebook's steps in order (``draw=False``: no figures)."""
    inputs = load(params)
    joined = join(params, inputs)
    correlations = correlate(params, joined)
    table1 = reproduce_table1(params, joined)
    paired, best = compare_metrics(params, joined, correlations)
    agreement = agree(params, joined)
    conv = conv_only(params, joined)
    numbers = Numbers(correlations, table1, paired, best, agreement, conv)
    findings = find(inputs, joined, numbers)
    figures = ({**figure2(inputs, joined), **ranking(joined, correlations),
                **heatmap(inputs, agreement)} if draw else {})
    return result(params, inputs, joined, numbers, findings, figures)


__all__ = ["NOTEBOOK", "RULES", "Agreement", "Inputs", "Joined", "Numbers", "agree",
           "compare_metrics", "conclude", "conv_only", "correlate", "describe_table1",
           "figure2", "find", "heatmap", "join", "load", "parameters", "ranking",
           "reproduce_table1", "result", "run"]
