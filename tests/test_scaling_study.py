"""analysis.studies.scaling (notebook 08) on synthetic sweeps, the shipped files and synthetic
findings: the exponent of a sweep with a known b is recovered (and its interval covers b at its
stated rate), the fit equals numpy/scipy, the session range enumerates every choice, the
verdicts against 1 and 2 can fail, the claim on counts, the Lite/B ratio at equal MACs, the
H200 reference's reading, one-line refusals, the typed findings, the generated prose (golden
files) and the figures."""

from __future__ import annotations

import itertools
import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.container import ErrorbarContainer
from scipy import stats as sps

from analysis.errors import ConfigError
from analysis.studies import scaling as study
from analysis.studies.scaling import compute, data, prose
from analysis.studies.scaling import figures as charts
from analysis.studies.scaling.findings import (AblationCost, CountClaim, Exponent, Findings,
                                               LitePair, Rho, SeriesFinding, StatisticChange)
from hygiene import assert_golden


# -- the exponent -----------------------------------------------------------------------------------

@pytest.mark.parametrize("b", [0.35, 0.8, 1.0, 1.3])
def test_the_exponent_of_a_synthetic_sweep_is_recovered(b):
    macs = np.geomspace(40e6, 900e6, 5)
    fit = compute.loglog_fit(macs, 0.02 * (macs / 1e6) ** b)
    assert fit.slope == pytest.approx(b, abs=1e-12)
    assert fit.r_squared == pytest.approx(1.0)
    assert fit.ci_low == pytest.approx(b, abs=1e-9) and fit.ci_high == pytest.approx(b, abs=1e-9)
    assert compute.judge(fit.ci_low - 1e-6, fit.ci_high + 1e-6, 1.0) == (
        compute.CONSISTENT if b == 1.0 else compute.BELOW if b < 1 else compute.ABOVE)


def test_the_interval_covers_the_true_exponent_at_its_stated_rate():
    rng = np.random.default_rng(7)
    macs = np.geomspace(50e6, 600e6, 4)
    hits = 0
    for _ in range(2000):
        y = 3.0 * (macs / 1e8) ** 0.7 * np.exp(rng.normal(0, 0.08, len(macs)))
        fit = compute.loglog_fit(macs, y)
        hits += fit.ci_low <= 0.7 <= fit.ci_high
    assert 0.93 < hits / 2000 < 0.97  # 95 % t interval


def test_the_fit_equals_numpy_and_scipy():
    rng = np.random.default_rng(1)
    x = np.geomspace(10, 1000, 5)
    y = 2 * x ** 0.6 * np.exp(rng.normal(0, 0.1, 5))
    fit = compute.loglog_fit(x, y)
    ref = sps.linregress(np.log(x), np.log(y))
    assert fit.slope == pytest.approx(np.polyfit(np.log(x), np.log(y), 1)[0], rel=1e-12)
    assert (fit.slope, fit.intercept, fit.se) == pytest.approx(
        (ref.slope, ref.intercept, ref.stderr), rel=1e-10)
    t = sps.t.ppf(0.975, 3)
    assert (fit.ci_low, fit.ci_high) == pytest.approx((ref.slope - t * ref.stderr,
                                                       ref.slope + t * ref.stderr), rel=1e-10)
    two = compute.loglog_fit(x[:2], y[:2])
    assert math.isfinite(two.slope) and math.isnan(two.ci_low)
    assert compute.judge(two.ci_low, two.ci_high, 1.0) == compute.NO_INTERVAL


def test_the_session_range_refits_every_choice_of_one_session_per_network():
    x = [1.0, 2.0, 4.0]
    sessions = [[1.0, 1.1], [1.5, 1.7, 1.6], [2.1, 2.5]]
    got = compute.session_slopes(x, sessions)
    want = [compute.loglog_fit(x, list(c)).slope for c in itertools.product(*sessions)]
    assert len(got) == 12 and sorted(got) == pytest.approx(sorted(want), rel=1e-12)
    assert len(compute.session_slopes(x, [[1.0], [], [2.0]])) == 0


# -- the data ---------------------------------------------------------------------------------------

def test_the_sweeps_come_from_the_zoo_groups():
    names = [s.name for s in data.SWEEPS]
    assert names[:4] == ["MobileNetV1 α", "MobileNetV2 α", "MobileNetV3-Large α",
                         "MobileNetV3-Small α"]
    v1 = data.sweep("MobileNetV1 α")
    assert [data.width_of(m) for m in v1.models] == [0.25, 0.5, 0.75, 1.0, 1.25]
    assert {s.base for s in data.SWEEPS if s.knob == data.RESOLUTION} == {
        "mobilenetv1", "mobilenetv2_100", "efficientnet_lite0"}
    assert data.LITE_PAIRS[0] == ("efficientnet_lite0", "efficientnet_b0")


def test_the_h200_reference_reads_timms_pytorch_models_in_one_pass():
    ref = data.read_h200_reference("min", "graph").set_index(["model_id", "input_size"])
    lite0 = ref.loc[("efficientnet_lite0", 224)]
    assert lite0["implementation"] == "timm (efficientnet_lite0)"  # not the tf_ port
    assert lite0["latency_ms"] == pytest.approx(0.770216)
    assert ref.loc[("efficientnet_lite1", 240), "implementation"] == \
        "timm (tf_efficientnet_lite1)"
    assert (ref["n_sessions"] == 1).all() and ref["session_low_ms"].isna().all()
    assert data.read_h200_reference("median", "eager").loc[0, "regime"] == "eager fp32"
    with pytest.raises(ConfigError, match="H200_MODE must be one of graph, eager"):
        data.read_h200_reference("min", "compiled")


def test_a_file_without_the_family_is_refused_in_one_line(tmp_path):
    raw = pd.read_csv(data.campaign_files(None)[0])
    other = tmp_path / "other.csv"
    raw.assign(model="MobileOne-S0").iloc[:1].to_csv(other, index=False)
    with pytest.raises(ConfigError, match="other.csv holds no network of the MobileNet sweeps"):
        data.read_latency(str(other), with_h200=False)
    one_size = str(data.campaign_files(None)[2])  # 160 px only: no sweep of two networks
    with pytest.raises(ConfigError, match="holds no sweep of two or more networks"):
        data.read_latency(one_size, with_h200=False)
    with pytest.raises(ConfigError, match="H200_MODE"):
        study.parameters(H200_MODE="compiled")


# -- the claim on counts and Lite vs B --------------------------------------------------------------

def _counts() -> pd.DataFrame:
    rows = []
    for size, macs in ((128, 33), (160, 51), (224, 100)):
        rows.append({"model": "MobileNetV1", "model_id": "mobilenetv1", "input_size": size,
                     "native": size == 224, "macs": macs, "params": 1,
                     "timm_macs": math.nan, "paper_macs": macs * 2.0})
    return pd.DataFrame(rows)


def test_the_claim_on_counts_is_the_ratio_to_the_multiplier_squared():
    claim = compute.count_scaling(_counts())
    assert list(claim["sweep"]) == ["MobileNetV1 ρ"] * 3
    row = claim.set_index("input_size").loc[128]
    assert row["predicted_ratio"] == pytest.approx((128 / 224) ** 2)
    assert row["ratio_to_prediction"] == pytest.approx(0.33 / (128 / 224) ** 2)
    assert row["paper_ratio"] == pytest.approx(0.33)


def test_the_ratio_at_equal_macs_follows_bs_own_curve():
    # B's latency ∝ MACs^0.5; a Lite with 0.25× the MACs and 0.5× the latency sits on that
    # curve: equal-MACs ratio 1.
    counts = pd.DataFrame({"model_id": ["efficientnet_lite0", "efficientnet_b0"],
                           "input_size": [224, 224], "native": [True, True],
                           "macs": [100, 400]})
    pts = pd.DataFrame({"series": "s", "model": ["EfficientNet-Lite0", "EfficientNet-B0"],
                        "model_id": ["efficientnet_lite0", "efficientnet_b0"],
                        "input_size": [224, 224], "latency_ms": [1.0, 2.0],
                        "session_low_ms": [0.9, 1.9], "session_high_ms": [1.1, 2.1]})
    latency = data.Latency({"min": pts, "median": pts}, {}, pd.DataFrame(), (), ())
    ex = pd.DataFrame({"statistic": ["min", "median"], "series": "s",
                       "family": "EfficientNet", "b": 0.5, "b_ci_low": 0.4, "b_ci_high": 0.6})
    bands = pd.DataFrame({"statistic": ["min", "median"], "series": "s", "band": 0.05})
    lite = compute.lite_versus_b(latency, counts, ex, bands).iloc[0]
    assert lite["ratio"] == 0.5 and lite["verdict"] == "faster"
    assert lite["equal_macs_ratio"] == pytest.approx(1.0)
    assert lite["equal_macs_low"] == pytest.approx(0.5 / 0.25 ** 0.4)
    assert lite["equal_macs_high"] == pytest.approx(0.5 / 0.25 ** 0.6)
    assert (lite["ratio_low"], lite["ratio_high"]) == pytest.approx((0.9 / 2.1, 1.1 / 1.9))


# -- findings and prose -------------------------------------------------------------------------------

def _x(sweep, knob, n, b, low, high, verdict, e=math.nan, e_low=math.nan, e_high=math.nan,
       e_verdict="", c=math.nan, session=(math.nan, math.nan)) -> Exponent:
    return Exponent(sweep, knob, n, b, low, high, *session, verdict, e, e_low, e_high,
                    e_verdict, c, 1.0)


def _rho(scope, rho, low, high, n=21) -> Rho:
    return Rho(scope, "figure2", n, rho, low, high, 0.0002, 0.0003, True)


CPU = "Intel Xeon Processor (2 vCPU, 1 thread) · torch"
GPU = "NVIDIA H200 · graph fp32 (timm)"


def synthetic(sublinear: bool = True) -> Findings:
    v = "below" if sublinear else "consistent"
    cpu = SeriesFinding(
        CPU, CPU, False, 0.18, "its own sessions",
        (_x("MobileNetV1 α", "width", 5, 0.62, 0.49, 0.75 if sublinear else 1.05, v, 1.17, 0.91,
            1.44, "below", 1.90, (0.60, 0.63)),
         _x("MobileNetV3-Large α", "width", 2, 0.75, math.nan, math.nan, "no interval",
            0.87, c=1.17, session=(0.54, 0.86)),
         _x("EfficientNet-B0–B4", "compound", 5, 0.76, 0.69, 0.83, "below",
            session=(0.72, 0.84))),
        _rho("across families", 0.85, 0.62, 0.95), _rho("MobileNet family", 0.98, 0.94, 0.99, 25),
        (LitePair(CPU, "EfficientNet-Lite0", "EfficientNet-B0", 0.99, 0.85, 0.74, 0.87, 0.18,
                  "within noise", 0.85, 0.85, 0.85),))
    gpu = SeriesFinding(
        GPU, "NVIDIA H200 · graph fp32, this project's models", True, 0.04, "borrowed",
        (_x("MobileNetV1 ρ", "resolution", 4, 0.21, 0.11, 0.31, "below", 0.42, 0.22, 0.62,
            "below", 1.99),),
        _rho("across families", 0.29, -0.17, 0.65), None,
        (LitePair(GPU, "EfficientNet-Lite0", "EfficientNet-B0", 0.99, 0.58, math.nan, math.nan,
                  0.04, "faster", 0.58, 0.58, 0.58),))
    return Findings(
        "min", "figure2", (cpu, gpu),
        (CountClaim("MobileNetV1 α", "width", 1.90, 5, "MobileNetV1-x0.25", 224, 0.25, 1.155,
                    1.153),
         CountClaim("MobileNetV1 ρ", "resolution", 1.99, 4, "MobileNetV1", 128, 0.57, 1.004,
                    math.nan)),
        (AblationCost("Table 2", "SE-ReLU", "Paper: iPhone 12 (Core ML, min)", "phone (paper)",
                      1.37, "n/a"),
         AblationCost("Table 2", "SiLU", "Paper: iPhone 12 (Core ML, min)", "phone (paper)",
                      1.66, "n/a"),
         AblationCost("Table 2", "SE-ReLU", "NVIDIA H200 · graph fp32", "GPU", 1.46, "slower")),
        GPU, 3, 3,
        (StatisticChange("Lite vs B", (CPU, "EfficientNet-Lite0"), "within noise", "faster"),
         StatisticChange("b", (CPU, "MobileNetV1 α"), "below", "consistent")))


def test_the_prose_of_synthetic_findings(tmp_path):
    f = synthetic()
    text = prose.conclusion(f)
    assert text.startswith("**Takeaway.** ") and prose.takeaway(f).count(". ") <= 2
    assert_golden("08_conclusion", text)
    assert_golden("08_conclusion_proportional", prose.conclusion(synthetic(False)))


def test_the_prose_never_claims_a_sublinear_exponent_it_did_not_show():
    f = synthetic(False)
    gpu = f.series[1]
    f = Findings(**{**f.__dict__, "series": (
        f.series[0], SeriesFinding(**{**gpu.__dict__, "exponents": (
            _x("MobileNetV1 ρ", "resolution", 4, 0.8, 0.3, 1.3, "consistent"),)}))})
    f = Findings(**{**f.__dict__, "series": tuple(
        SeriesFinding(**{**s.__dict__, "exponents": tuple(
            x for x in s.exponents if x.b_verdict != "below")}) for s in f.series)})
    text = prose.takeaway(f)
    assert "b < 1" not in text and "excluded in none" in text
    assert "saves less time" not in text
    weak = Rho("across families", "figure2", 5, 0.9, -0.17, 1.0, 0.08, 0.08, False)
    f = Findings(**{**f.__dict__, "series": (SeriesFinding(**{**f.series[0].__dict__,
                                                            "across": weak}),)})
    assert "0.90 (Intel Xeon Processor (2 vCPU, 1 thread) · torch; not distinguishable from 0 " \
           "after adjustment)" in prose.takeaway(f)


def test_the_across_family_rho_of_the_h200_reference_names_its_own_source():
    text = prose.conclusion(synthetic())
    assert "0.29 (NVIDIA H200 · graph fp32, this project's models)" in text
    assert "(one pass: no session range)" in text


# -- figures -------------------------------------------------------------------------------------

def test_the_figures_draw_session_intervals_where_there_are_sessions():
    params = study.parameters(N_PERMUTATIONS=99)
    result = study.run(params)
    try:
        assert set(result.figures) == {"scaling_latency_vs_macs", "scaling_exponents",
                                       "scaling_efficientnet_lite_vs_b",
                                       "scaling_counts_alpha_rho"}
        loglog = result.figures["scaling_latency_vs_macs"].axes
        bars = [any(isinstance(c, ErrorbarContainer) for c in ax.containers) for ax in loglog]
        assert len(loglog) == 9 and sum(bars) == 6  # the two CPU series, not the one-pass GPU
        lite = result.figures["scaling_efficientnet_lite_vs_b"].axes[0]
        hollow = [ln for ln in lite.lines if ln.get_markerfacecolor() == "none"]
        assert len(hollow) == 15  # the equal-MACs markers the legend promises
    finally:
        for fig in result.figures.values():
            plt.close(fig)
