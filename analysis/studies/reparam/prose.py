"""Notebook 04's generated prose: written from :class:`~.findings.ReparamFindings` only.

Every number is formatted from the findings (:mod:`analysis.text`), every verdict word follows
a verdict decided in the tables and findings, and every threshold is the constant it was judged
by; ``tests/golden/04_*.md`` hold the wording for synthetic findings. The conclusion opens with
the takeaway, then states the noise model's rule before any result.
"""

from __future__ import annotations

import math

from analysis import noise
from analysis.studies.reparam.findings import KSweep, ReparamFindings, SequentialRatio, Speedup
from analysis.studies.reparam.measured import MET, NOT_MET, UNDECIDED, Reference
from analysis.text import (interval, join_words, number, percent, percent_range, plural,
                           scientific, shift_sentence, times)

RUNTIME_NAMES = {"torch": "PyTorch eager", "onnxruntime": "ONNX Runtime"}


def _rt(runtime: str) -> str:
    return RUNTIME_NAMES.get(runtime, runtime)


def _band(band: float) -> str:
    return f"±{percent(band, 1)}" if math.isfinite(band) else "no band (a single session)"


def _ratio_phrase(speedup: float, verdict: str) -> str:
    """The fused form against train-time from the speed-up (train / fused): ``5.88× faster``,
    ``1.25× slower`` or ``1.23× faster but within noise`` (``1.00×, within noise``)."""
    if verdict == noise.WITHIN:
        value = speedup if speedup >= 1 else 1 / speedup
        if times(value) == times(1.0):
            return f"{times(value)}, within noise"
        return f"{times(value)} {'faster' if speedup >= 1 else 'slower'} but within noise"
    if verdict == noise.FASTER:
        return f"{times(speedup)} faster"
    if verdict == noise.SLOWER:
        return f"{times(1 / speedup)} slower"
    return f"{times(speedup)}, no verdict (no noise band)"


def _target_word(verdict: str | None) -> str:
    return {MET: "met", NOT_MET: "**not met**", UNDECIDED: "not decidable within noise"}.get(
        verdict or "", "no verdict (no noise band)")


# -- the takeaway ----------------------------------------------------------------------------------

def takeaway(f: ReparamFindings) -> str:
    """At most three sentences, each backed by a verdict: whether fusion is exact, what it buys
    (fused S0 against its target), and what the Sequential comparison can and cannot say."""
    exact = f.exactness.f64_exact and f.exactness.blocks_f32_ok
    sentences = [("Re-parameterization is exact: fused and train-time MobileOnes agree within "
                  f"{scientific(f.exactness.tol_f64, 1)} of the output scale in float64."
                  if exact else "Re-parameterization is **not** exact here: the fused networks "
                  "miss the stated tolerance.")]
    s0 = next((s for s in f.speedups if s.variant == "S0" and s.runtime == "torch"), None)
    if s0 is not None:
        others = [s for s in f.speedups if s.variant == "S0" and s.runtime != "torch"]
        more = "".join(f" ({times(s.speedup)} in {_rt(s.runtime)})" for s in others)
        runs = {noise.FASTER: f"runs {times(s0.speedup)} faster than its train-time form "
                              f"(k = {s0.k})",
                noise.SLOWER: f"runs {times(1 / s0.speedup)} slower than its train-time form "
                              f"(k = {s0.k})"}.get(
            s0.verdict, f"is not measurably faster than its train-time form "
                        f"({times(s0.speedup)}, k = {s0.k})")
        sentences.append(
            f"On {f.device}, fused S0 {runs} in PyTorch eager{more}: the ≥ {f.s0_target:g}× "
            "target is "
            f"{_target_word(f.s0_verdict).replace('**', '')}"
            + (f" against the ±{percent(s0.band, 0)} session noise." if math.isfinite(s0.band)
               else "."))
    if f.sequential:
        lo = times(min(r.ratio_min for r in f.sequential))
        hi = times(max(r.ratio_min for r in f.sequential))
        span = lo if lo == hi else f"{lo}–{hi}"
        v = f.sequential_verdict
        tail = {MET: f"within {times(f.sequential_target)} of it beyond noise",
                NOT_MET: f"slower than {times(f.sequential_target)} of it beyond noise",
                UNDECIDED: f"within {times(f.sequential_target)} of it cannot be decided at "
                           "this noise"}.get(v or "", "without a verdict (no noise band)")
        sentences.append(f"Against a plain nn.Sequential of the same layers the fused networks "
                         f"take {span} its time; whether they are {tail}."
                         if v == UNDECIDED else
                         f"Against a plain nn.Sequential of the same layers the fused networks "
                         f"take {span} its time: {tail}.")
    return " ".join(sentences)


# -- the conclusion --------------------------------------------------------------------------------

def measurement_sentence(f: ReparamFindings) -> str:
    lo, hi = f.sessions
    n = f"{lo}" if lo == hi else f"{lo}–{hi}"
    return (f"**Measurements:** {f.source}, {f.device}, {n} sessions per network; a latency is "
            "the median over sessions of each session's minimum over runs (the paper's "
            "statistic), with the lowest and highest session as its interval; the median over "
            "runs is reported beside it.")


def noise_sentence(f: ReparamFindings) -> str:
    """The rule first, then the bands it gives."""
    bands = "; ".join(f"{_rt(b.runtime)} {_band(b.band)} (median over runs: "
                      f"{_band(b.median_band)}; {plural(b.n_networks, 'network')}, "
                      f"{plural(b.n_pairs, 'session pair')}, {b.covers})" for b in f.bands)
    covers = {b.covers for b in f.bands}
    text = (f"**Noise model (rule stated before the results):** {noise.RULE}. A target T is "
            "met when the measured value lies beyond T on the right side by more than the band, "
            "not met when beyond it on the wrong side, and not decidable within noise when the "
            f"band around the value contains T. Bands: {bands}.")
    if covers == {"within one sitting only"}:
        text += (" They cover the noise within one sitting only: between-sitting noise (another "
                 "day, another state of the machine) is not measured yet, so the bands may be "
                 "too narrow for a comparison across sittings.")
    shift = shift_sentence((_rt(b.runtime), b.common_shift, b.between_after_shift, b.band)
                           for b in f.bands)
    return text + (" " + shift if shift else "") + (
        " A band is for one session against another; the latencies here are medians over "
        "sessions, so the rule is conservative for them.")


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
    checked = f"{plural(e.n_checked, 'variant and k', 'variants and k')}"
    if not e.f64_exact:
        return (f"**Fusion is not exact here:** over {checked}, the largest float64 difference "
                f"between fused and train-time outputs exceeds {scientific(e.tol_f64, 1)} of "
                "the output scale (max |train-time output|).")
    text = (f"**Fusion is exact:** over {checked}, every float64 difference between fused and "
            f"train-time outputs is below {scientific(e.tol_f64, 1)} of the output scale "
            "(max |train-time output|). In float32, block by block, every block ")
    text += (f"agrees within {scientific(e.tol_f32, 1)} of its output scale." if e.blocks_f32_ok
             else f"does **not** agree within {scientific(e.tol_f32, 1)} of its output scale.")
    if e.whole_f32_ok:
        text += " Whole networks agree within that tolerance in float32 too."
    elif e.blocks_f32_ok:
        text += (" Whole networks differ by more in float32: float32 rounding amplified from "
                 "block to block by the random-weight network, not a fusion error.")
    return text + (" (The differences themselves are rounding errors whose size depends on the "
                   "CPU; §2 shows them.)")


def sweep_sentence(s: KSweep) -> str:
    slope = s.train_ms_per_branch
    text = (f"S0 k sweep ({_rt(s.runtime)}): the train-time form "
            f"{'grows' if slope > 0 else 'falls'} from {number(s.train_ms_at_kmin)} ms "
            f"(k = {s.k_min}) to {number(s.train_ms_at_kmax)} ms (k = {s.k_max}), "
            f"{number(abs(slope))} ms {'more' if slope > 0 else 'less'} per extra branch, with "
            f"memory traffic {s.train_mb_at_kmin:.0f} → {s.train_mb_at_kmax:.0f} MB and "
            f"{s.train_ops_at_kmin} → {s.train_ops_at_kmax} operators; the fused form ")
    ops = s.fused_ops
    text += (f"is the same network for every k ({ops[0]} operators, {number(s.fused_ms)} ms)"
             if len(ops) == 1 else
             f"is one conv per block for every k ({ops[0]}–{ops[-1]} operators)")
    return text + "."


def _speedup_part(s: Speedup) -> str:
    text = (f"{s.variant} ({_rt(s.runtime)}, k = {s.k}): {_ratio_phrase(s.speedup, s.verdict)}"
            f" (sessions {interval(s.low, s.high)}×; median over runs "
            f"{times(s.median_speedup)})")
    return text


def speedup_sentences(f: ReparamFindings) -> list[str]:
    lines = []
    if f.speedups:
        lines.append("**Fused vs train-time** (min over runs): "
                     + "; ".join(_speedup_part(s) for s in f.speedups) + ".")
    if f.s0_speedup is not None:
        lines.append(f"Target fused S0 ≥ {f.s0_target:g}× faster than train-time S0 "
                     f"(k = {f.s0_k}, PyTorch eager): {_target_word(f.s0_verdict)} — "
                     f"{times(f.s0_speedup)}.")
    return lines


def sequential_sentence(rows: tuple[SequentialRatio, ...], target: float, verdict: str | None,
                        ) -> str:
    per = "; ".join(f"{r.variant} {r.ratio_min:.3f} (sessions {interval(r.low, r.high)}; "
                    f"median {r.ratio_median:.3f}): {r.verdict}" for r in rows)
    text = (f"**Fused vs plain nn.Sequential** of the same layers (fused / Sequential, "
            f"min over runs): {per}. Target ≤ {target:g}: {_target_word(verdict)}")
    over = [r.variant for r in rows if r.target_verdict == NOT_MET]
    undecided = [r.variant for r in rows if r.target_verdict == UNDECIDED]
    if over:
        text += (f" — {join_words(over)} {'is' if len(over) == 1 else 'are'} slower than "
                 f"{target:g}× a plain nn.Sequential beyond noise")
    elif undecided:
        text += (f" — the noise band around the ratio of {join_words(undecided)} contains "
                 f"{target:g}")
    text += " (identical outputs)." if all(r.identical_output for r in rows) else \
        " (outputs differ!)."
    us = {r.variant: r.overhead_us_per_block for r in rows
          if math.isfinite(r.overhead_us_per_block)}
    if us:
        text += (" Difference per block (min over runs; negative: fused faster): "
                 + "; ".join(f"{k} {x:+.1f} µs" for k, x in us.items()) + ".")
    return text


def statistic_sentence(f: ReparamFindings) -> str:
    if not f.statistic_changes:
        return ("**Min or median:** the median over runs, judged with its own band, gives the "
                "same verdict for every comparison and target.")
    parts = [f"{c.what}: {c.min_verdict} with the minimum, {c.median_verdict} with the median"
             for c in f.statistic_changes]
    return ("**Min or median:** the choice of statistic changes "
            f"{plural(len(parts), 'verdict')} — " + "; ".join(parts)
            + ". The minimum (the paper's) is primary.")


def reference_sentence(f: ReparamFindings) -> str:
    ref = f.reference
    parts = [f"{percent(t.share)} (sessions {percent_range(t.share_low, t.share_high)}; "
             f"median over runs {percent(t.median_share)}){' of it' if i == 0 else ''} with "
             f"{_rt(t.runtime)} ({t.variant}, {t.gflops:.0f} GFLOP/s)"
             for i, t in enumerate(f.best_throughput)]
    text = (f"**Reference throughput:** torch.matmul of two {ref.n}×{ref.n} fp32 matrices runs "
            f"at {ref.gflops:.0f} GFLOP/s (sessions {ref.gflops_low:.0f}–{ref.gflops_high:.0f}) "
            f"on {plural(ref.threads, 'thread')}; the best fused variant reaches "
            f"{join_words(parts)}.")
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
            f"2·{n}³ = {ref.flop:,} floating-point operations. The median over "
            f"{plural(ref.sessions, 'session')} of the fastest of {plural(ref.runs, 'run')} on "
            f"{plural(ref.threads, 'thread')} is {ref.min_ms:.2f} ms, so the reference "
            f"throughput is {ref.flop:,} / {ref.min_ms / 1e3:.5f} s = "
            f"**{ref.gflops:.1f} GFLOP/s** (sessions {ref.gflops_low:.1f}–"
            f"{ref.gflops_high:.1f}; from the median over runs {ref.median_gflops:.1f}).")


def conclusion(f: ReparamFindings) -> str:
    """The takeaway, then a Markdown bullet list: measurements and the noise rule first."""
    lines = [measurement_sentence(f), noise_sentence(f), table7_sentence(f),
             exactness_sentence(f)]
    lines += [sweep_sentence(s) for s in f.k_sweeps]
    lines += speedup_sentences(f)
    if f.sequential:
        lines.append(sequential_sentence(f.sequential, f.sequential_target,
                                         f.sequential_verdict))
    lines.append(statistic_sentence(f))
    if f.reference is not None and f.best_throughput:
        lines.append(reference_sentence(f))
    head = [f"**Takeaway.** {f.takeaway}", ""] if f.takeaway else []
    return "\n".join(head + [f"- {line}" for line in lines])
