"""Notebook 01's generated prose: every sentence from a number of :class:`.findings.Findings`.

The rules of :mod:`.findings` decide the words: "supported" only by the primary inference
(small-n results are labelled and get no interval), "better" only by a paired comparison,
Holm-adjusted; direction words follow the sign of the number they describe; thresholds are
formatted from :mod:`analysis.constants`, never typed. Numbers go through :mod:`analysis.text`.
"""

from __future__ import annotations

from typing import Iterable

from analysis.text import (disagreement_text, format_p, interval, metric_label, number,
                           plural, rho_text, signed, support_text)
from analysis.studies.correlation.findings import (Agreement, BestPredictor, Findings,
                                                   Table1Cell)


def table1_line(c: Table1Cell, *, with_source: bool = False) -> str:
    """One Table 1 cell, ours against the paper's."""
    ours = rho_text(c.ours, against=[c.paper_rho])
    if with_source:
        return (f"* **{c.device}, {metric_label(c.metric)}, {c.source}**: {ours} vs the "
                f"paper's {number(c.paper_rho)} (difference "
                f"{signed(c.ours.rho - c.paper_rho)}; paper p = {format_p(c.paper_p)}).")
    if c.ours.has_ci:
        where = "inside" if c.paper_rho_in_ci else "outside"
        compare = f"the paper's ρ = {number(c.paper_rho)} lies {where} our interval"
    else:
        compare = f"the paper reports ρ = {number(c.paper_rho)}"
    return (f"- **{c.device}, {metric_label(c.metric)}**: {ours}; {support_text(c.ours)}; "
            f"{compare} (the paper's p = {format_p(c.paper_p)})." + disagreement_text(c.ours))


def table1_detail(cells: Iterable[Table1Cell]) -> str:
    """Every Table 1 cell on both size bases (the notebook's §3)."""
    return "\n".join(table1_line(c, with_source=True) for c in cells)


def claim_lines(f: Findings) -> list[str]:
    """The paper's "weakly correlated" claim per metric, judged on every device."""
    t = f.weak_threshold
    lines = []
    for metric in dict.fromkeys(c.metric for c in f.claims):
        items = []
        for c in (c for c in f.claims if c.metric == metric):
            r = c.rho
            ci = (f"CI {interval(r.ci_low, r.ci_high, against=[t, -t])}" if r.has_ci
                  else f"small n = {r.n}, no CI")
            items.append(f"{c.device}: **{c.verdict}** (ρ = {number(r.rho)}, {ci})")
        lines.append(f"- *\"Latency is weakly correlated with {metric_label(metric)}\"* (rule: "
                     f"holds if the 95 % CI lies within ±{t:g}, contradicted if it lies wholly "
                     f"beyond ±{t:g}, else inconclusive) — " + "; ".join(items) + ".")
    return lines


def conv_only_lines(f: Findings) -> list[str]:
    """Conv-only against all models, MACs and parameters, one line per metric."""
    lines = []
    for metric in dict.fromkeys(c.metric for c in f.conv_only):
        items = []
        for c in (c for c in f.conv_only if c.metric == metric):
            word = ("a non-zero correlation supported" if c.conv.supported
                    else "not distinguishable from 0")
            items.append(f"{c.device} {rho_text(c.conv, scipy_p=False)}, {word}; all models "
                         f"ρ = {number(c.rho_all)}")
        lines.append(f"- **{metric_label(metric)}:** " + "; ".join(items) + ".")
    return lines


def best_line(b: BestPredictor, exact_max_n: int) -> str:
    """The top metric of a device and whether it is *shown* better than the others."""
    head = f"- **{b.device}**: highest ρ for {metric_label(b.metric)}, {rho_text(b.rho)}"
    if b.rho.n <= exact_max_n:
        return head + (f"; with n = {b.rho.n} models no two metrics can be told apart (a "
                       f"paired comparison needs n > {exact_max_n}).")
    if not b.comparable:
        return head + "; no other metric to compare with."
    k = b.n_comparisons
    runner = (f"over the runner-up {metric_label(b.runner_up)} (ρ = {number(b.runner_up_rho)}) "
              f"Δρ = {signed(b.delta)}, paired 95 % CI "
              f"{interval(b.delta_ci_low, b.delta_ci_high, signed=True)}, Holm p = "
              f"{format_p(b.p_holm)}")
    others = plural(k, "other metric")
    if b.better_than_all:
        every = f"all {others}" if k > 1 else "the other metric"
        verdict = f"it is shown better than {every} ({runner})"
    elif b.better_than:
        verdict = (f"it is shown better than {len(b.better_than)} of the {others} "
                   f"({', '.join(metric_label(m) for m in b.better_than)}), but not than the "
                   f"rest ({runner}), so it is not *the* best predictor")
    else:
        verdict = (f"it is not shown better than any of the {others} ({runner}), so no best "
                   "predictor can be named")
    return head + f"; {verdict} ({plural(k, 'paired comparison')} on this device, Holm-adjusted)."


def agreement_line(a: Agreement, exact_max_n: int) -> str:
    """How far devices agree on the latency ranking."""
    if a.highest is None:
        return (f"- **Device agreement**: every pair of devices shares at most {exact_max_n} "
                "models, too few to rank them.")
    hi, lo = a.highest, a.lowest
    verb = "agrees" if a.supported == 1 else "agree"
    text = (f"- **Device agreement** ({plural(a.pairs, 'pair')} with n > {exact_max_n}): "
            f"{a.supported} {verb} beyond chance (CI above 0), {a.strong} of them strongly "
            f"(CI above {a.strong_threshold:g}). ")
    if a.pairs == 1:
        text += f"{hi.a} and {hi.b}: {rho_text(hi.rho)}. "
    else:
        text += (f"Highest: {hi.a} and {hi.b}, {rho_text(hi.rho)}; lowest: {lo.a} and "
                 f"{lo.b}, {rho_text(lo.rho)}. ")
    text += {"all": "A latency ranking measured on one device transfers well to the others.",
             "none": "A ranking measured on one device is not shown to transfer to any other.",
             "some": "A ranking measured on one device transfers to some devices and is not "
                     "shown to transfer to others: measure on the target device."}[a.transfer]
    if a.small_pairs:
        text += (f" {plural(a.small_pairs, 'pair')} share only ≤ {exact_max_n} models and "
                 "are not ranked (small n).")
    return text


def conclusion(f: Findings) -> str:
    """Notebook 01's conclusion (Markdown), every claim computed from ``f``."""
    lines = [f"*Sizes in this text are {f.prose_basis} (fvcore, deployed form); Table 9's "
             "published sizes are in the tables.*"]
    basis = [c for c in f.table1 if c.source == f.prose_basis]
    if basis:
        lines.append("**Table 1, paper vs reproduction** on the paper's own latencies:")
        lines += [table1_line(c) for c in basis]
    if f.claims:
        lines.append("**The paper's claims, per device:**")
        lines += claim_lines(f)
    if f.conv_only:
        lines.append("**Convolutional models only** (transformers removed):")
        lines += conv_only_lines(f)
    if f.best:
        lines.append("**Best predictor per device** (paired bootstrap of Δρ):")
        lines += [best_line(b, f.exact_max_n) for b in f.best]
    if f.agreement is not None:
        lines += ["**Across devices:**", agreement_line(f.agreement, f.exact_max_n)]
    if f.left_out:
        left = len({m for x in f.left_out for m in x.models})
        lines.append(f"*{plural(f.n_models, 'model')} analysed; "
                     f"{plural(left, 'model')} left out on some or all devices "
                     "(the table in §1 says which and why).*")
    return "\n".join(lines)
