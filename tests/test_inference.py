"""Inference chosen before the results (analysis.inference): permutation test of ρ = 0, the
Fisher-z interval and its coverage, borderline verdicts, pre-stated metric comparisons,
selection-aware "best", multiplicity, nested and clustered resampling."""

from __future__ import annotations

import math
import sys
from itertools import permutations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from analysis.constants import ALPHA, BEST_PROBABILITY
from analysis.inference import (BORDERLINE, CONTRADICTED, HOLDS, INCONCLUSIVE,
                                benjamini_hochberg, best_probability, claim_verdict,
                                cluster_bootstrap_rhos, correlate, correlation_table,
                                fisher_interval, nested_difference, permutation_p,
                                versus_reference)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from rho_interval_coverage import fisher_coverage  # noqa: E402


def test_the_exact_p_enumerates_every_ordering():
    x, y = np.array([1, 2, 3, 4, 5, 6.]), np.array([2, 1, 4, 3, 6, 5.])
    rho = sps.spearmanr(x, y).statistic
    null = [sps.spearmanr(x, np.array(p)).statistic for p in permutations(y)]
    expected = np.mean(np.abs(null) >= abs(rho) - 1e-12)
    test = permutation_p(x, y)
    assert test.exact and test.p == pytest.approx(expected)


def test_the_monte_carlo_p_is_scipys():
    rng = np.random.default_rng(4)
    x = rng.normal(size=21)
    y = x + rng.normal(scale=1.5, size=21)
    ours = permutation_p(x, y, n_permutations=999, seed=7)
    theirs = sps.permutation_test(
        (y,), lambda v: sps.spearmanr(x, v).statistic, permutation_type="pairings",
        n_resamples=999, rng=np.random.default_rng(7)).pvalue
    assert ours.p == pytest.approx(theirs) and not ours.exact
    assert ours.floor == pytest.approx(2 / 1000)


@pytest.mark.parametrize("n", [12, 17, 21])
@pytest.mark.parametrize("rho", [0.0, 0.5, 0.9])
def test_the_fisher_interval_covers_at_the_study_sizes(n, rho):
    # 1500 replicates: a coverage of 0.95 has a Monte Carlo standard error of 0.0056
    assert 0.925 <= fisher_coverage(n, rho, 1500, seed=n) <= 0.975


def test_the_interval_is_symmetric_in_z_and_undefined_for_tiny_n():
    lo, hi = fisher_interval(0.0, 21)
    assert lo == pytest.approx(-hi)
    assert all(math.isnan(v) for v in fisher_interval(0.5, 3))


CASES = {  # (true Pearson r, n): the verdict expected away from the borderline
    "strong": (0.9, 21, True), "none": (0.0, 21, False), "small n strong": (0.97, 7, True)}


@pytest.mark.parametrize("case", CASES)
def test_verdicts_do_not_change_with_the_seed(case):
    r, n, expected = CASES[case]
    z = np.random.default_rng(11).multivariate_normal([0, 0], [[1, r], [r, 1]], size=n)
    seen = {correlate(z[:, 0], z[:, 1], n_permutations=1999, seed=s).supported
            for s in range(5)}
    assert seen == {expected}


def test_a_p_near_alpha_is_borderline():
    rng = np.random.default_rng(0)
    for _ in range(200):  # find data whose p lands next to α
        x = rng.normal(size=17)
        y = 0.45 * x + rng.normal(size=17)
        c = correlate(x, y, n_permutations=999, seed=1)
        if abs(c.p_permutation - ALPHA) < 0.005:
            assert c.borderline
            return
    pytest.skip("no p near α drawn")


@pytest.mark.parametrize("lo, hi, verdict", [
    (-0.2, 0.3, HOLDS), (0.55, 0.9, CONTRADICTED), (0.2, 0.7, INCONCLUSIVE),
    (0.499, 0.9, BORDERLINE), (0.1, 0.495, BORDERLINE), (float("nan"), 1.0, INCONCLUSIVE)])
def test_claim_verdicts(lo, hi, verdict):
    assert claim_verdict(lo, hi, 0.5) == verdict


def _devices(seed: int = 0, n: int = 21) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    good = rng.normal(size=n)
    return pd.DataFrame({"device": "d", "latency_ms": np.exp(good),
                         "macs": good + rng.normal(scale=2.0, size=n),  # weak
                         "operators": good + rng.normal(scale=0.05, size=n),  # strong
                         "params": good + rng.normal(scale=2.0, size=n)})


def test_each_metric_against_macs_with_holm():
    table = versus_reference(_devices(), ["macs", "operators", "params"], n_bootstrap=2000)
    ops = table.set_index("metric").loc["operators"]
    assert ops["verdict"] == "better" and ops["ci_low"] > 0
    assert table.set_index("metric").loc["params", "verdict"] == "not shown"
    assert (table["p_holm"] >= table["p_value"]).all() and set(table["n_comparisons"]) == {2}


def test_best_is_claimed_only_above_the_rule():
    clear = best_probability(_devices(), ["macs", "operators", "params"], n_bootstrap=2000)
    assert clear.set_index("metric").loc["operators", "called_best"]
    assert clear["p_best"].sum() == pytest.approx(1.0)
    frame = _devices()
    frame["twin"] = frame["operators"] + 1e-3 * np.random.default_rng(3).normal(size=21)
    tied = best_probability(frame, ["operators", "twin"], n_bootstrap=2000)
    assert not tied["called_best"].any()  # two near-identical metrics: neither is "best"
    assert (tied["p_best"] < BEST_PROBABILITY).all()


def test_benjamini_hochberg_by_hand():
    q = benjamini_hochberg([0.01, 0.04, 0.03, float("nan"), 0.5])
    assert np.allclose(q[[0, 1, 2, 4]], [0.04, 0.0533333, 0.0533333, 0.5])
    assert math.isnan(q[3])


def test_nested_difference_resamples_both_together():
    frame = _devices(n=30)
    subset = np.arange(30) < 15
    out = nested_difference(frame["operators"], frame["latency_ms"], subset, n_bootstrap=500)
    assert out["n_subset"] == 15 and out["ci_low"] <= out["delta"] <= out["ci_high"]


def test_cluster_bootstrap_equals_explicit_resampling():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=12), rng.normal(size=12)
    clusters = np.repeat(np.arange(6), 2)
    fast = cluster_bootstrap_rhos(x, y, clusters, n_bootstrap=50, seed=9, chunk=7)
    slow = []
    members = [np.flatnonzero(clusters == k) for k in range(6)]
    pick_rng = np.random.default_rng(9)
    for start in range(0, 50, 7):  # the vectorised version draws one block per chunk
        block = pick_rng.integers(0, 6, size=(min(7, 50 - start), 6))
        for picks in block:
            idx = np.concatenate([members[k] for k in picks])
            slow.append(sps.spearmanr(x[idx], y[idx]).statistic)
    assert np.allclose(fast, slow, equal_nan=True)


def test_correlation_table_has_one_row_per_cell():
    table = correlation_table(_devices(), ["macs", "operators"], n_permutations=999)
    assert list(table["metric"]) == ["macs", "operators"]
    assert table.loc[1, "supported"] and table.loc[1, "p_permutation"] <= 2 / 1000
