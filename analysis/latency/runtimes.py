"""Runtimes the harness can time: PyTorch eager and ONNX Runtime (CPU).

Each runtime is a context manager ``runner(model, example, threads)`` that prepares everything
before timing (threads set, model exported and loaded, input converted) and yields a zero-
argument function running one inference; leaving the context restores global state.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Callable, Iterator

import torch
import torch.nn as nn

from analysis.errors import ConfigError

RUNTIMES = ("torch", "onnxruntime")


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Set ``torch.set_num_threads(threads)`` inside the block, restore it afterwards."""
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(old)


@contextlib.contextmanager
def torch_runner(model: nn.Module, example: torch.Tensor,
                 threads: int) -> Iterator[Callable[[], object]]:
    """PyTorch eager, ``torch.inference_mode()``, ``threads`` intra-op threads."""
    with torch_threads(threads), torch.inference_mode():
        yield lambda: model(example)


@contextlib.contextmanager
def onnxruntime_runner(model: nn.Module, example: torch.Tensor,
                       threads: int) -> Iterator[Callable[[], object]]:
    """ONNX Runtime, CPU execution provider, all graph optimisations, ``threads`` intra-op
    threads, sequential execution (one inter-op thread). The model is exported to ONNX in a
    temporary folder and loaded before timing."""
    import onnxruntime as ort

    from analysis.export import export_onnx

    with tempfile.TemporaryDirectory(prefix="mobileone-ort-") as tmp:
        path = export_onnx(model, Path(tmp) / "model.onnx", example)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3  # errors only
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: example.detach().cpu().numpy()}
    run = session.run
    yield lambda: run(None, feed)


def runtime_version(runtime: str) -> str:
    """Version string of ``runtime``'s library."""
    if runtime == "torch":
        return torch.__version__
    if runtime == "onnxruntime":
        import onnxruntime as ort

        return ort.__version__
    raise ConfigError(f"unknown runtime {runtime!r}; expected one of {', '.join(RUNTIMES)}")


def runner(runtime: str, model: nn.Module, example: torch.Tensor, threads: int):
    """The context manager preparing ``model`` for ``runtime`` (see the module docstring)."""
    if runtime == "torch":
        return torch_runner(model, example, threads)
    if runtime == "onnxruntime":
        return onnxruntime_runner(model, example, threads)
    raise ConfigError(f"unknown runtime {runtime!r}; expected one of {', '.join(RUNTIMES)}")
