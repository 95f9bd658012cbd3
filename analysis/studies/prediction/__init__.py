"""Notebook 06 · from "what predicts latency" to predicting it: a new device's latencies from a
few measured models, with the predictor of :mod:`analysis.predict`.

The steps, in the order the notebook shows them and :func:`run` chains them::

    P = parameters()                                   # or parameters(globals()) in a notebook
    devices = load(P)                                  # latencies, costs, features, profiles
    loo = leave_one_out(P, devices)                    # each model predicted from the others
    vs_macs = versus_macs(P, devices, loo)             # … against ranking by MACs
    nd = new_device(P, devices)                        # k calibration models on a new device
    pool = reference_pool(P, devices, nd)              # … with and without one physical device
    cov = coverage(P, loo, nd)                         # the intervals' coverage per device
    imp = importance(P, devices)                       # cost groups needed out of sample
    found = findings_of(devices, loo, vs_macs, nd, pool, cov, imp)
    result = result_of(P, devices, loo, vs_macs, nd, pool, cov, imp, found, conclusion(found))

Each analysis step returns its table(s) with the section's typed findings, generated text and
figure (none with ``draw=False``).
"""

from __future__ import annotations

import dataclasses

from analysis import predict as P
from analysis.constants import TARGET_K
from analysis.errors import AnalysisError, ConfigError
from analysis.models import resolve_models
from analysis.studies.core import StudyResult, Table
from analysis.studies.params import Parameters, at_least, collect, files_exist, make, one_of
from analysis.studies.prediction import compute as C
from analysis.studies.prediction import cost_groups as G
from analysis.studies.prediction import figures as FIG
from analysis.studies.prediction import findings as F
from analysis.studies.prediction import prose
from analysis.studies.prediction import tables as T
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


def _physical_devices() -> list[str]:
    """The physical devices of the shipped zoo files (the choices of ``WITHOUT_REFERENCE``)."""
    table = C.load_latency(P.reference_files())
    column = "physical_device" if "physical_device" in table else "device"
    return list(dict.fromkeys(table[column].fillna(table["device"]).astype(str)))


RULES = {
    "LATENCY_CSV": files_exist,
    "MODELS": _models,
    "FEATURE_SETS": one_of(list(P.FEATURE_SETS)),
    "K_CALIBRATION": at_least(P.MIN_CALIBRATION),
    "N_SPLITS": at_least(1),
    "N_SIMULATIONS": at_least(1),
    "N_BOOTSTRAP": at_least(100),
    "WITHOUT_REFERENCE": one_of(_physical_devices),
    "SEED": at_least(0),
}


def parameters(namespace=None, **overrides) -> Parameters:
    """The checked parameters: from a running notebook's ``globals()``, else the notebook's
    defaults with ``overrides``."""
    if namespace is not None:
        return collect(NOTEBOOK, namespace, RULES)
    return make(NOTEBOOK, RULES, **overrides)


def load(params) -> Devices:
    """The evaluated devices, the prior pool and its profiles, the costs and features of every
    zoo model."""
    return C.load_devices(params.LATENCY_CSV, params.MODELS)


def leave_one_out(params, devices: Devices, *, draw: bool = True) -> LeaveOneOut:
    """Each model of each device predicted from the device's other models."""
    scores, predictions = C.leave_one_out(devices.series, devices.groups, devices.feats,
                                          params.FEATURE_SETS, pool=devices.pool,
                                          profiles=devices.profiles)
    predictions = C.with_models(predictions, devices.costs)
    found = F.loo_findings(scores)
    figure = FIG.predicted_vs_measured(predictions, scores) if draw else None
    return LeaveOneOut(scores, predictions, found, prose.loo_text(found), figure)


def versus_macs(params, devices: Devices, loo: LeaveOneOut) -> Section:
    """The predictor's leave-one-out ρ against ranking by MACs (paired bootstrap,
    Benjamini–Hochberg over the devices)."""
    table = C.loo_vs_macs(loo.predictions, devices.costs, n_bootstrap=params.N_BOOTSTRAP,
                          seed=params.SEED)
    found = F.versus_macs_findings(table)
    return Section(table, found, prose.versus_macs_text(found))


def _new_device(params, devices: Devices, series: dict, without=None, baselines=True):
    return C.new_device(series, devices.groups, devices.feats, devices.costs,
                        ks=params.K_CALIBRATION, n_splits=params.N_SPLITS, seed=params.SEED,
                        feature_sets=params.FEATURE_SETS, n_simulations=params.N_SIMULATIONS,
                        pool=devices.pool, profiles=devices.profiles, without=without,
                        baselines=baselines)


def new_device(params, devices: Devices) -> NewDevice:
    """Each physical device held out in turn: k calibration models, the rest predicted, next
    to the two baselines. The figure is drawn by :func:`reference_pool`, which adds the
    predictor without ``WITHOUT_REFERENCE`` to it."""
    splits, hits = _new_device(params, devices, devices.series)
    summary = C.summarize_new_device(splits)
    found = F.new_device_findings(summary, C.report_k(summary, TARGET_K))
    return NewDevice(splits, summary, hits, found, prose.new_device_text(found))


def reference_pool(params, devices: Devices, nd: NewDevice, *, draw: bool = True) -> Section:
    """The new-device scenario again for every device not on ``WITHOUT_REFERENCE``, without
    that physical device among the references, paired draw by draw with :func:`new_device`;
    and the new-device figure with both."""
    without = params.WITHOUT_REFERENCE
    others = {n: y for n, y in devices.series.items() if devices.groups[n] != without}
    table = C.pool_comparison(nd.splits, nd.splits[:0], str(without))
    if without is not None and others and without in set(devices.groups.values()):
        splits, _ = _new_device(params, devices, others, without=without, baselines=False)
        table = C.pool_comparison(nd.splits, splits, without)
    found = F.pool_findings(table, C.report_k(nd.summary, TARGET_K))
    figure = FIG.new_device(nd.summary, table) if draw else None
    return Section(table, found, prose.pool_text(found), figure)


def coverage(params, loo: LeaveOneOut, nd: NewDevice) -> Section:
    """The 90 % intervals' coverage per device, leaving one model out and at each k."""
    table = C.coverage_table(loo.predictions, nd.hits, n_bootstrap=params.N_BOOTSTRAP,
                             seed=params.SEED)
    found = F.coverage_findings(table, C.report_k(nd.summary, TARGET_K))
    return Section(table, found, prose.coverage_text(found))


def importance(params, devices: Devices, *, draw: bool = True) -> Section:
    """Out-of-sample importance of each group of collinear costs per device."""
    table = G.importance(devices.series, devices.feats, n_bootstrap=params.N_BOOTSTRAP,
                         seed=params.SEED)
    found = F.importance_findings(table)
    figure = FIG.importance(table) if draw else None
    return Section(table, found, prose.importance_text(found), figure)


def findings_of(devices: Devices, loo: LeaveOneOut, vs_macs: Section, nd: NewDevice,
                pool: Section, cov: Section, imp: Section) -> Findings:
    """The typed findings of the whole notebook (:func:`analysis.studies.prediction.findings.
    findings`), with the generated takeaway (at most three sentences)."""
    found = F.findings(loo.scores, loo.predictions, vs_macs.table, nd.splits, nd.summary,
                       cov.table, imp.table, pool.table, devices.groups, devices.names,
                       devices.noise)
    return dataclasses.replace(found, takeaway=prose.takeaway(found))


def advice(found: Findings) -> str:
    """How many models to measure on a new device (Markdown)."""
    return prose.advice_text(found.advice)


def shortfalls(found: Findings) -> str:
    """Where the predictor stays below the targets, and why (Markdown)."""
    return prose.shortfalls_text(found)


def targets() -> str:
    """The targets the findings are judged against (Markdown, from the constants)."""
    return prose.targets()


def conclusion(found: Findings) -> str:
    """The generated conclusion (Markdown), opening with the takeaway."""
    return prose.conclusion(found)


def result_of(params, devices: Devices, loo: LeaveOneOut, vs_macs: Section, nd: NewDevice,
              pool: Section, cov: Section, imp: Section, found: Findings,
              text: str) -> StudyResult:
    """Everything the run writes: nine tables, three figures (when drawn), the findings."""
    cols = T.COLUMNS
    tables = {
        "prediction_loo": Table(loo.scores, "per device and predictor: leave-one-out ρ, "
                                             "MdAPE (%), share within ±10 %, 90 % coverage",
                                cols),
        "prediction_loo_models": Table(loo.predictions, "leave-one-out prediction per model",
                                       cols),
        "prediction_loo_vs_macs": Table(vs_macs.table, "paired bootstrap Δρ, predictor vs "
                                                       "MACs, Benjamini–Hochberg over devices",
                                        cols),
        "prediction_new_device": Table(nd.summary, "per device, k and method: median and "
                                                   "10th/90th percentile of ρ, errors, "
                                                   "coverage", cols),
        "prediction_new_device_splits": Table(nd.splits, "one row per split and method", cols),
        "prediction_reference_pool": Table(pool.table, "per device and k: the predictor with "
                                                       "and without one physical device among "
                                                       "its references, paired by draw", cols),
        "prediction_coverage": Table(cov.table, "per device and k: coverage of the 90 % "
                                                "intervals with a 95 % interval (models "
                                                "resampled)", cols),
        "prediction_importance": Table(imp.table, "per device and cost group: held-out error "
                                                  "without the group ÷ with all costs", cols),
    }
    figures = {"prediction_loo_predicted_vs_measured": loo.figure,
               "prediction_new_device_rho_vs_k": pool.figure,
               "prediction_cost_importance": imp.figure}
    return StudyResult(NOTEBOOK, params, tables, found, text,
                       figures={k: v for k, v in figures.items() if v is not None},
                       inputs=devices.files,
                       notes={"feature_scaling": f"standardized over the {P.SCALING_MODELS} "
                                                 f"models ({len(P.scaling_ids())})"})


def run(params, *, draw: bool = True) -> StudyResult:
    """The whole notebook in-process: the same steps, in the same order."""
    devices = load(params)
    loo = leave_one_out(params, devices, draw=draw)
    vs_macs = versus_macs(params, devices, loo)
    nd = new_device(params, devices)
    pool = reference_pool(params, devices, nd, draw=draw)
    cov = coverage(params, loo, nd)
    imp = importance(params, devices, draw=draw)
    found = findings_of(devices, loo, vs_macs, nd, pool, cov, imp)
    return result_of(params, devices, loo, vs_macs, nd, pool, cov, imp, found,
                     conclusion(found))
