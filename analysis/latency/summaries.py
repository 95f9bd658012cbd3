"""Parsed rows → one summary per identity: runs aggregated, the statistic chosen, repeats
merged, conflicts refused, and the tidy table built (sessions: :mod:`.sessions`)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.latency.schema import (INT_COLUMNS, SAMPLE, SESSION_COLUMNS, STAT_COLUMNS,
                                     TIDY_COLUMNS, Row)
from analysis.latency.sampling import sample_stats


def mark_raw_samples(rows: list[Row]) -> list[Row]:
    """Recognise a raw per-run dump among the rows of one file and mark its runs ``sample``.

    A row with no stated statistic and ``n_runs`` empty or 1 is a candidate; when two
    candidates share a key (model, device, runtime, precision, batch size, input size, form,
    k, mode) and session, the file is a dump of individual runs, and every candidate becomes
    a ``sample`` (so a model timed once is a one-run summary like the others). Files without
    such repeats are left as they are (one summary per row, ``min`` assumed); the sessions of
    a campaign repeat a key in different sessions, so they are not runs.
    """
    candidates = [r for r in rows if not r.stated and r.values["n_runs"] in (None, 1)]
    keys = [(r.key(), r.session_key()) for r in candidates]
    if len(set(keys)) == len(keys):
        return rows
    for row in candidates:
        row.values["statistic"] = SAMPLE
    return rows


def aggregate_samples(rows: list[Row], statistic: str) -> list[Row]:
    """Replace the ``sample`` rows of each key (and session) by one summary row with
    ``statistic``."""
    groups: dict[tuple, list[Row]] = {}
    out: list[Row] = []
    for row in rows:
        if row.values["statistic"] == SAMPLE:
            k = (row.key(), row.session_key())
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
        runs = groups[(row.key(), row.session_key())]
        for other in runs[1:]:
            if other.values["threads"] != row.values["threads"]:
                raise other.error("threads", f"runs of one model must share their context; "
                                             f"{row.where('threads')} says "
                                             f"{row.values['threads']}")
        samples = np.array([r.values["latency_ms"] for r in runs])
        stats = sample_stats(samples)
        agg = row.copy()
        agg.values["statistic"] = statistic
        agg.values["latency_ms"] = stats[statistic]
        agg.values["n_runs"] = len(samples)
        agg.values["from_samples"] = True
        for name in STAT_COLUMNS:
            agg.extras[name] = stats[name[:-3] if name.endswith("_ms") else name]
        result.append(agg)
    return result


def _value_for(row: Row, statistic: str) -> float | None:
    if row.values["statistic"] == statistic:
        return row.values["latency_ms"]
    return row.extras.get(f"{statistic}_ms")


def select_statistic(rows: list[Row], statistic: str) -> list[Row]:
    """Keep, per key, the rows that give ``statistic`` (directly or in a ``<stat>_ms`` column)."""
    by_key: dict[tuple, list[Row]] = {}
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
        new = row.copy()
        new.values["latency_ms"] = value
        new.values["statistic"] = statistic
        result.append(new)
    return result


def check_mixed_statistics(rows: list[Row]) -> None:
    """Refuse a device that reports different statistics (its ranking would be mixed)."""
    first: dict[str, Row] = {}
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


def dedupe(rows: list[Row]) -> list[Row]:
    """Drop exact repeats of a summary; raise on two summaries of one key (and session) that
    disagree."""
    seen: dict[tuple, Row] = {}
    result = []
    for row in rows:
        k = (*row.key(), row.values["statistic"], row.session_key())
        if k in seen:
            other = seen[k]
            a, b = other.values["latency_ms"], row.values["latency_ms"]
            if math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
                continue
            single = all((r.values["n_runs"] or 1) == 1 and not r.values.get("from_samples")
                         for r in (row, other))
            hint = "; if these are single runs, set `statistic` to `sample`" if single else ""
            session = (f", session {row.values['session']}" if row.session_key() is not None
                       else "")
            raise row.error("latency_ms", (
                f"{row.label()} ({row.values['runtime']}, {row.values['statistic']}{session}) "
                f"is {b:g} ms here but {a:g} ms at {other.table.shown}, line {other.line}; keep "
                f"one summary per (model, device, runtime, precision, batch size, input size, "
                f"form, k, mode), give them different 'device'/'runtime' labels, or number "
                f"repeated measurements in a 'session' column{hint}"))
        seen[k] = row
        result.append(row)
    return result


def to_frame(rows: list[Row], sessions: bool = False) -> pd.DataFrame:
    """The tidy table (:data:`TIDY_COLUMNS`, the session columns, further statistics, other
    columns) of ``rows``. The session columns (``campaign``, ``session``, ``order``) are
    there when ``sessions`` or when a row has a value in them."""
    records = []
    extra_names: list[str] = []
    session_columns = [c for c in SESSION_COLUMNS
                       if sessions or any(r.values.get(c) is not None for r in rows)]
    tidy = [*TIDY_COLUMNS, *session_columns]
    for row in rows:
        rec = {c: row.values.get(c) for c in tidy}
        rec["form"], rec["mode"] = rec["form"] or "fused", rec["mode"] or "eager"
        rec["regime"], rec["physical_device"] = rec["regime"] or "", \
            rec["physical_device"] or rec["device"]
        rec["file"] = row.table.shown
        rec["line"] = row.line
        for name, value in row.extras.items():
            if name not in extra_names:
                extra_names.append(name)
            rec[name] = value
        records.append(rec)
    stats_first = [c for c in STAT_COLUMNS if c in extra_names]
    others = [c for c in extra_names if c not in STAT_COLUMNS]
    frame = pd.DataFrame.from_records(records, columns=[*tidy, *stats_first, *others])
    for c in (*INT_COLUMNS, *[c for c in ("session", "order") if c in session_columns]):
        frame[c] = frame[c].astype("Int64")
    for c in ("latency_ms", "macs", "params", "session_low_ms", "session_high_ms",
              *stats_first):
        frame[c] = frame[c].astype(float)
    frame["model_id"] = frame["model_id"].astype(object).where(frame["model_id"].notna(), None)
    return frame
