"""Measurement campaigns: every item timed in several sessions, one summary row per session.

A campaign (issue 19) runs ``sessions`` sessions; each session times all items once, in its own
seeded random order (so slow phases of a shared machine, or clock drift, hit every model alike
over the campaign), with a fresh model and input per session, and on each setup (runtime ×
mode × precision) in turn. Each (session, item, setup) writes one row of the measurement format
(:data:`~analysis.latency.harness.MEASURE_COLUMNS`) with ``campaign`` (start, kernel build,
host fingerprint: :func:`~analysis.latency.context.campaign_id`), ``session`` (from 1) and
``order`` (the item's position in that session, from 0).

Rows are appended to ``out`` as they are measured (flushed and synced), so an interrupted
campaign keeps them; ``resume`` continues it (same campaign id, seed and therefore orders;
refused when the context differs, naming the column), ``force`` starts it anew: the old file
stays intact until the first new row replaces it (so a campaign that fails or is interrupted
before timing anything leaves it as it was). With
``keep_samples`` the individual runs go to ``<out stem>.samples.csv``.
"""

from __future__ import annotations

import collections
import contextlib
import csv
import itertools
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from analysis.errors import AnalysisError, ConfigError, first_line
from analysis.latency.context import (campaign_id, command_line, default_device,
                                      machine_context)
from analysis.latency.formats import _n
from analysis.latency.harness import (MACHINE_COLUMNS, MEASURE_COLUMNS, Counter, Item,
                                      check_count, counts_of, describe, prepare, resolve,
                                      time_prepared)
from analysis.latency.runtimes import (MODES, PRECISIONS, RUNTIMES, Setup, check_setup,
                                       runtime_version, timer_for)
from analysis.latency.timing import Timer
from analysis.models import get_entry, resolve_models
from analysis.util import failure_of

#: Columns of the raw-runs side file (``keep_samples``).
SAMPLE_COLUMNS = ("campaign", "session", "order", "model", "form", "k", "mode", "precision",
                  "runtime", "device", "batch_size", "input_size", "run", "latency_ms")
#: Settings a resumed campaign must share with its file, and the option that sets each.
RESUME_OPTIONS = {"device": "--device", "batch_size": "--batch-size", "threads": "--threads",
                  "n_runs": "--runs", "warmup": "--warmup", "seed": "--seed",
                  "accelerator": "--accelerator", "tf32": "--tf32",
                  "cudnn_benchmark": "--no-cudnn-benchmark", "clock": "the timer"}


class CampaignInterrupted(KeyboardInterrupt):
    """Ctrl-C during a campaign; the message says what was written (printed once, by the
    caller: ``interrupted: <message>``)."""


def _interrupted(out: Path | None, n: int) -> str:
    if out is None:
        return ""
    if n:
        return (f"{_n(n, 'row')} written to {out}; run the same command with --resume to "
                f"measure the rest")
    if out.exists():  # also with --force: the old file is replaced only at the first new row
        return f"nothing new written; {out} is unchanged"
    return "nothing measured, no file written"


@dataclass(frozen=True)
class Measurements:
    """What a campaign returns: the rows measured now (``rows``, as written, plus
    ``model_id``), the failures (``{label: "Type: message"}``), the labels already in the file
    when resuming (``skipped``) and those left unmeasured at the ``deadline`` (``unfinished``).
    """

    rows: pd.DataFrame
    failed: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)
    out: Path | None = None
    campaign: str = ""


def as_items(models, *, fuse: bool = True, input_size: int | None = None,
             counter: Counter | None = None) -> list[Item]:
    """Items from a list of :class:`Item`, a mapping ``{label: nn.Module}``, or registry
    names / groups (a comma-separated string or a list)."""
    if isinstance(models, Mapping):
        return [resolve(m, fuse=fuse, input_size=input_size, name=str(label), counter=counter)
                for label, m in models.items()]
    if isinstance(models, (list, tuple)) and models and all(isinstance(m, Item) for m in models):
        return list(models)
    return [resolve(get_entry(i).id, fuse=fuse, input_size=input_size, counter=counter)
            for i in resolve_models(models)]


def session_order(n_items: int, seed: int, session: int) -> list[int]:
    """The order of ``n_items`` items in ``session`` of a campaign seeded with ``seed``."""
    return [int(i) for i in np.random.default_rng([seed, session]).permutation(n_items)]


def _item_seed(seed: int, session: int, index: int) -> int:
    return int(np.random.SeedSequence([seed, session, index]).generate_state(1)[0])


def setups_for(runtimes, *, threads: int, accelerator: str = "cpu", modes=("eager",),
               precisions=("fp32",), tf32: bool = False,
               cudnn_benchmark: bool | None = None) -> list[Setup]:
    """Every runtime × mode × precision as a checked :class:`Setup` (one error if any cannot
    run here)."""
    names = [[runtimes] if isinstance(runtimes, str) else list(runtimes),
             [modes] if isinstance(modes, str) else list(modes),
             [precisions] if isinstance(precisions, str) else list(precisions)]
    for values, what in zip(names, ("runtime", "mode", "precision")):
        if not values:
            raise ConfigError(f"no {what} selected")
    return [check_setup(Setup(r, threads, accelerator, m, p, tf32, cudnn_benchmark))
            for r, m, p in itertools.product(*names)]


def _label(item: Item, setup: Setup, session: int, sessions: int, n_setups: int) -> str:
    parts = [item.label + (f" (k={item.k})" if item.k is not None else "")
             + ("" if item.form == "fused" else f" [{item.form}]")]
    if n_setups > 1:
        parts.append(setup.label())
    if sessions > 1:
        parts.append(f"session {session}")
    return " · ".join(parts)


def _done_key(session, item: Item, setup: Setup) -> tuple:
    return (str(session), *item.key, setup.runtime, setup.mode, setup.precision)


def _append(path: Path, fieldnames: Sequence[str], rows: list[dict]) -> None:
    new = not path.exists() or path.stat().st_size == 0
    with open(path, "a", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(fieldnames), extrasaction="ignore",
                                lineterminator="\n")
        if new:
            writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
        fh.flush()
        os.fsync(fh.fileno())


def _replace(path: Path, fieldnames: Sequence[str], row: dict) -> None:
    """Replace ``path`` (and its old raw-runs file) by a new file holding ``row``: written next
    to it, then moved over it, so the old file is intact until the new one has its first row."""
    tmp = path.with_name(path.name + ".new")
    tmp.unlink(missing_ok=True)
    _append(tmp, fieldnames, [row])
    os.replace(tmp, path)
    samples_path(path).unlink(missing_ok=True)


def samples_path(out: Path) -> Path:
    """Where ``keep_samples`` writes the raw runs of ``out``."""
    return out.with_name(out.stem + ".samples.csv")


def _resume_state(out: Path, expected: dict, setups: list[Setup], context: dict,
                  items: list[Item], order_of) -> tuple[str, set, list[str]]:
    """``(campaign id, done keys, header)`` of an existing file, after checking that this run
    continues it: same settings (:data:`RESUME_OPTIONS`), context, input sizes, items and
    session orders (``order_of(session, item key)``)."""
    try:
        old = pd.read_csv(out, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{out}: cannot resume, the file cannot be read as a measurement "
                          f"({first_line(exc)}); choose another --out or pass --force") from None
    missing = [c for c in ("campaign", "session", "model", *expected) if c not in old.columns]
    if missing:
        raise ConfigError(f"{out}: cannot resume, the file has no column {missing[0]!r} (it "
                          f"was not written by this version of `measure`); choose another "
                          f"--out or pass --force")
    if old.empty:
        return campaign_id(), set(), list(old.columns)
    checks = [(c, _text(v), RESUME_OPTIONS[c], old) for c, v in expected.items()]
    for column in MACHINE_COLUMNS:
        if column in old.columns and column in context:
            checks.append((column, _text(context[column]), "the machine and its libraries",
                           old))
    for setup in setups:
        part = old[old["runtime"] == setup.runtime] if "runtime" in old.columns else old
        checks.append(("runtime_version", runtime_version(setup.runtime),
                       f"{setup.runtime}'s version", part))
    for column, value, option, part in checks:
        found = set(part[column]) if column in part.columns else set()
        if found and found != {value}:
            raise ConfigError(f"{out}: cannot resume, the file was measured with {column}="
                              f"{', '.join(sorted(found))} but this run uses {column}={value} "
                              f"({option}); choose another --out or pass --force to overwrite "
                              f"it")
    sizes = {item.label: item.input_size for item in items}
    for model, size in zip(old["model"], old.get("input_size", [""] * len(old))):
        if model in sizes and size and int(float(size)) != sizes[model]:
            raise ConfigError(f"{out}: cannot resume, {model} was measured at "
                              f"{int(float(size))} px but this run uses {sizes[model]} px "
                              f"(--input-size); choose another --out or pass --force")
    campaigns = sorted(set(old["campaign"]) - {""})
    if len(campaigns) > 1:
        raise ConfigError(f"{out}: cannot resume, the file holds {len(campaigns)} campaigns "
                          f"({', '.join(campaigns)}); resume continues one")
    cols = ["session", "model", "form", "k", "runtime", "mode", "precision"]
    filled = old.assign(**{c: old[c] if c in old.columns else default for c, default in
                           (("form", "fused"), ("k", ""), ("mode", "eager"),
                            ("runtime", "torch"), ("precision", "fp32"))})
    done = set(map(tuple, filled[cols].itertuples(index=False, name=None)))
    keys = {item.key for item in items}
    for model, form, k, session, order in filled[["model", "form", "k", "session", "order"]
                                                 ].itertuples(index=False, name=None):
        if (model, form, k) not in keys:
            raise ConfigError(f"{out}: cannot resume, the file holds {model} ({form}"
                              f"{', k=' + k if k else ''}) which this run does not measure; "
                              f"resume with the same --models / --set, or choose another --out")
        if order != "" and int(order) != order_of(int(session), (model, form, k)):
            raise ConfigError(f"{out}: cannot resume, session {session} of the file ran in "
                              f"another order than this run would (another selection of items "
                              f"or --seed); resume with the same --models / --set and --seed")
    return (campaigns[0] if campaigns else campaign_id()), done, list(old.columns)


def _text(value) -> str:
    return "" if value is None else str(value)


def _open_out(out, *, resume: bool, force: bool, expected: dict, setups, context, items,
              order_of) -> tuple[Path | None, str, set, Sequence[str]]:
    if out is None:
        return None, campaign_id(), set(), MEASURE_COLUMNS
    path = Path(out)
    if path.is_dir():
        raise ConfigError(f"{path} is a directory; --out must be a CSV file path")
    # with force an existing file is kept here: _State.write replaces it at the first new row
    if path.exists() and not force and resume:
        cid, done, header = _resume_state(path, expected, setups, context, items, order_of)
        return path, cid, done, header
    if path.exists() and not force:
        raise ConfigError(f"{path} exists; pass --resume (resume=True) to continue the "
                          f"campaign in it, or --force (force=True) to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path, campaign_id(), set(), MEASURE_COLUMNS


def _progress(done: int, total: int, row: dict, label: str) -> None:
    print(f"[{done}/{total}] {label}: min {row['min_ms']:.3f} ms, median "
          f"{row['median_ms']:.3f} ms, cv {row['cv']:.3f}", file=sys.stderr, flush=True)


def run_campaign(items, runtimes=("torch",), *, sessions: int = 1, runs: int = 100,
                 warmup: int = 10, threads: int | None = None, seed: int = 0, out=None,
                 timer: Timer | None = None, accelerator: str = "cpu", modes=("eager",),
                 precisions=("fp32",), tf32: bool = False, cudnn_benchmark: bool | None = None,
                 batch_size: int = 1, device: str | None = None, resume: bool = False,
                 force: bool = False, keep_samples: bool = False, progress: bool = True,
                 on_error: str = "skip", deadline: float | None = None,
                 command: str | None = None, shuffle: bool = True) -> Measurements:
    """Run a campaign (module docstring) and return its :class:`Measurements`.

    Args:
        items: :class:`Item` list, registry names/groups, or ``{label: nn.Module}``
            (:func:`as_items`; modules are measured fused).
        runtimes, modes, precisions: the setups, each a name or a list (every combination).
        sessions, seed: how many sessions; the seed of their orders, weights and inputs.
        runs, warmup, threads, batch_size, accelerator, tf32, cudnn_benchmark, device, timer:
            as in :func:`analysis.latency.harness.measure_model`.
        out, resume, force, keep_samples: the CSV written row by row (module docstring).
        on_error: ``"skip"`` records a failing item and goes on (a configuration error,
            :class:`~analysis.errors.AnalysisError`, still stops the campaign); ``"raise"``.
        deadline: a :func:`time.monotonic` value after which nothing more is started; the
            rest is listed in ``unfinished``.
        command: the command line recorded in each row (default: this process's).
        shuffle: ``False`` keeps the given order in every session.
    """
    if on_error not in ("skip", "raise"):
        raise ConfigError(f"on_error must be 'skip' or 'raise', got {on_error!r}")
    sessions, runs = check_count("sessions", sessions), check_count("runs", runs)
    warmup, batch_size = check_count("warmup", warmup, 0), check_count("batch_size", batch_size)
    seed = check_count("seed", seed, 0)
    threads = check_count("threads", torch.get_num_threads() if threads is None else threads)
    setups = setups_for(runtimes, threads=threads, accelerator=accelerator, modes=modes,
                        precisions=precisions, tf32=tf32, cudnn_benchmark=cudnn_benchmark)
    items = as_items(items)
    if not items:
        raise ConfigError("nothing to measure: no item selected")
    twice = [k for k, n in collections.Counter(i.key for i in items).items() if n > 1]
    if twice:
        raise ConfigError(f"{twice[0][0]} ({twice[0][1]}) is selected twice; every item of a "
                          f"campaign needs its own model, form and k")
    device = device or default_device(accelerator)
    context = {**machine_context(accelerator), "seed": seed,
               "physical_device": default_device(accelerator),  # even when --device relabels
               "command": command if command is not None else command_line()}
    gpu = accelerator == "cuda"
    expected = {"device": device, "batch_size": batch_size, "threads": threads,
                "n_runs": runs, "warmup": warmup, "seed": seed, "accelerator": accelerator,
                "tf32": setups[0].tf32 if gpu else None,
                "cudnn_benchmark": setups[0].benchmark if gpu else None,
                "clock": (timer or timer_for(setups[0])).describe()}
    orders = {s: (session_order(len(items), seed, s) if shuffle else list(range(len(items))))
              for s in range(1, sessions + 1)}
    index = {item.key: i for i, item in enumerate(items)}

    def order_of(session: int, key: tuple) -> int:
        order = orders.get(session) or (session_order(len(items), seed, session) if shuffle
                                        else list(range(len(items))))
        return order.index(index[key])

    out_path, cid, done, fieldnames = _open_out(out, resume=resume, force=force,
                                                expected=expected, setups=setups,
                                                context=context, items=items,
                                                order_of=order_of)
    state = _State(out_path, fieldnames, keep_samples, progress,
                   sessions * len(items) * len(setups),
                   replace=bool(force and out_path is not None and out_path.exists()))
    reraise = (Exception,) if on_error == "raise" else (AnalysisError,)
    timing = dict(runs=runs, warmup=warmup, timer=timer)
    describing = dict(warmup=warmup, batch_size=batch_size, context=context, device=device)
    try:
        for session in range(1, sessions + 1):
            for position, number in enumerate(orders[session]):
                item = items[number]
                labels = {s: _label(item, s, session, sessions, len(setups)) for s in setups}
                todo = [s for s in setups if _done_key(session, item, s) not in done]
                state.skip([labels[s] for s in setups if s not in todo])
                if not todo:
                    continue
                if deadline is not None and time.monotonic() > deadline:
                    state.unfinished += [labels[s] for s in todo]
                    continue
                with state.guard([labels[s] for s in todo], reraise):
                    module, example = prepare(item, batch_size=batch_size,
                                              seed=_item_seed(seed, session, number))
                    for setup in todo:
                        with state.guard([labels[setup]], reraise):
                            samples = time_prepared(module, example, setup, **timing)
                            counts = state.counts_of(item, module, batch_size)
                            row = describe(item, setup, samples, timer=timer or timer_for(setup),
                                           counts=counts, **describing)
                            row.update(campaign=cid, session=session, order=position)
                            state.write(row, samples, labels[setup])
    except KeyboardInterrupt:
        raise CampaignInterrupted(_interrupted(out_path, len(state.rows))) from None
    frame = pd.DataFrame(state.rows, columns=[*MEASURE_COLUMNS, "model_id"])
    return Measurements(frame, state.failed, state.skipped, state.unfinished, out_path, cid)


@dataclass
class _State:
    """A running campaign: where rows go, what was measured, failed or skipped, progress."""

    out: Path | None
    fieldnames: Sequence[str]
    keep_samples: bool
    progress: bool
    total: int
    rows: list = field(default_factory=list)
    failed: dict = field(default_factory=dict)
    skipped: list = field(default_factory=list)
    unfinished: list = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    finished: int = 0
    #: ``force`` over an existing file: it is replaced by the first new row, not before.
    replace: bool = False

    def skip(self, labels: list[str]) -> None:
        self.skipped += labels
        self.finished += len(labels)

    def counts_of(self, item: Item, module, batch_size: int) -> tuple:
        """The item's counts, computed once per campaign."""
        if item.key not in self.counts:
            self.counts[item.key] = counts_of(item, module, batch_size)
        return self.counts[item.key]

    @contextlib.contextmanager
    def guard(self, labels: list[str], reraise: tuple):
        """Record an exception of the block as the failure of ``labels`` (those not failed
        already) and go on, except a ``KeyboardInterrupt`` and the types in ``reraise``
        (:func:`analysis.util.failure_of`)."""
        with failure_of(labels, reraise) as failed:
            yield
        for label, message in failed.items():
            if label not in self.failed:
                self.failed[label] = message
                self.finished += 1
                if self.progress:
                    print(f"[{self.finished}/{self.total}] {label}: failed ({message})",
                          file=sys.stderr, flush=True)

    def write(self, row: dict, samples, label: str) -> None:
        if self.out is not None:
            if self.replace:
                _replace(self.out, self.fieldnames, row)
                self.replace = False
            else:
                _append(self.out, self.fieldnames, [row])
            if self.keep_samples:
                _append(samples_path(self.out), SAMPLE_COLUMNS,
                        [{**row, "run": i, "latency_ms": round(float(v), 6)}
                         for i, v in enumerate(samples)])
        self.rows.append(row)
        self.finished += 1
        if self.progress:
            _progress(self.finished, self.total, row, label)


def measure_models(models, runtime="torch", *, runs: int = 100, warmup: int = 10,
                   threads: int | None = None, input_size: int | None = None,
                   batch_size: int = 1, fuse: bool = True, device: str | None = None,
                   out=None, resume: bool = False, force: bool = False, progress: bool = True,
                   on_error: str = "skip", sessions: int = 1, seed: int = 0,
                   counter: Counter | None = None, **options) -> Measurements:
    """Measure registry models (a group or model name, a comma-separated / list mix of them)
    or ``{label: nn.Module}``: :func:`run_campaign` over :func:`as_items`. ``options`` go to
    :func:`run_campaign` (``accelerator``, ``modes``, ``precisions``, ``timer`` …)."""
    items = as_items(models, fuse=fuse, input_size=input_size, counter=counter)
    return run_campaign(items, runtime, sessions=sessions, runs=runs, warmup=warmup,
                        threads=threads, seed=seed, out=out, batch_size=batch_size,
                        device=device, resume=resume, force=force, progress=progress,
                        on_error=on_error, **options)


#: Runtimes, modes and precisions a campaign may combine (for the CLI's messages).
CHOICES = {"runtime": RUNTIMES, "mode": MODES, "precision": PRECISIONS}


def split_choices(text: str, what: str) -> list[str]:
    """``"torch,onnxruntime"`` → ``["torch", "onnxruntime"]``, each checked against
    :data:`CHOICES`."""
    values = [v.strip().lower() for v in str(text).split(",") if v.strip()]
    bad = [v for v in values if v not in CHOICES[what]]
    if bad or not values:
        raise ConfigError(f"--{what} {text!r}: expected one or more of "
                          f"{', '.join(CHOICES[what])}, comma-separated")
    return list(dict.fromkeys(values))
