"""Local latency measurement of one model, following the paper's protocol (``data/README.md``).

One measurement is four small steps:

1. :func:`resolve` — what is measured: a registry model (fused, as deployed, or its train-time
   form) or a module, as an :class:`Item` (label, form, k, input size, how to build it);
2. :func:`prepare` — a fresh model (seeded weights, eval mode) and a pre-allocated, seeded
   input, before any timing;
3. :func:`time_prepared` — the runtime prepared (:func:`analysis.latency.runtimes.runner`:
   threads, backend flags, export or CUDA-graph capture), ``warmup`` runs dropped, ``runs``
   timed one by one by the project's one timing loop (:mod:`analysis.latency.timing`):
   ``perf_counter_ns`` around each run, with ``torch.cuda.synchronize`` on a GPU;
4. :func:`describe` — one row of the measurement format: the minimum (the paper's statistic)
   as ``latency_ms``, median, p90, mean, trimmed mean, std and cv, the identity (model, form,
   k, mode, precision, runtime, device, batch size, input size) and the context.

:func:`measure_model` chains them for one model; campaigns of many models over several
sessions are :mod:`analysis.latency.campaign`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import torch
import torch.nn as nn

from analysis.errors import ConfigError
from analysis.latency.context import default_device, machine_context
from analysis.latency.runtimes import Setup, check_setup, runner, runtime_version, timer_for
from analysis.latency.sampling import sample_stats
from analysis.latency.schema import CONTEXT_COLUMNS, FORMS, SESSION_COLUMNS
from analysis.latency.timing import Timer, time_runs
from analysis.models import create_model, deploy, get_entry

#: Columns of a measurement file, in order: identity, session, values, counts, context (equal
#: across the sessions of one identity), then what may differ per run.
IDENTITY_COLUMNS = ("model", "form", "k", "mode", "precision", "runtime", "device",
                    "physical_device", "batch_size", "input_size")
VALUE_COLUMNS = ("latency_ms", "statistic", "min_ms", "median_ms", "p90_ms", "mean_ms",
                 "trimmed_mean_ms", "std_ms", "cv", "n_runs", "warmup")
COUNT_COLUMNS = ("macs", "params")
RUN_COLUMNS = ("date", "code_commit", "command", "seed", "source")
#: The :data:`CONTEXT_COLUMNS` read from :func:`~analysis.latency.context.machine_context` (the
#: others — threads, runtime version, TF32, cudnn.benchmark, clock — come from the setup).
MACHINE_COLUMNS = ("torch_version", "onnxruntime_version", "numpy_version", "python_version",
                   "platform", "kernel", "host", "cpu", "cores_logical", "accelerator", "gpu",
                   "driver", "cuda", "cudnn")
#: ``CONTEXT_COLUMNS`` (the loader's :mod:`~analysis.latency.schema`) must be equal across the
#: sessions of one identity; ``SESSION_COLUMNS`` = campaign, session, order.
MEASURE_COLUMNS = (*IDENTITY_COLUMNS, *SESSION_COLUMNS, *VALUE_COLUMNS, *COUNT_COLUMNS,
                   *CONTEXT_COLUMNS, *RUN_COLUMNS)

SOURCE = "local measurement: python -m analysis measure (analysis/latency/harness.py)"

#: ``(module as measured, input size, batch size) -> (macs, params)``.
Counter = Callable[[nn.Module, int, int], tuple[int, int]]


def image_batch(batch_size: int, size: int, generator: torch.Generator) -> torch.Tensor:
    """The default input: ``batch_size`` random RGB images of ``size`` × ``size``."""
    return torch.randn(batch_size, 3, size, size, generator=generator)


@dataclass(frozen=True)
class Item:
    """One thing to time. ``build()`` returns the module in the measured form; ``macs`` and
    ``params`` are fixed counts, ``counter`` computes them (items whose form the registry
    cannot rebuild carry their own counts); ``make_input(batch_size, size, generator)``."""

    label: str
    build: Callable[[], nn.Module]
    input_size: int
    form: str = "fused"
    k: int | None = None
    model_id: str | None = None
    macs: int | None = None
    params: int | None = None
    counter: Counter | None = None
    make_input: Callable[[int, int, torch.Generator], torch.Tensor] = image_batch

    def __post_init__(self):
        if self.form not in FORMS:
            raise ConfigError(f"{self.label}: form {self.form!r} is not one of "
                              f"{', '.join(FORMS)}")

    @property
    def key(self) -> tuple[str, str, str]:
        """``(model, form, k)`` as written in the file (k empty when not stated)."""
        return self.label, self.form, "" if self.k is None else str(self.k)


def check_count(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def branches(module: nn.Module) -> int | None:
    """k of a train-time MobileOne (its ``num_conv_branches``) or RepVGG (1: one 3×3 conv-BN
    branch beside the 1×1 and identity ones); ``None`` for any other network."""
    k = getattr(module, "num_conv_branches", None)
    if k is not None:
        return int(k)
    return 1 if any(getattr(m, "rbr_dense", None) is not None for m in module.modules()) \
        else None


def resolve(model_or_name: str | nn.Module, *, fuse: bool = True, input_size: int | None = None,
            name: str | None = None, counter: Counter | None = None) -> Item:
    """The :class:`Item` for a registry name (id, display name or alias) or a module.

    ``fuse``: the deployed, re-parameterized form (``analysis.models.deploy``); else the
    train-time form in eval mode (``form="train"``, with k for MobileOne/RepVGG). A module
    outside the registry, or a train-time form, gets its counts from ``counter`` if given."""
    if input_size is not None:
        input_size = check_count("input_size", input_size)
    form = "fused" if fuse else "train"
    if isinstance(model_or_name, nn.Module):
        module = model_or_name
        k = None if fuse else branches(module)
        return Item(name or type(module).__name__,
                    (lambda: deploy(module)) if fuse else (lambda: module),
                    input_size or 224, form, k, None, counter=counter)
    entry = get_entry(model_or_name)
    k = branches(entry.build()) if not fuse and entry.id.startswith(("mobileone", "repvgg")) \
        else None
    return Item(entry.display_name,
                (lambda: deploy(create_model(entry.id))) if fuse
                else (lambda: create_model(entry.id).eval()),
                input_size or entry.input_size, form, k, entry.id,
                counter=None if fuse else counter)


def prepare(item: Item, *, batch_size: int = 1, seed: int = 0) -> tuple[nn.Module, torch.Tensor]:
    """A fresh module (weights drawn with ``seed``, eval mode) and its pre-allocated input."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = item.build()
    generator = torch.Generator().manual_seed(seed)
    return module.eval(), item.make_input(batch_size, item.input_size, generator)


def time_prepared(module: nn.Module, example: torch.Tensor, setup: Setup, *, runs: int,
                  warmup: int, timer: Timer | None = None) -> np.ndarray:
    """``runs`` timed inferences (ms, in order) after ``warmup`` dropped ones, the runtime
    prepared first; ``timer`` defaults to the setup's (:func:`~.runtimes.timer_for`)."""
    with runner(setup, module, example) as run:
        return time_runs(run, runs=runs, warmup=warmup, timer=timer or timer_for(setup))


def _round(value):
    return round(float(value), 6) if isinstance(value, (float, np.floating)) else value


def counts_of(item: Item, module: nn.Module, batch_size: int) -> tuple[int | None, int | None]:
    """``(macs, params)`` of the item: fixed ones, else its counter's, else ``(None, None)``
    (a registry model's deployed form: the study's own counts apply)."""
    if item.macs is not None or item.params is not None:
        return item.macs, item.params
    if item.counter is not None:
        macs, params = item.counter(module, item.input_size, batch_size)
        return int(macs), int(params)
    return None, None


def describe(item: Item, setup: Setup, samples_ms: np.ndarray, *, warmup: int,
             batch_size: int, context: dict, device: str, timer: Timer,
             counts: tuple[int | None, int | None] = (None, None)) -> dict:
    """One row of the measurement format (:data:`MEASURE_COLUMNS` plus ``model_id``); the
    session columns are left empty (a campaign fills them)."""
    stats = sample_stats(samples_ms)
    row = {
        "model": item.label, "model_id": item.model_id, "form": item.form, "k": item.k,
        "mode": setup.mode, "precision": setup.precision, "runtime": setup.runtime,
        "device": device, "physical_device": context.get("physical_device") or device,
        "batch_size": batch_size, "input_size": item.input_size,
        "campaign": None, "session": None, "order": None,
        "latency_ms": stats["min"], "statistic": "min", "min_ms": stats["min"],
        "median_ms": stats["median"], "p90_ms": stats["p90"], "mean_ms": stats["mean"],
        "trimmed_mean_ms": stats["trimmed_mean"], "std_ms": stats["std"], "cv": stats["cv"],
        "n_runs": stats["n"], "warmup": warmup, "macs": counts[0], "params": counts[1],
        "threads": setup.threads, "runtime_version": runtime_version(setup.runtime),
        **{k: context.get(k) for k in MACHINE_COLUMNS},
        "tf32": setup.tf32 if setup.accelerator == "cuda" else None,
        "cudnn_benchmark": setup.benchmark if setup.accelerator == "cuda" else None,
        "clock": timer.describe(), "date": context.get("date"),
        "code_commit": context.get("code_commit"), "command": context.get("command"),
        "seed": context.get("seed"), "source": SOURCE,
    }
    return {k: _round(v) for k, v in row.items()}


@contextlib.contextmanager
def restored_mode(module: nn.Module) -> Iterator[None]:
    """Leave ``module``'s train/eval mode as it was (a caller's module is put in eval mode)."""
    was_training = module.training
    try:
        yield
    finally:
        module.train(was_training)


def measure_model(model_or_name: str | nn.Module, runtime: str = "torch", *, runs: int = 100,
                  warmup: int = 10, threads: int | None = None, input_size: int | None = None,
                  batch_size: int = 1, fuse: bool = True, device: str | None = None,
                  name: str | None = None, keep_samples: bool = False, count: bool = True,
                  seed: int = 0, accelerator: str = "cpu", mode: str = "eager",
                  precision: str = "fp32", tf32: bool = False,
                  cudnn_benchmark: bool | None = None, timer: Timer | None = None,
                  counter: Counter | None = None) -> dict:
    """Time one model: :func:`resolve` → :func:`prepare` → :func:`time_prepared` →
    :func:`describe`; returns the row (a dict).

    Args:
        model_or_name: a registered model name (id, display name or alias) or an ``nn.Module``.
        runtime, accelerator, mode, precision, tf32, cudnn_benchmark: how it runs
            (:class:`~analysis.latency.runtimes.Setup`); ``accelerator="cuda"`` without a CUDA
            device raises :class:`ConfigError` before anything is built.
        runs: timed inferences (the paper's app uses 1000; 100 is the default here).
        warmup: inferences run before timing and dropped.
        threads: intra-op threads; ``None`` = ``torch.get_num_threads()`` at call time.
        input_size: square input side; ``None`` = the model's native size (224 for a module).
        batch_size: images per inference (the paper: 1).
        fuse: the deployed, re-parameterized form; with ``False`` the train-time form.
        device: label for the ``device`` column; default :func:`~.context.default_device`.
        name: label for the ``model`` column when ``model_or_name`` is a module.
        keep_samples: add ``samples_ms`` (the timed runs, in order) to the result.
        count: fill ``macs``/``params`` for a module outside the registry or a train-time
            form, with ``counter`` (MACs) — parameters are counted here when no counter is
            given.
        seed: seed of the model's weights (registry models) and of the pre-allocated input.
        timer: the :class:`~analysis.latency.timing.Timer` (tests inject a fake clock).
    """
    setup = check_setup(Setup(runtime, check_count("threads", torch.get_num_threads()
                                                   if threads is None else threads),
                              accelerator, mode, precision, tf32, cudnn_benchmark))
    runs, warmup = check_count("runs", runs), check_count("warmup", warmup, 0)
    batch_size = check_count("batch_size", batch_size)
    item = resolve(model_or_name, fuse=fuse, input_size=input_size, name=name, counter=counter)
    timer = timer or timer_for(setup)
    guard = restored_mode(model_or_name) if isinstance(model_or_name, nn.Module) \
        else contextlib.nullcontext()
    with guard:
        module, example = prepare(item, batch_size=batch_size, seed=seed)
        samples = time_prepared(module, example, setup, runs=runs, warmup=warmup, timer=timer)
        counts = counts_of(item, module, batch_size) if count else (None, None)
        if count and counts == (None, None) and item.model_id is None:
            counts = (None, sum(p.numel() for p in module.parameters()))
    context = {**machine_context(accelerator), "seed": seed,
               "physical_device": default_device(accelerator)}
    row = describe(item, setup, samples, warmup=warmup, batch_size=batch_size, context=context,
                   device=device or default_device(accelerator), timer=timer, counts=counts)
    if keep_samples:
        row["samples_ms"] = samples.tolist()
    return row
