"""Every location the project reads or writes, resolved from the repository root.

Nothing in the package or the notebooks builds a path from the current working directory:
a notebook executed by papermill from any folder finds the same data and writes to the same
places. ``MOBILEONE_STUDY_CACHE`` overrides the cache folder (tests point it at a temporary
directory).
"""

from __future__ import annotations

import os
from pathlib import Path

#: The repository root (the folder holding ``analysis/``).
ROOT: Path = Path(__file__).resolve().parent.parent

DATA: Path = ROOT / "data"
#: The paper's tables as shipped, immutable inputs (copied from the paper; see data/README.md).
PAPER_DATA: Path = DATA / "paper"
#: Latency measurements in the project's long CSV format.
LATENCY_DATA: Path = DATA / "latency"
#: Third-party data sets shipped with their licence notes.
EXTERNAL_DATA: Path = DATA / "external"

NOTEBOOKS: Path = ROOT / "notebooks"
#: Results (CSV/JSON) written by the executed notebooks, one sub-folder per notebook.
NOTEBOOK_OUTPUTS: Path = NOTEBOOKS / "outputs"
FIGURES: Path = ROOT / "figures"
BENCHMARKS: Path = ROOT / "benchmarks"


def cache_dir() -> Path:
    """Folder for derived, re-computable data (complexity counts); created on demand."""
    path = Path(os.environ.get("MOBILEONE_STUDY_CACHE", ROOT / ".cache"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def paper_table(name: str) -> Path:
    """Path of one of the paper's tables in ``data/paper`` (e.g. ``"table9_imagenet"``)."""
    path = PAPER_DATA / f"{name}.csv"
    if not path.is_file():
        known = sorted(p.stem for p in PAPER_DATA.glob("*.csv"))
        raise FileNotFoundError(f"{path}: no such paper table; known tables: {', '.join(known)}")
    return path


def relative(path: str | os.PathLike) -> str:
    """``path`` relative to the repository root when inside it (for reports and JSON that
    should not carry this machine's absolute paths), else the path unchanged."""
    p = Path(path)
    try:
        return p.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def user_path(path: str | os.PathLike) -> Path:
    """A path a user gave (a notebook parameter, say): absolute, or relative to the working
    directory when it exists there, else relative to the repository root."""
    p = Path(path).expanduser()
    if p.is_absolute() or p.exists():
        return p
    return ROOT / p


def user_paths(value) -> list[Path]:
    """One user path or a list of them as a list of :func:`user_path` (``None``/``""``: [])."""
    if not value:
        return []
    items = [value] if isinstance(value, (str, os.PathLike)) else list(value)
    return [user_path(v) for v in items]


#: Where re-runs on a user's files write (git-ignored); ``MOBILEONE_STUDY_RUNS`` relocates it.
def runs_dir() -> Path:
    """Folder of re-runs: ``runs/`` at the repository root unless ``MOBILEONE_STUDY_RUNS`` is
    set. Only ``python -m analysis reproduce`` writes the committed study
    (``notebooks/outputs/`` and ``figures/``); everything else goes here."""
    return Path(os.environ.get("MOBILEONE_STUDY_RUNS", ROOT / "runs")).expanduser()


def run_name(latency_csv=None) -> str:
    """Name of a re-run's folder: the stem of the first latency file given, else ``default``."""
    if isinstance(latency_csv, (str, os.PathLike)):
        latency_csv = str(latency_csv).split(",")
    first = next((str(f).strip() for f in latency_csv or () if str(f).strip()), "")
    return Path(first).stem or "default"


def output_dirs(notebook: str, output_dir=None, figure_dir=None, latency_csv=None,
                *, announce: bool = True) -> tuple[Path, Path]:
    """``(results folder, figure folder)`` of a notebook run, both created.

    Given folders are used as they are (``reproduce`` passes ``notebooks/outputs/<notebook>``
    and ``figures/``); an unset one resolves to ``runs/<run>/<notebook>/`` and
    ``runs/<run>/<notebook>/figures/``, ``<run>`` being :func:`run_name` of ``latency_csv``.
    So a re-run on a user's file never overwrites the committed study. ``announce`` prints
    where the run writes."""
    base = runs_dir() / run_name(latency_csv) / notebook
    out = user_path(output_dir) if output_dir else base
    fig = user_path(figure_dir) if figure_dir else base / "figures"
    out.mkdir(parents=True, exist_ok=True)
    fig.mkdir(parents=True, exist_ok=True)
    if announce:
        print(f"results -> {relative(out)}/\nfigures -> {relative(fig)}/")
    return out, fig
