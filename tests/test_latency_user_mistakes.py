"""Mistakes a phone user makes in a latency file, each caught with a clear message or warning,
and the selection of devices by plain name."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from analysis.cli import main
from analysis.errors import ConfigError, DataFormatError
from analysis.latency import (MAX_MACS_PER_S, MIN_MACS_PER_S, LatencyDataWarning, check_units,
                              load_latency, paper_latency_files, select_devices)

S0_MACS = 275e6  # Table 9: MobileOne-S0, 275 M "FLOPs"


def write(tmp_path, text, name="phone.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def loaded_quietly(path, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = load_latency(path, **kwargs)
    return table, [str(w.message) for w in caught if w.category is LatencyDataWarning]


# ---------------------------------------------------------------- (a) units


def phone(latencies: list[float]) -> pd.DataFrame:
    models = ["MobileOne-S0", "MobileOne-S1", "MobileOne-S2"]
    return pd.DataFrame({"model_id": [m.lower().replace("-", "_") for m in models],
                         "device": "Pixel 8", "runtime": "tflite", "latency_ms": latencies,
                         "macs": float("nan")})


@pytest.mark.parametrize("factor, word", [(1e-3, "seconds"), (1e3, "microseconds")])
def test_latency_in_seconds_or_microseconds_warns(factor, word):
    good = phone([0.79, 0.95, 1.2])
    counts = {"mobileone_s0": S0_MACS, "mobileone_s1": 825e6, "mobileone_s2": 1299e6}
    assert check_units(good, counts)["problem"].tolist() == [""]
    bad = good.assign(latency_ms=good["latency_ms"] * factor)
    with pytest.warns(LatencyDataWarning, match=f"in {word}\\?"):
        result = check_units(bad, counts)
    rate = sorted(counts[m] / (ms / 1e3) for m, ms in zip(bad["model_id"], bad["latency_ms"]))
    assert result["median_macs_per_s"].iloc[0] == pytest.approx(rate[1])  # median of 3
    assert result["models"].iloc[0] == 3 and word in result["problem"].iloc[0]


def test_unit_bounds_are_the_documented_ones():
    assert (MIN_MACS_PER_S, MAX_MACS_PER_S) == (1e9, 50e12)
    just_inside = phone([S0_MACS / MIN_MACS_PER_S * 1e3 * 0.99] * 3).assign(macs=S0_MACS)
    assert check_units(just_inside)["problem"].tolist() == [""]
    just_outside = phone([S0_MACS / MIN_MACS_PER_S * 1e3 * 1.01] * 3).assign(macs=S0_MACS)
    with pytest.warns(LatencyDataWarning):
        assert check_units(just_outside)["problem"].iloc[0]


def test_shipped_paper_devices_have_plausible_units():
    table = load_latency(list(paper_latency_files().values()))
    with warnings.catch_warnings():
        warnings.simplefilter("error", LatencyDataWarning)
        result = check_units(table)  # Table 9's MACs
    assert (result["problem"] == "").all() and (result["models"] >= 20).all()


def test_validate_warns_about_microseconds(tmp_path, capsys):
    path = write(tmp_path, "model,latency_ms,device\nMobileOne-S0,790,Pixel 8\n"
                           "MobileOne-S1,950,Pixel 8\nMobileOne-S2,1200,Pixel 8\n")
    assert main(["validate", str(path)]) == 0
    captured = capsys.readouterr()
    assert "warning: Pixel 8 · unknown: median implied throughput" in captured.err
    assert "microseconds?" in captured.err and "1 warning" in captured.out


# ---------------------------------------------------------------- (b) no device


def test_unedited_template_device_warns(tmp_path):
    path = write(tmp_path, "model,latency_ms,device\nMobileOne-S0,0.79,\nMobileOne-S1,0.9,\n",
                 name="latency_template.csv")
    table, caught = loaded_quietly(path)
    assert set(table["device"]) == {"latency_template"}
    assert len(caught) == 1 and "'device' is empty on 2 of 2 rows" in caught[0]
    assert "'latency_template'" in caught[0]


def test_missing_device_column_warns_and_a_filled_one_does_not(tmp_path):
    _, caught = loaded_quietly(write(tmp_path, "model,latency_ms\nMobileOne-S0,0.79\n"))
    assert caught and "no 'device' column" in caught[0]
    _, caught = loaded_quietly(write(tmp_path, "model,latency_ms,device\nMobileOne-S0,0.79,p\n"))
    assert caught == []


# ---------------------------------------------------------------- (c) repeated header


def test_repeated_header_row_is_named(tmp_path):
    text = ("model,latency_ms,statistic,device\nMobileOne-S0,0.79,min,p\n"
            "model,latency_ms,statistic,device\nMobileOne-S1,0.9,min,p\n")
    with pytest.raises(DataFormatError, match=r"phone\.csv, line 3: repeated header row"):
        load_latency(write(tmp_path, text))
    reordered = text.replace("model,latency_ms,statistic,device\nMobileOne-S1",
                             "Device,Model,Statistic,Latency_ms\nMobileOne-S1")
    with pytest.raises(DataFormatError, match="line 3: repeated header row"):
        load_latency(write(tmp_path, reordered))


# ---------------------------------------------------------------- (d) look-alike characters


def test_letter_o_for_zero_is_matched_with_a_warning(tmp_path):
    path = write(tmp_path, "model,latency_ms,device\nMobileOne-SO,0.79,p\nMobiIeOne-S1,0.9,p\n"
                           "mobilenetv2-xl.O,1.1,p\n")
    table, caught = loaded_quietly(path)
    assert table["model_id"].tolist() == ["mobileone_s0", "mobileone_s1", "mobilenetv2_100"]
    assert len(caught) == 1
    assert "'MobileOne-SO' (line 2) as 'MobileOne-S0'" in caught[0]
    assert "look-alike" in caught[0]


def test_an_unknown_name_still_fails(tmp_path):
    with pytest.raises(DataFormatError, match="unknown model 'MobileOne-S9'"):
        load_latency(write(tmp_path, "model,latency_ms,device\nMobileOne-S9,0.79,p\n"))


# ---------------------------------------------------------------- (e) thousands separators


@pytest.mark.parametrize("text, column", [
    ("model;latency_ms;n_runs;device\nMobileOne-S0;0,79;1.000;p\n", "n_runs"),
    ("model;latency_ms;device\nMobileOne-S0;0,79;p\nMobileOne-S1;1.250;p\n", "latency_ms"),
    ("model;latency_ms;n_runs;device\nMobileOne-S0;0.79;1.000;p\n", "n_runs"),
])
def test_a_thousands_separator_never_silently_changes_a_number(tmp_path, text, column):
    with pytest.raises(DataFormatError, match=rf"column \d \('{column}'\): '1\.[02]\d0' is "
                                              r"ambiguous.*thousands separator \(1[02]\d0\)"):
        load_latency(write(tmp_path, text))


def test_unambiguous_numbers_in_decimal_comma_files_still_load(tmp_path):
    path = write(tmp_path, "model;latency_ms;n_runs;device\nMobileOne-S0;0,79;1000;p\n"
                           "MobileOne-S1;1.5;50;p\nMobileOne-S2;0.790;50;p\n")
    table = load_latency(path)
    assert table["latency_ms"].tolist() == [0.79, 1.5, 0.79]
    assert table["n_runs"].tolist() == [1000, 50, 50]


def test_comma_separated_file_keeps_its_decimal_point(tmp_path):
    path = write(tmp_path, "model,latency_ms,n_runs,device\nMobileOne-S0,1.250,100,p\n")
    assert load_latency(path)["latency_ms"].tolist() == [1.25]


# ---------------------------------------------------------------- devices by plain name


@pytest.fixture(scope="module")
def two_runtimes():
    rows = [("MobileOne-S0", "Pixel 8", "tflite", 0.9), ("MobileOne-S0", "Pixel 8", "nnapi", 0.7),
            ("MobileOne-S0", "iPhone 12", "coreml", 0.79), ("MobileOne-S1", "iPhone 12",
                                                            "coreml", 0.89)]
    return pd.DataFrame(rows, columns=["model", "device", "runtime", "latency_ms"])


@pytest.mark.parametrize("devices, expected", [
    ("pixel 8", [("Pixel 8", "tflite"), ("Pixel 8", "nnapi")]),
    (["Pixel 8 · nnapi"], [("Pixel 8", "nnapi")]),
    ("Pixel 8/tflite, iPhone 12", [("Pixel 8", "tflite"), ("iPhone 12", "coreml")]),
    (["iPhone 12", "Pixel 8 / nnapi"], [("iPhone 12", "coreml"), ("Pixel 8", "nnapi")]),
])
def test_select_devices_by_name_or_runtime(two_runtimes, devices, expected):
    chosen = select_devices(two_runtimes, devices)
    assert list(dict.fromkeys(zip(chosen["device"], chosen["runtime"]))) == expected
    assert len(chosen) == len(two_runtimes[two_runtimes.set_index(["device", "runtime"]).index
                                           .isin(expected)])


@pytest.mark.parametrize("devices", [None, "", "none", []])
def test_no_selection_keeps_everything(two_runtimes, devices):
    assert select_devices(two_runtimes, devices).equals(two_runtimes)


@pytest.mark.parametrize("devices", ["Pixel 9", "Pixel 8 · coreml", "iPhone"])
def test_unknown_device_lists_the_available_ones(two_runtimes, devices):
    with pytest.raises(ConfigError, match=r"no device .* available: 'Pixel 8', 'iPhone 12'.*"
                                          r"Pixel 8 · tflite, Pixel 8 · nnapi, iPhone 12 · coreml"):
        select_devices(two_runtimes, devices)


# ---------------------------------------------------------------- (f) half-filled templates


def template(rows: list[tuple[str, str]]) -> str:
    """An export template (its own columns) with ``(model, latency_ms)`` filled in."""
    from analysis.export.template import TEMPLATE_COLUMNS

    lines = [",".join(TEMPLATE_COLUMNS)]
    for model, ms in rows:
        cells = {"model": model, "latency_ms": ms, "device": "Pixel 8" if ms else "",
                 "runtime": "onnxruntime", "statistic": "median", "batch_size": "1",
                 "input_size": "224", "precision": "fp32", "export_file": f"{model}.onnx"}
        lines.append(",".join(cells.get(c, "") for c in TEMPLATE_COLUMNS))
    return "\n".join(lines) + "\n"


def test_template_rows_left_empty_are_skipped_and_listed_once(tmp_path):
    rows = [("MobileOne-S0", "0.9"), ("MobileOne-S1", ""), ("MobileOne-S2", "1.4"),
            ("MobileOne-S3", "")]
    table, caught = loaded_quietly(write(tmp_path, template(rows), "latency_template.csv"))
    assert table["model"].tolist() == ["MobileOne-S0", "MobileOne-S2"]
    empty = [c for c in caught if "not measured yet" in c]
    assert len(empty) == 1 and "2 rows" in empty[0]
    assert "MobileOne-S1 (line 3), MobileOne-S3 (line 5)" in empty[0]
    assert not any("device" in c for c in caught)  # the skipped rows' empty device: no warning


def test_a_template_with_nothing_measured_is_an_error_saying_so(tmp_path):
    path = write(tmp_path, template([("MobileOne-S0", ""), ("MobileOne-S1", "")]))
    with pytest.raises(DataFormatError, match=r"phone\.csv, line 2, column 2 \('latency_ms'\): "
                                              r"nothing measured yet.*empty on all 2 rows"):
        load_latency(path)


def test_all_problems_of_a_file_are_reported_at_once(tmp_path):
    bad = [f"MobileOne-S{i % 5},-{i},p" for i in range(30)]
    text = "model,latency_ms,device\nMobileOne-S0,0.8,p\nMobileOne-SX,0.9,p\n" + \
        "\n".join(bad) + "\nMobileOne-S1,0.9,p,extra\n"
    with pytest.raises(DataFormatError) as info:
        load_latency(write(tmp_path, text))
    lines = str(info.value).splitlines()
    assert lines[0].startswith(f"{tmp_path / 'phone.csv'}, line 3, column 1 ('model'): ")
    assert lines[0].endswith("; and 31 more problems in this file:")
    assert lines[1].startswith("  line 4, column 2 ('latency_ms'): ")
    assert len(lines) == 20 and lines[-1] == "  … and 13 more"


def test_two_problems_are_both_listed(tmp_path):
    text = "model,latency_ms\nMobileOne-S0,abc\nMobileOne-S1,1.0,x\n"
    with pytest.raises(DataFormatError) as info:
        load_latency(write(tmp_path, text))
    lines = str(info.value).splitlines()
    assert len(lines) == 2 and "line 2, column 2 ('latency_ms')" in lines[0]
    assert lines[1].startswith("  line 3, column 3: found 3 comma-separated fields")


# ---------------------------------------------------------------- (g) not a CSV text file


def test_utf16_without_bom_is_named(tmp_path):
    path = tmp_path / "phone.csv"
    path.write_bytes("model,latency_ms\nMobileOne-S0,0.79\n".encode("utf-16-le"))
    with pytest.raises(DataFormatError, match=r"is UTF-16 LE text without a byte-order mark.*"
                                              r"save it as 'CSV UTF-8'"):
        load_latency(path)


def workbook(path, *names):
    import zipfile

    with zipfile.ZipFile(path, "w") as z:
        for name in names:
            z.writestr(name, "<x/>")
    return path


@pytest.mark.parametrize("names, what, program", [
    (("[Content_Types].xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml"),
     r"an Excel workbook \(\.xlsx\)", "Excel"),
    (("Index/Document.iwa", "Metadata/Properties.plist"),
     r"an Apple Numbers document \(\.numbers\)", "Numbers"),
])
def test_a_workbook_renamed_csv_is_named(tmp_path, names, what, program):
    path = workbook(tmp_path / "phone.csv", *names)
    with pytest.raises(DataFormatError, match=rf"phone\.csv: is {what}, not a CSV text file.*"
                                              rf"open it in {program} and save it as CSV"):
        load_latency(path)


def test_an_old_excel_workbook_renamed_csv_is_named(tmp_path):
    path = tmp_path / "phone.csv"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    with pytest.raises(DataFormatError, match=r"Excel 97-2003 workbook \(\.xls\)"):
        load_latency(path)


# ---------------------------------------------------------------- (h) one checked reader


def test_read_checked_applies_the_unit_check(tmp_path):
    from analysis.latency import read_checked

    path = write(tmp_path, "model,latency_ms,device\nMobileOne-S0,0.00079,Pixel 8\n"
                           "MobileOne-S1,0.00095,Pixel 8\nMobileOne-S2,0.0012,Pixel 8\n")
    with pytest.warns(LatencyDataWarning, match="in seconds"):
        table, notes, units = read_checked(path)
    assert len(table) == 3 and len(notes) == 1 and "seconds" in notes[0]
    assert units["problem"].iloc[0] == notes[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", LatencyDataWarning)
        quiet = read_checked(path, warn=False)  # the caller prints the notes itself
    assert quiet.warnings == notes
    fine = write(tmp_path, "model,latency_ms,device\nMobileOne-S0,0.79,Pixel 8\n", "ok.csv")
    assert read_checked(fine).warnings == ()
