"""Regenerate every result of the study in one go (``make reproduce``), or check it.

``reproduce()``:

1. the complexity table of every registered model (``notebooks/outputs/complexity.csv``) and
   the generated model table of ``analysis/models/README.md``;
2. every notebook ``notebooks/NN_*.ipynb`` in order, executed with papermill on its default
   parameters (the shipped data). A notebook is executed into a temporary file that replaces
   the rendered notebook only once it ran to the end; a failed run is kept as
   ``notebooks/outputs/<name>.failed.ipynb``; Ctrl-C stops with one line and removes the
   temporary file;
3. the files of ``figures/`` and ``notebooks/outputs/<nb>/`` that the run did not write are
   removed, and the README's results section is regenerated.

``reproduce(quick=True)`` runs every notebook with its quick profile
(``notebooks/quick/<stem>.yaml``) into ``runs/quick/``. ``check()`` recomputes every study
in-process (its ``run(params)``, no papermill, no figures) into a temporary folder and reports
each committed CSV or JSON that differs (numbers compared with a relative tolerance of
:data:`RTOL`), so a docstring edit passes and a changed result fails.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis import paths
from analysis.complexity import count_table
from analysis.errors import AnalysisError, ConfigError
from analysis.models import list_models
from analysis.readme_results import update_readme
from analysis.studies import STUDIES, study
from analysis.studies.core import write
from analysis.studies.params import make, quick_parameters
from analysis.text import plural
from analysis.zoo_readme import main as update_zoo_table

KERNEL_NAME = "mobileone-study"
#: Relative tolerance of ``check`` for numbers (the writer keeps 10 significant digits).
RTOL = 1e-9


def committed_parameters(notebook: Path) -> dict:
    """The parameters ``reproduce`` gives a notebook so that it writes the committed study."""
    return {"OUTPUT_DIR": paths.relative(paths.NOTEBOOK_OUTPUTS / notebook.stem),
            "FIGURE_DIR": paths.relative(paths.FIGURES)}


def quick_run_parameters(notebook: Path, base: Path) -> dict:
    """The quick profile of ``notebook`` writing below ``base`` (e.g. ``runs/quick``)."""
    return {**quick_parameters(notebook.stem), "OUTPUT_DIR": str(base / notebook.stem),
            "FIGURE_DIR": str(base / notebook.stem / "figures")}


def kernel_name() -> str:
    """The project's Jupyter kernel if it is registered (``make`` does it), else ``python3``."""
    from jupyter_client.kernelspec import find_kernel_specs  # heavy: only to run notebooks

    return KERNEL_NAME if KERNEL_NAME in find_kernel_specs() else "python3"


def notebooks(only=None) -> list[Path]:
    """The numbered notebooks, in order; ``only``: names (or parts of names, e.g. ``01``,
    ``ablation``), comma-separated or a list. A name that matches no notebook is an error
    listing the notebooks."""
    found = sorted(paths.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if only is None:
        return found
    wanted = [w.strip() for w in (only.split(",") if isinstance(only, str) else only)
              if str(w).strip()]
    if not wanted:
        raise ConfigError("--only names no notebook; notebooks: "
                          + ", ".join(p.stem for p in found))
    chosen = []
    for w in wanted:
        hits = [p for p in found if w in p.stem]
        if not hits:
            raise ConfigError(f"--only {w!r} matches no notebook; notebooks: "
                              + ", ".join(p.stem for p in found))
        chosen += [h for h in hits if h not in chosen]
    return [p for p in found if p in chosen]


def run_notebook(path: Path, output: Path | None = None, parameters: dict | None = None,
                 *, cwd: Path | None = None, log_output: bool = False) -> Path:
    """Execute ``path`` with papermill into ``output`` (default: in place), atomically."""
    import papermill as pm  # heavy: only to run notebooks

    output = Path(output or path)
    with paths.new_folders(output.parent):  # a folder made for a run that stops is removed
        tmp = output.with_name(f".{output.stem}.running.ipynb")
        try:
            _execute(pm, path, tmp, output, parameters, cwd, log_output)
        finally:
            tmp.unlink(missing_ok=True)  # Ctrl-C, an error: no .running.ipynb is left behind
    return output


def _execute(pm, path: Path, tmp: Path, output: Path, parameters: dict | None,
             cwd: Path | None, log_output: bool) -> None:
    try:
        pm.execute_notebook(str(path), str(tmp), parameters=parameters or {},
                            kernel_name=kernel_name(), cwd=str(cwd or paths.NOTEBOOKS),
                            progress_bar=False, log_output=log_output)
    except Exception as exc:
        # next to the requested output; an in-place run keeps it out of notebooks/ itself
        folder = paths.NOTEBOOK_OUTPUTS if output.resolve() == path.resolve() else output.parent
        failed = folder / f"{path.stem}.failed.ipynb"
        failed.parent.mkdir(parents=True, exist_ok=True)
        if tmp.exists():
            os.replace(tmp, failed)
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise AnalysisError(f"{path.name} failed: {reason} (executed copy kept in "
                            f"{paths.relative(failed)})") from None
    _portable_metadata(tmp, path, output)
    os.replace(tmp, output)


def _portable_metadata(executed: Path, source: Path, output: Path) -> None:
    """Record papermill's input/output paths relative to the repository (no machine paths),
    and give the cell papermill injects a fixed id (it draws a random one per run), so two
    renders differ only in their execution times."""
    import nbformat  # heavy: only to run notebooks

    nb = nbformat.read(executed, as_version=4)
    meta = nb.metadata.get("papermill", {})
    meta["input_path"] = paths.relative(source)
    meta["output_path"] = paths.relative(output)
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell["id"] = "injected-parameters"
    nbformat.write(nb, executed)


def prune_stale(since: float) -> list[str]:
    """After a complete run: delete the files of ``figures/`` and ``notebooks/outputs/<nb>/``
    that were not written since ``since`` (a renamed figure or a dropped table would otherwise
    linger in the committed study); returns their repository-relative paths."""
    folders = [paths.FIGURES] + [paths.NOTEBOOK_OUTPUTS / nb.stem for nb in notebooks()]
    removed = []
    for folder in folders:
        for f in sorted(folder.glob("*")) if folder.is_dir() else []:
            if f.is_file() and not f.name.startswith(".") and f.stat().st_mtime < since:
                removed.append(paths.relative(f))
                f.unlink()
    return removed


@contextlib.contextmanager
def _quiet_kernels():
    """Hide what Jupyter kernels print to the inherited stderr (e.g. "[IPKernelApp] WARNING |
    Kernel is running over TCP without encryption…"): file descriptor 2 goes to a temporary
    file for the duration; any other line is printed afterwards — except after Ctrl-C, when
    what a kernel printed while being shut down (a ZMQ traceback) is dropped."""
    sys.stderr.flush()
    saved = os.dup(2)
    interrupted = False
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        except KeyboardInterrupt:
            interrupted = True
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            for line in [] if interrupted else tmp.read().decode(errors="replace").splitlines():
                if line.strip() and "[IPKernelApp]" not in line:
                    print(line, file=sys.stderr)


def reproduce(only=None, quick: bool = False) -> None:
    """Regenerate the study: counts, zoo table, every notebook into the committed study.

    ``quick``: every notebook with its quick profile into ``runs/quick/`` (never the committed
    study; the counts and zoo table are not rewritten). One line per step, with its time."""
    chosen = notebooks(only)
    start, start_wall = time.perf_counter(), time.time()
    if only is None and not quick:
        t0 = time.perf_counter()
        out = paths.NOTEBOOK_OUTPUTS / "complexity.csv"
        table = count_table(list_models())
        paths.write_atomic(out, lambda tmp: table.to_csv(tmp, index=False, lineterminator="\n"))
        with contextlib.redirect_stdout(io.StringIO()):
            if update_zoo_table([]) != 0:
                raise AnalysisError("could not regenerate the table of analysis/models/README.md")
        print(f"[reproduce] complexity of {plural(len(list_models()), 'model')} -> "
              f"{paths.relative(out)}, zoo table  {time.perf_counter() - t0:5.0f} s", flush=True)
    base = paths.runs_dir() / "quick"
    for nb in chosen:
        t0 = time.perf_counter()
        if quick:
            output = base / nb.stem / nb.name
            params = quick_run_parameters(nb, base)
        else:
            output, params = nb, committed_parameters(nb)
        existed = output.exists()
        try:
            with _quiet_kernels():
                run_notebook(nb, output, params)
        except KeyboardInterrupt:  # one line from the command: which notebook, nothing lost
            kept = "left as it was" if existed else "not written"
            raise KeyboardInterrupt(f"{nb.stem} stopped; {paths.relative(output)} "
                                    f"{kept}") from None
        print(f"[reproduce] {nb.stem:36s} -> {paths.relative(output)}  "
              f"{time.perf_counter() - t0:5.0f} s", flush=True)
    if only is None and not quick:
        stale = prune_stale(start_wall)
        if stale:
            print(f"[reproduce] removed {plural(len(stale), 'stale file')} no notebook writes "
                  f"any more: " + ", ".join(stale), flush=True)
        update_readme()
        print("[reproduce] README results section regenerated", flush=True)
    print(f"[reproduce] finished in {time.perf_counter() - start:.0f} s", flush=True)


# -- recompute and compare -------------------------------------------------------------------------

@dataclass(frozen=True)
class Difference:
    """One committed file that a recomputation does not reproduce."""

    notebook: str
    file: str
    what: str

    def __str__(self) -> str:
        return f"{self.notebook}/{self.file}: {self.what}"


def _same_number(a, b, rtol: float) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(a, b, rel_tol=rtol, abs_tol=1e-300)
    return a == b


def _json_diff(a, b, rtol: float, where: str = "") -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            gone, new = sorted(set(a) - set(b)), sorted(set(b) - set(a))
            return f"{where or 'top level'}: keys differ (committed only: {gone}, new: {new})"
        for k in a:
            d = _json_diff(a[k], b[k], rtol, f"{where}.{k}" if where else k)
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{where}: {plural(len(a), 'item')} committed, {len(b)} recomputed"
        for i, (x, y) in enumerate(zip(a, b)):
            d = _json_diff(x, y, rtol, f"{where}[{i}]")
            if d:
                return d
        return None
    if not _same_number(a, b, rtol):
        return f"{where}: committed {a!r}, recomputed {b!r}"
    return None


def _csv_diff(a: Path, b: Path, rtol: float) -> str | None:
    x, y = pd.read_csv(a, keep_default_na=False), pd.read_csv(b, keep_default_na=False)
    if list(x.columns) != list(y.columns):
        return f"columns differ: committed {list(x.columns)}, recomputed {list(y.columns)}"
    if len(x) != len(y):
        return f"{plural(len(x), 'row')} committed, {len(y)} recomputed"
    for col in x.columns:
        for i, (u, v) in enumerate(zip(x[col], y[col])):
            u2, v2 = _number(u), _number(v)
            if not _same_number(u2, v2, rtol):
                return f"row {i + 2}, column {col!r}: committed {u!r}, recomputed {v!r}"
    return None


def _number(value):
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else value


def compare_folders(committed: Path, fresh: Path, notebook: str,
                    rtol: float = RTOL) -> list[Difference]:
    """Every CSV and JSON of ``committed`` that ``fresh`` lacks, adds or computes differently."""
    diffs = []
    old = {p.name for p in committed.glob("*") if p.suffix in (".csv", ".json")}
    new = {p.name for p in fresh.glob("*") if p.suffix in (".csv", ".json")}
    for name in sorted(old - new):
        diffs.append(Difference(notebook, name, "committed, but no longer written"))
    for name in sorted(new - old):
        diffs.append(Difference(notebook, name, "written, but not committed"))
    for name in sorted(old & new):
        a, b = committed / name, fresh / name
        if a.read_bytes() == b.read_bytes():
            continue
        if name.endswith(".json"):
            what = _json_diff(json.loads(a.read_text()), json.loads(b.read_text()), rtol)
        else:
            what = _csv_diff(a, b, rtol)
        if what:
            diffs.append(Difference(notebook, name, what))
    return diffs


def check(only=None, *, verbose: bool = True) -> list[Difference]:
    """Recompute every study in-process and compare with the committed results.

    Each study's ``run`` with its default parameters (the committed study's), without figures,
    writes into a temporary folder; returns every difference (empty: the committed study is
    what the current code computes). One line per study with its time."""
    stems = [nb.stem for nb in notebooks(only)]
    diffs: list[Difference] = []
    with tempfile.TemporaryDirectory(prefix="mobileone-check-") as tmp:
        for stem in stems:
            if stem not in STUDIES:
                if verbose:
                    print(f"[check] {stem:36s} not a study yet: skipped", flush=True)
                continue
            t0 = time.perf_counter()
            module = study(stem)
            folder = Path(tmp) / stem
            params = make(stem, getattr(module, "RULES", None),
                          OUTPUT_DIR=str(folder), FIGURE_DIR=str(folder / "figures"))
            with contextlib.redirect_stdout(io.StringIO()):
                write(module.run(params, draw=False), folder, folder / "figures",
                      announce=False)
            found = compare_folders(paths.NOTEBOOK_OUTPUTS / stem, folder, stem)
            diffs += found
            if verbose:
                state = "identical" if not found else \
                    f"{plural(len(found), 'file')} {'differs' if len(found) == 1 else 'differ'}"
                print(f"[check] {stem:36s} {state}  {time.perf_counter() - t0:5.1f} s",
                      flush=True)
    return diffs
