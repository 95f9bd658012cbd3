"""Latency data: the project's CSV format, its validator, the paper's numbers, local measurement.

::

    from analysis.latency import load_latency, measure_models
    table = load_latency(["data/latency/paper-iphone12-coreml.csv"])   # tidy, validated
    rows = measure_models("figure2", runtime="onnxruntime", runs=100)  # local CPU

Modules: :mod:`~analysis.latency.formats` (reading and validation), :mod:`~.stats` (summary
statistics of samples), :mod:`~.paper` (the paper's Table 9 latencies as files),
:mod:`~.harness` (measurement), :mod:`~.runtimes` (PyTorch, ONNX Runtime),
:mod:`~.context` (CPU, versions, date). ``data/README.md`` documents the format.
"""

from __future__ import annotations

from analysis.latency.context import describe_context, machine_context
from analysis.latency.formats import (DEFAULTS, KEY_COLUMNS, OPTIONAL_COLUMNS, REQUIRED_COLUMNS,
                                      STAT_COLUMNS, STATISTICS, SUMMARY_STATISTICS,
                                      TIDY_COLUMNS, describe_latency, load_latency,
                                      read_timm_benchmark)
from analysis.latency.harness import MEASURE_COLUMNS, measure_model, measure_models
from analysis.latency.paper import paper_latency_files, write_paper_latency_files
from analysis.latency.runtimes import RUNTIMES
from analysis.latency.stats import sample_stats, trimmed_mean

__all__ = [
    "DEFAULTS", "KEY_COLUMNS", "MEASURE_COLUMNS", "OPTIONAL_COLUMNS", "REQUIRED_COLUMNS",
    "RUNTIMES", "STATISTICS", "STAT_COLUMNS", "SUMMARY_STATISTICS", "TIDY_COLUMNS",
    "describe_context", "describe_latency", "load_latency", "machine_context",
    "measure_model", "measure_models", "paper_latency_files", "read_timm_benchmark",
    "sample_stats", "trimmed_mean", "write_paper_latency_files",
]
