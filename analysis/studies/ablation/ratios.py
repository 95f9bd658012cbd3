"""The ablation slowdowns per series with the noise model's verdicts, for other notebooks
(notebook 07 puts them per GPU regime next to the phone and the CPU): computed by exactly the
steps of notebooks 02 and 03 (:func:`~analysis.studies.ablation.measure.read_latency` →
:func:`~analysis.studies.ablation.measure.measured_series` →
:func:`~analysis.studies.ablation.compute.series_table`, and
:func:`~analysis.studies.ablation.measure.duplicate_table` for the calibration check), never a
second implementation.

::

    from analysis.studies.ablation.ratios import ablation_ratios
    r = ablation_ratios()                       # the shipped campaigns
    r = ablation_ratios(["my-gpu-campaign.csv"], with_campaigns=False)
    r.slowdowns[r.slowdowns.series == "NVIDIA H200 · graph fp16"]
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import pandas as pd

from analysis.studies.ablation import measure
from analysis.studies.ablation.compute import TABLES, series_table

#: Columns of :attr:`AblationRatios.slowdowns`.
SLOWDOWN_COLUMNS = ("table", "paper_name", "reference", "series", "key", "kind", "model_id",
                    "paper_row", "latency_ms", "low_ms", "high_ms", "slowdown", "band",
                    "verdict", "median_ms", "median_slowdown", "median_band", "median_verdict")


@dataclass(frozen=True)
class AblationRatios:
    """``slowdowns``: one row per table (``table2``/``table3``), series and network — the
    slowdown (× the table's reference network: ReLU, the baseline) with the minimum and the
    median and the noise model's verdict on each (the paper's iPhone 12 column included, with
    no verdict); ``bands``: the noise band per series; ``duplicates``: the calibration check
    (identical networks' ratios and verdicts per series)."""

    slowdowns: pd.DataFrame
    bands: pd.DataFrame
    duplicates: pd.DataFrame


def ablation_ratios(files: Iterable[str | os.PathLike] = (), *,
                    with_campaigns: bool = True) -> AblationRatios:
    """The ablation ratios of the shipped campaigns (``with_campaigns``) and of ``files``
    (latency files of the ablation networks, read like notebooks 02/03's ``LATENCY_CSV``)."""
    data = measure.read_latency(**measure.data_files(
        with_campaigns=with_campaigns, yours=[Path(f) for f in files]))
    parts = []
    for spec in TABLES.values():
        long = series_table(spec, measure.measured_series(spec, data))
        parts.append(long.assign(table=spec.table, paper_name=spec.paper_name,
                                 reference=spec.reference)[list(SLOWDOWN_COLUMNS)])
    return AblationRatios(pd.concat(parts, ignore_index=True), data.bands,
                          measure.duplicate_table(data))
