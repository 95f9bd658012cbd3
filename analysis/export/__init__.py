"""Export models for on-device measurement: Core ML (ML program) and ONNX, plus a latency template.

Every model is exported as deployed — re-parameterized (fused), eval mode, random weights
(latency does not depend on the values) — at its native input size and batch size 1:

* **Core ML**: ``torch.jit.trace`` → ``coremltools.convert(..., convert_to="mlprogram")`` →
  ``<id>.mlpackage`` (input ``input``, float32, shape ``1×3×H×W``; output ``logits``;
  compute precision fp16 by default, as deployed on the Neural Engine). Linux cannot run
  Core ML models: the package is checked structurally (ML program, input shape), not run.
* **ONNX**: ``torch.onnx.export`` (the torch.export-based exporter; the TorchScript exporter is
  the fallback) → ``<id>.onnx`` (one self-contained file), checked with ``onnx.checker`` and
  run once with ONNX Runtime; fp32 exports must match PyTorch's output.

A model that fails (an operator Core ML cannot convert, a tracing problem, a mismatch) is
reported with the operator and the reason, and the batch continues. ``latency_template.csv``
lists the exported models with their context columns, ready for the measured latencies.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
import torch
import torch.nn as nn

from analysis.errors import ConfigError

FORMATS = ("coreml", "onnx")
PRECISIONS = ("fp16", "fp32")
#: Default compute precision per format.
DEFAULT_PRECISION = {"coreml": "fp16", "onnx": "fp32"}
SUFFIX = {"coreml": ".mlpackage", "onnx": ".onnx"}
#: The runtime named in the template for each format.
TEMPLATE_RUNTIME = {"coreml": "coreml", "onnx": "onnxruntime"}
TEMPLATE_NAME = "latency_template.csv"
#: Columns of the latency template (the project's long format; ``export_file`` is extra).
TEMPLATE_COLUMNS = ("model", "latency_ms", "device", "runtime", "statistic", "n_runs",
                    "batch_size", "input_size", "precision", "threads", "source", "date",
                    "export_file")

#: fp32 ONNX output must match PyTorch within these tolerances (relative to the output scale).
ONNX_RTOL, ONNX_ATOL = 1e-3, 1e-4

_COREML_NOISE = ("has not been tested with coremltools", "Failed to load _ML")


class _DropCoremlNoise(logging.Filter):
    """Drop coremltools' untested-torch-version warning and the missing-native-library lines
    it logs on Linux (prediction needs macOS; conversion does not)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(n in message for n in _COREML_NOISE)


def import_coremltools():
    """``coremltools``, imported without its Linux / torch-version noise (and with the
    scalar-cast fix of :func:`_fix_scalar_casts` where NumPy needs it)."""
    logger = logging.getLogger("coremltools")
    if not any(isinstance(f, _DropCoremlNoise) for f in logger.filters):
        logger.addFilter(_DropCoremlNoise())
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*has not been tested with coremltools.*")
        import coremltools

    _fix_scalar_casts()
    return coremltools


_SCALAR_CASTS_FIXED = False


def _fix_scalar_casts() -> None:
    """Make coremltools' ``aten::Int`` / ``aten::Bool`` converters accept one-element arrays.

    coremltools 9.0 folds a constant cast with ``int(value)``; when ``value`` is a one-element
    array (shape arithmetic in attention blocks traces to ``aten::Int`` of a 1-element
    tensor), NumPy ≥ 2.4 raises "only 0-dimensional arrays can be converted to Python
    scalars" and every transformer fails to convert. This registers (``override=True``, the
    converter registry's public switch) a converter that takes the single element first and
    otherwise defers to coremltools' own. Applied only when this NumPy rejects the cast.
    """
    global _SCALAR_CASTS_FIXED
    if _SCALAR_CASTS_FIXED:
        return
    try:
        int(np.array([1]))
        _SCALAR_CASTS_FIXED = True
        return  # this NumPy still converts one-element arrays: nothing to fix
    except TypeError:
        pass
    from coremltools.converters.mil import Builder as mb
    from coremltools.converters.mil.frontend.torch import ops
    from coremltools.converters.mil.frontend.torch.torch_op_registry import register_torch_op

    def cast(context, node, dtype, dtype_name):
        x = ops._get_inputs(context, node, expected=1)[0]
        if x.can_be_folded_to_const() and isinstance(x.val, np.ndarray) and x.val.size == 1:
            context.add(mb.const(val=dtype(x.val.reshape(-1)[0]), name=node.name), node.name)
        else:
            ops._cast(context, node, dtype, dtype_name)

    def _int(context, node):
        cast(context, node, int, "int32")

    def _bool(context, node):
        cast(context, node, bool, "bool")

    register_torch_op(_int, torch_alias=["int"], override=True)
    register_torch_op(_bool, torch_alias=["bool"], override=True)
    _SCALAR_CASTS_FIXED = True


class ExportFailure(Exception):
    """One model could not be exported; the message says which operator and why."""


@contextlib.contextmanager
def _quiet(loggers: Sequence[str] = ()) -> Iterator[io.StringIO]:
    """Capture stdout/stderr (progress bars, exporter chatter), warnings and the given loggers
    (their own handlers are detached meanwhile: they may hold the real stderr).

    Yields the buffer holding the captured text (used to explain a failure).
    """
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    saved = []
    for name in loggers:
        lg = logging.getLogger(name)
        saved.append((lg, lg.level, lg.propagate, lg.handlers[:]))
        lg.handlers = [handler]  # its own handlers may hold the real stderr
        lg.propagate = False
        if lg.level == logging.NOTSET or lg.level > logging.WARNING:
            lg.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(buf), \
                contextlib.redirect_stderr(buf):
            warnings.simplefilter("ignore")
            yield buf
    finally:
        for lg, level, propagate, handlers in saved:
            lg.handlers = handlers
            lg.setLevel(level)
            lg.propagate = propagate


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def example_input(input_size: int, batch_size: int = 1, seed: int = 0,
                  dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A seeded random input ``batch × 3 × size × size``."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch_size, 3, input_size, input_size, generator=g).to(dtype)


# ----------------------------------------------------------------------------------------------
# ONNX


def export_onnx(model: nn.Module, path: str | Path, example: torch.Tensor, *,
                opset: int | None = None) -> Path:
    """Write ``model`` (as given: fuse it first) to one self-contained ``.onnx`` file.

    Uses ``torch.onnx.export`` with the torch.export-based exporter; if that fails, the
    TorchScript exporter. Input ``input``, output ``logits``, static shapes. Exporter output
    is captured; a failure raises :class:`ExportFailure` with both exporters' reasons.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    common = dict(input_names=["input"], output_names=["logits"], opset_version=opset)
    errors = []
    for dynamo in (True, False):
        try:
            with _quiet(["torch.onnx", "torch.export", "torch._dynamo", "onnxscript"]), \
                    torch.no_grad():
                if dynamo:
                    torch.onnx.export(model, (example,), str(path), dynamo=True,
                                      external_data=False, verbose=False, **common)
                else:
                    torch.onnx.export(model, (example,), str(path), dynamo=False, **common)
            return path
        except Exception as exc:  # noqa: BLE001 - try the other exporter, then report both
            errors.append(f"{'torch.export-based' if dynamo else 'TorchScript'} exporter: "
                          f"{type(exc).__name__}: {_first_line(exc)}")
    raise ExportFailure("ONNX export failed (" + "; ".join(errors) + ")")


def check_onnx(path: str | Path, model: nn.Module, example: torch.Tensor) -> str:
    """``onnx.checker`` + one ONNX Runtime run compared with PyTorch; returns a short report.

    fp32: outputs must agree (|onnx − torch| ≤ atol + rtol·max|torch|). fp16: random weights
    overflow fp16 in deep networks, so only the output's shape and dtype are checked.
    Raises :class:`ExportFailure` on any problem.
    """
    import onnx
    import onnxruntime as ort

    try:
        onnx.checker.check_model(str(path), full_check=True)
    except Exception as exc:  # noqa: BLE001
        raise ExportFailure(f"onnx.checker rejects the file: {_first_line(exc)}") from None
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    try:
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        got = session.run(None, {session.get_inputs()[0].name: example.numpy()})[0]
    except Exception as exc:  # noqa: BLE001
        raise ExportFailure(f"ONNX Runtime cannot run the export: {_first_line(exc)}") from None
    with torch.no_grad():
        want = model.eval()(example)
    want = want.float().numpy()
    if got.shape != want.shape:
        raise ExportFailure(f"ONNX output shape {got.shape} differs from PyTorch's {want.shape}")
    if example.dtype != torch.float32:
        return f"checked: onnx.checker ok, ONNX Runtime output {got.shape} {got.dtype}"
    diff = float(np.max(np.abs(got.astype(np.float64) - want)))
    scale = float(np.max(np.abs(want)))
    if not diff <= ONNX_ATOL + ONNX_RTOL * scale:
        raise ExportFailure(f"ONNX Runtime output differs from PyTorch: max |diff| = {diff:.3g}"
                            f" for outputs up to {scale:.3g}")
    return f"checked: onnx.checker ok, max |onnx - torch| = {diff:.2g} (outputs up to {scale:.3g})"


# ----------------------------------------------------------------------------------------------
# Core ML


_CT_FAILED_OP = re.compile(r"ERROR - converting '([^']+)' op \(located at: '([^']*)'\)")
_CT_NOT_IMPLEMENTED = re.compile(r"convert function for op '([^']+)' not implemented")


def _coreml_failure(exc: BaseException, log: str) -> ExportFailure:
    """A readable failure: which operator, where, and coremltools' reason."""
    located = _CT_FAILED_OP.search(log)
    missing = _CT_NOT_IMPLEMENTED.search(str(exc))
    if missing:
        where = f" (at {located.group(2)})" if located and located.group(2) else ""
        return ExportFailure(f"Core ML cannot convert operator '{missing.group(1)}'{where}: "
                             f"coremltools has no converter for it")
    if located:
        where = f" (at {located.group(2)})" if located.group(2) else ""
        return ExportFailure(f"Core ML conversion failed at operator '{located.group(1)}'"
                             f"{where}: {type(exc).__name__}: {_first_line(exc)}")
    return ExportFailure(f"Core ML conversion failed: {type(exc).__name__}: {_first_line(exc)}")


def export_coreml(model: nn.Module, path: str | Path, example: torch.Tensor, *,
                  precision: str = "fp16") -> Path:
    """Trace ``model`` (fuse it first) and convert it to a Core ML ML program ``.mlpackage``.

    Input ``input`` (float32, the example's shape), output ``logits``, compute precision
    ``precision``, minimum deployment target iOS 16. Raises :class:`ExportFailure` naming the
    operator that cannot be converted and why.
    """
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    ct = import_coremltools()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    try:
        with _quiet(), torch.no_grad():
            traced = torch.jit.trace(model, example)
    except Exception as exc:  # noqa: BLE001
        raise ExportFailure(f"torch.jit.trace failed: {type(exc).__name__}: "
                            f"{_first_line(exc)}") from None
    compute = ct.precision.FLOAT16 if precision == "fp16" else ct.precision.FLOAT32
    with _quiet(["coremltools"]) as log:
        try:
            mlmodel = ct.convert(
                traced, convert_to="mlprogram",
                inputs=[ct.TensorType(name="input", shape=tuple(example.shape),
                                      dtype=np.float32)],
                outputs=[ct.TensorType(name="logits")],
                compute_precision=compute,
                minimum_deployment_target=ct.target.iOS16)
        except Exception as exc:  # noqa: BLE001
            raise _coreml_failure(exc, log.getvalue()) from None
        _remove(path)
        mlmodel.save(str(path))
    return path


def coreml_summary(path: str | Path) -> dict:
    """Structural facts of a saved ``.mlpackage``: model type, input name, shape, data type."""
    ct = import_coremltools()
    spec = ct.utils.load_spec(str(path))
    inp = spec.description.input[0]
    array = inp.type.multiArrayType
    dtype = ct.proto.FeatureTypes_pb2.ArrayFeatureType.ArrayDataType.Name(array.dataType)
    return {"type": spec.WhichOneof("Type"), "spec_version": spec.specificationVersion,
            "input": inp.name, "input_shape": tuple(int(d) for d in array.shape),
            "input_dtype": dtype, "output": spec.description.output[0].name}


# ----------------------------------------------------------------------------------------------
# batches


@dataclass
class ExportResult:
    """The outcome for one model."""

    model: str  # display name (the template's ``model``)
    format: str
    status: str  # "ok", "skipped" (file exists, not forced) or "failed"
    path: Path | None
    input_size: int
    precision: str
    message: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status != "failed"


class ExportBatch(list):
    """The results of :func:`export_models` (a list) and what happened to the template."""

    template: Path | None = None
    template_kept: bool = False


def _items(models) -> list[tuple[str, str, nn.Module | None, int]]:
    """``[(label, file stem, module or None (build from registry), input size)]``."""
    from analysis.models import get_entry, resolve_models

    if isinstance(models, dict):
        out = []
        for label, module in models.items():
            stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(label)).strip("_") or "model"
            out.append((str(label), stem, module, 224))
        return out
    ids = resolve_models(models)
    if not ids:
        raise ConfigError(f"no model selected by {models!r}")
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


def _remove(path: Path) -> None:
    import shutil

    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def _precision(fmt: str, precision: str | None) -> str:
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")
    precision = precision or DEFAULT_PRECISION[fmt]
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    return precision


def _export_one(label: str, stem: str, module: nn.Module | None, size: int, fmt: str,
                out_dir: Path, precision: str, force: bool) -> ExportResult:
    from analysis.models import create_model, deploy

    path = out_dir / f"{stem}{SUFFIX[fmt]}"
    result = ExportResult(label, fmt, "ok", path, size, precision)
    if path.exists() and not force:
        result.status, result.message = "skipped", "exists (pass --force to re-export)"
        return result
    start = time.perf_counter()
    try:
        try:
            built = create_model(stem) if module is None else module
            model = deploy(built)
        except Exception as exc:  # noqa: BLE001
            raise ExportFailure(f"building the fused model failed: {type(exc).__name__}: "
                                f"{_first_line(exc)}") from None
        if fmt == "coreml":
            export_coreml(model, path, example_input(size), precision=precision)
            info = coreml_summary(path)
            result.message = (f"{info['type']}, input {info['input']} "
                              f"{'x'.join(map(str, info['input_shape']))}, {precision}")
        else:
            dtype = torch.float16 if precision == "fp16" else torch.float32
            model = model.to(dtype)
            example = example_input(size, dtype=dtype)
            export_onnx(model, path, example)
            result.message = check_onnx(path, model, example)
    except ExportFailure as exc:
        result.status, result.message = "failed", str(exc)
    except Exception as exc:  # noqa: BLE001 - never crash the batch
        result.status, result.message = "failed", f"{type(exc).__name__}: {_first_line(exc)}"
    if result.status == "failed":
        _remove(path)  # written by this call (or forced): a failed export must not look done
        result.path = None
    result.seconds = time.perf_counter() - start
    return result


def export_models(models, fmt: str, out_dir: str | Path, *, precision: str | None = None,
                  force: bool = False, progress: bool = True,
                  template: bool = True) -> "ExportBatch":
    """Export every selected model to ``out_dir`` and write ``latency_template.csv``.

    Args:
        models: group / model names (comma-separated or a list), or ``{label: nn.Module}``.
        fmt: ``"coreml"`` or ``"onnx"``.
        precision: ``"fp16"`` or ``"fp32"`` (default: fp16 for Core ML, fp32 for ONNX).
        force: re-export existing files and overwrite an existing template; without it,
            existing exports are kept (``skipped``) and an existing template is left untouched
            (it may hold your measurements).
        progress: progress bar across models and one line per model (stderr).
        template: write the latency template.

    Returns:
        One :class:`ExportResult` per model, in order (failures do not stop the batch), as an
        :class:`ExportBatch` (a list) whose ``template`` is the template written (``None``
        when an existing one was kept, see :func:`write_latency_template`).
    """
    from tqdm import tqdm  # plain bar: no ipywidgets needed in notebooks

    precision = _precision(fmt, precision)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out} exists and is not a directory; --out must be a folder")
    out.mkdir(parents=True, exist_ok=True)
    results = []
    bar = tqdm(_items(models), desc=f"export ({fmt})", unit="model", disable=not progress)
    for label, stem, module, size in bar:
        bar.set_postfix_str(label)
        res = _export_one(label, stem, module, size, fmt, out, precision, force)
        results.append(res)
        if progress:
            bar.write(f"{label}: {res.status} - {res.message}")
    bar.close()
    batch = ExportBatch(results)
    if template:
        batch.template = write_latency_template([r for r in results if r.ok],
                                                out / TEMPLATE_NAME, force=force)
        batch.template_kept = batch.template is None
    return batch


def write_latency_template(results: Iterable[ExportResult], path: str | Path, *,
                           force: bool = False) -> Path | None:
    """Write the latency template for ``results`` (one row per model, ``latency_ms`` empty).

    An existing template that is still blank (no ``latency_ms`` filled in) is extended: its
    rows are kept and the new (model, runtime, precision) rows appended. One holding any
    measurement, or not written by this function, is left untouched unless ``force``.
    Returns the path written, or ``None`` when the existing file was left untouched.
    """
    path = Path(path)
    rows: list[list[str]] = []
    if path.exists() and not force:
        try:
            with open(path, newline="", encoding="utf-8") as fh:
                existing = list(csv.reader(fh))
        except (OSError, UnicodeDecodeError):
            return None
        if not existing or tuple(existing[0]) != TEMPLATE_COLUMNS:
            return None
        body = [r for r in existing[1:] if any(r)]
        if any(len(r) != len(TEMPLATE_COLUMNS) or r[1].strip() for r in body):
            return None  # the user has started filling it in
        rows = body
    have = {(r[0], r[3], r[8]) for r in rows}
    for r in results:
        row = [r.model, "", "", TEMPLATE_RUNTIME[r.format], "median", "", "1",
               str(r.input_size), r.precision, "", "", "", r.path.name if r.path else ""]
        if (row[0], row[3], row[8]) not in have:
            rows.append(row)
            have.add((row[0], row[3], row[8]))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(TEMPLATE_COLUMNS)
    writer.writerows(rows)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(buf.getvalue(), encoding="utf-8", newline="")
    tmp.replace(path)
    return path


def summarize_exports(results: Sequence[ExportResult]) -> str:
    """A summary for the command line: counts, then one line per failure."""
    failed = [r for r in results if r.status == "failed"]
    skipped = sum(r.status == "skipped" for r in results)
    ok = len(results) - len(failed) - skipped
    lines = [f"exported {ok}, kept {skipped} existing, failed {len(failed)} "
             f"(of {len(results)} models)"]
    lines += [f"  FAILED {r.model}: {r.message}" for r in failed]
    return "\n".join(lines)
