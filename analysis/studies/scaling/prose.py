"""Notebook 08's generated text, from its findings (:class:`.findings.Findings`).

The conclusion opens with a takeaway of at most three sentences (:func:`takeaway`), then one
bullet per result. Numbers are formatted by :mod:`analysis.text`; thresholds and references
come from :mod:`analysis.constants` and :mod:`.compute`, never typed.
``tests/golden/08_conclusion*.md`` hold the prose of synthetic findings.
"""

from __future__ import annotations

from analysis.constants import ALPHA
from analysis.noise import RULE
from analysis.studies.changes import statistic_line
from analysis.studies.scaling.compute import ABOVE, BELOW, CLAIMED_EXPONENT, CONSISTENT
from analysis.studies.scaling.findings import (CORRELATION, EXPONENT_B, EXPONENT_E, LITE,
                                               AblationCost, CountClaim, Exponent, Findings,
                                               LitePair, Rho, SeriesFinding, StatisticChange)
from analysis.text import (finite, format_p, interval, join_words, number, percent, plural,
                           times)

LEVEL = percent(1 - ALPHA)
CLAIM = number(CLAIMED_EXPONENT, 0)


def _verdict(verdict: str, reference: str) -> str:
    """``below 1`` / ``1 not excluded`` / ``above 1``."""
    return {BELOW: f"below {reference}", CONSISTENT: f"{reference} not excluded",
            ABOVE: f"above {reference}"}.get(verdict, "no interval")


def _span(low: float, high: float, digits: int = 2) -> str:
    a, b = number(low, digits), number(high, digits)
    return a if a == b else f"{a}–{b}"


def _rho(r: Rho) -> str:
    if not finite(r.rho):
        return f"ρ undefined (n = {r.n})"
    return (f"ρ = {number(r.rho)} ({LEVEL} CI {interval(r.ci_low, r.ci_high)}, n = {r.n}, "
            f"q = {format_p(r.q_value)})")


def _b(x: Exponent) -> str:
    if not finite(x.b_low):
        return f"b = {number(x.b)} ({plural(x.n, 'network')}: no interval)"
    text = f"b = {number(x.b)} ({LEVEL} CI {interval(x.b_low, x.b_high, against=[1.0])}"
    if finite(x.b_session_low):
        text += f"; over sessions {_span(x.b_session_low, x.b_session_high)}"
    return text + f"; {_verdict(x.b_verdict, '1')})"


def _e(x: Exponent) -> str:
    if not finite(x.e):
        return ""
    if not finite(x.e_low):
        return f"; e = {number(x.e)}"
    return (f"; e = {number(x.e)} ({interval(x.e_low, x.e_high, against=[CLAIMED_EXPONENT])}"
            f", {_verdict(x.e_verdict, CLAIM)})")


# -- the takeaway ------------------------------------------------------------------------------------

def _b_ranges(f: Findings) -> str:
    parts = [f"b = {_span(*s.b_range)} on the {s.series}" for s in f.series
             if s.with_interval]
    return join_words(parts)


def _within(f: Findings) -> str:
    below = sum(x.b_verdict == BELOW for s in f.series for x in s.with_interval)
    total = sum(len(s.with_interval) for s in f.series)
    fits = f"{plural(f.n_sweeps_ranked, 'sweep')} × series with three or more networks"
    rank = (f"MACs order latency without error (ρ = 1 in all {fits})"
            if f.n_sweeps_rho_one == f.n_sweeps_ranked else
            f"MACs order latency without error in {f.n_sweeps_rho_one} of the {fits}")
    if not total:
        return f"Within the MobileNet family {rank}; no sweep has enough networks for an exponent."
    if below == 0:
        return (f"Within the MobileNet family {rank}, and latency ∝ MACs^b with "
                f"{_b_ranges(f)}: b = 1 (latency in proportion to MACs) is excluded in none of "
                f"the {total} fits with an interval.")
    return (f"Within the MobileNet family {rank} but not in proportion: latency ∝ MACs^b with "
            f"{_b_ranges(f)}, and b < 1 is shown in {below} of the {total} fits with an "
            f"interval — cutting MACs by a multiplier saves less time than it removes MACs.")


def _across(f: Findings) -> str:
    cells = [(s.across_label, s.across) for s in f.series
             if s.across and finite(s.across.rho)]
    if not cells:
        return ""
    n = join_words(sorted({str(r.n) for _, r in cells}))
    return (f"Across the zoo's {n} {f.across_models} models on the same devices, MACs rank "
            f"latency with ρ = " + join_words(
                f"{number(r.rho)} ({name}" + ("" if r.shown else "; not distinguishable from 0"
                                              " after adjustment") + ")" for name, r in cells)
            + ".")


def _phone(f: Findings, row: str) -> AblationCost | None:
    return next((a for a in f.ablation if a.row == row and a.device_kind.startswith("phone")),
                None)


def _lite0(f: Findings) -> str:
    pairs = [p for s in f.series for p in s.lite[:1]]
    if not pairs:
        return ""
    text = (f"At (nearly) equal MACs, {pairs[0].lite} takes " + join_words(
        f"{times(p.ratio)} ({p.verdict}, {p.series})" for p in pairs)
        + f" of {pairs[0].b_model}'s latency")
    se, silu = _phone(f, "SE-ReLU"), _phone(f, "SiLU")
    if se and silu:
        text += (f"; Lite drops Squeeze-Excite and swish, which cost {times(se.slowdown)} and "
                 f"{times(silu.slowdown)} ReLU's latency on the paper's phone (Table 2)")
    return text + "."


def takeaway(f: Findings) -> str:
    """At most three sentences: the exponent within the family, ρ across families, Lite0/B0."""
    return " ".join(s for s in (_within(f), _across(f), _lite0(f)) if s)


# -- the bullets -------------------------------------------------------------------------------------

def _sweep_line(x: Exponent) -> str:
    c = f"; c = {number(x.c)}" if finite(x.c) else ""
    return f"  - {x.sweep} ({plural(x.n, 'network')}): {_b(x)}{_e(x)}{c}."


def _series_block(s: SeriesFinding, f: Findings) -> list[str]:
    head = f"- **{s.series}**"
    if s.one_pass:
        head += " (one pass: no session range)"
    parts = []
    if s.across:
        where = "" if s.across_label == s.series else f" ({s.across_label})"
        parts.append(f"across the zoo's {f.across_models} models{where} {_rho(s.across)}")
    if s.family:
        parts.append(f"over the family's networks at native size {_rho(s.family)}")
    lines = [head + (": " + "; ".join(parts) if parts else "") + "."]
    return lines + [_sweep_line(x) for x in s.exponents]


def _interval_line(f: Findings) -> str:
    ns = sorted({x.n for s in f.series for x in s.with_interval})
    if not ns:
        return ""
    return (f"- How to read the exponents: b is fitted by least squares on log latency against "
            f"log MACs, e on log latency against log multiplier (α, or ρ = input / native "
            f"input), c on "
            f"log MACs against log multiplier (the claim: c = e = {CLAIM}). The {LEVEL} "
            f"t interval has n − 2 degrees of freedom — with {join_words(map(str, ns), 'or')} "
            f"networks per sweep it measures how straight the points lie, and it is wide; the "
            f"range over sessions refits b on every choice of one session per network "
            f"(measurement noise only). A sweep of two networks has a slope, no interval.")


def _count_line(c: CountClaim) -> str:
    name = "α" if c.knob == "width" else "ρ"
    where = (f"{c.worst_model} at {c.worst_input_size} px" if c.knob != "width"
             else c.worst_model)
    paper = (f" (the MobileNet paper's own count: {times(c.paper_worst_ratio)})"
             if finite(c.paper_worst_ratio) else "")
    return (f"  - {c.sweep}: c = {number(c.c)}; farthest from {name}²: {where}, MACs "
            f"{times(c.worst_ratio)} the {name}² prediction{paper}.")


def _claim_lines(f: Findings) -> list[str]:
    if not f.counts:
        return []
    lines = [f"- The family's claim, cost ∝ α² and ρ², on counts (fvcore MACs of the deployed "
             f"form relative to the sweep's α = 1, 224 px network):"]
    lines += [_count_line(c) for c in f.counts]
    with_e = [(s.series, x) for s in f.series for x in s.with_interval if finite(x.e_low)]
    if with_e:
        below = sum(x.e_verdict == BELOW for _, x in with_e)
        lines.append(f"- The same claim on latency: latency ∝ multiplier^e with e = {CLAIM} if "
                     f"latency followed the claim; e < {CLAIM} is shown in {below} of the "
                     f"{len(with_e)} width and resolution sweeps with an interval (e per sweep "
                     f"above).")
    return lines


def _lite_line(s: SeriesFinding) -> str:
    if not s.lite:
        return ""
    band = f"noise band ±{percent(s.band, 1)}" if finite(s.band) else "no noise band"
    raw = "; ".join(
        f"{p.lite.split('-')[-1]}/{p.b_model.split('-')[-1]} {times(p.ratio)}"
        + (f" ({_span(p.ratio_low, p.ratio_high)})" if finite(p.ratio_low) else "")
        + f", {p.verdict}" for p in s.lite)
    equal = ", ".join(times(p.equal_macs_ratio) for p in s.lite)
    return (f"- EfficientNet-Lite_i / EfficientNet-B_i on the {s.series} ({band}; session "
            f"interval in brackets): {raw}. At equal MACs (B_i's latency moved along B's own "
            f"fitted curve to Lite_i's MACs): {equal}.")


def _ablation_line(f: Findings) -> str:
    if not f.ablation:
        return ""
    by_row: dict[tuple[str, str], list[AblationCost]] = {}
    for a in f.ablation:
        by_row.setdefault((a.table, a.row), []).append(a)
    parts = [f"{row} ({table}): " + "; ".join(
        f"{a.series} {times(a.slowdown)}" + (f" ({a.verdict})" if a.verdict != "n/a" else "")
        for a in rows) for (table, row), rows in by_row.items()]
    return ("- What Lite removes, in the paper's 30-layer ablations (notebooks 02, 03 and 07): "
            + " · ".join(parts) + ". Lite also fixes the stem and head and uses ReLU6, so a "
            "Lite/B ratio is not Squeeze-Excite and swish alone.")


def _h200_line(f: Findings) -> str:
    if not f.h200:
        return ""
    return (f"- The {f.h200} series is timm 1.0.29's implementations of the family (its "
            f"PyTorch-native model where timm has one, else the tf_ port), timed in one pass "
            f"(10 warm-up and 50 runs; data/external/h200): no session interval, and its noise "
            f"band is borrowed from this project's own H200 campaign in the same regime. Its "
            f"across-family ρ is over this project's models in that campaign. Noise rule: "
            f"{RULE}.")


def _change(c: StatisticChange) -> str:
    k = c.subject
    subject = {EXPONENT_B: lambda: f"b of {k[1]} on the {k[0]}",
               EXPONENT_E: lambda: f"e of {k[1]} on the {k[0]}",
               LITE: lambda: f"{k[1]} against B on the {k[0]}",
               CORRELATION: lambda: f"ρ {k[1]} on the {k[0]}"}[c.kind]()
    words = {EXPONENT_B: lambda v: _verdict(v, "1"),
             EXPONENT_E: lambda v: _verdict(v, CLAIM)}.get(c.kind, str)
    return (f"{subject}: {words(c.minimum)} with the minimum, {words(c.median)} with the "
            f"median")


def conclusion(f: Findings) -> str:
    """The takeaway, then Markdown bullets generated from the findings of notebook 08."""
    lines = []
    for s in f.series:
        lines += _series_block(s, f)
    lines += [_interval_line(f), *_claim_lines(f)]
    lines += [_lite_line(s) for s in f.series]
    lines += [_ablation_line(f), _h200_line(f), statistic_line(f.statistic_changes, _change)]
    return "\n".join([f"**Takeaway.** {f.takeaway or takeaway(f)}", "",
                      *[line for line in lines if line]])


__all__ = ["conclusion", "takeaway"]
