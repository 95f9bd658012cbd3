"""The ablation studies (notebooks 02 and 03, ``analysis.studies.ablation``) on synthetic inputs:
campaign files with known sessions → series, noise bands and verdicts (against closed forms),
numbers against hand computation and scipy, typed findings, the parameters' rules, live
measurement, the ratios for other notebooks, the figures; the wording only in golden files."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from analysis import noise
from analysis.complexity import count_complexity
from analysis.constants import NOISE_QUANTILE
from analysis.errors import ConfigError, DataFormatError
from analysis.inference import adjusted_within
from analysis.latency.sets import set_items
from analysis.models import get_entry
from analysis.plots import plt, text_overlaps
from analysis.stats import exact_spearman_p
from analysis.studies.ablation import activations, blocks, compute, measure, prose, steps
from analysis.studies.ablation import findings as fd
from analysis.studies.ablation import figures as fig
from analysis.studies.ablation.ratios import ablation_ratios
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
#: Session multipliers of every network (rotated per network, so identical networks differ
#: session by session while their medians over sessions agree).
SESSIONS = (1.0, 1.02, 1.04)
#: A CPU with two runtimes and a GPU with two regimes: base latencies of the ten networks.
BASE = dict(zip(TABLE2 + TABLE3, [10, 10.2, 14, 12, 15, 20, 25, 10, 14, 11]))
CPU = ("Test CPU", "torch", "eager", "fp32")
CPU_ORT = ("Test CPU", "onnxruntime", "eager", "fp32")
GPU = ("Test GPU", "torch", "graph", "fp16")


def band_closed_form(multipliers=SESSIONS, networks=10) -> float:
    """The rule by hand: the 95 % quantile of |log ratio| over every pair of sessions of every
    network (each network has the same pairs here)."""
    logs = [abs(math.log(a / b)) for i, a in enumerate(multipliers)
            for b in multipliers[i + 1:]] * networks
    return math.exp(np.quantile(logs, NOISE_QUANTILE)) - 1


def campaign(path, series: dict, *, sessions=SESSIONS, median_factor=1.1):
    """A campaign file: per series ``{(device, runtime, mode, precision): {id: base ms}}``,
    each network once per session at base × a rotation of ``sessions``."""
    rows = []
    for (device, runtime, mode, precision), values in series.items():
        for i, (model_id, base) in enumerate(values.items()):
            for s in range(len(sessions)):
                v = base * sessions[(s + i) % len(sessions)]
                rows.append({"model": get_entry(model_id).display_name, "device": device,
                             "runtime": runtime, "mode": mode, "precision": precision,
                             "statistic": "min", "latency_ms": v, "min_ms": v,
                             "median_ms": v * median_factor, "n_runs": 10, "input_size": 224,
                             "campaign": "sitting-1", "session": s + 1, "order": i,
                             "threads": 1})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Two CPU runtimes and one GPU regime, ten networks, three sessions each."""
    path = tmp_path_factory.mktemp("campaign") / "campaign.csv"
    gpu = {**BASE, "ablation_dyrelu_a": 15.0}  # exactly 1.5× ReLU
    return measure.read_latency(yours=[campaign(path, {CPU: BASE, CPU_ORT: BASE, GPU: gpu})])


def long_of(spec, data):
    return compute.series_table(spec, measure.measured_series(spec, data))


def findings_of(spec, data):
    long = long_of(spec, data)
    cx = CX2 if spec is T2 else CX3
    found = fd.findings(spec, cx, long, compute.paper_vs_ours(long, spec.reference),
                        compute.paper_rank_correlation(long), data.bands,
                        measure.duplicate_table(data), data.failed)
    return dataclasses.replace(found, takeaway=prose.takeaway(found))


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


# -- series, names, the noise model -------------------------------------------------------------

def test_series_are_named_by_the_one_device_rule_and_keyed_uniquely(data):
    assert data.series == ["Test CPU · torch", "Test CPU · onnxruntime", "Test GPU"]
    assert data.bands["key"].tolist() == ["test_cpu_torch", "test_cpu_onnxruntime", "test_gpu"]
    two = pd.DataFrame({"device": ["NVIDIA H200"] * 2 + ["Xeon (2 threads)"] * 2,
                        "runtime": ["torch", "torch", "torch", "onnxruntime"],
                        "mode": ["eager", "graph", "eager", "eager"],
                        "precision": "fp32", "regime": ["eager fp32", "graph fp32",
                                                        "eager fp32", "eager fp32"]})
    assert measure._series_names(two).tolist() == [
        "NVIDIA H200 · eager fp32", "NVIDIA H200 · graph fp32", "Xeon (2 threads) · torch",
        "Xeon (2 threads) · onnxruntime"]
    assert measure._keys(["Xeon (2 threads) · torch", "Xeon (4 threads) · torch"]) == {
        "Xeon (2 threads) · torch": "xeon_torch", "Xeon (4 threads) · torch": "xeon_torch_2"}


def test_the_band_is_the_stated_rule_on_known_sessions(data):
    expected = band_closed_form()
    assert data.bands["band"].tolist() == pytest.approx([expected] * 3)
    assert data.bands["median_band"].tolist() == pytest.approx([expected] * 3)
    assert set(data.bands["covers"]) == {"within one sitting only"}
    assert data.bands["n_networks"].tolist() == [10, 10, 10]
    assert data.bands["n_pairs"].tolist() == [30, 30, 30]


def test_identical_networks_within_noise_and_a_1_5x_slower_one_slower(data):
    long = long_of(T2, data).set_index(["key", "model_id"])
    gpu = long.loc["test_gpu"]
    assert gpu.loc["ablation_dyrelu_a", "slowdown"] == pytest.approx(1.5)
    assert gpu.loc["ablation_dyrelu_a", "verdict"] == noise.SLOWER
    assert gpu.loc["ablation_gelu", "verdict"] == noise.WITHIN  # 1.02×, band ≈ 4 %
    assert gpu.loc["ablation_relu", "verdict"] == compute.REFERENCE
    dups = measure.duplicate_table(data)
    assert dups["ratio"].tolist() == pytest.approx([1.0] * 6)
    assert set(dups["verdict"]) == set(dups["median_verdict"]) == {noise.WITHIN}
    assert dups[["first", "second"]].drop_duplicates().values.tolist() == [
        ["ReLU", "Baseline"], ["SE-ReLU", "+ Squeeze-Excite"]]
    f = findings_of(T2, data)
    assert f.calibration_passed and len(f.duplicates) == 6


def test_latencies_carry_their_session_interval_and_the_median(data):
    cpu = long_of(T3, data).set_index(["key", "model_id"]).loc["test_cpu_torch"]
    se = cpu.loc["ablation_se"]
    assert se["latency_ms"] == pytest.approx(14 * 1.02)  # median over sessions
    assert (se["low_ms"], se["high_ms"]) == pytest.approx((14.0, 14 * 1.04))
    assert se["median_ms"] == pytest.approx(14 * 1.02 * 1.1)
    assert (se["median_low_ms"], se["median_high_ms"]) == pytest.approx((15.4, 14 * 1.04 * 1.1))
    assert se["n_sessions"] == 3
    assert se["slowdown_low"] == pytest.approx(se["slowdown"] / (1 + se["band"]))


def test_a_series_without_sessions_gets_no_band_and_no_verdict(tmp_path):
    phone = tmp_path / "phone.csv"
    phone.write_text("model,latency_ms,device,runtime\nAblation ReLU,1.5,Phone,coreml\n"
                     "Ablation GELU,1.51,Phone,coreml\nAblation DyReLU-A,100,Phone,coreml\n")
    data = measure.read_latency(yours=[phone])
    assert math.isnan(data.bands["band"].item())
    assert data.bands["covers"].item() == "none (no sessions)"
    long = long_of(T2, data)
    here = long[long["key"] == "phone"].set_index("model_id")
    assert set(here.loc[["ablation_gelu", "ablation_dyrelu_a"], "verdict"]) == {"n/a"}
    f = findings_of(T2, data)
    assert not f.calibration_passed  # nothing judged: no pass
    s = next(s for s in f.series if s.series == "Phone")
    assert s.n_within == 0 and s.cost == fd.COST_FAR_MORE  # 67×: beyond any MACs excuse
    assert "within noise" not in prose.series_sentence(s, "ReLU")


def test_a_failed_calibration_is_reported_not_hidden(tmp_path):
    base = {**BASE, "ablation_baseline": 13.0}  # 1.3× the identical ReLU network
    data = measure.read_latency(yours=[campaign(tmp_path / "c.csv", {CPU: base})])
    f = findings_of(T3, data)
    relu = next(d for d in f.duplicates if d.first == "ReLU")
    assert relu.verdict == noise.FASTER and not f.calibration_passed
    assert "fails its calibration check" in f.takeaway
    assert "Not passed" in prose.calibration_sentence(f)


def test_where_min_and_median_disagree_the_findings_say_so(tmp_path):
    path = campaign(tmp_path / "c.csv", {CPU: BASE})
    frame = pd.read_csv(path)
    se = frame["model"] == "Ablation +SE"
    frame.loc[se, "median_ms"] = frame.loc[se, "min_ms"] * 1.1 * 1.5 / 1.4
    frame.loc[se, "latency_ms"] = frame.loc[se, "min_ms"] = frame.loc[se, "min_ms"] / 1.4
    frame.to_csv(path, index=False)
    f = findings_of(T3, measure.read_latency(yours=[path]))
    change = next(c for c in f.statistic_changes if c.what == "+ Squeeze-Excite")
    assert (change.min_verdict, change.median_verdict) == (noise.WITHIN, noise.SLOWER)
    assert change.min_value == pytest.approx(1.0)
    assert change.median_value == pytest.approx(1.5)


# -- tables -----------------------------------------------------------------------------------------

def test_series_and_comparison_tables(data):
    long = long_of(T2, data)
    assert list(dict.fromkeys(long["key"])) == ["paper", "test_cpu_torch",
                                                "test_cpu_onnxruntime", "test_gpu"]
    paper = long[long["key"] == "paper"].set_index("model_id")
    assert paper["latency_ms"].tolist() == PAPER_T2  # the paper's Table 2
    assert paper.loc["ablation_dyrelu_a", "slowdown"] == pytest.approx(273.49 / 1.53)
    assert set(paper["verdict"]) == {"reference", "n/a"}
    wide = compute.comparison_table(long, CX2)
    assert wide["model_id"].tolist() == TABLE2
    ref = wide.set_index("model_id").loc["ablation_relu"]
    for key in ("paper", "test_cpu_torch", "test_gpu"):
        np.testing.assert_allclose(wide[f"{key}_slowdown"], wide[f"{key}_ms"] / ref[f"{key}_ms"],
                                   rtol=1e-12)
    assert wide["test_gpu_verdict"].tolist()[5] == noise.SLOWER
    described = compute.comparison_columns(wide, long)
    assert set(wide.columns) - {"model_id", "model"} - set(compute.COUNTS) <= set(described)


def test_missing_variants_stay_missing_and_two_values_cannot_be_ranked(tmp_path):
    data = measure.read_latency(yours=[campaign(tmp_path / "c.csv", {CPU: {
        "ablation_baseline": 4.0, "ablation_se": 5.0}})])
    long = long_of(T3, data)
    cpu = long[long["key"] == "test_cpu"].set_index("model_id")
    assert cpu.loc["ablation_se", "slowdown"] == pytest.approx(1.25)
    assert math.isnan(cpu.loc["ablation_skip", "latency_ms"])
    corr = compute.paper_rank_correlation(long)
    assert corr["n"].tolist() == [2, 2] and corr["rho"].isna().all()
    covered = measure.coverage(T3, data, measure.measured_series(T3, data))
    assert covered.missing == {"Test CPU": ("Ablation +skip",)}


def test_paper_rank_correlation_against_scipy_and_the_exact_test(data):
    ours = [BASE[i] for i in TABLE2]  # ranks 1 2 4 3 5 6 7 vs the paper's 1 2 3 4 5 7 6
    r = compute.paper_rank_correlation(long_of(T2, data))
    r = r[(r["key"] == "test_cpu_torch") & (r["statistic"] == "min")].iloc[0]
    assert r["rho"] == pytest.approx(sps.spearmanr(PAPER_T2, ours).statistic)
    assert r["rho"] == pytest.approx(1 - 6 * 4 / 336)  # hand: two swaps, Σd² = 4
    assert r["kendall_tau"] == pytest.approx(sps.kendalltau(PAPER_T2, ours).statistic)
    assert r["p_permutation"] == pytest.approx(exact_spearman_p(PAPER_T2, ours))
    assert r["n"] == 7 and r["critical_rho"] == pytest.approx(0.7857, abs=1e-4)
    assert r["supported"] and bool(r["p_exact"])


def test_cost_correlations_leave_macs_out_and_match_scipy(data):
    corr = compute.cost_correlations(long_of(T2, data), CX2)
    assert "macs" not in set(corr["metric"]) and set(corr["statistic"]) == {"min", "median"}
    mem = corr[(corr["series"] == "Test CPU · torch") & (corr["metric"] == "memory_bytes")
               & (corr["statistic"] == "min")]
    expected = sps.spearmanr(CX2["memory_bytes"], [BASE[i] for i in TABLE2]).statistic
    assert mem["rho"].item() == pytest.approx(expected)


# -- the user's files -------------------------------------------------------------------------------

PHONE = "\n".join([
    "model,latency_ms,device,runtime,statistic,input_size",
    "Ablation ReLU,1.5,My Phone,coreml,min,224",
    "ablation_gelu,1.7,My Phone,coreml,min,224",  # an id works too
    "Ablation DyReLU-A,100,My Phone,coreml,min,224",
    "Ablation +SE,2.0,My Phone,coreml,min,224",  # Table 3: not in Table 2
    "MobileOne-S0,0.8,My Phone,coreml,min,224",  # not an ablation network
    "Ablation ReLU,3.0,Other,onnxruntime,median,224",
]) + "\n"


def test_device_file_series_ignored_missing_and_median_files(tmp_path):
    (tmp_path / "phone.csv").write_text(PHONE)
    data = measure.read_latency(yours=[tmp_path / "phone.csv"])
    assert data.series == ["My Phone", "Other"]
    measured = measure.measured_series(T2, data)
    covered = measure.coverage(T2, data, measured)
    assert covered.ignored == ("Ablation +SE", "MobileOne-S0")
    assert "Ablation SE-ReLU" in covered.missing["My Phone"]
    assert covered.input_sizes["My Phone"] == (224,)
    other = measured[measured["series"] == "Other"].set_index("model_id")
    assert other.loc["ablation_relu", "median_ms"] == 3.0  # a median file gives the median
    long = compute.series_table(T2, measured)
    phone = long[long["key"] == "my_phone"].set_index("model_id")
    assert phone.loc["ablation_dyrelu_a", "slowdown"] == pytest.approx(100 / 1.5)
    assert math.isnan(phone.loc["ablation_silu", "slowdown"])
    text = prose.data_text(data, covered, input_size=64, depth=30, width=8)
    assert "Ablation +SE, MobileOne-S0" in text and "224 px" in text and "width 8" in text


def test_a_file_without_the_tables_networks_advises_the_export(tmp_path):
    csv = tmp_path / "latency_template.csv"
    csv.write_text("model,latency_ms,device\nMobileOne-S0,0.8,Phone\nMobileOne-S1,1.0,Phone\n")
    with pytest.raises(ConfigError, match="python -m analysis export --models ablation") as err:
        measure.check_device_files(T2, [csv])
    assert "latency_template.csv holds none of the 7 Table 2 networks" in str(err.value)
    assert "\n" not in str(err.value)
    csv.write_text("model,latency_ms,device\nAblation +SE,2.0,Phone\n")  # Table 3 only
    with pytest.raises(ConfigError, match="none of the 7 Table 2"):
        measure.check_device_files(T2, [csv])
    measure.check_device_files(T3, [csv])


def test_two_rows_for_one_network_in_a_series_and_bad_files_are_refused(tmp_path):
    dup = tmp_path / "dup.csv"
    dup.write_text("model,latency_ms,device,runtime,input_size\n"
                   "Ablation ReLU,1.5,P,coreml,224\nAblation ReLU,1.9,P,coreml,256\n")
    with pytest.raises(DataFormatError, match="appears 2 times"):
        measure.measured_series(T2, measure.read_latency(yours=[dup]))
    bad = tmp_path / "bad.csv"
    bad.write_text("model,latency_ms\nAblation ReLU,-1\n")
    with pytest.raises(DataFormatError) as err:
        measure.read_latency(yours=[bad])
    assert "bad.csv" in str(err.value) and "line 2" in str(err.value)


def test_the_shipped_campaigns_are_read_once_even_when_given_again():
    shipped = measure.shipped_files()
    assert {p.name for p in shipped} == {"cpu-xeon-ablation-2t.csv", "cpu-xeon-ablation-2t-s2.csv",
                                         "h200-torch-sessions.csv"}
    data = measure.read_latency(shipped=shipped, yours=shipped[:1])
    assert len(data.files) == 3 and set(data.sources.values()) == {measure.SHIPPED}
    assert "NVIDIA H200 · graph fp16" in data.series
    assert not any("this CPU" in s for s in data.series)


# -- parameters -------------------------------------------------------------------------------------

def test_rules_normalise_and_refuse(tmp_path):
    assert activations.parameters(RUNTIMES="torch, ONNXRUNTIME").RUNTIMES == ["torch",
                                                                              "onnxruntime"]
    for bad, words in ((dict(RUNTIMES="tensorrt"), "RUNTIMES"), (dict(N_RUNS=0), "N_RUNS"),
                       (dict(N_SESSIONS=0), "N_SESSIONS"), (dict(THREADS=0), "THREADS"),
                       (dict(INPUT_SIZE=16), "INPUT_SIZE"), (dict(SEED=-1), "SEED"),
                       (dict(DEPTH=31), "multiple of 2"), (dict(WIDTH=10), "multiple of 4"),
                       (dict(LATENCY_CSV=str(tmp_path / "no.csv")), "no such file")):
        with pytest.raises(ConfigError, match=words):
            activations.parameters(**bad)
    with pytest.raises(ConfigError, match="SE_PLACEMENT"):
        blocks.parameters(SE_PLACEMENT="sometimes")
    with pytest.raises(ConfigError, match="nothing to compare"):
        blocks.parameters(WITH_CAMPAIGNS=False)
    with pytest.raises(ConfigError, match="RUNTIMES is none"):
        blocks.parameters(MEASURE=True, RUNTIMES="none")


def test_a_notebook_without_ablation_networks_stops_before_any_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("MOBILEONE_STUDY_RUNS", str(tmp_path / "runs"))
    csv = tmp_path / "template.csv"
    csv.write_text("model,latency_ms,device\nMobileOne-S0,0.8,My Phone\n")
    namespace = {name: p.default for name, p in spec(activations.NOTEBOOK).items()}
    namespace.update(LATENCY_CSV=str(csv), WITH_CAMPAIGNS=False)
    with pytest.raises(ConfigError, match="export them first"):
        activations.parameters(namespace)
    assert not (tmp_path / "runs").exists()


# -- live measurement -------------------------------------------------------------------------------

def test_live_items_are_the_measurement_set_built_at_the_runs_size():
    default = measure.live_items(depth=30, width=48, input_size=224, se_placement="every")
    registry = set_items("ablation")
    assert [(i.label, i.model_id, i.input_size) for i in default] == \
        [(i.label, i.model_id, i.input_size) for i in registry]
    small = measure.live_items(depth=30, width=8, input_size=32, se_placement="block")
    assert [i.model_id for i in small] == list(compute.ALL_IDS)
    assert {i.input_size for i in small} == {32}
    se = next(i for i in small if i.model_id == "ablation_se").build()
    assert sum(type(m).__name__ == "SqueezeExcite" for m in se.modules()) == 12  # per block
    assert "live" in measure.live_device(1) and "1 thread" in measure.live_device(1)


def test_live_campaign_goes_to_the_run_folder_and_is_read_back(tmp_path, monkeypatch):
    calls = {}

    def fake(items, runtimes, **kw):  # the campaign itself is the harness's (tested there)
        calls.update(kw, items=items, runtimes=runtimes)
        campaign(kw["out"], {(kw["device"], "torch", "eager", "fp32"): BASE})
        return type("M", (), {"failed": {"torch · Ablation GELU": "RuntimeError: x"}})()

    monkeypatch.setattr(measure, "run_campaign", fake)
    params = blocks.parameters(MEASURE=True, WITH_CAMPAIGNS=False, RUNTIMES="torch",
                               N_SESSIONS=2, OUTPUT_DIR=str(tmp_path / "out"),
                               FIGURE_DIR=str(tmp_path / "fig"))
    data = steps.latency_data(params)
    assert calls["out"] == tmp_path / "out" / measure.LIVE_FILE and calls["sessions"] == 2
    assert calls["force"] and len(calls["items"]) == 10 and calls["runtimes"] == ["torch"]
    assert set(data.sources.values()) == {measure.LIVE}
    assert data.failed == {"torch · Ablation GELU": "RuntimeError: x"}
    assert data.series == [calls["device"]]


# -- networks and counts ------------------------------------------------------------------------------

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


def test_the_default_networks_reuse_the_committed_counts_others_are_counted():
    net = compute.build_networks(T3, depth=30, width=48, input_size=224)["ablation_skip"]
    assert compute.counted("ablation_skip", net, 224) == count_complexity(net, 224)
    small = compute.build_networks(T3, **SMALL)["ablation_skip"]
    assert compute.counted("ablation_skip", small, 32) == count_complexity(small, 32)


# -- findings -----------------------------------------------------------------------------------------

def test_the_paper_comparison_is_like_with_like(data):
    # the GPU's slowest is Dynamic Shift-Max (15 ms); the paper's slowest is DyReLU-A: the
    # comparison is DyReLU-A with DyReLU-A, never with another variant.
    long = long_of(T2, data)
    compared = compute.paper_vs_ours(long, "ablation_relu")
    gpu = compared[compared["series"] == "Test GPU"].set_index("model_id")
    assert gpu.loc["ablation_dyrelu_a", "ours_excess_ms"] == pytest.approx(5 * 1.02)
    assert gpu.loc["ablation_dyrelu_a", "paper_excess_ms"] == pytest.approx(273.49 - 1.53)
    p = findings_of(T2, data).paper_comparison
    assert p.variant == "DynamicReLU-A" and p.gap == fd.GAP_LARGER
    assert [o.slowdown for o in p.ours] == pytest.approx([2.0, 2.0, 1.5])
    assert {o.verdict for o in p.ours} == {noise.SLOWER}


def test_series_findings_and_cost_verdicts(data):
    f = findings_of(T2, data)
    cpu = next(s for s in f.series if s.series == "Test CPU · torch")
    assert (cpu.fastest, cpu.slowest) == ("GELU", "DynamicReLU-B")
    assert cpu.slowest_slowdown == pytest.approx(2.5) and cpu.cost == fd.COST_FAR_MORE
    assert (cpu.n_slower, cpu.n_within, cpu.n_faster) == (5, 1, 0)
    assert fd.cost_verdict(1.5, noise.WITHIN, 1.0) == fd.COST_WITHIN_NOISE
    assert fd.cost_verdict(1.5, noise.SLOWER, 1.0) == fd.COST_MORE
    assert fd.cost_verdict(1.5, noise.SLOWER, 1.2) == fd.COST_NO_CLAIM
    g = next(g for g in f.groups if g.series == "Test CPU · torch")
    assert (g.static_low, g.static_high) == pytest.approx((1.02, 1.2))
    assert g.pooled_high == pytest.approx(2.5)


def test_table3_orderings_ties_and_contradictions(data):
    a = next(a for a in findings_of(T3, data).agreement
             if a.series == "Test CPU · torch" and a.statistic == "min")
    # ours: baseline 10 < + skip 11 < + SE 14, beyond noise; the paper: + SE < + skip
    assert a.order == ("Baseline", "+ Skip connections", "+ Squeeze-Excite")
    assert a.tied == (False, False) and not a.consistent
    assert a.smallest_p == pytest.approx(1 / 3)
    order, tied = fd.ordering(pd.Series({"a": 10.0, "b": 10.3, "c": 12.0}), 0.05)
    assert order == ("a", "b", "c") and tied == (True, False)
    assert fd.ordering(pd.Series({"a": 10.0, "b": 10.3}))[1] == (False,)  # no band: no tie
    assert fd.consistent_order(pd.Series({"a": 1, "b": 2}), pd.Series({"a": 10.3, "b": 10}),
                               0.05)
    assert not fd.consistent_order(pd.Series({"a": 1, "b": 2}), pd.Series({"a": 10.3, "b": 10}))


# -- prose (golden files) ---------------------------------------------------------------------------

def test_conclusion_02_golden(tmp_path, data):
    (tmp_path / "phone.csv").write_text(PHONE)
    path = campaign(tmp_path / "c.csv", {CPU: BASE, GPU: {**BASE, "ablation_dyrelu_a": 15.0}})
    both = measure.read_latency(yours=[path, tmp_path / "phone.csv"])
    both = dataclasses.replace(both, failed={"torch · Ablation GELU": "RuntimeError: x"})
    f = findings_of(T2, both)
    text = prose.conclusion(f)
    assert text.startswith(f"**Takeaway.** {f.takeaway}") and f.takeaway.count(". ") <= 2
    assert "nan" not in text.lower()
    assert_golden("02_activation_ablation_conclusion", text)


def test_conclusion_03_golden(data):
    f = findings_of(T3, data)
    text = prose.conclusion(f)
    assert "nan" not in text.lower() and f.takeaway.count(". ") <= 2
    assert_golden("03_block_ablation_conclusion", text)


# -- the ratios for notebook 07 -----------------------------------------------------------------------

def test_ablation_ratios_are_the_notebooks_numbers(tmp_path):
    path = campaign(tmp_path / "c.csv", {CPU: BASE, GPU: BASE})
    r = ablation_ratios([path], with_campaigns=False)
    assert set(r.slowdowns["table"]) == {"table2", "table3"}
    params = activations.parameters(LATENCY_CSV=str(path), WITH_CAMPAIGNS=False,
                                    OUTPUT_DIR=str(tmp_path / "o"), FIGURE_DIR=str(tmp_path))
    series = activations.run(params, draw=False).table("series")
    mine = r.slowdowns[r.slowdowns["table"] == "table2"].reset_index(drop=True)
    columns = ["series", "model_id", "slowdown", "verdict", "median_slowdown", "band"]
    pd.testing.assert_frame_equal(mine[columns], series[columns])
    assert r.duplicates["verdict"].tolist() == [noise.WITHIN] * 4
    assert r.bands["series"].tolist() == ["Test CPU", "Test GPU"]


# -- figures ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("spec, cx", [(T2, CX2), (T3, CX3)])
def test_figures_draw_every_value_with_its_interval(spec, cx, data):
    long = long_of(spec, data)
    others = long[long["model_id"] != spec.reference]
    for figure, expected, bars in (
            (fig.latency_figure(spec, long), long["latency_ms"], 3),
            (fig.slowdown_figure(spec, long), others["slowdown"], 3),
            (fig.cost_figure(spec, cx), compute.cost_ratio_data(cx)["ratio"], 0)):
        ax = figure.axes[0]
        parts = {id(line) for c in ax.containers for line in [c.lines[0], *c.lines[1]]}
        dots = [x for line in ax.lines if line.get_linestyle() == "None"
                and id(line) not in parts for x in line.get_xdata() if np.isfinite(x)]
        assert sorted(dots) == pytest.approx(sorted(expected.dropna()))
        assert len(ax.containers) == bars  # one error-bar set per measured series
        assert ax.get_title() and not text_overlaps(figure)
        plt.close(figure)


def test_rank_agreement_is_adjusted_over_the_series_before_it_is_called_shown():
    """Six series each at p = 0.034 (the committed 02's H200 graph fp16 cell): unadjusted each
    would be 'supported'; Benjamini–Hochberg over the six per statistic keeps q = 0.034, while
    one p = 0.034 among five p = 0.5 gives q = 0.2 — not shown."""
    same = pd.DataFrame({"statistic": ["min"] * 6, "p_permutation": [0.034] * 6})
    assert adjusted_within(same)["shown"].all()
    alone = pd.DataFrame({"statistic": ["min"] * 6 + ["median"],
                          "p_permutation": [0.034, 0.5, 0.5, 0.5, 0.5, 0.5, 0.034]})
    out = adjusted_within(alone)
    assert out["q_value"].iloc[0] == pytest.approx(0.034 * 6)
    assert not out["shown"].iloc[0]
    assert out["shown"].iloc[6]  # the median's family is its own
