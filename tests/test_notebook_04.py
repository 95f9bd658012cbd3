"""Notebook 04 run by papermill with its quick parameters (S0, k ∈ {1, 4}, 64 px, few runs);
assertions on the files it writes."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from analysis import paths
from analysis import reparam_study as rs
from analysis.reproduce import QUICK_PARAMETERS, run_notebook
from reparam_closed_form import closed_form_macs

NB04 = paths.NOTEBOOKS / "04_mobileone_reparameterization.ipynb"
QUICK = QUICK_PARAMETERS["04_mobileone_reparameterization"]


@pytest.fixture(scope="module")
def nb04(tmp_path_factory):
    out = tmp_path_factory.mktemp("nb04")
    params = {**QUICK, "OUTPUT_DIR": str(out / "results"), "FIGURE_DIR": str(out / "figures")}
    run_notebook(NB04, out / "executed.ipynb", params)
    return out


def test_quick_parameters_are_small():
    assert QUICK["VARIANTS"] == ["S0"] and sorted(QUICK["K_VALUES"]) == [1, 4]
    assert QUICK["INPUT_SIZE"] <= 64 and QUICK["N_RUNS"] <= 5


def test_reparam_csv_is_exact_and_counts_match_the_closed_form(nb04):
    t = pd.read_csv(nb04 / "results" / "reparam.csv")
    size = QUICK["INPUT_SIZE"]
    assert sorted(set(zip(t["k"], t["form"]))) == [(1, "fused"), (1, "train"), (4, "fused"), (4, "train")]
    assert set(t["runtime"]) == set(QUICK["RUNTIMES"])
    assert (t["max_rel_diff_f64"] <= rs.TOL_FLOAT64).all()
    assert (t["max_block_rel_diff_f32"] <= rs.TOL_BLOCK_FLOAT32).all()
    for _, r in t.iterrows():
        assert r["macs"] == closed_form_macs("s0", int(r["k"]), size, fused=r["form"] == "fused")
    fused = t[t["form"] == "fused"]
    assert fused["macs"].nunique() == 1 and fused["params"].nunique() == 1  # flat in k
    assert fused["operators"].nunique() == 1
    train = t[t["form"] == "train"].sort_values("k")
    assert train["macs"].is_monotonic_increasing and train["operators"].is_monotonic_increasing
    assert t.loc[t["official_k"], "k"].unique().tolist() == [4]
    # the speed-up column is recomputed from the written milliseconds
    for (k, runtime), part in t.groupby(["k", "runtime"]):
        p = part.set_index("form")
        assert p.loc["fused", "speedup_vs_train"] == pytest.approx(
            p.loc["train", "min_ms"] / p.loc["fused", "min_ms"])
    assert (t["min_ms"] > 0).all() and (t["min_ms"] <= t["median_ms"]).all()


def test_sizes_table7_sequential_and_ceiling(nb04):
    res = nb04 / "results"
    sizes = pd.read_csv(res / "sizes.csv").iloc[0]
    assert sizes["params_fused_m"] == pytest.approx(2.078504)  # the model tests' S0 (2.0785 M)
    assert sizes["params_train_m"] > sizes["params_fused_m"]
    assert pd.isna(sizes["macs_published_m"])  # 64 px: the 224-px paper value is not compared
    t7 = pd.read_csv(res / "table7_check.csv", keep_default_na=False)
    assert (t7["variant"] == "S0").all() and (t7["differs"] == "").all()
    seq = pd.read_csv(res / "sequential_overhead.csv")
    assert seq["identical_output"].all()
    assert (seq["fused_operators"] == seq["sequential_operators"]).all()
    ceil = pd.read_csv(res / "ceiling_fraction.csv")
    summary = json.loads((res / "summary.json").read_text())
    c = summary["ceiling"]
    assert c["flop"] == 2 * 2048 ** 3 and c["gflops"] == pytest.approx(c["flop"] / c["min_s"] / 1e9)
    assert ceil["fraction_of_ceiling"].iloc[0] == pytest.approx(
        2 * ceil["macs"].iloc[0] / (ceil["min_ms"].iloc[0] / 1e3) / 1e9 / c["gflops"])
    assert summary["conclusion"].startswith("- **Table 7:**")
    assert "Fusion is exact" in summary["conclusion"]
    # the fused network is identical for every k: its spread is the noise, never "above" it
    assert "is the run-to-run noise of this measurement" in summary["conclusion"]
    assert "above the ±5% noise band" not in summary["conclusion"]
    assert len(summary["provenance"]["code_sha256"]) == 64
    for name in ("reparam_fused_vs_train_latency", "reparam_s0_k_sweep",
                 "reparam_fused_vs_plain_sequential", "reparam_fraction_of_matmul_ceiling"):
        assert (nb04 / "figures" / f"{name}.png").stat().st_size > 0
