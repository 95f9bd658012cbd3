"""Notebook 01's figures: Figure 2 of MobileOne (Vasu et al., CVPR 2023) per device, the
predictor ranking and the agreement of devices. Each function only draws the numbers it is
given (computed by :mod:`.compute`) in the house style of :mod:`analysis.plots` and returns the
figure; the ``*_figures`` functions name them for :class:`~analysis.studies.core.StudyResult`.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from analysis.constants import METRIC_LABELS
from analysis.plots import (FAMILY_COLORS, family_handles, new_figure, place_labels,
                            plain_log_axis)
from analysis.util import slug

# -- Figure 2 -------------------------------------------------------------------------------------

def plot_latency_vs_metrics(data, metrics=("macs", "params"), *, device: str = "",
                            subtitle: str = "", metric_labels: dict | None = None,
                            point_size: float = 16):
    """Paper Figure 2: latency against each cost metric, one panel per metric, log axes.

    ``data``: one row per model with ``model``, ``family``, ``latency_ms``, the metric columns
    and optionally ``label`` (the model's Figure 2 number, or its name). Points are coloured by
    family and labelled without overlap (:func:`_place_labels`); numbered models are listed in
    a key under the figure. A named label that finds no free place becomes the next free
    number. ``subtitle`` states the runtime and statistic.
    """
    metric_labels = {"macs": "MACs (M)", "params": "Parameters (M)", **(metric_labels or {})}
    labels = [str(t) if isinstance(t, str) else "" for t in
              (data["label"] if "label" in data else data["model"])]
    next_number = max((int(t) for t in labels if t.isdigit()), default=0) + 1
    for _attempt in range(4):
        fig, axes = new_figure(ncols=len(metrics), width=3.5, height=3.0, squeeze=False)
        xs = {}
        for ax, metric in zip(axes[0], metrics):
            xs[metric] = list(data[metric] / (1e6 if metric in ("macs", "params") else 1))
            ax.scatter(xs[metric], data["latency_ms"], s=point_size, zorder=3, linewidths=0,
                       c=[FAMILY_COLORS.get(f, "#000000") for f in data["family"]])
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.margins(0.1)
            ax.autoscale_view()
            plain_log_axis(ax)
            ax.set_xlabel(metric_labels.get(metric, metric))
            ax.set_ylabel("Latency (ms)")
        title = device + (f" — {subtitle}" if subtitle else "")
        if title:
            fig.suptitle(title, fontsize=8.5)
        handles = family_handles([f for f in FAMILY_COLORS if f in set(data["family"])])
        fig.legend(handles=handles, loc="outside right upper")
        numbered = [(t, m) for t, m in zip(labels, data["model"]) if t.isdigit()]
        if numbered:
            items = [f"{t}: {m}" for t, m in sorted(numbered, key=lambda p: int(p[0]))]
            fig.supxlabel("\n".join(", ".join(items[i:i + 5])
                                     for i in range(0, len(items), 5)), fontsize=6)
        fig.canvas.draw()  # settle the layout, then freeze it before measuring text
        fig.set_layout_engine("none")
        failed = set()
        for ax, metric in zip(axes[0], metrics):
            failed |= set(place_labels(ax, xs[metric], list(data["latency_ms"]), labels))
        named = [i for i in sorted(failed) if not labels[i].isdigit()]
        if not named:
            break
        plt.close(fig)
        for i in named:
            labels[i], next_number = str(next_number), next_number + 1
    return fig


# -- correlations ---------------------------------------------------------------------------------

def plot_correlation_ranking(table, *, metric_order, metric_labels: dict | None = None,
                             group: str = "device"):
    """Spearman ρ per metric, one panel per device, metrics in one fixed order in every panel.

    ``table``: rows of :func:`analysis.stats.correlation_table`. A bar shows the bootstrap CI
    where it is the primary inference (n > 8); small-n results are hollow, without a bar, and
    the panel title gives n.
    """
    metric_labels = METRIC_LABELS if metric_labels is None else metric_labels
    groups = list(dict.fromkeys(table[group]))
    order = [m for m in metric_order if m in set(table["metric"])]
    ncols = min(3, len(groups))
    nrows = math.ceil(len(groups) / ncols)
    fig, axes = new_figure(ncols=ncols, nrows=nrows, width=2.35,
                           height=0.22 * len(order) + 0.75, squeeze=False, sharex=True,
                           sharey=True)
    y = np.arange(len(order))[::-1]
    for k, g in enumerate(groups):
        ax = axes[k // ncols][k % ncols]
        part = table[table[group] == g].set_index("metric").reindex(order)
        lo = (part["rho"] - part["ci_low"]).clip(lower=0)
        hi = (part["ci_high"] - part["rho"]).clip(lower=0)
        has_ci = part["ci_low"].notna().to_numpy()
        ax.errorbar(part["rho"][has_ci], y[has_ci], xerr=[lo[has_ci], hi[has_ci]], fmt="o",
                    ms=3.5, color="#000000", ecolor="#888888", capsize=1.5, lw=0.8)
        ax.plot(part["rho"][~has_ci], y[~has_ci], "o", ms=3.5, mfc="white", mec="#000000")
        ax.axvline(0, color="#555555", lw=0.6)
        ax.set_xlim(-1, 1)
        n = part["n"].dropna()
        ax.set_title(f"{g} (n = {int(n.max()) if len(n) else 0})", fontsize=7)
        ax.set_yticks(y, [metric_labels.get(m, m) for m in order])
    for k in range(len(groups), nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    for ax in axes.flat:
        ax.xaxis.set_tick_params(labelbottom=True)
        ax.set_xlabel("Spearman ρ (95 % CI)")
    fig.suptitle("Rank correlation of each cost metric with latency, per device "
                 "(bar: 95 % bootstrap CI; hollow: n ≤ 8, exact test, no CI)", fontsize=8)
    return fig


def plot_rank_agreement(matrix, counts, *, sources: dict | None = None,
                        title: str = "Agreement of latency rankings between devices "
                                     "(Spearman ρ; n = models both measured)"):
    """Heat map of Spearman ρ between devices' latency rankings, each cell with its n
    (``counts``, same shape). Rows carry "k. device [source]" (``sources`` maps a device to
    ``"paper"``, ``"this project"`` or ``"your file"``), columns the same numbers k."""
    sources = sources or {}
    names = [f"{i + 1}. {d} [{sources[d]}]" if d in sources else f"{i + 1}. {d}"
             for i, d in enumerate(matrix.index)]
    annot = np.array([[f"{r:.2f}\nn={int(n)}" if np.isfinite(r) else "" for r, n in zip(rr, nn)]
                      for rr, nn in zip(matrix.to_numpy(), counts.to_numpy())])
    size = len(matrix)
    fig, ax = new_figure(width=0.8 * size + 2.4, height=0.62 * size + 1.4)
    sns.heatmap(matrix.to_numpy(float), vmin=-1, vmax=1, center=0, cmap="RdBu_r", annot=annot,
                fmt="", square=True, cbar_kws={"label": "Spearman ρ", "shrink": 0.8}, ax=ax,
                annot_kws={"fontsize": 5.5}, xticklabels=[str(i + 1) for i in range(size)],
                yticklabels=names)
    ax.grid(False)
    ax.tick_params(axis="x", rotation=0)
    ax.tick_params(axis="y", rotation=0)
    if title:
        ax.set_title(title)
    return fig



# -- the study's figures, named -------------------------------------------------------------------

FIGURE2_PREFIX = "figure2_latency_vs_macs_params_"
RANKING = "predictor_ranking_spearman_by_device"
HEATMAP = "device_rank_agreement_heatmap"


def figure2_figures(joined: pd.DataFrame, subtitles: dict, sources: dict) -> dict:
    """Figure 2 for every device: ``{figure2_latency_vs_macs_params_<device>: Figure}``; the
    title states the device, its runtime and statistic and where the numbers come from."""
    return {FIGURE2_PREFIX + slug(device): plot_latency_vs_metrics(
                part, ("macs", "params"), device=str(device),
                subtitle=f"{subtitles[device]} ({sources[device]})")
            for device, part in joined.groupby("device", sort=False)}


def ranking_figures(correlations: pd.DataFrame, metrics) -> dict:
    """``{predictor_ranking_spearman_by_device: Figure}``."""
    return {RANKING: plot_correlation_ranking(correlations, metric_order=list(metrics))}


def agreement_figures(rho: pd.DataFrame, n: pd.DataFrame, sources: dict) -> dict:
    """``{device_rank_agreement_heatmap: Figure}`` (nothing for a single device)."""
    return {HEATMAP: plot_rank_agreement(rho, n, sources=sources)} if len(rho) > 1 else {}
