"""Notebook 06, the generated prose: sentences from the typed findings of
:mod:`~analysis.studies.prediction.findings`, numbers through :mod:`analysis.text`, every
target and margin formatted from :mod:`analysis.constants` (never typed)."""

from __future__ import annotations

from analysis import predict as P
from analysis.constants import (MIN_MODELS_FOR_TARGET, NEAR_TIE, PREDICTION_TOLERANCE,
                                TARGET_K, TARGET_LOO_RHO, TARGET_MEDIAN_RHO, TARGET_P10_RHO)
from analysis.studies.prediction.findings import (BETTER, MET, NO_TARGET, TOO_FEW, WORSE,
                                                  DeviceImportance, DeviceLoo, DeviceNew,
                                                  Findings, NewDeviceGap, VersusMacs,
                                                  WeakDevice)
from analysis.text import (decimals, finite, number, percent, percent_change, percent_range,
                           plural, rho_value, signed, times)

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
                        f"made"}.get(v.verdict, "the two cannot be told apart (the interval "
                                                "includes 0)")
    ci = (f", 95 % CI {signed(v.ci_low)} to {signed(v.ci_high)}" if finite(v.ci_low) else "")
    return (f"{v.device}: ρ {number(v.rho_predictor)} (predictor, left out) vs "
            f"{number(v.rho_macs)} (MACs), Δρ = {signed(v.delta)}{ci}: {verdict}.")


def new_device_sentence(d: DeviceNew) -> str:
    base = "; ".join(f"{b.method}: median ρ {number(b.rho_median)}, 10th percentile "
                     f"{number(b.rho_p10)}" for b in d.baselines)
    median = number(d.rho_median, _near(d.rho_median, TARGET_MEDIAN_RHO))
    p10 = number(d.rho_p10, _near(d.rho_p10, TARGET_P10_RHO))
    failed = [(d.median_met, f"median ρ {median} < "
                             f"{TARGET_MEDIAN_RHO:g}"),
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


def importance_sentence(d: DeviceImportance) -> str:
    top = ", ".join(f"{P.FEATURE_LABELS.get(f, f)} ({percent(s)})" for f, s in d.top)
    lead = ("the memory-access and synchronization costs the paper names outweigh MACs and "
            "parameters" if d.paper_leads else
            "MACs and parameters outweigh the memory-access and synchronization costs the "
            "paper names")
    text = (f"{d.device}: most important {top}. Memory/synchronization costs carry "
            f"{percent(d.paper_share)} of the importance, MACs and parameters "
            f"{percent(d.flops_share)}, the family indicators {percent(d.family_share)}: "
            f"{lead}.")
    if d.family_dominates:
        text += (" The family indicator carries more than all counted costs together: what "
                 "makes that family slower or faster on this device is not in the graph-level "
                 "counts.")
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
            f"(10th–90th percentile): the result depends strongly on which {g.k} models are "
            f"measured. The inner cross-validation chose {listed} of the draws.")


def loo_text(items) -> str:
    return bullets(loo_sentence(d) for d in items)


def versus_macs_text(items) -> str:
    return bullets(versus_macs_sentence(v) for v in items)


def new_device_text(items) -> str:
    return bullets(new_device_sentence(d) for d in items)


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
            f"percentile ≥ {TARGET_P10_RHO:g} and above both baselines in every split.")


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
            f"{margin} on {len(f.ahead)} of {n} devices"
            + (f" ({_listed(f.ahead)})" if f.ahead else ""))
    if f.near_ties:
        text += f"; near ties within ±{margin}, not counted as ahead: {_listed(f.near_ties)}"
    if f.behind:
        text += f"; behind: {_listed(f.behind)}"
    return text + (". This is descriptive: the draws reuse the same models, so no test is "
                   "made. ")


def conclusion(f: Findings) -> str:
    """A short paragraph: how many devices reach each target, and where the predictor
    fails."""
    target = f"{TARGET_LOO_RHO:g}"
    judged = len(f.loo_met) + len(f.loo_missed)
    if judged:
        missed = [d for d in f.loo if d.device in f.loo_missed]
        text = (f"Leave-one-model-out, the predictor reaches ρ ≥ {target} on {len(f.loo_met)} "
                f"of {plural(judged, 'device')} with ≥ {MIN_MODELS_FOR_TARGET} models"
                + (f"; it falls short on "
                   + ", ".join(f"{d.device} ({_rho(d.rho)})" for d in missed)
                   if missed else "") + ". ")
    else:
        text = (f"No device has ≥ {MIN_MODELS_FOR_TARGET} models, so the leave-one-out target "
                f"does not apply; leave-one-out ρ: "
                + ", ".join(f"{d.device} {number(d.rho)} (n = {d.n})" for d in f.loo) + ". ")
    if not f.new_device:
        return text + ("No device has enough models for the new-device scenario (k + 3 are "
                       "needed).")
    text += (f"On a new device with k = {f.k} calibration models it meets every target on "
             f"{len(f.new_device_met)} of {plural(len(f.new_device), 'device')}. "
             + _paired_sentence(f))
    text += (f"The {COVERAGE} intervals cover {percent(f.coverage_new_device)} of held-out "
             f"models on average at k = {f.k}")
    if finite(f.coverage_loo_low):
        text += (f", and {percent_range(f.coverage_loo_low, f.coverage_loo_high)} per device "
                 f"leaving one model out"
                 + (f" (below the nominal {COVERAGE}: the leave-one-out residuals behind them "
                    f"are optimistic)" if f.coverage_loo_high < P.COVERAGE else ""))
    return text + "."
