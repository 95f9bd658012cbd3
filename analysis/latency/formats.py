"""Latency files → one tidy table, with errors that name the file, line and column.

Two formats are read (``data/README.md`` documents both):

* **the project's long format**: one row per (model, device, runtime …) summary, one row per
  session of a measurement campaign (``session`` column; the loader takes the median over
  sessions, :mod:`analysis.latency.sessions`), or one row per individual run (``statistic`` =
  ``sample``; the loader aggregates them). Required columns ``model`` and ``latency_ms``;
  every other column is optional and has a stated default (:data:`DEFAULTS`). A row whose
  ``latency_ms`` is empty is a template row not measured yet: skipped, with one warning.
* **timm's benchmark results** (:mod:`analysis.latency.timm`), recognised by their header.

The reader is deliberately strict: malformed values stop the load with one
:class:`~analysis.errors.DataFormatError` whose message starts with ``FILE, line L, column C
('name'):`` and says what was expected, followed by the file's other problems (at most 20
lines, then a count). Files are only ever read (as bytes), never modified.
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
from analysis.errors import ConfigError, DataFormatError, UnknownModelError
from analysis.latency.delimited import (Table, check_columns, raise_problems, read_text,
                                        split_table)
from analysis.latency.schema import (COMPUTED, FORM_ALIASES, FORMS, MIN_MACS, MIN_PARAMS,
                                     MODE_ALIASES, MODES, OPTIONAL_COLUMNS, PRECISION_ALIASES,
                                     PRECISIONS, REQUIRED_COLUMNS, SAMPLE, SESSION_COLUMNS,
                                     SESSIONS_SUMMARY, STAT_COLUMNS, STATISTICS,
                                     SUMMARY_STATISTICS, LatencyDataWarning, Row, choice,
                                     integer, latency, number)
from analysis.latency.sessions import aggregate_sessions, split_sessions
from analysis.latency.summaries import (aggregate_samples, check_mixed_statistics, dedupe,
                                        mark_raw_samples, select_statistic, to_frame)
from analysis.latency.timm import TIMM_COLUMNS, is_timm, read_timm
from analysis.models import get_entry, list_models

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


def _whole(row: Row, column: str, text: str, what: str) -> int | None:
    """``text`` as a whole number >= 0 (``None`` when empty): session and order numbers."""
    value = number(row, column, text, what, whole=True)
    if value is not None and (value != int(value) or value < 0):
        raise row.error(column, f"expected {what}, got {text!r}")
    return None if value is None else int(value)


def _form(row: Row, cell: dict) -> str:
    """``form``, or a measurement file's older ``fused`` column (``False``: train-time)."""
    if cell.get("form"):
        return choice(row, "form", cell["form"], FORMS, FORM_ALIASES)
    return "train" if cell.get("fused", "").lower() in ("false", "0", "no") else "fused"


def _parse_identity(row: Row, cell: dict) -> None:
    """The columns that set a measurement apart beyond model and device: form, k, mode,
    regime, physical device, and a campaign's session."""
    v, get = row.values, lambda name: cell.get(name, "")  # noqa: E731
    v["form"] = _form(row, cell)
    v["k"] = integer(row, "k", get("k"), "the number of train-time branches k (whole, >= 1)")
    v["mode"] = choice(row, "mode", get("mode"), MODES, MODE_ALIASES) if get("mode") \
        else "eager"
    v["regime"] = (get("regime") if "regime" in cell else
                   f"{v['mode']} {v['precision']}" if get("mode") else "")
    v["physical_device"] = get("physical_device") or v["device"]
    v["campaign"] = get("campaign") or None
    v["session"] = _whole(row, "session", get("session"), "a session number (whole, >= 0)")
    v["order"] = _whole(row, "order", get("order"), "a position in the session (whole, >= 0)")
    v["n_sessions"] = integer(row, "n_sessions", get("n_sessions"), "a number of sessions >= 1")
    for name in ("session_low_ms", "session_high_ms"):
        v[name] = number(row, name, get(name), "a latency in milliseconds")


def _parse_long_row(table: Table, line: int, cells: list[str],
                    renamed: dict[str, tuple[str, int]]) -> Row | None:
    """One row of the long format; ``None`` for a template row not measured yet (a model
    and an empty ``latency_ms``)."""
    row = Row(table, line)
    cell = dict(zip(table.header, cells))
    get = lambda name: cell.get(name, "")  # noqa: E731
    if get("model") and not get("latency_ms"):
        return None
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
    _parse_identity(row, cell)
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
    known = {*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS, *STAT_COLUMNS, *COMPUTED, *SESSIONS_SUMMARY}
    for name in table.header:
        if name not in known:
            row.extras[name] = get(name) or None
    v["model"], v["model_id"] = _resolve_model(
        row, get("model"), get("model_id") if "model_id" in cell else None, renamed)
    if v["input_size"] is None and v["model_id"] is not None:
        v["input_size"] = get_entry(v["model_id"]).input_size
    return row


def _listed(items: list[str], limit: int = 10) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" … and {len(items) - limit} more" if len(items) > limit else "")


def _read_long(table: Table) -> list[Row]:
    check_columns(table, REQUIRED_COLUMNS, "model name and latency in milliseconds")
    renamed: dict[str, tuple[str, int]] = {}
    rows, unmeasured = [], []
    for line, cells in table.rows:
        try:
            row = _parse_long_row(table, line, cells, renamed)
        except DataFormatError as exc:
            table.problems.append((line, str(exc)))
            continue
        if row is None:
            unmeasured.append(f"{cells[table.header.index('model')]} (line {line})")
        else:
            rows.append(row)
    raise_problems(table)
    if not rows:
        raise DataFormatError(
            f"{table.shown}, line {table.rows[0][0]}, column {table.col('latency_ms')} "
            f"('latency_ms'): nothing measured yet: 'latency_ms' is empty on "
            f"{'its only row' if len(unmeasured) == 1 else f'all {len(unmeasured)} rows'}; fill in the latencies you measured (milliseconds)")
    if unmeasured:
        warnings.warn(f"{table.shown}: {len(unmeasured)} row{'s' if len(unmeasured) > 1 else ''}"
                      f" not measured yet ('latency_ms' empty), skipped: "
                      f"{_listed(unmeasured)}", LatencyDataWarning, stacklevel=2)
    if renamed:
        names = ", ".join(f"{text!r} (line {line}) as {name!r}"
                          for text, (name, line) in renamed.items())
        warnings.warn(f"{table.shown}: read {names}: look-alike characters (letter O for "
                      f"zero, l or I for one); correct the file to silence this",
                      LatencyDataWarning, stacklevel=2)
    cells_at = dict(table.rows)
    no_device = [r.line for r in rows
                 if not dict(zip(table.header, cells_at[r.line])).get("device")]
    if no_device:
        where = ("the file has no 'device' column" if not table.col("device") else
                 f"'device' is empty on {len(no_device)} of {_n(len(rows), 'row')} (first: line "
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
        rows = read_timm(table, include_test_models)
        raise_problems(table)
        return rows
    return mark_raw_samples(_read_long(table))


def _check_statistic(statistic: str | None) -> None:
    if statistic is not None and statistic not in SUMMARY_STATISTICS:
        raise ConfigError(f"statistic must be one of {', '.join(SUMMARY_STATISTICS)} "
                          f"(or None), got {statistic!r}")


def _summaries(path_or_paths, statistic: str | None,
               include_test_models: bool) -> tuple[list[Row], int, int]:
    """``(rows, raw samples read, summaries made of them)``: every file read, runs
    aggregated, the statistic chosen, repeats merged and conflicts refused, per session."""
    _check_statistic(statistic)
    rows: list[Row] = []
    for p in _as_paths(path_or_paths):
        rows += read_rows(p, include_test_models=include_test_models)
    n_samples = sum(r.values["statistic"] == SAMPLE for r in rows)
    rows = aggregate_samples(rows, statistic or "min")
    n_summaries = sum(r.values.get("from_samples", False) for r in rows)
    if statistic is not None:
        rows = select_statistic(rows, statistic)
    return dedupe(rows), n_samples, n_summaries


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
            summary row, or raw runs aggregated with it; a key with none is an error. For
            sessions it is each session's statistic (``median``: each session's
            ``median_ms``).
        include_test_models: keep timm's ``test_*`` toy models (dropped by default).

    Returns:
        One row per identity (model, device, runtime, precision, batch size, input size,
        form, k, mode) with the columns :data:`TIDY_COLUMNS` (``model`` = the zoo's display
        name when the model is in the zoo, ``model_id`` = its id or ``None``;
        ``macs``/``params`` as given in the file, NaN otherwise; ``file``/``line`` = where
        the row came from; ``regime`` = ``"<mode> <precision>"`` when the file states a
        mode, else empty; ``physical_device`` = the device unless a file says otherwise),
        ``campaign`` when a file has one, then the further statistics present (``min_ms`` …)
        and any other columns of the files. Several sessions of one identity become one row:
        ``latency_ms`` = the median over sessions of the per-session statistic,
        ``n_sessions``, ``session_low_ms`` and ``session_high_ms`` (lowest and highest
        session; NaN for a row without sessions).

    Raises:
        DataFormatError: naming the file, line and column of the first problem, then the
            file's other problems (at most 20 lines in all).
        ConfigError: for an unknown ``statistic``.
    """
    rows, n_samples, n_summaries = _summaries(path_or_paths, statistic, include_test_models)
    rows = dedupe(aggregate_sessions(rows))
    if statistic is None:
        check_mixed_statistics(rows)
    frame = to_frame(rows)
    frame.attrs["raw_samples"], frame.attrs["summaries_from_samples"] = n_samples, n_summaries
    return frame


def load_sessions(path_or_paths: str | os.PathLike | Iterable[str | os.PathLike],
                  statistic: str | None = None, *,
                  include_test_models: bool = False) -> pd.DataFrame:
    """The per-session rows of latency files, validated as :func:`load_latency` does (the
    sessions of one identity must share their context), for the noise model.

    ``latency_ms`` is each session's statistic (``statistic`` as in :func:`load_latency`);
    the columns are :data:`TIDY_COLUMNS`, ``campaign``, ``session`` and ``order``, then the
    further statistics and other columns. Rows without a session (plain summaries) are
    included with ``session`` empty (``<NA>``).
    """
    rows, _, _ = _summaries(path_or_paths, statistic, include_test_models)
    session_rows, _ = split_sessions(rows)
    aggregate_sessions(session_rows)  # checks the context of each identity's sessions
    if statistic is None:
        check_mixed_statistics(rows)
    return to_frame(rows, sessions=True)


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def describe_latency(table: pd.DataFrame, limit: int | None = None) -> str:
    """A few lines summarising a tidy latency table: per device, runtime and regime, models,
    sessions, statistic (and, for raw runs, ``N raw samples → M summaries``); at most
    ``limit`` device lines, then ``… and N more``."""
    lines = []
    n_zoo = int(table["model_id"].notna().sum())
    lines.append(f"{_n(len(table), 'row')}, {_n(table['model'].nunique(), 'model')} "
                 f"({_n(n_zoo, 'row')} of zoo models), {_n(table['device'].nunique(), 'device')}")
    if table.attrs.get("raw_samples"):
        lines.append(f"{table.attrs['raw_samples']} raw samples → "
                     f"{table.attrs['summaries_from_samples']} summaries")
    regime = table["regime"] if "regime" in table else pd.Series("", index=table.index)
    number = table.groupby([table["device"], table["runtime"], regime.fillna("")],
                           sort=False).ngroup()
    n_groups = int(number.max()) + 1 if len(number) else 0
    shown = table[number < limit] if limit is not None else table
    for (device, runtime, reg), g in shown.groupby(
            [shown["device"], shown["runtime"], regime[shown.index].fillna("")], sort=False):
        stats = ", ".join(sorted(g["statistic"].unique()))
        sizes = sorted(int(s) for s in g["input_size"].dropna().unique())
        size = (f"{sizes[0]}" if len(sizes) == 1 else f"{sizes[0]}-{sizes[-1]}") if sizes \
            else "unknown"
        sessions = g["n_sessions"].dropna() if "n_sessions" in g else pd.Series(dtype=float)
        sessions = (f"{_n(int(sessions.max()), 'session')}, " if len(sessions) and
                    sessions.min() == sessions.max() else
                    f"{int(sessions.min())}-{int(sessions.max())} sessions, " if len(sessions)
                    else "")
        lines.append(f"  {device} / {runtime}{' / ' + reg if reg else ''}: "
                     f"{_n(g['model'].nunique(), 'model')} "
                     f"({int(g['model_id'].notna().sum())} in the zoo), {sessions}statistic "
                     f"{stats}, latency {g['latency_ms'].min():.3g}-"
                     f"{g['latency_ms'].max():.3g} ms, input {size} px, source "
                     f"{'; '.join(g['source'].unique()[:2])}")
    if limit is not None and n_groups > limit:
        lines.append(f"  … and {n_groups - limit} more device / runtime pairs")
    return "\n".join(lines)
