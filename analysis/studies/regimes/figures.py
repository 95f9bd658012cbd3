"""Figures of notebook 07; they only draw (house style of :mod:`analysis.plots`).

The GPU's regimes are series in the device palette (:data:`analysis.plots.DEVICE_COLORS`, one
colour per regime; circles for eager, squares for a CUDA graph); the paper's phone and this
project's CPU runtimes keep their series colours; models keep their family colours. Every
latency carries its session range (lowest to highest session) as an error bar, every ρ its
95 % interval, every slowdown its series' noise band.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from analysis import plots
from analysis.constants import METRIC_LABELS
from analysis.plots import new_figure
from analysis.studies.regimes.compute import CONTRAST, PRIMARY
from analysis.studies.regimes.slowdowns import CPU, GPU, PHONE

AXES = {"macs": ("MACs (M)", 1e6), "operators": ("Operators", 1.0)}


def regime_style(regimes) -> dict[str, tuple[str, str]]:
    """``{regime: (colour, marker)}``: the device palette in order; eager ○, graph □."""
    return {r: (plots.DEVICE_COLORS[i % len(plots.DEVICE_COLORS)],
                "s" if "graph" in r else "o") for i, r in enumerate(regimes)}


def _dodged_rho_rows(ax, table: pd.DataFrame, rows: list[str], row_col: str, styles: dict,
                     label_of=lambda r: r) -> list:
    step = 0.72 / max(1, len(styles))
    handles = []
    for j, (series, (color, marker)) in enumerate(styles.items()):
        part = table[table["series"] == series].set_index(row_col).reindex(rows)
        y = np.arange(len(rows))[::-1] + (j - (len(styles) - 1) / 2) * step
        lower = (part["rho"] - part["ci_low"]).clip(lower=0).fillna(0)
        upper = (part["ci_high"] - part["rho"]).clip(lower=0).fillna(0)
        ax.errorbar(part["rho"], y, xerr=[lower, upper], fmt=marker, ms=3.5, color=color,
                    elinewidth=0.9, capsize=0)
        handles.append(Line2D([], [], ls="", marker=marker, color=color, label=series))
    ax.set_yticks(np.arange(len(rows))[::-1], [label_of(r) for r in rows])
    ax.set_ylim(-0.6, len(rows) - 0.4)
    low = np.nanmin(np.r_[table["ci_low"].to_numpy(float), table["rho"].to_numpy(float), 0.0])
    ax.set_xlim(max(-1.0, low - 0.05), 1.0)
    ax.axvline(0, color="k", lw=0.6)
    ax.grid(axis="y", visible=False)
    return handles


def plot_rho_by_metric(correlations: pd.DataFrame, device: str):
    """ρ(latency, metric) with its 95 % interval: one row per metric, one marker per regime."""
    corr = correlations[correlations["statistic"] == PRIMARY].assign(
        series=lambda t: t["regime"])
    regimes = list(dict.fromkeys(corr["regime"]))
    metrics = [m for m in METRIC_LABELS if m in set(corr["metric"])]
    fig, ax = new_figure(width=5.0, height=0.42 * len(metrics) + 1.2)
    handles = _dodged_rho_rows(ax, corr, metrics, "metric", regime_style(regimes),
                               lambda m: METRIC_LABELS.get(m, m))
    ax.set_xlabel("Spearman ρ with latency (95 % Fisher-z interval)")
    ax.set_title(f"What ranks latency on the {device}, per execution regime")
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
    return fig


def plot_latency_vs_costs(joined: pd.DataFrame, correlations: pd.DataFrame, device: str,
                          metrics=("macs", CONTRAST[0])):
    """Latency (log) against each metric of ``metrics`` (rows) in every regime (columns), models
    in their family colours, the session range as a vertical bar; ρ in each panel's title."""
    data = joined[joined["statistic"] == PRIMARY]
    regimes = list(dict.fromkeys(data["regime"]))
    corr = correlations[correlations["statistic"] == PRIMARY].set_index(["regime", "metric"])
    fig, axes = new_figure(ncols=len(regimes), nrows=len(metrics), width=2.0, height=1.9,
                           squeeze=False, sharey="col")
    for i, metric in enumerate(metrics):
        label, scale = AXES.get(metric, (METRIC_LABELS.get(metric, metric), 1.0))
        for k, regime in enumerate(regimes):
            ax = axes[i][k]
            part = data[data["regime"] == regime]
            for family, fam in part.groupby("family", sort=False):
                y = fam["latency_ms"].to_numpy(float)
                err = [np.clip(y - fam["session_low_ms"].to_numpy(float), 0, None),
                       np.clip(fam["session_high_ms"].to_numpy(float) - y, 0, None)]
                ax.errorbar(fam[metric] / scale, y, yerr=np.nan_to_num(err), fmt="o", ms=2.8,
                            elinewidth=0.6, capsize=0,
                            color=plots.FAMILY_COLORS.get(family, "#000000"))
            ax.set_xscale("log")
            ax.set_yscale("log")
            plots.plain_log_axis(ax)
            rho = corr.loc[(regime, metric), "rho"] if (regime, metric) in corr.index \
                else math.nan
            ax.set_title(f"{regime}: ρ = {rho:.2f}", fontsize=7.5)
            ax.set_xlabel(label)
            if k == 0:
                ax.set_ylabel("Latency (ms)")
    families = list(dict.fromkeys(data["family"]))
    handles = plots.family_handles(families) + [
        Line2D([], [], color="#444444", lw=0.6, label="lowest to highest session")]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
    fig.suptitle(f"{device}: latency against MACs and operators in each regime", fontsize=9)
    return fig


def plot_launch_overhead(points: pd.DataFrame, overhead: pd.DataFrame, device: str):
    """Eager − graph latency against the operator count, one panel per precision, with the
    least-squares line and its slope (µs per operator, 95 % bootstrap interval)."""
    precisions = list(dict.fromkeys(points["precision"]))
    fits = overhead[overhead["statistic"] == PRIMARY].set_index("precision")
    fig, axes = new_figure(ncols=max(1, len(precisions)), width=3.0, height=2.6, squeeze=False,
                           sharey=True)
    for ax, precision in zip(axes[0], precisions):
        part = points[points["precision"] == precision]
        for family, fam in part.groupby("family", sort=False):
            y = fam["overhead_ms"].to_numpy(float)
            err = [np.clip(y - fam["overhead_low_ms"].to_numpy(float), 0, None),
                   np.clip(fam["overhead_high_ms"].to_numpy(float) - y, 0, None)]
            ax.errorbar(fam["operators"], y, yerr=err, fmt="o", ms=3, elinewidth=0.6,
                        capsize=0, color=plots.FAMILY_COLORS.get(family, "#000000"))
        if precision in fits.index:
            f = fits.loc[precision]
            x = np.linspace(0, part["operators"].max() * 1.05, 50)
            ax.plot(x, f["intercept_ms"] + f["us_per_operator"] / 1e3 * x, color="k", lw=0.9)
            ax.text(0.03, 0.97, f"{f['us_per_operator']:.1f} µs per operator\n(95 % CI "
                    f"{f['ci_low']:.1f} to {f['ci_high']:.1f}), R² = {f['r_squared']:.2f}",
                    transform=ax.transAxes, va="top", fontsize=7)
        ax.set_xlabel("Operators in the traced graph")
        ax.set_title(f"eager − graph, {precision}")
        ax.set_xlim(left=0)
    axes[0][0].set_ylabel("Launch overhead: eager − graph latency (ms)")
    handles = plots.family_handles(list(dict.fromkeys(points["family"]))) + [
        Line2D([], [], color="#444444", lw=0.6, label="session range"),
        Line2D([], [], color="k", lw=0.9, label="least squares")]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
    fig.suptitle(f"{device}: what eager execution costs per operator", fontsize=9)
    return fig


def series_styles(ratios: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """``{series: (colour, marker)}``: the paper's phone, the CPU runtimes, the GPU regimes."""
    out, regimes = {}, []
    for r in ratios.drop_duplicates("series").itertuples():
        if r.device_kind == PHONE:
            out[r.series] = (plots.series_color("paper"), "D")
        elif r.device_kind == CPU:
            key = "onnxruntime" if "onnxruntime" in r.series else "torch"
            out[r.series] = (plots.series_color(key), plots.SERIES_MARKERS[key])
        else:
            regimes.append(r.series)
    gpu = regime_style(regimes)
    return {**out, **gpu}


def plot_ablation(ratios: pd.DataFrame, device: str):
    """Slowdown of every variant over its table's reference (log x), one panel per table, one
    marker per series; bars: the series' noise band (slowdown ÷ and × (1 + band))."""
    tables = list(dict.fromkeys(ratios["table"]))
    styles = series_styles(ratios)
    n_rows = [ratios[(ratios["table"] == t) & (ratios["verdict"] != "reference")]
              ["paper_row"].nunique() for t in tables]
    fig, axes = new_figure(nrows=len(tables), width=5.2, height=1.0, squeeze=False,
                           gridspec_kw={"height_ratios": n_rows})
    fig.set_size_inches(5.2, 0.42 * sum(n_rows) + 1.6)
    step = 0.78 / max(1, len(styles))
    for ax, table in zip(axes[:, 0], tables):
        part = ratios[(ratios["table"] == table) & (ratios["verdict"] != "reference")]
        rows = list(dict.fromkeys(part["paper_row"]))
        for j, (series, (color, marker)) in enumerate(styles.items()):
            s = part[part["series"] == series].set_index("paper_row").reindex(rows)
            y = np.arange(len(rows))[::-1] + (j - (len(styles) - 1) / 2) * step
            x = s["slowdown"].to_numpy(float)
            lo, hi = s["slowdown_low"].to_numpy(float), s["slowdown_high"].to_numpy(float)
            ok = np.isfinite(lo) & np.isfinite(hi)
            ax.errorbar(x[ok], y[ok], xerr=[x[ok] - lo[ok], hi[ok] - x[ok]], ls="", lw=0.7,
                        color=color, capsize=0)
            ax.plot(x, y, ls="", marker=marker, ms=3.2, color=color)
        ax.axvline(1, color="#555555", lw=0.7, zorder=0)
        ax.set_xscale("log")
        plots.plain_log_axis(ax, "x")
        ax.set_yticks(np.arange(len(rows))[::-1], rows)
        ax.set_ylim(-0.6, len(rows) - 0.4)
        ax.grid(axis="y", visible=False)
        reference = part["paper_row"].iloc[0] if len(part) else ""
        ref = ratios[(ratios["table"] == table) & (ratios["verdict"] == "reference")]
        name = ref["paper_row"].iloc[0] if len(ref) else reference
        ax.set_title(f"{table}: slowdown over {name}")
    axes[-1][0].set_xlabel("Latency / the reference's latency (×, log scale); bar: the "
                           "series' noise band")
    handles = [Line2D([], [], ls="", marker=m, color=c, label=s) for s, (c, m) in
               styles.items()]
    fig.legend(handles=handles, loc="outside lower center", ncols=2)
    fig.suptitle(f"The ablations on the {device}, the paper's phone and the CPU", fontsize=9)
    return fig


def plot_paper_devices(agreement: pd.DataFrame, device: str):
    """ρ between each of the paper's devices and each regime, with its 95 % interval."""
    table = agreement[agreement["statistic"] == PRIMARY].assign(series=lambda t: t["regime"])
    regimes = list(dict.fromkeys(table["regime"]))
    devices = list(dict.fromkeys(table["paper_device"]))
    n = table.groupby("paper_device")["n"].max()
    fig, ax = new_figure(width=5.0, height=0.55 * len(devices) + 1.2)
    handles = _dodged_rho_rows(ax, table, devices, "paper_device", regime_style(regimes),
                               lambda d: f"{d} (n = {int(n[d])})")
    ax.set_xlabel(f"Spearman ρ between the device's and the {device}'s latencies (95 % CI)")
    ax.set_title(f"Which regime of the {device} ranks models like the paper's devices?")
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
    return fig


def all_figures(device: str, joined: pd.DataFrame, correlations: pd.DataFrame,
                points: pd.DataFrame, overhead: pd.DataFrame, ratios: pd.DataFrame,
                agreement: pd.DataFrame) -> dict:
    """Every figure of notebook 07 by file name."""
    figures = {"regimes_spearman_by_metric": plot_rho_by_metric(correlations, device),
               "regimes_latency_vs_macs_operators": plot_latency_vs_costs(
                   joined, correlations, device)}
    if len(points):
        figures["regimes_launch_overhead_per_operator"] = plot_launch_overhead(
            points, overhead, device)
    if len(ratios) and (ratios["device_kind"] == GPU).any():
        figures["regimes_ablation_slowdowns"] = plot_ablation(ratios, device)
    if len(agreement):
        figures["regimes_paper_devices"] = plot_paper_devices(agreement, device)
    return figures
