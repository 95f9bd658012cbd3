"""Generated prose of the ablation notebooks (Tables 2 and 3), from the tables of
:mod:`analysis.ablation_study`; the rules are those of :mod:`analysis.report`.

Comparisons with the paper are like with like: the same variant, in milliseconds over the
reference and as a slowdown ratio (never one variant's excess against another's).
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import pandas as pd

from analysis.report import inference_text, support_text
from analysis.stats import EXACT_MAX_N

#: Series key of the paper's iPhone 12 column (also used by :mod:`analysis.ablation_study`).
PAPER_KEY = "paper"
#: A slowdown within this relative band of 1 is described as within run-to-run differences,
#: never as "more than its MACs suggest" (noise of a shared desktop CPU is of this order).
NOISE_BAND = 0.05
#: Min- and median-based slowdowns differing by more than this factor flag a noisy series.
NOISY_RATIO = 1.25
#: Table 2 variants whose activation needs a global average pool of the feature map (a
#: synchronization point: every output waits for the whole input), per ablation-ops.md.
SYNCHRONIZING = ("ablation_se_relu", "ablation_dynamic_shift_max", "ablation_dyrelu_a",
                 "ablation_dyrelu_b")


def times(value: float) -> str:
    """A ratio as ``1.37×`` (two decimals below 10, three figures below 100; NaN: "n/a")."""
    if value is None or not math.isfinite(value):
        return "n/a"
    return (f"{value:.2f}×" if value < 10 else f"{value:.3g}×" if value < 100
            else f"{value:,.0f}×")


def percent(ratio: float) -> str:
    return f"{(ratio - 1) * 100:+.2f} %"


def slower_or_faster(slowdown: float, reference_label: str) -> str:
    """``"1.37× slower than ReLU"`` / ``"1.25× faster than ReLU"`` (direction from the sign);
    within :data:`NOISE_BAND` of 1: ``"as fast as ReLU within noise (0.99×)"``."""
    if not math.isfinite(slowdown):
        return "not measured"
    if abs(slowdown - 1) <= NOISE_BAND:
        return f"as fast as {reference_label} within noise ({slowdown:.2f}×)"
    if slowdown >= 1:
        return f"{times(slowdown)} slower than {reference_label}"
    return f"{times(1 / slowdown)} faster than {reference_label}"


def cost_sentence(complexity: pd.DataFrame, reference_label: str) -> str:
    """How much each count moves across the variants, relative to the reference."""
    others = complexity.iloc[1:]
    if not len(others):
        return ""

    def extreme(cost: str) -> tuple[float, str]:
        col = others[f"{cost}_vs_first"]
        i = col.idxmax()
        return float(col.loc[i]), str(others.loc[i, "paper_row"])

    macs_lo, macs_hi = others["macs_vs_first"].min(), others["macs_vs_first"].max()
    ew, ew_row = extreme("elementwise")
    mem, mem_row = extreme("memory_bytes")
    merges0 = int(complexity["merges"].iloc[0])
    merges_hi = int(others["merges"].max())
    merges_row = str(others.loc[others["merges"].idxmax(), "paper_row"])
    return (f"MACs (fvcore's default count, the paper's FLOPs) stay within "
            f"{percent(macs_lo)} to {percent(macs_hi)} of {reference_label}; the element-wise "
            f"work fvcore skips grows up to {times(ew)} ({ew_row}), the estimated memory traffic "
            f"up to {times(mem)} ({mem_row}), and multi-branch merges (synchronization points) "
            f"from {merges0} to up to {merges_hi} ({merges_row}).")


def series_sentence(part: pd.DataFrame, reference: str, reference_label: str,
                    macs: pd.Series) -> str:
    """One series: the range of slowdowns and, for the slowest variant, latency vs MACs."""
    others = part[part["model_id"] != reference].dropna(subset=["slowdown"])
    if not len(others):
        return f"- **{part['series'].iloc[0]}**: no slowdown can be computed (values missing)."
    slow = others.loc[others["slowdown"].idxmax()]
    fast = others.loc[others["slowdown"].idxmin()]
    ref = part[part["model_id"] == reference]["latency_ms"]
    ref_text = f"{float(ref.iloc[0]):.3g} ms" if len(ref) and ref.notna().all() else "n/a"
    text = (f"- **{part['series'].iloc[0]}** ({reference_label} {ref_text}): from "
            f"{fast['paper_row']} ({slower_or_faster(fast['slowdown'], reference_label)}) to "
            f"{slow['paper_row']} ({slower_or_faster(slow['slowdown'], reference_label)})")
    if slow["model_id"] in macs.index:
        extra_time = slow["slowdown"] - 1
        extra_macs = float(macs[slow["model_id"]]) - 1
        text += f"; the slowest one's MACs differ by {percent(extra_macs + 1)}"
        if abs(extra_time) <= NOISE_BAND:
            text += (f" and its latency by less than ±{NOISE_BAND:.0%}, the order of "
                     "run-to-run differences on a shared CPU")
        elif extra_time > 10 * abs(extra_macs):
            text += (", so it costs far more than its MACs suggest" if slow["slowdown"] >= 2
                     else ", so it costs more than its MACs suggest")
    return text + "."


def paper_vs_ours(long: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Like with like: per variant and series measured outside the paper, the paper's and our
    latency over the reference in ms (``*_excess_ms``) and as slowdowns, and
    ``slowdown_ratio`` = paper slowdown / ours."""
    paper = long[long["key"] == PAPER_KEY].set_index("model_id")
    rows = []
    for key, part in long[long["key"] != PAPER_KEY].groupby("key", sort=False):
        ref_ms = part.loc[part["model_id"] == reference, "latency_ms"]
        ref_ms = float(ref_ms.iloc[0]) if len(ref_ms) else math.nan
        for _, r in part.iterrows():
            if r["model_id"] == reference or r["model_id"] not in paper.index:
                continue
            p = paper.loc[r["model_id"]]
            rows.append({"paper_row": r["paper_row"], "model_id": r["model_id"],
                         "series": r["series"], "paper_ms": p["latency_ms"],
                         "paper_excess_ms": p["latency_ms"] - float(
                             paper.loc[reference, "latency_ms"]),
                         "paper_slowdown": p["slowdown"], "ours_ms": r["latency_ms"],
                         "ours_excess_ms": r["latency_ms"] - ref_ms,
                         "ours_slowdown": r["slowdown"],
                         "slowdown_ratio": p["slowdown"] / r["slowdown"]})
    return pd.DataFrame(rows, columns=["paper_row", "model_id", "series", "paper_ms",
                                       "paper_excess_ms", "paper_slowdown", "ours_ms",
                                       "ours_excess_ms", "ours_slowdown", "slowdown_ratio"])


def paper_vs_ours_sentence(compared: pd.DataFrame, reference_label: str) -> str:
    """The variant the paper finds slowest, compared with the same variant here."""
    valid = compared.dropna(subset=["paper_slowdown", "ours_slowdown"])
    if valid.empty:
        return ""
    worst = valid.loc[valid["paper_slowdown"].idxmax(), "model_id"]
    rows = valid[valid["model_id"] == worst]
    first = rows.iloc[0]
    parts = [f"{r.series}: {r.ours_excess_ms:+.3g} ms, {times(r.ours_slowdown)}"
             for r in rows.itertuples()]
    ratios = rows["slowdown_ratio"]
    noise = (rows["ours_slowdown"] - 1).abs() <= NOISE_BAND
    if noise.all():
        gap = (f"within ±{NOISE_BAND:.0%} run-to-run noise here: the cost the paper measured "
               "on the phone does not appear on this machine")
    elif (ratios > 1).all():
        gap = "a larger slowdown in the paper's phone measurement than in any series here"
    elif (ratios < 1).all():
        gap = "a smaller slowdown in the paper than in every series here"
    else:
        gap = "a slowdown between those measured here"
    return (f"- **Paper vs ours, like with like.** The paper's slowest variant, "
            f"{first['paper_row']}, takes {first['paper_excess_ms']:+.3g} ms over "
            f"{reference_label} on the iPhone 12 ({times(first['paper_slowdown'])}); the same "
            f"network here: {'; '.join(parts)} — {gap}. How large this cost is depends on the "
            "device and runtime; MACs do not see it. Every variant is compared in the table "
            "above.")


def groups_sentence(long: pd.DataFrame) -> list[str]:
    """Table 2: synchronizing activations vs. the static ones, per series."""
    lines = []
    for _, part in long.groupby("key", sort=False):
        sync = part[part["model_id"].isin(SYNCHRONIZING)]["slowdown"].dropna()
        static = part[~part["model_id"].isin(SYNCHRONIZING)
                      & (part["model_id"] != "ablation_relu")]["slowdown"].dropna()
        if len(sync) and len(static):
            lines.append(f"{part['series'].iloc[0]}: {times(static.min())}–{times(static.max())}"
                         f" for GELU/SiLU vs {times(sync.min())}–{times(sync.max())} for the "
                         "activations with a global pool")
    return lines


def ordering(values: pd.Series, band: float = NOISE_BAND) -> str:
    """``"Baseline ≈ + Skip connections < + Squeeze-Excite"``: ascending, a neighbour within
    ``band`` (relative) of the previous value joined by ≈ (a tie within noise)."""
    v = values.dropna().sort_values()
    text, prev = "", None
    for name, value in v.items():
        if prev is None:
            text = str(name)
        else:
            text += (" ≈ " if value <= prev * (1 + band) else " < ") + str(name)
        prev = value
    return text


def consistent_order(paper: pd.Series, ours: pd.Series, band: float = NOISE_BAND) -> bool:
    """Whether ``ours`` contradicts no pairwise order of ``paper`` beyond ``band``: for every
    pair the paper orders a < b, ours has b ≥ a / (1 + band)."""
    both = pd.concat([paper, ours], axis=1, keys=["p", "o"]).dropna()
    for a in both.index:
        for b in both.index:
            if both.loc[a, "p"] < both.loc[b, "p"] and both.loc[b, "o"] * (1 + band) < both.loc[a, "o"]:
                return False
    return True


def agreement_sentence(r, paper: pd.Series, ours: pd.Series) -> str:
    """Rank agreement of one series with the paper (latencies by paper row). For n ≤ 3 only
    the ordering is compared, with ties within run-to-run noise."""
    n = int(r["n"])
    if n <= 3:
        same = consistent_order(paper, ours)
        return (f"{r['series']}: with n = {n} only the ordering can be compared — here "
                f"{ordering(ours)} (≈: within ±{NOISE_BAND:.0%}), in the paper "
                f"{ordering(paper, 0)}: "
                + ("consistent with the paper's order" if same
                   else "an order that contradicts the paper's beyond noise")
                + f"; no test can reach p ≤ 0.05 with {n} values (the smallest exact two-sided "
                f"p is {2 / math.factorial(n):.2f})")
    return f"{r['series']}: {inference_text(r)}; {support_text(r)}"


def noise_check(long: pd.DataFrame, ratio: float = NOISY_RATIO) -> list[str]:
    """Series measured here whose min- and median-based slowdowns disagree by more than
    ``ratio`` (either way) for some variant: ``["<series>: <variant> <min>× vs <median>×"]``
    (the worst variant per series)."""
    out = []
    here = long[long["kind"] == "this machine"].dropna(subset=["slowdown", "median_slowdown"])
    for _, part in here.groupby("key", sort=False):
        gap = np.abs(np.log(part["slowdown"] / part["median_slowdown"]))
        if len(gap) and gap.max() > math.log(ratio):
            worst = part.loc[gap.idxmax()]
            out.append(f"{worst['series']}: {worst['paper_row']} {times(worst['slowdown'])} "
                       f"(min) vs {times(worst['median_slowdown'])} (median)")
    return out


def _latencies(long: pd.DataFrame, key: str) -> pd.Series:
    part = long[long["key"] == key]
    return part.set_index("paper_row")["latency_ms"].astype(float)


def ablation_conclusion(spec, long: pd.DataFrame, complexity: pd.DataFrame,
                        correlations: pd.DataFrame | None = None,
                        failed: Mapping[str, str] | None = None) -> str:
    """Markdown conclusion of an ablation notebook; every claim computed from the tables.

    ``spec`` is the notebook's :class:`analysis.ablation_study.AblationTable`."""
    lines = [f"- **Cost counts.** {cost_sentence(complexity, spec.reference_label)}",
             f"- **Latency relative to {spec.reference_label}, per series:**"]
    macs = complexity.set_index("model_id")["macs_vs_first"]
    for _, part in long.groupby("key", sort=False):
        if part["latency_ms"].notna().any():
            lines.append("  " + series_sentence(part, spec.reference, spec.reference_label, macs))
    sentence = paper_vs_ours_sentence(paper_vs_ours(long, spec.reference), spec.reference_label)
    if sentence:
        lines.append(sentence)
    if spec.table == "table2":
        groups = groups_sentence(long)
        if groups:
            lines.append("- **Static vs global-pool activations:** " + "; ".join(groups) + ".")
    if correlations is not None and len(correlations):
        lines.append(f"- **Rank agreement with the paper's {spec.paper_name} ordering:**")
        paper = _latencies(long, PAPER_KEY)
        for _, r in correlations.iterrows():
            lines.append("  - " + agreement_sentence(r, paper, _latencies(long, r["key"])) + ".")
        if int(correlations["n"].max()) <= EXACT_MAX_N:
            lines.append(f"  - With at most {int(correlations['n'].max())} networks the exact "
                         "permutation p is the only inference; no interval is quoted.")
    noisy = noise_check(long)
    if noisy:
        lines.append("- **Measurement noise.** The minimum and the median disagree on some "
                     f"slowdowns by more than a factor {NOISY_RATIO:g} ({'; '.join(noisy)}): "
                     "the machine was probably busy; re-run on an idle machine (or with more "
                     "runs) before reading small differences.")
    if failed:
        lines.append("- **Not measured:** " + "; ".join(f"{k} ({v})" for k, v in failed.items())
                     + ".")
    return "\n".join(lines)


__all__ = ["NOISE_BAND", "NOISY_RATIO", "PAPER_KEY", "SYNCHRONIZING", "ablation_conclusion",
           "agreement_sentence", "cost_sentence", "groups_sentence", "noise_check",
           "paper_vs_ours", "paper_vs_ours_sentence", "percent", "series_sentence",
           "slower_or_faster", "times"]
