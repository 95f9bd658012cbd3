"""Local latency measurement, following the paper's protocol (see ``data/README.md``).

For each model: build it (fused by default, as deployed), pre-allocate the input, prepare the
runtime (threads, export, session) — all before timing; run ``warmup`` inferences that are
dropped; then time ``runs`` inferences one by one with :func:`time.perf_counter_ns` (monotonic,
nanosecond resolution), with Python's garbage collector paused. The row records the minimum
(the paper's statistic) as ``latency_ms`` and also median, p90, mean, trimmed mean, standard
deviation and coefficient of variation, plus the context (CPU, cores, threads, library
versions, commit, date, batch size, input size, precision).

:func:`measure_models` writes each row to the output CSV as soon as it is measured, so an
interrupted run keeps its rows and can resume (``resume=True`` skips the models already in
the file); it never overwrites an existing file unless ``force=True``.
"""

from __future__ import annotations

import csv
import gc
import os
import sys
import time
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn as nn

from analysis.errors import AnalysisError, ConfigError
from analysis.latency.context import machine_context
from analysis.latency.formats import load_latency
from analysis.latency.runtimes import RUNTIMES, runner, runtime_version
from analysis.latency.sampling import sample_stats
from analysis.util import run_each

#: Columns of a measurement file, in order (the project's long format plus context).
MEASURE_COLUMNS = (
    "model", "latency_ms", "statistic", "device", "runtime", "runtime_version", "precision",
    "batch_size", "input_size", "threads", "n_runs", "warmup", "fused",
    "min_ms", "median_ms", "p90_ms", "mean_ms", "trimmed_mean_ms", "std_ms", "cv",
    "macs", "params", "clock", "cpu", "cores_logical", "cores_physical", "torch_version",
    "onnxruntime_version", "numpy_version", "python_version", "platform", "code_commit",
    "date", "source",
)

SOURCE = "local measurement: python -m analysis measure (analysis/latency/harness.py)"

#: Context that must match for ``resume`` to append to an existing file (columns of the file).
_RESUME_KEYS = ("device", "runtime", "precision", "batch_size", "threads", "fused", "n_runs",
                "warmup")
#: The option that sets each of them, for the message.
_RESUME_OPTIONS = {"device": "--device", "runtime": "--runtime", "precision": "fp32 always",
                   "batch_size": "--batch-size", "threads": "--threads", "fused": "--unfused",
                   "n_runs": "--runs", "warmup": "--warmup"}


def _check_positive(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def _round(value):
    return round(float(value), 6) if isinstance(value, (float, np.floating)) else value


def measure_model(model_or_name: str | nn.Module, runtime: str = "torch", *, runs: int = 100,
                  warmup: int = 10, threads: int | None = None, input_size: int | None = None,
                  batch_size: int = 1, fuse: bool = True, device: str | None = None,
                  name: str | None = None, keep_samples: bool = False,
                  count: bool = True, seed: int = 0) -> dict:
    """Time one model and return one row of the measurement format (a dict).

    Args:
        model_or_name: a registered model name (id, display name or alias) or an ``nn.Module``.
        runtime: ``"torch"`` (eager, inference mode) or ``"onnxruntime"`` (CPU provider).
        runs: timed inferences (the paper's app uses 1000; 100 is the default here).
        warmup: inferences run before timing and dropped.
        threads: intra-op threads; ``None`` = ``torch.get_num_threads()`` at call time.
        input_size: square input side; ``None`` = the model's native size (224 for a module).
        batch_size: images per inference (the paper: 1).
        fuse: measure the deployed, re-parameterized form (``analysis.models.deploy``); with
            ``False`` the train-time form (in eval mode).
        device: label for the ``device`` column; default: the CPU model string.
        name: label for the ``model`` column when ``model_or_name`` is a module.
        keep_samples: add ``samples_ms`` (the timed runs, in order) to the result.
        count: for a module outside the zoo, count its MACs with fvcore (after timing) so
            that the row carries its own ``macs`` and ``params``.
        seed: seed of the pre-allocated random input.

    Returns:
        ``{column: value}`` with the keys of :data:`MEASURE_COLUMNS` plus ``model_id``
        (``None`` for a module) and, with ``keep_samples``, ``samples_ms``.
    """
    from analysis.models import create_model, deploy, get_entry

    if runtime not in RUNTIMES:
        raise ConfigError(f"unknown runtime {runtime!r}; expected one of {', '.join(RUNTIMES)}")
    runs = _check_positive("runs", runs)
    warmup = _check_positive("warmup", warmup, 0)
    batch_size = _check_positive("batch_size", batch_size)
    threads = _check_positive("threads", torch.get_num_threads() if threads is None else threads)
    if input_size is not None:
        input_size = _check_positive("input_size", input_size)

    macs = None
    if isinstance(model_or_name, nn.Module):
        entry = None
        label = name or type(model_or_name).__name__
        size = input_size or 224
        module = model_or_name
    else:
        entry = get_entry(model_or_name)
        label = entry.display_name
        size = input_size or entry.input_size
        module = create_model(entry.id)
    if fuse:
        module = deploy(module)  # a fused copy in eval mode
    was_training = module.training
    module.eval()
    params = sum(p.numel() for p in module.parameters())

    generator = torch.Generator().manual_seed(seed)
    example = torch.randn(batch_size, 3, size, size, generator=generator)
    samples = np.empty(runs, dtype=np.int64)
    try:
        with runner(runtime, module, example, threads) as run:
            for _ in range(warmup):
                run()
            gc_was_enabled = gc.isenabled()
            gc.disable()
            try:
                clock = time.perf_counter_ns
                for i in range(runs):
                    t0 = clock()
                    run()
                    samples[i] = clock() - t0
            finally:
                if gc_was_enabled:
                    gc.enable()
    finally:
        module.train(was_training)
    if entry is None and count:  # outside the zoo: own counts make the row self-contained
        from analysis.complexity import count_complexity

        macs = count_complexity(module, size, fuse=False, batch_size=batch_size).macs
    samples_ms = samples / 1e6
    stats = sample_stats(samples_ms)
    ctx = machine_context()
    row = {
        "model": label, "model_id": entry.id if entry else None,
        "latency_ms": stats["min"], "statistic": "min",
        "device": device or ctx["cpu"], "runtime": runtime,
        "runtime_version": runtime_version(runtime), "precision": "fp32",
        "batch_size": batch_size, "input_size": size, "threads": threads,
        "n_runs": runs, "warmup": warmup, "fused": bool(fuse),
        "min_ms": stats["min"], "median_ms": stats["median"], "p90_ms": stats["p90"],
        "mean_ms": stats["mean"], "trimmed_mean_ms": stats["trimmed_mean"],
        "std_ms": stats["std"], "cv": stats["cv"],
        "macs": macs, "params": params if entry is None and count else None,
        "clock": "time.perf_counter_ns", **ctx, "source": SOURCE,
    }
    row = {k: _round(v) for k, v in row.items()}
    if keep_samples:
        row["samples_ms"] = samples_ms.tolist()
    return row


def _normalise_models(models) -> list[tuple[str, str | nn.Module]]:
    """``[(label, name_or_module)]`` from a group/name spec, a list of names or ``{label: nn}``."""
    from analysis.models import get_entry, resolve_models

    if isinstance(models, Mapping):
        return [(str(k), v) for k, v in models.items()]
    ids = resolve_models(models)
    return [(get_entry(i).display_name, i) for i in ids]


def _check_resumable(out: Path, existing: pd.DataFrame, expected: dict,
                     sizes: dict[str, int]) -> None:
    """Refuse to append to ``out`` unless every :data:`_RESUME_KEYS` value and each model's
    input size match this run."""
    for column, value in expected.items():
        option = _RESUME_OPTIONS[column]
        if column not in existing.columns:
            raise ConfigError(f"{out}: cannot resume, the file has no column {column!r} (it was "
                              f"not written by `measure`); choose another --out or pass --force")
        found = {str(v).lower() for v in existing[column].dropna()}
        if found and found != {str(value).lower()}:
            raise ConfigError(f"{out}: cannot resume, the file was measured with {column}="
                              f"{', '.join(sorted(found))} but this run uses {column}={value} "
                              f"({option}); choose another --out or pass --force to overwrite "
                              f"it")
    for model, size in zip(existing["model"], existing["input_size"]):
        if model in sizes and not pd.isna(size) and int(size) != sizes[model]:
            raise ConfigError(f"{out}: cannot resume, {model} was measured at {int(size)} px "
                              f"but this run uses {sizes[model]} px; choose another --out or "
                              f"pass --force")


def _append(out: Path, fieldnames: Sequence[str], row: dict) -> None:
    new = not out.exists() or out.stat().st_size == 0
    with open(out, "a", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(fieldnames), extrasaction="ignore",
                                lineterminator="\n")
        if new:
            writer.writeheader()
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
        fh.flush()
        os.fsync(fh.fileno())


def measure_models(models, runtime: str = "torch", *, runs: int = 100, warmup: int = 10,
                   threads: int | None = None, input_size: int | None = None,
                   batch_size: int = 1, fuse: bool = True, device: str | None = None,
                   out: str | os.PathLike | None = None, resume: bool = False,
                   force: bool = False, progress: bool = True,
                   on_error: str = "skip") -> pd.DataFrame:
    """Measure several models (see :func:`measure_model`) and optionally write a CSV.

    Args:
        models: a group or model name, a comma-separated / list mix of them, or a mapping
            ``{label: nn.Module}``.
        out: CSV written row by row (the project's format, read by ``load_latency``). An
            existing file is an error unless ``resume`` (append the models not yet in it; the
            context must match) or ``force`` (overwrite).
        progress: show a progress bar across models (tqdm, on stderr).
        on_error: ``"skip"`` (default): a model that fails (export or run) is reported and
            the batch continues; ``"raise"``: the error propagates.
        Other arguments: as :func:`measure_model`, applied to every model.

    Returns:
        The rows measured by this call, one per model, in order. ``frame.attrs["failed"]``
        maps the label of every failed model to its error message; ``frame.attrs["skipped"]``
        lists the models found in the file when resuming.
    """
    from tqdm import tqdm

    if on_error not in ("skip", "raise"):
        raise ConfigError(f"on_error must be 'skip' or 'raise', got {on_error!r}")
    if runtime not in RUNTIMES:
        raise ConfigError(f"unknown runtime {runtime!r}; expected one of {', '.join(RUNTIMES)}")
    items = _normalise_models(models)
    threads = _check_positive("threads", torch.get_num_threads() if threads is None else threads)
    runs, warmup = _check_positive("runs", runs), _check_positive("warmup", warmup, 0)
    from analysis.models import get_entry

    sizes = {label: (input_size or (get_entry(m).input_size if isinstance(m, str) else 224))
             for label, m in items}
    skipped: list[str] = []
    fieldnames: Sequence[str] = MEASURE_COLUMNS
    out_path = Path(out) if out is not None else None
    if out_path is not None:
        if out_path.is_dir():
            raise ConfigError(f"{out_path} is a directory; --out must be a CSV file path")
        if out_path.exists() and force:
            out_path.unlink()  # the user asked to overwrite it
        elif out_path.exists() and resume:
            existing = load_latency(out_path)
            planned = {"device": device or machine_context()["cpu"], "runtime": runtime,
                       "precision": "fp32", "batch_size": batch_size, "threads": threads,
                       "fused": bool(fuse), "n_runs": runs, "warmup": warmup}
            _check_resumable(out_path, existing, {k: planned[k] for k in _RESUME_KEYS}, sizes)
            with open(out_path, newline="", encoding="utf-8-sig") as fh:
                fieldnames = next(csv.reader(fh))
            done = set(existing["model"])
            skipped = [label for label, _ in items if label in done]
            items = [(label, m) for label, m in items if label not in done]
        elif out_path.exists():
            raise ConfigError(f"{out_path} exists; pass --resume (resume=True) to measure only "
                              f"the models not yet in it, or --force (force=True) to "
                              f"overwrite it")
        out_path.parent.mkdir(parents=True, exist_ok=True)

    written: list[str] = []

    def work(item) -> dict:
        label, model = item
        row = measure_model(model, runtime, runs=runs, warmup=warmup, threads=threads,
                            input_size=input_size, batch_size=batch_size, fuse=fuse,
                            device=device, name=label)
        if out_path is not None:
            _append(out_path, fieldnames, row)
            written.append(label)
        tqdm.write(f"{label}: min {row['min_ms']:.3f} ms, median {row['median_ms']:.3f} ms, "
                   f"cv {row['cv']:.3f}", file=sys.stderr)
        return row

    try:
        reraise = (Exception,) if on_error == "raise" else (AnalysisError,)
        rows, failed = run_each(items, work, label=lambda item: item[0], progress=progress,
                                desc=f"measure ({runtime})", reraise=reraise)
    except KeyboardInterrupt:
        if out_path is not None:
            tqdm.write(f"interrupted: {len(written)} models written to {out_path}; run again "
                       f"with --resume to measure the rest", file=sys.stderr)
        raise
    frame = pd.DataFrame(rows, columns=[*MEASURE_COLUMNS[:1], "model_id", *MEASURE_COLUMNS[1:]])
    frame.attrs["failed"] = failed
    frame.attrs["skipped"] = skipped
    return frame
