"""analysis.studies.reparam (notebook 04): parameters, Table 7, exactness, counts, the latency
steps (live and from a file), findings and verdicts, the prose (golden), the figures."""

from __future__ import annotations

import itertools
import json

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch
from hygiene import assert_golden
from reparam_closed_form import closed_form_macs, closed_form_timings

from analysis import plots
from analysis.constants import NOISE_BAND, TOL_BLOCK_FLOAT32, TOL_FLOAT64
from analysis.errors import ConfigError, DataFormatError
from analysis.latency.timing import Timer
from analysis.models import mobileone, reparameterize_model
from analysis.studies import reparam as study
from analysis.studies.core import write_csv
from analysis.studies.reparam import compute, coreml, measured, timing
from analysis.studies.reparam.findings import findings, ratio_verdict
from analysis.studies.reparam.prose import conclusion

matplotlib.use("Agg")


def params(**overrides):
    return study.parameters(**{"VARIANTS": ["S0"], "K_VALUES": [1], "RUNTIMES": ["torch"],
                               "SWEEP_RUNTIMES": [], "INPUT_SIZE": 32, "EXACT_SIZE": 32,
                               "N_RUNS": 2, "N_RUNS_MIN": 1, "N_WARMUP": 0,
                               "MATMUL_SIZE": 32, "MATMUL_RUNS": 2, "COREML_VARIANTS": [],
                               **overrides})


# --- parameters ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name, value, words", [
    ("VARIANTS", ["S9"], "'S9' is not one of S0, S1"),
    ("VARIANTS", [], "VARIANTS must name at least one value"),
    ("K_VALUES", [0], "K_VALUES must be between 1 and 8"),
    ("RUNTIMES", ["tensorrt"], "'tensorrt' is not one of torch, onnxruntime"),
    ("N_RUNS", 0, "N_RUNS must be >= 1"),
    ("THREADS", 0, "THREADS must be >= 1"),
    ("INPUT_SIZE", 16, "INPUT_SIZE must be >= 32"),
    ("COREML_PRECISIONS", ["fp8"], "'fp8' is not one of fp16, fp32"),
    ("TIMINGS_CSV", "no/such/timings.csv", "no such file"),
])
def test_bad_parameters_get_one_line_naming_them(name, value, words):
    with pytest.raises(ConfigError, match=name) as err:
        study.parameters(**{name: value})
    assert words in str(err.value)


def test_parameters_are_normalised():
    p = study.parameters(VARIANTS="s2, S0", THREADS="none", COREML_PRECISIONS=["FP32"])
    assert p.VARIANTS == ["S2", "S0"] and p.THREADS is None and p.COREML_PRECISIONS == ["fp32"]
    assert compute.variant_list(p.VARIANTS) == ["S0", "S2"]  # Table 7's order


def test_jobs_and_runs():
    assert [compute.official_k(v) for v in compute.VARIANTS] == [4, 1, 1, 1, 1]
    assert compute.jobs(["S1", "S0"], [1, 4, 2], ["torch", "onnxruntime"], ["torch"]) == [
        ("S0", 4, ["torch", "onnxruntime"]), ("S1", 1, ["torch", "onnxruntime"]),
        ("S0", 1, ["torch"]), ("S0", 2, ["torch"])]
    assert compute.jobs(["S1"], [1, 2], ["torch"], ["torch"]) == [("S1", 1, ["torch"])]
    assert compute.runs_for(100, 100, 40, 5) == 40
    assert compute.runs_for(400, 100, 40, 5) == 10
    assert compute.runs_for(10_000, 100, 40, 5) == 5  # floor
    assert compute.runs_for(10_000, 100, 3, 5) == 3  # never more than N_RUNS


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


@pytest.mark.parametrize("variant,k", [("S0", 2), pytest.param("S4", 1, marks=pytest.mark.slow)])
def test_counts_of_both_forms_equal_the_closed_form(variant, k):
    counts = compute.count_forms(params(VARIANTS=[variant], K_VALUES=[k], SWEEP_RUNTIMES=["torch"]))
    row = counts[counts["k"] == k].set_index("form")
    assert row.loc["train", "macs"] == closed_form_macs(variant.lower(), k, 32, fused=False)
    assert row.loc["fused", "macs"] == closed_form_macs(variant.lower(), k, 32, fused=True)
    assert row.loc["train", "operators"] > row.loc["fused", "operators"]
    assert row.loc["train", "memory_bytes"] > row.loc["fused", "memory_bytes"]
    if variant == "S0":  # the two-trace count gives count_complexity's numbers
        from analysis.complexity import count_complexity

        _, fused = compute.build_pair("S0", k)
        ref = count_complexity(fused, 32, fuse=False)
        assert all(getattr(ref, c) == row.loc["fused", c] for c in
                   ("macs", "params", "elementwise", "memory_bytes", "operators", "merges"))


def test_counts_are_cached_by_architecture_and_never_stale(monkeypatch, tmp_path):
    monkeypatch.setenv("MOBILEONE_STUDY_CACHE", str(tmp_path))
    calls = []
    real = compute.count_model
    monkeypatch.setattr(compute, "count_model", lambda m, size: calls.append(size) or real(m, size))
    one, two = compute.build_pair("S0", 1)[0], compute.build_pair("S0", 2)[0]
    first = compute.cached_count(one, 32)
    assert compute.cached_count(one, 32) == first and len(calls) == 1  # read back
    assert compute.cached_count(two, 32) != first and len(calls) == 2  # another architecture
    compute.cached_count(one, 64)
    assert len(calls) == 3  # another input size


def test_sequential_twin_computes_the_same_function():
    check = compute.sequential_check(params())
    r = check.iloc[0]
    assert r["identical_output"] and r["fused_operators"] == r["sequential_operators"]
    assert r["blocks"] == sum(1 for m in compute.deployed("S0").modules()
                              if isinstance(m, compute.MobileOneBlock))


# --- latencies: live, and from a file -----------------------------------------------------------

def test_live_steps_time_every_identity_through_the_one_loop(tmp_path):
    p = params(RUNTIMES=["torch", "onnxruntime"])
    counts = compute.count_forms(p)
    fusing = study.fusing_timings(p, counts)
    assert list(fusing.columns) == list(timing.TIMING_COLUMNS)
    assert list(zip(fusing["runtime"], fusing["form"])) == [
        ("torch", "train"), ("torch", "fused"), ("onnxruntime", "train"),
        ("onnxruntime", "fused")]
    seq = study.sequential_timings(p, counts)
    ref = study.reference_timings(p)
    every = study.timings_table(fusing, seq, ref)
    assert (every["min_ms"] > 0).all() and (every["min_ms"] <= every["median_ms"]).all()
    assert (every["threads"] == 1).all() and set(every["experiment"]) == set(timing.EXPERIMENTS)
    assert ref["input_size"].iloc[0] == 32 and ref["n_runs"].iloc[0] == 2
    # what a run writes, a later run reads back: the same timings
    write_csv(every, tmp_path / "timings.csv")
    again = params(RUNTIMES=["torch", "onnxruntime"], TIMINGS_CSV=str(tmp_path / "timings.csv"))
    back = study.timings_table(study.fusing_timings(again, counts),
                               study.sequential_timings(again, counts),
                               study.reference_timings(again))
    pd.testing.assert_frame_equal(back, every, rtol=1e-9, check_dtype=False)


def test_latencies_come_from_the_timing_loop_clock():
    """A fake clock 1.5 ms per tick: every timed run lasts exactly one tick, whatever the
    model, so the summary row is known exactly."""
    ticks = itertools.count(0, 1_500_000)
    fake = Timer(clock=lambda: next(ticks), name="fake")
    t = timing.time_models({"a": torch.nn.Identity(), "b": torch.nn.ReLU()}, "torch",
                           torch.zeros(1, 3, 4, 4), runs=3, warmup=1, threads=1, timer=fake)
    assert {k: v.tolist() for k, v in t.items()} == {"a": [1.5] * 3, "b": [1.5] * 3}
    row = timing._row("fusing", "S0", 4, "fused", "torch", 1, 32, t["a"])
    assert (row["min_ms"], row["median_ms"], row["n_runs"], row["cv"]) == (1.5, 1.5, 3, 0.0)


@pytest.fixture()
def timings_file(tmp_path):
    p = params(K_VALUES=[1, 4], SWEEP_RUNTIMES=["torch"])
    path = tmp_path / "timings.csv"
    closed_form_timings(p).to_csv(path, index=False)
    return p, path


def test_a_timings_file_must_hold_what_the_run_needs(timings_file, tmp_path):
    p, path = timings_file
    counts = compute.count_forms(p)
    with pytest.raises(DataFormatError, match="no timing for fusing S0 k = 4 train "
                                              r"\(onnxruntime\)"):
        study.fusing_timings(p.replace(TIMINGS_CSV=str(path),
                                       RUNTIMES=["torch", "onnxruntime"]), counts)
    with pytest.raises(DataFormatError, match="column input_size: 32, but this run's "
                                              "INPUT_SIZE is 64"):
        study.fusing_timings(p.replace(TIMINGS_CSV=str(path), INPUT_SIZE=64), counts)
    with pytest.raises(DataFormatError, match="column threads: 1, but this run's THREADS is 2"):
        study.reference_timings(p.replace(TIMINGS_CSV=str(path), THREADS=2))
    frame = pd.read_csv(path, keep_default_na=False, dtype=str)
    frame.loc[2, "min_ms"] = "fast"
    frame.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DataFormatError, match="bad.csv line 4, column min_ms: expected a "
                                              "number, got 'fast'"):
        timing.read_timings(tmp_path / "bad.csv")
    frame.drop(columns="device").to_csv(tmp_path / "short.csv", index=False)
    with pytest.raises(DataFormatError, match="missing column.s. device"):
        timing.read_timings(tmp_path / "short.csv")


# --- findings and verdicts on synthetic tables --------------------------------------------------

def synthetic(s0_train=60.0, s0_fused=10.0, s1_train=30.0, s1_fused=20.0, fused_by_k=None,
              train_by_k=None, rel_f64=1e-15, block=1e-7, whole=0.3, seq=(1.01, 1.01),
              reference_gflops=100.0):
    """The tables ``findings`` reads: S0 at k = 1..4 (published 4) and S1 (k = 1), torch."""
    fused_by_k = fused_by_k or {k: s0_fused for k in (1, 2, 3, 4)}
    train_by_k = train_by_k or {1: 20.0, 2: 33.0, 3: 47.0, 4: s0_train}
    rows = []
    for k in fused_by_k:
        for form, ms in (("train", train_by_k[k]), ("fused", fused_by_k[k])):
            rows.append(dict(variant="S0", k=k, official_k=k == 4, form=form, runtime="torch",
                             min_ms=ms, median_ms=ms * 1.1,
                             macs=275e6 * (1 if form == "fused" else k),
                             memory_bytes=13e6 * (1 if form == "fused" else 1 + k),
                             operators=88 if form == "fused" else 88 + 140 * k))
    for form, ms in (("train", s1_train), ("fused", s1_fused)):
        rows.append(dict(variant="S1", k=1, official_k=True, form=form, runtime="torch",
                         min_ms=ms, median_ms=ms, macs=825e6, memory_bytes=1e7, operators=100))
    reparam = pd.DataFrame(rows)
    exactness = pd.DataFrame([dict(variant=v, k=k, max_rel_diff_f64=rel_f64,
                                   max_block_rel_diff_f32=block,
                                   max_rel_diff_f32=whole if (v, k) == ("S0", 4) else 1e-6,
                                   max_abs_diff_f32=(whole if (v, k) == ("S0", 4) else 1e-6) * 8e4,
                                   output_scale_f32=8e4)
                              for v, k in [("S0", 1), ("S0", 2), ("S0", 3), ("S0", 4), ("S1", 1)]])
    sequential = pd.DataFrame({"variant": ["S0"], "ratio_min": [seq[0]], "ratio_median": [seq[1]],
                               "identical_output": [True],
                               "overhead_us_per_block": [(seq[0] - 1) * 300]})
    ref = measured.Reference(2048, 1, 10, 2 * 2048 ** 3, 2 * 2048 ** 3 / reference_gflops / 1e6,
                            0.0, reference_gflops)
    throughput = measured.throughput_table(reparam.assign(threads=1), ref)
    table7 = pd.DataFrame({"variant": ["S1", "S1"], "stage": ["1", "2"],
                           "differs": ["channels", ""], "channels_paper": [96, 96],
                           "channels_code": [64, 96]})
    timings = pd.DataFrame({"device": ["Test CPU"], "threads": [1]})
    return findings(table7, exactness, reparam, sequential, throughput, ref, timings)


def test_verdicts_follow_the_numbers():
    f = synthetic()
    assert [(s.variant, s.verdict) for s in f.speedups] == [("S0", "faster"), ("S1", "faster")]
    assert f.s0_speedup == pytest.approx(6.0) and f.s0_target_met
    assert f.noise_band == NOISE_BAND and f.k_sweeps[0].train_ms_per_branch > 0
    assert f.sequential_target_met and f.exactness.f64_exact and f.exactness.blocks_f32_ok
    assert f.best_throughput[0].share == pytest.approx(2 * 825e6 / 0.020 / 1e9 / 100)
    assert f.table7_differences[0].channels_paper == 96


def test_no_speedup_claimed_that_the_numbers_do_not_show():
    # fused S0 slower than train-time, S1 inside the noise, fused not flat in k
    f = synthetic(s0_train=8.0, s0_fused=10.0, s1_train=20.4, s1_fused=20.0,
                  fused_by_k={1: 10.0, 2: 11.0, 3: 12.0, 4: 10.0},
                  train_by_k={1: 20.0, 2: 15.0, 3: 12.0, 4: 8.0}, seq=(1.2, 1.2))
    assert [s.verdict for s in f.speedups] == ["slower", "within noise"]
    assert not f.s0_target_met and f.k_sweeps[0].train_ms_per_branch < 0
    assert f.noise_band == pytest.approx(0.2)  # the fused network's spread across k
    assert not f.sequential_target_met and f.sequential[0].overhead


def test_the_fused_spread_widens_the_band():
    wide = synthetic(s1_train=23.0, fused_by_k={1: 10.0, 2: 11.0, 3: 12.0, 4: 10.0})
    assert wide.speedups[1].verdict == "within noise"
    assert synthetic(s1_train=23.0).speedups[1].verdict == "faster"


def test_sequential_needs_min_and_median_above_the_target():
    assert synthetic(seq=(1.08, 0.95)).sequential_target_met
    assert not synthetic(seq=(1.08, 1.06)).sequential_target_met


def test_exactness_verdicts_can_fail():
    bad = synthetic(rel_f64=1e-3, block=1e-3).exactness
    assert not bad.f64_exact and not bad.blocks_f32_ok


@pytest.mark.parametrize("ratio, verdict", [(1.04, "within noise"), (0.96, "within noise"),
                                            (1.06, "faster"), (0.94, "slower"),
                                            (float("nan"), "not measured")])
def test_ratio_verdict(ratio, verdict):
    assert ratio_verdict(ratio, 0.05) == verdict


# --- prose (golden) -----------------------------------------------------------------------------

def test_conclusion_when_the_targets_are_met():
    assert_golden("04_conclusion_met", conclusion(synthetic(reference_gflops=10.0)))


def test_conclusion_when_they_are_not():
    f = synthetic(s0_train=8.0, s0_fused=10.0, s1_train=20.4, s1_fused=20.0,
                  fused_by_k={1: 10.0, 2: 11.0, 3: 12.0, 4: 10.0},
                  train_by_k={1: 20.0, 2: 15.0, 3: 12.0, 4: 8.0}, seq=(1.2, 1.2),
                  rel_f64=1e-3, block=1e-3, reference_gflops=1e4)
    assert_golden("04_conclusion_not_met", conclusion(f))


def test_reference_derivation_is_the_arithmetic():
    ref = measured.Reference(64, 1, 3, 2 * 64 ** 3, 0.01, 0.02, 2 * 64 ** 3 / 1e-5 / 1e9)
    text = study.reference_derivation(ref)
    assert "2·64³ = 524,288" in text and f"{ref.gflops:.1f} GFLOP/s" in text


# --- Core ML ------------------------------------------------------------------------------------

def test_coreml_sizes_are_cached_by_content(monkeypatch, tmp_path):
    monkeypatch.setenv("MOBILEONE_STUDY_CACHE", str(tmp_path / "cache"))
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


# --- figures ------------------------------------------------------------------------------------

def _figure_tables():
    rows = []
    for runtime, scale in (("torch", 1.0), ("onnxruntime", 0.5)):
        for k in (1, 2, 3, 4):
            for form, ms in (("train", 15.0 * k), ("fused", 10.0)):
                rows.append(dict(variant="S0", k=k, official_k=k == 4, form=form,
                                 runtime=runtime, threads=1, min_ms=ms * scale,
                                 median_ms=ms * scale * 1.1, macs=275e6,
                                 memory_bytes=13e6 * k, operators=88 * k))
    reparam = pd.DataFrame(rows)
    ref = measured.Reference(2048, 1, 10, 2 * 2048 ** 3, 100.0, 100.0, 200.0)
    seq = pd.DataFrame({"variant": ["S0", "S1", "S2", "S3", "S4"],
                        "ratio_min": [1.01, 0.99, 1.0, 1.02, 1.0],
                        "ratio_median": [1.0, 1.0, 1.03, 0.98, 1.0]})
    return reparam, ref, seq


def test_figures_draw_without_overlap_name_the_measurement_and_use_the_colours():
    reparam, ref, seq = _figure_tables()
    where = {"device": "Test CPU", "threads": 1}
    drawn = {**study.fusing_figure(measured.speedup_table(reparam), where),
             **study.sweep_figure(measured.k_sweep(reparam), where),
             **study.sequential_figure(seq, where),
             **study.throughput_figure(measured.throughput_table(reparam, ref), where)}
    assert list(drawn) == list(study.FIGURES)
    family = {c.lower() for c in plots.FAMILY_COLORS.values()} - {"#000000"}
    for name, fig in drawn.items():
        assert plots.text_overlaps(fig) == [], name
        title = fig._suptitle.get_text()
        assert "Test CPU" in title and "1 thread" in title and "of runs" in title
        for ax in fig.axes:
            assert ax.get_yscale() == "linear" and ax.get_xlabel()
            used = {matplotlib.colors.to_hex(p.get_facecolor()) for p in ax.patches}
            used |= {matplotlib.colors.to_hex(line.get_color()) for line in ax.lines}
            assert not used & family, (name, used & family)
            if name != study.FIGURES[2]:
                assert ax.get_ylim()[0] == 0  # bars and counts from zero
    lat = drawn[study.FIGURES[1]].axes[0]
    assert {matplotlib.colors.to_hex(line.get_color()) for line in lat.lines} == {
        plots.SERIES_COLORS["torch"].lower(), plots.SERIES_COLORS["onnxruntime"].lower()}
    assert "reference" in drawn[study.FIGURES[3]]._suptitle.get_text()
    for fig in drawn.values():
        matplotlib.pyplot.close(fig)
    assert study.sweep_figure(measured.k_sweep(reparam[reparam["k"] == 4]), where) == {}


def test_run_lists_its_inputs_and_describes_every_column(tmp_path):
    path = tmp_path / "t.csv"
    closed_form_timings(params()).to_csv(path, index=False)
    result = study.run(params(TIMINGS_CSV=str(path)), draw=False)
    summary = result.summary()
    assert "(undocumented)" not in json.dumps(summary["tables"])
    assert len(summary["inputs"]) == 2  # Table 7 and the timings file
    assert set(result.tables) == {"table7_check", "counts", "sizes", "exactness", "timings",
                                  "reparam", "sequential_overhead", "reference_throughput",
                                  "coreml_packages", "coreml_latency_template"}
    assert result.figures == {} and result.findings.device == "Closed-form CPU"
