"""Notebook 01 run by papermill in quick mode; assertions on the files it writes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from analysis import paths
from analysis.errors import AnalysisError
from analysis.reproduce import run_notebook

NOTEBOOK = paths.NOTEBOOKS / "01_metric_correlation.ipynb"
QUICK_MODELS = ["MobileOne-S0", "MobileNetV1", "ShuffleNetV2-1.0", "MobileNetV3-S", "DeiT-tiny",
                "PiT-ti"]


def run(tmp_path, name, **params):
    out = tmp_path / name
    params = {"N_BOOTSTRAP": 200, "SEED": 3, "OUTPUT_DIR": str(out / "results"),
              "FIGURE_DIR": str(out / "figures"), **params}
    run_notebook(NOTEBOOK, out / "executed.ipynb", params)
    return out


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nb01")
    return run(tmp, "a", MODELS=QUICK_MODELS), run(tmp, "b", MODELS=QUICK_MODELS)


def test_writes_correlations_equal_to_scipy(quick):
    out = quick[0] / "results"
    corr = pd.read_csv(out / "correlations.csv")
    assert list(corr.columns) == ["device", "metric", "rho", "p_value", "ci_low", "ci_high",
                                  "kendall_tau", "n"]
    joined = pd.read_csv(out / "joined.csv")
    assert {"iPhone 12", "Intel Xeon Gold 5118"} <= set(corr["device"])  # + local-*.csv
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
        assert row["ci_low"] - 1e-9 <= row["rho"] <= row["ci_high"] + 1e-9


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


def test_user_csv_with_model_outside_the_zoo(tmp_path):
    csv = tmp_path / "my phone.csv"
    rows = ["model,latency_ms,device,runtime,statistic,macs,params",
            "MobileOne-S0,0.9,MyPhone,coreml,min,,",
            "MobileNetV1,1.1,MyPhone,coreml,min,,",
            "DeiT-tiny,5.0,MyPhone,coreml,min,,",
            "PiT-ti,7.5,MyPhone,coreml,min,,",
            "MyNet,2.0,MyPhone,coreml,min,400000000,3000000"]
    csv.write_text("\n".join(rows) + "\n")
    before = csv.read_bytes()
    out = run(tmp_path, "user", LATENCY_CSV=str(csv),
              MODELS=["MobileOne-S0", "MobileNetV1", "DeiT-tiny", "PiT-ti"])
    joined = pd.read_csv(out / "results" / "joined.csv")
    assert set(joined["model"]) == {"MobileOne-S0", "MobileNetV1", "DeiT-tiny", "PiT-ti", "MyNet"}
    corr = pd.read_csv(out / "results" / "correlations.csv")
    assert set(corr["device"]) == {"MyPhone"}
    macs = corr[corr["metric"] == "macs"].iloc[0]
    assert macs["n"] == 5
    assert csv.read_bytes() == before  # the user's file is never modified


def test_bad_latency_csv_fails_with_the_validator_message(tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text("model,latency_ms\nMobileOne-S0,abc\n")
    with pytest.raises(AnalysisError) as err:
        run(tmp_path, "bad", LATENCY_CSV=str(csv), MODELS=["MobileOne-S0"])
    msg = str(err.value)
    assert "bad.csv" in msg and "line 2" in msg and "latency_ms" in msg


def test_timm_large_sample_check(quick):
    """Written correlations equal scipy on the shipped timm file, by sample."""
    from analysis.correlation_study import TIMM_BENCHMARK, timm_samples
    from analysis.latency import read_timm_benchmark

    corr = pd.read_csv(quick[0] / "results" / "timm_correlations.csv")
    timm = read_timm_benchmark(paths.EXTERNAL_DATA / TIMM_BENCHMARK)
    pub = pd.read_csv(paths.paper_table("table9_imagenet"))
    fig2 = pub[pub["figure2_label"].notna()]
    samples = timm_samples(timm, (fig2["flops_m"].min() * 1e6, fig2["flops_m"].max() * 1e6))
    assert set(corr["sample"]) == {"all models", "mobile-sized"}
    for _, row in corr.iterrows():
        part = samples[samples["sample"] == row["sample"]]
        assert row["n"] == len(part)
        assert row["rho"] == pytest.approx(sps.spearmanr(part[row["metric"]],
                                                         part["latency_ms"]).statistic, abs=1e-12)
    n = corr.set_index(["sample", "metric"])["n"]
    assert n["mobile-sized", "macs"] < n["all models", "macs"]
