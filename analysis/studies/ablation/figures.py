"""The figures of notebooks 02 and 03: they only draw (house style of :mod:`analysis.plots`) and
return the Figure; saving is :func:`analysis.studies.core.write`'s job.

Every measured latency carries its session interval (the lowest and highest session) and every
slowdown its noise interval (slowdown ÷ and × (1 + band): it crosses the 1× line exactly when
the noise model says "within noise"); the paper's column has neither.
"""

from __future__ import annotations

import pandas as pd

from analysis.plots import (COST_COLORS, COST_MARKERS, DEVICE_COLORS, SERIES_COLORS,
                            SERIES_MARKERS, plot_dot_rows)
from analysis.studies.ablation.compute import (CHART_COSTS, COST_LABELS, PAPER_KEY,
                                               AblationTable, cost_ratio_data)

#: Markers of the further series (devices, regimes), in order.
DEVICE_MARKERS = ("D", "v", "P", "X", "<", ">", "h")


def _the(reference: str) -> str:
    return reference if reference[:1].isupper() else f"the {reference}"


def series_styles(long: pd.DataFrame) -> tuple[dict, dict]:
    """``(colors, markers)`` by series: the paper's style; the first CPU series of PyTorch and
    of ONNX Runtime the runtimes' colours; every other series the device palette in order."""
    colors, markers, k, used = {}, {}, 0, set()
    first = long.drop_duplicates("series")
    runtime = first["series"].str.rsplit(" · ", n=1).str[-1]
    for label, key, rt in zip(first["series"], first["key"], runtime):
        style = PAPER_KEY if key == PAPER_KEY else rt if rt in ("torch", "onnxruntime") \
            and rt not in used else None
        if style is not None:
            used.add(style)
            colors[label], markers[label] = SERIES_COLORS[style], SERIES_MARKERS[style]
        else:
            colors[label] = DEVICE_COLORS[k % len(DEVICE_COLORS)]
            markers[label] = DEVICE_MARKERS[k % len(DEVICE_MARKERS)]
            k += 1
    return colors, markers


def cost_figure(spec: AblationTable, cx: pd.DataFrame):
    """Every count relative to the reference, per variant (dots; the line is 1×)."""
    colors = {COST_LABELS[c]: COST_COLORS[c] for c in CHART_COSTS}
    markers = {COST_LABELS[c]: COST_MARKERS[c] for c in CHART_COSTS}
    return plot_dot_rows(cost_ratio_data(cx), category="paper_row", value="ratio",
                         series="cost", colors=colors, markers=markers, reference_line=1.0,
                         xlabel=f"count relative to {spec.reference_label} (×, log scale)",
                         title=f"{spec.paper_name}: what each cost count sees (deployed "
                               f"networks)")


def latency_figure(spec: AblationTable, long: pd.DataFrame):
    """Latency per variant, one marker per series, bars from the lowest to the highest
    session (log scale: phone ms vs desktop tens of ms)."""
    colors, markers = series_styles(long)
    return plot_dot_rows(long, category="paper_row", value="latency_ms", series="series",
                         colors=colors, markers=markers, low="low_ms", high="high_ms",
                         xlabel="latency (ms, log scale; bars: lowest to highest session)",
                         title=f"{spec.paper_name}: latency per network (min over runs)")


def slowdown_figure(spec: AblationTable, long: pd.DataFrame):
    """Slowdown relative to the reference per variant and series, bars = the series' noise
    band (a bar across the 1× line: within noise)."""
    colors, markers = series_styles(long)
    data = long[long["model_id"] != spec.reference]
    return plot_dot_rows(data, category="paper_row", value="slowdown", series="series",
                         colors=colors, markers=markers, reference_line=1.0,
                         low="slowdown_low", high="slowdown_high",
                         xlabel=f"× {spec.reference_label} (log scale; bars: noise band, "
                                f"across 1× = within noise)",
                         title=f"{spec.paper_name}: slowdown relative to "
                               f"{_the(spec.reference_label)} (min)")
