"""Statistics against scipy on the same data, and the properties of the bootstrap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from analysis.stats import bootstrap_spearman, correlation_table, rank_agreement, spearman_ci


@pytest.fixture
def xy():
    rng = np.random.default_rng(1)
    x = rng.lognormal(size=25)
    y = x ** 0.5 * rng.lognormal(sigma=0.5, size=25)
    return x, y


def test_spearman_matches_scipy(xy):
    x, y = xy
    c = spearman_ci(x, y, n_bootstrap=500, seed=3)
    ref = sps.spearmanr(x, y)
    assert c.rho == pytest.approx(ref.statistic, abs=1e-12)
    assert c.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    assert c.kendall_tau == pytest.approx(sps.kendalltau(x, y).statistic, abs=1e-12)
    assert c.n == 25 and c.ci_low <= c.rho <= c.ci_high


def test_bootstrap_replicates_equal_scipy_on_each_resample(xy):
    x, y = xy
    boot = bootstrap_spearman(x, y, n_bootstrap=20, seed=5)
    idx = np.random.default_rng(5).integers(0, len(x), size=(20, len(x)))
    for b, i in zip(boot, idx):
        assert b == pytest.approx(sps.spearmanr(x[i], y[i]).statistic, abs=1e-12)


def test_seed_reproducible_and_ci_narrows_with_n():
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    y = x + rng.normal(size=200)
    a = spearman_ci(x, y, 400, seed=7)
    assert a == spearman_ci(x, y, 400, seed=7)
    small = spearman_ci(x[:15], y[:15], 400, seed=7)
    assert (a.ci_high - a.ci_low) < (small.ci_high - small.ci_low)


def test_nan_pairs_dropped_and_tiny_n_is_nan():
    c = spearman_ci([1, 2, np.nan, 4, 5], [2, 1, 3, np.nan, 5], 100)
    assert c.n == 3
    assert np.isnan(spearman_ci([1, 2], [1, 2]).rho)


def test_correlation_table_columns_and_values(xy):
    x, y = xy
    df = pd.DataFrame({"device": ["a"] * 25 + ["b"] * 25, "latency_ms": np.r_[y, x],
                       "macs": np.r_[x, y], "params": np.r_[y, y]})
    table = correlation_table(df, ["macs", "params"], n_bootstrap=200)
    assert list(table.columns) == ["device", "metric", "rho", "p_value", "ci_low", "ci_high",
                                   "kendall_tau", "n"]
    assert len(table) == 4
    row = table[(table.device == "a") & (table.metric == "params")].iloc[0]
    assert row.rho == pytest.approx(1.0)
    assert table.loc[0, "rho"] == pytest.approx(sps.spearmanr(x, y).statistic)


def test_rank_agreement_pairs(xy):
    x, y = xy
    wide = pd.DataFrame({"p": x, "q": y, "r": -x})
    agree = rank_agreement(wide, n_bootstrap=100)
    assert len(agree) == 3 + 3
    pr = agree[(agree.a == "p") & (agree.b == "r")].iloc[0]
    assert pr.rho == pytest.approx(-1.0)


def test_timm_samples_split():
    from analysis.correlation_study import timm_samples

    timm = pd.DataFrame({"model": list("abcd"), "macs": [1e7, 1e8, 5e8, 5e8],
                         "input_size": [224, 224, 224, 384], "latency_ms": [1, 2, 3, 4]})
    s = timm_samples(timm, (5e7, 1e9))
    assert list(s.loc[s["sample"] == "mobile-sized", "model"]) == ["b", "c"]  # d: input too large
    assert (s["sample"] == "all models").sum() == 4
