"""One house style for every figure of the study; plotting functions only draw.

Each figure is a function that takes already-computed numbers (a DataFrame or arrays), draws,
and returns the ``matplotlib.figure.Figure``; statistics live in :mod:`analysis.stats`.
:func:`save_figure` writes PNG and PDF under ``figures/`` (or a given folder) with a file name
that says what the figure is.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt  # headless machines fall back to Agg; Jupyter keeps inline

from analysis import paths

#: Colours by model family (paper Figure 2: transformers, convolutional models, MobileOne).
FAMILY_COLORS = {
    "transformer": "#1f77b4",
    "conv": "#7f7f7f",
    "mobileone": "#d62728",
    "ablation": "#2ca02c",
    "ablation_extra": "#98df8a",
    "timm": "#c7c7c7",
    "timm_mobile": "#9467bd",
}
FAMILY_LABELS = {"transformer": "Transformers", "conv": "Convolutional", "mobileone": "MobileOne",
                 "ablation": "Ablation network",
                 "ablation_extra": "Ablation network (extra)",
                 "timm": "timm models", "timm_mobile": "timm, mobile-sized"}
#: Colours for data sources in side-by-side comparisons (paper vs. our runtimes vs. devices).
SOURCE_COLORS = ["#444444", "#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]

HOUSE_RC = {
    "figure.dpi": 110,
    "savefig.dpi": 200,
    "savefig.bbox": "tight",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
}


def house_style() -> None:
    """Apply the project's matplotlib style (idempotent)."""
    plt.rcParams.update(HOUSE_RC)


def new_figure(ncols: int = 1, nrows: int = 1, width: float = 3.4, height: float = 2.8, **kw):
    """``(fig, axes)`` in the house style; ``width``/``height`` are per panel, in inches."""
    house_style()
    return plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows),
                        constrained_layout=True, **kw)


def save_figure(fig, name: str, directory: str | Path | None = None,
                formats: tuple[str, ...] = ("png", "pdf")) -> list[Path]:
    """Write ``fig`` as ``<directory>/<name>.<fmt>`` for each format; returns the paths.

    ``directory`` defaults to the project's ``figures/`` folder.
    """
    folder = Path(directory) if directory is not None else paths.FIGURES
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        out = folder / f"{name}.{fmt}"
        meta = {"CreationDate": None} if fmt == "pdf" else None  # reproducible PDF bytes
        fig.savefig(out, format=fmt, metadata=meta)
        written.append(out)
    return written


def publish(fig, name: str, directory: str | Path | None = None) -> list[Path]:
    """Save ``fig`` (:func:`save_figure`), show it inline when running in a notebook, close it;
    returns the files written."""
    written = save_figure(fig, name, directory)
    try:
        from IPython import get_ipython

        if get_ipython() is not None:
            from IPython.display import display

            display(fig)
    except ImportError:  # pragma: no cover - IPython is a dependency of the notebooks only
        pass
    plt.close(fig)
    return written


def _plain_log_axis(axis) -> None:
    """Label a log axis with plain numbers (1, 10, 100) and no minor-tick labels."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def _family_legend(ax, families) -> None:
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], marker="o", ls="", color=FAMILY_COLORS.get(f, "k"),
                      label=FAMILY_LABELS.get(f, f)) for f in families]
    ax.legend(handles=handles, loc="best")


def plot_latency_vs_metrics(data, metrics=("macs", "params"), *, device: str = "",
                            metric_labels: dict | None = None, log: bool = True,
                            point_size: float = 22):
    """Paper Figure 2: latency against each cost metric, one panel per metric.

    ``data``: one row per model with columns ``model``, ``family``, ``latency_ms``, the metric
    columns, and optionally ``label`` (the model's Figure 2 number, or its name). Points are
    coloured by family and annotated with their label; numbered models are listed under the
    figure as in the paper.
    """
    metric_labels = {"macs": "MACs (M)", "params": "Parameters (M)", **(metric_labels or {})}
    fig, axes = new_figure(ncols=len(metrics), width=3.6, height=3.0, squeeze=False)
    labels = data["label"] if "label" in data else data["model"]
    scale = {"macs": 1e6, "params": 1e6}
    for ax, metric in zip(axes[0], metrics):
        x = data[metric] / scale.get(metric, 1)
        ax.scatter(x, data["latency_ms"], s=point_size, zorder=3, linewidths=0,
                   c=[FAMILY_COLORS.get(f, "k") for f in data["family"]])
        for xi, yi, text in zip(x, data["latency_ms"], labels):
            if isinstance(text, str) and text:
                ax.annotate(text, (xi, yi), xytext=(3, 2), textcoords="offset points", fontsize=6.5)
        if log:
            ax.set_xscale("log")
            ax.set_yscale("log")
            _plain_log_axis(ax.xaxis)
            _plain_log_axis(ax.yaxis)
        ax.set_xlabel(metric_labels.get(metric, metric))
        ax.set_ylabel(f"Latency (ms){' — ' + device if device else ''}")
    _family_legend(axes[0][0], [f for f in FAMILY_COLORS if f in set(data["family"])])
    numbered = [(t, m) for t, m in zip(labels, data["model"]) if isinstance(t, str) and t.isdigit()]
    if numbered:
        key = ", ".join(f"{t}: {m}" for t, m in sorted(numbered, key=lambda p: int(p[0])))
        fig.text(0.01, -0.02, key, fontsize=6.5, ha="left", va="top", wrap=True)
    return fig


def plot_correlation_ranking(table, *, value: str = "rho", group: str = "device",
                             metric_labels: dict | None = None):
    """Spearman ρ (dot) with its bootstrap CI (bar) for each metric, one panel per device,
    metrics sorted by ρ within each panel.

    ``table``: rows of :func:`analysis.stats.correlation_table` (``device, metric, rho,
    ci_low, ci_high`` …).
    """
    metric_labels = metric_labels or {}
    groups = list(dict.fromkeys(table[group]))
    n_metrics = table["metric"].nunique()
    fig, axes = new_figure(ncols=len(groups), width=2.9, height=0.32 * n_metrics + 0.9,
                           squeeze=False, sharex=True)
    for ax, g in zip(axes[0], groups):
        part = table[table[group] == g].dropna(subset=[value]).sort_values(value)
        y = range(len(part))
        # a percentile interval need not contain the estimate (tiny or tied samples): clip at 0
        lower = (part[value] - part["ci_low"]).clip(lower=0).fillna(0)
        upper = (part["ci_high"] - part[value]).clip(lower=0).fillna(0)
        ax.errorbar(part[value], list(y), xerr=[lower, upper],
                    fmt="o", ms=4, color=SOURCE_COLORS[1], ecolor="#999999", capsize=2)
        ax.set_yticks(list(y), [metric_labels.get(m, m) for m in part["metric"]])
        ax.axvline(0, color="k", lw=0.6)
        ax.set_xlim(-1, 1)
        ax.set_title(str(g))
        ax.set_xlabel("Spearman ρ with latency (95% CI)")
    return fig


def plot_rank_agreement(matrix, *, title: str = ""):
    """Heat map of a square DataFrame of Spearman ρ between devices' latency rankings."""
    import seaborn as sns

    fig, ax = new_figure(width=0.75 * len(matrix) + 1.6, height=0.65 * len(matrix) + 1.0)
    sns.heatmap(matrix, vmin=-1, vmax=1, center=0, cmap="RdBu_r", annot=True, fmt=".2f",
                square=True, cbar_kws={"label": "Spearman ρ", "shrink": 0.8}, ax=ax,
                annot_kws={"fontsize": 7})
    ax.grid(False)
    ax.set_xlabel("")
    ax.set_ylabel("")
    if title:
        ax.set_title(title)
    return fig


def _grouped_bars(table, category: str, value: str, series: str):
    """Figure and axes for side-by-side bars, and per series ``(j, label, xs, ys)``: bar
    centres and values (NaN where the series has no value for a category)."""
    cats = list(dict.fromkeys(table[category]))
    sers = list(dict.fromkeys(table[series]))
    fig, ax = new_figure(width=max(3.4, 0.55 * len(cats) * max(1, len(sers)) / 2 + 1.5),
                         height=2.8)
    width = 0.8 / max(1, len(sers))
    bars = []
    for j, s in enumerate(sers):
        part = table[table[series] == s].set_index(category)[value]
        xs = [i + (j - (len(sers) - 1) / 2) * width for i in range(len(cats))]
        bars.append((j, str(s), xs, [float(part.get(c, float("nan"))) for c in cats]))
    ax.set_xticks(range(len(cats)), cats, rotation=30, ha="right")
    return fig, ax, width, bars


def plot_grouped_bars(table, *, category: str, value: str, series: str,
                      log: bool = True, ylabel: str = "", title: str = ""):
    """Bars of ``value`` per ``category`` (x), one bar per ``series`` side by side (paper-style
    ablation charts: paper iPhone 12 vs our runtimes). Missing values leave a gap."""
    fig, ax, width, bars = _grouped_bars(table, category, value, series)
    for j, label, xs, ys in bars:
        ax.bar(xs, ys, width=width, color=SOURCE_COLORS[j % len(SOURCE_COLORS)], label=label)
    if log:
        ax.set_yscale("log")
        _plain_log_axis(ax.yaxis)
    ax.set_ylabel(ylabel or value)
    if title:
        ax.set_title(title)
    ax.legend()
    return fig


def plot_slowdown_bars(table, *, category: str, value: str, series: str, reference: str = "",
                       log: bool = True, ylabel: str = "", title: str = "",
                       annotate: bool = True):
    """Ratios to a reference (slowdowns, cost ratios) per ``category`` (x), one bar per
    ``series`` side by side, drawn from the 1× line (up: more than the reference, down: less);
    ``annotate`` writes each ratio above its bar. Missing values leave a gap."""
    import math

    fig, ax, width, bars = _grouped_bars(table, category, value, series)
    for j, label, xs, ys in bars:
        ax.bar(xs, [y - 1 for y in ys], bottom=1, width=width,
               color=SOURCE_COLORS[j % len(SOURCE_COLORS)], label=label)
        if annotate:
            for x, y in zip(xs, ys):
                if math.isfinite(y):
                    ax.annotate(f"{y:.3g}" if y < 100 else f"{y:.0f}", (x, y),
                                xytext=(0, 2 if y >= 1 else -2), textcoords="offset points",
                                ha="center", va="bottom" if y >= 1 else "top", fontsize=5.5,
                                rotation=90)
    ax.axhline(1.0, color="k", lw=0.8, zorder=3)
    if log:
        ax.set_yscale("log")
        _plain_log_axis(ax.yaxis)
        lo, hi = ax.get_ylim()
        finite = [v for v in table[value].astype(float) if math.isfinite(v) and v > 0]
        floor, top = min(finite, default=1.0), hi * 2  # room for the labels above the bars
        # below 1: leave ~30 % of the log range under the lowest bar for its label
        bottom = floor / (top / floor) ** 0.3 if annotate and floor < 1 else min(lo, 0.8)
        ax.set_ylim(min(bottom, 0.8), top)
    ax.set_ylabel(ylabel or (f"× {reference}" if reference else value))
    if title:
        ax.set_title(title)
    fig.legend(loc="outside upper center", ncols=1)  # above the axes: clear of the labels
    return fig
