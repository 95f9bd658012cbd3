"""The latency predictor (analysis.predict), its evaluation (analysis.prediction_study), its
figures and the ``predict`` command, on synthetic devices with known answers and on the
shipped data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from analysis import paths, plots
from analysis import plots_prediction as pp
from analysis import predict as P
from analysis import prediction_study as S
from analysis import report_prediction as R
from analysis.cli import main
from analysis.latency import load_latency


@pytest.fixture(scope="module")
def feats():
    return P.features(P.cost_table())


def _split(n, n_cal, rng):
    order = rng.permutation(n)
    return order[:n_cal], order[n_cal:]


# -- synthetic devices ---------------------------------------------------------------------------

def test_exact_function_of_costs_is_recovered(feats):
    x = feats.to_numpy()
    beta = np.zeros(x.shape[1])
    beta[[0, 4, 8]] = [0.5, 0.3, 0.4]  # MACs, memory traffic, transformer
    y = pd.Series(x @ beta + 1.0, index=feats.index)
    cal, rest = _split(len(y), 20, np.random.default_rng(0))
    pred = P.LatencyPredictor(feats).fit(y.iloc[cal]).predict(y.index[rest])
    measured = np.exp(y.iloc[rest].to_numpy())
    s = S.scores(pred["predicted_ms"], measured)
    assert s["rho"] > 0.999
    assert s["mdape"] < 0.5 and s["within10"] == 1.0


def test_pure_noise_devices_rank_at_chance(feats):
    predictor = P.LatencyPredictor(feats)
    rhos = []
    for seed in range(50):
        rng = np.random.default_rng(seed)
        y = pd.Series(rng.normal(size=len(feats)), index=feats.index)
        cal, rest = _split(len(y), 20, rng)
        predictor.fit(y.iloc[cal], intervals=False)
        rhos.append(sps.spearmanr(predictor.predict_log(y.index[rest]), y.iloc[rest])[0])
    assert abs(np.mean(rhos)) <= 0.1


def test_interval_coverage_on_synthetic_devices(feats):
    predictor = P.LatencyPredictor(feats)
    x = feats.to_numpy()
    covered = []
    for seed in range(200):
        rng = np.random.default_rng(1000 + seed)
        y = pd.Series(x @ rng.normal(scale=0.3, size=x.shape[1])
                      + rng.normal(scale=0.2, size=len(x)), index=feats.index)
        cal, rest = _split(len(y), 25, rng)
        pred = predictor.fit(y.iloc[cal]).predict(y.index[rest])
        m = np.exp(y.iloc[rest].to_numpy())
        covered.append(np.mean((pred["low_ms"].to_numpy() <= m) & (m <= pred["high_ms"].to_numpy())))
    assert 0.85 <= np.mean(covered) <= 0.95


def test_reference_prior_carries_a_copied_device(feats):
    """A new device that is a reference device 3× slower is ranked from 3 models."""
    rng = np.random.default_rng(5)
    ref = pd.Series(feats.to_numpy() @ rng.normal(size=feats.shape[1]), index=feats.index)
    new = ref + math.log(3)
    predictor = P.LatencyPredictor(feats, {"ref": ref}, {"ref": "ref device"},
                                   n_simulations=2)
    cal, rest = _split(len(new), 3, rng)
    pred = predictor.fit(new.iloc[cal]).predict(new.index[rest])
    assert sps.spearmanr(pred["predicted_ms"], np.exp(new.iloc[rest]))[0] > 0.99
    assert predictor.candidate_[1]  # the prior design was chosen


def test_conformal_halfwidth_rank_and_fallback():
    r = np.arange(1, 20)  # m = 19: rank ceil(0.9 * 20) = 18
    assert P.conformal_halfwidth(r) == 18
    small = np.array([1.0, 2.0])  # rank 3 > m: Student t on the RMS
    assert P.conformal_halfwidth(small) == pytest.approx(
        sps.t.ppf(0.95, df=1) * math.sqrt(2.5))


def test_features_standardized_and_fixed(feats):
    assert np.allclose(feats.mean(), 0, atol=1e-12)
    assert set(P.FEATURE_SETS["costs"]) == set(feats.columns)


# -- evaluation on shipped data ---------------------------------------------------------------

@pytest.fixture(scope="module")
def shipped(feats):
    files = [paths.LATENCY_DATA / "paper-iphone12-coreml.csv",
             paths.LATENCY_DATA / "paper-rtx2080ti-tensorrt.csv"]
    series, groups = P.device_latencies(load_latency(files))
    costs = P.cost_table()
    loo, preds = S.leave_one_out(series, groups, feats, feature_sets=("macs_family",))
    preds["family"] = costs.loc[preds["model_id"], "family"].to_numpy()
    nd = S.new_device(series, groups, feats, costs, ks=(3, 5), n_splits=2, n_simulations=1,
                      feature_sets=("macs_family",))
    return loo, preds, nd, S.importance(series, feats, n_repeats=2)


def test_leave_one_out_scores_match_predictions(shipped):
    loo, preds, _, _ = shipped
    for (device, predictor), g in preds.groupby(["device", "predictor"]):
        row = loo[(loo["device"] == device) & (loo["predictor"] == predictor)].iloc[0]
        assert row["rho"] == pytest.approx(sps.spearmanr(g["predicted_ms"], g["latency_ms"])[0])
        assert row["n"] == len(g)


def test_new_device_baselines(shipped):
    _, _, nd, _ = shipped
    assert set(nd["method"]) == {S.PREDICTOR, S.MACS, S.SIMILAR}
    macs = nd[(nd["method"] == S.MACS) & (nd["device"].str.startswith("NVIDIA"))]
    # ranking by MACs does not depend on the calibration: the same ρ in every split and k
    assert macs["rho"].nunique() == 1 or np.ptp(macs["n_evaluated"]) > 0
    summary = S.summarize_new_device(nd)
    assert summary["beats_both_share"].dropna().between(0, 1).all()


def test_figures_have_no_overlapping_text_and_readable_log_axes(shipped):
    loo, preds, nd, imp = shipped
    figs = [pp.plot_predicted_vs_measured(preds, loo, predictor="macs_family"),
            pp.plot_new_device(S.summarize_new_device(nd)),
            pp.plot_importance(imp, labels=P.FEATURE_LABELS)]
    for fig in figs:
        assert plots.text_overlaps(fig) == []
    for ax in figs[0].axes:
        if ax.get_visible():
            for axis in (ax.xaxis, ax.yaxis):
                lo, hi = sorted(ax.get_xlim() if axis is ax.xaxis else ax.get_ylim())
                shown = [t for t in axis.get_majorticklocs() if lo <= t <= hi]
                assert len(shown) >= 3


# -- generated prose ---------------------------------------------------------------------------

def _loo_row(device, rho, n=25, predictor="selected"):
    return {"device": device, "n": n, "predictor": predictor, "rho": rho, "mdape": 12.0,
            "within10": 0.4, "coverage90": 0.9}


def test_loo_sentences_follow_targets():
    loo = pd.DataFrame([_loo_row("A", 0.95), _loo_row("A", 0.5, predictor="macs"),
                        _loo_row("B", 0.85), _loo_row("B", 0.8, predictor="macs"),
                        _loo_row("C", 0.99, n=8), _loo_row("C", 0.9, n=8, predictor="macs")])
    a, b, c = R.loo_sentences(loo)
    assert "meets the target" in a and "misses" in b and "no target" in c


def test_importance_sentence_direction():
    rows = [{"device": "D", "feature": f, "share": s, "importance": s, "coefficient": 1.0}
            for f, s in [("macs", 0.7), ("memory_bytes", 0.2), ("operators", 0.1)]]
    (text,) = R.importance_sentences(pd.DataFrame(rows))
    assert "MACs and parameters outweigh" in text
    rows[0]["share"], rows[1]["share"] = 0.1, 0.8
    (text,) = R.importance_sentences(pd.DataFrame(rows))
    assert "the paper names outweigh MACs" in text


def test_new_device_sentence_never_claims_unmet_target():
    rows = [{"device": "D", "k": 8, "method": S.PREDICTOR, "n_splits": 10, "rho_median": 0.95,
             "rho_p10": 0.6, "mdape_median": 20.0, "within10_median": 0.3, "coverage90": 0.9,
             "beats_both_share": 0.9},
            {"device": "D", "k": 8, "method": S.MACS, "n_splits": 10, "rho_median": 0.5,
             "rho_p10": 0.4, "mdape_median": 50.0, "within10_median": 0.1,
             "coverage90": np.nan, "beats_both_share": np.nan}]
    (text,) = R.new_device_sentences(pd.DataFrame(rows))
    assert "meets all" not in text and "10th percentile 0.60 < 0.7" in text
    assert "median ρ" not in text.split("misses")[1]


# -- the predict command -----------------------------------------------------------------------

def _calibration_file(tmp_path, rows: slice, name="cal.csv", rename=None):
    lines = (paths.LATENCY_DATA / "paper-iphone12-coreml.csv").read_text().splitlines()
    body = lines[1:][rows]
    if rename:
        body = [rename(line) for line in body]
    path = tmp_path / name
    path.write_text("\n".join([lines[0], *body]).replace("iPhone 12", "Test Phone") + "\n")
    return path


def test_predict_round_trip(tmp_path, capsys):
    cal = _calibration_file(tmp_path, slice(0, 5))
    out = tmp_path / "pred.csv"
    assert main(["predict", "--calibration", str(cal), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert list(table.columns) == P.PREDICTION_COLUMNS
    from analysis.models import list_models

    assert sorted(table["model_id"]) == sorted(list_models("table9"))
    given = load_latency(cal).set_index("model_id")["latency_ms"]
    measured = table[table["measured"]].set_index("model_id")
    assert sorted(measured.index) == sorted(given.index)
    assert np.allclose(measured["latency_ms"], given[measured.index])  # unchanged
    assert table.loc[~table["measured"], "latency_ms"].isna().all()
    assert ((table["low_ms"] < table["predicted_ms"])
            & (table["predicted_ms"] < table["high_ms"])).all()
    assert "5 measured, 25 predicted" in capsys.readouterr().out


@pytest.mark.parametrize("case, expected", [
    ("two", "need at least 3"),
    ("unknown", "unknown model"),
    ("no_costs", "no cost features"),
])
def test_predict_errors_are_one_line(tmp_path, capsys, case, expected):
    args = []
    if case == "two":
        cal = _calibration_file(tmp_path, slice(0, 2))
    elif case == "unknown":
        cal = _calibration_file(tmp_path, slice(0, 5))
        args = ["--models", "NotAModel-XL"]
    else:
        cal = _calibration_file(tmp_path, slice(0, 5),
                                rename=lambda l: l.replace("ConViT-tiny", "my-own-net", 1))
    assert main(["predict", "--calibration", str(cal), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    assert expected in err.lower() or expected in err


def test_loo_vs_macs_calls_better_only_when_interval_excludes_zero():
    base = {"n": 25, "rho_predictor": 0.9, "rho_macs": 0.5, "delta_rho": 0.4, "p_value": 0.01}
    rows = pd.DataFrame([{**base, "device": "A", "ci_low": 0.1, "ci_high": 0.7},
                         {**base, "device": "B", "ci_low": -0.1, "ci_high": 0.7},
                         {**base, "device": "C", "ci_low": np.nan, "ci_high": np.nan, "n": 6}])
    a, b, c = R.loo_vs_macs_sentences(rows)
    assert "better than MACs" in a
    assert "better" not in b and "cannot be told apart" in b
    assert "better" not in c and "too small" in c


def test_loo_vs_macs_delta_is_the_difference_of_rhos(shipped, feats):
    _, preds, _, _ = shipped
    table = S.loo_vs_macs(preds, P.cost_table(), n_bootstrap=300, predictor="macs_family")
    assert np.allclose(table["delta_rho"], table["rho_predictor"] - table["rho_macs"])
    assert (table["ci_low"] <= table["ci_high"]).all()


def test_importance_sentence_names_family_when_it_dominates():
    rows = [{"device": "D", "feature": f, "share": s, "importance": s, "coefficient": 1.0}
            for f, s in [("macs", 0.1), ("memory_bytes", 0.2), ("transformer", 0.7)]]
    (text,) = R.importance_sentences(pd.DataFrame(rows))
    assert "family indicator carries more" in text
    rows[2]["share"] = 0.25
    (text,) = R.importance_sentences(pd.DataFrame(rows))
    assert "family indicator carries more" not in text


def test_conclusion_small_devices_and_missing_k():
    loo = pd.DataFrame([_loo_row("A", 0.97, n=9), _loo_row("A", 0.5, n=9, predictor="macs")])
    summary = pd.DataFrame(columns=["device", "k", "method", "rho_median", "rho_p10",
                                    "beats_both_share", "coverage90"])
    text = R.conclusion(loo, summary, R.report_k(summary))
    assert "does not apply" in text and "reaches ρ ≥ 0.9" not in text
    assert "enough models for the new-device scenario" in text
    assert R.report_k(pd.DataFrame({"k": [3, 5]})) == 5
    assert R.report_k(pd.DataFrame({"k": [3, 8, 12]})) == S.TARGET_K


def test_too_small_user_file_is_one_clear_error(tmp_path):
    from analysis.errors import ConfigError

    cal = _calibration_file(tmp_path, slice(0, 5))
    with pytest.raises(ConfigError, match="at least 6"):
        S.load_devices(cal)


def _nd_splits(gaps, device="D", k=8):
    """Split table with the predictor ρ = 0.8 + gap and the better baseline at 0.8."""
    rows = []
    for split, gap in enumerate(gaps):
        base = {"device": device, "physical_device": device, "k": k, "split": split,
                "n_evaluated": 10, "mdape": 10.0, "within10": 0.5}
        rows += [{**base, "method": S.PREDICTOR, "rho": 0.8 + gap, "coverage90": 0.9},
                 {**base, "method": S.MACS, "rho": 0.8, "coverage90": np.nan},
                 {**base, "method": S.SIMILAR, "rho": 0.7, "coverage90": np.nan}]
    return pd.DataFrame(rows)


def test_paired_comparison_over_splits_does_not_count_near_ties():
    ahead = S.summarize_new_device(_nd_splits([0.1, 0.05, 0.08, -0.01, 0.2], "A"))
    tie = S.summarize_new_device(_nd_splits([0.01, -0.005, 0.015, 0.0, 0.01], "T"))
    behind = S.summarize_new_device(_nd_splits([-0.1, -0.05, 0.01, -0.2, -0.03], "B"))
    summary = pd.concat([ahead, tie, behind], ignore_index=True)
    pred = summary[summary["method"] == S.PREDICTOR].set_index("device")
    assert pred.loc["A", "paired_delta_median"] == pytest.approx(0.08)
    assert pred.loc["T", "paired_delta_median"] == pytest.approx(0.01)
    g = R.paired_split_groups(pred.reset_index())
    assert [d for d, _ in g["above"]] == ["A"] and [d for d, _ in g["tie"]] == ["T"]
    assert [d for d, _ in g["below"]] == ["B"]
    loo = pd.DataFrame([_loo_row("A", 0.95)])
    text = R.conclusion(loo, summary, 8)
    assert "ahead by more than 0.02 on 1 of 3 devices (A (+0.080))" in text
    assert "near ties within ±0.02, not counted as ahead: T (+0.010)" in text
    assert "descriptive" in text and "median ρ is above both" not in text


def test_missed_target_is_worded_as_the_failing_condition():
    rows = [{"device": "D", "k": 8, "method": S.PREDICTOR, "n_splits": 10, "rho_median": 0.95,
             "rho_p10": 0.8, "mdape_median": 20.0, "within10_median": 0.3, "coverage90": 0.9,
             "beats_both_share": 0.9}]
    (text,) = R.new_device_sentences(pd.DataFrame(rows))
    assert ("misses 1 of the 3 targets: above both baselines in only 90 % of the splits, "
            "not in every split") in text
    assert "(above both baselines in every split)" not in text


def test_importance_heat_map_units_are_percent():
    import matplotlib.pyplot as plt

    imp = pd.DataFrame({"device": ["D", "D"], "feature": ["macs", "memory_bytes"],
                        "share": [0.7, 0.3], "importance": [0.7, 0.3], "coefficient": [1.0, 1.0]})
    fig = pp.plot_importance(imp)
    try:
        image = fig.axes[0].images[0]
        assert image.get_clim() == (0, 100)
        assert "(%)" in fig.axes[1].get_ylabel()
        texts = {t.get_text() for t in fig.axes[0].texts}
        assert texts == {"70", "30"}
    finally:
        plt.close(fig)


def test_method_colours_are_black_and_greys():
    from matplotlib.colors import to_rgb

    from analysis import plots

    palette = (set(plots.FAMILY_COLORS.values()) | set(plots.SERIES_COLORS.values())
               | set(plots.COST_COLORS.values()) | set(plots.DEVICE_COLORS)) - {"#000000"}
    for style in pp.METHOD_STYLES.values():
        r, g, b = to_rgb(style["color"])
        assert r == g == b and style["color"] not in palette
