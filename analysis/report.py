"""Generated prose: findings computed by the package → the sentences the notebooks print.

Every sentence is built from a number in a table passed in, and every claim obeys the rules
of :mod:`analysis.stats`:

- A correlation is *supported* only when its primary inference says so — the exact
  permutation p for n ≤ 8 (no interval is quoted then), the bootstrap CI for n > 8 (scipy's p
  is quoted as secondary, and a sentence says when the two disagree). Results with n ≤ 8 are
  labelled "small n"; a result at exactly the critical value is "borderline".
- One metric is called a *better* predictor than another only when the paired-bootstrap CI of
  Δρ excludes 0 and the Holm-adjusted p is ≤ 0.05 (:func:`analysis.stats.paired_comparisons`).
- Rankings (of devices, of predictors) never place a small-n result above a larger one
  (:func:`analysis.stats.rank_order`).
- Direction words follow the sign of the number they describe.

The ablation studies' prose (Tables 2 and 3) is in :mod:`analysis.report_ablation`.
"""

from __future__ import annotations

import math

import pandas as pd

from analysis.stats import (ALPHA, BOOTSTRAP, EXACT, EXACT_MAX_N, claim_verdict, format_p,
                            rank_order)

#: Candidate predictors, in display order, with their labels.
METRIC_LABELS = {
    "macs": "MACs (paper's FLOPs)",
    "params": "Parameters",
    "activations": "Activations (fvcore)",
    "memory_bytes": "Memory traffic (bytes)",
    "operators": "Operators",
    "layers": "Conv / linear / matmul layers",
    "merges": "Multi-branch merges",
    "elementwise": "Element-wise ops",
}
#: The paper's claim about parameters and FLOPs on every device is that they are *weakly*
#: correlated with latency; a verdict uses this ρ threshold (:func:`analysis.stats.claim_verdict`).
WEAK_THRESHOLD = 0.5


def label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric)


def direction(rho: float) -> str:
    return "positive" if rho > 0 else "negative" if rho < 0 else "zero"


def bound(value: float, *compared: float) -> str:
    """A CI bound with 2 decimals, or 3 where 2 would make it look equal to a value it is
    compared with (a threshold, the paper's ρ, the other bound)."""
    two = f"{value:.2f}"
    if any(math.isfinite(c) and two == f"{c:.2f}" and value != c for c in compared):
        return f"{value:.3f}"
    return two


def inference_text(r) -> str:
    """ρ with its primary inference, e.g. ``ρ = 0.46 (95 % CI −0.03 to 0.79, n = 21; scipy p =
    0.037)`` or ``ρ = 1.00 (small n = 3: exact permutation p = 0.33)``."""
    n = int(r["n"])
    if n < 3 or not math.isfinite(r["rho"]):
        return f"ρ undefined (n = {n}: at least 3 models with varying values are needed)"
    if r["inference"] == EXACT:
        return (f"ρ = {r['rho']:.2f} (small n = {n}: exact permutation p = "
                f"{format_p(r['exact_p'])}, no interval)")
    lo, hi = r["ci_low"], r["ci_high"]
    return (f"ρ = {r['rho']:.2f} (95 % CI {bound(lo, hi)} to {bound(hi, lo)}, n = {n}; "
            f"scipy p = {format_p(r['p_value'])})")


def support_text(r) -> str:
    """Whether the primary inference supports a non-zero correlation, in words."""
    if int(r["n"]) < 3 or not math.isfinite(r["rho"]):
        return "no inference possible"
    if not r["supported"]:
        why = ("the exact p exceeds 0.05" if r["inference"] == EXACT
               else "the interval includes 0")
        return f"not distinguishable from no correlation ({why})"
    word = "borderline: supported only just" if r["borderline"] else "supported"
    return f"a {direction(r['rho'])} correlation is {word}"


def disagreement_text(r) -> str:
    """One sentence when scipy's p and the bootstrap CI (primary) disagree, else ''."""
    if r["inference"] != BOOTSTRAP or not math.isfinite(r["p_value"]):
        return ""
    p_says = r["p_value"] <= ALPHA
    if p_says == bool(r["supported"]):
        return ""
    if p_says:
        return (f" scipy's p = {format_p(r['p_value'])} would call it significant, but the "
                "bootstrap interval, the primary inference here, includes 0.")
    return (f" The bootstrap interval excludes 0 although scipy's p = {format_p(r['p_value'])}"
            " is above 0.05; the interval is the primary inference.")


# -- notebook 01 -------------------------------------------------------------------------------

#: The single basis of the prose for sizes: the project's fvcore counts of its own
#: implementations (they exist for every model and device); Table 9's published sizes are
#: shown in the tables only.
PROSE_BASIS = "our fvcore counts"


def table1_sentences(table1: pd.DataFrame) -> list[str]:
    """Table 1, paper vs ours, one line per (device, metric) on :data:`PROSE_BASIS` (the
    published-size rows are shown in the table only)."""
    lines = []
    rows = table1[table1["source"] == PROSE_BASIS] if "source" in table1 else table1
    for _, r in rows.iterrows():
        ours = {"rho": r["our_rho"], "p_value": r["our_p"], "ci_low": r["ci_low"],
                "ci_high": r["ci_high"], "n": r["n"], "inference": r["inference"],
                "exact_p": r.get("exact_p", math.nan), "supported": r["supported"],
                "borderline": r.get("borderline", False)}
        if r["inference"] == BOOTSTRAP:
            where = ("inside" if r["paper_rho_in_ci"] else "outside")
            compare = f"the paper's ρ = {r['paper_rho']:.2f} lies {where} our interval"
        else:
            compare = f"the paper reports ρ = {r['paper_rho']:.2f}"
        lines.append(f"- **{r['device']}, {label(r['metric'])}**: {inference_text(ours)}; "
                     f"{support_text(ours)}; {compare} (the paper's p = "
                     f"{format_p(r['paper_p'])})." + disagreement_text(ours))
    return lines


def claim_verdicts(correlations: pd.DataFrame, metrics=("macs", "params"),
                   threshold: float = WEAK_THRESHOLD) -> pd.DataFrame:
    """The paper's claim "latency is weakly correlated with <metric>" judged on every device:
    ``device, metric, rho, ci_low, ci_high, n, verdict`` (holds if the whole CI lies within
    ±``threshold``, contradicted if it lies wholly beyond ±``threshold``, else inconclusive —
    always inconclusive without a CI, n ≤ 8; :func:`analysis.stats.claim_verdict`)."""
    part = correlations[correlations["metric"].isin(metrics)].copy()
    part["verdict"] = [claim_verdict(lo, hi, threshold, "weak")
                       for lo, hi in zip(part["ci_low"], part["ci_high"])]
    return part[["device", "metric", "rho", "ci_low", "ci_high", "n", "verdict"]]


def verdict_sentences(verdicts: pd.DataFrame, threshold: float = WEAK_THRESHOLD) -> list[str]:
    lines = []
    for metric, part in verdicts.groupby("metric", sort=False):
        items = []
        for _, r in part.iterrows():
            lo, hi = r["ci_low"], r["ci_high"]
            ci = (f"CI {bound(lo, threshold, -threshold, hi)} to "
                  f"{bound(hi, threshold, -threshold, lo)}" if math.isfinite(lo)
                  else f"small n = {int(r['n'])}, no CI")
            items.append(f"{r['device']}: **{r['verdict']}** (ρ = {r['rho']:.2f}, {ci})")
        lines.append(f"- *\"Latency is weakly correlated with {label(metric)}\"* (rule: holds if "
                     f"the 95 % CI lies within ±{threshold}, contradicted if it lies wholly "
                     f"beyond ±{threshold}, else inconclusive) — " + "; ".join(items) + ".")
    return lines


def best_predictor_sentences(correlations: pd.DataFrame, paired: pd.DataFrame) -> list[str]:
    """Per device: the top metric by ρ and whether it is *shown* better than the runner-up and
    the others (paired, Holm-adjusted)."""
    lines = []
    for device, part in correlations.dropna(subset=["rho"]).groupby("device", sort=False):
        part = part.sort_values("rho", ascending=False)
        top = part.iloc[0]
        head = f"- **{device}**: highest ρ for {label(top['metric'])}, {inference_text(top)}"
        if int(top["n"]) <= EXACT_MAX_N:
            lines.append(head + f"; with n = {int(top['n'])} models no two metrics can be "
                         "told apart (a paired comparison needs n > 8).")
            continue
        comp = paired[paired["device"] == device]
        if comp.empty:
            lines.append(head + "; no other metric to compare with.")
            continue
        beaten = comp[comp["better"]]
        runner = comp.sort_values("rho_other", ascending=False).iloc[0]
        k = int(comp["n_comparisons"].iloc[0])
        runner_text = (f"over the runner-up {label(runner['other'])} (ρ = {runner['rho_other']:.2f}) "
                       f"Δρ = {runner['delta']:+.2f}, paired 95 % CI {runner['ci_low']:+.2f} to "
                       f"{runner['ci_high']:+.2f}, Holm p = {format_p(runner['p_holm'])}")
        if len(beaten) == k:
            verdict = f"it is shown better than all {k} other metrics ({runner_text})"
        elif len(beaten):
            verdict = (f"it is shown better than {len(beaten)} of the {k} other metrics "
                       f"({', '.join(label(m) for m in beaten['other'])}), but not than the "
                       f"rest ({runner_text}), so it is not *the* best predictor")
        else:
            verdict = (f"it is not shown better than any of the {k} others ({runner_text}), "
                       "so no best predictor can be named")
        lines.append(head + f"; {verdict} ({k} paired comparisons on this device, Holm-adjusted).")
    return lines


def agreement_sentence(agreement: pd.DataFrame) -> str:
    """How far devices agree on the latency ranking: how many pairs (n > 8) agree beyond
    chance and strongly, the highest and the lowest; small-n pairs are counted, not ranked."""
    off = agreement[agreement["a"] != agreement["b"]].dropna(subset=["rho"])
    if off.empty:
        return ""
    ranked = rank_order(off)
    big = ranked[ranked["n"] > EXACT_MAX_N]
    if big.empty:
        return (f"- **Device agreement**: every pair of devices shares at most {EXACT_MAX_N} "
                "models, too few to rank them.")
    hi, lo = big.iloc[0], big.iloc[-1]
    supported = big[big["supported"].astype(bool) & (big["rho"] > 0)]
    strong = big[big["ci_low"] > 0.5]
    text = (f"- **Device agreement** ({len(big)} pairs with n > {EXACT_MAX_N}): "
            f"{len(supported)} agree beyond chance (CI above 0), {len(strong)} of them strongly "
            f"(CI above 0.5). Highest: {hi['a']} and {hi['b']}, {inference_text(hi)}; lowest: "
            f"{lo['a']} and {lo['b']}, {inference_text(lo)}. ")
    if len(strong) == len(big):
        text += "A latency ranking measured on one device transfers well to the others."
    elif not len(supported):
        text += "A ranking measured on one device is not shown to transfer to any other."
    else:
        text += ("A ranking measured on one device transfers to some devices and is not shown "
                 "to transfer to others: measure on the target device.")
    small = ranked[(ranked["n"] <= EXACT_MAX_N) & (ranked["n"] >= 3)]
    if len(small):
        text += (f" {len(small)} pair(s) share only ≤ {EXACT_MAX_N} models and are not ranked "
                 "(small n).")
    return text


def compact(r) -> str:
    """``ρ = 0.83 (CI 0.52 to 0.95, n = 16)`` or ``ρ = 0.40 (n = 4, exact p = 0.75)``."""
    n = int(r["n"])
    if n < 3 or not math.isfinite(r["rho"]):
        return f"no ρ (only {n} models)"
    if r["inference"] == EXACT:
        return f"ρ = {r['rho']:.2f} (small n = {n}, exact p = {format_p(r['exact_p'])})"
    return f"ρ = {r['rho']:.2f} (CI {r['ci_low']:.2f} to {r['ci_high']:.2f}, n = {n})"


def conv_only_sentences(correlations: pd.DataFrame, conv_only: pd.DataFrame) -> list[str]:
    """Conv-only vs all models for MACs and parameters: one line per metric over the devices;
    an empty result says why."""
    lines = []
    both = correlations.merge(conv_only, on=["device", "metric"], suffixes=("_all", "_conv"))
    for metric in ("macs", "params"):
        items = []
        for _, r in both[both["metric"] == metric].iterrows():
            conv = {k[:-5]: r[k] for k in r.index if k.endswith("_conv")}
            word = ("a non-zero correlation supported" if conv.get("supported")
                    else "not distinguishable from 0")
            items.append(f"{r['device']} {compact(conv)}, {word}; all models ρ = {r['rho_all']:.2f}")
        if items:
            lines.append(f"- **{label(metric)}:** " + "; ".join(items)
                         + ".")
    return lines


def correlation_conclusion(correlations: pd.DataFrame, *, table1: pd.DataFrame | None = None,
                           paired: pd.DataFrame | None = None,
                           agreement: pd.DataFrame | None = None,
                           conv_only: pd.DataFrame | None = None) -> str:
    """Notebook 01's conclusion (markdown), every claim computed from the tables passed in."""
    lines = []
    lines.append(f"*Sizes in this text are {PROSE_BASIS} (fvcore, deployed form); Table 9's "
                 "published sizes are in the tables.*")
    if table1 is not None and len(table1):
        lines.append("**Table 1, paper vs reproduction** on the paper's own latencies:")
        lines += table1_sentences(table1)
    verdicts = claim_verdicts(correlations)
    if len(verdicts):
        lines.append("**The paper's claims, per device:**")
        lines += verdict_sentences(verdicts)
    if conv_only is not None and len(conv_only):
        lines.append("**Convolutional models only** (transformers removed):")
        lines += conv_only_sentences(correlations, conv_only)
    if paired is not None:
        lines.append("**Best predictor per device** (paired bootstrap of Δρ):")
        lines += best_predictor_sentences(correlations, paired)
    if agreement is not None and len(agreement):
        text = agreement_sentence(agreement)
        if text:
            lines += ["**Across devices:**", text]
    return "\n".join(lines)


def describe_table1(table1: pd.DataFrame) -> str:
    """Table 1 paper vs ours, every row (both bases), for the notebook's §3."""
    lines = []
    for _, r in table1.iterrows():
        ours = {"rho": r["our_rho"], "p_value": r["our_p"], "ci_low": r["ci_low"],
                "ci_high": r["ci_high"], "n": r["n"], "inference": r["inference"],
                "exact_p": r.get("exact_p", math.nan)}
        lines.append(f"* **{r['device']}, {label(r['metric'])}, {r['source']}**: "
                     f"{inference_text(ours)} vs the paper's {r['paper_rho']:.2f} (difference "
                     f"{r['rho_diff']:+.2f}; paper p = {format_p(r['paper_p'])}).")
    return "\n".join(lines)


__all__ = ["METRIC_LABELS", "WEAK_THRESHOLD", "agreement_sentence", "best_predictor_sentences",
           "claim_verdicts", "conv_only_sentences", "correlation_conclusion", "describe_table1",
           "direction", "disagreement_text", "inference_text", "label",
           "support_text", "table1_sentences", "verdict_sentences", "PROSE_BASIS", "bound"]
