"""How a model is run while it is timed: runtime, accelerator, execution mode, precision.

A :class:`Setup` names one way of running: ``runtime`` (PyTorch eager, or ONNX Runtime on the
CPU), ``accelerator`` (``cpu`` or ``cuda``), ``mode`` (``eager``: op by op; ``graph``: a CUDA
graph captured once after warm-up and replayed, kernel time without Python or launch cost),
``precision`` (fp32, fp16, bf16), intra-op ``threads``, and on a GPU whether TF32 may be used
(off by default) and whether cuDNN benchmarks its algorithms (on by default on a GPU).

:func:`runner` is a context manager that prepares everything before timing (threads and
backend flags set, model converted, exported or captured, input on the device) and yields a
zero-argument function running one inference; leaving it restores the global state.
:func:`timer_for` is the :class:`~analysis.latency.timing.Timer` of a setup: on a GPU each run
is bracketed by ``torch.cuda.synchronize()`` so the interval holds the work, not its launch.
"""

from __future__ import annotations

import contextlib
import copy
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator

import torch
import torch.nn as nn

from analysis.errors import ConfigError
from analysis.export import export_onnx
from analysis.latency.schema import MODES
from analysis.latency.timing import CPU_TIMER, Timer

RUNTIMES = ("torch", "onnxruntime")
ACCELERATORS = ("cpu", "cuda")
PRECISIONS = ("fp32", "fp16", "bf16")
DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
#: Untimed forward passes on a side stream before a CUDA graph is captured (PyTorch's advice:
#: lazy initialisation and cuDNN's algorithm search must not happen during capture).
GRAPH_CAPTURE_WARMUP = 3


@dataclass(frozen=True)
class Setup:
    """One way of running a model (see the module docstring). ``cudnn_benchmark=None``: on
    for ``cuda``, off for ``cpu``."""

    runtime: str = "torch"
    threads: int = 1
    accelerator: str = "cpu"
    mode: str = "eager"
    precision: str = "fp32"
    tf32: bool = False
    cudnn_benchmark: bool | None = None

    @property
    def benchmark(self) -> bool:
        """cuDNN's algorithm search as used (the default resolved)."""
        if self.cudnn_benchmark is None:
            return self.accelerator == "cuda"
        return bool(self.cudnn_benchmark)

    def label(self) -> str:
        return f"{self.runtime} {self.mode} {self.precision}"


def _one_of(name: str, value: str, choices: tuple[str, ...], option: str) -> None:
    if value not in choices:
        raise ConfigError(f"unknown {name} {value!r} ({option}); expected one of "
                          f"{', '.join(choices)}")


def cuda_available() -> bool:
    return torch.cuda.is_available()


def check_setup(setup: Setup) -> Setup:
    """``setup`` if it can run here; otherwise one :class:`ConfigError` saying what to change.

    Without a CUDA device, ``accelerator="cuda"`` is refused (never silently timed on the CPU);
    ONNX Runtime runs on the CPU in fp32 only; graph mode needs CUDA."""
    _one_of("runtime", setup.runtime, RUNTIMES, "--runtime")
    _one_of("accelerator", setup.accelerator, ACCELERATORS, "--accelerator")
    _one_of("mode", setup.mode, MODES, "--mode")
    _one_of("precision", setup.precision, PRECISIONS, "--precision")
    if isinstance(setup.threads, bool) or not isinstance(setup.threads, int) or setup.threads < 1:
        raise ConfigError(f"threads must be a whole number >= 1, got {setup.threads!r}")
    if setup.accelerator == "cuda" and not cuda_available():
        raise ConfigError(f"--accelerator cuda: no CUDA device is available here (torch "
                          f"{torch.__version__}, built with CUDA {torch.version.cuda or 'none'})"
                          f"; measure on a machine with an NVIDIA GPU or use --accelerator cpu")
    if setup.runtime == "onnxruntime" and (setup.accelerator, setup.mode, setup.precision) != (
            "cpu", "eager", "fp32"):
        raise ConfigError("onnxruntime is timed on the CPU, eager, fp32 only; use --runtime "
                          "torch for --accelerator cuda, --mode graph or --precision fp16/bf16")
    if setup.mode == "graph" and setup.accelerator != "cuda":
        raise ConfigError("--mode graph replays a CUDA graph and needs --accelerator cuda")
    return setup


def timer_for(setup: Setup) -> Timer:
    """``perf_counter_ns`` around each run; on a GPU with ``torch.cuda.synchronize`` before
    and after it."""
    if setup.accelerator == "cuda":
        return replace(CPU_TIMER, synchronize=torch.cuda.synchronize)
    return CPU_TIMER


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
def backend_flags(setup: Setup) -> Iterator[None]:
    """TF32 (matmul and cuDNN) and ``cudnn.benchmark`` as ``setup`` says; restored after."""
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32,
             torch.backends.cudnn.benchmark)
    torch.backends.cuda.matmul.allow_tf32 = setup.tf32
    torch.backends.cudnn.allow_tf32 = setup.tf32
    torch.backends.cudnn.benchmark = setup.benchmark
    try:
        yield
    finally:
        (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32,
         torch.backends.cudnn.benchmark) = saved


def _placed(model: nn.Module, example: torch.Tensor, setup: Setup):
    """Model and input on the setup's device and dtype (the model copied if it must move)."""
    device = torch.device("cuda" if setup.accelerator == "cuda" else "cpu")
    dtype = DTYPES[setup.precision]
    moved = any(p.device != device or (p.is_floating_point() and p.dtype != dtype)
                for p in [*model.parameters(), *model.buffers()])
    if moved:
        model = copy.deepcopy(model).to(device=device, dtype=dtype)
    x = example.to(device=device, dtype=dtype if example.is_floating_point() else example.dtype)
    return model.eval(), x


@contextlib.contextmanager
def torch_runner(model: nn.Module, example: torch.Tensor,
                 setup: Setup) -> Iterator[Callable[[], object]]:
    """PyTorch under ``torch.inference_mode()``: eager, or a CUDA graph replayed."""
    with torch_threads(setup.threads), backend_flags(setup), torch.inference_mode():
        model, x = _placed(model, example, setup)
        if setup.mode == "eager":
            yield lambda: model(x)
            return
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(GRAPH_CAPTURE_WARMUP):
                model(x)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            model(x)
        torch.cuda.synchronize()
        yield graph.replay


@contextlib.contextmanager
def onnxruntime_runner(model: nn.Module, example: torch.Tensor,
                       setup: Setup) -> Iterator[Callable[[], object]]:
    """ONNX Runtime, CPU execution provider, all graph optimisations, ``threads`` intra-op
    threads, sequential execution (one inter-op thread). The model is exported to ONNX in a
    temporary folder and loaded before timing."""
    import onnxruntime as ort  # heavy and optional: only this runtime needs it

    with tempfile.TemporaryDirectory(prefix="mobileone-ort-") as tmp:
        path = export_onnx(model, Path(tmp) / "model.onnx", example)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = setup.threads
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
        import onnxruntime as ort  # heavy and optional: only this runtime needs it

        return ort.__version__
    raise ConfigError(f"unknown runtime {runtime!r}; expected one of {', '.join(RUNTIMES)}")


def runner(setup: Setup | str, model: nn.Module, example: torch.Tensor,
           threads: int | None = None):
    """The context manager preparing ``model`` for ``setup`` (see the module docstring).
    ``runner("torch", model, x, threads)`` is ``runner(Setup("torch", threads), model, x)``."""
    if isinstance(setup, str):
        setup = Setup(setup, threads if threads is not None else torch.get_num_threads())
    check_setup(setup)
    if setup.runtime == "torch":
        return torch_runner(model, example, setup)
    return onnxruntime_runner(model, example, setup)
