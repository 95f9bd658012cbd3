"""What the Core ML and ONNX exporters share: the result and failure types, the seeded example
input, the registry model prepared for export, and the capture of the converters' console
chatter."""

from __future__ import annotations

import contextlib
import io
import logging
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import torch
import torch.nn as nn

from analysis.errors import ConfigError
from analysis.models import create_model, deploy
from analysis.models.fusion import calibrate_batchnorm

PRECISIONS = ("fp16", "fp32")
#: Images of the random batch whose activations set the BatchNorm statistics before fusing.
CALIBRATION_BATCH = 4


class ExportFailure(Exception):
    """One model could not be exported; the message says which operator and why."""


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
    random_weights: bool = True  # built from the registry (False: a module the caller gave)

    @property
    def ok(self) -> bool:
        return self.status != "failed"


def check_precision(precision: str) -> str:
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    return precision


def example_input(input_size: int, batch_size: int = 1, seed: int = 0,
                  dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A seeded random input ``batch × 3 × size × size``."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch_size, 3, input_size, input_size, generator=g).to(dtype)


def export_ready(model_id: str, input_size: int) -> nn.Module:
    """The registry model ``model_id`` as exported: random weights, BatchNorm statistics set
    from a seeded random batch (:func:`~analysis.models.fusion.calibrate_batchnorm`, so that
    no activation overflows fp16), then fused, in eval mode. Its outputs are meaningless; its
    operators and their cost are those of the trained network."""
    batch = example_input(input_size, batch_size=CALIBRATION_BATCH, seed=1)
    return deploy(calibrate_batchnorm(create_model(model_id), batch))


def remove(path: Path) -> None:
    """Delete a file or a folder (an ``.mlpackage``) if it exists."""
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


@contextlib.contextmanager
def quiet(loggers: Sequence[str] = ()) -> Iterator[io.StringIO]:
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
