"""The generated prose of notebooks 02 and 03: the networks' layout from their layer tables, and
the conclusion from :class:`~analysis.studies.ablation.findings.AblationFindings`.

Comparisons with the paper are like with like: the same variant, in milliseconds over the
reference and as a slowdown ratio (never one variant's excess against another's).
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from analysis.constants import ALPHA, EXACT_MAX_N
from analysis.models.ablation import DEFAULT_DEPTH, DEFAULT_WIDTH
from analysis.studies.ablation import findings as fd
from analysis.studies.ablation.compute import DeviceFile
from analysis.text import direction, number, percent, percent_change, rho_text, times


def _ranges(numbers) -> str:
    """``[4, 7, 9, 10, 11]`` → ``"4, 7, 9–11"``."""
    numbers = sorted(int(n) for n in numbers)
    parts, start = [], None
    for i, n in enumerate(numbers):
        start = n if start is None else start
        if i + 1 == len(numbers) or numbers[i + 1] != n + 1:
            parts.append(str(start) if start == n else f"{start}–{n}")
            start = None
    return ", ".join(parts)


# -- the on-device file ---------------------------------------------------------------------------

def device_text(devices: DeviceFile, *, input_size: int, depth: int, width: int) -> str:
    """What the on-device file holds for this table: series, ignored rows, missing networks,
    and where its sizes differ from the networks this run builds."""
    if not devices.files:
        return "no on-device file given: the paper's column and the CPU latencies only"
    lines = [devices.description,
             "device series: " + ", ".join(dict.fromkeys(devices.series["series"])),
             "rows for other models (ignored): " + (", ".join(devices.ignored) or "none")]
    lines += [f"not measured on {s}: {', '.join(m)}" for s, m in devices.missing.items()]
    lines += [f"note: {s} was measured at {', '.join(map(str, sizes))} px, this run builds "
              f"{input_size} px networks" for s, sizes in devices.input_sizes.items()
              if sizes and list(sizes) != [input_size]]
    if (depth, width) != (DEFAULT_DEPTH, DEFAULT_WIDTH):
        lines.append(f"note: device files refer to the exported networks (depth "
                     f"{DEFAULT_DEPTH}, width {DEFAULT_WIDTH}), this run builds depth {depth}, "
                     f"width {width}")
    return "\n".join(lines)


# -- the networks ---------------------------------------------------------------------------------

def layout_text(layers: pd.DataFrame) -> str:
    """One paragraph describing a built network, from its layer table (or placement table)."""
    convs = layers[layers["kernel"] == 3]
    stages = range(1, 5)
    blocks = ", ".join(str(int(((convs["stage"] == s) & (convs["role"] == "block conv 1")).sum()))
                       for s in stages)
    widths = ", ".join(str(int(convs.loc[(convs["stage"] == s)
                                         & (convs["role"] == "transition"), "out_channels"]
                               .iloc[0])) for s in stages)
    return (f"{len(layers)} weight layers: {len(convs)} conv3×3-BN-activation layers and a "
            f"linear classifier after global average pooling. A stride-2 stem, then 4 stages, "
            f"each a stride-2 transition conv followed by ({blocks}) blocks of two stride-1 "
            f"convs; widths ({widths}) channels; the resolution goes from "
            f"{int(layers['in_size'].iloc[0])} px to {int(convs['out_size'].iloc[-1])} px. "
            f"Conv MACs (closed form): {layers['macs'].sum() / 1e6:,.1f} M.")


def placement_text(placement: pd.DataFrame) -> str:
    """Where "+SE" and "+skip" put their blocks, from the placement table."""
    convs = placement[placement["kernel"] == 3]
    se = convs.loc[convs["se_in_plus_se"].astype(bool), "layer"].tolist()
    skips = convs.dropna(subset=["skip_in_plus_skip"])
    pairs = ", ".join(f"{int(r.skip_in_plus_skip)}→{int(r.layer)}" for r in skips.itertuples())
    where = ("every conv layer, the same computation as Table 2's SE-ReLU network (the paper "
             "reports the same 2.10 ms for both)" if len(se) == len(convs) else
             f"layers {_ranges(se)}")
    return (f"- **+SE**: a Squeeze-Excite block (MobileOne's, ratio 1/16) between BN and ReLU "
            f"of {len(se)} of the {len(convs)} conv layers — {where}.\n"
            f"- **+skip**: {len(skips)} identity shortcuts, one around every two-conv block "
            f"(input of layer a added before the ReLU of layer b, a→b: {pairs}), as in ResNet; "
            f"the stride-2 transitions have none (their shapes change).")


# -- sentences ------------------------------------------------------------------------------------

def slower_or_faster(slowdown: float, reference: str) -> str:
    """``1.37× slower than ReLU`` / ``1.25× faster than ReLU``; within the noise band:
    ``as fast as ReLU within noise (0.99×)``."""
    way = fd.direction(slowdown)
    if way == fd.WITHIN:
        return f"as fast as {reference} within noise ({slowdown:.2f}×)"
    if way == fd.SLOWER:
        return f"{times(slowdown)} slower than {reference}"
    return f"{times(1 / slowdown)} faster than {reference}"


def cost_sentence(c: fd.CostFinding, reference: str) -> str:
    return (f"MACs (fvcore's default count, the paper's FLOPs) stay within "
            f"{percent_change(c.macs_low, 2)} to {percent_change(c.macs_high, 2)} of "
            f"{reference}; the element-wise work fvcore skips grows up to "
            f"{times(c.elementwise_max)} ({c.elementwise_variant}), the estimated memory "
            f"traffic up to {times(c.memory_max)} ({c.memory_variant}), and multi-branch merges "
            f"(synchronization points) from {c.merges_reference} to up to {c.merges_max} "
            f"({c.merges_variant}).")


def series_sentence(s: fd.SeriesFinding, reference: str, band: float) -> str:
    ref = f"{s.reference_ms:.3g} ms" if s.reference_ms == s.reference_ms else "n/a"
    text = (f"- **{s.series}** ({reference} {ref}): from {s.fastest} "
            f"({slower_or_faster(s.fastest_slowdown, reference)}) to {s.slowest} "
            f"({slower_or_faster(s.slowest_slowdown, reference)}); the slowest one's MACs "
            f"differ by {percent_change(s.slowest_macs_ratio, 2)}")
    text += {fd.COST_WITHIN_NOISE: f" and its latency by less than ±{percent(band)}, the order "
                                   "of run-to-run differences on a shared CPU",
             fd.COST_FAR_MORE: ", so it costs far more than its MACs suggest",
             fd.COST_MORE: ", so it costs more than its MACs suggest"}.get(s.cost, "")
    return text + "."


def paper_sentence(p: fd.PaperComparison, reference: str, band: float) -> str:
    gap = {fd.GAP_WITHIN_NOISE: f"within ±{percent(band)} run-to-run noise here: the cost the "
                                "paper measured on the phone does not appear on this machine",
           fd.GAP_LARGER: "a larger slowdown in the paper's phone measurement than in any "
                          "series here",
           fd.GAP_SMALLER: "a smaller slowdown in the paper than in every series here",
           fd.GAP_BETWEEN: "a slowdown between those measured here"}[p.gap]
    ours = "; ".join(f"{o.series}: {o.excess_ms:+.3g} ms, {times(o.slowdown)}" for o in p.ours)
    return (f"- **Paper vs ours, like with like.** The paper's slowest variant, {p.variant}, "
            f"takes {p.paper_excess_ms:+.3g} ms over {reference} on the iPhone 12 "
            f"({times(p.paper_slowdown)}); the same network here: {ours} — {gap}. How large "
            "this cost is depends on the device and runtime; MACs do not see it. Every variant "
            "is compared in the table above.")


def order_text(order, tied) -> str:
    """``Baseline ≈ + Skip connections < + Squeeze-Excite``."""
    text = order[0] if order else ""
    for name, tie in zip(order[1:], tied):
        text += (" ≈ " if tie else " < ") + name
    return text


def agreement_sentence(a: fd.Agreement, band: float) -> str:
    """Rank agreement of one series with the paper; for n ≤ 3 only the ordering is compared."""
    if a.n <= 3:
        verdict = ("consistent with the paper's order" if a.consistent
                   else "an order that contradicts the paper's beyond noise")
        return (f"{a.series}: with n = {a.n} only the ordering can be compared — here "
                f"{order_text(a.order, a.tied)} (≈: within ±{percent(band)}), in the paper "
                f"{order_text(a.paper_order, (False,) * len(a.paper_order))}: {verdict}; no "
                f"test can reach p ≤ {ALPHA:g} with {a.n} values (the smallest exact two-sided "
                f"p is {number(a.smallest_p)})")
    if not a.supported:
        support = f"not distinguishable from no correlation (the exact p exceeds {ALPHA:g})"
    else:
        word = "borderline: supported only just" if a.borderline else "supported"
        support = f"a {direction(a.rho)} correlation is {word}"
    return f"{a.series}: {rho_text(dataclasses.asdict(a), scipy_p=False)}; {support}"


def conclusion(f: fd.AblationFindings) -> str:
    """Markdown conclusion of notebook 02 or 03; every claim from the findings."""
    ref = f.reference_label
    lines = [f"- **Cost counts.** {cost_sentence(f.costs, ref)}",
             f"- **Latency relative to {ref}, per series:**"]
    lines += ["  " + series_sentence(s, ref, f.noise_band) for s in f.series]
    if f.paper_comparison is not None:
        lines.append(paper_sentence(f.paper_comparison, ref, f.noise_band))
    if f.groups:
        lines.append("- **Static vs global-pool activations:** " + "; ".join(
            f"{g.series}: {times(g.static_low)}–{times(g.static_high)} for GELU/SiLU vs "
            f"{times(g.pooled_low)}–{times(g.pooled_high)} for the activations with a global "
            "pool" for g in f.groups) + ".")
    if f.agreement:
        lines.append(f"- **Rank agreement with the paper's {f.paper_name} ordering:**")
        lines += [f"  - {agreement_sentence(a, f.noise_band)}." for a in f.agreement]
        most = max(a.n for a in f.agreement)
        if most <= EXACT_MAX_N:
            lines.append(f"  - With at most {most} networks the exact permutation p is the only "
                         "inference; no interval is quoted.")
    if f.noisy:
        worst = "; ".join(f"{s.series}: {s.variant} {times(s.min_slowdown)} (min) vs "
                          f"{times(s.median_slowdown)} (median)" for s in f.noisy)
        lines.append(f"- **Measurement noise.** The minimum and the median disagree on some "
                     f"slowdowns by more than a factor {f.noisy_ratio:g} ({worst}): the machine "
                     "was probably busy; re-run on an idle machine (or with more runs) before "
                     "reading small differences.")
    if f.failed:
        lines.append("- **Not measured:** " + "; ".join(f"{k} ({v})" for k, v in f.failed.items())
                     + ".")
    return "\n".join(lines)
