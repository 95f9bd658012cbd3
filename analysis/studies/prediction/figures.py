"""Notebook 06, the figures, in the house style of :mod:`analysis.plots`: each function takes
the tables of :mod:`~analysis.studies.prediction.compute`, draws and returns the figure.
Families keep the study's family colours; the predictor and its two baselines get their own
fixed colours and markers (black and greys: methods are neither families, series nor costs);
the target lines read :mod:`analysis.constants`."""

from __future__ import annotations

import textwrap

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from analysis import plots
from analysis.constants import PREDICTION_TOLERANCE, TARGET_MEDIAN_RHO, TARGET_P10_RHO
from analysis.predict import COST_GROUPS, COVERAGE, GROUP_LABELS
from analysis.studies.prediction.compute import MACS, PREDICTOR, SELECTED, SIMILAR
from analysis.text import number, percent, rho_value

#: Predictor vs baselines: black vs greys, told apart by line style and marker too.
METHOD_STYLES = {
    PREDICTOR: {"color": "#000000", "marker": "o", "ls": "-"},
    MACS: {"color": "#666666", "marker": "s", "ls": "--"},
    SIMILAR: {"color": "#999999", "marker": "^", "ls": ":"},
}
#: The predictor without one physical device among its references: black, hollow, dash-dot.
WITHOUT_STYLE = {"color": "#000000", "marker": "o", "ls": "-.", "mfc": "white"}
#: Cost groups: Tol's bright scheme, the cost colours of :mod:`analysis.plots` where a group
#: holds that cost (compute: MACs, memory: memory traffic, launch: merges).
GROUP_COLORS = {"compute": plots.COST_COLORS["macs"], "memory": plots.COST_COLORS["memory_bytes"],
                "launch": plots.COST_COLORS["merges"], "family": "#AA3377"}


def _wrap(text: str, width: int = 22) -> str:
    return "\n".join(textwrap.wrap(str(text), width)) or str(text)


def _decorate(fig, handles, title: str, ncols: int, per_row: int) -> None:
    """The legend below the panels (at most ``per_row`` entries a row, one column on a figure
    one panel wide) and the title wrapped to the width of ``ncols`` panels; the figure grows
    by their height, so the panels keep theirs."""
    legend_cols = max(1, min(per_row, 1 if ncols < 2 else per_row))
    fig.legend(handles=handles, loc="outside lower center", ncols=legend_cols)
    lines = textwrap.wrap(title, max(40, 34 * ncols))
    fig.suptitle("\n".join(lines))
    width, height = fig.get_size_inches()
    rows = -(-len(handles) // legend_cols)
    fig.set_size_inches(width, height + 0.17 * rows + 0.17 * len(lines) + 0.15)


def _bottom_labels(axes: list, ncols: int) -> None:
    """With a shared x axis, every panel with no panel below it shows its tick labels (also
    those above an empty slot of the last row)."""
    for i, ax in enumerate(axes):
        if i + ncols >= len(axes):
            ax.xaxis.set_tick_params(labelbottom=True)


def _grid(n: int, ncols: int = 3, width: float = 2.5, height: float = 2.3, **kw):
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plots.new_figure(ncols=ncols, nrows=nrows, width=width, height=height,
                                 squeeze=False, **kw)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def predicted_vs_measured(predictions, scores, *, predictor: str = SELECTED):
    """Leave-one-out predicted vs measured latency, one log-log panel per device: points by
    family, the 90 % interval as a vertical bar, the y = x line and a ±10 % band; each title
    gives the device, n, ρ and median error.

    ``predictions``/``scores``: the two tables of
    :func:`~analysis.studies.prediction.compute.leave_one_out` (``predictions`` with the
    ``family`` column of :func:`~analysis.studies.prediction.compute.with_models`)."""
    part = predictions[predictions["predictor"] == predictor]
    devices = list(dict.fromkeys(part["device"]))
    band = 1 + PREDICTION_TOLERANCE
    fig, axes = _grid(len(devices))
    for ax, device in zip(axes, devices):
        d = part[part["device"] == device]
        s = scores[(scores["device"] == device) & (scores["predictor"] == predictor)].iloc[0]
        lo = min(d["latency_ms"].min(), d["low_ms"].min()) / 1.1
        hi = max(d["latency_ms"].max(), d["high_ms"].max()) * 1.1
        grid = np.geomspace(lo, hi, 50)
        ax.fill_between(grid, grid / band, grid * band, color="#dddddd", lw=0, zorder=1)
        ax.plot(grid, grid, color="#555555", lw=0.8, zorder=2)
        ax.vlines(d["latency_ms"], d["low_ms"], d["high_ms"], color="#aaaaaa", lw=0.7,
                  zorder=2)
        ax.scatter(d["latency_ms"], d["predicted_ms"], s=14, linewidths=0, zorder=3,
                   c=[plots.FAMILY_COLORS.get(f, "#000000") for f in d["family"]])
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        plots.plain_log_axis(ax)
        ax.set_aspect("equal", adjustable="box")
        ax.set_title(f"{_wrap(device, 28)}\nn = {int(s['n'])}, {rho_value(s['rho'])}, "
                     f"median error {number(s['mdape'], 0)} %", fontsize=7.5)
        ax.set_xlabel("Measured latency (ms)")
        ax.set_ylabel("Predicted, left out (ms)")
    families = [f for f in plots.FAMILY_COLORS if f in set(part["family"])]
    handles = [Line2D([], [], marker="o", ls="", color=plots.FAMILY_COLORS[f],
                      label=plots.FAMILY_LABELS.get(f, f)) for f in families]
    handles += [Line2D([], [], color="#555555", lw=0.8, label="predicted = measured"),
                Patch(color="#dddddd", label=f"±{percent(PREDICTION_TOLERANCE)}"),
                Line2D([], [], color="#aaaaaa", lw=0.7, label=f"{percent(COVERAGE)} interval")]
    ncols = min(3, len(devices))
    _decorate(fig, handles, "Leave one model out: each model predicted from the device's "
                            "other models", ncols, 3)
    return fig


def new_device(summary, pool=None, *,
               targets: tuple[float, float] = (TARGET_MEDIAN_RHO, TARGET_P10_RHO)):
    """ρ on a held-out device against the number k of calibration models, one panel per
    device: the predictor's median over splits (black line) with its 10th–90th percentile
    band, the two baselines' medians (grey, dashed and dotted), and — where ``pool`` (the
    both-ways table of :func:`~analysis.studies.prediction.compute.pool_comparison`) has the
    device — the predictor's median without that physical device among its references
    (hollow, dash-dot). The targets are labelled lines: the median target (solid grey) and
    the 10th-percentile target (the band's lower edge should stay above it).

    ``summary``: :func:`~analysis.studies.prediction.compute.summarize_new_device`."""
    devices = list(dict.fromkeys(summary["device"]))
    fig, axes = _grid(len(devices), ncols=4, width=2.3, height=2.0, sharey=True)
    ks = sorted(summary["k"].unique())
    without = None
    for i, (ax, device) in enumerate(zip(axes, devices)):
        d = summary[summary["device"] == device]
        p = d[d["method"] == PREDICTOR].sort_values("k")
        ax.fill_between(p["k"], p["rho_p10"], p["rho_p90"], color="#d9d9d9", lw=0, zorder=1)
        for method, style in METHOD_STYLES.items():
            m = d[d["method"] == method].sort_values("k")
            if not m.empty:
                ax.plot(m["k"], m["rho_median"], ms=3.5, lw=1.2, zorder=3, **style)
        if pool is not None and len(pool) and device in set(pool["device"]):
            w = pool[pool["device"] == device].sort_values("k")
            without = str(w["without"].iloc[0])
            ax.plot(w["k"], w["rho_median_without"], ms=3.5, lw=1.0, zorder=4, **WITHOUT_STYLE)
        for t, ls in zip(targets, ("-", "--")):
            ax.axhline(t, color="#b2182b", lw=0.7, ls=ls, zorder=2)
        ax.set_xticks(ks)
        ax.set_ylim(-0.6, 1.05)
        ax.set_title(_wrap(device, 30), fontsize=7.5)
        ax.set_xlabel("Calibration models k")
        if i % min(4, len(devices)) == 0:  # shared y: label the first column only
            ax.set_ylabel("Spearman ρ, held-out models")
    handles = [Line2D([], [], label=f"{method}, median", lw=1.2, ms=3.5, **style)
               for method, style in METHOD_STYLES.items()]
    handles.append(Patch(color="#d9d9d9", label="predictor, 10th–90th percentile"))
    if without is not None:
        handles.append(Line2D([], [], label=f"predictor without {without} as reference",
                              lw=1.0, ms=3.5, **WITHOUT_STYLE))
    handles += [Line2D([], [], color="#b2182b", lw=0.7, ls=ls, label=label)
                for ls, label in (("-", f"target: median ρ ≥ {targets[0]:g}"),
                                  ("--", f"target: 10th percentile ≥ {targets[1]:g}"))]
    ncols = min(4, len(devices))
    _bottom_labels(axes, ncols)
    _decorate(fig, handles, "A new device: ρ on its held-out models against the number of "
                            "calibration models k", ncols, 3)
    return fig


def importance(table, *, labels: dict | None = None):
    """Out-of-sample importance of each cost group, one panel per device: the held-out error
    without the group relative to all costs (log scale, 1 = the group adds nothing) with its
    95 % interval; filled where the interval lies above 1 (the group is needed).

    ``table``: :func:`~analysis.studies.prediction.cost_groups.importance`; ``labels``: group
    names for the legend (default :data:`analysis.predict.GROUP_LABELS`)."""
    labels = GROUP_LABELS if labels is None else labels
    devices = list(dict.fromkeys(table["device"]))
    groups = [g for g in COST_GROUPS if g in set(table["group"])]
    fig, axes = _grid(len(devices), ncols=4, width=2.0, height=1.5, sharex=True)
    lo = min(table["ratio_low"].min(), 0.8)
    hi = max(table["ratio_high"].max(), 1.25)
    for i, (ax, device) in enumerate(zip(axes, devices)):
        d = table[table["device"] == device].set_index("group")
        for y, g in enumerate(groups):
            if g not in d.index:
                continue
            r = d.loc[g]
            color = GROUP_COLORS.get(g, "#000000")
            ax.plot([r["ratio_low"], r["ratio_high"]], [y, y], color=color, lw=1.4)
            ax.plot(r["ratio"], y, "o", ms=4, color=color,
                    mfc=color if r["needed"] else "white")
        ax.axvline(1.0, color="#555555", lw=0.7)
        ax.set_xscale("log")
        ax.set_xlim(lo / 1.05, hi * 1.05)
        plots.plain_log_axis(ax, "x")
        ax.set_yticks(range(len(groups)), groups if i % min(4, len(devices)) == 0 else [])
        ax.set_ylim(len(groups) - 0.5, -0.5)
        ax.set_title(_wrap(device, 30), fontsize=7.5)
        ax.set_xlabel("Held-out error ×")
    handles = [Line2D([], [], color=GROUP_COLORS.get(g, "#000000"), marker="o", lw=1.4,
                      label=labels.get(g, g)) for g in groups]
    handles += [Line2D([], [], color="#000000", marker="o", ls="", label="needed (interval > 1)"),
                Line2D([], [], color="#000000", marker="o", mfc="white", ls="",
                       label="not shown to be needed")]
    ncols = min(4, len(devices))
    _bottom_labels(axes, ncols)
    _decorate(fig, handles, "Which cost groups the predictor needs out of sample: held-out "
                            "error without the group ÷ with all costs (95 % interval)", ncols, 2)
    return fig
