"""The context of a local measurement: CPU, cores, library versions, code version, date."""

from __future__ import annotations

import functools
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata

from analysis import paths


def _cpuinfo() -> list[dict[str, str]]:
    """``/proc/cpuinfo`` as one dict per logical processor (empty when unavailable)."""
    try:
        text = open("/proc/cpuinfo", encoding="utf-8", errors="replace").read()
    except OSError:
        return []
    blocks = []
    for block in text.strip().split("\n\n"):
        entry = {}
        for line in block.splitlines():
            if ":" in line:
                k, _, v = line.partition(":")
                entry[k.strip()] = v.strip()
        blocks.append(entry)
    return blocks


@functools.lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU's model string (``/proc/cpuinfo`` ``model name``, else :mod:`platform`)."""
    for entry in _cpuinfo():
        for key in ("model name", "Model", "Hardware", "cpu model"):
            if entry.get(key):
                return entry[key]
    if sys.platform == "darwin":
        try:
            out = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"],
                                 capture_output=True, text=True, timeout=5)
            if out.returncode == 0 and out.stdout.strip():
                return out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine() or "unknown CPU"


@functools.lru_cache(maxsize=1)
def physical_cores() -> int | None:
    """Number of physical cores (distinct (package, core) pairs), ``None`` when unknown."""
    pairs = {(e.get("physical id"), e.get("core id")) for e in _cpuinfo()
             if "core id" in e}
    return len(pairs) or None


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return ""


@functools.lru_cache(maxsize=1)
def code_commit() -> str:
    """Short git commit of the project, or ``""`` outside a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=paths.ROOT,
                             capture_output=True, text=True, timeout=5)
        return out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def machine_context() -> dict[str, object]:
    """CPU model, core counts, OS, Python / torch / onnxruntime / numpy versions, commit, date.

    ``date`` is the current UTC time in ISO 8601 (seconds).
    """
    import torch

    return {
        "cpu": cpu_model(),
        "cores_logical": os.cpu_count(),
        "cores_physical": physical_cores(),
        "torch_version": torch.__version__,
        "onnxruntime_version": _version("onnxruntime"),
        "numpy_version": _version("numpy"),
        "python_version": platform.python_version(),
        "platform": platform.platform(),
        "code_commit": code_commit(),
        "date": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
    }


def describe_context(ctx: dict) -> str:
    """One line for logs and benchmark output."""
    return (f"{ctx['cpu']} ({ctx['cores_physical'] or '?'} physical / {ctx['cores_logical']} "
            f"logical cores), {ctx['platform']}, Python {ctx['python_version']}, torch "
            f"{ctx['torch_version']}, onnxruntime {ctx['onnxruntime_version'] or '-'}, "
            f"commit {ctx['code_commit'] or '-'}, {ctx['date']}")
