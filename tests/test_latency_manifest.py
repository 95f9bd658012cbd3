"""data/latency/manifest.csv: every shipped latency file is listed and every listed file exists
and loads; ``content`` may list several values; a malformed manifest is one clear error."""

from __future__ import annotations

import pytest

from analysis import paths
from analysis.errors import ConfigError, DataFormatError
from analysis.latency import load_latency
from analysis.latency.manifest import KINDS, entries, is_shipped, reference_files, study_files

pytestmark = pytest.mark.filterwarnings("ignore::analysis.latency.LatencyDataWarning")


def test_every_latency_file_is_listed_and_every_listed_file_exists():
    shipped = {f.name for f in paths.LATENCY_DATA.glob("*.csv") if f.name != "manifest.csv"}
    listed = [e.file for e in entries()]
    assert len(listed) == len(set(listed))
    assert set(listed) == shipped


def test_every_listed_file_loads_with_its_device():
    for entry in entries():
        table = load_latency(entry.path)
        assert entry.device in set(table["physical_device"]), entry.file
        assert entry.kind in KINDS and entry.contents


def test_content_lists_several_values():
    zoo, ablation = study_files(content="zoo"), study_files(content="ablation")
    both = [p for p in zoo if p in ablation]
    assert [p.name for p in both] == ["h200-torch-sessions.csv"]
    assert all(p.name.startswith("paper-") for p in reference_files())
    assert is_shipped(both[0], kind="campaign") and not is_shipped(both[0], kind="paper")
    with pytest.raises(ConfigError, match="kind must be one of"):
        study_files(kind="measured")


@pytest.mark.parametrize("row, expected", [
    ("a.csv,paper,zoo,d,x", None),
    ("a.csv,measured,zoo,d,x", r"line 2, column 'kind': expected one of paper, campaign"),
    ("a.csv,paper,,d,x", r"line 2, column 'content': empty"),
    ("b.csv,paper,zoo,d,x", r"line 2: no file 'b\.csv'"),
])
def test_malformed_manifest_is_one_clear_error(tmp_path, row, expected):
    (tmp_path / "a.csv").write_text("model,latency_ms\nMobileOne-S0,1\n")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("file,kind,content,device,description\n" + row + "\n")
    if expected is None:
        assert [e.file for e in entries(manifest)] == ["a.csv"]
        return
    with pytest.raises(DataFormatError, match=expected):
        entries(manifest)
