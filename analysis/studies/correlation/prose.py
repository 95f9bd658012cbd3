"""Notebook 01's generated prose: every sentence from a number of :class:`.findings.Findings`.

The rules of :mod:`.findings` decide the words: "supported" only after the family's adjustment
(Holm for the confirmatory Table 1 cells, Benjamini–Hochberg for everything else), "better than
MACs" only by the Holm-adjusted paired comparison, "the best" only at the stated probability;
devices are counted as physical devices; thresholds are formatted from
:mod:`analysis.constants`, never typed. Numbers go through :mod:`analysis.text`. The takeaway
(at most three sentences) comes first.
"""

from __future__ import annotations

from typing import Iterable

from analysis.text import (adjusted_text, decimals, format_p, interval, join_words,
                           metric_word, number, percent, plural, rho_text, signed)
from analysis.studies.correlation.findings import (Agreement, DeviceSummary, Findings,
                                                   Table1, Table1Cell, VersusMacs)


def _range(low: float, high: float) -> str:
    """``ρ = 0.85`` or ``ρ = 0.76 to 0.90``."""
    return f"ρ = {number(low)}" if number(low) == number(high) else \
        f"ρ = {number(low)} to {number(high)}"


def _signed_range(low: float, high: float) -> str:
    """``+0.21`` or ``+0.21 to +0.66``."""
    return signed(low) if signed(low) == signed(high) else f"{signed(low)} to {signed(high)}"


def _devices(names: Iterable[str]) -> str:
    return join_words(list(names)) or "none"


# -- Table 1 --------------------------------------------------------------------------------------

def table1_line(c: Table1Cell, *, with_source: bool = False) -> str:
    """One Table 1 cell: ours (with its test and the family's verdict) against the paper's, and
    the difference with its interval."""
    name = f"{c.device}, {metric_word(c.metric)}" + (f", {c.source}" if with_source else "")
    diff = interval(c.diff_low, c.diff_high, signed=True, against=[0.0])
    return (f"- **{name}**: ours {rho_text(c.ours, against=[c.paper_rho])}, "
            f"{adjusted_text(c.ours)}; the paper's ρ = {number(c.paper_rho)} "
            f"(p = {format_p(c.paper_p)}); ours − the paper's = {signed(c.diff)} "
            f"(95 % interval {diff}).")


def table1_detail(cells: Iterable[Table1Cell]) -> str:
    """Every Table 1 cell on both size bases (the notebook's §3)."""
    return "\n".join(table1_line(c, with_source=True) for c in cells)


def _bases(t: Table1) -> str:
    """The one sentence where two size bases meet."""
    pairs = [(c, o) for c in t.cells for o in t.other
             if (o.device, o.metric) == (c.device, c.metric)]
    if not pairs:
        return ""
    c, o = max(pairs, key=lambda p: abs(p[0].ours.rho - p[1].ours.rho))
    k = decimals(o.ours.rho, c.ours.rho)
    return (f"Two size bases meet here: with {o.source} instead of Table 9's {t.basis} the "
            f"{c.device} {metric_word(c.metric)} cell reads ρ = {number(o.ours.rho, k)} instead "
            f"of {number(c.ours.rho, k)} (the same {c.ours.n} models, two counts of their "
            f"sizes; the largest change of the {len(pairs)}); other notebooks that correlate "
            "on other models report their own ρ.")


def table1_lines(t: Table1) -> list[str]:
    widest = max(t.cells, key=lambda c: c.ours.ci_high - c.ours.ci_low)
    lines = [f"**Table 1, confirmatory** (the paper's own latencies of Figure 2's "
             f"{widest.ours.n} models, {t.basis}; Holm over the {len(t.cells)} cells):"]
    lines += [table1_line(c) for c in t.cells]
    text = (f"The paper's value lies inside our interval in {t.inside} of {len(t.cells)} "
            f"cells, but the intervals are wide: with {widest.ours.n} models the "
            f"{widest.device} {metric_word(widest.metric)} ρ could be anything from "
            f"{number(widest.ours.ci_low)} to {number(widest.ours.ci_high)}, so the data cannot "
            "tell the paper's values from ours, nor a weak correlation from none.")
    if t.largest is not None:
        c = t.largest
        text += (f" On the same latencies, though, a difference beyond the paper's rounding "
                 f"(±{t.rounding:g}) is not sampling noise: the {c.device} "
                 f"{metric_word(c.metric)} cell gives {number(c.ours.rho)} against the paper's "
                 f"{number(c.paper_rho)}, which suggests the paper computed Table 1 on other "
                 "models or other sizes than Figure 2's with Table 9's (it does not say which).")
    return lines + [text, _bases(t)]


# -- per device -----------------------------------------------------------------------------------

def summary_item(f: Findings, s: DeviceSummary) -> str:
    if len(s.series) == 1:
        claim = f.claim(s.series[0], s.metric)
        return f"{metric_word(s.metric)} {rho_text(claim.rho)}, {adjusted_text(claim.rho)}"
    return (f"{metric_word(s.metric)} {_range(s.rho_low, s.rho_high)}, supported in "
            f"{s.supported} of {len(s.series)} series")


def device_lines(f: Findings) -> list[str]:
    lines = [f"**Per device** (exploratory: Benjamini–Hochberg over the notebook's "
             f"{f.n_exploratory} exploratory tests; Table 1's cells keep their Holm result):"]
    for phys in f.physical_devices:
        items = [s for s in f.summaries if s.physical == phys]
        if not items:
            continue
        series = items[0].series
        head = f"- **{phys}** ({items[0].source or 'source unknown'}"
        head += f"; {len(series)} series: {', '.join(series)})" if len(series) > 1 else ")"
        lines.append(head + ": " + "; ".join(summary_item(f, s) for s in items) + ".")
    return lines


def claim_lines(f: Findings) -> list[str]:
    """The paper's "weakly correlated" claim per metric: the series under each verdict."""
    t = f.weak_threshold
    lines = [f"**The paper's claim, per series** (rule: *holds* if the 95 % interval lies "
             f"within ±{t:g}, *contradicted* if it lies wholly beyond ±{t:g}, *borderline* if "
             "moving the threshold by the printed precision changes that, else "
             "*inconclusive*):"]
    for metric in dict.fromkeys(c.metric for c in f.claims):
        claims = [c for c in f.claims if c.metric == metric]
        groups = {v: [c.device for c in claims if c.verdict == v]
                  for v in ("holds", "contradicted", "borderline", "inconclusive")}
        parts = [f"{v} on {_devices(d)}" for v, d in groups.items() if d]
        lines.append(f"- *\"Latency is weakly correlated with {metric_word(metric)}\"*: "
                     + "; ".join(parts) + ".")
    return lines


# -- which metric ---------------------------------------------------------------------------------

def _items(items) -> str:
    return ", ".join(f"{metric_word(m.metric)} (Δρ = {signed(m.delta)}, 95 % CI "
                     f"{interval(m.ci_low, m.ci_high, signed=True, against=[0.0])}, Holm p = "
                     f"{format_p(m.p_holm)})" for m in items)


def versus_line(v: VersusMacs, f: Findings) -> str:
    head = f"- **{v.device}** (ρ(MACs) = {number(v.rho_macs)}, n = {v.n}): "
    parts = []
    if v.better:
        parts.append(f"better than MACs: {_items(v.better)}")
    if v.worse:
        parts.append(f"worse than MACs: {_items(v.worse)}")
    if not parts:
        parts.append(f"no metric shown better or worse than MACs ({v.n_comparisons} "
                     "comparisons)")
    if v.called_best:
        parts.append(f"{metric_word(v.top_metric)} is the best with probability "
                     f"{percent(v.p_best)}")
    else:
        parts.append(f"no metric is called the best (most often best: "
                     f"{metric_word(v.top_metric)}, {percent(v.p_best)} of resamples, below "
                     f"{percent(f.best_probability)})")
    return head + "; ".join(parts) + "."


def versus_lines(f: Findings) -> list[str]:
    if not f.versus:
        return []
    k = f.versus[0].n_comparisons
    return [f"**Which metric predicts latency?** Each metric against MACs on the same models "
            f"(paired bootstrap of Δρ, Holm over the {k} comparisons of a series), and, aware "
            f"of the selection, each metric's bootstrap probability of being the best (a "
            f"metric is called the best only at {percent(f.best_probability)} or more):",
            *[versus_line(v, f) for v in f.versus]]


# -- differences ----------------------------------------------------------------------------------

def conv_lines(f: Findings) -> list[str]:
    if not f.conv:
        return []
    lines = [f"**Convolutional models only** (exploratory; the conv-only ρ is supported after "
             f"adjustment in {f.conv_supported} of {f.conv_cells} cells). Conv-only minus all "
             "models, nested samples resampled together:"]
    for metric in dict.fromkeys(c.metric for c in f.conv):
        cells = [c for c in f.conv if c.metric == metric]
        shown = [c for c in cells if c.supported]
        low, high = min(c.delta for c in cells), max(c.delta for c in cells)
        text = (f"- **{metric_word(metric)}**: Δρ = {_signed_range(low, high)} over "
                f"{plural(len(cells), 'series', 'series')}; a difference is shown after "
                f"adjustment on {len(shown)}")
        text += (f" ({', '.join(f'{c.device}: {signed(c.delta)}' for c in shown)})."
                 if shown else ".")
        shift = {c: max(abs(c.collapsed_low - c.delta), abs(c.collapsed_high - c.delta))
                 for c in cells}
        one = max(cells, key=shift.get)
        if one.n_family > 1:
            text += (f" MobileOne S0–S4 ({one.n_family} of the {one.n_conv} conv models) are "
                     "one monotone family: collapsed to one point (each kept in turn) they "
                     f"change Δρ by at most {number(shift[one])} ({one.device}: "
                     f"{signed(one.delta)} becomes {signed(one.collapsed_low)} to "
                     f"{signed(one.collapsed_high)}).")
        lines.append(text)
    return lines


def paper_device_lines(f: Findings) -> list[str]:
    if not f.paper_devices:
        return []
    lines = ["**Our devices against the paper's** (same models; ours − the paper's device of "
             "the same kind, paired bootstrap; exploratory):"]
    groups: dict[tuple, list] = {}
    for d in f.paper_devices:
        groups.setdefault((d.physical, d.paper_device, d.metric), []).append(d)
    for (phys, paper, metric), items in groups.items():
        shown = [d for d in items if d.supported]
        ours = _range(min(d.rho for d in items), max(d.rho for d in items))
        lines.append(f"- **{phys} vs {paper}, {metric_word(metric)}**: ours {ours} against "
                     f"the paper's ρ = {number(items[0].rho_paper)}; Δρ = "
                     f"{_signed_range(min(d.delta for d in items), max(d.delta for d in items))}"
                     ", shown after adjustment in "
                     f"{len(shown)} of {len(items)} series.")
    return lines


def agreement_line(a: Agreement, n_devices: int) -> str:
    pairs = len(a.between)
    text = (f"- **Device agreement** (pairs of physical devices; a pair counts once however "
            f"many series it has): of the {plural(pairs, 'pair')} of the {n_devices} devices, "
            f"{a.all_agree} {'agrees' if a.all_agree == 1 else 'agree'} beyond chance in every "
            f"series pair, {a.some_agree} in some "
            f"and {a.none_agree} in none (after adjustment).")
    if a.between:
        lo = min(a.between, key=lambda p: p.rho_low)
        hi = max(a.between, key=lambda p: p.rho_high)
        text += (f" Lowest: {lo.a} and {lo.b} (ρ down to {number(lo.rho_low)}); highest: "
                 f"{hi.a} and {hi.b} (up to {number(hi.rho_high)}).")
    if a.within:
        parts = [f"{w.a}: {_range(w.rho_low, w.rho_high)} over {plural(w.pairs, 'pair')}"
                 for w in a.within]
        text += (" Series of one device (runtimes, thread settings, regimes) are not "
                 f"independent devices: {'; '.join(parts)}.")
    text += (" A ranking measured on one device transfers to another only where they agree: "
             "measure on the target device." if a.all_agree < pairs else
             " A ranking measured on one device transfers to the others here.")
    return text


def session_line(f: Findings) -> str:
    macs = [s for s in f.sessions if s.metric == "macs"] or list(f.sessions)
    if not macs:
        return ""
    widest = max(macs, key=lambda s: s.rho_high - s.rho_low)
    narrow = min(s.ci_high - s.ci_low for s in macs)
    return (f"- **Measurement noise**: between sessions ρ({metric_word(widest.metric)}) moves "
            f"by at most {number(widest.rho_high - widest.rho_low)} ({widest.device}: "
            f"{number(widest.rho_low)} to {number(widest.rho_high)} over "
            f"{widest.n_sessions} sessions), while its 95 % interval over models is at least "
            f"{number(narrow)} wide on every series: the uncertainty of these correlations "
            "lies in the choice of models, not in the timing.")


def statistic_line(f: Findings) -> str:
    if not f.statistic_series:
        return ("- **Statistic**: every series has one statistic only; no median to compare "
                "with.")
    head = (f"- **Statistic** (minimum, the paper's, against the median, on the "
            f"{plural(len(f.statistic_series), 'series', 'series')} with both): ")
    if not f.statistic_changes:
        return head + f"none of the {f.statistic_compared} verdicts changes."
    items = [f"{c.what}, {c.device}" + (f", {metric_word(c.item)}" if c.item else "")
             + f": {c.minimum} → {c.median}" for c in f.statistic_changes]
    verb = "changes" if len(items) == 1 else "change"
    return head + (f"{len(items)} of the {f.statistic_compared} verdicts {verb} — "
                   + "; ".join(items) + ".")


# -- the takeaway and the conclusion ---------------------------------------------------------------

def _table1_sentence(t: Table1) -> str:
    worst = max(abs(c.diff) for c in t.cells)
    shown = [c for c in t.cells if c.ours.supported]
    strongest = min(t.cells, key=lambda c: c.ours.p_adjusted)
    agree = ("reproduces" if t.inside == len(t.cells) else
             f"differs in {len(t.cells) - t.inside} of {len(t.cells)} cells")
    text = (f"On the paper's own latencies Table 1 {agree} (ours − the paper's within "
            f"±{number(worst)}), but with {strongest.ours.n} models ")
    if not shown:
        return text + (f"none of its {len(t.cells)} correlations is distinguishable from zero "
                       f"after Holm adjustment (strongest: {strongest.device}, "
                       f"{metric_word(strongest.metric)}, ρ = {number(strongest.ours.rho)}, "
                       f"Holm p = {format_p(strongest.ours.p_adjusted)}).")
    return text + (f"only {len(shown)} of its {len(t.cells)} correlations "
                   f"{'is' if len(shown) == 1 else 'are'} supported after Holm adjustment "
                   f"({', '.join(f'{c.device}, {metric_word(c.metric)}' for c in shown)}).")


def _macs_sentence(f: Findings) -> str:
    macs = [s for s in f.summaries if s.metric == "macs"]
    every = [s for s in macs if s.supported == len(s.series)]
    none = [s for s in macs if s.supported == 0]
    if not every:
        return (f"After adjustment MACs are not shown to rank latency on all series of any of "
                f"the {plural(len(macs), 'device')}.")
    text = "MACs rank latency on " + join_words(
        f"the {s.physical} ({_range(s.rho_low, s.rho_high)}, supported after adjustment"
        + (" in both series)" if len(s.series) == 2 else f" in all {len(s.series)} series)"
           if len(s.series) > 2 else ")") for s in every)
    if none:
        text += (f", while on {join_words(s.physical for s in none)} no correlation with MACs "
                 "is shown")
    return text + "."


def _metric_sentence(f: Findings) -> str:
    better = [v for v in f.versus if v.better]
    devices = list(dict.fromkeys(v.physical for v in better))
    metrics = list(dict.fromkeys(m.metric for v in better for m in v.better))
    called = [v for v in f.versus if v.called_best]
    n = len(dict.fromkeys(v.physical for v in f.versus))
    if devices:
        text = (f"Against MACs (paired, Holm) a better metric is shown on {len(devices)} of the "
                f"{n} devices with enough models to compare ({join_words(devices)}: "
                f"{join_words([metric_word(m) for m in metrics], 'or')})")
    else:
        text = (f"Against MACs (paired, Holm) no better metric is shown on any of the {n} devices "
                "with enough models to compare")
    if called:
        by_metric: dict[str, list[str]] = {}
        for v in called:
            by_metric.setdefault(v.top_metric, []).append(v.device)
        return text + (f"; a metric reaches a {percent(f.best_probability)} probability of "
                       "being the best on " + plural(len(called), "series", "series") + " ("
                       + "; ".join(f"{metric_word(m)}: {join_words(d)}"
                                   for m, d in by_metric.items()) + ").")
    return text + (f", yet no metric reaches a {percent(f.best_probability)} probability of "
                   "being the best on any series.")


def takeaway(f: Findings) -> str:
    """At most three sentences, each backed by an adjusted test of the findings: Table 1 on the
    paper's data, where MACs rank latency, and whether another metric does better."""
    sentences = []
    if f.table1 is not None:
        sentences.append(_table1_sentence(f.table1))
    if any(s.metric == "macs" for s in f.summaries):
        sentences.append(_macs_sentence(f))
    if f.versus:
        sentences.append(_metric_sentence(f))
    return " ".join(sentences[:3])


def conclusion(f: Findings) -> str:
    """Notebook 01's conclusion (Markdown), the takeaway first, every claim computed from ``f``."""
    lines = [f"**Takeaway.** {f.takeaway}", ""] if f.takeaway else []
    if f.table1 is not None:
        lines += table1_lines(f.table1)
    lines += device_lines(f) + claim_lines(f) + versus_lines(f) + conv_lines(f)
    lines += paper_device_lines(f)
    more = [agreement_line(f.agreement, len(f.physical_devices))
            if f.agreement is not None else "", session_line(f), statistic_line(f)]
    if any(more):
        lines += ["**Across devices, sessions and statistics:**", *[m for m in more if m]]
    if f.left_out:
        left = len({m for x in f.left_out for m in x.models})
        lines.append(f"*{plural(f.n_models, 'model')} analysed; {plural(left, 'model')} left "
                     "out on some or all series (the table in §1 says which and why).*")
    return "\n".join(line for line in lines if line is not None)
