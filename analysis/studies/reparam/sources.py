"""Notebook 04, the latencies: measurement campaigns, read, summarised per network and judged
by the measured noise model.

Where they come from (:func:`campaign_files`, the one switch):

* by default the **shipped campaigns** of this project's build machine
  (``data/latency/manifest.csv``, contents ``reparam``, ``sequential`` and ``matmul``): a render
  re-measures nothing and writes the same numbers on every machine;
* ``LATENCY_CSV``: a user's campaign files of the same sets
  (``python -m analysis measure --set reparam …``);
* ``MEASURE``: a campaign of the three sets timed now on this machine
  (:func:`measure_live`, :func:`~analysis.latency.run_campaign` on
  :func:`~analysis.latency.sets.set_items`), written into the run folder and read back like the
  others.

A campaign times every network in several sessions (one summary row per network and session);
the sets are told apart by the forms they hold: ``reparam`` (train-time and fused),
``sequential`` (fused and its plain ``nn.Sequential`` twin), ``matmul`` (the reference
product). Per network (:func:`latencies`) the latency is the **median over sessions** of each
session's minimum over runs (the paper's statistic), with the lowest and highest session as its
interval, and the same for each session's median over runs. The noise band of each runtime is
:func:`analysis.noise.noise_bands` over every network of the files, for the minimum and for the
median (:func:`band_table`).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from analysis import noise, paths
from analysis.errors import ConfigError, DataFormatError
from analysis.latency import load_sessions, run_campaign
from analysis.latency.context import cpu_device_name
from analysis.latency.manifest import study_files
from analysis.latency.sets import matmul_items, set_items
from analysis.studies.reparam.compute import official_k, variant_list
from analysis.text import join_words, plural

#: The measurement sets 04 analyses, and the forms that tell a file's sets apart.
SETS = ("reparam", "sequential", "matmul")
MARKS = {"reparam": "train", "sequential": "sequential", "matmul": "reference"}
FORMS_OF = {"reparam": ("train", "fused"), "sequential": ("fused", "sequential"),
            "matmul": ("reference",)}
#: Where a live campaign of each set goes in the run folder.
LIVE_FILES = {s: f"campaign_{s}.csv" for s in SETS}
#: Where the latencies come from, in words.
SHIPPED, YOURS, LIVE = "this project's shipped campaigns", "your campaign files", \
    "a campaign measured now on this machine"
GROUP = list(noise.GROUP_COLUMNS)
IDENTITY = ["model", "form", "k", "input_size"]
STATISTICS = {"min": "min_ms", "median": "median_ms"}


@dataclass(frozen=True)
class Campaigns:
    """The campaign files of a run, read once: ``sessions`` (one row per network and session,
    :func:`~analysis.latency.load_sessions`'s columns plus ``sets``: the sets of its file, e.g.
    ``reparam``), the ``files``, where they come from (``source``), and the one ``device``
    with its ``threads``."""

    files: tuple[Path, ...]
    source: str
    sessions: pd.DataFrame
    device: str
    threads: int

    def describe(self) -> str:
        """One line per file and one on the sessions."""
        s = self.sessions
        per = s.groupby(["sets", *IDENTITY, *GROUP], dropna=False).size()
        lines = [f"latencies: {self.source}"]
        lines += [f"  {paths.relative(f)}" for f in self.files]
        n = f"{per.min()}" if per.min() == per.max() else f"{per.min()}–{per.max()}"
        lines.append(f"{self.device}: {plural(len(per), 'timed network')} (one per set, form, "
                     f"k and runtime), {n} sessions each, "
                     f"{plural(s['campaign'].nunique(), 'campaign')}")
        return "\n".join(lines)


# -- where the files come from -------------------------------------------------------------------

def shipped_files() -> list[Path]:
    """The shipped campaigns of the three sets (manifest order, each file once)."""
    return list(dict.fromkeys(p for s in SETS for p in study_files(s, kind="campaign")))


def live_device(threads: int) -> str:
    """The device label of a live campaign: the CPU's name with the threads and "live"."""
    name, extra = cpu_device_name(), f"{plural(threads, 'thread')}, live"
    return f"{name[:-1]}, {extra})" if name.endswith(")") else f"{name} ({extra})"


def live_items(params, name: str) -> list:
    """The items of the set ``name`` this run analyses: ``VARIANTS`` (train-time forms at their
    published k, and S0 at every k of ``K_VALUES``), at ``INPUT_SIZE``; the matmul at
    ``MATMUL_SIZE``."""
    if name == "matmul":
        return matmul_items(params.MATMUL_SIZE)
    wanted = {f"MobileOne-{v}" for v in variant_list(params.VARIANTS)}
    ks = set(params.K_VALUES)
    keep = [i for i in set_items(name) if i.label in wanted and
            (i.form != "train" or i.k == official_k(i.label[-2:]) or
             (i.label.endswith("S0") and i.k in ks))]
    return [dataclasses.replace(i, input_size=params.INPUT_SIZE) for i in keep]


def measure_live(params, folder: Path) -> list[Path]:
    """Time the three sets now into ``folder`` (:data:`LIVE_FILES`, started anew): ``N_SESSIONS``
    sessions of ``N_RUNS`` runs (``MATMUL_RUNS`` for the matmul), ``THREADS`` threads; the
    reparam set in ``RUNTIMES`` and ``SWEEP_RUNTIMES``, the others in PyTorch eager."""
    threads = params.THREADS or torch.get_num_threads()
    runtimes = list(dict.fromkeys([*params.RUNTIMES, *params.SWEEP_RUNTIMES]))
    out = []
    for name in SETS:
        path = Path(folder) / LIVE_FILES[name]
        done = run_campaign(live_items(params, name),
                            runtimes if name == "reparam" else ["torch"],
                            sessions=params.N_SESSIONS,
                            runs=params.MATMUL_RUNS if name == "matmul" else params.N_RUNS,
                            warmup=params.N_WARMUP, threads=threads, seed=params.SEED,
                            out=path, device=live_device(threads), force=True, progress=False,
                            on_error="raise")
        out.append(done.out)
    return out


def campaign_files(params) -> tuple[list[Path], str]:
    """``(files, source)``: a live campaign (``MEASURE``: measured now, into the run folder),
    the user's files (``LATENCY_CSV``) or the shipped campaigns."""
    if params.MEASURE:
        return measure_live(params, params.folders[0] / "campaigns"), LIVE
    if params.LATENCY_CSV:
        return paths.user_paths(params.LATENCY_CSV), YOURS
    return shipped_files(), SHIPPED


# -- reading -------------------------------------------------------------------------------------

def _sets(frame: pd.DataFrame, path: Path) -> str:
    forms = set(frame["form"].dropna())
    found = [s for s in SETS if MARKS[s] in forms]
    if not found:
        raise DataFormatError(
            f"{paths.relative(path)}: no train-time, plain-Sequential or reference rows (forms "
            f"found: {', '.join(sorted(forms)) or 'none'}); notebook 04 reads campaigns of the "
            f"sets {join_words(SETS)} (python -m analysis measure --set reparam …)")
    return "+".join(found)


def read_campaigns(files, source: str = YOURS) -> Campaigns:
    """The sessions of ``files`` (each read and checked by
    :func:`~analysis.latency.load_sessions`), tagged with the sets of their file; one device
    and one thread count, or one line naming them. A row without a session (a plain summary)
    counts as one session."""
    frames = []
    for path in map(Path, files):
        s = load_sessions(path)
        if s.empty:
            raise DataFormatError(f"{paths.relative(path)}: no latency rows")
        for col in ("min_ms", "median_ms"):
            if col not in s.columns or s[col].isna().all():
                raise DataFormatError(f"{paths.relative(path)}: no column {col}; a campaign "
                                      "row holds each session's min_ms and median_ms")
        s = s.assign(sets=_sets(s, path), session=s["session"].fillna(1),
                     campaign=s["campaign"].fillna(path.stem))
        frames.append(s)
    if not frames:
        raise ConfigError("no campaign file to read")
    sessions = pd.concat(frames, ignore_index=True)
    for col in ("device", "threads"):
        values = sorted(map(str, sessions[col].dropna().unique()))
        if len(values) != 1:
            raise DataFormatError(
                f"the campaign files hold {len(values)} values of {col} ({', '.join(values)}); "
                f"notebook 04 compares networks of one device at one thread count: give the "
                f"files of one")
    return Campaigns(tuple(Path(f) for f in files), source, sessions,
                     str(sessions["device"].iloc[0]), int(sessions["threads"].iloc[0]))


def campaigns(params) -> Campaigns:
    """The step: the run's campaign files (:func:`campaign_files`), read."""
    files, source = campaign_files(params)
    return read_campaigns(files, source)


# -- per network ---------------------------------------------------------------------------------

def _variant(model: str) -> str:
    m = re.fullmatch(r"MobileOne-(S\d)", str(model))
    return m.group(1) if m else ""


def latencies(c: Campaigns, name: str) -> pd.DataFrame:
    """One row per network of the set ``name`` (``reparam``, ``sequential``, ``matmul``) and
    runtime: ``variant`` (S0–S4; empty for the matmul), ``form``, ``k`` (empty for forms
    without one), ``runtime``, ``input_size``, ``n_sessions``, ``n_runs`` (per session, the
    fewest), ``min_ms`` with ``min_low_ms``/``min_high_ms`` (median, lowest and highest over
    sessions of each session's minimum), the same for ``median_ms``, ``macs`` and ``params``
    as the file states them."""
    s = c.sessions[c.sessions["sets"].str.split("+").map(lambda x: name in x)
                   & c.sessions["form"].isin(FORMS_OF[name])]
    keys = GROUP + IDENTITY
    if s.empty:
        return pd.DataFrame(columns=["variant", "form", "k", "runtime", "input_size"])
    out = None
    for stat, col in STATISTICS.items():
        spread = noise.session_spread(s, col)[[*keys, "n_sessions", "median_ms", "low_ms",
                                               "high_ms"]]
        spread = spread.rename(columns={"median_ms": f"{stat}_ms", "low_ms": f"{stat}_low_ms",
                                        "high_ms": f"{stat}_high_ms"})
        out = spread if out is None else out.merge(spread.drop(columns="n_sessions"),
                                                   on=keys, how="outer")
    extra = s.groupby(keys, dropna=False, sort=False).agg(
        n_runs=("n_runs", "min"), macs=("macs", "first"), params=("params", "first")
    ).reset_index()
    out = out.merge(extra, on=keys, how="left")
    out.insert(0, "variant", out["model"].map(_variant))
    out["k"] = out["k"].astype("Int64")
    return out


def band_table(c: Campaigns) -> pd.DataFrame:
    """The noise band per device, runtime, mode and precision (:func:`analysis.noise.noise_bands`
    over every network of the files; a network is one set's item, so the fused network of the
    reparam and of the sequential campaign are two): for the minimum (``band``,
    ``within_sitting``, ``between_sittings``, ``covers``, ``n_networks``, ``n_pairs``,
    ``median_spread``, ``p90_spread``) and for the median (``median_band`` …)."""
    s = c.sessions.assign(model=c.sessions["sets"] + " · " + c.sessions["model"])
    out = None
    for stat, col in STATISTICS.items():
        b = noise.noise_bands(s, col)
        b["covers"] = [noise.Band(*r).covers for r in b[[
            "band", "within_sitting", "between_sittings", "n_networks", "n_pairs",
            "median_spread", "p90_spread"]].itertuples(index=False, name=None)]
        if stat == "median":
            b = b[[*GROUP, "band", "within_sitting", "between_sittings"]].rename(columns={
                "band": "median_band", "within_sitting": "median_within_sitting",
                "between_sittings": "median_between_sittings"})
        out = b if out is None else out.merge(b, on=GROUP, how="left")
    return out.reset_index(drop=True)


def band_of(bands: pd.DataFrame, runtime: str, statistic: str = "min") -> float:
    """The band of ``runtime`` for ``statistic`` (NaN when the files give none)."""
    row = bands[bands["runtime"] == runtime]
    col = "band" if statistic == "min" else "median_band"
    return float(row[col].iloc[0]) if len(row) else float("nan")
