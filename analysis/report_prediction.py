"""Generated prose of notebook 06 (latency prediction), from the tables of
:mod:`analysis.prediction_study`; the rules are those of :mod:`analysis.report` (a target is
met only by the numbers, near ties are not counted as ahead, descriptive comparisons say so)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import predict as P
from analysis.prediction_study import (MACS, MIN_MODELS_FOR_TARGET, NEAR_TIE, PAPER_COSTS,
                                       PREDICTOR, SIMILAR, TARGET_K, TARGET_LOO_RHO,
                                       TARGET_MEDIAN_RHO, TARGET_P10_RHO)

def _fmt_rho(v: float) -> str:
    return "undefined" if not np.isfinite(v) else f"{v:.2f}"


def loo_sentences(loo: pd.DataFrame) -> list[str]:
    """Per device: the selected predictor's leave-one-out ρ, error, ±10 % share and
    coverage, the best single feature set, and whether the ρ target is met."""
    out = []
    for device, g in loo.groupby("device", sort=False):
        sel = g[g["predictor"] == "selected"].iloc[0]
        single = g[g["predictor"] != "selected"].sort_values("rho", ascending=False)
        n = int(sel["n"])
        target = ("meets the target ρ ≥ 0.9" if sel["rho"] >= TARGET_LOO_RHO
                  else "misses the target ρ ≥ 0.9") if n >= MIN_MODELS_FOR_TARGET else \
            f"(fewer than {MIN_MODELS_FOR_TARGET} models: no target)"
        out.append(f"{device} (n = {n}): leave-one-out ρ = {_fmt_rho(sel['rho'])}, median "
                   f"error {sel['mdape']:.0f} %, {100 * sel['within10']:.0f} % of models within "
                   f"±10 %, 90 % interval covers {100 * sel['coverage90']:.0f} %; {target}. "
                   f"Highest ρ of a single feature set: {single.iloc[0]['predictor']} "
                   f"({_fmt_rho(single.iloc[0]['rho'])}).")
    return out


def new_device_sentences(summary: pd.DataFrame, k: int = TARGET_K) -> list[str]:
    """Per held-out device at ``k`` calibration models: predictor vs both baselines and the
    targets (median ρ ≥ 0.9, 10th percentile ≥ 0.7, above both baselines)."""
    out = []
    part = summary[summary["k"] == k]
    for device, g in part.groupby("device", sort=False):
        by = g.set_index("method")
        if PREDICTOR not in by.index:
            continue
        p = by.loc[PREDICTOR]
        base = "; ".join(f"{m}: median ρ {_fmt_rho(by.loc[m, 'rho_median'])}, 10th percentile "
                         f"{_fmt_rho(by.loc[m, 'rho_p10'])}" for m in (MACS, SIMILAR)
                         if m in by.index)
        met = [p["rho_median"] >= TARGET_MEDIAN_RHO, p["rho_p10"] >= TARGET_P10_RHO,
               p["beats_both_share"] == 1.0]
        failed = [f"median ρ {_fmt_rho(p['rho_median'])} < 0.9",
                  f"10th percentile {_fmt_rho(p['rho_p10'])} < 0.7",
                  f"above both baselines in only {100 * p['beats_both_share']:.0f} % of the "
                  "splits, not in every split"]
        missed = [t for t, ok in zip(failed, met) if not ok]
        verdict = ("meets all three targets" if not missed else
                   f"misses {len(missed)} of the 3 targets: {'; '.join(missed)}")
        out.append(f"{device}, k = {k}: predictor median ρ {_fmt_rho(p['rho_median'])} "
                   f"(10th percentile {_fmt_rho(p['rho_p10'])}), median error "
                   f"{p['mdape_median']:.0f} %, above both baselines in "
                   f"{100 * p['beats_both_share']:.0f} % of {int(p['n_splits'])} splits; "
                   f"{base}. It {verdict}.")
    return out


def importance_sentences(imp: pd.DataFrame) -> list[str]:
    """Per device: the three most important costs and the share carried by the costs the
    paper names (memory traffic, element-wise work, operators …) against MACs/params."""
    out = []
    for device, g in imp.groupby("device", sort=False):
        g = g.sort_values("share", ascending=False)
        top = ", ".join(f"{P.FEATURE_LABELS[f]} ({100 * s:.0f} %)"
                        for f, s in zip(g["feature"][:3], g["share"][:3]))
        paper = g[g["feature"].isin(PAPER_COSTS)]["share"].sum()
        flops = g[g["feature"].isin(["macs", "params"])]["share"].sum()
        family = g[g["feature"].isin(P.FAMILY_FEATURES)]["share"].sum()
        lead = ("the memory-access and synchronization costs the paper names outweigh MACs "
                "and parameters" if paper > flops else
                "MACs and parameters outweigh the memory-access and synchronization costs "
                "the paper names")
        text = (f"{device}: most important {top}. Memory/synchronization costs carry "
                f"{100 * paper:.0f} % of the importance, MACs and parameters "
                f"{100 * flops:.0f} %, the family indicators {100 * family:.0f} %: {lead}.")
        if family > paper + flops:  # "more than all counted costs together"
            text += (" The family indicator carries more than all counted costs together: "
                     "what makes that family slower or faster on this device is not in the "
                     "graph-level counts.")
        out.append(text)
    return out


def weak_device_sentences(loo: pd.DataFrame, predictions: pd.DataFrame,
                          names: dict | None = None, noise: dict | None = None) -> list[str]:
    """For every device whose selected leave-one-out ρ is below 0.9: its worst-predicted
    models, the spread of its latencies, and (``noise``: device → median run-to-run CV) how
    noisy its measurements are."""
    names, noise = names or {}, noise or {}
    out = []
    sel = loo[loo["predictor"] == "selected"]
    for _, row in sel[sel["rho"] < TARGET_LOO_RHO].iterrows():
        p = predictions[(predictions["device"] == row["device"])
                        & (predictions["predictor"] == "selected")].copy()
        p["err"] = p["predicted_ms"] / p["latency_ms"] - 1
        worst = p.reindex(p["err"].abs().sort_values(ascending=False).index)[:3]
        listed = ", ".join(f"{names.get(m, m)} ({100 * e:+.0f} %)"
                           for m, e in zip(worst["model_id"], worst["err"]))
        spread = p["latency_ms"].max() / p["latency_ms"].min()
        gaps = np.diff(np.sort(np.log(p["latency_ms"])))
        close = float(np.mean(gaps < np.log(1 + row["mdape"] / 100)))
        text = (f"{row['device']} (ρ = {_fmt_rho(row['rho'])}): the worst-predicted models are "
                f"{listed}. Its latencies span {spread:.1f}×, and {100 * close:.0f} % of "
                f"neighbouring models (in latency order) are closer together than the median "
                f"error of {row['mdape']:.0f} %, so errors of that size reorder them.")
        if row["device"] in noise and np.isfinite(noise[row["device"]]):
            text += (f" Its measurements vary by a median {100 * noise[row['device']]:.0f} % "
                     f"from run to run (coefficient of variation).")
        out.append(text)
    return out


def report_k(summary: pd.DataFrame) -> int | None:
    """The k the report is given for: :data:`TARGET_K` when evaluated, else the largest k."""
    ks = set(summary["k"]) if len(summary) else set()
    return TARGET_K if TARGET_K in ks else (int(max(ks)) if ks else None)


def paired_split_groups(part: pd.DataFrame, margin: float = NEAR_TIE) -> dict[str, list]:
    """Predictor rows of one k split into ``above`` / ``tie`` / ``below`` by the median over
    splits of the paired difference ρ_predictor − ρ_better baseline (same split): a near tie is
    within ± ``margin``. Falls back to the difference of medians when no paired column."""
    groups = {"above": [], "tie": [], "below": []}
    col = "paired_delta_median" if "paired_delta_median" in part else None
    for _, r in part.iterrows():
        d = r[col] if col else np.nan
        if not np.isfinite(d):
            continue
        key = "above" if d > margin else "below" if d < -margin else "tie"
        groups[key].append((r["device"], float(d)))
    return groups


def _paired_sentence(part: pd.DataFrame, margin: float = NEAR_TIE) -> str:
    g = paired_split_groups(part, margin)
    n = sum(len(v) for v in g.values())
    if not n:
        return ""
    def listed(items):
        return ", ".join(f"{d} ({x:+.3f})" for d, x in items)
    text = (f"Paired over the same calibration draws (median over splits of its ρ minus the "
            f"better baseline's ρ in that split), the predictor is ahead by more than "
            f"{margin:g} on {len(g['above'])} of {n} devices"
            + (f" ({listed(g['above'])})" if g["above"] else ""))
    if g["tie"]:
        text += f"; near ties within ±{margin:g}, not counted as ahead: {listed(g['tie'])}"
    if g["below"]:
        text += f"; behind: {listed(g['below'])}"
    return text + (". This is descriptive: the draws reuse the same models, so no test is "
                   "made. ")


def conclusion(loo: pd.DataFrame, summary: pd.DataFrame, k: int | None = TARGET_K) -> str:
    """A short paragraph: how many devices reach each target, and where the predictor fails."""
    allsel = loo[loo["predictor"] == "selected"]
    sel = allsel[allsel["n"] >= MIN_MODELS_FOR_TARGET]
    ok = sel[sel["rho"] >= TARGET_LOO_RHO]["device"].tolist()
    bad = sel[sel["rho"] < TARGET_LOO_RHO]
    if len(sel):
        text = (f"Leave-one-model-out, the predictor reaches ρ ≥ 0.9 on {len(ok)} of {len(sel)} "
                f"devices with ≥ {MIN_MODELS_FOR_TARGET} models"
                + (f"; it falls short on {', '.join(f'{d} (ρ = {r:.2f})' for d, r in zip(bad['device'], bad['rho']))}"
                   if len(bad) else "") + ". ")
    else:
        text = (f"No device has ≥ {MIN_MODELS_FOR_TARGET} models, so the leave-one-out target "
                f"does not apply; leave-one-out ρ: "
                + ", ".join(f"{d} {_fmt_rho(r)} (n = {n})" for d, r, n in
                            zip(allsel["device"], allsel["rho"], allsel["n"])) + ". ")
    part = summary[(summary["k"] == k) & (summary["method"] == PREDICTOR)] if k else summary[:0]
    if not len(part):
        return text + ("No device has enough models for the new-device scenario (k + 3 are "
                       "needed).")
    nd_ok = part[(part["rho_median"] >= TARGET_MEDIAN_RHO) & (part["rho_p10"] >= TARGET_P10_RHO)
                 & (part["beats_both_share"] == 1.0)]["device"].tolist()
    text += (f"On a new device with k = {k} calibration models it meets every target on "
             f"{len(nd_ok)} of {len(part)} devices. ") + _paired_sentence(part)
    cov = part["coverage90"].mean()
    text += f"The 90 % intervals cover {100 * cov:.0f} % of held-out models on average at k = {k}"
    if allsel["coverage90"].notna().any():
        text += (f", and {100 * allsel['coverage90'].min():.0f}–"
                 f"{100 * allsel['coverage90'].max():.0f} % per device leaving one model out"
                 + (" (below the nominal 90 %: the leave-one-out residuals behind them are "
                    "optimistic)" if allsel["coverage90"].max() < 0.9 else ""))
    return text + "."


def new_device_gap_sentences(loo: pd.DataFrame, splits: pd.DataFrame,
                             k: int = TARGET_K) -> list[str]:
    """For every device whose predictor median ρ at ``k`` calibration models is below 0.9:
    what the same predictor reaches with all other models (leave one out), how much ρ varies
    with the k models drawn, and which designs the inner cross-validation picked."""
    out = []
    part = splits[(splits["k"] == k) & (splits["method"] == PREDICTOR)]
    for device, g in part.groupby("device", sort=False):
        if g["rho"].median() >= TARGET_MEDIAN_RHO:
            continue
        sel = loo[(loo["device"] == device) & (loo["predictor"] == "selected")]
        full = f"{sel['rho'].iloc[0]:.2f}" if len(sel) else "n/a"
        lo, hi = np.nanpercentile(g["rho"], [10, 90])
        designs = g["design"].str.replace(r", α = .*", "", regex=True).value_counts(
            normalize=True)
        listed = ", ".join(f"{d} in {100 * s:.0f} %" for d, s in designs[:3].items())
        out.append(f"{device}: with k = {k} the median ρ is {g['rho'].median():.2f}, against "
                   f"{full} with all other models (leave one out); across the "
                   f"{len(g)} draws ρ ranges from {lo:.2f} to {hi:.2f} (10th–90th "
                   f"percentile): the result depends strongly on which {k} models are "
                   f"measured. The inner cross-validation chose {listed} of the draws.")
    return out


def loo_vs_macs_sentences(table: pd.DataFrame) -> list[str]:
    """"Better" only where the paired 95 % CI of Δρ excludes 0."""
    out = []
    for _, r in table.iterrows():
        if not np.isfinite(r["ci_low"]):
            verdict = (f"n = {int(r['n'])} is too small for the paired bootstrap: no "
                       f"comparison is made")
        elif r["ci_low"] > 0:
            verdict = "the predictor ranks the left-out models better than MACs do"
        elif r["ci_high"] < 0:
            verdict = "ranking by MACs is better than the predictor"
        else:
            verdict = "the two cannot be told apart (the interval includes 0)"
        ci = (f", 95 % CI {r['ci_low']:+.2f} to {r['ci_high']:+.2f}"
              if np.isfinite(r["ci_low"]) else "")
        out.append(f"{r['device']}: ρ {r['rho_predictor']:.2f} (predictor, left out) vs "
                   f"{r['rho_macs']:.2f} (MACs), Δρ = {r['delta_rho']:+.2f}{ci}: {verdict}.")
    return out
