"""Regenerate every result of the study in one go (``make reproduce``).

1. The complexity table of every registered model (``notebooks/outputs/complexity.csv``) and
   the generated model table of ``analysis/models/README.md``.
2. Every notebook ``notebooks/NN_*.ipynb`` in order, executed with papermill on its default
   parameters (the shipped data). Each notebook is executed into a temporary file and only
   replaces the rendered notebook once it has run to the end, so a failure never leaves a
   half-executed notebook behind; the failed run is kept as ``outputs/<name>.failed.ipynb``.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
from pathlib import Path

from analysis import paths
from analysis.errors import AnalysisError

KERNEL_NAME = "mobileone-study"

#: Small sizes, few runs and few resamples per notebook (by stem): ``reproduce --quick`` and
#: the tests use these. Every notebook adds its entry here.
QUICK_PARAMETERS: dict[str, dict] = {
    "01_metric_correlation": {
        "N_BOOTSTRAP": 200, "SEED": 3,
        "MODELS": ["MobileOne-S0", "MobileNetV1", "ShuffleNetV2-1.0", "MobileNetV3-S",
                   "DeiT-tiny", "PiT-ti"],
    },
    "02_activation_ablation": {"INPUT_SIZE": 64, "WIDTH": 8, "N_RUNS": 5, "N_WARMUP": 1,
                               "THREADS": 1, "N_BOOTSTRAP": 200},
    "03_block_ablation": {"INPUT_SIZE": 64, "WIDTH": 8, "N_RUNS": 5, "N_WARMUP": 1,
                          "THREADS": 1, "N_BOOTSTRAP": 200},
    "04_mobileone_reparameterization": {"VARIANTS": ["S0"], "K_VALUES": [1, 4],
                                        "RUNTIMES": ["torch"], "N_RUNS": 3, "N_RUNS_MIN": 2,
                                        "N_WARMUP": 1, "THREADS": 1, "INPUT_SIZE": 64,
                                        "COREML_PRECISIONS": []},
    "05_population_study": {"SUBSAMPLE_SIZES": [10, 21], "N_SUBSAMPLES": 200,
                            "N_BOOTSTRAP": 200, "SEED": 3},
    "06_latency_prediction": {"LATENCY_CSV": ["data/latency/paper-iphone12-coreml.csv",
                                              "data/latency/paper-rtx2080ti-tensorrt.csv"],
                              "FEATURE_SETS": ["macs_family"], "K_CALIBRATION": [3, 8],
                              "N_SPLITS": 2, "N_SIMULATIONS": 1, "N_REPEATS": 2,
                              "N_BOOTSTRAP": 200, "SEED": 3},
}


def committed_parameters(notebook: Path) -> dict:
    """The parameters ``reproduce`` gives a notebook so that it writes the committed study."""
    return {"OUTPUT_DIR": paths.relative(paths.NOTEBOOK_OUTPUTS / notebook.stem),
            "FIGURE_DIR": paths.relative(paths.FIGURES)}


def quick_parameters(notebook: Path, base: Path) -> dict:
    """``QUICK_PARAMETERS`` of ``notebook`` writing below ``base`` (e.g. ``runs/quick``)."""
    return {**QUICK_PARAMETERS.get(notebook.stem, {}),
            "OUTPUT_DIR": str(base / notebook.stem), "FIGURE_DIR": str(base / notebook.stem / "figures")}


def kernel_name() -> str:
    """The project's Jupyter kernel if it is registered (``make`` does it), else ``python3``."""
    from jupyter_client.kernelspec import find_kernel_specs

    return KERNEL_NAME if KERNEL_NAME in find_kernel_specs() else "python3"


def notebooks(only: str | None = None) -> list[Path]:
    found = sorted(p for p in paths.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    return [p for p in found if only is None or only in p.name]


def run_notebook(path: Path, output: Path | None = None, parameters: dict | None = None,
                 *, cwd: Path | None = None, log_output: bool = False) -> Path:
    """Execute ``path`` with papermill into ``output`` (default: in place), atomically."""
    import papermill as pm

    output = Path(output or path)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.stem}.running.ipynb")
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
        raise AnalysisError(f"{path.name} failed: {reason} (executed copy kept in {failed})") from None
    _portable_metadata(tmp, path, output)
    os.replace(tmp, output)
    return output


def _portable_metadata(executed: Path, source: Path, output: Path) -> None:
    """Record papermill's input/output paths relative to the repository (no machine paths)."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    meta = nb.metadata.get("papermill", {})
    meta["input_path"] = paths.relative(source)
    meta["output_path"] = paths.relative(output)
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
    file for the duration; any other line is printed afterwards."""
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            for line in tmp.read().decode(errors="replace").splitlines():
                if line.strip() and "[IPKernelApp]" not in line:
                    print(line, file=sys.stderr)


def reproduce(only: str | None = None, quick: bool = False) -> None:
    """Regenerate the study: counts, zoo table, every notebook into the committed study.

    ``quick``: every notebook with :data:`QUICK_PARAMETERS` into ``runs/quick/`` (never the
    committed study; the counts and zoo table are not rewritten). One line per step, with its
    time."""
    from analysis.complexity import count_table
    from analysis.models import list_models

    start, start_wall = time.perf_counter(), time.time()
    if only is None and not quick:
        t0 = time.perf_counter()
        out = paths.NOTEBOOK_OUTPUTS / "complexity.csv"
        out.parent.mkdir(parents=True, exist_ok=True)
        count_table(list_models()).to_csv(out, index=False)
        from analysis.zoo_readme import main as update_zoo_table

        with contextlib.redirect_stdout(io.StringIO()):
            if update_zoo_table([]) != 0:
                raise AnalysisError("could not regenerate the table of analysis/models/README.md")
        print(f"[reproduce] complexity of {len(list_models())} models -> "
              f"{paths.relative(out)}, zoo table  {time.perf_counter() - t0:5.0f} s", flush=True)
    base = paths.runs_dir() / "quick"
    for nb in notebooks(only):
        t0 = time.perf_counter()
        if quick:
            output = base / nb.stem / nb.name
            params = quick_parameters(nb, base)
        else:
            output, params = nb, committed_parameters(nb)
        with _quiet_kernels():
            run_notebook(nb, output, params)
        print(f"[reproduce] {nb.stem:36s} -> {paths.relative(output)}  "
              f"{time.perf_counter() - t0:5.0f} s", flush=True)
    if only is None and not quick:
        stale = prune_stale(start_wall)
        if stale:
            print(f"[reproduce] removed {len(stale)} stale file(s) no notebook writes any more: "
                  + ", ".join(stale), flush=True)
        from analysis.readme_results import update_readme

        update_readme()
        print("[reproduce] README results section regenerated", flush=True)
    print(f"[reproduce] finished in {time.perf_counter() - start:.0f} s", flush=True)
