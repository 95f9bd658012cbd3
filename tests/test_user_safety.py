"""Nothing lost, nothing silent (issue 23), through the command line as a user meets it.

Every command that writes follows one rule (``analysis.paths.check_output``): an existing file
is replaced only with ``--force`` or when the command wrote it itself, an input is never an
output, an output that is a folder (or lies below a file) is a one-line error, exit 2, before
any work starts, and an error leaves no empty folder behind. Each overwrite test hashes the
user's file before and after. Ctrl-C: one line, exit 130, no temporary file, no traceback.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from analysis import cli, paths
from analysis.cli import main
from analysis.export import to_onnx
from analysis.export import batch as export_batch
from analysis.latency.campaign import Measurements
from analysis.predict import PREDICTION_COLUMNS

CALIBRATION = """model,latency_ms,device,runtime,statistic
MobileOne-S0,0.79,Pixel 8,tflite,min
MobileOne-S1,1.05,Pixel 8,tflite,min
MobileNetV2-x1.0,0.9,Pixel 8,tflite,min
EfficientNet-B0,1.7,Pixel 8,tflite,min
DeiT-tiny,3.9,Pixel 8,tflite,min
"""


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def mine(tmp_path) -> Path:
    path = tmp_path / "mine.csv"
    path.write_text(CALIBRATION)
    return path


def one_line_error(capsys, *words) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in err, err
    return err


def no_work(monkeypatch):
    """Make the commands' real work fail loudly: an output check must come before it."""
    def boom(*args, **kwargs):
        raise AssertionError("the command started working before checking its output")
    for target, name in ((cli.predict, "predict_device"), (cli, "count_table"),
                         (cli, "run_campaign"), (cli, "export_models")):
        monkeypatch.setattr(target, name, boom)


# -- predict -------------------------------------------------------------------------------------

def test_predict_never_writes_over_its_calibration_file(mine, monkeypatch, capsys):
    no_work(monkeypatch)
    before = sha(mine)
    assert main(["predict", "--calibration", str(mine), "--out", str(mine)]) == 2
    one_line_error(capsys, "--out", "is an input of this command (--calibration)")
    assert main(["predict", "--calibration", str(mine), "--out", str(mine), "--force"]) == 2
    one_line_error(capsys, "(--calibration)")  # --force does not make an input an output
    link = mine.with_name("link.csv")
    link.symlink_to(mine)
    assert main(["predict", "--calibration", str(link), "--out", str(mine)]) == 2
    one_line_error(capsys, "is an input")
    monkeypatch.chdir(mine.parent)  # the same file named relative to the working directory
    assert main(["predict", "--calibration", str(mine), "--out", "mine.csv"]) == 2
    one_line_error(capsys, "is an input")
    assert sha(mine) == before
    shipped = cli.predict.reference_files()[0]  # the reference devices are inputs too
    before = sha(shipped)
    assert main(["predict", "--calibration", str(mine), "--out", str(shipped), "--force"]) == 2
    one_line_error(capsys, "is an input of this command (a shipped reference device's file)")
    assert sha(shipped) == before


def test_predict_output_folder_or_below_a_file_fails_before_the_work(mine, tmp_path,
                                                                    monkeypatch, capsys):
    no_work(monkeypatch)
    assert main(["predict", "--calibration", str(mine), "--out", str(tmp_path)]) == 2
    one_line_error(capsys, "is a folder; give a file name")
    assert main(["predict", "--calibration", str(mine), "--out", str(mine / "p.csv")]) == 2
    one_line_error(capsys, "mine.csv is a file, not a folder")


def test_predict_replaces_only_its_own_output_or_with_force(mine, tmp_path, capsys):
    other = tmp_path / "other.csv"
    other.write_text(CALIBRATION)
    before = sha(other)
    assert main(["predict", "--calibration", str(mine), "--out", str(other)]) == 2
    one_line_error(capsys, "exists and was not written by this command", "--force")
    assert sha(other) == before
    out = tmp_path / "new" / "predictions.csv"
    assert main(["predict", "--calibration", str(mine), "--out", str(out)]) == 0
    assert list(pd.read_csv(out).columns) == PREDICTION_COLUMNS
    first = sha(out)
    assert main(["predict", "--calibration", str(mine), "--out", str(out), "--seed", "1"]) == 0
    assert sha(out) != first  # its own earlier output: replaced without --force
    assert main(["predict", "--calibration", str(mine), "--out", str(other), "--force"]) == 0
    assert list(pd.read_csv(other).columns) == PREDICTION_COLUMNS
    assert [p.name for p in out.parent.iterdir()] == ["predictions.csv"]  # no temporary file


@pytest.mark.parametrize("factor, unit", [(1e-3, "seconds"), (1e3, "microseconds")])
def test_predict_refuses_latencies_in_the_wrong_unit(tmp_path, factor, unit, capsys):
    table = pd.read_csv(pd.io.common.StringIO(CALIBRATION))
    table["latency_ms"] *= factor
    path = tmp_path / f"in_{unit}.csv"
    table.to_csv(path, index=False)
    out = tmp_path / "made" / "p.csv"
    assert main(["predict", "--calibration", str(path), "--out", str(out)]) == 2
    one_line_error(capsys, f"in {unit}?", "milliseconds")
    assert not (tmp_path / "made").exists()  # no folder left behind


def test_predict_shows_the_validators_warnings(tmp_path, capsys):
    path = tmp_path / "look_alike.csv"
    path.write_text(CALIBRATION.replace("MobileOne-S0", "MobileOne-SO"))  # letter O
    assert main(["predict", "--calibration", str(path)]) == 0
    assert "warning: " in capsys.readouterr().err


# -- count ---------------------------------------------------------------------------------------

def test_count_never_writes_over_a_users_file(mine, monkeypatch, capsys):
    no_work(monkeypatch)
    before = sha(mine)
    assert main(["count", "--models", "mobileone_s0", "--csv", str(mine)]) == 2
    one_line_error(capsys, "--csv", "exists and was not written by this command")
    assert sha(mine) == before
    assert main(["count", "--models", "mobileone_s0", "--csv", str(mine.parent)]) == 2
    one_line_error(capsys, "--csv", "is a folder")


def _fake_count_table(ids, **kwargs):
    """count_table's columns for ``ids`` without fvcore (the real one is tested in test_cli)."""
    n = len(ids)
    return pd.DataFrame({"model": ids, "model_id": ids, "family": ["x"] * n,
                         "input_size": [224] * n, "macs": [1e8] * n, "params": [1e6] * n,
                         "paper_macs": [1e8] * n, "paper_params": [1e6] * n,
                         "macs_dev_pct": [0.0] * n, "params_dev_pct": [0.0] * n,
                         "cache_version": [1] * n, "model_digest": ["d"] * n})


def test_count_replaces_its_own_table_and_others_only_with_force(mine, tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "count_table", _fake_count_table)
    out = tmp_path / "counts.csv"
    assert main(["count", "--models", "mobileone_s0", "--csv", str(out)]) == 0
    assert main(["count", "--models", "mobileone_s0,mobileone_s1", "--csv", str(out)]) == 0
    assert len(pd.read_csv(out)) == 2  # its own table, replaced
    assert main(["count", "--models", "mobileone_s0", "--csv", str(mine), "--force"]) == 0
    assert "macs" in pd.read_csv(mine).columns


# -- measure -------------------------------------------------------------------------------------

def test_measure_checks_its_output_before_building_anything(mine, tmp_path, monkeypatch,
                                                           capsys):
    no_work(monkeypatch)
    monkeypatch.setattr(cli, "model_items", lambda *a, **k: pytest.fail("built items"))
    before = sha(mine)
    assert main(["measure", "--models", "mobileone_s0", "--out", str(mine)]) == 2
    one_line_error(capsys, "exists", "--resume", "--force")
    assert sha(mine) == before
    assert main(["measure", "--models", "mobileone_s0", "--out", str(tmp_path)]) == 2
    one_line_error(capsys, "is a folder")
    assert main(["measure", "--models", "mobileone_s0", "--out", str(mine / "m.csv")]) == 2
    one_line_error(capsys, "is a file, not a folder")


def test_measure_errors_leave_no_empty_folder(tmp_path, monkeypatch, capsys):
    out = tmp_path / "a" / "b" / "m.csv"
    assert main(["measure", "--models", "mobilone", "--out", str(out)]) == 2
    one_line_error(capsys, "did you mean the group 'mobileone'")
    assert not (tmp_path / "a").exists()

    def fails_late(items, runtimes, **kwargs):
        raise cli.ConfigError("something went wrong after the folder was made")

    monkeypatch.setattr(cli, "run_campaign", fails_late)
    assert main(["measure", "--models", "mobileone_s0", "--out", str(out), "--no-progress"]) == 2
    assert not (tmp_path / "a").exists()


def test_measure_with_every_item_failed_says_so(tmp_path, monkeypatch, capsys):
    def all_fail(items, runtimes, **kwargs):
        return Measurements(pd.DataFrame(), {"MobileOne-S0": "RuntimeError: x"}, [], [],
                            kwargs["out"], "c")

    monkeypatch.setattr(cli, "run_campaign", all_fail)
    out = tmp_path / "new" / "m.csv"
    assert main(["measure", "--models", "mobileone_s0", "--out", str(out), "--no-progress"]) == 1
    printed = capsys.readouterr()
    assert "no row written: every item failed (no file made)" in printed.out
    assert "0 rows" not in printed.out and not (tmp_path / "new").exists()


# -- export --------------------------------------------------------------------------------------

def test_export_checks_its_folder_first(mine, tmp_path, monkeypatch, capsys):
    before = sha(mine)
    assert main(["export", "--format", "onnx", "--out", str(mine)]) == 2
    one_line_error(capsys, "is a file; --out names a folder")
    assert sha(mine) == before
    assert main(["export", "--format", "onnx", "--models", "nosuchnet", "--out",
                 str(tmp_path / "new")]) == 2
    one_line_error(capsys, "nosuchnet")
    assert not (tmp_path / "new").exists()


def _fake_models(monkeypatch):
    monkeypatch.setattr(export_batch, "export_ready",
                        lambda model_id, size: __import__("torch").nn.Identity())
    monkeypatch.setattr(to_onnx, "check_onnx", lambda path, model, example: "checked")


def test_export_with_every_model_failed_leaves_no_folder(tmp_path, monkeypatch, capsys):
    _fake_models(monkeypatch)

    def broken(model, path, example):
        raise to_onnx.ExportFailure("no")

    monkeypatch.setattr(to_onnx, "export_onnx", broken)
    out = tmp_path / "exports" / "onnx"
    assert main(["export", "--format", "onnx", "--models", "mobileone_s0", "--out", str(out),
                 "--no-progress"]) == 1
    assert "(of 1 model)" in capsys.readouterr().out
    assert not (tmp_path / "exports").exists()  # no empty folder, no empty template


def test_ctrl_c_during_export_removes_the_half_written_file(tmp_path, monkeypatch, capsys):
    _fake_models(monkeypatch)

    def interrupted(model, path, example):
        path.write_bytes(b"half an onnx file")
        raise KeyboardInterrupt

    monkeypatch.setattr(to_onnx, "export_onnx", interrupted)
    out = tmp_path / "exports"
    assert main(["export", "--format", "onnx", "--models", "mobileone_s0", "--out", str(out),
                 "--no-progress"]) == 130
    assert capsys.readouterr().err == "interrupted\n"
    assert not out.exists()  # neither the half-written file nor the folder made for it
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["export", "--format", "onnx", "--models", "mobileone_s0", "--out", str(out),
                 "--no-progress"]) == 130
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


# -- validate only reads -------------------------------------------------------------------------

def test_validate_only_reads(mine, capsys):
    before = sha(mine), os.stat(mine).st_mtime_ns
    assert main(["validate", str(mine)]) == 0
    assert (sha(mine), os.stat(mine).st_mtime_ns) == before
    out = capsys.readouterr().out
    assert "mine.csv: 5 rows" in out and "ok: 1 file valid" in out


# -- Ctrl-C in a real process --------------------------------------------------------------------

def _interrupt(args: list[str], *, ready=None, line: str = "", env: dict | None = None,
               timeout: float = 120) -> tuple[int, str, str]:
    """Start ``python -m analysis *args``; wait until ``ready()`` holds (polled) or stderr
    shows a line starting with ``line``; send SIGINT as a terminal's Ctrl-C does; return
    ``(exit status, stdout, stderr)``."""
    proc = subprocess.Popen([sys.executable, "-m", "analysis", *args], cwd=paths.ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})}, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline, seen = time.monotonic() + timeout, ""
    try:
        if line:
            while not seen.splitlines()[-1:] or not seen.splitlines()[-1].startswith(line):
                got = proc.stderr.readline()
                assert got, f"ended before {line!r}: {seen}"
                seen += got
            time.sleep(2)  # into the work
        while ready is not None and not ready() and time.monotonic() < deadline:
            assert proc.poll() is None, "finished before it could be interrupted"
            time.sleep(0.05)
        assert proc.poll() is None, "finished before it could be interrupted"
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    return proc.returncode, out, seen + err


def test_ctrl_c_during_measure_says_interrupted_once_and_writes_nothing(tmp_path):
    out = tmp_path / "m" / "local.csv"
    # --runs 10**7: the first model never finishes, so nothing is measured when Ctrl-C comes
    code, printed, err = _interrupt(
        ["measure", "--models", "mobileone_s0", "--runs", "10000000", "--warmup", "0",
         "--threads", "1", "--out", str(out), "--no-progress"], line="context: ")
    assert code == 130, err
    assert err.count("interrupted") == 1 and "Traceback" not in err
    assert err.splitlines()[-1] in ("interrupted: nothing measured, no file written",
                                    "interrupted")  # before the first session began
    assert "0 rows" not in err + printed and "wrote" not in printed
    assert not (tmp_path / "m").exists()


def test_ctrl_c_during_reproduce_is_one_line_and_leaves_no_running_notebook(tmp_path):
    runs = tmp_path / "runs"
    stem = "05_population_study"
    running = runs / "quick" / stem / f".{stem}.running.ipynb"
    code, printed, err = _interrupt(["reproduce", "--quick", "--only", "05"],
                                    ready=running.exists, env={"MOBILEONE_STUDY_RUNS": str(runs)})
    assert code == 130
    assert err.strip().splitlines() == [f"interrupted: {stem} stopped; "
                                        f"{runs / 'quick' / stem / (stem + '.ipynb')} not written"]
    assert not running.exists() and not list(runs.rglob("*.running.ipynb"))
    assert not list(paths.NOTEBOOKS.glob(".*.running.ipynb"))


# -- make: the interpreter is checked before anything is installed ------------------------------

def _fake_python(folder: Path, version: str) -> Path:
    """An executable that says it is Python ``version`` and fails any other command (so a
    Makefile that went on to use it would fail loudly, not install anything)."""
    path = folder / f"python{version}"
    path.write_text(f"#!/bin/sh\nif [ \"$1\" = \"-V\" ]; then echo \"Python {version}\"; exit 0; fi\n"
                    f"exit 1\n")
    path.chmod(0o755)
    return path


def _make(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", "-C", str(paths.ROOT), *args],
                          capture_output=True, text=True, timeout=60)


def test_make_with_another_python_fails_at_once_naming_the_fix(tmp_path):
    fake = _fake_python(tmp_path, "3.12.3")
    venv = tmp_path / "venv"
    start = time.monotonic()
    result = _make("test", f"PYTHON={fake}", f"VENV={venv}")
    assert result.returncode == 2 and time.monotonic() - start < 10
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Python 3.12.3" in lines[0]
    assert "needs Python 3.11" in lines[0] and "PYTHON=python3.11" in lines[0]
    assert not venv.exists() and result.stdout == ""  # nothing created, nothing installed


def test_make_names_the_fix_for_a_finished_venv_of_another_python(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    _fake_python(tmp_path, "3.12.3").rename(venv / "bin" / "python")
    (venv / ".installed").touch()
    result = _make("test", f"VENV={venv}")
    assert result.returncode == 2
    assert f"rm -rf {venv}" in result.stderr and result.stderr.count("\n") == 1


def test_make_rebuilds_an_unfinished_venv_of_another_python(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    _fake_python(tmp_path, "3.12.3").rename(venv / "bin" / "python")  # no .installed stamp
    result = _make("check-python", f"VENV={venv}")
    assert result.returncode == 0, result.stderr
    assert "never finished installing: rebuilding it" in result.stdout and not venv.exists()


def test_make_keeps_calling_make_test_in_ci():
    assert "make test" in (paths.ROOT / ".ci" / "run").read_text()
