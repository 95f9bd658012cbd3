"""Latency data: the project's CSV format, its validator, the paper's numbers, local measurement.

::

    from analysis.latency import load_latency, measure_models
    table = load_latency(["data/latency/paper-iphone12-coreml.csv"])   # tidy, validated
    rows = measure_models("figure2", runtime="onnxruntime", runs=100)  # local CPU

Modules: :mod:`~analysis.latency.formats` (loading and validation) built on
:mod:`~.delimited` (decoding, delimiters), :mod:`~.schema` (columns, cell parsing),
:mod:`~.summaries` (aggregation, conflicts) and :mod:`~.timm` (timm's benchmark results);
:mod:`~.checks` (implausible units, devices by name);
:mod:`~.sampling` (summary statistics of samples), :mod:`~.paper` (the paper's Table 9 latencies
as files), :mod:`~.harness` (measurement), :mod:`~.runtimes` (PyTorch, ONNX Runtime),
:mod:`~.context` (CPU, versions, date). ``data/README.md`` documents the format.
"""

from __future__ import annotations

from analysis.latency.checks import (MAX_MACS_PER_S, MIN_MACS_PER_S, check_units, device_labels,
                                     select_devices)
from analysis.latency.context import describe_context, machine_context
from analysis.latency.formats import describe_latency, load_latency
from analysis.latency.schema import (DEFAULTS, KEY_COLUMNS, OPTIONAL_COLUMNS, REQUIRED_COLUMNS,
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
