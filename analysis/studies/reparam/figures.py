"""Notebook 04's figures (MobileOne's re-parameterization); they only draw.

House style from :mod:`analysis.plots` and the project's one colour language: runtimes in
:data:`analysis.plots.SERIES_COLORS`; the *forms* (train-time / fused / plain Sequential) are
not families, so they are neutral greys/black told apart by line style, marker and hatch (never
a family colour). Every title names the device (CPU), the threads and the statistic; linear
axes start at zero so bar lengths compare honestly. Every latency carries its session interval
(error bars: lowest and highest session), and the noise bands drawn are the measured ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from analysis import noise, plots
from analysis.text import percent

#: Neutral greys per form (forms are not model families); told apart by style as well.
FORM_COLORS = {"train": "#222222", "fused": "#999999", "sequential": "#666666"}
FORM_LINES = {"train": "-", "fused": "--", "sequential": ":"}
FORM_MARKERS = {"train": "o", "fused": "s", "sequential": "^"}
FORM_HATCHES = {"train": "", "fused": "////", "sequential": ".."}
FORM_LABELS = {"train": "train-time (k branches)", "fused": "fused (re-parameterized)",
               "sequential": "plain nn.Sequential"}
RUNTIME_COLORS = {k: plots.SERIES_COLORS[k] for k in ("torch", "onnxruntime")}
RUNTIME_LABELS = {"torch": "PyTorch eager", "onnxruntime": "ONNX Runtime"}


def _runtime_color(runtime: str) -> str:
    return RUNTIME_COLORS.get(runtime, "#444444")


def measurement_label(device: str = "", threads: int | None = None, statistic: str = "") -> str:
    """``"AMD EPYC, 1 thread, min of runs"`` for a figure title (empty parts left out; the
    threads only when the device label does not already name them)."""
    parts = [device or ""]
    if threads and "thread" not in (device or ""):
        parts.append(f"{threads} thread{'s' if threads != 1 else ''}")
    parts.append(statistic)
    return ", ".join(p for p in parts if p)


def _suptitle(fig, title: str, device: str, threads, statistic: str) -> None:
    label = measurement_label(device, threads, statistic)
    fig.suptitle(f"{title}\n{label}" if label else title, fontsize=8.5)


def _yerr(values, low, high) -> list:
    """Error bars (below, above) from an interval around ``values``."""
    v = pd.Series(values, dtype=float).to_numpy()
    return [v - pd.Series(low, dtype=float).to_numpy(), pd.Series(high, dtype=float).to_numpy() - v]


ERR = dict(ecolor="#000000", elinewidth=0.7, capsize=2)


def plot_fusing_latency(speedups: pd.DataFrame, device: str = "", threads: int | None = None):
    """Latency of the train-time and the fused form per variant (official k; median over
    sessions of the minimum over runs, error bars: lowest and highest session), one panel per
    runtime; bars from zero on a linear axis, speed-up (train / fused) under each pair, marked
    ``≈`` where the noise model judges it within noise."""
    runtimes = list(dict.fromkeys(speedups["runtime"]))
    fig, axes = plots.new_figure(ncols=len(runtimes), width=3.2, height=2.7, squeeze=False)
    for ax, runtime in zip(axes[0], runtimes):
        part = speedups[speedups["runtime"] == runtime].reset_index(drop=True)
        xs = range(len(part))
        for j, form in enumerate(("train", "fused")):
            ax.bar([x + (j - 0.5) * 0.38 for x in xs], part[f"{form}_ms"], width=0.38,
                   yerr=_yerr(part[f"{form}_ms"], part[f"{form}_low_ms"],
                              part[f"{form}_high_ms"]), error_kw=ERR,
                   color=FORM_COLORS[form], hatch=FORM_HATCHES[form], edgecolor="#000000",
                   lw=0.5, label=FORM_LABELS[form])
        within = part["verdict"].eq(noise.WITHIN)
        ax.set_xticks(list(xs), [f"{v}\n{'≈ ' if w else ''}{s:.1f}×"
                                 for v, s, w in zip(part["variant"], part["speedup"], within)])
        ax.set_ylim(0, float(part[["train_high_ms", "fused_high_ms"]].max().max()) * 1.12)
        ax.set_ylabel("latency, min of runs (ms)")
        ax.set_xlabel("variant; speed-up (train / fused; ≈: within noise)")
        ax.set_title(RUNTIME_LABELS.get(runtime, runtime), color=_runtime_color(runtime))
    _suptitle(fig, "Train-time vs fused MobileOne (bars: sessions)", device, threads,
              "min of runs")
    fig.legend(*axes[0][0].get_legend_handles_labels(), loc="outside lower center", ncols=2)
    return fig


def plot_k_sweep(sweep: pd.DataFrame, bands: dict, device: str = "",
                 threads: int | None = None):
    """The k sweep of S0: latency per runtime (error bars: sessions; shaded: the measured noise
    band of the runtime around the fused latency, which is one network for every k), memory
    traffic and operators against k, for the train-time and the fused form (colour = runtime,
    line style and marker = form, black for the runtime-free counts); linear axes from 0."""
    fig, axes = plots.new_figure(ncols=3, width=2.5, height=2.6, squeeze=False)
    ax_lat, ax_mem, ax_ops = axes[0]
    runtimes = list(dict.fromkeys(sweep["runtime"]))
    ks = sorted(set(sweep["k"]))
    for (runtime, form), part in sweep.groupby(["runtime", "form"], sort=False):
        color = _runtime_color(runtime)
        ax_lat.errorbar(part["k"], part["min_ms"], yerr=_yerr(part["min_ms"], part["min_low_ms"],
                                                              part["min_high_ms"]),
                        fmt=FORM_LINES[form], marker=FORM_MARKERS[form], ms=3.5, color=color,
                        elinewidth=0.7, capsize=2)
        band = bands.get(runtime, float("nan"))
        if form == "fused" and band == band:
            ms = float(part["min_ms"].iloc[0])
            ax_lat.fill_between([ks[0], ks[-1]], ms / (1 + band), ms * (1 + band), color=color,
                                alpha=0.3, lw=0)
    one = sweep.drop_duplicates(["k", "form"])
    for form, part in one.groupby("form", sort=False):
        style = dict(ls=FORM_LINES[form], marker=FORM_MARKERS[form], ms=3.5, color="#000000")
        ax_mem.plot(part["k"], part["memory_bytes"] / 1e6, **style)
        ax_ops.plot(part["k"], part["operators"], **style)
    for ax, label in ((ax_lat, "latency, min of runs (ms)"), (ax_mem, "memory traffic (MB, est.)"),
                      (ax_ops, "operators in the graph")):
        ax.set_xlabel("k (conv branches)")
        ax.set_ylabel(label)
        ax.set_ylim(0, ax.get_ylim()[1] * 1.05)
        ax.set_xticks(ks)
    ax_lat.set_title("latency")
    ax_mem.set_title("memory traffic")
    ax_ops.set_title("operators")
    _suptitle(fig, "S0 k sweep", device, threads, "min of runs")
    handles = [Line2D([], [], color="#000000", ls=FORM_LINES[f], marker=FORM_MARKERS[f], ms=3.5,
                      label=FORM_LABELS[f]) for f in ("train", "fused")]
    handles += [Line2D([], [], color=_runtime_color(r), lw=2, label=RUNTIME_LABELS.get(r, r))
                for r in runtimes]
    widths = ", ".join(f"±{percent(bands[r], 1)} ({RUNTIME_LABELS.get(r, r).split()[0]})"
                       for r in runtimes if r in bands)
    handles.append(Patch(color="#999999", alpha=0.4, lw=0,
                         label=f"measured noise band around fused: {widths}"))
    fig.legend(handles=handles, loc="outside lower center", ncols=3, handlelength=2.5)
    return fig


def plot_reference_share(throughput: pd.DataFrame, device: str = "",
                         threads: int | None = None):
    """Each fused variant's achieved GFLOP/s as a share of the matmul reference throughput, per
    runtime (error bars: slowest against fastest session); linear axis from zero."""
    variants = list(dict.fromkeys(throughput["variant"]))
    runtimes = list(dict.fromkeys(throughput["runtime"]))
    fig, ax = plots.new_figure(width=3.6, height=2.7)
    width = 0.8 / len(runtimes)
    for j, runtime in enumerate(runtimes):
        part = throughput[throughput["runtime"] == runtime].set_index("variant") \
            .reindex(variants)
        xs = [i + (j - (len(runtimes) - 1) / 2) * width for i in range(len(variants))]
        share = 100 * part["share_of_reference"]
        ax.bar(xs, share, width=width, color=_runtime_color(runtime),
               yerr=_yerr(share, 100 * part["share_low"], 100 * part["share_high"]),
               error_kw=ERR, label=RUNTIME_LABELS.get(runtime, runtime))
    reference = float(throughput["reference_gflops"].iloc[0])
    ax.axhline(100, color="k", lw=0.8)
    top = max(110.0, float(throughput["share_high"].max()) * 100 * 1.1)
    ax.set_ylim(0, top)
    ax.set_xticks(range(len(variants)), variants)
    ax.set_ylabel("share of matmul reference (%)")
    ax.set_xlabel("MobileOne variant (fused)")
    _suptitle(fig, f"Fused models vs matmul reference throughput\n({reference:.0f} GFLOP/s "
                   f"= 100 %; bars: sessions)", device, threads, "min of runs")
    fig.legend(loc="outside lower center", ncols=len(runtimes))
    return fig


def plot_sequential_ratio(sequential: pd.DataFrame, target: float, device: str = "",
                          threads: int | None = None):
    """Fused / plain-Sequential latency per variant, min and median over runs (error bars:
    session intervals of the ratio), around parity; the target as a dashed line inside the
    measured noise band of PyTorch eager around it: a ratio whose band contains the target is
    not decidable within noise."""
    fig, ax = plots.new_figure(width=3.6, height=2.8)
    xs = np.arange(len(sequential))
    band = float(sequential["band"].iloc[0]) if len(sequential) else float("nan")
    if band == band:
        other = (f"; the median's: ±{percent(float(sequential['median_band'].iloc[0]), 1)}"
                 if "median_band" in sequential else "")
        ax.axhspan(target / (1 + band), target * (1 + band), color="#999999", alpha=0.2, lw=0,
                   label=f"target's noise band, shown for the min (±{percent(band, 1)}{other})"
                         ": not decidable inside")
    ax.axhline(1.0, color="k", lw=0.8)
    ax.axhline(target, color="k", lw=0.8, ls="--", label=f"target ≤ {target:g}")
    for dx, stat, mfc, label in ((-0.1, "min", "#000000", "min of runs"),
                                 (0.1, "median", "none", "median of runs")):
        ratio = sequential[f"ratio_{stat}"]
        ax.errorbar(xs + dx, ratio, yerr=_yerr(ratio, sequential[f"ratio_{stat}_low"],
                                               sequential[f"ratio_{stat}_high"]),
                    fmt="o" if stat == "min" else "s", mfc=mfc, color="#000000", ms=4,
                    elinewidth=0.7, capsize=2, label=label)
    ax.set_xticks(list(xs), list(sequential["variant"]))
    cols = [f"ratio_{s}_{e}" for s in ("min", "median") for e in ("low", "high")]
    lo = min(0.9, float(sequential[cols].min().min()) - 0.02)
    hi = max(target * (1 + band) + 0.02 if band == band else 1.1,
             float(sequential[cols].max().max()) + 0.02)
    ax.set_ylim(lo, hi)
    ax.set_ylabel("fused / plain Sequential (×)")
    ax.set_xlabel("MobileOne variant (fused; bars: sessions)")
    _suptitle(fig, "Fused MobileOne vs plain nn.Sequential", device, threads,
              "min and median of runs")
    fig.legend(loc="outside lower center", ncols=2)
    return fig
