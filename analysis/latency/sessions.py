"""Sessions of a measurement campaign → one summary per identity, and the check that makes
the sessions of one identity comparable.

A campaign (``python -m analysis measure --sessions N``, or the shipped H200 file) times
every model N times, once per **session**, in a different order each session; each session
writes one summary row (its minimum as ``latency_ms``, with median, p90 …) with the columns
``campaign``, ``session`` and ``order``. The sessions of one identity (model, device,
runtime, precision, batch size, input size, form, k, mode) are repeated measurements: the
loader reports the **median over sessions** of the per-session statistic as ``latency_ms``,
with ``n_sessions`` and the lowest and highest session (``session_low_ms``,
``session_high_ms``): the spread the noise model reads. Sessions measured in different
settings (threads, library versions, GPU driver … :data:`CONTEXT_COLUMNS`) are not repeats of
one measurement but two campaigns: they are refused, naming the column.
"""

from __future__ import annotations

import statistics

from analysis.errors import DataFormatError
from analysis.latency.schema import CONTEXT_COLUMNS, STAT_COLUMNS, Row


def _context(row: Row, column: str):
    value = row.values[column] if column in row.values else row.extras.get(column)
    return None if value in (None, "") else value


def _shown(value) -> str:
    return "(empty)" if value is None else str(value)


def check_context(rows: list[Row]) -> None:
    """Refuse sessions of one identity whose context (:data:`CONTEXT_COLUMNS` present in
    their files) differs: ``FILE, line L, column C ('threads'): sessions of MobileOne-S0 on
    'Intel Xeon Processor (2 vCPU)' differ in 'threads' (1 on line 2, 2 on line 40): one campaign per setting``."""
    first: dict[tuple, Row] = {}
    for row in rows:
        if row.session_key() is None:
            continue
        other = first.setdefault(row.key(), row)
        if other is row:
            continue
        for column in CONTEXT_COLUMNS:
            if not (row.table.col(column) or other.table.col(column)):
                continue
            a, b = _context(other, column), _context(row, column)
            if str(a) != str(b):
                there = (f"line {other.line}" if other.table is row.table else
                         f"{other.table.shown}, line {other.line}")
                raise DataFormatError(
                    f"{row.where(column)}: sessions of {row.label()} differ in '{column}' "
                    f"({_shown(a)} on {there}, {_shown(b)} on line {row.line}): one campaign "
                    f"per setting (give each setting its own campaign file or device label)")


def split_sessions(rows: list[Row]) -> tuple[list[Row], list[Row]]:
    """``(session rows, other rows)``."""
    return ([r for r in rows if r.session_key() is not None],
            [r for r in rows if r.session_key() is None])


def _median(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return float(statistics.median(values)) if values else None


def aggregate_sessions(rows: list[Row]) -> list[Row]:
    """Replace the session rows of each (identity, statistic) by one row: ``latency_ms`` =
    median over sessions, ``n_sessions``, ``session_low_ms`` / ``session_high_ms`` = lowest
    and highest session, further statistics (``median_ms`` …) = their median over sessions,
    ``n_runs`` = runs per session (the fewest), ``campaign`` = the campaigns (``; ``-joined);
    the first session's line and other columns. Other rows are kept as they are."""
    check_context(rows)
    groups: dict[tuple, list[Row]] = {}
    out: list[Row | tuple] = []
    for row in rows:
        if row.session_key() is None:
            out.append(row)
            continue
        k = (*row.key(), row.values["statistic"])
        if k not in groups:
            groups[k] = []
            out.append(k)  # placeholder at the first session's position
        groups[k].append(row)
    result = []
    for item in out:
        if isinstance(item, Row):
            result.append(item)
            continue
        sessions = groups[item]
        values = [r.values["latency_ms"] for r in sessions]
        agg = sessions[0].copy()
        v = agg.values
        v["latency_ms"] = float(statistics.median(values))
        v["n_sessions"] = len(sessions)
        v["session_low_ms"], v["session_high_ms"] = min(values), max(values)
        runs = [r.values["n_runs"] for r in sessions if r.values["n_runs"] is not None]
        v["n_runs"] = min(runs) if runs else None
        campaigns = dict.fromkeys(r.values["campaign"] for r in sessions if r.values["campaign"])
        v["campaign"] = "; ".join(campaigns) or None
        v["session"] = v["order"] = None
        for name in STAT_COLUMNS:
            if any(name in r.extras for r in sessions):
                agg.extras[name] = _median([r.extras.get(name) for r in sessions])
        result.append(agg)
    return result
