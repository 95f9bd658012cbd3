"""Notebook 01's figures: Figure 2 of MobileOne (Vasu et al., CVPR 2023) per series, the
predictor ranking and the agreement of series. Each function only draws the numbers it is
given (computed by :mod:`.compute` and adjusted by :mod:`.families`) in the house style of
:mod:`analysis.plots` and returns the figure; the ``*_figures`` functions name them for
:class:`~analysis.studies.core.StudyResult`.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from analysis.constants import METRIC_LABELS
from analysis.plots import (FAMILY_COLORS, family_handles, new_figure, place_labels,
                            plain_log_axis)
from analysis.util import slug

# -- Figure 2 -------------------------------------------------------------------------------------

def _session_bars(ax, x, data) -> None:
    """Vertical bars from the lowest to the highest session where a latency has sessions."""
    if "session_low_ms" not in data or "session_high_ms" not in data:
        return
    lo, hi = data["session_low_ms"].to_numpy(float), data["session_high_ms"].to_numpy(float)
    y = data["latency_ms"].to_numpy(float)
    ok = np.isfinite(lo) & np.isfinite(hi) & (hi > lo)
    if ok.any():
        ax.errorbar(np.asarray(x, float)[ok], y[ok], yerr=[y[ok] - lo[ok], hi[ok] - y[ok]],
                    fmt="none", ecolor="#555555", elinewidth=0.7, capsize=1.5, zorder=2)


def plot_latency_vs_metrics(data, metrics=("macs", "params"), *, device: str = "",
                            subtitle: str = "", metric_labels: dict | None = None,
                            point_size: float = 16):
    """Paper Figure 2: latency against each cost metric, one panel per metric, log axes.

    ``data``: one row per model with ``model``, ``family``, ``latency_ms``, the metric columns,
    optionally ``label`` (the model's Figure 2 number, or its name) and ``session_low_ms`` /
    ``session_high_ms`` (drawn as bars: the spread over sessions). Points are coloured by
    family and labelled beside their own point (:func:`place_labels`); numbered models are
    listed in a key under the figure. A named label that finds no place becomes the next free
    number. ``subtitle`` states the runtime and statistic.
    """
    metric_labels = {"macs": "MACs (M)", "params": "Parameters (M)", **(metric_labels or {})}
    labels = [str(t) if isinstance(t, str) else "" for t in
              (data["label"] if "label" in data else data["model"])]
    next_number = max((int(t) for t in labels if t.isdigit()), default=0) + 1
    sessions = "session_low_ms" in data and data["session_low_ms"].notna().any()
    for _attempt in range(6):
        fig, axes = new_figure(ncols=len(metrics), width=3.5, height=3.0, squeeze=False)
        xs = {}
        for ax, metric in zip(axes[0], metrics):
            xs[metric] = list(data[metric] / (1e6 if metric in ("macs", "params") else 1))
            _session_bars(ax, xs[metric], data)
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
        if sessions:
            handles.append(Line2D([], [], color="#555555", lw=0.7, marker="|",
                                  label="lowest–highest session"))
        fig.legend(handles=handles, loc="outside right center")
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


# -- the ranking of metrics -----------------------------------------------------------------------

#: How the ranking marks each cell: filled when ρ = 0 is rejected after adjustment, hollow
#: when not; colour by the paired comparison with MACs (Holm).
VERDICT_COLORS = {"better": "#0072B2", "worse": "#D55E00", "": "#000000"}
VERDICT_LABELS = {"better": "shown better than MACs (paired, Holm)",
                  "worse": "shown worse than MACs (paired, Holm)",
                  "": "MACs, or not shown different from them"}


def ranking_handles(verdicts) -> list[Line2D]:
    """The legend of :func:`plot_correlation_ranking`, from the same styles it draws with."""
    handles = [Line2D([], [], ls="", marker="o", ms=4, color="#000000",
                      label="ρ ≠ 0 supported after adjustment"),
               Line2D([], [], ls="", marker="o", ms=4, mfc="white", mec="#000000",
                      label="ρ ≠ 0 not shown")]
    handles += [Line2D([], [], lw=0.8, marker="o", ms=4, color=VERDICT_COLORS[v],
                       label=VERDICT_LABELS[v]) for v in ("better", "worse") if v in verdicts]
    return handles


def plot_correlation_ranking(table, versus=None, *, metric_order,
                             metric_labels: dict | None = None, group: str = "device"):
    """Spearman ρ per metric with its 95 % Fisher-z interval, one panel per series, metrics in
    one order in every panel. ``table``: adjusted correlation rows (``supported``); ``versus``:
    rows of each metric against MACs (``verdict``), which colour the markers."""
    metric_labels = METRIC_LABELS if metric_labels is None else metric_labels
    groups = list(dict.fromkeys(table[group]))
    order = [m for m in metric_order if m in set(table["metric"])]
    verdict = {} if versus is None else {
        (r[group], r["metric"]): str(r["verdict"]) for _, r in versus.iterrows()
        if r["verdict"] in ("better", "worse")}
    ncols = min(3, len(groups))
    nrows = math.ceil(len(groups) / ncols)
    fig, axes = new_figure(ncols=ncols, nrows=nrows, width=2.35,
                           height=0.22 * len(order) + 0.95, squeeze=False, sharex=True,
                           sharey=True)
    y = np.arange(len(order))[::-1]
    for k, g in enumerate(groups):
        ax = axes[k // ncols][k % ncols]
        part = table[table[group] == g].set_index("metric").reindex(order)
        for yi, m in zip(y, order):
            r = part.loc[m]
            if not np.isfinite(r["rho"]):
                continue
            color = VERDICT_COLORS[verdict.get((g, m), "")]
            if np.isfinite(r["ci_low"]):
                ax.plot([r["ci_low"], r["ci_high"]], [yi, yi], color=color, lw=0.8, alpha=0.6)
            ax.plot(r["rho"], yi, "o", ms=3.5, mec=color,
                    mfc=color if bool(r["supported"]) else "white")
        ax.axvline(0, color="#555555", lw=0.6)
        ax.set_xlim(-1.08, 1.08)
        ax.set_xticks([-1, -0.5, 0, 0.5, 1], ["−1", "−0.5", "0", "0.5", "1"])
        n = part["n"].dropna()
        ax.set_title(f"{_wrap(str(g), 34)} (n = {int(n.max()) if len(n) else 0})",
                     fontsize=6.5)
        ax.set_yticks(y, [metric_labels.get(m, m) for m in order])
    for k in range(len(groups), nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    for ax in axes.flat:
        ax.xaxis.set_tick_params(labelbottom=True)
        ax.set_xlabel("Spearman ρ (95 % CI)")
    fig.suptitle("Rank correlation of each cost metric with latency, per series", fontsize=8)
    fig.legend(handles=ranking_handles(set(verdict.values())), loc="outside lower center",
               ncols=2)
    return fig


# -- the agreement of series ----------------------------------------------------------------------

def _wrap(name: str, width: int = 26) -> str:
    """A long series name on two lines, at its " · " or at a space."""
    if len(name) <= width:
        return name
    if " · " in name:
        head, tail = name.rsplit(" · ", 1)
        return f"{head}\n· {tail}"
    cut = name.rfind(" ", 0, width)
    return name if cut < 0 else f"{name[:cut]}\n{name[cut + 1:]}"


def plot_rank_agreement(table: pd.DataFrame, *, sources: dict | None = None,
                        physical: dict | None = None,
                        title: str = "Agreement of latency rankings between series"):
    """Lower-triangle heat map of Spearman ρ between two series' latency rankings (``table``:
    rows ``a, b, rho, n, supported`` after adjustment, each pair once). Both axes carry the
    series' names ([paper] / [this project] / [your file] on the rows); a star marks a pair
    whose agreement is supported after adjustment (``*``); lines separate physical devices."""
    sources, physical = sources or {}, physical or {}
    names = list(dict.fromkeys([*table["a"], *table["b"]]))
    size = len(names)
    at = {d: i for i, d in enumerate(names)}
    rho = np.full((size, size), np.nan)
    star = np.zeros((size, size), bool)
    for _, r in table.iterrows():
        i, j = sorted((at[r["a"]], at[r["b"]]), reverse=True)  # lower triangle: row > column
        rho[i, j] = r["rho"]
        star[i, j] = bool(r["supported"]) and r["rho"] > 0
    fig, ax = new_figure(width=0.55 * size + 3.2, height=0.5 * size + 2.2)
    shown = np.ma.masked_invalid(rho)
    image = ax.imshow(shown, vmin=-1, vmax=1, cmap="RdBu_r")
    for i in range(size):
        for j in range(i):
            if np.isfinite(rho[i, j]):
                ax.text(j, i, f"{rho[i, j]:.2f}" + ("*" if star[i, j] else ""),
                        ha="center", va="center", fontsize=5.5,
                        color="white" if abs(rho[i, j]) > 0.6 else "black")
    rows = [_wrap(n) + (f" [{sources[n]}]" if n in sources else "") for n in names]
    ax.set_yticks(range(size), rows, fontsize=5.5)
    ax.set_xticks(range(size), [_wrap(n) for n in names], fontsize=5.5, rotation=90)
    ax.set_xlim(-0.5, size - 1.5)
    ax.set_ylim(size - 0.5, 0.5)
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    groups = [physical.get(n, n) for n in names]
    for k in range(1, size):  # within the triangle only
        if groups[k] != groups[k - 1]:
            ax.plot([-0.5, k - 0.5], [k - 0.5, k - 0.5], color="#333333", lw=0.7)
            ax.plot([k - 0.5, k - 0.5], [k - 0.5, size - 0.5], color="#333333", lw=0.7)
    fig.colorbar(image, ax=ax, shrink=0.7, label="Spearman ρ")
    ax.set_title(f"{title}\n(* agreement beyond chance after Benjamini–Hochberg adjustment; "
                 "lines separate physical devices)", fontsize=7)
    return fig


# -- the study's figures, named -------------------------------------------------------------------

FIGURE2_PREFIX = "figure2_latency_vs_macs_params_"
RANKING = "predictor_ranking_spearman_by_device"
HEATMAP = "device_rank_agreement_heatmap"


def figure2_figures(joined: pd.DataFrame, subtitles: dict, sources: dict) -> dict:
    """Figure 2 for every series: ``{figure2_latency_vs_macs_params_<series>: Figure}``; the
    title states the series, its runtime and statistic and where the numbers come from."""
    return {FIGURE2_PREFIX + slug(device): plot_latency_vs_metrics(
                part, ("macs", "params"), device=str(device),
                subtitle=f"{subtitles[device]} ({sources[device]})")
            for device, part in joined.groupby("device", sort=False)}


def ranking_figures(correlations: pd.DataFrame, versus: pd.DataFrame, metrics) -> dict:
    """``{predictor_ranking_spearman_by_device: Figure}``."""
    return {RANKING: plot_correlation_ranking(correlations, versus, metric_order=list(metrics))}


def agreement_figures(agreement: pd.DataFrame, sources: dict, physical: dict) -> dict:
    """``{device_rank_agreement_heatmap: Figure}`` (nothing for a single series)."""
    return ({HEATMAP: plot_rank_agreement(agreement, sources=sources, physical=physical)}
            if len(agreement) else {})
