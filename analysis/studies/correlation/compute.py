"""Notebook 01's numbers: which cost metric predicts latency, on which device?

Flow: latency files (the shipped study from ``data/latency/manifest.csv``, or a user's files with
the paper's reference devices) ⟶ joined with complexity counts (:mod:`analysis.complexity`, or
the row's own ``macs``/``params`` for models outside the zoo). The paper's own comparison
(Table 1, Vasu et al., CVPR 2023 §3) uses the published Table 9 numbers. The tests live in
:mod:`.rank` (correlations, agreement, families), :mod:`.compare` (differences),
:mod:`.families` (which test belongs to which family; the median) and :mod:`.session_rhos` (ρ per
session). Nothing here writes prose or draws.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from analysis import paths
from analysis.complexity import profile_model
from analysis.constants import METRIC_LABELS, PAPER_METRICS
from analysis.errors import ConfigError
from analysis.latency import device_labels, load_latency, select_devices
from analysis.latency import manifest
from analysis.latency.checks import series_names
from analysis.inference import CORRELATION_COLUMNS, correlation_table
from analysis.models import get_entry, resolve_models
from analysis.studies.correlation.rank import adjust
from analysis.util import as_list

#: The paper's Figure 2 set: the models of the shipped study, and of Table 1.
FIGURE2 = "figure2"
#: Table 1's device names → the ``device`` of the shipped paper files (manifest ``device``).
TABLE1_DEVICES = {"iPhone12": "iPhone 12", "desktop_cpu": "Intel Xeon Gold 5118"}
#: Table 1's metric names → ours (the paper's "FLOPs" are multiply-accumulates).
TABLE1_METRICS = {"flops": "macs", "params": "params"}
#: Table 1's two size bases: Table 9's published sizes, and this project's fvcore counts.
PUBLISHED, OURS = "published sizes", "our fvcore counts"
#: The 30-layer ablation networks (notebooks 02 and 03): zoo models, but no Figure 2 points.
ABLATION = ("ablation", "ablation_extra")
#: Families kept by the conv-only analysis (transformers removed).
CONV_FAMILIES = ("conv", "mobileone")
#: Where a device's numbers come from, by the manifest's ``kind`` of its file.
SOURCE_WORDS = {"paper": "paper", "campaign": "this project"}
#: The paper's devices by kind (its desktop CPU and GPU; our series are matched to them by
#: their ``accelerator``), for "our devices against the paper's".
PAPER_KINDS = {"iPhone 12": "phone", "Intel Xeon Gold 5118": "cpu", "NVIDIA RTX-2080Ti": "cuda"}
#: The monotone family of the conv-only set: MobileOne S0–S4, one architecture scaled.
MONOTONE_FAMILY = "mobileone"
YOUR_FILE = "your file"


# -- which files, which devices, which models -----------------------------------------------------

def study_files(latency_csv=None, with_reference: bool = True) -> list[Path]:
    """The latency files a run analyses.

    No ``latency_csv``: the shipped study, every ``zoo`` file of ``data/latency/manifest.csv``
    (the paper's iPhone 12, desktop CPU and GPU columns and this project's CPU measurements).
    With a user's file(s): those files plus, when ``with_reference``, the paper's reference
    devices (manifest ``kind`` = ``paper``), so that "paper vs yours", device agreement and
    Figure 2 keep their reference points."""
    user = paths.user_paths(as_list(latency_csv))
    if not user:
        return manifest.study_files(content="zoo")
    given = {u.resolve() for u in user}
    reference = [f for f in manifest.reference_files() if f.resolve() not in given]
    return user + (reference if with_reference else [])


def read_latency(files: Sequence[Path], devices=None) -> pd.DataFrame:
    """The validated latency rows of ``files`` (:func:`analysis.latency.load_latency`), only the
    ``devices`` named (:func:`check_devices`), each series named by :func:`device_key`."""
    latency = load_latency(files)
    latency = select_devices(latency, check_devices(latency, devices))
    latency["device"] = device_key(latency)
    return latency


def check_devices(latency: pd.DataFrame, devices) -> list[str]:
    """``devices`` as a list, each naming a device of ``latency`` as
    :func:`analysis.latency.select_devices` reads it; :class:`ConfigError` naming the
    parameter, with a did-you-mean, otherwise."""
    wanted = as_list(devices)
    names = list(dict.fromkeys(latency["device"].astype(str)))
    for name in wanted:
        try:
            select_devices(latency, [name])
        except ConfigError:
            known = {k.lower(): k for k in [*names, *device_labels(latency)]}
            close = difflib.get_close_matches(str(name).lower(), list(known), n=1, cutoff=0.5)
            hint = f"; did you mean {known[close[0]]!r}?" if close else ""
            raise ConfigError(f"parameter DEVICES: no device {name!r} in the latency files"
                              f"{hint} (devices: {', '.join(repr(n) for n in names)})") from None
    return wanted


def device_key(latency: pd.DataFrame) -> np.ndarray:
    """One name per measurement series: the device, plus the runtime when a device has several
    (``AMD EPYC · torch``) and the regime when it has several (``NVIDIA H200 · graph fp16``) —
    :func:`analysis.latency.checks.series_names`, as an array (assigned as a column)."""
    return series_names(latency).to_numpy()


def device_sources(latency: pd.DataFrame) -> dict[str, str]:
    """``device → "paper" | "this project" | "your file"``, by the manifest's ``kind`` of the
    files each device came from (a file outside the manifest is the user's)."""
    kinds = {e.path.resolve(): e.kind for e in manifest.entries()}
    out = {}
    for device, files in latency.groupby("device", sort=False)["file"]:
        found = {kinds.get(Path(str(f)).resolve()) for f in files}
        out[str(device)] = (SOURCE_WORDS[found.pop()] if len(found) == 1 and None not in found
                            else YOUR_FILE)
    return out


def describe_series(latency: pd.DataFrame, sources: dict[str, str]) -> list[str]:
    """One line per series (named as :func:`device_key` names it, never with its runtime or
    regime twice): where its numbers come from, models, sessions, statistic, latency range."""
    lines = []
    for device, part in latency.groupby("device", sort=False):
        sessions = part["n_sessions"].dropna() if "n_sessions" in part else pd.Series([])
        stats = ", ".join(sorted(set(part["statistic"].astype(str))))
        lines.append(
            f"  {device} [{sources.get(str(device), YOUR_FILE)}]: {part['model'].nunique()} "
            "models, " + (f"{int(sessions.max())} sessions, " if len(sessions) else "")
            + f"statistic {stats}, {part['latency_ms'].min():.3g}–"
              f"{part['latency_ms'].max():.3g} ms")
    return lines


def device_subtitles(latency: pd.DataFrame) -> dict[str, str]:
    """Per device (as named by :func:`device_key`): its runtime — unless the name already
    carries it — and the statistic, in words, for the figure titles."""
    out = {}
    for device, part in latency.groupby("device", sort=False):
        runtimes = sorted(set(part["runtime"].astype(str)))
        stats = sorted(set(part["statistic"].astype(str)))
        words = []
        if not all(f"· {r}" in str(device) for r in runtimes):
            words.append("runtime not stated" if runtimes == ["unstated"] else
                         "runtime " + ", ".join(runtimes))
        words.append("statistic not stated" if stats == ["unstated"] else
                     ", ".join(stats) + " latency")
        out[str(device)] = "; ".join(words)
    return out


def model_selection(models, latency: pd.DataFrame, user_files: Sequence[Path]) -> list[str]:
    """The zoo ids analysed: ``models`` (a group, names, or a list) when given; otherwise the
    paper's Figure 2 set for the shipped study, and every zoo model of the user's files (in
    the order they appear; the 30-layer ablation networks of notebooks 02 and 03 left out)
    when there are any."""
    if models:
        return resolve_models(models)
    if not user_files:
        return resolve_models(FIGURE2)
    ids = [m for m in _zoo_ids(latency, user_files) if get_entry(m).family not in ABLATION]
    if not ids:
        raise ConfigError("no zoo model in your latency files: name the models with MODELS "
                          "or give models outside the zoo their own macs and params columns")
    return ids


def _zoo_ids(latency: pd.DataFrame, files: Sequence[Path]) -> list[str]:
    mine = {Path(f).resolve() for f in files}
    rows = latency[[Path(str(f)).resolve() in mine for f in latency["file"]]]
    return list(dict.fromkeys(str(m) for m in rows["model_id"] if isinstance(m, str) and m))


def not_selected_reason(models, user_files: Sequence[Path]) -> str:
    """Why a zoo model of the files is not analysed, in words."""
    if models:
        return f"not in MODELS = {models!r}"
    return ("not in your files (a reference device's model)" if user_files
            else "not in the paper's Figure 2 (MODELS = None)")


# -- counts and the join --------------------------------------------------------------------------

def count_models(model_ids: Sequence[str]) -> pd.DataFrame:
    """One row per model id with every cost metric of :data:`METRIC_LABELS` (disk-cached
    fvcore counts of the deployed form), its family and its Figure 2 label."""
    rows = []
    for mid in model_ids:
        entry = get_entry(mid)
        c = profile_model(entry.id)
        # as in the paper's Figure 2: its number where the paper numbers the model, else its name
        number = entry.figure2_label if entry.figure2_label.isdigit() else ""
        row = {"model_id": entry.id, "model": entry.display_name, "family": entry.family,
               "label": number or entry.display_name}
        row.update({name: getattr(c, name) for name in METRIC_LABELS if hasattr(c, name)})
        rows.append(row)
    return pd.DataFrame(rows)


def join_latency_costs(latency: pd.DataFrame, selection: Sequence[str], counts: pd.DataFrame,
                       not_selected: str = "not selected") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Join latency rows to complexity counts by ``model_id``: ``(joined, left_out)``.

    Rows of zoo models outside ``selection`` are dropped; rows of models outside the zoo are
    kept when they carry their own ``macs`` and ``params`` (the other metrics are then missing
    for them). ``left_out`` says what was not analysed, why and on which devices
    (:func:`left_out_table`; ``not_selected``: the reason for zoo models outside
    ``selection``)."""
    lat = latency.copy()
    if "model_id" not in lat:
        lat["model_id"] = None
    in_zoo = lat["model_id"].notna() & (lat["model_id"].astype(str) != "")
    sel = set(selection)
    outside = lat[in_zoo & ~lat["model_id"].isin(sel)]
    zoo_rows = lat[in_zoo & lat["model_id"].isin(sel)]
    zoo = zoo_rows.drop(columns=[c for c in counts.columns if c in zoo_rows.columns
                                 and c != "model_id"]).merge(counts, on="model_id", how="left")
    own = lat[~in_zoo].copy()
    has_own = pd.Series(False, index=own.index)
    if {"macs", "params"} <= set(own.columns):
        has_own = own["macs"].notna() & own["params"].notna()
    rows = [(m, NOT_COUNTABLE, d) for m, d in zip(own.loc[~has_own, "model"],
                                                   own.loc[~has_own, "device"])]
    own = own[has_own]
    if len(own):
        own["family"] = own.get("family", pd.Series("external", index=own.index)) \
            .fillna("external")
        own["label"] = ""
    joined = pd.concat([zoo, own], ignore_index=True)
    names = dict(zip(counts["model_id"], counts["model"])) if len(counts) else {}
    for device, part in joined.groupby("device", sort=False):
        measured = set(part["model_id"].dropna())
        rows += [(names.get(m, m), NOT_MEASURED, device) for m in selection if m not in measured]
    ablation = [get_entry(m).family in ABLATION for m in outside["model_id"]]
    rows += [(m, ABLATION_NETWORK if a else not_selected, d)
             for m, d, a in zip(outside["model"], outside["device"], ablation)]
    return joined, left_out_table(rows)


#: Why a model of the files (or of the selection) is not analysed on a device.
NOT_COUNTABLE = "not in the zoo and no macs/params columns"
NOT_MEASURED = "selected, but not measured on these devices"
ABLATION_NETWORK = "an ablation network (notebooks 02 and 03)"
LEFT_OUT_COLUMNS = ("models", "reason", "devices")


def left_out_table(rows: Sequence[tuple[str, str, str]]) -> pd.DataFrame:
    """``(model, reason, device)`` triples as a small table: one row per reason and set of
    devices, its models joined by ", " (reasons in the order first met, models sorted)."""
    by_model: dict[tuple[str, str], list[str]] = {}
    for model, reason, device in rows:
        devices = by_model.setdefault((str(model), reason), [])
        if str(device) not in devices:
            devices.append(str(device))
    groups: dict[tuple[str, str], list[str]] = {}
    for (model, reason), devices in by_model.items():
        groups.setdefault((reason, ", ".join(devices)), []).append(model)
    return pd.DataFrame([(", ".join(sorted(set(m))), reason, devices)
                         for (reason, devices), m in groups.items()],
                        columns=list(LEFT_OUT_COLUMNS))


def metrics_of(joined: pd.DataFrame, metrics=None) -> list[str]:
    """The cost metrics analysed: ``metrics`` when given, else every metric of
    :data:`METRIC_LABELS` the joined table has, in display order."""
    return list(metrics) if metrics else [m for m in METRIC_LABELS if m in joined.columns]


# -- Table 1 on the paper's own data --------------------------------------------------------------

def table1_files() -> list[Path]:
    """The paper's latency files of Table 1's devices (manifest ``kind`` = ``paper``)."""
    wanted = set(TABLE1_DEVICES.values())
    return [e.path for e in manifest.entries() if e.kind == "paper" and e.device in wanted]


def paper_table1_inputs(figure2_ids: Sequence[str], counts: pd.DataFrame | None = None
                        ) -> pd.DataFrame:
    """Long table for reproducing Table 1 from the paper's own Table 9 data.

    One row per (Figure 2 model, Table 1 device, source): ``source`` = :data:`PUBLISHED`
    (Table 9's FLOPs and params, as shipped in the paper latency files) and, for models in
    ``counts``, :data:`OURS`."""
    lat = load_latency(table1_files())
    lat = lat[lat["model_id"].isin(figure2_ids)]
    parts = [lat.assign(source=PUBLISHED)]
    if counts is not None and len(counts):
        ours = lat.drop(columns=["macs", "params"]).merge(
            counts[["model_id", "macs", "params"]], on="model_id", how="inner")
        parts.append(ours.assign(source=OURS))
    return pd.concat(parts, ignore_index=True)


def table1_comparison(paper_table1: pd.DataFrame, ours: pd.DataFrame,
                      device_map: dict[str, str] = TABLE1_DEVICES) -> pd.DataFrame:
    """The paper's Table 1 next to our values: one row per (device, metric) of the paper and
    basis of the sizes (``source``).

    ``paper_table1`` has ``device, metric, rho, p_value`` (metric ``flops`` = our ``macs``);
    ``ours`` is a correlation table (:func:`analysis.inference.correlation_table`) with ``device`` named as
    in ``device_map``'s values and a ``source`` column. Each basis is one confirmatory family:
    Holm over its cells (:func:`.rank.adjust`). ``rho_diff`` = ours − the paper's, and
    ``diff_low``/``diff_high`` its interval: our Fisher-z interval shifted by the paper's value
    (the paper's ρ is a published constant, ours carries the sampling error of 21 models)."""
    rows = []
    for _, p in paper_table1.iterrows():
        dev, metric = device_map[p["device"]], TABLE1_METRICS[p["metric"]]
        for source, part in ours.groupby("source", sort=False):
            o = part[(part["device"] == dev) & (part["metric"] == metric)]
            if o.empty:
                continue
            o = o.iloc[0]
            rows.append({"device": dev, "metric": metric, "source": source,
                         "paper_rho": p["rho"], "paper_p": p["p_value"],
                         **{c: o[c] for c in CORRELATION_COLUMNS},
                         "rho_diff": o["rho"] - p["rho"], "diff_low": o["ci_low"] - p["rho"],
                         "diff_high": o["ci_high"] - p["rho"],
                         "paper_rho_in_ci": bool(o["ci_low"] <= p["rho"] <= o["ci_high"])})
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    parts = [adjust({"t": part}, {"t": pd.Series(True, index=part.index)})["t"]
             for _, part in table.groupby("source", sort=False)]
    return pd.concat(parts).loc[table.index]


def table1_reproduction(counts: pd.DataFrame, *, n_permutations: int, seed: int
                        ) -> pd.DataFrame:
    """Table 1 from the paper's own Table 9 data, on the paper's Figure 2 models (with the
    published sizes, and with our fvcore counts — taken from ``counts``, the others counted),
    next to the paper's values (:func:`table1_comparison`)."""
    figure2 = resolve_models(FIGURE2)
    have = counts[counts["model_id"].isin(figure2)] if len(counts) else counts
    missing = [m for m in figure2 if m not in set(have.get("model_id", []))]
    ours = pd.concat([have, count_models(missing)], ignore_index=True) if missing else have
    inputs = paper_table1_inputs(figure2, ours)
    table = pd.concat([
        correlation_table(part, list(PAPER_METRICS), n_permutations=n_permutations, seed=seed)
        .assign(source=source) for source, part in inputs.groupby("source", sort=False)],
        ignore_index=True)
    paper = pd.read_csv(paths.paper_table("table1_spearman"))
    return table1_comparison(paper, table)


# -- devices: physical devices and the paper's counterparts -----------------------------------

def physical_devices(latency: pd.DataFrame) -> dict[str, str]:
    """Series (``device`` as :func:`read_latency` names it) → its physical device (the file's
    ``physical_device``, else the device): runtimes, thread settings and regimes of one
    machine are one device in every count of devices."""
    base = (latency["physical_device"].fillna(latency["device"])
            if "physical_device" in latency else latency["device"])
    out: dict[str, str] = {}
    for name, phys in zip(latency["device"].astype(str), base.astype(str)):
        out.setdefault(name, phys)
    return out


def counterparts(latency: pd.DataFrame, sources: dict[str, str]) -> dict[str, str]:
    """Series of this project or a user (not the paper's) → the paper's device of the same
    kind (:data:`PAPER_KINDS`, by the series' ``accelerator``), where that device is analysed
    too."""
    present = {d for d, s in sources.items() if s == SOURCE_WORDS["paper"]}
    by_kind = {kind: dev for dev, kind in PAPER_KINDS.items() if dev in present}
    accel = latency.get("accelerator", pd.Series("", index=latency.index)).fillna("")
    out = {}
    for name, kind in zip(latency["device"].astype(str), accel.astype(str)):
        if sources.get(str(name)) != SOURCE_WORDS["paper"] and kind in by_kind:
            out.setdefault(str(name), by_kind[kind])
    return out
