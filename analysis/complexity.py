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

import ast
import csv
import functools
import hashlib
import inspect
import json
import logging
import math
import sys
import warnings
from collections import Counter
from dataclasses import asdict, dataclass, field
from math import prod
from pathlib import Path
from typing import Sequence

import pandas as pd
import torch
import torch.nn as nn
from fvcore.nn import ActivationCountAnalysis, FlopCountAnalysis
from fvcore.nn.jit_handles import get_shape

from analysis import paths
from analysis.errors import ConfigError
from analysis.models import create_model, deploy, fusion, get_entry


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
    # Costs read off the traced graph (see "Graph costs" below): the memory-access and
    # synchronization costs the MobileOne paper names, which MACs do not see.
    memory_bytes: int = field(kw_only=True, default=0)  # est. bytes moved, fp32, no op fusion
    operators: int = field(kw_only=True, default=0)  # compute operators (views excluded)
    layers: int = field(kw_only=True, default=0)  # conv / linear / matmul operators
    merges: int = field(kw_only=True, default=0)  # ops joining two full tensors (add, mul, cat …)

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
            graph = graph_costs(counted, x)
    finally:
        counted.train(was_training)
    params = sum(p.numel() for p in counted.parameters())
    return Complexity(macs=int(macs), elementwise=int(elementwise), params=int(params),
                      activations=int(acts),
                      input_shape=shape, fused=fuse, skipped_ops=dict(sorted(skipped.items())),
                      **graph)


#: Bump when the meaning of a cached count changes (new fields, new counting rules).
# 2: Complexity.elementwise; 3: graph costs (memory, operators, merges); 4: pooling in elementwise
CACHE_VERSION = 4


def source_digest(path: str | Path) -> str:
    """Hash of a Python file's syntax tree without docstrings (comments are not in it): a
    docstring or comment edit keeps it, any change to the code changes it."""
    return _tree_digest(Path(path).read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=256)  # keyed by the text: parsed once per version of a file
def _tree_digest(source: str) -> str:
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return hashlib.sha1(ast.dump(tree, include_attributes=False).encode()).hexdigest()


def _class_digest(cls: type) -> str:
    """Digest of the code that defines ``cls``: its whole module's syntax tree (helpers its
    ``forward`` calls live there too), else the class's own source, else its name."""
    module = sys.modules.get(cls.__module__)
    path = getattr(module, "__file__", None)
    if path and Path(path).suffix == ".py" and Path(path).is_file():
        return source_digest(path)
    try:
        return _tree_digest(inspect.getsource(cls))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return f"{cls.__module__}.{cls.__qualname__}"


def code_digest(model: nn.Module) -> str:
    """Hash of the source of every module that defines a class used in ``model`` (each
    sub-module's class and its base classes, PyTorch's own excepted) and of
    :mod:`analysis.models.fusion` (which makes the counted, deployed form)."""
    classes = {cls for m in model.modules() for cls in type(m).__mro__
               if cls.__module__.split(".")[0] not in ("torch", "builtins")}
    digests = {source_digest(fusion.__file__)} | {_class_digest(cls) for cls in classes}
    return hashlib.sha1("\n".join(sorted(digests)).encode()).hexdigest()


def model_digest(model: nn.Module) -> str:
    """A short hash of the built architecture (its ``repr``: layers, widths, kernels) and of
    the code of its classes (:func:`code_digest`), so that a change to a ``forward`` changes
    it while a docstring or comment edit does not."""
    text = repr(model) + "\n" + code_digest(model)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def _cache_key(model: nn.Module, shape: tuple[int, ...], fuse: bool) -> str:
    digest = model_digest(model)
    return f"v{CACHE_VERSION}-{'x'.join(map(str, shape))}-{'fused' if fuse else 'unfused'}-{digest}"


def _committed_count(model_id: str, digest: str, shape: tuple[int, ...],
                     fuse: bool) -> Complexity | None:
    """The count of ``model_id`` from the committed ``notebooks/outputs/complexity.csv`` when
    its row was made by this counting code (``cache_version``) for this architecture
    (``model_digest``) and input size; else None. A fresh clone thus reuses the study's counts
    instead of re-tracing every model; a changed model or counting rule is recounted."""
    table = paths.NOTEBOOK_OUTPUTS / "complexity.csv"
    if not fuse or not table.is_file():
        return None
    with table.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if (row.get("model_id") != model_id or row.get("model_digest") != digest
                    or row.get("cache_version") != str(CACHE_VERSION)
                    or row.get("input_size") != str(shape[-1]) or len(shape) != 4
                    or shape[0] != 1):
                continue
            try:
                skipped = dict((k, int(v)) for k, v in (item.split(":") for item in
                                                        row["skipped_ops"].split(";") if item))
                ints = {k: int(float(row[k])) for k in ("macs", "elementwise", "params",
                                                        "activations", "memory_bytes",
                                                        "operators", "layers", "merges")}
            except (KeyError, ValueError):
                return None
            return Complexity(**ints, input_shape=shape, fused=True, skipped_ops=skipped)
    return None


def profile_model(name: str, input_size: int | None = None, *, fuse: bool = True,
                  cache: bool = True) -> Complexity:
    """:func:`count_complexity` of a registered model, cached on disk.

    The cache (``paths.cache_dir()/complexity``) is keyed by model id, input shape, fused or
    not, and :func:`model_digest` (the built architecture and the source of its classes), so
    a change to a model's code is never served a stale count. On a cache miss the committed study's count is reused when it matches
    (:func:`_committed_count`); ``cache=False`` always recounts. ``input_size=None`` uses the
    model's native resolution.
    """
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
    result = (_committed_count(entry.id, model_digest(model), shape, fuse) if cache else None)
    if result is None:
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
    params, activations, elementwise, memory_bytes, operators, layers, merges, skipped_ops,
    paper_macs, paper_params, macs_dev_pct, params_dev_pct, cache_version, model_digest``
    (paper values are NaN for models outside Table 9; the last two let
    :func:`profile_model` reuse a committed row only for the same code and architecture).
    """
    from tqdm import tqdm  # optional progress bar (plain: no ipywidgets needed in notebooks)

    rows = []
    for name in tqdm(list(models), desc="counting", unit="model", disable=not progress):
        entry = get_entry(name)
        c = profile_model(entry.id, fuse=fuse, cache=cache)
        digest = model_digest(create_model(entry.id))
        pub = entry.published
        paper_macs = pub.macs_m * 1e6 if pub else math.nan
        paper_params = pub.params_m * 1e6 if pub else math.nan
        row = c.as_row()
        rows.append({
            "model": entry.display_name, "model_id": entry.id, "family": entry.family,
            "input_size": c.input_shape[-1], "macs": c.macs, "params": c.params,
            "activations": c.activations, "elementwise": c.elementwise,
            "memory_bytes": c.memory_bytes, "operators": c.operators, "layers": c.layers,
            "merges": c.merges, "skipped_ops": row["skipped_ops"],
            "paper_macs": paper_macs, "paper_params": paper_params,
            "macs_dev_pct": 100 * (c.macs / paper_macs - 1),
            "params_dev_pct": 100 * (c.params / paper_params - 1),
            "cache_version": CACHE_VERSION, "model_digest": digest,
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
# (mean, sum, amax, max over a dim) or a pooling it is one op per input element, the rule fvcore
# itself uses for ``adaptive_avg_pool2d``. Activations count one op per element however many
# arithmetic steps they take (GELU, SiLU, softmax …). Pure data movement (reshape, cat, slice,
# roll, indexing) stays at zero, as in fvcore.

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
    # pooling fvcore leaves out (it counts only adaptive_avg_pool2d): one op per input element
    "max_pool2d", "avg_pool2d", "adaptive_max_pool2d",
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


# --- Graph costs: memory traffic, operator, layer and merge counts ----------------------------
#
# Read off the TorchScript trace of the model (the same kind of graph fvcore walks). Every ATen
# operator that computes something counts as one operator; pure re-descriptions of memory
# (views, reshapes, transposes, slicing) and bookkeeping ops count as nothing.
#
# ``memory_bytes`` estimates the data an unfused runtime moves for one inference: each
# operator reads all its tensor inputs and writes its outputs once, and each weight (parameter
# or floating-point buffer) is read once; 4 bytes per element (fp32). Real runtimes fuse
# operators (conv + ReLU) and cache, so this is an upper-bound-style proxy for the "memory
# access cost" of Ma et al. (ShuffleNetV2) and the MobileOne paper, not a measurement.
#
# ``merges`` counts operators that join two full tensors (neither a scalar nor a 1-element
# tensor): element-wise add/sub/mul/div/max/min of two tensors and concatenation/stacking. These
# are the multi-branch joins (residual adds, SE rescaling, concats) that force the runtime to
# keep a branch's input alive and to synchronize, the costs the paper blames for latency.

#: Operators that only re-describe memory or are bookkeeping; not counted at all.
VIEW_OPS = frozenset({
    "aten::view", "aten::reshape", "aten::flatten", "aten::unflatten", "aten::squeeze",
    "aten::unsqueeze", "aten::expand", "aten::expand_as", "aten::size", "aten::numel",
    "aten::Int", "aten::ScalarImplicit", "aten::to", "aten::detach", "aten::dropout",
    "aten::feature_dropout", "aten::alias", "aten::t", "aten::transpose", "aten::permute",
    "aten::select", "aten::slice", "aten::chunk", "aten::split", "aten::split_with_sizes",
    "aten::unbind", "aten::contiguous", "aten::type_as", "aten::clone", "aten::view_as",
    "aten::reshape_as", "aten::lift_fresh", "aten::zeros", "aten::ones", "aten::zeros_like",
    "aten::ones_like", "aten::arange", "aten::full", "aten::empty", "aten::tensor",
    "aten::scalar_tensor", "aten::copy_", "aten::pixel_shuffle", "aten::pixel_unshuffle",
})
#: Operators that are a network "layer" (a weighted or matrix-product operation).
LAYER_OPS = frozenset({
    "aten::_convolution", "aten::conv1d", "aten::conv2d", "aten::linear", "aten::matmul",
    "aten::mm", "aten::bmm", "aten::addmm", "aten::baddbmm", "aten::einsum",
})
#: Operators that merge branches when two of their inputs are full tensors.
MERGE_OPS = frozenset({
    "aten::add", "aten::add_", "aten::sub", "aten::sub_", "aten::mul", "aten::mul_",
    "aten::div", "aten::div_", "aten::maximum", "aten::minimum", "aten::max", "aten::min",
    "aten::cat", "aten::stack",
})


def _numel(value: torch._C.Value) -> int:
    """Elements of a traced tensor value (0 when the trace recorded no complete shape)."""
    if not isinstance(value.type(), torch._C.TensorType):
        return 0
    sizes = value.type().sizes()
    return prod(sizes) if sizes is not None else 0


def _tensor_inputs(node: torch._C.Node) -> list[torch._C.Value]:
    values = []
    for v in node.inputs():
        if isinstance(v.type(), torch._C.TensorType):
            values.append(v)
        elif v.node().kind() == "prim::ListConstruct":  # cat / stack take a list of tensors
            values += [u for u in v.node().inputs() if isinstance(u.type(), torch._C.TensorType)]
    return values


def graph_costs(model: nn.Module, x: torch.Tensor, bytes_per_element: int = 4) -> dict[str, int]:
    """``memory_bytes``, ``operators``, ``layers`` and ``merges`` of ``model`` on input ``x``.

    The model is traced as it is (callers pass the deployed, eval-mode form).
    """
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        graph = torch.jit.trace(model, (x,), check_trace=False).inlined_graph
    operators = layers = merges = activation_elements = 0
    for node in graph.nodes():
        kind = node.kind()
        if not kind.startswith("aten::") or kind in VIEW_OPS:
            continue
        outputs = [o for o in node.outputs() if isinstance(o.type(), torch._C.TensorType)]
        if not outputs:
            continue
        inputs = _tensor_inputs(node)
        operators += 1
        layers += kind in LAYER_OPS
        merges += kind in MERGE_OPS and sum(_numel(v) > 1 for v in inputs) >= 2
        # weights enter the trace without shapes (numel 0 here); they are added once below
        activation_elements += sum(map(_numel, inputs)) + sum(map(_numel, outputs))
    weight_elements = sum(p.numel() for p in model.parameters()) + sum(
        b.numel() for b in model.buffers() if b.is_floating_point())
    return {"memory_bytes": int((activation_elements + weight_elements) * bytes_per_element),
            "operators": operators, "layers": layers, "merges": merges}
