"""analysis.reparam_study / reparam_timing / report_reparam / plots_reparam (notebook 04)."""

from __future__ import annotations

import itertools

import matplotlib
import pandas as pd
import pytest
import torch

from analysis import plots, plots_reparam
from analysis import reparam_study as rs
from analysis import reparam_timing as rt
from analysis import report_reparam as report
from analysis.errors import ConfigError
from analysis.models import mobileone, reparameterize_model
from reparam_closed_form import closed_form_macs

matplotlib.use("Agg")


# --- parameters ---------------------------------------------------------------------------------

def test_variant_and_k_parsing():
    assert rs.variant_ids(["S0", "mobileone_s2", "MobileOne-S4", "s0"]) == ["s0", "s2", "s4"]
    assert rs.variant_ids("S1, S3") == ["s1", "s3"]
    with pytest.raises(ConfigError, match="S0, S1, S2, S3, S4"):
        rs.variant_ids(["S9"])
    with pytest.raises(ConfigError, match="no MobileOne variant"):
        rs.variant_ids([])
    assert rs.k_values([4, 1, 4, "2"]) == [1, 2, 4]
    for bad in ([0], [1.5], ["x"]):
        with pytest.raises(ConfigError, match="K_VALUES"):
            rs.k_values(bad)
    assert [rs.official_k(v) for v in rs.VARIANTS] == [4, 1, 1, 1, 1]


def test_runs_scale_inversely_with_macs():
    assert rs.runs_for(100, 100, 40, 5) == 40
    assert rs.runs_for(400, 100, 40, 5) == 10
    assert rs.runs_for(10_000, 100, 40, 5) == 5  # floor
    assert rs.runs_for(10_000, 100, 3, 5) == 3  # never more than N_RUNS
    with pytest.raises(ConfigError):
        rs.runs_for(1, 1, 0, 5)


# --- Table 7 ------------------------------------------------------------------------------------

def test_table7_matches_the_built_networks_except_the_capped_stem():
    """Every Table 7 row agrees with the built networks except the stem width of S1–S4: the
    paper writes 64·α0 (96, 96, 128, 192), the official code caps the stem at min(64, 64·α0)."""
    t = rs.table7_check(rs.VARIANTS)
    assert set(t["variant"]) == {"S0", "S1", "S2", "S3", "S4"}
    diff = t[t["differs"] != ""]
    assert set(diff["layer"]) == {"stem"} and set(diff["differs"]) == {"channels"}
    assert sorted(diff["variant"]) == ["S1", "S2", "S3", "S4"]
    assert diff.set_index("variant")["channels_paper"].to_dict() == {
        "S1": 96, "S2": 96, "S3": 128, "S4": 192}
    assert (diff["channels_code"] == 64).all()
    s0 = t[t["variant"] == "S0"].set_index("stage")
    assert s0.loc["4-5", "blocks_code"] == 10 and s0.loc["4-5", "input_code"] == 28
    s4 = t[t["variant"] == "S4"].set_index("stage")
    assert s4.loc["5", "se_code"] and not s4.loc["4", "se_code"] and s4.loc["6", "se_code"]
    assert s4.loc["6", "channels_code"] == 2048 and s4.loc["8", "channels_code"] == 2048


def test_table7_check_can_fail():
    """A network with a different stage length is reported, not absorbed."""
    model = mobileone("s0", inference_mode=True)
    model.stage2 = model.stage2[:-2]  # one unit fewer in stage 3
    table = rs.stage_table(model)
    paper = rs.paper_stage_table("s0")
    assert table.loc[2, "blocks"] == 7 and paper.loc[2, "blocks"] == 8


# --- exactness and counts -----------------------------------------------------------------------

def test_equivalence_is_tight_and_detects_a_wrong_fold(monkeypatch):
    train, _ = rs.build_pair("s0", 2, seed=1)
    eq = rs.equivalence(train, 32, seed=1)
    assert eq["rel_f64"] <= rs.TOL_FLOAT64 and eq["rel_block_f32"] <= rs.TOL_BLOCK_FLOAT32
    assert eq["abs_f64"] <= eq["rel_f64"] * 1e6  # absolute and relative are both reported

    def broken(model):
        fused = reparameterize_model(model)
        with torch.no_grad():
            fused.stage1[1].reparam_conv.bias += 1.0  # every channel of one block
        return fused

    monkeypatch.setattr(rs, "reparameterize_model", broken)
    bad = rs.equivalence(train, 32, seed=1)
    assert bad["rel_f64"] > 1e-4 and bad["rel_block_f32"] > 1e-4


@pytest.mark.parametrize("variant,k", [("s0", 2), pytest.param("s4", 1, marks=pytest.mark.slow)])
def test_counts_of_both_forms_equal_the_closed_form(variant, k):
    train, fused = rs.build_pair(variant, k)
    counts = rs.count_forms(train, fused, 32)
    assert counts["train"]["macs"] == closed_form_macs(variant, k, 32, fused=False)
    assert counts["fused"]["macs"] == closed_form_macs(variant, k, 32, fused=True)
    assert counts["train"]["operators"] > counts["fused"]["operators"]
    assert counts["train"]["memory_bytes"] > counts["fused"]["memory_bytes"]
    if variant == "s0":  # the two-trace count gives count_complexity's numbers
        from analysis.complexity import count_complexity

        ref = count_complexity(fused, 32, fuse=False)
        assert {k: getattr(ref, k) for k in counts["fused"]} == counts["fused"]


# --- sequential, ceiling -------------------------------------------------------------------------

def test_plain_sequential_is_the_same_function():
    _, fused = rs.build_pair("s4", 1)
    seq = rt.plain_sequential(fused)
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(seq(x), fused(x))
    n_se = sum(1 for m in fused.modules() if type(m).__name__ == "SEBlock")
    assert len(seq) == 43 * 2 + n_se + 3  # conv + ReLU per block, SE where used, pool/flatten/fc
    with pytest.raises(ConfigError, match="fused"):
        rt.plain_sequential(mobileone("s0"))


def test_interleaved_times_and_ceiling():
    lin = torch.nn.Linear(8, 8)
    t = rt.interleaved_times({"a": lin, "b": lin}, torch.zeros(1, 8), runs=3, warmup=1, threads=1)
    assert set(t) == {"a", "b"} and all(len(v) == 3 and (v > 0).all() for v in t.values())
    c = rt.matmul_ceiling(1, n=64, runs=3)
    assert c["flop"] == 2 * 64 ** 3
    assert c["gflops"] == pytest.approx(c["flop"] / c["min_s"] / 1e9)
    text = rt.ceiling_derivation(c)
    assert "2·64³ = 524,288" in text and f"{c['gflops']:.1f} GFLOP/s" in text


def test_measure_forms_interleaved_in_onnxruntime():
    a = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU())
    b = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Conv2d(4, 4, 1))
    out = rs.measure_forms({"a": a, "b": b}, "onnxruntime", runs=3, warmup=1, threads=1,
                           input_size=8)
    assert set(out) == {"a", "b"}
    assert all(r["n_runs"] == 3 and 0 < r["min_ms"] <= r["median_ms"] for r in out.values())


def test_achieved_fraction_formula():
    table = synthetic_table()
    a = rt.achieved(table, {"gflops": 100.0})
    row = a[(a["variant"] == "S0") & (a["runtime"] == "torch")].iloc[0]
    assert row["gflops"] == pytest.approx(2 * 275e6 / 0.010 / 1e9)
    assert row["fraction_of_ceiling"] == pytest.approx(row["gflops"] / 100)


# --- findings and conclusion on synthetic inputs ------------------------------------------------

def synthetic_table(s0_train=60.0, s0_fused=10.0, s1_train=30.0, s1_fused=20.0,
                    fused_by_k=None, train_by_k=None, rel_f64=1e-15, block=1e-7, whole=0.3):
    """A reparam.csv-like table: S0 at k = 1..4 (official 4) and S1 (k = 1), torch only."""
    fused_by_k = fused_by_k or {1: s0_fused, 2: s0_fused, 3: s0_fused, 4: s0_fused}
    train_by_k = train_by_k or {1: 20.0, 2: 33.0, 3: 47.0, 4: s0_train}
    rows = []
    for k in fused_by_k:
        for form, ms in (("train", train_by_k[k]), ("fused", fused_by_k[k])):
            rows.append(dict(variant="S0", k=k, official_k=k == 4, form=form, runtime="torch", threads=1,
                             min_ms=ms, median_ms=ms * 1.1, macs=275e6 if form == "fused" else 275e6 * k,
                             memory_bytes=(13e6 if form == "fused" else 13e6 * (1 + k)),
                             operators=88 if form == "fused" else 88 + 140 * k,
                             max_rel_diff_f64=rel_f64, max_block_rel_diff_f32=block,
                             max_rel_diff_f32=whole if k == 4 else 1e-6))
    for form, ms in (("train", s1_train), ("fused", s1_fused)):
        rows.append(dict(variant="S1", k=1, official_k=True, form=form, runtime="torch", threads=1,
                         min_ms=ms,
                         median_ms=ms, macs=825e6, memory_bytes=1e7, operators=100,
                         max_rel_diff_f64=rel_f64, max_block_rel_diff_f32=block,
                         max_rel_diff_f32=1e-6))
    return pd.DataFrame(rows)


def sequential_frame(ratio, median=None):
    return pd.DataFrame({"variant": ["S0"], "ratio_min": [ratio],
                         "ratio_median": [ratio if median is None else median],
                         "identical_output": [True], "overhead_us_per_block": [(ratio - 1) * 300]})


def test_conclusion_claims_follow_the_numbers():
    table = synthetic_table()
    text = report.conclusion(report.findings(table, sequential_frame(1.01)))
    assert "S0 (torch, k = 4): 6.00× faster" in text
    assert "S1 (torch, k = 1): 1.50× faster" in text
    assert "≥ 3× faster than train-time S0 (k = 4, PyTorch eager): met" in text
    assert "grows from 20.00 ms (k = 1) to 60.00 ms (k = 4)" in text
    assert "is the run-to-run noise of this measurement; the noise band used here is ±5%" in text
    assert "Target ≤ 1.05: met" in text and "runs as fast as" in text
    assert "**Fusion is exact:**" in text and "not a fusion error" in text
    assert "S0 (k = 4)" in text


def test_conclusion_never_claims_a_speedup_the_numbers_do_not_show():
    # fused S0 slower than train-time, S1 within noise, sweep falling, fused not flat
    table = synthetic_table(s0_train=8.0, s0_fused=10.0, s1_train=20.4, s1_fused=20.0,
                            fused_by_k={1: 10.0, 2: 11.0, 3: 12.0, 4: 10.0},
                            train_by_k={1: 20.0, 2: 15.0, 3: 12.0, 4: 8.0})
    text = report.conclusion(report.findings(table, sequential_frame(1.2)))
    assert "S0 (torch, k = 4): 1.25× slower" in text
    assert "S1 (torch, k = 1): no measurable difference" in text
    assert "S1 (torch, k = 1): 1.02× faster" not in text
    assert ": **not met** — fused S0 is 1.25× slower" in text
    assert "falls from 20.00 ms" in text and "grows" not in text
    # the fused network is identical for every k: its 20 % spread IS the noise band
    assert "20% (10.00–12.00 ms), is the run-to-run noise" in text and "above the" not in text
    assert "±20% is used as the noise band" in text
    assert "Target ≤ 1.05: **not met**" in text and "runs as fast as" not in text
    assert "S0 +60.0 µs" in text and "module call" in text


def test_fused_spread_widens_the_band_for_fused_vs_train():
    # S1: 1.15× faster lies inside the 20 % noise shown by the fused S0 across k
    table = synthetic_table(s1_train=23.0, s1_fused=20.0,
                            fused_by_k={1: 10.0, 2: 11.0, 3: 12.0, 4: 10.0})
    f = report.findings(table)
    assert f["noise_band"] == pytest.approx(0.2)
    assert "S1 (torch, k = 1): no measurable difference (1.15×, within the ±20% noise band)" \
        in report.conclusion(f)
    flat = report.findings(synthetic_table(s1_train=23.0, s1_fused=20.0))
    assert flat["noise_band"] == pytest.approx(0.05)
    assert "S1 (torch, k = 1): 1.15× faster" in report.conclusion(flat)


def test_sequential_verdict_needs_min_and_median_above_target():
    # min ratio 1.08 but median 0.95: within noise, target met; negative overhead not explained
    text = report.conclusion(report.findings(synthetic_table(), sequential_frame(1.08, 0.95)))
    assert "Target ≤ 1.05: met" in text and "not met" not in text.split("Sequential")[-1]
    rows = [{"variant": "S0", "ratio_min": 0.9, "ratio_median": 0.95, "identical_output": True,
             "overhead_us_per_block": -80.6},
            {"variant": "S1", "ratio_min": 1.1, "ratio_median": 1.2, "identical_output": True,
             "overhead_us_per_block": 58.8}]
    v = report.sequential_verdict(rows)
    assert v == {"met": False, "overhead_variants": ["S1"]}
    text = report._sequential_sentence(rows)
    assert "S0 -80.6 µs; S1 +58.8 µs" in text and "–58.8" not in text
    assert "**not met** — S1 is slower" in text and "module call" in text
    neg = report._sequential_sentence([dict(rows[0], ratio_min=1.1, ratio_median=1.1)])
    assert "module call" not in neg


def test_conclusion_reports_an_inexact_fusion():
    text = report.conclusion(report.findings(synthetic_table(rel_f64=1e-3, block=1e-3)))
    assert "**Fusion is not exact here:**" in text and "Fusion is exact:" not in text
    small = report.conclusion(report.findings(synthetic_table(whole=1e-6)))
    assert "Whole networks agree" in small and "not a fusion error" not in small


def test_ceiling_sentence_explains_a_share_above_100_percent():
    table = synthetic_table()
    high = report.conclusion(report.findings(table, achieved=rt.achieved(table, {"gflops": 10.0})))
    assert "above 100 %" in high
    low = report.conclusion(report.findings(table, achieved=rt.achieved(table, {"gflops": 1e4})))
    assert "above 100 %" not in low and "torch: 1% (S1" in low


def test_findings_on_table7_differences():
    t7 = pd.DataFrame({"variant": ["S1", "S1"], "stage": ["1", "2"], "differs": ["channels", ""],
                       "channels_paper": [96, 96], "channels_code": [64, 96]})
    text = report.conclusion(report.findings(synthetic_table(), table7=t7))
    assert "1 of 2 rows match" in text and "S1 stage 1: channels (Table 7 96, built 64)" in text


# --- figures ------------------------------------------------------------------------------------

def _text_boxes(fig):
    """Every drawn, non-empty text: tick labels inside the view limits, titles, labels, legend
    entries, annotations."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    tick_labels, drawn = set(), []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                tick_labels.add(id(tick.label1))
                if lo - 1e-9 <= tick.get_loc() <= hi + 1e-9:
                    drawn.append(tick.label1)
    others = [t for t in fig.findobj(matplotlib.text.Text) if id(t) not in tick_labels]
    texts = [t for t in drawn + others if t.get_visible() and t.get_text().strip()]
    return [(t.get_text(), t.get_window_extent(renderer)) for t in texts
            if t.get_window_extent(renderer).width > 0]


def assert_no_overlap(fig):
    boxes = _text_boxes(fig)
    for (ta, a), (tb, b) in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), f"text {ta!r} overlaps {tb!r}"


def test_figures_draw_without_overlapping_text(tmp_path):
    table = synthetic_table()
    table = pd.concat([table, table.assign(runtime="onnxruntime", min_ms=table["min_ms"] / 2)])
    figs = [
        plots_reparam.plot_fusing_latency(report.speedups(table)),
        plots_reparam.plot_k_sweep(report.k_sweep(table)),
        plots_reparam.plot_ceiling_fraction(rt.achieved(table, {"gflops": 200.0})),
        plots_reparam.plot_sequential_ratio(pd.DataFrame({
            "variant": ["S0", "S1", "S2", "S3", "S4"], "ratio_min": [1.01, 0.99, 1.0, 1.02, 1.0],
            "ratio_median": [1.0, 1.0, 1.03, 0.98, 1.0]})),
    ]
    for fig in figs:
        assert_no_overlap(fig)
        for ax in fig.axes:
            assert ax.get_yscale() == "linear"
        matplotlib.pyplot.close(fig)
    bar_axes = figs[0].axes + figs[2].axes + figs[1].axes
    assert all(ax.get_ylim()[0] == 0 for ax in bar_axes)


def test_figures_name_device_threads_statistic_and_use_the_colour_language():
    table = synthetic_table()
    table = pd.concat([table, table.assign(runtime="onnxruntime", min_ms=table["min_ms"] / 2)])
    seq = pd.DataFrame({"variant": ["S0", "S1"], "ratio_min": [1.01, 0.99],
                        "ratio_median": [1.0, 1.0]})
    figs = [plots_reparam.plot_fusing_latency(report.speedups(table), "Test CPU", 1),
            plots_reparam.plot_k_sweep(report.k_sweep(table), "Test CPU", 1),
            plots_reparam.plot_ceiling_fraction(rt.achieved(table, {"gflops": 200.0}), "Test CPU", 2),
            plots_reparam.plot_sequential_ratio(seq, 1.05, "Test CPU", 1)]
    family = {c.lower() for c in plots.FAMILY_COLORS.values()} - {"#000000"}
    for fig in figs:
        title = fig._suptitle.get_text()
        assert "Test CPU" in title and "thread" in title and "of runs" in title
        for ax in fig.axes:
            assert ax.get_xlabel()
            used = {matplotlib.colors.to_hex(p.get_facecolor()) for p in ax.patches}
            used |= {matplotlib.colors.to_hex(l.get_color()) for l in ax.lines}
            assert not used & family, used & family
        matplotlib.pyplot.close(fig)
    lat = figs[1].axes[0]
    assert {matplotlib.colors.to_hex(l.get_color()) for l in lat.lines} == {
        plots.SERIES_COLORS["torch"].lower(), plots.SERIES_COLORS["onnxruntime"].lower()}
