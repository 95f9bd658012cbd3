"""Notebook 08's figures, in the house style of :mod:`analysis.plots`; they only draw.

Sweeps are coloured by network family (a palette of their own, Paul Tol's vibrant scheme,
shared by no other chart), series by :func:`analysis.plots.series_color` (the runtimes measured
here, then the device palette). Every latency carries its session interval where the series
has sessions.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from analysis.plots import (DEVICE_COLORS, SERIES_COLORS, SERIES_MARKERS, new_figure,
                            plain_log_axis)
from analysis.studies.scaling.compute import CLAIMED_EXPONENT
from analysis.studies.scaling.data import COMPOUND, PRIMARY, RESOLUTION, SWEEPS, WIDTH

#: Network families of the sweeps (prefix of the family name → colour), Tol's vibrant scheme.
FAMILY_PALETTE = (("EfficientNet-Lite", "#33BBEE"), ("EfficientNet", "#EE3377"),
                  ("MobileNetV3-L", "#009988"), ("MobileNetV3-S", "#CC3311"),
                  ("MobileNetV2", "#EE7733"), ("MobileNetV1", "#0077BB"))
KNOB_TITLES = {WIDTH: "width multiplier α (224 px)",
               RESOLUTION: "resolution multiplier ρ (128–224 px)",
               COMPOUND: "compound scaling (native inputs)"}
FAMILY_OF = {s.name: s.family for s in SWEEPS}


def family_color(family: str) -> str:
    return next((c for prefix, c in FAMILY_PALETTE if family.startswith(prefix)), "#000000")


def series_styles(points: pd.DataFrame) -> tuple[dict, dict]:
    """``(colors, markers)`` per series: a runtime measured here keeps its colour the first
    time it appears; other series (the H200 reference, a user's devices) take the device
    palette in order."""
    colors, markers, used, k = {}, {}, set(), 0
    for series, part in points.groupby("series", sort=False):
        runtime = str(part["runtime"].iloc[0])
        timm = part["implementation"].astype(str).str.startswith("timm").any()
        if runtime in SERIES_COLORS and runtime not in used and not timm:
            colors[series], markers[series] = SERIES_COLORS[runtime], SERIES_MARKERS[runtime]
            used.add(runtime)
        else:
            colors[series], markers[series] = DEVICE_COLORS[k % len(DEVICE_COLORS)], "D"
            k += 1
    return colors, markers


def _primary(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["statistic"] == PRIMARY]


def _errors(y, low, high):
    lo, hi = np.asarray(low, float), np.asarray(high, float)
    ok = np.isfinite(lo) & np.isfinite(hi)
    return np.where(ok, y - lo, 0.0), np.where(ok, hi - y, 0.0), ok.any()


def latency_vs_macs(points: pd.DataFrame, exponents: pd.DataFrame, sweep_points: pd.DataFrame):
    """One panel per knob (rows) and series (columns): latency against MACs on log–log axes,
    one colour per sweep, session intervals, the fitted line with b in the legend and a grey
    line of slope 1 (latency in proportion to MACs) through the panel's smallest network."""
    pts, ex, sp = _primary(points), _primary(exponents), _primary(sweep_points)
    series = list(dict.fromkeys(pts["series"]))
    knobs = [k for k in (WIDTH, RESOLUTION, COMPOUND) if (ex["knob"] == k).any()]
    fig, axes = new_figure(len(series), len(knobs), width=2.7, height=2.35, squeeze=False)
    for i, knob in enumerate(knobs):
        for j, s in enumerate(series):
            ax = axes[i][j]
            rows = ex[(ex["series"] == s) & (ex["knob"] == knob)]
            handles = []
            for r in rows.itertuples():
                d = sp[(sp["series"] == s) & (sp["sweep"] == r.sweep)].sort_values("macs")
                x, y = d["macs"].to_numpy(float) / 1e6, d["latency_ms"].to_numpy(float)
                color = family_color(r.family)
                lo, hi, any_bar = _errors(y, d["session_low_ms"], d["session_high_ms"])
                if any_bar:
                    ax.errorbar(x, y, yerr=[lo, hi], ls="", lw=0.8, capsize=1.5, color=color)
                ax.plot(x, y, ls="", marker="o", ms=3.5, color=color)
                grid = np.geomspace(x.min(), x.max(), 20)
                ax.plot(grid, np.exp(r.intercept) * (grid * 1e6) ** r.b, color=color, lw=1)
                handles.append(Line2D([], [], color=color, marker="o", ms=3.5,
                                      label=f"{r.sweep}: b = {r.b:.2f}"))
            here = sp[(sp["series"] == s) & sp["sweep"].isin(rows["sweep"])]
            if len(here):
                x0 = float(here["macs"].min()) / 1e6
                y0 = float(here.loc[here["macs"].idxmin(), "latency_ms"])
                grid = np.geomspace(x0, float(here["macs"].max()) / 1e6, 10)
                ax.plot(grid, y0 * grid / x0, color="#888888", lw=0.8, ls="--", zorder=0)
                handles.append(Line2D([], [], color="#888888", lw=0.8, ls="--",
                                      label="slope 1 (∝ MACs)"))
                ax.set_xscale("log")
                ax.set_yscale("log")
                plain_log_axis(ax)
                ax.legend(handles=handles, loc="upper left", fontsize=5.5, handlelength=1.2)
            one_pass = pts.loc[pts["series"] == s, "n_sessions"].max() <= 1
            ax.set_title(f"{s}{' — one pass' if one_pass else ''}\n{KNOB_TITLES[knob]}",
                         fontsize=6.5)
            if i == len(knobs) - 1:
                ax.set_xlabel("MACs (M)")
            if j == 0:
                ax.set_ylabel("latency (ms)")
    fig.suptitle("Within the MobileNet family: latency ∝ MACs^b (minimum; bars: lowest to "
                 "highest session)", fontsize=8)
    return fig


def _interval_rows(ax, table: pd.DataFrame, value: str, low: str, high: str, sess_low: str,
                   sess_high: str, categories: list, colors: dict, markers: dict,
                   reference: float) -> None:
    series = list(dict.fromkeys(table["series"]))
    step = 0.7 / max(1, len(series))
    for j, s in enumerate(series):
        part = table[table["series"] == s].set_index("sweep")
        for i, cat in enumerate(categories):
            if cat not in part.index or not math.isfinite(float(part.loc[cat, value])):
                continue
            r = part.loc[cat]
            yy = len(categories) - 1 - i + ((len(series) - 1) / 2 - j) * step
            if math.isfinite(float(r[low])):
                ax.plot([r[low], r[high]], [yy, yy], color=colors[s], lw=0.8)
            if sess_low and math.isfinite(float(r[sess_low])):
                ax.plot([r[sess_low], r[sess_high]], [yy, yy], color=colors[s], lw=3,
                        alpha=0.5, solid_capstyle="butt")
            ax.plot([r[value]], [yy], ls="", marker=markers[s], ms=3.5, color=colors[s])
    ax.axvline(reference, color="#555555", lw=0.7, zorder=0)
    ax.set_yticks(range(len(categories))[::-1], categories)
    ax.set_ylim(-0.6, len(categories) - 0.4)


def exponents_chart(exponents: pd.DataFrame, colors: dict, markers: dict):
    """b (latency vs MACs, against 1) and e (latency vs multiplier, against the claim's 2) per
    sweep and series: the estimate, its 95 % t interval (thin) and its range over sessions
    (thick, b only)."""
    ex = _primary(exponents)
    cats = list(dict.fromkeys(ex["sweep"]))
    knobbed = [c for c in cats if (ex.loc[ex["sweep"] == c, "knob"] != COMPOUND).any()]
    fig, (left, right) = new_figure(2, 1, width=3.4, height=0.32 * len(cats) + 1.0)
    _interval_rows(left, ex, "b", "b_ci_low", "b_ci_high", "b_session_low", "b_session_high",
                   cats, colors, markers, 1.0)
    left.set_xlabel("b: latency ∝ MACs^b (1 = in proportion)")
    _interval_rows(right, ex[ex["sweep"].isin(knobbed)], "e", "e_ci_low", "e_ci_high", "", "",
                   knobbed, colors, markers, CLAIMED_EXPONENT)
    right.set_xlabel(f"e: latency ∝ multiplier^e ({CLAIMED_EXPONENT:g} = the α², ρ² claim)")
    handles = [Line2D([], [], ls="", marker=markers[s], color=colors[s], label=s)
               for s in dict.fromkeys(ex["series"])]
    handles += [Line2D([], [], color="#555555", lw=0.8, label="95 % t interval"),
                Line2D([], [], color="#555555", lw=3, alpha=0.5,
                       label="b refitted per session (range)")]
    fig.legend(handles=handles, loc="outside lower center", ncols=2)
    fig.suptitle("Fitted exponents per sweep (minimum)", fontsize=8)
    return fig


def lite_chart(lite: pd.DataFrame, colors: dict, markers: dict):
    """EfficientNet-Lite_i / EfficientNet-B_i per pair and series: the measured ratio (filled,
    session interval) and the ratio at equal MACs along B's fitted curve (hollow)."""
    d = _primary(lite)
    cats = [f"Lite{p} / B{p}" for p in sorted(d["pair"].unique())]
    series = list(dict.fromkeys(d["series"]))
    fig, ax = new_figure(width=5.0, height=0.34 * len(cats) * max(1, len(series)) / 2 + 1.2)
    step = 0.7 / max(1, len(series))
    for j, s in enumerate(series):
        part = d[d["series"] == s].set_index("pair")
        for i, pair in enumerate(sorted(d["pair"].unique())):
            if pair not in part.index:
                continue
            r = part.loc[pair]
            yy = len(cats) - 1 - i + ((len(series) - 1) / 2 - j) * step
            if math.isfinite(r["ratio_low"]):
                ax.errorbar([r["ratio"]], [yy], xerr=[[r["ratio"] - r["ratio_low"]],
                                                      [r["ratio_high"] - r["ratio"]]],
                            ls="", lw=0.8, capsize=1.5, color=colors[s])
            ax.plot([r["ratio"]], [yy], ls="", marker=markers[s], ms=4, color=colors[s])
            ax.plot([r["equal_macs_ratio"]], [yy], ls="", marker=markers[s], ms=4,
                    mfc="none", color=colors[s])
    ax.axvline(1.0, color="#555555", lw=0.7, zorder=0)
    ax.set_yticks(range(len(cats))[::-1], cats)
    ax.set_ylim(-0.6, len(cats) - 0.4)
    ax.set_xscale("log")
    ax.margins(x=0.1)
    ax.autoscale_view()
    plain_log_axis(ax, "x")
    ax.set_xlabel("latency of EfficientNet-Lite_i / EfficientNet-B_i (×)")
    handles = [Line2D([], [], ls="", marker=markers[s], color=colors[s], label=s)
               for s in series]
    handles += [Line2D([], [], ls="", marker="o", color="#555555", label="measured (bars: "
                       "session interval)"),
                Line2D([], [], ls="", marker="o", mfc="none", color="#555555",
                       label="at equal MACs (B's fitted curve)")]
    fig.legend(handles=handles, loc="outside lower center", ncols=2)
    ax.set_title("EfficientNet-Lite (no Squeeze-Excite, ReLU6) against EfficientNet-B "
                 "(minimum)")
    return fig


def _thin(values: list, factor: float = 1.15) -> list:
    """``values`` (ascending) without those closer than ``factor`` to the last kept one."""
    kept = []
    for v in values:
        if not kept or v / kept[-1] >= factor:
            kept.append(v)
    return kept


def counts_chart(count_scaling: pd.DataFrame):
    """The claim on counts: MACs relative to the sweep's base against the multiplier, one line
    per sweep, the claim (multiplier²) dashed."""
    knobs = [k for k in (WIDTH, RESOLUTION) if (count_scaling["knob"] == k).any()]
    fig, axes = new_figure(len(knobs), 1, width=3.0, height=2.6, squeeze=False)
    for ax, knob in zip(axes[0], knobs):
        part = count_scaling[count_scaling["knob"] == knob]
        for sweep, d in part.groupby("sweep", sort=False):
            d = d.sort_values("multiplier")
            ax.plot(d["multiplier"], d["macs_ratio"], marker="o", ms=3.5, lw=1,
                    color=family_color(FAMILY_OF.get(sweep, sweep)), label=sweep)
        grid = np.geomspace(part["multiplier"].min(), part["multiplier"].max(), 20)
        name = "α" if knob == WIDTH else "ρ"
        ax.plot(grid, grid ** CLAIMED_EXPONENT, color="#000000", lw=0.8, ls="--",
                label=f"{name}² (the claim)", zorder=0)
        ax.set_xscale("log")
        ax.set_yscale("log")
        plain_log_axis(ax, "y")
        ticks = _thin(sorted(part["multiplier"].unique()))
        plain_log_axis(ax, "x", minimum=min(3, len(ticks)), preferred=ticks)
        if knob == RESOLUTION:
            size = part.groupby("multiplier")["input_size"].first()
            ax.set_xticks(ticks, [f"{t:.2f}\n{size[t]} px" for t in ticks])
        ax.set_xlabel(name + (" = input / native input" if knob == RESOLUTION else ""))
        ax.set_ylabel("MACs / MACs at multiplier 1")
        ax.set_title(KNOB_TITLES[knob])
        ax.legend(loc="upper left", fontsize=6)
    fig.suptitle("The family's claim on counts: MACs ∝ α², ρ² (fvcore, deployed form)",
                 fontsize=8)
    return fig


def all_figures(points, exponents, sweep_points, lite, count_scaling) -> dict:
    """Every figure of notebook 08 by file name."""
    colors, markers = series_styles(_primary(points))
    out = {"scaling_latency_vs_macs": latency_vs_macs(points, exponents, sweep_points),
           "scaling_exponents": exponents_chart(exponents, colors, markers)}
    if len(_primary(lite)):
        out["scaling_efficientnet_lite_vs_b"] = lite_chart(lite, colors, markers)
    if len(count_scaling):
        out["scaling_counts_alpha_rho"] = counts_chart(count_scaling)
    return out
