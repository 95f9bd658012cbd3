"""The paper's latency files in data/latency are exactly what the generator derives from
data/paper/table9_imagenet.csv, and they say what the paper says (device, statistic, runs)."""

from __future__ import annotations

import csv

import pytest

from analysis import paths
from analysis.latency import load_latency, paper_latency_files, write_paper_latency_files
from analysis.latency.paper import PAPER_DEVICES


def test_shipped_files_equal_generated(tmp_path):
    written = write_paper_latency_files(tmp_path)
    assert [p.name for p in written] == [d.file for d in PAPER_DEVICES]
    for path in written:
        shipped = paths.LATENCY_DATA / path.name
        assert shipped.read_bytes() == path.read_bytes(), (
            f"{shipped} is stale: regenerate with "
            "`python -c 'from analysis.latency import write_paper_latency_files as w; w()'`")


def test_generation_leaves_identical_files_untouched(tmp_path):
    first = write_paper_latency_files(tmp_path)
    mtimes = [p.stat().st_mtime_ns for p in first]
    write_paper_latency_files(tmp_path)
    assert [p.stat().st_mtime_ns for p in first] == mtimes


def _table9():
    with open(paths.PAPER_DATA / "table9_imagenet.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("key, column, device, statistic", [
    ("iphone12", "mobile_ms", "iPhone 12", "min"),
    ("cpu", "cpu_ms", "Intel Xeon Gold 5118", "unstated"),
    ("gpu", "gpu_ms", "NVIDIA RTX-2080Ti", "median"),
])
def test_files_carry_table9_values(key, column, device, statistic):
    table = load_latency(paper_latency_files()[key])
    expected = {r["model"]: float(r[column]) for r in _table9() if r[column].strip()}
    assert dict(zip(table["model"], table["latency_ms"])) == expected
    assert set(table["device"]) == {device} and set(table["statistic"]) == {statistic}
    sizes = {r["model"]: (float(r["flops_m"]) * 1e6, float(r["params_m"]) * 1e6)
             for r in _table9()}
    for model, macs, params in zip(table["model"], table["macs"], table["params"]):
        assert (macs, params) == pytest.approx(sizes[model])
    assert table["source"].str.contains("Table 9").all()


def test_gpu_file_omits_models_without_value():
    missing = [r["model"] for r in _table9() if not r["gpu_ms"].strip()]
    assert missing  # Table 9 has no GPU number for several transformers
    gpu = load_latency(paper_latency_files()["gpu"])
    assert not set(missing) & set(gpu["model"])
    assert set(gpu["n_runs"]) == {100}

