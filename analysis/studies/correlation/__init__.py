"""Notebook 01: what predicts on-device latency? Figure 2 and Table 1 of MobileOne (Vasu et al.,
CVPR 2023, §3 "Metric correlations"), reproduced from data and extended.

The steps, as the notebook shows them (``run`` chains exactly these)::

    P = parameters(globals())              # checked; files and DEVICES read before any folder
    inputs = load(P)                       # latency files → rows, one name per series
    joined = join(P, inputs)               # + complexity counts; what was left out and why
    table1 = reproduce_table1(P, joined)   # the confirmatory family: Table 1, Holm
    correlations = correlate(P, joined)    # ρ, permutation p, Fisher-z interval per cell
    comparison = compare_metrics(P, joined)  # each metric vs MACs (Holm); P(best)
    agreement = agree(P, joined)           # series' rankings against each other
    conv = conv_only(P, joined)            # conv-only cells; conv − all, MobileOne collapsed
    paper = versus_paper(P, inputs, joined)  # our devices − the paper's
    tests = adjust(table1, correlations, comparison, agreement, conv, paper)  # BH, exploratory
    noise = sessions(P, inputs, joined, tests)  # ρ in every session
    median = with_median(P, inputs, joined, table1, tests)  # the same with the median
    numbers = Numbers(table1, tests, noise, median)
    findings = find(inputs, joined, numbers); conclusion = conclude(findings)
    write(result(P, inputs, joined, numbers, findings, figures))

Families of tests, fixed before running: :mod:`.families`.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis import inference, paths
from analysis.constants import METRIC_LABELS
from analysis.errors import ConfigError, UnknownModelError
from analysis.latency import check_units
from analysis.models import get_entry, list_groups, list_models
from analysis.studies.core import StudyResult, Table
from analysis.studies.correlation import compare, compute, families, prose, rank
from analysis.studies.correlation import figures as drawing
from analysis.studies.correlation import session_rhos as noise
from analysis.studies.correlation.families import Tests
from analysis.studies.correlation.findings import Findings, table1_cells
from analysis.studies.correlation.findings import find as find_in
from analysis.studies.correlation.tables import describe
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
    "N_PERMUTATIONS": at_least(99),
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
    """The latency rows a run analyses, where each series' numbers come from, its physical
    device, and the paper's device of the same kind (for "ours against the paper's")."""

    files: tuple[Path, ...]
    user_files: tuple[Path, ...]
    latency: pd.DataFrame
    sources: dict
    subtitles: dict
    physical: dict
    counterparts: dict

    def __repr__(self) -> str:
        devices = {}
        for series, phys in self.physical.items():
            devices.setdefault(phys, []).append(series)
        return "\n".join(["files:", *[f"  {paths.relative(f)}" for f in self.files],
                          f"{len(self.physical)} series on {len(devices)} physical devices:",
                          *compute.describe_series(self.latency, self.sources)])


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
                f"{self.frame['device'].nunique()} series, {len(self.metrics)} cost metrics"
                f"\n{len(self.selection)} zoo models selected (MODELS = {self.models_given!r});"
                f" left out on some or all series: {len(left)} (below)")


@dataclass(frozen=True)
class Comparison:
    """Each metric against MACs (Holm per series) and each metric's probability of being the
    best (selection-aware)."""

    versus: pd.DataFrame
    best: pd.DataFrame


@dataclass(frozen=True)
class ConvOnly:
    """Convolutional models only: the correlation cells, and conv-only minus all models."""

    correlations: pd.DataFrame
    difference: pd.DataFrame


@dataclass(frozen=True)
class Sessions:
    """ρ in every session of every series measured in sessions, and its spread."""

    per_session: pd.DataFrame
    spread: pd.DataFrame


@dataclass(frozen=True)
class Median:
    """The analysis rerun with each series' median latency, and the verdicts it changes."""

    tests: Tests
    series: tuple[str, ...]
    changes: pd.DataFrame
    compared: int


@dataclass(frozen=True)
class Numbers:
    """The statistics of one run (the result tables are made from them)."""

    table1: pd.DataFrame
    tests: Tests
    sessions: Sessions
    median: Median


def load(params: Parameters) -> Inputs:
    """Read and validate the latency files (a bad file stops with one line naming the file,
    line and column), keep the devices of ``DEVICES``."""
    files = _files(params)
    latency = compute.read_latency(files, params.DEVICES)
    user = paths.user_paths(as_list(params.LATENCY_CSV))
    sources = compute.device_sources(latency)
    return Inputs(tuple(files), tuple(user), latency, sources, compute.device_subtitles(latency),
                  compute.physical_devices(latency), compute.counterparts(latency, sources))


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


def reproduce_table1(params: Parameters, joined: Joined) -> pd.DataFrame:
    """The confirmatory family: Table 1 on the paper's own latencies, Holm per size basis."""
    return compute.table1_reproduction(joined.counts, n_permutations=params.N_PERMUTATIONS,
                                       seed=params.SEED)


def _physical(frame: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    phys = dict(zip(frame["device"], frame.get("physical_device", frame["device"])))
    return table.assign(physical_device=table["device"].map(phys).fillna(table["device"]))


def correlate(params: Parameters, joined: Joined) -> pd.DataFrame:
    """Per series × metric: ρ, the permutation p, the Fisher-z interval, scipy's p."""
    table = inference.correlation_table(joined.frame, joined.metrics,
                                        n_permutations=params.N_PERMUTATIONS, seed=params.SEED)
    table = _physical(joined.frame, table)
    return table[["device", "physical_device", *table.columns[1:-1]]]


def compare_metrics(params: Parameters, joined: Joined) -> Comparison:
    """Each metric against MACs (paired, Holm per series) and P(best) per metric."""
    if "macs" not in joined.metrics:
        empty = pd.DataFrame(columns=["device", "metric", "verdict"])
        return Comparison(empty, pd.DataFrame(columns=["device", "metric", "called_best"]))
    return Comparison(
        compare.versus_macs(joined.frame, joined.metrics, n_bootstrap=params.N_BOOTSTRAP,
                            seed=params.SEED),
        compare.best_metric(joined.frame, joined.metrics, n_bootstrap=params.N_BOOTSTRAP,
                            seed=params.SEED))


def agree(params: Parameters, joined: Joined) -> pd.DataFrame:
    """ρ between every two series' latency rankings (models both measured)."""
    wide = joined.frame.pivot_table(index="model", columns="device", values="latency_ms",
                                    sort=False)
    phys = dict(zip(joined.frame["device"], joined.frame.get("physical_device",
                                                             joined.frame["device"])))
    return rank.agreement_table(wide, phys, n_permutations=params.N_PERMUTATIONS,
                                seed=params.SEED)


def conv_only(params: Parameters, joined: Joined) -> ConvOnly:
    """The convolutional models only: every cell, and ρ(conv) − ρ(all) for MACs and
    parameters (nested samples), also with MobileOne S0–S4 collapsed to one point."""
    conv = joined.frame[joined.frame["family"].isin(compute.CONV_FAMILIES)]
    cells = inference.correlation_table(conv, joined.metrics,
                                        n_permutations=params.N_PERMUTATIONS, seed=params.SEED)
    cells = _physical(joined.frame, cells)
    paper = [m for m in compute.PAPER_METRICS if m in joined.metrics]
    diff = compare.conv_only(joined.frame, paper, compute.CONV_FAMILIES,
                             compute.MONOTONE_FAMILY, n_bootstrap=params.N_BOOTSTRAP,
                             seed=params.SEED)
    return ConvOnly(cells[["device", "physical_device", *cells.columns[1:-1]]], diff)


def versus_paper(params: Parameters, inputs: Inputs, joined: Joined) -> pd.DataFrame:
    """Our series against the paper's device of the same kind: Δρ of MACs and parameters."""
    present = set(joined.frame["device"])
    pairs = {s: p for s, p in inputs.counterparts.items() if s in present and p in present}
    metrics = [m for m in compute.PAPER_METRICS if m in joined.metrics]
    return compare.versus_paper_devices(joined.frame, pairs, metrics,
                                        n_bootstrap=params.N_BOOTSTRAP, seed=params.SEED)


def adjust(table1: pd.DataFrame, correlations: pd.DataFrame, comparison: Comparison,
           agreement: pd.DataFrame, conv: ConvOnly, paper: pd.DataFrame) -> Tests:
    """The families: Table 1's cells carry its Holm result; everything else exploratory,
    Benjamini–Hochberg over the notebook (:mod:`.families`)."""
    return families.adjust_tests(table1, compute.OURS, correlations, conv.correlations,
                                 conv.difference, agreement, paper, comparison.versus,
                                 comparison.best)


def sessions(params: Parameters, inputs: Inputs, joined: Joined, tests: Tests) -> Sessions:
    """ρ(latency, metric) in every session of every series measured in sessions."""
    per = noise.session_rhos(inputs.files, params.DEVICES,
                             compute.device_key, joined.counts, joined.metrics)
    per = per[per["device"].isin(set(joined.frame["device"]))].reset_index(drop=True)
    return Sessions(per, noise.session_spread(per, tests.correlations))


def _merged(minimum: pd.DataFrame, median: pd.DataFrame, series) -> pd.DataFrame:
    """``minimum``'s rows of the series without a median, ``median``'s of the others, in
    ``minimum``'s order of series (the paper's series have one statistic: same numbers)."""
    order = {d: i for i, d in enumerate(dict.fromkeys(minimum["device"]))}
    both = pd.concat([minimum[~minimum["device"].isin(series)], median], ignore_index=True)
    rank_ = both["device"].map(order).fillna(len(order))
    return both.assign(_o=rank_).sort_values("_o", kind="stable").drop(columns="_o") \
        .reset_index(drop=True)


def with_median(params: Parameters, inputs: Inputs, joined: Joined, table1: pd.DataFrame,
                tests: Tests) -> Median:
    """The same analysis with each series' median latency where the files have one (the
    paper's series keep their one statistic, and their numbers), and every verdict that
    changes."""
    frame, series = families.median_frame(joined.frame)
    if not series:
        return Median(tests, (), families.verdict_changes(tests, tests, []), 0)
    full = dataclasses.replace(joined, frame=frame)
    only = dataclasses.replace(joined, frame=frame[frame["device"].isin(series)])
    comparison, conv = compare_metrics(params, only), conv_only(params, only)

    def merged(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
        return _merged(a.drop(columns=list(families.ADJUSTED), errors="ignore"), b, series)

    median = adjust(table1, merged(tests.correlations, correlate(params, only)),
                    Comparison(merged(tests.versus, comparison.versus),
                               merged(tests.best, comparison.best)),
                    agree(params, full),
                    ConvOnly(merged(tests.conv, conv.correlations),
                             merged(tests.conv_difference, conv.difference)),
                    versus_paper(params, inputs, full))
    return Median(median, tuple(series), families.verdict_changes(tests, median, series),
                  families.compared_verdicts(tests, series))


def find(inputs: Inputs, joined: Joined, numbers: Numbers) -> Findings:
    """The typed findings, with the generated takeaway (at most three sentences)."""
    found = find_in(numbers.table1, numbers.tests, numbers.sessions.spread,
                    numbers.median.changes, numbers.median.compared, numbers.median.series,
                    sources=inputs.sources, physical=inputs.physical,
                    n_models=joined.frame["model"].nunique(), metrics=joined.metrics,
                    left_out=joined.left_out)
    return dataclasses.replace(found, takeaway=prose.takeaway(found))


def describe_table1(table1: pd.DataFrame) -> str:
    """Every Table 1 cell, ours against the paper's, on both size bases (Markdown)."""
    return prose.table1_detail(table1_cells(table1))


def conclude(findings: Findings) -> str:
    return prose.conclusion(findings)


def figure2(inputs: Inputs, joined: Joined) -> dict:
    return drawing.figure2_figures(joined.frame, inputs.subtitles, inputs.sources)


def ranking(joined: Joined, tests: Tests) -> dict:
    return drawing.ranking_figures(tests.correlations, tests.versus, joined.metrics)


def heatmap(inputs: Inputs, tests: Tests) -> dict:
    return drawing.agreement_figures(tests.agreement, inputs.sources, inputs.physical)


def result(params: Parameters, inputs: Inputs, joined: Joined, numbers: Numbers,
           findings: Findings, figures: dict | None = None) -> StudyResult:
    """Everything the run writes: its tables, findings, conclusion and figures."""
    t, m = numbers.tests, numbers.median
    frames = {"correlations": t.correlations, "table1_comparison": numbers.table1,
              "claim_verdicts": families.claim_verdicts(t.correlations),
              "versus_macs": t.versus, "best_probability": t.best,
              "device_agreement": t.agreement, "correlations_conv_only": t.conv,
              "conv_versus_all": t.conv_difference, "versus_paper_devices": t.paper_devices,
              "rho_by_session": numbers.sessions.per_session,
              "session_spread": numbers.sessions.spread,
              "correlations_median": m.tests.correlations, "statistic_changes": m.changes,
              "joined": joined.frame.drop(columns=["file", "line"], errors="ignore")}
    tables = {name: Table(frame, *describe(name)) for name, frame in frames.items()}
    table1 = [paths.paper_table("table1_spearman"), *compute.table1_files()]
    notes = {"latency_files": [paths.relative(f) for f in inputs.files],
             "models": list(joined.selection), "metrics": list(joined.metrics)}
    return StudyResult(NOTEBOOK, params, tables, findings, conclude(findings),
                       figures=figures or {}, inputs=(*inputs.files, *table1), notes=notes)


def run(params: Parameters, *, draw: bool = True) -> StudyResult:
    """The whole study, the notebook's steps in order (``draw=False``: no figures)."""
    inputs = load(params)
    joined = join(params, inputs)
    table1 = reproduce_table1(params, joined)
    correlations = correlate(params, joined)
    comparison = compare_metrics(params, joined)
    agreement = agree(params, joined)
    conv = conv_only(params, joined)
    paper = versus_paper(params, inputs, joined)
    tests = adjust(table1, correlations, comparison, agreement, conv, paper)
    noise_ = sessions(params, inputs, joined, tests)
    median = with_median(params, inputs, joined, table1, tests)
    numbers = Numbers(table1, tests, noise_, median)
    findings = find(inputs, joined, numbers)
    figures = ({**figure2(inputs, joined), **ranking(joined, tests), **heatmap(inputs, tests)}
               if draw else {})
    return result(params, inputs, joined, numbers, findings, figures)


__all__ = ["NOTEBOOK", "RULES", "Comparison", "ConvOnly", "Inputs", "Joined", "Median",
           "Numbers", "Sessions", "Tests", "adjust", "agree", "compare_metrics", "conclude",
           "conv_only", "correlate", "describe_table1", "figure2", "find", "heatmap", "join",
           "load", "parameters", "ranking", "reproduce_table1", "result", "run", "sessions",
           "versus_paper", "with_median"]
