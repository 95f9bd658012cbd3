"""Notebook 05's generated text, from its findings (:class:`.findings.Findings`) and loaded data.

Every number is formatted by :mod:`analysis.text` (intervals with enough decimals never to
contradict what they are compared with, p-values with ``< 1/N`` at a resampling floor, shares);
thresholds are formatted from :mod:`analysis.constants`, never typed. The takeaway comes first
and says no more than the verdicts behind it. ``tests/golden/05_*.md`` hold the prose of
synthetic findings.
"""

from __future__ import annotations

from analysis import paths
from analysis.constants import ALPHA, BEST_PROBABILITY, EXACT_MAX_N, WEAK_THRESHOLD
from analysis.text import (decimals, finite, format_p, join_words, metric_word, number, percent,
                           plural, upper_first)
from analysis.studies.population.compute import (METRICS, POPULATION_LABELS, POPULATIONS,
                                                 REFERENCE_SIZE, Population)
from analysis.studies.population.findings import (HIGH_SHARE, LOW_SHARE, Cell, Findings,
                                                  Placed)

VERDICT_WORDS = {"holds": "holds", "contradicted": "is contradicted",
                 "inconclusive": "is inconclusive",
                 "borderline": "is borderline (a bound lies at the threshold)"}
LEVEL = percent(1 - ALPHA)
#: The central range of the subset distribution the paper's values are placed in.
SPAN = f"{LOW_SHARE * 100:g}–{HIGH_SHARE * 100:g} %"
FUSION = ("torch.compile, which fuses element-wise operations (activations, additions, "
          "normalisation) into the kernels around them, the very work the paper says FLOPs miss")


# -- the data step -------------------------------------------------------------------------------

def describe(data: Population) -> str:
    """What was loaded: the file, the device, rows, model names and architectures, families,
    population sizes and which counts are missing (by name)."""
    table = data.table
    families = table["family"].value_counts()
    lines = [paths.relative(data.file),
             f"{data.device}: {plural(len(table), 'row')}, "
             f"{plural(table['model'].nunique(), 'model name')}, "
             f"{plural(table['architecture'].nunique(), 'architecture')}",
             "families (rows): " + ", ".join(f"{k} {v}" for k, v in families.items()),
             "populations (rows / architectures): " + ", ".join(
                 f"{k} {len(v)} / {v['architecture'].nunique() if len(v) else 0}"
                 for k, v in data.groups.items())]
    gaps = data.missing[data.missing["n_missing"] > 0]
    if gaps.empty:
        lines.append("missing counts: none (every row has "
                     f"{join_words(metric_word(m) for m in METRICS)})")
    for r in gaps.itertuples():
        lines.append(f"missing {metric_word(r.metric)} in {r.population}: {r.n_missing} "
                     f"({r.models})")
    return "\n".join(lines)


def describe_figure2(data: Population) -> str:
    """Which of the paper's Figure 2 models are used, and why each other one is not."""
    used = len(data.figure2)
    total = used + len(data.figure2_missing)
    if not data.figure2_missing:
        return f"Figure 2 models: all {total} found in the file"
    return "\n".join([f"Figure 2 models: {used} of {total} used. Left out, with the reason:",
                      *[f"  {name}: {why}" for name, why in data.figure2_missing.items()]])


def skipped_notes(sizes, pool: int) -> list[str]:
    """One line per subset size skipped (``sizes``), with the reason; ``pool``: the
    architectures with a MACs count the subsets are drawn from."""
    return [f"n = {n} skipped: " + ("fewer than 3 models" if n < 3 else
                                    f"more than half of the {pool} architectures with a "
                                    f"{metric_word('macs')} count")
            for n in sizes]


# -- pieces ----------------------------------------------------------------------------------------

def _floor(c: Cell) -> int | None:
    return None if c.p_exact or not finite(c.p_floor) else int(round(1 / c.p_floor))


def _rho(c: Cell, against=(), full: bool = True) -> str:
    """``ρ = 0.98 (95 % CI 0.98 to 0.99, 1437 rows of 975 architectures, architectures
    resampled; permutation p < 1/10 000, BH p < 1.3e-04)``; without ``full`` only
    ``ρ = 0.92 (95 % CI 0.91 to 0.94)``."""
    if c.n < 3 or not finite(c.rho):
        return f"ρ undefined (n = {c.n})"
    k = decimals(c.ci_low, c.ci_high, against=[*against, WEAK_THRESHOLD, 0.0])
    unit = (f"{plural(c.n, 'row')} of {plural(c.n_architectures, 'architecture')}, "
            "architectures resampled" if c.n != c.n_architectures
            else f"{plural(c.n, 'architecture')}, one row each, Fisher z")
    if not finite(c.ci_low):
        test = (f"{'exact ' if c.p_exact else ''}permutation p "
                f"{_p(c.p_permutation, _floor(c))}, " if finite(c.p_permutation) else "")
        return (f"ρ = {number(c.rho)} (small n = {plural(c.n_architectures, 'architecture')}: "
                f"{test}no interval)")
    else:
        ci = f"{LEVEL} CI {number(c.ci_low, k)} to {number(c.ci_high, k)}" + (
            f", {unit}" if full else "")
    text = f"ρ = {number(c.rho, k)} ({ci}"
    if full and finite(c.p_permutation):
        text += f"; permutation p {_p(c.p_permutation, _floor(c))}"
        if c.p_bh != c.p_permutation:
            text += f", BH p {_adjusted(c.p_permutation, c.p_bh, _floor(c))}"
    return text + ")"


def _p(p: float, floor: int | None) -> str:
    """``= 0.04``, or ``< 1/10 000`` at the floor of a resampling test with ``floor``
    resamples."""
    text = format_p(p, floor)
    return text if text.startswith("<") else f"= {text}"


def _adjusted(raw: float, adjusted: float, floor: int | None) -> str:
    """An adjusted p: ``< 0.001`` when the raw p sits at its resampling floor (the adjusted p
    is then an upper bound too), else ``= 0.043``."""
    at_floor = floor is not None and raw <= 1 / floor + 1e-15
    return f"< {format_p(adjusted)}" if at_floor else f"= {format_p(adjusted)}"


def _share(share: float, total: int) -> str:
    if share == 0:
        return f"none of the {total} sets"
    return f"{percent(share, 1 if share >= 0.001 else 2)} of the {total} sets"


# -- the takeaway ----------------------------------------------------------------------------------

def _strength(c: Cell) -> str:
    return {"contradicted": "closely, contradicting a \"weak correlation\" here",
            "holds": "only weakly, as the paper's \"weak correlation\" says"}.get(
        c.weak_claim or "", "neither clearly closely nor clearly weakly")


def _selection(m: Placed) -> str:
    r = m.range
    head = (f"The paper's own Figure 2 models ({m.n} of them in timm) give ρ = {number(m.rho)} "
            f"here, against a median of {number(r.q50)} for random sets of {m.n} architectures: "
            f"{_share(m.share, r.count)} go as low or lower, so ")
    if m.borderline:
        return head + ("whether model selection alone makes their ρ unusually low is "
                       "borderline.")
    if m.place == "below":
        return head + ("the choice of models alone pulls ρ below what a random choice usually "
                       f"gives (the {percent(LOW_SHARE)} quantile).")
    if m.place == "above":
        return head + "the paper's choice of models gives a higher ρ than chance selection."
    return head + "a random choice of models lands this low often enough: selection alone can " \
                  "explain their lower ρ."


def takeaway(f: Findings) -> str:
    """At most three sentences, each backed by a verdict of the findings: how well MACs rank
    latency across the file (scope stated), where the paper's own models fall among random
    sets of models, and whether random selection reaches the paper's desktop-CPU ρ."""
    c = f.cell("all", "macs")
    if c is None or not finite(c.rho):
        return "Too few models with a MACs count to say how well MACs rank latency here."
    where = (f"On one {f.device}, whose compiler fuses the element-wise work the paper says "
             "FLOPs miss," if f.compiled else f"On one {f.device},")
    sentences = [f"{where} MACs rank the latency of {plural(f.n_rows, 'timm row')} "
                 f"({plural(f.n_architectures, 'architecture')}) {_strength(c)}: "
                 f"{_rho(c, full=False)}, architectures resampled."]
    m = f.paper_models
    if m is not None and m.range is not None and m.place is not None:
        sentences.append(_selection(m))
    desk = next((p for p in f.paper if "desktop" in p.label.lower()), None)
    if desk is not None and desk.vs_subsets == "below" and f.subsets is not None:
        head = ("None" if desk.share == 0 else f"Only {percent(desk.share, 1)}") + \
            f" of {f.subsets.count} random sets of {f.paper_n} architectures here"
        sentences.append(
            f"{head} give a ρ as low as the paper's {desk.label} ρ = {number(desk.rho)}, so "
            "selection alone does not produce it on this device"
            + (" and runtime." if f.compiled else "."))
    return " ".join(sentences)


# -- the conclusion --------------------------------------------------------------------------------

def _scope(f: Findings) -> str:
    runtime = (f"timed under {FUSION}; an eager runtime, another CPU or a phone can rank "
               "differently" if f.compiled else "one runtime; another runtime, CPU or phone "
               "can rank differently")
    return (f"- Scope: one file, {f.device}, batch 1, timm's mean step time (one run per row, "
            f"no session spread); {runtime}. A row is one (model, input size) pair: "
            f"{plural(f.n_rows, 'row')} of {plural(f.n_names, 'model name')} and "
            f"{plural(f.n_architectures, 'architecture')} (one network at several input sizes, "
            "or a port of it, is one architecture); every interval, test and random set treats "
            "architectures, not rows, as the unit.")


def _population_line(f: Findings, pop: str) -> str | None:
    label = upper_first(POPULATION_LABELS[pop])
    if not f.population_sizes.get(pop):
        return f"- {label}: none in this file."
    c = f.cell(pop, "macs")
    if c is None:
        return None
    paper = [p.rho for p in f.paper] if pop == "figure2" else []
    text = f"- {label}: latency vs {metric_word('macs')} {_rho(c, paper)}"
    if not c.supported and finite(c.p_bh):
        text += ", not distinguishable from no correlation"
    if c.borderline:
        text += (f", borderline (the BH p lies within three Monte Carlo standard errors of "
                 f"{ALPHA:g}: another seed could flip it)")
    inside = finite(c.ci_low) and c.ci_low <= 0 <= c.ci_high
    if finite(c.p_bh) and finite(c.ci_low) and c.supported == inside:
        text += (", although the interval includes 0" if inside else
                 ", although the interval excludes 0") + " (test and interval disagree at the edge)"
    if c.weak_claim is not None:
        text += f"; the paper's \"weak correlation\" {VERDICT_WORDS[c.weak_claim]} here"
        if pop == "figure2" and f.paper:
            k = decimals(c.ci_low, c.ci_high, against=paper)
            text += "; " + ", ".join(f"the paper's {p.label} ρ = {p.rho:.{k}f} lies "
                                     f"{p.vs_figure2} this interval" for p in f.paper
                                     if p.vs_figure2)
    others = [f"{metric_word(m)} {_rho(o, full=False)}" for m in METRICS[1:]
              if (o := f.cell(pop, m)) is not None]
    return text + (". Also " + "; ".join(others) if others else "") + "."


def _best_line(b, n_bootstrap: int) -> str:
    label = upper_first(POPULATION_LABELS.get(b.population, b.population))
    text = f"- {label}: {metric_word(b.leader)} have the highest ρ"
    text += (f", and are the best in {percent(b.p_best[b.called], 1)} of the resamples, so they "
             f"are called the best" if b.called else
             f", but no metric is the best in {percent(BEST_PROBABILITY)} of the resamples "
             f"({', '.join(f'{metric_word(m)} {percent(s, 1)}' for m, s in b.p_best.items())})"
             ", so none is called the best")
    for v in b.versus:
        word = {"better": "rank latency better than", "worse": "rank latency worse than"}.get(
            v.verdict, "are not shown to differ from")
        text += (f"; {metric_word(v.metric)} {word} {metric_word('macs')} (Δρ = "
                 f"{v.delta:+.2f}, paired {LEVEL} CI {v.ci_low:+.2f} to {v.ci_high:+.2f}, Holm "
                 f"p {_adjusted(v.p_value, v.p_holm, n_bootstrap)})")
    return text + "."


def _family_line(fam) -> str:
    k = decimals(fam.ci_low, fam.ci_high, fam.delta, against=[0.0])
    text = (f"- {metric_word('macs')} vs latency: ρ = {number(fam.rho_a)} among convolutional "
            f"models ({fam.architectures_a} architectures) and {number(fam.rho_b)} among "
            f"transformers ({fam.architectures_b}); independent samples, each resampled by "
            f"architecture: ρ_conv − ρ_transformer = {fam.delta:+.{k}f}, {LEVEL} CI "
            f"{fam.ci_low:+.{k}f} to {fam.ci_high:+.{k}f}")
    if fam.differs:
        closer = "convolutional models" if fam.delta > 0 else "transformers"
        return text + (f", which excludes 0: {metric_word('macs')} rank latency more closely "
                       f"among {closer}.")
    return text + ", which includes 0: no difference between the families is shown."


def _subsets_line(f: Findings) -> str:
    s, n21 = f.subsets, f.paper_n
    if s is None:
        return (f"- No random sets of {n21} architectures (the paper's number of models): add "
                f"{n21} to SUBSAMPLE_SIZES, or the efficient regime is too small.")
    k = decimals(s.q05, s.q95, against=[p.rho for p in f.paper])
    places = {"below": f"below the {percent(LOW_SHARE)} quantile",
              "above": f"above the {percent(HIGH_SHARE)} quantile",
              "inside": f"inside the {SPAN} range"}
    text = (f"- How much can {n21} models tell? ρ(latency, {metric_word('macs')}) of {s.count} "
            f"random sets of {n21} distinct architectures of the efficient regime (each at its "
            f"input size nearest {REFERENCE_SIZE} px) ranges from {s.q05:.{k}f} to "
            f"{s.q95:.{k}f} ({SPAN}), median {s.q50:.{k}f}.")
    for p in f.paper:
        text += (f" The paper's {p.label} ρ = {p.rho:.{k}f} lies {places[p.vs_subsets]}: "
                 f"{_share(p.share, s.count)} give a ρ this low or lower.")
    return text + (" The paper's values come from other devices; the comparison says how "
                   f"typical such a value would be for {n21} models drawn at random on this "
                   "one.")


def _placed(p: Placed) -> str:
    name = p.label.removeprefix("paper Table 9, ")
    text = f"{name} {number(p.rho)} (n = {p.n}"
    if p.range is None:
        return text + ", no random sets of that size)"
    text += f"; {_share(p.share, p.range.count)} of that size here go as low or lower"
    return text + (", borderline)" if p.borderline else ")")


def _models_line(m: Placed) -> str:
    r = m.range
    if r is None:
        return (f"- The paper's models on this device (n = {m.n}): no random sets of that size "
                "to compare with.")
    verdict = {"below": f"a ρ this low is unusual for a random choice of {m.n} models (below "
                        f"the {percent(LOW_SHARE)} quantile)",
               "above": f"a ρ this high is unusual for a random choice of {m.n} models (above "
                        f"the {percent(HIGH_SHARE)} quantile)",
               "inside": f"within the {SPAN} range of a random choice"}[m.place]
    return (f"- Does model selection drive the paper's low ρ? The {m.n} Figure 2 models timm "
            f"has give ρ = {number(m.rho)} on this device; random sets of {m.n} architectures "
            f"of the efficient regime give {number(r.q05)} to {number(r.q95)} ({SPAN}, median "
            f"{number(r.q50)}), and {_share(m.share, r.count)} are at or below the paper's "
            f"models: {verdict}" + (" (borderline: the share lies within three Monte Carlo "
                                     "standard errors of the bound)" if m.borderline else "")
            + ".")


def conclusion(f: Findings) -> str:
    """The takeaway, then Markdown bullets generated from the findings of notebook 05."""
    lines = [f"**Takeaway.** {f.takeaway}", ""] if f.takeaway else []
    lines.append(_scope(f))
    lines += [line for pop in POPULATIONS if (line := _population_line(f, pop))]
    lines.append(f"- Rules, stated before the results: ρ = 0 is tested by permuting "
                 f"architectures (one row each, at the input size nearest {REFERENCE_SIZE} px); "
                 "the cells of the table are exploratory, Benjamini–Hochberg (BH) over all of "
                 f"them, \"supported\" at BH p ≤ {ALPHA:g}. The paper's \"weak correlation\" "
                 f"holds if the whole {LEVEL} CI lies within ±{WEAK_THRESHOLD:g}, is "
                 f"contradicted if it lies wholly beyond ±{WEAK_THRESHOLD:g}, is borderline if "
                 "a bound lies at the threshold within the printed precision, else "
                 f"inconclusive; with n ≤ {EXACT_MAX_N} architectures there is no interval and "
                 "no verdict.")
    if f.unfused:
        one = len(f.unfused) == 1
        lines.append(f"- {join_words(f.unfused)} {'is' if one else 'are'} not among the "
                     "Figure 2 models used: timm benchmarks MobileOne in its unfused train-time "
                     "form, not the deployed network the paper times. "
                     f"{'Its' if one else 'Their'} timm rows remain in the all-models and "
                     "efficient-regime populations, since that is what timm measured.")
    lines += [_best_line(b, f.n_bootstrap) for b in f.best]
    for metric, models in f.missing.items():
        lines.append(f"- {plural(len(models), 'model')} {'lacks' if len(models) == 1 else 'lack'}"
                     f" a {metric_word(metric)} count ({', '.join(models)}); they are left out "
                     "of that metric's correlations only.")
    fam = f.family_difference
    if fam is not None and min(fam.architectures_a, fam.architectures_b) > EXACT_MAX_N:
        lines.append(_family_line(fam))
    others = {k: v.split(":")[0] for k, v in f.figure2_missing.items() if k not in f.unfused}
    if others:
        lines.append("- Other Figure 2 models left out: " + "; ".join(
            f"{k} ({v})" for k, v in others.items()) + ".")
    if f.paper_models is not None:
        lines.append(_models_line(f.paper_models))
    lines.append(_subsets_line(f))
    if f.paper_devices:
        lines.append("- The paper's own Table 9 devices, ρ(latency, published MACs) over their "
                     "Figure 2 models, placed among random sets of as many architectures here: "
                     + "; ".join(_placed(d) for d in f.paper_devices) + ".")
    lines += [f"- {note}." for note in skipped_notes(f.skipped_sizes, f.subset_pool)]
    return "\n".join(lines)
