"""Notebook 05 run once by papermill with its quick parameters; assertions on what it writes."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from scipy import stats as sps

from analysis import paths
from analysis import population_study as ps
from analysis.reproduce import QUICK_PARAMETERS
from hygiene import quick_notebook_run

NOTEBOOK = paths.NOTEBOOKS / "05_population_study.ipynb"


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return quick_notebook_run(NOTEBOOK.stem, tmp_path_factory)


def test_population_correlations_csv_and_scipy(quick):
    corr = pd.read_csv(quick / "results" / "population_correlations.csv")
    assert list(corr.columns[:8]) == ["population", "metric", "rho", "p_value", "ci_low",
                                      "ci_high", "kendall_tau", "n"]
    assert set(corr["population"]) == set(ps.POPULATIONS)
    assert set(corr["metric"]) == set(ps.METRICS)
    table = ps.load_population()  # the default LATENCY_CSV: the shipped timm file
    ok = table[["params", "latency_ms"]].dropna()
    ref = sps.spearmanr(ok["params"], ok["latency_ms"])
    row = corr[(corr["population"] == "all") & (corr["metric"] == "params")].iloc[0]
    assert row["n"] == len(ok) == len(table)
    assert row["rho"] == pytest.approx(ref.statistic, abs=1e-12)
    assert row["ci_low"] <= row["rho"] <= row["ci_high"]
    fig2 = corr[(corr["population"] == "figure2") & (corr["metric"] == "macs")].iloc[0]
    assert fig2["n"] == sum(v is not None for v in ps.FIGURE2_TIMM.values())


def test_subsample_csv_figures_and_summary(quick):
    sub = pd.read_csv(quick / "results" / "subsample_rho.csv")
    assert list(sub.columns) == ["n", "quantile", "rho"]
    sizes = QUICK_PARAMETERS[NOTEBOOK.stem]["SUBSAMPLE_SIZES"]
    assert sorted(sub["n"].unique()) == sorted(sizes)
    assert set(sub["quantile"]) == set(ps.QUANTILES)
    for _, g in sub.groupby("n"):
        assert g.sort_values("quantile")["rho"].is_monotonic_increasing
    figures = {p.name for p in (quick / "figures").iterdir()}
    for stem in ("population_latency_vs_macs_params", "subsample_spearman_macs_by_study_size",
                 "population_spearman_by_population_and_metric"):
        assert {f"{stem}.png", f"{stem}.pdf"} <= figures
    summary = json.loads((quick / "results" / "summary.json").read_text())
    assert summary["parameters"]["N_SUBSAMPLES"] == QUICK_PARAMETERS[NOTEBOOK.stem]["N_SUBSAMPLES"]
    assert len(summary["provenance"]["code_sha256"]) == 64
    q = sub[(sub["n"] == 21)].set_index("quantile")["rho"]
    assert f"ranges from {q[0.05]:.2f} to {q[0.95]:.2f} (5–95 %)" in summary["conclusion"]
    assert "MobileOne-S0 (mobileone_s0 in timm is the unfused train-time form" in summary["conclusion"]
    assert "ρ_conv − ρ_transformer" in summary["conclusion"] and "intervals overlap" not in summary["conclusion"]
    assert "/" not in summary["latency_csv"][:1]  # repository-relative, no machine path
