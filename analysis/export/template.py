"""The latency template: one row per exported model, in the project's long latency format,
ready for the latencies measured on the device (``python -m analysis validate`` reads it)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Iterable

from analysis import paths
from analysis.export.common import ExportResult

TEMPLATE_NAME = "latency_template.csv"
#: The runtime named in the template for each format.
TEMPLATE_RUNTIME = {"coreml": "coreml", "onnx": "onnxruntime"}
#: Columns of the latency template (the project's long format; ``export_file`` and ``note``
#: are extra columns, which the loader keeps).
TEMPLATE_COLUMNS = ("model", "latency_ms", "device", "runtime", "statistic", "n_runs",
                    "batch_size", "input_size", "precision", "threads", "source", "date",
                    "export_file", "note")
#: The ``note`` of a model built from the registry (:func:`~analysis.export.common.export_ready`).
RANDOM_WEIGHTS_NOTE = ("random weights: the timing is that of the trained network but the "
                       "outputs are meaningless")


def write_latency_template(results: Iterable[ExportResult], path: str | Path, *,
                           force: bool = False) -> Path | None:
    """Write the latency template for ``results`` (one row per model, ``latency_ms`` empty,
    ``note`` saying so when the model was built with random weights).

    An existing template that is still blank (no ``latency_ms`` filled in) is extended: its
    rows are kept and the new (model, runtime, precision) rows appended. One holding any
    measurement, or not written by this function, is left untouched unless ``force``.
    Returns the path written, or ``None`` when the existing file was left untouched.
    """
    path = Path(path)
    rows: list[list[str]] = []
    if path.exists() and not force:
        try:
            with open(path, newline="", encoding="utf-8") as fh:
                existing = list(csv.reader(fh))
        except (OSError, UnicodeDecodeError):
            return None
        if not existing or tuple(existing[0]) != TEMPLATE_COLUMNS:
            return None
        body = [r for r in existing[1:] if any(r)]
        if any(len(r) != len(TEMPLATE_COLUMNS) or r[1].strip() for r in body):
            return None  # the user has started filling it in
        rows = body
    have = {(r[0], r[3], r[8]) for r in rows}
    for r in results:
        row = [r.model, "", "", TEMPLATE_RUNTIME[r.format], "median", "", "1",
               str(r.input_size), r.precision, "", "", "", r.path.name if r.path else "",
               RANDOM_WEIGHTS_NOTE if r.random_weights else ""]
        if (row[0], row[3], row[8]) not in have:
            rows.append(row)
            have.add((row[0], row[3], row[8]))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(TEMPLATE_COLUMNS)
    writer.writerows(rows)
    return paths.write_atomic(path, lambda tmp: tmp.write_text(buf.getvalue(), encoding="utf-8",
                                                               newline=""))
