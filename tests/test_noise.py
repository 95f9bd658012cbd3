"""The measured noise model (analysis.noise) on synthetic sessions with a known spread."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.noise import (FASTER, SLOWER, WITHIN, noise_bands, rho_by_session, session_pairs,
                            session_spread, verdict)


def synthetic(sigma: float, n_models: int = 40, sessions: int = 3, sittings: int = 2,
              seed: int = 0, shift_between: float = 0.0) -> pd.DataFrame:
    """Session minima of ``n_models`` networks: log-normal noise of known ``sigma`` per session,
    optionally a shift between sittings."""
    rng = np.random.default_rng(seed)
    rows = []
    true = np.exp(rng.uniform(0, 4, n_models))
    for c in range(sittings):
        for s in range(sessions):
            noise = rng.normal(0, sigma, n_models) + c * shift_between
            for m in range(n_models):
                rows.append({"device": "cpu", "runtime": "torch", "mode": "eager",
                             "precision": "fp32", "model": f"net{m}", "model_id": f"net{m}",
                             "campaign": f"c{c}", "session": c * sessions + s + 1,
                             "latency_ms": true[m] * math.exp(noise[m])})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("sigma", [0.02, 0.1])
def test_the_band_of_a_known_spread_is_recovered_within_20_percent(sigma):
    band = noise_bands(synthetic(sigma)).iloc[0]
    # |log x_s − log x_t| ~ |N(0, 2σ²)|: its 95th percentile is 1.96·√2·σ
    expected = math.exp(1.959964 * math.sqrt(2) * sigma) - 1
    assert band["band"] == pytest.approx(expected, rel=0.2)
    assert band["n_networks"] == 40 and band["n_pairs"] == 40 * 15


def test_a_shift_between_sittings_widens_the_band_and_is_reported_apart():
    band = noise_bands(synthetic(0.02, shift_between=0.2)).iloc[0]
    assert band["between_sittings"] > 3 * band["within_sitting"]
    assert band["band"] == band["between_sittings"]


def test_a_common_shift_between_sittings_is_measured_and_removable():
    """Every network 22 % slower in the second sitting: the shift is recovered, and without it
    the between-sittings band is the within-sitting one again (the rule's band is unchanged)."""
    band = noise_bands(synthetic(0.02, shift_between=0.2)).iloc[0]
    assert band["common_shift"] == pytest.approx(math.exp(0.2) - 1, rel=0.05)
    assert band["between_after_shift"] == pytest.approx(band["within_sitting"], rel=0.2)
    assert band["band"] == band["between_sittings"]
    # the sign follows time: the later sitting over the earlier one
    faster = noise_bands(synthetic(0.02, shift_between=-0.2)).iloc[0]
    assert faster["common_shift"] == pytest.approx(math.exp(-0.2) - 1, rel=0.05)
    # one sitting: no shift to report
    assert math.isnan(noise_bands(synthetic(0.02, sittings=1)).iloc[0]["common_shift"])


def test_identical_networks_are_within_noise_and_a_slower_one_is_slower():
    sessions = synthetic(0.05, seed=1)
    band = noise_bands(sessions).iloc[0]["band"]
    spread = session_spread(sessions).set_index("model")
    # two "different" networks that are the same network: net0 measured twice
    twin = sessions[sessions["model"] == "net0"].assign(model="net0-twin")
    twin["latency_ms"] *= np.exp(np.random.default_rng(5).normal(0, 0.05, len(twin)))
    twin_median = twin["latency_ms"].median()
    assert verdict(twin_median / spread.loc["net0", "median_ms"], band) == WITHIN
    assert verdict(1.5, band) == SLOWER and verdict(1 / 1.5, band) == FASTER
    assert verdict(1.5, math.nan) == "n/a"


def test_pairs_and_spread_by_hand():
    frame = pd.DataFrame({"model": ["a"] * 3, "session": [1, 2, 3], "campaign": ["x", "x", "y"],
                          "latency_ms": [1.0, 2.0, 4.0]})
    pairs = session_pairs(frame)
    assert sorted(np.round(pairs["abs_log_ratio"], 6)) == sorted(
        np.round([math.log(2), math.log(4), math.log(2)], 6))
    assert list(pairs["same_sitting"]) == [True, False, False]
    s = session_spread(frame).iloc[0]
    assert (s["n_sessions"], s["median_ms"], s["spread"]) == (3, 2.0, 3.0)


def test_rho_moves_between_sessions():
    sessions = synthetic(0.3, n_models=12, sittings=1)
    costs = sessions.drop_duplicates("model_id")[["model_id"]].assign(
        macs=lambda d: np.arange(len(d)))
    per_session = rho_by_session(sessions, costs, "macs")
    assert len(per_session) == 3 and per_session["n"].eq(12).all()
    assert per_session["rho"].std() > 0
