"""Every committed notebook: one parameters cell, short code cells, no errors, no machine
paths, no progress-bar clutter, execution in order, and results made by the current code."""

from __future__ import annotations

import json
import re

import pytest

from analysis import paths
from analysis.provenance import code_hash

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


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_results_were_made_by_the_current_code(path):
    summary = paths.NOTEBOOK_OUTPUTS / path.stem / "summary.json"
    assert summary.is_file(), f"{summary} missing: run make reproduce"
    recorded = json.loads(summary.read_text())["provenance"]["code_sha256"]
    assert recorded == code_hash(path), "stale committed study: run make reproduce"


def test_code_hash_changes_with_the_notebook_code(tmp_path):
    nb = load(NOTEBOOKS[0])
    copy = tmp_path / NOTEBOOKS[0].name
    copy.write_text(json.dumps(nb))
    same = code_hash(copy)
    assert same == code_hash(NOTEBOOKS[0])
    code_cells(nb)[-1]["source"] = text_of(code_cells(nb)[-1]) + "\n# changed"
    copy.write_text(json.dumps(nb))
    assert code_hash(copy) != same
