"""Notebook 05 run once by papermill with its quick profile: it writes what ``run(params)``
writes in-process, and what it writes holds up against scipy and the quick parameters."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from scipy import stats as sps

from analysis.studies import population as study
from analysis.studies.params import quick_parameters
from hygiene import assert_run_matches_notebook, quick_notebook_run

STEM = study.NOTEBOOK


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return quick_notebook_run(STEM, tmp_path_factory)


def test_the_notebook_is_run(quick):
    assert_run_matches_notebook(STEM, quick)


def test_correlations_against_scipy_with_architectures_counted(quick):
    corr = pd.read_csv(quick / "results" / "population_correlations.csv")
    assert list(corr["population"].unique()) == list(study.POPULATIONS)
    assert list(corr["metric"].unique()) == list(study.METRICS)
    table = study.compute.load_population()  # the default LATENCY_CSV: the shipped timm file
    ref = sps.spearmanr(table["params"], table["latency_ms"])
    row = corr[(corr["population"] == "all") & (corr["metric"] == "params")].iloc[0]
    assert row["n"] == len(table) and row["n_architectures"] == table["architecture"].nunique()
    assert row["n_architectures"] < row["n"]  # rows repeat architectures: they are the unit
    assert row["rho"] == pytest.approx(ref.statistic, rel=1e-9)
    assert row["ci_low"] <= row["rho"] <= row["ci_high"]
    n_perm = quick_parameters(STEM)["N_PERMUTATIONS"]
    assert row["p_permutation"] == pytest.approx(1 / (n_perm + 1))  # at the floor
    fig2 = corr[(corr["population"] == "figure2") & (corr["metric"] == "macs")].iloc[0]
    assert fig2["n"] == fig2["n_architectures"] == sum(
        v is not None for v in study.compute.FIGURE2_TIMM.values())
    assert not (quick / "results" / "missing_counts.csv").exists()  # no gaps: no empty table


def test_subsets_figures_and_findings(quick):
    quick_params = quick_parameters(STEM)
    sub = pd.read_csv(quick / "results" / "subsample_rho.csv")
    points = pd.read_csv(quick / "results" / "reference_points.csv")
    assert set(quick_params["SUBSAMPLE_SIZES"]) | set(points["n"]) == set(sub["n"].unique())
    for _, g in sub.groupby("n"):
        assert g.sort_values("quantile")["rho"].is_monotonic_increasing
    assert points["share"].between(0, 1).all() and (points["subsets"] > 0).all()
    figures = {p.name for p in (quick / "figures").iterdir()}
    for stem in ("population_latency_vs_macs_params", "subsample_spearman_macs_by_study_size",
                 "population_spearman_by_population_and_metric"):
        assert {f"{stem}.png", f"{stem}.pdf"} <= figures
    summary = json.loads((quick / "results" / "summary.json").read_text())
    assert summary["parameters"]["N_SUBSAMPLES"] == quick_params["N_SUBSAMPLES"]
    found = summary["findings"]
    q = sub[sub["n"] == 21].set_index("quantile")["rho"]
    assert found["subsets"]["q05"] == pytest.approx(q[0.05], rel=1e-9)
    assert found["subsets"]["count"] == quick_params["N_SUBSAMPLES"]
    assert found["paper_models"]["n"] == 12 and found["paper_models"]["place"] in (
        "below", "inside", "above")
    assert set(found["unfused"]) == set(study.compute.FIGURE2_UNFUSED)
    assert found["family_difference"]["architectures_a"] > 8
    assert summary["conclusion"].startswith("**Takeaway.** " + found["takeaway"])
    assert all(not k.startswith("/") for k in summary["inputs"])  # repository-relative
