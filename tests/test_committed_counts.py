"""A fresh clone reuses the committed complexity counts when code and architecture match."""

from __future__ import annotations

import csv

import pytest

from analysis import complexity, paths
from analysis.models import create_model, get_entry

MODEL = get_entry("MobileNetV1").id


def write_row(folder, **override):
    model = create_model(MODEL)
    row = {"model": "MobileNetV1", "model_id": MODEL, "family": "conv",
           "input_size": 224, "macs": 111, "params": 222, "activations": 333,
           "elementwise": 444, "memory_bytes": 555, "operators": 6, "layers": 7, "merges": 0,
           "skipped_ops": "", "cache_version": complexity.CACHE_VERSION,
           "model_digest": complexity.model_digest(model), **override}
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "complexity.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(row))
        writer.writeheader()
        writer.writerow(row)


@pytest.fixture
def outputs(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "NOTEBOOK_OUTPUTS", tmp_path / "outputs")
    monkeypatch.setenv("MOBILEONE_STUDY_CACHE", str(tmp_path / "cache"))
    return tmp_path / "outputs"


def test_a_matching_committed_row_is_reused(outputs):
    write_row(outputs)  # deliberately fake numbers: only a reuse can return them
    c = complexity.profile_model(MODEL)
    assert (c.macs, c.params, c.memory_bytes, c.layers) == (111, 222, 555, 7)


@pytest.mark.parametrize("override", [{"model_digest": "000000000000"},
                                      {"cache_version": complexity.CACHE_VERSION - 1},
                                      {"input_size": 192}])
def test_a_stale_committed_row_is_recounted(outputs, override):
    write_row(outputs, **override)
    c = complexity.profile_model(MODEL)
    assert c.macs > 5e8 and c.params > 4e6  # fvcore's real count of MobileNetV1


def test_count_table_records_version_and_digest(outputs):
    write_row(outputs)
    table = complexity.count_table([MODEL])
    assert table.loc[0, "cache_version"] == complexity.CACHE_VERSION
    assert table.loc[0, "model_digest"] == complexity.model_digest(create_model(MODEL))
