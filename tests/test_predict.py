"""The latency predictor (analysis.predict), the evaluation of notebook 06
(analysis.studies.prediction.compute), its figures and the ``predict`` command, on synthetic
devices with known answers and on the shipped data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from analysis import paths, plots
from analysis import predict as P
from analysis.cli import main
from analysis.constants import MIN_MODELS_EVALUATED, TARGET_MEDIAN_RHO, TARGET_P10_RHO
from analysis.errors import ConfigError, DataFormatError
from analysis.latency import load_latency
from analysis.latency.manifest import study_files
from analysis.models import list_models
from analysis.studies.prediction import compute as C
from analysis.studies.prediction import cost_groups as G
from analysis.studies.prediction import figures as FIG


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
    s = C.scores(pred["predicted_ms"], measured)
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
        covered.append(np.mean((pred["low_ms"].to_numpy() <= m)
                               & (m <= pred["high_ms"].to_numpy())))
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


@pytest.mark.parametrize("n, p", [(30, 10), (5, 12), (3, 1), (20, 21), (8, 3), (12, 0)])
def test_closed_form_ridge_equals_sklearn(n, p):
    """The closed-form ridge (one SVD, hat-matrix leave-one-out) gives sklearn's RidgeCV: the
    same α, coefficients, intercept and leave-one-out squared errors at every α."""
    from sklearn.linear_model import RidgeCV

    rng = np.random.default_rng(n * 100 + p)
    x = rng.normal(size=(n, p)) * rng.uniform(0.1, 10, size=p)
    y = x @ rng.normal(size=p) + rng.normal(size=n)
    fit = P.ridge_cv(x, y)
    if p == 0:  # sklearn refuses a design without columns: the mean, α irrelevant
        assert fit.predict(np.zeros((2, 0))) == pytest.approx([y.mean()] * 2)
        return
    ref = RidgeCV(alphas=P.ALPHAS, store_cv_results=True).fit(x, y)
    assert fit.alpha == ref.alpha_
    assert fit.coef == pytest.approx(ref.coef_, rel=1e-7, abs=1e-10)
    assert fit.intercept == pytest.approx(ref.intercept_, rel=1e-7, abs=1e-10)
    assert fit.loo_mse == pytest.approx(ref.cv_results_.mean(axis=0), rel=1e-7)
    i = list(P.ALPHAS).index(ref.alpha_)
    assert np.abs(fit.loo_residuals) == pytest.approx(np.sqrt(ref.cv_results_[:, i]), rel=1e-6)


def test_ties_are_broken_the_same_way_on_every_machine():
    assert P.best_index([2.0, 1.0, 1.0 + 1e-12, 3.0]) == 2  # tied: the last (largest α)
    assert P.best_index([2.0, 1.0, 1.0 + 1e-12], prefer_last=False) == 1
    assert P.best_index([1.0, 1.0 + 1e-6]) == 0  # a real difference is not a tie


def test_choices_do_not_move_with_the_last_bits(feats):
    """Perturbing the latencies in the 13th digit changes no design or α."""
    x = feats.to_numpy()
    predictor = P.LatencyPredictor(feats)
    for seed in range(30):
        rng = np.random.default_rng(seed)
        y = pd.Series(x @ rng.normal(scale=0.3, size=x.shape[1])
                      + rng.normal(scale=0.2, size=len(x)), index=feats.index).iloc[:12]
        a = predictor.fit(y, intervals=False).describe()
        b = predictor.fit(y * (1 + 1e-13), intervals=False).describe()
        assert a == b


def test_features_standardized_and_fixed(feats):
    basis = P.scaling_ids()
    assert np.allclose(feats.loc[basis].mean(), 0, atol=1e-12)
    assert np.allclose(feats.loc[basis, list(P.COST_COLUMNS)].std(ddof=0), 1)
    assert set(P.FEATURE_SETS["costs"]) == set(feats.columns)


def test_growing_the_zoo_changes_no_feature():
    """The scaling depends only on the Table 9 models: with or without the rest of the zoo,
    every model keeps its features (round 1's 20 new models moved every prediction)."""
    costs = P.cost_table()
    few = costs.loc[P.scaling_ids()]
    assert len(costs) > len(few)
    pd.testing.assert_frame_equal(P.features(costs).loc[few.index], P.features(few))


# -- devices ------------------------------------------------------------------------------------

def test_reference_files_come_from_the_manifest():
    files = P.reference_files()
    assert files == sorted(study_files(content="zoo"), key=lambda p: p.name)
    assert all(f.suffix == ".csv" and f.name != "manifest.csv" for f in files)


def _tidy(rows):
    return pd.DataFrame(rows, columns=["model_id", "device", "runtime", "regime",
                                       "latency_ms", "file"])


def test_each_regime_is_a_device_on_the_same_hardware():
    rows = [(m, "GPU", "torch", r, ms, "g.csv") for r, f in (("eager", 1), ("graph", 2))
            for m, ms in (("a", 1.0 * f), ("b", 2.0 * f))]
    rows += [("a", "Phone", "coreml", None, 3.0, "p.csv"), (None, "Phone", "coreml", None, 9.0,
                                                            "p.csv")]
    series, groups = P.device_latencies(_tidy(rows))
    assert list(series) == ["GPU · eager", "GPU · graph", "Phone"]
    assert groups["GPU · eager"] == groups["GPU · graph"] == "GPU"
    assert np.exp(series["GPU · graph"]["b"]) == pytest.approx(4.0)
    assert list(series["Phone"].index) == ["a"]  # rows outside the zoo dropped


def test_series_of_one_machine_are_grouped_by_physical_device():
    """Two thread counts are two devices in the files but one machine (physical_device)."""
    rows = [(m, f"CPU ({t})", rt, "eager fp32", ms, "c.csv") for t in ("1t", "2t")
            for rt in ("torch", "onnxruntime") for m, ms in (("a", 1.0), ("b", 2.0))]
    table = _tidy(rows).assign(physical_device="CPU")
    series, groups = P.device_latencies(table)
    assert list(series) == ["CPU (1t) · torch", "CPU (1t) · onnxruntime", "CPU (2t) · torch",
                            "CPU (2t) · onnxruntime"]
    assert set(groups.values()) == {"CPU"}


def test_series_names_follow_notebook_01():
    from analysis.studies.correlation.compute import device_key

    rows = [(m, d, rt, rg, 1.0, "x.csv") for m in ("a", "b") for d, rt, rg in
            (("GPU", "torch", "eager fp32"), ("GPU", "torch", "graph fp16"),
             ("CPU", "torch", "eager fp32"), ("CPU", "onnxruntime", "eager fp32"),
             ("Phone", "coreml", None))]
    table = _tidy(rows)
    assert list(P.series_names(table)) == list(device_key(table))


def test_a_model_twice_on_one_device_is_refused():
    rows = [("a", "GPU", "torch", None, 1.0, "g.csv"), ("a", "GPU", "torch", None, 1.2, "g.csv")]
    with pytest.raises(DataFormatError, match="GPU: model a has several latencies"):
        P.device_latencies(_tidy(rows))


# -- evaluation on shipped data ---------------------------------------------------------------

@pytest.fixture(scope="module")
def shipped(feats):
    files = [paths.LATENCY_DATA / "paper-iphone12-coreml.csv",
             paths.LATENCY_DATA / "paper-rtx2080ti-tensorrt.csv"]
    series, groups = P.device_latencies(load_latency(files))
    costs = P.cost_table()
    loo, preds = C.leave_one_out(series, groups, feats, feature_sets=("macs_family",))
    preds = C.with_models(preds, costs)
    nd, hits = C.new_device(series, groups, feats, costs, ks=(3, 5), n_splits=2,
                            n_simulations=1, feature_sets=("macs_family",))
    return loo, preds, nd, G.importance(series, feats, n_bootstrap=200), hits


def test_leave_one_out_scores_match_predictions(shipped):
    loo, preds, _, _, _ = shipped
    for (device, predictor), g in preds.groupby(["device", "predictor"]):
        row = loo[(loo["device"] == device) & (loo["predictor"] == predictor)].iloc[0]
        assert row["rho"] == pytest.approx(sps.spearmanr(g["predicted_ms"], g["latency_ms"])[0])
        assert row["n"] == len(g)


def test_new_device_baselines(shipped):
    _, _, nd, _, _ = shipped
    assert set(nd["method"]) == {C.PREDICTOR, C.MACS, C.SIMILAR}
    macs = nd[(nd["method"] == C.MACS) & (nd["device"].str.startswith("NVIDIA"))]
    # ranking by MACs does not depend on the calibration: the same ρ in every split and k
    assert macs["rho"].nunique() == 1 or np.ptp(macs["n_evaluated"]) > 0
    summary = C.summarize_new_device(nd)
    assert summary["beats_both_share"].dropna().between(0, 1).all()


def test_loo_vs_macs_delta_is_the_difference_of_rhos(shipped):
    _, preds, _, _, _ = shipped
    table = C.loo_vs_macs(preds, P.cost_table(), n_bootstrap=300, predictor="macs_family")
    assert np.allclose(table["delta_rho"], table["rho_predictor"] - table["rho_macs"])
    assert (table["ci_low"] <= table["ci_high"]).all()


def test_calibration_draws_depend_only_on_the_seed_and_the_device(feats, shipped):
    """The same k models are drawn whatever the reference pool or the other devices, so the
    both-ways comparison is paired draw by draw."""
    hits = shipped[4]
    files = [paths.LATENCY_DATA / "paper-iphone12-coreml.csv"]
    series, groups = P.device_latencies(load_latency(files))
    _, alone = C.new_device(series, groups, feats, P.cost_table(), ks=(3, 5), n_splits=2,
                            n_simulations=1, feature_sets=("macs_family",), baselines=False)
    both = hits[hits["device"] == "iPhone 12"].reset_index(drop=True)
    assert both["held_out"].tolist() == alone["held_out"].tolist()


def test_pool_comparison_pairs_draws():
    rows = [{"device": "D", "k": 3, "split": s, "method": C.PREDICTOR, "rho": r,
             "coverage90": 0.9} for s, r in enumerate([0.5, 0.6, 0.7])]
    with_ = pd.DataFrame(rows)
    without = with_.assign(rho=[0.4, 0.6, 0.9])
    (row,) = C.pool_comparison(with_, without, "X").to_dict("records")
    assert row["paired_delta"] == pytest.approx(0.0)  # differences +0.1, 0, −0.2
    assert (row["improved_share"], row["worsened_share"]) == (pytest.approx(1 / 3),
                                                              pytest.approx(1 / 3))
    assert row["without"] == "X" and row["n_splits"] == 3


def test_coverage_is_computed_per_device():
    preds = pd.DataFrame({"device": ["A"] * 4 + ["B"] * 2, "predictor": C.SELECTED,
                          "latency_ms": [1.0] * 6, "low_ms": [0.5, 0.5, 2.0, 0.5, 0.5, 0.5],
                          "high_ms": [2.0] * 6})
    hits = pd.DataFrame({"device": ["A", "A", "B"], "k": 3, "model_id": ["m", "n", "m"],
                         "held_out": [4.0, 2.0, 3.0], "inside": [4.0, 0.0, 3.0]})
    table = C.coverage_table(preds, hits, n_bootstrap=500).set_index(["device", "k"])
    assert table.loc[("A", C.LOO_K), "coverage90"] == pytest.approx(0.75)
    assert table.loc[("B", C.LOO_K), "coverage90"] == pytest.approx(1.0)
    assert table.loc[("A", "3"), "coverage90"] == pytest.approx(4 / 6)  # pooled over draws
    assert table.loc[("B", "3"), ["ci_low", "ci_high"]].tolist() == [1.0, 1.0]
    assert (table["ci_low"] <= table["coverage90"]).all()
    assert (table["coverage90"] <= table["ci_high"]).all()


def test_importance_finds_the_group_that_drives_latency(feats):
    """A device whose latency is MACs plus noise needs the compute group out of sample, and
    no other group is shown to matter more than compute."""
    ids = P.scaling_ids()
    rng = np.random.default_rng(0)
    y = pd.Series(1.5 * feats.loc[ids, "macs"] + rng.normal(scale=0.1, size=len(ids)),
                  index=ids)
    table = G.importance({"D": y}, feats, n_bootstrap=500).set_index("group")
    assert table.loc["compute", "needed"] and table.loc["compute", "ratio"] > 2
    assert not table.drop(index="compute")["needed"].any()
    pairs = G.ordering(table.reset_index())["D"]
    assert pairs and all(a == "compute" for a, _ in pairs)


def test_importance_errors_are_held_out(feats):
    """Nested leave one out: each error equals a fit without that model."""
    ids = P.scaling_ids()[:12]
    x = feats.loc[ids, ["macs", "params"]].to_numpy()
    y = np.random.default_rng(1).normal(size=len(ids))
    errors = G.held_out_errors(y, x)
    fit = P.ridge_cv(x[1:], y[1:])
    assert errors[0] == pytest.approx(fit.predict(x[:1])[0] - y[0])


def _nd_splits(gaps, device="D", k=8):
    """Split table with the predictor ρ = 0.8 + gap and the better baseline at 0.8."""
    rows = []
    for split, gap in enumerate(gaps):
        base = {"device": device, "physical_device": device, "k": k, "split": split,
                "n_evaluated": 10, "mdape": 10.0, "within10": 0.5}
        rows += [{**base, "method": C.PREDICTOR, "rho": 0.8 + gap, "coverage90": 0.9},
                 {**base, "method": C.MACS, "rho": 0.8, "coverage90": np.nan},
                 {**base, "method": C.SIMILAR, "rho": 0.7, "coverage90": np.nan}]
    return pd.DataFrame(rows)


def test_paired_delta_is_the_median_over_splits_of_the_gap_to_the_better_baseline():
    summary = C.summarize_new_device(_nd_splits([0.1, 0.05, 0.08, -0.01, 0.2], "A"))
    pred = summary[summary["method"] == C.PREDICTOR].iloc[0]
    assert pred["paired_delta_median"] == pytest.approx(0.08)
    assert pred["beats_both_share"] == pytest.approx(0.8)
    assert pred["rho_median"] == pytest.approx(0.88)


def test_too_small_user_file_is_one_clear_error(tmp_path):
    cal = _calibration_file(tmp_path, slice(0, MIN_MODELS_EVALUATED - 1))
    with pytest.raises(ConfigError, match=f"at least {MIN_MODELS_EVALUATED}"):
        C.load_devices(cal)


# -- figures ------------------------------------------------------------------------------------

def test_figures_have_no_overlapping_text_and_readable_log_axes(shipped):
    loo, preds, nd, imp, _ = shipped
    figs = [FIG.predicted_vs_measured(preds, loo, predictor="macs_family"),
            FIG.new_device(C.summarize_new_device(nd)), FIG.importance(imp)]
    for fig in figs:
        assert plots.text_overlaps(fig) == []
    for ax in figs[0].axes:
        if ax.get_visible():
            for axis in (ax.xaxis, ax.yaxis):
                lo, hi = sorted(ax.get_xlim() if axis is ax.xaxis else ax.get_ylim())
                shown = [t for t in axis.get_majorticklocs() if lo <= t <= hi]
                assert len(shown) >= 3


def test_target_lines_are_the_constants_and_labelled(shipped):
    fig = FIG.new_device(C.summarize_new_device(shipped[2]))
    red = {round(line.get_ydata()[0], 12) for ax in fig.axes if ax.get_visible()
           for line in ax.get_lines() if line.get_color() == "#b2182b"}
    assert red == {TARGET_MEDIAN_RHO, TARGET_P10_RHO}
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert f"target: median ρ ≥ {TARGET_MEDIAN_RHO:g}" in labels
    assert f"target: 10th percentile ≥ {TARGET_P10_RHO:g}" in labels
    assert fig._suptitle is not None and fig._suptitle.get_text()


def test_method_lines_differ_in_style_not_only_in_grey():
    styles = {(s["ls"], s["marker"]) for s in FIG.METHOD_STYLES.values()}
    assert len(styles) == len(FIG.METHOD_STYLES)
    assert (FIG.WITHOUT_STYLE["ls"], FIG.WITHOUT_STYLE["mfc"]) not in {
        (s["ls"], s.get("mfc")) for s in FIG.METHOD_STYLES.values()}


def test_importance_figure_fills_only_needed_groups():
    rows = [{"device": "D", "n": 20, "group": g, "costs": "", "rmse_all": 0.2,
             "rmse_without": 0.2 * r, "ratio": r, "ratio_low": lo, "ratio_high": hi,
             "needed": lo > 1} for g, r, lo, hi in (("compute", 1.6, 1.2, 2.1),
                                                    ("memory", 1.0, 0.8, 1.3))]
    fig = FIG.importance(pd.DataFrame(rows))
    ax = fig.axes[0]
    points = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert [line.get_markerfacecolor() != "white" for line in points] == [True, False]
    assert any(line.get_xdata()[0] == 1.0 for line in ax.get_lines()
               if len(set(line.get_xdata())) == 1)  # the reference line at 1
    assert plots.text_overlaps(fig) == []


def test_method_colours_are_black_and_greys():
    from matplotlib.colors import to_rgb

    palette = (set(plots.FAMILY_COLORS.values()) | set(plots.SERIES_COLORS.values())
               | set(plots.COST_COLORS.values()) | set(plots.DEVICE_COLORS)) - {"#000000"}
    for style in FIG.METHOD_STYLES.values():
        r, g, b = to_rgb(style["color"])
        assert r == g == b and style["color"] not in palette


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
