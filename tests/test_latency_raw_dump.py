"""Raw per-run dumps (no ``statistic`` column, one row per timed run) load as min summaries,
and the study's Spearman ρ on them equals scipy's on the minima computed here with pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from analysis.cli import main
from analysis.latency import load_latency, paper_latency_files
from analysis.inference import correlation_table

MODELS = ["MobileOne-S0", "MobileOne-S1", "MobileOne-S2", "MobileOne-S3", "MobileOne-S4",
          "MobileNetV2-x1.0", "EfficientNet-B0", "ShuffleNetV2-2.0", "MobileViT-S",
          "ConViT-tiny"]
DEVICES = {"Pixel 8 Pro": "tflite", "My Laptop": "onnxruntime"}
RUNS = 7


@pytest.fixture(scope="module")
def dump(tmp_path_factory):
    """A raw dump as a benchmark script writes it: lower-case names, rows shuffled, ``n_runs``
    empty or 1, new device names, no ``statistic`` column."""
    rng = np.random.default_rng(3)
    records = []
    for device, runtime in DEVICES.items():
        for i, model in enumerate(MODELS):
            base = rng.uniform(0.5, 5.0)
            for run in range(RUNS):
                records.append({"model": model.lower(), "latency_ms": round(
                    base * rng.lognormal(0, 0.2), 4), "device": device, "runtime": runtime,
                    "n_runs": "" if (i + run) % 2 else "1"})
    raw = pd.DataFrame(records).sample(frac=1.0, random_state=5).reset_index(drop=True)
    path = tmp_path_factory.mktemp("dump") / "my-dump.csv"
    raw.to_csv(path, index=False)
    assert "statistic" not in path.read_text().splitlines()[0]
    return path, raw


def paper_sizes() -> pd.DataFrame:
    """Table 9's MACs and parameters, keyed by the lower-case model name."""
    paper = pd.read_csv(paper_latency_files()["iphone12"])
    return paper.assign(key=paper["model"].str.lower())[["key", "macs", "params"]]


def test_raw_dump_gives_scipy_spearman_on_min_aggregated_rows(dump):
    path, raw = dump
    expected = raw.groupby(["device", "model"], as_index=False)["latency_ms"].min()
    expected = expected.merge(paper_sizes(), left_on="model", right_on="key")
    assert len(expected) == len(DEVICES) * len(MODELS)

    table = load_latency(path)
    assert len(table) == len(DEVICES) * len(MODELS)
    assert set(table["statistic"]) == {"min"} and set(table["n_runs"]) == {RUNS}
    got = table.drop(columns=["macs", "params"]).assign(key=table["model"].str.lower())
    got = got.merge(paper_sizes(), on="key")
    merged = got.merge(expected, on=["device", "key"], suffixes=("", "_expected"))
    assert (merged["latency_ms"] == merged["latency_ms_expected"]).all()

    rho = correlation_table(got, ["macs", "params"], by="device", n_permutations=200)
    assert len(rho) == len(DEVICES) * 2
    for _, r in rho.iterrows():
        part = expected[expected["device"] == r["device"]]
        want = sps.spearmanr(part[r["metric"]], part["latency_ms"]).statistic
        assert r["rho"] == pytest.approx(want, abs=1e-12), (r["device"], r["metric"])


def test_raw_dump_keeps_the_other_statistics_of_the_runs(dump):
    path, raw = dump
    table = load_latency(path, statistic="median")
    medians = raw.groupby(["device", "model"])["latency_ms"].median()
    for _, row in table.iterrows():
        assert row["latency_ms"] == pytest.approx(medians[(row["device"],
                                                           row["model"].lower())])
        assert row["statistic"] == "median"


def test_validate_reports_samples_to_summaries(dump, capsys):
    path, _ = dump
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    n = len(DEVICES) * len(MODELS)
    assert f"{n * RUNS} raw samples → {n} summaries" in out


def test_a_summary_file_without_repeats_is_not_a_dump(tmp_path):
    path = tmp_path / "phone.csv"
    path.write_text("model,latency_ms,device\nMobileOne-S0,0.79,p\nMobileOne-S1,0.9,p\n")
    table = load_latency(path)
    assert table["n_runs"].isna().all() and table.attrs["raw_samples"] == 0


def test_a_model_timed_once_in_a_dump_is_a_one_run_summary(tmp_path):
    path = tmp_path / "phone.csv"
    path.write_text("model,latency_ms,device\nMobileOne-S0,0.79,p\nMobileOne-S0,0.75,p\n"
                    "MobileOne-S1,0.9,p\n")
    table = load_latency(path, statistic="median")
    assert table["latency_ms"].tolist() == pytest.approx([0.77, 0.9])
    assert table["n_runs"].tolist() == [2, 1]
