"""One house style for every figure of the study; plotting functions only draw.

Each figure is a function that takes already-computed numbers (a DataFrame or arrays), draws,
and returns the ``matplotlib.figure.Figure``; statistics live in :mod:`analysis.stats`.
:func:`save_figure` writes PNG and PDF under ``figures/`` (or a given folder) with a file name
that says what the figure is.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=False)  # headless by default; notebooks keep their inline backend
import matplotlib.pyplot as plt  # noqa: E402

from analysis import paths  # noqa: E402

#: Colours by model family (paper Figure 2: transformers, convolutional models, MobileOne).
FAMILY_COLORS = {
    "transformer": "#1f77b4",
    "conv": "#7f7f7f",
    "mobileone": "#d62728",
    "ablation": "#2ca02c",
}
FAMILY_LABELS = {"transformer": "Transformers", "conv": "Convolutional", "mobileone": "MobileOne",
                 "ablation": "Ablation network"}
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
