"""Complexity of a model: MACs, parameters and activations, counted with fvcore.

**MACs, not FLOPs.** fvcore counts one fused multiply-add as one "flop", so its totals are
multiply-accumulates. The MobileOne paper (and most mobile-network papers) report these numbers
under the name "FLOPs"; this project calls them ``macs`` everywhere, and they are directly
comparable with the paper's "FLOPs" column.

fvcore counts convolutions, matrix products, batch norm, pooling and upsampling; it counts
element-wise operators (add, mul, sigmoid, GELU, SiLU, hardswish …) as zero and would warn
about each. This module silences those warnings but keeps the list of skipped operators in the
result (:attr:`Complexity.skipped_ops`), so nothing is dropped silently.

By default a model is counted as deployed: re-parameterized (fused) and in eval mode.
"""

from __future__ import annotations

import logging
import warnings
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Sequence

import torch
import torch.nn as nn
from fvcore.nn import ActivationCountAnalysis, FlopCountAnalysis

from analysis.errors import ConfigError


@dataclass(frozen=True)
class Complexity:
    """Counts for one model at one input shape (batch size 1 unless the shape says otherwise)."""

    macs: int  # multiply-accumulates (fvcore "flops"; the paper's "FLOPs")
    params: int  # number of parameters (trainable or not) of the counted form
    activations: int  # fvcore ActivationCountAnalysis: output elements of conv / matmul ops
    input_shape: tuple[int, ...]
    fused: bool  # counted on the re-parameterized (deployed) form
    skipped_ops: dict[str, int] = field(default_factory=dict)  # operator -> times skipped

    def as_row(self) -> dict:
        row = asdict(self)
        row["input_shape"] = "x".join(str(d) for d in self.input_shape)
        row["skipped_ops"] = ";".join(f"{k}:{v}" for k, v in sorted(self.skipped_ops.items()))
        return row


def input_shape_for(input_size: int | Sequence[int], batch_size: int = 1,
                    channels: int = 3) -> tuple[int, ...]:
    """``(batch, channels, H, W)`` from an int (square) or an ``(H, W)`` pair."""
    if isinstance(input_size, int):
        h = w = input_size
    elif len(input_size) == 2:
        h, w = input_size
    else:
        raise ConfigError(f"input_size must be an int or (H, W), got {input_size!r}")
    if min(h, w, batch_size) < 1:
        raise ConfigError(f"input size and batch size must be positive, got {h}x{w}, "
                          f"batch {batch_size}")
    return (batch_size, channels, int(h), int(w))


def _quiet(analysis):
    return analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)


def count_complexity(model: nn.Module, input_size: int | Sequence[int] = 224, *,
                     fuse: bool = True, batch_size: int = 1) -> Complexity:
    """MACs, parameters, activations and skipped operators of ``model``.

    Args:
        model: any ``nn.Module``; it is not modified (fusing works on a copy).
        input_size: square side or ``(H, W)``.
        fuse: count the deployed form (re-parameterized, eval mode), as the paper does.
        batch_size: counts scale linearly with it; the paper uses 1.
    """
    from analysis.models import deploy  # local import: models import nothing from here

    shape = input_shape_for(input_size, batch_size)
    counted = deploy(model) if fuse else model
    was_training = counted.training
    counted.eval()
    x = torch.zeros(shape)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer warnings
            logging.getLogger("fvcore").setLevel(logging.ERROR)
            flops = _quiet(FlopCountAnalysis(counted, x))
            macs = flops.total()
            skipped = Counter(flops.unsupported_ops())
            acts = _quiet(ActivationCountAnalysis(counted, x)).total()
    finally:
        counted.train(was_training)
    params = sum(p.numel() for p in counted.parameters())
    return Complexity(macs=int(macs), params=int(params), activations=int(acts),
                      input_shape=shape, fused=fuse, skipped_ops=dict(sorted(skipped.items())))


#: Bump when the meaning of a cached count changes (new fields, new counting rules).
CACHE_VERSION = 1


def _cache_key(model: nn.Module, shape: tuple[int, ...], fuse: bool) -> str:
    import hashlib

    digest = hashlib.sha1(repr(model).encode()).hexdigest()[:12]  # the architecture's text
    return f"v{CACHE_VERSION}-{'x'.join(map(str, shape))}-{'fused' if fuse else 'unfused'}-{digest}"


def profile_model(name: str, input_size: int | None = None, *, fuse: bool = True,
                  cache: bool = True) -> Complexity:
    """:func:`count_complexity` of a registered model, cached on disk.

    The cache (``paths.cache_dir()/complexity``) is keyed by model id, input shape, fused or
    not, and a hash of the built architecture, so a change to a model's code is never served
    a stale count. ``input_size=None`` uses the model's native resolution.
    """
    import json

    from analysis import paths
    from analysis.models import create_model, get_entry

    entry = get_entry(name)
    size = entry.input_size if input_size is None else input_size
    model = create_model(entry.id)
    shape = input_shape_for(size)
    path = paths.cache_dir() / "complexity" / f"{entry.id}-{_cache_key(model, shape, fuse)}.json"
    if cache and path.is_file():
        try:
            data = json.loads(path.read_text())
            data["input_shape"] = tuple(data["input_shape"])
            return Complexity(**data)
        except (ValueError, TypeError, KeyError):
            pass  # a corrupt or outdated cache entry is recomputed
    result = count_complexity(model, size, fuse=fuse)
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(result)))
        tmp.replace(path)
    return result


def count_table(models: Sequence[str], *, fuse: bool = True, cache: bool = True,
                progress: bool = False):
    """One row per model: display name, id, family, input size, our counts and Table 9's.

    Returns a pandas DataFrame with columns ``model, model_id, family, input_size, macs,
    params, activations, skipped_ops, paper_macs, paper_params, macs_dev_pct,
    params_dev_pct`` (paper values are NaN for models outside Table 9).
    """
    import math

    import pandas as pd
    from tqdm.auto import tqdm

    from analysis.models import get_entry

    rows = []
    for name in tqdm(list(models), desc="counting", unit="model", disable=not progress):
        entry = get_entry(name)
        c = profile_model(entry.id, fuse=fuse, cache=cache)
        pub = entry.published
        paper_macs = pub.macs_m * 1e6 if pub else math.nan
        paper_params = pub.params_m * 1e6 if pub else math.nan
        row = c.as_row()
        rows.append({
            "model": entry.display_name, "model_id": entry.id, "family": entry.family,
            "input_size": c.input_shape[-1], "macs": c.macs, "params": c.params,
            "activations": c.activations, "skipped_ops": row["skipped_ops"],
            "paper_macs": paper_macs, "paper_params": paper_params,
            "macs_dev_pct": 100 * (c.macs / paper_macs - 1),
            "params_dev_pct": 100 * (c.params / paper_params - 1),
        })
    return pd.DataFrame(rows)
