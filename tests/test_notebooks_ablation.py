"""Notebooks 02 and 03 run by papermill in quick mode; assertions on the files they write."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from analysis import paths
from analysis.errors import AnalysisError
from analysis.reproduce import QUICK_PARAMETERS, run_notebook
from hygiene import tracked_file_hashes

NB02 = paths.NOTEBOOKS / "02_activation_ablation.ipynb"
NB03 = paths.NOTEBOOKS / "03_block_ablation.ipynb"
QUICK = QUICK_PARAMETERS["02_activation_ablation"]
TABLE2 = ["ablation_relu", "ablation_gelu", "ablation_se_relu", "ablation_silu",
          "ablation_dynamic_shift_max", "ablation_dyrelu_a", "ablation_dyrelu_b"]
TABLE3 = ["ablation_baseline", "ablation_se", "ablation_skip"]
PAPER_T2 = {"ablation_relu": 1.53, "ablation_gelu": 1.63, "ablation_se_relu": 2.10,
            "ablation_silu": 2.54, "ablation_dynamic_shift_max": 57.04,
            "ablation_dyrelu_a": 273.49, "ablation_dyrelu_b": 242.14}
# A phone file as a user would fill in the export template: display names and ids, one
# network outside the ablation set (ignored), one Table 3 network (ignored by notebook 02).
PHONE = "\n".join([
    "model,latency_ms,device,runtime,statistic,n_runs,input_size,precision",
    "Ablation ReLU,1.50,Test Phone,coreml,min,1000,64,fp16",
    "Ablation GELU,1.70,Test Phone,coreml,min,1000,64,fp16",
    "ablation_se_relu,2.40,Test Phone,coreml,min,1000,64,fp16",
    "Ablation SiLU,2.00,Test Phone,coreml,min,1000,64,fp16",
    "Ablation Dynamic Shift-Max,40.0,Test Phone,coreml,min,1000,64,fp16",
    "Ablation DyReLU-A,150.0,Test Phone,coreml,min,1000,64,fp16",
    "Ablation DyReLU-B,200.0,Test Phone,coreml,min,1000,64,fp16",
    "Ablation +SE,1.90,Test Phone,coreml,min,1000,64,fp16",
    "MobileOne-S0,0.80,Test Phone,coreml,min,1000,224,fp16",
]) + "\n"
DEVICE = "device_test_phone_coreml"


def run(notebook, tmp_path, name, **params):
    out = tmp_path / name
    params = {**QUICK, "OUTPUT_DIR": str(out / "results"), "FIGURE_DIR": str(out / "figures"),
              **params}
    run_notebook(notebook, out / "executed.ipynb", params)
    return out


@pytest.fixture(scope="module")
def nb02(tmp_path_factory):
    """Both runtimes plus a user phone file, run as the README says (no OUTPUT_DIR): it writes
    its own run folder and nothing tracked changes; the device appears everywhere."""
    tmp = tmp_path_factory.mktemp("nb02")
    csv = tmp / "phone.csv"
    csv.write_text(PHONE)
    before_user, before = csv.read_bytes(), tracked_file_hashes()
    runs = tmp / "runs"
    mp = pytest.MonkeyPatch()
    mp.setenv("MOBILEONE_STUDY_RUNS", str(runs))
    try:
        run_notebook(NB02, tmp / "executed.ipynb", {**QUICK, "LATENCY_CSV": str(csv)})
    finally:
        mp.undo()
    assert csv.read_bytes() == before_user  # the user's file is only read
    assert tracked_file_hashes() == before  # the committed study is untouched
    out = runs / "phone" / "02_activation_ablation"
    (out / "results").mkdir()
    for f in list(out.iterdir()):
        if f.is_file():
            f.rename(out / "results" / f.name)
    return out


@pytest.fixture(scope="module")
def nb03(tmp_path_factory):
    """Both runtimes, no device file."""
    return run(NB03, tmp_path_factory.mktemp("nb03"), "a")


def check_slowdowns(table: pd.DataFrame, reference: str, prefixes: dict[str, str]) -> None:
    """Recompute every slowdown from the written milliseconds: ms / ms of the reference."""
    ref = table.set_index("model_id").loc[reference]
    for ms, slowdown in prefixes.items():
        assert table[ms].notna().all(), ms
        expected = table[ms] / ref[ms]
        np.testing.assert_allclose(table[slowdown], expected, rtol=1e-12, err_msg=slowdown)
    assert (table.set_index("model_id").loc[reference, list(prefixes.values())] == 1).all()


def test_02_writes_every_variant_and_slowdowns_from_the_measured_values(nb02):
    t = pd.read_csv(nb02 / "results" / "ablation_activations.csv")
    assert t["model_id"].tolist() == TABLE2
    check_slowdowns(t, "ablation_relu", {
        "paper_ms": "paper_slowdown",
        "torch_min_ms": "torch_slowdown", "torch_median_ms": "torch_median_slowdown",
        "onnxruntime_min_ms": "onnxruntime_slowdown",
        "onnxruntime_median_ms": "onnxruntime_median_slowdown",
        f"{DEVICE}_ms": f"{DEVICE}_slowdown"})
    assert dict(zip(t["model_id"], t["paper_ms"])) == PAPER_T2
    assert t.loc[t.model_id == "ablation_dyrelu_a", f"{DEVICE}_ms"].item() == 150.0
    assert (t["torch_min_ms"] <= t["torch_median_ms"]).all()
    assert (t["onnxruntime_min_ms"] <= t["onnxruntime_median_ms"]).all()
    # counts: the seven networks differ only in the activation, so MACs barely move while the
    # element-wise work fvcore skips does
    np.testing.assert_allclose(t["macs_vs_first"], t["macs"] / t["macs"].iloc[0])
    assert t["macs_vs_first"].max() < 1.05
    assert t["elementwise_vs_first"].max() > 2
    assert t["merges"].iloc[0] == 0 and t["merges"].max() > 0


def test_02_rank_correlation_per_series_equals_scipy(nb02):
    t = pd.read_csv(nb02 / "results" / "ablation_activations.csv")
    summary = json.loads((nb02 / "results" / "summary.json").read_text())
    corr = {c["key"]: c for c in summary["rank_correlation_with_paper"]}
    assert set(corr) == {"torch", "onnxruntime", DEVICE}
    for key, column in (("torch", "torch_min_ms"), ("onnxruntime", "onnxruntime_min_ms"),
                        (DEVICE, f"{DEVICE}_ms")):
        ref = sps.spearmanr(t["paper_ms"], t[column])
        assert corr[key]["rho"] == pytest.approx(ref.statistic, abs=1e-12)
        assert corr[key]["n"] == 7
        assert corr[key]["critical_rho"] == pytest.approx(0.7857, abs=1e-4)
    # the phone's ranking swaps DyReLU-A/B and SE-ReLU/SiLU: d² = 1+1+1+1 -> 1 - 24/336
    assert corr[DEVICE]["rho"] == pytest.approx(1 - 24 / 336)


def test_02_summary_context_figures_and_conclusion(nb02):
    summary = json.loads((nb02 / "results" / "summary.json").read_text())
    ctx = {c["runtime"]: c for c in summary["measurement_context"]}
    assert set(ctx) == {"torch", "onnxruntime"}
    for c in ctx.values():
        assert (c["threads"], c["n_runs"], c["warmup"], c["input_size"]) == ("1", "5", "1", "64")
        assert c["precision"] == "fp32" and c["cpu"]
    assert summary["machine"]["torch_version"]
    assert summary["device_files"]["ignored"] == ["Ablation +SE", "MobileOne-S0"]
    assert [s["key"] for s in summary["series"]] == ["paper", "torch", "onnxruntime", DEVICE]
    figures = {p.name for p in (nb02 / "figures").iterdir()}
    for name in ("table2_activation_latency_paper_vs_ours", "table2_activation_slowdown_vs_relu",
                 "table2_activation_cost_ratios_vs_relu"):
        assert {f"{name}.png", f"{name}.pdf"} <= figures
    text = summary["conclusion"]
    assert "Test Phone (coreml, min)" in text and "DynamicReLU-A (179× slower than ReLU)" in text
    assert "nan" not in text.lower()
    assert summary["statistics"]["N_BOOTSTRAP"] == QUICK["N_BOOTSTRAP"]
    assert len(summary["provenance"]["code_sha256"]) == 64


def test_03_writes_every_variant_next_to_the_papers_table3(nb03):
    t = pd.read_csv(nb03 / "results" / "ablation_blocks.csv")
    assert t["model_id"].tolist() == TABLE3
    check_slowdowns(t, "ablation_baseline", {
        "paper_ms": "paper_slowdown",
        "torch_min_ms": "torch_slowdown", "torch_median_ms": "torch_median_slowdown",
        "onnxruntime_min_ms": "onnxruntime_slowdown",
        "onnxruntime_median_ms": "onnxruntime_median_slowdown"})
    assert t["paper_ms"].tolist() == [1.53, 2.10, 2.62]  # the paper's Table 3
    assert not [c for c in t.columns if c.startswith("device_")]
    assert t.loc[t.model_id == "ablation_skip", "macs_vs_first"].item() == 1.0
    # SE after every conv (the default placement): +SE counts what SE-ReLU counts
    assert t.loc[t.model_id == "ablation_se", "merges"].item() > 12
    summary = json.loads((nb03 / "results" / "summary.json").read_text())
    assert {c["n"] for c in summary["rank_correlation_with_paper"]} == {3}
    assert "only the ordering can be compared" in summary["conclusion"]
    assert summary["parameters"]["SE_PLACEMENT"] == "every"
    figures = {p.name for p in (nb03 / "figures").iterdir()}
    assert {"table3_block_latency_paper_vs_ours.png", "table3_block_slowdown_vs_baseline.png",
            "table3_block_cost_ratios_vs_baseline.pdf"} <= figures


def test_03_phone_only_run_measures_nothing(tmp_path):
    csv = tmp_path / "phone.csv"
    # the phone file plus the baseline; +skip stays unmeasured, Table 2 rows are ignored
    csv.write_text(PHONE + "Ablation baseline,1.52,Test Phone,coreml,min,1000,64,fp16\n")
    out = run(NB03, tmp_path, "dev", LATENCY_CSV=str(csv), RUNTIMES="none")
    t = pd.read_csv(out / "results" / "ablation_blocks.csv")
    assert t[f"{DEVICE}_ms"].tolist()[:2] == [1.52, 1.90]
    assert np.isnan(t[f"{DEVICE}_ms"].iloc[2])  # +skip not measured on the phone
    assert t[f"{DEVICE}_slowdown"].iloc[1] == pytest.approx(1.90 / 1.52)
    assert not [c for c in t.columns if c.startswith(("torch", "onnxruntime"))]  # not timed
    summary = json.loads((out / "results" / "summary.json").read_text())
    assert summary["device_files"]["missing"] == {"Test Phone (coreml, min)": ["Ablation +skip"]}
    assert summary["measurement_context"] == []


def test_bad_latency_csv_fails_with_the_validator_message(tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text("model,latency_ms\nAblation ReLU,-1\n")
    with pytest.raises(AnalysisError) as err:
        run(NB02, tmp_path, "bad", LATENCY_CSV=str(csv))
    msg = str(err.value)
    assert "bad.csv" in msg and "line 2" in msg and "latency_ms" in msg
