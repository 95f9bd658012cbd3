"""Notebook 06 (latency prediction): its findings and verdicts on synthetic tables, its prose as
golden text, its parameters, and the quick papermill run (which writes what ``run(params)``
returns in-process)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from analysis import constants
from analysis.constants import (MIN_MODELS_FOR_TARGET, NEAR_TIE, TARGET_K, TARGET_LOO_RHO,
                                TARGET_MEDIAN_RHO, TARGET_P10_RHO)
from analysis.errors import ConfigError
from analysis.studies import prediction as study
from analysis.studies.params import quick_parameters, spec
from analysis.studies.prediction import compute as C
from analysis.studies.prediction import findings as F
from analysis.studies.prediction import prose
from hygiene import assert_golden, assert_run_matches_notebook, quick_notebook_run

STEM = study.NOTEBOOK


# -- findings on synthetic tables ----------------------------------------------------------------

def _loo_row(device, rho, n=25, predictor=C.SELECTED, coverage=0.9):
    return {"device": device, "physical_device": device, "n": n, "predictor": predictor,
            "rho": rho, "mdape": 12.0, "within10": 0.4, "coverage90": coverage}


def test_the_leave_one_out_target_follows_the_constants():
    at, below = TARGET_LOO_RHO, TARGET_LOO_RHO - 1e-9
    few = MIN_MODELS_FOR_TARGET - 1
    scores = pd.DataFrame([_loo_row("A", at), _loo_row("A", 0.5, predictor="macs"),
                           _loo_row("B", below), _loo_row("B", 0.95, predictor="costs"),
                           _loo_row("C", 0.99, n=few), _loo_row("C", 0.9, n=few,
                                                                  predictor="macs")])
    a, b, c = F.loo_findings(scores)
    assert (a.target, b.target, c.target) == (F.MET, F.MISSED, F.NO_TARGET)
    assert (b.best_single, b.best_single_rho) == ("costs", 0.95)


def _vs_row(device, low, high, n=25):
    return {"device": device, "n": n, "rho_predictor": 0.9, "rho_macs": 0.5, "delta_rho": 0.4,
            "ci_low": low, "ci_high": high, "p_value": 0.01}


def test_better_than_macs_only_when_the_interval_excludes_zero():
    table = pd.DataFrame([_vs_row("A", 0.1, 0.7), _vs_row("B", -0.1, 0.7),
                          _vs_row("C", -0.7, -0.1), _vs_row("D", np.nan, np.nan, n=6)])
    verdicts = [v.verdict for v in F.versus_macs_findings(table)]
    assert verdicts == [F.BETTER, F.UNDECIDED, F.WORSE, F.TOO_FEW]


def _nd_row(device, method, rho_median, rho_p10, beats=np.nan, delta=np.nan, k=TARGET_K):
    return {"device": device, "k": k, "method": method, "n_splits": 10,
            "rho_median": rho_median, "rho_p10": rho_p10, "mdape_median": 20.0,
            "within10_median": 0.3, "coverage90": 0.9 if method == C.PREDICTOR else np.nan,
            "beats_both_share": beats, "paired_delta_median": delta}


def test_each_new_device_target_is_judged_separately():
    summary = pd.DataFrame([
        _nd_row("all", C.PREDICTOR, TARGET_MEDIAN_RHO, TARGET_P10_RHO, 1.0, 0.1),
        _nd_row("p10", C.PREDICTOR, 0.95, TARGET_P10_RHO - 0.01, 1.0, 0.1),
        _nd_row("beats", C.PREDICTOR, 0.95, 0.8, 0.9, 0.1),
        _nd_row("beats", C.MACS, 0.5, 0.4)])
    found = {d.device: d for d in F.new_device_findings(summary, TARGET_K)}
    assert found["all"].all_met
    assert (found["p10"].median_met, found["p10"].p10_met) == (True, False)
    assert not found["beats"].beats_met and not found["beats"].all_met
    assert [b.method for b in found["beats"].baselines] == [C.MACS]
    assert F.new_device_findings(summary, 5) == ()  # k not evaluated: nothing


def test_near_ties_are_never_counted_as_ahead():
    rows = [_nd_row(d, C.PREDICTOR, 0.8, 0.6, 0.5, delta) for d, delta in
            [("A", NEAR_TIE + 0.01), ("T", NEAR_TIE), ("U", -NEAR_TIE), ("B", -0.1),
             ("N", np.nan)]]
    groups = F.paired_groups(F.new_device_findings(pd.DataFrame(rows), TARGET_K))
    assert [d for d, _ in groups["above"]] == ["A"]
    assert [d for d, _ in groups["tie"]] == ["T", "U"]
    assert [d for d, _ in groups["below"]] == ["B"]


def _imp(shares):
    return pd.DataFrame([{"device": "D", "feature": f, "share": s, "importance": s,
                          "coefficient": 1.0} for f, s in shares])


def test_importance_names_what_leads():
    (d,) = F.importance_findings(_imp([("macs", 0.7), ("memory_bytes", 0.2),
                                       ("operators", 0.1)]))
    assert not d.paper_leads and d.flops_share == pytest.approx(0.7)
    assert d.top[0] == ("macs", 0.7)
    (d,) = F.importance_findings(_imp([("macs", 0.1), ("memory_bytes", 0.2),
                                       ("transformer", 0.7)]))
    assert d.paper_leads and d.family_dominates
    (d,) = F.importance_findings(_imp([("macs", 0.4), ("memory_bytes", 0.35),
                                       ("transformer", 0.25)]))
    assert not d.family_dominates


def _predictions(device, measured, predicted):
    return pd.DataFrame({"model_id": [f"m{i}" for i in range(len(measured))],
                         "latency_ms": measured, "predicted_ms": predicted,
                         "device": device, "predictor": C.SELECTED})


def test_weak_devices_list_the_worst_models_and_how_close_neighbours_are():
    measured = np.array([1.0, 1.05, 2.0, 4.0, 8.0])
    predicted = measured * np.array([1.5, 1.0, 0.9, 1.2, 1.0])
    scores = pd.DataFrame([_loo_row("W", TARGET_LOO_RHO - 0.1, n=5),
                           _loo_row("S", TARGET_LOO_RHO + 0.05, n=5)])
    scores.loc[0, "mdape"] = 10.0
    (w,) = F.weak_devices(scores, _predictions("W", measured, predicted),
                          names={"m0": "First"}, noise={"W": 0.11})
    assert w.device == "W" and w.spread == pytest.approx(8.0)
    assert w.worst[0] == ("First", pytest.approx(0.5)) and w.worst[1][0] == "m3"
    assert w.close_share == pytest.approx(0.25)  # 1 → 1.05 only, of 4 neighbour gaps
    assert w.noise_cv == pytest.approx(0.11)


def test_findings_of_a_study_without_targets_or_new_device():
    scores = pd.DataFrame([_loo_row("A", 0.97, n=9), _loo_row("A", 0.5, n=9, predictor="macs")])
    empty = pd.DataFrame(columns=["device", "k", "method", "rho", "rho_median", "rho_p10",
                                  "beats_both_share", "coverage90", "design"])
    found = F.findings(scores, _predictions("A", [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]),
                       pd.DataFrame([_vs_row("A", np.nan, np.nan, n=9)]), empty, empty,
                       _imp([("macs", 1.0)]).assign(device="A"))
    assert found.k is None and found.new_device == () and found.gaps == ()
    assert found.loo_met == found.loo_missed == ()
    assert C.report_k(pd.DataFrame({"k": [3, 5]}), TARGET_K) == 5
    assert C.report_k(pd.DataFrame({"k": [3, TARGET_K, 12]}), TARGET_K) == TARGET_K


# -- generated prose -----------------------------------------------------------------------------

def _synthetic() -> F.Findings:
    loo = (F.DeviceLoo("Phone / coreml", 30, 0.95, 9.4, 0.5, 0.9, "costs", 0.96, F.MET),
           F.DeviceLoo("Laptop / torch", 21, 0.85, 21.0, 0.24, 0.95, "costs", 0.89, F.MISSED),
           F.DeviceLoo("Tiny / onnxruntime", 9, 0.7, 30.0, 0.1, 0.78, "macs", 0.75,
                       F.NO_TARGET))
    vs = (F.VersusMacs("Phone / coreml", 30, 0.95, 0.38, 0.57, 0.21, 0.98, 8e-4, F.BETTER),
          F.VersusMacs("Laptop / torch", 21, 0.85, 0.78, 0.07, -0.04, 0.36, 0.15, F.UNDECIDED),
          F.VersusMacs("Tiny / onnxruntime", 9, 0.7, 0.8, -0.1, np.nan, np.nan, np.nan,
                       F.TOO_FEW))
    base = (F.Baseline(C.MACS, 0.39, 0.26), F.Baseline(C.SIMILAR, 0.62, 0.53))
    new = (F.DeviceNew("Phone / coreml", 8, 50, 0.93, 0.78, 18.0, 1.0, 0.05, 0.98, base,
                       True, True, True),
           F.DeviceNew("Laptop / torch", 8, 50, 0.79, 0.67, 17.0, 0.54, 0.008, 0.99, base,
                       False, False, False))
    imp = (F.DeviceImportance("Phone / coreml", (("transformer", 0.65), ("activations", 0.11),
                                                 ("params", 0.09)), 0.24, 0.10, 0.66, True,
                              True),)
    weak = (F.WeakDevice("Laptop / torch", 0.85, 21.0, (("PiT-ti", 0.49), ("EfficientNet-B0",
                                                                          -0.46)), 5.7, 0.9,
                         0.11),)
    gaps = (F.NewDeviceGap("Laptop / torch", 8, 0.79, 0.85, 50, 0.67, 0.89,
                           (("feature set macs + reference-device prior", 0.42),
                            ("feature set costs", 0.26))),)
    return F.Findings(("Phone / coreml", "Laptop / torch", "Tiny / onnxruntime"), loo, vs, 8,
                      new, imp, weak, gaps, ("Phone / coreml",), ("Laptop / torch",),
                      ("Phone / coreml",), (("Phone / coreml", 0.05),),
                      (("Laptop / torch", 0.008),), (), 0.985, 0.78, 0.95)


def test_golden_prose():
    f = _synthetic()
    text = "\n\n".join([prose.targets(), prose.loo_text(f.loo),
                        prose.versus_macs_text(f.versus_macs),
                        prose.new_device_text(f.new_device), prose.importance_text(f.importance),
                        prose.shortfalls_text(f), prose.conclusion(f)])
    assert_golden("06_prediction", text)


def test_golden_prose_without_targets_or_new_device():
    tiny = F.DeviceLoo("Tiny / onnxruntime", 9, 0.93, 8.0, 0.6, 0.78, "macs", 0.95, F.NO_TARGET)
    small = F.Findings((tiny.device,), (tiny,), (), None, (), (), (), (), (), (), (), (), (), (),
                       np.nan, 0.78, 0.78)
    assert_golden("06_prediction_small",
                  prose.shortfalls_text(small) + "\n\n" + prose.conclusion(small))


def test_a_value_just_below_a_target_never_reads_as_the_target():
    f = _synthetic()
    below = TARGET_MEDIAN_RHO - 4e-4
    new = replace(f.new_device[1], rho_median=below)
    text = prose.new_device_sentence(new)
    assert f"median ρ {below:.4f} < {TARGET_MEDIAN_RHO:g}" in text
    loo = replace(f.loo[1], rho=TARGET_LOO_RHO - 4e-4)
    assert f"ρ = {TARGET_LOO_RHO - 4e-4:.4f}" in prose.loo_sentence(loo)
    tie = replace(f, near_ties=(("T", NEAR_TIE - 1e-4),))
    assert f"T (+{NEAR_TIE - 1e-4:.4f})" in prose.conclusion(tie)


def test_targets_in_the_text_are_the_constants(monkeypatch):
    monkeypatch.setattr(prose, "TARGET_LOO_RHO", 0.85)
    monkeypatch.setattr(prose, "MIN_MODELS_FOR_TARGET", 12)
    monkeypatch.setattr(prose, "NEAR_TIE", 0.015)
    f = _synthetic()
    assert "target ρ ≥ 0.85" in prose.loo_sentence(f.loo[0])
    assert "fewer than 12 models" in prose.loo_sentence(f.loo[2])
    conclusion = prose.conclusion(f)
    assert "ρ ≥ 0.85 on 1 of 2 devices with ≥ 12 models" in conclusion
    assert "more than 0.015" in conclusion and "within ±0.015" in conclusion


# -- parameters ----------------------------------------------------------------------------------

def test_the_notebook_defaults_are_the_package_defaults():
    declared = spec(STEM)
    assert declared["N_BOOTSTRAP"].default == constants.N_BOOTSTRAP
    assert TARGET_K in declared["K_CALIBRATION"].default


@pytest.mark.parametrize("overrides, words", [
    ({"FEATURE_SETS": ["macs", "costz"]}, "FEATURE_SETS: 'costz' is not one of"),
    ({"MODELS": "NotAModel-XL"}, "parameter MODELS"),
    ({"K_CALIBRATION": [2, 8]}, "K_CALIBRATION must be >= 3"),
    ({"LATENCY_CSV": "no/such/file.csv"}, "no such file"),
])
def test_bad_parameters_are_one_clear_error(overrides, words):
    with pytest.raises(ConfigError, match=words):
        study.parameters(**overrides)


# -- the quick papermill run ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return quick_notebook_run(STEM, tmp_path_factory)


def test_the_notebook_writes_what_run_returns(quick):
    assert_run_matches_notebook(STEM, quick)


def test_written_tables(quick):
    res = quick / "results"
    loo = pd.read_csv(res / "prediction_loo.csv")
    nd = pd.read_csv(res / "prediction_new_device.csv")
    assert set(nd["k"]) == set(quick_parameters(STEM)["K_CALIBRATION"])
    assert set(nd["method"]) == {C.PREDICTOR, C.MACS, C.SIMILAR}
    assert loo["n"].min() >= MIN_MODELS_FOR_TARGET  # both quick devices have enough models
    assert C.SELECTED in set(loo["predictor"])
    vs = pd.read_csv(res / "prediction_loo_vs_macs.csv")
    assert np.allclose(vs["delta_rho"], vs["rho_predictor"] - vs["rho_macs"])


def test_scores_recomputed_from_written_predictions(quick):
    res = quick / "results"
    loo = pd.read_csv(res / "prediction_loo.csv")
    models = pd.read_csv(res / "prediction_loo_models.csv")
    for (device, predictor), g in models.groupby(["device", "predictor"]):
        row = loo[(loo["device"] == device) & (loo["predictor"] == predictor)].iloc[0]
        err = np.abs(g["predicted_ms"] / g["latency_ms"] - 1)
        assert row["rho"] == pytest.approx(sps.spearmanr(g["predicted_ms"], g["latency_ms"])[0])
        assert row["mdape"] == pytest.approx(100 * np.median(err))
    splits = pd.read_csv(res / "prediction_new_device_splits.csv")
    summary = pd.read_csv(res / "prediction_new_device.csv")
    med = splits.groupby(["device", "k", "method"])["rho"].median()
    for _, row in summary.iterrows():
        assert row["rho_median"] == pytest.approx(med[(row["device"], row["k"], row["method"])])


def test_findings_figures_and_summary(quick):
    for name in ("prediction_loo_predicted_vs_measured", "prediction_new_device_rho_vs_k",
                 "prediction_cost_importance"):
        for ext in ("png", "pdf"):
            assert (quick / "figures" / f"{name}.{ext}").stat().st_size > 0
    summary = json.loads((quick / "results" / "summary.json").read_text())
    assert summary["parameters"]["SEED"] == quick_parameters(STEM)["SEED"]
    found = summary["findings"]
    loo = pd.read_csv(quick / "results" / "prediction_loo.csv")
    selected = loo[loo["predictor"] == C.SELECTED].set_index("device")["rho"]
    assert {d["device"]: d["rho"] for d in found["loo"]} == pytest.approx(selected.to_dict())
    met = [d for d, r in selected.items() if r >= TARGET_LOO_RHO]
    assert found["loo_met"] == met
    assert found["k"] == max(quick_parameters(STEM)["K_CALIBRATION"])
    assert all(len(sha) == 64 for sha in summary["inputs"].values())
