"""One result type and one writer for every study.

Every study module exposes ``run(params) → StudyResult`` and the steps that ``run`` chains; a
notebook calls the same steps (showing what each returns), then :func:`write`. So a notebook
and an in-process ``run`` produce the same files (``tests/test_study_api.py``), and
``python -m analysis reproduce --check`` can recompute the committed study without papermill.

What a study writes, into its results folder:

* one CSV per table (``<name>.csv``), floats at :data:`SIGNIFICANT_DIGITS` significant digits,
  so a recomputation that differs only in the last bits of a float writes the same bytes;
* ``summary.json``: the study, its parameters (as used, after checking), what each table and
  each of its columns holds, the typed findings, the generated conclusion, and the inputs
  (data files with their SHA-256). Nothing that varies from run to run (dates, the commit,
  machine paths) goes into it: two runs on the same inputs write identical bytes, with or
  without figures (``run(params, draw=False)``, as ``reproduce --check`` runs it);
* the figures (PNG and PDF, reproducible metadata) into the figure folder.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis import paths
from analysis.errors import ConfigError
from analysis.plots import save_figure
from analysis.studies.columns import describe_columns
from analysis.text import plural

#: Significant digits of every float a study writes (CSV and JSON).
SIGNIFICANT_DIGITS = 10
SUMMARY = "summary.json"


@dataclass(frozen=True)
class Table:
    """A result table and what it holds (``summary.json`` carries the description and one line
    per column; columns not in ``columns`` are described from :mod:`analysis.studies.columns`)."""

    frame: pd.DataFrame
    description: str
    columns: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StudyResult:
    """Everything one study run produced.

    Attributes:
        study: the notebook stem (``"01_metric_correlation"``).
        parameters: the run's parameters as used (:class:`analysis.studies.params.Parameters`).
        tables: ``{name: Table}``, written as ``<name>.csv``.
        figures: ``{name: matplotlib Figure}``, written as ``<name>.png`` and ``.pdf``
            (empty when drawn with ``draw=False``).
        findings: the study's typed findings (a dataclass), the numbers behind every sentence.
        conclusion: the generated conclusion (Markdown).
        inputs: the data files the run read (paths), recorded with their SHA-256.
        notes: further run information for ``summary.json`` (settings, counts), JSON-friendly
            and deterministic.
    """

    study: str
    parameters: Mapping[str, Any]
    tables: Mapping[str, Table]
    findings: Any
    conclusion: str
    figures: Mapping[str, Any] = field(default_factory=dict)
    inputs: tuple[Path, ...] = ()
    notes: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "tables", MappingProxyType(dict(self.tables)))
        object.__setattr__(self, "figures", MappingProxyType(dict(self.figures)))
        object.__setattr__(self, "inputs", tuple(Path(p) for p in self.inputs))
        for name, table in self.tables.items():
            if not isinstance(table, Table):
                raise ConfigError(f"table {name!r} of {self.study} must be a Table, got "
                                  f"{type(table).__name__}")

    def table(self, name: str) -> pd.DataFrame:
        """The frame of table ``name``."""
        return self.tables[name].frame

    def summary(self) -> dict:
        """The content of ``summary.json`` (deterministic)."""
        return to_jsonable({
            "study": self.study,
            "parameters": {k: v for k, v in dict(self.parameters).items()
                           if k not in ("OUTPUT_DIR", "FIGURE_DIR")},
            "tables": {name: {"file": f"{name}.csv", "description": t.description,
                              "rows": int(len(t.frame)),
                              "columns": describe_columns(t.frame.columns, t.columns)}
                       for name, t in self.tables.items()},
            "findings": findings_dict(self.findings),
            "conclusion": self.conclusion,
            "inputs": {rel: file_sha256(p) for rel, p in sorted(
                {paths.relative(p): p for p in self.inputs}.items())},
            **({"notes": dict(self.notes)} if self.notes else {}),
        })


# -- values ---------------------------------------------------------------------------------------

def round_significant(value: float, digits: int = SIGNIFICANT_DIGITS) -> float:
    """``value`` rounded to ``digits`` significant digits (NaN and ±inf unchanged)."""
    if not math.isfinite(value) or value == 0:
        return value
    return float(f"{value:.{digits}g}")


def to_jsonable(value):
    """``value`` as JSON-friendly data: mappings, lists, numpy scalars, paths (relative to the
    repository), dataclasses; floats at :data:`SIGNIFICANT_DIGITS`, NaN → ``None``."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(findings_dict(value))
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, pd.DataFrame):
        return to_jsonable(value.to_dict(orient="records"))
    if isinstance(value, pd.Series):
        return to_jsonable(value.to_dict())
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return [to_jsonable(v) for v in items]
    if isinstance(value, Path):
        return paths.relative(value)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return round_significant(f) if math.isfinite(f) else None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def findings_dict(findings) -> Any:
    """A findings dataclass (or a mapping, or ``None``) as plain data, recursively."""
    if findings is None:
        return None
    if dataclasses.is_dataclass(findings) and not isinstance(findings, type):
        return {f.name: findings_dict(getattr(findings, f.name))
                for f in dataclasses.fields(findings)}
    if isinstance(findings, Mapping):
        return {str(k): findings_dict(v) for k, v in findings.items()}
    if isinstance(findings, (list, tuple)):
        return [findings_dict(v) for v in findings]
    return findings


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes (``""`` when it does not exist)."""
    p = Path(path)
    return hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else ""


# -- writing --------------------------------------------------------------------------------------

def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """``frame`` as CSV without index, floats at :data:`SIGNIFICANT_DIGITS` significant digits,
    ``\\n`` line ends (the same bytes on every platform)."""
    frame.to_csv(path, index=False, float_format=f"%.{SIGNIFICANT_DIGITS}g", lineterminator="\n")


def write_json(data, path: Path) -> None:
    """``data`` as indented UTF-8 JSON (:func:`to_jsonable`), keys in the order given."""
    path.write_text(json.dumps(to_jsonable(data), indent=2, ensure_ascii=False) + "\n",
                    encoding="utf-8")


def write(result: StudyResult, out_dir: str | os.PathLike | None = None,
          fig_dir: str | os.PathLike | None = None, *, announce: bool = True) -> list[Path]:
    """Write ``result``: its tables, ``summary.json`` and figures.

    ``out_dir``/``fig_dir`` default to the folders its parameters name (``OUTPUT_DIR`` and
    ``FIGURE_DIR``, resolved by :func:`analysis.studies.params.output_dirs`). Returns the
    files written, tables and summary first."""
    params = result.parameters
    if out_dir is None or fig_dir is None:
        folders = getattr(params, "folders", None)
        if folders is None:
            raise ConfigError(f"write({result.study}): no folder given and the parameters name "
                              f"none")
        out_dir = out_dir if out_dir is not None else folders[0]
        fig_dir = fig_dir if fig_dir is not None else folders[1]
    out, fig = Path(out_dir), Path(fig_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in result.tables.items():
        write_csv(table.frame, out / f"{name}.csv")
        written.append(out / f"{name}.csv")
    write_json(result.summary(), out / SUMMARY)
    written.append(out / SUMMARY)
    for name, figure in result.figures.items():
        written += save_figure(figure, name, fig)
        plt.close(figure)
    if announce:
        print(f"wrote {plural(len(written), 'file')}:",
              *[paths.relative(p) for p in written], sep="\n  ")
    return written
