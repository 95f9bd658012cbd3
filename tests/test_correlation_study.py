"""analysis.studies.correlation (notebook 01) in-process: which files and models a run reads,
what it leaves out and why, its parameter rules, the statistics against scipy, the typed
findings and their verdicts on synthetic tables, and the generated prose (golden files)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from analysis import paths
from analysis.constants import EXACT_MAX_N, WEAK_THRESHOLD
from analysis.errors import ConfigError
from analysis.latency import manifest
from analysis.stats import correlation_table, paired_comparisons, rank_agreement
from analysis.studies import correlation as study
from analysis.studies.columns import UNDOCUMENTED
from analysis.studies.correlation import compute, findings as fd, prose
from analysis.studies.params import quick_parameters, spec
from hygiene import assert_golden

STEM = study.NOTEBOOK
QUICK = quick_parameters(STEM)

USER_FILE = """model,latency_ms,device,runtime,statistic
MobileOne-S0,0.9,Pixel 7,onnxruntime,min
MobileOne-S1,1.3,Pixel 7,onnxruntime,min
MobileNetV1,1.1,Pixel 7,onnxruntime,min
MobileNetV2-x1.0,1.2,Pixel 7,onnxruntime,min
MobileNetV3-S,0.7,Pixel 7,onnxruntime,min
ShuffleNetV2-1.0,0.8,Pixel 7,onnxruntime,min
EfficientNet-B0,2.0,Pixel 7,onnxruntime,min
DeiT-tiny,5.0,Pixel 7,onnxruntime,min
PiT-ti,6.0,Pixel 7,onnxruntime,min
MobileViT-XS,4.0,Pixel 7,onnxruntime,min
ConViT-tiny,9.0,Pixel 7,onnxruntime,min
RepVGG-A0,1.6,Pixel 7,onnxruntime,min
"""


@pytest.fixture(scope="module")
def quick_run():
    """The quick profile in-process, without figures."""
    params = study.parameters(**QUICK)
    return params, study.run(params, draw=False)


@pytest.fixture
def user_csv(tmp_path):
    path = tmp_path / "pixel.csv"
    path.write_text(USER_FILE)
    return path


# -- files, devices, models -----------------------------------------------------------------------

def test_the_shipped_study_and_a_users_files_come_from_the_manifest(user_csv):
    assert compute.study_files() == manifest.study_files(content="zoo")
    assert compute.study_files(str(user_csv)) == [user_csv, *manifest.reference_files()]
    assert compute.study_files([str(user_csv)], with_reference=False) == [user_csv]
    latency = compute.read_latency(compute.study_files(str(user_csv)))
    sources = compute.device_sources(latency)
    assert sources["Pixel 7"] == "your file" and sources["iPhone 12"] == "paper"
    shipped = compute.device_sources(compute.read_latency(compute.study_files()))
    assert shipped["AMD EPYC · torch"] == "this project"  # manifest kind "campaign"


def test_a_series_names_its_runtime_and_regime_only_where_a_device_has_several():
    frame = pd.DataFrame({"device": ["A", "A", "B", "C", "C"],
                          "runtime": ["torch", "onnxruntime", "coreml", "torch", "torch"],
                          "regime": ["", "", "", "eager fp32", "graph fp16"]})
    assert list(compute.device_key(frame)) == ["A · torch", "A · onnxruntime", "B",
                                               "C · eager fp32", "C · graph fp16"]


def test_a_user_file_analyses_every_zoo_model_it_holds_and_says_what_was_left_out(user_csv):
    """Issue 23: RepVGG-A0 (outside Figure 2), measured, is analysed; the reference devices'
    other models are listed as left out, with the reason."""
    params = study.parameters(LATENCY_CSV=str(user_csv))
    inputs = study.load(params)
    joined = study.join(params, inputs)
    mine = joined.frame[joined.frame["device"] == "Pixel 7"]
    assert len(mine) == 12 and "RepVGG-A0" in set(mine["model"])
    assert set(joined.selection) == set(mine["model_id"])
    def left(reason):
        rows = joined.left_out[joined.left_out["reason"] == reason]
        return {(m, d) for ms, ds in zip(rows["models"], rows["devices"])
                for m in ms.split(", ") for d in ds.split(", ")}

    assert ("Mobileformer-52", "iPhone 12") in left(compute.not_selected_reason(None, [user_csv]))
    assert ("MobileViT-XS", "NVIDIA RTX-2080Ti") in left(compute.NOT_MEASURED)  # no GPU time
    narrowed = study.join(params.replace(MODELS=["MobileOne-S0", "DeiT-tiny", "PiT-ti"]), inputs)
    assert set(narrowed.frame["model"]) == {"MobileOne-S0", "DeiT-tiny", "PiT-ti"}
    assert any("RepVGG-A0" in m for m in narrowed.left_out["models"])


def test_models_outside_the_zoo_without_counts_are_listed_not_dropped_silently():
    latency = pd.DataFrame({"model": ["MobileOne-S0", "MyNet", "OwnNet"], "device": "D",
                            "model_id": ["mobileone_s0", None, None], "latency_ms": [1, 2, 3],
                            "macs": [np.nan, np.nan, 4e8], "params": [np.nan, np.nan, 3e6]})
    counts = pd.DataFrame({"model_id": ["mobileone_s0"], "model": ["MobileOne-S0"],
                           "family": ["mobileone"], "label": ["1"], "macs": [2.7e8],
                           "params": [2e6]})
    joined, left = compute.join_latency_costs(latency, ["mobileone_s0"], counts)
    assert set(joined["model"]) == {"MobileOne-S0", "OwnNet"}
    assert left.to_dict("records") == [{"models": "MyNet", "reason": compute.NOT_COUNTABLE,
                                        "devices": "D"}]


# -- parameters -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name, value", [
    ("N_BOOTSTRAP", 50), ("N_BOOTSTRAP", "abc"), ("SEED", -1), ("METRICS", ["flops"]),
    ("MODELS", "mobilone"), ("LATENCY_CSV", "no_such_file.csv"), ("WITH_REFERENCE", "maybe"),
])
def test_a_bad_parameter_is_one_line_naming_it(name, value):
    with pytest.raises(ConfigError, match=f"parameter {name}") as err:
        study.parameters(**{name: value})
    assert "\n" not in str(err.value)


def test_models_and_metrics_are_normalised():
    params = study.parameters(MODELS="mobileone, DeiT-tiny", METRICS="MACS,params")
    assert params.MODELS == ["mobileone", "DeiT-tiny"] and params.METRICS == ["macs", "params"]
    assert study.parameters(MODELS="figure2").MODELS == "figure2"


def test_devices_are_checked_against_the_files_before_any_folder_is_made(tmp_path):
    namespace = {name: p.default for name, p in spec(STEM).items()}
    namespace.update(DEVICES="iphone 13", OUTPUT_DIR=str(tmp_path / "out"),
                     FIGURE_DIR=str(tmp_path / "fig"))
    with pytest.raises(ConfigError, match="parameter DEVICES: no device 'iphone 13' .*did you "
                                          "mean 'iPhone 12'"):
        study.parameters(namespace)
    assert not (tmp_path / "out").exists() and not (tmp_path / "fig").exists()


# -- statistics of a run --------------------------------------------------------------------------

def test_every_rho_is_scipys_on_the_same_rows(quick_run):
    _, result = quick_run
    joined, corr = result.table("joined"), result.table("correlations")
    assert len(corr) == joined["device"].nunique() * len(compute.metrics_of(joined))
    for _, row in corr.iterrows():
        part = joined[joined["device"] == row["device"]]
        ref = sps.spearmanr(part[row["metric"]], part["latency_ms"])
        assert row["n"] == len(part) == len(QUICK["MODELS"])
        assert row["rho"] == pytest.approx(ref.statistic, abs=1e-12)
    conv = result.table("correlations_conv_only")
    assert set(conv["n"]) == {int(joined[joined["device"] == d]["family"]
                                  .isin(compute.CONV_FAMILIES).sum()) for d in conv["device"]}


def test_table1_is_on_all_figure2_models_whatever_models_are_selected(quick_run):
    _, result = quick_run
    t1 = result.table("table1_comparison")
    paper = pd.read_csv(paths.paper_table("table1_spearman"))
    assert len(t1) == 2 * len(paper) and (t1["n"] == 21).all()
    assert np.allclose(t1["rho_diff"], t1["our_rho"] - t1["paper_rho"])
    assert (t1["paper_rho_in_ci"] == ((t1["ci_low"] <= t1["paper_rho"])
                                      & (t1["paper_rho"] <= t1["ci_high"]))).all()


def test_findings_follow_the_tables(quick_run):
    _, result = quick_run
    f = result.findings
    corr = result.table("correlations")
    row = corr.iloc[0]
    assert f.claim(row["device"], row["metric"]).rho.rho == row["rho"]
    assert {b.device for b in f.best} == set(corr["device"])
    assert all(not b.comparable for b in f.best)  # n = 6: no paired comparison
    verdicts = result.table("claim_verdicts")
    assert [c.verdict for c in f.claims] == list(verdicts["verdict"])
    assert f.left_out and f.n_models == len(QUICK["MODELS"])


def test_every_column_is_described_and_the_summary_is_plain_json(quick_run):
    _, result = quick_run
    summary = result.summary()
    for name, table in summary["tables"].items():
        undocumented = [c for c, text in table["columns"].items() if text == UNDOCUMENTED]
        assert undocumented == [], name
    text = json.dumps(summary)
    assert "/work/" not in text and "NaN" not in text
    assert summary["findings"]["metrics"] == list(compute.metrics_of(result.table("joined")))


# -- findings on synthetic tables -----------------------------------------------------------------

def device_data(n: int, seed: int, noise: float = 0.0, name: str = "d") -> pd.DataFrame:
    """Synthetic device: latency = MACs (times noise), params unrelated."""
    rng = np.random.default_rng(seed)
    macs = rng.lognormal(size=n)
    return pd.DataFrame({"device": name, "model": [f"m{i}" for i in range(n)],
                         "latency_ms": macs * np.exp(noise * rng.normal(size=n)), "macs": macs,
                         "params": rng.lognormal(size=n)})


def synthetic_findings(data: pd.DataFrame, *, table1=None, agreement=None, conv=None,
                       left_out=None, n_bootstrap=1000) -> fd.Findings:
    metrics = ["macs", "params"]
    corr = correlation_table(data, metrics, n_bootstrap=n_bootstrap)
    paired = paired_comparisons(data, metrics, n_bootstrap=n_bootstrap)
    best = compute.best_predictors(corr, paired)
    t1 = table1 if table1 is not None else pd.DataFrame()
    return fd.find(corr, t1, paired, best, agreement, conv,
                   sources={d: "your file" for d in data["device"].unique()},
                   n_models=data["model"].nunique(), metrics=metrics, left_out=left_out)


def test_tiny_n_is_labelled_and_never_supported():
    f = synthetic_findings(device_data(3, 0))
    macs = f.claim("d", "macs").rho
    assert macs.rho == 1.0 and macs.n == 3  # perfectly ranked, yet the exact p is 1/3
    assert macs.exact_p == pytest.approx(1 / 3) and not macs.supported and not macs.has_ci
    assert not f.best[0].comparable and f.best[0].better_than == ()


def test_noise_names_no_best_predictor_and_a_clear_winner_is_named():
    rng = np.random.default_rng(1)
    noise = pd.DataFrame({"device": "noise", "model": range(25),
                          "latency_ms": rng.lognormal(size=25), "macs": rng.lognormal(size=25),
                          "params": rng.lognormal(size=25)})
    b = synthetic_findings(noise, n_bootstrap=2000).best[0]
    assert b.comparable and b.better_than == () and not b.better_than_runner_up
    clear = synthetic_findings(device_data(30, 2, noise=0.05), n_bootstrap=2000).best[0]
    assert clear.metric == "macs" and clear.better_than_all and clear.n_comparisons == 1
    assert clear.delta_ci_low > 0


def test_claim_verdicts_judge_strength_against_the_threshold():
    f = synthetic_findings(device_data(25, 3, noise=0.05), n_bootstrap=2000)
    verdicts = {c.metric: c for c in f.claims}
    assert verdicts["macs"].verdict == "contradicted"  # ρ ≈ 1: not weak
    assert verdicts["macs"].rho.ci_low > WEAK_THRESHOLD and f.weak_threshold == WEAK_THRESHOLD


def test_p_and_interval_disagreement_is_found():
    row = {"device": "iPhone 12", "metric": "macs", "source": fd.PROSE_BASIS, "paper_rho": 0.47,
           "our_rho": 0.46, "rho_diff": -0.01, "paper_p": 0.03, "our_p": 0.037,
           "exact_p": math.nan, "ci_low": -0.03, "ci_high": 0.79, "paper_rho_in_ci": True,
           "n": 21, "inference": "bootstrap CI", "supported": False, "borderline": False}
    cells = fd.table1_cells(pd.DataFrame([row, {**row, "our_p": 0.2}]))
    assert [c.disagreement for c in cells] == ["p_only", ""]


def test_device_agreement_never_ranks_a_small_pair_first():
    rng = np.random.default_rng(0)
    base = rng.lognormal(size=21)
    wide = pd.DataFrame({"A": base, "B": base * np.exp(0.8 * rng.normal(size=21)),
                         "C": np.r_[base[:3], [np.nan] * 18]})  # C shares 3 models: ρ = 1
    a = fd.agreement(rank_agreement(wide, n_bootstrap=500))
    assert (a.highest.a, a.highest.b) == ("A", "B") and a.pairs == 1 and a.small_pairs == 2
    assert a.strong_threshold == WEAK_THRESHOLD
    assert a.transfer == ("all" if a.highest.rho.ci_low > WEAK_THRESHOLD else
                          "some" if a.supported else "none")


def test_the_conclusion_is_generated_from_the_findings():
    """Golden prose: three devices (n = 25 with a clear winner, a noisy one, n = 5), Table 1,
    agreement, conv-only and a left-out table, all synthetic."""
    big = device_data(25, 4, noise=0.05, name="Phone")
    desk = device_data(25, 4, noise=0.8, name="Desk")  # the same models, noisier
    small = device_data(5, 5, name="Laptop")
    data = pd.concat([big, desk, small], ignore_index=True)
    table1 = pd.DataFrame([
        {"device": "Phone", "metric": m, "source": s, "paper_rho": 0.47, "our_rho": r,
         "rho_diff": r - 0.47, "paper_p": 0.03, "our_p": p, "exact_p": math.nan,
         "ci_low": lo, "ci_high": hi, "paper_rho_in_ci": lo <= 0.47 <= hi, "n": 21,
         "inference": "bootstrap CI", "supported": lo > 0, "borderline": False}
        for m, s, r, p, lo, hi in (("macs", compute.PUBLISHED, 0.457, 0.037, -0.034, 0.794),
                                   ("macs", compute.OURS, 0.468, 0.033, -0.020, 0.805),
                                   ("params", compute.OURS, 0.81, 1e-4, 0.52, 0.93))])
    wide = data.pivot_table(index="model", columns="device", values="latency_ms", sort=False)
    left = pd.DataFrame({"models": ["RepVGG-A0, RepVGG-A1"], "reason": [compute.NOT_MEASURED],
                         "devices": ["Laptop"]})
    conv = correlation_table(big.iloc[:12], ["macs", "params"], n_bootstrap=1000)
    f = synthetic_findings(data, table1=table1, agreement=rank_agreement(wide, 1000),
                           conv=conv, left_out=left)
    text = prose.conclusion(f)
    assert_golden("01_conclusion", text)
    assert_golden("01_table1", prose.table1_detail(f.table1))
    phone, laptop = f.best_on("Phone"), f.best_on("Laptop")
    assert phone.better_than_all and not laptop.comparable and laptop.rho.n <= EXACT_MAX_N
