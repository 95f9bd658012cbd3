"""Notebook 06 run by papermill with its quick parameters; assertions on the files it writes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from analysis import paths
from analysis import prediction_study as S
from analysis.reproduce import QUICK_PARAMETERS
from hygiene import quick_notebook_run

NOTEBOOK = paths.NOTEBOOKS / "06_latency_prediction.ipynb"


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return quick_notebook_run(NOTEBOOK.stem, tmp_path_factory)


def test_writes_both_csvs(quick):
    res = quick / "results"
    loo = pd.read_csv(res / "prediction_loo.csv")
    nd = pd.read_csv(res / "prediction_new_device.csv")
    assert {"device", "n", "predictor", "rho", "mdape", "within10", "coverage90"} <= set(loo)
    assert {"device", "k", "method", "rho_median", "rho_p10", "beats_both_share"} <= set(nd)
    assert set(nd["k"]) == set(QUICK_PARAMETERS[NOTEBOOK.stem]["K_CALIBRATION"])
    assert set(nd["method"]) == {S.PREDICTOR, S.MACS, S.SIMILAR}
    assert loo["n"].min() >= 20  # every shipped device has at least 20 zoo models
    assert "selected" in set(loo["predictor"])
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


def test_figures_and_summary(quick):
    for name in ("prediction_loo_predicted_vs_measured", "prediction_new_device_rho_vs_k",
                 "prediction_cost_importance"):
        for ext in ("png", "pdf"):
            assert (quick / "figures" / f"{name}.{ext}").stat().st_size > 0
    summary = json.loads((quick / "results" / "summary.json").read_text())
    assert summary["parameters"]["SEED"] == QUICK_PARAMETERS[NOTEBOOK.stem]["SEED"]
    assert len(summary["provenance"]["code_sha256"]) == 64
    assert "Leave-one-model-out" in summary["conclusion"]
    assert "median ρ is above both baselines' medians" not in summary["conclusion"]
