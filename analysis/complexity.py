"""Complexity of a model: MACs, parameters and activations, counted with fvcore.

**MACs, not FLOPs.** fvcore counts one fused multiply-add as one "flop", so its totals are
multiply-accumulates. The MobileOne paper (and most mobile-network papers) report these numbers
under the name "FLOPs"; this project calls them ``macs`` everywhere, and they are directly
comparable with the paper's "FLOPs" column.

fvcore counts convolutions, matrix products, batch norm, pooling and upsampling; it counts
element-wise operators (add, mul, sigmoid, GELU, SiLU, hardswish …) as zero. ``macs`` keeps
exactly fvcore's default count (the paper's "FLOPs"); the element-wise work is counted in the
same trace by the handles of the "Element-wise operators" section at the end of this module and
reported separately as :attr:`Complexity.elementwise`. Operators counted by neither are listed
in :attr:`Complexity.skipped_ops`, so nothing is dropped silently.

By default a model is counted as deployed: re-parameterized (fused) and in eval mode.
"""

from __future__ import annotations

import logging
import warnings
from collections import Counter
from dataclasses import asdict, dataclass, field
from math import prod
from typing import Sequence

import torch
import torch.nn as nn
from fvcore.nn import ActivationCountAnalysis, FlopCountAnalysis
from fvcore.nn.jit_handles import get_shape

from analysis.errors import ConfigError


@dataclass(frozen=True)
class Complexity:
    """Counts for one model at one input shape (batch size 1 unless the shape says otherwise)."""

    macs: int  # multiply-accumulates (fvcore "flops"; the paper's "FLOPs")
    # element-wise ops fvcore skips (add, mul, activations, reductions …): see ELEMENTWISE_OPS
    elementwise: int = field(kw_only=True)
    params: int  # number of parameters (trainable or not) of the counted form
    activations: int  # fvcore ActivationCountAnalysis: output elements of conv / matmul ops
    input_shape: tuple[int, ...]
    fused: bool  # counted on the re-parameterized (deployed) form
    skipped_ops: dict[str, int] = field(default_factory=dict)  # op -> times counted by neither

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
            flops = _quiet(FlopCountAnalysis(counted, x)).set_op_handle(**ELEMENTWISE_HANDLES)
            macs, elementwise = split_counts(flops)
            skipped = Counter(flops.unsupported_ops())
            acts = _quiet(ActivationCountAnalysis(counted, x)).total()
    finally:
        counted.train(was_training)
    params = sum(p.numel() for p in counted.parameters())
    return Complexity(macs=int(macs), elementwise=int(elementwise), params=int(params),
                      activations=int(acts),
                      input_shape=shape, fused=fuse, skipped_ops=dict(sorted(skipped.items())))


#: Bump when the meaning of a cached count changes (new fields, new counting rules).
CACHE_VERSION = 2  # 2: Complexity.elementwise


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


# ---------------------------------------------------------------------------------------------
# Element-wise operators (counted separately from fvcore's MACs)
# ---------------------------------------------------------------------------------------------
# The paper's point about activations and blocks (Tables 2 and 3) is that their FLOPs barely
# move while latency does; to show it, the work fvcore skips is counted too, in the same trace,
# but never mixed into ``macs``.
#
# Convention: one op per element of the largest tensor the operator reads or writes. For an
# element-wise operator (with broadcasting) that is one op per output element; for a reduction
# (mean, sum, amax, max over a dim) it is one op per input element, the rule fvcore itself uses
# for ``adaptive_avg_pool2d``. Activations count one op per element however many arithmetic
# steps they take (GELU, SiLU, softmax …). Pure data movement (reshape, cat, slice, roll,
# indexing) stays at zero, as in fvcore.

#: ATen operators counted as element-wise work (in-place ``_`` variants are added below).
ELEMENTWISE_OPS: tuple[str, ...] = (
    # arithmetic
    "add", "sub", "rsub", "mul", "div", "neg", "abs", "pow", "sqrt", "rsqrt", "exp", "log",
    "reciprocal", "where",
    # activations and gates
    "relu", "relu6", "leaky_relu", "elu", "hardtanh", "sigmoid", "hardsigmoid", "tanh", "gelu",
    "silu", "hardswish", "mish", "erf", "clamp", "clamp_min", "clamp_max",
    # comparisons that compute a value
    "max", "min", "maximum", "minimum",
    # reductions and normalisations
    "mean", "sum", "amax", "amin", "softmax", "log_softmax",
)

#: Prefix of the element-wise entries in ``FlopCountAnalysis.by_operator()``.
ELEMENTWISE_PREFIX = "elementwise::"


def _elementwise_handle(op: str):
    key = ELEMENTWISE_PREFIX + op

    def handle(inputs, outputs) -> Counter:
        sizes = [prod(shape) for value in (*inputs, *outputs)
                 if (shape := get_shape(value)) is not None]
        return Counter({key: int(max(sizes, default=0))})

    return handle


#: fvcore op handles for :data:`ELEMENTWISE_OPS` (``"aten::add"``, ``"aten::add_"`` …).
ELEMENTWISE_HANDLES: dict = {
    f"aten::{op}{suffix}": _elementwise_handle(op)
    for op in ELEMENTWISE_OPS for suffix in ("", "_")
}


def split_counts(analysis: FlopCountAnalysis) -> tuple[int, int]:
    """``(macs, elementwise)`` of an analysis that has :data:`ELEMENTWISE_HANDLES` registered:
    fvcore's default operators on one side, the element-wise ones on the other."""
    macs = elementwise = 0
    for op, count in analysis.by_operator().items():
        if op.startswith(ELEMENTWISE_PREFIX):
            elementwise += count
        else:
            macs += count
    return int(macs), int(elementwise)
