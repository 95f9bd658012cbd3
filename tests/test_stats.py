"""The rank helpers of analysis.stats against independent computations: enumeration,
published tables and scipy row by row (the primary inference itself: tests/test_inference.py)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats as sps

from analysis import stats as st


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


# -- vectorised ranks ------------------------------------------------------------------------------

def test_spearman_rows_match_scipy_row_by_row(xy):
    x, y = xy
    rng = np.random.default_rng(1)
    rows_x, rows_y = rng.random((4, 12)), np.round(rng.random((4, 12)), 1)  # ties in y
    ref = [sps.spearmanr(a, b).statistic for a, b in zip(rows_x, rows_y)]
    np.testing.assert_allclose(st.spearman_rows(rows_x, rows_y), ref, atol=1e-12)
    assert np.isnan(st.spearman_rows(np.ones((1, 5)), rows_y[:1, :5])).all()
    # resamples of one sample, as the bootstraps of analysis.inference draw them
    idx = np.random.default_rng(5).integers(0, len(x), size=(20, len(x)))
    np.testing.assert_allclose(st.spearman_rows(x[idx], y[idx]),
                               [sps.spearmanr(x[i], y[i]).statistic for i in idx], atol=1e-12)


def test_holm_adjust_by_hand():
    # sorted p: 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> monotone 0.06
    out = st.holm_adjust([0.01, 0.04, 0.03, np.nan])
    assert out[:3].tolist() == pytest.approx([0.03, 0.06, 0.06]) and np.isnan(out[3])
    assert st.holm_adjust([0.5, 0.9]).tolist() == pytest.approx([1.0, 1.0])
