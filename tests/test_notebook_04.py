"""Notebook 04 run by papermill with its quick profile (S0, k ∈ {1, 4}, PyTorch eager, no Core
ML) on the shipped campaigns — nothing is measured — and the in-process ``run`` on the same
parameters; the numbers it writes are checked against the campaign files read with plain
pandas and numpy."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from hygiene import assert_run_matches_notebook, quick_notebook_run

from analysis import paths
from analysis.constants import NOISE_QUANTILE, TOL_FLOAT64
from analysis.studies import reparam as study
from analysis.studies.params import quick_parameters

STEM = study.NOTEBOOK
QUICK = quick_parameters(STEM)
#: Each campaign in its two sittings (sitting 2 in its own ``-s2`` file), read together.
FILES = {s: [paths.LATENCY_DATA / f"cpu-xeon-{s}-1t{x}.csv" for x in ("", "-s2")]
         for s in ("reparam", "sequential", "matmul")}


def _read(files) -> pd.DataFrame:
    return pd.concat([pd.read_csv(f, keep_default_na=False) for f in files], ignore_index=True)


@pytest.fixture(scope="module")
def nb04(tmp_path_factory):
    return quick_notebook_run(STEM, tmp_path_factory)


def _csv(folder, name):
    return pd.read_csv(folder / "results" / f"{name}.csv", keep_default_na=False)


def test_quick_profile_is_small_and_measures_nothing():
    assert QUICK["VARIANTS"] == ["S0"] and sorted(QUICK["K_VALUES"]) == [1, 4]
    assert QUICK["COREML_VARIANTS"] == [] and QUICK["EXACT_SIZE"] <= 32
    assert "MEASURE" not in QUICK and "LATENCY_CSV" not in QUICK  # the shipped campaigns


def test_notebook_and_in_process_run_write_the_same_files(nb04):
    assert_run_matches_notebook(STEM, nb04)


def _median_min(frame: pd.DataFrame, **where) -> float:
    mask = np.ones(len(frame), bool)
    for col, value in where.items():
        mask &= (frame[col].astype(str) == str(value)).to_numpy()
    return float(frame.loc[mask, "min_ms"].median())


def test_latencies_and_speedups_are_the_campaign_files(nb04):
    raw = _read(FILES["reparam"])
    train = _median_min(raw, model="MobileOne-S0", form="train", k=4, runtime="torch")
    fused = _median_min(raw, model="MobileOne-S0", form="fused", runtime="torch")
    sp = _csv(nb04, "speedups").iloc[0]
    assert (sp["train_ms"], sp["fused_ms"]) == pytest.approx((train, fused), rel=1e-9)
    assert sp["speedup"] == pytest.approx(train / fused, rel=1e-9)
    seq = _read(FILES["sequential"])
    ratio = _median_min(seq, model="MobileOne-S0", form="fused") / \
        _median_min(seq, model="MobileOne-S0", form="sequential")
    assert _csv(nb04, "sequential_overhead")["ratio_min"].iloc[0] == pytest.approx(ratio)
    mm = _read(FILES["matmul"])
    gflops = 2 * 2048 ** 3 / (mm["min_ms"].median() / 1e3) / 1e9
    assert _csv(nb04, "reference_throughput")["reference_gflops"].iloc[0] == \
        pytest.approx(gflops)


def test_the_torch_band_is_the_stated_rule_on_the_files(nb04):
    """Every pair of sessions of one network, |log ratio|, the 95th percentile — of the pairs
    within one sitting and of the pairs across the two, the larger."""
    within, between = [], []
    for files in FILES.values():
        raw = _read(files)
        raw = raw[raw["runtime"] == "torch"]
        for _, part in raw.groupby(["model", "form", "k"]):
            for (ca, a), (cb, b) in itertools.combinations(
                    zip(part["campaign"], part["min_ms"]), 2):
                (within if ca == cb else between).append(abs(np.log(a / b)))
    assert within and between
    expected = max(float(np.exp(np.quantile(v, NOISE_QUANTILE)) - 1) for v in (within, between))
    bands = _csv(nb04, "noise_bands").set_index("runtime")
    assert bands.loc["torch", "band"] == pytest.approx(expected)
    assert bands.loc["torch", "covers"] == "within and between sittings"
    summary = json.loads((nb04 / "results" / "summary.json").read_text())
    assert summary["findings"]["bands"][0]["band"] == pytest.approx(expected)


def test_what_is_written_does_not_depend_on_the_machine(nb04):
    ex = _csv(nb04, "exactness")
    assert list(ex.columns) == ["variant", "k", "exact_size", "tolerance_f64", "f64_exact",
                                "tolerance_f32", "blocks_f32_ok", "whole_f32_ok"]
    assert (ex["tolerance_f64"] == TOL_FLOAT64).all()
    assert ex["f64_exact"].astype(str).eq("True").all()
    summary = json.loads((nb04 / "results" / "summary.json").read_text())
    text = json.dumps(summary)
    assert "max_rel_diff" not in text and "runs/" not in text and "date" not in summary
    assert summary["notes"]["latencies"] == "this project's shipped campaigns"
    assert sorted(summary["inputs"]) == sorted(
        [paths.relative(p) for files in FILES.values() for p in files]
        + [paths.relative(paths.paper_table("table7_mobileone_spec"))])
    counts = _csv(nb04, "counts")
    assert counts["count_key"].str.len().gt(20).all()


def test_conclusion_opens_with_the_takeaway_and_figures_are_drawn(nb04):
    summary = json.loads((nb04 / "results" / "summary.json").read_text())
    f = summary["findings"]
    assert summary["conclusion"].startswith(f"**Takeaway.** {f['takeaway']}")
    assert "(undocumented)" not in json.dumps(summary["tables"])
    assert f["s0_verdict"] in ("met", "not met", "not decidable within noise")
    for name in study.FIGURES:
        assert (nb04 / "figures" / f"{name}.png").stat().st_size > 0
