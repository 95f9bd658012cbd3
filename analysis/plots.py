"""One house style for every figure of the study; plotting functions only draw.

Each figure is a function that takes already-computed numbers (a DataFrame or arrays), draws,
and returns the ``matplotlib.figure.Figure``; statistics live in :mod:`analysis.stats`.
:func:`save_figure` writes PNG and PDF under ``figures/`` (or a given folder).

The house style:

- **One colour language**, three separate colour-blind-safe palettes that never share a
  colour: model *families* (:data:`FAMILY_COLORS`, Okabe–Ito), *series* — the paper's
  device, the runtimes measured here, a user's devices (:data:`SERIES_COLORS`, Paul Tol's
  muted scheme) — and *cost kinds* (:data:`COST_COLORS`, Tol's bright scheme with markers).
- **Readable log axes**: at least three labelled ticks in plain numbers (1, 2, 5, 10 …,
  never ``1e+06``), :func:`plain_log_axis`.
- **No overlapping text**: point labels are placed greedily at the nearest candidate
  position that breaks no rule (checked on the rendered extents: inside the axes, clear of
  labels and points, beside its own point, leader lines that never cross,
  :func:`place_labels`); a name that finds none becomes a number listed in the figure's key.
- Legends outside the data (below the axes); sized for a paper column (3.4 in) or page
  (7 in); PNGs at 200 dpi, inline at 150 dpi.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt  # headless machines fall back to Agg; Jupyter keeps inline
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter
from matplotlib.transforms import Bbox

from analysis import paths

#: Model families (paper Figure 2: transformers, convolutional models, MobileOne).
FAMILY_COLORS = {
    "mobileone": "#D55E00",  # vermillion
    "conv": "#0072B2",  # blue
    "transformer": "#009E73",  # bluish green
    "external": "#000000",
}
FAMILY_LABELS = {"transformer": "Transformers", "conv": "Convolutional", "mobileone": "MobileOne",
                 "external": "Your models (own counts)"}
#: Series of latencies: the paper's device, the runtimes measured here, then a user's devices.
SERIES_COLORS = {"paper": "#332288", "torch": "#CC6677", "onnxruntime": "#44AA99"}
DEVICE_COLORS = ("#882255", "#DDCC77", "#88CCEE", "#999933", "#AA4499")
SERIES_MARKERS = {"paper": "s", "torch": "o", "onnxruntime": "^"}
#: Cost kinds in the ablation charts (colour and marker).
COST_COLORS = {"macs": "#4477AA", "elementwise": "#EE6677", "memory_bytes": "#228833",
               "params": "#BBBBBB", "merges": "#CCBB44"}
COST_MARKERS = {"macs": "o", "elementwise": "D", "memory_bytes": "s", "params": "v",
                "merges": "P"}

HOUSE_RC = {
    "figure.dpi": 150,
    "savefig.dpi": 200,
    "savefig.bbox": "tight",
    "font.size": 8,
    "axes.titlesize": 8.5,
    "axes.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "legend.fontsize": 7,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
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
        from IPython import get_ipython  # notebooks only: IPython is their dependency

        if get_ipython() is not None:
            from IPython.display import display  # notebooks only

            display(fig)
    except ImportError:  # pragma: no cover - IPython is a dependency of the notebooks only
        pass
    plt.close(fig)
    return written


def series_color(key: str, index: int = 0) -> str:
    """Colour of a series key (``paper``, ``torch``, ``onnxruntime``, else the ``index``-th
    device colour)."""
    return SERIES_COLORS.get(key, DEVICE_COLORS[index % len(DEVICE_COLORS)])


def series_styles(info) -> tuple[dict, dict]:
    """``(colors, markers)`` by series label for a table with ``series`` and ``key`` columns
    (:func:`analysis.studies.ablation.compute.series_info`): fixed colours for the paper and the
    runtimes measured here, the device palette in order for a user's devices."""
    colors, markers, k = {}, {}, 0
    for label, key in zip(info["series"], info["key"]):
        colors[label] = series_color(key, k)
        markers[label] = SERIES_MARKERS.get(key, "D")
        k += key not in SERIES_COLORS
    return colors, markers


# -- axes ---------------------------------------------------------------------------------------

_MANTISSAS = ((1,), (1, 3), (1, 2, 5), (1, 1.5, 2, 3, 5, 7), (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9))


def plain_number(v: float, _pos=None) -> str:
    """A tick label in plain numbers: ``0.5``, ``20``, ``1,000``, ``100,000``."""
    if v >= 1e4:
        return f"{v:,.0f}"
    return f"{v:g}"


def log_ticks(lo: float, hi: float, minimum: int = 3, preferred=()) -> list[float]:
    """The sparsest 1-2-5-style tick values inside ``[lo, hi]`` with at least ``minimum``;
    the ``preferred`` values (e.g. the sizes a figure shows) instead where at least
    ``minimum`` of them fall inside."""
    chosen = sorted(float(v) for v in preferred if lo <= v <= hi)
    if len(chosen) >= minimum:
        return chosen
    ticks: list[float] = []
    for mantissas in _MANTISSAS:
        ticks = [m * 10.0 ** k for k in range(math.floor(math.log10(lo)) - 1,
                                              math.ceil(math.log10(hi)) + 1)
                 for m in mantissas]
        ticks = [t for t in ticks if lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9)]
        if len(ticks) >= minimum and len(ticks) <= 8:
            return ticks
        if len(ticks) > 8 and len(mantissas) > 1:
            return ticks[:: max(1, len(ticks) // 6)]
    return ticks


def plain_log_axis(ax, which: str = "both", minimum: int = 3, preferred=()) -> None:
    """Log axis with ≥ ``minimum`` labelled ticks in plain numbers (``preferred`` values where
    enough fall inside, :func:`log_ticks`); widens the limits a little when the data span too
    small a range for that."""
    for name in ("x", "y") if which == "both" else (which,):
        axis = getattr(ax, f"{name}axis")
        get, set_ = getattr(ax, f"get_{name}lim"), getattr(ax, f"set_{name}lim")
        lo, hi = get()
        ticks = log_ticks(lo, hi, minimum, preferred)
        while len(ticks) < minimum:
            lo, hi = lo / 1.15, hi * 1.15
            ticks = log_ticks(lo, hi, minimum, preferred)
        set_(lo, hi)
        axis.set_major_locator(FixedLocator(ticks))
        axis.set_major_formatter(FuncFormatter(plain_number))
        axis.set_minor_formatter(NullFormatter())


def _legend_below(fig, handles, ncols: int = 3) -> None:
    fig.legend(handles=handles, loc="outside lower center", ncols=min(ncols, len(handles)))


def family_handles(families):
    """Legend handles, one coloured dot per model family (:data:`FAMILY_COLORS`)."""
    return [Line2D([], [], marker="o", ls="", color=FAMILY_COLORS.get(f, "#000000"),
                   label=FAMILY_LABELS.get(f, f)) for f in families]


# -- text placement ----------------------------------------------------------------------------

def text_overlaps(fig) -> list[tuple[str, str]]:
    """Pairs of visible, non-empty texts of ``fig`` (point labels, tick labels, titles,
    axis labels) whose rendered bounding boxes overlap — the figure test's check."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = []
    for ax in fig.axes:
        texts = list(ax.texts) + ax.get_xticklabels() + ax.get_yticklabels()
        for t in texts:
            if t.get_visible() and t.get_text().strip():  # the text itself, not a leader line
                boxes.append((t.get_text(), Text.get_window_extent(t, renderer)))
    out = []
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            a, b = boxes[i][1], boxes[j][1]
            if a.overlaps(b) and a.intersection(a, b) is not None:
                inter = a.intersection(a, b)
                if inter.width > 0.5 and inter.height > 0.5:
                    out.append((boxes[i][0], boxes[j][0]))
    return out


#: Candidate label offsets in points (dx < 0: the text ends there), nearest first; beyond the
#: first ring a leader line joins label and point.
_OFFSETS = [(d * dx, d * dy) for d in (1, 2, 3.2, 4.5, 6, 8, 10.5)
            for dx, dy in ((1, 0.5), (1, -1.6), (-1, 0.5), (-1, -1.6), (0, 1.4), (0, -2.6),
                           (1.4, -0.5), (-1.4, -0.5))]
_RING = 8


def _distance(box: Bbox, x: float, y: float) -> float:
    dx = max(box.x0 - x, 0.0, x - box.x1)
    dy = max(box.y0 - y, 0.0, y - box.y1)
    return math.hypot(dx, dy)


def _crosses(p: tuple, q: tuple, r: tuple, s: tuple) -> bool:
    """Segments pq and rs cross (proper intersection)."""
    def side(a, b, c):
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
    return (side(p, q, r) * side(p, q, s) < 0) and (side(r, s, p) * side(r, s, q) < 0)


def _anchor(box: Bbox, x: float, y: float) -> tuple[float, float]:
    """The point of ``box`` nearest to (x, y): where a leader line meets the label."""
    return min(max(x, box.x0), box.x1), min(max(y, box.y0), box.y1)


def _segment_hits(segment: tuple, box: Bbox, steps: int = 12) -> bool:
    (x0, y0), (x1, y1) = segment
    return any(box.contains(x0 + (x1 - x0) * t / steps, y0 + (y1 - y0) * t / steps)
               for t in range(1, steps))


def _problems(box, line, i, pts, inside, placed, leaders, point_boxes) -> int:
    """How many rules a candidate label breaks (0: it may be placed): inside the axes, clear of
    placed labels and other points; without a leader line nearer to its own point than to any
    other; with one, a line that crosses no other and passes through no label or point."""
    own = _distance(box, *pts[i])
    others = [j for j in range(len(pts)) if j != i]
    problems = [not (inside.x0 <= box.x0 and box.x1 <= inside.x1 and inside.y0 <= box.y0
                     and box.y1 <= inside.y1),
                any(box.overlaps(b) for b in placed),
                any(box.overlaps(point_boxes[j]) for j in others)]
    if line is None:
        problems.append(any(own >= _distance(box, *pts[j]) for j in others))
    else:
        problems += [any(_crosses(*line, *seg) for seg in leaders),
                     any(_segment_hits(line, b) for b in placed),
                     any(_segment_hits(line, point_boxes[j]) for j in others)]
    return sum(problems)


def place_labels(ax, xs, ys, labels, fontsize: float = 6) -> list[int]:
    """Place point labels greedily, nearest candidate first (:data:`_OFFSETS`), at the first
    candidate that breaks none of the rules of :func:`_problems` — so a label sits beside its
    own point, and leader lines never cross; where every candidate breaks one, at the one that
    breaks fewest. Returns the indices of labels that found no clean place."""
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    inside = ax.get_window_extent(renderer)
    pts = ax.transData.transform(np.column_stack([xs, ys]).astype(float))
    r = 3.0 * fig.dpi / 72
    point_boxes = [Bbox.from_extents(px - r, py - r, px + r, py + r) for px, py in pts]
    placed: list[Bbox] = []
    leaders: list[tuple] = []
    failed = []
    for i in sorted((i for i, t in enumerate(labels) if t), key=lambda i: -pts[i][1]):
        best = None
        for k, (dx, dy) in enumerate(_OFFSETS):
            ha = "left" if dx > 0 else "right" if dx < 0 else "center"
            ann = ax.annotate(labels[i], (xs[i], ys[i]), xytext=(3 * dx, 3 * dy),
                              textcoords="offset points", ha=ha, va="bottom", fontsize=fontsize,
                              arrowprops=({"arrowstyle": "-", "color": "#444444", "lw": 0.5,
                                           "shrinkA": 0, "shrinkB": 1} if k >= _RING else None))
            ann.set_in_layout(False)
            ann.update_positions(renderer)
            box = Text.get_window_extent(ann, renderer)  # the text, without its leader line
            line = (tuple(pts[i]), _anchor(box, *pts[i])) if k >= _RING else None
            n = _problems(box, line, i, pts, inside, placed, leaders, point_boxes)
            if best is None or n < best[0]:
                if best is not None:
                    best[1].remove()
                best = (n, ann, box, line)
            else:
                ann.remove()
            if n == 0:
                break
        n, ann, box, line = best
        placed.append(box)
        if line is not None:
            leaders.append(line)
        if n:
            failed.append(i)
    return failed


# -- ablations ---------------------------------------------------------------------------------

def plot_dot_rows(table, *, category: str, value: str, series: str, colors: dict,
                  markers: dict | None = None, reference_line: float | None = None,
                  xlabel: str = "", title: str = "", log: bool = True,
                  low: str | None = None, high: str | None = None):
    """Horizontal dot plot: one row per ``category`` (in order), one marker per ``series``
    (dodged vertically), ``value`` on the x axis (log by default), an optional reference line
    (1× for ratios), and horizontal error bars from the ``low``/``high`` columns where given
    (e.g. the session spread). Missing values draw nothing; the legend sits below the axes."""
    cats = list(dict.fromkeys(table[category]))
    sers = list(dict.fromkeys(table[series]))
    markers = markers or {}
    fig, ax = new_figure(width=3.4, height=max(0.3, 0.09 * len(sers)) * len(cats) + 0.9)
    step = 0.7 / max(1, len(sers))
    for j, s in enumerate(sers):
        part = table[table[series] == s].set_index(category)
        xs = np.array([float(part[value].get(c, np.nan)) for c in cats])
        ys = [len(cats) - 1 - i + (j - (len(sers) - 1) / 2) * step for i in range(len(cats))]
        if low and high:
            lo = np.array([float(part[low].get(c, np.nan)) for c in cats])
            hi = np.array([float(part[high].get(c, np.nan)) for c in cats])
            ok = np.isfinite(lo) & np.isfinite(hi) & np.isfinite(xs)
        if low and high and ok.any():
            ax.errorbar(xs[ok], np.asarray(ys)[ok], xerr=[xs[ok] - lo[ok], hi[ok] - xs[ok]],
                        ls="", lw=0.8, capsize=1.5, color=colors.get(s, "#000000"))
        ax.plot(xs, ys, ls="", ms=4, marker=markers.get(s, "o"), color=colors.get(s, "#000000"))
    if reference_line is not None:
        ax.axvline(reference_line, color="#555555", lw=0.7, zorder=0)
    ax.set_yticks(range(len(cats))[::-1], cats)
    ax.set_ylim(-0.6, len(cats) - 0.4)
    if log:
        ax.set_xscale("log")
        ax.margins(x=0.08)
        ax.autoscale_view()
        plain_log_axis(ax, "x")
    ax.set_xlabel(xlabel or value)
    if title:
        ax.set_title(title)
    handles = [Line2D([], [], ls="", marker=markers.get(s, "o"), color=colors.get(s, "#000000"),
                      label=str(s)) for s in sers]
    _legend_below(fig, handles, ncols=2)
    return fig


__all__ = ["COST_COLORS", "COST_MARKERS", "DEVICE_COLORS", "FAMILY_COLORS", "FAMILY_LABELS",
           "HOUSE_RC", "SERIES_COLORS", "SERIES_MARKERS", "family_handles", "house_style",
           "log_ticks", "new_figure", "place_labels", "plain_log_axis", "plain_number",
           "plot_dot_rows", "publish", "save_figure", "series_color", "series_styles",
           "text_overlaps"]
