"""Export models for on-device measurement: Core ML (ML program) and ONNX, plus a latency template.

Every model is exported as deployed — re-parameterized (fused), eval mode — at its native input
size and batch size 1, with **random weights**: the latency of a network does not depend on its
weight values, so the timing is that of the trained network, but the outputs are meaningless.
The BatchNorm statistics are set from a random batch before fusing (:func:`export_ready`), so
that the activations keep a trained network's scale and fp16 does not overflow:

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

Modules: :mod:`~analysis.export.common` (failure type, example input, the model prepared for
export), :mod:`~analysis.export.to_coreml` (conversion, coremltools patches),
:mod:`~analysis.export.to_onnx` (export and check), :mod:`~analysis.export.batch` (a selection
of models, results) and :mod:`~analysis.export.template` (the latency template).
"""

from __future__ import annotations

from analysis.export.batch import (DEFAULT_PRECISION, FORMATS, SUFFIX, ExportBatch,
                                   export_model, export_models)
from analysis.export.common import (PRECISIONS, ExportFailure, ExportResult, example_input,
                                    export_ready)
from analysis.export.template import (RANDOM_WEIGHTS_NOTE, TEMPLATE_COLUMNS, TEMPLATE_NAME,
                                      TEMPLATE_RUNTIME, write_latency_template)
from analysis.export.to_coreml import coreml_summary, export_coreml, import_coremltools
from analysis.export.to_onnx import ONNX_ATOL, ONNX_RTOL, check_onnx, export_onnx

__all__ = [
    "DEFAULT_PRECISION", "FORMATS", "ONNX_ATOL", "ONNX_RTOL", "PRECISIONS",
    "RANDOM_WEIGHTS_NOTE", "SUFFIX", "TEMPLATE_COLUMNS", "TEMPLATE_NAME", "TEMPLATE_RUNTIME",
    "ExportBatch", "ExportFailure", "ExportResult", "check_onnx", "coreml_summary",
    "example_input", "export_coreml", "export_model", "export_models", "export_onnx",
    "export_ready", "import_coremltools", "write_latency_template",
]
