"""Notebook 08 run once by papermill with its quick profile: it writes what ``run(params)``
writes in-process, and what it writes holds up against numpy and scipy on the same rows."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from analysis.latency import load_latency
from analysis.latency.manifest import study_files
from analysis.models import list_models
from analysis.predict import cost_table
from analysis.studies import scaling as study
from hygiene import assert_study_written, quick_notebook_run

STEM = study.NOTEBOOK
TABLES = ("points", "counts", "count_scaling", "exponents", "correlations", "noise",
          "lite_vs_b", "ablation_context")
TORCH = "Intel Xeon Processor (2 vCPU, 1 thread) · torch"


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return quick_notebook_run(STEM, tmp_path_factory)


def _read(quick, name: str) -> pd.DataFrame:
    return pd.read_csv(quick / "results" / f"{name}.csv")


def test_the_notebook_is_run(quick):
    assert_study_written(STEM, quick, TABLES, figures={
        "scaling_latency_vs_macs", "scaling_exponents",
        "scaling_efficientnet_lite_vs_b", "scaling_counts_alpha_rho"})


def test_the_exponents_equal_numpy_and_scipy_on_the_same_rows(quick):
    points, ex = _read(quick, "points"), _read(quick, "exponents")
    assert len(ex) == 2 * (9 + 9 + 9)  # two statistics × three series × nine sweeps
    for r in ex.itertuples():
        rows = points[(points["statistic"] == r.statistic) & (points["series"] == r.series)
                      & (points["sweep"] == r.sweep)]
        x, y = np.log(rows["macs"].to_numpy(float)), np.log(rows["latency_ms"].to_numpy(float))
        assert r.n == len(rows)
        assert r.b == pytest.approx(np.polyfit(x, y, 1)[0], rel=1e-8)
        if r.n >= 3:
            ref = sps.linregress(x, y)
            assert r.b_se == pytest.approx(ref.stderr, rel=1e-8)
            assert r.rho == pytest.approx(sps.spearmanr(x, y).statistic, rel=1e-9)
            assert r.b_ci_low < r.b < r.b_ci_high
        if r.knob != "compound":
            m = np.log(rows["multiplier"].to_numpy(float))
            assert r.e == pytest.approx(np.polyfit(m, y, 1)[0], rel=1e-8)


def test_the_points_are_the_shipped_campaigns_latencies(quick):
    points = _read(quick, "points")
    latency = load_latency(study_files("mobilenet", kind="campaign"))
    torch = latency[(latency["runtime"] == "torch") & (latency["input_size"] == 160)]
    mine = points[(points["statistic"] == "min") & (points["series"] == TORCH)
                  & (points["input_size"] == 160)].drop_duplicates("model_id")
    want = torch.set_index("model_id")["latency_ms"]
    assert sorted(mine["model_id"]) == sorted(want.index)
    assert mine.set_index("model_id")["latency_ms"].to_numpy() == pytest.approx(
        want[mine["model_id"]].to_numpy(), rel=1e-9)


def test_the_across_family_rho_equals_scipy_on_the_same_rows(quick):
    corr = _read(quick, "correlations").set_index(["statistic", "series", "scope"])
    zoo = load_latency(study_files("zoo", kind="campaign"))
    rows = zoo[(zoo["device"] == "Intel Xeon Processor (2 vCPU, 1 thread)")
               & (zoo["runtime"] == "torch") & zoo["model_id"].isin(list_models("figure2"))]
    macs = cost_table(list(rows["model_id"]))["macs"]
    got = corr.loc[("min", TORCH, "across families")]
    assert got["n"] == len(rows) == 21
    assert got["rho"] == pytest.approx(sps.spearmanr(macs, rows["latency_ms"]).statistic,
                                       rel=1e-9)
    assert got["ci_low"] < got["rho"] < got["ci_high"]


def test_lite_over_b_is_the_ratio_of_the_points(quick):
    points, lite = _read(quick, "points"), _read(quick, "lite_vs_b")
    p = points[(points["statistic"] == "min") & (points["knob"] == "compound")]
    p = p.drop_duplicates(["series", "model_id"]).set_index(["series", "model_id"])
    for r in lite[lite["statistic"] == "min"].itertuples():
        lite_ms = p.loc[(r.series, f"efficientnet_lite{r.pair}"), "latency_ms"]
        b_ms = p.loc[(r.series, f"efficientnet_b{r.pair}"), "latency_ms"]
        assert r.ratio == pytest.approx(lite_ms / b_ms, rel=1e-9)
