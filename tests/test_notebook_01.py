"""Notebook 01 run by papermill in quick mode; assertions on the files it writes."""

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

NOTEBOOK = paths.NOTEBOOKS / "01_metric_correlation.ipynb"
QUICK = QUICK_PARAMETERS["01_metric_correlation"]
QUICK_MODELS = QUICK["MODELS"]


def run(tmp_path, name, **params):
    out = tmp_path / name
    params = {**QUICK, "OUTPUT_DIR": str(out / "results"), "FIGURE_DIR": str(out / "figures"),
              **params}
    run_notebook(NOTEBOOK, out / "executed.ipynb", params)
    return out


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nb01")
    return run(tmp, "a", MODELS=QUICK_MODELS), run(tmp, "b", MODELS=QUICK_MODELS)


def test_writes_correlations_equal_to_scipy(quick):
    out = quick[0] / "results"
    corr = pd.read_csv(out / "correlations.csv")
    assert list(corr.columns)[:8] == ["device", "metric", "rho", "p_value", "ci_low", "ci_high",
                                      "kendall_tau", "n"]
    joined = pd.read_csv(out / "joined.csv")
    assert {"iPhone 12", "Intel Xeon Gold 5118", "NVIDIA RTX-2080Ti"} <= set(corr["device"])
    assert {"macs", "params", "activations", "memory_bytes", "merges"} <= set(corr["metric"])
    for _, row in corr.iterrows():
        part = joined[joined["device"] == row["device"]]
        ref = sps.spearmanr(part[row["metric"]], part["latency_ms"])
        assert row["n"] == len(part) == len(QUICK_MODELS)
        if np.isnan(ref.statistic):
            assert np.isnan(row["rho"])
            continue
        assert row["rho"] == pytest.approx(ref.statistic, abs=1e-12)
        assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)
        # n = 6: the exact permutation test is the primary inference, no bootstrap CI
        assert row["inference"] == "exact permutation" and np.isnan(row["ci_low"])


def test_same_seed_same_output_and_figures(quick):
    a, b = (pd.read_csv(q / "results" / "correlations.csv") for q in quick)
    pd.testing.assert_frame_equal(a, b)
    figures = {p.name for p in (quick[0] / "figures").iterdir()}
    assert "figure2_latency_vs_macs_params_iphone_12.png" in figures
    assert "predictor_ranking_spearman_by_device.pdf" in figures
    summary = json.loads((quick[0] / "results" / "summary.json").read_text())
    assert summary["conclusion"].strip()


def test_table1_on_published_sizes_uses_all_figure2_models(quick):
    t1 = pd.read_csv(quick[0] / "results" / "table1_comparison.csv")
    paper = pd.read_csv(paths.paper_table("table1_spearman"))
    pub = t1[t1["source"] == "published sizes"]
    assert len(pub) == len(paper) and (pub["n"] == 21).all()
    assert np.allclose(pub["rho_diff"], pub["our_rho"] - pub["paper_rho"])


RAW_DUMP = """model,latency_ms,device,runtime,n_runs
mobileone-s0,0.95,MyPhone,coreml,1
MobileNetV1,1.30,MyPhone,coreml,1
mobileone-s0,0.90,MyPhone,coreml,1
DeiT-tiny,5.2,MyPhone,coreml,1
PiT-ti,7.5,MyPhone,coreml,
MobileNetV1,1.10,MyPhone,coreml,1
DeiT-tiny,5.0,MyPhone,coreml,1
MyNet,2.0,MyPhone,coreml,1
PiT-ti,7.9,MyPhone,coreml,
MyNet,2.2,MyPhone,coreml,1
"""


def test_rerun_on_a_raw_dump_joins_the_reference_devices_and_writes_only_its_run_folder(
        tmp_path, monkeypatch):
    """As the README says: only -p LATENCY_CSV. The raw per-run dump loads (minimum per
    model), the paper's devices join it, nothing tracked changes, the run folder holds all."""
    csv = tmp_path / "my_phone.csv"
    # MyNet is outside the zoo: it brings its own counts
    text = RAW_DUMP.replace("model,latency_ms,device,runtime,n_runs",
                            "model,latency_ms,device,runtime,n_runs,macs,params")
    text = "\n".join(line + (",4e8,3e6" if line.startswith("MyNet") else ",,")
                     if i else line for i, line in enumerate(text.strip().splitlines())) + "\n"
    csv.write_text(text)
    before_user = csv.read_bytes()
    runs = tmp_path / "runs"
    monkeypatch.setenv("MOBILEONE_STUDY_RUNS", str(runs))
    before = tracked_file_hashes()
    params = {k: v for k, v in QUICK.items() if k != "MODELS"}
    run_notebook(NOTEBOOK, tmp_path / "executed.ipynb",
                 {**params, "LATENCY_CSV": str(csv),
                  "MODELS": ["MobileOne-S0", "MobileNetV1", "DeiT-tiny", "PiT-ti"]})
    assert tracked_file_hashes() == before  # the committed study is untouched
    assert csv.read_bytes() == before_user  # the user's file is only read
    out = runs / "my_phone" / "01_metric_correlation"
    assert (out / "correlations.csv").is_file() and (out / "summary.json").is_file()
    assert any((out / "figures").glob("figure2_*myphone*.png"))
    joined = pd.read_csv(out / "joined.csv")
    phone = joined[joined["device"] == "MyPhone"].set_index("model")["latency_ms"]
    assert phone.to_dict() == {"MobileOne-S0": 0.90, "MobileNetV1": 1.10, "DeiT-tiny": 5.0,
                               "PiT-ti": 7.5, "MyNet": 2.0}  # the minimum of each model's runs
    corr = pd.read_csv(out / "correlations.csv")
    assert {"MyPhone", "iPhone 12", "Intel Xeon Gold 5118", "NVIDIA RTX-2080Ti"} <= set(corr["device"])
    macs = corr[(corr["device"] == "MyPhone") & (corr["metric"] == "macs")].iloc[0]
    ref = sps.spearmanr(joined.loc[joined.device == "MyPhone", "macs"], phone.to_numpy())
    assert macs["n"] == 5 and macs["rho"] == pytest.approx(ref.statistic)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["device_sources"]["MyPhone"] == "your file"
    assert summary["device_sources"]["iPhone 12"] == "paper"


def test_bad_latency_csv_fails_with_the_validator_message(tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text("model,latency_ms\nMobileOne-S0,abc\n")
    with pytest.raises(AnalysisError) as err:
        run(tmp_path, "bad", LATENCY_CSV=str(csv), MODELS=["MobileOne-S0"])
    msg = str(err.value)
    assert "bad.csv" in msg and "line 2" in msg and "latency_ms" in msg
