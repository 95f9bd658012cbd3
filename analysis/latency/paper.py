"""The paper's latencies (Table 9) as files of the project's long format, derived by code.

``data/latency/paper-*.csv`` are generated from ``data/paper/table9_imagenet.csv`` by
:func:`write_paper_latency_files`; a test checks that the shipped files equal what it writes.
Values are copied as text (never re-rounded); sizes are written as absolute counts (Table 9's
millions × 10⁶, exactly, via :class:`decimal.Decimal`).

One file per device of Table 9:

* ``paper-iphone12-coreml.csv``: iPhone 12, Core ML, the **minimum** over the runs of the
  authors' benchmark app (``mobile_ms``).
* ``paper-xeon5118-cpu.csv``: desktop CPU, 2.3 GHz Intel Xeon Gold 5118 (``cpu_ms``); the
  paper states neither the runtime nor the statistic nor the number of runs: ``runtime`` and
  ``statistic`` are ``unstated``.
* ``paper-rtx2080ti-tensorrt.csv``: NVIDIA RTX-2080Ti, TensorRT 8.0.1.6, batch 1, **median**
  of 100 runs (``gpu_ms``); the models without a GPU value in Table 9 are left out.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from analysis import paths

PAPER = ("Vasu et al., An Improved One millisecond Mobile Backbone, CVPR 2023, Table 9")

#: Columns of the generated files (a subset of the long format plus a ``notes`` column).
COLUMNS = ("model", "latency_ms", "device", "runtime", "statistic", "n_runs", "batch_size",
           "input_size", "macs", "params", "source", "notes")


@dataclass(frozen=True)
class PaperDevice:
    """How one latency column of Table 9 was measured, as far as the paper says."""

    file: str
    column: str
    device: str
    runtime: str
    statistic: str
    n_runs: str
    notes: str


PAPER_DEVICES = (
    PaperDevice("paper-iphone12-coreml.csv", "mobile_ms", "iPhone 12", "coreml", "min", "",
                "PyTorch -> ONNX -> Core ML; Swift benchmark app; model loaded, input "
                "pre-allocated and run once before timing; minimum full round-trip latency "
                "over many runs (1000 by default); other apps closed"),
    PaperDevice("paper-xeon5118-cpu.csv", "cpu_ms", "Intel Xeon Gold 5118", "unstated",
                "unstated", "",
                "Ubuntu desktop, 2.3 GHz Intel Xeon Gold 5118; the paper states neither the "
                "runtime, the number of runs nor the statistic"),
    PaperDevice("paper-rtx2080ti-tensorrt.csv", "gpu_ms", "NVIDIA RTX-2080Ti", "tensorrt",
                "median", "100",
                "TensorRT 8.0.1.6, batch size 1, median of 100 runs; models without a GPU "
                "value in Table 9 are omitted"),
)


def _millions(text: str) -> str:
    """``"2.1"`` (millions) → ``"2100000"``, exact; empty stays empty."""
    text = text.strip()
    if not text:
        return ""
    value = Decimal(text) * Decimal(10) ** 6
    return str(int(value)) if value == value.to_integral_value() else str(value)


def paper_latency_text(device: PaperDevice) -> str:
    """The CSV text of one paper latency file (what :func:`write_paper_latency_files` writes)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    source = f"{PAPER} ({device.column})"
    with open(paths.paper_table("table9_imagenet"), newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            latency = row[device.column].strip()
            if not latency:
                continue
            writer.writerow([row["model"], latency, device.device, device.runtime,
                             device.statistic, device.n_runs, "1", row["input_size"],
                             _millions(row["flops_m"]), _millions(row["params_m"]), source,
                             device.notes])
    return buf.getvalue()


def paper_latency_files() -> dict[str, Path]:
    """``{"iphone12": path, "cpu": path, "gpu": path}`` of the shipped paper latency files."""
    keys = ("iphone12", "cpu", "gpu")
    return {k: paths.LATENCY_DATA / d.file for k, d in zip(keys, PAPER_DEVICES)}


def write_paper_latency_files(out_dir: str | Path | None = None) -> list[Path]:
    """Write the three paper latency files to ``out_dir`` (default ``data/latency``).

    Returns the written paths. A file whose content is already identical is left untouched.
    """
    out = Path(out_dir) if out_dir is not None else paths.LATENCY_DATA
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for device in PAPER_DEVICES:
        path = out / device.file
        text = paper_latency_text(device)
        if not (path.is_file() and path.read_text(encoding="utf-8") == text):
            tmp = path.with_suffix(".tmp")
            tmp.write_text(text, encoding="utf-8", newline="")
            tmp.replace(path)
        written.append(path)
    return written
