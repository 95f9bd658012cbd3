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
    """Run a notebook once with its quick profile (``notebooks/quick/<stem>.yaml``) into a
    temporary folder (results in ``<folder>/results``, figures in ``<folder>/figures``);
    returns the folder."""
    from analysis.reproduce import run_notebook
    from analysis.studies.params import quick_parameters

    out = tmp_path_factory.mktemp(stem[:4])
    params = {**quick_parameters(stem), "OUTPUT_DIR": str(out / "results"),
              "FIGURE_DIR": str(out / "figures"), **extra}
    run_notebook(paths.NOTEBOOKS / f"{stem}.ipynb", out / "executed.ipynb", params)
    return out


def assert_run_matches_notebook(stem: str, folder, **extra) -> None:
    """The in-process ``run`` of a study, with the quick profile (and ``extra``), writes
    exactly the CSV and JSON files that the papermill run in ``folder/results`` wrote — the
    notebook and ``run(params)`` are one code path."""
    import tempfile
    from pathlib import Path

    from analysis.reproduce import compare_folders
    from analysis.studies import study
    from analysis.studies.core import write
    from analysis.studies.params import make, quick_parameters

    module = study(stem)
    with tempfile.TemporaryDirectory() as tmp:
        params = make(stem, getattr(module, "RULES", None),
                      **{**quick_parameters(stem), **extra, "OUTPUT_DIR": tmp,
                         "FIGURE_DIR": str(Path(tmp) / "figures")})
        write(module.run(params, draw=False), tmp, Path(tmp) / "figures", announce=False)
        diffs = compare_folders(Path(folder) / "results", Path(tmp), stem, rtol=0.0)
        assert [str(d) for d in diffs] == []


def assert_study_written(stem: str, folder, tables, *, figures) -> dict:
    """A quick run in ``folder`` is the in-process ``run`` (:func:`assert_run_matches_notebook`),
    wrote exactly ``tables`` (CSV) and ``summary.json``, a conclusion that opens with its
    takeaway, no undocumented column, and exactly the ``figures`` (PNG stems). Returns the
    summary."""
    import json
    from pathlib import Path

    folder = Path(folder)
    assert_run_matches_notebook(stem, folder)
    written = {p.name for p in (folder / "results").iterdir()}
    assert {f"{t}.csv" for t in tables} | {"summary.json"} == written
    summary = json.loads((folder / "results" / "summary.json").read_text())
    assert summary["findings"]["takeaway"] and summary["conclusion"].startswith("**Takeaway.**")
    assert not [(t, c) for t, v in summary["tables"].items() for c, d in v["columns"].items()
                if d == "(undocumented)"]
    assert {p.stem for p in (folder / "figures").glob("*.png")} == set(figures)
    return summary


def assert_golden(name: str, text: str) -> None:
    """``text`` equals ``tests/golden/<name>.md``; ``UPDATE_GOLDEN=1 pytest …`` rewrites the
    file instead (review the diff before committing it). Golden files hold the generated prose
    of synthetic findings, so a rewording touches one file, not ten assertions."""
    import os

    path = paths.ROOT / "tests" / "golden" / f"{name}.md"
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        return
    assert path.is_file(), f"{path} missing: run UPDATE_GOLDEN=1 pytest to create it"
    expected = path.read_text(encoding="utf-8")
    assert text.rstrip("\n") == expected.rstrip("\n"), f"prose differs from {path.name}"
