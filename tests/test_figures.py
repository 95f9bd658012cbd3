"""Every figure function on the shipped data: no two texts overlap (rendered extents), and
every log axis has at least three labelled ticks. The checks are shown to fail first."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from analysis import plots  # noqa: E402
from analysis.studies import correlation  # noqa: E402
from analysis.studies.ablation import compute as ablation  # noqa: E402
from analysis.studies.ablation import figures as ablation_figures  # noqa: E402
from analysis.studies.ablation import measure as ablation_measure  # noqa: E402


def labelled_log_ticks(ax, which: str) -> list[str]:
    axis = getattr(ax, f"{which}axis")
    lo, hi = sorted(getattr(ax, f"get_{which}lim")())
    return [t.get_text() for t, v in zip(axis.get_ticklabels(), axis.get_ticklocs())
            if t.get_text().strip() and lo <= v <= hi]


def check(fig) -> None:
    assert plots.text_overlaps(fig) == []
    fig.canvas.draw()
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        for which in ("x", "y"):
            if getattr(ax, f"get_{which}scale")() == "log":
                ticks = labelled_log_ticks(ax, which)
                assert len(ticks) >= 3, (ax.get_title(), which, ticks)
                assert not any("e+" in t for t in ticks), ticks  # plain numbers
    plots.plt.close(fig)


@pytest.fixture(scope="module")
def study01():
    """Notebook 01's default study (every shipped device) with few resamples."""
    params = correlation.parameters(N_BOOTSTRAP=200, N_PERMUTATIONS=199)
    inputs = correlation.load(params)
    joined = correlation.join(params, inputs)
    return params, inputs, joined


def test_the_check_can_fail():
    fig, ax = plots.new_figure()
    ax.text(0.5, 0.5, "overlapping")
    ax.text(0.5, 0.5, "overlapping too")
    assert plots.text_overlaps(fig)
    fig2, ax2 = plots.new_figure()
    ax2.plot([1, 1.5], [1, 1.5])
    ax2.set_xscale("log")
    ax2.xaxis.set_major_locator(matplotlib.ticker.FixedLocator([1]))
    with pytest.raises(AssertionError):
        check(fig2)
    plots.plt.close("all")


def test_log_ticks_are_plain_and_at_least_three():
    assert plots.log_ticks(1.3, 15) == [2, 5, 10]
    assert len(plots.log_ticks(10, 40)) >= 3
    fig, ax = plots.new_figure()  # a 3-model device at 4.0-5.5 ms: the axis widens a little
    ax.plot([1, 2, 3], [4.0, 4.8, 5.5])
    ax.set_yscale("log")
    plots.plain_log_axis(ax, "y")
    assert len(labelled_log_ticks(ax, "y")) >= 3 and "5" in labelled_log_ticks(ax, "y")
    plots.plt.close(fig)
    assert plots.plain_number(1e6) == "1,000,000" and plots.plain_number(0.5) == "0.5"


def test_figure2_every_shipped_device(study01):
    _, inputs, joined = study01
    figures = correlation.figure2(inputs, joined)
    assert len(figures) == joined.frame["device"].nunique()
    for fig in figures.values():
        check(fig)


def test_predictor_ranking_and_agreement(study01):
    params, inputs, joined = study01
    table1 = correlation.reproduce_table1(params, joined)
    tests = correlation.adjust(table1, correlation.correlate(params, joined),
                               correlation.compare_metrics(params, joined),
                               correlation.agree(params, joined),
                               correlation.conv_only(params, joined),
                               correlation.versus_paper(params, inputs, joined))
    ranking = correlation.ranking(joined, tests)["predictor_ranking_spearman_by_device"]
    legend = ranking.legends[0]
    drawn = {tuple(line.get_markerfacecolor() for line in ax.lines if line.get_marker() == "o")
             for ax in ranking.axes}
    assert any("white" in faces for faces in drawn)  # hollow markers exist, as the legend says
    assert [t.get_text() for t in legend.get_texts()][:2] == [
        "ρ ≠ 0 supported after adjustment", "ρ ≠ 0 not shown"]
    check(ranking)
    heat = correlation.heatmap(inputs, tests)["device_rank_agreement_heatmap"]
    ax = heat.axes[0]
    xlabels = [t.get_text() for t in ax.get_xticklabels()]
    assert "iPhone 12" in xlabels and not any(t.isdigit() for t in xlabels)  # names, not 1–5
    cells = [t.get_text() for t in ax.texts]
    assert len(cells) == len(tests.agreement)  # one triangle: each pair once
    assert sum(t.endswith("*") for t in cells) == int(
        (tests.agreement["supported"] & (tests.agreement["rho"] > 0)).sum())
    check(heat)


def test_figure2_labels_sit_beside_their_own_point():
    """A label without a leader line is nearer its own point than any other; leader lines never
    cross — the check can fail (two points, labels swapped)."""
    fig, ax = plots.new_figure()
    xs, ys = [1, 2, 3, 10, 10.5], [1, 1.1, 1.2, 5, 5.2]
    ax.scatter(xs, ys)
    ax.set_xscale("log")
    ax.set_yscale("log")
    labels = ["alpha", "beta", "gamma", "delta-long-name", "epsilon"]
    assert plots.place_labels(ax, xs, ys, labels) == []
    renderer = fig.canvas.get_renderer()
    pts = ax.transData.transform(np.column_stack([xs, ys]))
    segments = []
    for ann in ax.texts:
        i = labels.index(ann.get_text())
        box = matplotlib.text.Text.get_window_extent(ann, renderer)
        if ann.arrow_patch is None:
            own = plots._distance(box, *pts[i])
            assert all(own < plots._distance(box, *p) for j, p in enumerate(pts) if j != i)
        else:
            segments.append((tuple(pts[i]), plots._anchor(box, *pts[i])))
    assert not any(plots._crosses(*a, *b) for a in segments for b in segments if a != b)
    assert plots._crosses((0, 0), (1, 1), (0, 1), (1, 0))
    plots.plt.close(fig)


@pytest.mark.parametrize("notebook", ["02_activation_ablation", "03_block_ablation"])
def test_ablation_charts_on_the_papers_values(notebook):
    spec = ablation.TABLES[notebook]
    data = ablation_measure.read_latency(shipped=ablation_measure.shipped_files())
    long = ablation.series_table(spec, ablation_measure.measured_series(spec, data))
    check(ablation_figures.latency_figure(spec, long))
    check(ablation_figures.slowdown_figure(spec, long))
    nets = ablation.build_networks(spec, depth=30, width=8, input_size=32)
    check(ablation_figures.cost_figure(spec, ablation.complexity_table(spec, nets, 32)))


def test_palettes_never_share_a_colour():
    families = set(plots.FAMILY_COLORS.values())
    series = set(plots.SERIES_COLORS.values()) | set(plots.DEVICE_COLORS)
    costs = set(plots.COST_COLORS.values())
    assert not (families & series) and not (families & costs) and not (series & costs)
