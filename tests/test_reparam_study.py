"""analysis.studies.reparam (notebook 04): parameters, Table 7, exactness, counts (and their
committed reuse), the campaigns (reading, checks, live measurement into the run folder), the
noise model's verdicts on synthetic campaigns with a known spread, the prose (golden), Core ML,
the figures."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch
from hygiene import assert_golden
from reparam_closed_form import (DEVICE, MEDIAN_FACTOR, REFERENCE_GFLOPS, closed_form_band,
                                 closed_form_campaigns, closed_form_macs)

from analysis import noise, paths, plots
from analysis.constants import (TARGET_S0_SPEEDUP, TARGET_SEQUENTIAL_RATIO, TOL_BLOCK_FLOAT32,
                                TOL_FLOAT64)
from analysis.errors import ConfigError, DataFormatError
from analysis.models import mobileone, reparameterize_model
from analysis.studies import reparam as study
from analysis.studies.reparam import compute, coreml, counts, measured, sources
from analysis.studies.reparam.measured import MET, NOT_MET, UNDECIDED, target_verdict
from analysis.studies.reparam.prose import conclusion

matplotlib.use("Agg")


def params(**overrides):
    return study.parameters(**{"VARIANTS": ["S0"], "K_VALUES": [1], "RUNTIMES": ["torch"],
                               "SWEEP_RUNTIMES": [], "INPUT_SIZE": 32, "EXACT_SIZE": 32,
                               "MATMUL_SIZE": 64, "COREML_VARIANTS": [], **overrides})


# --- parameters ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name, value, words", [
    ("VARIANTS", ["S9"], "'S9' is not one of S0, S1"),
    ("VARIANTS", [], "VARIANTS must name at least one value"),
    ("K_VALUES", [0], "K_VALUES must be between 1 and 5"),
    ("RUNTIMES", ["tensorrt"], "'tensorrt' is not one of torch, onnxruntime"),
    ("N_RUNS", 0, "N_RUNS must be >= 1"),
    ("N_SESSIONS", 0, "N_SESSIONS must be >= 1"),
    ("THREADS", 0, "THREADS must be >= 1"),
    ("INPUT_SIZE", 16, "INPUT_SIZE must be >= 32"),
    ("COREML_PRECISIONS", ["fp8"], "'fp8' is not one of fp16, fp32"),
    ("LATENCY_CSV", ["no/such/campaign.csv"], "no such file"),
])
def test_bad_parameters_get_one_line_naming_them(name, value, words):
    with pytest.raises(ConfigError, match=name) as err:
        study.parameters(**{name: value})
    assert words in str(err.value)


def test_parameters_are_normalised_and_one_source_of_latencies(tmp_path):
    p = study.parameters(VARIANTS="s2, S0", THREADS="none", COREML_PRECISIONS=["FP32"])
    assert p.VARIANTS == ["S2", "S0"] and p.THREADS is None and p.COREML_PRECISIONS == ["fp32"]
    assert compute.variant_list(p.VARIANTS) == ["S0", "S2"]  # Table 7's order
    assert not p.MEASURE and p.LATENCY_CSV is None  # the default: the shipped campaigns
    f = tmp_path / "c.csv"
    f.write_text("model,latency_ms\n")
    with pytest.raises(ConfigError, match="MEASURE is true and LATENCY_CSV names files"):
        study.parameters(MEASURE=True, LATENCY_CSV=[str(f)])


def test_jobs():
    assert [compute.official_k(v) for v in compute.VARIANTS] == [4, 1, 1, 1, 1]
    assert compute.jobs(["S1", "S0"], [1, 4, 2], ["torch", "onnxruntime"], ["torch"]) == [
        ("S0", 4, ["torch", "onnxruntime"]), ("S1", 1, ["torch", "onnxruntime"]),
        ("S0", 1, ["torch"]), ("S0", 2, ["torch"])]
    assert compute.jobs(["S1"], [1, 2], ["torch"], ["torch"]) == [("S1", 1, ["torch"])]


# --- Table 7 ------------------------------------------------------------------------------------

def test_table7_matches_the_built_networks_except_the_capped_stem():
    """Every Table 7 row agrees with the built networks except the stem width of S1–S4: the
    paper writes 64·α0 (96, 96, 128, 192), the official code caps the stem at min(64, 64·α0)."""
    t = compute.table7_check(params(VARIANTS=list(compute.VARIANTS)))
    diff = t[t["differs"] != ""]
    assert set(diff["layer"]) == {"stem"} and set(diff["differs"]) == {"channels"}
    assert diff.set_index("variant")["channels_paper"].to_dict() == {
        "S1": 96, "S2": 96, "S3": 128, "S4": 192}
    assert (diff["channels_code"] == 64).all()
    s0 = t[t["variant"] == "S0"].set_index("stage")
    assert s0.loc["4-5", "blocks_code"] == 10 and s0.loc["4-5", "input_code"] == 28
    s4 = t[t["variant"] == "S4"].set_index("stage")
    assert s4.loc["5", "se_code"] and not s4.loc["4", "se_code"] and s4.loc["6", "se_code"]
    assert s4.loc["6", "channels_code"] == 2048 and s4.loc["8", "channels_code"] == 2048


def test_table7_check_can_fail():
    model = mobileone("s0", inference_mode=True)
    model.stage2 = model.stage2[:-2]  # one unit fewer in stage 3
    rows = compute.compare_table7("S0", compute.paper_stage_table("S0"),
                                  compute.stage_table(model))
    assert [(r["stage"], r["differs"]) for r in rows if r["differs"]] == [("3", "blocks")]


# --- exactness and counts -----------------------------------------------------------------------

def test_equivalence_is_tight_and_detects_a_wrong_fold(monkeypatch):
    train, _ = compute.build_pair("S0", 2, seed=1)
    eq = compute.equivalence(train, 32, seed=1)
    assert eq["rel_f64"] <= TOL_FLOAT64 and eq["rel_block_f32"] <= TOL_BLOCK_FLOAT32
    assert eq["rel_f64"] == pytest.approx(eq["abs_f64"] / eq["scale_f64"])

    def broken(model):
        fused = reparameterize_model(model)
        with torch.no_grad():
            fused.stage1[1].reparam_conv.bias += 1.0  # every channel of one block
        return fused

    monkeypatch.setattr(compute, "reparameterize_model", broken)
    bad = compute.equivalence(train, 32, seed=1)
    assert bad["rel_f64"] > 1e-4 and bad["rel_block_f32"] > 1e-4


def test_equivalence_restores_the_model_it_converts():
    train = compute.build_train("S0", 2, seed=3)
    before = {k: v.clone() for k, v in train.state_dict().items()}
    compute.equivalence(train, 32, seed=3)
    after = train.state_dict()
    assert all(after[k].dtype == v.dtype and torch.equal(after[k], v) for k, v in before.items())


def test_only_the_verdicts_of_exactness_are_written():
    """The differences are rounding errors of the CPU; what is written holds everywhere."""
    full = compute.exactness_table(params(K_VALUES=[1, 4], SWEEP_RUNTIMES=["torch"]))
    assert (full["max_rel_diff_f64"] <= TOL_FLOAT64).all() and full["f64_exact"].all()
    assert (full["max_block_rel_diff_f32"] <= TOL_BLOCK_FLOAT32).all()
    written = compute.exactness_verdicts(full)
    assert list(written.columns) == ["variant", "k", "exact_size", "tolerance_f64", "f64_exact",
                                     "tolerance_f32", "blocks_f32_ok", "whole_f32_ok"]
    assert written["tolerance_f64"].eq(TOL_FLOAT64).all() and written["f64_exact"].all()
    bad = compute.exactness_verdicts(full.assign(f64_exact=[True, False]))
    assert bad["f64_exact"].tolist() == [True, False]


@pytest.mark.parametrize("variant,k", [("S0", 2), pytest.param("S4", 1, marks=pytest.mark.slow)])
def test_counts_of_both_forms_equal_the_closed_form(variant, k):
    c = counts.count_forms(params(VARIANTS=[variant], K_VALUES=[k], SWEEP_RUNTIMES=["torch"]))
    row = c[c["k"] == k].set_index("form")
    assert row.loc["train", "macs"] == closed_form_macs(variant.lower(), k, 32, fused=False)
    assert row.loc["fused", "macs"] == closed_form_macs(variant.lower(), k, 32, fused=True)
    assert row.loc["train", "operators"] > row.loc["fused", "operators"]
    assert row.loc["train", "memory_bytes"] > row.loc["fused", "memory_bytes"]
    if variant == "S0":  # the fused network as the study folds it: count_complexity's numbers
        from analysis.complexity import count_complexity

        _, fused = compute.build_pair("S0", k)
        ref = count_complexity(fused, 32, fuse=False)
        assert all(getattr(ref, col) == row.loc["fused", col] for col in counts.COUNT_COLUMNS)


def test_counts_are_reused_by_key_and_never_stale(monkeypatch, tmp_path):
    monkeypatch.setenv("MOBILEONE_STUDY_CACHE", str(tmp_path))
    calls = []
    real = counts.count_model
    monkeypatch.setattr(counts, "count_model", lambda m, size: calls.append(size) or real(m, size))
    one, two = counts.architecture("S0", 1, "train"), counts.architecture("S0", 2, "train")
    first = counts.cached_count(one, 32)
    assert counts.cached_count(one, 32) == first and len(calls) == 1  # the disk cache
    assert counts.cached_count(two, 32) != first and len(calls) == 2  # another architecture
    counts.cached_count(one, 64)
    assert len(calls) == 3  # another input size
    # a committed counts.csv row with the same key is reused; another key is not
    table = pd.DataFrame([{"variant": "S0", **{c: 7 for c in counts.COUNT_COLUMNS},
                           "count_key": counts.count_key(one, 48)},
                          {"variant": "S0", **{c: 9 for c in counts.COUNT_COLUMNS},
                           "count_key": "stale-key"}])
    table.to_csv(tmp_path / "counts.csv", index=False)
    committed = counts.committed_counts(tmp_path / "counts.csv")
    assert counts.cached_count(one, 48, committed)["macs"] == 7 and len(calls) == 3
    assert counts.cached_count(two, 48, committed)["macs"] != 9 and len(calls) == 4
    assert counts.committed_counts(tmp_path / "missing.csv") == {}


def test_sequential_twin_computes_the_same_function():
    p = params()
    check = compute.sequential_check(p, counts.count_forms(p))
    r = check.iloc[0]
    assert r["identical_output"] and r["fused_operators"] == r["sequential_operators"]
    assert r["blocks"] == sum(1 for m in compute.deployed("S0").modules()
                              if isinstance(m, compute.MobileOneBlock))


# --- synthetic campaigns: the noise model's verdicts --------------------------------------------

def synthetic_counts(variants=("S0",), k_values=(1, 4), size=32) -> pd.DataFrame:
    rows = []
    for v in variants:
        ko = compute.official_k(v)
        for k in (sorted(set(k_values) | {ko}) if v == "S0" else [ko]):
            for form in compute.FORMS:
                fused = form == "fused"
                rows.append({"variant": v, "k": k, "official_k": k == ko, "form": form,
                             "input_size": size,
                             "macs": closed_form_macs(v.lower(), k, size, fused), "params": 1,
                             "elementwise": 1, "memory_bytes": 1e7 * (1 if fused else 1 + k),
                             "operators": 88 if fused else 88 + 140 * k, "merges": 0,
                             "count_key": "synthetic"})
    return pd.DataFrame(rows)


def analyse(tmp_path, *, variants=("S0",), f64_exact=True, **campaign):
    """Findings of notebook 04 on closed-form campaigns (no network is built)."""
    folder = Path(tempfile.mkdtemp(dir=tmp_path))  # every call its own files
    files = closed_form_campaigns(folder, variants=variants, **campaign)
    p = study.parameters(VARIANTS=list(variants), K_VALUES=[1, 4], RUNTIMES=["torch"],
                         SWEEP_RUNTIMES=["torch"], INPUT_SIZE=32, MATMUL_SIZE=64,
                         LATENCY_CSV=[str(f) for f in files])
    data = study.campaigns(p)
    bands = study.noise_bands(data)
    reparam = study.reparam_table(p, synthetic_counts(variants), data)
    speedups = study.speedup_table(reparam, bands)
    check = pd.DataFrame({"variant": list(variants), "blocks": 22, "identical_output": True,
                          "fused_operators": 88, "sequential_operators": 88})
    sequential = study.sequential_overhead(p, check, data, bands)
    reference = study.reference_throughput(p, data)
    throughput = study.throughput_table(reparam, reference)
    table7 = pd.DataFrame({"variant": ["S1", "S1"], "stage": ["1", "2"],
                           "differs": ["channels", ""], "channels_paper": [96, 96],
                           "channels_code": [64, 96]})
    exactness = pd.DataFrame({"variant": ["S0", "S0"], "k": [1, 4], "f64_exact": [True, f64_exact],
                              "blocks_f32_ok": [True, f64_exact], "whole_f32_ok": [True, False]})
    found = study.findings(table7, exactness, data, bands, reparam, speedups, sequential,
                           throughput, reference)
    return found, {"bands": bands, "reparam": reparam, "speedups": speedups,
                   "sequential": sequential, "throughput": throughput, "data": data}


def test_the_band_is_the_rule_applied_to_the_known_spread(tmp_path):
    found, t = analyse(tmp_path)
    band = t["bands"].set_index("runtime").loc["torch"]
    expected = closed_form_band(networks=6)  # numpy on the known factors alone
    assert band["band"] == pytest.approx(expected) and band["median_band"] == \
        pytest.approx(expected)
    assert band["covers"] == "within one sitting only" and np.isnan(band["between_sittings"])
    # reparam S0 train k = 1, 4 and fused; sequential fused and twin; the matmul: 6 networks
    assert band["n_networks"] == 6 and band["n_pairs"] == 18
    assert found.bands[0].band == pytest.approx(expected)
    wide = analyse(tmp_path, factors=(1.0, 1.1, 1.2))[1]["bands"]["band"].iloc[0]
    assert wide == pytest.approx(closed_form_band((1.0, 1.1, 1.2), networks=6))


def test_identical_networks_are_within_noise_and_a_1_5x_gap_is_not(tmp_path):
    same, _ = analyse(tmp_path, fused_speedup=1.0, sequential_ratio=1.0)
    assert same.speedups[0].verdict == noise.WITHIN and same.speedups[0].speedup == \
        pytest.approx(1.0)
    assert same.sequential[0].verdict == noise.WITHIN
    assert same.s0_verdict == NOT_MET  # 1× is beyond noise below the 3× target
    gap, _ = analyse(tmp_path, fused_speedup=1.5, sequential_ratio=1.5)
    assert gap.speedups[0].verdict == noise.FASTER and gap.speedups[0].speedup == \
        pytest.approx(1.5)
    assert gap.sequential[0].verdict == noise.SLOWER
    assert gap.sequential[0].target_verdict == NOT_MET and gap.sequential_verdict == NOT_MET
    slower, _ = analyse(tmp_path, fused_speedup=1 / 1.5)
    assert slower.speedups[0].verdict == noise.SLOWER


def test_targets_are_met_not_met_or_not_decidable_within_noise(tmp_path):
    assert analyse(tmp_path, sequential_ratio=1.0)[0].sequential_verdict == MET  # band ±3.7 %
    near, _ = analyse(tmp_path, sequential_ratio=1.05)
    assert near.sequential[0].target_verdict == UNDECIDED and near.sequential_verdict == UNDECIDED
    noisy, _ = analyse(tmp_path, sequential_ratio=1.0, factors=(1.0, 1.1, 1.2))
    assert noisy.sequential_verdict == UNDECIDED  # the ±19 % band contains 1.05
    fast, _ = analyse(tmp_path)  # closed form: S0 fused is MACs(train) / MACs(fused) faster
    ratio = closed_form_macs("s0", 4, 32, False) / closed_form_macs("s0", 4, 32, True)
    assert fast.s0_speedup == pytest.approx(ratio) and fast.s0_verdict == MET


@pytest.mark.parametrize("value, target, band, at_least, verdict", [
    (1.00, 1.05, 0.03, False, MET), (1.05, 1.05, 0.03, False, UNDECIDED),
    (1.10, 1.05, 0.03, False, NOT_MET), (1.00, 1.05, 0.12, False, UNDECIDED),
    (6.0, 3.0, 0.12, True, MET), (3.1, 3.0, 0.12, True, UNDECIDED),
    (2.0, 3.0, 0.12, True, NOT_MET), (1.0, 1.05, float("nan"), False, "n/a")])
def test_target_verdict(value, target, band, at_least, verdict):
    assert target_verdict(value, target, band, at_least) == verdict


def test_min_and_median_can_change_a_verdict(tmp_path):
    found, _ = analyse(tmp_path, sequential_ratio=1.0, sequential_median_ratio=1.5)
    changes = {c.what: (c.min_verdict, c.median_verdict) for c in found.statistic_changes}
    assert changes["fused vs Sequential S0"] == (noise.WITHIN, noise.SLOWER)
    assert changes["the Sequential target"] == (MET, NOT_MET)
    assert not analyse(tmp_path)[0].statistic_changes


def test_intervals_come_from_the_sessions(tmp_path):
    _, t = analyse(tmp_path)  # every network moves by 1, 1.02, 1.04 between sessions
    s = t["speedups"].iloc[0]
    assert s["speedup_low"] == pytest.approx(s["speedup"] / 1.04)
    assert s["speedup_high"] == pytest.approx(s["speedup"] * 1.04)
    assert s["median_speedup"] == pytest.approx(s["speedup"])  # medians scale alike
    r = t["reparam"]
    assert r["min_ms"].tolist() == pytest.approx((r["min_low_ms"] * 1.02).tolist())
    assert r["min_high_ms"].tolist() == pytest.approx((r["min_low_ms"] * 1.04).tolist())
    assert r["median_ms"].tolist() == pytest.approx((r["min_ms"] * MEDIAN_FACTOR).tolist())
    ref = t["throughput"]["reference_gflops"].iloc[0]
    assert ref == pytest.approx(REFERENCE_GFLOPS / 1.02)  # the median session


def test_campaign_files_that_cannot_be_analysed_get_one_line(tmp_path):
    files = closed_form_campaigns(tmp_path)
    ok = [str(f) for f in files]
    p = params(K_VALUES=[1, 4], SWEEP_RUNTIMES=["torch"], LATENCY_CSV=ok)
    data = study.campaigns(p)
    with pytest.raises(DataFormatError, match=r"no session of MobileOne-S0 train k = 4 "
                                              r"\(onnxruntime\) at 32 px"):
        study.reparam_table(p.replace(RUNTIMES=["torch", "onnxruntime"]), synthetic_counts(),
                            data)
    with pytest.raises(DataFormatError, match="the matmul reference at n = 128"):
        study.reference_throughput(p.replace(MATMUL_SIZE=128), data)
    fused_only = pd.read_csv(files[0])
    fused_only[fused_only["form"] == "fused"].to_csv(tmp_path / "fused.csv", index=False)
    with pytest.raises(DataFormatError, match="fused.csv: no train-time, plain-Sequential or "
                                              "reference rows"):
        sources.read_campaigns([tmp_path / "fused.csv"])
    other = pd.read_csv(files[2]).assign(device="Another CPU")
    other.to_csv(tmp_path / "other.csv", index=False)
    with pytest.raises(DataFormatError, match="2 values of device"):
        sources.read_campaigns([files[0], tmp_path / "other.csv"])


def test_the_shipped_campaigns_are_the_default():
    files, source = sources.campaign_files(params(VARIANTS=list(compute.VARIANTS)))
    assert source == sources.SHIPPED
    assert [f.name for f in files] == [f"cpu-xeon-{s}-1t{x}.csv"
                                       for s in ("reparam", "sequential", "matmul")
                                       for x in ("", "-s2")]
    assert all(f.parent == paths.LATENCY_DATA for f in files)


def test_a_live_campaign_is_written_into_the_run_folder_only(tmp_path):
    """MEASURE times the three sets now (tiny: S0 at its published k, 32 px, 2 sessions of 2
    runs) into the run folder, and the run analyses exactly those files."""
    watched = [paths.LATENCY_DATA, paths.NOTEBOOK_OUTPUTS / study.NOTEBOOK]
    before = {f: f.stat().st_mtime_ns for d in watched for f in d.rglob("*") if f.is_file()}
    p = params(K_VALUES=[4], MEASURE=True, N_SESSIONS=2, N_RUNS=2, N_WARMUP=0, MATMUL_RUNS=2,
               OUTPUT_DIR=str(tmp_path / "run"), FIGURE_DIR=str(tmp_path / "run" / "figures"))
    result = study.run(p, draw=False)
    live = sorted((tmp_path / "run" / "campaigns").iterdir())
    assert [f.name for f in live] == sorted(sources.LIVE_FILES.values())
    assert sorted(result.inputs[1:]) == live and result.findings.source == sources.LIVE
    assert "live" in result.findings.device and result.findings.sessions == (2, 2)
    rows = pd.concat([pd.read_csv(f) for f in live])
    assert set(rows["session"]) == {1, 2} and (rows["n_runs"] == 2).all()
    assert set(rows.loc[rows["form"] != "reference", "input_size"]) == {32}
    after = {f: f.stat().st_mtime_ns for d in watched for f in d.rglob("*") if f.is_file()}
    assert after == before  # nothing of the study's own data or results was touched


# --- prose (golden) -----------------------------------------------------------------------------

def test_conclusion_when_the_targets_are_met(tmp_path):
    found, _ = analyse(tmp_path, variants=("S0", "S1"))
    assert found.s0_verdict == MET and found.sequential_verdict == MET
    assert found.takeaway and conclusion(found).startswith(f"**Takeaway.** {found.takeaway}")
    assert found.takeaway.count(". ") <= 2  # at most three sentences
    assert_golden("04_conclusion_met", conclusion(found))


def test_conclusion_when_they_are_not(tmp_path):
    found, _ = analyse(tmp_path, fused_speedup=1.0, sequential_ratio=1.5,
                       sequential_median_ratio=1.0, f64_exact=False)
    assert found.s0_verdict == NOT_MET and found.sequential_verdict == NOT_MET
    assert not found.exactness.f64_exact and found.statistic_changes
    text = conclusion(found)
    assert "not** exact" in found.takeaway and "**not met**" in text
    assert_golden("04_conclusion_not_met", text)


def test_conclusion_never_claims_a_decision_inside_the_band(tmp_path):
    found, _ = analyse(tmp_path, sequential_ratio=1.0, factors=(1.0, 1.1, 1.2))
    text = conclusion(found)
    assert "Target ≤ 1.05: not decidable within noise" in text
    assert "cannot be decided at this noise" in found.takeaway


def test_reference_derivation_is_the_arithmetic():
    ref = measured.Reference(64, 1, 3, 3, 2 * 64 ** 3, 0.01, 0.009, 0.011, 0.02,
                             2 * 64 ** 3 / 1e-5 / 1e9, 0.0, 0.0, 0.0)
    text = study.reference_derivation(ref)
    assert "2·64³ = 524,288" in text and f"{ref.gflops:.1f} GFLOP/s" in text


# --- Core ML ------------------------------------------------------------------------------------

def test_coreml_sizes_are_reused_by_content(monkeypatch, tmp_path):
    monkeypatch.setenv("MOBILEONE_STUDY_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(coreml, "COMMITTED", tmp_path / "none.csv")
    calls = []

    def fake(variant, precision, size, out):
        calls.append((variant, precision, size))
        return {"status": "ok", "size_bytes": 4_000_000, "message": "fake"}

    monkeypatch.setattr(coreml, "_convert", fake)
    p = params(COREML_VARIANTS=["S0"], COREML_PRECISIONS=["fp16", "fp32"])
    packages, template = coreml.coreml_packages(p)
    again, _ = coreml.coreml_packages(p)
    assert len(calls) == 2 and again.equals(packages)
    assert packages["size_mb"].tolist() == [4.0, 4.0]
    assert template["export_file"].tolist() == ["mobileone_s0.mlpackage"] * 2
    assert template["latency_ms"].tolist() == ["", ""]
    coreml.coreml_packages(p.replace(COREML_DIR=str(tmp_path / "packages")))
    assert len(calls) == 4  # the packages themselves are wanted: converted again
    assert coreml.cache_path("S0", "fp16", 32) != coreml.cache_path("S0", "fp16", 64)
    # a committed row with the same cache_key is reused on a fresh clone (empty cache)
    monkeypatch.setenv("MOBILEONE_STUDY_CACHE", str(tmp_path / "fresh"))
    packages.assign(size_mb=[5.5, 6.0]).to_csv(tmp_path / "committed.csv", index=False)
    monkeypatch.setattr(coreml, "COMMITTED", tmp_path / "committed.csv")
    reused, _ = coreml.coreml_packages(p)
    assert len(calls) == 4 and reused["size_mb"].tolist() == [5.5, 6.0]
    other = coreml.coreml_packages(p.replace(INPUT_SIZE=64))[0]  # another key: converted
    assert len(calls) == 6 and other["size_mb"].tolist() == [4.0, 4.0]


# --- figures ------------------------------------------------------------------------------------

def test_figures_show_sessions_and_the_measured_band(tmp_path):
    _, t = analyse(tmp_path, variants=("S0", "S1"), sequential_ratio=0.99)
    data = t["data"]
    sweep = study.k_sweep(t["reparam"])
    drawn = {**study.fusing_figure(t["speedups"], data),
             **study.sweep_figure(sweep, t["bands"], data),
             **study.sequential_figure(t["sequential"], data),
             **study.throughput_figure(t["throughput"], data)}
    assert list(drawn) == list(study.FIGURES)
    family = {c.lower() for c in plots.FAMILY_COLORS.values()} - {"#000000"}
    for name, fig in drawn.items():
        assert plots.text_overlaps(fig) == [], name
        title = fig._suptitle.get_text()
        assert DEVICE in title and "of runs" in title and "1 thread, 1 thread" not in title
        for ax in fig.axes:
            assert ax.get_yscale() == "linear" and ax.get_xlabel()
            used = {matplotlib.colors.to_hex(p.get_facecolor()) for p in ax.patches}
            used |= {matplotlib.colors.to_hex(line.get_color()) for line in ax.lines}
            assert not used & family, (name, used & family)
            if name != study.FIGURES[2]:
                assert ax.get_ylim()[0] == 0  # bars and counts from zero
    band = t["bands"]["band"].iloc[0]
    lat = drawn[study.FIGURES[1]].axes[0]
    fused = float(sweep.loc[sweep["form"] == "fused", "min_ms"].iloc[0])
    shaded = [c.get_paths()[0].vertices[:, 1] for c in lat.collections
              if type(c).__name__ in ("PolyCollection", "FillBetweenPolyCollection")]
    assert shaded and min(shaded[0]) == pytest.approx(fused / (1 + band))
    assert max(shaded[0]) == pytest.approx(fused * (1 + band))  # the measured band, not ±5 %
    seq = drawn[study.FIGURES[2]].axes[0]
    span = [p for p in seq.patches if p.get_label().startswith("target's noise band")]
    assert span[0].get_y() == pytest.approx(TARGET_SEQUENTIAL_RATIO / (1 + band))
    assert span[0].get_y() + span[0].get_height() == pytest.approx(
        TARGET_SEQUENTIAL_RATIO * (1 + band))
    bars = drawn[study.FIGURES[0]].axes[0]
    assert any(type(c).__name__ == "LineCollection" for c in bars.collections)  # error bars
    for fig in drawn.values():
        matplotlib.pyplot.close(fig)
    one_k = t["reparam"][t["reparam"]["k"] == 4]
    assert study.sweep_figure(study.k_sweep(one_k), t["bands"], data) == {}


def test_run_lists_its_inputs_and_describes_every_column(tmp_path):
    files = closed_form_campaigns(tmp_path, k_values=(4,))
    result = study.run(params(K_VALUES=[4], LATENCY_CSV=[str(f) for f in files]), draw=False)
    summary = result.summary()
    assert "(undocumented)" not in json.dumps(summary["tables"])
    assert len(summary["inputs"]) == 4  # Table 7 and the three campaign files
    assert list(result.tables) == list(study.TABLES) and result.figures == {}
    assert result.findings.device == DEVICE and result.findings.source == sources.YOURS
    assert result.findings.s0_target == TARGET_S0_SPEEDUP
    written = json.dumps(summary)  # no machine-dependent exactness number is written
    assert "max_rel_diff" not in written and "max_abs_diff" not in written
