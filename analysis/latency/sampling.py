"""Summary statistics of latency samples (plain functions on an array of milliseconds).

The paper reports the **minimum** over the runs on the iPhone (it filters out interruptions by
other processes) and the **median** of 100 runs on the GPU; Apple's ModelBench app reports a
trimmed mean (the 10 lowest and 10 highest of 50 runs dropped, i.e. 20 % at each end).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from analysis.errors import ConfigError

#: Fraction trimmed from *each* end for ``trimmed_mean`` (ModelBench: 10 of 50 runs).
TRIM_FRACTION = 0.2


def trimmed_mean(samples, fraction: float = TRIM_FRACTION) -> float:
    """Mean after dropping ``floor(fraction * n)`` samples at each end of the sorted samples."""
    x = np.sort(np.asarray(samples, dtype=float))
    k = int(np.floor(fraction * len(x)))
    return float(x[k:len(x) - k].mean())


#: The statistics a latency summary may report, as functions of the samples.
STATISTIC_FUNCTIONS: dict[str, Callable[[np.ndarray], float]] = {
    "min": lambda x: float(np.min(x)),
    "median": lambda x: float(np.median(x)),
    "mean": lambda x: float(np.mean(x)),
    "trimmed_mean": trimmed_mean,
    "p90": lambda x: float(np.percentile(x, 90)),  # linear interpolation between order stats
}


def sample_stats(samples) -> dict[str, float]:
    """Summary of latency samples (any unit; the project passes milliseconds).

    Returns ``n``, ``min``, ``median``, ``p90`` (linear interpolation), ``mean``,
    ``trimmed_mean`` (:data:`TRIM_FRACTION` at each end), ``std`` (sample standard deviation,
    ``ddof=1``; 0 for one sample) and ``cv`` (``std / mean``, the coefficient of variation).

    Raises:
        ConfigError: for an empty array or non-finite samples.
    """
    x = np.asarray(samples, dtype=float).ravel()
    if x.size == 0:
        raise ConfigError("no latency samples to summarise")
    if not np.all(np.isfinite(x)):
        raise ConfigError("latency samples contain NaN or infinite values")
    out = {"n": int(x.size)}
    for name, fn in STATISTIC_FUNCTIONS.items():
        out[name] = fn(x)
    out["std"] = float(np.std(x, ddof=1)) if x.size > 1 else 0.0
    out["cv"] = out["std"] / out["mean"] if out["mean"] > 0 else float("nan")
    return out
