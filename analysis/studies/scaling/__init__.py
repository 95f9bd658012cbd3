"""Notebook 08 · the MobileNet family's own knobs: do MACs predict latency *within* a family?

Table 1 of MobileOne (Vasu et al., CVPR 2023) asks whether MACs predict latency *across*
architectures. The MobileNet family's claim is about scaling *one* architecture: the width
multiplier α and the resolution multiplier ρ cut the cost by about α² and ρ² (Howard et al.
2017), and EfficientNet-Lite is EfficientNet without Squeeze-Excite and swish — the operators
whose cost MACs do not see (the paper's Tables 2 and 3). This study fits latency ∝ MACs^b per
sweep, device and runtime, checks the α² and ρ² claim on counts and on latency, sets the
within-family picture beside the across-family ρ on the same devices, and compares
EfficientNet-Lite_i with EfficientNet-B_i.

The steps the notebook shows, in order (:func:`run` chains exactly them)::

    P = parameters(globals())              # or parameters(**overrides) in-process
    data = load(P)                         # the campaigns (+ the H200 reference), sessions
    counts = count(data)                   # MACs per network and input size
    points = fit_points(data, counts)      # the networks of every sweep
    exponents = fit(P, data, points)       # b, e, c per series × sweep
    claim = claim_on_counts(counts)        # MACs vs α², ρ²
    correlations = correlate(P, data, counts)  # ρ across families and within the family
    bands = noise(P, data)                 # the noise band per series
    lite = lite_vs_b(data, counts, exponents, bands)
    ablation = ablation(P)                 # SE and swish in Tables 2 and 3
    numbers = Numbers(...); found = find(P, numbers); figures = plot(numbers)
    write(result(P, data, numbers, found, figures))
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis import paths
from analysis.models import list_groups
from analysis.studies.core import StudyResult, Table
from analysis.studies.params import (Parameters, at_least, collect, files_exist, make, one_of,
                                     output_dirs)
from analysis.studies.scaling import compute, data as inputs, prose
from analysis.studies.scaling import figures as charts
from analysis.studies.scaling.data import H200_MODES, Latency
from analysis.studies.scaling.findings import Findings
from analysis.studies.scaling.findings import find as find_in
from analysis.studies.scaling.tables import describe

NOTEBOOK = "08_mobilenet_scaling"
RULES = {
    "LATENCY_CSV": files_exist,
    "ZOO_CSV": files_exist,
    "H200_MODE": one_of(H200_MODES),
    "ACROSS_MODELS": one_of(list_groups),
    "N_PERMUTATIONS": at_least(99),
    "SEED": at_least(0),
}


def parameters(namespace=None, **overrides) -> Parameters:
    """The checked parameters: from a running notebook's ``globals()`` (the latency files are
    read before any folder is made: a bad file stops with one line), else the defaults with
    ``overrides``."""
    if namespace is None:
        return make(NOTEBOOK, RULES, **overrides)
    params = collect(NOTEBOOK, namespace, RULES, announce=False)
    load(params)
    output_dirs(params)
    return params


# -- the steps ------------------------------------------------------------------------------------

def load(params: Parameters) -> Latency:
    """The sweeps' latencies: ``LATENCY_CSV`` (default: the shipped campaigns of the family),
    each session's minimum and median, and the H200 reference when ``WITH_H200``."""
    return inputs.read_latency(params.LATENCY_CSV, with_h200=params.WITH_H200,
                               h200_mode=params.H200_MODE)


def count(data: Latency) -> pd.DataFrame:
    """MACs and parameters of every network at every input size the data hold."""
    p = data.points[inputs.PRIMARY]
    return inputs.count_points(list(zip(p["model_id"], p["input_size"])))


def fit_points(data: Latency, counts: pd.DataFrame) -> pd.DataFrame:
    return compute.sweep_points(data, counts)


def fit(params: Parameters, data: Latency, points: pd.DataFrame) -> pd.DataFrame:
    return compute.sweep_exponents(points, data, seed=params.SEED)


def claim_on_counts(counts: pd.DataFrame) -> pd.DataFrame:
    return compute.count_scaling(counts)


def correlate(params: Parameters, data: Latency, counts: pd.DataFrame) -> pd.DataFrame:
    """ρ(latency, MACs) across the zoo's ``ACROSS_MODELS`` models on the same series, and over
    the family's networks."""
    files = compute.zoo_files(params.ZOO_CSV, params.LATENCY_CSV)
    zoo = compute.read_zoo(files, params.ACROSS_MODELS, data)
    macs = inputs.zoo_counts(sorted(set(zoo[inputs.PRIMARY]["model_id"])))["macs"].to_dict()
    return compute.correlations(data, counts, zoo, macs, params.ACROSS_MODELS,
                                n_permutations=params.N_PERMUTATIONS, seed=params.SEED)


def noise(params: Parameters, data: Latency) -> pd.DataFrame:
    return compute.noise_table(data, params.WITH_H200, params.H200_MODE)


def lite_vs_b(data: Latency, counts: pd.DataFrame, exponents: pd.DataFrame,
              bands: pd.DataFrame) -> pd.DataFrame:
    return compute.lite_versus_b(data, counts, exponents, bands)


def ablation(params: Parameters) -> pd.DataFrame:
    """Squeeze-Excite and SiLU in the paper's Tables 2 and 3 (shipped campaigns)."""
    return compute.ablation_context(params.H200_MODE)


@dataclass(frozen=True)
class Numbers:
    """The step results: the result tables, in the order they are written."""

    points: pd.DataFrame
    counts: pd.DataFrame
    count_scaling: pd.DataFrame
    exponents: pd.DataFrame
    correlations: pd.DataFrame
    noise: pd.DataFrame
    lite_vs_b: pd.DataFrame
    ablation_context: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


def find(params: Parameters, numbers: Numbers) -> Findings:
    """The typed findings, with the takeaway that opens the conclusion."""
    h200 = inputs.h200_label(params.H200_MODE) if params.WITH_H200 else None
    found = find_in(numbers.tables(), params.ACROSS_MODELS, h200,
                    inputs.h200_campaign_label(params.H200_MODE))
    return dataclasses.replace(found, takeaway=prose.takeaway(found))


def conclude(found: Findings) -> str:
    return prose.conclusion(found)


def plot(numbers: Numbers) -> dict:
    """Every figure of the notebook (they only draw)."""
    return charts.all_figures(numbers.points, numbers.exponents, numbers.points,
                              numbers.lite_vs_b, numbers.count_scaling)


def _inputs(params: Parameters, data: Latency) -> tuple[Path, ...]:
    zoo = compute.zoo_files(params.ZOO_CSV, params.LATENCY_CSV)
    committed = paths.NOTEBOOK_OUTPUTS / "complexity.csv"
    return tuple(dict.fromkeys([*data.files, *zoo, *compute.ablation_files(), committed,
                                inputs.PAPER_CSV]))


def result(params: Parameters, data: Latency, numbers: Numbers, found: Findings,
           figures: dict | None = None) -> StudyResult:
    tables = {name: Table(frame, *describe(name)) for name, frame in numbers.tables().items()}
    notes = {"latency_files": [p.name for p in data.files], "series": data.series,
             "left_out": data.left_out.to_dict(orient="records"),
             "warnings": list(data.warnings)}
    return StudyResult(NOTEBOOK, params, tables, found, conclude(found),
                       figures=figures or {}, inputs=_inputs(params, data), notes=notes)


def run(params: Parameters, *, draw: bool = True) -> StudyResult:
    """Notebook 08 in-process: exactly the steps the notebook calls (figures only with
    ``draw``)."""
    data = load(params)
    counts = count(data)
    points = fit_points(data, counts)
    exponents = fit(params, data, points)
    claim = claim_on_counts(counts)
    correlations = correlate(params, data, counts)
    bands = noise(params, data)
    lite = lite_vs_b(data, counts, exponents, bands)
    context = ablation(params)
    numbers = Numbers(points, counts, claim, exponents, correlations, bands, lite, context)
    found = find(params, numbers)
    figures = plot(numbers) if draw else {}
    return result(params, data, numbers, found, figures)


__all__ = ["NOTEBOOK", "RULES", "Numbers", "ablation", "claim_on_counts", "conclude",
           "correlate", "count", "find", "fit", "fit_points", "lite_vs_b", "load", "noise",
           "parameters", "plot", "result", "run"]
