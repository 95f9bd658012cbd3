"""analysis.ablation_study (notebooks 02 and 03) against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from analysis import ablation_study as ab
from analysis import plots
from analysis.errors import ConfigError
from analysis.latency import load_latency

TABLE2 = ["ablation_relu", "ablation_gelu", "ablation_se_relu", "ablation_silu",
          "ablation_dynamic_shift_max", "ablation_dyrelu_a", "ablation_dyrelu_b"]
TABLE3 = ["ablation_baseline", "ablation_se", "ablation_skip"]
PAPER_T2 = [1.53, 1.63, 2.10, 2.54, 57.04, 273.49, 242.14]
SMALL = {"depth": 30, "width": 8, "input_size": 32}


def measured_rows(runtime: str, ids, mins, medians=None) -> pd.DataFrame:
    """Rows shaped like measure_variants' output (only the columns the module reads)."""
    medians = medians or [m * 1.5 for m in mins]
    return pd.DataFrame({"runtime": runtime, "model_id": ids, "min_ms": mins,
                         "median_ms": medians})


# -- small helpers --------------------------------------------------------------------------------

def test_ranges_and_slug():
    assert ab._ranges([4, 7, 9, 10, 11, 14]) == "4, 7, 9–11, 14"
    assert ab._ranges([3]) == "3"
    assert ab.slug("My iPhone 15 · coreml") == "my_iphone_15_coreml"


def test_get_table_rejects_unknown():
    assert ab.get_table("table3").reference == "ablation_baseline"
    with pytest.raises(ConfigError, match="unknown ablation table"):
        ab.get_table("table4")


# -- exact Spearman -------------------------------------------------------------------------------

def test_exact_spearman_p_hand_values():
    # n = 3: of the 6 orderings, |rho| = 1 for 2 of them -> p = 1/3
    assert ab.exact_spearman_p([1, 2, 3], [10, 20, 30]) == pytest.approx(1 / 3)
    # n = 4: perfect agreement is 2 of 24 orderings
    assert ab.exact_spearman_p([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(2 / 24)
    # n = 3, rho = 0.5 (one adjacent swap): |rho| >= 0.5 for all 6 orderings
    assert ab.exact_spearman_p([1, 2, 3], [1, 3, 2]) == pytest.approx(1.0)
    assert math.isnan(ab.exact_spearman_p([1, 2], [1, 2]))
    assert math.isnan(ab.exact_spearman_p(range(9), range(9)))  # beyond EXACT_MAX_N
    assert math.isnan(ab.exact_spearman_p([1, 1, 1], [1, 2, 3]))  # constant input


def test_exact_spearman_p_matches_brute_force_with_ties():
    import itertools

    x = [1.0, 2.0, 2.0, 5.0, 3.0, 7.0]
    y = [0.3, 0.1, 0.5, 0.9, 0.7, 0.2]
    obs = abs(sps.spearmanr(x, y).statistic)
    perms = list(itertools.permutations(y))
    count = sum(abs(sps.spearmanr(x, p).statistic) >= obs - 1e-12 for p in perms)
    assert ab.exact_spearman_p(x, y) == pytest.approx(count / len(perms))


def test_spearman_critical_values_match_the_published_table():
    # two-sided alpha = 0.05 (e.g. Zar, Biostatistical Analysis, Table B.20): n = 7 -> 0.786,
    # n = 8 -> 0.738 (exact: 0.7381), n = 5 -> only a perfect ranking (p = 2/120), n = 4 -> none
    assert ab.spearman_critical_value(7) == pytest.approx(0.7857, abs=1e-4)
    assert ab.spearman_critical_value(8) == pytest.approx(0.7381, abs=1e-4)
    assert ab.spearman_critical_value(5) == pytest.approx(1.0)
    assert math.isnan(ab.spearman_critical_value(4))


# -- series, slowdowns, the wide table ----------------------------------------------------------

def test_add_slowdowns_divides_by_the_reference_within_each_series():
    long = pd.DataFrame({
        "key": ["a", "a", "a", "b", "b", "b"],
        "model_id": ["r", "x", "y", "r", "x", "y"],
        "latency_ms": [2.0, 3.0, 8.0, 10.0, np.nan, 5.0],
        "median_ms": [4.0, 5.0, np.nan, np.nan, 1.0, 2.0],
    })
    out = ab.add_slowdowns(long, "r")
    assert out["slowdown"].tolist()[:3] == [1.0, 1.5, 4.0]
    assert out["slowdown"].iloc[3] == 1.0 and math.isnan(out["slowdown"].iloc[4])
    assert out["slowdown"].iloc[5] == 0.5
    assert out["median_slowdown"].tolist()[:2] == [1.0, 1.25]
    assert out["median_slowdown"].iloc[3:].isna().all()  # no reference median in series b


def test_series_table_and_comparison_table_table2():
    measured = pd.concat([
        measured_rows("torch", TABLE2, [10, 11, 12, 13, 30, 20, 25]),
        measured_rows("onnxruntime", TABLE2, [2, 2, 3, 4, 9, 8, 7])], ignore_index=True)
    long = ab.series_table("table2", measured)
    assert list(dict.fromkeys(long["key"])) == ["paper", "torch", "onnxruntime"]
    paper = long[long["key"] == "paper"].set_index("model_id")
    assert paper.loc["ablation_dyrelu_a", "latency_ms"] == 273.49
    assert paper.loc["ablation_dyrelu_a", "slowdown"] == pytest.approx(273.49 / 1.53)
    torch_ = long[long["key"] == "torch"].set_index("model_id")
    assert torch_.loc["ablation_dynamic_shift_max", "slowdown"] == pytest.approx(3.0)
    assert torch_.loc["ablation_gelu", "median_slowdown"] == pytest.approx(1.1)

    cx = pd.DataFrame({"model_id": TABLE2, "model": TABLE2, "paper_row": range(7),
                       **{c: 1 for c in ("macs", "elementwise", "params", "activations",
                                         "memory_bytes", "operators", "layers", "merges")},
                       "macs_vs_first": 1.0})
    wide = ab.comparison_table(long, cx)
    assert wide["model_id"].tolist() == TABLE2
    for col in ("paper_ms", "paper_slowdown", "torch_min_ms", "torch_median_ms",
                "torch_slowdown", "torch_median_slowdown", "onnxruntime_min_ms",
                "onnxruntime_slowdown"):
        assert col in wide.columns
    assert wide["onnxruntime_slowdown"].tolist() == pytest.approx([1, 1, 1.5, 2, 4.5, 4, 3.5])
    assert wide["paper_ms"].tolist() == PAPER_T2
    assert wide["torch_median_ms"].iloc[0] == 15.0


def test_measured_series_keeps_missing_variants_as_nan():
    measured = measured_rows("torch", TABLE3[:2], [4.0, 5.0])
    long = ab.series_table("table3", measured)
    torch_ = long[long["key"] == "torch"].set_index("model_id")
    assert torch_.loc["ablation_se", "slowdown"] == pytest.approx(1.25)
    assert math.isnan(torch_.loc["ablation_skip", "latency_ms"])
    paper = long[long["key"] == "paper"]
    assert paper["latency_ms"].isna().all()  # Table 3 values are not published: never invented
    chart = ab.chart_data(long, "latency_ms").drop_duplicates("key").set_index("key")["series"]
    assert chart.to_dict() == {"paper": f"{ab.PAPER_LABEL} — not available",
                               "torch": "This CPU: torch (min)"}
    assert ab.paper_rank_correlation(long).empty


def _write(path, text):
    path.write_text(text)
    return path


def test_device_series_names_ids_ignored_missing_and_keys(tmp_path):
    csv = _write(tmp_path / "phone.csv", "\n".join([
        "model,latency_ms,device,runtime,statistic,input_size",
        "Ablation ReLU,1.5,My Phone,coreml,min,224",
        "ablation_gelu,1.7,My Phone,coreml,min,224",  # id works too
        "Ablation DyReLU-A,100,My Phone,coreml,min,224",
        "Ablation +SE,2.0,My Phone,coreml,min,224",  # Table 3: ignored in Table 2
        "MobileOne-S0,0.8,My Phone,coreml,min,224",  # not an ablation network
        "Ablation ReLU,3.0,Other,onnxruntime,median,224",
    ]) + "\n")
    dev = ab.device_series("table2", load_latency(csv))
    keys = list(dict.fromkeys(dev.series["key"]))
    assert keys == ["device_my_phone_coreml", "device_other_onnxruntime"]
    assert set(dev.series["series"]) == {"My Phone (coreml, min)", "Other (onnxruntime, median)"}
    assert dev.ignored == ["Ablation +SE", "MobileOne-S0"]
    assert "Ablation SE-ReLU" in dev.missing["My Phone (coreml, min)"]
    assert dev.input_sizes["My Phone (coreml, min)"] == [224]
    long = ab.series_table("table2", pd.DataFrame(columns=["runtime", "model_id", "min_ms",
                                                           "median_ms"]), dev)
    phone = long[long["key"] == "device_my_phone_coreml"].set_index("model_id")
    assert phone.loc["ablation_dyrelu_a", "slowdown"] == pytest.approx(100 / 1.5)
    assert phone.loc["ablation_gelu", "slowdown"] == pytest.approx(1.7 / 1.5)
    assert math.isnan(phone.loc["ablation_silu", "slowdown"])
    wide = ab.comparison_table(long, pd.DataFrame({"model_id": TABLE2, "model": TABLE2,
                                                   "paper_row": TABLE2, **{c: 1 for c in (
                                                       "macs", "elementwise", "params",
                                                       "activations", "memory_bytes",
                                                       "operators", "layers", "merges")}}))
    assert "device_my_phone_coreml_ms" in wide and "device_my_phone_coreml_slowdown" in wide


def test_device_series_rejects_two_rows_for_one_network(tmp_path):
    csv = _write(tmp_path / "dup.csv", "\n".join([
        "model,latency_ms,device,runtime,input_size",
        "Ablation ReLU,1.5,P,coreml,224",
        "Ablation ReLU,1.9,P,coreml,256",
    ]) + "\n")
    with pytest.raises(ConfigError, match="appears 2 times"):
        ab.device_series("table2", load_latency(csv))


# -- rank agreement with the paper --------------------------------------------------------------

def test_paper_rank_correlation_against_scipy():
    ours = [10, 11, 14, 12, 30, 20, 25]  # ranks 1 2 4 3 7 5 6 vs the paper's 1 2 3 4 5 7 6
    long = ab.series_table("table2", measured_rows("torch", TABLE2, ours))
    corr = ab.paper_rank_correlation(long, n_bootstrap=500, seed=1)
    assert corr["key"].tolist() == ["torch"]
    r = corr.iloc[0]
    ref = sps.spearmanr(PAPER_T2, ours)
    # hand: d = (0, 0, 1, 1, 2, 2, 0) -> sum d^2 = 10, rho = 1 - 6*10/(7*48) = 0.8214
    assert r["rho"] == pytest.approx(1 - 60 / 336) == pytest.approx(ref.statistic)
    assert r["p_value"] == pytest.approx(ref.pvalue)
    assert r["kendall_tau"] == pytest.approx(sps.kendalltau(PAPER_T2, ours).statistic)
    assert r["n"] == 7 and r["critical_rho"] == pytest.approx(0.7857, abs=1e-4)
    assert r["exact_p"] == pytest.approx(ab.exact_spearman_p(PAPER_T2, ours))
    assert r["exact_p"] < 0.05
    assert r["ci_low"] <= r["rho"] <= r["ci_high"]


# -- text ----------------------------------------------------------------------------------

def _complexity(ids, macs, elementwise, memory, merges, rows):
    cx = pd.DataFrame({"model_id": ids, "paper_row": rows, "macs": macs,
                       "elementwise": elementwise, "memory_bytes": memory, "merges": merges,
                       "params": 1, "operators": 1})
    for c in ab.RATIO_COSTS:
        cx[f"{c}_vs_first"] = cx[c] / cx[c].iloc[0]
    return cx


def test_cost_sentence_and_conclusion_are_computed_from_the_numbers():
    rows = ["ReLU", "GELU", "SE-ReLU", "SiLU", "Dynamic Shift-Max", "DynamicReLU-A",
            "DynamicReLU-B"]
    cx = _complexity(TABLE2, [1000, 1000, 1010, 1000, 1020, 1005, 1020],
                     [10, 10, 20, 10, 70, 50, 50], [100, 100, 120, 100, 300, 160, 170],
                     [0, 0, 29, 0, 203, 29, 145], rows)
    text = ab.cost_sentence(cx, "ReLU")
    assert "+0.00 % to +2.00 %" in text and "7× (Dynamic Shift-Max)" in text
    assert "3× (Dynamic Shift-Max)" in text and "from 0 to up to 203" in text

    ours = [10, 10.2, 14, 12, 30, 20, 25]
    long = ab.series_table("table2", measured_rows("torch", TABLE2, ours))
    corr = ab.paper_rank_correlation(long, n_bootstrap=200)
    out = ab.conclusion("table2", long, cx, corr)
    assert "179× (DynamicReLU-A)" in out  # 273.49 / 1.53 = 178.75
    assert "3× (Dynamic Shift-Max)" in out  # torch: 30 / 10
    assert "1.02× (GELU)" in out  # the smallest torch slowdown
    # paper extra time 177.75 vs ours 2.0 -> 89x larger
    assert "89× larger" in out
    assert "latency is 3× ReLU's while its MACs are +2.00 %: far more than its MACs" in out
    assert "ρ = 0.82" in out and "only |ρ| ≥ 0.79" in out
    assert "nan" not in out.lower()


def test_noise_check_flags_min_and_median_disagreement():
    quiet = measured_rows("torch", TABLE3, [10.0, 12.0, 11.0], [11.0, 13.0, 12.0])
    noisy = measured_rows("onnxruntime", TABLE3, [10.0, 12.0, 11.0], [30.0, 13.0, 31.0])
    long = ab.series_table("table3", pd.concat([quiet, noisy], ignore_index=True))
    flags = ab.noise_check(long)
    # onnxruntime: min slowdowns 1.2, 1.1 vs median 0.433, 1.03 -> +SE is off by 2.77x
    assert flags == ["This CPU: onnxruntime (min): + Squeeze-Excite 1.2× (min) vs 0.433× "
                     "(median)"]
    cx = _complexity(TABLE3, [1000, 1001, 1000], [10, 13, 13], [100, 110, 109], [0, 12, 12],
                     ["Baseline", "+ Squeeze-Excite", "+ Skip connections"])
    assert "Measurement noise" in ab.conclusion("table3", long, cx)
    assert "Measurement noise" not in ab.conclusion(
        "table3", ab.series_table("table3", quiet), cx)


def test_table3_conclusion_says_the_paper_values_are_missing_and_names_the_proxy():
    cx = _complexity(TABLE3, [1000, 1001, 1000], [10, 13, 13], [100, 110, 109], [0, 12, 12],
                     ["Baseline", "+ Squeeze-Excite", "+ Skip connections"])
    long = ab.series_table("table3", measured_rows("torch", TABLE3, [10.0, 12.0, 10.2]))
    closest = ab.closest_published("table3")
    se = closest.set_index("model_id").loc["ablation_se"]
    assert se["closest_ms"] == 2.10 and se["closest_slowdown"] == pytest.approx(2.10 / 1.53)
    assert math.isnan(closest.set_index("model_id").loc["ablation_skip", "closest_ms"])
    out = ab.conclusion("table3", long, cx, ab.paper_rank_correlation(long), closest=closest)
    assert "Table 3 values are not available" in out
    assert "1.2× (+ Squeeze-Excite)" in out
    assert "+0.10 %: more than its MACs suggest" in out
    small = ab.series_table("table3", measured_rows("torch", TABLE3, [10.0, 10.3, 10.2]))
    assert "(a difference within ±5%" in ab.conclusion("table3", small, cx)
    assert "Table 2 SE-ReLU runs at 2.1 ms" in out and "1.37× the ReLU network" in out
    assert "Rank agreement" not in out


# -- networks and placement ---------------------------------------------------------------------

def test_build_networks_and_placement():
    nets = ab.build_networks("table3", **SMALL)
    assert list(nets) == TABLE3
    placement = ab.placement_table(**SMALL)
    convs = placement[placement["kernel"] == 3]
    se_layers = convs.loc[convs["se_in_plus_se"], "layer"].tolist()
    assert se_layers == [4, 7, 9, 11, 14, 16, 18, 20, 22, 24, 27, 29]
    skips = convs.dropna(subset=["skip_in_plus_skip"])
    assert (skips["layer"] - skips["skip_in_plus_skip"] == 1).all() and len(skips) == 12
    text = ab.placement_summary(placement)
    assert "12 of the 29 conv layers" in text and "4, 7, 9, 11, 14, 16" in text
    assert "3→4" in text and "28→29" in text
    summary = ab.layout_summary(nets["ablation_baseline"])
    assert summary.startswith("30 weight layers: 29 conv")
    assert "(1, 3, 6, 2)" in summary and "(8, 16, 32, 64)" in summary and "32 px to 1 px" in summary


def test_complexity_table_ratios():
    cx = ab.complexity_table("table3", **SMALL)
    for c in ab.RATIO_COSTS:
        assert cx[f"{c}_vs_first"].tolist() == pytest.approx((cx[c] / cx[c].iloc[0]).tolist())
    assert cx["macs_vs_first"].iloc[2] == 1.0  # identity shortcuts add no MACs
    assert cx["merges"].tolist()[0] == 0 and cx["merges"].iloc[2] == 12
    view = ab.complexity_view(cx)
    assert view.index.tolist() == ["Baseline", "+ Squeeze-Excite", "+ Skip connections"]


# -- measurement wrapper ---------------------------------------------------------------------------

def test_measure_variants_rows_and_failures(monkeypatch):
    nets = ab.build_networks("table3", **SMALL)
    rows = ab.measure_variants(nets, ["torch"], runs=2, warmup=0, threads=1, input_size=32,
                               progress=False)
    assert rows["model_id"].tolist() == TABLE3
    assert (rows["n_runs"] == 2).all() and (rows["threads"] == 1).all()
    assert (rows["min_ms"] <= rows["median_ms"]).all()
    ctx = ab.measurement_context(rows)
    assert ctx["runtime"].tolist() == ["torch"] and ctx["input_size"].iloc[0] == "32"

    import analysis.latency as latency

    real = latency.measure_model

    def flaky(module, runtime, **kw):
        if kw["name"] == "Ablation +SE":
            raise RuntimeError("export exploded\nsecond line")
        return real(module, runtime, **kw)

    monkeypatch.setattr(latency, "measure_model", flaky)
    rows = ab.measure_variants(nets, ["torch"], runs=1, warmup=0, threads=1, input_size=32,
                               progress=False)
    assert rows["model_id"].tolist() == ["ablation_baseline", "ablation_skip"]
    assert rows.attrs["failed"] == {"torch · Ablation +SE": "RuntimeError: export exploded"}
    with pytest.raises(ConfigError, match="RUNTIMES is empty"):
        ab.measure_variants(nets, [], runs=1, warmup=0, threads=1, input_size=32)


def test_to_jsonable():
    out = ab.to_jsonable({"a": np.float64("nan"), "b": np.int64(3), "c": [np.bool_(True)],
                          "d": pd.DataFrame({"x": [1.5]})})
    assert out == {"a": None, "b": 3, "c": [True], "d": [{"x": 1.5}]}


# -- the slowdown chart --------------------------------------------------------------------

def test_plot_slowdown_bars_draws_from_the_reference_line():
    data = pd.DataFrame({"v": ["A", "B", "A", "B"], "s": ["p", "p", "q", "q"],
                         "r": [1.0, 4.0, 1.0, 0.5]})
    fig = plots.plot_slowdown_bars(data, category="v", value="r", series="s", reference="A")
    ax = fig.axes[0]
    bars = list(ax.patches)
    tops = sorted(round(b.get_y() + b.get_height(), 6) for b in bars)
    assert tops == [0.5, 1.0, 1.0, 4.0]
    assert all(b.get_y() == pytest.approx(1.0) for b in bars)
    assert ax.get_yscale() == "log" and ax.get_ylim()[0] < 0.5
    assert ax.get_ylabel() == "× A"
    plots.plt.close(fig)
