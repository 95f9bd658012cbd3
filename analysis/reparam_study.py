"""Notebook 04: MobileOne's re-parameterization, measured (paper §3.1, §3.3, Table 7).

Everything the notebook shows is computed here, on models built by :mod:`analysis.models`:

- :func:`table7_check` — Table 7 read off the built networks, next to the shipped copy;
- :func:`equivalence` — how exactly the fused network reproduces the train-time one
  (float64 whole network; float32 whole network and per block);
- :func:`count_forms`, :func:`measure_forms` — MACs, parameters, memory traffic, operators
  (:mod:`analysis.complexity`) and latency (:func:`analysis.latency.measure_model`) of the
  train-time and the fused form, for each variant and k;
- :mod:`analysis.reparam_timing` — the fused model against a plain ``nn.Sequential`` of the
  same layers (interleaved timing), the machine's matmul ceiling and the Core ML packages;
- :mod:`analysis.report_reparam` — the findings and the generated conclusion.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import torch
import torch.nn as nn

from analysis import paths
from analysis.errors import ConfigError, DataFormatError
from analysis.models import MobileOneBlock, get_entry, mobileone, reparameterize_model
from analysis.models.fusion import randomize_batchnorm
from analysis.util import as_list

#: Variants of the paper (Table 7), in order.
VARIANTS = ("s0", "s1", "s2", "s3", "s4")
#: Fusion is exact algebra: in float64 only rounding may differ (relative to the output scale).
TOL_FLOAT64 = 1e-9
#: float32, one block at a time (inputs renormalised to O(1) between blocks).
TOL_BLOCK_FLOAT32 = 1e-4
#: Latency differences within this fraction are called "no measurable difference".
NOISE = 0.05


def variant_ids(variants) -> list[str]:
    """``["s0", …]`` from ``"S0"``, ``"s0"``, ``"MobileOne-S0"`` or ``"mobileone_s0"``."""
    out = []
    for v in as_list(variants):
        key = str(v).strip().lower().replace("mobileone", "").strip("-_ ")
        if key not in VARIANTS:
            raise ConfigError(f"unknown MobileOne variant {v!r}; valid variants: "
                              f"{', '.join(x.upper() for x in VARIANTS)}")
        if key not in out:
            out.append(key)
    if not out:
        raise ConfigError("VARIANTS selects no MobileOne variant")
    return out


def k_values(values) -> list[int]:
    """Sorted distinct k ≥ 1 (the number of parallel k×k conv-BN branches)."""
    out = set()
    for v in as_list(values):
        try:
            k = int(v)
        except (TypeError, ValueError):
            raise ConfigError(f"K_VALUES: {v!r} is not a whole number") from None
        if k < 1 or k != float(v):
            raise ConfigError(f"K_VALUES: k must be a whole number >= 1, got {v!r}")
        out.add(k)
    return sorted(out)


def official_k(variant: str) -> int:
    """The k of the published variant (read off the built model: S0 4, S1–S4 1)."""
    return mobileone(variant).num_conv_branches


def build_pair(variant: str, k: int, seed: int = 0) -> tuple[nn.Module, nn.Module]:
    """``(train-time model, fused copy)`` of one variant with k branches, eval mode, random
    weights (seeded) and randomized BatchNorm statistics."""
    torch.manual_seed(seed)
    train = randomize_batchnorm(mobileone(variant, num_conv_branches=k), seed=seed)
    return train, reparameterize_model(train).eval()


# --- Table 7 from the code ---------------------------------------------------------------------

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


def paper_stage_table(variant: str, spec: pd.DataFrame | None = None) -> pd.DataFrame:
    """The shipped Table 7 for one variant, in :func:`stage_table`'s layout: consecutive
    MobileOne-block rows with stride 1, equal width and equal SE use are one run (Table 7
    splits stage 4/5 only because S4 adds SE in the second half); ``stage`` keeps the paper's
    stage numbers (e.g. ``"4-5"``)."""
    spec = read_table7() if spec is None else spec
    alpha = spec[f"{variant}_alpha"]
    rows = []
    for (_, r), a in zip(spec.iterrows(), alpha):
        kind = r["block_type"]
        se = variant == "s4" and str(r["se_in_s4"]).strip() == "yes"
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


def read_table7() -> pd.DataFrame:
    """``data/paper/table7_mobileone_spec.csv``, checked for the columns this module reads."""
    path = paths.paper_table("table7_mobileone_spec")
    table = pd.read_csv(path)
    need = {"stage", "input", "blocks", "stride", "block_type", "channels_base", "se_in_s4",
            *(f"{v}_alpha" for v in VARIANTS)}
    missing = sorted(need - set(table.columns))
    if missing:
        raise DataFormatError(f"{paths.relative(path)}: missing column(s) {', '.join(missing)}")
    return table


FIELDS = ("input", "blocks", "stride", "channels", "se")


def table7_check(variants, input_size: int = 224) -> pd.DataFrame:
    """Per variant and Table 7 row: the paper's and the built model's input, block count,
    stride, channels and SE use, and ``differs`` (the fields that disagree, ``""`` if none)."""
    spec = read_table7()
    out = []
    for v in variant_ids(variants):
        paper = paper_stage_table(v, spec)
        code = stage_table(mobileone(v, inference_mode=True), input_size)
        if [*paper["layer"]] != [*code["layer"]]:
            raise DataFormatError(f"MobileOne-{v.upper()}: Table 7 has rows {list(paper['layer'])}, "
                                  f"the built model {list(code['layer'])}")
        for (_, p), (_, c) in zip(paper.iterrows(), code.iterrows()):
            row = {"variant": v.upper(), "stage": p["stage"], "layer": p["layer"]}
            differs = []
            for f in FIELDS:
                pv = None if pd.isna(p[f]) else p[f]
                row[f"{f}_paper"], row[f"{f}_code"] = pv, c[f]
                if pv is not None and pv != c[f]:
                    differs.append(f)
            row["differs"] = ", ".join(differs)
            out.append(row)
    return pd.DataFrame(out)


# --- exactness ---------------------------------------------------------------------------------

def _rel(ref: torch.Tensor, out: torch.Tensor) -> tuple[float, float]:
    diff = (ref - out).abs().max().item()
    return diff, diff / max(ref.abs().max().item(), np.finfo(float).tiny)


def equivalence(train: nn.Module, input_size: int, seed: int = 0) -> dict:
    """Max absolute and relative output differences between a train-time model (eval mode)
    and its fused copy, each dtype fused in that dtype:

    ``abs_f64``/``rel_f64`` whole network in float64; ``abs_f32``/``rel_f32`` whole network in
    float32; ``rel_block_f32`` the largest over blocks in float32, each block fed the train-time
    output of the previous one scaled to max |x| = 1 (so every block sees O(1) inputs, as in
    ``tests/test_mobileone.py``). Relative = max |diff| / max |train-time output|."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, 3, input_size, input_size, generator=g)
    out = {}
    with torch.no_grad():
        for tag, dtype in (("f64", torch.float64), ("f32", torch.float32)):
            a = copy.deepcopy(train).to(dtype).eval()
            b = reparameterize_model(a).eval()
            out[f"abs_{tag}"], out[f"rel_{tag}"] = _rel(a(x.to(dtype)), b(x.to(dtype)))
        fused = b  # float32
        worst, h = 0.0, x
        pairs = zip((m for m in a.modules() if isinstance(m, MobileOneBlock)),
                    (m for m in fused.modules() if isinstance(m, MobileOneBlock)))
        for block, fused_block in pairs:
            ref = block(h)
            worst = max(worst, _rel(ref, fused_block(h))[1])
            h = ref / ref.abs().max().clamp_min(np.finfo(np.float32).tiny)
    out["rel_block_f32"] = worst
    return out


# --- counts and latency ------------------------------------------------------------------------

def count_model(model: nn.Module, input_size: int) -> dict:
    """MACs and element-wise ops (fvcore with :mod:`analysis.complexity`'s element-wise
    handles: the same numbers as ``count_complexity``), parameters, and memory bytes, operators
    and merges of the traced graph (``complexity.graph_costs``) of ``model`` as given. Two
    traces instead of ``count_complexity``'s three (activations are not needed here)."""
    import logging
    import warnings

    from fvcore.nn import FlopCountAnalysis

    from analysis.complexity import ELEMENTWISE_HANDLES, graph_costs, split_counts

    x = torch.zeros(1, 3, input_size, input_size)
    model = model.eval()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        logging.getLogger("fvcore").setLevel(logging.ERROR)
        flops = FlopCountAnalysis(model, x).unsupported_ops_warnings(False) \
            .uncalled_modules_warnings(False).set_op_handle(**ELEMENTWISE_HANDLES)
        macs, elementwise = split_counts(flops)
        graph = graph_costs(model, x)
    return {"macs": macs, "params": sum(p.numel() for p in model.parameters()),
            "elementwise": elementwise, **{k: graph[k] for k in ("memory_bytes", "operators", "merges")}}


_COUNTS: dict[tuple[str, int], dict] = {}


def count_forms(train: nn.Module, fused: nn.Module, input_size: int) -> dict[str, dict]:
    """``{"train": counts, "fused": counts}`` (:func:`count_model`). Counts depend only on the
    architecture, so they are kept per architecture text (``repr``) and input size: the fused
    S0 is the same network for every k and is counted once."""
    out = {}
    for form, model in (("train", train), ("fused", fused)):
        key = (repr(model), input_size)
        if key not in _COUNTS:
            _COUNTS[key] = count_model(model, input_size)
        out[form] = dict(_COUNTS[key])
    return out


def runs_for(macs: float, reference_macs: float, n_runs: int, min_runs: int) -> int:
    """Timed runs for a model of ``macs``: ``n_runs`` for the reference (the cheapest fused
    model), proportionally fewer for costlier ones (equal time per model), at least
    ``min_runs``."""
    if n_runs < 1 or min_runs < 1:
        raise ConfigError(f"N_RUNS and N_RUNS_MIN must be >= 1, got {n_runs} and {min_runs}")
    return max(min(min_runs, n_runs), int(round(n_runs * reference_macs / max(macs, 1))))


def measure_forms(models: dict[str, nn.Module], runtime: str, *, runs: int, warmup: int,
                  threads: int, input_size: int, seed: int = 0) -> dict[str, dict]:
    """Latency of each named model (the form as given), all timed interleaved in one loop
    (:func:`analysis.reparam_timing.interleaved_times`), so that a busy shared machine slows
    them alike; summary statistics of the samples (:func:`analysis.latency.sample_stats`)."""
    from analysis.latency import sample_stats
    from analysis.reparam_timing import interleaved_times

    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, 3, input_size, input_size, generator=g)
    times = interleaved_times(models, x, runs=runs, warmup=warmup, threads=threads,
                              runtime=runtime)
    out = {}
    for form, samples in times.items():
        st = sample_stats(samples)
        out[form] = {"min_ms": st["min"], "median_ms": st["median"], "p90_ms": st["p90"],
                     "cv": st["cv"], "n_runs": st["n"]}
    return out


def study_rows(variant: str, k: int, *, runtimes, input_size: int, threads: int, warmup: int,
               n_runs: int, min_runs: int, reference_macs: float | None, seed: int = 0,
               exact_size: int = 64) -> list[dict]:
    """Rows of ``reparam.csv`` for one variant and k: one per form (train, fused) and runtime,
    each with the counts and latency at ``input_size`` (both forms timed interleaved, as many
    rounds as :func:`runs_for` gives their summed MACs) and the equivalence errors of the pair
    on an ``exact_size`` input (float64 convolutions are slow on CPU; exactness does not depend
    on the resolution)."""
    train, fused = build_pair(variant, k, seed)
    counts = count_forms(train, fused, input_size)
    eq = equivalence(train, exact_size, seed)
    ref = reference_macs or counts["fused"]["macs"]
    runs = runs_for(counts["train"]["macs"] + counts["fused"]["macs"], ref, n_runs, min_runs)
    rows = []
    for runtime in runtimes:
        lat = measure_forms({"train": train, "fused": fused}, runtime, runs=runs, warmup=warmup,
                            threads=threads, input_size=input_size, seed=seed)
        for form in ("train", "fused"):
            rows.append({"variant": variant.upper(), "k": k, "official_k": k == official_k(variant),
                         "form": form, "runtime": runtime, "threads": threads,
                         "input_size": input_size, **lat[form], **counts[form],
                         "exact_size": exact_size, "max_abs_diff_f64": eq["abs_f64"],
                         "max_rel_diff_f64": eq["rel_f64"], "max_abs_diff_f32": eq["abs_f32"], "max_rel_diff_f32": eq["rel_f32"],
                         "max_block_rel_diff_f32": eq["rel_block_f32"]})
    return rows


def run_study(variants, k_values_, runtimes, *, input_size: int, threads: int, warmup: int,
              n_runs: int, min_runs: int, sweep_runtimes=None, seed: int = 0,
              exact_size: int = 64, progress: bool = True) -> pd.DataFrame:
    """``reparam.csv``: every variant at its official k in ``runtimes``, and S0 (when selected)
    at every other k of ``k_values_`` in ``sweep_runtimes`` (default: ``runtimes``). Runs are
    scaled by MACs relative to the cheapest fused model."""
    from tqdm import tqdm

    variants = sorted(variant_ids(variants), key=VARIANTS.index)  # cheapest first
    ks = k_values(k_values_)
    sweep_runtimes = list(runtimes) if sweep_runtimes is None else as_list(sweep_runtimes)
    jobs = [(v, official_k(v), list(runtimes)) for v in variants]
    if "s0" in variants and sweep_runtimes:
        jobs += [("s0", k, sweep_runtimes) for k in ks if k != official_k("s0")]
    rows: list[dict] = []
    for v, k, rts in tqdm(jobs, desc="variants and k", disable=not progress):
        # the first job's fused model is the cheapest: the run-count reference
        reference = next((r["macs"] for r in rows if r["form"] == "fused"), None)
        rows += study_rows(v, k, runtimes=rts, input_size=input_size, threads=threads,
                           warmup=warmup, n_runs=n_runs, min_runs=min_runs,
                           reference_macs=reference, seed=seed, exact_size=exact_size)
    # by variant and k; runtimes in the order given, train-time before fused
    table = pd.DataFrame(rows).sort_values(["variant", "k"], kind="stable")
    table["speedup_vs_train"] = table.apply(lambda r: _speedup(table, r), axis=1)
    return add_published(table.reset_index(drop=True))


def _speedup(table: pd.DataFrame, row) -> float:
    """Train-time min latency / this row's min latency (same variant, k, runtime)."""
    same = table[(table["variant"] == row["variant"]) & (table["k"] == row["k"])
                 & (table["runtime"] == row["runtime"]) & (table["form"] == "train")]
    return float(same["min_ms"].iloc[0] / row["min_ms"])


def add_published(table: pd.DataFrame) -> pd.DataFrame:
    """Add the paper's Table 9 params and MACs (millions; fused form at 224 px) per variant."""
    pub = {v.upper(): get_entry(f"MobileOne-{v.upper()}").published for v in VARIANTS}
    table = table.copy()
    table["published_params_m"] = table["variant"].map(lambda v: pub[v].params_m)
    table["published_macs_m"] = table["variant"].map(lambda v: pub[v].macs_m)
    return table


def size_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per variant at its official k: params and MACs (millions) of both forms next to the
    published (fused) ones; the published MACs are at 224 px, so they compare only there."""
    t = table[table["official_k"]].drop_duplicates(["variant", "form"])
    wide = t.pivot(index="variant", columns="form", values=["params", "macs"])
    out = pd.DataFrame({
        "k": t.drop_duplicates("variant").set_index("variant")["k"],
        "params_fused_m": wide[("params", "fused")] / 1e6,
        "params_published_m": t.drop_duplicates("variant").set_index("variant")["published_params_m"],
        "params_train_m": wide[("params", "train")] / 1e6,
        "macs_fused_m": wide[("macs", "fused")] / 1e6,
        "macs_published_m": t.drop_duplicates("variant").set_index("variant")["published_macs_m"],
        "macs_train_m": wide[("macs", "train")] / 1e6,
    })
    size = int(t["input_size"].iloc[0])
    if size != 224:
        out["macs_published_m"] = np.nan  # published at 224 px only
    out["input_size"] = size
    return out.reset_index()


def fused_runs(table: pd.DataFrame, n_runs: int, min_runs: int) -> dict[str, int]:
    """Interleaved rounds per variant for timing its fused form against a twin of the same
    cost (:func:`runs_for` of twice its MACs against the cheapest fused model)."""
    t = table[(table["form"] == "fused") & table["official_k"]].drop_duplicates("variant")
    ref = float(t["macs"].min())
    return {v: runs_for(2 * m, ref, n_runs, min_runs) for v, m in zip(t["variant"], t["macs"])}


def exactness_view(table: pd.DataFrame) -> pd.DataFrame:
    """One row per variant and k: the equivalence errors and whether each meets its tolerance."""
    cols = ["variant", "k", "max_abs_diff_f64", "max_rel_diff_f64", "max_abs_diff_f32",
            "max_rel_diff_f32", "max_block_rel_diff_f32"]
    t = table.drop_duplicates(["variant", "k"])[cols].reset_index(drop=True)
    t["f64_exact"] = t["max_rel_diff_f64"] <= TOL_FLOAT64
    t["blocks_f32_ok"] = t["max_block_rel_diff_f32"] <= TOL_BLOCK_FLOAT32
    return t
