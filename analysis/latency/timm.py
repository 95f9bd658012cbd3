"""timm's benchmark results (``infer_step_time`` … columns, e.g.
``data/external/timm-benchmarks/*.csv``) read into the project's tidy latency table.

A file is recognised by its header (``infer_step_time`` and no ``latency_ms``); device,
runtime and precision come from its name (``benchmark-infer-fp32-nchw-pt240-cpu-…``). Only
batch-1 rows are latencies: a row with ``infer_batch_size`` > 1 times a whole batch (a
throughput measurement) and is refused.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from analysis import paths
from analysis.errors import DataFormatError
from analysis.latency.delimited import (Table, check_columns, raise_problems, read_text,
                                        split_table)
from analysis.latency.schema import (PRECISION_ALIASES, PRECISIONS, REQUIRED_COLUMNS, Row,
                                     integer, latency, number)
from analysis.latency.summaries import dedupe, to_frame

TIMM_COLUMNS = ("model", "infer_img_size", "infer_step_time", "infer_batch_size",
                "param_count", "infer_gmacs")

_TIMM_NAME = re.compile(r"benchmark-infer-(?P<precision>[a-z0-9]+)-(?P<layout>nchw|nhwc)-"
                        r"pt(?P<torch>\d+)-(?P<device>.+?)(?:-(?P<compile>dynamo|inductor|"
                        r"eager|torchscript))?$")


def _timm_context(path: Path) -> dict:
    """Device, runtime and precision encoded in a timm results file name."""
    m = _TIMM_NAME.match(path.stem)
    if not m:
        return {"device": path.stem, "runtime": "torch", "precision": "unknown",
                "runtime_version": None, "layout": None}
    digits = m["torch"]
    version = ".".join([digits[0], digits[1:-1] or "0", digits[-1]]) if len(digits) >= 3 \
        else digits
    precision = PRECISION_ALIASES.get(m["precision"], m["precision"])
    return {"device": m["device"], "runtime": f"torch-{m['compile'] or 'eager'}",
            "precision": precision if precision in PRECISIONS else "unknown",
            "runtime_version": version, "layout": m["layout"]}


def is_timm(table: Table) -> bool:
    """Whether ``table`` is timm's benchmark results rather than the long format."""
    return "infer_step_time" in table.header and "latency_ms" not in table.header


def read_timm(table: Table, include_test_models: bool = False) -> list[Row]:
    """The rows of a timm results table (``test_*`` toy models dropped unless asked for)."""
    check_columns(table, TIMM_COLUMNS, "timm benchmark results")
    ctx = _timm_context(table.path)
    source = ("timm benchmark results (huggingface/pytorch-image-models, Apache-2.0): "
              + paths.relative(table.path))
    rows = []
    for line, cells in table.rows:
        cell = dict(zip(table.header, cells))
        if not include_test_models and cell["model"].startswith("test_"):
            continue
        try:
            rows.append(_timm_row(table, line, cell, ctx, source))
        except DataFormatError as exc:
            table.problems.append((line, str(exc)))  # reported with the others
    return rows


def _timm_row(table: Table, line: int, cell: dict, ctx: dict, source: str) -> Row:
    """One row of timm's results in the tidy table's terms."""
    name = cell["model"]
    row = Row(table, line)
    v = row.values
    if not name:
        raise row.error("model", "empty; expected a timm model name")
    v["model"], v["model_id"] = name, None  # timm's implementations, not the zoo's
    v["statistic"] = "mean"  # timm's benchmark averages the step time over its iterations
    v["latency_ms"] = latency(row, "infer_step_time", cell["infer_step_time"])
    v["device"], v["runtime"], v["precision"] = ctx["device"], ctx["runtime"], \
        ctx["precision"]
    v["n_runs"] = None
    v["batch_size"] = integer(row, "infer_batch_size", cell["infer_batch_size"],
                              "a batch size >= 1")
    if v["batch_size"] > 1:
        raise row.error("infer_batch_size", (
            f"batch size {v['batch_size']}: timm's step time of a batch measures "
            f"throughput ({v['batch_size']} images per step), not the latency of one "
            f"image; use results benchmarked with --batch-size 1"))
    v["input_size"] = integer(row, "infer_img_size", cell["infer_img_size"],
                              "the input side in pixels")
    v["threads"] = None
    v["source"] = source
    v["date"] = None
    gmacs = number(row, "infer_gmacs", cell["infer_gmacs"], "GMACs")
    v["macs"] = gmacs * 1e9 if gmacs is not None else None
    mparams = number(row, "param_count", cell["param_count"], "millions of parameters")
    v["params"] = mparams * 1e6 if mparams is not None else None
    if "infer_macts" in cell:
        macts = number(row, "infer_macts", cell["infer_macts"], "millions of activations")
        row.extras["activations"] = macts * 1e6 if macts is not None else None
    row.extras["runtime_version"] = ctx["runtime_version"]
    row.extras["memory_layout"] = ctx["layout"]
    return row


def read_timm_benchmark(path: str | os.PathLike, *,
                        include_test_models: bool = False) -> pd.DataFrame:
    """timm's benchmark CSV (e.g. ``data/external/timm-benchmarks/*.csv``) as a tidy table.

    ``latency_ms`` = ``infer_step_time`` (timm's mean step time; the latency at batch 1),
    ``statistic`` = ``mean``, ``macs`` = ``infer_gmacs``·1e9, ``params`` = ``param_count``·1e6,
    ``activations`` = ``infer_macts``·1e6; device, runtime and precision come from the file
    name. ``model_id`` is ``None``: these are timm's implementations, not the zoo's.
    """
    p = Path(path)
    table = split_table(p, read_text(p), required=REQUIRED_COLUMNS, recognise=TIMM_COLUMNS)
    if not is_timm(table):
        raise DataFormatError(f"{table.shown}, line {table.header_line}: not a timm benchmark "
                              f"file; expected the columns {', '.join(TIMM_COLUMNS)}")
    rows = read_timm(table, include_test_models)
    raise_problems(table)
    return to_frame(dedupe(rows))
