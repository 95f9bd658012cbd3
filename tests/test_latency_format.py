"""The latency CSV loader and validator: every accepted variant and every rejected case.

Each bad input must raise one DataFormatError naming the file, line and column and what was
expected; the input file must never change (bytes and modification time).
"""

from __future__ import annotations

import math
import os
import statistics

import pandas as pd
import pytest

from analysis import paths
from analysis.cli import main
from analysis.errors import ConfigError, DataFormatError
from analysis.latency import load_latency, read_timm_benchmark
from analysis.latency.paper import paper_latency_files

TIMM = sorted((paths.EXTERNAL_DATA / "timm-benchmarks").glob("*.csv"))
#: Files here often leave out the device on purpose (tests/test_latency_user_mistakes.py
#: checks that warning).
pytestmark = pytest.mark.filterwarnings("ignore::analysis.latency.LatencyDataWarning")


def write(tmp_path, text, name="lat.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def fails(path, *fragments, **kwargs):
    """Load ``path`` expecting a DataFormatError containing every fragment; file unchanged."""
    before = (path.read_bytes(), os.stat(path).st_mtime_ns) if path.is_file() else None
    with pytest.raises(DataFormatError) as info:
        load_latency(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    if before is not None:
        assert (path.read_bytes(), os.stat(path).st_mtime_ns) == before
    return message


# ---------------------------------------------------------------- shipped files


def test_shipped_latency_files_validate():
    files = [*paper_latency_files().values(), *TIMM]
    table = load_latency(files)
    assert set(table["device"]) >= {"iPhone 12", "Intel Xeon Gold 5118", "NVIDIA RTX-2080Ti"}
    paper = table[table["source"].str.contains("Table 9")]
    assert paper["model_id"].notna().all()  # every Table 9 name resolves through the registry
    iphone = paper[paper["device"] == "iPhone 12"]
    assert set(iphone["statistic"]) == {"min"}
    assert set(paper[paper["device"] == "Intel Xeon Gold 5118"]["statistic"]) == {"unstated"}
    assert set(paper[paper["device"] == "NVIDIA RTX-2080Ti"]["statistic"]) == {"median"}


def test_every_csv_in_data_latency_validates():
    files = sorted(f for f in paths.LATENCY_DATA.glob("*.csv") if f.name != "manifest.csv")
    assert len(files) >= 5
    for f in files:
        assert len(load_latency(f)) > 0


def test_timm_reader_matches_pandas():
    path = TIMM[0]
    raw = pd.read_csv(path)
    raw = raw[~raw["model"].str.startswith("test_")].reset_index(drop=True)
    table = read_timm_benchmark(path)
    assert len(table) == len(raw)
    assert table["model_id"].isna().all() and set(table["statistic"]) == {"mean"}
    assert table["latency_ms"].tolist() == pytest.approx(raw["infer_step_time"].tolist())
    assert table["macs"].tolist() == pytest.approx((raw["infer_gmacs"] * 1e9).tolist())
    assert table["params"].tolist() == pytest.approx((raw["param_count"] * 1e6).tolist())
    assert set(table["precision"]) == {"fp32"} and set(table["batch_size"]) == {1}
    with_tests = read_timm_benchmark(path, include_test_models=True)
    assert len(with_tests) == len(pd.read_csv(path))


def test_timm_rows_at_batch_size_above_one_are_refused_as_throughput(tmp_path):
    lines = TIMM[0].read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    col = header.index("infer_batch_size")
    i = next(i for i, line in enumerate(lines) if i and not line.startswith("test_"))
    cells = lines[i].split(",")
    cells[col] = "256"
    path = write(tmp_path, "\n".join([*lines[:i], ",".join(cells), *lines[i + 1:]]) + "\n",
                 name=TIMM[0].name)
    for reader in (load_latency, read_timm_benchmark):
        with pytest.raises(DataFormatError, match=rf"line {i + 1}, column {col + 1} "
                                                  r"\('infer_batch_size'\): batch size 256.*"
                                                  r"throughput"):
            reader(path)


# ---------------------------------------------------------------- accepted variants


def test_minimal_file_gets_documented_defaults(tmp_path):
    path = write(tmp_path, "model,latency_ms\nmobileone-s0,0.79\nMobileOne-S1,0.89\n",
                 name="my-phone.csv")
    t = load_latency(path)
    assert t["model"].tolist() == ["MobileOne-S0", "MobileOne-S1"]
    assert t["model_id"].tolist() == ["mobileone_s0", "mobileone_s1"]
    row = t.iloc[0]
    assert row["device"] == "my-phone" and row["runtime"] == "unknown"
    assert row["statistic"] == "min" and row["precision"] == "unknown"
    assert row["batch_size"] == 1 and row["input_size"] == 224
    assert pd.isna(row["n_runs"]) and pd.isna(row["threads"]) and math.isnan(row["macs"])
    assert row["line"] == 2 and row["source"].endswith("my-phone.csv")


def test_utf8_bom_loads(tmp_path):
    path = write(tmp_path, "\ufeffmodel,latency_ms\nMobileOne-S0,0.79\n")
    assert load_latency(path)["latency_ms"].tolist() == [0.79]


def test_semicolon_file_with_decimal_comma_loads(tmp_path):
    path = write(tmp_path, "model;latency_ms;device\nMobileOne-S0;0,79;iPhone 15\n"
                           "MobileOne-S1;1.5;iPhone 15\n")
    t = load_latency(path)
    assert t["latency_ms"].tolist() == [0.79, 1.5]
    assert t["device"].tolist() == ["iPhone 15", "iPhone 15"]


def test_tab_separated_and_utf16_excel_export_load(tmp_path):
    text = "model\tlatency_ms\nMobileOne-S0\t0,79\n"
    path = write(tmp_path, b"\xff\xfe" + text.encode("utf-16-le"))
    assert load_latency(path)["latency_ms"].tolist() == [0.79]


def test_excel_sep_hint_line_and_trailing_empty_cells(tmp_path):
    path = write(tmp_path, "sep=;\nmodel;latency_ms;;\nMobileOne-S0;0,79;;\n;;;\n")
    assert load_latency(path)["latency_ms"].tolist() == [0.79]


def test_header_is_case_insensitive_and_cells_are_stripped(tmp_path):
    path = write(tmp_path, "Model , Latency_MS\n  MobileOne-S0 ,  0.79 \n")
    assert load_latency(path)["model_id"].tolist() == ["mobileone_s0"]


def test_model_outside_zoo_allowed_with_macs_and_params(tmp_path):
    path = write(tmp_path, "model,latency_ms,macs,params\nMyNet,1.2,3.1e8,4200000\n")
    t = load_latency(path)
    assert t["model"].tolist() == ["MyNet"] and t["model_id"].tolist() == [None]
    assert t["macs"].tolist() == [3.1e8] and t["params"].tolist() == [4.2e6]
    assert pd.isna(t["input_size"].iloc[0])


def test_raw_samples_are_aggregated(tmp_path):
    runs = [1.31, 1.02, 1.20, 1.75, 1.11, 1.08]
    lines = "".join(f"MobileOne-S0,{v},sample,iPhone 15\n" for v in runs)
    path = write(tmp_path, "model,latency_ms,statistic,device\n" + lines)
    t = load_latency(path)
    assert len(t) == 1 and t["statistic"].iloc[0] == "min"
    assert t["latency_ms"].iloc[0] == min(runs) and t["n_runs"].iloc[0] == len(runs)
    assert t["median_ms"].iloc[0] == pytest.approx(statistics.median(runs))
    assert t["std_ms"].iloc[0] == pytest.approx(statistics.stdev(runs))
    med = load_latency(path, statistic="median")
    assert med["latency_ms"].iloc[0] == pytest.approx(statistics.median(runs))
    assert med["statistic"].iloc[0] == "median"


def test_identical_duplicate_rows_are_merged(tmp_path):
    path = write(tmp_path, "model,latency_ms\nMobileOne-S0,0.79\nmobileone_s0,0.790\n")
    assert len(load_latency(path)) == 1


def test_statistic_argument_selects_rows_and_stat_columns(tmp_path):
    path = write(tmp_path, "model,latency_ms,statistic,median_ms,device\n"
                           "MobileOne-S0,0.79,min,0.85,d\nMobileOne-S1,0.95,median,,d\n")
    # mixed in one device without saying which: an error (see the bad cases); with median:
    t = load_latency(path, statistic="median")
    assert t["latency_ms"].tolist() == [0.85, 0.95]
    assert set(t["statistic"]) == {"median"}


def test_same_model_different_input_sizes_are_distinct(tmp_path):
    path = write(tmp_path, "model,latency_ms,input_size\nMobileOne-S0,0.79,224\n"
                           "MobileOne-S0,1.2,256\n")
    assert load_latency(path)["input_size"].tolist() == [224, 256]


# ---------------------------------------------------------------- rejected cases


def test_missing_file(tmp_path):
    fails(tmp_path / "nope.csv", "nope.csv", "no such file")


def test_directory_is_rejected(tmp_path):
    fails(tmp_path, "is a directory")


@pytest.mark.parametrize("content", ["", "\n\n  \n", "\ufeff"])
def test_empty_file(tmp_path, content):
    fails(write(tmp_path, content), "lat.csv", "the file is empty", "model,latency_ms")


def test_header_only(tmp_path):
    fails(write(tmp_path, "model,latency_ms\n"), "no data rows after the header")


@pytest.mark.parametrize("header, missing", [("model,latency\n", "'latency_ms'"),
                                             ("name,latency_ms\n", "'model'")])
def test_missing_required_column(tmp_path, header, missing):
    msg = fails(write(tmp_path, header + "MobileOne-S0,0.79\n"), "lat.csv", "line 1",
                "missing required column", missing)
    if header.startswith("model,latency"):
        assert "'latency' should be named 'latency_ms'" in msg


@pytest.mark.parametrize("value, expected", [
    ("abc", "expected a latency in milliseconds"),
    ("nan", "missing value"),
    ("NaN", "missing value"),
    ("inf", "not a finite number"),
    ("0", "must be positive"),
    ("-1.5", "must be positive"),
    ("3600001", "more than one hour"),
    ("0,79", "decimal point"),
])
def test_bad_latency_values(tmp_path, value, expected):
    cell = f'"{value}"' if "," in value else value
    path = write(tmp_path, f"model,latency_ms\nMobileOne-S0,0.79\nMobileOne-S1,{cell}\n")
    fails(path, "lat.csv, line 3, column 2 ('latency_ms')", expected)


def test_unknown_model_suggests_close_names(tmp_path):
    path = write(tmp_path, "model,latency_ms\nMobilOne-S0,0.79\n")
    fails(path, "line 2, column 1 ('model')", "unknown model 'MobilOne-S0'",
          "did you mean", "'MobileOne-S0'", "needs its own 'macs' and 'params'")


def test_unknown_model_with_only_macs_is_rejected(tmp_path):
    path = write(tmp_path, "model,latency_ms,macs\nMyNet,1.2,3.1e8\n")
    fails(path, "line 2, column 1 ('model')", "unknown model 'MyNet'")


def test_macs_in_millions_is_rejected(tmp_path):
    path = write(tmp_path, "model,latency_ms,macs,params\nMyNet,1.2,310,4.2\n")
    fails(path, "line 2, column 3 ('macs')", "looks like millions")


def test_disagreeing_explicit_summaries_in_one_file(tmp_path):
    path = write(tmp_path, "model,latency_ms,device,statistic\nMobileOne-S0,0.79,d,min\n"
                           "MobileOne-S1,1,d,min\nmobileone_s0,0.95,d,min\n")
    fails(path, "line 4, column 2 ('latency_ms')", "0.95 ms here but 0.79 ms at",
          "lat.csv, line 2", "if these are single runs, set `statistic` to `sample`")


def test_disagreeing_summaries_of_many_runs_get_no_sample_hint(tmp_path):
    path = write(tmp_path, "model,latency_ms,device,n_runs\nMobileOne-S0,0.79,d,100\n"
                           "mobileone_s0,0.95,d,100\n")
    message = fails(path, "line 3, column 2 ('latency_ms')", "0.95 ms here but 0.79 ms at")
    assert "sample" not in message


def test_disagreeing_duplicates_across_files(tmp_path):
    a = write(tmp_path, "model,latency_ms,device\nMobileOne-S0,0.79,phone\n", name="a.csv")
    b = write(tmp_path, "model,latency_ms,device\nMobileOne-S0,0.81,phone\n", name="b.csv")
    with pytest.raises(DataFormatError, match=r"b\.csv, line 2.*a\.csv, line 2.*set "
                                              r"`statistic` to `sample`"):
        load_latency([a, b])


def test_mixed_statistics_in_one_device(tmp_path):
    path = write(tmp_path, "model,latency_ms,statistic,device\nMobileOne-S0,0.79,min,phone\n"
                           "MobileOne-S1,0.95,median,phone\n")
    fails(path, "line 3, column 3 ('statistic')", "mixes statistics", "statistic='min'")


def test_asked_statistic_missing_for_a_model(tmp_path):
    path = write(tmp_path, "model,latency_ms,statistic\nMobileOne-S0,0.79,min\n")
    fails(path, "line 2, column 3 ('statistic')", "'median' was asked",
          statistic="median")


def test_unknown_statistic_value(tmp_path):
    path = write(tmp_path, "model,latency_ms,statistic\nMobileOne-S0,0.79,average\n")
    fails(path, "line 2, column 3 ('statistic')", "expected one of min, median")


def test_unknown_statistic_argument_is_config_error(tmp_path):
    path = write(tmp_path, "model,latency_ms\nMobileOne-S0,0.79\n")
    with pytest.raises(ConfigError, match="statistic must be one of"):
        load_latency(path, statistic="fastest")


@pytest.mark.parametrize("column, value, expected", [
    ("batch_size", "0", "a batch size >= 1"),
    ("n_runs", "2.5", "a whole number of runs"),
    ("input_size", "224x224", "input side in pixels"),
    ("threads", "-1", "a thread count"),
    ("precision", "fp64", "expected one of fp32"),
    ("date", "31/05/2024", "ISO 8601"),
])
def test_bad_optional_values(tmp_path, column, value, expected):
    path = write(tmp_path, f"model,latency_ms,{column}\nMobileOne-S0,0.79,{value}\n")
    fails(path, f"line 2, column 3 ('{column}')", expected)


def test_wrong_field_count(tmp_path):
    path = write(tmp_path, "model,latency_ms\nMobileOne-S0,0.79\nMobileOne-S1,0.8,x,y\n")
    fails(path, "line 3", "found 4 comma-separated fields, the header has 2")


def test_unsupported_delimiter_fails_clearly(tmp_path):
    path = write(tmp_path, "model|latency_ms\nMobileOne-S0|0.79\n")
    fails(path, "line 1", "missing required column", "single column")


def test_latin1_file_fails_with_position(tmp_path):
    path = write(tmp_path, "model,latency_ms,source\nMobileOne-S0,0.79,Müller\n",
                 encoding="latin-1")
    fails(path, "line 2, column 20", "not valid UTF-8", "CSV UTF-8")


def test_repeated_column_name(tmp_path):
    path = write(tmp_path, "model,latency_ms,model\nMobileOne-S0,0.79,x\n")
    fails(path, "line 1, column 3 ('model')", "repeated")


def test_inputs_are_never_modified_on_success(tmp_path):
    path = write(tmp_path, "\ufeffmodel;latency_ms\nMobileOne-S0;0,79\n")
    before = (path.read_bytes(), os.stat(path).st_mtime_ns)
    load_latency(path)
    assert (path.read_bytes(), os.stat(path).st_mtime_ns) == before


# ---------------------------------------------------------------- command line


def test_validate_command_summary(tmp_path, capsys):
    files = [str(p) for p in paper_latency_files().values()]
    assert main(["validate", *files]) == 0
    out = capsys.readouterr().out
    assert "iPhone 12 / coreml: 30 models" in out and "statistic min" in out
    assert "statistic unstated" in out and "statistic median" in out
    assert out.rstrip().endswith("ok: 3 files valid")


def test_validate_command_error_is_one_line(tmp_path, capsys):
    path = write(tmp_path, "model,latency_ms\nMobileOne-S0,-1\n")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}, line 2, column 2 ('latency_ms'):")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_validate_statistic_option(tmp_path, capsys):
    path = write(tmp_path, "model,latency_ms,statistic,median_ms\nMobileOne-S0,0.79,min,0.8\n"
                           "MobileOne-S1,0.95,median,\n")
    assert main(["validate", str(path)]) == 2
    capsys.readouterr()
    assert main(["validate", "--statistic", "median", str(path)]) == 0


# ---------------------------------------------------------------- saved tidy tables


def test_saved_tidy_table_round_trips(tmp_path):
    files = [*paper_latency_files().values(), *TIMM]
    table = load_latency(files)
    saved = tmp_path / "tidy.csv"
    table.to_csv(saved, index=False)
    again = load_latency(saved)
    cols = ["model", "model_id", "device", "runtime", "statistic", "latency_ms", "n_runs",
            "batch_size", "input_size", "precision", "macs", "params", "source"]
    pd.testing.assert_frame_equal(table[cols], again[cols])
    # timm's "mobilenetv3_small_100" is also a zoo alias: an empty model_id keeps it timm's
    assert again["model_id"].isna().sum() == table["model_id"].isna().sum()


def test_model_id_column_rules(tmp_path):
    ok = write(tmp_path, "model,model_id,latency_ms\nMobileOne-S0,mobileone_s0,0.79\n",
               name="ok.csv")
    assert load_latency(ok)["model_id"].tolist() == ["mobileone_s0"]
    clash = write(tmp_path, "model,model_id,latency_ms\nMobileOne-S0,mobileone_s1,0.79\n")
    fails(clash, "line 2, column 2 ('model_id')", "disagrees with model 'MobileOne-S0'")
    outside = write(tmp_path, "model,model_id,latency_ms\nMobileOne-S0,,0.79\n", name="o.csv")
    fails(outside, "line 2, column 2 ('model_id')", "needs its own 'macs' and 'params'")
