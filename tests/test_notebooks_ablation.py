"""Notebooks 02 and 03 run by papermill with their quick profile, as a user runs them; assertions
on the files they write, and the one-code-path check (the notebook writes what ``run`` returns).

Latency is timed live, so two runs never see the same numbers: the equality check runs both
the notebook and ``run(params)`` on the same earlier measurements (``MEASUREMENTS_CSV``), and a
separate run of notebook 03 covers live timing through papermill."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from analysis import paths
from analysis.errors import AnalysisError
from analysis.reproduce import run_notebook
from analysis.studies.params import quick_parameters
from hygiene import assert_run_matches_notebook, quick_notebook_run

NB02, NB03 = "02_activation_ablation", "03_block_ablation"
TABLE2 = ["ablation_relu", "ablation_gelu", "ablation_se_relu", "ablation_silu",
          "ablation_dynamic_shift_max", "ablation_dyrelu_a", "ablation_dyrelu_b"]
TABLE3 = ["ablation_baseline", "ablation_se", "ablation_skip"]
PAPER_T2 = [1.53, 1.63, 2.10, 2.54, 57.04, 273.49, 242.14]
# A phone file as a user fills in the export template: display names and ids, one network
# outside the ablation set (ignored), one Table 3 network (ignored by notebook 02).
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
# Earlier CPU measurements (the shape of a run's measurements.csv) at the quick input size.
CPU_MS = {"Ablation ReLU": 10.0, "Ablation GELU": 10.3, "Ablation SE-ReLU": 12.5,
          "Ablation SiLU": 10.6, "Ablation Dynamic Shift-Max": 16.0, "Ablation DyReLU-A": 14.0,
          "Ablation DyReLU-B": 15.0}


def measurements_csv(path):
    rows = [{"model": m, "runtime": rt, "device": "Test CPU", "statistic": "min",
             "latency_ms": v * f, "min_ms": v * f, "median_ms": v * f * 1.08, "n_runs": 5,
             "threads": 1, "input_size": 64}
            for rt, f in (("torch", 1.0), ("onnxruntime", 0.7)) for m, v in CPU_MS.items()]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def committed_study() -> dict:
    """SHA-256 of every committed result of notebooks 02/03 and their figures."""
    files = [*paths.NOTEBOOK_OUTPUTS.glob("0[23]_*/*"), *paths.FIGURES.glob("table[23]_*")]
    return {str(f): hashlib.sha256(f.read_bytes()).hexdigest() for f in files if f.is_file()}


def check_slowdowns(table: pd.DataFrame, reference: str, prefixes: dict[str, str]) -> None:
    """Recompute every slowdown from the written milliseconds: ms / ms of the reference."""
    ref = table.set_index("model_id").loc[reference]
    for ms, slowdown in prefixes.items():
        assert table[ms].notna().all(), ms
        np.testing.assert_allclose(table[slowdown], table[ms] / ref[ms], rtol=1e-9,
                                   err_msg=slowdown)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("inputs")
    (tmp / "phone.csv").write_text(PHONE)
    return {"LATENCY_CSV": str(tmp / "phone.csv"),
            "MEASUREMENTS_CSV": str(measurements_csv(tmp / "measurements.csv"))}


@pytest.fixture(scope="module")
def nb02(tmp_path_factory, inputs):
    """The quick profile on a phone file and earlier CPU measurements."""
    before_user = {k: open(v, "rb").read() for k, v in inputs.items()}
    folder = quick_notebook_run(NB02, tmp_path_factory, **inputs)
    assert {k: open(v, "rb").read() for k, v in inputs.items()} == before_user  # only read
    return folder


def test_02_is_one_code_path_with_run(nb02, inputs):
    assert_run_matches_notebook(NB02, nb02, **inputs)


def test_02_writes_every_variant_next_to_the_paper_and_the_phone(nb02):
    t = pd.read_csv(nb02 / "results" / "ablation_activations.csv")
    assert t["model_id"].tolist() == TABLE2 and t["paper_ms"].tolist() == PAPER_T2
    check_slowdowns(t, "ablation_relu", {
        "paper_ms": "paper_slowdown", "torch_min_ms": "torch_slowdown",
        "torch_median_ms": "torch_median_slowdown", "onnxruntime_min_ms": "onnxruntime_slowdown",
        f"{DEVICE}_ms": f"{DEVICE}_slowdown"})
    assert t["torch_min_ms"].tolist() == list(CPU_MS.values())  # read, not timed
    assert t.loc[t.model_id == "ablation_dyrelu_a", f"{DEVICE}_ms"].item() == 150.0
    # the seven networks differ only in the activation: MACs barely move, element-wise work does
    assert t["macs_vs_first"].max() < 1.05 and t["elementwise_vs_first"].max() > 2
    assert t["merges"].iloc[0] == 0 and t["merges"].max() > 0


def test_02_findings_and_summary(nb02):
    summary = json.loads((nb02 / "results" / "summary.json").read_text())
    found = summary["findings"]
    assert [s["key"] for s in found["series"]] == ["paper", "torch", "onnxruntime", DEVICE]
    assert found["paper_comparison"]["variant"] == "DynamicReLU-A"
    phone = {a["series"]: a for a in found["agreement"]}["Test Phone · coreml (min)"]
    # the phone swaps DyReLU-A/B and SE-ReLU/SiLU against the paper: d² = 4 → ρ = 1 − 24/336
    assert phone["rho"] == pytest.approx(1 - 24 / 336) and phone["n"] == 7
    assert summary["notes"]["device_file"]["ignored"] == ["Ablation +SE", "MobileOne-S0"]
    assert "undocumented" not in json.dumps(summary["tables"])
    figures = {p.name for p in (nb02 / "figures").iterdir()}
    for name in ("table2_activation_latency_paper_vs_ours", "table2_activation_slowdown_vs_relu",
                 "table2_activation_cost_ratios_vs_relu"):
        assert {f"{name}.png", f"{name}.pdf"} <= figures


def test_03_times_live_through_papermill(tmp_path_factory):
    folder = quick_notebook_run(NB03, tmp_path_factory)
    t = pd.read_csv(folder / "results" / "ablation_blocks.csv")
    assert t["model_id"].tolist() == TABLE3 and t["paper_ms"].tolist() == [1.53, 2.10, 2.62]
    check_slowdowns(t, "ablation_baseline", {
        "paper_ms": "paper_slowdown", "torch_min_ms": "torch_slowdown",
        "onnxruntime_min_ms": "onnxruntime_slowdown",
        "onnxruntime_median_ms": "onnxruntime_median_slowdown"})
    assert (t["torch_min_ms"] <= t["torch_median_ms"]).all()
    assert t.loc[t.model_id == "ablation_skip", "macs_vs_first"].item() == 1.0
    assert t.loc[t.model_id == "ablation_se", "merges"].item() == 29  # SE after every conv
    measured = pd.read_csv(folder / "results" / "measurements.csv")
    quick = quick_parameters(NB03)
    assert len(measured) == 6 and set(measured["runtime"]) == {"torch", "onnxruntime"}
    assert (measured[["n_runs", "threads", "input_size"]] == [quick["N_RUNS"],
            quick["THREADS"], quick["INPUT_SIZE"]]).all().all()
    summary = json.loads((folder / "results" / "summary.json").read_text())
    assert {a["n"] for a in summary["findings"]["agreement"]} == {3}
    assert summary["parameters"]["SE_PLACEMENT"] == "every"


def test_03_phone_only_run_writes_its_own_folder(tmp_path, monkeypatch):
    """As the README says: no OUTPUT_DIR, RUNTIMES none; the committed study is untouched."""
    csv = tmp_path / "phone.csv"
    csv.write_text(PHONE + "Ablation baseline,1.52,Test Phone,coreml,min,1000,64,fp16\n")
    before, before_user = committed_study(), csv.read_bytes()
    monkeypatch.setenv("MOBILEONE_STUDY_RUNS", str(tmp_path / "runs"))
    run_notebook(paths.NOTEBOOKS / f"{NB03}.ipynb", tmp_path / "executed.ipynb",
                 {**quick_parameters(NB03), "LATENCY_CSV": str(csv), "RUNTIMES": "none"})
    assert committed_study() == before and csv.read_bytes() == before_user
    (out,) = (tmp_path / "runs").glob(f"phone-*/{NB03}")
    t = pd.read_csv(out / "ablation_blocks.csv")
    assert t[f"{DEVICE}_ms"].tolist()[:2] == [1.52, 1.90]
    assert np.isnan(t[f"{DEVICE}_ms"].iloc[2])  # + skip not measured on the phone
    assert not [c for c in t.columns if c.startswith(("torch", "onnxruntime"))]  # not timed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["notes"]["device_file"]["missing"] == {
        "Test Phone · coreml (min)": ["Ablation +skip"]}
    assert (out / "figures" / "table3_block_slowdown_vs_baseline.png").is_file()


def test_02_on_a_figure2_template_stops_with_the_export_advice(tmp_path, monkeypatch):
    """Issue 23: the README's phone-only example on a template without ablation networks."""
    csv = tmp_path / "latency_template.csv"
    csv.write_text("model,latency_ms,device,runtime\nMobileOne-S0,0.80,My Phone,coreml\n"
                   "MobileOne-S1,1.10,My Phone,coreml\n")
    monkeypatch.setenv("MOBILEONE_STUDY_RUNS", str(tmp_path / "runs"))
    with pytest.raises(AnalysisError) as err:
        run_notebook(paths.NOTEBOOKS / f"{NB02}.ipynb", tmp_path / "out" / "executed.ipynb",
                     {"LATENCY_CSV": str(csv), "RUNTIMES": "none"})
    message = str(err.value)
    assert "holds none of the 7 Table 2 networks" in message
    assert "python -m analysis export --models ablation" in message
    assert not (tmp_path / "runs").exists()  # stopped before any folder was made
