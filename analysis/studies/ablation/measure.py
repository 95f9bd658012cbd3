"""Where notebooks 02 and 03 get their latencies, and the noise model that judges them.

Every measured series comes from latency files through one path, :func:`read_latency`:

* the shipped campaigns (``data/latency/manifest.csv``, content ``ablation``): this project's
  build machine (PyTorch and ONNX Runtime) and the NVIDIA H200 (PyTorch, four regimes), read by
  default, so that a render re-measures nothing;
* a user's files (``LATENCY_CSV``: a phone's filled-in export template, a GPU campaign …);
* with ``MEASURE``, a campaign timed now on this machine (:func:`measure_live`:
  :func:`~analysis.latency.run_campaign` on the measurement set ``ablation``), written into the
  run folder and read back like the others.

A **series** is one device, runtime, mode and precision (the noise model's group,
:data:`analysis.noise.GROUP_COLUMNS`), named by the one device rule: the device, plus the
runtime where the device has several, plus the regime where it has several
(``… · torch``, ``NVIDIA H200 · graph fp16``). Its **noise band** is
:func:`analysis.noise.noise_bands` over every network of that series in the files (not only the
table's), so notebooks 02 and 03 judge a series with one band, for the minimum and for the
median; a series without sessions (the paper, a phone file of single summaries) has no band and
no verdict.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from analysis import noise
from analysis.errors import ConfigError, DataFormatError
from analysis.latency import describe_latency, load_latency, load_sessions, run_campaign
from analysis.latency.checks import series_names
from analysis.latency.context import cpu_device_name
from analysis.latency.harness import Item
from analysis.latency.manifest import study_files
from analysis.latency.sets import set_items
from analysis.models import deploy
from analysis.models.ablation import DEFAULT_DEPTH, DEFAULT_WIDTH, build_variant, get_variant
from analysis.studies.ablation.compute import (ALL_IDS, DUPLICATES, PAPER_KEY, SERIES_COLUMNS,
                                               AblationTable, require_networks, slug,
                                               variant_frame)
from analysis.text import plural

#: Where a series comes from (the order series are listed in).
LIVE, SHIPPED, YOURS = "this run", "this project", "your file"
SOURCES = (LIVE, SHIPPED, YOURS)
#: The live campaign's file in the run folder.
LIVE_FILE = "campaign_ablation.csv"
GROUP = list(noise.GROUP_COLUMNS)
BAND_COLUMNS = ("series", "key", "source", "device", "runtime", "mode", "precision", "regime",
                "physical_device", "statistic", "n_networks", "n_pairs", "band",
                "within_sitting", "between_sittings", "covers", "median_spread", "p90_spread",
                "median_band", "median_within_sitting", "median_between_sittings",
                "common_shift", "between_after_shift")
#: Context shown per series (:func:`context_table`), when a file records it.
CONTEXT = ("source", "physical_device", "runtime_version", "threads", "n_runs", "warmup",
           "n_sessions", "input_size", "batch_size", "precision", "mode", "campaign")


@dataclass(frozen=True)
class LatencyData:
    """The latency files of a run, read once: ``table`` (one row per series and network, the
    columns of :func:`~analysis.latency.load_latency` plus ``series``, ``key``, ``source``,
    ``median_low_ms``/``median_high_ms``), ``bands`` (one row per series,
    :data:`BAND_COLUMNS`), the ``files`` with their ``sources``, and the live campaign's
    ``failed`` networks."""

    files: tuple[Path, ...] = ()
    sources: Mapping[str, str] = field(default_factory=dict)
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    bands: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=BAND_COLUMNS))
    failed: Mapping[str, str] = field(default_factory=dict)

    @property
    def series(self) -> list[str]:
        return self.bands["series"].tolist()

    def describe(self) -> str:
        """The files per source, then :func:`~analysis.latency.describe_latency`."""
        if not self.files:
            return "no latency files: the paper's column only"
        lines = [f"{source}: " + ", ".join(Path(f).name for f, s in self.sources.items()
                                           if s == source)
                 for source in SOURCES if source in self.sources.values()]
        lines.append(describe_latency(self.table))
        lines += [f"not measured: {k} ({v})" for k, v in self.failed.items()]
        return "\n".join(lines)


# -- reading ---------------------------------------------------------------------------------------

def shipped_files() -> list[Path]:
    """The default study's campaigns of the ablation networks (the manifest's ``ablation``)."""
    return study_files("ablation", kind="campaign")


def _series_names(table: pd.DataFrame) -> pd.Series:
    """The project's one naming rule (:func:`analysis.latency.checks.series_names`), and more:
    two groups that would share a name (e.g. two precisions without a stated mode) get their
    precision appended, since the ablation keeps every group of :data:`GROUP` apart."""
    names = series_names(table)
    groups = table[GROUP].astype(str).agg(" / ".join, axis=1)
    clash = names.groupby(names).transform(lambda s: groups[s.index].nunique() > 1)
    return names.where(~clash, names + " · " + table["precision"].astype(str))


def _keys(names: Sequence[str]) -> dict[str, str]:
    """A short column prefix per series: its name without parentheses, as ``[a-z0-9_]``."""
    out, used = {}, {PAPER_KEY}
    for name in names:
        key = base = slug(re.sub(r"\([^)]*\)", " ", name))
        n = 2
        while key in used:
            key, n = f"{base}_{n}", n + 1
        out[name], used = key, used | {key}
    return out


def _band_frame(sessions: pd.DataFrame, value: str, prefix: str) -> pd.DataFrame:
    ses = sessions[sessions["session"].notna()] if len(sessions) else sessions
    if not len(ses) or value not in ses or ses[value].isna().all():
        return pd.DataFrame(columns=[*GROUP, f"{prefix}band"])
    bands = noise.noise_bands(ses, value)
    keep = {"band": "band", "within_sitting": "within_sitting",
            "between_sittings": "between_sittings", "n_networks": "n_networks",
            "n_pairs": "n_pairs", "median_spread": "median_spread", "p90_spread": "p90_spread",
            "common_shift": "common_shift", "between_after_shift": "between_after_shift"}
    if prefix:
        keep = {k: f"{prefix}{k}" for k in ("band", "within_sitting", "between_sittings")}
    return bands[[*GROUP, *keep]].rename(columns=keep)


def _covers(within: float, between: float) -> str:
    if math.isfinite(between):
        return "within and between sittings"
    return "within one sitting only" if math.isfinite(within) else "none (no sessions)"


def _order(table: pd.DataFrame) -> list[str]:
    """Series in order: by source (:data:`SOURCES`), CPUs before accelerators, then as read."""
    first = table.drop_duplicates("series").reset_index(drop=True)
    gpu = first.get("accelerator", pd.Series("", index=first.index)).fillna("").eq("cuda")
    rank = first["source"].map(SOURCES.index) * 2 + gpu.astype(int)
    return first.assign(_r=rank).sort_values("_r", kind="stable")["series"].tolist()


def read_latency(*, shipped: Sequence[Path] = (), yours: Sequence[Path] = (),
                 live: Path | None = None) -> LatencyData:
    """Read every latency file once (validated by :func:`~analysis.latency.load_latency`;
    a file given twice is read once) and apply the noise model per series."""
    sources: dict[str, str] = {}
    for source, group in ((LIVE, [live] if live else []), (SHIPPED, shipped), (YOURS, yours)):
        for p in group:
            if not any(Path(f).resolve() == Path(p).resolve() for f in sources):
                sources[str(p)] = source
    if not sources:
        return LatencyData()
    files = [Path(f) for f in sources]
    table, sessions = load_latency(files), load_sessions(files)
    table["series"] = _series_names(table)
    table["source"] = table["file"].map(sources)
    names = table.drop_duplicates(GROUP)[[*GROUP, "series", "source"]]
    sessions = sessions.merge(names, on=GROUP, how="left")
    bands = names.merge(_band_frame(sessions, "latency_ms", ""), on=GROUP, how="left")
    bands = bands.merge(_band_frame(sessions, "median_ms", "median_"), on=GROUP, how="left")
    order = _order(table)
    keys = _keys(order)
    table["key"] = table["series"].map(keys)
    first = table.drop_duplicates("series").set_index("series")
    bands = bands.set_index("series").loc[order].reset_index()
    bands["key"] = bands["series"].map(keys)
    for column in ("regime", "physical_device", "statistic"):
        bands[column] = bands["series"].map(first[column])
    for column in BAND_COLUMNS:
        if column not in bands:
            bands[column] = np.nan
    bands["covers"] = [_covers(w, b) for w, b in zip(bands["within_sitting"].astype(float),
                                                      bands["between_sittings"].astype(float))]
    table = _with_median_spread(table, sessions)
    return LatencyData(tuple(files), sources, table, bands[list(BAND_COLUMNS)])


def _with_median_spread(table: pd.DataFrame, sessions: pd.DataFrame) -> pd.DataFrame:
    """``median_low_ms``/``median_high_ms``: the lowest and highest session median; a file
    whose statistic is the median gives it as ``median_ms`` too."""
    out = table.copy()
    if "median_ms" not in out:
        out["median_ms"] = np.nan
    out["median_ms"] = out["median_ms"].where(out["statistic"] != "median", out["latency_ms"])
    out["median_low_ms"] = out["median_high_ms"] = np.nan
    ses = sessions[sessions["session"].notna()]
    if len(ses) and "median_ms" in ses:
        keys = ["series", "model", "form", "input_size"]
        spread = ses.groupby(keys, dropna=False, sort=False)["median_ms"].agg(["min", "max"])
        index = pd.MultiIndex.from_frame(out[keys])
        out["median_low_ms"] = spread["min"].reindex(index).to_numpy()
        out["median_high_ms"] = spread["max"].reindex(index).to_numpy()
    return out


def data_files(*, with_campaigns: bool, yours: Sequence[Path]) -> dict:
    """The keyword arguments of :func:`read_latency` for a run's parameters (no live file)."""
    return {"shipped": shipped_files() if with_campaigns else [], "yours": list(yours)}


# -- the user's files ------------------------------------------------------------------------------

def check_device_files(spec: AblationTable, files: Sequence[Path]) -> None:
    """A user's files must hold at least one of the table's networks (a one-line
    :class:`ConfigError` advising the export otherwise)."""
    if files:
        require_networks(spec, load_latency(files), "LATENCY_CSV", files,
                         "export them first with `python -m analysis export --models "
                         "ablation`, time them on the device and fill in the export's "
                         "latency_template.csv")


# -- one table's series ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Coverage:
    """What the files hold for one table: models of the user's files outside it (``ignored``),
    per series the variants not measured (``missing``) and the input sizes."""

    ignored: tuple[str, ...] = ()
    missing: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    input_sizes: Mapping[str, tuple[int, ...]] = field(default_factory=dict)


def measured_series(spec: AblationTable, data: LatencyData) -> pd.DataFrame:
    """One row per (series, variant) of the table (:data:`SERIES_COLUMNS`): the series'
    statistic (``latency_ms``, min for every campaign) with its lowest and highest session,
    the median with its own, ``n_sessions`` and the series' noise bands; a series with none of
    the table's networks is left out. Two rows for one variant in one series (e.g. two input
    sizes) are an error."""
    if not data.files:
        return pd.DataFrame(columns=list(SERIES_COLUMNS))
    rows = data.table[data.table["model_id"].isin(spec.ids)]
    parts = []
    for band in data.bands.itertuples():
        part = rows[rows["series"] == band.series]
        if part.empty:
            continue
        dup = part[part.duplicated("model_id", keep=False)]
        if len(dup):
            raise DataFormatError(
                f"{dup['file'].iloc[0]}: {dup['model'].iloc[0]} appears {len(dup)} times in "
                f"series {band.series!r} (lines {', '.join(map(str, dup['line']))}); keep one "
                f"row per network and series (e.g. one input size)")
        values = part.rename(columns={"session_low_ms": "low_ms", "session_high_ms": "high_ms"})
        merged = variant_frame(spec).merge(
            values[["model_id", "latency_ms", "low_ms", "high_ms", "median_ms",
                    "median_low_ms", "median_high_ms", "n_sessions"]], on="model_id", how="left")
        parts.append(merged.assign(series=band.series, key=band.key, kind=band.source,
                                   statistic=band.statistic, band=band.band,
                                   median_band=band.median_band)[list(SERIES_COLUMNS)])
    if not parts:
        return pd.DataFrame(columns=list(SERIES_COLUMNS))
    out = pd.concat(parts, ignore_index=True)
    out["n_sessions"] = out["n_sessions"].astype("Float64").astype(float)
    return out


def coverage(spec: AblationTable, data: LatencyData, measured: pd.DataFrame) -> Coverage:
    if not data.files:
        return Coverage()
    yours = data.table[data.table["source"] == YOURS]
    ignored = tuple(sorted(set(yours.loc[~yours["model_id"].isin(spec.ids), "model"]
                               .astype(str))))
    missing = {s: tuple(part.loc[part["latency_ms"].isna(), "model"])
               for s, part in measured.groupby("series", sort=False)
               if part["latency_ms"].isna().any()}
    rows = data.table[data.table["model_id"].isin(spec.ids)]
    sizes = {s: tuple(sorted({int(v) for v in part["input_size"].dropna()}))
             for s, part in rows.groupby("series", sort=False)}
    return Coverage(ignored, missing, sizes)


def duplicate_table(data: LatencyData) -> pd.DataFrame:
    """The calibration check of the noise model: per series and pair of identical networks
    (:data:`~analysis.studies.ablation.compute.DUPLICATES`), the ratio of their latencies
    (first / second) with the minimum and with the median, and the noise model's verdict on
    each (``n/a`` for a series without sessions or without both networks)."""
    out = []
    for band in data.bands.itertuples():
        part = data.table[data.table["series"] == band.series].drop_duplicates("model_id")
        part = part.set_index("model_id")
        for first, second in DUPLICATES:
            row = {"series": band.series, "key": band.key, "first": get_variant(first).paper_row,
                   "second": get_variant(second).paper_row}
            for value, prefix, b in (("latency_ms", "", band.band),
                                     ("median_ms", "median_", band.median_band)):
                both = first in part.index and second in part.index
                ratio = (float(part.loc[first, value]) / float(part.loc[second, value])
                         if both else math.nan)
                row.update({f"{prefix}ratio": ratio, f"{prefix}band": b,
                            f"{prefix}verdict": noise.verdict(ratio, b)})
            out.append(row)
    return pd.DataFrame(out, columns=["series", "key", "first", "second", "ratio", "band",
                                      "verdict", "median_ratio", "median_band",
                                      "median_verdict"])


def context_table(data: LatencyData) -> pd.DataFrame:
    """One row per series with the context its files record (several values joined with
    " / "; a column no series records is left out)."""
    if not data.files:
        return pd.DataFrame()
    rows = []
    for series, part in data.table.groupby("series", sort=False):
        rows.append({"series": series, **{c: " / ".join(dict.fromkeys(
            str(v) for v in part[c].dropna())) if c in part else "" for c in CONTEXT}})
    table = pd.DataFrame(rows).set_index("series").loc[data.series]
    return table.loc[:, (table != "").any()]


# -- live measurement ------------------------------------------------------------------------------

def live_device(threads: int) -> str:
    """The device label of a live campaign: the CPU's name with the threads and "live"."""
    name, extra = cpu_device_name(), f"{plural(threads, 'thread')}, live"
    return f"{name[:-1]}, {extra})" if name.endswith(")") else f"{name} ({extra})"


def live_items(*, depth: int, width: int, input_size: int, se_placement: str) -> list[Item]:
    """The measurement set ``ablation`` (:func:`~analysis.latency.sets.set_items`), its
    networks built at this run's depth, width, input size and SE placement when they differ
    from the registry's."""
    items = set_items("ablation")
    if (depth, width, se_placement) == (DEFAULT_DEPTH, DEFAULT_WIDTH, "every") and \
            all(i.input_size == input_size for i in items):
        return items

    def build(model_id: str):
        extra = {"se": se_placement} if model_id == "ablation_se" else {}
        return lambda: deploy(build_variant(model_id, depth=depth, width=width,
                                            input_size=input_size, **extra))

    return [dataclasses.replace(i, build=build(i.model_id), input_size=input_size)
            for i in items]


def measure_live(folder: Path, *, runtimes: Sequence[str], sessions: int, runs: int,
                 warmup: int, threads: int | None, seed: int, depth: int, width: int,
                 input_size: int, se_placement: str) -> tuple[Path, dict[str, str]]:
    """Time the ablation networks now (a campaign of ``sessions`` sessions on every runtime,
    :func:`~analysis.latency.run_campaign`) into ``folder``/:data:`LIVE_FILE` (started anew);
    returns the file and the networks that failed."""
    if not runtimes:
        raise ConfigError("MEASURE is true but RUNTIMES is none: choose torch and/or onnxruntime")
    threads = threads or torch.get_num_threads()
    out = Path(folder) / LIVE_FILE
    done = run_campaign(live_items(depth=depth, width=width, input_size=input_size,
                                   se_placement=se_placement),
                        list(runtimes), sessions=sessions, runs=runs, warmup=warmup,
                        threads=threads, seed=seed, out=out, device=live_device(threads),
                        force=True, progress=False)
    return out, dict(done.failed)

