"""The one timing loop of the project.

Every latency the project measures — a model in the harness, the train-time and fused forms of
MobileOne side by side, the matmul reference throughput, a model on a GPU — is timed here, so a
change of protocol (sessions, a CUDA synchronize step) is made once.

One timed run is ``synchronize(); t0 = clock(); fn(); synchronize(); t1 = clock()``: on a CPU
``synchronize`` does nothing; on a GPU it waits for the device (``torch.cuda.synchronize``), so
the interval holds the work and not only its launch. ``warmup`` runs come first and are
dropped. Python's garbage collector is paused while timing. ``clock`` and ``synchronize`` are
arguments so tests can inject a fake clock and check the arithmetic.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from analysis.errors import ConfigError

Clock = Callable[[], int]


def _no_sync() -> None:
    return None


@dataclass(frozen=True)
class Timer:
    """How one run is timed: a nanosecond ``clock`` and a ``synchronize`` step run before and
    after each timed call (``None``: nothing to wait for, a CPU). ``name`` is recorded with the
    measurement (the ``clock`` column)."""

    clock: Clock = time.perf_counter_ns
    synchronize: Callable[[], None] | None = None
    name: str = "time.perf_counter_ns"

    def describe(self) -> str:
        return self.name + (" with device synchronize" if self.synchronize else "")


CPU_TIMER = Timer()


def _check(runs: int, warmup: int) -> None:
    if isinstance(runs, bool) or not isinstance(runs, (int, np.integer)) or runs < 1:
        raise ConfigError(f"runs must be a whole number >= 1, got {runs!r}")
    if isinstance(warmup, bool) or not isinstance(warmup, (int, np.integer)) or warmup < 0:
        raise ConfigError(f"warmup must be a whole number >= 0, got {warmup!r}")


class _gc_paused:
    def __enter__(self):
        self.was = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc):
        if self.was:
            gc.enable()


def time_runs(fn: Callable[[], object], *, runs: int, warmup: int = 0,
              timer: Timer = CPU_TIMER) -> np.ndarray:
    """``runs`` timed calls of ``fn`` after ``warmup`` untimed ones; the durations in
    milliseconds, in order."""
    return time_interleaved({"fn": fn}, runs=runs, warmup=warmup, timer=timer)["fn"]


def time_interleaved(fns: Mapping[str, Callable[[], object]], *, runs: int, warmup: int = 0,
                     timer: Timer = CPU_TIMER,
                     order: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Time several functions in one loop: every round calls each once, in ``order`` (default:
    as given), alternating forward and backward between rounds, so slow phases of a shared
    machine hit every function alike. ``warmup`` untimed rounds first. Returns
    ``{name: durations in ms}``, ``runs`` each."""
    _check(runs, warmup)
    names = list(order or fns)
    if not names or set(names) != set(fns):
        raise ConfigError(f"order must name every function once, got {names} for {list(fns)}")
    sync = timer.synchronize or _no_sync
    clock = timer.clock
    for _ in range(warmup):
        for name in names:
            fns[name]()
        sync()
    samples = {name: np.empty(runs, dtype=np.int64) for name in names}
    with _gc_paused():
        for r in range(runs):
            for name in (names if r % 2 == 0 else names[::-1]):
                fn = fns[name]
                sync()
                t0 = clock()
                fn()
                sync()
                samples[name][r] = clock() - t0
    return {name: samples[name] / 1e6 for name in names}
