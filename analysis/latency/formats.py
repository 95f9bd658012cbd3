"""Latency files → one tidy table, with errors that name the file, line and column.

Two formats are read (``data/README.md`` documents both):

* **the project's long format**: one row per (model, device, runtime) summary, or one row per
  individual run (``statistic`` = ``sample``; the loader aggregates them). Required columns
  ``model`` and ``latency_ms``; every other column is optional and has a stated default
  (:data:`DEFAULTS`).
* **timm's benchmark results** (:mod:`analysis.latency.timm`), recognised by their header.

The reader is deliberately strict: a malformed value stops the load with one
:class:`~analysis.errors.DataFormatError` whose message starts with ``FILE, line L, column C
('name'):`` and says what was expected. Files are only ever read (as bytes), never modified.
Decoding and delimiters: :mod:`analysis.latency.delimited`; columns and cell parsing:
:mod:`analysis.latency.schema`; aggregation and conflicts: :mod:`analysis.latency.summaries`.
"""

from __future__ import annotations

import functools
import os
import warnings
from datetime import datetime
from pathlib import Path
from typing import Iterable

import pandas as pd

from analysis import paths
from analysis.errors import ConfigError, UnknownModelError
from analysis.latency.delimited import Table, check_columns, read_text, split_table
from analysis.latency.schema import (COMPUTED, MIN_MACS, MIN_PARAMS, OPTIONAL_COLUMNS,
                                     PRECISION_ALIASES, PRECISIONS, REQUIRED_COLUMNS, SAMPLE,
                                     STAT_COLUMNS, STATISTICS, SUMMARY_STATISTICS,
                                     LatencyDataWarning, Row, choice, integer, latency, number)
from analysis.latency.summaries import (aggregate_samples, check_mixed_statistics, dedupe,
                                        mark_raw_samples, select_statistic, to_frame)
from analysis.latency.timm import TIMM_COLUMNS, is_timm, read_timm

# ----------------------------------------------------------------------------------------------
# the long format


#: Characters typed for one another in model names: letter O for zero, l and I for one.
_LOOKALIKES = str.maketrans({"o": "0", "l": "1", "i": "1", "|": "1"})


def _canonical(name: str) -> str:
    """``name`` lower-cased, look-alike characters unified, separators dropped."""
    return "".join(ch for ch in name.lower().translate(_LOOKALIKES) if ch.isalnum())


@functools.lru_cache(maxsize=1)
def _canonical_names() -> dict[str, str | None]:
    """``{canonical name: model id}`` over every registered name (``None`` if ambiguous)."""
    from analysis.models import get_entry, list_models

    found: dict[str, str | None] = {}
    for mid in list_models():
        e = get_entry(mid)
        for name in (e.id, e.display_name, *e.aliases):
            key = _canonical(name)
            found[key] = mid if found.get(key, mid) == mid else None
    return found


def _resolve_model(row: Row, text: str, id_text: str | None,
                   renamed: dict[str, tuple[str, int]]) -> tuple[str, str | None]:
    """(display name, model id) of a zoo model, or (text, None) for one with macs and params.

    ``id_text`` is the row's ``model_id`` cell when the file has that column (a saved tidy
    table): empty marks a model outside the zoo even if its name is a zoo alias (e.g. timm's
    rows); otherwise it must name the zoo model that ``model`` names. A name that matches a
    zoo model only once look-alike characters are unified (``MobileOne-SO``, letter O) is
    read as that model and recorded in ``renamed`` (``{text: (display name, line)}``).
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
        lookalike = _canonical_names().get(_canonical(text))
        if lookalike is not None:
            entry = get_entry(lookalike)
            renamed.setdefault(text, (entry.display_name, row.line))
            return entry.display_name, entry.id
        if has_counts:
            return text, None  # a model outside the zoo that carries its own counts
        raise row.error("model", f"{exc} (a model outside the zoo needs its own 'macs' and "
                                 f"'params' columns)") from None
    return entry.display_name, entry.id


def _parse_long_row(table: Table, line: int, cells: list[str],
                    renamed: dict[str, tuple[str, int]]) -> Row:
    row = Row(table, line)
    cell = dict(zip(table.header, cells))
    get = lambda name: cell.get(name, "")  # noqa: E731
    v = row.values
    v["statistic"] = (choice(row, "statistic", get("statistic"), STATISTICS)
                      if get("statistic") else "min")
    row.stated = bool(get("statistic"))
    v["latency_ms"] = latency(row, "latency_ms", get("latency_ms"))
    v["device"] = get("device") or table.path.stem
    v["runtime"] = get("runtime") or "unknown"
    v["n_runs"] = integer(row, "n_runs", get("n_runs"), "a whole number of runs >= 1")
    v["batch_size"] = integer(row, "batch_size", get("batch_size"), "a batch size >= 1") or 1
    v["input_size"] = integer(row, "input_size", get("input_size"),
                               "the input side in pixels, a whole number >= 1 (e.g. 224)")
    v["precision"] = (choice(row, "precision", get("precision"), PRECISIONS,
                              PRECISION_ALIASES) if get("precision") else "unknown")
    v["threads"] = integer(row, "threads", get("threads"), "a thread count >= 1")
    v["source"] = get("source") or paths.relative(table.path)
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
        value = number(row, name, get(name), f"a number of {unit}")
        if value is not None and value < lowest:
            raise row.error(name, f"{get(name)!r} looks like millions; expected the absolute "
                                  f"number of {unit} (e.g. 2.75e8 for 275 M)")
        v[name] = value
    for name in STAT_COLUMNS:
        if name in cell:
            value = number(row, name, get(name), "a number >= 0")
            if value is not None and value < 0:
                raise row.error(name, f"expected a number >= 0, got {get(name)!r}")
            row.extras[name] = value
    for name in table.header:
        if (name not in REQUIRED_COLUMNS and name not in OPTIONAL_COLUMNS
                and name not in STAT_COLUMNS and name not in COMPUTED):
            row.extras[name] = get(name) or None
    v["model"], v["model_id"] = _resolve_model(
        row, get("model"), get("model_id") if "model_id" in cell else None, renamed)
    if v["input_size"] is None and v["model_id"] is not None:
        from analysis.models import get_entry

        v["input_size"] = get_entry(v["model_id"]).input_size
    return row


def _read_long(table: Table) -> list[Row]:
    check_columns(table, REQUIRED_COLUMNS, "model name and latency in milliseconds")
    renamed: dict[str, tuple[str, int]] = {}
    rows = [_parse_long_row(table, line, cells, renamed) for line, cells in table.rows]
    if renamed:
        names = ", ".join(f"{text!r} (line {line}) as {name!r}"
                          for text, (name, line) in renamed.items())
        warnings.warn(f"{table.shown}: read {names}: look-alike characters (letter O for "
                      f"zero, l or I for one); correct the file to silence this",
                      LatencyDataWarning, stacklevel=2)
    no_device = [line for (line, cells), row in zip(table.rows, rows)
                 if not dict(zip(table.header, cells)).get("device")]
    if no_device:
        where = ("the file has no 'device' column" if not table.col("device") else
                 f"'device' is empty on {len(no_device)} of {len(rows)} rows (first: line "
                 f"{no_device[0]})")
        warnings.warn(f"{table.shown}: {where}, so the device is named after the file: "
                      f"{table.path.stem!r}; fill in the device you measured",
                      LatencyDataWarning, stacklevel=2)
    return rows


# ----------------------------------------------------------------------------------------------
# public API


def _as_paths(path_or_paths) -> list[Path]:
    if isinstance(path_or_paths, (str, os.PathLike)):
        return [Path(path_or_paths)]
    items = [Path(p) for p in path_or_paths]
    if not items:
        raise ConfigError("no latency file given")
    return items


def read_rows(path: str | os.PathLike, *, include_test_models: bool = False) -> list[Row]:
    """Parsed rows of one file (long format or timm results), before aggregation."""
    p = Path(path)
    table = split_table(p, read_text(p), required=REQUIRED_COLUMNS,
                        recognise=TIMM_COLUMNS)
    if is_timm(table):
        return read_timm(table, include_test_models)
    return mark_raw_samples(_read_long(table))


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
    rows: list[Row] = []
    for p in _as_paths(path_or_paths):
        rows += read_rows(p, include_test_models=include_test_models)
    n_samples = sum(r.values["statistic"] == SAMPLE for r in rows)
    rows = aggregate_samples(rows, statistic or "min")
    n_summaries = sum(r.values.get("from_samples", False) for r in rows)
    if statistic is not None:
        rows = select_statistic(rows, statistic)
    rows = dedupe(rows)
    if statistic is None:
        check_mixed_statistics(rows)
    frame = to_frame(rows)
    frame.attrs["raw_samples"], frame.attrs["summaries_from_samples"] = n_samples, n_summaries
    return frame


def describe_latency(table: pd.DataFrame) -> str:
    """A few lines summarising a tidy latency table: per device and runtime, models, statistic
    (and, for raw runs, ``N raw samples → M summaries``)."""
    lines = []
    n_zoo = int(table["model_id"].notna().sum())
    lines.append(f"{len(table)} rows, {table['model'].nunique()} models "
                 f"({n_zoo} rows of zoo models), {table['device'].nunique()} devices")
    if table.attrs.get("raw_samples"):
        lines.append(f"{table.attrs['raw_samples']} raw samples → "
                     f"{table.attrs['summaries_from_samples']} summaries")
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
