"""Batches: export a selection of models to one folder, one result per model (a failure is
reported and the batch goes on), then write the latency template."""

from __future__ import annotations

import re
import time
from pathlib import Path

import torch
import torch.nn as nn

from analysis import paths
from analysis.errors import ConfigError, first_line
from analysis.export import to_coreml, to_onnx
from analysis.export.common import (ExportFailure, ExportResult, check_precision, example_input,
                                    export_ready, remove)
from analysis.export.template import TEMPLATE_NAME, write_latency_template
from analysis.models import deploy, get_entry, resolve_models
from analysis.util import run_each

FORMATS = ("coreml", "onnx")
#: Default compute precision per format.
DEFAULT_PRECISION = {"coreml": "fp16", "onnx": "fp32"}
SUFFIX = {"coreml": ".mlpackage", "onnx": ".onnx"}


class ExportBatch(list):
    """The results of :func:`export_models` (a list) and what happened to the template."""

    template: Path | None = None
    template_kept: bool = False


def _items(models) -> list[tuple[str, str, nn.Module | None, int]]:
    """``[(label, file stem, module or None (build from registry), input size)]``."""
    if isinstance(models, dict):
        out = []
        for label, module in models.items():
            stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(label)).strip("_") or "model"
            out.append((str(label), stem, module, 224))
        return out
    ids = resolve_models(models)
    return [(get_entry(i).display_name, i, None, get_entry(i).input_size) for i in ids]


def export_model(name_or_module: str | nn.Module, fmt: str, out_dir: str | Path, *,
                 precision: str | None = None, force: bool = False, label: str | None = None,
                 input_size: int | None = None) -> ExportResult:
    """Export one model (registered name, or a module with ``label``); never raises for a
    model-level failure: the result says ``failed`` and why."""
    if isinstance(name_or_module, nn.Module):
        items = _items({label or type(name_or_module).__name__: name_or_module})
    else:
        items = _items(name_or_module)
    lbl, stem, module, size = items[0]
    return _export_one(lbl, stem, module, input_size or size, fmt, Path(out_dir),
                       _precision(fmt, precision), force)


def _precision(fmt: str, precision: str | None) -> str:
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return check_precision(precision or DEFAULT_PRECISION[fmt])


def _export_one(label: str, stem: str, module: nn.Module | None, size: int, fmt: str,
                out_dir: Path, precision: str, force: bool) -> ExportResult:
    path = out_dir / f"{stem}{SUFFIX[fmt]}"
    result = ExportResult(label, fmt, "ok", path, size, precision,
                          random_weights=module is None)
    if path.exists() and not force:
        result.status, result.message = "skipped", "exists (pass --force to re-export)"
        return result
    start = time.perf_counter()
    try:
        try:
            model = export_ready(stem, size) if module is None else deploy(module)
        except Exception as exc:  # noqa: BLE001
            raise ExportFailure(f"building the fused model failed: "
                                f"{first_line(exc, with_type=True)}") from None
        if fmt == "coreml":
            to_coreml.export_coreml(model, path, example_input(size), precision=precision)
            info = to_coreml.coreml_summary(path)
            result.message = (f"{info['type']}, input {info['input']} "
                              f"{'x'.join(map(str, info['input_shape']))}, {precision}")
        else:
            dtype = torch.float16 if precision == "fp16" else torch.float32
            model = model.to(dtype)
            example = example_input(size, dtype=dtype)
            to_onnx.export_onnx(model, path, example)
            result.message = to_onnx.check_onnx(path, model, example)
    except ExportFailure as exc:
        result.status, result.message = "failed", str(exc)
    except Exception as exc:  # noqa: BLE001 - never crash the batch
        result.status, result.message = "failed", first_line(exc, with_type=True)
    except KeyboardInterrupt:
        remove(path)  # half written: it must not look done to the next run
        raise
    if result.status == "failed":
        remove(path)  # written by this call (or forced): a failed export must not look done
        result.path = None
    result.seconds = time.perf_counter() - start
    return result


def export_models(models, fmt: str, out_dir: str | Path, *, precision: str | None = None,
                  force: bool = False, progress: bool = True, verbose: bool = True,
                  template: bool = True) -> ExportBatch:
    """Export every selected model to ``out_dir`` and write ``latency_template.csv``.

    Args:
        models: group / model names (comma-separated or a list), or ``{label: nn.Module}``.
        fmt: ``"coreml"`` or ``"onnx"``.
        precision: ``"fp16"`` or ``"fp32"`` (default: fp16 for Core ML, fp32 for ONNX).
        force: re-export existing files and overwrite an existing template; without it,
            existing exports are kept (``skipped``) and an existing template is left untouched
            (it may hold your measurements).
        progress: a progress bar across models (stderr).
        verbose: one line per model with its result (stdout), with or without the bar.
        template: write the latency template.

    Returns:
        One :class:`ExportResult` per model, in order (failures do not stop the batch), as an
        :class:`ExportBatch` (a list) whose ``template`` is the template written (``None``
        when an existing one was kept, see :func:`write_latency_template`, or when no model
        was exported). A folder made for the batch is removed again if nothing was written
        (every model failed, or Ctrl-C before the first file); a half-written export is
        removed on Ctrl-C.
    """
    from tqdm import tqdm  # lazy: only the progress lines need it (plain bar: no ipywidgets)

    precision = _precision(fmt, precision)
    out = paths.check_output_folder(out_dir)
    items = _items(models)  # an unknown model is an error before any folder is made

    def export(item: tuple) -> ExportResult:
        label, stem, module, size = item
        res = _export_one(label, stem, module, size, fmt, out, precision, force)
        if verbose:
            tqdm.write(f"{label}: {res.status} - {res.message}")  # above the bar, if any
        return res

    with paths.new_folders(out):  # removed again if nothing was written (all failed, Ctrl-C)
        # _export_one reports every failure in its result: nothing is left for run_each to catch
        results, _ = run_each(items, export, label=lambda item: item[0], progress=progress,
                              desc=f"export ({fmt})")
        batch = ExportBatch(results)
        if template and any(r.ok for r in results):
            batch.template = write_latency_template([r for r in results if r.ok],
                                                    out / TEMPLATE_NAME, force=force)
            batch.template_kept = batch.template is None
    return batch
