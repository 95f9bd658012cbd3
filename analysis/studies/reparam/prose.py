"""Notebook 04's generated prose: written from :class:`~.findings.ReparamFindings` only.

Every number is formatted from the findings (:mod:`analysis.text`), every verdict word follows
a verdict decided in :mod:`~analysis.studies.reparam.findings`, and every threshold is the
constant it was judged by; ``tests/golden/04_*.md`` hold the wording for synthetic findings.
"""

from __future__ import annotations

import math

from analysis.studies.reparam.measured import Reference
from analysis.studies.reparam.findings import KSweep, ReparamFindings, SequentialRatio
from analysis.text import join_words, number, percent, plural, scientific, times


def _ratio_phrase(ratio: float, verdict: str, band: float) -> str:
    """``2.40× faster``, ``1.25× slower`` or ``no measurable difference (1.02×, within the
    ±13 % noise band)``."""
    if verdict == "within noise":
        return f"no measurable difference ({times(ratio)}, within the ±{percent(band)} noise band)"
    if verdict == "faster":
        return f"{times(ratio)} faster"
    if verdict == "slower":
        return f"{times(1 / ratio)} slower"
    return "not measured"


def table7_sentence(f: ReparamFindings) -> str:
    if not f.table7_differences:
        return f"**Table 7:** all {f.table7_rows} rows match the built networks."
    shown = "; ".join(
        f"{d.variant} stage {d.stage}: {', '.join(d.fields)}" + (
            f" (Table 7 {d.channels_paper}, built {d.channels_code})"
            if d.channels_paper is not None else "") for d in f.table7_differences)
    return (f"**Table 7:** {f.table7_rows - len(f.table7_differences)} of {f.table7_rows} rows "
            f"match the built networks; differing: {shown}.")


def exactness_sentence(f: ReparamFindings) -> str:
    e = f.exactness
    if not e.f64_exact:
        return (f"**Fusion is not exact here:** the largest float64 difference between fused "
                f"and train-time outputs is {scientific(e.max_rel_f64)} of the output scale "
                f"(max |train-time output|), above the tolerance {scientific(e.tol_f64, 1)}.")
    text = (f"**Fusion is exact:** in float64 the largest difference between fused and "
            f"train-time outputs, over every variant and k, is {scientific(e.max_rel_f64)} of "
            f"the output scale (max |train-time output|; tolerance "
            f"{scientific(e.tol_f64, 1)}). In float32, block by block, the largest is "
            f"{scientific(e.max_block_rel_f32)} of the block's output scale ")
    text += (f"(tolerance {scientific(e.tol_block_f32, 1)}: met)." if e.blocks_f32_ok else
             f"(above the per-block tolerance {scientific(e.tol_block_f32, 1)}).")
    whole = (f"{scientific(e.worst_f32_rel)} of the output scale ({scientific(e.worst_f32_abs)} "
             f"against outputs up to {scientific(e.worst_f32_scale)}; {e.worst_f32_variant}, "
             f"k = {e.worst_f32_k})")
    if e.worst_f32_rel <= e.tol_block_f32:
        text += f" The largest whole-network float32 difference is {whole}."
    elif e.blocks_f32_ok:
        text += (f" The largest whole-network float32 difference, {whole}, is therefore "
                 "float32 rounding amplified from block to block by the random-weight network, "
                 "not a fusion error.")
    return text


def sweep_sentence(s: KSweep, band: float, nominal: float) -> str:
    slope = s.train_ms_per_branch
    text = (f"S0 k sweep ({s.runtime}): the train-time form {'grows' if slope > 0 else 'falls'} "
            f"from {number(s.train_ms_at_kmin)} ms (k = {s.k_min}) to "
            f"{number(s.train_ms_at_kmax)} ms (k = {s.k_max}), {number(abs(slope))} ms "
            f"{'more' if slope > 0 else 'less'} per extra branch, with memory traffic "
            f"{s.train_mb_at_kmin:.0f} → {s.train_mb_at_kmax:.0f} MB and "
            f"{s.train_ops_at_kmin} → {s.train_ops_at_kmax} operators; the fused form ")
    ops = s.fused_ops
    text += (f"is the same network for every k ({ops[0]} operators)" if len(ops) == 1 else
             f"is one conv per block for every k ({ops[0]}–{ops[-1]} operators)")
    text += (f", so the spread of its latency across k, {percent(s.fused_spread)} "
             f"({number(s.fused_ms_min)}–{number(s.fused_ms_max)} ms), is the run-to-run noise "
             "of this measurement")
    if s.fused_spread > nominal:
        text += (f"; it exceeds the nominal ±{percent(nominal)} band, so ±{percent(band)} is "
                 "used as the noise band for the comparisons here")
    else:
        text += f"; the noise band used here is ±{percent(band)}"
    return text + "."


def speedup_sentences(f: ReparamFindings) -> list[str]:
    lines = []
    parts = [f"{s.variant} ({s.runtime}, k = {s.k}): "
             f"{_ratio_phrase(s.speedup, s.verdict, f.noise_band)}" for s in f.speedups]
    if parts:
        lines.append("**Fused vs train-time** (min latency): " + "; ".join(parts) + ".")
    if f.s0_speedup is not None:
        s0 = next(s for s in f.speedups if s.variant == "S0" and s.runtime == "torch")
        met = "met" if f.s0_target_met else "**not met**"
        lines.append(f"Target fused S0 ≥ {f.s0_target:g}× faster than train-time S0 "
                     f"(k = {f.s0_k}, PyTorch eager): {met} — fused S0 is "
                     f"{_ratio_phrase(s0.speedup, s0.verdict, f.noise_band)}.")
    return lines


def sequential_sentence(rows: tuple[SequentialRatio, ...], target: float, met: bool) -> str:
    over = [r.variant for r in rows if r.overhead]
    per = "; ".join(f"{r.variant} {r.ratio_min:.3f} / {r.ratio_median:.3f}" for r in rows)
    text = (f"**No overhead left behind:** fused / plain Sequential (interleaved; min / median "
            f"of runs) {per}. Rule: a variant has overhead only if both its min and its median "
            f"ratio exceed {target:g}; otherwise the difference is within noise. Target ≤ "
            f"{target:g}: ")
    if met:
        text += ("met — no variant shows overhead beyond noise: the fused model runs as fast as "
                 "a plain nn.Sequential of the same layers")
    else:
        text += (f"**not met** — {join_words(over)} {'is' if len(over) == 1 else 'are'} slower "
                 "than a plain nn.Sequential of the same layers on both statistics")
    text += " (identical outputs)." if all(r.identical_output for r in rows) else \
        " (outputs differ!)."
    us = {r.variant: r.overhead_us_per_block for r in rows
          if math.isfinite(r.overhead_us_per_block)}
    if us:
        text += (" Difference per block (min of runs; negative: fused faster): "
                 + "; ".join(f"{k} {x:+.1f} µs" for k, x in us.items()) + ".")
        shown = [us[k] for k in over if k in us]
        if shown and all(x > 0 for x in shown):
            text += (" The positive overhead of the slower variants is consistent with what "
                     "the block's own module call and its identity SE call would cost, which "
                     "only a flat deployed module avoids.")
    return text


def reference_sentence(f: ReparamFindings) -> str:
    ref = f.reference
    parts = [f"{percent(t.share)}{' of it' if i == 0 else ''} with {t.runtime} ({t.variant}, "
             f"{t.gflops:.0f} GFLOP/s)" for i, t in enumerate(f.best_throughput)]
    text = (f"**Reference throughput:** torch.matmul of two {ref.n}×{ref.n} fp32 matrices runs "
            f"at {ref.gflops:.0f} GFLOP/s on {plural(ref.threads, 'thread')}; the best fused "
            f"variant reaches {join_words(parts)}.")
    if any(t.share > 1 for t in f.best_throughput):
        text += (f" A share above 100 % means the runtime does more floating-point operations "
                 f"per second on the network's layers than PyTorch does on one {ref.n}×{ref.n} "
                 "product: the reference is one library's matmul throughput at one size, not "
                 "the CPU's peak, and convolution kernels tuned to small, cache-resident shapes "
                 "(oneDNN in PyTorch, MLAS in ONNX Runtime), or algorithms that do fewer "
                 "operations than the counted MACs, can outrun it. What this shows: the fused "
                 "networks keep the runtime's compute kernels busy rather than waiting on "
                 "per-layer overhead. What it cannot show: how close either comes to the "
                 "hardware's peak.")
    return text


def reference_derivation(ref: Reference) -> str:
    """The reference's arithmetic, one line of Markdown, from the measured numbers."""
    n = ref.n
    return (f"One product of two {n}×{n} fp32 matrices is {n}³ = {n ** 3:,} multiply-adds = "
            f"2·{n}³ = {ref.flop:,} floating-point operations. The fastest of "
            f"{plural(ref.runs, 'run')} on {plural(ref.threads, 'thread')} took "
            f"{ref.min_ms:.2f} ms, so the reference throughput is {ref.flop:,} / "
            f"{ref.min_ms / 1e3:.5f} s = **{ref.gflops:.1f} GFLOP/s**.")


def conclusion(f: ReparamFindings) -> str:
    """The generated conclusion (a Markdown bullet list)."""
    lines = [table7_sentence(f), exactness_sentence(f)]
    lines += [sweep_sentence(s, f.noise_band, f.nominal_band) for s in f.k_sweeps]
    lines += speedup_sentences(f)
    if f.sequential:
        lines.append(sequential_sentence(f.sequential, f.sequential_target,
                                         bool(f.sequential_target_met)))
    if f.reference is not None and f.best_throughput:
        lines.append(reference_sentence(f))
    return "\n".join(f"- {line}" for line in lines)
