"""Notebook 07's generated text, from its findings (:class:`.findings.Findings`).

The conclusion opens with a takeaway of at most three sentences (:func:`takeaway`), then one
bullet per result. Every number is formatted by :mod:`analysis.text`; thresholds come from
:mod:`analysis.constants`, never typed. ``tests/golden/07_conclusion*.md`` hold the prose of
synthetic findings.
"""

from __future__ import annotations

from analysis.constants import ALPHA, BEST_PROBABILITY
from analysis.noise import RULE
from analysis.studies.changes import statistic_line
from analysis.studies.regimes.compute import CONTRAST
from analysis.studies.regimes.findings import (AGREEMENT, CORRELATION, GAP, SLOWDOWN,
                                               VERSUS_MACS, AblationFinding, DeviceMatch,
                                               Findings, GapChange, Overhead, RegimeFinding,
                                               Rho, StatisticChange)
from analysis.studies.regimes.slowdowns import CPU, GPU
from analysis.text import (finite, format_p, interval, join_words, metric_word, number,
                           percent, plural, signed, times, upper_first)

LEVEL = percent(1 - ALPHA)
FIRST, SECOND = (metric_word(m) for m in CONTRAST)


def _rho(r: Rho) -> str:
    """``ρ = 0.91 (95 % CI 0.81 to 0.96, q = 0.0003)``."""
    if not finite(r.rho):
        return f"ρ undefined (n = {r.n})"
    return (f"ρ = {number(r.rho)} ({LEVEL} CI {interval(r.ci_low, r.ci_high)}, "
            f"q = {format_p(r.q_value)})")


def _p(p: float, n_resamples: int) -> str:
    return format_p(p, n_resamples)


# -- the takeaway ---------------------------------------------------------------------------------

def _one_factor(g: GapChange) -> bool:
    """The two regimes differ in one word (the mode, or the precision)."""
    return len(set(g.regime_a.split()) ^ set(g.regime_b.split())) == 2


def _largest_change(f: Findings) -> GapChange | None:
    """The pair of regimes whose gap changes most, pairs differing in one factor first."""
    shown = [g for g in f.gap_changes if g.changes]
    return max(shown, key=lambda g: (_one_factor(g), abs(g.delta))) if shown else None


def _follows(r: RegimeFinding) -> str:
    text = f"latency follows {metric_word(r.top.metric)} (ρ = {number(r.top.rho)})"
    if r.top.metric == "macs":
        return text
    return text + f" and MACs reach ρ = {number(r.macs.rho)}"


def _what_predicts(f: Findings) -> str:
    g = _largest_change(f)
    if g is None:
        return (f"On the {f.device}, the data do not show that what ranks latency changes "
                f"between its {plural(len(f.regimes), 'regime')}: the gap ρ({FIRST}) − "
                f"ρ({SECOND}) differs between no two of them (Holm p ≤ {ALPHA:g}).")
    a, b = f.regime(g.regime_a), f.regime(g.regime_b)
    text = (f"On the {f.device}, what ranks latency depends on how the model is run: in "
            f"{a.regime} {_follows(a)}, in {b.regime} {_follows(b)}, and the gap "
            f"ρ({FIRST}) − ρ({SECOND}) differs between the two by {signed(g.delta)} "
            f"({LEVEL} CI {interval(g.ci_low, g.ci_high, against=[0.0], signed=True)}, Holm p = "
            f"{_p(g.p_holm, f.n_bootstrap)})")
    if g.reverses:
        return text + f", the order of {FIRST} and {SECOND} reversing."
    return text + f", though a reversal of {FIRST} and {SECOND} is not shown."


def _overhead_sentence(o: Overhead, f: Findings) -> str:
    return (f"Eager execution costs {number(o.us_per_operator, 1)} µs per operator at "
            f"{o.precision} ({LEVEL} CI {number(o.ci_low, 1)} to {number(o.ci_high, 1)}, R² = "
            f"{number(o.r_squared)} over {plural(o.n, 'model')}), for the median model "
            f"{percent(o.explained_share)} of its eager latency.")


def _slowdowns(a: AblationFinding, kind: str) -> list[str]:
    return [f"{times(s.slowdown)} ({s.regime or s.series})" for s in a.series
            if s.device_kind == kind]


def _ablation_sentence(a: AblationFinding) -> str:
    gpu = _slowdowns(a, GPU)
    cpu = [s for s in a.series if s.device_kind == CPU]
    text = (f"The paper's slowest {a.table} variant, {a.variant}, takes "
            f"{join_words(gpu)} {a.reference}'s latency on this GPU, against "
            f"{times(a.paper)} on the paper's phone")
    if cpu:
        low, high = times(min(s.slowdown for s in cpu)), times(max(s.slowdown for s in cpu))
        verdicts = {s.verdict for s in cpu}
        said = (f" ({next(iter(verdicts))})" if len(verdicts) == 1 and "n/a" not in verdicts
                else "")
        text += f" and {low if low == high else low[:-1] + '–' + high}{said} on the CPU"
    return text + "."


def takeaway(f: Findings) -> str:
    """At most three sentences: what predicts latency in which regime, the launch overhead,
    the ablation."""
    sentences = [_what_predicts(f)]
    if f.overhead:
        sentences.append(_overhead_sentence(f.overhead[0], f))
    gpu_ablation = [a for a in f.ablation if _slowdowns(a, GPU)]
    if gpu_ablation:
        sentences.append(_ablation_sentence(gpu_ablation[0]))
    return " ".join(sentences)


# -- the bullets ----------------------------------------------------------------------------------

def _regime_line(r: RegimeFinding, f: Findings) -> str:
    text = (f"- **{r.regime}** ({plural(r.n, 'model')}): highest ρ, "
            f"{metric_word(r.top.metric)}: {_rho(r.top)}")
    if r.top.metric != "macs":
        text += f"; MACs {_rho(r.macs)}"
    if r.top.metric != CONTRAST[0]:
        text += f"; {FIRST} {_rho(r.contrast)}"
    if r.called_best:
        text += (f". {upper_first(metric_word(r.called_best))} is the best predictor in "
                 f"{percent(r.top_share)} of bootstrap resamples of the models")
    else:
        text += (f". No metric is called best: the leader is best in only "
                 f"{percent(r.top_share)} of resamples (the rule asks "
                 f"{percent(BEST_PROBABILITY)})")
    better = join_words(metric_word(m) for m in r.better_than_macs)
    worse = join_words(metric_word(m) for m in r.worse_than_macs)
    text += (f"; shown better than MACs (paired, Holm within the regime): {better or 'none'}"
             + (f"; shown worse: {worse}" if worse else ""))
    return text + "."


def _gap_line(g: GapChange, f: Findings) -> str:
    verdict = ("the order reverses" if g.reverses else "the gap changes" if g.changes
               else "no change shown")
    return (f"- {g.regime_a} vs {g.regime_b}: d = {signed(g.gap_a)} vs {signed(g.gap_b)}, Δd = "
            f"{signed(g.delta)} ({LEVEL} CI "
            f"{interval(g.ci_low, g.ci_high, against=[0.0], signed=True)}, Holm p = "
            f"{_p(g.p_holm, f.n_bootstrap)}): {verdict}.")


def _gap_section(f: Findings) -> list[str]:
    gaps = "; ".join(f"{r.regime} {signed(r.gap)} "
                     f"({interval(r.gap_low, r.gap_high, against=[0.0], signed=True)})"
                     for r in f.per_regime)
    lines = [f"- The pre-stated question, does the best metric change? d = ρ({FIRST}) − "
             f"ρ({SECOND}) per regime: " + gaps + f" ({LEVEL} paired-bootstrap CI). The gap "
             f"*changes* between two regimes when Δd's Holm p ≤ {ALPHA:g} and its interval excludes 0; "
             f"the order *reverses* when, besides, d's intervals exclude 0 on opposite sides."]
    lines += [_gap_line(g, f) for g in f.gap_changes]
    lines.append(f"- Exploratory, every metric: ρ differs between two regimes in "
                 f"{f.n_differences} of {f.n_difference_tests} metric × regime-pair tests "
                 f"(paired bootstrap over models, Benjamini–Hochberg q ≤ {ALPHA:g}; "
                 f"`regime_differences.csv`).")
    return lines


def _overhead_line(o: Overhead) -> str:
    return (f"- Launch overhead at {o.precision}: eager − graph latency = "
            f"{number(o.us_per_operator, 1)} µs per operator ({LEVEL} bootstrap CI over models "
            f"{number(o.ci_low, 1)} to {number(o.ci_high, 1)}; OLS {number(o.ols_ci_low, 1)} "
            f"to {number(o.ols_ci_high, 1)}), R² = {number(o.r_squared)} over "
            f"{plural(o.n, 'model')}. For the median model the fitted per-operator cost is "
            f"{percent(o.explained_share)} of its eager latency, the measured eager − graph "
            f"difference {percent(o.overhead_share)}.")


def _ablation_line(a: AblationFinding) -> str:
    parts = [f"{s.regime or s.series} {times(s.slowdown)} ({s.verdict}"
             + (f", band ±{percent(s.band)}" if finite(s.band) else "") + ")"
             for s in a.series]
    return (f"- {a.table}, {a.variant} over {a.reference}: the paper's phone "
            f"{times(a.paper)}; " + "; ".join(parts) + ".")


def _calibration_line(f: Findings) -> str:
    ok = [c for c in f.calibration if c.within]
    text = ("- Calibration of the noise model: the identical networks of the ablation set "
            "(ReLU ≡ baseline, SE-ReLU ≡ + SE), measured as separate items, differ by up to " +
            "; ".join(f"{percent(c.largest_gap)} in {c.regime} (band ±{percent(c.band)})"
                      for c in f.calibration))
    bands = [c.band for c in f.calibration]
    if len(ok) == len(f.calibration):
        return text + (f": within each regime's own band. The bands range from "
                       f"±{percent(min(bands))} to ±{percent(max(bands))}: one band for the "
                       f"whole GPU would be too wide in one mode or too narrow in the other.")
    bad = join_words(c.regime for c in f.calibration if not c.within)
    return text + f": beyond the band in {bad}, whose verdicts are then too confident."


def _device_line(d: DeviceMatch) -> str:
    rhos = "; ".join(f"{r.metric} {_rho(r)}" for r in d.rhos)
    closest = (f"{d.called_closest} is called closest" if d.called_closest else
               f"no regime is called closest ({d.top} leads in {percent(d.top_share)} of "
               f"resamples; the rule asks {percent(BEST_PROBABILITY)})")
    return (f"- The paper's {d.device} against each regime, ρ over {plural(d.n, 'shared model')}: "
            f"{rhos}. {upper_first(closest)}.")


def _span(low: float, high: float) -> str:
    a, b = number(low), number(high)
    return a if a == b else f"{a}–{b}"


def _noise_line(f: Findings) -> str:
    return ("- Sessions: " + "; ".join(
        f"{n.regime} spread {percent(n.median_spread, 1)} median / "
        f"{percent(n.p90_spread, 1)} 90th percentile (band ±{percent(n.band, 1)}), ρ between "
        f"sessions ≥ {number(n.session_rho_min, 3)}, ρ({FIRST}) per session "
        f"{_span(n.contrast_low, n.contrast_high)}" for n in f.noise)
        + f" ({plural(f.noise[0].n_sessions, 'session')} per regime). Noise rule: {RULE}.")


def _change(c: StatisticChange) -> str:
    k = c.subject
    subject = {CORRELATION: lambda: f"ρ of {metric_word(k[1])} in {k[0]}",
               VERSUS_MACS: lambda: f"{metric_word(k[1])} against MACs in {k[0]}",
               GAP: lambda: f"the gap between {k[0]} and {k[1]}",
               AGREEMENT: lambda: f"the agreement of {k[1]} with the {k[0]}",
               SLOWDOWN: lambda: f"{k[0]} {k[1]} in {k[2]}"}[c.kind]()
    return f"{subject}: {c.minimum} with the minimum, {c.median} with the median"


def conclusion(f: Findings) -> str:
    """The takeaway, then Markdown bullets generated from the findings of notebook 07."""
    lines = [f"**Takeaway.** {f.takeaway or takeaway(f)}", ""]
    lines += [_regime_line(r, f) for r in f.per_regime]
    lines += _gap_section(f)
    lines += [_overhead_line(o) for o in f.overhead] or [
        "- Launch overhead: no precision has both an eager and a graph regime."]
    lines += [_ablation_line(a) for a in f.ablation]
    if f.calibration:
        lines.append(_calibration_line(f))
    lines += [_device_line(d) for d in f.devices]
    if f.noise:
        lines.append(_noise_line(f))
    lines.append(statistic_line(f.statistic_changes, _change))
    return "\n".join(lines)
