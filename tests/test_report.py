"""The generated prose on synthetic inputs: it never claims what its numbers do not support."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from analysis import ablation_study as ab
from analysis import report
from analysis import report_ablation as ra
from analysis.stats import correlation_table, paired_comparisons, rank_agreement

TABLE2 = ["ablation_relu", "ablation_gelu", "ablation_se_relu", "ablation_silu",
          "ablation_dynamic_shift_max", "ablation_dyrelu_a", "ablation_dyrelu_b"]
TABLE3 = ["ablation_baseline", "ablation_se", "ablation_skip"]


def device_data(n: int, seed: int, noise: float = 0.0, name: str = "d") -> pd.DataFrame:
    """Synthetic device: latency = MACs (plus noise), params unrelated."""
    rng = np.random.default_rng(seed)
    macs = rng.lognormal(size=n)
    latency = macs * np.exp(noise * rng.normal(size=n))
    return pd.DataFrame({"device": name, "model": [f"m{i}" for i in range(n)],
                         "latency_ms": latency, "macs": macs, "params": rng.lognormal(size=n)})


def claims_supported(text: str) -> bool:
    return bool(re.search(r"(?<!not )(?<!only just)\bis supported\b", text))


# -- correlation prose ------------------------------------------------------------------------

def test_tiny_n_is_labelled_and_never_called_supported():
    data = device_data(3, 0)
    corr = correlation_table(data, ["macs", "params"], n_bootstrap=100)
    row = corr[corr.metric == "macs"].iloc[0]
    assert row["rho"] == 1.0  # perfectly ranked, yet the exact p for n = 3 is 1/3
    text = report.inference_text(row)
    assert "small n = 3" in text and "p = 0.33" in text and "CI" not in text
    assert "not distinguishable" in report.support_text(row)
    out = report.correlation_conclusion(corr, paired=paired_comparisons(data, ["macs", "params"]))
    assert "no two metrics can be told apart" in out
    assert "shown better" not in out and not claims_supported(out)


def test_noise_device_supports_nothing_and_names_no_best_predictor():
    rng = np.random.default_rng(1)
    data = pd.DataFrame({"device": "noise", "latency_ms": rng.lognormal(size=25),
                         "macs": rng.lognormal(size=25), "params": rng.lognormal(size=25)})
    corr = correlation_table(data, ["macs", "params"], n_bootstrap=2000)
    paired = paired_comparisons(data, ["macs", "params"], n_bootstrap=2000)
    assert not paired["better"].any()
    out = report.correlation_conclusion(corr, paired=paired)
    assert "no best predictor can be named" in out
    for _, r in corr.iterrows():
        if not r["supported"]:
            assert "interval includes 0" in report.support_text(r)


def test_clear_winner_is_called_better_with_the_number_of_comparisons():
    data = device_data(30, 2, noise=0.05)
    corr = correlation_table(data, ["macs", "params"], n_bootstrap=2000)
    paired = paired_comparisons(data, ["macs", "params"], n_bootstrap=2000)
    out = report.best_predictor_sentences(corr, paired)[0]
    assert "shown better than all 1 other metrics" in out and "1 paired comparisons" in out


def test_p_and_interval_disagreement_is_said_in_one_sentence():
    row = {"rho": 0.46, "p_value": 0.037, "ci_low": -0.03, "ci_high": 0.79, "n": 21,
           "inference": "bootstrap CI", "exact_p": math.nan, "supported": False,
           "borderline": False}
    assert "primary inference here, includes 0" in report.disagreement_text(row)
    assert "not distinguishable" in report.support_text(row)
    assert report.disagreement_text({**row, "p_value": 0.2}) == ""


def test_claim_verdicts_and_conv_only_empty_result_say_why():
    big = device_data(25, 3, noise=0.05)
    corr = correlation_table(big, ["macs", "params"], n_bootstrap=2000)
    verdicts = report.claim_verdicts(corr).set_index("metric")
    assert verdicts.loc["macs", "verdict"] == "contradicted"  # ρ ≈ 1: not weak
    assert "**contradicted**" in "\n".join(report.verdict_sentences(report.claim_verdicts(corr)))
    conv = correlation_table(big.iloc[:2], ["macs", "params"])
    lines = report.conv_only_sentences(corr, conv)
    assert lines and all("only 2 models" in line for line in lines)


def test_device_agreement_never_ranks_a_small_pair_first():
    rng = np.random.default_rng(0)
    base = rng.lognormal(size=21)
    wide = pd.DataFrame({"A": base, "B": base * np.exp(0.8 * rng.normal(size=21)),
                         "C": np.r_[base[:3], [np.nan] * 18]})  # C shares 3 models: ρ = 1
    agreement = rank_agreement(wide, n_bootstrap=500)
    text = report.agreement_sentence(agreement)
    assert "Highest: A and B" in text and "(small n)" in text
    assert "and C" not in text.split("lowest")[0]
    assert "1 agree beyond chance" in text or "0 agree beyond chance" in text


# -- ablation prose ---------------------------------------------------------------------------

def measured(runtime, ids, mins):
    return pd.DataFrame({"runtime": runtime, "model_id": ids, "min_ms": mins,
                         "median_ms": [m * 1.05 for m in mins]})


def complexity(ids, rows, macs, elementwise, memory, merges):
    cx = pd.DataFrame({"model_id": ids, "paper_row": rows, "macs": macs,
                       "elementwise": elementwise, "memory_bytes": memory, "merges": merges,
                       "params": 1, "operators": 1})
    for c in ab.RATIO_COSTS:
        cx[f"{c}_vs_first"] = cx[c] / cx[c].iloc[0]
    return cx


ROWS2 = ["ReLU", "GELU", "SE-ReLU", "SiLU", "Dynamic Shift-Max", "DynamicReLU-A",
         "DynamicReLU-B"]
CX2 = complexity(TABLE2, ROWS2, [1000, 1000, 1010, 1000, 1020, 1005, 1020],
                 [10, 10, 20, 10, 70, 50, 50], [100, 100, 120, 100, 300, 160, 170],
                 [0, 0, 29, 0, 203, 29, 145])


def test_cost_sentence_is_computed_from_the_numbers():
    text = ra.cost_sentence(CX2, "ReLU")
    assert "+0.00 % to +2.00 %" in text and "7.00× (Dynamic Shift-Max)" in text
    assert "3.00× (Dynamic Shift-Max)" in text and "from 0 to up to 203" in text


def test_paper_vs_ours_compares_the_same_variant():
    # ours: Dynamic Shift-Max is the slowest (30 ms), DyReLU-A only 20 ms; the paper's slowest
    # is DyReLU-A. The sentence must compare DyReLU-A with DyReLU-A (2.0×), never with DSM.
    long = ab.series_table("table2", measured("torch", TABLE2, [10, 10.2, 14, 12, 30, 20, 25]))
    compared = ra.paper_vs_ours(long, "ablation_relu")
    dyrelu = compared.set_index("model_id").loc["ablation_dyrelu_a"]
    assert dyrelu["ours_slowdown"] == pytest.approx(2.0)
    assert dyrelu["paper_excess_ms"] == pytest.approx(273.49 - 1.53)
    assert dyrelu["ours_excess_ms"] == pytest.approx(10.0)
    text = ra.paper_vs_ours_sentence(compared, "ReLU")
    assert "DynamicReLU-A" in text and "+10 ms, 2.00×" in text and "3.00×" not in text
    assert "larger slowdown in the paper" in text


def test_direction_words_follow_the_sign():
    assert ra.slower_or_faster(1.37, "ReLU") == "1.37× slower than ReLU"
    assert ra.slower_or_faster(0.8, "ReLU") == "1.25× faster than ReLU"
    long = ab.series_table("table2", measured("torch", TABLE2, [10, 8, 14, 9, 30, 20, 25]))
    part = long[long["key"] == "torch"]
    text = ra.series_sentence(part, "ablation_relu", "ReLU",
                              CX2.set_index("model_id")["macs_vs_first"])
    assert "GELU (1.25× faster than ReLU)" in text
    assert "Dynamic Shift-Max (3.00× slower than ReLU)" in text
    assert ra.slower_or_faster(0.99, "ReLU") == "as fast as ReLU within noise (0.99×)"


def test_ablation_conclusion_rank_agreement_uses_the_exact_test():
    long = ab.series_table("table2", measured("torch", TABLE2, [10, 10.2, 14, 12, 30, 20, 25]))
    corr = ab.paper_rank_correlation(long)
    out = ra.ablation_conclusion(ab.get_table("table2"), long, CX2, corr)
    assert "exact permutation p" in out and "95 % CI" not in out
    assert "nan" not in out.lower()


def test_table3_ordering_only_with_three_networks():
    cx = complexity(TABLE3, ["Baseline", "+ Squeeze-Excite", "+ Skip connections"],
                    [1000, 1001, 1000], [10, 13, 13], [100, 110, 109], [0, 12, 12])
    long = ab.series_table("table3", measured("torch", TABLE3, [10.0, 12.0, 11.0]))
    corr = ab.paper_rank_correlation(long)
    out = ra.ablation_conclusion(ab.get_table("table3"), long, cx, corr)
    # ours: + Squeeze-Excite (12) slower than + Skip (11) beyond noise; the paper: 2.10 < 2.62
    assert "only the ordering can be compared" in out and "contradicts the paper's beyond noise" in out
    assert "smallest exact two-sided p is 0.33" in out
    same = ab.series_table("table3", measured("torch", TABLE3, [10.0, 11.0, 12.0]))
    out = ra.ablation_conclusion(ab.get_table("table3"), same, cx,
                                 ab.paper_rank_correlation(same))
    assert "consistent with the paper's order" in out and "supported" not in out
    tie = ab.series_table("table3", measured("torch", TABLE3, [10.0, 10.3, 10.2]))
    out = ra.ablation_conclusion(ab.get_table("table3"), tie, cx, ab.paper_rank_correlation(tie))
    assert "Baseline ≈ + Skip connections ≈ + Squeeze-Excite" in out
    assert "consistent with the paper's order" in out


def test_noise_band_is_not_called_a_cost():
    cx = complexity(TABLE3, ["Baseline", "+ Squeeze-Excite", "+ Skip connections"],
                    [1000, 1001, 1000], [10, 13, 13], [100, 110, 109], [0, 12, 12])
    small = ab.series_table("table3", measured("torch", TABLE3, [10.0, 10.3, 10.2]))
    out = ra.ablation_conclusion(ab.get_table("table3"), small, cx)
    assert "less than ±5%" in out and "more than its MACs suggest" not in out.split("paper")[0]
