"""Notebook 04, for the phone: the fused variants as Core ML packages, and their sizes.

Conversion (``torch.jit.trace`` → ``coremltools.convert``, :mod:`analysis.export`) takes 3–20 s
per variant on a 2-core CPU. Linux can convert but not run Core ML, so what a run learns is the
package size; that depends only on the architecture, the precision, the input size and the
library versions (:func:`cache_key`), so unless the packages themselves are wanted
(``COREML_DIR``) it is read from the study's committed ``coreml_packages.csv`` (a row with the
same ``cache_key``: a fresh clone converts nothing), else from the disk cache
(``paths.cache_dir()/coreml``), else converted.
"""

from __future__ import annotations

import csv
import hashlib
import json
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from analysis import paths
from analysis.complexity import model_digest
from analysis.export import (ExportResult, SUFFIX, TEMPLATE_COLUMNS, export_model,
                             write_latency_template)
from analysis.latency.runtimes import torch_threads
from analysis.studies.reparam.compute import COMPUTE_THREADS, deployed

#: Bump when what a cached conversion means changes.
CACHE_VERSION = 1
PACKAGE_COLUMNS = ["variant", "precision", "status", "size_mb", "input_size", "message",
                   "cache_key"]
#: The study's committed packages table (read back by ``cache_key``).
COMMITTED = paths.NOTEBOOK_OUTPUTS / "04_mobileone_reparameterization" / "coreml_packages.csv"


def _size_bytes(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size if path.exists() else 0


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def cache_key(variant: str, precision: str, input_size: int) -> str:
    """What a conversion's size depends on, hashed: the architecture's digest, precision, input
    size, and the torch and coremltools versions."""
    key = json.dumps([CACHE_VERSION, model_digest(deployed(variant)), precision, input_size,
                      torch.__version__, _version("coremltools")])
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def cache_path(variant: str, precision: str, input_size: int) -> Path:
    """Where the conversion of one variant is remembered (:func:`cache_key`)."""
    key = cache_key(variant, precision, input_size)
    return paths.cache_dir() / "coreml" / \
        f"mobileone_{variant.lower()}-{precision}-{input_size}-{key}.json"


def committed(key: str, path: Path | None = None) -> dict | None:
    """The committed conversion with ``cache_key`` = ``key`` (``{status, size_bytes,
    message}``), or None."""
    try:
        with open(path or COMMITTED, newline="", encoding="utf-8") as fh:
            rows = [r for r in csv.DictReader(fh) if r.get("cache_key") == key]
    except OSError:
        return None
    if not rows or rows[0].get("status") != "ok":
        return None
    r = rows[0]
    return {"status": "ok", "size_bytes": int(round(float(r["size_mb"]) * 1e6)),
            "message": r["message"]}


def _convert(variant: str, precision: str, input_size: int, out: Path) -> dict:
    with torch_threads(COMPUTE_THREADS):
        res = export_model(f"MobileOne-{variant}", "coreml", out / precision,
                           precision=precision, force=True, input_size=input_size)
    size = _size_bytes(res.path) if res.path is not None and res.status == "ok" else None
    return {"status": res.status, "size_bytes": size, "message": res.message}


def convert(variant: str, precision: str, input_size: int, out_dir: Path | None) -> dict:
    """``{status, size_bytes, message}`` of one conversion: into ``out_dir`` when given (always
    converted), else from the cache or converted in a temporary folder and remembered."""
    if out_dir is not None:
        return _convert(variant, precision, input_size, out_dir)
    known = committed(cache_key(variant, precision, input_size))
    if known is not None:
        return known
    cached = cache_path(variant, precision, input_size)
    if cached.is_file():
        try:
            return json.loads(cached.read_text(encoding="utf-8"))
        except ValueError:
            pass  # a corrupt entry is converted again
    with tempfile.TemporaryDirectory(prefix="mobileone-coreml-") as tmp:
        info = _convert(variant, precision, input_size, Path(tmp))
    if info["status"] == "ok":
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_text(json.dumps(info), encoding="utf-8")
    return info


def coreml_packages(params) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each of ``COREML_VARIANTS`` (fused) exported to Core ML in each of
    ``COREML_PRECISIONS`` at ``INPUT_SIZE``: ``(packages, template)`` — one row per package
    with its status and size (MB), and the latency template (``analysis.export``) listing the
    packages, ready for the latencies measured on a phone."""
    out_dir = paths.user_path(params.COREML_DIR) if params.COREML_DIR else None
    rows, results = [], []
    for v in [v for v in ("S0", "S1", "S2", "S3", "S4") if v in params.COREML_VARIANTS]:
        for p in dict.fromkeys(params.COREML_PRECISIONS):
            info = convert(v, p, params.INPUT_SIZE, out_dir)
            ok = info["status"] == "ok"
            rows.append({"variant": v, "precision": p, "status": info["status"],
                         "size_mb": info["size_bytes"] / 1e6 if ok else np.nan,
                         "input_size": params.INPUT_SIZE, "message": info["message"],
                         "cache_key": cache_key(v, p, params.INPUT_SIZE)})
            if ok:
                stem = f"mobileone_{v.lower()}"
                results.append(ExportResult(f"MobileOne-{v}", "coreml", "ok",
                                            Path(f"{stem}{SUFFIX['coreml']}"),
                                            params.INPUT_SIZE, p))
    return pd.DataFrame(rows, columns=PACKAGE_COLUMNS), template_frame(results)


def template_frame(results: list[ExportResult]) -> pd.DataFrame:
    """The latency template of ``results`` as a frame of text (the rows
    :func:`analysis.export.write_latency_template` writes)."""
    if not results:
        return pd.DataFrame(columns=list(TEMPLATE_COLUMNS))
    with tempfile.TemporaryDirectory(prefix="mobileone-template-") as tmp:
        path = write_latency_template(results, Path(tmp) / "template.csv", force=True)
        return pd.read_csv(path, dtype=str, keep_default_na=False)
