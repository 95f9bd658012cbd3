"""Which shipped latency files form the default study: ``data/latency/manifest.csv``.

The manifest is data, not code: one row per file with its ``kind`` (``paper``: the paper's
published numbers, the reference devices of every re-run; ``campaign``: measured by this
project, with sessions), its ``content`` — one or several of ``zoo`` (models of the
registry), ``ablation`` (the 30-layer networks), ``reparam`` (MobileOne's train-time and
fused forms) …, separated by ``;`` (``zoo;ablation``) — the ``device`` and a description.
A file in ``data/latency/`` joins the study only when it is listed here
(``tests/test_latency_manifest.py`` checks both ways).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from analysis import paths
from analysis.errors import ConfigError, DataFormatError

MANIFEST = paths.LATENCY_DATA / "manifest.csv"
KINDS = ("paper", "campaign")
COLUMNS = ("file", "kind", "content", "device", "description")


@dataclass(frozen=True)
class Entry:
    """One shipped latency file of the default study."""

    file: str
    kind: str
    content: str
    device: str
    description: str

    @property
    def path(self) -> Path:
        return paths.LATENCY_DATA / self.file

    @property
    def contents(self) -> tuple[str, ...]:
        """The ``;``-separated values of ``content`` (``zoo;ablation`` → both)."""
        return tuple(c.strip() for c in self.content.split(";") if c.strip())


def entries(manifest: Path = MANIFEST) -> list[Entry]:
    """The manifest's rows, checked (columns, kinds, files that exist)."""
    with open(manifest, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DataFormatError(f"{paths.relative(manifest)}: missing column(s) "
                                  f"{', '.join(missing)}; expected {', '.join(COLUMNS)}")
        rows = []
        for line, row in enumerate(reader, start=2):
            entry = Entry(**{c: (row[c] or "").strip() for c in COLUMNS})
            if not entry.contents:
                raise DataFormatError(f"{paths.relative(manifest)}, line {line}, column "
                                      f"'content': empty; expected what the file holds, e.g. "
                                      f"zoo or zoo;ablation")
            if entry.kind not in KINDS:
                raise DataFormatError(f"{paths.relative(manifest)}, line {line}, column 'kind': "
                                      f"expected one of {', '.join(KINDS)}, got {entry.kind!r}")
            if not (manifest.parent / entry.file).is_file():
                raise DataFormatError(f"{paths.relative(manifest)}, line {line}: no file "
                                      f"{entry.file!r} in {paths.relative(manifest.parent)}")
            rows.append(entry)
    return rows


def study_files(content: str | None = None, kind: str | None = None) -> list[Path]:
    """Paths of the shipped files whose ``content`` includes ``content`` and of this ``kind``
    (``None``: any), in the manifest's order."""
    if kind is not None and kind not in KINDS:
        raise ConfigError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    return [e.path for e in entries()
            if (content is None or content in e.contents) and (kind is None or e.kind == kind)]


def reference_files() -> list[Path]:
    """The paper's devices (``kind`` = ``paper``): the reference of every re-run."""
    return study_files(kind="paper")


def is_shipped(path: str | Path, kind: str | None = None) -> bool:
    """Whether ``path`` is a file of the manifest (of that ``kind``)."""
    p = Path(path).resolve()
    return any(e.path.resolve() == p for e in entries() if kind is None or e.kind == kind)
