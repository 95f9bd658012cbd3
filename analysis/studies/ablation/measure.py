"""Where notebooks 02 and 03 get the CPU latencies of their networks: timed now with the
harness, or read from a file of earlier measurements.

Both ways return a :class:`Measured` with the same columns, so everything downstream is one
code path. Reading a file re-analyses a run without timing anything again (``MEASUREMENTS_CSV``
= the ``measurements.csv`` a run wrote, or a file of ``python -m analysis measure``); the
measurement-campaign issue makes committed campaigns the default source, with live timing as an
option — it replaces :func:`latencies`' choice, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from analysis.errors import AnalysisError, ConfigError, first_line
from analysis.latency import load_latency, measure_model
from analysis.models.ablation import AblationNet, get_variant
from analysis.studies.ablation.compute import AblationTable, require_networks, user_files
from analysis.text import plural

#: Columns of a measurement row (a subset of the harness's, loadable by ``load_latency``).
MEASUREMENT_COLUMNS = ("model", "model_id", "runtime", "device", "statistic", "latency_ms",
                       "min_ms", "median_ms", "p90_ms", "mean_ms", "std_ms", "cv", "n_runs",
                       "warmup", "threads", "input_size", "batch_size", "precision",
                       "runtime_version", "torch_version", "onnxruntime_version",
                       "python_version")
#: What a measurement's context is: one value per runtime expected (:func:`context_table`).
CONTEXT_COLUMNS = ("device", "runtime_version", "threads", "n_runs", "warmup", "input_size",
                   "batch_size", "precision", "torch_version", "onnxruntime_version",
                   "python_version")
LIVE = "timed live on this machine (analysis.latency harness)"
COLUMNS = {
    "warmup": "untimed runs before timing, dropped",
    "torch_version": "PyTorch version", "onnxruntime_version": "ONNX Runtime version",
    "python_version": "Python version",
}


@dataclass(frozen=True)
class Measured:
    """CPU latencies of the networks: ``rows`` (:data:`MEASUREMENT_COLUMNS`, one row per
    runtime and network), ``failed`` (``{"runtime · network": message}``), ``source`` (how
    they were obtained) and the ``files`` read (none when timed live)."""

    rows: pd.DataFrame
    failed: Mapping[str, str] = field(default_factory=dict)
    source: str = LIVE
    files: tuple[Path, ...] = ()

    def describe(self) -> str:
        """One line per runtime: device, networks, runs, threads; then the failures."""
        if self.rows.empty:
            return "no CPU latencies: " + ("RUNTIMES is none" if self.source == LIVE
                                           else f"none selected from {self.source}")
        lines = [f"CPU latencies {self.source}:"]
        for runtime, part in self.rows.groupby("runtime", sort=False):
            lines.append(f"  {runtime}: {plural(len(part), 'network')} on "
                         f"{part['device'].iloc[0]}, {_one(part['n_runs']) or '?'} runs each, "
                         f"threads: {_one(part['threads']) or 'not recorded'}")
        lines += [f"  not measured: {k} ({v})" for k, v in self.failed.items()]
        return "\n".join(lines)


def _one(values: pd.Series) -> str:
    """The distinct values of a column, joined with " / " ("" when none is recorded)."""
    return " / ".join(dict.fromkeys(str(v) for v in values.dropna()))


def _frame(rows: Sequence[Mapping]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows))
    for column in MEASUREMENT_COLUMNS:
        if column not in frame.columns:
            frame[column] = np.nan
    return frame[list(MEASUREMENT_COLUMNS)].reset_index(drop=True)


def measure_live(networks: Mapping[str, AblationNet], runtimes: Sequence[str], *, runs: int,
                 warmup: int, threads: int | None, input_size: int) -> Measured:
    """Time every network on every runtime with the harness (:func:`analysis.latency.
    measure_model`: deployed form, input pre-allocated and runtime prepared before timing,
    ``warmup`` dropped runs, ``runs`` timed one by one, minimum = the paper's statistic).

    A network that fails on a runtime (e.g. an export failure) is reported in ``failed`` and
    the others go on; configuration errors (:class:`AnalysisError`) stop. No runtimes: nothing
    is timed (a phone-only run)."""
    rows, failed = [], {}
    for runtime in runtimes:
        for model_id, network in networks.items():
            name = get_variant(model_id).display_name
            try:
                row = measure_model(network, runtime, runs=runs, warmup=warmup,
                                    threads=threads, input_size=input_size, name=name,
                                    count=False)
            except (AnalysisError, KeyboardInterrupt):
                raise
            except Exception as exc:  # noqa: BLE001 - reported per network, the others go on
                failed[f"{runtime} · {name}"] = first_line(exc, with_type=True)
                continue
            rows.append({**row, "model_id": model_id})
    return Measured(_frame(rows), failed)


def read_measurements(spec: AblationTable, value, runtimes: Sequence[str], *,
                      input_size: int) -> Measured:
    """Earlier CPU measurements of the networks from ``MEASUREMENTS_CSV`` (the project's latency
    format, e.g. a run's ``measurements.csv``): the rows of the table's networks for the
    ``runtimes`` selected. Each runtime must come from one device and be measured at
    ``input_size``; ``min_ms`` (or ``latency_ms`` of a ``min`` row) is the latency."""
    files = user_files(value)
    latency = load_latency(files)
    require_networks(spec, latency, "MEASUREMENTS_CSV", files,
                     "measure them with `python -m analysis measure --models "
                     f"ablation_{spec.table}` or leave MEASUREMENTS_CSV empty to time them now")
    rows = latency[latency["model_id"].isin(spec.ids) & latency["runtime"].isin(runtimes)].copy()
    for runtime, part in rows.groupby("runtime", sort=False):
        devices = sorted(set(part["device"].astype(str)))
        if len(devices) > 1:
            raise ConfigError(f"MEASUREMENTS_CSV: runtime {runtime} was measured on "
                              f"{len(devices)} devices ({', '.join(devices)}); keep one (give "
                              f"the others as LATENCY_CSV)")
        sizes = sorted({int(s) for s in part["input_size"].dropna()})
        if sizes and sizes != [input_size]:
            raise ConfigError(f"MEASUREMENTS_CSV: {runtime} was measured at {sizes[0]} px but "
                              f"INPUT_SIZE is {input_size}")
    if "min_ms" not in rows.columns:
        rows["min_ms"] = np.nan
    rows["min_ms"] = rows["min_ms"].where(rows["min_ms"].notna(),
                                          rows["latency_ms"].where(rows["statistic"] == "min"))
    bad = rows[rows["min_ms"].isna()]
    if len(bad):
        raise ConfigError(f"MEASUREMENTS_CSV: {bad['file'].iloc[0]} line {bad['line'].iloc[0]}: "
                          f"no minimum for {bad['model'].iloc[0]} (a min_ms column or statistic "
                          f"min is needed)")
    rows["statistic"] = "min"
    rows["latency_ms"] = rows["min_ms"]
    source = "read from " + ", ".join(p.name for p in files)
    return Measured(_frame(rows.to_dict("records")), {}, source, tuple(files))


def context_table(measured: Measured) -> pd.DataFrame:
    """One row per runtime with the context of its measurements (device, versions, runs,
    threads, input size, precision); several values of a column are joined with " / ", and
    a column no runtime records is left out."""
    rows = [{"runtime": runtime, **{c: _one(part[c]) for c in CONTEXT_COLUMNS}}
            for runtime, part in measured.rows.groupby("runtime", sort=False)]
    table = pd.DataFrame(rows, columns=["runtime", *CONTEXT_COLUMNS]).set_index("runtime")
    return table.loc[:, (table != "").any()]  # columns nothing recorded are left out


def measured_view(measured: Measured) -> pd.DataFrame:
    """min / median / cv per network (rows) and runtime (columns), for display."""
    rows = measured.rows
    if rows.empty:
        return pd.DataFrame()
    view = rows.pivot_table(index="model", columns="runtime", values=["min_ms", "median_ms",
                                                                       "cv"], sort=False)
    return view.reindex(list(dict.fromkeys(rows["model"])))
