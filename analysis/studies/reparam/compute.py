"""Notebook 04, the numbers that need no latency: MobileOne's re-parameterization (paper §3.1,
§3.3, Table 7) on networks built by :mod:`analysis.models`; weights are random (seeded) with
randomized BatchNorm statistics, so every fold is non-trivial.

* :func:`table7_check` (Table 7 read off the built networks) and :func:`sequential_check` (the
  fused network and a plain ``nn.Sequential`` of its layers compute the same function): the same
  on every machine;
* :func:`exactness_table` (how exactly the fused network reproduces the train-time one): the
  differences are rounding errors, whose size depends on the CPU's floating point (up to a few
  times between machines); only their verdicts against the stated tolerances
  (:func:`exactness_verdicts`) are written as results;
* the counts are in :mod:`~analysis.studies.reparam.counts`, the latencies in
  :mod:`~analysis.studies.reparam.sources` and :mod:`~analysis.studies.reparam.measured`.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import torch
import torch.nn as nn

from analysis import paths
from analysis.complexity import graph_costs
from analysis.constants import TOL_BLOCK_FLOAT32, TOL_FLOAT64
from analysis.errors import ConfigError, DataFormatError
from analysis.latency.runtimes import torch_threads
from analysis.models import MobileOneBlock, mobileone, reparameterize_model
from analysis.models.fusion import plain_sequential, randomize_batchnorm

#: Variants of the paper (Table 7), cheapest first.
VARIANTS = ("S0", "S1", "S2", "S3", "S4")
#: The two forms of a network: train-time (k branches per block) and fused (one conv).
FORMS = ("train", "fused")
#: Threads of the deterministic steps (counting, exactness): their numbers do not depend on
#: it, and on a shared machine one thread avoids the spin-waiting of idle OpenMP threads
#: (10× faster on 2 busy cores).
COMPUTE_THREADS = 1


# -- variants, k and the models ------------------------------------------------------------------

def variant_list(variants) -> list[str]:
    """Distinct variants in Table 7's order (``["S0", "S2"]``); refuses an empty selection."""
    out = [v for v in VARIANTS if v in {str(x).upper() for x in variants}]
    if not out:
        raise ConfigError("VARIANTS selects no MobileOne variant; choose among "
                          + ", ".join(VARIANTS))
    return out


@functools.lru_cache(maxsize=None)
def official_k(variant: str) -> int:
    """The k of the published variant, read off the built model (S0: 4, S1–S4: 1)."""
    return mobileone(variant.lower()).num_conv_branches


def jobs(variants, k_values, runtimes, sweep_runtimes) -> list[tuple[str, int, list[str]]]:
    """``[(variant, k, runtimes)]``: every variant at its published k in ``runtimes``, then S0
    (when selected) at every other k of ``k_values`` in ``sweep_runtimes``."""
    variants = variant_list(variants)
    out = [(v, official_k(v), list(runtimes)) for v in variants]
    if "S0" in variants and sweep_runtimes:
        out += [("S0", k, list(sweep_runtimes)) for k in sorted(set(k_values))
                if k != official_k("S0")]
    return out


def build_train(variant: str, k: int, seed: int = 0) -> nn.Module:
    """The train-time model of one variant with k branches, eval mode, random weights (seeded)
    and randomized BatchNorm statistics."""
    torch.manual_seed(seed)
    return randomize_batchnorm(mobileone(variant.lower(), num_conv_branches=k), seed=seed)


def build_pair(variant: str, k: int, seed: int = 0) -> tuple[nn.Module, nn.Module]:
    """``(train-time model, fused copy)`` of :func:`build_train`, both in eval mode."""
    train = build_train(variant, k, seed)
    return train, reparameterize_model(train).eval()


def deployed(variant: str, seed: int = 0) -> nn.Module:
    """The deployed (fused) architecture of a variant, random weights (seeded), eval mode."""
    torch.manual_seed(seed)
    return mobileone(variant.lower(), inference_mode=True).eval()


def example_input(size: int, seed: int = 0) -> torch.Tensor:
    """The seeded random input ``1 × 3 × size × size`` every step uses."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(1, 3, size, size, generator=g)


# -- Table 7 from the code -----------------------------------------------------------------------

def _units(model: nn.Module) -> list[tuple[MobileOneBlock, MobileOneBlock]]:
    """The (depthwise 3×3, pointwise 1×1) block pairs of stages 1–4, in order."""
    units = []
    for stage in (model.stage1, model.stage2, model.stage3, model.stage4):
        blocks = list(stage)
        units += list(zip(blocks[0::2], blocks[1::2]))
    return units


def _has_se(block: MobileOneBlock) -> bool:
    return not isinstance(block.se, nn.Identity)


def stage_table(model: nn.Module, input_size: int = 224) -> pd.DataFrame:
    """Table 7's rows read off a built MobileOne: the stem, then runs of units (a unit is a
    3×3 depthwise block and a 1×1 pointwise block) with equal width and SE use, a run starting
    at every stride-2 unit; then pooling and the classifier. ``input`` is the resolution
    entering the row, recorded by forward hooks on a real forward pass."""
    sizes: dict[int, int] = {}

    def record(module, inputs, output) -> None:  # returning None keeps the output
        sizes[id(module)] = int(inputs[0].shape[-1])

    hooks = [m.register_forward_hook(record) for m in model.modules()
             if isinstance(m, MobileOneBlock)]
    try:
        with torch.no_grad():
            last = model.stage4(model.stage3(model.stage2(model.stage1(
                model.stage0(torch.zeros(1, 3, input_size, input_size))))))
    finally:
        for h in hooks:
            h.remove()
    stem = model.stage0
    rows = [dict(layer="stem", input=sizes[id(stem)], blocks=1, stride=stem.stride,
                 channels=stem.out_channels, se=_has_se(stem))]
    for dw, pw in _units(model):
        row = rows[-1]
        if row["layer"] == "units" and dw.stride == 1 and row["channels"] == pw.out_channels \
                and row["se"] == _has_se(dw):
            row["blocks"] += 1
        else:
            rows.append(dict(layer="units", input=sizes[id(dw)], blocks=1, stride=dw.stride,
                             channels=pw.out_channels, se=_has_se(dw)))
    rows.append(dict(layer="avgpool", input=int(last.shape[-1]), blocks=1, stride=1,
                     channels=int(last.shape[1]), se=False))
    rows.append(dict(layer="linear", input=1, blocks=1, stride=1,
                     channels=model.linear.in_features, se=False))
    return pd.DataFrame(rows)


def read_table7() -> pd.DataFrame:
    """``data/paper/table7_mobileone_spec.csv``, checked for the columns this module reads."""
    path = paths.paper_table("table7_mobileone_spec")
    table = pd.read_csv(path)
    need = {"stage", "input", "blocks", "stride", "block_type", "channels_base", "se_in_s4",
            *(f"{v.lower()}_alpha" for v in VARIANTS)}
    missing = sorted(need - set(table.columns))
    if missing:
        raise DataFormatError(f"{paths.relative(path)}: missing column(s) {', '.join(missing)}")
    return table


def paper_stage_table(variant: str, spec: pd.DataFrame | None = None) -> pd.DataFrame:
    """The shipped Table 7 for one variant, in :func:`stage_table`'s layout: consecutive
    MobileOne-block rows with stride 1, equal width and equal SE use are one run (Table 7
    splits stage 4/5 only because S4 adds SE in the second half); ``stage`` keeps the paper's
    stage numbers (e.g. ``"4-5"``)."""
    spec = read_table7() if spec is None else spec
    alpha = spec[f"{variant.lower()}_alpha"]
    rows = []
    for (_, r), a in zip(spec.iterrows(), alpha):
        kind = r["block_type"]
        se = variant.upper() == "S4" and str(r["se_in_s4"]).strip() == "yes"
        channels = int(r["channels_base"] * a) if pd.notna(r["channels_base"]) else None
        row = dict(stage=str(r["stage"]), input=int(r["input"]), blocks=int(r["blocks"]),
                   stride=int(r["stride"]), channels=channels, se=se)
        if kind == "MobileOne-Block":
            row["layer"] = "stem" if not rows else "units"
            prev = rows[-1] if rows else None
            if prev is not None and prev["layer"] == "units" and row["stride"] == 1 \
                    and prev["channels"] == channels and prev["se"] == se:
                prev["blocks"] += row["blocks"]
                prev["stage"] = f"{prev['stage'].split('-')[0]}-{row['stage']}"
                continue
        else:
            row["layer"] = {"AvgPool": "avgpool", "Linear": "linear"}.get(kind, kind.lower())
        rows.append(row)
    return pd.DataFrame(rows)


FIELDS = ("input", "blocks", "stride", "channels", "se")


def compare_table7(variant: str, paper: pd.DataFrame, code: pd.DataFrame) -> list[dict]:
    """Rows of :func:`table7_check` for one variant: the paper's and the built model's
    fields side by side and ``differs`` (the fields that disagree, ``""`` if none)."""
    if [*paper["layer"]] != [*code["layer"]]:
        raise DataFormatError(f"MobileOne-{variant}: Table 7 has rows {list(paper['layer'])}, "
                              f"the built model {list(code['layer'])}")
    out = []
    for (_, p), (_, c) in zip(paper.iterrows(), code.iterrows()):
        row = {"variant": variant, "stage": p["stage"], "layer": p["layer"]}
        differs = []
        for f in FIELDS:
            pv = None if pd.isna(p[f]) else p[f]
            row[f"{f}_paper"], row[f"{f}_code"] = pv, c[f]
            if pv is not None and pv != c[f]:
                differs.append(f)
        row["differs"] = ", ".join(differs)
        out.append(row)
    return out


def table7_check(params) -> pd.DataFrame:
    """Per variant and Table 7 row: the paper's and the built model's input, block count,
    stride, channels and SE use, and ``differs``. Read at 224 px, Table 7's resolution."""
    spec = read_table7()
    rows = []
    with torch_threads(COMPUTE_THREADS):
        for v in variant_list(params.VARIANTS):
            rows += compare_table7(v, paper_stage_table(v, spec),
                                   stage_table(mobileone(v.lower(), inference_mode=True), 224))
    return pd.DataFrame(rows)


# -- exactness -----------------------------------------------------------------------------------

def _diff(ref: torch.Tensor, out: torch.Tensor) -> tuple[float, float]:
    """(max |ref − out|, max |ref|): the difference and the output scale it is relative to."""
    return (ref - out).abs().max().item(), ref.abs().max().item()


def equivalence(train: nn.Module, input_size: int, seed: int = 0) -> dict:
    """How exactly the fused copy reproduces a train-time model (eval mode), each dtype fused
    in that dtype. ``abs_f64``/``scale_f64``/``rel_f64``: whole network in float64 (max
    |difference|, max |train-time output|, their ratio); the same in float32; ``rel_block_f32``:
    the largest over blocks in float32, each block fed the train-time output of the previous
    one scaled to max |x| = 1 (so every block sees O(1) inputs). ``train`` is converted to
    float64 and back in place (exact: every float32 is a float64), sparing two deep copies."""
    x = example_input(input_size, seed)
    out = {}
    with torch.no_grad(), torch_threads(COMPUTE_THREADS):
        for tag, dtype in (("f64", torch.float64), ("f32", torch.float32)):
            a = train.to(dtype).eval()
            b = reparameterize_model(a).eval()
            diff, scale = _diff(a(x.to(dtype)), b(x.to(dtype)))
            out[f"abs_{tag}"], out[f"scale_{tag}"] = diff, scale
            out[f"rel_{tag}"] = diff / max(scale, np.finfo(float).tiny)
        worst, h = 0.0, x
        pairs = zip((m for m in a.modules() if isinstance(m, MobileOneBlock)),
                    (m for m in b.modules() if isinstance(m, MobileOneBlock)))
        for block, fused_block in pairs:  # a, b: the float32 pair
            ref = block(h)
            diff, scale = _diff(ref, fused_block(h))
            worst = max(worst, diff / max(scale, np.finfo(np.float32).tiny))
            h = ref / ref.abs().max().clamp_min(np.finfo(np.float32).tiny)
    out["rel_block_f32"] = worst
    return out


def exactness_table(params) -> pd.DataFrame:
    """Per variant and k: :func:`equivalence` on an ``EXACT_SIZE`` input (float64 convolutions
    are slow on a CPU; exactness does not depend on the resolution) and whether each error
    meets its tolerance (``analysis.constants``: relative to the output scale). The
    differences depend on the machine; :func:`exactness_verdicts` is what is written."""
    rows = []
    for v, k, _ in jobs(params.VARIANTS, params.K_VALUES, params.RUNTIMES,
                        params.SWEEP_RUNTIMES):
        eq = equivalence(build_train(v, k, params.SEED), params.EXACT_SIZE, params.SEED)
        rows.append({"variant": v, "k": k, "exact_size": params.EXACT_SIZE,
                     "max_abs_diff_f64": eq["abs_f64"], "output_scale_f64": eq["scale_f64"],
                     "max_rel_diff_f64": eq["rel_f64"], "max_abs_diff_f32": eq["abs_f32"],
                     "output_scale_f32": eq["scale_f32"], "max_rel_diff_f32": eq["rel_f32"],
                     "max_block_rel_diff_f32": eq["rel_block_f32"]})
    t = pd.DataFrame(rows).sort_values(["variant", "k"], kind="stable").reset_index(drop=True)
    t["f64_exact"] = t["max_rel_diff_f64"] <= TOL_FLOAT64
    t["blocks_f32_ok"] = t["max_block_rel_diff_f32"] <= TOL_BLOCK_FLOAT32
    t["whole_f32_ok"] = t["max_rel_diff_f32"] <= TOL_BLOCK_FLOAT32
    return t


def exactness_verdicts(exactness: pd.DataFrame) -> pd.DataFrame:
    """What of :func:`exactness_table` holds on every machine: per variant and k the tolerances
    and the verdicts against them (the differences themselves are rounding errors of this CPU)."""
    t = exactness[["variant", "k", "exact_size"]].copy()
    t["tolerance_f64"] = TOL_FLOAT64
    t["f64_exact"] = exactness["f64_exact"]
    t["tolerance_f32"] = TOL_BLOCK_FLOAT32
    t["blocks_f32_ok"] = exactness["blocks_f32_ok"]
    t["whole_f32_ok"] = exactness["whole_f32_ok"]
    return t


# -- the fused network against a plain nn.Sequential ---------------------------------------------

def sequential_check(params, counts: pd.DataFrame) -> pd.DataFrame:
    """Per variant: the deployed network and :func:`~analysis.models.fusion.plain_sequential`
    of its very layers — whether both give identical outputs on the seeded ``INPUT_SIZE``
    input, the operator count of each traced graph (the fused one from ``counts``) and the
    number of fused blocks."""
    x = example_input(params.INPUT_SIZE, params.SEED)
    fused_ops = counts[counts["form"] == "fused"].groupby("variant")["operators"].first()
    rows = []
    for v in variant_list(params.VARIANTS):
        fused = deployed(v, params.SEED)
        seq = plain_sequential(fused)
        with torch_threads(COMPUTE_THREADS):
            with torch.no_grad():
                same = bool(torch.equal(fused(x), seq(x)))
            seq_ops = int(graph_costs(seq, x)["operators"])
        rows.append({"variant": v, "blocks": sum(isinstance(m, MobileOneBlock)
                                                 for m in fused.modules()),
                     "identical_output": same, "fused_operators": int(fused_ops[v]),
                     "sequential_operators": seq_ops})
    return pd.DataFrame(rows)
