"""Notebook 04, the latencies: where they come from.

The study needs three kinds of latency, each fetched by one step with the same face,
``step(params, …) → timings`` (a frame of :data:`TIMING_COLUMNS`, one summary row per timed
identity):

* :func:`fusing_timings` — the train-time and the fused form of every variant and k, timed
  interleaved per runtime;
* :func:`sequential_timings` — each fused variant and a plain ``nn.Sequential`` of its very
  layers, timed interleaved in PyTorch eager;
* :func:`reference_timings` — ``torch.matmul`` of two n × n fp32 matrices, the reference
  throughput.

Each step asks :func:`latencies` for its rows, the one place that decides the source: the file
``TIMINGS_CSV`` when it is given (the ``timings.csv`` an earlier run wrote: the same analysis
on the same numbers), else a live measurement on this machine. Every live timing runs through
the project's one timing loop (:mod:`analysis.latency.timing`) with the harness's runtimes
(:mod:`analysis.latency.runtimes`): model and input prepared before timing, warm-up rounds
dropped, garbage collector paused, the forms compared alternating their order every round so a
busy shared machine slows them alike.
"""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd
import torch
import torch.nn as nn

from analysis import paths
from analysis.errors import DataFormatError
from analysis.latency import sample_stats
from analysis.latency.context import cpu_model
from analysis.latency.runtimes import runner, runtime_version, torch_threads
from analysis.latency.timing import CPU_TIMER, Timer, time_interleaved, time_runs
from analysis.models.fusion import plain_sequential
from analysis.studies.reparam.compute import (FORMS, build_pair, deployed, example_input, jobs,
                                              official_k, runs_for, variant_list)
from analysis.text import plural

#: Columns of a timings table (and of a ``TIMINGS_CSV`` file).
TIMING_COLUMNS = ("experiment", "variant", "k", "form", "runtime", "runtime_version", "device",
                  "threads", "input_size", "n_runs", "min_ms", "median_ms", "p90_ms", "cv")
#: What identifies one timed row.
IDENTITY = ("experiment", "variant", "k", "form", "runtime")
#: The experiments, in the order a run times them.
EXPERIMENTS = ("fusing", "sequential", "reference")

Identity = tuple[str, str, int, str, str]


# -- the one switch ------------------------------------------------------------------------------

def latencies(params, experiment: str, wanted: Sequence[Identity],
              measure: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """The timings of ``wanted`` (identities of :data:`IDENTITY`): read from ``TIMINGS_CSV``
    when the parameters name one, else ``measure()`` (a live measurement). Either way the rows
    come in the order of ``wanted`` with :data:`TIMING_COLUMNS`."""
    if params.TIMINGS_CSV:
        return from_file(paths.user_path(params.TIMINGS_CSV), experiment, wanted, params)
    return measure()


def threads_used(params) -> int:
    """``THREADS``, or torch's default (all cores) when it is ``None``."""
    return params.THREADS or torch.get_num_threads()


def source_line(params) -> str:
    """Where the latencies of this run come from, in one line."""
    if params.TIMINGS_CSV:
        return f"latencies read from {paths.relative(paths.user_path(params.TIMINGS_CSV))}"
    return (f"latencies measured live on this machine ({cpu_model()}, "
            f"{plural(threads_used(params), 'thread')})")


# -- the three steps -----------------------------------------------------------------------------

def fusing_timings(params, counts: pd.DataFrame) -> pd.DataFrame:
    """Train-time vs fused: per variant at its published k in ``RUNTIMES``, and S0 at every
    other k of ``K_VALUES`` in ``SWEEP_RUNTIMES``, both forms timed interleaved. A pair costing
    m times the MACs of the cheapest fused model gets ``N_RUNS``/m rounds (at least
    ``N_RUNS_MIN``), so every pair gets about the same time."""
    plan = jobs(params.VARIANTS, params.K_VALUES, params.RUNTIMES, params.SWEEP_RUNTIMES)
    wanted = [("fusing", v, k, form, rt) for v, k, rts in plan for rt in rts for form in FORMS]
    return latencies(params, "fusing", wanted, lambda: _measure_fusing(params, counts, plan))


def sequential_timings(params, counts: pd.DataFrame) -> pd.DataFrame:
    """The fused network against a plain ``nn.Sequential`` of its very layers
    (:func:`~analysis.models.fusion.plain_sequential`), PyTorch eager, interleaved; rounds by
    the MACs rule of :func:`fusing_timings` (the pair costs twice the fused model)."""
    variants = variant_list(params.VARIANTS)
    wanted = [("sequential", v, official_k(v), form, "torch") for v in variants
              for form in ("fused", "sequential")]
    return latencies(params, "sequential", wanted,
                     lambda: _measure_sequential(params, counts, variants))


def reference_timings(params) -> pd.DataFrame:
    """The reference throughput: ``torch.matmul`` of two ``MATMUL_SIZE`` × ``MATMUL_SIZE``
    fp32 matrices on the same threads, one untimed product, then ``MATMUL_RUNS`` timed ones."""
    wanted = [("reference", "", 0, "matmul", "torch")]
    return latencies(params, "reference", wanted, lambda: _measure_reference(params))


# -- live ----------------------------------------------------------------------------------------

def time_models(models: dict[str, nn.Module], runtime: str, example: torch.Tensor, *,
                runs: int, warmup: int, threads: int, timer: Timer = CPU_TIMER) -> dict:
    """Per model, ``runs`` single-inference times (ms) in ``runtime``: every model prepared by
    the harness's runner first, then one interleaved loop
    (:func:`analysis.latency.timing.time_interleaved`, with ``timer``'s clock)."""
    with contextlib.ExitStack() as stack:
        fns = {name: stack.enter_context(runner(runtime, m.eval(), example, threads))
               for name, m in models.items()}
        return time_interleaved(fns, runs=runs, warmup=warmup, timer=timer)


def _row(experiment: str, variant: str, k: int, form: str, runtime: str, threads: int,
         input_size: int, samples) -> dict:
    st = sample_stats(samples)
    return {"experiment": experiment, "variant": variant, "k": k, "form": form,
            "runtime": runtime, "runtime_version": runtime_version(runtime),
            "device": cpu_model(), "threads": threads, "input_size": input_size,
            "n_runs": st["n"], "min_ms": st["min"], "median_ms": st["median"],
            "p90_ms": st["p90"], "cv": st["cv"]}


def _reference_macs(counts: pd.DataFrame) -> float:
    return float(counts.loc[(counts["form"] == "fused") & counts["official_k"], "macs"].min())


def _measure_fusing(params, counts: pd.DataFrame, plan) -> pd.DataFrame:
    threads, size = threads_used(params), params.INPUT_SIZE
    x = example_input(size, params.SEED)
    ref = _reference_macs(counts)
    rows = []
    for v, k, rts in plan:
        train, fused = build_pair(v, k, params.SEED)
        macs = counts.loc[(counts["variant"] == v) & (counts["k"] == k), "macs"].sum()
        runs = runs_for(macs, ref, params.N_RUNS, params.N_RUNS_MIN)
        for rt in rts:
            t = time_models({"train": train, "fused": fused}, rt, x, runs=runs,
                            warmup=params.N_WARMUP, threads=threads)
            rows += [_row("fusing", v, k, form, rt, threads, size, t[form]) for form in FORMS]
    return pd.DataFrame(rows, columns=TIMING_COLUMNS)


def _measure_sequential(params, counts: pd.DataFrame, variants) -> pd.DataFrame:
    threads, size = threads_used(params), params.INPUT_SIZE
    x = example_input(size, params.SEED)
    ref = _reference_macs(counts)
    fused_macs = counts[(counts["form"] == "fused") & counts["official_k"]] \
        .set_index("variant")["macs"]
    rows = []
    for v in variants:
        fused = deployed(v, params.SEED)
        runs = runs_for(2 * fused_macs[v], ref, params.N_RUNS, params.N_RUNS_MIN)
        t = time_models({"fused": fused, "sequential": plain_sequential(fused)}, "torch", x,
                        runs=runs, warmup=params.N_WARMUP, threads=threads)
        rows += [_row("sequential", v, official_k(v), form, "torch", threads, size, t[form])
                 for form in ("fused", "sequential")]
    return pd.DataFrame(rows, columns=TIMING_COLUMNS)


def _measure_reference(params) -> pd.DataFrame:
    n, threads = params.MATMUL_SIZE, threads_used(params)
    g = torch.Generator().manual_seed(params.SEED)
    a, b = torch.randn(n, n, generator=g), torch.randn(n, n, generator=g)
    with torch_threads(threads), torch.inference_mode():
        samples = time_runs(lambda: torch.matmul(a, b), runs=params.MATMUL_RUNS, warmup=1)
    return pd.DataFrame([_row("reference", "", 0, "matmul", "torch", threads, n, samples)],
                        columns=TIMING_COLUMNS)


# -- from a file ---------------------------------------------------------------------------------

@functools.lru_cache(maxsize=4)
def _read(path: str, mtime: float, size: int) -> pd.DataFrame:
    where = paths.relative(path)
    try:
        table = pd.read_csv(path, keep_default_na=False, dtype=str)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataFormatError(f"{where}: not a readable CSV ({exc})") from None
    missing = [c for c in TIMING_COLUMNS if c not in table.columns]
    if missing:
        raise DataFormatError(f"{where}: missing column(s) {', '.join(missing)}; a timings "
                              f"file has {', '.join(TIMING_COLUMNS)}")
    table = table[list(TIMING_COLUMNS)].copy()
    for col, kind in (("k", int), ("threads", int), ("input_size", int), ("n_runs", int),
                      ("min_ms", float), ("median_ms", float), ("p90_ms", float),
                      ("cv", float)):
        for i, value in enumerate(table[col]):
            try:
                kind(value)
            except ValueError:
                raise DataFormatError(f"{where} line {i + 2}, column {col}: expected "
                                      f"{'a whole number' if kind is int else 'a number'}, "
                                      f"got {value!r}") from None
        table[col] = table[col].astype(kind)
    bad = table[~(table["min_ms"] > 0)]
    if len(bad):
        raise DataFormatError(f"{where} line {bad.index[0] + 2}, column min_ms: a latency "
                              f"must be > 0, got {bad['min_ms'].iloc[0]!r}")
    return table


def read_timings(path: str | Path) -> pd.DataFrame:
    """A timings file (:data:`TIMING_COLUMNS`), checked: one line naming the file, line and
    column of the first problem."""
    p = Path(path)
    if not p.is_file():
        raise DataFormatError(f"no timings file {paths.relative(p)}")
    st = p.stat()
    return _read(str(p), st.st_mtime, st.st_size).copy()


def from_file(path: Path, experiment: str, wanted: Sequence[Identity], params) -> pd.DataFrame:
    """The rows of ``wanted`` from the timings file ``path``, checked against the run: every
    identity present once, at the run's input size (``MATMUL_SIZE`` for the reference) and,
    when ``THREADS`` is given, its threads."""
    table = read_timings(path)
    where = paths.relative(path)
    keyed = {tuple(r): i for i, r in zip(table.index, table[list(IDENTITY)].itertuples(
        index=False, name=None))}
    if len(keyed) < len(table):
        dup = table[table.duplicated(list(IDENTITY))].index[0]
        raise DataFormatError(f"{where} line {dup + 2}: a second row for "
                              f"{' '.join(map(str, table.loc[dup, list(IDENTITY)]))}")
    rows = []
    for ident in wanted:
        if ident not in keyed:
            held = int((table["experiment"] == experiment).sum())
            raise DataFormatError(f"{where}: no timing for {_name(ident)} ({held} {experiment} "
                                  f"row(s) in the file); it must come from a run with the "
                                  f"same VARIANTS, K_VALUES, RUNTIMES and SWEEP_RUNTIMES")
        rows.append(keyed[ident])
    out = table.loc[rows].reset_index(drop=True)
    size = params.MATMUL_SIZE if experiment == "reference" else params.INPUT_SIZE
    name = "MATMUL_SIZE" if experiment == "reference" else "INPUT_SIZE"
    for col, expected, param in (("input_size", size, name), ("threads", params.THREADS,
                                                              "THREADS")):
        off = out[out[col] != expected] if expected is not None else out.iloc[:0]
        if len(off):
            line = rows[off.index[0]] + 2
            raise DataFormatError(f"{where} line {line}, column {col}: {off[col].iloc[0]}, "
                                  f"but this run's {param} is {expected}")
    return out


def _name(ident: Identity) -> str:
    experiment, variant, k, form, runtime = ident
    if experiment == "reference":
        return f"the matmul reference ({runtime})"
    return f"{experiment} {variant} k = {k} {form} ({runtime})"
