"""Notebook 07 · on one GPU, what predicts latency flips with the execution regime.

MobileOne (Vasu et al., CVPR 2023, §3) argues that FLOPs and parameters predict on-device
latency poorly because of memory access and synchronization costs; its Table 9 has one GPU
column (RTX-2080Ti, TensorRT). Here one GPU is measured in several regimes — PyTorch eager
(every operator launched from Python) and a CUDA graph (the kernels replayed without launch
cost), each in fp32 and fp16 — and the study asks, per regime, what ranks latency.

The steps the notebook shows, in order (:func:`run` chains exactly them)::

    P = parameters(globals())            # or parameters(**overrides) in-process
    data = load(P)                       # the GPU campaign: regimes, sessions
    joined = join(P, data)               # + the zoo models' costs
    correlations = correlate(P, joined)  # ρ per regime × metric (permutation p, Fisher CI)
    versus, best = compare(P, joined)    # vs MACs (Holm), selection-aware best
    gap, gap_changes = metric_gap(P, joined)   # the pre-stated question
    differences = differ(P, joined)      # exploratory: Δρ between regimes per metric
    overhead, overhead_points = launch(P, joined)  # µs per operator
    ablation = ablate(P, data)           # Tables 2 and 3 per regime (notebooks 02/03's code)
    agreement, closest = paper_devices(P, joined)  # the paper's devices vs each regime
    noise, session_rhos = sessions(P, data, joined)
    numbers = Numbers(...); found = find(P, data, joined, numbers); text = conclude(found)
    figures = plot(data, joined, numbers)
    write(result(P, data, numbers, found, figures))
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd

from analysis.latency import h200_campaign_file
from analysis.models import list_groups
from analysis.studies.core import StudyResult, Table
from analysis.studies.params import (Parameters, at_least, collect, files_exist, make, one_of,
                                     output_dirs)
from analysis.studies.regimes import compute, overhead, prose
from analysis.studies.regimes import figures as charts
from analysis.studies.regimes.compute import Campaign, Joined
from analysis.studies.regimes.findings import Findings
from analysis.studies.regimes.findings import find as find_in
from analysis.studies.regimes.slowdowns import Ablation, ablation_series
from analysis.studies.regimes.tables import describe

NOTEBOOK = "07_gpu_execution_regimes"
RULES = {
    "LATENCY_CSV": files_exist,
    "MODELS": one_of(list_groups),
    "N_PERMUTATIONS": at_least(99),
    "N_BOOTSTRAP": at_least(100),
    "SEED": at_least(0),
}


def parameters(namespace=None, **overrides) -> Parameters:
    """The checked parameters: from a running notebook's ``globals()`` (the campaign is read
    and ``DEVICE`` checked before any folder is made), else the defaults with ``overrides``."""
    if namespace is None:
        return make(NOTEBOOK, RULES, **overrides)
    params = collect(NOTEBOOK, namespace, RULES, announce=False)
    compute.read_campaign(params.LATENCY_CSV, params.DEVICE)  # a bad file or device: stop here
    output_dirs(params)
    return params


# -- the steps ------------------------------------------------------------------------------------

def load(params: Parameters) -> Campaign:
    """The GPU campaign (``LATENCY_CSV``, default the shipped H200 campaign), one device, its
    regimes, read with each session's minimum and median."""
    return compute.read_campaign(params.LATENCY_CSV, params.DEVICE)


def join(params: Parameters, data: Campaign) -> Joined:
    """The models of ``MODELS`` with their costs (the committed fvcore counts)."""
    return compute.join_costs(data, params.MODELS)


def correlate(params: Parameters, joined: Joined) -> pd.DataFrame:
    return compute.correlations(joined, n_permutations=params.N_PERMUTATIONS, seed=params.SEED)


def compare(params: Parameters, joined: Joined) -> tuple[pd.DataFrame, pd.DataFrame]:
    return compute.against_macs(joined, n_bootstrap=params.N_BOOTSTRAP, seed=params.SEED)


def metric_gap(params: Parameters, joined: Joined) -> tuple[pd.DataFrame, pd.DataFrame]:
    return compute.metric_order(joined, n_bootstrap=params.N_BOOTSTRAP, seed=params.SEED)


def differ(params: Parameters, joined: Joined) -> pd.DataFrame:
    return compute.regime_differences(joined, n_bootstrap=params.N_BOOTSTRAP, seed=params.SEED)


def launch(params: Parameters, joined: Joined) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The regression per statistic and precision, and the rows it uses (primary statistic)."""
    rows = overhead.overhead_rows(joined, compute.PRIMARY)
    points = (pd.concat([d.assign(precision=p) for p, d in rows.items()], ignore_index=True)
              if rows else pd.DataFrame(columns=["precision"]))
    return (overhead.launch_overhead(joined, n_bootstrap=params.N_BOOTSTRAP, seed=params.SEED),
            points)


def ablate(params: Parameters, data: Campaign) -> Ablation:
    shipped = not params.LATENCY_CSV or [f.resolve() for f in data.files] == [
        h200_campaign_file().resolve()]
    return ablation_series(data.files, data.device, shipped)


def paper_devices(params: Parameters, joined: Joined) -> tuple[pd.DataFrame, pd.DataFrame]:
    return compute.device_agreement(joined, compute.paper_devices(joined.models),
                                    n_permutations=params.N_PERMUTATIONS,
                                    n_bootstrap=params.N_BOOTSTRAP, seed=params.SEED)


def sessions(params: Parameters, data: Campaign,
             joined: Joined) -> tuple[pd.DataFrame, pd.DataFrame]:
    return compute.session_noise(data, joined.models), compute.session_rhos(data, joined)


@dataclass(frozen=True)
class Numbers:
    """The step results behind the result tables."""

    correlations: pd.DataFrame
    versus_macs: pd.DataFrame
    best_metrics: pd.DataFrame
    metric_gap: pd.DataFrame
    metric_gap_changes: pd.DataFrame
    regime_differences: pd.DataFrame
    launch_overhead: pd.DataFrame
    overhead_points: pd.DataFrame
    ablation: Ablation
    device_agreement: pd.DataFrame
    closest_regime: pd.DataFrame
    session_noise: pd.DataFrame
    session_rhos: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        """The result tables by name (the CSVs the run writes)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
               if f.name not in ("ablation",)}
        out["ablation_ratios"] = self.ablation.ratios
        out["ablation_duplicates"] = self.ablation.duplicates
        return out


def find(params: Parameters, data: Campaign, joined: Joined, numbers: Numbers) -> Findings:
    """The typed findings, with the takeaway that opens the conclusion."""
    found = find_in(data.device, data.regimes, len(joined.models), params.N_BOOTSTRAP,
                    numbers.tables())
    return dataclasses.replace(found, takeaway=prose.takeaway(found))


def conclude(found: Findings) -> str:
    return prose.conclusion(found)


def plot(data: Campaign, joined: Joined, numbers: Numbers) -> dict:
    """Every figure of the notebook (they only draw)."""
    return charts.all_figures(data.device, joined.frame, numbers.correlations,
                              numbers.overhead_points, numbers.launch_overhead,
                              numbers.ablation.ratios, numbers.device_agreement)


def result(params: Parameters, data: Campaign, numbers: Numbers, found: Findings,
           figures: dict | None = None) -> StudyResult:
    tables = {name: Table(frame, *describe(name)) for name, frame in numbers.tables().items()}
    inputs = (*data.files, *numbers.ablation.files,
              *compute.reference_files())
    notes = {"latency_files": [str(p.name) for p in data.files], "device": data.device,
             "regimes": list(data.regimes), "warnings": list(data.warnings)}
    return StudyResult(NOTEBOOK, params, tables, found, conclude(found),
                       figures=figures or {}, inputs=inputs, notes=notes)


def run(params: Parameters, *, draw: bool = True) -> StudyResult:
    """Notebook 07 in-process: exactly the steps the notebook calls (figures only with
    ``draw``)."""
    data = load(params)
    joined = join(params, data)
    correlations = correlate(params, joined)
    versus, best = compare(params, joined)
    gap, gap_changes = metric_gap(params, joined)
    differences = differ(params, joined)
    fits, points = launch(params, joined)
    ablation = ablate(params, data)
    agreement, closest = paper_devices(params, joined)
    noise, session_rhos = sessions(params, data, joined)
    numbers = Numbers(correlations, versus, best, gap, gap_changes, differences, fits,
                      points, ablation, agreement, closest, noise, session_rhos)
    found = find(params, data, joined, numbers)
    figures = plot(data, joined, numbers) if draw else {}
    return result(params, data, numbers, found, figures)


__all__ = ["NOTEBOOK", "RULES", "Numbers", "ablate", "compare", "conclude", "correlate",
           "differ", "find", "join", "launch", "load", "metric_gap", "paper_devices",
           "parameters", "plot", "result", "run", "sessions"]
