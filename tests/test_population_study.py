"""analysis.studies.population (notebook 05) on test-written timm files, the shipped file and
synthetic findings: loading, populations, the statistics against scipy and explicit loops, the
typed findings and their verdicts, the generated prose (golden files) and the figures."""

from __future__ import annotations

import dataclasses
import itertools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.text import Text
from scipy import stats as sps

from analysis import plots, stats
from analysis.constants import WEAK_THRESHOLD
from analysis.errors import ConfigError, DataFormatError
from analysis.studies import population as study
from analysis.studies.population import compute as pc
from analysis.studies.population import figures as pf
from analysis.studies.population.findings import (Best, Cell, Findings, PaperDevice, PaperValue,
                                                  SubsetRange, Versus)
from hygiene import assert_golden

HEADER = ("model,infer_img_size,infer_samples_per_sec,infer_step_time,infer_batch_size,"
          "param_count,infer_gmacs,infer_macts\n")
TIMM_NAME = "benchmark-infer-fp32-nchw-pt240-cpu-ryzen_7950x-eager.csv"


def write_timm(path, rows):
    """rows: (model, size, step_ms, batch, params_m, gmacs, macts); None → empty cell."""
    text = HEADER + "".join(",".join("" if v is None else str(v) for v in (
        m, s, round(1000 / t, 2), t, b, p, g, a)) + "\n" for m, s, t, b, p, g, a in rows)
    path.write_text(text)
    return path


def synthetic_rows(n=60, seed=0):
    rng = np.random.default_rng(seed)
    gmacs = np.round(np.exp(rng.uniform(np.log(0.05), np.log(20), n)), 3)
    rows = []
    for i, g in enumerate(gmacs):
        name = ("resnet" if i % 2 else "vit") + f"_{i}"
        step = round(float(g * 10 * np.exp(rng.normal(0, 0.4))) + 0.5, 3)
        rows.append((name, 224 if i % 5 else 288, step, 1, round(float(g * 4 + 1), 2), g,
                     round(float(g * 3), 2)))
    return rows


@pytest.fixture
def timm_file(tmp_path):
    return write_timm(tmp_path / TIMM_NAME, synthetic_rows())


@pytest.fixture(scope="module")
def shipped():
    return pc.population()


# -- loading and populations --------------------------------------------------------------------

def test_a_whole_run_on_a_file_with_missing_counts(tmp_path):
    rows = synthetic_rows(40)
    gone = {rows[3][0], rows[11][0], rows[20][0]}
    rows = [(m, s, t, b, p, None if m in gone else g, a) for m, s, t, b, p, g, a in rows]
    path = write_timm(tmp_path / TIMM_NAME, rows)
    P = study.parameters(LATENCY_CSV=str(path), N_BOOTSTRAP=200, N_SUBSAMPLES=100,
                         SUBSAMPLE_SIZES=[5, 10, 30], EFFICIENT_MAX_GMACS=1000,
                         EFFICIENT_MAX_PARAMS_M=10_000, MAX_INPUT_SIZE=4096)  # efficient = all
    result = study.run(P, draw=False)
    f = result.findings
    assert set(f.missing) == {"macs"} and set(f.missing["macs"]) == gone
    assert f.cell("all", "macs").n == 37 and f.cell("all", "params").n == 40
    table = pc.load_population(path)
    keep = table["macs"].notna()
    ref = sps.spearmanr(table.loc[keep, "macs"], table.loc[keep, "latency_ms"]).statistic
    assert f.cell("all", "macs").rho == pytest.approx(ref, abs=1e-12)
    assert f.skipped_sizes == (30,) and f.subset_pool == 37  # 30 > 37 / 2
    assert f.population_sizes["figure2"] == 0 and f.cell("figure2", "macs") is None
    assert f.subsets is None  # no size 21 drawn
    assert set(result.tables) == {"population_correlations", "subsample_rho",
                                  "predictor_comparisons", "missing_counts", "reference_points"}
    summary = result.summary()
    for table_ in summary["tables"].values():
        assert "(undocumented)" not in table_["columns"].values()


def test_batch_above_one_and_two_files_are_refused(tmp_path):
    rows = synthetic_rows(5)
    rows[2] = rows[2][:3] + (8,) + rows[2][4:]
    with pytest.raises(DataFormatError, match="(?i)batch"):
        pc.load_population(write_timm(tmp_path / TIMM_NAME, rows))
    with pytest.raises(ConfigError, match="LATENCY_CSV: one population file expected, got 2"):
        pc.population_file("a.csv, b.csv")
    with pytest.raises(ConfigError, match="SUBSAMPLE_SIZES must be >= 3"):
        study.parameters(SUBSAMPLE_SIZES=[2, 21])


def test_device_label_from_file_name(timm_file, shipped):
    table = pc.load_population(timm_file)
    assert pc.device_label(table) == "Ryzen 7950X CPU (PyTorch 2.4.0, eager)"
    assert pc.device_label(table, runtime=False) == "Ryzen 7950X CPU"
    assert shipped.device == "i7-12700H CPU (PyTorch 2.4.0, torch.compile)"


def test_efficient_regime_bounds_and_input_size_only_there(timm_file):
    data = pc.population(timm_file, max_gmacs=2, max_params_m=8, max_input_size=256)
    eff, table = data.groups["efficient"], data.table
    assert (eff["macs"] <= 2e9).all() and (eff["params"] <= 8e6).all()
    assert (eff["input_size"] <= 256).all() and (table["input_size"] > 256).any()
    assert len(data.groups["all"]) == len(table)  # the input bound never applies to `all`
    assert data.in_efficient.sum() == len(eff)
    assert set(data.groups["conv"]["model"].str[:6]) == {"resnet"}
    assert set(data.groups["transformer"]["model"].str[:3]) == {"vit"}


@pytest.mark.parametrize("name, family", [
    ("tf_mobilenetv3_large_100", "conv"), ("eca_nfnet_l0", "conv"), ("repvit_m1", "conv"),
    ("eca_halonext26ts", "transformer"), ("deit3_small_patch16_224", "transformer"),
    ("mobilevit_xs", "transformer"), ("tiny_vit_5m_224", "transformer"),
    ("mixer_b16_224", "other"), ("fastvit_t8", "other"), ("unknownnet_1", "other")])
def test_family_name_rule(name, family):
    assert pc.family_of(name) == family


def test_figure2_mapping_covers_the_papers_models(shipped):
    assert set(pc.FIGURE2_TIMM) | set(pc.FIGURE2_UNFUSED) == set(pc.figure2_names())
    assert len(pc.FIGURE2_TIMM) + len(pc.FIGURE2_UNFUSED) == 21
    assert not set(pc.FIGURE2_TIMM) & set(pc.FIGURE2_UNFUSED)
    rows, missing = shipped.figure2, shipped.figure2_missing
    assert len(rows) + len(missing) == 21 and shipped.in_figure2.sum() == len(rows)
    assert {k for k, v in pc.FIGURE2_TIMM.items() if v is None} | set(pc.FIGURE2_UNFUSED) \
        == set(missing)
    # MobileOne: timm's rows are the unfused train-time form, so not the paper's models ...
    assert not rows["model"].str.startswith("mobileone").any()
    table = shipped.table
    s0 = table[(table["model"] == "mobileone_s0") & (table["input_size"] == 224)].iloc[0]
    assert f"{s0['macs'] / 1e9:.3g} GMACs" in missing["MobileOne-S0"]
    assert s0["macs"] > 3 * 0.275e9  # ... several times the deployed S0's MACs (Table 9) ...
    assert shipped.groups["all"]["model"].eq("mobileone_s0").any()  # ... but still measured


# -- statistics ------------------------------------------------------------------------------

def test_correlations_match_scipy_on_the_shipped_file(shipped):
    corr = pc.population_correlations(shipped.groups, n_bootstrap=200)
    assert list(corr.columns) == ["population", "metric", *stats.CORRELATION_COLUMNS]
    for pop, metric in (("all", "params"), ("efficient", "macs"), ("figure2", "activations")):
        part = shipped.groups[pop][[metric, "latency_ms"]].dropna()
        row = corr[(corr["population"] == pop) & (corr["metric"] == metric)].iloc[0]
        ref = sps.spearmanr(part[metric], part["latency_ms"])
        assert row["n"] == len(part)
        assert row["rho"] == pytest.approx(ref.statistic, abs=1e-12)
        assert row["kendall_tau"] == pytest.approx(
            sps.kendalltau(part[metric], part["latency_ms"]).statistic, abs=1e-12)
        assert row["ci_low"] <= row["rho"] <= row["ci_high"]


def test_subsamples_without_replacement_seeded_per_size():
    part = pd.DataFrame({"macs": np.arange(40.0), "latency_ms": np.arange(40.0) ** 2})
    draws, skipped = pc.subsample_rho(part, [5, 10, 30], n_subsamples=50, seed=1)
    assert set(draws) == {5, 10} and skipped == [30]
    assert all(np.allclose(d, 1.0) for d in draws.values())  # monotone: any subset gives 1
    rng = np.random.default_rng(2)
    part = pd.DataFrame({"macs": rng.random(40), "latency_ms": rng.random(40)})
    a, _ = pc.subsample_rho(part, [10], 300, seed=1)
    b, _ = pc.subsample_rho(part, [10, 15], 300, seed=1)
    np.testing.assert_array_equal(a[10], b[10])
    idx = np.argsort(np.random.default_rng([1, 10]).random((300, 40)), axis=1)[:, :10]
    x, y = part["macs"].to_numpy(), part["latency_ms"].to_numpy()
    loop = [sps.spearmanr(x[i], y[i]).statistic for i in idx]
    assert len(set(map(tuple, np.sort(idx, axis=1)))) > 290  # distinct subsets ...
    assert all(len(set(i)) == 10 for i in idx)  # ... of distinct models
    np.testing.assert_allclose(a[10], loop, atol=1e-12)
    q = pc.subsample_quantiles(a)
    assert list(q.columns) == ["n", "quantile", "rho"]
    assert q.set_index("quantile")["rho"][0.05] == pytest.approx(np.quantile(a[10], 0.05))


def test_independent_rho_difference_matches_a_loop_and_decides_by_the_interval():
    rng = np.random.default_rng(3)
    a = pd.DataFrame({"macs": rng.random(15), "latency_ms": rng.random(15)})
    b = pd.DataFrame({"macs": rng.random(12), "latency_ms": rng.random(12)})
    out = pc.independent_rho_difference(a, b, n_bootstrap=300, seed=4)
    loop_rng, boots = np.random.default_rng(4), {}
    for key, part in (("a", a), ("b", b)):  # the same draws, one resample at a time
        idx = loop_rng.integers(0, len(part), size=(300, len(part)))
        boots[key] = np.array([sps.spearmanr(part["macs"].to_numpy()[i],
                                             part["latency_ms"].to_numpy()[i]).statistic
                               for i in idx])
    d = boots["a"] - boots["b"]
    d = d[np.isfinite(d)]
    assert out.ci_low == pytest.approx(np.quantile(d, 0.025))
    assert out.ci_high == pytest.approx(np.quantile(d, 0.975))
    assert out.delta == pytest.approx(sps.spearmanr(a["macs"], a["latency_ms"]).statistic
                                      - sps.spearmanr(b["macs"], b["latency_ms"]).statistic)
    x = np.arange(30.0)
    mono = pd.DataFrame({"macs": x, "latency_ms": x + rng.normal(0, 1, 30)})
    noise = pd.DataFrame({"macs": x, "latency_ms": rng.random(30)})
    assert pc.independent_rho_difference(mono, noise, n_bootstrap=500).differs
    assert not pc.independent_rho_difference(noise, noise.iloc[::-1], n_bootstrap=500).differs


# -- findings ----------------------------------------------------------------------------------

def _corr(rows):
    cols = ["population", "metric", "rho", "ci_low", "ci_high", "n", "exact_p", "supported"]
    frame = pd.DataFrame(rows, columns=cols)
    return frame.assign(p_value=0.01)


def test_cells_judge_the_weak_claim_by_the_interval_and_threshold():
    from analysis.studies.population.findings import cells

    t = WEAK_THRESHOLD
    found = cells(_corr([("all", "macs", 0.9, t + 0.01, 0.95, 500, np.nan, True),
                         ("efficient", "macs", 0.2, -t + 0.01, t - 0.01, 40, np.nan, False),
                         ("conv", "macs", 0.6, t - 0.01, 0.8, 30, np.nan, True),
                         ("transformer", "macs", -0.9, -0.95, -t - 0.01, 30, np.nan, True),
                         ("figure2", "macs", 0.9, np.nan, np.nan, 5, 0.0167, True)]))
    verdicts = {c.population: c.weak_claim for c in found}
    assert verdicts == {"all": "contradicted", "efficient": "holds", "conv": "inconclusive",
                        "transformer": "contradicted", "figure2": None}  # n ≤ 8: no interval


def test_findings_of_the_shipped_file_follow_the_tables(shipped):
    P = study.parameters(N_BOOTSTRAP=200, N_SUBSAMPLES=300, SUBSAMPLE_SIZES=[21])
    corr, comp = study.correlate(shipped, P), study.compare(shipped, P)
    subsets, table9 = study.subsample(shipped, P), study.paper_devices(P)
    family = study.family_difference(shipped, P)
    f = study.findings(shipped, corr, comp, subsets, table9, family)
    assert f.paper_n == 21 and f.subsets.count == len(subsets.draws[21])
    assert f.subsets.q05 == pytest.approx(np.quantile(subsets.draws[21], 0.05))
    fig2 = f.cell("figure2", "macs")
    for p in f.paper:  # the paper's Table 1 values, placed by their share of subsets
        assert p.share == pytest.approx(np.mean(subsets.draws[21] <= p.rho))
        assert p.vs_subsets == ("below" if p.share < 0.05 else "above" if p.share > 0.95
                                else "inside")
        assert p.vs_figure2 == ("below" if p.rho < fig2.ci_low else "above"
                                if p.rho > fig2.ci_high else "inside")
    best = {b.population: b for b in f.best}
    assert best["all"].best == corr[corr.population == "all"].set_index("metric")["rho"].idxmax()
    for b in f.best:
        for v in b.versus:
            assert v.better == (v.ci_low > 0 and v.p_holm <= 0.05)
    assert f.family_difference.n_a == len(shipped.groups["conv"])
    assert [d.device for d in f.paper_devices] == sorted(d.device for d in f.paper_devices)
    assert {d.n for d in f.paper_devices} == {21, 17}
    assert set(f.unfused) == set(pc.FIGURE2_UNFUSED)


# -- prose (golden files) ------------------------------------------------------------------------

def _cell(pop, metric, rho, lo, hi, n, supported=True, verdict=None, exact_p=np.nan):
    return Cell(pop, metric, rho, lo, hi, n, 0.01, exact_p, supported, verdict)


def synthetic_findings(**changes) -> Findings:
    cells = (_cell("all", "macs", 0.982, 0.9801, 0.9849, 500, verdict="contradicted"),
             _cell("all", "params", 0.9, 0.85, 0.95, 500, verdict="contradicted"),
             _cell("efficient", "macs", 0.2, -0.1, 0.45, 40, False, "holds"),
             _cell("conv", "macs", 0.6, 0.3, 0.8, 30, verdict="inconclusive"),
             _cell("figure2", "macs", 0.82, 0.4712, 0.97, 12, verdict="inconclusive"),
             _cell("figure2", "params", 0.9, np.nan, np.nan, 5, exact_p=0.0167))
    best = (Best("all", "macs", 500, (Versus("params", 0.1, 0.05, 0.15, 0.002, True),
                                      Versus("activations", 0.03, -0.02, 0.08, 0.3, False))),)
    base = Findings(
        device="Test CPU", population_sizes={"all": 500, "efficient": 40, "conv": 30,
                                             "transformer": 0, "figure2": 12},
        cells=cells, best=best,
        family_difference=pc.RhoDifference(30, 0.8, 20, 0.5, 0.3, -0.004, 0.55, False),
        missing={"macs": ("vit_3", "resnet_11")},
        figure2_missing={"ShuffleNetV2-1.0": "no timm implementation",
                         "MobileOne-S0": "mobileone_s0 in timm is the unfused train-time form"},
        unfused=("MobileOne-S0",), paper_n=21,
        paper=(PaperValue("desktop CPU", 0.06, "below", 0.0, "below"),
               PaperValue("iPhone 12 (phone)", 0.47, "below", 0.0005, "below")),
        subsets=SubsetRange(21, 2000, 0.4702, 0.86, 0.94),
        paper_devices=(PaperDevice("Intel Xeon Gold 5118", 0.08, 21, 0.0, 2000),
                       PaperDevice("NVIDIA RTX-2080Ti", -0.33, 17, float("nan"), 0)),
        skipped_sizes=(100,), subset_pool=150)
    return dataclasses.replace(base, **changes)


def test_conclusion_golden():
    assert_golden("05_conclusion", study.conclusion(synthetic_findings()))


def test_conclusion_without_subsets_family_or_gaps_golden():
    f = synthetic_findings(subsets=None, family_difference=None, missing={}, figure2_missing={},
                           unfused=(), skipped_sizes=(), best=(), paper_devices=())
    assert_golden("05_conclusion_sparse", study.conclusion(f))


def test_describe_names_missing_counts_and_unused_models(tmp_path):
    rows = synthetic_rows(20)
    rows = [(m, s, t, b, p, None if i == 3 else g, a) for i, (m, s, t, b, p, g, a)
            in enumerate(rows)]
    data = pc.population(write_timm(tmp_path / TIMM_NAME, rows))
    text = study.describe(data)
    assert rows[3][0] in text and "missing counts: none" not in text
    assert study.describe_figure2(data).startswith("Figure 2 models: 0 of 21 used")


# -- figures -------------------------------------------------------------------------------------

def _check_figure(fig):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip()]
    for (ta, a), (tb, b) in itertools.combinations(boxes, 2):
        overlap = min(a.x1, b.x1) - max(a.x0, b.x0) > 1 and min(a.y1, b.y1) - max(a.y0, b.y0) > 1
        assert not overlap, f"{ta!r} overlaps {tb!r}"
    for ax in fig.axes:
        for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
            if scale == "log":
                lo, hi = sorted(axis.get_view_interval())
                labelled = [t for t in axis.get_ticklabels() if t.get_text()
                            and lo <= t.get_position()[axis is ax.yaxis] <= hi]
                assert len(labelled) >= 3, [t.get_text() for t in labelled]
                assert not any("e+" in t.get_text() for t in labelled)


def test_figures_have_readable_log_axes_and_no_overlapping_text(timm_file):
    data = pc.population(timm_file)
    P = study.parameters(LATENCY_CSV=str(timm_file), N_BOOTSTRAP=100, N_SUBSAMPLES=100,
                         SUBSAMPLE_SIZES=[5, 10, 21])
    corr = study.correlate(data, P)
    subsets = pc.subsamples(data.groups["all"], [5, 10, 21], 100)
    refs = pd.DataFrame({"label": ["paper Table 9, iPhone 12", "paper Table 9, Xeon"],
                         "n": [21, 21], "rho": [0.46, 0.08], "ci_low": [0.0, -0.3],
                         "ci_high": [0.8, 0.5]})
    figs = {**study.population_figures(data, corr),
            **study.subsample_figures(data, corr, subsets, refs)}
    try:
        assert len(figs) == 3
        for fig in figs.values():
            _check_figure(fig)
        scatter = figs["population_latency_vs_macs_params"]
        assert "Ryzen 7950X CPU" in scatter.axes[0].get_ylabel()
        ticks = figs["subsample_spearman_macs_by_study_size"].axes[0].get_xticks()
        assert list(ticks) == [5, 10, 21]  # the subset sizes label the axis
    finally:
        for fig in figs.values():
            plt.close(fig)


@pytest.mark.parametrize("lo, hi, preferred, expected", [
    (8, 125, [10, 21, 50, 100], [10, 21, 50, 100]),
    (8, 26, [10, 21], [10, 15, 20]),  # two inside: the house ladder instead
    (8, 125, [10, 21, 500], [10, 30, 100])])
def test_log_ticks_prefer_given_values_when_enough_fall_inside(lo, hi, preferred, expected):
    assert plots.log_ticks(lo, hi, preferred=preferred) == expected


def test_reference_points_sit_at_their_true_n_and_colours_follow_the_project():
    xs = pf.dodged_positions([21, 17, 21, 17], occupied={10, 21})
    for x, n in zip(xs, [21, 17, 21, 17]):
        assert abs(x / n - 1) <= pf.MAX_DODGE + 1e-12
    assert xs[0] != xs[2] and xs[1] != xs[3] and 21 not in xs[::2]  # apart, off the bar
    assert pf.dodged_positions([17], set()) == [17.0]
    q = pd.DataFrame({"n": [10] * 5 + [21] * 5, "quantile": list(pc.QUANTILES) * 2,
                      "rho": [0.1, 0.3, 0.5, 0.7, 0.9] * 2})
    refs = pd.DataFrame({"label": ["paper Table 9, iPhone 12", "paper Table 9, NVIDIA RTX-2080Ti",
                                   "Figure 2 models on X CPU"], "n": [21, 17, 17],
                         "rho": [0.46, -0.3, 0.8], "ci_low": [0.0, -0.7, 0.5],
                         "ci_high": [0.8, 0.2, 0.95]})
    fig = pf.plot_subsample_rho(q, device="X CPU", references=refs)
    try:
        points = [ln for ln in fig.axes[0].lines if ln.get_marker() in ("D", "v", "P")]
        assert len(points) == 3
        for ln, n in zip(points, refs["n"]):
            assert abs(ln.get_xdata()[0] / n - 1) <= pf.MAX_DODGE + 1e-12
        assert to_hex(points[0].get_color()) == plots.SERIES_COLORS["paper"].lower()
        family = {c.lower() for c in plots.FAMILY_COLORS.values()} - {"#000000"}
        used = {to_hex(ln.get_color()) for ln in fig.axes[0].lines}
        assert not used & family
    finally:
        plt.close(fig)
    assert pf.METRIC_COLORS["macs"] == plots.COST_COLORS["macs"]
    assert pf.METRIC_COLORS["activations"] not in (set(plots.FAMILY_COLORS.values())
                                                   | set(plots.COST_COLORS.values())
                                                   | set(plots.SERIES_COLORS.values()))
