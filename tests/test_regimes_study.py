"""analysis.studies.regimes (notebook 07) on the shipped H200 campaign, test-written campaigns
and synthetic findings: reading and refusing campaigns, the paired bootstrap against explicit
loops and scipy, the pre-stated reversal rule on data built to reverse (and not to), the
regression against numpy, the typed findings, the generated prose (golden files) and the
figures."""

from __future__ import annotations

import dataclasses
import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from analysis import plots
from analysis.errors import ConfigError
from analysis.latency import h200_campaign_file
from analysis.studies.regimes import compute, overhead, prose
from analysis.studies.regimes import figures as charts
from analysis.studies.regimes.findings import (AblationFinding, Calibration, DeviceMatch,
                                               Findings, GapChange, Overhead, RegimeFinding,
                                               RegimeNoise, Rho, Slowdown, StatisticChange)
from hygiene import assert_golden


# -- reading --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def h200():
    return compute.read_campaign(None)


@pytest.fixture(scope="module")
def joined(h200):
    return compute.join_costs(h200, "table9")


def test_the_shipped_campaign_reads_as_four_regimes_of_one_gpu(h200, joined):
    assert h200.device == "NVIDIA H200"
    assert h200.regimes == ("eager fp32", "graph fp32", "eager fp16", "graph fp16")
    primary = h200.latency["min"]
    assert primary.groupby("regime")["model"].nunique().tolist() == [40] * 4
    assert set(primary["n_sessions"]) == {3}
    assert len(joined.models) == 30 and not any(joined.missing.values())
    # each session's median gives other latencies than each session's minimum
    assert (h200.latency["median"]["latency_ms"].to_numpy()
            > primary["latency_ms"].to_numpy()).all()


def _write(frame: pd.DataFrame, path) -> str:
    frame.to_csv(path, index=False)
    return str(path)


def test_a_campaign_that_cannot_answer_is_refused_in_one_line(tmp_path):
    raw = pd.read_csv(h200_campaign_file())
    one = _write(raw[(raw["mode"] == "eager") & (raw["precision"] == "fp32")], tmp_path / "a.csv")
    with pytest.raises(ConfigError, match="holds one regime of NVIDIA H200 .*two are needed"):
        compute.read_campaign(one)
    no_mode = raw[(raw["mode"] == "eager") & (raw["precision"] == "fp32")].drop(
        columns=["mode"])
    with pytest.raises(ConfigError, match="without a mode and precision"):
        compute.read_campaign(_write(no_mode, tmp_path / "b.csv"))
    other = raw.assign(device="NVIDIA A100", gpu="NVIDIA A100")
    two = _write(pd.concat([raw, other]), tmp_path / "c.csv")
    with pytest.raises(ConfigError, match="holds 2 devices .*choose one with DEVICE"):
        compute.read_campaign(two)
    assert compute.read_campaign(two, "NVIDIA A100").device == "NVIDIA A100"


def test_too_few_models_of_the_group_are_refused(h200):
    with pytest.raises(ConfigError, match="MODELS: 0 of the .* at least 3"):
        compute.join_costs(h200, "efficientnet_lite")


# -- the paired bootstrap -------------------------------------------------------------------------

def test_bootstrap_rhos_equal_scipy_on_each_resample():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=12), rng.normal(size=12)
    index = compute.resample_index(12, 20, seed=4)
    got = compute.boot_rhos(x, y, index)
    want = [sps.spearmanr(x[i], y[i]).statistic for i in index]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_bootstrap_summary_is_the_percentile_interval_and_two_sided_p():
    draws = np.arange(1, 101, dtype=float) - 10.5  # 10 of 100 below 0
    s = compute.bootstrap_summary(1.0, draws)
    assert s["p_value"] == pytest.approx(0.2)
    assert (s["ci_low"], s["ci_high"]) == pytest.approx(tuple(np.quantile(draws, [0.025, 0.975])))
    assert compute.bootstrap_summary(1.0, np.ones(50))["p_value"] == pytest.approx(1 / 50)


def _synthetic(n: int = 30, seed: int = 0, graph_follows: str = "macs") -> compute.Joined:
    """Costs with operators and MACs unrelated; eager latency = operators, graph latency =
    ``graph_follows`` (a metric) or noise."""
    rng = np.random.default_rng(seed)
    ops, macs = rng.permutation(n) + 10.0, rng.permutation(n) * 1e6 + 1e6
    graph = {"macs": macs / 1e6, "noise": rng.normal(size=n) + 10}[graph_follows]
    rows = []
    for regime, lat in (("eager fp32", ops * 0.015 + rng.normal(0, 0.01, n)),
                        ("graph fp32", graph * 0.01 + 1)):
        for i in range(n):
            for statistic in compute.STATISTICS:
                rows.append({"statistic": statistic, "regime": regime, "model_id": f"m{i}",
                             "model": f"M{i}", "family": "conv", "latency_ms": lat[i],
                             "session_low_ms": lat[i], "session_high_ms": lat[i],
                             "n_sessions": 1, "operators": ops[i], "macs": macs[i]})
    return compute.Joined(pd.DataFrame(rows), ("macs", "operators"),
                          tuple(f"m{i}" for i in range(n)), {})


def test_the_order_reverses_only_when_the_data_reverse_it():
    per, pairs = compute.metric_order(_synthetic(), n_bootstrap=400, seed=0)
    assert bool(pairs["flips"].iloc[0]) and pairs["p_holm"].iloc[0] <= 0.05
    d = per[per["statistic"] == "min"].set_index("regime")["delta"]
    assert d["eager fp32"] > 0.8 and d["graph fp32"] < -0.8
    per, pairs = compute.metric_order(_synthetic(graph_follows="noise"), n_bootstrap=400,
                                      seed=0)
    assert not pairs["flips"].any()  # graph latency follows neither metric: no reversal


def test_regime_differences_are_paired_and_adjusted():
    table = compute.regime_differences(_synthetic(), n_bootstrap=400, seed=0)
    ops = table[(table["metric"] == "operators") & (table["statistic"] == "min")].iloc[0]
    assert ops["delta"] == pytest.approx(ops["rho_a"] - ops["rho_b"])
    assert ops["differs"] and ops["q_value"] >= ops["p_value"]


def test_the_regression_equals_numpy():
    x = np.array([10.0, 50, 80, 120, 200])
    y = 0.02 * x + 0.3 + np.array([0.01, -0.02, 0.0, 0.03, -0.01])
    slope, intercept, se, r2 = overhead.ols(x, y)
    want = np.polyfit(x, y, 1)
    assert (slope, intercept) == pytest.approx(tuple(want), rel=1e-12)
    assert r2 == pytest.approx(np.corrcoef(x, y)[0, 1] ** 2, rel=1e-12)
    assert se == pytest.approx(sps.linregress(x, y).stderr, rel=1e-9)


def test_launch_overhead_on_the_shipped_campaign(joined):
    table = overhead.launch_overhead(joined, n_bootstrap=300, seed=0)
    assert list(table["precision"].unique()) == ["fp32", "fp16"]
    rows = overhead.overhead_rows(joined, "min")["fp32"]
    slope = np.polyfit(rows["operators"], rows["overhead_ms"], 1)[0] * 1e3
    first = table.iloc[0]
    assert first["us_per_operator"] == pytest.approx(slope, rel=1e-9)
    assert first["ci_low"] < first["us_per_operator"] < first["ci_high"]
    assert 0 < first["explained_share"] < 1


# -- prose on synthetic findings ------------------------------------------------------------------

def rho(metric, value, low, high, q=0.001, n=30):
    return Rho(metric, value, low, high, q / 2, 2e-4, q, q <= 0.05, n)


def regime(name, top, top_rho, macs, ops, gap, called=None, better=()):
    return RegimeFinding(name, 30, rho("macs", *macs), rho("operators", *ops),
                         rho(top, top_rho, top_rho - 0.1, min(top_rho + 0.05, 1)),
                         0.97 if called else 0.6,
                         called, tuple(better), (), gap[0], gap[1], gap[2])


def synthetic_findings(**changes) -> Findings:
    per = (regime("eager fp32", "operators", 0.91, (-0.28, -0.59, 0.1, 0.2),
                  (0.91, 0.8, 0.96), (1.19, 0.76, 1.54), better=("operators", "layers")),
           regime("graph fp32", "macs", 0.53, (0.53, 0.19, 0.76), (0.19, -0.18, 0.52, 0.36),
                  (-0.34, -0.97, 0.37), called="macs"))
    f = Findings(
        device="Test GPU", regimes=("eager fp32", "graph fp32"), n_models=30, statistic="min",
        n_bootstrap=10_000, per_regime=per,
        gap_changes=(GapChange("eager fp32", "graph fp32", 1.19, -0.34, 1.53, 0.81, 2.17,
                               6e-4, True, False),),
        n_differences=3, n_difference_tests=8,
        overhead=(Overhead("fp32", 30, 15.3, 14.5, 20.0, 14.0, 16.6, 0.95, 0.72, 0.71),),
        ablation=(AblationFinding("Table 2", "DynamicReLU-A", "ReLU", 178.75, (
            Slowdown("CPU · torch", "CPU", "", 1.32, "slower", 0.11),
            Slowdown("Test GPU · eager fp32", "GPU", "eager fp32", 4.4, "slower", 0.62),
            Slowdown("Test GPU · graph fp32", "GPU", "graph fp32", 1.76, "slower", 0.04))),),
        calibration=(Calibration("eager fp32", 0.62, 0.40, True),
                     Calibration("graph fp32", 0.04, 0.002, True)),
        devices=(DeviceMatch("NVIDIA RTX-2080Ti", 24, (
            rho("eager fp32", 0.58, 0.2, 0.81), rho("graph fp32", 0.38, -0.04, 0.69, 0.12)),
            "eager fp32", 0.7, None),),
        noise=(RegimeNoise("eager fp32", 3, 0.62, 0.12, 0.63, 0.909, 0.902, 0.903),
               RegimeNoise("graph fp32", 3, 0.04, 0.007, 0.04, 0.996, 0.194, 0.206)),
        statistic_changes=(StatisticChange("versus MACs", ("graph fp16", "memory_bytes"),
                                           "better", "not shown"),))
    f = dataclasses.replace(f, **changes)
    return dataclasses.replace(f, takeaway=prose.takeaway(f))


def sentences(text: str) -> int:
    return len(re.findall(r"[.!?](?:\s+(?=[A-Z])|$)", text.strip()))


def test_conclusion_golden():
    f = synthetic_findings()
    assert sentences(f.takeaway) <= 3
    text = prose.conclusion(f)
    assert text.startswith(f"**Takeaway.** {f.takeaway}")
    assert_golden("07_conclusion", text)


def test_no_claim_the_numbers_do_not_support():
    none = synthetic_findings(gap_changes=(dataclasses.replace(
        synthetic_findings().gap_changes[0], changes=False, p_holm=0.2, ci_low=-0.1),))
    assert "do not show" in none.takeaway and "reverses" not in none.takeaway
    assert sentences(none.takeaway) <= 3
    assert_golden("07_conclusion_no_change", prose.conclusion(none))
    f = synthetic_findings()
    assert "a reversal of operators and MACs is not shown" in f.takeaway
    assert "No metric is called best" in prose.conclusion(f)  # eager fp32: no metric called
    assert "MACs is the best predictor in 97 %" in prose.conclusion(f)  # graph fp32: called
    reverses = synthetic_findings(gap_changes=(dataclasses.replace(
        synthetic_findings().gap_changes[0], reverses=True),))
    assert "reversing" in reverses.takeaway


def test_statistic_changes_are_listed_or_denied():
    assert "1 verdict: memory traffic against MACs in graph fp16: better with the minimum, " \
           "not shown with the median" in prose.conclusion(synthetic_findings())
    assert "every verdict above is the same" in prose.conclusion(
        synthetic_findings(statistic_changes=()))


# -- findings and figures on the shipped campaign -------------------------------------------------

@pytest.fixture(scope="module")
def result():
    from analysis.studies import regimes as study

    return study.run(study.parameters(N_PERMUTATIONS=199, N_BOOTSTRAP=200))


def test_findings_of_the_shipped_campaign(result):
    f = result.findings
    eager = f.regime("eager fp32")
    assert eager.contrast.rho > 0.8 and eager.macs.rho < 0  # launch-bound: operators lead
    assert f.regime("graph fp32").macs.rho > f.regime("graph fp32").contrast.rho
    assert any(g.changes for g in f.gap_changes)
    cal = {c.regime: c for c in f.calibration}
    assert cal["eager fp16"].largest_gap > 0.3 and cal["graph fp16"].largest_gap < 0.05
    assert all(c.within for c in f.calibration)  # the per-regime band covers the duplicates
    table2 = next(a for a in f.ablation if a.table == "Table 2")
    assert table2.variant == "DynamicReLU-A" and table2.paper > 100
    gpu = {s.regime: s.slowdown for s in table2.series if s.device_kind == "GPU"}
    assert gpu["eager fp32"] > 2 * gpu["graph fp32"]
    assert f.paper_gpu is not None and f.paper_gpu.n == 24


def test_figures(result):
    assert set(result.figures) == {
        "regimes_spearman_by_metric", "regimes_latency_vs_macs_operators",
        "regimes_launch_overhead_per_operator", "regimes_ablation_slowdowns",
        "regimes_paper_devices"}
    for fig in result.figures.values():
        assert plots.text_overlaps(fig) == []
        plt.close(fig)
    assert charts.regime_style(["eager fp32", "graph fp32"])["graph fp32"][1] == "s"
