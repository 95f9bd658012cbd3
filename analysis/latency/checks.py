"""Checks and selections on a loaded latency table: units that look wrong, devices by name.

:func:`check_units` catches a latency column written in seconds or microseconds (0.0008 or 800
for a 0.8 ms model), which the loader cannot see row by row: it compares the implied
throughput, MACs per second, with what hardware does. :func:`select_devices` picks devices by
plain name (all their runtimes) or as "device · runtime".
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pandas as pd

from analysis.errors import ConfigError
from analysis.latency.schema import LatencyDataWarning
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

THROUGHPUT_COLUMNS = ("device", "runtime", "models", "median_macs_per_s", "problem")


def _macs(table: pd.DataFrame, macs_by_model_id) -> pd.Series:
    """MACs per row: the row's own ``macs``, else ``macs_by_model_id``, else Table 9's."""
    if isinstance(macs_by_model_id, pd.DataFrame):
        macs_by_model_id = macs_by_model_id.set_index("model_id")["macs"]
    mapping = dict(macs_by_model_id) if macs_by_model_id is not None else {}

    def published(model_id) -> float:
        from analysis.models import get_entry

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
        One row per (device, runtime): ``models`` (with known MACs), ``median_macs_per_s``
        and ``problem`` — ``""``, or a sentence when the median is above
        :data:`MAX_MACS_PER_S` ("latency in seconds?") or below :data:`MIN_MACS_PER_S`
        ("microseconds?").
    """
    rate = _macs(table, macs_by_model_id) / (table["latency_ms"].astype(float) / 1e3)
    rows = []
    for (device, runtime), part in rate.groupby([table["device"], table["runtime"]], sort=False):
        part = part.dropna()
        median = float(part.median()) if len(part) else math.nan
        problem = ""
        shown = f"{device} · {runtime}: median implied throughput {median:.3g} MAC/s"
        if median > MAX_MACS_PER_S:
            problem = (f"{shown} over {len(part)} models is above {MAX_MACS_PER_S:.0e} "
                       f"(50 TMAC/s): is latency_ms in seconds? (0.0008 for 0.8 ms)")
        elif median < MIN_MACS_PER_S:
            problem = (f"{shown} over {len(part)} models is below {MIN_MACS_PER_S:.0e} "
                       f"(1 GMAC/s): is latency_ms in microseconds? (800 for 0.8 ms)")
        if problem and warn:
            warnings.warn(problem, LatencyDataWarning, stacklevel=2)
        rows.append((device, runtime, len(part), median, problem))
    return pd.DataFrame(rows, columns=list(THROUGHPUT_COLUMNS))


_PAIR = re.compile(r"^(?P<device>.+?)\s*(?:·|/)\s*(?P<runtime>[^·/]+)$")


def device_labels(table: pd.DataFrame) -> list[str]:
    """Every ``"device · runtime"`` of ``table``, in order of appearance."""
    pairs = table[["device", "runtime"]].drop_duplicates()
    return [f"{d} · {r}" for d, r in pairs.itertuples(index=False)]


def select_devices(table: pd.DataFrame, devices) -> pd.DataFrame:
    """The rows of the devices named in ``devices``, in that order (``None``/``[]``: all).

    Each name is a device (case-insensitive; all its runtimes) or ``"device · runtime"`` /
    ``"device/runtime"``; ``devices`` may be a list or a comma-separated string.

    Raises:
        ConfigError: for a name that matches nothing, listing the devices available.
    """
    wanted = as_list(devices)
    if not wanted:
        return table
    device = table["device"].astype(str).str.strip().str.lower()
    runtime = table["runtime"].astype(str).str.strip().str.lower()
    parts = []
    for name in wanted:
        text = str(name).strip().lower()
        mask = device == text
        pair = _PAIR.match(text)
        if not mask.any() and pair:
            mask = (device == pair["device"].strip()) & (runtime == pair["runtime"].strip())
        if not mask.any():
            names = sorted(table["device"].astype(str).unique())
            raise ConfigError(f"DEVICES: no device {name!r} in the latency data; available: "
                              f"{', '.join(repr(n) for n in names)} (a device selects all its "
                              f"runtimes) or one of {', '.join(device_labels(table))}")
        parts.append(table[mask])
    chosen = pd.concat(parts)
    return chosen[~chosen.index.duplicated()]
