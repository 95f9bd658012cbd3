"""analysis.studies.correlation (notebook 01) in-process: which files and models a run reads,
what it leaves out and why, its parameter rules, its vectorised tests against analysis.inference
and scipy on the same rows, the families of tests, and the typed findings and generated prose on
synthetic data (no claim without its adjusted test; golden files)."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from analysis import inference, paths
from analysis.constants import ALPHA, BEST_PROBABILITY, EXACT_MAX_N
from analysis.errors import ConfigError
from analysis.latency import load_latency, manifest
from analysis.stats import holm_adjust
from analysis.studies import correlation as study
from analysis.studies.columns import UNDOCUMENTED
from analysis.studies.correlation import compare, compute, families, prose, rank
from analysis.studies.correlation import findings as fd
from analysis.studies.correlation import session_rhos as noise
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
XEON_1T = "Intel Xeon Processor (2 vCPU, 1 thread) · torch"


@pytest.fixture(scope="module")
def quick_run():
    """The quick profile in-process, without figures."""
    params = study.parameters(**QUICK)
    return params, study.run(params, draw=False)


@pytest.fixture(scope="module")
def shipped():
    """The shipped study's inputs (every series), few resamples."""
    params = study.parameters(N_BOOTSTRAP=200, N_PERMUTATIONS=199)
    inputs = study.load(params)
    return params, inputs, study.join(params, inputs)


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
    assert shipped[XEON_1T] == "this project"  # manifest kind "campaign"


def test_one_naming_rule_and_one_physical_device_per_machine(shipped):
    _, inputs, _ = shipped
    frame = pd.DataFrame({"device": ["A", "A", "B", "C", "C"],
                          "runtime": ["torch", "onnxruntime", "coreml", "torch", "torch"],
                          "regime": ["", "", "", "eager fp32", "graph fp16"]})
    assert list(compute.device_key(frame)) == ["A · torch", "A · onnxruntime", "B",
                                               "C · eager fp32", "C · graph fp16"]
    lines = "\n".join(compute.describe_series(inputs.latency, inputs.sources))
    assert "/ torch" not in lines and "/ unstated" not in lines
    phys = inputs.physical
    assert len(set(phys.values())) == 5 and len(phys) == 11
    assert {phys[d] for d in phys if d.startswith("NVIDIA H200")} == {"NVIDIA H200"}
    assert inputs.counterparts[XEON_1T] == "Intel Xeon Gold 5118"
    assert inputs.counterparts["NVIDIA H200 · graph fp16"] == "NVIDIA RTX-2080Ti"
    assert "iPhone 12" not in inputs.counterparts


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
    ("N_BOOTSTRAP", 50), ("N_BOOTSTRAP", "abc"), ("N_PERMUTATIONS", 10), ("SEED", -1),
    ("METRICS", ["flops"]), ("MODELS", "mobilone"), ("LATENCY_CSV", "no_such_file.csv"),
    ("WITH_REFERENCE", "maybe"),
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


# -- the vectorised tests are analysis.inference's, on the same rows -------------------------------

def test_every_cell_equals_inference_and_scipy_on_the_same_rows(shipped):
    params, _, joined = shipped
    frame, metrics = joined.frame, list(joined.metrics)
    ours = inference.correlation_table(frame, metrics, n_permutations=199, seed=5)
    # every vectorised cell is the scalar inference.correlate on the same rows
    for _, r in ours.iterrows():
        part = frame[frame["device"] == r["device"]]
        one = inference.correlate(part[r["metric"]], part["latency_ms"], n_permutations=199,
                                  seed=5).as_dict()
        numbers = {k: v for k, v in one.items() if isinstance(v, float)}
        assert {k: r[k] for k in numbers} == pytest.approx(numbers, rel=1e-12, nan_ok=True)
        assert all(r[k] == v for k, v in one.items() if k not in numbers)
    part = frame[frame["device"] == "iPhone 12"]
    row = ours[(ours["device"] == "iPhone 12") & (ours["metric"] == "macs")].iloc[0]
    ref = sps.spearmanr(part["macs"], part["latency_ms"])
    assert row["rho"] == pytest.approx(ref.statistic, abs=1e-12)
    assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)


def test_the_permutation_p_of_a_known_case_is_scipys():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 21))
    y = x[0] + rng.normal(scale=1.5, size=21)
    tests = inference.permutation_tests(x, y, n_permutations=999, seed=7)
    for row, test in zip(x, tests):
        theirs = sps.permutation_test(
            (y,), lambda v, row=row: sps.spearmanr(row, v).statistic,
            permutation_type="pairings", n_resamples=999, rng=np.random.default_rng(7)).pvalue
        assert test.p == pytest.approx(theirs) and not test.exact
    small = inference.permutation_tests(x[:, :6], y[:6])
    assert all(t.exact for t in small)
    assert small[0].p == pytest.approx(inference.permutation_p(x[0, :6], y[:6]).p)


def test_agreement_and_nested_differences_equal_inference(shipped):
    _, _, joined = shipped
    wide = joined.frame.pivot_table(index="model", columns="device", values="latency_ms",
                                    sort=False)
    table = rank.agreement_table(wide, n_permutations=199, seed=2)
    assert len(table) == wide.shape[1] * (wide.shape[1] - 1) // 2
    r = table.iloc[1]
    ref = inference.correlate(wide[r["b"]], wide[r["a"]], n_permutations=199, seed=2)
    assert r["rho"] == pytest.approx(ref.rho) and r["p_permutation"] == ref.p_permutation
    part = joined.frame[joined.frame["device"] == XEON_1T]
    conv = part["family"].isin(compute.CONV_FAMILIES)
    ours = inference.nested_difference(part["macs"], part["latency_ms"], conv, n_bootstrap=300)
    theirs = _nested_by_loop(part["macs"], part["latency_ms"], conv, n_bootstrap=300)
    for key, value in theirs.items():
        assert ours[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key


def _nested_by_loop(x, y, subset, n_bootstrap: int, seed: int = 0) -> dict:
    """The nested difference resample by resample with scipy (the same seeded draws: one
    resample of n models at a time), independent of the weighted-rank vectorisation."""
    x, y, s = (np.asarray(v, float) for v in (x, y, subset))
    s = s.astype(bool)
    n = len(x)
    rng = np.random.default_rng(seed)
    deltas = []
    for _ in range(n_bootstrap):
        i = rng.integers(0, n, n)
        sub = i[s[i]]
        if len(sub) < 3:
            continue
        a, b = sps.spearmanr(x[sub], y[sub]).statistic, sps.spearmanr(x[i], y[i]).statistic
        if np.isfinite(a) and np.isfinite(b):
            deltas.append(a - b)
    low, high = np.quantile(deltas, [0.025, 0.975])
    rho_sub, rho_all = sps.spearmanr(x[s], y[s]).statistic, sps.spearmanr(x, y).statistic
    return {"rho_subset": rho_sub, "rho_all": rho_all, "delta": rho_sub - rho_all,
            "ci_low": low, "ci_high": high, "n_subset": int(s.sum()), "n_all": n}


def test_table1_is_on_all_figure2_models_with_holm_over_its_cells(quick_run):
    _, result = quick_run
    t1 = result.table("table1_comparison")
    paper = pd.read_csv(paths.paper_table("table1_spearman"))
    assert len(t1) == 2 * len(paper) and (t1["n"] == 21).all()
    assert np.allclose(t1["rho_diff"], t1["rho"] - t1["paper_rho"])
    assert np.allclose(t1["diff_low"], t1["ci_low"] - t1["paper_rho"])
    for _, part in t1.groupby("source"):
        assert np.allclose(part["p_adjusted"], holm_adjust(part["p_permutation"]))
        assert (part["family"] == "confirmatory").all()
    pub = t1[t1["source"] == compute.PUBLISHED]
    xeon = pub[(pub["device"] == "Intel Xeon Gold 5118") & (pub["metric"] == "params")].iloc[0]
    assert round(xeon["rho"], 2) == 0.13 and xeon["paper_rho"] == 0.07  # issue 20's cell


def test_every_rho_of_a_run_is_scipys_and_every_column_is_described(quick_run):
    _, result = quick_run
    joined, corr = result.table("joined"), result.table("correlations")
    for _, row in corr.iterrows():
        part = joined[joined["device"] == row["device"]]
        ref = sps.spearmanr(part[row["metric"]], part["latency_ms"])
        assert row["n"] == len(part) == len(QUICK["MODELS"])
        assert row["rho"] == pytest.approx(ref.statistic, abs=1e-12)
        assert bool(row["p_exact"])  # n = 6: every ordering enumerated
    summary = result.summary()
    for name, table in summary["tables"].items():
        undocumented = [c for c, text in table["columns"].items() if text == UNDOCUMENTED]
        assert undocumented == [], name
    text = json.dumps(summary)
    assert "/work/" not in text and "NaN" not in text
    assert summary["findings"]["takeaway"] and result.conclusion.startswith("**Takeaway.**")


def test_the_median_is_what_the_loader_gives_for_it():
    files = [f for f in manifest.study_files(content="zoo") if "cpu-xeon-zoo-torch-1t" in f.name]
    minimum = load_latency(files)
    frame, series = families.median_frame(minimum)
    median = load_latency(files, statistic="median").set_index("model")["latency_ms"]
    assert series == list(dict.fromkeys(minimum["device"]))
    assert np.allclose(frame.set_index("model")["latency_ms"].loc[median.index], median)


def test_rho_per_session_is_scipys_per_session(shipped):
    params, inputs, joined = shipped
    per = noise.session_rhos(inputs.files, None, compute.device_key,
                             joined.counts, ["macs"])
    assert set(per["session"]) == {1, 2, 3} and (per["n"] == 21).all()
    rows = load_latency([f for f in inputs.files if "onnxruntime-2t" in f.name])
    assert len(rows) == 21
    from analysis.latency import load_sessions
    s = load_sessions([f for f in inputs.files if "onnxruntime-2t" in f.name])
    # every session of both sittings (3 + 2), each sitting its own campaign id
    ort = per[(per["device"].str.contains("2 threads"))
              & (per["device"].str.endswith("onnxruntime"))]
    assert len(ort) == s[["campaign", "session"]].drop_duplicates().shape[0] == 5
    later = sorted(s["campaign"].unique())[-1]
    one = s[(s["session"] == 2) & (s["campaign"] == later)].merge(
        joined.counts[["model_id", "macs"]], on="model_id", suffixes=("_file", ""))
    row = ort[(ort["session"] == 2) & (ort["campaign"] == later)].iloc[0]
    assert row["rho"] == pytest.approx(sps.spearmanr(one["macs"], one["latency_ms"]).statistic)


# -- findings on synthetic data -------------------------------------------------------------------

def device_data(n: int, seed: int, noise_: float = 0.0, name: str = "d",
                physical: str | None = None) -> pd.DataFrame:
    """Synthetic series: latency = MACs (times noise), params unrelated, operators = latency
    with a little noise; the first five models are one monotone family (MobileOne)."""
    rng = np.random.default_rng(seed)
    macs = rng.lognormal(size=n)
    lat = macs * np.exp(noise_ * rng.normal(size=n))
    family = ["mobileone"] * min(5, n) + ["conv", "transformer"] * n
    return pd.DataFrame({"device": name, "physical_device": physical or name,
                         "model": [f"m{i}" for i in range(n)], "latency_ms": lat,
                         "macs": macs, "params": rng.lognormal(size=n),
                         "operators": lat * np.exp(0.3 * rng.normal(size=n)),
                         "family": family[:n]})


def analyse(data: pd.DataFrame, *, table1=None, sources=None, n: int = 999, seed: int = 0,
            spread=None, changes=None, counterparts=None):
    """The notebook's steps on a synthetic frame: (tests, findings)."""
    p = SimpleNamespace(N_PERMUTATIONS=n, N_BOOTSTRAP=n, SEED=seed)
    metrics = ("macs", "params", "operators")
    joined = study.Joined(data, (), metrics, pd.DataFrame(), pd.DataFrame(
        columns=list(compute.LEFT_OUT_COLUMNS)), None)
    physical = dict(zip(data["device"], data["physical_device"]))
    sources = sources or {d: "your file" for d in physical}
    inputs = study.Inputs((), (), data, sources, {}, physical, counterparts or {})
    t1 = table1 if table1 is not None else pd.DataFrame()
    tests = study.adjust(t1, study.correlate(p, joined), study.compare_metrics(p, joined),
                         study.agree(p, joined), study.conv_only(p, joined),
                         study.versus_paper(p, inputs, joined))
    spread = spread if spread is not None else pd.DataFrame(columns=list(noise.SPREAD_COLUMNS))
    changes = changes if changes is not None else pd.DataFrame(
        columns=["what", "device", "item", "minimum", "median"])
    median = study.Median(tests, ("Phone",), changes, 40)
    numbers = study.Numbers(t1, tests, study.Sessions(pd.DataFrame(), spread), median)
    return tests, study.find(inputs, joined, numbers)


def synthetic_table1(data: pd.DataFrame, paper_rho: float = 0.47) -> pd.DataFrame:
    phone = data[data["device"] == "Phone"]
    ours = pd.concat([inference.correlation_table(phone, ["macs", "params"], n_permutations=999)
                      .assign(source=s) for s in (compute.PUBLISHED, compute.OURS)])
    paper = pd.DataFrame({"device": "iPhone12", "metric": ["flops", "params"],
                          "rho": [paper_rho, 0.30], "p_value": [0.03, 0.18]})
    return compute.table1_comparison(paper, ours, {"iPhone12": "Phone"})


def test_no_claim_without_the_adjusted_test_behind_it():
    """Many null series and one with a modest ρ: its raw permutation p is below α, but after
    Benjamini–Hochberg over the family it is not counted, and the prose does not claim it."""
    rng = np.random.default_rng(11)
    parts = [device_data(21, 100 + k, noise_=3.0, name=f"null{k}") for k in range(8)]
    data = pd.concat(parts, ignore_index=True)
    data["latency_ms"] = rng.permutation(data["latency_ms"].to_numpy())
    tests, f = analyse(data)
    corr = tests.correlations
    raw = corr[corr["p_permutation"] <= ALPHA]
    assert (corr["supported"] == (corr["p_adjusted"] <= ALPHA)).all()
    assert (corr["p_adjusted"] >= corr["p_permutation"] - 1e-12).all()
    assert len(raw) and not raw["supported"].all()  # a raw "hit" is not counted
    for s in f.summaries:
        rows = corr[(corr["physical_device"] == s.physical) & (corr["metric"] == s.metric)]
        assert s.supported == int(rows["supported"].sum())
    assert "MACs rank latency on" not in f.takeaway


def test_a_metric_is_never_called_best_below_the_rule():
    data = device_data(25, 4, noise_=0.6, name="Phone")
    tests, f = analyse(data)
    best = tests.best
    assert (best["called_best"] == (best["p_best"] >= BEST_PROBABILITY)).all()
    v = f.versus_on("Phone")
    assert v.called_best == (v.p_best >= BEST_PROBABILITY)
    forced = tests.best.assign(p_best=BEST_PROBABILITY - 0.01, called_best=False)
    shown = fd.versus_findings(families.Tests(*[*list(vars(tests).values())[:6], forced]),
                               {"Phone": "Phone"})
    assert not shown[0].called_best
    assert "is the best" not in prose.versus_line(shown[0], f)


@pytest.mark.parametrize("noise_, expected", [(0.05, True), (30.0, False)])
def test_verdicts_are_stable_across_five_seeds_away_from_the_borderline(noise_, expected):
    data = device_data(21, 9, noise_=noise_, name="Phone")
    if not expected:
        data["latency_ms"] = np.random.default_rng(1).permutation(data["latency_ms"].to_numpy())
    verdicts = set()
    for seed in range(5):
        tests, _ = analyse(data, seed=seed, n=499)
        macs = tests.correlations[tests.correlations["metric"] == "macs"].iloc[0]
        assert not macs["borderline"]
        verdicts.add(bool(macs["supported"]))
    assert verdicts == {expected}


def test_regimes_of_one_device_are_one_device_in_the_agreement():
    base = device_data(21, 3, noise_=0.1, name="GPU · eager", physical="GPU")
    other = base.assign(device="GPU · graph",
                        latency_ms=base["latency_ms"] * np.exp(0.05 * np.arange(21) % 3))
    cpu = base.assign(device="CPU", physical_device="CPU")
    tests, f = analyse(pd.concat([base, other, cpu], ignore_index=True))
    a = f.agreement
    assert len(a.between) == 1 and a.between[0].pairs == 2  # GPU–CPU: one pair of devices
    assert len(a.within) == 1 and a.within[0].a == "GPU"
    assert f.physical_devices == ("GPU", "CPU")
    assert tests.agreement["same_device"].tolist() == [True, False, False]


def test_families_are_holm_and_benjamini_hochberg():
    a = pd.DataFrame({"p": [0.01, 0.04, 0.03, 0.5]})
    b = pd.DataFrame({"p": [0.001, 0.2]})
    out = rank.adjust({"a": a, "b": b}, {"a": pd.Series([True, True, False, False])},
                      p={"a": "p", "b": "p"})
    assert np.allclose(out["a"]["p_adjusted"][:2], holm_adjust([0.01, 0.04]))
    pooled = inference.benjamini_hochberg([0.03, 0.5, 0.001, 0.2])
    assert np.allclose([*out["a"]["p_adjusted"][2:], *out["b"]["p_adjusted"]], pooled)
    expected = ["Holm over 2"] * 2 + ["Benjamini–Hochberg over 4"] * 2
    assert out["a"]["adjustment"].tolist() == expected


def test_the_conclusion_is_generated_from_the_findings():
    """Golden prose: a clear phone, a noisier desk, a GPU in two regimes and a 6-model laptop,
    with Table 1, sessions and a changed verdict, all synthetic."""
    phone = device_data(25, 4, noise_=0.05, name="Phone")
    desk = device_data(25, 4, noise_=0.8, name="Desk")
    gpu = [device_data(25, 5, noise_=1.5, name=f"GPU · {r}", physical="GPU")
           for r in ("eager", "graph")]
    laptop = device_data(6, 6, name="Laptop")
    data = pd.concat([phone, desk, *gpu, laptop], ignore_index=True)
    spread = pd.DataFrame({"device": ["GPU · eager", "GPU · graph"], "metric": "macs",
                           "n_sessions": 3, "rho_low": [0.31, 0.22], "rho_high": [0.35, 0.30],
                           "rho_range": [0.04, 0.08], "rho": [0.33, 0.26],
                           "ci_low": [-0.1, -0.15], "ci_high": [0.65, 0.6]})
    changes = pd.DataFrame([{"what": "versus MACs", "device": "GPU · graph",
                             "item": "operators", "minimum": "not shown", "median": "better"}])
    sources = {"Phone": "paper", "Desk": "paper", "GPU · eager": "this project",
               "GPU · graph": "this project", "Laptop": "your file"}
    table1 = synthetic_table1(data)
    tests, f = analyse(data, table1=table1, sources=sources, spread=spread, changes=changes,
                       counterparts={"GPU · eager": "Desk", "GPU · graph": "Desk"})
    assert len(f.paper_devices) == 4
    assert tests.correlations.loc[tests.correlations["device"] == "Phone", "family"].iloc[0] \
        == "confirmatory"
    assert f.takeaway.count(". ") <= 2 and len(f.takeaway) < 900
    assert_golden("01_conclusion", prose.conclusion(f))
    assert_golden("01_table1", prose.table1_detail(f.table1.cells + f.table1.other))
    laptop_rho = f.claim("Laptop", "macs").rho
    assert laptop_rho.p_exact and laptop_rho.n == 6 <= EXACT_MAX_N
    assert not math.isnan(laptop_rho.p_permutation)
