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
from analysis.predict import COVERAGE, FEATURE_LABELS
from analysis.studies.prediction.compute import MACS, PREDICTOR, SELECTED, SIMILAR
from analysis.text import number, percent, rho_value

#: Predictor vs baselines: black vs greys, told apart by marker too.
METHOD_STYLES = {
    PREDICTOR: {"color": "#000000", "marker": "o"},
    MACS: {"color": "#777777", "marker": "s"},
    SIMILAR: {"color": "#AAAAAA", "marker": "^"},
}


def _wrap(text: str, width: int = 22) -> str:
    return "\n".join(textwrap.wrap(str(text), width)) or str(text)


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
    fig.legend(handles=handles, loc="outside lower center", ncols=3)
    return fig


def new_device(summary, *, targets: tuple[float, float] = (TARGET_MEDIAN_RHO, TARGET_P10_RHO)):
    """ρ on a held-out device against the number k of calibration models, one panel per
    device: the median over splits (solid) and the 10th percentile (dashed) of the predictor
    and both baselines; dotted lines mark the targets (median, 10th percentile).

    ``summary``: :func:`~analysis.studies.prediction.compute.summarize_new_device`."""
    devices = list(dict.fromkeys(summary["device"]))
    fig, axes = _grid(len(devices), height=2.1, sharey=True)
    ks = sorted(summary["k"].unique())
    for i, (ax, device) in enumerate(zip(axes, devices)):
        d = summary[summary["device"] == device]
        for method, style in METHOD_STYLES.items():
            m = d[d["method"] == method].sort_values("k")
            if m.empty:
                continue
            ax.plot(m["k"], m["rho_median"], color=style["color"], marker=style["marker"],
                    ms=4, lw=1.2)
            ax.plot(m["k"], m["rho_p10"], color=style["color"], marker=style["marker"],
                    ms=2.5, lw=0.8, ls="--", alpha=0.8)
        for t in targets:
            ax.axhline(t, color="#888888", lw=0.7, ls=":")
        ax.set_xticks(ks)
        ax.set_ylim(-0.6, 1.02)
        ax.set_title(_wrap(device, 30))
        ax.set_xlabel("Calibration models k")
        if i % min(3, len(devices)) == 0:  # shared y: label the first column only
            ax.set_ylabel("Spearman ρ, held-out models")
    handles = [Line2D([], [], label=method, lw=1.2, **style)
               for method, style in METHOD_STYLES.items()]
    handles += [Line2D([], [], color="#444444", lw=1.2, label="median over splits"),
                Line2D([], [], color="#444444", lw=0.8, ls="--", label="10th percentile"),
                Line2D([], [], color="#888888", lw=0.7, ls=":",
                       label="targets " + " / ".join(f"{t:g}" for t in targets))]
    fig.legend(handles=handles, loc="outside lower center", ncols=3)
    return fig


def importance(table, *, labels: dict | None = None):
    """Heat map of each cost's share of the permutation importance (rows: costs, columns:
    devices), with the share in per cent written in each cell.

    ``table``: :func:`~analysis.studies.prediction.compute.importance`; ``labels``: cost
    names (default :data:`analysis.predict.FEATURE_LABELS`)."""
    labels = FEATURE_LABELS if labels is None else labels
    wide = table.pivot(index="feature", columns="device", values="share")
    wide = 100 * wide.loc[list(dict.fromkeys(table["feature"])),
                          list(dict.fromkeys(table["device"]))]  # in %
    fig, ax = plots.new_figure(width=1.0 * wide.shape[1] + 2.0, height=0.28 * len(wide) + 1.4)
    image = ax.imshow(wide.to_numpy(), cmap="cividis", vmin=0, vmax=100, aspect="auto")
    for (i, j), v in np.ndenumerate(wide.to_numpy()):
        ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=6.5,
                color="black" if v > 55 else "white")
    ax.set_xticks(range(wide.shape[1]), [_wrap(d, 14) for d in wide.columns], fontsize=6.5)
    ax.set_yticks(range(len(wide)), [labels.get(f, f) for f in wide.index])
    ax.grid(False)
    fig.colorbar(image, ax=ax, shrink=0.8, label="Share of permutation importance (%)")
    ax.set_title("Which costs the per-device predictor relies on (%)")
    return fig
