"""Generated prose of notebook 05 (the population study), from the findings structure of
:func:`analysis.population_study.findings`; the rules are those of :mod:`analysis.report`:
the primary inference decides, comparisons are paired (or, between families, an independent
bootstrap of the difference), bounds are printed with enough decimals to stay consistent."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis import stats
from analysis.population_study import (FIGURE2_UNFUSED, METRIC_LABELS, METRICS,
                                       POPULATION_LABELS, POPULATIONS, share_at_or_below)

# -- findings and prose --------------------------------------------------------------------------
def _cell(corr: pd.DataFrame, pop: str, metric: str):
    hit = corr[(corr["population"] == pop) & (corr["metric"] == metric)]
    return None if hit.empty else hit.iloc[0]


def _decimals(*bounds: float, against=()) -> int:
    """2 decimals, or 3 (at most 4) where 2 would make the text look self-contradictory: the
    bounds round to the same value, or a value compared with them (and not equal to one)
    rounds equal to one of them."""
    for k in (2, 3):
        rk = [round(float(b), k) for b in bounds if math.isfinite(b)]
        if len(set(rk)) == len(rk) and not any(round(float(v), k) in rk for v in against
                                               if float(v) not in bounds):
            return k
    return 4


def _ci_pair(lo: float, hi: float) -> str:
    """``+0.05 to +0.07`` with enough decimals that the bounds (and 0) stay distinct."""
    k = _decimals(lo, hi, against=[0.0])
    return f"{lo:+.{k}f} to {hi:+.{k}f}"


def _describe(r, against=()) -> str:
    """ρ with its primary inference (bootstrap CI for n > 8, exact p for n ≤ 8); ``against``:
    values the text compares with the interval (more decimals where needed, :func:`_decimals`)."""
    n = int(r["n"])
    if n < 3 or not math.isfinite(r["rho"]):
        return f"no ρ (n = {n}: fewer than 3 models with a latency and this count)"
    if n <= stats.EXACT_MAX_N:
        return (f"ρ = {r['rho']:.2f} (small n = {n}: exact permutation p = "
                f"{stats.format_p(r['exact_p'])}, no interval)")
    k = _decimals(r["ci_low"], r["ci_high"], against=against)
    text = (f"ρ = {r['rho']:.{k}f} (95 % CI {r['ci_low']:.{k}f} to {r['ci_high']:.{k}f}, "
            f"n = {n})")
    if not r.get("supported", True):
        text += ", an interval that includes 0"
    return text


_VERDICT_WORDS = {"holds": "holds", "contradicted": "is contradicted",
                  "inconclusive": "is inconclusive"}


def _upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def _share_text(share: float, total: int) -> str:
    return (f"none of the {total} subsets" if share == 0 else
            f"{share:.1%} of the subsets" if share >= 0.001 else f"{share:.2%} of the subsets")


def _paper_vs_interval(paper: pd.DataFrame, r) -> str:
    """Where the paper's Table 1 values fall relative to the interval of row ``r``."""
    parts = []
    k = _decimals(r["ci_low"], r["ci_high"], against=paper["rho"])
    for _, p in paper.iterrows():
        where = ("below" if p["rho"] < r["ci_low"] else "above" if p["rho"] > r["ci_high"]
                 else "inside")
        parts.append(f"the paper's {p['label']} ρ = {p['rho']:.{k}f} lies {where} this interval")
    return ("; " + ", ".join(parts)) if parts else ""


def conclusion(f: dict) -> str:
    """Markdown bullets generated from the findings of notebook 05 (keys: ``device``,
    ``correlations``, ``comparisons``, ``figure2_missing``, ``missing``, ``draws``, ``notes``,
    ``paper``, ``paper_n``). Claims follow the primary inference of :mod:`analysis.stats`."""
    corr, lines = f["correlations"], []
    dev = f["device"]
    weak_rule = ("the paper's \"weakly correlated on a desktop CPU\" is judged by a stated rule: "
                 "it holds if the whole 95 % CI lies within ±0.5, is contradicted if it lies "
                 "wholly beyond ±0.5 (a strong correlation of either sign), else inconclusive")
    for pop in POPULATIONS:
        r = _cell(corr, pop, "macs")
        if r is None:
            continue
        if int(corr.loc[corr["population"] == pop, "n"].max()) == 0:
            lines.append(f"- {_upper(POPULATION_LABELS[pop])}: none in this file.")
            continue
        against = f["paper"]["rho"] if pop == "figure2" else ()
        text = (f"- {_upper(POPULATION_LABELS[pop])} on the {dev}: latency vs MACs "
                f"{_describe(r, against)}")
        if int(r["n"]) > stats.EXACT_MAX_N and math.isfinite(r["rho"]):
            verdict = stats.claim_verdict(r["ci_low"], r["ci_high"], 0.5, "weak")
            text += f"; the claim of a weak correlation {_VERDICT_WORDS[verdict]} here"
            if pop == "figure2":
                text += _paper_vs_interval(f["paper"], r)
        others = [f"{METRIC_LABELS[m]} {_describe(c)}" for m in METRICS[1:]
                  if (c := _cell(corr, pop, m)) is not None]
        lines.append(text + (". Also " + "; ".join(others) if others else "") + ".")
    lines.append(f"- Verdict rule: {weak_rule}.")
    unfused = [k for k in f.get("figure2_missing", {}) if k in FIGURE2_UNFUSED]
    if unfused:
        lines.append(f"- {', '.join(unfused)} are not among the Figure 2 models used: timm "
                     "benchmarks MobileOne in its unfused train-time form, not the deployed "
                     "network the paper times (reasons with the counts below). Their timm rows "
                     "remain in the all-models and efficient-regime populations, since that is "
                     "what timm measured.")
    comp = f.get("comparisons")
    for pop, g in (comp.groupby("population", sort=False) if comp is not None else []):
        k, best = int(g["n_comparisons"].iloc[0]), METRIC_LABELS.get(g["best"].iloc[0])
        text = f"- {_upper(POPULATION_LABELS.get(pop, pop))}: {best} have the highest ρ"
        for better, part in g.groupby("better", sort=False):
            items = ", ".join(f"{METRIC_LABELS.get(r.other, r.other)} (Δρ = {r.delta:+.2f}, paired "
                              f"95 % CI {_ci_pair(r.ci_low, r.ci_high)}, Holm p = "
                              f"{stats.format_p(r.p_holm)})" for r in part.itertuples())
            text += (f"; they rank latency better than {items}" if better else
                     f"; they are not shown to be better than {items}")
        lines.append(text + f" ({k} paired comparison{'s' * (k > 1)}, Holm-adjusted; 'better' "
                     f"needs a Δρ interval excluding 0 and Holm p ≤ {stats.ALPHA:g}).")
    for metric, g in f["missing"][f["missing"]["population"] == "all"].groupby("metric"):
        if int(g["n_missing"].iloc[0]):
            lines.append(f"- {int(g['n_missing'].iloc[0])} model(s) lack a "
                         f"{METRIC_LABELS.get(metric, metric)} count ({g['models'].iloc[0]}); "
                         "they are left out of that metric's correlations only.")
    fam = f.get("family_difference")
    if fam is not None and min(fam["n_a"], fam["n_b"]) > stats.EXACT_MAX_N:
        k = max(_decimals(fam["ci_low"], fam["ci_high"], against=[0.0]),
                3 if abs(fam["delta"]) < 0.005 else 2)  # never print a difference as ±0.00
        text = (f"- MACs vs latency: ρ = {fam['rho_a']:.2f} among convolutional models "
                f"(n = {fam['n_a']}) and {fam['rho_b']:.2f} among transformers (n = "
                f"{fam['n_b']}); independent samples, so the difference ρ_conv − ρ_transformer = "
                f"{fam['delta']:+.{k}f} gets a bootstrap interval resampling each family "
                f"separately: 95 % CI {fam['ci_low']:+.{k}f} to {fam['ci_high']:+.{k}f}")
        if fam["differs"]:
            hi = "convolutional models" if fam["delta"] > 0 else "transformers"
            text += f", which excludes 0: MACs rank latency more closely among {hi}."
        else:
            text += ", which includes 0: no difference between the families is shown."
        lines.append(text)
    if f.get("figure2_missing"):
        lines.append("- Figure 2 models not used: " + "; ".join(
            f"{k} ({v})" for k, v in f["figure2_missing"].items()) + ".")
    n21, draws = f["paper_n"], f["draws"]
    if n21 in draws and len(draws[n21]):
        d = draws[n21]
        q05, q50, q95 = np.quantile(d, [0.05, 0.5, 0.95])
        k = _decimals(q05, q95, against=f["paper"]["rho"])  # 3 where 2 would contradict
        text = (f"- How much can {n21} models tell? ρ(latency, MACs) of {len(d)} random "
                f"{n21}-model subsets of the efficient regime on the {dev} ranges from "
                f"{q05:.{k}f} to {q95:.{k}f} (5–95 %), median {q50:.{k}f}.")
        for _, p in f["paper"].iterrows():
            share = share_at_or_below(d, p["rho"])
            where = ("below the 5 % quantile" if share < 0.05 else
                     "above the 95 % quantile" if share > 0.95 else "inside the 5–95 % range")
            text += (f" The paper's {p['label']} ρ = {p['rho']:.{k}f} lies {where}: "
                     f"{_share_text(share, len(d))} give a ρ this low or lower.")
        text += (" Both paper values come from other devices; the comparison says how typical "
                 f"such a value would be for {n21} models drawn at random on this one.")
        lines.append(text)
    else:
        lines.append(f"- No subsample distribution at n = {n21} (the paper's number of models): "
                     "add it to SUBSAMPLE_SIZES, or the efficient regime is too small.")
    refs = f.get("references")
    if refs is not None and len(refs):
        lines.append("- The paper's own Table 9 devices, ρ(latency, published MACs) over their "
                     "Figure 2 models: " + "; ".join(
                         f"{r.device} {r.rho:.2f} (n = {r.n}" + (
                             f"; {_share_text(share_at_or_below(draws[r.n], r.rho), len(draws[r.n]))}"
                             f" of that size on this CPU give a ρ this low or lower)"
                             if r.n in draws else ")") for r in refs.itertuples()) + ".")
    lines += [f"- {note}." for note in f.get("notes", [])]
    return "\n".join(lines)
