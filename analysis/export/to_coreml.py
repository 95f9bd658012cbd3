"""Core ML: ``torch.jit.trace`` → ``coremltools.convert(..., convert_to="mlprogram")`` →
``<id>.mlpackage``, with coremltools imported quietly and patched where NumPy needs it.

Linux cannot run Core ML models: a package is checked structurally (:func:`coreml_summary`).
"""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from analysis.errors import first_line
from analysis.export.common import ExportFailure, check_precision, quiet, remove

_COREML_NOISE = ("has not been tested with coremltools", "Failed to load _ML",
                 "scikit-learn version")


class _DropCoremlNoise(logging.Filter):
    """Drop coremltools' untested-torch-version warning, the missing-native-library lines it
    logs on Linux (prediction needs macOS; conversion does not) and its notice that it disables
    its scikit-learn converter (irrelevant for PyTorch conversion)."""

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
        import coremltools  # lazy: heavy (~2 s) and only the Core ML export needs it

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
    from coremltools.converters.mil import Builder as mb  # lazy: coremltools is heavy
    from coremltools.converters.mil.frontend.torch import ops  # lazy: as above
    from coremltools.converters.mil.frontend.torch.torch_op_registry import (  # lazy: as above
        register_torch_op)

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
                             f"{where}: {first_line(exc, with_type=True)}")
    return ExportFailure(f"Core ML conversion failed: {first_line(exc, with_type=True)}")


def export_coreml(model: nn.Module, path: str | Path, example: torch.Tensor, *,
                  precision: str = "fp16") -> Path:
    """Trace ``model`` (fuse it first) and convert it to a Core ML ML program ``.mlpackage``.

    Input ``input`` (float32, the example's shape), output ``logits``, compute precision
    ``precision``, minimum deployment target iOS 16. Raises :class:`ExportFailure` naming the
    operator that cannot be converted and why.
    """
    check_precision(precision)
    ct = import_coremltools()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    try:
        with quiet(), torch.no_grad():
            traced = torch.jit.trace(model, example)
    except Exception as exc:  # noqa: BLE001
        raise ExportFailure(f"torch.jit.trace failed: {first_line(exc, with_type=True)}") from None
    compute = ct.precision.FLOAT16 if precision == "fp16" else ct.precision.FLOAT32
    with quiet(["coremltools"]) as log:
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
        remove(path)
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
