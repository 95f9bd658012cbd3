"""Notebook 07 run once by papermill with its quick profile: it writes what ``run(params)``
writes in-process, and what it writes holds up against scipy and numpy on the same rows."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from analysis.complexity import profile_model
from analysis.latency import h200_campaign_file, load_latency
from analysis.studies import regimes as study
from hygiene import assert_study_written, quick_notebook_run

STEM = study.NOTEBOOK
TABLES = ("correlations", "versus_macs", "best_metrics", "metric_gap", "metric_gap_changes",
          "regime_differences", "launch_overhead", "overhead_points", "ablation_ratios",
          "ablation_duplicates", "device_agreement", "closest_regime", "session_noise",
          "session_rhos")


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return quick_notebook_run(STEM, tmp_path_factory)


def test_the_notebook_is_run(quick):
    assert_study_written(STEM, quick, TABLES, figures={
        "regimes_spearman_by_metric", "regimes_latency_vs_macs_operators",
        "regimes_launch_overhead_per_operator", "regimes_ablation_slowdowns",
        "regimes_paper_devices"})


def test_rho_equals_scipy_on_the_same_rows(quick):
    corr = pd.read_csv(quick / "results" / "correlations.csv")
    latency = load_latency(h200_campaign_file())  # each session's minimum, median over sessions
    counts = {m: profile_model(m) for m in latency["model_id"].unique()
              if not m.startswith("ablation")}
    for regime, metric in (("eager fp32", "operators"), ("graph fp32", "macs"),
                           ("graph fp16", "memory_bytes")):
        rows = latency[(latency["regime"] == regime) & latency["model_id"].str.match(
            r"^(?!ablation)")]
        cost = [getattr(counts[m], metric) for m in rows["model_id"]]
        want = sps.spearmanr(cost, rows["latency_ms"]).statistic
        got = corr[(corr["statistic"] == "min") & (corr["regime"] == regime)
                   & (corr["metric"] == metric)].iloc[0]
        assert got["n"] == len(rows) == 30
        assert got["rho"] == pytest.approx(want, rel=1e-9)
        assert got["ci_low"] < got["rho"] < got["ci_high"]


def test_the_slope_equals_numpy_lstsq_on_the_same_rows(quick):
    points = pd.read_csv(quick / "results" / "overhead_points.csv")
    fits = pd.read_csv(quick / "results" / "launch_overhead.csv")
    fits = fits[fits["statistic"] == "min"].set_index("precision")
    for precision, rows in points.groupby("precision"):
        design = np.column_stack([rows["operators"], np.ones(len(rows))])
        (slope, intercept), *_ = np.linalg.lstsq(design, rows["overhead_ms"], rcond=None)
        assert fits.loc[precision, "us_per_operator"] == pytest.approx(1e3 * slope, rel=1e-9)
        assert fits.loc[precision, "intercept_ms"] == pytest.approx(intercept, rel=1e-9)
        assert fits.loc[precision, "n"] == len(rows)
    eager = load_latency(h200_campaign_file())
    fp32 = points[points["precision"] == "fp32"].set_index("model_id")
    e = eager[eager["regime"] == "eager fp32"].set_index("model_id")["latency_ms"]
    assert fp32["eager_ms"].to_numpy() == pytest.approx(e[fp32.index].to_numpy(), rel=1e-12)


def test_ablation_ratios_come_from_notebooks_02_and_03(quick):
    ratios = pd.read_csv(quick / "results" / "ablation_ratios.csv")
    gpu = ratios[ratios["device_kind"] == "GPU"]
    assert sorted(gpu["regime"].unique()) == ["eager fp16", "eager fp32", "graph fp16",
                                              "graph fp32"]
    bands = gpu.groupby("regime")["band"].first()
    assert bands["eager fp16"] > 5 * bands["graph fp16"]  # the band is per regime
    relu = gpu[gpu["model_id"] == "ablation_relu"]
    assert (relu["slowdown"] == 1).all() and set(relu["verdict"]) == {"reference"}
