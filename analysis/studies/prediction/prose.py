"""Notebook 06, the generated prose: sentences from the typed findings of
:mod:`~analysis.studies.prediction.findings`, numbers through :mod:`analysis.text`, every
target and margin formatted from :mod:`analysis.constants` (never typed). No sentence claims
an ordering, a gain or a shortfall its finding's verdict does not carry."""

from __future__ import annotations

from analysis import predict as P
from analysis.constants import (ALPHA, MIN_MODELS_FOR_TARGET, NEAR_TIE, PREDICTION_TOLERANCE,
                                TARGET_K, TARGET_LOO_RHO, TARGET_MEDIAN_RHO, TARGET_P10_RHO)
from analysis.studies.prediction.findings import (ABOVE, BELOW, BETTER, HELPS, HURTS, MET,
                                                  NO_TARGET, TOO_FEW, WORSE, Advice,
                                                  DeviceCoverage, DeviceImportance, DeviceLoo,
                                                  DeviceNew, Findings, NewDeviceGap,
                                                  PoolComparison, VersusMacs, WeakDevice)
from analysis.text import (decimals, finite, format_p, interval, join_words, number, percent,
                           percent_change, percent_range, plural, rho_value, signed, times,
                           upper_first)

#: The nominal coverage of the predictor's intervals, as text.
COVERAGE = percent(P.COVERAGE)


def bullets(sentences) -> str:
    """Sentences as a Markdown list."""
    return "\n".join(f"- {s}" for s in sentences)


def _near(value: float, target: float, start: int = 2) -> int:
    """Decimals at which ``value`` never reads as equal to the ``target`` it is judged against
    (0.8996 is ``0.900``, not ``0.90``, beside a target of 0.9)."""
    return decimals(value, against=[target], start=start)


def _rho(value: float, target: float = TARGET_LOO_RHO) -> str:
    return rho_value(value, _near(value, target))


def _pct(value: float) -> str:
    """A quantity already in per cent (an MdAPE): ``13 %``."""
    return f"{number(value, 0)} %"


def _of_physical(met: tuple, judged: int) -> str:
    return f"{len(met)} of {plural(judged, 'physical device')}"


# -- sections -------------------------------------------------------------------------------------

def loo_sentence(d: DeviceLoo) -> str:
    target = (f"(fewer than {MIN_MODELS_FOR_TARGET} models: no target)" if d.target == NO_TARGET
              else f"{'meets' if d.target == MET else 'misses'} the target ρ ≥ "
                   f"{TARGET_LOO_RHO:g}")
    return (f"{d.device} (n = {d.n}): leave-one-out {_rho(d.rho)}, median error "
            f"{_pct(d.mdape)}, {percent(d.within10)} of models within "
            f"±{percent(PREDICTION_TOLERANCE)}, {COVERAGE} interval covers "
            f"{percent(d.coverage90)}; "
            f"{target}. Highest ρ of a single feature set: {d.best_single} "
            f"({number(d.best_single_rho)}).")


def versus_macs_sentence(v: VersusMacs) -> str:
    verdict = {BETTER: "the predictor ranks the left-out models better than MACs do",
               WORSE: "ranking by MACs is better than the predictor",
               TOO_FEW: f"n = {v.n} is too small for the paired bootstrap: no comparison is "
                        f"made"}.get(v.verdict, f"the two cannot be told apart (q > {ALPHA:g} "
                                                f"or the interval includes 0)")
    ci = (f", 95 % CI {interval(v.ci_low, v.ci_high, against=[0.0], signed=True)}, "
          f"q = {format_p(v.q_value)}" if finite(v.ci_low) else "")
    return (f"{v.device}: ρ {number(v.rho_predictor)} (predictor, left out) vs "
            f"{number(v.rho_macs)} (MACs), Δρ = {signed(v.delta)}{ci}: {verdict}.")


def new_device_sentence(d: DeviceNew) -> str:
    base = "; ".join(f"{b.method}: median ρ {number(b.rho_median)}, 10th percentile "
                     f"{number(b.rho_p10)}" for b in d.baselines)
    median = number(d.rho_median, _near(d.rho_median, TARGET_MEDIAN_RHO))
    p10 = number(d.rho_p10, _near(d.rho_p10, TARGET_P10_RHO))
    failed = [(d.median_met, f"median ρ {median} < {TARGET_MEDIAN_RHO:g}"),
              (d.p10_met, f"10th percentile {p10} < {TARGET_P10_RHO:g}"),
              (d.beats_met, f"above both baselines in only {percent(d.beats_both_share)} of "
                            f"the splits, not in every split")]
    missed = [text for ok, text in failed if not ok]
    verdict = ("meets all three targets" if not missed else
               f"misses {len(missed)} of the 3 targets: {'; '.join(missed)}")
    return (f"{d.device}, k = {d.k}: predictor median ρ {median} (10th "
            f"percentile {p10}), median error {_pct(d.mdape_median)}, above both "
            f"baselines in {percent(d.beats_both_share)} of {d.n_splits} splits; {base}. It "
            f"{verdict}.")


_COVERAGE_WORDS = {BELOW: f"below {COVERAGE}", ABOVE: f"above {COVERAGE} (wider than needed)"}


def _coverage_part(value, low, high, verdict) -> str:
    return (f"{percent(value)} [{percent(low)}, {percent(high)}], "
            + _COVERAGE_WORDS.get(verdict, f"consistent with {COVERAGE}"))


def coverage_sentence(c: DeviceCoverage) -> str:
    text = (f"{c.device}: leaving one model out "
            + _coverage_part(c.loo, c.loo_low, c.loo_high, c.loo_verdict))
    if c.k is not None:
        text += (f"; on a new device with k = {c.k}, "
                 + _coverage_part(c.at_k, c.at_k_low, c.at_k_high, c.at_k_verdict))
    return text + "."


def group_label(group: str) -> str:
    return P.GROUP_LABELS.get(group, group)


def importance_sentence(d: DeviceImportance) -> str:
    needed = [g for g in d.groups if g.needed]
    parts = ", ".join(f"{g.group} {times(g.ratio)} [{number(g.low)}, {number(g.high)}]"
                      for g in d.groups)
    text = f"{d.device} (n = {d.n}), held-out error without each group: {parts}. "
    if needed:
        text += (f"Needed out of sample: {join_words(g.group for g in needed)} (interval above "
                 f"1)")
    else:
        text += ("No group is shown to be needed: the others carry what any one of them "
                 "carries")
    if d.ordered:
        text += ("; shown to matter more (intervals apart): "
                 + "; ".join(f"{a} > {b}" for a, b in d.ordered))
    elif len(needed):
        text += "; the intervals overlap, so the data cannot order the groups"
    return text + "."


def importance_summary(items: tuple[DeviceImportance, ...], f: Findings) -> str:
    """Per group: on how many physical devices it is needed (on every series of it, or on
    some), and whether any ordering holds on every series."""
    groups = list(P.COST_GROUPS)
    lines = []
    for g in groups:
        series = [d.device for d in items if g in d.needed]
        phys = sorted({f.physical_of(s) for s in series})
        lines.append(f"{group_label(g)}: needed on {plural(len(series), 'series', 'series')} "
                     f"of {len(items)}" + (f" ({', '.join(phys)})" if phys else ""))
    return bullets(lines)


def pool_text(pool: PoolComparison | None) -> str:
    if pool is None:
        return "No both-ways comparison of the reference pool was run."
    lines = []
    for e in pool.effects:
        verdict = {HELPS: f"helps (paired median {signed(e.paired_delta)})",
                   HURTS: f"hurts (paired median {signed(e.paired_delta)})"}.get(
            e.verdict, f"changes the paired median by {signed(e.paired_delta)}, within "
                       f"±{NEAR_TIE:g}")
        lines.append(f"{e.device}: median ρ {number(e.rho_with)} with, {number(e.rho_without)} "
                     f"without; higher in {percent(e.improved_share)}, lower in "
                     f"{percent(e.worsened_share)} of the draws; {pool.without} as reference "
                     f"{verdict}. Coverage {percent(e.coverage_with)} with, "
                     f"{percent(e.coverage_without)} without.")
    return bullets(lines)


def pool_sentence(pool: PoolComparison | None) -> str:
    if pool is None or not pool.effects:
        return ""
    helps = [e.device for e in pool.effects if e.verdict == HELPS]
    hurts = [e.device for e in pool.effects if e.verdict == HURTS]
    n = len(pool.effects)
    text = (f"With {pool.without} (all its series) among the reference devices, the predictor's "
            f"median ρ at k = {pool.k} (paired by calibration draw) rises by more than "
            f"{NEAR_TIE:g} on {len(helps)} and falls by more on {len(hurts)} of the "
            f"{plural(n, 'other series', 'other series')}")
    named = [f"{w}: {join_words(v)}" for w, v in (("rises", helps), ("falls", hurts)) if v]
    cov = [(e.coverage_with, e.coverage_without) for e in pool.effects]
    return (text + (f" ({'; '.join(named)})" if named else "") + ". Their intervals cover "
            f"{percent_range(min(c[0] for c in cov), max(c[0] for c in cov))} of held-out "
            f"models with it, {percent_range(min(c[1] for c in cov), max(c[1] for c in cov))} "
            f"without.")


def advice_text(a: Advice | None) -> str:
    """How many models to measure, from the new-device results."""
    if a is None:
        return "No device has enough models for the new-device scenario."
    curve = ", ".join(f"{number(r)} at k = {k}" for k, r in a.typical)
    text = (f"Typical median ρ on a held-out device (median over the {a.n_physical} physical "
            f"devices): {curve}. ")
    if a.rising:
        text += (f"It still rises by more than {NEAR_TIE:g} up to the largest k evaluated, so "
                 f"measure at least {a.k} models — more may still help. ")
    else:
        text += (f"From k = {a.k} on it stays within {NEAR_TIE:g} of its value at the largest "
                 f"k, so {a.k} models are enough for the typical device. ")
    text += (f"At k = {a.k} the median ρ reaches {TARGET_MEDIAN_RHO:g} on every series of "
             f"{len(a.met)} of {plural(a.n_physical, 'physical device')} ({', '.join(a.met)}). "
             if a.met else f"At k = {a.k} no physical device reaches a median ρ of "
                           f"{TARGET_MEDIAN_RHO:g} on every series. ")
    if a.macs_as_good:
        text += ("Ranking by MACs alone does as well (within "
                 f"{NEAR_TIE:g}) at k = {a.k} on "
                 + ", ".join(f"{d} (MACs {number(m)}, predictor {number(r)})"
                             for d, r, m in a.macs_as_good)
                 + ". ")
    else:
        text += f"Ranking by MACs alone does not do as well on any series at k = {a.k}. "
    text += (f"With k = {a.smallest_k} the predictor's median ρ ranges from "
             f"{number(a.smallest_low)} to {number(a.smallest_high)}"
             + (f", and MACs alone do as well on "
                f"{plural(len(a.smallest_macs_as_good), 'series', 'series')}"
                if a.smallest_macs_as_good else "") + ".")
    return text


def weak_sentence(w: WeakDevice) -> str:
    listed = ", ".join(f"{m} ({percent_change(1 + e, 0)})" for m, e in w.worst)
    text = (f"{w.device} ({_rho(w.rho)}): the worst-predicted models are {listed}. Its "
            f"latencies span {times(w.spread)}, and {percent(w.close_share)} of neighbouring "
            f"models (in latency order) are closer together than the median error of "
            f"{_pct(w.mdape)}, so errors of that size reorder them.")
    if w.noise_cv is not None:
        text += (f" Its measurements vary by a median {percent(w.noise_cv)} from run to run "
                 f"(coefficient of variation).")
    return text


def gap_sentence(g: NewDeviceGap) -> str:
    listed = ", ".join(f"{d} in {percent(s)}" for d, s in g.designs)
    median = number(g.rho_median, _near(g.rho_median, TARGET_MEDIAN_RHO))
    return (f"{g.device}: with k = {g.k} the median ρ is {median}, against "
            f"{number(g.loo_rho)} with all other models (leave one out); across the "
            f"{g.n_draws} draws ρ ranges from {number(g.rho_p10)} to {number(g.rho_p90)} "
            f"(10th–90th percentile), depending on which {g.k} models are measured. The inner "
            f"cross-validation chose {listed} of the draws.")


def loo_text(items) -> str:
    return bullets(loo_sentence(d) for d in items)


def versus_macs_text(items) -> str:
    return bullets(versus_macs_sentence(v) for v in items)


def new_device_text(items) -> str:
    return bullets(new_device_sentence(d) for d in items)


def coverage_text(items) -> str:
    return bullets(coverage_sentence(c) for c in items)


def importance_text(items) -> str:
    return bullets(importance_sentence(d) for d in items)


def shortfalls_text(f: Findings) -> str:
    """Where the predictor stays below the targets: leaving one model out, then on a new
    device."""
    weak = bullets(weak_sentence(w) for w in f.weak) or (
        f"Every device reaches ρ ≥ {TARGET_LOO_RHO:g}.")
    gaps = bullets(gap_sentence(g) for g in f.gaps) or (
        f"At k = {f.k} every median ρ ≥ {TARGET_MEDIAN_RHO:g}."
        if f.k is not None else "No device has enough models for the new-device scenario.")
    return f"{weak}\n\n{gaps}"


def targets() -> str:
    """The targets the project set itself before the results (:mod:`analysis.constants`)."""
    return (f"The targets, stated before the results: leave-one-out ρ ≥ {TARGET_LOO_RHO:g} on "
            f"every device with ≥ {MIN_MODELS_FOR_TARGET} models; on a new device with "
            f"k = {TARGET_K} calibration models, median ρ ≥ {TARGET_MEDIAN_RHO:g}, 10th "
            f"percentile ≥ {TARGET_P10_RHO:g} and above both baselines in every split. A "
            f"physical device meets a target when every one of its series does.")


# -- takeaway and conclusion ----------------------------------------------------------------------

def _coverage_short(f: Findings) -> str:
    below = [c.device for c in f.coverage if c.at_k_verdict == BELOW]
    above = [c.device for c in f.coverage if c.at_k_verdict == ABOVE]
    if f.k is None:
        below = [c.device for c in f.coverage if c.loo_verdict == BELOW]
        where = "leaving one model out"
    else:
        where = f"at k = {f.k}"
    wide = (f"more than needed on {plural(len(above), 'series', 'series')}" if above else "")
    if below:
        return (f"The predictor's {COVERAGE} intervals cover too little {where} on "
                f"{join_words(below)} (coverage interval below {COVERAGE})"
                + (f" and {wide}" if wide else "") + ".")
    return (f"The predictor's {COVERAGE} intervals are not shown to cover too little {where} "
            f"on any series (no coverage interval lies below {COVERAGE})"
            + (f"; they cover {wide}" if wide else "") + ".")


def takeaway(f: Findings) -> str:
    """At most three sentences, each backed by a verdict of the findings: the targets met
    (physical devices), how many calibration models the evidence supports and where MACs
    alone do as well, and where the intervals under-cover."""
    judged = len(f.loo_met) + len(f.loo_missed)
    first = (f"Leaving one model out, the predictor reaches ρ ≥ {TARGET_LOO_RHO:g} on "
             f"{_of_physical(f.loo_met, judged)}" if judged else
             "No device has enough models for the leave-one-out target")
    if f.k is not None:
        first += (f"; on a new device with k = {f.k} calibration models it meets all its "
                  f"targets on {_of_physical(f.new_device_met, f.new_device_judged)}")
    sentences = [first + "."]
    a = f.advice
    if a is not None:
        typical = dict(a.typical)
        second = (f"Measure at least {a.k} zoo models: the typical median ρ on a new device is "
                  f"{number(typical[a.smallest_k])} with {a.smallest_k} and "
                  f"{number(typical[a.k])} with {a.k}"
                  + (" and still rising" if a.rising else ""))
        second += ("; ranking by MACs alone does as well there on "
                   + join_words(d for d, _, _ in a.macs_as_good) if a.macs_as_good else "")
        sentences.append(second + ".")
    sentences.append(_coverage_short(f))
    return " ".join(sentences)


def _listed(items) -> str:
    return ", ".join(f"{d} ({signed(x, decimals(x, against=[NEAR_TIE, -NEAR_TIE], start=3))})"
                     for d, x in items)


def _paired_sentence(f: Findings) -> str:
    n = len(f.ahead) + len(f.near_ties) + len(f.behind)
    if not n:
        return ""
    margin = f"{NEAR_TIE:g}"
    text = (f"Paired over the same calibration draws (median over splits of its ρ minus the "
            f"better baseline's ρ in that split), the predictor is ahead by more than "
            f"{margin} on {len(f.ahead)} of {plural(n, 'series', 'series')}"
            + (f" ({_listed(f.ahead)})" if f.ahead else ""))
    if f.near_ties:
        text += f"; near ties within ±{margin}, not counted as ahead: {_listed(f.near_ties)}"
    if f.behind:
        text += f"; behind: {_listed(f.behind)}"
    return text + (". This is descriptive: the draws reuse the same models, so no test is "
                   "made. ")


def _importance_sentence(f: Findings) -> str:
    if not f.importance:
        return ""
    ordered = [d for d in f.importance if d.ordered]
    needed = {g: [d.device for d in f.importance if g in d.needed] for g in P.COST_GROUPS}
    parts = [f"{g} on {len(v)}" for g, v in needed.items() if v]
    text = (f"Out of sample, leaving a group of collinear costs out makes the held-out error "
            f"grow (interval above 1) for " + (", ".join(parts) if parts else "no group")
            + f" of the {plural(len(f.importance), 'series', 'series')}; ")
    if ordered:
        text += ("an ordering of groups is supported (intervals apart) only on "
                 + join_words(f"{d.device} ({'; '.join(f'{a} > {b}' for a, b in d.ordered)})"
                              for d in ordered) + ". ")
    else:
        text += "on no series do the intervals separate, so no ordering of the groups is claimed. "
    return text


def conclusion(f: Findings) -> str:
    """The takeaway, then a paragraph: the targets, the comparison with the baselines, the
    importance of the cost groups, the reference pool both ways, the intervals' coverage."""
    head = f"**Takeaway.** {f.takeaway}\n\n" if f.takeaway else ""
    judged = len(f.loo_met) + len(f.loo_missed)
    if judged:
        missed = [d for d in f.loo if d.target == "missed"]
        text = (f"Leave-one-model-out, the predictor reaches ρ ≥ {TARGET_LOO_RHO:g} on every "
                f"series of {_of_physical(f.loo_met, judged)} with ≥ "
                f"{MIN_MODELS_FOR_TARGET} models"
                + ("; it falls short on " + ", ".join(f"{d.device} ({_rho(d.rho)})"
                                                      for d in missed) if missed else "")
                + ". ")
    else:
        text = (f"No device has ≥ {MIN_MODELS_FOR_TARGET} models, so the leave-one-out target "
                f"does not apply; leave-one-out ρ: "
                + ", ".join(f"{d.device} {number(d.rho)} (n = {d.n})" for d in f.loo) + ". ")
    better = [v.device for v in f.versus_macs if v.verdict == BETTER]
    if f.versus_macs:
        text += (f"Its leave-one-out ranking is shown better than ranking by MACs on "
                 f"{len(better)} of {plural(len(f.versus_macs), 'series', 'series')} "
                 f"(Benjamini–Hochberg q ≤ {ALPHA:g} over the series). ")
    if not f.new_device:
        return head + text + ("No device has enough models for the new-device scenario (k + 3 "
                              "are needed).")
    text += (f"On a new device with k = {f.k} calibration models it meets every target on "
             f"{_of_physical(f.new_device_met, f.new_device_judged)}. " + _paired_sentence(f))
    text += _importance_sentence(f) + pool_sentence(f.pool)
    return head + upper_first(text.strip())
