"""Notebook 05's generated text, from its findings (:class:`.findings.Findings`) and loaded data.

Every number is formatted by :mod:`analysis.text` (ρ with its inference, intervals with enough
decimals never to contradict what they are compared with, p-values, shares); thresholds are
formatted from :mod:`analysis.constants`, never typed. ``tests/golden/05_conclusion.md`` holds
the prose of synthetic findings.
"""

from __future__ import annotations

from dataclasses import asdict

from analysis import paths
from analysis.constants import ALPHA, EXACT_MAX_N, WEAK_THRESHOLD
from analysis.text import (decimals, finite, format_p, interval, join_words, metric_word, number,
                           percent, plural, rho_text, upper_first)
from analysis.studies.population.compute import METRICS, POPULATION_LABELS, POPULATIONS, Population
from analysis.studies.population.findings import HIGH_SHARE, LOW_SHARE, Cell, Findings

VERDICT_WORDS = {"holds": "holds", "contradicted": "is contradicted",
                 "inconclusive": "is inconclusive"}
LEVEL = percent(1 - ALPHA)
#: The central range of the subset distribution the paper's values are placed in.
SPAN = f"{LOW_SHARE * 100:g}–{HIGH_SHARE * 100:g} %"


# -- the data step -------------------------------------------------------------------------------

def describe(data: Population) -> str:
    """What was loaded: the file, the device, rows and models, families, population sizes and
    which counts are missing (by name)."""
    table = data.table
    families = table["family"].value_counts()
    lines = [paths.relative(data.file),
             f"{data.device}: {plural(len(table), 'row')}, "
             f"{plural(table['model'].nunique(), 'model')}",
             "families: " + ", ".join(f"{k} {v}" for k, v in families.items()),
             "populations: " + ", ".join(f"{k} {len(v)}" for k, v in data.groups.items())]
    gaps = data.missing[data.missing["n_missing"] > 0]
    if gaps.empty:
        lines.append("missing counts: none (every row has "
                     f"{join_words(metric_word(m) for m in METRICS)})")
    for r in gaps.itertuples():
        lines.append(f"missing {metric_word(r.metric)} in {r.population}: {r.n_missing} "
                     f"({r.models})")
    return "\n".join(lines)


def describe_figure2(data: Population) -> str:
    """Which of the paper's Figure 2 models are used, and why the others are not."""
    used = len(data.figure2)
    total = used + len(data.figure2_missing)
    if not data.figure2_missing:
        return f"Figure 2 models: all {total} found in the file"
    return "\n".join([f"Figure 2 models: {used} of {total} used; not used:",
                      *[f"  {name}: {why}" for name, why in data.figure2_missing.items()]])


def skipped_notes(sizes, pool: int) -> list[str]:
    """One line per subset size skipped (``sizes``), with the reason; ``pool``: the models
    with a MACs count the subsets are drawn from."""
    return [f"n = {n} skipped: " + ("fewer than 3 models" if n < 3 else
                                    f"more than half of the {pool} models with a "
                                    f"{metric_word('macs')} count")
            for n in sizes]


# -- the conclusion ------------------------------------------------------------------------------

def _rho(c: Cell, against=()) -> str:
    text = rho_text(asdict(c), against=against, scipy_p=False)
    if c.n >= 3 and finite(c.ci_low) and not c.supported:
        text += ", an interval that includes 0"
    return text


def _share(share: float, total: int) -> str:
    if share == 0:
        return f"none of the {total} subsets"
    return f"{percent(share, 1 if share >= 0.001 else 2)} of the subsets"


def _population_line(f: Findings, pop: str) -> str | None:
    label = upper_first(POPULATION_LABELS[pop])
    if not f.population_sizes.get(pop):
        return f"- {label}: none in this file."
    c = f.cell(pop, "macs")
    if c is None:
        return None
    paper = [p.rho for p in f.paper] if pop == "figure2" else []
    text = (f"- {label} on the {f.device}: latency vs {metric_word('macs')} "
            f"{_rho(c, paper)}")
    if c.weak_claim is not None:
        text += f"; the claim of a weak correlation {VERDICT_WORDS[c.weak_claim]} here"
        if pop == "figure2" and f.paper:
            k = decimals(c.ci_low, c.ci_high, against=paper)
            text += "; " + ", ".join(f"the paper's {p.label} ρ = {p.rho:.{k}f} lies "
                                     f"{p.vs_figure2} this interval" for p in f.paper)
    others = [f"{metric_word(m)} {_rho(o)}" for m in METRICS[1:]
              if (o := f.cell(pop, m)) is not None]
    return text + (". Also " + "; ".join(others) if others else "") + "."


def _best_line(b) -> str:
    text = (f"- {upper_first(POPULATION_LABELS.get(b.population, b.population))}: "
            f"{metric_word(b.best)} have the highest ρ")
    for better in dict.fromkeys(v.better for v in b.versus):
        items = ", ".join(
            f"{metric_word(v.other)} (Δρ = {v.delta:+.2f}, paired {LEVEL} CI "
            f"{interval(v.ci_low, v.ci_high, against=[0.0], signed=True)}, Holm p = "
            f"{format_p(v.p_holm)})" for v in b.versus if v.better == better)
        text += (f"; they rank latency better than {items}" if better else
                 f"; they are not shown to be better than {items}")
    return text + (f" ({plural(len(b.versus), 'paired comparison')}, Holm-adjusted; 'better' "
                   f"needs a Δρ interval excluding 0 and Holm p ≤ {ALPHA:g}).")


def _family_line(fam) -> str:
    k = decimals(fam.ci_low, fam.ci_high, fam.delta, against=[0.0])
    text = (f"- {metric_word('macs')} vs latency: ρ = {number(fam.rho_a)} among convolutional "
            f"models (n = {fam.n_a}) and {number(fam.rho_b)} among transformers (n = "
            f"{fam.n_b}); independent samples, so the difference ρ_conv − ρ_transformer = "
            f"{fam.delta:+.{k}f} gets a bootstrap interval resampling each family separately: "
            f"{LEVEL} CI {fam.ci_low:+.{k}f} to {fam.ci_high:+.{k}f}")
    if fam.differs:
        closer = "convolutional models" if fam.delta > 0 else "transformers"
        return text + (f", which excludes 0: {metric_word('macs')} rank latency more closely "
                       f"among {closer}.")
    return text + ", which includes 0: no difference between the families is shown."


def _subsets_line(f: Findings) -> str:
    s, n21 = f.subsets, f.paper_n
    if s is None:
        return (f"- No subsample distribution at n = {n21} (the paper's number of models): "
                "add it to SUBSAMPLE_SIZES, or the efficient regime is too small.")
    k = decimals(s.q05, s.q95, against=[p.rho for p in f.paper])
    places = {"below": f"below the {percent(LOW_SHARE)} quantile",
              "above": f"above the {percent(HIGH_SHARE)} quantile",
              "inside": f"inside the {SPAN} range"}
    text = (f"- How much can {n21} models tell? ρ(latency, {metric_word('macs')}) of {s.count} "
            f"random {n21}-model subsets of the efficient regime on the {f.device} ranges from "
            f"{s.q05:.{k}f} to {s.q95:.{k}f} ({SPAN}), median {s.q50:.{k}f}.")
    for p in f.paper:
        text += (f" The paper's {p.label} ρ = {p.rho:.{k}f} lies {places[p.vs_subsets]}: "
                 f"{_share(p.share, s.count)} give a ρ this low or lower.")
    both = "Both paper values come" if len(f.paper) == 2 else "The paper's values come"
    return text + (f" {both} from other devices; the comparison says how typical such a value "
                   f"would be for {n21} models drawn at random on this one.")


def conclusion(f: Findings) -> str:
    """Markdown bullets generated from the findings of notebook 05."""
    lines = [line for pop in POPULATIONS if (line := _population_line(f, pop))]
    lines.append(f"- Verdict rule: the paper's \"weakly correlated on a desktop CPU\" is judged "
                 f"by a stated rule: it holds if the whole {LEVEL} CI lies within "
                 f"±{WEAK_THRESHOLD:g}, is contradicted if it lies wholly beyond "
                 f"±{WEAK_THRESHOLD:g} (a strong correlation of either sign), else "
                 f"inconclusive; with n ≤ {EXACT_MAX_N} there is no interval and no verdict.")
    if f.unfused:
        one = len(f.unfused) == 1
        lines.append(f"- {', '.join(f.unfused)} {'is' if one else 'are'} not among the Figure 2 "
                     "models used: timm benchmarks MobileOne in its unfused train-time form, not "
                     "the deployed network the paper times (reasons with the counts below). "
                     f"{'Its' if one else 'Their'} timm rows remain in the all-models and "
                     "efficient-regime populations, since that is what timm measured.")
    lines += [_best_line(b) for b in f.best]
    for metric, models in f.missing.items():
        lines.append(f"- {plural(len(models), 'model')} {'lacks' if len(models) == 1 else 'lack'}"
                     f" a {metric_word(metric)} count ({', '.join(models)}); they are left out "
                     "of that metric's correlations only.")
    fam = f.family_difference
    if fam is not None and min(fam.n_a, fam.n_b) > EXACT_MAX_N:
        lines.append(_family_line(fam))
    if f.figure2_missing:
        lines.append("- Figure 2 models not used: " + "; ".join(
            f"{k} ({v})" for k, v in f.figure2_missing.items()) + ".")
    lines.append(_subsets_line(f))
    if f.paper_devices:
        lines.append("- The paper's own Table 9 devices, ρ(latency, published MACs) over their "
                     "Figure 2 models: " + "; ".join(
                         f"{d.device} {number(d.rho)} (n = {d.n}" + (
                             f"; {_share(d.share, d.subsets)} of that size on this device give "
                             f"a ρ this low or lower)" if d.subsets else ")")
                         for d in f.paper_devices) + ".")
    lines += [f"- {note}." for note in skipped_notes(f.skipped_sizes, f.subset_pool)]
    return "\n".join(lines)
