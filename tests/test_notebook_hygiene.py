"""Every committed notebook: one parameters cell, short code cells, no errors, no machine
paths, no progress-bar clutter, execution in order, and results that the current code
recomputes (the recompute-and-compare check of ``reproduce --check``)."""

from __future__ import annotations

import json
import re

import pytest

from analysis import paths
from analysis.reproduce import check
from analysis.studies import STUDIES

NOTEBOOKS = sorted(paths.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
MACHINE_PATH = re.compile(r"(/work/|/root/|/home/|/tmp/|/private/var/|C:\\\\Users)")
MAX_CELL_LINES = 15


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def text_of(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def outputs_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        parts.append("".join(out.get("text", "")))
        for key, value in out.get("data", {}).items():
            if key.startswith("text/"):
                parts.append("".join(value))
    return "\n".join(parts)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_structure(path):
    nb = load(path)
    tagged = [c for c in code_cells(nb) if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    for cell in code_cells(nb):
        tags = cell.get("metadata", {}).get("tags", [])
        if "parameters" in tags or "injected-parameters" in tags:
            continue
        assert len(text_of(cell).strip().splitlines()) <= MAX_CELL_LINES, text_of(cell)[:80]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_rendered_outputs_are_clean(path):
    nb = load(path)
    counts = [c.get("execution_count") for c in code_cells(nb)]
    assert all(isinstance(n, int) for n in counts), "every code cell executed"
    assert counts == sorted(counts), "execution counts in order"
    for cell in code_cells(nb):
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", outputs_text(cell)[:200]
        text = outputs_text(cell)
        assert not MACHINE_PATH.search(text), MACHINE_PATH.search(text).group(0)
        assert "it/s]" not in text and "\r" not in text, "progress-bar clutter"
        assert "Kernel is running over TCP" not in text


def test_the_committed_study_is_what_the_current_code_computes():
    """Recompute every study in-process (no papermill, no figures) and compare with the
    committed results (``python -m analysis reproduce --check``): an edit that changes no result
    (a docstring, a comment, a rename) passes; one that changes a committed number fails."""
    diffs = check(verbose=False)
    assert [str(d) for d in diffs] == [], "stale committed study: run make reproduce"


def test_every_notebook_is_a_study():
    assert sorted(STUDIES) == [p.stem for p in NOTEBOOKS]
