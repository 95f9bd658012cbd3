"""Figures of notebook 05 (the population behind Table 1); they only draw.

House style from :mod:`analysis.plots` (``new_figure``, ``plain_log_axis``): cost metrics in the
project's cost colours, the paper's devices in its series colours, populations in greys (they
are not families); log axes carry at least three labelled ticks in plain numbers; legends sit
below the axes, never over data.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import NullLocator

from analysis import plots
from analysis.constants import METRIC_LABELS
from analysis.plots import new_figure
from analysis.studies.population.compute import METRICS, POPULATION_LABELS, POPULATIONS

#: Cost metrics in the project's cost colours (:data:`analysis.plots.COST_COLORS`); activations
#: get a colour of their own that is none of the family, series or cost colours.
ACTIVATIONS_COLOR = "#AA3377"
METRIC_COLORS = {"macs": plots.COST_COLORS["macs"], "params": plots.COST_COLORS["params"],
                 "activations": ACTIVATIONS_COLOR}
METRIC_MARKERS = {"macs": "o", "params": "s", "activations": "^"}
METRIC_AXIS = {"macs": ("MACs (G)", 1e9), "params": ("Parameters (M)", 1e6),
               "activations": ("Activations (M)", 1e6)}
#: The paper's devices by a keyword of the name (checked in order), in the project's series
#: colours: the paper's iPhone is the ``paper`` series, its other devices the device palette.
DEVICE_COLORS = (("iphone", plots.series_color("paper")), ("phone", plots.series_color("paper")),
                 ("xeon", plots.DEVICE_COLORS[0]), ("desktop", plots.DEVICE_COLORS[0]),
                 ("rtx", plots.DEVICE_COLORS[1]), ("gpu", plots.DEVICE_COLORS[1]))
#: Populations in the scatter (not families): greys and black, told apart by marker too.
POPULATION_STYLE = {"other": "#CCCCCC", "efficient": "#666666", "figure2": "#000000"}
#: Subset distributions (this device, all families mixed): black.
SUBSET_COLOR = "#000000"
#: Largest relative shift of a reference point off its n on the log axis (to keep points at
#: the same n, and the subset bar drawn there, apart).
MAX_DODGE = 0.06


def device_color(name: str, default: str = "#000000") -> str:
    """The colour of one of the paper's devices, found by a keyword of its name."""
    low = name.lower()
    return next((c for key, c in DEVICE_COLORS if key in low), default)


def plot_population_scatter(table, *, efficient, figure2, device: str, title: str = "",
                            metrics=("macs", "params")):
    """Latency against each metric for every model of ``table`` (grey), the efficient regime
    (``efficient``: boolean mask) and the paper's Figure 2 models (``figure2``: mask); log
    axes, one panel per metric."""
    efficient, figure2 = np.asarray(efficient, bool), np.asarray(figure2, bool)
    fig, axes = new_figure(ncols=len(metrics), width=3.3, height=3.0, squeeze=False)
    groups = [(~efficient & ~figure2, POPULATION_STYLE["other"], "o", 5, "other models"),
              (efficient & ~figure2, POPULATION_STYLE["efficient"], "o", 7, "efficient regime"),
              (figure2, POPULATION_STYLE["figure2"], "D", 22, "paper's Figure 2 models")]
    for ax, metric in zip(axes[0], metrics):
        label, scale = METRIC_AXIS.get(metric, (metric, 1))
        for mask, color, marker, size, _ in groups:
            part = table[mask & table[metric].notna().to_numpy()]
            ax.scatter(part[metric] / scale, part["latency_ms"], s=size, c=color, marker=marker,
                       linewidths=0.4 if marker == "D" else 0, edgecolors="w", zorder=3,
                       alpha=1 if marker == "D" else 0.75)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.margins(0.03)
        plots.plain_log_axis(ax)
        ax.set_xlabel(label)
        ax.set_ylabel(f"Latency on {device} (ms)")
    handles = [Line2D([], [], ls="", marker=m, color=c, markeredgecolor="w" if m == "D" else c,
                      markeredgewidth=0.4, label=lab) for _, c, m, _, lab in groups]
    fig.legend(handles=handles, loc="outside lower center", ncols=3)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def plot_population_correlations(corr, *, populations=POPULATIONS, population_labels=None,
                                 metrics=METRICS, metric_labels=None, title: str = ""):
    """Spearman ρ (dot) with its 95 % interval (bar: architectures resampled, or Fisher z where
    each architecture has one row) per population (rows, labelled with their rows and
    architectures) and metric (colour), on one linear axis; ``corr`` has the columns of
    ``population_correlations.csv``."""
    population_labels = population_labels or POPULATION_LABELS
    metric_labels = metric_labels or METRIC_LABELS
    pops = [p for p in populations if p in set(corr["population"])]
    fig, ax = new_figure(width=5.2, height=0.55 * len(pops) + 1.3)
    offsets = np.linspace(-0.22, 0.22, len(metrics))
    for off, metric in zip(offsets, metrics):
        part = corr[corr["metric"] == metric].set_index("population").reindex(pops)
        y = np.arange(len(pops))[::-1] + off
        lower = (part["rho"] - part["ci_low"]).clip(lower=0).fillna(0)
        upper = (part["ci_high"] - part["rho"]).clip(lower=0).fillna(0)
        ax.errorbar(part["rho"], y, xerr=[lower, upper], fmt=METRIC_MARKERS.get(metric, "o"),
                    ms=4, color=METRIC_COLORS.get(metric, "k"), elinewidth=1, capsize=0,
                    label=metric_labels.get(metric, metric))
    n = corr.groupby("population")["n"].max()
    k = corr.groupby("population")["n_architectures"].max() if "n_architectures" in corr else n
    ax.set_yticks(np.arange(len(pops))[::-1], [
        f"{population_labels.get(p, p)}\n({int(n[p])} rows, {int(k[p])} architectures)"
        if int(n[p]) != int(k[p]) else f"{population_labels.get(p, p)}\n({int(n[p])} "
        "architectures)" for p in pops])
    lo = np.nanmin(np.r_[corr["ci_low"].to_numpy(float), corr["rho"].to_numpy(float), 0.0])
    ax.set_xlim(max(-1.0, lo - 0.05), 1.0)
    ax.axvline(0, color="k", lw=0.6)
    methods = set(corr["ci_method"]) if "ci_method" in corr else set()
    ax.set_xlabel("Spearman ρ with latency (95 % CI: architectures resampled"
                  + ("; Fisher z where each has one row)" if len(methods) > 1 else ")"))
    ax.grid(axis="y", visible=False)
    fig.legend(loc="outside lower center", ncols=len(metrics))
    if title:
        ax.set_title(title)
    return fig


def dodged_positions(ns: list[int], occupied=frozenset(),
                     max_dodge: float = MAX_DODGE) -> list[float]:
    """x of reference points at their true ``ns`` on a log axis: points (and a subset bar in
    ``occupied``) sharing an n are spread evenly over n·(1 ± ``max_dodge``), the bar kept at n."""
    out, counts, used = [], {}, {}
    for n in ns:
        counts[n] = counts.get(n, 0) + 1
    for n in ns:
        m, bar = counts[n], n in occupied
        slots = m + bar
        if slots == 1:
            out.append(float(n))
            continue
        factors = np.geomspace(1 - max_dodge, 1 + max_dodge, slots)
        order = [i for i in range(slots) if not (bar and i == slots // 2 and slots % 2)]
        if bar and slots % 2 == 0:  # no centre slot left for the bar: keep the outer ones
            factors = np.geomspace(1 - max_dodge, 1 + max_dodge, slots + 1)
            order = [i for i in range(slots + 1) if i != slots // 2][:m]
        k = used.get(n, 0)
        used[n] = k + 1
        out.append(float(n * factors[order[k]]))
    return out


def plot_subsample_rho(quantiles, *, device: str, population_rho: float | None = None,
                       paper=None, references=None):
    """The sampling distribution of ρ(latency, MACs) per subset size (log x): 5–95 % range
    (thin bar), 25–75 % (thick bar), median (white dot); the whole efficient regime (grey
    line); the paper's Table 1 values (``paper``: ``label, rho``; dashed lines) and reference
    points (``references``: ``label, n, rho, ci_low, ci_high``) beside their n."""
    fig, ax = new_figure(width=5.2, height=3.2)
    wide = quantiles.pivot(index="n", columns="quantile", values="rho").sort_index()
    for n, q in wide.iterrows():
        ax.plot([n, n], [q[0.05], q[0.95]], color=SUBSET_COLOR, lw=1.2, zorder=2)
        ax.plot([n, n], [q[0.25], q[0.75]], color=SUBSET_COLOR, lw=5, zorder=2,
                solid_capstyle="butt")
        ax.plot([n], [q[0.5]], "o", ms=3.5, mfc="white", mec=SUBSET_COLOR, zorder=3)
    handles = [Line2D([], [], color=SUBSET_COLOR, lw=1.2,
                      label=f"random sets of distinct architectures on {device}: 5–95 % (thin), "
                            "25–75 % (thick), median")]
    if population_rho is not None and math.isfinite(population_rho):
        ax.axhline(population_rho, color="#666666", lw=0.8, zorder=1)
        handles.append(Line2D([], [], color="#666666", lw=0.8,
                              label=f"whole efficient regime (ρ = {population_rho:.2f})"))
    styles = iter(["--", ":", "-."])
    for _, p in (paper.iterrows() if paper is not None else []):
        color, ls = device_color(str(p["label"])), next(styles, "--")
        ax.axhline(p["rho"], color=color, ls=ls, lw=1, zorder=1)
        handles.append(Line2D([], [], color=color, ls=ls, lw=1,
                              label=f"paper, Table 1, {p['label']} (ρ = {p['rho']:.2f})"))
    markers = iter(["D", "v", "P", "X", "s", "^"])
    refs = references if references is not None else []
    xs = dodged_positions([int(n) for n in refs["n"]] if len(refs) else [], set(wide.index))
    for x, r in zip(xs, refs.itertuples() if len(refs) else []):
        color, marker = device_color(str(r.label)), next(markers, "o")
        err = [[max(r.rho - r.ci_low, 0)], [max(r.ci_high - r.rho, 0)]] \
            if math.isfinite(r.ci_low) else None
        ax.errorbar([x], [r.rho], yerr=err, fmt=marker, ms=4.5, color=color, mec="k", mew=0.4,
                    elinewidth=0.8, zorder=4)
        share = getattr(r, "share", math.nan)
        where = (f"; {share:.1%} of random sets at or below" if isinstance(share, float)
                 and math.isfinite(share) else "")
        handles.append(Line2D([], [], ls="", marker=marker, color=color, markeredgecolor="k",
                              markeredgewidth=0.4, label=f"{r.label} (n = {r.n}, 95 % CI{where})"))
    if len(refs):
        handles.append(Line2D([], [], ls="", label=f"points drawn at their n; points sharing an "
                              f"n shifted by at most ±{MAX_DODGE:.0%} to stay apart"))
    ns = list(wide.index) + ([int(n) for n in refs["n"]] if len(refs) else [])
    ax.set_xscale("log")
    ax.set_xlim(min(ns) / 1.25, max(ns) * 1.25)
    plots.plain_log_axis(ax, "x", preferred=list(wide.index))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_ylim(min(-0.1, ax.get_ylim()[0]), 1.02)
    ax.set_xlabel("Models per study (subset size, log scale)")
    ax.set_ylabel("Spearman ρ(latency, MACs)")
    fig.legend(handles=handles, loc="outside lower center", ncols=1)
    return fig
