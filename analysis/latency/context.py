"""The context of a local measurement: the machine, its accelerator, library versions, code.

Two machines with the same CPU string (two VMs of one cloud type) are told apart by
:func:`host_fingerprint`: a short hash of ``/etc/machine-id``, the boot id, the host name and
the CPU, so a reboot — often a new VM instance — counts as another host. :func:`campaign_id`
names a campaign by its start (to the minute), the kernel build and that fingerprint.
"""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import re
import shlex
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata

import torch

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


def _read(path: str) -> str:
    try:
        return open(path, encoding="utf-8", errors="replace").read().strip()
    except OSError:
        return ""


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


def _virtual() -> bool:
    return any("hypervisor" in e.get("flags", "").split() for e in _cpuinfo()[:1])


def cpu_device_name() -> str:
    """The CPU named as a device: its model string without trade marks, with the core count,
    e.g. ``Intel Xeon Processor (2 vCPU)`` (``vCPU`` under a hypervisor, else ``cores``)."""
    name = re.sub(r"\((R|TM|tm|r)\)", "", cpu_model())
    name = " ".join(name.replace(" CPU ", " ").split())
    return f"{name} ({os.cpu_count()} {'vCPU' if _virtual() else 'cores'})"


def gpu_name() -> str:
    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else ""


def default_device(accelerator: str = "cpu") -> str:
    """The ``device`` column's default: the GPU's name on ``cuda``, else :func:`cpu_device_name`."""
    return gpu_name() if accelerator == "cuda" and gpu_name() else cpu_device_name()


@functools.lru_cache(maxsize=1)
def host_fingerprint() -> str:
    """Eight hex digits identifying this machine instance (see the module docstring)."""
    parts = [_read("/etc/machine-id"), _read("/proc/sys/kernel/random/boot_id"),
             platform.node(), cpu_model(), str(os.cpu_count())]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:8]


def kernel_build() -> str:
    """The OS kernel release (``uname -r``), e.g. ``6.18.44-fc-v1147``."""
    return platform.release()


def campaign_id(start: datetime | None = None) -> str:
    """``<UTC start to the minute>-<kernel build>-<host fingerprint>``."""
    start = start or datetime.now(timezone.utc)
    return f"{start:%Y-%m-%dT%H:%MZ}-{kernel_build()}-{host_fingerprint()}"


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


@functools.lru_cache(maxsize=1)
def gpu_driver() -> str:
    """The NVIDIA driver version (``nvidia-smi``), ``""`` when unknown."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version",
                              "--format=csv,noheader"], capture_output=True, text=True,
                             timeout=10)
        return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout else ""
    except (OSError, subprocess.SubprocessError, IndexError):
        return ""


def accelerator_context(accelerator: str = "cpu") -> dict[str, object]:
    """``accelerator, gpu, driver, cuda, cudnn``: empty strings on the CPU."""
    if accelerator != "cuda" or not torch.cuda.is_available():
        return {"accelerator": accelerator, "gpu": "", "driver": "", "cuda": "", "cudnn": ""}
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    return {"accelerator": accelerator, "gpu": gpu_name(), "driver": gpu_driver(),
            "cuda": torch.version.cuda or "", "cudnn": str(cudnn or "")}


def machine_context(accelerator: str = "cpu") -> dict[str, object]:
    """CPU, cores, kernel, host, accelerator, library versions, commit and UTC date (ISO 8601,
    seconds)."""
    return {
        "cpu": cpu_model(),
        "cores_logical": os.cpu_count(),
        "cores_physical": physical_cores(),
        "torch_version": torch.__version__,
        "onnxruntime_version": _version("onnxruntime"),
        "numpy_version": _version("numpy"),
        "python_version": platform.python_version(),
        "platform": platform.platform(),
        "kernel": kernel_build(),
        "host": host_fingerprint(),
        **accelerator_context(accelerator),
        "code_commit": code_commit(),
        "date": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
    }


def command_line(argv: list[str] | None = None) -> str:
    """The command as typed: ``python -m analysis …`` for the CLI's ``argv``."""
    if argv is None:
        return shlex.join([os.path.basename(sys.executable), *sys.argv])
    return shlex.join(["python", "-m", "analysis", *argv])


def describe_context(ctx: dict) -> str:
    """One line for logs and benchmark output."""
    gpu = (f", {ctx['gpu']} (driver {ctx.get('driver') or '?'}, CUDA {ctx.get('cuda') or '?'}, "
           f"cuDNN {ctx.get('cudnn') or '?'})" if ctx.get("gpu") else "")
    return (f"{ctx['cpu']} ({ctx['cores_physical'] or '?'} physical / {ctx['cores_logical']} "
            f"logical cores){gpu}, {ctx['platform']}, host {ctx.get('host', '?')}, Python "
            f"{ctx['python_version']}, torch {ctx['torch_version']}, onnxruntime "
            f"{ctx['onnxruntime_version'] or '-'}, commit {ctx['code_commit'] or '-'}, "
            f"{ctx['date']}")
