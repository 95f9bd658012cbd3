"""Notebook 06 · from "what predicts latency" to predicting it: a new device's latencies from a
few measured models, with the predictor of :mod:`analysis.predict`.

The steps, in the order the notebook shows them and :func:`run` chains them::

    P = parameters()                                   # or parameters(globals()) in a notebook
    devices = load(P)                                  # latencies, costs, features
    loo = leave_one_out(P, devices)                    # each model predicted from the others
    vs_macs = versus_macs(P, devices, loo)             # … against ranking by MACs
    nd = new_device(P, devices)                        # k calibration models on a new device
    imp = importance(P, devices)                       # which costs the predictor relies on
    found = findings_of(devices, loo, vs_macs, nd, imp)
    result = result_of(P, devices, loo, vs_macs, nd, imp, found, conclusion(found))

Each analysis step returns its tables with the section's typed findings, generated text and
figure (none with ``draw=False``).
"""

from __future__ import annotations

from analysis import predict as P
from analysis.constants import TARGET_K
from analysis.errors import AnalysisError, ConfigError
from analysis.models import resolve_models
from analysis.studies.core import StudyResult, Table
from analysis.studies.params import Parameters, at_least, collect, files_exist, make, one_of
from analysis.studies.prediction import compute as C
from analysis.studies.prediction import figures as FIG
from analysis.studies.prediction import findings as F
from analysis.studies.prediction import prose
from analysis.studies.prediction.compute import Devices, LeaveOneOut, NewDevice, Section
from analysis.studies.prediction.findings import Findings

NOTEBOOK = "06_latency_prediction"


def _models(name: str, value):
    """A group or model names the registry knows (one line naming the parameter otherwise)."""
    try:
        resolve_models(value)
    except AnalysisError as exc:
        raise ConfigError(f"parameter {name}: {exc}") from None
    return value


RULES = {
    "LATENCY_CSV": files_exist,
    "MODELS": _models,
    "FEATURE_SETS": one_of(list(P.FEATURE_SETS)),
    "K_CALIBRATION": at_least(P.MIN_CALIBRATION),
    "N_SPLITS": at_least(1),
    "N_SIMULATIONS": at_least(1),
    "N_REPEATS": at_least(1),
    "N_BOOTSTRAP": at_least(100),
    "SEED": at_least(0),
}


def parameters(namespace=None, **overrides) -> Parameters:
    """The checked parameters: from a running notebook's ``globals()``, else the notebook's
    defaults with ``overrides``."""
    if namespace is not None:
        return collect(NOTEBOOK, namespace, RULES)
    return make(NOTEBOOK, RULES, **overrides)


def load(params) -> Devices:
    """The evaluated devices, the prior pool, the costs and features of every zoo model."""
    return C.load_devices(params.LATENCY_CSV, params.MODELS)


def leave_one_out(params, devices: Devices, *, draw: bool = True) -> LeaveOneOut:
    """Each model of each device predicted from the device's other models."""
    scores, predictions = C.leave_one_out(devices.series, devices.groups, devices.feats,
                                          params.FEATURE_SETS, pool=devices.pool)
    predictions = C.with_models(predictions, devices.costs)
    found = F.loo_findings(scores)
    figure = FIG.predicted_vs_measured(predictions, scores) if draw else None
    return LeaveOneOut(scores, predictions, found, prose.loo_text(found), figure)


def versus_macs(params, devices: Devices, loo: LeaveOneOut) -> Section:
    """The predictor's leave-one-out ρ against ranking the same models by MACs."""
    table = C.loo_vs_macs(loo.predictions, devices.costs, n_bootstrap=params.N_BOOTSTRAP,
                          seed=params.SEED)
    found = F.versus_macs_findings(table)
    return Section(table, found, prose.versus_macs_text(found))


def new_device(params, devices: Devices, *, draw: bool = True) -> NewDevice:
    """Each physical device held out in turn: k calibration models, the rest predicted, next
    to the two baselines."""
    splits = C.new_device(devices.series, devices.groups, devices.feats, devices.costs,
                          ks=params.K_CALIBRATION, n_splits=params.N_SPLITS, seed=params.SEED,
                          feature_sets=params.FEATURE_SETS,
                          n_simulations=params.N_SIMULATIONS, pool=devices.pool)
    summary = C.summarize_new_device(splits)
    found = F.new_device_findings(summary, C.report_k(summary, TARGET_K))
    figure = FIG.new_device(summary) if draw else None
    return NewDevice(splits, summary, found, prose.new_device_text(found), figure)


def importance(params, devices: Devices, *, draw: bool = True) -> Section:
    """Permutation importance of each cost per device."""
    table = C.importance(devices.series, devices.feats, n_repeats=params.N_REPEATS,
                         seed=params.SEED)
    found = F.importance_findings(table)
    figure = FIG.importance(table) if draw else None
    return Section(table, found, prose.importance_text(found), figure)


def findings_of(devices: Devices, loo: LeaveOneOut, vs_macs: Section, nd: NewDevice,
                imp: Section) -> Findings:
    """The typed findings of the whole notebook (:func:`analysis.studies.prediction.findings.
    findings`)."""
    return F.findings(loo.scores, loo.predictions, vs_macs.table, nd.splits, nd.summary,
                      imp.table, devices.names, devices.noise)


def shortfalls(found: Findings) -> str:
    """Where the predictor stays below the targets, and why (Markdown)."""
    return prose.shortfalls_text(found)


def targets() -> str:
    """The targets the findings are judged against (Markdown, from the constants)."""
    return prose.targets()


def conclusion(found: Findings) -> str:
    """The generated conclusion (Markdown)."""
    return prose.conclusion(found)


def result_of(params, devices: Devices, loo: LeaveOneOut, vs_macs: Section, nd: NewDevice,
              imp: Section, found: Findings, text: str) -> StudyResult:
    """Everything the run writes: six tables, three figures (when drawn), the findings."""
    tables = {
        "prediction_loo": Table(loo.scores, "per device and predictor: leave-one-out ρ, "
                                             "MdAPE (%), share within ±10 %, 90 % coverage",
                                C.COLUMNS),
        "prediction_loo_models": Table(loo.predictions, "leave-one-out prediction per model",
                                       C.COLUMNS),
        "prediction_loo_vs_macs": Table(vs_macs.table, "paired bootstrap Δρ, predictor vs "
                                                       "MACs", C.COLUMNS),
        "prediction_new_device": Table(nd.summary, "per device, k and method: median and "
                                                   "10th percentile of ρ, errors, coverage",
                                       C.COLUMNS),
        "prediction_new_device_splits": Table(nd.splits, "one row per split and method",
                                              C.COLUMNS),
        "prediction_importance": Table(imp.table, "permutation importance per device and "
                                                  "cost", C.COLUMNS),
    }
    figures = {"prediction_loo_predicted_vs_measured": loo.figure,
               "prediction_new_device_rho_vs_k": nd.figure,
               "prediction_cost_importance": imp.figure}
    return StudyResult(NOTEBOOK, params, tables, found, text,
                       figures={k: v for k, v in figures.items() if v is not None},
                       inputs=devices.files)


def run(params, *, draw: bool = True) -> StudyResult:
    """The whole notebook in-process: the same steps, in the same order."""
    devices = load(params)
    loo = leave_one_out(params, devices, draw=draw)
    vs_macs = versus_macs(params, devices, loo)
    nd = new_device(params, devices, draw=draw)
    imp = importance(params, devices, draw=draw)
    found = findings_of(devices, loo, vs_macs, nd, imp)
    return result_of(params, devices, loo, vs_macs, nd, imp, found, conclusion(found))
