"""The figures of notebooks 02 and 03: they only draw (house style of :mod:`analysis.plots`) and
return the Figure; saving is :func:`analysis.studies.core.write`'s job."""

from __future__ import annotations

import pandas as pd

from analysis.plots import COST_COLORS, COST_MARKERS, plot_dot_rows, series_styles
from analysis.studies.ablation.compute import (COST_LABELS, RATIO_COSTS, AblationTable,
                                               cost_ratio_data, series_info)


def cost_figure(spec: AblationTable, cx: pd.DataFrame):
    """Every count relative to the reference, per variant (dots; the line is 1×)."""
    colors = {COST_LABELS[c]: COST_COLORS[c] for c in RATIO_COSTS}
    markers = {COST_LABELS[c]: COST_MARKERS[c] for c in RATIO_COSTS}
    return plot_dot_rows(cost_ratio_data(cx), category="paper_row", value="ratio",
                         series="cost", colors=colors, markers=markers, reference_line=1.0,
                         xlabel=f"count relative to {spec.reference_label} (×, log scale)",
                         title=f"{spec.paper_name}: what each cost count sees (deployed "
                               f"networks)")


def latency_figure(spec: AblationTable, long: pd.DataFrame):
    """Latency per variant, one marker per series (log scale: phone ms vs desktop tens of ms)."""
    colors, markers = series_styles(series_info(long))
    return plot_dot_rows(long, category="paper_row", value="latency_ms", series="series",
                         colors=colors, markers=markers, xlabel="latency (ms, log scale)",
                         title=f"{spec.paper_name}: latency per network (min over runs)")


def slowdown_figure(spec: AblationTable, long: pd.DataFrame):
    """Slowdown relative to the reference per variant and series (the line is 1×)."""
    colors, markers = series_styles(series_info(long))
    return plot_dot_rows(long, category="paper_row", value="slowdown", series="series",
                         colors=colors, markers=markers, reference_line=1.0,
                         xlabel=f"× {spec.reference_label} (log scale)",
                         title=f"{spec.paper_name}: slowdown relative to "
                               f"{spec.reference_label} (min)")
