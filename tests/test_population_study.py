"""analysis.population_study and analysis.plots_population on test-written timm files and
synthetic findings: missing counts, the efficient regime, subsamples, the generated conclusion,
and figures without overlapping text."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from matplotlib.text import Text
from scipy import stats as sps

from analysis import plots_population as pp
from analysis import population_study as ps
from analysis import report_population as rp
from analysis.errors import DataFormatError

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


def test_missing_macs_named_and_excluded_from_macs_only(tmp_path):
    rows = synthetic_rows(30)
    gone = {rows[3][0], rows[11][0], rows[20][0]}
    rows = [(m, s, t, b, p, None if m in gone else g, a) for m, s, t, b, p, g, a in rows]
    table = ps.load_population(write_timm(tmp_path / TIMM_NAME, rows))
    pops = ps.populations(table)
    missing = ps.missing_counts(pops).set_index(["population", "metric"])
    assert missing.loc[("all", "macs"), "n_missing"] == 3
    assert set(missing.loc[("all", "macs"), "models"].split(", ")) == gone
    assert missing.loc[("all", "params"), "n_missing"] == 0
    corr = ps.population_correlations(pops, n_bootstrap=100).set_index(["population", "metric"])
    assert corr.loc[("all", "macs"), "n"] == 27 and corr.loc[("all", "params"), "n"] == 30
    keep = table["macs"].notna()
    ref = sps.spearmanr(table.loc[keep, "macs"], table.loc[keep, "latency_ms"]).statistic
    assert corr.loc[("all", "macs"), "rho"] == pytest.approx(ref, abs=1e-12)
    ref = sps.spearmanr(table["params"], table["latency_ms"]).statistic
    assert corr.loc[("all", "params"), "rho"] == pytest.approx(ref, abs=1e-12)
    text = rp.conclusion(ps.findings(table, pops, corr.reset_index(), None, {}, []))
    assert "3 model(s) lack a MACs count" in text and all(m in text for m in gone)


def test_batch_above_one_is_refused(tmp_path):
    rows = synthetic_rows(5)
    rows[2] = rows[2][:3] + (8,) + rows[2][4:]
    with pytest.raises(DataFormatError, match="(?i)batch"):
        ps.load_population(write_timm(tmp_path / TIMM_NAME, rows))


def test_device_label_from_file_name(timm_file):
    table = ps.load_population(timm_file)
    assert ps.device_label(table) == "Ryzen 7950X CPU (PyTorch 2.4.0, eager)"
    assert ps.device_label(table, runtime=False) == "Ryzen 7950X CPU"
    table = ps.load_population()  # the shipped file
    assert ps.device_label(table) == "i7-12700H CPU (PyTorch 2.4.0, torch.compile)"


def test_efficient_regime_bounds_and_input_size_only_there(timm_file):
    table = ps.load_population(timm_file)
    pops = ps.populations(table, max_gmacs=2, max_params_m=8, max_input_size=256)
    eff = pops["efficient"]
    assert (eff["macs"] <= 2e9).all() and (eff["params"] <= 8e6).all()
    assert (eff["input_size"] <= 256).all() and (table["input_size"] > 256).any()
    assert len(pops["all"]) == len(table)  # the input bound never applies to `all`
    assert set(pops["conv"]["model"].str[:6]) == {"resnet"}
    assert set(pops["transformer"]["model"].str[:3]) == {"vit"}


@pytest.mark.parametrize("name, family", [
    ("tf_mobilenetv3_large_100", "conv"), ("eca_nfnet_l0", "conv"), ("repvit_m1", "conv"),
    ("eca_halonext26ts", "transformer"), ("deit3_small_patch16_224", "transformer"),
    ("mobilevit_xs", "transformer"), ("tiny_vit_5m_224", "transformer"),
    ("mixer_b16_224", "other"), ("fastvit_t8", "other"), ("unknownnet_1", "other")])
def test_family_name_rule(name, family):
    assert ps.family_of(name) == family


def test_figure2_mapping_covers_the_papers_models():
    assert set(ps.FIGURE2_TIMM) | set(ps.FIGURE2_UNFUSED) == set(ps.figure2_names())
    assert len(ps.FIGURE2_TIMM) + len(ps.FIGURE2_UNFUSED) == 21
    assert not set(ps.FIGURE2_TIMM) & set(ps.FIGURE2_UNFUSED)
    table = ps.load_population()
    rows, missing = ps.figure2_rows(table)
    assert len(rows) + len(missing) == 21
    assert {k for k, v in ps.FIGURE2_TIMM.items() if v is None} | set(ps.FIGURE2_UNFUSED) == set(missing)
    # MobileOne: timm's rows are the unfused train-time form, so not the paper's models ...
    assert not rows["model"].str.startswith("mobileone").any()
    s0 = table[(table["model"] == "mobileone_s0") & (table["input_size"] == 224)].iloc[0]
    assert "unfused train-time form" in missing["MobileOne-S0"]
    assert f"{s0['macs'] / 1e9:.3g} GMACs" in missing["MobileOne-S0"] and "0.275 GMACs" in missing["MobileOne-S0"]
    # ... but they stay in the populations timm measured
    pops = ps.populations(table)
    assert pops["all"]["model"].eq("mobileone_s0").any()


def test_subsamples_without_replacement_seeded_per_size():
    part = pd.DataFrame({"macs": np.arange(40.0), "latency_ms": np.arange(40.0) ** 2})
    draws, notes = ps.subsample_rho(part, [5, 10, 30], n_subsamples=50, seed=1)
    assert set(draws) == {5, 10} and "n = 30 skipped" in notes[0]
    assert all(np.allclose(d, 1.0) for d in draws.values())  # monotone: any subset gives 1
    rng = np.random.default_rng(2)
    part = pd.DataFrame({"macs": rng.random(40), "latency_ms": rng.random(40)})
    a, _ = ps.subsample_rho(part, [10], 300, seed=1)
    b, _ = ps.subsample_rho(part, [10, 15], 300, seed=1)
    np.testing.assert_array_equal(a[10], b[10])
    x, y = rng.random((4, 12)), rng.random((4, 12))
    ref = [sps.spearmanr(xi, yi).statistic for xi, yi in zip(x, y)]
    np.testing.assert_allclose(ps._spearman_rows(x, y), ref, atol=1e-12)
    q = ps.subsample_quantiles(a)
    assert list(q.columns) == ["n", "quantile", "rho"]
    assert q.set_index("quantile")["rho"][0.05] == pytest.approx(np.quantile(a[10], 0.05))


def _corr_row(pop, metric, rho, lo, hi, n, exact_p=np.nan, supported=True):
    return {"population": pop, "metric": metric, "rho": rho, "p_value": 0.01, "ci_low": lo,
            "ci_high": hi, "kendall_tau": rho * 0.8, "n": n, "exact_p": exact_p,
            "supported": supported}


def _findings(corr_rows, comparisons=None, draws=None, paper_n=21):
    corr = pd.DataFrame(corr_rows)
    return {"device": "Test CPU", "correlations": corr, "comparisons": comparisons,
            "figure2_missing": {"ShuffleNetV2-1.0": "no timm implementation"},
            "missing": pd.DataFrame(columns=["population", "metric", "n_missing", "models"]),
            "draws": draws or {}, "notes": ["n = 100 skipped: more than half"],
            "paper": pd.DataFrame({"label": ["desktop CPU", "phone"], "rho": [0.06, 0.47]}),
            "paper_n": paper_n}


def test_independent_rho_difference_matches_a_loop_and_decides_by_the_interval():
    rng = np.random.default_rng(3)
    a = pd.DataFrame({"macs": rng.random(15), "latency_ms": rng.random(15)})
    b = pd.DataFrame({"macs": rng.random(12), "latency_ms": rng.random(12)})
    out = ps.independent_rho_difference(a, b, n_bootstrap=300, seed=4)
    loop_rng, boots = np.random.default_rng(4), {}
    for key, part in (("a", a), ("b", b)):  # the same draws, one resample at a time
        idx = loop_rng.integers(0, len(part), size=(300, len(part)))
        boots[key] = np.array([sps.spearmanr(part["macs"].to_numpy()[i],
                                             part["latency_ms"].to_numpy()[i]).statistic for i in idx])
    d = boots["a"] - boots["b"]
    d = d[np.isfinite(d)]
    assert out["ci_low"] == pytest.approx(np.quantile(d, 0.025))
    assert out["ci_high"] == pytest.approx(np.quantile(d, 0.975))
    assert out["delta"] == pytest.approx(sps.spearmanr(a["macs"], a["latency_ms"]).statistic
                                         - sps.spearmanr(b["macs"], b["latency_ms"]).statistic)
    x = np.arange(30.0)
    mono = pd.DataFrame({"macs": x, "latency_ms": x + rng.normal(0, 1, 30)})
    noise = pd.DataFrame({"macs": x, "latency_ms": rng.random(30)})
    assert ps.independent_rho_difference(mono, noise, n_bootstrap=500)["differs"]
    assert not ps.independent_rho_difference(noise, noise.iloc[::-1], n_bootstrap=500)["differs"]


def test_conclusion_compares_families_by_the_interval_of_the_difference():
    base = [_corr_row("all", "macs", 0.9, 0.85, 0.95, 500)]
    fam = {"n_a": 30, "n_b": 20, "rho_a": 0.8, "rho_b": 0.5, "delta": 0.3, "ci_low": 0.05,
           "ci_high": 0.55, "differs": True}
    text = rp.conclusion({**_findings(base), "family_difference": fam})
    assert "ρ_conv − ρ_transformer = +0.30" in text and "excludes 0" in text
    assert "more closely among convolutional models" in text and "overlap" not in text
    text = rp.conclusion({**_findings(base), "family_difference": {
        **fam, "ci_low": -0.004, "ci_high": 0.55, "differs": False}})
    assert "95 % CI -0.004 to +0.550, which includes 0" in text and "no difference" in text
    text = rp.conclusion({**_findings(base), "family_difference": {
        **fam, "delta": -0.002, "ci_low": -0.011, "ci_high": 0.012, "differs": False}})
    assert "= -0.002" in text and "-0.00 " not in text


def test_rounding_never_makes_the_text_contradict_itself():
    f = _findings([_corr_row("all", "macs", 0.982, 0.9801, 0.9849, 500),
                   _corr_row("figure2", "macs", 0.82, 0.4712, 0.97, 12)])
    text = rp.conclusion(f)
    assert "CI 0.980 to 0.985" in text and "0.98 to 0.98" not in text
    assert "95 % CI 0.471 to 0.970" in text and "phone ρ = 0.470 lies below this interval" in text
    draws = {21: np.linspace(0.4690, 0.99, 1001)}  # 5 % quantile 0.4950..., paper 0.47 below
    draws[21][:60] = 0.4702
    text = rp.conclusion(_findings([_corr_row("all", "macs", 0.9, 0.85, 0.95, 500)], draws=draws))
    assert "ranges from 0.4702 to" in text and "phone ρ = 0.4700 lies below" in text
    plain = rp.conclusion(_findings([_corr_row("all", "macs", 0.9, 0.85, 0.95, 500)]))
    assert "CI 0.85 to 0.95" in plain


def test_conclusion_follows_the_numbers():
    rng = np.random.default_rng(0)
    draws = {21: rng.uniform(0.6, 0.95, 1000)}
    f = _findings([_corr_row("all", "macs", 0.9, 0.85, 0.95, 500),
                   _corr_row("efficient", "macs", 0.2, -0.1, 0.45, 40),
                   _corr_row("conv", "macs", 0.6, 0.3, 0.8, 30),
                   _corr_row("transformer", "macs", np.nan, np.nan, np.nan, 0),
                   _corr_row("figure2", "macs", 0.9, np.nan, np.nan, 5, exact_p=0.0167)],
                  draws=draws)
    text = rp.conclusion(f)
    lines = {ln.split(" on ")[0]: ln for ln in text.splitlines()}
    assert "is contradicted" in lines["- All models"]
    assert "holds" in lines["- Efficient regime"]
    assert "is inconclusive" in lines["- Convolutional models"]
    assert "- Transformers: none in this file." in text
    small = lines["- Paper's Figure 2 models"]
    assert "small n = 5" in small and "exact permutation p = 0.017" in small and "CI" not in small
    q05, q95 = np.quantile(draws[21], [0.05, 0.95])
    assert f"ranges from {q05:.2f} to {q95:.2f} (5–95 %)" in text
    assert "desktop CPU ρ = 0.06 lies below the 5 % quantile: none of the 1000 subsets" in text
    assert "ShuffleNetV2-1.0 (no timm implementation)" in text and "n = 100 skipped" in text
    f = _findings([_corr_row("all", "macs", 0.9, 0.85, 0.95, 500)], draws={10: draws[21]})
    assert "No subsample distribution at n = 21" in rp.conclusion(f)


def test_conclusion_calls_a_predictor_better_only_when_the_paired_test_says_so():
    comp = pd.DataFrame([
        {"population": "all", "best": "macs", "other": "params", "delta": 0.1, "ci_low": 0.05,
         "ci_high": 0.15, "p_holm": 0.002, "n_comparisons": 2, "better": True},
        {"population": "all", "best": "macs", "other": "activations", "delta": 0.03,
         "ci_low": -0.02, "ci_high": 0.08, "p_holm": 0.3, "n_comparisons": 2, "better": False}])
    text = rp.conclusion(_findings([_corr_row("all", "macs", 0.9, 0.85, 0.95, 500)], comp))
    line = next(ln for ln in text.splitlines() if ln.startswith("- All models: "))
    assert "rank latency better than parameters (Δρ = +0.10" in line
    assert "not shown to be better than activations" in line
    assert "2 paired comparisons, Holm-adjusted" in line
    no_ci = rp.conclusion(_findings([_corr_row("all", "macs", 0.1, -0.3, 0.4, 30,
                                               supported=False)]))
    assert "an interval that includes 0" in no_ci


def _text_boxes(fig):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    return [(t.get_text(), t.get_window_extent(renderer)) for t in texts]


def _check_figure(fig):
    boxes = _text_boxes(fig)
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
    table = ps.load_population(timm_file)
    pops = ps.populations(table)
    corr = ps.population_correlations(pops, n_bootstrap=50)
    draws, _ = ps.subsample_rho(pops["all"], [5, 10, 21], 100)
    refs = pd.DataFrame({"label": ["paper Table 9, iPhone 12", "paper Table 9, Xeon"],
                         "n": [21, 21], "rho": [0.46, 0.08], "ci_low": [0.0, -0.3],
                         "ci_high": [0.8, 0.5]})
    device = ps.device_label(table, runtime=False)
    eff = table.index.isin(pops["efficient"].index)
    figs = [pp.plot_population_scatter(table, efficient=eff, figure2=table["model"] == "vit_0",
                                       device=device, title="t"),
            pp.plot_population_correlations(corr, populations=ps.POPULATIONS,
                                            population_labels=ps.POPULATION_LABELS),
            pp.plot_subsample_rho(ps.subsample_quantiles(draws), device=device,
                                  population_rho=0.8, paper=ps.paper_table1_macs(),
                                  references=refs)]
    try:
        for fig in figs:
            _check_figure(fig)
        assert "Ryzen 7950X CPU" in figs[0].axes[0].get_ylabel()
    finally:
        import matplotlib.pyplot as plt

        for fig in figs:
            plt.close(fig)


@pytest.mark.parametrize("lo, hi", [(1.3, 15), (10, 40), (0.8, 5), (2, 3), (0.03, 3000)])
def test_log_ticks_at_least_three_plain_labels(lo, hi):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    try:
        ax.set_xscale("log")
        ticks = pp.log_ticks(ax.xaxis, lo, hi)
        assert len(ticks) >= 3 and all(lo <= t <= hi for t in ticks)
    finally:
        plt.close(fig)


def test_reference_points_sit_at_their_true_n_and_colours_follow_the_project():
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_hex

    from analysis import plots

    xs = pp.dodged_positions([21, 17, 21, 17], occupied={10, 21})
    for x, n in zip(xs, [21, 17, 21, 17]):
        assert abs(x / n - 1) <= pp.MAX_DODGE + 1e-12
    assert xs[0] != xs[2] and xs[1] != xs[3] and 21 not in xs[::2]  # apart, off the bar
    assert pp.dodged_positions([17], set()) == [17.0]
    q = pd.DataFrame({"n": [10] * 5 + [21] * 5, "quantile": list(ps.QUANTILES) * 2,
                      "rho": [0.1, 0.3, 0.5, 0.7, 0.9] * 2})
    refs = pd.DataFrame({"label": ["paper Table 9, iPhone 12", "paper Table 9, NVIDIA RTX-2080Ti",
                                   "Figure 2 models on X CPU"], "n": [21, 17, 17],
                         "rho": [0.46, -0.3, 0.8], "ci_low": [0.0, -0.7, 0.5], "ci_high": [0.8, 0.2, 0.95]})
    fig = pp.plot_subsample_rho(q, device="X CPU", references=refs)
    try:
        points = [ln for ln in fig.axes[0].lines if ln.get_marker() in ("D", "v", "P")]
        assert len(points) == 3
        for ln, n in zip(points, refs["n"]):
            assert abs(ln.get_xdata()[0] / n - 1) <= pp.MAX_DODGE + 1e-12
        assert to_hex(points[0].get_color()) == plots.SERIES_COLORS["paper"].lower()
        family = {c.lower() for c in plots.FAMILY_COLORS.values()} - {"#000000"}
        used = {to_hex(ln.get_color()) for ln in fig.axes[0].lines}
        assert not used & family
    finally:
        plt.close(fig)
    assert pp.METRIC_COLORS["macs"] == plots.COST_COLORS["macs"]
    assert pp.METRIC_COLORS["activations"] not in (set(plots.FAMILY_COLORS.values())
                                                   | set(plots.COST_COLORS.values())
                                                   | set(plots.SERIES_COLORS.values()))
