"""The ablation studies (notebooks 02 and 03, ``analysis.studies.ablation``) on synthetic inputs:
numbers against hand computation and scipy, typed findings and verdicts, the parameters' rules,
the latency step (live and from a file), the figures; the wording only in golden files."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from analysis.constants import NOISE_BAND
from analysis.errors import ConfigError, DataFormatError
from analysis.plots import plt, text_overlaps
from analysis.stats import exact_spearman_p
from analysis.studies.ablation import activations, blocks, compute, measure, prose
from analysis.studies.ablation import findings as fd
from analysis.studies.ablation import figures as fig
from analysis.studies.params import spec
from hygiene import assert_golden

T2, T3 = compute.TABLES["02_activation_ablation"], compute.TABLES["03_block_ablation"]
TABLE2 = ["ablation_relu", "ablation_gelu", "ablation_se_relu", "ablation_silu",
          "ablation_dynamic_shift_max", "ablation_dyrelu_a", "ablation_dyrelu_b"]
TABLE3 = ["ablation_baseline", "ablation_se", "ablation_skip"]
ROWS2 = ["ReLU", "GELU", "SE-ReLU", "SiLU", "Dynamic Shift-Max", "DynamicReLU-A",
         "DynamicReLU-B"]
ROWS3 = ["Baseline", "+ Squeeze-Excite", "+ Skip connections"]
PAPER_T2 = [1.53, 1.63, 2.10, 2.54, 57.04, 273.49, 242.14]
SMALL = {"depth": 30, "width": 8, "input_size": 32}


def rows(runtime, ids, mins, medians=None, device="Test CPU") -> pd.DataFrame:
    """Measurement rows (the columns the series read)."""
    medians = medians or [m * 1.05 for m in mins]
    return pd.DataFrame({"runtime": runtime, "device": device, "model_id": ids, "min_ms": mins,
                         "median_ms": medians})


def counts(ids, labels, macs, elementwise, memory, merges) -> pd.DataFrame:
    """A synthetic complexity table (the columns the findings read)."""
    cx = pd.DataFrame({"model_id": ids, "model": ids, "paper_row": labels, "macs": macs,
                       "elementwise": elementwise, "memory_bytes": memory, "merges": merges,
                       "params": 1, "activations": 1, "layers": 1})
    cx["operators"] = cx["merges"] + 60
    for c in compute.RATIO_COSTS:
        cx[f"{c}_vs_first"] = cx[c] / cx[c].iloc[0]
    return cx


CX2 = counts(TABLE2, ROWS2, [1000, 1000, 1010, 1000, 1020, 1005, 1020],
             [10, 10, 20, 10, 70, 50, 50], [100, 100, 120, 100, 300, 160, 170],
             [0, 0, 29, 0, 203, 29, 145])
CX3 = counts(TABLE3, ROWS3, [1000, 1001, 1000], [10, 13, 13], [100, 110, 109], [0, 12, 12])


def findings_of(spec, cx, long, failed=None):
    return fd.findings(spec, cx, long, compute.paper_vs_ours(long, spec.reference),
                       compute.paper_rank_correlation(long), failed)


# -- series, slowdowns, the wide table ------------------------------------------------------------

def test_add_slowdowns_divides_by_the_reference_within_each_series():
    long = pd.DataFrame({"key": ["a", "a", "a", "b", "b", "b"],
                         "model_id": ["r", "x", "y", "r", "x", "y"],
                         "latency_ms": [2.0, 3.0, 8.0, 10.0, np.nan, 5.0],
                         "median_ms": [4.0, 5.0, np.nan, np.nan, 1.0, 2.0]})
    out = compute.add_slowdowns(long, "r")
    assert out["slowdown"].tolist()[:3] == [1.0, 1.5, 4.0]
    assert out["slowdown"].iloc[3] == 1.0 and math.isnan(out["slowdown"].iloc[4])
    assert out["slowdown"].iloc[5] == 0.5
    assert out["median_slowdown"].tolist()[:2] == [1.0, 1.25]
    assert out["median_slowdown"].iloc[3:].isna().all()  # no reference median in series b


def test_series_and_comparison_tables_table2():
    measured = pd.concat([rows("torch", TABLE2, [10, 11, 12, 13, 30, 20, 25]),
                          rows("onnxruntime", TABLE2, [2, 2, 3, 4, 9, 8, 7])])
    long = compute.series_table(T2, measured)
    assert list(dict.fromkeys(long["key"])) == ["paper", "torch", "onnxruntime"]
    assert set(long["series"]) == {compute.PAPER_LABEL, "Test CPU · torch (min)",
                                   "Test CPU · onnxruntime (min)"}
    paper = long[long["key"] == "paper"].set_index("model_id")
    assert paper["latency_ms"].tolist() == PAPER_T2  # the paper's Table 2
    assert paper.loc["ablation_dyrelu_a", "slowdown"] == pytest.approx(273.49 / 1.53)
    torch_ = long[long["key"] == "torch"].set_index("model_id")
    assert torch_.loc["ablation_dynamic_shift_max", "slowdown"] == pytest.approx(3.0)
    assert torch_.loc["ablation_gelu", "median_slowdown"] == pytest.approx(1.1)
    wide = compute.comparison_table(long, CX2)
    assert wide["model_id"].tolist() == TABLE2
    assert wide["onnxruntime_slowdown"].tolist() == pytest.approx([1, 1, 1.5, 2, 4.5, 4, 3.5])
    assert wide["paper_ms"].tolist() == PAPER_T2
    assert wide["torch_median_ms"].iloc[0] == 10.5
    described = compute.comparison_columns(wide, long)
    assert set(wide.columns) - {"model_id", "model"} - set(compute.COUNTS) <= set(described)


def test_missing_variants_stay_missing_and_two_values_cannot_be_ranked():
    long = compute.series_table(T3, rows("torch", TABLE3[:2], [4.0, 5.0]))
    torch_ = long[long["key"] == "torch"].set_index("model_id")
    assert torch_.loc["ablation_se", "slowdown"] == pytest.approx(1.25)
    assert math.isnan(torch_.loc["ablation_skip", "latency_ms"])
    paper = long[long["key"] == "paper"].set_index("model_id")
    assert paper["latency_ms"].tolist() == [1.53, 2.10, 2.62]  # the paper's Table 3
    corr = compute.paper_rank_correlation(long)
    assert corr["n"].tolist() == [2] and math.isnan(corr["rho"].iloc[0])


def test_paper_rank_correlation_against_scipy_and_the_exact_test():
    ours = [10, 11, 14, 12, 30, 20, 25]  # ranks 1 2 4 3 7 5 6 vs the paper's 1 2 3 4 5 7 6
    r = compute.paper_rank_correlation(compute.series_table(T2, rows("torch", TABLE2, ours)))
    assert r["key"].tolist() == ["torch"]
    r = r.iloc[0]
    # hand: d = (0, 0, 1, 1, 2, 2, 0) -> sum d² = 10, ρ = 1 − 6·10 / (7·48)
    assert r["rho"] == pytest.approx(1 - 60 / 336) == pytest.approx(
        sps.spearmanr(PAPER_T2, ours).statistic)
    assert r["kendall_tau"] == pytest.approx(sps.kendalltau(PAPER_T2, ours).statistic)
    assert r["exact_p"] == pytest.approx(exact_spearman_p(PAPER_T2, ours))
    assert r["n"] == 7 and r["critical_rho"] == pytest.approx(0.7857, abs=1e-4)
    assert r["supported"] and math.isnan(r["ci_low"])  # n = 7: exact test, no interval


def test_cost_correlations_leave_macs_out_and_match_scipy():
    long = compute.series_table(T2, rows("torch", TABLE2, [10, 11, 14, 12, 30, 20, 25]))
    corr = compute.cost_correlations(long, CX2)
    assert "macs" not in set(corr["metric"])
    mem = corr[(corr["series"] == "Test CPU · torch (min)") & (corr["metric"] == "memory_bytes")]
    expected = sps.spearmanr(CX2["memory_bytes"], [10, 11, 14, 12, 30, 20, 25]).statistic
    assert mem["rho"].item() == pytest.approx(expected)


# -- the device file ------------------------------------------------------------------------------

PHONE = "\n".join([
    "model,latency_ms,device,runtime,statistic,input_size",
    "Ablation ReLU,1.5,My Phone,coreml,min,224",
    "ablation_gelu,1.7,My Phone,coreml,min,224",  # an id works too
    "Ablation DyReLU-A,100,My Phone,coreml,min,224",
    "Ablation +SE,2.0,My Phone,coreml,min,224",  # Table 3: ignored in Table 2
    "MobileOne-S0,0.8,My Phone,coreml,min,224",  # not an ablation network
    "Ablation ReLU,3.0,Other,onnxruntime,median,224",
]) + "\n"


def test_device_file_series_ignored_missing_and_keys(tmp_path):
    (tmp_path / "phone.csv").write_text(PHONE)
    dev = compute.device_file(T2, str(tmp_path / "phone.csv"))
    assert list(dict.fromkeys(dev.series["key"])) == ["device_my_phone_coreml",
                                                      "device_other_onnxruntime"]
    assert set(dev.series["series"]) == {"My Phone · coreml (min)", "Other · onnxruntime (median)"}
    assert dev.ignored == ("Ablation +SE", "MobileOne-S0")
    assert "Ablation SE-ReLU" in dev.missing["My Phone · coreml (min)"]
    assert dev.input_sizes["My Phone · coreml (min)"] == (224,)
    long = compute.series_table(T2, measure._frame([]), dev.series)
    phone = long[long["key"] == "device_my_phone_coreml"].set_index("model_id")
    assert phone.loc["ablation_dyrelu_a", "slowdown"] == pytest.approx(100 / 1.5)
    assert math.isnan(phone.loc["ablation_silu", "slowdown"])
    wide = compute.comparison_table(long, CX2)
    assert {"device_my_phone_coreml_ms", "device_my_phone_coreml_slowdown"} <= set(wide)
    text = prose.device_text(dev, input_size=64, depth=30, width=8)
    assert "Ablation +SE, MobileOne-S0" in text and "224 px" in text and "width 8" in text


def test_a_file_without_the_tables_networks_advises_the_export(tmp_path):
    csv = tmp_path / "latency_template.csv"
    csv.write_text("model,latency_ms,device\nMobileOne-S0,0.8,Phone\nMobileOne-S1,1.0,Phone\n")
    with pytest.raises(ConfigError, match="python -m analysis export --models ablation") as err:
        compute.device_file(T2, str(csv))
    assert "latency_template.csv holds none of the 7 Table 2 networks" in str(err.value)
    assert "\n" not in str(err.value)
    csv.write_text("model,latency_ms,device\nAblation +SE,2.0,Phone\n")  # Table 3 only
    with pytest.raises(ConfigError, match="none of the 7 Table 2"):
        compute.device_file(T2, str(csv))
    assert len(compute.device_file(T3, str(csv)).series) == 3


def test_device_file_rejects_two_rows_for_one_network_and_bad_files(tmp_path):
    dup = tmp_path / "dup.csv"
    dup.write_text("model,latency_ms,device,runtime,input_size\n"
                   "Ablation ReLU,1.5,P,coreml,224\nAblation ReLU,1.9,P,coreml,256\n")
    with pytest.raises(ConfigError, match="appears 2 times"):
        compute.device_file(T2, str(dup))
    bad = tmp_path / "bad.csv"
    bad.write_text("model,latency_ms\nAblation ReLU,-1\n")
    with pytest.raises(DataFormatError) as err:
        compute.device_file(T2, str(bad))
    assert "bad.csv" in str(err.value) and "line 2" in str(err.value)


# -- parameters -----------------------------------------------------------------------------------

def test_rules_normalise_and_refuse(tmp_path):
    assert activations.parameters(RUNTIMES="torch, ONNXRUNTIME").RUNTIMES == ["torch",
                                                                              "onnxruntime"]
    for bad, words in ((dict(RUNTIMES="tensorrt"), "RUNTIMES"), (dict(N_RUNS=0), "N_RUNS"),
                       (dict(THREADS=0), "THREADS"), (dict(INPUT_SIZE=16), "INPUT_SIZE"),
                       (dict(DEPTH=31), "multiple of 2"), (dict(WIDTH=10), "multiple of 4"),
                       (dict(MEASUREMENTS_CSV=str(tmp_path / "no.csv")), "no such file")):
        with pytest.raises(ConfigError, match=words):
            activations.parameters(**bad)
    with pytest.raises(ConfigError, match="SE_PLACEMENT"):
        blocks.parameters(SE_PLACEMENT="sometimes")
    with pytest.raises(ConfigError, match="nothing to compare"):
        blocks.parameters(RUNTIMES="none")


def test_a_notebook_without_ablation_networks_stops_before_any_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("MOBILEONE_STUDY_RUNS", str(tmp_path / "runs"))
    csv = tmp_path / "template.csv"
    csv.write_text("model,latency_ms,device\nMobileOne-S0,0.8,My Phone\n")
    namespace = {name: p.default for name, p in spec(activations.NOTEBOOK).items()}
    namespace.update(LATENCY_CSV=str(csv), RUNTIMES="none")
    with pytest.raises(ConfigError, match="export them first"):
        activations.parameters(namespace)
    assert not (tmp_path / "runs").exists()


# -- the latency step -----------------------------------------------------------------------------

def test_live_measurement_rows_failures_and_none(monkeypatch):
    nets = compute.build_networks(T3, **SMALL)
    got = measure.measure_live(nets, ["torch"], runs=2, warmup=0, threads=1, input_size=32)
    assert got.rows["model_id"].tolist() == TABLE3 and not got.failed
    assert (got.rows["n_runs"] == 2).all() and (got.rows["min_ms"] <= got.rows["median_ms"]).all()
    assert measure.context_table(got).loc["torch", "input_size"] == "32"
    real = measure.measure_model

    def flaky(module, runtime, **kw):
        if kw["name"] == "Ablation +SE":
            raise RuntimeError("export exploded\nsecond line")
        return real(module, runtime, **kw)

    monkeypatch.setattr(measure, "measure_model", flaky)
    got = measure.measure_live(nets, ["torch"], runs=1, warmup=0, threads=1, input_size=32)
    assert got.rows["model_id"].tolist() == ["ablation_baseline", "ablation_skip"]
    assert got.failed == {"torch · Ablation +SE": "RuntimeError: export exploded"}
    empty = measure.measure_live(nets, [], runs=1, warmup=0, threads=1, input_size=32)
    assert empty.rows.empty and measure.context_table(empty).empty


def test_measurements_written_by_a_run_read_back_as_the_same_latencies(tmp_path):
    table = pd.DataFrame([{"model": m, "model_id": i, "runtime": "torch", "device": "CPU A",
                           "statistic": "min", "latency_ms": v, "min_ms": v,
                           "median_ms": v * 1.1, "n_runs": 5, "threads": 1, "input_size": 64}
                          for m, i, v in zip(["Ablation baseline", "Ablation +SE",
                                              "Ablation +skip"], TABLE3, [4.0, 5.0, 4.4])])
    frame = measure._frame(table.to_dict("records"))
    frame.to_csv(tmp_path / "measurements.csv", index=False)
    got = measure.read_measurements(T3, str(tmp_path / "measurements.csv"),
                                    ["torch", "onnxruntime"], input_size=64)
    assert got.rows["min_ms"].tolist() == [4.0, 5.0, 4.4]
    assert got.rows["median_ms"].tolist() == pytest.approx([4.4, 5.5, 4.84])
    assert got.files == (tmp_path / "measurements.csv",) and got.source.startswith("read from")
    assert measure.read_measurements(T3, str(tmp_path / "measurements.csv"), ["onnxruntime"],
                                     input_size=64).rows.empty
    with pytest.raises(ConfigError, match="measured at 64 px but INPUT_SIZE is 224"):
        measure.read_measurements(T3, str(tmp_path / "measurements.csv"), ["torch"],
                                  input_size=224)
    table.loc[2, "device"] = "CPU B"
    table.to_csv(tmp_path / "two.csv", index=False)
    with pytest.raises(ConfigError, match="torch was measured on 2 devices"):
        measure.read_measurements(T3, str(tmp_path / "two.csv"), ["torch"], input_size=64)
    with pytest.raises(ConfigError, match="none of the 7 Table 2 networks"):
        measure.read_measurements(T2, str(tmp_path / "measurements.csv"), ["torch"],
                                  input_size=64)


# -- networks and counts --------------------------------------------------------------------------

def test_placement_every_and_block():
    convs = compute.placement_table(compute.build_networks(T3, **SMALL))
    convs = convs[convs["kernel"] == 3]
    assert convs["se_in_plus_se"].all() and len(convs) == 29
    placement = compute.placement_table(compute.build_networks(T3, se_placement="block",
                                                               **SMALL))
    convs = placement[placement["kernel"] == 3]
    assert convs.loc[convs["se_in_plus_se"], "layer"].tolist() == [4, 7, 9, 11, 14, 16, 18, 20,
                                                                   22, 24, 27, 29]
    skips = convs.dropna(subset=["skip_in_plus_skip"])
    assert (skips["layer"] - skips["skip_in_plus_skip"] == 1).all() and len(skips) == 12
    with pytest.raises(ConfigError, match="SE_PLACEMENT"):
        compute.build_networks(T3, se_placement="sometimes", **SMALL)
    text = prose.layout_text(placement) + "\n\n" + prose.placement_text(placement)
    assert_golden("03_block_ablation_layout", text)


def test_complexity_table_counts():
    cx = compute.complexity_table(T3, compute.build_networks(T3, **SMALL), 32)
    assert list(cx["model_id"]) == TABLE3 and (cx["skipped_ops"] == "").all()
    assert cx["macs_vs_first"].iloc[2] == 1.0  # identity shortcuts add no MACs
    assert cx["merges"].tolist()[0] == 0 and cx["merges"].iloc[2] == 12
    t2 = compute.complexity_table(T2, compute.build_networks(T2, **SMALL), 32)
    t2 = t2.set_index("model_id")
    relu = t2.loc["ablation_relu"]
    assert (t2["macs"] >= relu["macs"]).all() and (t2["macs"] < 1.2 * relu["macs"]).all()
    for dynamic in ("ablation_dyrelu_a", "ablation_dyrelu_b", "ablation_dynamic_shift_max"):
        assert t2.loc[dynamic, "elementwise"] > 3 * relu["elementwise"]
    # with SE after every conv, +SE counts exactly what the SE-ReLU network counts
    assert cx.set_index("model_id").loc["ablation_se", "macs"] == t2.loc["ablation_se_relu",
                                                                          "macs"]
    assert compute.counts_view(cx).index.tolist() == ROWS3


# -- findings -------------------------------------------------------------------------------------

def test_the_paper_comparison_is_like_with_like():
    # ours: Dynamic Shift-Max is the slowest (30 ms), DyReLU-A only 20 ms; the paper's slowest
    # is DyReLU-A. The comparison must be DyReLU-A with DyReLU-A (2.0×), never with DSM.
    long = compute.series_table(T2, rows("torch", TABLE2, [10, 10.2, 14, 12, 30, 20, 25]))
    compared = compute.paper_vs_ours(long, "ablation_relu").set_index("model_id")
    assert compared.loc["ablation_dyrelu_a", "ours_excess_ms"] == pytest.approx(10.0)
    assert compared.loc["ablation_dyrelu_a", "paper_excess_ms"] == pytest.approx(273.49 - 1.53)
    p = findings_of(T2, CX2, long).paper_comparison
    assert p.variant == "DynamicReLU-A" and p.ours[0].slowdown == pytest.approx(2.0)
    assert p.gap == fd.GAP_LARGER


def test_series_findings_directions_and_cost_verdicts():
    long = compute.series_table(T2, rows("torch", TABLE2, [10, 8, 14, 9, 30, 20, 25]))
    f = findings_of(T2, CX2, long)
    torch_ = next(s for s in f.series if s.key == "torch")
    assert (torch_.fastest, torch_.slowest) == ("GELU", "Dynamic Shift-Max")
    assert torch_.slowest_slowdown == pytest.approx(3.0) and torch_.cost == fd.COST_FAR_MORE
    assert fd.direction(0.8) == fd.FASTER and fd.direction(1 + NOISE_BAND / 2) == fd.WITHIN
    assert fd.direction(1 + 2 * NOISE_BAND) == fd.SLOWER
    assert [g.series for g in f.groups] == [compute.PAPER_LABEL, "Test CPU · torch (min)"]
    g = f.groups[1]
    assert (g.static_low, g.static_high) == (0.8, 0.9) and g.pooled_high == pytest.approx(3.0)
    # a slowest variant within the band is never called a cost
    small = compute.series_table(T3, rows("torch", TABLE3, [10.0, 10.3, 10.2]))
    s = next(s for s in findings_of(T3, CX3, small).series if s.key == "torch")
    assert s.cost == fd.COST_WITHIN_NOISE


def test_table3_orderings_ties_and_contradictions():
    def agreement(mins):
        long = compute.series_table(T3, rows("torch", TABLE3, mins))
        return findings_of(T3, CX3, long).agreement[0]

    a = agreement([10.0, 12.0, 11.0])  # + SE slower than + skip beyond noise; the paper: SE < skip
    assert a.order == ("Baseline", "+ Skip connections", "+ Squeeze-Excite")
    assert a.tied == (False, False) and not a.consistent
    assert a.smallest_p == pytest.approx(1 / 3)
    assert agreement([10.0, 11.0, 12.0]).consistent
    tie = agreement([10.0, 10.3, 10.2])
    assert tie.tied == (True, True) and tie.consistent
    assert tie.paper_order == ("Baseline", "+ Squeeze-Excite", "+ Skip connections")


def test_noisy_series_are_flagged_and_failures_kept():
    long = compute.series_table(T3, rows("torch", TABLE3, [10.0, 11.0, 12.0],
                                         medians=[10.0, 20.0, 12.5]))
    f = findings_of(T3, CX3, long, {"onnxruntime · Ablation +SE": "RuntimeError: x"})
    assert f.noisy == (fd.NoisySeries("Test CPU · torch (min)", "+ Squeeze-Excite", 1.1, 2.0),)
    assert f.failed == {"onnxruntime · Ablation +SE": "RuntimeError: x"}
    calm = compute.series_table(T3, rows("torch", TABLE3, [10.0, 11.0, 12.0]))
    assert findings_of(T3, CX3, calm).noisy == ()


# -- prose (golden files) -------------------------------------------------------------------------

def test_conclusion_02_golden():
    measured = pd.concat([rows("torch", TABLE2, [10, 10.2, 14, 12, 30, 20, 25]),
                          rows("onnxruntime", TABLE2, [5, 5.1, 5.2, 5.0, 5.1, 5.2, 5.15])])
    dev = pd.DataFrame({"model_id": TABLE2, "latency_ms": [1.5, 1.7, 2.4, 2.0, 40, 150, 200],
                        "model": TABLE2, "paper_row": ROWS2, "series": "Test Phone · coreml (min)",
                        "key": "device_test_phone_coreml", "kind": "device", "statistic": "min",
                        "median_ms": np.nan})
    long = compute.series_table(T2, measured, dev)
    text = prose.conclusion(findings_of(T2, CX2, long, {"onnxruntime · Ablation GELU": "x"}))
    assert "nan" not in text.lower()
    assert_golden("02_activation_ablation_conclusion", text)


def test_conclusion_03_golden():
    measured = pd.concat([rows("torch", TABLE3, [10.0, 12.0, 11.0], [10, 20, 11.5]),
                          rows("onnxruntime", TABLE3, [10.0, 10.3, 10.2])])
    text = prose.conclusion(findings_of(T3, CX3, compute.series_table(T3, measured)))
    assert "nan" not in text.lower()
    assert_golden("03_block_ablation_conclusion", text)


# -- figures --------------------------------------------------------------------------------------

@pytest.mark.parametrize("spec, cx", [(T2, CX2), (T3, CX3)])
def test_figures_draw_every_value(spec, cx):
    ids = spec.ids
    long = compute.series_table(spec, rows("torch", ids, list(np.linspace(10, 30, len(ids)))))
    for figure, expected in ((fig.latency_figure(spec, long), long["latency_ms"]),
                             (fig.slowdown_figure(spec, long), long["slowdown"]),
                             (fig.cost_figure(spec, cx), compute.cost_ratio_data(cx)["ratio"])):
        ax = figure.axes[0]
        dots = [x for line in ax.lines if line.get_linestyle() == "None"
                for x in line.get_xdata() if np.isfinite(x)]
        assert sorted(dots) == pytest.approx(sorted(expected.dropna()))
        assert ax.get_title() and not text_overlaps(figure)
        plt.close(figure)
