"""The latency format's columns, defaults and allowed values, and the parsing of one cell.

:class:`Row` is one parsed row and knows where it came from, so every value error names the
file, line and column (``FILE, line L, column C ('name'): …``). ``data/README.md`` documents
the format.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from typing import Sequence

from analysis.errors import DataFormatError
from analysis.latency.delimited import DECIMAL_COMMA, Table
from analysis.latency.sampling import STATISTIC_FUNCTIONS

#: Columns every file of the long format must have.
REQUIRED_COLUMNS = ("model", "latency_ms")
#: Optional columns of the long format (see :data:`DEFAULTS`).
OPTIONAL_COLUMNS = ("device", "runtime", "statistic", "n_runs", "batch_size", "input_size",
                    "precision", "threads", "source", "date", "macs", "params", "form", "k",
                    "mode", "regime", "physical_device", "campaign", "session", "order")
#: Optional further statistics of the same runs as a summary row (milliseconds; ``cv`` = ratio).
STAT_COLUMNS = ("min_ms", "median_ms", "mean_ms", "trimmed_mean_ms", "p90_ms", "std_ms", "cv")

#: Statistics a summary row may report; ``min`` is the paper's (iPhone column).
SUMMARY_STATISTICS = tuple(STATISTIC_FUNCTIONS)  # min, median, mean, trimmed_mean, p90
#: The source does not say which statistic it reports (the paper's desktop-CPU column).
UNSTATED = "unstated"
#: A row holding one individual run; the loader aggregates these.
SAMPLE = "sample"
STATISTICS = (*SUMMARY_STATISTICS, UNSTATED, SAMPLE)

PRECISIONS = ("fp32", "fp16", "bf16", "int8", "mixed", "unknown")
PRECISION_ALIASES = {"float32": "fp32", "float16": "fp16", "half": "fp16", "float": "fp32",
                     "bfloat16": "bf16"}
#: The form of the network measured: ``fused`` (re-parameterized, as deployed), ``train``
#: (train-time branches, with ``k``), ``sequential`` (a plain ``nn.Sequential`` of the same
#: layers) or ``reference`` (not a network: e.g. a matmul that measures throughput).
FORMS = ("fused", "train", "sequential", "reference")
FORM_ALIASES = {"deployed": "fused", "inference": "fused", "reparameterized": "fused",
                "train_time": "train", "unfused": "train", "plain": "sequential"}
#: How the runtime executes: ``eager`` (op by op, as PyTorch eager) or ``graph`` (a captured
#: graph replayed, e.g. a CUDA graph: kernel time without launch cost).
MODES = ("eager", "graph")
MODE_ALIASES = {"cuda_graph": "graph", "cudagraph": "graph"}

#: Values used when a column is absent or a cell is empty. ``device`` defaults to the file's
#: name without extension, ``input_size`` to the model's native size (zoo models only),
#: ``source`` to the file's path; the others are fixed.
DEFAULTS = {"device": "<file name without .csv>", "runtime": "unknown", "statistic": "min",
            "n_runs": None, "batch_size": 1, "input_size": "<native size of the zoo model>",
            "precision": "unknown", "threads": None, "source": "<path of the file>",
            "date": None, "macs": None, "params": None, "form": "fused", "k": None,
            "mode": "eager", "regime": "<mode and precision when the file states a mode>",
            "physical_device": "<the device>", "campaign": None, "session": None,
            "order": None}

#: One hour in milliseconds: a latency above it is treated as a unit mistake.
MAX_LATENCY_MS = 3_600_000.0
#: Smallest plausible absolute counts; smaller values are almost surely in millions.
MIN_MACS, MIN_PARAMS = 1e5, 1e3

#: Columns of the tidy table, in order (extra columns of the files follow them).
TIDY_COLUMNS = ("model", "model_id", "device", "runtime", "statistic", "latency_ms", "n_runs",
                "batch_size", "input_size", "precision", "threads", "macs", "params", "source",
                "date", "file", "line", "form", "k", "mode", "regime", "physical_device",
                "n_sessions", "session_low_ms", "session_high_ms")
#: Columns of a session row (:func:`~analysis.latency.load_sessions`), after the tidy ones.
SESSION_COLUMNS = ("campaign", "session", "order")
#: Summary over the sessions of one identity: how many, and the lowest and highest of the
#: per-session statistic (``latency_ms`` is their median).
SESSIONS_SUMMARY = ("n_sessions", "session_low_ms", "session_high_ms")
INT_COLUMNS = ("n_runs", "batch_size", "input_size", "threads", "k", "n_sessions")
#: Columns of a saved tidy table that the loader recomputes (``model_id`` is read, see
#: ``formats._resolve_model``; ``file`` and ``line`` are replaced by the new location).
COMPUTED = ("model_id", "file", "line")

#: A row's identity: two summaries with the same key and statistic must agree; several
#: sessions of one key are repeated measurements.
KEY_COLUMNS = ("model", "device", "runtime", "precision", "batch_size", "input_size", "form",
               "k", "mode")
#: Context that must be equal across the sessions of one identity (those a file has).
CONTEXT_COLUMNS = ("threads", "runtime_version", "torch_version", "onnxruntime_version",
                   "numpy_version", "python_version", "platform", "kernel", "host", "cpu",
                   "cores_logical", "accelerator", "gpu", "driver", "cuda", "cudnn", "tf32",
                   "cudnn_benchmark", "clock")


class LatencyDataWarning(UserWarning):
    """A latency file that loads but probably does not say what its writer meant (a device
    named after the file, a look-alike model name, implausible units)."""


@dataclass
class Row:
    """One parsed row (or aggregated group of runs) and where it came from."""

    table: Table
    line: int
    values: dict = field(default_factory=dict)
    extras: dict = field(default_factory=dict)
    #: The file gave the statistic (a ``statistic`` cell); else ``min`` is assumed, or the row
    #: is one run of a raw dump (see ``summaries.mark_raw_samples``).
    stated: bool = True

    def where(self, column: str) -> str:
        col = self.table.col(column)
        if col:
            return f"{self.table.shown}, line {self.line}, column {col} ('{column}')"
        return f"{self.table.shown}, line {self.line}"

    def error(self, column: str, message: str) -> DataFormatError:
        return DataFormatError(f"{self.where(column)}: {message}")

    def key(self) -> tuple:
        """The identity (:data:`KEY_COLUMNS`), names compared case-insensitively."""
        v = self.values
        model = v["model_id"] or v["model"].lower()
        return (model, v["device"].lower(), v["runtime"].lower(), v["precision"],
                v["batch_size"], v["input_size"], v.get("form", "fused"), v.get("k"),
                v.get("mode", "eager"))

    def session_key(self) -> tuple | None:
        """``(campaign, session)`` of a session row, ``None`` for a summary without one."""
        session = self.values.get("session")
        return None if session is None else (self.values.get("campaign") or "", session)

    def label(self) -> str:
        """The model and what else sets it apart, for messages (``MobileOne-S0 (train k=4,
        graph fp16) on 'NVIDIA H200'``)."""
        v = self.values
        parts = [p for p in (v.get("form") if v.get("form", "fused") != "fused" else "",
                             f"k={v['k']}" if v.get("k") else "", v.get("regime") or "") if p]
        return (f"{v['model']}{' (' + ', '.join(parts) + ')' if parts else ''} on "
                f"{v['device']!r}")

    def copy(self) -> "Row":
        return Row(self.table, self.line, dict(self.values), dict(self.extras), self.stated)


#: ``1.000``, ``12.500.000``: a dot every three digits, read as a thousands separator or a
#: decimal point depending on the writer's locale.
_THOUSANDS = re.compile(r"^[+-]?[1-9]\d{0,2}(?:\.\d{3})+$")


def number(row: Row, column: str, text: str, what: str, *, whole: bool = False) -> float | None:
    """``text`` as a finite float (``None`` when empty); decimal commas in ;/tab files.

    In a ;- or tab-separated file, ``1.000`` is refused as ambiguous where the dot may be a
    thousands separator: in a file that writes decimal commas, and in a column of whole
    numbers (``whole``); a thousands separator must not silently turn 1000 into 1."""
    if text == "":
        return None
    t = text
    if (row.table.delimiter != "," and _THOUSANDS.match(t)
            and (whole or row.table.decimal_comma)):
        raise row.error(column, (
            f"{text!r} is ambiguous: in a {row.table.delimiter_name}-separated file "
            f"{'with decimal commas ' if row.table.decimal_comma else ''}the dot may be a "
            f"thousands separator ({t.replace('.', '')}) or a decimal point ({float(t):g}); "
            f"write numbers without thousands separators (and decimals with a comma)"))
    if row.table.delimiter != "," and DECIMAL_COMMA.match(t):
        t = t.replace(",", ".")
    try:
        value = float(t)
    except ValueError:
        hint = ""
        if "," in t and row.table.delimiter == ",":
            hint = " (use a decimal point, or separate the columns with ';')"
        raise row.error(column, f"expected {what}, got {text!r}{hint}") from None
    if not math.isfinite(value):
        raise row.error(column, f"expected {what}, got {text!r} (not a finite number)")
    return value


def integer(row: Row, column: str, text: str, what: str) -> int | None:
    """``text`` as a whole number >= 1 (``None`` when empty)."""
    value = number(row, column, text, what, whole=True)
    if value is None:
        return None
    if value != int(value) or value < 1:
        raise row.error(column, f"expected {what}, got {text!r}")
    return int(value)


def latency(row: Row, column: str, text: str) -> float:
    """``text`` as a latency in milliseconds: > 0 and at most :data:`MAX_LATENCY_MS`."""
    what = "a latency in milliseconds (a number > 0)"
    if text == "":
        raise row.error(column, f"empty; expected {what}")
    if text.strip().lower() in ("nan", "na", "n/a", "null", "none", "-"):
        raise row.error(column, f"expected {what}, got {text!r} (missing value); leave the "
                                f"cell empty (a row not measured yet is skipped) or remove "
                                f"the row")
    value = number(row, column, text, what)
    if value <= 0:
        raise row.error(column, f"expected {what}, got {text!r} (a latency must be positive)")
    if value > MAX_LATENCY_MS:
        raise row.error(column, f"{text!r} ms is more than one hour; expected milliseconds "
                                f"(is the value in microseconds or nanoseconds?)")
    return value


def choice(row: Row, column: str, text: str, allowed: Sequence[str],
           aliases: dict | None = None) -> str:
    """``text`` as one of ``allowed`` (case, ``-`` and spaces ignored; ``aliases`` mapped)."""
    value = text.strip().lower().replace("-", "_").replace(" ", "_")
    if aliases and value in aliases:
        value = aliases[value]
    if value not in allowed:
        close = difflib.get_close_matches(value, list(allowed), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise row.error(column, f"expected one of {', '.join(allowed)}, got {text!r}{hint}")
    return value
