"""Notebook 04 run by papermill with its quick profile (S0, k ∈ {1, 4}, 64 px) on a timings
file in closed form (``TIMINGS_CSV``), so the papermill run and the in-process ``run`` see the
same latencies and every derived number is known in advance; assertions on what it writes."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from hygiene import assert_run_matches_notebook, quick_notebook_run
from reparam_closed_form import (MS_PER_MMAC, REFERENCE_GFLOPS, SEQUENTIAL_SHARE,
                                 closed_form_macs, closed_form_timings)

from analysis.constants import NOISE_BAND, TOL_BLOCK_FLOAT32, TOL_FLOAT64
from analysis.studies import reparam as study
from analysis.studies.params import quick_parameters
from analysis.studies.reparam.timing import read_timings

STEM = study.NOTEBOOK
QUICK = quick_parameters(STEM)


@pytest.fixture(scope="module")
def timings_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("timings04") / "timings.csv"
    closed_form_timings(study.parameters(**QUICK)).to_csv(path, index=False)
    return str(path)


@pytest.fixture(scope="module")
def nb04(tmp_path_factory, timings_csv):
    return quick_notebook_run(STEM, tmp_path_factory, TIMINGS_CSV=timings_csv)


def _csv(folder, name):
    return pd.read_csv(folder / "results" / f"{name}.csv", keep_default_na=False)


def test_quick_profile_is_small():
    assert QUICK["VARIANTS"] == ["S0"] and sorted(QUICK["K_VALUES"]) == [1, 4]
    assert QUICK["INPUT_SIZE"] <= 64 and QUICK["N_RUNS"] <= 5 and QUICK["MATMUL_SIZE"] <= 512
    assert QUICK["COREML_VARIANTS"] == []


def test_notebook_and_in_process_run_write_the_same_files(nb04, timings_csv):
    assert_run_matches_notebook(STEM, nb04, TIMINGS_CSV=timings_csv)


def test_counts_and_exactness(nb04):
    counts = _csv(nb04, "counts")
    size = QUICK["INPUT_SIZE"]
    assert sorted(zip(counts["k"], counts["form"])) == [(1, "fused"), (1, "train"),
                                                        (4, "fused"), (4, "train")]
    for _, r in counts.iterrows():
        assert r["macs"] == closed_form_macs("s0", int(r["k"]), size, fused=r["form"] == "fused")
    fused = counts[counts["form"] == "fused"]
    assert fused[["macs", "params", "operators"]].nunique().tolist() == [1, 1, 1]  # flat in k
    assert counts.loc[counts["official_k"].astype(str) == "True", "k"].unique().tolist() == [4]
    ex = _csv(nb04, "exactness")
    assert (ex["max_rel_diff_f64"] <= TOL_FLOAT64).all()
    assert (ex["max_block_rel_diff_f32"] <= TOL_BLOCK_FLOAT32).all()
    assert ex["max_rel_diff_f64"].tolist() == pytest.approx(
        (ex["max_abs_diff_f64"] / ex["output_scale_f64"]).tolist())
    sizes = _csv(nb04, "sizes").iloc[0]
    assert sizes["params_fused_m"] == pytest.approx(2.078504)  # the model tests' S0
    assert sizes["macs_published_m"] == ""  # 64 px: the paper's 224-px value is not compared
    t7 = _csv(nb04, "table7_check")
    assert (t7["variant"] == "S0").all() and (t7["differs"] == "").all()


def test_latencies_are_the_file_and_their_consequences_are_exact(nb04, timings_csv):
    written = read_timings(nb04 / "results" / "timings.csv")
    given = read_timings(timings_csv)
    cols = ["experiment", "variant", "k", "form", "runtime"]
    pd.testing.assert_frame_equal(written.sort_values(cols).reset_index(drop=True),
                                  given.sort_values(cols).reset_index(drop=True), rtol=1e-9)
    f = json.loads((nb04 / "results" / "summary.json").read_text())["findings"]
    size = QUICK["INPUT_SIZE"]
    ratio = closed_form_macs("s0", 4, size, False) / closed_form_macs("s0", 4, size, True)
    assert f["s0_speedup"] == pytest.approx(ratio) and f["s0_target_met"] == (ratio >= 3)
    assert f["noise_band"] == NOISE_BAND  # the fused network's latency is flat in k
    assert f["speedups"][0]["verdict"] == "faster"
    assert f["sequential"][0]["ratio_min"] == pytest.approx(1 / SEQUENTIAL_SHARE)
    assert f["sequential"][0]["identical_output"] is True
    assert f["reference"]["gflops"] == pytest.approx(REFERENCE_GFLOPS)
    share = _csv(nb04, "reference_throughput")["share_of_reference"].iloc[0]
    fused_ms = closed_form_macs("s0", 4, size, True) / 1e6 * MS_PER_MMAC["torch"]
    gflops = 2 * closed_form_macs("s0", 4, size, True) / (fused_ms / 1e3) / 1e9
    assert share == pytest.approx(gflops / REFERENCE_GFLOPS)
    reparam = _csv(nb04, "reparam")
    for (k, runtime), part in reparam.groupby(["k", "runtime"]):
        p = part.set_index("form")
        assert p.loc["fused", "speedup_vs_train"] == pytest.approx(
            p.loc["train", "min_ms"] / p.loc["fused", "min_ms"])


def test_summary_and_figures(nb04):
    summary = json.loads((nb04 / "results" / "summary.json").read_text())
    assert summary["study"] == STEM and summary["notes"]["latencies"] == "read from TIMINGS_CSV"
    assert "(undocumented)" not in json.dumps(summary["tables"])
    assert summary["findings"]["table7_differences"] == []
    for name in study.FIGURES:
        assert (nb04 / "figures" / f"{name}.png").stat().st_size > 0
