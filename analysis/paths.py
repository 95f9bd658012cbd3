"""Every location the project reads or writes, resolved from the repository root, and the one
rule for every file a command writes.

Nothing in the package or the notebooks builds a path from the current working directory:
a notebook executed by papermill from any folder finds the same data and writes to the same
places. ``MOBILEONE_STUDY_CACHE`` overrides the cache folder (tests point it at a temporary
directory).

**Outputs** (:func:`check_output`, :func:`check_output_folder`, :func:`write_atomic`,
:func:`new_folders`): every command that writes checks its output path before any work starts
— an existing file is never replaced unless the user passes ``--force`` (or it is a file the same
command wrote and recognises as its own), an input file is never an output, a path that is a
folder (or lies below a file) is a one-line error — then writes through a temporary file that
replaces the target only when complete, and leaves no empty folder behind when it fails or is
interrupted.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Callable, Iterator, Mapping

from analysis.errors import ConfigError

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


# -- outputs: one rule for every command that writes --------------------------------------------

def _file_above(path: Path) -> Path | None:
    """The nearest existing ancestor of ``path`` if it is a file (it cannot hold a folder)."""
    for parent in path.parents:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


def _same_file(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)  # hard links
    except OSError:
        return False


def check_output(path: str | os.PathLike, *, option: str = "--out",
                 inputs: Mapping[str, object] | None = None, force: bool = False,
                 owned: Callable[[Path], bool] | None = None,
                 exists_hint: str = "pass --force to replace it, or choose another name") -> Path:
    """Check a file a command is about to write, before any work starts; return it as a
    :class:`~pathlib.Path`.

    Args:
        path: the output file as the user gave it (relative to the working directory).
        option: the command-line option that named it, for the message (``--out``, ``--csv``).
        inputs: ``{option: path or list of paths}`` of the command's input files; writing to
            one of them is refused, ``--force`` or not (the input would be lost).
        force: the user allowed replacing an existing file.
        owned: ``owned(path) -> bool``: the existing file was written by this same command
            (e.g. its header is the command's own); such a file may be replaced.
        exists_hint: what to do about an existing file, for the message.

    Raises:
        ConfigError: one line naming the option and the path — the path is a folder, lies
            below a file, is an input file, or exists and may not be replaced.
    """
    p = Path(path).expanduser()
    if p.is_dir():
        raise ConfigError(f"{option} {path} is a folder; give a file name, e.g. "
                          f"{p / 'results.csv'}")
    above = _file_above(p)
    if above is not None:
        raise ConfigError(f"{option} {path}: {above} is a file, not a folder")
    for name, given in (inputs or {}).items():
        for item in given if isinstance(given, (list, tuple)) else [given]:
            if item is not None and _same_file(p, Path(item).expanduser()):
                raise ConfigError(f"{option} {path} is an input of this command ({name}): an "
                                  f"input is never overwritten; choose another name for "
                                  f"{option}")
    if p.exists() and not force and not (owned is not None and _owned(owned, p)):
        mine = " and was not written by this command" if owned is not None else ""
        raise ConfigError(f"{option} {path} exists{mine}; {exists_hint}")
    return p


def _owned(owned: Callable[[Path], bool], path: Path) -> bool:
    try:
        return bool(owned(path))
    except (OSError, UnicodeDecodeError, ValueError):
        return False


def check_output_folder(path: str | os.PathLike, *, option: str = "--out") -> Path:
    """Check a folder a command is about to write into (it may exist); return it.

    Raises:
        ConfigError: the path is an existing file, or lies below a file.
    """
    p = Path(path).expanduser()
    if p.exists() and not p.is_dir():
        raise ConfigError(f"{option} {path} is a file; {option} names a folder")
    above = _file_above(p)
    if above is not None:
        raise ConfigError(f"{option} {path}: {above} is a file, not a folder")
    return p


def csv_header(path: str | os.PathLike) -> list[str]:
    """The column names on the first line of a CSV file (how a command recognises a file it
    wrote itself)."""
    with open(path, encoding="utf-8", newline="") as fh:
        first = fh.readline().rstrip("\r\n")
    return [c.strip() for c in first.split(",")]


@contextlib.contextmanager
def new_folders(folder: str | os.PathLike) -> Iterator[Path]:
    """Create ``folder`` and its missing parents; on leaving the block — normally, with an
    error or on Ctrl-C — remove those of them that are still empty (so a command that wrote
    nothing leaves nothing behind)."""
    folder = Path(folder).expanduser()
    missing = [p for p in [folder, *folder.parents] if not p.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    try:
        yield folder
    finally:
        for p in missing:  # deepest first
            try:
                p.rmdir()  # only if empty
            except OSError:
                break


def write_atomic(path: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then replace ``path`` with it.

    ``path`` is only ever the old file or the complete new one; on an error or Ctrl-C the
    temporary file, and any folder made for it, are removed."""
    path = Path(path).expanduser()
    with new_folders(path.parent):
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # the user's umask applies
        try:
            write(tmp)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return path
