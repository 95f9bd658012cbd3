"""The README's round trip as a newcomer does it (issue 23), in temporary folders: export Core ML
and ONNX templates of a few models to two folders, fill each in with the latencies of another
device, validate both, run notebook 01 on each with papermill, then once more. The two runs
get their own folders (both templates are named ``latency_template.csv``), each holds only its
own device, a repeated run goes back to its own folder without touching the other, and neither
the repository (``git status``) nor any input file changes.

The conversions themselves are replaced by stand-ins (they are tested in test_export.py, and
take ~7 s per model): what is tested here is the files and folders a user sees.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import torch.nn as nn

from analysis import paths
from analysis.cli import main
from analysis.export import batch, to_coreml, to_onnx
from analysis.studies import correlation as study
from analysis.studies.core import write

MODELS = "mobileone_s0,mobilenetv1,mobilenetv3_small,shufflenetv2_100,deit_tiny"
#: Made-up latencies (ms) of the two devices; the Pixel is not a rescaled iPhone.
DEVICES = {"coreml": ("iPhone 15", {"MobileOne-S0": 0.79, "MobileNetV1": 1.0,
                                    "MobileNetV3-S": 0.8, "ShuffleNetV2-1.0": 1.1,
                                    "DeiT-tiny": 3.9}),
           "onnx": ("Pixel 8", {"MobileOne-S0": 2.1, "MobileNetV1": 1.4, "MobileNetV3-S": 0.9,
                                "ShuffleNetV2-1.0": 1.2, "DeiT-tiny": 7.7})}


def _stand_in_converters(monkeypatch) -> None:
    def fake_export(model, path, example, **kwargs):
        Path(path).write_bytes(b"exported")
        return path

    monkeypatch.setattr(batch, "export_ready", lambda model_id, size: nn.Identity())
    monkeypatch.setattr(to_onnx, "export_onnx", fake_export)
    monkeypatch.setattr(to_onnx, "check_onnx", lambda path, model, example: "checked")
    monkeypatch.setattr(to_coreml, "export_coreml", fake_export)
    monkeypatch.setattr(to_coreml, "coreml_summary", lambda path: {
        "type": "mlProgram", "input": "input", "input_shape": (1, 3, 224, 224)})


def _fill(template: Path, device: str, latency: dict) -> None:
    with open(template, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row.update(latency_ms=latency[row["model"]], device=device, n_runs=100)
    with open(template, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain"], cwd=paths.ROOT, capture_output=True,
                          text=True, check=True).stdout


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _papermill(user: Path, template: str, runs: Path) -> subprocess.CompletedProcess:
    """The README's command, from the user's folder, with the quick profile's resamples."""
    notebook = paths.NOTEBOOKS / f"{study.NOTEBOOK}.ipynb"
    return subprocess.run(
        [sys.executable, "-m", "papermill", str(notebook), "out.ipynb", "-p", "LATENCY_CSV",
         template, "-p", "N_BOOTSTRAP", "200", "--no-progress-bar"], cwd=user,
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "MOBILEONE_STUDY_RUNS": str(runs)})


def test_two_devices_round_trip_into_two_run_folders(tmp_path, monkeypatch, capsys):
    git_before = _git_status()
    user, runs = tmp_path / "me", tmp_path / "runs"
    user.mkdir()
    monkeypatch.chdir(user)
    _stand_in_converters(monkeypatch)
    templates = {}
    for fmt, (device, latency) in DEVICES.items():
        assert main(["export", "--format", fmt, "--models", MODELS, "--out", f"exports/{fmt}",
                     "--no-progress"]) == 0
        templates[fmt] = f"exports/{fmt}/latency_template.csv"
        _fill(user / templates[fmt], device, latency)
        assert main(["validate", templates[fmt]]) == 0
    assert "ok: 1 file valid" in capsys.readouterr().out
    inputs = _hashes(user / "exports")

    folders = {}
    for fmt, template in templates.items():
        result = _papermill(user, template, runs)
        assert result.returncode == 0, result.stderr[-2000:]
        folders[fmt] = {p.parent.parent for p in runs.glob("*/*/correlations.csv")} - set(
            folders.values())
        assert len(folders[fmt]) == 1
        folders[fmt] = folders[fmt].pop()
    assert folders["coreml"] != folders["onnx"]  # same file name, other inputs: other folder
    for fmt, folder in folders.items():
        assert folder.name.startswith("latency_template-")
        devices = set(pd.read_csv(folder / study.NOTEBOOK / "correlations.csv")["device"])
        own, other = DEVICES[fmt][0], DEVICES["onnx" if fmt == "coreml" else "coreml"][0]
        assert own in devices and other not in devices  # never another run's results
        record = json.loads((folder / f"run-{study.NOTEBOOK}.json").read_text())
        assert list(record["inputs"]) == [templates[fmt]]  # which inputs made it

    onnx_files = _hashes(folders["onnx"])
    monkeypatch.setenv("MOBILEONE_STUDY_RUNS", str(runs))
    params = study.parameters(LATENCY_CSV=templates["coreml"], N_BOOTSTRAP=200)
    written = write(study.run(params, draw=False), announce=False)  # the iPhone run, repeated
    assert written[0].parent.parent == folders["coreml"]
    assert _hashes(folders["onnx"]) == onnx_files and len(list(runs.iterdir())) == 2
    assert _hashes(user / "exports") == inputs  # every input file unchanged
    assert _git_status() == git_before
