"""Latency data: the project's CSV format, its validator, the paper's numbers, local measurement.

::

    from analysis.latency import load_latency, measure_models
    table = load_latency(["data/latency/paper-iphone12-coreml.csv"])   # tidy, validated
    rows = measure_models("figure2", runtime="onnxruntime", runs=100)  # local CPU

Modules: :mod:`~analysis.latency.formats` (loading and validation) built on
:mod:`~.delimited` (decoding, delimiters), :mod:`~.schema` (columns, cell parsing),
:mod:`~.summaries` (aggregation, conflicts), :mod:`~.sessions` (a campaign's sessions) and
:mod:`~.timm` (timm's benchmark results); :mod:`~.checks` (:func:`read_checked`, the one way
commands read latency: units checked; devices by name); :mod:`~.h200` (the shipped H200
campaign, generated from the raw reference files);
:mod:`~.sampling` (summary statistics of samples), :mod:`~.paper` (the paper's Table 9 latencies
as files), :mod:`~.harness` (measurement), :mod:`~.runtimes` (PyTorch, ONNX Runtime),
:mod:`~.context` (CPU, versions, date). ``data/README.md`` documents the format.
"""

from __future__ import annotations

from analysis.latency.checks import (MAX_MACS_PER_S, MIN_MACS_PER_S, CheckedLatency, check_units,
                                     device_column, device_labels, read_checked, select_devices)
from analysis.latency.context import describe_context, machine_context
from analysis.latency.delimited import MAX_LISTED
from analysis.latency.formats import describe_latency, load_latency, load_sessions
from analysis.latency.h200 import h200_campaign_file, write_h200_campaign
from analysis.latency.schema import (CONTEXT_COLUMNS, DEFAULTS, FORMS, KEY_COLUMNS, MODES,
                                     OPTIONAL_COLUMNS, REQUIRED_COLUMNS, SESSION_COLUMNS,
                                     STAT_COLUMNS, STATISTICS, SUMMARY_STATISTICS, TIDY_COLUMNS,
                                     LatencyDataWarning)
from analysis.latency.campaign import Measurements, measure_models, run_campaign
from analysis.latency.harness import MEASURE_COLUMNS, Item, measure_model
from analysis.latency.paper import paper_latency_files, write_paper_latency_files
from analysis.latency.runtimes import RUNTIMES
from analysis.latency.sampling import sample_stats, trimmed_mean
from analysis.latency.timm import read_timm_benchmark

__all__ = [
    "DEFAULTS", "Item", "KEY_COLUMNS", "Measurements", "MAX_MACS_PER_S", "MEASURE_COLUMNS",
    "MIN_MACS_PER_S",
    "OPTIONAL_COLUMNS", "REQUIRED_COLUMNS", "RUNTIMES", "STATISTICS", "STAT_COLUMNS",
    "SUMMARY_STATISTICS", "TIDY_COLUMNS", "LatencyDataWarning", "check_units",
    "describe_context", "describe_latency", "device_labels", "load_latency", "machine_context",
    "measure_model", "measure_models", "paper_latency_files", "read_timm_benchmark",
    "run_campaign", "sample_stats", "select_devices", "trimmed_mean", "write_paper_latency_files",
]
__all__ += [  # the loader's campaigns and checks (issues 19, 21, 23)
    "CONTEXT_COLUMNS", "CheckedLatency", "FORMS", "MAX_LISTED", "MODES", "SESSION_COLUMNS",
    "device_column", "h200_campaign_file", "load_sessions", "read_checked",
    "write_h200_campaign",
]
