"""The generated model table of analysis/models/README.md."""

from __future__ import annotations

import dataclasses

import pytest
import torch.nn as nn

from analysis import complexity, zoo_readme
from analysis.errors import ConfigError
from analysis.models import get_entry, list_models


@pytest.fixture
def fake_counts(monkeypatch):
    """Skip counting the zoo: every model 'counts' 1 M params and 100 M MACs (the table's
    content and shape are what is tested); the record is a real one, re-labelled."""
    real = complexity.count_complexity(nn.Conv2d(3, 1, 1), 4)

    def profile(name, input_size=None, *, fuse=True, cache=True):
        size = get_entry(name).input_size
        return dataclasses.replace(real, macs=100_000_000, params=1_000_000,
                                   input_shape=(1, 3, size, size), fused=fuse)

    monkeypatch.setattr(complexity, "profile_model", profile)


def _rows(table: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip("|").split("|")] for line in table.splitlines()[2:]]


def test_table_lists_every_registered_table9_model(fake_counts):
    table = zoo_readme.render_zoo_table()
    rows = _rows(table)
    ids = list_models("table9")
    assert sorted(r[0] for r in rows) == sorted(get_entry(m).display_name for m in ids)
    for row in rows:
        entry = get_entry(row[0])
        assert row[1] == entry.family and row[2] == (entry.paper or "–")
        assert row[4] == "1.00" and row[7] == "100.0"  # our (faked) counts
        assert float(row[5]) == pytest.approx(entry.published.params_m)
        assert float(row[8]) == pytest.approx(entry.published.macs_m, abs=0.5)


def test_table_counts_and_deviations(fake_counts):
    rows = {r[0]: r for r in _rows(zoo_readme.render_zoo_table(["mobilenetv1"]))}
    assert list(rows) == ["MobileNetV1"]  # Table 9: 4.2 M params, 575 M MACs
    assert rows["MobileNetV1"][6] == f"{100 * (1 / 4.2 - 1):+.1f}%"
    assert rows["MobileNetV1"][9] == f"{100 * (100 / 575 - 1):+.1f}%"


def test_main_rewrites_only_between_the_markers(fake_counts, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Zoo\nintro\n{zoo_readme.START}\nold table\n{zoo_readme.END}\nafter\n")
    assert zoo_readme.main(["--readme", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith("# Zoo\nintro\n") and text.endswith(f"{zoo_readme.END}\nafter\n")
    assert "old table" not in text and "| MobileNetV1 |" in text
    assert zoo_readme.main(["--readme", str(readme)]) == 0  # idempotent
    assert readme.read_text() == text


def test_missing_markers_are_an_error(fake_counts, tmp_path, capsys):
    with pytest.raises(ConfigError, match="zoo-table"):
        zoo_readme.replace_table("no markers here", "| table |\n")
    readme = tmp_path / "README.md"
    readme.write_text("no markers\n")
    assert zoo_readme.main(["--readme", str(readme)]) == 2
    assert "error:" in capsys.readouterr().err


def test_family_table_sets_each_scaling_entry_beside_timm_and_the_paper(fake_counts):
    rows = _rows(zoo_readme.render_family_table())
    native = len(list_models("mobilenet_scaling"))
    assert len(rows) == native + 3 * len(zoo_readme.RESOLUTIONS)
    by_point = {(r[0], r[1]): r for r in rows}
    v1 = by_point[("MobileNetV1-x0.25", "224")]  # no timm row: the paper's Table 6
    assert v1[3] == "–" and v1[4] == "0.5" and v1[7] == "41"
    assert v1[8] == f"{100 * (100 / 41 - 1):+.1f}%"  # faked 100 M MACs against the paper
    lite = by_point[("EfficientNet-Lite4", "300")]  # timm: tf_efficientnet_lite4, 13,006,568
    assert lite[2] == "13.007" and lite[3] == "= ours" and lite[4] == "–"
    assert lite[6] == f"{5106068672 / 2e6:.1f}"
    assert ("MobileNetV2-x1.0", "128") in by_point and ("EfficientNet-Lite0", "192") in by_point


def test_family_markers_are_rewritten_only_where_present(fake_counts, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"{zoo_readme.START}\n{zoo_readme.END}\n{zoo_readme.FAMILY_START}\nold\n"
                      f"{zoo_readme.FAMILY_END}\n")
    assert zoo_readme.main(["--readme", str(readme)]) == 0
    text = readme.read_text()
    assert "old" not in text and "| EfficientNet-Lite0 | 224 |" in text
    assert text.endswith(f"{zoo_readme.FAMILY_END}\n")
