"""Checks and selections on a loaded latency table: units that look wrong, devices by name.

:func:`read_checked` is how every command and notebook reads latency files: it loads them
(:func:`~analysis.latency.load_latency`) and applies :func:`check_units`, returning the table
with the warnings. :func:`check_units` catches a latency column written in seconds or
microseconds (0.0008 or 800 for a 0.8 ms model), which the loader cannot see row by row: it
compares the implied throughput, MACs per second, with what hardware does.
:func:`select_devices` picks devices by plain name (all their runtimes and regimes), as
"device · runtime", "device · regime" or "device · runtime · regime" (``/`` works too).
"""

from __future__ import annotations

import math
import os
import re
import warnings
from typing import Iterable, NamedTuple

import numpy as np
import pandas as pd

from analysis.errors import ConfigError
from analysis.latency.formats import _n, load_latency
from analysis.latency.schema import LatencyDataWarning
from analysis.models import get_entry
from analysis.util import as_list

#: Highest plausible median throughput of one device, MACs per second. A phone's neural
#: engine or a desktop GPU running these small models at batch 1 reaches well under
#: 10 TMAC/s (the paper's fastest: ~0.5 TMAC/s on the iPhone 12, ~1 TMAC/s on the
#: RTX-2080Ti); above 50 TMAC/s the latencies are almost surely in seconds.
MAX_MACS_PER_S = 50e12
#: Lowest plausible median throughput: a low-end phone CPU core still does several GMAC/s
#: (the paper's Xeon ~40 GMAC/s); below 1 GMAC/s the latencies are almost surely in
#: microseconds.
MIN_MACS_PER_S = 1e9

THROUGHPUT_COLUMNS = ("device", "runtime", "regime", "models", "median_macs_per_s", "problem")


def _macs(table: pd.DataFrame, macs_by_model_id) -> pd.Series:
    """MACs per row: the row's own ``macs``, else ``macs_by_model_id``, else Table 9's."""
    if isinstance(macs_by_model_id, pd.DataFrame):
        macs_by_model_id = macs_by_model_id.set_index("model_id")["macs"]
    mapping = dict(macs_by_model_id) if macs_by_model_id is not None else {}

    def published(model_id) -> float:
        if model_id is None or (isinstance(model_id, float) and math.isnan(model_id)):
            return math.nan
        pub = get_entry(model_id).published
        return pub.macs_m * 1e6 if pub is not None else math.nan

    own = table["macs"] if "macs" in table.columns else pd.Series(np.nan, index=table.index)
    ids = table["model_id"]
    given = ids.map(lambda i: mapping.get(i, math.nan) if i is not None else math.nan)
    return own.astype(float).fillna(given.astype(float)).fillna(ids.map(published).astype(float))


def check_units(table: pd.DataFrame, macs_by_model_id=None, *,
                warn: bool = True) -> pd.DataFrame:
    """Median implied throughput (MACs / latency) per (device, runtime), with a ``problem``.

    Args:
        table: a :func:`~analysis.latency.load_latency` table.
        macs_by_model_id: MACs per zoo model id (a mapping, a Series, or a complexity table
            with ``model_id`` and ``macs`` columns); a row's own ``macs`` is used first, and
            Table 9's published MACs for zoo models missing from both.
        warn: issue a :class:`~analysis.latency.LatencyDataWarning` per problem.

    Returns:
        One row per (device, runtime, regime): ``models`` (with known MACs),
        ``median_macs_per_s`` and ``problem`` — ``""``, or a sentence when the median is
        above :data:`MAX_MACS_PER_S` ("latency in seconds?") or below
        :data:`MIN_MACS_PER_S` ("microseconds?").
    """
    rate = _macs(table, macs_by_model_id) / (table["latency_ms"].astype(float) / 1e3)
    grouped = rate.groupby([table["device"], table["runtime"], _regime(table)], sort=False)
    medians, counts = grouped.median(), grouped.count()  # over the models with known MACs
    rows = []
    for (device, runtime, regime), median, n in zip(medians.index, medians, counts):
        problem = ""
        shown = (f"{device} · {runtime}{' · ' + regime if regime else ''}: median implied "
                 f"throughput {median:.3g} MAC/s")
        if median > MAX_MACS_PER_S:
            problem = (f"{shown} over {_n(n, 'model')} is above {MAX_MACS_PER_S:.0e} "
                       f"(50 TMAC/s): is latency_ms in seconds? (0.0008 for 0.8 ms)")
        elif median < MIN_MACS_PER_S:
            problem = (f"{shown} over {_n(n, 'model')} is below {MIN_MACS_PER_S:.0e} "
                       f"(1 GMAC/s): is latency_ms in microseconds? (800 for 0.8 ms)")
        if problem and warn:
            warnings.warn(problem, LatencyDataWarning, stacklevel=2)
        rows.append((device, runtime, regime, int(n), float(median), problem))
    return pd.DataFrame(rows, columns=list(THROUGHPUT_COLUMNS))


class CheckedLatency(NamedTuple):
    """What :func:`read_checked` returns: ``table, warnings, units = read_checked(…)``."""

    #: the :func:`~analysis.latency.load_latency` table
    table: pd.DataFrame
    #: every :class:`~analysis.latency.LatencyDataWarning` message, in order, once each
    warnings: tuple[str, ...]
    #: :func:`check_units`'s table (median implied throughput per device, runtime, regime)
    units: pd.DataFrame


def read_checked(path_or_paths: str | os.PathLike | Iterable[str | os.PathLike],
                 statistic: str | None = None, *, macs_by_model_id=None,
                 include_test_models: bool = False, warn: bool = True) -> CheckedLatency:
    """Read latency files and apply every check: the one way commands and notebooks read
    latency (``validate``, ``predict``, the studies), so that units are always checked.

    Args:
        path_or_paths, statistic, include_test_models: as :func:`~analysis.latency.
            load_latency`.
        macs_by_model_id: MACs per zoo model for :func:`check_units` (a notebook passes its
            complexity counts; default: a row's own ``macs``, else Table 9's).
        warn: re-issue the collected warnings as :class:`LatencyDataWarning` (a notebook shows
            them); ``False`` when the caller prints ``CheckedLatency.warnings`` itself.

    Raises:
        DataFormatError, ConfigError: as :func:`~analysis.latency.load_latency`.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = load_latency(path_or_paths, statistic, include_test_models=include_test_models)
        units = check_units(table, macs_by_model_id)
    messages: dict[str, None] = {}
    for w in caught:
        if not issubclass(w.category, LatencyDataWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        else:
            messages[str(w.message)] = None
    if warn:
        for message in messages:
            warnings.warn(message, LatencyDataWarning, stacklevel=2)
    return CheckedLatency(table, tuple(messages), units)


def _regime(table: pd.DataFrame) -> pd.Series:
    if "regime" not in table.columns:
        return pd.Series("", index=table.index)
    return table["regime"].fillna("").astype(str)


_SEPARATOR = re.compile(r"\s*(?:·|/)\s*")


def device_column(table: pd.DataFrame) -> pd.Series:
    """The label of every row's device: ``"device · runtime"``, or ``"device · runtime ·
    regime"`` when the row has a regime (the four regimes of the H200 are four devices):
    group by it, not by device and runtime alone."""
    regime = _regime(table)
    base = table["device"].astype(str) + " · " + table["runtime"].astype(str)
    return base.where(regime == "", base + " · " + regime)


def series_names(table: pd.DataFrame) -> pd.Series:
    """One name per measurement series of a tidy latency table, the study's one naming rule:
    the device, plus the runtime where the device has several and the regime where it has
    several (``"NVIDIA H200 · graph fp16"``, ``"Intel Xeon Processor (2 vCPU, 1 thread) ·
    torch"``, ``"iPhone 12"``); a missing ``runtime`` or ``regime`` column counts as one value.
    Unlike :func:`device_column`, a part is named only where it tells the device's series
    apart."""
    name = table["device"].astype(str)
    for column in ("runtime", "regime"):
        part = table[column] if column in table else pd.Series("", index=table.index)
        part = part.fillna("").astype(str)
        several = part.groupby(table["device"]).transform("nunique") > 1
        name = name.where(~several, name + " · " + part)
    return name


def device_labels(table: pd.DataFrame) -> list[str]:
    """Every ``"device · runtime"`` (``"device · runtime · regime"``) of ``table``, in order
    of appearance."""
    return list(dict.fromkeys(device_column(table)))


def select_devices(table: pd.DataFrame, devices) -> pd.DataFrame:
    """The rows of the devices named in ``devices``, in that order (``None``/``[]``: all).

    Each name is a device (case-insensitive; all its runtimes and regimes), its physical
    device, or the device with a runtime and/or a regime: ``"Pixel 8 · nnapi"``,
    ``"NVIDIA H200/graph fp16"``, ``"NVIDIA H200 · torch · eager fp32"`` (``·`` or ``/``);
    ``devices`` may be a list or a comma-separated string.

    Raises:
        ConfigError: for a name that matches nothing, listing the devices available.
    """
    wanted = as_list(devices)
    if not wanted:
        return table
    low = lambda c: table[c].astype(str).str.strip().str.lower()  # noqa: E731
    device, runtime, regime = low("device"), low("runtime"), _regime(table).str.lower()
    physical = low("physical_device") if "physical_device" in table.columns else device
    parts = []
    for name in wanted:
        text = str(name).strip().lower()
        mask = (device == text) | (physical == text)
        pieces = _SEPARATOR.split(text)
        if not mask.any() and len(pieces) >= 2:
            dev = device == "/".join(pieces[:-1])
            mask = dev & ((runtime == pieces[-1]) | (regime == pieces[-1]))
        if not mask.any() and len(pieces) >= 3:
            mask = ((device == "/".join(pieces[:-2])) & (runtime == pieces[-2])
                    & (regime == pieces[-1]))
        if not mask.any():
            names = sorted(table["device"].astype(str).unique())
            raise ConfigError(f"DEVICES: no device {name!r} in the latency data; available: "
                              f"{', '.join(repr(n) for n in names)} (a device selects all its "
                              f"runtimes) or one of {', '.join(device_labels(table))}")
        parts.append(table[mask])
    chosen = pd.concat(parts)
    return chosen[~chosen.index.duplicated()]
