"""The 30-layer ablations (the paper's Tables 2 and 3) in every regime of the GPU, beside the
paper's phone and this project's CPU — computed by notebooks 02 and 03's own code
(:mod:`analysis.studies.ablation`: the series, their slowdowns and the noise model's verdict
per series), never a second implementation. This module only chooses the files and reshapes
the result into one table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.latency import h200_campaign_file
from analysis.studies.ablation import compute as ablation
from analysis.studies.ablation import measure

#: Where a series' device sits in the comparison.
PHONE, CPU, GPU = "phone (paper)", "CPU", "GPU"
COLUMNS = ("table", "series", "device_kind", "regime", "paper_row", "model_id", "latency_ms",
           "low_ms", "high_ms", "slowdown", "slowdown_low", "slowdown_high", "verdict",
           "median_slowdown", "median_verdict", "band", "median_band", "n_sessions")
DUPLICATE_COLUMNS = ("series", "device_kind", "regime", "first", "second", "ratio", "band",
                     "verdict", "median_ratio", "median_band", "median_verdict")


@dataclass(frozen=True)
class Ablation:
    """The ablation series of a run: ``ratios`` (:data:`COLUMNS`, one row per table, series and
    variant) and ``duplicates`` (the noise model's calibration check per series,
    :data:`DUPLICATE_COLUMNS`), with the files read."""

    ratios: pd.DataFrame
    duplicates: pd.DataFrame
    files: tuple[Path, ...]


def latency_files(gpu_files, shipped_gpu: bool) -> dict:
    """:func:`analysis.studies.ablation.measure.read_latency`'s files: the shipped ablation
    campaigns (the CPU, and the H200 when it is the GPU analysed) and a user's GPU files."""
    shipped = measure.shipped_files()
    if shipped_gpu:
        return {"shipped": shipped}
    h200 = h200_campaign_file().resolve()
    return {"shipped": [f for f in shipped if f.resolve() != h200], "yours": list(gpu_files)}


def ablation_series(gpu_files, gpu_device: str, shipped_gpu: bool) -> Ablation:
    """Tables 2 and 3 in every series of the files, with notebooks 02/03's slowdowns and
    verdicts; ``gpu_device``: the physical device whose series are the GPU's regimes."""
    data = measure.read_latency(**latency_files(gpu_files, shipped_gpu))
    bands = data.bands.set_index("series")

    def kind(series: str) -> str:
        if series not in bands.index:
            return PHONE
        return GPU if str(bands.loc[series, "physical_device"]) == gpu_device else CPU

    def regime(series: str) -> str:
        if kind(series) != GPU:
            return ""
        return str(bands.loc[series, "regime"] or "")

    parts = []
    for spec in ablation.TABLES.values():
        long = ablation.series_table(spec, measure.measured_series(spec, data))
        long = long.rename(columns={"kind": "source"}).assign(table=spec.paper_name)
        parts.append(long)
    long = pd.concat(parts, ignore_index=True)
    long["device_kind"] = long["series"].map(kind)
    long["regime"] = long["series"].map(regime)
    dup = measure.duplicate_table(data) if data.files else pd.DataFrame(
        columns=["series", *DUPLICATE_COLUMNS[3:]])
    dup["device_kind"] = dup["series"].map(kind)
    dup["regime"] = dup["series"].map(regime)
    return Ablation(long[list(COLUMNS)].reset_index(drop=True),
                    dup[list(DUPLICATE_COLUMNS)].reset_index(drop=True),
                    tuple(Path(f) for f in data.files))
