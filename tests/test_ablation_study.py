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
from analysis.stats import exact_spearman_p
from analysis.util import slug, to_jsonable

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
    assert slug("My iPhone 15 · coreml") == "my_iphone_15_coreml"


def test_get_table_rejects_unknown():
    assert ab.get_table("table3").reference == "ablation_baseline"
    with pytest.raises(ConfigError, match="unknown ablation table"):
        ab.get_table("table4")


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
    paper = long[long["key"] == "paper"].set_index("model_id")
    assert paper["latency_ms"].tolist() == [1.53, 2.10, 2.62]  # the paper's Table 3
    assert paper.loc["ablation_skip", "slowdown"] == pytest.approx(2.62 / 1.53)
    corr = ab.paper_rank_correlation(long)
    assert corr["n"].tolist() == [2] and math.isnan(corr["rho"].iloc[0])  # too few to rank


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
    assert r["exact_p"] == pytest.approx(exact_spearman_p(PAPER_T2, ours))
    assert r["exact_p"] < 0.05 and r["supported"] and r["inference"] == "exact permutation"
    assert math.isnan(r["ci_low"]) and math.isnan(r["ci_high"])  # n = 7: no bootstrap CI


# -- networks and placement ---------------------------------------------------------------------

def test_default_se_placement_is_every_conv_as_the_paper_suggests():
    placement = ab.placement_table(**SMALL)
    convs = placement[placement["kernel"] == 3]
    assert convs["se_in_plus_se"].all() and len(convs) == 29
    assert "29 of the 29 conv layers" in ab.placement_summary(placement)
    assert "SE-ReLU" in ab.placement_summary(placement)
    with pytest.raises(ConfigError, match="SE_PLACEMENT"):
        ab.build_networks("table3", se_placement="sometimes", **SMALL)


def test_build_networks_and_placement():
    nets = ab.build_networks("table3", se_placement="block", **SMALL)
    assert list(nets) == TABLE3
    placement = ab.placement_table(se_placement="block", **SMALL)
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


def test_complexity_table_counts():
    cx = ab.complexity_table("table3", **SMALL)
    assert list(cx["model_id"]) == TABLE3
    assert (cx["skipped_ops"] == "").all()  # every op is counted by fvcore or by us
    assert cx["macs_vs_first"].iloc[2] == 1.0  # identity shortcuts add no MACs
    t2 = ab.complexity_table("table2", **SMALL).set_index("model_id")
    relu = t2.loc["ablation_relu"]
    # same convs: the MACs move little while the element-wise work grows
    assert (t2["macs"] >= relu["macs"]).all() and (t2["macs"] < 1.2 * relu["macs"]).all()
    for dynamic in ("ablation_dyrelu_a", "ablation_dyrelu_b", "ablation_dynamic_shift_max"):
        assert t2.loc[dynamic, "elementwise"] > 3 * relu["elementwise"]
    # with SE after every conv, +SE counts exactly what the SE-ReLU network counts
    assert cx.set_index("model_id").loc["ablation_se", "macs"] == t2.loc["ablation_se_relu", "macs"]
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
    assert ctx.index.tolist() == ["torch"] and ctx["input_size"].iloc[0] == "32"

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
    for none in ([], "", "none"):  # a phone-only run measures nothing
        empty = ab.measure_variants(nets, none, runs=1, warmup=0, threads=1, input_size=32)
        assert empty.empty and ab.measurement_context(empty).empty


def test_to_jsonable():
    out = to_jsonable({"a": np.float64("nan"), "b": np.int64(3), "c": [np.bool_(True)],
                          "d": pd.DataFrame({"x": [1.5]})})
    assert out == {"a": None, "b": 3, "c": [True], "d": [{"x": 1.5}]}


# -- the charts ---------------------------------------------------------------------------

def test_plot_dot_rows_draws_every_value_and_the_reference_line():
    data = pd.DataFrame({"v": ["A", "B", "A", "B"], "s": ["p", "p", "q", "q"],
                         "r": [1.0, 4.0, 1.0, 0.5]})
    fig = plots.plot_dot_rows(data, category="v", value="r", series="s",
                              colors={"p": "#000000", "q": "#CC6677"}, reference_line=1.0)
    ax = fig.axes[0]
    dots = [line for line in ax.lines if line.get_linestyle() == "None"]
    assert sorted(x for line in dots for x in line.get_xdata()) == [0.5, 1.0, 1.0, 4.0]
    assert [list(line.get_xdata()) for line in ax.lines if line.get_linestyle() != "None"] == [[1.0, 1.0]]
    assert ax.get_xscale() == "log" and ax.get_xlim()[0] < 0.5 < 4 < ax.get_xlim()[1]
    where = dict(zip([t.get_text() for t in ax.get_yticklabels()], ax.get_yticks()))
    assert where["A"] > where["B"]  # the first category on top
    assert not plots.text_overlaps(fig)
    plots.plt.close(fig)
