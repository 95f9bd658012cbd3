"""Small helpers shared by the study modules, the command line and the notebooks: one value or
a list, slugs for file and column names, JSON-friendly values, and the per-item loop that
reports failures and goes on."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Callable, Iterable, Mapping

import numpy as np
import pandas as pd


def as_list(value) -> list:
    """A parameter given as one value, a comma-separated string or a list, as a list.

    ``None``, ``""`` and ``"none"`` give ``[]``; ``"a, b"`` gives ``["a", "b"]`` (papermill's
    ``-p`` passes strings, ``-y`` lists)."""
    if value is None:
        return []
    if isinstance(value, os.PathLike):
        return [value]
    if isinstance(value, str):
        text = value.strip()
        if not text or text.lower() == "none":
            return []
        return [part.strip() for part in text.split(",") if part.strip()]
    return list(value)


def slug(text: str, default: str = "x") -> str:
    """Lower-case ``[a-z0-9_]`` form of a name, for column and file names (``default`` when
    nothing is left)."""
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_") or default


def to_jsonable(value):
    """``value`` with numpy scalars, NaN and paths made JSON-friendly (NaN → None)."""
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, pd.DataFrame):
        return to_jsonable(value.to_dict(orient="records"))
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if value is pd.NA:
        return None
    return value


def run_each(items: Iterable, work: Callable, *, label: Callable = str, progress: bool = False,
             desc: str = "", reraise: tuple[type[BaseException], ...] = ()) -> tuple[list, dict]:
    """Call ``work(item)`` for every item; return ``(results, failures)``.

    A failure is recorded as ``{label(item): "Type: first line"}`` and the loop goes on, except
    for the exception types in ``reraise`` (and ``KeyboardInterrupt``). With ``progress`` a
    tqdm bar is shown and failures are written above it."""
    from analysis.errors import first_line

    items = list(items)
    results, failures = [], {}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(items, desc=desc, unit="model", leave=False)
        iterator = bar
    else:
        iterator = items
    for item in iterator:
        try:
            results.append(work(item))
        except KeyboardInterrupt:
            raise
        except reraise:
            raise
        except Exception as exc:  # noqa: BLE001 - reported per item, the others go on
            message = first_line(exc, with_type=True)
            failures[label(item)] = message
            if bar is not None:
                bar.write(f"{label(item)}: failed ({message})")
    if bar is not None:
        bar.close()
    return results, failures


def write_results(out_dir, tables: Mapping[str, "pd.DataFrame"], summary: Mapping) -> list[str]:
    """Write every table as ``<out_dir>/<name>.csv`` and ``summary`` as ``summary.json``;
    returns the names of the files now in ``out_dir``."""
    import json

    out_dir = Path(out_dir)
    for name, table in tables.items():
        table.to_csv(out_dir / f"{name}.csv", index=False)
    (out_dir / "summary.json").write_text(json.dumps(to_jsonable(summary), indent=2))
    return sorted(p.name for p in out_dir.iterdir() if p.is_file())
