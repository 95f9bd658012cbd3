"""The command line: results written, user errors reported in one line with exit status 2."""

from __future__ import annotations

import pandas as pd

from analysis.cli import main


def test_count_writes_csv(tmp_path, capsys):
    out = tmp_path / "counts.csv"
    assert main(["count", "--models", "mobileone-s0,MobileOne-S1", "--csv", str(out)]) == 0
    table = pd.read_csv(out)
    assert list(table["model"]) == ["MobileOne-S0", "MobileOne-S1"]
    for col in ["model_id", "family", "input_size", "macs", "params", "activations",
                "skipped_ops", "paper_macs", "paper_params"]:
        assert col in table.columns
    assert abs(table.loc[0, "macs"] / table.loc[0, "paper_macs"] - 1) < 0.01


def test_unknown_model_is_one_line_error(capsys):
    assert main(["count", "--models", "mobileone-s9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown model 'mobileone-s9'")
    assert "did you mean" in err and "Traceback" not in err
    assert err.count("\n") == 1


def test_count_list(capsys):
    assert main(["count", "--list"]) == 0
    assert "mobileone_s0" in capsys.readouterr().out
