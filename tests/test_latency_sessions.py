"""Campaigns: several sessions of one identity are repeated measurements (median over sessions,
with the spread), sessions measured in different settings are refused naming the column, and
the identity includes form, k and mode. Expected values are computed here independently
(pandas / statistics on the rows as written)."""

from __future__ import annotations

import io
import statistics

import pandas as pd
import pytest

from analysis import paths
from analysis.cli import main
from analysis.errors import DataFormatError
from analysis.latency import (device_column, device_labels, load_latency, load_sessions,
                              select_devices)

pytestmark = pytest.mark.filterwarnings("ignore::analysis.latency.LatencyDataWarning")

HEADER = ("model,device,runtime,campaign,session,order,statistic,latency_ms,median_ms,n_runs,"
          "threads,runtime_version\n")
#: (model, session, min, median): three sessions of two models, interleaved.
SESSIONS = [("MobileOne-S0", 1, 1.10, 1.30), ("MobileOne-S1", 1, 2.00, 2.40),
            ("MobileOne-S1", 2, 2.30, 2.50), ("MobileOne-S0", 2, 1.00, 1.20),
            ("MobileOne-S0", 3, 1.40, 1.50), ("MobileOne-S1", 3, 2.10, 2.20)]


def campaign(tmp_path, rows=SESSIONS, threads=None, version=None, name="cpu.csv"):
    lines = [f"{m},AMD EPYC,torch,c1,{s},{i},min,{lo},{med},100,"
             f"{(threads or {}).get(i, 1)},{(version or {}).get(i, '2.13.0')}\n"
             for i, (m, s, lo, med) in enumerate(rows)]
    path = tmp_path / name
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path


@pytest.mark.parametrize("statistic, column", [(None, "latency_ms"), ("min", "latency_ms"),
                                               ("median", "median_ms")])
def test_sessions_are_summarised_by_their_median(tmp_path, statistic, column):
    path = campaign(tmp_path)
    raw = pd.read_csv(path)
    table = load_latency(path, statistic=statistic)
    assert table["model"].tolist() == ["MobileOne-S0", "MobileOne-S1"]
    for _, row in table.iterrows():
        per_session = raw.loc[raw["model"] == row["model"], column].tolist()
        assert row["latency_ms"] == pytest.approx(statistics.median(per_session))
        assert (row["session_low_ms"], row["session_high_ms"]) == (min(per_session),
                                                                    max(per_session))
        assert row["n_sessions"] == 3 and row["campaign"] == "c1" and row["n_runs"] == 100
    assert set(table["statistic"]) == {statistic or "min"}
    assert "session" not in table.columns  # one row per identity


def test_load_sessions_returns_every_session(tmp_path):
    path = campaign(tmp_path)
    sessions = load_sessions(path)
    assert len(sessions) == len(SESSIONS)
    assert sessions["session"].tolist() == [s for _, s, _, _ in SESSIONS]
    assert sessions["latency_ms"].tolist() == [lo for _, _, lo, _ in SESSIONS]
    assert sessions["order"].tolist() == list(range(len(SESSIONS)))
    median = load_sessions(path, statistic="median")
    assert median["latency_ms"].tolist() == [med for _, _, _, med in SESSIONS]


def test_a_summary_file_has_no_session_spread(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("model,latency_ms,device\nMobileOne-S0,0.79,p\n")
    table = load_latency(path)
    assert table["n_sessions"].isna().all() and table["session_low_ms"].isna().all()
    assert load_sessions(path)["session"].isna().all()


@pytest.mark.parametrize("column, changed, shown", [
    ("threads", {"threads": {3: 2}}, "(1 on line 2, 2 on line 5)"),
    ("runtime_version", {"version": {3: "2.14.0"}}, "(2.13.0 on line 2, 2.14.0 on line 5)"),
])
def test_sessions_in_different_settings_are_refused(tmp_path, column, changed, shown):
    path = campaign(tmp_path, **changed)
    for loader in (load_latency, load_sessions):
        with pytest.raises(DataFormatError) as info:
            loader(path)
        message = str(info.value)
        assert message.startswith(f"{path}, line 5, column ")
        assert f"sessions of MobileOne-S0 on 'AMD EPYC' differ in '{column}' {shown}" in message
        assert "one campaign per setting" in message


def test_context_across_two_files_names_both(tmp_path):
    a = campaign(tmp_path, SESSIONS[:2], name="a.csv")
    b = campaign(tmp_path, SESSIONS[2:], threads={0: 2, 1: 2, 2: 2, 3: 2}, name="b.csv")
    with pytest.raises(DataFormatError, match=r"b\.csv, line 2, column 11 \('threads'\): "
                                              r"sessions of MobileOne-S1 .*\(1 on .*a\.csv, "
                                              r"line 3, 2 on line 2\)"):
        load_latency([a, b])


def test_one_session_measured_twice_with_other_numbers_is_a_conflict(tmp_path):
    rows = [*SESSIONS, ("MobileOne-S0", 1, 1.5, 1.6)]
    with pytest.raises(DataFormatError, match=r"line 8, column 8 \('latency_ms'\): "
                                              r"MobileOne-S0 on 'AMD EPYC' \(torch, min, "
                                              r"session 1\) is 1.5 ms here but 1.1 ms"):
        load_latency(campaign(tmp_path, rows))


def test_sessions_without_statistic_or_runs_are_not_a_raw_dump(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("model,latency_ms,device,session\nMobileOne-S0,1.1,d,1\n"
                    "MobileOne-S0,1.0,d,2\nMobileOne-S0,1.4,d,3\n")
    table = load_latency(path)
    assert table.attrs["raw_samples"] == 0
    assert table["latency_ms"].tolist() == [1.1] and table["n_sessions"].tolist() == [3]


def test_raw_runs_of_each_session_are_summarised_per_session_first(tmp_path):
    runs = {1: [1.3, 1.1, 1.2], 2: [1.0, 1.6], 3: [1.5, 1.4, 1.45]}
    text = "".join(f"MobileOne-S0,{v},d,{s}\n" for s, vs in runs.items() for v in vs)
    path = tmp_path / "runs.csv"
    path.write_text("model,latency_ms,device,session\n" + text)
    table = load_latency(path)
    minima = [min(v) for v in runs.values()]
    assert table["latency_ms"].tolist() == [statistics.median(minima)]
    assert table["n_sessions"].tolist() == [3] and table.attrs["raw_samples"] == 8


def test_form_k_and_mode_set_identities_apart(tmp_path):
    path = tmp_path / "reparam.csv"
    path.write_text(
        "model,form,k,mode,latency_ms,device,macs,params\n"
        "MobileOne-S0,fused,,eager,1.0,d,,\n"
        "MobileOne-S0,train,1,eager,1.5,d,,\n"
        "MobileOne-S0,train,4,eager,2.5,d,,\n"
        "MobileOne-S0,fused,,graph,0.4,d,,\n"
        "MobileOne-S0 train k=4,train,4,eager,2.5,d,1.1e9,5300000\n"
        "matmul-2048,reference,,eager,3.0,d,8.6e9,1000\n")
    table = load_latency(path)
    assert len(table) == 6
    assert table["form"].tolist() == ["fused", "train", "train", "fused", "train", "reference"]
    assert table["k"].fillna(0).tolist() == [0, 1, 4, 0, 4, 0]
    assert table["mode"].tolist() == ["eager"] * 3 + ["graph"] + ["eager"] * 2
    assert table["model_id"].tolist()[4:] == [None, None]


def test_form_and_mode_values_are_checked(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("model,latency_ms,form\nMobileOne-S0,1.0,trained\n")
    with pytest.raises(DataFormatError, match=r"line 2, column 3 \('form'\): expected one of "
                                              r"fused, train, sequential, reference"):
        load_latency(path)
    path.write_text("model,latency_ms,mode\nMobileOne-S0,1.0,compiled\n")
    with pytest.raises(DataFormatError, match=r"column 3 \('mode'\): expected one of eager"):
        load_latency(path)


def test_an_older_measurement_file_loads_with_the_same_numbers():
    path = paths.DATA / "archive" / "amd-epyc-2026-11-22" / "local-amd_epyc-torch.csv"
    raw = pd.read_csv(path)
    table = load_latency(path)
    assert table["latency_ms"].tolist() == raw["latency_ms"].tolist()
    assert set(table["form"]) == {"fused"} and set(table["mode"]) == {"eager"}
    assert set(table["regime"]) == {""} and (table["physical_device"] == table["device"]).all()


def test_saved_session_table_round_trips(tmp_path):
    table = load_latency(campaign(tmp_path))
    buf = tmp_path / "saved.csv"
    table.to_csv(buf, index=False)
    again = load_latency(buf)
    cols = ["model", "latency_ms", "n_sessions", "session_low_ms", "session_high_ms", "form",
            "mode", "regime", "physical_device", "campaign"]
    pd.testing.assert_frame_equal(table[cols], again[cols])


# ---------------------------------------------------------------- regimes as devices


@pytest.fixture()
def gpu(tmp_path):
    rows = [f"{m},NVIDIA H200,torch,{mode},{prec},{ms}\n"
            for m in ("MobileOne-S0", "MobileOne-S1")
            for mode, prec, ms in (("eager", "fp32", 1.4), ("graph", "fp32", 0.35),
                                   ("graph", "fp16", 0.3))]
    path = tmp_path / "gpu.csv"
    path.write_text("model,device,runtime,mode,precision,latency_ms\n" + "".join(rows))
    return load_latency(path)


def test_regimes_are_named_and_selectable(gpu):
    assert list(dict.fromkeys(gpu["regime"])) == ["eager fp32", "graph fp32", "graph fp16"]
    assert set(gpu["physical_device"]) == {"NVIDIA H200"}
    assert device_labels(gpu) == ["NVIDIA H200 · torch · eager fp32",
                                  "NVIDIA H200 · torch · graph fp32",
                                  "NVIDIA H200 · torch · graph fp16"]
    assert device_column(gpu).nunique() == 3
    for selector, n in (("NVIDIA H200/graph fp16", 2), ("nvidia h200 · graph FP32", 2),
                        ("NVIDIA H200 · torch · eager fp32", 2), ("NVIDIA H200", 6),
                        ("NVIDIA H200/torch", 6), ("NVIDIA H200/graph fp16, NVIDIA H200/"
                                                   "eager fp32", 4)):
        chosen = select_devices(gpu, selector)
        assert len(chosen) == n, selector
    assert set(select_devices(gpu, "NVIDIA H200/graph fp16")["regime"]) == {"graph fp16"}


def test_unknown_regime_lists_the_labels(gpu):
    from analysis.errors import ConfigError

    with pytest.raises(ConfigError, match=r"NVIDIA H200 · torch · graph fp16"):
        select_devices(gpu, "NVIDIA H200/graph bf16")


# ---------------------------------------------------------------- validate on a big file


def test_validate_summarises_many_devices(tmp_path, capsys):
    n = 2000
    buf = io.StringIO()
    buf.write("model,latency_ms,device,runtime\n")
    for i in range(n):
        buf.write(f"MobileOne-S0,{800 + i % 7},phone {i},tflite\n")  # microseconds: warnings
    path = tmp_path / "many.csv"
    path.write_text(buf.getvalue())
    assert main(["validate", str(path)]) == 0
    captured = capsys.readouterr()
    device_lines = [ln for ln in captured.out.splitlines() if ln.startswith("  phone ")]
    assert len(device_lines) == 20
    assert f"  … and {n - 20} more device / runtime pairs" in captured.out
    warnings_shown = captured.err.splitlines()
    assert len(warnings_shown) == 21 and warnings_shown[-1] == (
        f"warning: … and {n - 20} more warnings")
    assert f"ok: 1 file valid, {n} warnings" in captured.out
    assert len(captured.out.splitlines()) < 30
