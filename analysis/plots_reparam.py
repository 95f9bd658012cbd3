"""Figures of notebook 04 (MobileOne's re-parameterization); they only draw.

House style from :mod:`analysis.plots`; colour-blind-safe Okabe–Ito colours, one per form
(train-time / fused / plain Sequential) and one per runtime, the same in every figure; linear
axes start at zero so bar lengths compare honestly.
"""

from __future__ import annotations

import pandas as pd

from analysis import plots

#: Okabe–Ito colours (colour-blind safe).
FORM_COLORS = {"train": "#E69F00", "fused": "#0072B2", "sequential": "#009E73"}
FORM_LABELS = {"train": "train-time (k branches)", "fused": "fused (re-parameterized)",
               "sequential": "plain nn.Sequential"}
RUNTIME_COLORS = getattr(plots, "RUNTIME_COLORS", {"torch": "#D55E00", "onnxruntime": "#56B4E9"})
RUNTIME_LABELS = {"torch": "PyTorch eager", "onnxruntime": "ONNX Runtime"}
#: Line style and marker per runtime where colour already encodes the form.
RUNTIME_LINES = ("-", ":")
RUNTIME_MARKERS = ("o", "s")


def _runtime_color(runtime: str) -> str:
    return RUNTIME_COLORS.get(runtime, "#444444")


def plot_fusing_latency(speedups: pd.DataFrame):
    """Min latency of the train-time and the fused form per variant (official k), one panel
    per runtime; bars from zero on a linear axis, speed-up (train / fused) under each pair."""
    runtimes = list(dict.fromkeys(speedups["runtime"]))
    fig, axes = plots.new_figure(ncols=len(runtimes), width=3.2, height=2.7, squeeze=False)
    for ax, runtime in zip(axes[0], runtimes):
        part = speedups[speedups["runtime"] == runtime].reset_index(drop=True)
        xs = range(len(part))
        for j, form in enumerate(("train", "fused")):
            ax.bar([x + (j - 0.5) * 0.38 for x in xs], part[f"{form}_ms"], width=0.38,
                   color=FORM_COLORS[form], label=FORM_LABELS[form])
        ax.set_xticks(list(xs), [f"{v}\n{s:.1f}×" for v, s in zip(part["variant"], part["speedup"])])
        ax.set_ylim(0, float(part[["train_ms", "fused_ms"]].max().max()) * 1.12)
        ax.set_ylabel("latency, min of runs (ms)")
        ax.set_title(RUNTIME_LABELS.get(runtime, runtime))
    fig.legend(*axes[0][0].get_legend_handles_labels(), loc="outside upper center", ncols=2)
    fig.supxlabel("variant and speed-up of fusing (train-time / fused)", fontsize=8)
    return fig


def plot_k_sweep(sweep: pd.DataFrame):
    """The k sweep of S0: latency (per runtime), memory traffic and operators against k, for
    the train-time and the fused form (colour = form, marker = runtime); linear axes from 0."""
    from matplotlib.lines import Line2D

    fig, axes = plots.new_figure(ncols=3, width=2.5, height=2.5, squeeze=False)
    ax_lat, ax_mem, ax_ops = axes[0]
    runtimes = list(dict.fromkeys(sweep["runtime"]))
    for (runtime, form), part in sweep.groupby(["runtime", "form"], sort=False):
        j = runtimes.index(runtime)
        ax_lat.plot(part["k"], part["min_ms"], RUNTIME_LINES[j % len(RUNTIME_LINES)],
                    marker=RUNTIME_MARKERS[j % len(RUNTIME_MARKERS)], ms=3.5, color=FORM_COLORS[form])
    one = sweep.drop_duplicates(["k", "form"])
    for form, part in one.groupby("form", sort=False):
        ax_mem.plot(part["k"], part["memory_bytes"] / 1e6, "-", marker="o", ms=3.5,
                    color=FORM_COLORS[form])
        ax_ops.plot(part["k"], part["operators"], "-", marker="o", ms=3.5, color=FORM_COLORS[form])
    for ax, label in ((ax_lat, "latency, min (ms)"), (ax_mem, "memory traffic (MB, est.)"),
                      (ax_ops, "operators in the graph")):
        ax.set_xlabel("k (conv branches)")
        ax.set_ylabel(label)
        ax.set_ylim(0, ax.get_ylim()[1] * 1.05)
        ax.set_xticks(sorted(set(sweep["k"])))
    ax_lat.set_title("latency")
    ax_mem.set_title("memory traffic")
    ax_ops.set_title("operators")
    handles = [Line2D([], [], color=FORM_COLORS[f], lw=2, label=FORM_LABELS[f])
               for f in ("train", "fused")]
    handles += [Line2D([], [], color="#555555", ls=RUNTIME_LINES[j % len(RUNTIME_LINES)],
                       marker=RUNTIME_MARKERS[j % len(RUNTIME_MARKERS)], ms=3.5,
                       label=RUNTIME_LABELS.get(r, r)) for j, r in enumerate(runtimes)]
    fig.legend(handles=handles, loc="outside upper center", ncols=len(handles), handlelength=2.5)
    return fig


def plot_ceiling_fraction(achieved: pd.DataFrame):
    """Achieved GFLOP/s of each fused variant (2 × MACs / min latency) as a share of the
    measured matmul ceiling, bars per runtime side by side; linear axis from zero."""
    variants = list(dict.fromkeys(achieved["variant"]))
    runtimes = list(dict.fromkeys(achieved["runtime"]))
    fig, ax = plots.new_figure(width=3.6, height=2.7)
    width = 0.8 / len(runtimes)
    for j, runtime in enumerate(runtimes):
        part = achieved[achieved["runtime"] == runtime].set_index("variant")
        xs = [i + (j - (len(runtimes) - 1) / 2) * width for i in range(len(variants))]
        ax.bar(xs, [100 * part["fraction_of_ceiling"].get(v, float("nan")) for v in variants],
               width=width, color=_runtime_color(runtime), label=RUNTIME_LABELS.get(runtime, runtime))
    ceiling = float(achieved["ceiling_gflops"].iloc[0])
    ax.axhline(100, color="k", lw=0.8)
    top = max(110.0, float(achieved["fraction_of_ceiling"].max()) * 100 * 1.1)
    ax.set_ylim(0, top)
    ax.set_xticks(range(len(variants)), variants)
    ax.set_ylabel("share of matmul ceiling (%)")
    ax.set_title(f"fused models vs the measured ceiling ({ceiling:.0f} GFLOP/s = 100 %)",
                 fontsize=8)
    fig.legend(loc="outside upper center", ncols=len(runtimes))
    return fig


def plot_sequential_ratio(sequential: pd.DataFrame, target: float = 1.05):
    """Fused / plain-Sequential latency per variant (interleaved timing; min and median) as
    dots around 1×, with the target band shaded."""
    fig, ax = plots.new_figure(width=3.4, height=2.4)
    xs = range(len(sequential))
    ax.axhspan(2 - target, target, color="#999999", alpha=0.2, lw=0, label=f"±{target - 1:.0%}")
    ax.axhline(1.0, color="k", lw=0.8)
    ax.plot(list(xs), sequential["ratio_min"], "o", color=FORM_COLORS["fused"], label="min of runs")
    ax.plot(list(xs), sequential["ratio_median"], "s", mfc="none", color=FORM_COLORS["sequential"],
            label="median of runs")
    ax.set_xticks(list(xs), list(sequential["variant"]))
    lo = min(0.9, float(sequential[["ratio_min", "ratio_median"]].min().min()) - 0.02)
    hi = max(1.1, float(sequential[["ratio_min", "ratio_median"]].max().max()) + 0.02)
    ax.set_ylim(lo, hi)
    ax.set_ylabel("fused / plain Sequential (×)")
    fig.legend(loc="outside upper center", ncols=3)
    return fig
