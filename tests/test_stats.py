"""Statistics against independent computations: enumeration, closed forms, published tables,
simulation (coverage), and the decision rules of the primary inference."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from analysis import stats as st
from analysis.errors import ConfigError


@pytest.fixture
def xy():
    rng = np.random.default_rng(1)
    x = rng.lognormal(size=25)
    y = x ** 0.5 * rng.lognormal(sigma=0.5, size=25)
    return x, y


# -- exact permutation test (n <= 8) ----------------------------------------------------------

def test_exact_p_hand_values():
    # n = 3: of the 6 orderings, |rho| = 1 for 2 of them -> p = 1/3 (not 0, as an asymptotic p
    # or a bootstrap CI of [1, 1] would suggest)
    assert st.exact_spearman_p([1, 2, 3], [10, 20, 30]) == pytest.approx(1 / 3)
    assert st.exact_spearman_p([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(2 / 24)
    assert st.exact_spearman_p([1, 2, 3], [1, 3, 2]) == pytest.approx(1.0)
    assert math.isnan(st.exact_spearman_p([1, 2], [1, 2]))
    assert math.isnan(st.exact_spearman_p(range(9), range(9)))  # beyond EXACT_MAX_N
    assert math.isnan(st.exact_spearman_p([1, 1, 1], [1, 2, 3]))  # constant input


def test_exact_p_matches_brute_force_enumeration_with_ties():
    x = [1.0, 2.0, 2.0, 5.0, 3.0, 7.0]
    y = [0.3, 0.1, 0.5, 0.9, 0.7, 0.2]
    obs = abs(sps.spearmanr(x, y).statistic)
    perms = list(itertools.permutations(y))
    count = sum(abs(sps.spearmanr(x, p).statistic) >= obs - 1e-12 for p in perms)
    assert st.exact_spearman_p(x, y) == pytest.approx(count / len(perms))


def test_critical_values_match_the_published_table():
    # two-sided alpha = 0.05 (Zar, Biostatistical Analysis, Table B.20): n = 7 -> 0.786,
    # n = 8 -> 0.738, n = 5 -> only a perfect ranking (p = 2/120), n = 4 -> none
    assert st.spearman_critical_value(7) == pytest.approx(0.7857, abs=1e-4)
    assert st.spearman_critical_value(8) == pytest.approx(0.7381, abs=1e-4)
    assert st.spearman_critical_value(5) == pytest.approx(1.0)
    assert math.isnan(st.spearman_critical_value(4))


# -- one primary inference per n --------------------------------------------------------------

def test_small_n_uses_the_exact_test_and_no_interval():
    c = st.spearman_ci([1, 2, 3], [1, 2, 3])
    assert c.rho == 1 and c.inference == st.EXACT and math.isnan(c.ci_low)
    assert c.exact_p == pytest.approx(1 / 3) and not c.supported
    # n = 7, rho at exactly the critical value 0.786: supported, but borderline
    crit = st.spearman_critical_value(7)
    ys = next(p for p in itertools.permutations(range(7))
              if abs(sps.spearmanr(range(7), p).statistic - crit) < 1e-9)
    edge = st.spearman_ci(range(7), ys)
    assert edge.supported and edge.borderline and edge.exact_p <= 0.05
    perfect = st.spearman_ci(range(7), range(7))
    assert perfect.supported and not perfect.borderline


def test_large_n_uses_the_bootstrap_interval(xy):
    x, y = xy
    c = st.spearman_ci(x, y, n_bootstrap=500, seed=3)
    assert c.inference == st.BOOTSTRAP and math.isnan(c.exact_p)
    assert c.n == 25 and c.ci_low <= c.rho <= c.ci_high
    assert c.supported == (c.ci_low > 0 or c.ci_high < 0)
    noise = st.spearman_ci(np.arange(12), np.random.default_rng(4).permutation(12), 2000)
    assert noise.supported == (noise.ci_low > 0 or noise.ci_high < 0)


def test_bootstrap_replicates_equal_spearman_on_each_resample(xy):
    x, y = xy
    boot = st.bootstrap_spearman(x, y, n_bootstrap=20, seed=5)
    idx = np.random.default_rng(5).integers(0, len(x), size=(20, len(x)))
    for b, i in zip(boot, idx):
        assert b == pytest.approx(sps.spearmanr(x[i], y[i]).statistic, abs=1e-12)


def test_spearman_rows_match_scipy_and_a_generator_continues_its_stream(xy):
    x, y = xy
    rng = np.random.default_rng(1)
    rows_x, rows_y = rng.random((4, 12)), np.round(rng.random((4, 12)), 1)  # ties in y
    ref = [sps.spearmanr(a, b).statistic for a, b in zip(rows_x, rows_y)]
    np.testing.assert_allclose(st.spearman_rows(rows_x, rows_y), ref, atol=1e-12)
    assert np.isnan(st.spearman_rows(np.ones((1, 5)), rows_y[:1, :5])).all()
    stream = np.random.default_rng(7)
    first, second = (st.bootstrap_spearman(x, y, 30, stream) for _ in range(2))
    assert np.array_equal(first, st.bootstrap_spearman(x, y, 30, seed=7))
    assert not np.array_equal(first, second)  # the second call drew the next resamples


def test_bootstrap_interval_covers_the_true_rho_at_n21():
    """Coverage by simulation: bivariate normal, r = 0.6, whose population Spearman ρ is
    (6/π)·asin(r/2) (Pearson's formula). The percentile interval must not undercover."""
    r = 0.6
    true = 6 / math.pi * math.asin(r / 2)
    rng = np.random.default_rng(0)
    cov = [[1, r], [r, 1]]
    hits = 0
    sims = 300
    for k in range(sims):
        x, y = rng.multivariate_normal([0, 0], cov, size=21).T
        c = st.spearman_ci(x, y, n_bootstrap=1000, seed=k)
        hits += c.ci_low <= true <= c.ci_high
    assert 0.91 <= hits / sims <= 0.995


def test_seed_reproducible_and_ci_narrows_with_n():
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    y = x + rng.normal(size=200)
    a = st.spearman_ci(x, y, 400, seed=7)
    assert a == st.spearman_ci(x, y, 400, seed=7)
    small = st.spearman_ci(x[:15], y[:15], 400, seed=7)
    assert (a.ci_high - a.ci_low) < (small.ci_high - small.ci_low)


def test_nan_pairs_dropped_and_tiny_n_is_nan():
    c = st.spearman_ci([1, 2, np.nan, 4, 5], [2, 1, 3, np.nan, 5], 100)
    assert c.n == 3
    assert np.isnan(st.spearman_ci([1, 2], [1, 2]).rho)
    with pytest.raises(ConfigError):
        st.spearman_ci([1, 2, 3], [1, 2])


def test_correlation_table_columns_and_values(xy):
    x, y = xy
    df = pd.DataFrame({"device": ["a"] * 25 + ["b"] * 25, "latency_ms": np.r_[y, x],
                       "macs": np.r_[x, y], "params": np.r_[y, y]})
    table = st.correlation_table(df, ["macs", "params"], n_bootstrap=200)
    assert list(table.columns) == ["device", "metric", *st.CORRELATION_COLUMNS]
    row = table[(table.device == "a") & (table.metric == "params")].iloc[0]
    assert row.rho == pytest.approx(1.0)
    assert table.loc[0, "rho"] == pytest.approx(sps.spearmanr(x, y).statistic)


# -- multiplicity -----------------------------------------------------------------------------

def test_holm_adjust_by_hand():
    # sorted p: 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> monotone 0.06
    out = st.holm_adjust([0.01, 0.04, 0.03, np.nan])
    assert out[:3].tolist() == pytest.approx([0.03, 0.06, 0.06]) and np.isnan(out[3])
    assert st.holm_adjust([0.5, 0.9]).tolist() == pytest.approx([1.0, 1.0])
