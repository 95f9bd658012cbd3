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


def _vs_row(device, low, high, n=25, p=0.01):
    return {"device": device, "n": n, "rho_predictor": 0.9, "rho_macs": 0.5, "delta_rho": 0.4,
            "ci_low": low, "ci_high": high, "p_value": p}


def test_better_than_macs_only_after_adjustment_and_when_the_interval_excludes_zero(
        monkeypatch):
    """Δρ's verdict needs the Benjamini–Hochberg q ≤ α (over the devices) and the interval on
    one side of 0; the findings carry the table's verdicts unchanged."""
    rows = [_vs_row("A", 0.1, 0.7), _vs_row("B", -0.1, 0.7), _vs_row("C", -0.7, -0.1),
            _vs_row("D", np.nan, np.nan, n=6, p=np.nan), _vs_row("E", 0.1, 0.7, p=0.2)]
    table = pd.DataFrame(rows)
    # loo_vs_macs's verdict rule, applied to these p-values (its bootstrap is tested in
    # test_predict): q of A, B, C = 0.0133, E = 0.2
    monkeypatch.setattr(C, "versus_reference", lambda *a, **k: table.drop(columns=[
        "rho_predictor", "rho_macs", "delta_rho"]).assign(metric="predictor"))
    preds = pd.DataFrame({"device": [d for d in "ABCDE" for _ in range(3)],
                          "predictor": C.SELECTED, "predicted_ms": [1.0, 2.0, 3.0] * 5,
                          "latency_ms": [1.0, 2.0, 3.0] * 5, "model_id": ["m0", "m1", "m2"] * 5})
    costs = pd.DataFrame({"macs": [1.0, 3.0, 2.0]}, index=["m0", "m1", "m2"])
    out = C.loo_vs_macs(preds, costs)
    assert list(out["verdict"]) == [F.BETTER, F.UNDECIDED, F.WORSE, F.TOO_FEW, F.UNDECIDED]
    found = F.versus_macs_findings(out)
    assert [v.verdict for v in found] == list(out["verdict"])
    assert found[0].q_value == pytest.approx(0.01 * 4 / 3)


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


def _imp(rows, device="D", n=20):
    return pd.DataFrame([{"device": device, "n": n, "group": g, "costs": "", "rmse_all": 0.2,
                          "rmse_without": 0.2 * r, "ratio": r, "ratio_low": lo,
                          "ratio_high": hi, "needed": lo > 1} for g, r, lo, hi in rows])


def test_an_ordering_is_claimed_only_where_the_intervals_separate():
    (d,) = F.importance_findings(_imp([("compute", 1.8, 1.5, 2.4), ("memory", 1.2, 1.05, 1.4),
                                       ("launch", 1.0, 0.8, 1.25), ("family", 1.1, 0.9, 1.3)]))
    assert d.needed == ("compute", "memory")
    assert set(d.ordered) == {("compute", "memory"), ("compute", "launch"),
                              ("compute", "family")}
    text = prose.importance_sentence(d)
    assert "compute > memory" in text and "memory >" not in text
    (d,) = F.importance_findings(_imp([("compute", 1.8, 1.1, 2.4), ("memory", 1.5, 1.05, 2.0),
                                       ("launch", 1.0, 0.8, 1.25)]))
    assert d.ordered == () and d.needed == ("compute", "memory")
    text = prose.importance_sentence(d)
    assert ">" not in text and "cannot order" in text


def test_prose_never_claims_an_ordering_or_need_the_intervals_do_not_support():
    """Random importance tables: every "a > b" in the prose has a's interval above b's, and
    every group called needed has its interval above 1."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        rows = []
        for g in ("compute", "memory", "launch", "family"):
            r = float(np.exp(rng.normal(0.2, 0.3)))
            w = float(np.exp(rng.normal(-1.5, 0.5)))
            rows.append((g, r, r / (1 + w), r * (1 + w)))
        (d,) = F.importance_findings(_imp(rows))
        text = prose.importance_sentence(d)
        bounds = {g: (lo, hi) for g, _, lo, hi in rows}
        for a, b in d.ordered:
            assert bounds[a][0] > bounds[b][1]
            assert f"{a} > {b}" in text
        for a in bounds:
            for b in bounds:
                if f"{a} > {b}" in text:
                    assert (a, b) in d.ordered
        for g in d.needed:
            assert bounds[g][0] > 1
        if not d.needed:
            assert "No group is shown to be needed" in text


def test_coverage_is_below_or_above_nominal_only_when_its_interval_excludes_it():
    assert F.coverage_verdict(0.6, 0.85) == F.BELOW
    assert F.coverage_verdict(0.92, 1.0) == F.ABOVE
    assert F.coverage_verdict(0.8, 0.95) == F.NOMINAL
    table = pd.DataFrame([{"device": "A", "k": C.LOO_K, "n_models": 30, "coverage90": 0.8,
                           "ci_low": 0.7, "ci_high": 0.93},
                          {"device": "A", "k": "8", "n_models": 30, "coverage90": 0.7,
                           "ci_low": 0.62, "ci_high": 0.78},
                          {"device": "B", "k": C.LOO_K, "n_models": 30, "coverage90": 1.0,
                           "ci_low": 1.0, "ci_high": 1.0}])
    a, b = F.coverage_findings(table, 8)
    assert (a.loo_verdict, a.at_k_verdict, a.k) == (F.NOMINAL, F.BELOW, 8)
    assert (b.loo_verdict, b.k, b.at_k_verdict) == (F.ABOVE, None, "")


def _summary(curves, macs=None):
    """A new-device summary: ``curves`` {device: {k: predictor median ρ}}."""
    rows = []
    for device, by_k in curves.items():
        for k, r in by_k.items():
            rows.append(_nd_row(device, C.PREDICTOR, r, r - 0.2, 0.5, 0.0, k=k))
            rows.append(_nd_row(device, C.MACS, (macs or {}).get(device, 0.3), 0.2, k=k))
    return pd.DataFrame(rows)


def test_the_recommended_k_is_where_more_models_stop_helping():
    flat = {"A": {3: 0.5, 5: 0.8, 8: 0.89, 12: 0.91}, "B": {3: 0.6, 5: 0.85, 8: 0.92, 12: 0.93}}
    a = F.advice_findings(_summary(flat), {"A": "A", "B": "B"})
    assert (a.k, a.rising) == (8, False)
    assert a.met == ("B",) and a.n_physical == 2
    rising = {"A": {3: 0.5, 5: 0.6, 8: 0.7, 12: 0.8}}
    a = F.advice_findings(_summary(rising, macs={"A": 0.79}), {"A": "A"})
    assert (a.k, a.rising) == (12, True)
    assert [d for d, _, _ in a.macs_as_good] == ["A"]  # 0.79 ≥ 0.8 − NEAR_TIE
    assert a.smallest_macs_as_good == ("A",)
    text = prose.advice_text(a)
    assert "measure at least 12" in text and "more may still help" in text


def test_series_of_one_physical_device_count_once_and_all_must_meet():
    groups = {"G · eager": "G", "G · graph": "G", "P": "P"}
    met, missed = F.by_physical({"G · eager": True, "G · graph": False, "P": True}, groups)
    assert (met, missed) == (("P",), ("G",))
    # the typical curve takes each physical device once (its series' median)
    curves = {"G · eager": {3: 0.1, 8: 0.1}, "G · graph": {3: 0.1, 8: 0.1},
              "G · other": {3: 0.1, 8: 0.1}, "P": {3: 0.9, 8: 0.95}}
    a = F.advice_findings(_summary(curves), {**groups, "G · other": "G"})
    assert dict(a.typical)[8] == pytest.approx((0.1 + 0.95) / 2)


def test_reference_pool_verdicts_use_the_near_tie_margin():
    table = pd.DataFrame([{"device": d, "k": TARGET_K, "without": "GPU", "n_splits": 10,
                           "rho_median_with": 0.8, "rho_median_without": 0.8,
                           "paired_delta": x, "improved_share": 0.5, "worsened_share": 0.2,
                           "coverage_with": 0.9, "coverage_without": 0.9}
                          for d, x in (("up", NEAR_TIE + 1e-3), ("tie", NEAR_TIE),
                                       ("down", -0.05))])
    pool = F.pool_findings(table, TARGET_K)
    assert [e.verdict for e in pool.effects] == [F.HELPS, F.NO_EFFECT, F.HURTS]
    assert F.pool_findings(table, 3) is None
    text = prose.pool_sentence(pool)
    assert "on 1 and falls by more on 1 of the 3 other series" in text


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
    vs = pd.DataFrame([{**_vs_row("A", np.nan, np.nan, n=9, p=np.nan), "q_value": np.nan,
                        "verdict": F.TOO_FEW}])
    cov = pd.DataFrame([{"device": "A", "k": C.LOO_K, "n_models": 9, "coverage90": 0.9,
                         "ci_low": 0.7, "ci_high": 1.0}])
    found = F.findings(scores, _predictions("A", [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]), vs, empty,
                       empty, cov, _imp([("compute", 1.0, 0.9, 1.1)], device="A"),
                       empty.assign(without=[]), {"A": "A"})
    assert found.k is None and found.new_device == () and found.gaps == ()
    assert found.loo_met == found.loo_missed == () and found.advice is None
    assert found.pool is None and found.coverage[0].k is None
    assert C.report_k(pd.DataFrame({"k": [3, 5]}), TARGET_K) == 5
    assert C.report_k(pd.DataFrame({"k": [3, TARGET_K, 12]}), TARGET_K) == TARGET_K


# -- generated prose -----------------------------------------------------------------------------

def _synthetic() -> F.Findings:
    loo = (F.DeviceLoo("Phone", 30, 0.95, 9.4, 0.5, 0.9, "costs", 0.96, F.MET),
           F.DeviceLoo("Laptop · torch", 21, 0.85, 21.0, 0.24, 0.95, "costs", 0.89, F.MISSED),
           F.DeviceLoo("Tiny", 9, 0.7, 30.0, 0.1, 0.78, "macs", 0.75, F.NO_TARGET))
    vs = (F.VersusMacs("Phone", 30, 0.95, 0.38, 0.57, 0.21, 0.98, 8e-4, 0.0024, F.BETTER),
          F.VersusMacs("Laptop · torch", 21, 0.85, 0.78, 0.07, -0.04, 0.36, 0.15, 0.15,
                       F.UNDECIDED),
          F.VersusMacs("Tiny", 9, 0.7, 0.8, -0.1, np.nan, np.nan, np.nan, np.nan, F.TOO_FEW))
    base = (F.Baseline(C.MACS, 0.39, 0.26), F.Baseline(C.SIMILAR, 0.62, 0.53))
    new = (F.DeviceNew("Phone", 8, 50, 0.93, 0.78, 18.0, 1.0, 0.05, 0.98, base,
                       True, True, True),
           F.DeviceNew("Laptop · torch", 8, 50, 0.79, 0.67, 17.0, 0.54, 0.008, 0.99, base,
                       False, False, False))
    cov = (F.DeviceCoverage("Phone", 0.87, 0.73, 0.97, F.NOMINAL, 8, 0.7, 0.64, 0.76, F.BELOW),
           F.DeviceCoverage("Laptop · torch", 1.0, 1.0, 1.0, F.ABOVE, 8, 0.95, 0.91, 0.98,
                            F.ABOVE))
    imp = (F.DeviceImportance("Phone", 30, 0.2, (
        F.GroupImportance("compute", 1.67, 1.29, 2.27, True),
        F.GroupImportance("memory", 1.11, 0.97, 1.26, False),
        F.GroupImportance("launch", 0.97, 0.84, 1.06, False),
        F.GroupImportance("family", 3.0, 2.18, 4.28, True)),
        (("compute", "launch"), ("family", "memory"), ("family", "launch"))),
           F.DeviceImportance("Laptop · torch", 21, 0.22, (
               F.GroupImportance("compute", 1.07, 0.91, 1.46, False),
               F.GroupImportance("launch", 1.18, 1.09, 1.45, True)), ()))
    pool = F.PoolComparison("GPU", 8, (
        F.PoolEffect("Phone", 8, 0.84, 0.85, 0.0, 0.22, 0.3, 0.7, 0.8, F.NO_EFFECT),
        F.PoolEffect("Laptop · torch", 8, 0.77, 0.72, 0.042, 0.66, 0.1, 0.84, 0.87,
                     F.HELPS)))
    advice = F.Advice(8, False, ((3, 0.76), (5, 0.77), (8, 0.88), (12, 0.89)), 3, ("Phone",),
                      (("Laptop · torch", 0.87, 0.88),), 3, 0.23, 0.86,
                      ("Laptop · torch",))
    weak = (F.WeakDevice("Laptop · torch", 0.85, 21.0, (("PiT-ti", 0.49),
                                                       ("EfficientNet-B0", -0.46)), 5.7, 0.9,
                         0.11),)
    gaps = (F.NewDeviceGap("Laptop · torch", 8, 0.79, 0.85, 50, 0.67, 0.89,
                           (("feature set macs + reference-device prior", 0.42),
                            ("feature set costs", 0.26))),)
    found = F.Findings(("Phone", "Laptop · torch", "Tiny"),
                       (("Phone", "Phone"), ("Laptop · torch", "Laptop"), ("Tiny", "Tiny")),
                       loo, vs, 8, new, cov, imp, pool, advice, weak, gaps, ("Phone",),
                       ("Laptop",), ("Phone",), 2, (("Phone", 0.05),),
                       (("Laptop · torch", 0.008),), ())
    return replace(found, takeaway=prose.takeaway(found))


def test_golden_prose():
    f = _synthetic()
    text = "\n\n".join([prose.targets(), prose.loo_text(f.loo),
                        prose.versus_macs_text(f.versus_macs),
                        prose.new_device_text(f.new_device), prose.pool_text(f.pool),
                        prose.coverage_text(f.coverage), prose.importance_text(f.importance),
                        prose.shortfalls_text(f), prose.advice_text(f.advice),
                        prose.conclusion(f)])
    assert_golden("06_prediction", text)


def test_the_takeaway_opens_the_conclusion_in_at_most_three_sentences():
    f = _synthetic()
    assert prose.conclusion(f).startswith(f"**Takeaway.** {f.takeaway}")
    assert f.takeaway.count(". ") + 1 <= 3 and f.takeaway.endswith(".")
    assert "0 of" not in f.takeaway and "1 of 2 physical devices" in f.takeaway


def test_golden_prose_without_targets_or_new_device():
    tiny = F.DeviceLoo("Tiny", 9, 0.93, 8.0, 0.6, 0.78, "macs", 0.95, F.NO_TARGET)
    cov = (F.DeviceCoverage("Tiny", 0.78, 0.56, 1.0, F.NOMINAL, None, np.nan, np.nan, np.nan,
                            ""),)
    small = F.Findings((tiny.device,), (("Tiny", "Tiny"),), (tiny,), (), None, (), cov, (),
                       None, None, (), (), (), (), (), 0, (), (), ())
    small = replace(small, takeaway=prose.takeaway(small))
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
    assert "ρ ≥ 0.85 on every series of 1 of 2 physical devices with ≥ 12 models" in conclusion
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
    ({"WITHOUT_REFERENCE": "NVIDIA H20"}, "did you mean 'NVIDIA H200'"),
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


def test_coverage_and_reference_pool_tables(quick):
    res = quick / "results"
    cov = pd.read_csv(res / "prediction_coverage.csv", dtype={"k": str})
    loo = pd.read_csv(res / "prediction_loo.csv")
    sel = loo[loo["predictor"] == C.SELECTED].set_index("device")["coverage90"]
    per_device = cov[cov["k"] == C.LOO_K].set_index("device")["coverage90"]
    assert per_device.to_dict() == pytest.approx(sel.to_dict())  # one row per device
    nd = pd.read_csv(res / "prediction_new_device.csv")
    pred = nd[nd["method"] == C.PREDICTOR].set_index(["device", "k"])["coverage90"]
    for _, r in cov[cov["k"] != C.LOO_K].iterrows():
        assert r["coverage90"] == pytest.approx(pred[(r["device"], int(r["k"]))])
    pool = pd.read_csv(res / "prediction_reference_pool.csv")
    assert set(pool["without"]) == {"NVIDIA H200"}
    assert set(pool["device"]) == set(nd["device"])  # neither quick device is the H200
    with_ = nd[nd["method"] == C.PREDICTOR].set_index(["device", "k"])["rho_median"]
    for _, r in pool.iterrows():
        assert r["rho_median_with"] == pytest.approx(with_[(r["device"], r["k"])])


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
    assert found["loo_met"] == met  # one series per physical device in the quick run
    assert summary["conclusion"].startswith("**Takeaway.** " + found["takeaway"])
    assert found["k"] == max(quick_parameters(STEM)["K_CALIBRATION"])
    assert all(len(sha) == 64 for sha in summary["inputs"].values())


def test_the_readme_advice_is_the_committed_notebooks():
    """The README's results section prints notebook 06's generated takeaway (its recommended
    k among it), and the "Predict the rest" advice types no number of models."""
    from analysis import paths, readme_results

    summary = json.loads((paths.NOTEBOOK_OUTPUTS / STEM / "summary.json").read_text())
    advice = summary["findings"]["advice"]
    assert f"Measure at least {advice['k']} zoo models" in summary["findings"]["takeaway"]
    readme = (paths.ROOT / "README.md").read_text(encoding="utf-8")
    line = next(x for x in readme_results.notebook_lines() if f"[{STEM[:2]} ·" in x)
    assert summary["findings"]["takeaway"] in line and line in readme
    predict = " ".join(readme.split("**6. Predict the rest from a few measurements.**", 1)[1]
                       .split())[:600]
    assert "Predicting a new device" in predict
    assert not any(ch.isdigit() for ch in predict.split("Fill in the template")[0]
                   .replace("notebook 06", "").replace("3 or more", ""))
