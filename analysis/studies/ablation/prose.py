"""The generated prose of notebooks 02 and 03: the networks' layout from their layer tables, and
the conclusion from :class:`~analysis.studies.ablation.findings.AblationFindings`.

Comparisons with the paper are like with like: the same variant, in milliseconds over the
reference and as a slowdown ratio (never one variant's excess against another's).
"""

from __future__ import annotations

import pandas as pd

from analysis.constants import ALPHA
from analysis.models.ablation import DEFAULT_DEPTH, DEFAULT_WIDTH
from analysis.studies.ablation import findings as fd
from analysis.studies.ablation.measure import Coverage, LatencyData
from analysis.text import (decimals, finite, format_p, join_words, number, percent,
                           percent_change, plural, shift_sentence, times)


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


# -- the latency files ---------------------------------------------------------------------------

def data_text(data: LatencyData, coverage: Coverage, *, input_size: int, depth: int,
              width: int) -> str:
    """What the latency files hold for this table: files per source, series, ignored rows,
    missing networks, and where their networks differ from those this run builds."""
    if not data.files:
        return "no latency files: the paper's column only"
    lines = [data.describe(), "series: " + ", ".join(data.series)]
    if coverage.ignored:
        lines.append("rows of your files for other models (not in this table): "
                     + ", ".join(coverage.ignored))
    lines += [f"not measured on {s}: {', '.join(m)}" for s, m in coverage.missing.items()]
    lines += [f"note: {s} was measured at {', '.join(map(str, sizes))} px, this run builds "
              f"{input_size} px networks" for s, sizes in coverage.input_sizes.items()
              if sizes and list(sizes) != [input_size]]
    if (depth, width) != (DEFAULT_DEPTH, DEFAULT_WIDTH):
        lines.append(f"note: the shipped campaigns and exported networks are depth "
                     f"{DEFAULT_DEPTH}, width {DEFAULT_WIDTH}; this run builds depth {depth}, "
                     f"width {width} (a live campaign times those)")
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

def _the(reference: str) -> str:
    """``ReLU`` stays, ``baseline`` becomes ``the baseline``."""
    return reference if reference[:1].isupper() else f"the {reference}"


def ratio(value: float, band: float = float("nan")) -> str:
    """``1.04×`` with enough decimals to stay apart from the band's edges it is judged by."""
    if not finite(value):
        return "n/a"
    if value >= 10:
        return times(value)
    edges = [1 + band, 1 / (1 + band)] if finite(band) else []
    return f"{number(value, decimals(value, against=edges))}×"


def span(low: float, high: float) -> str:
    """``1.02×–1.20×``, or ``1.13×`` when both ends print the same."""
    a, b = times(low), times(high)
    return a if a == b else f"{a}–{b}"


def band_text(band: float) -> str:
    """``±5.0 %`` (the band as a relative change), ``no band`` without sessions."""
    return f"±{percent(band, 1)}" if finite(band) else "no band (no sessions)"


def judged(slowdown: float, verdict: str, reference: str, band: float) -> str:
    """``1.37× ReLU, slower beyond noise`` / ``1.02× ReLU, within noise`` / ``1.37× ReLU``
    (no verdict without a band)."""
    text = f"{ratio(slowdown, band)} {reference}"
    if verdict == fd.SLOWER:
        return text + ", slower beyond noise"
    if verdict == fd.FASTER:
        return text + ", faster beyond noise"
    if verdict == fd.WITHIN:
        return text + ", within noise"
    return text


def cost_sentence(c: fd.CostFinding, reference: str) -> str:
    return (f"MACs (fvcore's default count, the paper's FLOPs) stay within "
            f"{percent_change(c.macs_low, 2)} to {percent_change(c.macs_high, 2)} of "
            f"{_the(reference)}; the element-wise work fvcore skips grows up to "
            f"{times(c.elementwise_max)} ({c.elementwise_variant}), the estimated memory "
            f"traffic up to {times(c.memory_max)} ({c.memory_variant}), and multi-branch merges "
            f"(synchronization points) from {c.merges_reference} to up to {c.merges_max} "
            f"({c.merges_variant}).")


def noise_sentence(f: fd.AblationFindings) -> str:
    """The rule, the band of every series (min / median) and which noise it covers."""
    measured = [n for n in f.noise if finite(n.band)]
    bands = "; ".join(f"{n.series}: {band_text(n.band)} / {band_text(n.median_band)} "
                      f"({plural(n.n_pairs, 'session pair')} of "
                      f"{plural(n.n_networks, 'network')})" for n in measured)
    by_cover: dict[str, list[str]] = {}
    for n in measured:
        device = n.physical_device or n.series
        if device not in by_cover.setdefault(n.covers, []):
            by_cover[n.covers].append(device)
    covers = sorted(by_cover)
    text = (f"- **Noise model.** The rule, stated before the results: {f.rule}. Bands "
            f"(minimum / median): {bands or 'none: no series has sessions'}.")
    if covers:
        text += (" They cover the noise " + join_words(
                     [f"{c} (on the {join_words(by_cover[c])})" if len(covers) > 1 else c
                      for c in covers], "and")
                 + (": a second sitting will add the noise between sittings."
                    if covers == ["within one sitting only"] else "."))
    shift = shift_sentence((n.series, n.common_shift, n.between_after_shift, n.band)
                           for n in measured)
    if shift:
        text += " " + shift
    without = [n.series for n in f.noise if not finite(n.band)]
    if without:
        text += f" No verdict on {join_words(without)} (no sessions)."
    return text + " The paper's column carries no sessions: no verdict on it."


def calibration_sentence(f: fd.AblationFindings) -> str:
    """The duplicates' check, per series, and whether it passes."""
    lines = ["- **Calibration check (stated before the results):** the identical networks "
             "must come out within noise."]
    by: dict[str, list[fd.DuplicateFinding]] = {}
    for d in f.duplicates:
        by.setdefault(d.series, []).append(d)
    unchecked = [series for series, pairs in by.items()
                 if all(fd.NO_VERDICT == d.verdict == d.median_verdict for d in pairs)]
    for series, pairs in by.items():
        if series in unchecked:
            continue
        cells = "; ".join(f"{d.first} / {d.second} {ratio(d.ratio)} ({d.verdict}), median "
                          f"{ratio(d.median_ratio)} ({d.median_verdict})" for d in pairs)
        lines.append(f"  - {series}: {cells}.")
    if unchecked:
        lines.append(f"  - Not checked on {join_words(unchecked)} (no sessions, or not both "
                     "networks of a pair).")
    failed = [d for d in f.duplicates if fd.SLOWER in (d.verdict, d.median_verdict)
              or fd.FASTER in (d.verdict, d.median_verdict)]
    if failed:
        lines.append("  - **Not passed:** " + "; ".join(
            f"{d.first} vs {d.second} on {d.series}" for d in failed) + " — the band does not "
            "cover all the noise of that series; the rule is kept as stated, so read its "
            "verdicts near the band with care.")
    elif f.calibration_passed:
        lines.append("  - Passed: every pair with sessions is within noise, with the minimum "
                     "and with the median.")
    return "\n".join(lines)


def series_sentence(s: fd.SeriesFinding, reference: str) -> str:
    ref = f"{s.reference_ms:.3g} ms" if finite(s.reference_ms) else "n/a"
    counts = (f"; {s.n_slower} slower, {s.n_within} within noise, {s.n_faster} faster "
              f"(band {band_text(s.band)})" if finite(s.band) else "")
    text = (f"- **{s.series}** ({reference} {ref}): from {s.fastest} "
            f"({judged(s.fastest_slowdown, s.fastest_verdict, reference, s.band)}) to "
            f"{s.slowest} ({judged(s.slowest_slowdown, s.slowest_verdict, reference, s.band)})"
            f"{counts}; the slowest one's MACs differ by "
            f"{percent_change(s.slowest_macs_ratio, 2)}")
    text += {fd.COST_WITHIN_NOISE: ", and its latency only within noise",
             fd.COST_FAR_MORE: ", so it costs far more than its MACs suggest",
             fd.COST_MORE: ", so it costs more than its MACs suggest"}.get(s.cost, "")
    return text + "."


def paper_sentence(p: fd.PaperComparison, reference: str) -> str:
    gap = {fd.GAP_WITHIN_NOISE: "within noise on every series here: the cost the paper "
                                "measured on the phone is not resolved on these devices",
           fd.GAP_LARGER: "a larger slowdown in the paper's phone measurement than in any "
                          "series here",
           fd.GAP_SMALLER: "a smaller slowdown in the paper than in every series here",
           fd.GAP_BETWEEN: "a slowdown between those measured here"}[p.gap]
    ours = "; ".join(f"{o.series}: {o.excess_ms:+.3g} ms, {times(o.slowdown)}"
                     + (f" ({o.verdict})" if o.verdict != fd.NO_VERDICT else "")
                     for o in p.ours)
    return (f"- **Paper vs ours, like with like.** The paper's slowest variant, {p.variant}, "
            f"takes {p.paper_excess_ms:+.3g} ms over {_the(reference)} on the iPhone 12 "
            f"({times(p.paper_slowdown)}); the same network here: {ours} — {gap}. How large "
            "this cost is depends on the device and runtime; MACs do not see it.")


def order_text(order, tied) -> str:
    """``Baseline ≈ + Skip connections < + Squeeze-Excite``."""
    text = order[0] if order else ""
    for name, tie in zip(order[1:], tied):
        text += (" ≈ " if tie else " < ") + name
    return text


def agreement_sentence(a: fd.Agreement) -> str:
    """Rank agreement of one series with the paper; for n ≤ 3 only the ordering is compared."""
    if a.n <= 3:
        resolved = not all(a.tied)
        verdict = ("an order that contradicts the paper's beyond noise" if not a.consistent
                   else "consistent with the paper's order" if resolved
                   else "no order resolved within noise, so none that contradicts the paper's")
        return (f"{a.series}: with n = {a.n} only the ordering can be compared — here "
                f"{order_text(a.order, a.tied)} (≈: within noise), in the paper "
                f"{order_text(a.paper_order, (False,) * len(a.paper_order))}: {verdict}; no "
                f"test can reach p ≤ {ALPHA:g} with {a.n} values (the smallest exact two-sided "
                f"p is {number(a.smallest_p)})")
    support = ("a positive rank agreement is shown after adjustment" if a.supported
               and a.rho > 0 else
               "a negative rank correlation is shown after adjustment" if a.supported else
               f"not distinguishable from no agreement after adjustment (q > {ALPHA:g})"
               if a.p_permutation <= ALPHA else
               f"not distinguishable from no agreement (the exact p exceeds {ALPHA:g})")
    return (f"{a.series}: ρ = {number(a.rho)} (n = {a.n}, exact permutation p = "
            f"{format_p(a.p_permutation)}, Benjamini–Hochberg q = {format_p(a.q_value)} over "
            f"the series); {support}")


def statistic_sentence(f: fd.AblationFindings) -> str:
    if not f.statistic_changes:
        return ("- **Minimum vs median.** The choice of statistic changes no verdict: every "
                "slowdown, the duplicates' check and the rank agreement read the same with the "
                "median.")
    def value(c: fd.StatisticChange, v: float) -> str:
        return f"ρ = {number(v)}" if c.kind == "rank agreement" else ratio(v)

    cells = "; ".join(f"{c.series}, {c.what}: {value(c, c.min_value)} {c.min_verdict} (min) "
                      f"vs {value(c, c.median_value)} {c.median_verdict} (median)"
                      for c in f.statistic_changes)
    return (f"- **Minimum vs median.** The choice of statistic changes "
            f"{plural(len(f.statistic_changes), 'verdict')} (the minimum, the paper's "
            f"statistic, is primary): {cells}.")


def takeaway(f: fd.AblationFindings) -> str:
    """At most three sentences: what MACs miss on the phone, what the same network costs
    here by the noise model's verdicts, and whether the noise model passed its check."""
    c, ref, p = f.costs, _the(f.reference_label), f.paper_comparison
    macs = max(abs(c.macs_low - 1), abs(c.macs_high - 1))
    if p is None:
        return f"MACs move by at most {percent(macs, 1)} across the networks."
    out = [f"MACs move by at most {percent(macs, 1)} across the {f.paper_name} networks, yet "
           f"on the paper's iPhone 12 {p.variant} takes {times(p.paper_slowdown)} {ref}'s "
           "latency."]
    judged_here = [o for o in p.ours if o.verdict != fd.NO_VERDICT]
    slower = [o for o in judged_here if o.verdict == fd.SLOWER]
    if judged_here:
        lo = min(o.slowdown for o in judged_here)
        hi = max(o.slowdown for o in judged_here)
        between = span(lo, hi)
        k = len(judged_here)
        what = "measured series with sessions"
        n = plural(k, what, what)
        if len(slower) == k:
            smaller = " — far less than on the phone" if p.gap == fd.GAP_LARGER else ""
            on = {1: f"On the one {what}", 2: f"On both {what}"}.get(k, f"On all {n}")
            out.append(f"{on} the same network is slower beyond noise ({between}{smaller}): "
                       "MACs miss a real cost whose size depends on the device and runtime.")
        elif not slower:
            out.append(f"On none of the {n} is it slower beyond noise ({between}): the cost the "
                       "paper measured on the phone is not resolved on these devices.")
        else:
            def spread(rows) -> str:
                return span(min(o.slowdown for o in rows), max(o.slowdown for o in rows))

            within = [o for o in judged_here if o.verdict != fd.SLOWER]
            out.append(f"It is slower beyond noise on {len(slower)} of the {n} "
                       f"({join_words(o.series for o in slower)}: {spread(slower)}; "
                       f"{spread(within)}, not beyond noise, on the others): the cost depends "
                       "on the device and runtime.")
    checked = {d.series for d in f.duplicates if d.verdict != fd.NO_VERDICT}
    if checked:
        where = ("both series" if len(checked) == 2 else "the one series" if len(checked) == 1
                 else f"all {len(checked)} series")
        out.append("The noise model passes its calibration check: the identical networks "
                   f"come out within noise on {where} with sessions."
                   if f.calibration_passed else
                   "The noise model fails its calibration check on at least one series: "
                   "identical networks differ beyond its band there (see below).")
    return " ".join(out)


def conclusion(f: fd.AblationFindings) -> str:
    """Markdown conclusion of notebook 02 or 03, opening with the takeaway; every claim from
    the findings."""
    ref = f.reference_label
    lines = [f"**Takeaway.** {f.takeaway}", "", noise_sentence(f), calibration_sentence(f),
             f"- **Cost counts.** {cost_sentence(f.costs, ref)}",
             f"- **Latency relative to {_the(ref)}, per series (minimum over runs):**"]
    lines += ["  " + series_sentence(s, ref) for s in f.series]
    if f.paper_comparison is not None:
        lines.append(paper_sentence(f.paper_comparison, ref))
    if f.groups:
        lines.append("- **Static vs global-pool activations:** " + "; ".join(
            f"{g.series}: {span(g.static_low, g.static_high)} for GELU/SiLU vs "
            f"{span(g.pooled_low, g.pooled_high)} for the activations with a global pool"
            for g in f.groups) + ".")
    primary = [a for a in f.agreement if a.statistic == "min"]
    if primary:
        lines.append(f"- **Rank agreement with the paper's {f.paper_name} ordering (minimum; "
                     "exact permutation test, the only inference at this n; exploratory: "
                     "Benjamini–Hochberg over the series):**")
        lines += [f"  - {agreement_sentence(a)}." for a in primary]
    lines.append(statistic_sentence(f))
    if f.failed:
        lines.append("- **Not measured:** " + "; ".join(f"{k} ({v})" for k, v in f.failed.items())
                     + ".")
    return "\n".join(lines)
