"""The command line: results written, user errors reported in one line with exit status 2,
messages in the user's terms (option names, plurals, groups as well as models)."""

from __future__ import annotations

import argparse
import pandas as pd
import pytest

from analysis import cli
from analysis.cli import main
from analysis.latency.campaign import Measurements


def test_count_writes_csv(tmp_path, capsys):
    out = tmp_path / "counts.csv"
    assert main(["count", "--models", "mobileone-s0,MobileOne-S1", "--csv", str(out)]) == 0
    table = pd.read_csv(out)
    assert list(table["model"]) == ["MobileOne-S0", "MobileOne-S1"]
    for col in ["model_id", "family", "input_size", "macs", "params", "activations",
                "skipped_ops", "paper_macs", "paper_params"]:
        assert col in table.columns
    assert abs(table.loc[0, "macs"] / table.loc[0, "paper_macs"] - 1) < 0.01
    assert f"wrote 2 rows to {out}" in capsys.readouterr().out


def test_one_row_is_one_row(tmp_path, capsys):
    out = tmp_path / "one.csv"
    assert main(["count", "--models", "mobileone_s0", "--csv", str(out)]) == 0
    assert f"wrote 1 row to {out}\n" in capsys.readouterr().out


def test_unknown_model_is_one_line_error(capsys):
    assert main(["count", "--models", "mobileone-s9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown model or group 'mobileone-s9'")
    assert "did you mean" in err and "Traceback" not in err
    assert err.count("\n") == 1


@pytest.mark.parametrize("typo, group", [("mobilone", "mobileone"),
                                         ("transformers", "transformer"),
                                         ("figure 2", "figure2")])
def test_a_misspelled_group_suggests_the_group(typo, group, capsys):
    assert main(["count", "--models", typo]) == 2
    assert f"did you mean the group '{group}'" in capsys.readouterr().err


def test_a_latency_file_row_is_never_offered_a_group():
    from analysis.models import get_entry
    from analysis.errors import UnknownModelError

    with pytest.raises(UnknownModelError) as info:
        get_entry("mobilone")  # a row names one model: no group in the suggestion
    assert "group" not in str(info.value)


def test_count_list_columns_are_aligned(capsys):
    assert main(["count", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    table = lines[lines.index("") + 1:]
    assert table[0].split() == ["id", "name", "family", "groups"]
    starts = {line.index(word) for line, word in
              ((row, row.split()[1]) for row in table)}  # the second column starts at one place
    assert len(starts) == 1
    assert any(row.startswith("mobileone_s0 ") for row in table)


def _options(parser: argparse.ArgumentParser):
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in sub.choices.items():
        for action in command._actions:
            if action.option_strings and "-h" not in action.option_strings:
                yield name, action


def test_every_option_has_help_text():
    missing = [f"{name} {action.option_strings[0]}" for name, action in
               _options(cli.build_parser()) if not (action.help or "").strip()]
    assert missing == []


def test_the_help_check_can_fail():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    sub.choices["count"].add_argument("--undocumented")
    assert any(a.option_strings == ["--undocumented"] and not a.help
               for _, a in _options(parser))


def _fake_campaign(rows: int = 1):
    def run(items, runtimes, **kwargs):
        frame = pd.DataFrame({"model": ["MobileOne-S0"] * rows})
        return Measurements(frame, {}, [], [], kwargs["out"], "c1")
    return run


def test_too_many_threads_warn(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "run_campaign", _fake_campaign())
    monkeypatch.setattr(cli.os, "cpu_count", lambda: 2)
    out = tmp_path / "m.csv"
    assert main(["measure", "--models", "mobileone_s0", "--threads", "8", "--out", str(out),
                 "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "warning: --threads 8 exceeds this machine's 2 logical cores" in captured.err
    assert f"wrote 1 row to {out}" in captured.out
    assert main(["measure", "--models", "mobileone_s0", "--threads", "2", "--out",
                 str(tmp_path / "n.csv"), "--no-progress"]) == 0
    assert "--threads" not in capsys.readouterr().err


def test_check_verdict_counts_files_in_words(monkeypatch, capsys):
    monkeypatch.setattr(cli, "check", lambda only=None: ["01/a.csv: x"])
    assert main(["reproduce", "--check", "--only", "01"]) == 1
    assert "check: 1 committed file differs: run make reproduce" in capsys.readouterr().out


def test_unknown_notebook_is_an_error(capsys):
    assert main(["reproduce", "--only", "zzz"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --only 'zzz' matches no notebook; notebooks: 01_")


def test_measure_records_the_physical_device_when_device_relabels(tmp_path):
    from analysis.latency.context import default_device

    out = tmp_path / "m.csv"
    assert main(["measure", "--models", "mobileone_s0", "--runs", "2", "--warmup", "0",
                 "--input-size", "32", "--threads", "1", "--device", "My laptop, 1 thread",
                 "--out", str(out), "--no-progress"]) == 0
    row = pd.read_csv(out).iloc[0]
    assert row["device"] == "My laptop, 1 thread"
    assert row["physical_device"] == default_device("cpu") != row["device"]


def test_the_machine_columns_are_named_not_sliced():
    from analysis.latency.context import machine_context
    from analysis.latency.harness import MACHINE_COLUMNS, MEASURE_COLUMNS
    from analysis.latency.schema import CONTEXT_COLUMNS

    assert set(MACHINE_COLUMNS) <= set(CONTEXT_COLUMNS) and set(MACHINE_COLUMNS) <= set(
        machine_context("cpu"))
    assert "physical_device" in MEASURE_COLUMNS
    # the rest of the context comes from the setup, not the machine
    assert set(CONTEXT_COLUMNS) - set(MACHINE_COLUMNS) == {
        "threads", "runtime_version", "tf32", "cudnn_benchmark", "clock"}
