"""Notebooks 02 and 03 run by papermill, as a user runs them; assertions on the files they write,
and the one-code-path check (the notebook writes what ``run`` returns).

By default both read the committed campaigns, so the notebook and ``run(params)`` see the same
numbers and must write the same files; a separate run of notebook 03 with ``MEASURE`` times the
(small) networks live and must write its campaign into the run folder, never into ``data/``."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from analysis import paths
from analysis.errors import AnalysisError
from analysis.reproduce import run_notebook
from analysis.studies.ablation.measure import LIVE_FILE
from analysis.studies.params import quick_parameters
from hygiene import assert_run_matches_notebook, quick_notebook_run, tracked_file_hashes

NB02, NB03 = "02_activation_ablation", "03_block_ablation"
TABLE2 = ["ablation_relu", "ablation_gelu", "ablation_se_relu", "ablation_silu",
          "ablation_dynamic_shift_max", "ablation_dyrelu_a", "ablation_dyrelu_b"]
TABLE3 = ["ablation_baseline", "ablation_se", "ablation_skip"]
PAPER_T2 = [1.53, 1.63, 2.10, 2.54, 57.04, 273.49, 242.14]
H200 = ["NVIDIA H200 · eager fp32", "NVIDIA H200 · graph fp32", "NVIDIA H200 · eager fp16",
        "NVIDIA H200 · graph fp16"]
# A phone file as a user fills in the export template: display names and ids, one network
# outside the ablation set (ignored), one Table 3 network (not in notebook 02's table).
PHONE = "\n".join([
    "model,latency_ms,device,runtime,statistic,n_runs,input_size,precision",
    "Ablation ReLU,1.50,Test Phone,coreml,min,1000,224,fp16",
    "Ablation GELU,1.70,Test Phone,coreml,min,1000,224,fp16",
    "ablation_se_relu,2.40,Test Phone,coreml,min,1000,224,fp16",
    "Ablation SiLU,2.00,Test Phone,coreml,min,1000,224,fp16",
    "Ablation Dynamic Shift-Max,40.0,Test Phone,coreml,min,1000,224,fp16",
    "Ablation DyReLU-A,150.0,Test Phone,coreml,min,1000,224,fp16",
    "Ablation DyReLU-B,200.0,Test Phone,coreml,min,1000,224,fp16",
    "Ablation +SE,1.90,Test Phone,coreml,min,1000,224,fp16",
    "MobileOne-S0,0.80,Test Phone,coreml,min,1000,224,fp16",
]) + "\n"


def committed_study() -> dict:
    """SHA-256 of every committed result of notebooks 02/03 and their figures."""
    files = [*paths.NOTEBOOK_OUTPUTS.glob("0[23]_*/*"), *paths.FIGURES.glob("table[23]_*")]
    return {str(f): hashlib.sha256(f.read_bytes()).hexdigest() for f in files if f.is_file()}


def data_files() -> dict:
    return {k: v for k, v in tracked_file_hashes().items() if k.startswith("data/")}


def check_slowdowns(table: pd.DataFrame, reference: str, keys) -> None:
    """Recompute every slowdown from the written milliseconds: ms / ms of the reference."""
    ref = table.set_index("model_id").loc[reference]
    for key in keys:
        for ms, slowdown in ((f"{key}_ms", f"{key}_slowdown"),
                             (f"{key}_median_ms", f"{key}_median_slowdown")):
            if ms in table:
                np.testing.assert_allclose(table[slowdown], table[ms] / ref[ms], rtol=1e-9,
                                           err_msg=slowdown)


@pytest.fixture(scope="module")
def nb02(tmp_path_factory):
    """The quick profile on the committed campaigns (nothing timed)."""
    return quick_notebook_run(NB02, tmp_path_factory)


def test_02_is_one_code_path_with_run(nb02):
    assert_run_matches_notebook(NB02, nb02)


def test_02_reads_the_committed_campaigns_as_series_with_verdicts(nb02):
    results = nb02 / "results"
    t = pd.read_csv(results / "ablation_activations.csv")
    assert t["model_id"].tolist() == TABLE2 and t["paper_ms"].tolist() == PAPER_T2
    bands = pd.read_csv(results / "noise_bands.csv")
    assert bands["series"].tolist()[2:] == H200
    assert all(s.startswith("Intel Xeon Processor (2 vCPU, 2 threads) · ")
               for s in bands["series"][:2])
    assert (bands["band"] > 0).all()
    # the CPU campaign has two sittings, the H200's one
    assert bands["covers"].tolist() == ["within and between sittings"] * 2 + \
        ["within one sitting only"] * len(H200)
    check_slowdowns(t, "ablation_relu", ["paper", *bands["key"]])
    series = pd.read_csv(results / "series.csv")
    measured = series[series["kind"] != "paper"]
    assert (measured["low_ms"] <= measured["latency_ms"]).all()
    assert (measured["latency_ms"] <= measured["high_ms"]).all()
    assert set(measured["verdict"]) <= {"slower", "faster", "within noise", "reference"}
    dups = pd.read_csv(results / "duplicates.csv")
    assert len(dups) == 2 * len(bands) and set(dups["verdict"]) <= {"within noise", "slower",
                                                                     "faster"}
    summary = json.loads((results / "summary.json").read_text())
    assert summary["conclusion"].startswith("**Takeaway.**")
    assert "this CPU" not in json.dumps(summary) and "undocumented" not in json.dumps(summary)
    assert set(summary["inputs"]) >= {"data/latency/cpu-xeon-ablation-2t.csv",
                                      "data/latency/h200-torch-sessions.csv"}
    figures = {p.name for p in (nb02 / "figures").iterdir()}
    for name in ("table2_activation_latency_paper_vs_ours", "table2_activation_slowdown_vs_relu",
                 "table2_activation_cost_ratios_vs_relu"):
        assert {f"{name}.png", f"{name}.pdf"} <= figures


def test_03_live_campaign_goes_to_the_run_folder_never_to_data(tmp_path_factory):
    before = data_files()
    folder = quick_notebook_run(NB03, tmp_path_factory, MEASURE=True, WITH_CAMPAIGNS=False,
                                RUNTIMES="torch", INPUT_SIZE=64, WIDTH=8, N_RUNS=3)
    assert data_files() == before
    campaign = pd.read_csv(folder / "results" / LIVE_FILE)
    quick = quick_parameters(NB03)
    assert len(campaign) == 10 * quick["N_SESSIONS"] and set(campaign["runtime"]) == {"torch"}
    assert (campaign[["n_runs", "threads", "input_size"]] == [3, quick["THREADS"], 64]).all().all()
    bands = pd.read_csv(folder / "results" / "noise_bands.csv")
    assert len(bands) == 1 and bands["series"].item().endswith("live)")
    assert bands["n_pairs"].item() == 10  # 10 networks, one pair of sessions each
    t = pd.read_csv(folder / "results" / "ablation_blocks.csv")
    assert t["model_id"].tolist() == TABLE3 and t["paper_ms"].tolist() == [1.53, 2.10, 2.62]
    key = bands["key"].item()
    check_slowdowns(t, "ablation_baseline", ["paper", key])
    assert t.loc[t.model_id == "ablation_se", "merges"].item() == 29  # SE after every conv
    summary = json.loads((folder / "results" / "summary.json").read_text())
    assert summary["parameters"]["SE_PLACEMENT"] == "every"
    assert {a["n"] for a in summary["findings"]["agreement"]} == {3}


def test_03_phone_only_run_writes_its_own_folder(tmp_path, monkeypatch):
    """As the README says: no OUTPUT_DIR, the phone alone; the committed study is untouched."""
    csv = tmp_path / "phone.csv"
    csv.write_text(PHONE + "Ablation baseline,1.52,Test Phone,coreml,min,1000,224,fp16\n")
    before, before_user = committed_study(), csv.read_bytes()
    monkeypatch.setenv("MOBILEONE_STUDY_RUNS", str(tmp_path / "runs"))
    run_notebook(paths.NOTEBOOKS / f"{NB03}.ipynb", tmp_path / "executed.ipynb",
                 {**quick_parameters(NB03), "LATENCY_CSV": str(csv), "WITH_CAMPAIGNS": False})
    assert committed_study() == before and csv.read_bytes() == before_user
    (out,) = (tmp_path / "runs").glob(f"phone-*/{NB03}")
    t = pd.read_csv(out / "ablation_blocks.csv", keep_default_na=False, na_values=[""])
    assert t["test_phone_ms"].tolist()[:2] == [1.52, 1.90]
    assert np.isnan(t["test_phone_ms"].iloc[2])  # + skip not measured on the phone
    assert t["test_phone_verdict"].tolist() == ["reference", "n/a", "n/a"]  # no sessions
    summary = json.loads((out / "summary.json").read_text())
    assert summary["notes"]["coverage"]["missing"] == {"Test Phone": ["Ablation +skip"]}
    assert (out / "figures" / "table3_block_slowdown_vs_baseline.png").is_file()


def test_02_on_a_figure2_template_stops_with_the_export_advice(tmp_path, monkeypatch):
    """Issue 23: the README's phone-only example on a template without ablation networks."""
    csv = tmp_path / "latency_template.csv"
    csv.write_text("model,latency_ms,device,runtime\nMobileOne-S0,0.80,My Phone,coreml\n"
                   "MobileOne-S1,1.10,My Phone,coreml\n")
    monkeypatch.setenv("MOBILEONE_STUDY_RUNS", str(tmp_path / "runs"))
    with pytest.raises(AnalysisError) as err:
        run_notebook(paths.NOTEBOOKS / f"{NB02}.ipynb", tmp_path / "out" / "executed.ipynb",
                     {"LATENCY_CSV": str(csv), "WITH_CAMPAIGNS": False})
    message = str(err.value)
    assert "holds none of the 7 Table 2 networks" in message
    assert "python -m analysis export --models ablation" in message
    assert not (tmp_path / "runs").exists()  # stopped before any folder was made
