"""analysis.studies.population (notebook 05) on test-written timm files, the shipped file and
synthetic data: loading, populations and architectures; inference with architectures as the
unit against scipy, explicit loops and a row bootstrap (clustered intervals are wider, permuting
architectures keeps the error rate, verdicts hold across seeds); typed findings; generated
prose that claims no more than its verdicts (golden files); the figures."""

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

from analysis import inference, plots
from analysis.constants import BEST_PROBABILITY
from analysis.errors import ConfigError, DataFormatError
from analysis.studies import population as study
from analysis.studies.population import compute as pc
from analysis.studies.population import figures as pf
from analysis.studies.population import resampling as rs
from analysis.studies.population.compute import METRICS
from analysis.studies.population.findings import (Best, Cell, Findings, PaperValue, Placed,
                                                  SubsetRange, Versus, place)
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
                         N_PERMUTATIONS=199, SUBSAMPLE_SIZES=[5, 10, 30],
                         EFFICIENT_MAX_GMACS=1000, EFFICIENT_MAX_PARAMS_M=10_000,
                         MAX_INPUT_SIZE=4096)  # efficient = all
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
                                  "predictor_comparisons", "best_probability", "missing_counts",
                                  "reference_points"}
    gaps = result.tables["missing_counts"].frame
    assert (gaps["n_missing"] > 0).all() and set(gaps["metric"]) == {"macs"}  # only gaps
    assert f.paper_models is None and f.takeaway.startswith("On one Ryzen 7950X CPU")
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


# -- architectures ---------------------------------------------------------------------------

@pytest.mark.parametrize("model, size, arch", [
    ("resnet50", 160, "resnet50"), ("resnet50", 288, "resnet50"),
    ("vit_base_patch16_384", 384, "vit_base_patch16"), ("vit_base_patch16_224", 224,
                                                       "vit_base_patch16"),
    ("levit_384", 224, "levit_384"),  # 384 is its width, not its input size
    ("tf_efficientnet_b0", 224, "efficientnet_b0"), ("legacy_seresnet50", 224, "seresnet50"),
    ("eca_nfnet_l0", 224, "eca_nfnet_l0")])  # ECA is another architecture, not a port
def test_architecture_of(model, size, arch):
    assert pc.architecture_of(model, size) == arch


def test_the_shipped_file_has_fewer_architectures_than_rows(shipped):
    table = shipped.table
    assert table["architecture"].nunique() < table["model"].nunique() < len(table)
    assert table.loc[table["model"] == "resnet50", "architecture"].nunique() == 1
    assert (table["model"] == "resnet50").sum() == 4  # 160, 176, 224 and 288 px
    rows = pc.representative(table[table["model"] == "resnet50"])
    assert list(rows["input_size"]) == [224]


def test_representative_row_is_nearest_224_ties_to_the_smaller():
    part = pd.DataFrame({"architecture": ["a", "a", "b", "b", "c"],
                         "input_size": [192, 256, 288, 160, 384]})
    assert list(pc.representative(part)["input_size"]) == [192, 160, 384]


# -- inference with architectures as the unit ---------------------------------------------------

def clustered(k=40, copies=4, signal=1.0, seed=0, scale=True):
    """``k`` architectures, each at ``copies`` input sizes: MACs and latency grow with the size
    (``scale``), else the rows of one architecture are identical — the same evidence
    repeated."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=k)
    y = signal * x + rng.normal(size=k)
    sizes = [224, 160, 192, 288][:copies]
    rows = [{"architecture": f"a{i}", "input_size": s,
             "macs": np.exp(x[i]) * (s / 224 if scale else 1),
             "latency_ms": np.exp(y[i]) * (s / 224 if scale else 1),
             "params": np.exp(x[i] + rng.normal(0, 0.5)), "activations": np.exp(y[i])}
            for i in range(k) for s in sizes]
    return pd.DataFrame(rows)


def test_cluster_bootstrap_is_wider_than_a_row_bootstrap_when_rows_repeat():
    part = clustered(k=40, copies=4, signal=0.6, scale=False)
    boot = rs.resample({"all": part}, ("macs",), n_bootstrap=2000, seed=1)
    cluster = np.subtract(*np.quantile(boot.rhos[("all", "macs")], [0.975, 0.025]))
    rows = inference.cluster_bootstrap_rhos(part["macs"], part["latency_ms"],
                                            np.arange(len(part)), n_bootstrap=2000, seed=1)
    naive = np.subtract(*np.quantile(rows, [0.975, 0.025]))
    assert cluster > 1.6 * naive  # four copies: about √4 = 2 times wider
    table = rs.correlation_table({"all": part}, boot, ("macs",), n_permutations=199)
    row = table.iloc[0]
    assert (row["n"], row["n_architectures"], row["ci_method"]) == (160, 40, rs.CLUSTER)
    assert row["ci_high"] - row["ci_low"] == pytest.approx(cluster, rel=0.02)


def test_one_row_per_architecture_gets_the_fisher_interval():
    part = clustered(k=12, copies=1, signal=1.0)
    boot = rs.resample({"figure2": part}, ("macs",), n_bootstrap=300)
    row = rs.correlation_table({"figure2": part}, boot, ("macs",), n_permutations=199).iloc[0]
    assert row["ci_method"] == rs.FISHER
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(inference.fisher_interval(
        sps.spearmanr(part["macs"], part["latency_ms"]).statistic, 12))


def test_permutation_p_equals_an_explicit_loop_and_the_exact_test():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=15), rng.normal(size=15)
    y = y + 0.4 * x
    out = rs.permutation_tests({"m": x}, y, n_permutations=500, seed=9, chunk=64)["m"]
    perm_rng, ry = np.random.default_rng(9), sps.rankdata(y) - 8.0
    hits = 0
    for start in range(0, 500, 64):  # the same permutations, one at a time
        block = perm_rng.permuted(np.broadcast_to(ry, (min(64, 500 - start), 15)), axis=1)
        hits += sum(abs(sps.spearmanr(x, b).statistic) >= abs(out.rho) - 1e-12 for b in block)
    assert out.p == pytest.approx((1 + hits) / 501) and not out.exact
    assert out.floor == pytest.approx(1 / 501)
    small = rs.permutation_tests({"m": x[:7]}, y[:7], n_permutations=500, seed=0)["m"]
    assert small.exact and small.p == pytest.approx(inference.permutation_p(x[:7], y[:7]).p)


def test_permuting_architectures_keeps_the_false_positive_rate_and_rows_do_not():
    """No association, each architecture's row repeated four times: permuting rows treats the
    copies as evidence and rejects far too often; permuting architectures, about α."""
    naive = honest = 0
    for seed in range(60):
        part = clustered(k=15, copies=4, signal=0.0, seed=seed, scale=False)
        rows = rs.permutation_tests({"m": part["macs"].to_numpy()},
                                    part["latency_ms"].to_numpy(), 199, seed)["m"]
        arch = rs.population_tests(part, ["macs"], 199, seed)["macs"]
        naive += rows.p <= 0.05
        honest += arch.p <= 0.05
    assert naive / 60 > 0.3 and honest / 60 <= 0.15


@pytest.mark.parametrize("signal, supported, claim", [(3.0, True, "contradicted"),
                                                     (0.0, False, "holds")])
def test_verdicts_do_not_change_with_the_seed(signal, supported, claim):
    part = clustered(k=150, copies=3, signal=signal, seed=2)
    seen = set()
    for seed in range(5):
        boot = rs.resample({"all": part}, ("macs",), n_bootstrap=400, seed=seed)
        row = rs.correlation_table({"all": part}, boot, ("macs",), n_permutations=499,
                                   seed=seed).iloc[0]
        seen.add((bool(row["supported"]), row["weak_claim"]))
    assert seen == {(supported, claim)}


def test_metrics_against_macs_paired_and_selection_aware():
    part = clustered(k=60, copies=2, signal=3.0, seed=4)
    boot = rs.resample({"all": part}, METRICS, n_bootstrap=500, seed=0)
    out = rs.comparisons({"all": part}, boot, METRICS)
    v = out.versus.set_index("metric")
    assert set(v.index) == {"params", "activations"} and (v["reference"] == "macs").all()
    assert v.loc["params", "verdict"] == "worse"  # params carry extra noise
    d = boot.paired["all"]["params"] - boot.paired["all"]["macs"]
    assert v.loc["params", "ci_high"] == pytest.approx(np.quantile(d, 0.975))
    assert (v["p_holm"] >= v["p_value"]).all()
    best = out.best.set_index("metric")["p_best"]
    assert best.sum() == pytest.approx(1.0)
    tie = rs.Resamples({}, {"x": {"macs": np.array([.5, .6]), "params": np.array([.5, .6])}}, 2)
    shares = rs.best_probability(tie, ("macs", "params"))
    assert list(shares["p_best"]) == [0.5, 0.5] and not shares["called_best"].any()


def test_family_difference_uses_independent_streams():
    a, b = clustered(k=30, seed=1), clustered(k=30, seed=1)  # the same data twice
    boot = rs.resample({"conv": a, "transformer": b}, ("macs",), n_bootstrap=400, seed=0)
    assert not np.array_equal(boot.rhos[("conv", "macs")], boot.rhos[("transformer", "macs")])
    diff = rs.rho_difference({"conv": a, "transformer": b}, boot)
    assert diff.delta == 0 and diff.ci_low < 0 < diff.ci_high and not diff.differs
    assert (diff.n_a, diff.architectures_a) == (120, 30)


def test_subsets_hold_distinct_architectures(shipped):
    subsets = pc.subsamples(shipped.groups["efficient"], [21, 10_000], 50, extra=[12, 2])
    pool = pc.representative(shipped.groups["efficient"])
    assert subsets.pool == len(pool) == shipped.groups["efficient"]["architecture"].nunique()
    assert set(subsets.draws) == {12, 21} and subsets.skipped == (10_000,)  # extras: silent


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
    assert all(len(set(i)) == 10 for i in idx)
    np.testing.assert_allclose(a[10], loop, atol=1e-11)


def test_correlations_of_the_shipped_file_match_scipy(shipped):
    boot = rs.resample(shipped.groups, METRICS, n_bootstrap=200)
    corr = rs.correlation_table(shipped.groups, boot, METRICS, n_permutations=199)
    assert list(corr.columns) == list(rs.CORRELATION_COLUMNS)
    for pop, metric in (("all", "params"), ("efficient", "macs"), ("figure2", "activations")):
        part = shipped.groups[pop][[metric, "latency_ms", "architecture"]].dropna()
        row = corr[(corr["population"] == pop) & (corr["metric"] == metric)].iloc[0]
        assert row["n"] == len(part) and row["n_architectures"] == part["architecture"].nunique()
        assert row["rho"] == pytest.approx(sps.spearmanr(part[metric],
                                                         part["latency_ms"]).statistic)
        assert row["ci_low"] <= row["rho"] <= row["ci_high"]
    q = inference.benjamini_hochberg(corr["p_permutation"])
    np.testing.assert_allclose(corr["p_bh"], q)
    assert (corr["supported"] == (corr["p_bh"] <= 0.05)).all()


# -- findings --------------------------------------------------------------------------------

@pytest.mark.parametrize("share, count, expected", [
    (0.0, 2000, ("below", False)), (0.025, 2000, ("below", False)),
    (0.049, 2000, ("below", True)), (0.5, 2000, ("inside", False)),
    (0.99, 2000, ("above", False)), (float("nan"), 0, (None, False))])
def test_place_in_the_subset_distribution(share, count, expected):
    assert place(share, count) == expected


def test_findings_of_the_shipped_file_follow_the_tables(shipped):
    P = study.parameters(N_BOOTSTRAP=200, N_SUBSAMPLES=300, SUBSAMPLE_SIZES=[21],
                         N_PERMUTATIONS=199)
    boot = study.resample(shipped, P)
    corr, comp = study.correlate(shipped, boot, P), study.compare(shipped, boot)
    table9 = study.paper_devices(P)
    subsets = study.subsample(shipped, table9, P)
    points = study.reference_points(shipped, corr, table9, subsets)
    f = study.findings(shipped, corr, comp, subsets, points,
                       study.family_difference(shipped, boot))
    assert f.paper_n == 21 and f.subsets.count == len(subsets.draws[21])
    assert f.n_architectures == shipped.table["architecture"].nunique() < f.n_rows
    assert f.compiled and f.n_permutations == 199 and f.n_bootstrap == 200
    m = f.paper_models  # the paper's own models on this CPU, among random sets of their size
    assert m.n == len(shipped.figure2) == 12 and m.range.count == len(subsets.draws[12])
    assert m.share == pytest.approx(np.mean(subsets.draws[12] <= round(m.rho, 12)))
    assert m.rho == f.cell("figure2", "macs").rho
    assert {d.n for d in f.paper_devices} == {21, 17} and all(d.range for d in f.paper_devices)
    for p in f.paper:
        assert p.share == pytest.approx(np.mean(subsets.draws[21] <= p.rho))
    for b in f.best:
        assert b.called is None or b.p_best[b.called] >= BEST_PROBABILITY
    assert 0 < len(f.takeaway.split(". ")) <= 3 and f.takeaway.endswith(".")


# -- prose (golden files and claims) -----------------------------------------------------------

def _cell(pop, metric, rho, lo, hi, n, k=None, supported=True, verdict=None, p=1e-4,
          p_bh=None, exact=False):
    k = n if k is None else k
    method = rs.FISHER if k == n else rs.CLUSTER
    return Cell(pop, metric, rho, lo, hi, method, n, k, p, p if p_bh is None else p_bh,
                np.nan if exact else 1e-4, exact, supported, False, verdict)


def synthetic_findings(**changes) -> Findings:
    cells_ = (_cell("all", "macs", 0.982, 0.9801, 0.9849, 500, 400, verdict="contradicted",
                    p_bh=1.5e-4),
              _cell("all", "params", 0.9, 0.85, 0.95, 500, 400, verdict="contradicted"),
              _cell("efficient", "macs", 0.2, -0.1, 0.45, 40, 35, False, "holds", p=0.2,
                    p_bh=0.25),
              _cell("conv", "macs", 0.6, 0.3, 0.8, 30, verdict="inconclusive", p=0.001,
                    p_bh=0.0012),
              _cell("figure2", "macs", 0.61, -0.03, 0.9, 12, verdict="inconclusive", p=0.04,
                    p_bh=0.045),
              _cell("figure2", "params", 0.9, np.nan, np.nan, 5, p=0.0167, exact=True))
    best = (Best("all", 500, 400, "macs", {"macs": 0.97, "params": 0.01, "activations": 0.02},
                 "macs", (Versus("params", -0.1, -0.15, -0.05, 0.0005, 0.001, "worse"),
                          Versus("activations", -0.03, -0.08, 0.02, 0.3, 0.3, "not shown"))),)
    models = Placed("Figure 2 models on Test CPU", 0.61, 12, -0.03, 0.9, 0.025, "below", False,
                    SubsetRange(12, 2000, 0.67, 0.87, 0.97))
    base = Findings(
        device="Test CPU (PyTorch 2.4.0, torch.compile)", compiled=True, n_rows=500,
        n_names=450, n_architectures=400,
        population_sizes={"all": 500, "efficient": 40, "conv": 30, "transformer": 0,
                          "figure2": 12},
        population_architectures={"all": 400, "efficient": 35, "conv": 30, "transformer": 0,
                                  "figure2": 12},
        cells=cells_, best=best,
        family_difference=rs.RhoDifference(30, 30, 0.8, 20, 20, 0.5, 0.3, -0.004, 0.55, False),
        missing={"macs": ("vit_3", "resnet_11")},
        figure2_missing={"ShuffleNetV2-1.0": "no timm implementation",
                         "MobileOne-S0": "mobileone_s0 in timm is the unfused train-time form"},
        unfused=("MobileOne-S0",), paper_n=21,
        paper=(PaperValue("desktop CPU", 0.06, "inside", 0.0, "below"),
               PaperValue("iPhone 12 (phone)", 0.47, "inside", 0.0005, "below")),
        subsets=SubsetRange(21, 2000, 0.7502, 0.88, 0.95), paper_models=models,
        paper_devices=(Placed("paper Table 9, Intel Xeon Gold 5118", 0.08, 21, -0.36, 0.5, 0.0,
                              "below", False, SubsetRange(21, 2000, 0.7502, 0.88, 0.95)),
                       Placed("paper Table 9, NVIDIA RTX-2080Ti", -0.33, 17, -0.7, 0.19,
                              float("nan"), None, False, None)),
        skipped_sizes=(100,), subset_pool=150, n_permutations=9999, n_bootstrap=2000)
    found = dataclasses.replace(base, **changes)
    return dataclasses.replace(found, takeaway=study.takeaway(found))


def test_conclusion_golden():
    text = study.conclusion(synthetic_findings())
    assert_golden("05_conclusion", text)
    assert text.startswith("**Takeaway.** On one Test CPU")  # the answer first
    assert "permutation p < 1/10 000" in text and "0.0001" not in text  # p at the floor
    assert "Holm p < 0.001" in text  # adjusted from a p at the bootstrap floor
    assert "test and interval disagree" in text  # figure2: p ≤ α, interval includes 0


def test_conclusion_without_subsets_family_or_gaps_golden():
    f = synthetic_findings(subsets=None, family_difference=None, missing={}, figure2_missing={},
                           unfused=(), skipped_sizes=(), best=(), paper_devices=(),
                           paper_models=None)
    text = study.conclusion(f)
    assert_golden("05_conclusion_sparse", text)
    assert "left out" not in text and "not used" not in text  # nothing dangles


def test_a_p_near_alpha_is_called_borderline():
    f = synthetic_findings()
    near = dataclasses.replace(f.cells[4], borderline=True)
    text = study.conclusion(synthetic_findings(cells=(*f.cells[:4], near, f.cells[5])))
    assert "borderline (the BH p lies within three Monte Carlo standard errors" in text
    assert "borderline (the BH p" not in study.conclusion(f)


def _sentences(text):
    return [s for s in text.replace("e.g.", "eg").split(". ") if s]


@pytest.mark.parametrize("verdict, says, never", [
    ("contradicted", "closely", "weakly"), ("holds", "only weakly", "closely"),
    ("inconclusive", "neither clearly", "closely, contradicting"),
    ("borderline", "neither clearly", "closely, contradicting")])
def test_the_takeaway_says_no_more_than_the_verdict_on_strength(verdict, says, never):
    f = synthetic_findings()
    cell = dataclasses.replace(f.cells[0], weak_claim=verdict)
    text = synthetic_findings(cells=(cell, *f.cells[1:])).takeaway
    assert says in text and never not in text and len(_sentences(text)) <= 3


@pytest.mark.parametrize("where, borderline, says, never", [
    ("below", False, "pulls ρ below", "can explain"),
    ("inside", False, "can explain", "pulls ρ below"),
    ("below", True, "borderline", "pulls ρ below")])
def test_the_takeaway_on_model_selection_follows_the_placement(where, borderline, says, never):
    m = dataclasses.replace(synthetic_findings().paper_models, place=where,
                            borderline=borderline, share=0.3 if where == "inside" else 0.04)
    text = synthetic_findings(paper_models=m).takeaway
    assert says in text and never not in text


def test_the_takeaway_scopes_to_the_runtime_and_the_papers_value():
    f = synthetic_findings()
    assert "fuses the element-wise work" in f.takeaway and "does not produce" in f.takeaway
    eager = synthetic_findings(compiled=False, device="Test CPU (PyTorch 2.4.0, eager)")
    assert "fuses" not in eager.takeaway and "fuses" not in study.conclusion(eager)
    inside = tuple(dataclasses.replace(p, vs_subsets="inside", share=0.2) for p in f.paper)
    assert "does not produce" not in synthetic_findings(paper=inside).takeaway


def test_describe_names_missing_counts_and_left_out_models(tmp_path):
    rows = synthetic_rows(20)
    rows = [(m, s, t, b, p, None if i == 3 else g, a) for i, (m, s, t, b, p, g, a)
            in enumerate(rows)]
    data = pc.population(write_timm(tmp_path / TIMM_NAME, rows))
    text = study.describe(data)
    assert rows[3][0] in text and "missing counts: none" not in text
    assert "20 architectures" in text
    figure2 = study.describe_figure2(data)
    assert figure2.startswith("Figure 2 models: 0 of 21 used. Left out, with the reason:")
    assert len(figure2.splitlines()) == 22  # every model left out has its line


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
                         SUBSAMPLE_SIZES=[5, 10, 21], N_PERMUTATIONS=99)
    corr = study.correlate(data, study.resample(data, P), P)
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
