"""Helpers shared by the tests that check the committed study is never modified."""

from __future__ import annotations

import hashlib
import subprocess

from analysis import paths


def tracked_file_hashes() -> dict[str, str]:
    """SHA-256 of every file git tracks in the working tree (the committed study)."""
    names = subprocess.run(["git", "ls-files", "-z"], cwd=paths.ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    out = {}
    for name in filter(None, names):
        path = paths.ROOT / name
        if path.is_file():
            out[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def quick_notebook_run(stem: str, tmp_path_factory, **extra):
    """Run a notebook once with its QUICK_PARAMETERS into a temporary folder (results in
    ``<folder>/results``, figures in ``<folder>/figures``); returns the folder."""
    from analysis.reproduce import QUICK_PARAMETERS, run_notebook

    out = tmp_path_factory.mktemp(stem[:4])
    params = {**QUICK_PARAMETERS[stem], "OUTPUT_DIR": str(out / "results"),
              "FIGURE_DIR": str(out / "figures"), **extra}
    run_notebook(paths.NOTEBOOKS / f"{stem}.ipynb", out / "executed.ipynb", params)
    return out
