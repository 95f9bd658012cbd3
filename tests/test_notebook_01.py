"""Notebook 01 run by papermill with its quick profile (it writes what ``run(params)`` writes
in-process, and that holds up against scipy), a bad parameter through papermill, and a re-run
on a user's raw dump that writes only its own run folder."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from analysis import paths
from analysis.errors import AnalysisError, DataFormatError
from analysis.reproduce import run_notebook
from analysis.stats import exact_spearman_p
from analysis.studies import correlation as study
from analysis.studies.core import write
from analysis.studies.params import quick_parameters, spec
from hygiene import assert_run_matches_notebook, quick_notebook_run, tracked_file_hashes

STEM = study.NOTEBOOK
QUICK = quick_parameters(STEM)


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return quick_notebook_run(STEM, tmp_path_factory)


def test_the_notebook_is_run(quick):
    assert_run_matches_notebook(STEM, quick)


def test_written_correlations_equal_scipy(quick):
    out = quick / "results"
    corr = pd.read_csv(out / "correlations.csv")
    joined = pd.read_csv(out / "joined.csv")
    assert {"iPhone 12", "Intel Xeon Gold 5118", "NVIDIA RTX-2080Ti"} <= set(corr["device"])
    for _, row in corr.iterrows():
        part = joined[joined["device"] == row["device"]]
        ref = sps.spearmanr(part[row["metric"]], part["latency_ms"])
        assert row["n"] == len(part) == len(QUICK["MODELS"])
        if np.isnan(ref.statistic):
            assert np.isnan(row["rho"])
            continue
        assert row["rho"] == pytest.approx(ref.statistic, abs=1e-9)
        assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)
        # n = 6: the exact permutation test, every ordering enumerated
        assert row["p_exact"] and row["p_permutation"] == pytest.approx(
            exact_spearman_p(part[row["metric"]], part["latency_ms"]))
    assert set(corr["family"]) <= {"confirmatory", "exploratory"}
    assert (corr["supported"] == (corr["p_adjusted"] <= 0.05)).all()


def test_figures_and_summary(quick):
    figures = {p.name for p in (quick / "figures").iterdir()}
    for name in ("figure2_latency_vs_macs_params_iphone_12", "device_rank_agreement_heatmap",
                 "predictor_ranking_spearman_by_device"):
        assert {f"{name}.png", f"{name}.pdf"} <= figures
    summary = json.loads((quick / "results" / "summary.json").read_text())
    assert summary["parameters"]["N_BOOTSTRAP"] == QUICK["N_BOOTSTRAP"]
    assert summary["parameters"]["N_PERMUTATIONS"] == QUICK["N_PERMUTATIONS"]
    assert summary["findings"]["sources"]["iPhone 12"] == "paper"
    assert all(not k.startswith("/") for k in summary["inputs"])


def test_a_bad_parameter_stops_the_notebook_with_one_line(tmp_path):
    with pytest.raises(AnalysisError) as err:
        run_notebook(paths.NOTEBOOKS / f"{STEM}.ipynb", tmp_path / "bad.ipynb",
                     {**QUICK, "N_BOOTSTRAP": "abc", "OUTPUT_DIR": str(tmp_path / "out"),
                      "FIGURE_DIR": str(tmp_path / "fig")})
    assert "ConfigError: parameter N_BOOTSTRAP must be a whole number, got 'abc'" in str(err.value)
    assert not (tmp_path / "out").exists()


RAW_DUMP = """model,latency_ms,device,runtime,n_runs,macs,params
mobileone-s0,0.95,MyPhone,coreml,1,,
MobileNetV1,1.30,MyPhone,coreml,1,,
mobileone-s0,0.90,MyPhone,coreml,1,,
DeiT-tiny,5.2,MyPhone,coreml,1,,
PiT-ti,7.5,MyPhone,coreml,,,
MobileNetV1,1.10,MyPhone,coreml,1,,
DeiT-tiny,5.0,MyPhone,coreml,1,,
MyNet,2.0,MyPhone,coreml,1,4e8,3e6
PiT-ti,7.9,MyPhone,coreml,,,
MyNet,2.2,MyPhone,coreml,1,4e8,3e6
"""


def test_a_rerun_on_a_raw_dump_joins_the_reference_devices_and_writes_only_its_folder(
        tmp_path, monkeypatch):
    """As the README says, only LATENCY_CSV: the raw per-run dump loads (minimum per model),
    every zoo model in it is analysed, the paper's devices join it, nothing tracked changes and
    the user's file is only read."""
    csv = tmp_path / "my_phone.csv"
    csv.write_text(RAW_DUMP)
    before_user, before = csv.read_bytes(), tracked_file_hashes()
    monkeypatch.setenv("MOBILEONE_STUDY_RUNS", str(tmp_path / "runs"))
    params = study.parameters(LATENCY_CSV=str(csv), N_BOOTSTRAP=200, N_PERMUTATIONS=199)
    written = write(study.run(params, draw=False), announce=False)
    assert tracked_file_hashes() == before and csv.read_bytes() == before_user
    out = written[0].parent
    assert out.name == STEM and out.parent.parent == tmp_path / "runs"
    assert out.parent.name.startswith("my_phone-")  # the run folder is the inputs'
    joined = pd.read_csv(out / "joined.csv")
    phone = joined[joined["device"] == "MyPhone"].set_index("model")["latency_ms"]
    assert phone.to_dict() == {"MobileOne-S0": 0.90, "MobileNetV1": 1.10, "DeiT-tiny": 5.0,
                               "PiT-ti": 7.5, "MyNet": 2.0}  # the minimum of each model's runs
    corr = pd.read_csv(out / "correlations.csv")
    assert {"MyPhone", "iPhone 12", "Intel Xeon Gold 5118"} <= set(corr["device"])
    macs = corr[(corr["device"] == "MyPhone") & (corr["metric"] == "macs")].iloc[0]
    ref = sps.spearmanr(joined.loc[joined.device == "MyPhone", "macs"], phone.to_numpy())
    assert macs["n"] == 5 and macs["rho"] == pytest.approx(ref.statistic)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["findings"]["sources"]["MyPhone"] == "your file"


def test_a_bad_file_stops_with_the_validators_line_before_any_folder(tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text("model,latency_ms\nMobileOne-S0,abc\n")
    namespace = {name: p.default for name, p in spec(STEM).items()}
    namespace.update(LATENCY_CSV=str(csv), OUTPUT_DIR=str(tmp_path / "out"))
    with pytest.raises(DataFormatError) as err:
        study.parameters(namespace)
    msg = str(err.value)
    assert "bad.csv" in msg and "line 2" in msg and "latency_ms" in msg
    assert not (tmp_path / "out").exists()
