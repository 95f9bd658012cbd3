"""Where a result comes from: the commit, whether the code or data differed from it, and a hash
of the code that actually ran.

A committed notebook cannot record its own commit (the commit is made after the run), so every
run also records ``code_sha256``: a SHA-256 over ``analysis/**/*.py`` (sorted paths and
contents) plus the notebook's code cells. The hygiene test recomputes it for the committed
notebooks, so the committed study always matches the committed code.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

from analysis import paths


def _git(*args: str) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=paths.ROOT, capture_output=True, text=True,
                             timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def notebook_code(notebook: str | Path) -> str:
    """The code cells of a notebook (by stem or path), joined; the parameters cell excluded
    (papermill injects the run's values next to it, which are not code)."""
    path = Path(notebook)
    if not path.suffix:
        path = paths.NOTEBOOKS / f"{notebook}.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = []
    for cell in nb["cells"]:
        tags = cell.get("metadata", {}).get("tags", [])
        if cell["cell_type"] != "code" or "parameters" in tags or "injected-parameters" in tags:
            continue
        src = cell["source"]
        cells.append(src if isinstance(src, str) else "".join(src))
    return "\n\n".join(cells)


def code_hash(notebook: str | Path | None = None) -> str:
    """SHA-256 over ``analysis/**/*.py`` (paths and contents, sorted) and, if given, the
    notebook's code cells."""
    h = hashlib.sha256()
    for path in sorted((paths.ROOT / "analysis").rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        h.update(path.relative_to(paths.ROOT).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
    if notebook is not None:
        h.update(b"\0notebook\0")
        h.update(notebook_code(notebook).encode())
    return h.hexdigest()


def provenance(notebook: str | Path | None = None) -> dict:
    """``head`` (commit the run started from), ``analysis_modified`` / ``data_modified``
    (whether those folders differed from HEAD), ``code_sha256`` (:func:`code_hash`)."""
    head = _git("rev-parse", "HEAD")
    changed = _git("status", "--porcelain", "--", "analysis", "data")
    lines = [line[3:] for line in changed.splitlines() if line.strip()]
    return {"head": head or None,
            "analysis_modified": any(p.startswith("analysis") for p in lines) if head else None,
            "data_modified": any(p.startswith("data") for p in lines) if head else None,
            "code_sha256": code_hash(notebook)}
