"""Latency files → one tidy table, with errors that name the file, line and column.

Two formats are read (``data/README.md`` documents both):

* **the project's long format**: one row per (model, device, runtime) summary, or one row per
  individual run (``statistic`` = ``sample``; the loader aggregates them). Required columns
  ``model`` and ``latency_ms``; every other column is optional and has a stated default
  (:data:`DEFAULTS`).
* **timm's benchmark results** (``infer_step_time`` … columns, e.g.
  ``data/external/timm-benchmarks/*.csv``), recognised by their header.

The reader is deliberately strict: a malformed value stops the load with one
:class:`~analysis.errors.DataFormatError` whose message starts with ``FILE, line L, column C
('name'):`` and says what was expected. Files are only ever read (as bytes), never modified.
UTF-8 (with or without byte-order mark) and UTF-16 with a byte-order mark are decoded; comma,
semicolon and tab delimiters are recognised from the header line (semicolon- and tab-separated
files may use a decimal comma, ``0,79``).
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from analysis import paths
from analysis.errors import ConfigError, DataFormatError, UnknownModelError
from analysis.latency.stats import STATISTIC_FUNCTIONS, sample_stats

#: Columns every file of the long format must have.
REQUIRED_COLUMNS = ("model", "latency_ms")
#: Optional columns of the long format (see :data:`DEFAULTS`).
OPTIONAL_COLUMNS = ("device", "runtime", "statistic", "n_runs", "batch_size", "input_size",
                    "precision", "threads", "source", "date", "macs", "params")
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
_PRECISION_ALIASES = {"float32": "fp32", "float16": "fp16", "half": "fp16", "float": "fp32",
                      "bfloat16": "bf16"}

#: Values used when a column is absent or a cell is empty. ``device`` defaults to the file's
#: name without extension, ``input_size`` to the model's native size (zoo models only),
#: ``source`` to the file's path; the others are fixed.
DEFAULTS = {"device": "<file name without .csv>", "runtime": "unknown", "statistic": "min",
            "n_runs": None, "batch_size": 1, "input_size": "<native size of the zoo model>",
            "precision": "unknown", "threads": None, "source": "<path of the file>",
            "date": None, "macs": None, "params": None}

#: One hour in milliseconds: a latency above it is treated as a unit mistake.
MAX_LATENCY_MS = 3_600_000.0
#: Smallest plausible absolute counts; smaller values are almost surely in millions.
MIN_MACS, MIN_PARAMS = 1e5, 1e3

#: Columns of the tidy table, in order (extra columns of the files follow them).
TIDY_COLUMNS = ("model", "model_id", "device", "runtime", "statistic", "latency_ms", "n_runs",
                "batch_size", "input_size", "precision", "threads", "macs", "params", "source",
                "date", "file", "line")
_INT_COLUMNS = ("n_runs", "batch_size", "input_size", "threads")
#: Columns of a saved tidy table that the loader recomputes (``model_id`` is read, see
#: :func:`_resolve_model`; ``file`` and ``line`` are replaced by the new location).
_COMPUTED = ("model_id", "file", "line")

#: A row's identity: two summaries with the same key and statistic must agree.
KEY_COLUMNS = ("model", "device", "runtime", "precision", "batch_size", "input_size")

_TIMM_COLUMNS = ("model", "infer_img_size", "infer_step_time", "infer_batch_size",
                 "param_count", "infer_gmacs")


# ----------------------------------------------------------------------------------------------
# reading text


def _display(path: Path) -> str:
    return str(path)


def _source_label(path: Path) -> str:
    """The file's path relative to the repository when inside it (a stable provenance label)."""
    try:
        return path.resolve().relative_to(paths.ROOT).as_posix()
    except ValueError:
        return str(path)


def _read_text(path: Path) -> str:
    """Decode the file's bytes: UTF-8 (BOM optional) or UTF-16 with BOM; else a clear error."""
    shown = _display(path)
    if not path.exists():
        raise DataFormatError(f"{shown}: no such file")
    if path.is_dir():
        raise DataFormatError(f"{shown}: is a directory; expected a CSV file "
                              f"(pass the files in it, e.g. {shown}/*.csv)")
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise DataFormatError(f"{shown}: starts with a UTF-16 byte-order mark but is not "
                                  f"valid UTF-16 ({exc.reason}); save it as UTF-8 CSV") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[:exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        raise DataFormatError(
            f"{shown}, line {line}, column {col} (byte {exc.start + 1}): byte "
            f"0x{data[exc.start]:02x} is not valid UTF-8; expected a UTF-8 text file (in a "
            f"spreadsheet: save as 'CSV UTF-8')") from None


@dataclass
class _Table:
    """The raw cells of one delimited file, with the line number of every record."""

    path: Path
    header: list[str]  # normalised (stripped, lower-case) column names
    rows: list[tuple[int, list[str]]]  # (line number, cells)
    delimiter: str
    header_line: int = 1

    @property
    def shown(self) -> str:
        return _display(self.path)

    def col(self, name: str) -> int:
        """1-based column number of ``name`` (0 when the file has no such column)."""
        return self.header.index(name) + 1 if name in self.header else 0


_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}


def _split_table(path: Path, text: str) -> _Table:
    """Parse ``text`` as a delimited table, recognising the delimiter from the header line."""
    shown = _display(path)
    lines = text.splitlines()
    first = 0
    forced = None
    while first < len(lines) and not lines[first].strip():
        first += 1
    if first < len(lines) and re.fullmatch(r"\s*sep=(.)\s*", lines[first]):
        forced = re.fullmatch(r"\s*sep=(.)\s*", lines[first]).group(1)  # Excel's hint line
        first += 1
        while first < len(lines) and not lines[first].strip():
            first += 1
    if first >= len(lines):
        raise DataFormatError(f"{shown}: the file is empty; expected a header line with at "
                              f"least the columns {','.join(REQUIRED_COLUMNS)} and one row "
                              f"per measurement")
    header_text = lines[first]

    def fields(delim: str) -> list[str]:
        return [c.strip().lower() for c in next(csv.reader([header_text], delimiter=delim))]

    if forced is not None:
        delimiter = forced
    else:
        candidates = [",", ";", "\t"]
        scored = []
        for d in candidates:
            cols = fields(d)
            has_required = sum(c in cols for c in (*REQUIRED_COLUMNS, "infer_step_time"))
            scored.append((has_required, len(cols), d))
        delimiter = max(scored, key=lambda s: (s[0], s[1], -candidates.index(s[2])))[2]
    header = fields(delimiter)
    while len(header) > 1 and not header[-1]:
        header.pop()  # trailing empty columns a spreadsheet adds
    seen: dict[str, int] = {}
    for i, name in enumerate(header, start=1):
        if not name:
            raise DataFormatError(f"{shown}, line {first + 1}, column {i}: empty column name; "
                                  f"every column needs a name in the header line")
        if name in seen:
            raise DataFormatError(f"{shown}, line {first + 1}, column {i} ('{name}'): column "
                                  f"name repeated (also column {seen[name]})")
        seen[name] = i
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    for cells in reader:
        line = reader.line_num
        if line <= first + 1:
            continue  # header (and the lines before it)
        cells = [c.strip() for c in cells]
        if not any(cells):
            continue  # blank line, or a spreadsheet's row of empty cells
        if len(cells) != len(header):
            if len(cells) > len(header) and not any(cells[len(header):]):
                cells = cells[:len(header)]  # trailing empty cells a spreadsheet adds
            else:
                name = _DELIMITER_NAMES.get(delimiter, repr(delimiter))
                raise DataFormatError(
                    f"{shown}, line {line}, column {min(len(cells), len(header)) + 1}: found "
                    f"{len(cells)} {name}-separated fields, the header has {len(header)}; "
                    f"expected one value per column (quote values that contain a "
                    f"{name})")
        rows.append((line, cells))
    if not rows:
        raise DataFormatError(f"{shown}: no data rows after the header (line {first + 1}); "
                              f"expected one row per measurement")
    return _Table(path, header, rows, delimiter, first + 1)


# ----------------------------------------------------------------------------------------------
# one parsed row


@dataclass
class _Row:
    """One parsed row (or aggregated group of runs) and where it came from."""

    table: _Table
    line: int
    values: dict = field(default_factory=dict)
    extras: dict = field(default_factory=dict)

    def where(self, column: str) -> str:
        col = self.table.col(column)
        if col:
            return f"{self.table.shown}, line {self.line}, column {col} ('{column}')"
        return f"{self.table.shown}, line {self.line}"

    def error(self, column: str, message: str) -> DataFormatError:
        return DataFormatError(f"{self.where(column)}: {message}")

    def key(self) -> tuple:
        v = self.values
        model = v["model_id"] or v["model"].lower()
        return (model, v["device"].lower(), v["runtime"].lower(), v["precision"],
                v["batch_size"], v["input_size"])


_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+(?:[eE][+-]?\d+)?$")


def _number(row: _Row, column: str, text: str, what: str) -> float | None:
    """``text`` as a finite float (``None`` when empty); decimal commas in ;/tab files."""
    if text == "":
        return None
    t = text
    if row.table.delimiter != "," and _DECIMAL_COMMA.match(t):
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


def _integer(row: _Row, column: str, text: str, what: str) -> int | None:
    value = _number(row, column, text, what)
    if value is None:
        return None
    if value != int(value) or value < 1:
        raise row.error(column, f"expected {what}, got {text!r}")
    return int(value)


def _latency(row: _Row, column: str, text: str) -> float:
    what = "a latency in milliseconds (a number > 0)"
    if text == "":
        raise row.error(column, f"empty; expected {what}")
    if text.strip().lower() in ("nan", "na", "n/a", "null", "none", "-"):
        raise row.error(column, f"expected {what}, got {text!r} (missing value); remove the "
                                f"row if the model was not measured")
    value = _number(row, column, text, what)
    if value <= 0:
        raise row.error(column, f"expected {what}, got {text!r} (a latency must be positive)")
    if value > MAX_LATENCY_MS:
        raise row.error(column, f"{text!r} ms is more than one hour; expected milliseconds "
                                f"(is the value in microseconds or nanoseconds?)")
    return value


def _choice(row: _Row, column: str, text: str, allowed: Sequence[str],
            aliases: dict | None = None) -> str:
    value = text.strip().lower().replace("-", "_").replace(" ", "_")
    if aliases and value in aliases:
        value = aliases[value]
    if value not in allowed:
        close = difflib.get_close_matches(value, list(allowed), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise row.error(column, f"expected one of {', '.join(allowed)}, got {text!r}{hint}")
    return value


def _resolve_model(row: _Row, text: str, id_text: str | None) -> tuple[str, str | None]:
    """(display name, model id) of a zoo model, or (text, None) for one with macs and params.

    ``id_text`` is the row's ``model_id`` cell when the file has that column (a saved tidy
    table): empty marks a model outside the zoo even if its name is a zoo alias (e.g. timm's
    rows); otherwise it must name the zoo model that ``model`` names.
    """
    from analysis.models import get_entry

    if text == "":
        raise row.error("model", "empty; expected a model name (a display name such as "
                                 "'MobileOne-S0' or an id such as 'mobileone_s0')")
    has_counts = row.values.get("macs") is not None and row.values.get("params") is not None
    if id_text is not None:
        if id_text == "":
            if not has_counts:
                raise row.error("model_id", f"empty, so {text!r} is a model outside the zoo, "
                                            f"which needs its own 'macs' and 'params'")
            return text, None
        try:
            entry = get_entry(id_text)
        except UnknownModelError as exc:
            raise row.error("model_id", str(exc)) from None
        try:
            named = get_entry(text)
        except UnknownModelError:
            named = None
        if named is not None and named.id != entry.id:
            raise row.error("model_id", f"{id_text!r} disagrees with model {text!r} "
                                        f"(which is {named.id!r})")
        return entry.display_name, entry.id
    try:
        entry = get_entry(text)
    except UnknownModelError as exc:
        if has_counts:
            return text, None  # a model outside the zoo that carries its own counts
        raise row.error("model", f"{exc} (a model outside the zoo needs its own 'macs' and "
                                 f"'params' columns)") from None
    return entry.display_name, entry.id


def _parse_long_row(table: _Table, line: int, cells: list[str]) -> _Row:
    row = _Row(table, line)
    cell = dict(zip(table.header, cells))
    get = lambda name: cell.get(name, "")  # noqa: E731
    v = row.values
    v["statistic"] = (_choice(row, "statistic", get("statistic"), STATISTICS)
                      if get("statistic") else "min")
    v["latency_ms"] = _latency(row, "latency_ms", get("latency_ms"))
    v["device"] = get("device") or table.path.stem
    v["runtime"] = get("runtime") or "unknown"
    v["n_runs"] = _integer(row, "n_runs", get("n_runs"), "a whole number of runs >= 1")
    v["batch_size"] = _integer(row, "batch_size", get("batch_size"), "a batch size >= 1") or 1
    v["input_size"] = _integer(row, "input_size", get("input_size"),
                               "the input side in pixels, a whole number >= 1 (e.g. 224)")
    v["precision"] = (_choice(row, "precision", get("precision"), PRECISIONS,
                              _PRECISION_ALIASES) if get("precision") else "unknown")
    v["threads"] = _integer(row, "threads", get("threads"), "a thread count >= 1")
    v["source"] = get("source") or _source_label(table.path)
    v["date"] = None
    if get("date"):
        try:
            datetime.fromisoformat(get("date").replace("Z", "+00:00"))
        except ValueError:
            raise row.error("date", f"expected an ISO 8601 date such as 2024-05-31 or "
                                    f"2024-05-31T14:03:00, got {get('date')!r}") from None
        v["date"] = get("date")
    for name, lowest, unit in (("macs", MIN_MACS, "multiply-accumulates"),
                               ("params", MIN_PARAMS, "parameters")):
        value = _number(row, name, get(name), f"a number of {unit}")
        if value is not None and value < lowest:
            raise row.error(name, f"{get(name)!r} looks like millions; expected the absolute "
                                  f"number of {unit} (e.g. 2.75e8 for 275 M)")
        v[name] = value
    for name in STAT_COLUMNS:
        if name in cell:
            value = _number(row, name, get(name), "a number >= 0")
            if value is not None and value < 0:
                raise row.error(name, f"expected a number >= 0, got {get(name)!r}")
            row.extras[name] = value
    for name in table.header:
        if (name not in REQUIRED_COLUMNS and name not in OPTIONAL_COLUMNS
                and name not in STAT_COLUMNS and name not in _COMPUTED):
            row.extras[name] = get(name) or None
    v["model"], v["model_id"] = _resolve_model(
        row, get("model"), get("model_id") if "model_id" in cell else None)
    if v["input_size"] is None and v["model_id"] is not None:
        from analysis.models import get_entry

        v["input_size"] = get_entry(v["model_id"]).input_size
    return row


def _check_columns(table: _Table, required: Sequence[str], what: str) -> None:
    missing = [c for c in required if c not in table.header]
    if not missing:
        return
    name = _DELIMITER_NAMES.get(table.delimiter, repr(table.delimiter))
    found = table.delimiter.join(table.header)
    hints = []
    for m in missing:
        close = difflib.get_close_matches(m, table.header, n=1, cutoff=0.6)
        if close:
            hints.append(f"'{close[0]}' should be named '{m}'")
    hint = f" ({'; '.join(hints)})" if hints else ""
    if len(table.header) == 1:
        hint += (" — the header has a single column: is the file separated by a character "
                 "other than comma, semicolon or tab?")
    raise DataFormatError(
        f"{table.shown}, line {table.header_line}: missing required column"
        f"{'s' if len(missing) > 1 else ''} {', '.join(repr(m) for m in missing)} "
        f"({what}); found the {name}-separated columns {found!r}{hint}")


def _read_long(table: _Table) -> list[_Row]:
    _check_columns(table, REQUIRED_COLUMNS, "model name and latency in milliseconds")
    return [_parse_long_row(table, line, cells) for line, cells in table.rows]


# ----------------------------------------------------------------------------------------------
# timm's benchmark results

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
    precision = _PRECISION_ALIASES.get(m["precision"], m["precision"])
    return {"device": m["device"], "runtime": f"torch-{m['compile'] or 'eager'}",
            "precision": precision if precision in PRECISIONS else "unknown",
            "runtime_version": version, "layout": m["layout"]}


def _read_timm(table: _Table, include_test_models: bool = False) -> list[_Row]:
    _check_columns(table, _TIMM_COLUMNS, "timm benchmark results")
    ctx = _timm_context(table.path)
    rows = []
    for line, cells in table.rows:
        cell = dict(zip(table.header, cells))
        name = cell["model"]
        if not include_test_models and name.startswith("test_"):
            continue
        row = _Row(table, line)
        v = row.values
        if not name:
            raise row.error("model", "empty; expected a timm model name")
        v["model"], v["model_id"] = name, None  # timm's implementations, not the zoo's
        v["statistic"] = "mean"  # timm's benchmark averages the step time over its iterations
        v["latency_ms"] = _latency(row, "infer_step_time", cell["infer_step_time"])
        v["device"], v["runtime"], v["precision"] = ctx["device"], ctx["runtime"], \
            ctx["precision"]
        v["n_runs"] = None
        v["batch_size"] = _integer(row, "infer_batch_size", cell["infer_batch_size"],
                                   "a batch size >= 1")
        v["input_size"] = _integer(row, "infer_img_size", cell["infer_img_size"],
                                   "the input side in pixels")
        v["threads"] = None
        v["source"] = ("timm benchmark results (huggingface/pytorch-image-models, Apache-2.0): "
                       + _source_label(table.path))
        v["date"] = None
        gmacs = _number(row, "infer_gmacs", cell["infer_gmacs"], "GMACs")
        v["macs"] = gmacs * 1e9 if gmacs is not None else None
        mparams = _number(row, "param_count", cell["param_count"], "millions of parameters")
        v["params"] = mparams * 1e6 if mparams is not None else None
        if "infer_macts" in cell:
            macts = _number(row, "infer_macts", cell["infer_macts"], "millions of activations")
            row.extras["activations"] = macts * 1e6 if macts is not None else None
        row.extras["runtime_version"] = ctx["runtime_version"]
        row.extras["memory_layout"] = ctx["layout"]
        rows.append(row)
    return rows


def _is_timm(table: _Table) -> bool:
    return "infer_step_time" in table.header and "latency_ms" not in table.header


# ----------------------------------------------------------------------------------------------
# aggregation, statistic choice, consistency


def _aggregate_samples(rows: list[_Row], statistic: str) -> list[_Row]:
    """Replace the ``sample`` rows of each key by one summary row with ``statistic``."""
    groups: dict[tuple, list[_Row]] = {}
    out: list[_Row] = []
    for row in rows:
        if row.values["statistic"] == SAMPLE:
            k = row.key()
            if k not in groups:
                groups[k] = []
                out.append(row)  # placeholder, keeps the first run's position
            groups[k].append(row)
        else:
            out.append(row)
    result = []
    for row in out:
        if row.values["statistic"] != SAMPLE:
            result.append(row)
            continue
        runs = groups[row.key()]
        for other in runs[1:]:
            if other.values["threads"] != row.values["threads"]:
                raise other.error("threads", f"runs of one model must share their context; "
                                             f"{row.where('threads')} says "
                                             f"{row.values['threads']}")
        samples = np.array([r.values["latency_ms"] for r in runs])
        stats = sample_stats(samples)
        agg = _Row(row.table, row.line, dict(row.values), dict(row.extras))
        agg.values["statistic"] = statistic
        agg.values["latency_ms"] = stats[statistic]
        agg.values["n_runs"] = len(samples)
        for name in STAT_COLUMNS:
            agg.extras[name] = stats[name[:-3] if name.endswith("_ms") else name]
        result.append(agg)
    return result


def _value_for(row: _Row, statistic: str) -> float | None:
    if row.values["statistic"] == statistic:
        return row.values["latency_ms"]
    return row.extras.get(f"{statistic}_ms")


def _select_statistic(rows: list[_Row], statistic: str) -> list[_Row]:
    """Keep, per key, the rows that give ``statistic`` (directly or in a ``<stat>_ms`` column)."""
    by_key: dict[tuple, list[_Row]] = {}
    for row in rows:
        by_key.setdefault(row.key(), []).append(row)
    result = []
    for row in rows:
        value = _value_for(row, statistic)
        if value is None:
            if not any(_value_for(r, statistic) is not None for r in by_key[row.key()]):
                raise row.error("statistic", f"statistic {statistic!r} was asked for, but this "
                                             f"row gives {row.values['statistic']!r} and has "
                                             f"no '{statistic}_ms' column; load it with the "
                                             f"statistic it reports")
            continue
        new = _Row(row.table, row.line, dict(row.values), dict(row.extras))
        new.values["latency_ms"] = value
        new.values["statistic"] = statistic
        result.append(new)
    return result


def _check_mixed_statistics(rows: list[_Row]) -> None:
    first: dict[str, _Row] = {}
    for row in rows:
        device = row.values["device"].lower()
        if device not in first:
            first[device] = row
        elif row.values["statistic"] != first[device].values["statistic"]:
            f = first[device]
            raise row.error("statistic", (
                f"device {row.values['device']!r} mixes statistics: "
                f"{f.values['statistic']!r} ({f.table.shown}, line {f.line}) and "
                f"{row.values['statistic']!r} (here); say which to use: "
                f"load_latency(..., statistic='min') or `validate --statistic min`"))


def _dedupe(rows: list[_Row]) -> list[_Row]:
    """Drop exact repeats of a summary; raise on two summaries of one key that disagree."""
    seen: dict[tuple, _Row] = {}
    result = []
    for row in rows:
        k = (*row.key(), row.values["statistic"])
        if k in seen:
            other = seen[k]
            a, b = other.values["latency_ms"], row.values["latency_ms"]
            if math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
                continue
            raise row.error("latency_ms", (
                f"{row.values['model']} on {row.values['device']!r} ({row.values['runtime']}, "
                f"{row.values['statistic']}) is {b:g} ms here but {a:g} ms at "
                f"{other.table.shown}, line {other.line}; keep one summary per (model, device, "
                f"runtime, precision, batch size, input size) or give them different "
                f"'device'/'runtime' labels"))
        seen[k] = row
        result.append(row)
    return result


def _to_frame(rows: list[_Row]) -> pd.DataFrame:
    records = []
    extra_names: list[str] = []
    for row in rows:
        rec = {c: row.values.get(c) for c in TIDY_COLUMNS}
        rec["file"] = _display(row.table.path)
        rec["line"] = row.line
        for name, value in row.extras.items():
            if name not in extra_names:
                extra_names.append(name)
            rec[name] = value
        records.append(rec)
    stats_first = [c for c in STAT_COLUMNS if c in extra_names]
    others = [c for c in extra_names if c not in STAT_COLUMNS]
    frame = pd.DataFrame.from_records(records, columns=[*TIDY_COLUMNS, *stats_first, *others])
    for c in _INT_COLUMNS:
        frame[c] = frame[c].astype("Int64")
    for c in ("latency_ms", "macs", "params", *stats_first):
        frame[c] = frame[c].astype(float)
    frame["model_id"] = frame["model_id"].astype(object).where(frame["model_id"].notna(), None)
    return frame


# ----------------------------------------------------------------------------------------------
# public API


def _as_paths(path_or_paths) -> list[Path]:
    if isinstance(path_or_paths, (str, os.PathLike)):
        return [Path(path_or_paths)]
    items = [Path(p) for p in path_or_paths]
    if not items:
        raise ConfigError("no latency file given")
    return items


def read_rows(path: str | os.PathLike, *, include_test_models: bool = False) -> list[_Row]:
    """Parsed rows of one file (long format or timm results), before aggregation."""
    p = Path(path)
    table = _split_table(p, _read_text(p))
    if _is_timm(table):
        return _read_timm(table, include_test_models)
    return _read_long(table)


def load_latency(path_or_paths: str | os.PathLike | Iterable[str | os.PathLike],
                 statistic: str | None = None, *,
                 include_test_models: bool = False) -> pd.DataFrame:
    """Read latency files (long format or timm results) into one validated, tidy table.

    Args:
        path_or_paths: one path or several; all are checked together (a duplicate across
            two files is an error like one inside a file).
        statistic: which statistic to use. ``None`` (default): each device must report a
            single statistic (raw runs are summarised with ``min``, the paper's); a device
            that mixes statistics is an error. ``"min"``, ``"median"``, ``"mean"``,
            ``"trimmed_mean"`` or ``"p90"``: per (model, device, runtime …) the row giving
            that statistic is kept — a row reporting it, a ``<statistic>_ms`` column of a
            summary row, or raw runs aggregated with it; a key with none is an error.
        include_test_models: keep timm's ``test_*`` toy models (dropped by default).

    Returns:
        One row per (model, device, runtime, precision, batch size, input size) with the
        columns :data:`TIDY_COLUMNS` (``model`` = the zoo's display name when the model is
        in the zoo, ``model_id`` = its id or ``None``; ``macs``/``params`` as given in the
        file, NaN otherwise; ``file``/``line`` = where the row came from), then the further
        statistics present (``min_ms`` …) and any other columns of the files.

    Raises:
        DataFormatError: naming the file, line and column of the first problem.
        ConfigError: for an unknown ``statistic``.
    """
    if statistic is not None and statistic not in SUMMARY_STATISTICS:
        raise ConfigError(f"statistic must be one of {', '.join(SUMMARY_STATISTICS)} "
                          f"(or None), got {statistic!r}")
    rows: list[_Row] = []
    for p in _as_paths(path_or_paths):
        rows += read_rows(p, include_test_models=include_test_models)
    rows = _aggregate_samples(rows, statistic or "min")
    if statistic is not None:
        rows = _select_statistic(rows, statistic)
    rows = _dedupe(rows)
    if statistic is None:
        _check_mixed_statistics(rows)
    return _to_frame(rows)


def read_timm_benchmark(path: str | os.PathLike, *,
                        include_test_models: bool = False) -> pd.DataFrame:
    """timm's benchmark CSV (e.g. ``data/external/timm-benchmarks/*.csv``) as a tidy table.

    ``latency_ms`` = ``infer_step_time`` (timm's mean step time; the latency at batch 1),
    ``statistic`` = ``mean``, ``macs`` = ``infer_gmacs``·1e9, ``params`` = ``param_count``·1e6,
    ``activations`` = ``infer_macts``·1e6; device, runtime and precision come from the file
    name. ``model_id`` is ``None``: these are timm's implementations, not the zoo's.
    """
    p = Path(path)
    table = _split_table(p, _read_text(p))
    if not _is_timm(table):
        raise DataFormatError(f"{table.shown}, line {table.header_line}: not a timm benchmark "
                              f"file; expected the columns {', '.join(_TIMM_COLUMNS)}")
    return _to_frame(_dedupe(_read_timm(table, include_test_models)))


def describe_latency(table: pd.DataFrame) -> str:
    """A few lines summarising a tidy latency table: per device and runtime, models, statistic."""
    lines = []
    n_zoo = int(table["model_id"].notna().sum())
    lines.append(f"{len(table)} rows, {table['model'].nunique()} models "
                 f"({n_zoo} rows of zoo models), {table['device'].nunique()} devices")
    for (device, runtime), g in table.groupby(["device", "runtime"], sort=False):
        stats = ", ".join(sorted(g["statistic"].unique()))
        sizes = sorted(int(s) for s in g["input_size"].dropna().unique())
        size = (f"{sizes[0]}" if len(sizes) == 1 else f"{sizes[0]}-{sizes[-1]}") if sizes \
            else "unknown"
        lines.append(f"  {device} / {runtime}: {g['model'].nunique()} models "
                     f"({int(g['model_id'].notna().sum())} in the zoo), statistic {stats}, "
                     f"latency {g['latency_ms'].min():.3g}-{g['latency_ms'].max():.3g} ms, "
                     f"input {size} px, source {'; '.join(g['source'].unique()[:2])}")
    return "\n".join(lines)
