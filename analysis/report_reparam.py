"""Notebook 04's findings (numbers) and its conclusion (prose generated from them).

:func:`findings` reduces the notebook's tables to a small dict; :func:`conclusion` writes the
prose from that dict only, so it can be tested on synthetic inputs: direction words follow the
signs of the numbers, a speed-up is only claimed where the ratio exceeds the noise band
(:data:`analysis.reparam_study.NOISE`), and each performance target is judged by its rule.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.reparam_study import NOISE, TOL_BLOCK_FLOAT32, TOL_FLOAT64

#: Performance targets of issue 12 (judged here, never timed in tests).
TARGET_S0_SPEEDUP = 3.0  # fused S0 vs train-time S0 (k = 4), PyTorch eager
TARGET_SEQUENTIAL_RATIO = 1.05  # fused / plain nn.Sequential, interleaved, min of repeats


def _official(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["official_k"]]


def speedups(table: pd.DataFrame) -> pd.DataFrame:
    """Per variant and runtime at the official k: train-time and fused min latency and the
    speed-up of fusing (train / fused; > 1 means the fused form is faster)."""
    t = _official(table)
    wide = t.pivot_table(index=["variant", "k", "runtime"], columns="form", values="min_ms")
    out = wide.rename(columns={"train": "train_ms", "fused": "fused_ms"}).reset_index()
    out["speedup"] = out["train_ms"] / out["fused_ms"]
    order = {r: i for i, r in enumerate(dict.fromkeys(t["runtime"]))}  # as measured
    out = out.sort_values(["variant", "runtime"], key=lambda c: c.map(order) if c.name == "runtime" else c)
    return out[["variant", "k", "runtime", "train_ms", "fused_ms", "speedup"]].reset_index(drop=True)


def k_sweep(table: pd.DataFrame, variant: str = "S0") -> pd.DataFrame:
    """The k sweep of one variant: per runtime measured at more than one k, per k and form,
    the min latency, MACs, memory bytes and operator count."""
    t = table[table["variant"] == variant]
    t = t[t.groupby("runtime")["k"].transform("nunique") > 1]  # runtimes swept over k only
    cols = ["runtime", "k", "form", "min_ms", "median_ms", "macs", "memory_bytes", "operators"]
    return t[cols].sort_values(["runtime", "form", "k"]).reset_index(drop=True)


def _slope(x, y) -> float:
    """Least-squares slope of y on x (NaN for fewer than two distinct x)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(np.unique(x)) < 2:
        return float("nan")
    return float(np.polyfit(x, y, 1)[0])


def findings(table: pd.DataFrame, sequential: pd.DataFrame | None = None,
             achieved: pd.DataFrame | None = None, table7: pd.DataFrame | None = None) -> dict:
    """The numbers the conclusion speaks about, computed from the notebook's tables."""
    sp = speedups(table)
    out: dict = {"speedups": sp.to_dict("records")}
    s0 = sp[(sp["variant"] == "S0") & (sp["runtime"] == "torch")]
    out["s0_torch_speedup"] = float(s0["speedup"].iloc[0]) if len(s0) else None
    out["s0_official_k"] = int(s0["k"].iloc[0]) if len(s0) else None
    sweeps = []
    sweep = k_sweep(table)
    for runtime, part in sweep.groupby("runtime", sort=False):
        train, fused = part[part["form"] == "train"], part[part["form"] == "fused"]
        if train["k"].nunique() < 2:
            continue
        sweeps.append({
            "runtime": runtime, "k_min": int(train["k"].min()), "k_max": int(train["k"].max()),
            "train_ms_at_kmin": float(train["min_ms"].iloc[0]),
            "train_ms_at_kmax": float(train["min_ms"].iloc[-1]),
            "train_ms_per_branch": _slope(train["k"], train["min_ms"]),
            "fused_spread": float(fused["min_ms"].max() / fused["min_ms"].min() - 1),
            "fused_ms_min": float(fused["min_ms"].min()), "fused_ms_max": float(fused["min_ms"].max()),
            "train_mb_at_kmin": float(train["memory_bytes"].iloc[0] / 1e6),
            "train_mb_at_kmax": float(train["memory_bytes"].iloc[-1] / 1e6),
            "train_ops_at_kmin": int(train["operators"].iloc[0]),
            "train_ops_at_kmax": int(train["operators"].iloc[-1]),
            "fused_ops": sorted(set(int(o) for o in fused["operators"])),
        })
    out["k_sweep"] = sweeps
    # The fused network is the same for every k: its spread across k is run-to-run noise.
    out["noise_band"] = noise_band(sweeps)
    eq = table.drop_duplicates(["variant", "k"])
    out["max_rel_f64"] = float(eq["max_rel_diff_f64"].max())
    out["max_block_rel_f32"] = float(eq["max_block_rel_diff_f32"].max())
    worst = eq.loc[eq["max_rel_diff_f32"].idxmax()]
    out["worst_f32"] = {"variant": worst["variant"], "k": int(worst["k"]),
                        "rel": float(worst["max_rel_diff_f32"])}
    if sequential is not None and len(sequential):
        cols = ["variant", "ratio_min", "ratio_median", "identical_output",
                "overhead_us_per_block"]
        out["sequential"] = sequential[[c for c in cols if c in sequential]].to_dict("records")
        out["sequential_max_ratio"] = float(sequential["ratio_min"].max())
    if achieved is not None and len(achieved):
        best = achieved.loc[achieved.groupby("runtime")["fraction_of_ceiling"].idxmax()]
        out["ceiling_gflops"] = float(achieved["ceiling_gflops"].iloc[0])
        out["best_fraction"] = best[["runtime", "variant", "gflops",
                                     "fraction_of_ceiling"]].to_dict("records")
    if table7 is not None and len(table7):
        diff = table7[table7["differs"] != ""]
        out["table7_rows"] = int(len(table7))
        out["table7_differences"] = diff[["variant", "stage", "differs"] + [
            c for c in diff.columns if c.startswith("channels_")]].to_dict("records")
    return out


def noise_band(sweeps: list[dict]) -> float:
    """Noise band of the timings: the larger of :data:`NOISE` and the spread of the fused
    network's latency across k (the fused network is identical for every k, so that spread
    is the run-to-run noise of the measurement itself)."""
    spreads = [s["fused_spread"] for s in sweeps if math.isfinite(s.get("fused_spread", math.nan))]
    return max([NOISE] + spreads)


def _ratio_phrase(ratio: float, faster: str = "faster", slower: str = "slower",
                  band: float = NOISE) -> str:
    """``"2.4× faster"``, ``"1.3× slower"`` or ``"no measurable difference"`` (within
    ``band``, a ratio inside 1 ± band)."""
    if not math.isfinite(ratio) or ratio <= 0:
        return "not measured"
    if abs(ratio - 1) <= band and abs(1 / ratio - 1) <= band:
        return f"no measurable difference ({ratio:.2f}×, within the ±{band:.0%} noise band)"
    return f"{ratio:.2f}× {faster}" if ratio > 1 else f"{1 / ratio:.2f}× {slower}"


def _exactness(f: dict) -> str:
    f64, block, worst = f["max_rel_f64"], f["max_block_rel_f32"], f["worst_f32"]
    if not f64 <= TOL_FLOAT64:
        return (f"**Fusion is not exact here:** the largest float64 difference relative to the "
                f"output is {f64:.2g}, above the tolerance {TOL_FLOAT64:.0e}.")
    text = (f"**Fusion is exact:** in float64 the fused networks reproduce the train-time ones "
            f"to {f64:.1g} of the output scale (tolerance {TOL_FLOAT64:.0e}), and every block "
            f"agrees to {block:.1g} in float32")
    text += " (tolerance met)." if block <= TOL_BLOCK_FLOAT32 else (
        f", above the per-block tolerance {TOL_BLOCK_FLOAT32:.0e}.")
    if worst["rel"] <= TOL_BLOCK_FLOAT32:
        text += f" Whole networks agree to {worst['rel']:.1g} in float32 as well."
    elif block <= TOL_BLOCK_FLOAT32:
        text += (f" The largest whole-network float32 difference, {worst['rel']:.1%} for "
                 f"{worst['variant']} (k = {worst['k']}), is therefore rounding amplified by the "
                 "random-weight network, not a fusion error.")
    return text


def _sweep_sentence(s: dict, band: float = NOISE) -> str:
    slope = s["train_ms_per_branch"]
    grows = "grows" if slope > 0 else "falls"
    text = (f"S0 k sweep ({s['runtime']}): the train-time form {grows} from "
            f"{s['train_ms_at_kmin']:.2f} ms (k = {s['k_min']}) to {s['train_ms_at_kmax']:.2f} ms "
            f"(k = {s['k_max']}), {abs(slope):.2f} ms {'more' if slope > 0 else 'less'} per extra "
            f"branch, with memory traffic {s['train_mb_at_kmin']:.0f} → "
            f"{s['train_mb_at_kmax']:.0f} MB and {s['train_ops_at_kmin']} → "
            f"{s['train_ops_at_kmax']} operators; the fused form ")
    ops = s["fused_ops"]
    text += (f"is the same network for every k ({ops[0]} operators), so the spread of its "
             if len(ops) == 1 else
             f"is one conv per block for every k ({ops[0]}–{ops[-1]} operators), so the spread of its ")
    text += (f"latency across k, {s['fused_spread']:.0%} ({s['fused_ms_min']:.2f}–"
             f"{s['fused_ms_max']:.2f} ms), is the run-to-run noise of this measurement")
    if s["fused_spread"] > NOISE:
        text += (f"; it exceeds the nominal ±{NOISE:.0%} band, so ±{band:.0%} is used as the "
                 "noise band for the comparisons here")
    else:
        text += f"; the noise band used here is ±{band:.0%}"
    return text + "."


def sequential_verdict(rows: list[dict], target: float = TARGET_SEQUENTIAL_RATIO) -> dict:
    """Judge the fused / plain-Sequential ratios by a rule that accounts for noise: a variant
    shows overhead only if **both** its min and its median ratio exceed ``target``; the target
    is met when no variant does."""
    over = [r["variant"] for r in rows if r["ratio_min"] > target and r["ratio_median"] > target]
    return {"met": not over, "overhead_variants": over}


def _sequential_sentence(rows: list[dict]) -> str:
    target = TARGET_SEQUENTIAL_RATIO
    v = sequential_verdict(rows, target)
    same = all(r["identical_output"] for r in rows)
    per = "; ".join(f"{r['variant']} {r['ratio_min']:.3f} / {r['ratio_median']:.3f}" for r in rows)
    text = (f"**No overhead left behind:** fused / plain Sequential (interleaved; min / median "
            f"of runs) {per}. Rule: a variant has overhead only if both its min and its median "
            f"ratio exceed {target:g}; otherwise the difference is within noise. Target ≤ "
            f"{target:g}: ")
    if v["met"]:
        text += ("met — no variant shows overhead beyond noise: the fused model runs as fast as "
                 "a plain nn.Sequential of the same layers")
    else:
        text += (f"**not met** — {', '.join(v['overhead_variants'])} "
                 f"{'is' if len(v['overhead_variants']) == 1 else 'are'} slower than a plain "
                 "nn.Sequential of the same layers on both statistics")
    text += " (identical outputs)." if same else " (outputs differ!)."
    us = {r["variant"]: r["overhead_us_per_block"] for r in rows
          if math.isfinite(r.get("overhead_us_per_block", math.nan))}
    if us:
        text += (" Difference per block (min of runs; negative: fused faster): "
                 + "; ".join(f"{k} {x:+.1f} µs" for k, x in us.items()) + ".")
        shown = [us[k] for k in v["overhead_variants"] if k in us]
        if shown and all(x > 0 for x in shown):
            text += (" The positive overhead of the slower variants is consistent with what the block's own "
                     "module call and its identity SE call would cost, which only a flat "
                     "deployed module avoids.")
    return text


def conclusion(f: dict) -> str:
    """Markdown bullet list from :func:`findings`."""
    lines = []
    if "table7_rows" in f:
        d = f["table7_differences"]
        if not d:
            lines.append(f"**Table 7:** all {f['table7_rows']} rows match the built networks.")
        else:
            shown = "; ".join(
                f"{r['variant']} stage {r['stage']}: {r['differs']}" + (
                    f" (Table 7 {int(r['channels_paper'])}, built {int(r['channels_code'])})"
                    if "channels" in r["differs"] else "") for r in d)
            lines.append(f"**Table 7:** {f['table7_rows'] - len(d)} of {f['table7_rows']} rows "
                         f"match the built networks; differing: {shown}.")
    lines.append(_exactness(f))
    band = f.get("noise_band", NOISE)
    lines += [_sweep_sentence(s, band) for s in f.get("k_sweep", [])]  # the noise band first
    parts = [f"{r['variant']} ({r['runtime']}, k = {r['k']}): "
             f"{_ratio_phrase(r['speedup'], band=band)}" for r in f["speedups"]]
    if parts:
        lines.append("**Fused vs train-time** (min latency): " + "; ".join(parts) + ".")
    s0 = f.get("s0_torch_speedup")
    if s0 is not None:
        met = "met" if s0 >= TARGET_S0_SPEEDUP else "**not met**"
        words = _ratio_phrase(s0, band=band)
        lines.append(f"Target fused S0 ≥ {TARGET_S0_SPEEDUP:g}× faster than train-time S0 "
                     f"(k = {f['s0_official_k']}, PyTorch eager): {met} — fused S0 is {words}.")
    if "sequential" in f:
        lines.append(_sequential_sentence(f["sequential"]))
    if "best_fraction" in f:
        per = "; ".join(f"{r['runtime']}: {r['fraction_of_ceiling']:.0%} ({r['variant']}, "
                        f"{r['gflops']:.0f} GFLOP/s)" for r in f["best_fraction"])
        text = (f"**Ceiling:** the measured matmul ceiling is {f['ceiling_gflops']:.0f} "
                f"GFLOP/s; the best fused variant reaches {per}.")
        if any(r["fraction_of_ceiling"] > 1 for r in f["best_fraction"]):
            text += (" A share above 100 % means that runtime's convolution kernels outrun "
                     "torch.matmul here: the ceiling is PyTorch's dense product on these "
                     "threads, not the hardware's peak.")
        lines.append(text)
    return "\n".join(f"- {line}" for line in lines)
