"""The shipped NVIDIA H200 data: the campaign file in data/latency is exactly what the generator
derives from the raw files in data/external/h200, and it loads as 3 sessions of 40 networks in
4 regimes whose numbers are the raw ones (checked here with pandas on the raw file)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from analysis import paths
from analysis.latency import (h200_campaign_file, load_latency, load_sessions, read_checked,
                              select_devices, write_h200_campaign)
from analysis.latency.h200 import CAMPAIGN_FILE, h200_skipped_rows
from analysis.latency.manifest import entries
from analysis.models import resolve_models

H200 = paths.EXTERNAL_DATA / "h200"
REGIMES = ("eager fp32", "graph fp32", "eager fp16", "graph fp16")


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    frame = pd.read_csv(H200 / "h200_sessions.csv")
    return frame.assign(regime=frame["mode"].str.replace("_", " "))


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return load_latency(h200_campaign_file())


def test_shipped_campaign_equals_generated(tmp_path):
    written = write_h200_campaign(tmp_path)
    assert written.name == CAMPAIGN_FILE
    assert h200_campaign_file().read_bytes() == written.read_bytes(), (
        f"{h200_campaign_file()} is stale: regenerate with "
        "`python -c 'from analysis.latency import write_h200_campaign as w; w()'`")


def test_generation_leaves_an_identical_file_untouched(tmp_path):
    path = write_h200_campaign(tmp_path)
    mtime = path.stat().st_mtime_ns
    write_h200_campaign(tmp_path)
    assert path.stat().st_mtime_ns == mtime


def test_three_sessions_of_forty_networks_in_four_regimes(table):
    assert len(table) == 40 * 4
    assert table.groupby("regime").size().to_dict() == {r: 40 for r in REGIMES}
    assert set(table["n_sessions"]) == {3}
    assert set(table["device"]) == set(table["physical_device"]) == {"NVIDIA H200"}
    assert set(table["runtime"]) == {"torch"} and set(table["statistic"]) == {"min"}
    assert set(table["form"]) == {"fused"} and set(table["batch_size"]) == {1}
    expected = set(resolve_models("table9")) | set(resolve_models("ablation"))
    assert set(table["model_id"]) == expected  # every display name resolves, ablation too
    assert table.loc[table["model"].str.startswith("MobileViT"), "input_size"].eq(256).all()


def test_per_session_rows_are_the_raw_numbers(raw):
    sessions = load_sessions(h200_campaign_file())
    assert len(sessions) == len(raw) == 480
    merged = sessions.merge(raw, on=["session", "model", "regime"], suffixes=("", "_raw"))
    assert len(merged) == len(raw)
    assert (merged["latency_ms"] == merged["min_ms_raw"]).all()
    for column in ("median_ms", "p90_ms", "mean_ms", "order"):
        assert (merged[column] == merged[f"{column}_raw"]).all(), column


@pytest.mark.parametrize("statistic, column", [(None, "min_ms"), ("median", "median_ms")])
def test_latency_is_the_median_over_sessions(raw, statistic, column):
    table = load_latency(h200_campaign_file(), statistic=statistic)
    grouped = raw.groupby(["model", "regime"])[column]
    expected = pd.DataFrame({"median": grouped.median(), "low": grouped.min(),
                             "high": grouped.max()})
    got = table.set_index(["model", "regime"]).loc[expected.index]
    assert got["latency_ms"].tolist() == pytest.approx(expected["median"].tolist(), rel=1e-12)
    assert got["session_low_ms"].tolist() == expected["low"].tolist()
    assert got["session_high_ms"].tolist() == expected["high"].tolist()


def test_context_comes_from_the_environment_file(table):
    env = json.loads((H200 / "h200_env.json").read_text())
    row = table.iloc[0]
    assert (row["torch_version"], row["runtime_version"], row["cuda"], row["gpu"],
            row["python_version"]) == (env["torch"], env["torch"], env["cuda"], env["gpu"],
                                       env["python"])
    cudnn = env["cudnn"]
    assert row["cudnn"] == f"{cudnn // 10000}.{cudnn % 10000 // 100}.{cudnn % 100}"
    assert (row["tf32"], row["cudnn_benchmark"]) == ("False", "True")
    assert row["driver"] == "580.159.04" and row["accelerator"] == "cuda"
    assert set(table["n_runs"]) == {50} and set(table["warmup"]) == {"10"}
    for column in ("torch_version", "driver", "cudnn", "tf32", "campaign"):
        assert table[column].nunique() == 1, column


def test_rows_with_an_error_are_left_out_and_the_readme_covers_every_file(raw):
    skipped = h200_skipped_rows()
    assert len(skipped) == raw["error"].notna().sum()
    assert len(load_sessions(h200_campaign_file())) == len(raw) - len(skipped)
    readme = (H200 / "README.md").read_text(encoding="utf-8")
    for f in sorted(H200.iterdir()):
        if f.name != "README.md":
            assert f"`{f.name}`" in readme, f.name
    assert CAMPAIGN_FILE in readme and "analysis.latency.h200" in readme


def test_regimes_are_selectable_and_units_plausible(table):
    for regime in REGIMES:
        chosen = select_devices(table, f"NVIDIA H200/{regime}")
        assert len(chosen) == 40 and set(chosen["regime"]) == {regime}
    checked = read_checked(h200_campaign_file(), warn=False)
    assert checked.warnings == () and len(checked.units) == 4


def test_listed_in_the_manifest_for_zoo_and_ablation():
    entry = next(e for e in entries() if e.file == CAMPAIGN_FILE)
    assert (entry.kind, entry.device) == ("campaign", "NVIDIA H200")
    assert set(entry.contents) == {"zoo", "ablation"}
