"""Notebook 08's inputs: the MobileNet family's sweeps, their latencies and their counts.

* **Sweeps** (:data:`SWEEPS`): the family's own knobs, read off the zoo's groups — the width
  multiplier α of MobileNetV1/V2/V3 at 224 px (groups ``mobilenetv1_width`` …), the resolution
  multiplier ρ of MobileNetV1, MobileNetV2-x1.0 and EfficientNet-Lite0 at every input size the
  data hold (group ``mobilenet_resolution``), and the compound scaling of EfficientNet-Lite0–4
  and EfficientNet-B0–B4 at their native inputs.
* **Latency** (:func:`read_latency`): the campaigns of ``LATENCY_CSV`` (default: the shipped
  campaigns whose manifest ``content`` is ``mobilenet``: the build machine's Xeon, PyTorch and
  ONNX Runtime, 1 thread, 3 sessions), each session's minimum (the paper's statistic, primary)
  and each session's median; and the NVIDIA H200 reference file (:func:`read_h200_reference`:
  timm 1.0.29's implementations, one pass, no sessions).
* **Counts** (:func:`count_points`): fvcore MACs and parameters of the deployed form of every
  (model, input size) — the committed counts of the zoo at native size
  (``notebooks/outputs/complexity.csv``), and for the other sizes this study's committed
  ``counts.csv``, reused only for the architecture digest and counting rules of the zoo's row
  (:func:`analysis.complexity.model_digest`; the digest does not depend on the input size),
  else counted.

Nothing here computes a statistic.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd

from analysis import paths
from analysis.complexity import profile_model
from analysis.errors import ConfigError, UnknownModelError
from analysis.latency import h200_campaign_file, load_sessions, read_checked
from analysis.latency.checks import series_names
from analysis.latency.manifest import study_files
from analysis.models import get_entry, list_models
from analysis.predict import cost_table

#: Per-session statistics read, the paper's (minimum) first: the primary one.
STATISTICS = ("min", "median")
PRIMARY = STATISTICS[0]
#: The knobs of a sweep.
WIDTH, RESOLUTION, COMPOUND = "width", "resolution", "compound"
#: The manifest content of the shipped campaigns of the sweeps.
CONTENT = "mobilenet"
#: The H200 reference file (timm's implementations, one pass) and what it is.
H200_FILE = paths.EXTERNAL_DATA / "h200" / "timm_scaling_h200.csv"
H200_DEVICE = "NVIDIA H200"
H200_SOURCE = "timm 1.0.29's implementations, one pass (data/external/h200)"
H200_MODES = ("graph", "eager")
#: The study's own committed counts (read back by architecture digest, see the docstring).
COMMITTED_COUNTS = paths.NOTEBOOK_OUTPUTS / "08_mobilenet_scaling" / "counts.csv"
#: The MobileNet paper's Tables 6 and 7 (MobileNetV1's MACs at each α and ρ).
PAPER_CSV = paths.EXTERNAL_DATA / "mobilenet_papers" / "mobilenet_family.csv"
KEY = ("device", "runtime", "regime")


@dataclass(frozen=True)
class Sweep:
    """One of the family's scaling sweeps: ``models`` (zoo ids) at their native input
    (width, compound), or ``base`` at every input size the data hold (resolution)."""

    name: str
    family: str
    knob: str
    base: str
    models: tuple[str, ...]


def width_of(model_id: str) -> float:
    """The width multiplier α of a MobileNet entry, from its id (timm's ``<name>_<100·α>``;
    no suffix: 1.0)."""
    found = re.search(r"_(\d{3})$", model_id)
    return int(found.group(1)) / 100 if found else 1.0


def _sweeps() -> tuple[Sweep, ...]:
    out = []
    for group, family in (("mobilenetv1_width", "MobileNetV1"),
                          ("mobilenetv2_width", "MobileNetV2"),
                          ("mobilenetv3_large_width", "MobileNetV3-Large"),
                          ("mobilenetv3_small_width", "MobileNetV3-Small")):
        models = tuple(sorted(list_models(group), key=width_of))
        base = next(m for m in models if width_of(m) == 1.0)
        out.append(Sweep(f"{family} α", family, WIDTH, base, models))
    for group, family, name in (("efficientnet_lite", "EfficientNet-Lite", "Lite0–4"),
                                ("efficientnet", "EfficientNet", "B0–B4")):
        models = tuple(list_models(group))
        out.append(Sweep(f"EfficientNet-{name}", family, COMPOUND, models[0], models))
    for base in sorted(list_models("mobilenet_resolution"),
                       key=lambda m: (m.startswith("efficientnet"), m)):
        family = get_entry(base).display_name
        out.append(Sweep(f"{family} ρ", family, RESOLUTION, base, (base,)))
    order = {WIDTH: 0, RESOLUTION: 1, COMPOUND: 2}
    return tuple(sorted(out, key=lambda s: order[s.knob]))


#: Every sweep, width sweeps first, then resolution, then compound scaling.
SWEEPS: tuple[Sweep, ...] = _sweeps()
SCALING_MODELS: tuple[str, ...] = tuple(list_models("mobilenet_scaling"))
#: EfficientNet-Lite_i paired with EfficientNet-B_i.
LITE_PAIRS: tuple[tuple[str, str], ...] = tuple(zip(list_models("efficientnet_lite"),
                                                    list_models("efficientnet")))


def sweep(name: str) -> Sweep:
    return next(s for s in SWEEPS if s.name == name)


# -- latency --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Latency:
    """The latency of the sweeps' networks: ``points[statistic]`` one row per series and network
    (model × input size), ``sessions[statistic]`` one row per session; ``left_out`` the rows
    not analysed and why; ``files`` read."""

    points: Mapping[str, pd.DataFrame]
    sessions: Mapping[str, pd.DataFrame]
    left_out: pd.DataFrame
    files: tuple[Path, ...]
    warnings: tuple[str, ...]

    @property
    def series(self) -> list[str]:
        return list(dict.fromkeys(self.points[PRIMARY]["series"]))

    def __repr__(self) -> str:
        rows = self.points[PRIMARY]
        lines = [paths.relative(f) for f in self.files]
        for s, part in rows.groupby("series", sort=False):
            sizes = sorted(int(v) for v in part["input_size"].unique())
            n = part["n_sessions"].max()
            lines.append(f"{s}: {part['model_id'].nunique()} networks at "
                         f"{', '.join(map(str, sizes))} px, "
                         f"{'one pass' if n <= 1 else f'{int(n)} sessions'}")
        for r in self.left_out.itertuples():
            lines.append(f"left out: {r.model} ({r.rows} rows): {r.reason}")
        return "\n".join(lines)


def campaign_files(latency_csv) -> list[Path]:
    """``LATENCY_CSV`` as paths (a path, a comma-separated string or a list); the shipped
    campaigns of the sweeps when empty."""
    items = latency_csv if isinstance(latency_csv, (list, tuple)) else \
        [p for p in str(latency_csv or "").split(",")]
    files = [paths.user_path(p.strip()) for p in map(str, items) if p.strip()]
    return files or study_files(CONTENT, kind="campaign")


def _keep(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows of the sweeps' networks (fused, batch 1), and the others with the reason."""
    ids = table["model_id"].astype("string")
    form = table["form"].fillna("fused").astype(str) if "form" in table else "fused"
    reasons = pd.Series("", index=table.index)
    reasons[~ids.isin(SCALING_MODELS).fillna(False)] = "not a network of the MobileNet sweeps"
    reasons[(reasons == "") & (form != "fused")] = "not the deployed (fused) form"
    reasons[(reasons == "") & (table["batch_size"].fillna(1) != 1)] = "batch size other than 1"
    out = table[reasons != ""].assign(reason=reasons[reasons != ""])
    left = (out.groupby(["model", "reason"], sort=False).size().rename("rows").reset_index()
            if len(out) else pd.DataFrame(columns=["model", "reason", "rows"]))
    return table[reasons == ""], left


def _label(table: pd.DataFrame) -> pd.DataFrame:
    table = table.assign(regime=table["regime"].fillna("").astype(str))
    return table.assign(series=series_names(table), implementation="this project")


POINT_COLUMNS = ("series", "device", "runtime", "regime", "implementation", "model", "model_id",
                 "input_size", "latency_ms", "session_low_ms", "session_high_ms", "n_sessions")
SESSION_COLUMNS = ("series", "device", "runtime", "regime", "mode", "precision", "model",
                   "model_id", "input_size", "campaign", "session", "latency_ms")


def read_latency(latency_csv, *, with_h200: bool = True, h200_mode: str = "graph") -> Latency:
    """The sweeps' latencies from ``LATENCY_CSV`` (every check of
    :func:`analysis.latency.read_checked`: a bad file stops with one line), plus the H200
    reference when ``with_h200``; refused when no series has a sweep network."""
    files = campaign_files(latency_csv)
    points, sessions, notes = {}, {}, []
    left = pd.DataFrame(columns=["model", "reason", "rows"])
    for statistic in STATISTICS:
        checked = read_checked(files, statistic, warn=False)
        notes += list(checked.warnings)
        kept, left = _keep(checked.table)
        kept = _label(kept)
        s_rows, _ = _keep(load_sessions(files, statistic))
        s_rows = s_rows.assign(regime=s_rows["regime"].fillna("").astype(str))
        labels = kept.drop_duplicates(list(KEY)).set_index(list(KEY))["series"]
        s_rows = s_rows[s_rows["session"].notna()]
        s_rows = s_rows.assign(series=[labels.get(k, "") for k in zip(
            *(s_rows[c] for c in KEY))])
        frames, s_frames = [kept[list(POINT_COLUMNS)]], [s_rows[list(SESSION_COLUMNS)]]
        if with_h200:
            frames.append(read_h200_reference(statistic, h200_mode)[list(POINT_COLUMNS)])
        points[statistic] = pd.concat(frames, ignore_index=True)
        sessions[statistic] = pd.concat(s_frames, ignore_index=True)
    if not len(points[PRIMARY]):
        names = ", ".join(p.name for p in files)
        raise ConfigError(f"LATENCY_CSV: {names} holds no network of the MobileNet sweeps "
                          f"(measure them with python -m analysis measure --models "
                          f"mobilenet_scaling)")
    swept = any(len(sweep_rows(part, s)) >= 2 for _, part in
                points[PRIMARY].groupby("series") for s in SWEEPS)
    if not swept:
        names = ", ".join(p.name for p in files)
        raise ConfigError(f"LATENCY_CSV: {names} holds no sweep of two or more networks on one "
                          f"device and runtime (e.g. MobileNetV1 at two widths, or at two input "
                          f"sizes: python -m analysis measure --models mobilenet_scaling)")
    used = [*files, *([H200_FILE] if with_h200 else [])]
    return Latency(points, sessions, left, tuple(used), tuple(dict.fromkeys(notes)))


def h200_label(mode: str) -> str:
    """The H200 reference's series name: device · regime, and whose implementations."""
    return f"{H200_DEVICE} · {mode} fp32 (timm)"


def h200_campaign_label(mode: str) -> str:
    """This project's H200 campaign in the reference's regime (its across-family ρ)."""
    return f"{H200_DEVICE} · {mode} fp32, this project's models"


def read_h200_reference(statistic: str, mode: str = "graph") -> pd.DataFrame:
    """The H200 reference file as latency points: one row per zoo network and input size
    (timm's PyTorch-native implementation where timm has both it and the ``tf_`` port with
    TensorFlow's "same" padding), ``latency_ms`` the pass's ``<mode>_<statistic>_ms``; one
    pass, so no session interval."""
    if mode not in H200_MODES:
        raise ConfigError(f"H200_MODE must be one of {', '.join(H200_MODES)}, got {mode!r}")
    with H200_FILE.open(newline="", encoding="utf-8") as fh:
        raw = [r for r in csv.DictReader(fh) if not (r.get("error") or "").strip()]
    rows = {}
    for r in raw:
        try:
            entry = get_entry(r["model"])
        except UnknownModelError:
            continue
        key = (entry.id, int(r["input_size"]))
        if key in rows and r["model"].startswith("tf_"):
            continue
        rows[key] = {"series": h200_label(mode), "device": H200_DEVICE, "runtime": "torch",
                     "regime": f"{mode} fp32", "implementation": f"timm ({r['model']})",
                     "model": entry.display_name, "model_id": entry.id,
                     "input_size": key[1], "latency_ms": float(r[f"{mode}_{statistic}_ms"]),
                     "session_low_ms": math.nan, "session_high_ms": math.nan, "n_sessions": 1}
    return pd.DataFrame(list(rows.values()), columns=list(POINT_COLUMNS))


def h200_sessions(statistic: str, mode: str = "graph") -> pd.DataFrame:
    """This project's H200 campaign in the reference's regime (the noise band the one-pass
    reference borrows: same GPU, runtime, mode and precision)."""
    table = load_sessions(h200_campaign_file(), statistic)
    return table[(table["mode"] == mode) & (table["precision"] == "fp32")]


# -- counts ---------------------------------------------------------------------------------------

COUNT_COLUMNS = ("model", "model_id", "input_size", "native", "macs", "params", "timm_macs",
                 "paper_macs", "model_digest", "cache_version")


def _committed() -> dict[tuple, dict]:
    try:
        with COMMITTED_COUNTS.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError:
        return {}
    return {(r["model_id"], r["input_size"], r["model_digest"], r["cache_version"]): r
            for r in rows if (r.get("macs") or "").isdigit()}


def _reference_macs() -> tuple[dict, dict]:
    """timm's ``flops_torch / 2`` and the MobileNet paper's MACs per (zoo id, input size)."""
    with H200_FILE.open(newline="", encoding="utf-8") as fh:
        timm = {(get_entry(r["model"]).id, int(r["input_size"])): int(r["flops_torch"]) / 2
                for r in csv.DictReader(fh)}
    with PAPER_CSV.open(newline="", encoding="utf-8") as fh:
        paper = {(get_entry(f"{r['network']}-x{float(r['width_multiplier'])}").id,
                  int(r["input_size"])): float(r["macs_m"]) * 1e6 for r in csv.DictReader(fh)}
    return timm, paper


def zoo_counts(models: Sequence[str]) -> pd.DataFrame:
    """The committed counts of the zoo at native size (``notebooks/outputs/complexity.csv``,
    regenerated by ``reproduce`` before any notebook; :func:`analysis.predict.cost_table`),
    indexed by model id."""
    return cost_table(list(models))


def count_points(points: Sequence[tuple[str, int]]) -> pd.DataFrame:
    """MACs and parameters of the deployed form per (model id, input size) (module docstring),
    with timm's and the MobileNet paper's MACs beside them where they have the network. At
    native size: the zoo's committed counts; other sizes: this study's committed row for the
    same architecture digest and counting rules, else counted
    (:func:`analysis.complexity.profile_model`, cached)."""
    committed, (timm, paper) = _committed(), _reference_macs()
    points = sorted({(str(m), int(s)) for m, s in points},
                    key=lambda p: (SCALING_MODELS.index(p[0]), p[1]))
    zoo = zoo_counts(sorted({m for m, _ in points}))
    rows = []
    for model_id, size in points:
        entry, known = get_entry(model_id), zoo.loc[model_id]
        digest, version = str(known["model_digest"]), str(known["cache_version"])
        if size == entry.input_size:
            macs, params = int(known["macs"]), int(known["params"])
        elif (model_id, str(size), digest, version) in committed:
            found = committed[(model_id, str(size), digest, version)]
            macs, params = int(found["macs"]), int(found["params"])
        else:
            c = profile_model(model_id, size)
            macs, params = c.macs, c.params
        rows.append({"model": entry.display_name, "model_id": model_id, "input_size": size,
                     "native": size == entry.input_size, "macs": macs, "params": params,
                     "timm_macs": timm.get((model_id, size), math.nan),
                     "paper_macs": paper.get((model_id, size), math.nan),
                     "model_digest": digest, "cache_version": int(float(version))})
    return pd.DataFrame(rows, columns=list(COUNT_COLUMNS))


def sweep_rows(points: pd.DataFrame, s: Sweep) -> pd.DataFrame:
    """The rows of ``points`` (one series or several) that belong to sweep ``s``, with the
    sweep's ``multiplier`` (α, ρ = input / native size; NaN for compound scaling)."""
    if s.knob == RESOLUTION:
        rows = points[points["model_id"] == s.base]
        native = get_entry(s.base).input_size
        return rows.assign(multiplier=rows["input_size"] / native)
    native = {m: get_entry(m).input_size for m in s.models}
    rows = points[points["model_id"].isin(s.models)]
    rows = rows[rows["input_size"] == rows["model_id"].map(native)]
    mult = rows["model_id"].map(width_of) if s.knob == WIDTH else math.nan
    return rows.assign(multiplier=mult)
