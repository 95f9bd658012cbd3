"""ONNX: one self-contained ``.onnx`` file per model, checked with ``onnx.checker`` and one
ONNX Runtime run compared with PyTorch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from analysis.errors import first_line
from analysis.export.common import ExportFailure, quiet

#: fp32 ONNX output must match PyTorch within these tolerances (relative to the output scale).
ONNX_RTOL, ONNX_ATOL = 1e-3, 1e-4


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
            with quiet(["torch.onnx", "torch.export", "torch._dynamo", "onnxscript"]), \
                    torch.no_grad():
                if dynamo:
                    torch.onnx.export(model, (example,), str(path), dynamo=True,
                                      external_data=False, verbose=False, **common)
                else:
                    torch.onnx.export(model, (example,), str(path), dynamo=False, **common)
            return path
        except Exception as exc:  # noqa: BLE001 - try the other exporter, then report both
            errors.append(f"{'torch.export-based' if dynamo else 'TorchScript'} exporter: "
                          f"{first_line(exc, with_type=True)}")
    raise ExportFailure("ONNX export failed (" + "; ".join(errors) + ")")


def check_onnx(path: str | Path, model: nn.Module, example: torch.Tensor) -> str:
    """``onnx.checker`` + one ONNX Runtime run compared with PyTorch; returns a short report.

    fp32: outputs must agree (|onnx − torch| ≤ atol + rtol·max|torch|). fp16: rounding
    differs between the runtimes, so the output must only have PyTorch's shape and be finite
    (an overflow would make the on-device run meaningless). Raises :class:`ExportFailure` on
    any problem.
    """
    import onnx  # lazy: only the ONNX check needs it
    import onnxruntime as ort  # lazy: heavy, only the ONNX check runs it

    try:
        onnx.checker.check_model(str(path), full_check=True)
    except Exception as exc:  # noqa: BLE001
        raise ExportFailure(f"onnx.checker rejects the file: {first_line(exc)}") from None
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    try:
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        got = session.run(None, {session.get_inputs()[0].name: example.numpy()})[0]
    except Exception as exc:  # noqa: BLE001
        raise ExportFailure(f"ONNX Runtime cannot run the export: {first_line(exc)}") from None
    with torch.no_grad():
        want = model.eval()(example)
    want = want.float().numpy()
    if got.shape != want.shape:
        raise ExportFailure(f"ONNX output shape {got.shape} differs from PyTorch's {want.shape}")
    if example.dtype != torch.float32:
        if not np.isfinite(got).all():
            raise ExportFailure(f"ONNX Runtime {got.dtype} output is not finite (overflow)")
        return f"checked: onnx.checker ok, ONNX Runtime output {got.shape} {got.dtype}, finite"
    diff = float(np.max(np.abs(got.astype(np.float64) - want)))
    scale = float(np.max(np.abs(want)))
    if not diff <= ONNX_ATOL + ONNX_RTOL * scale:
        raise ExportFailure(f"ONNX Runtime output differs from PyTorch: max |diff| = {diff:.3g}"
                            f" for outputs up to {scale:.3g}")
    return f"checked: onnx.checker ok, max |onnx - torch| = {diff:.2g} (outputs up to {scale:.3g})"
