"""Core ML / ONNX export and the latency template.

Core ML models cannot run on Linux: Core ML exports are checked structurally (an ML program
with the right input shape). ONNX exports are checked with onnx.checker and ONNX Runtime.
A representative subset is converted here; the slow test covers every Table 9 and ablation
model in both formats.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn as nn

from analysis import export as ex
from analysis import paths
from analysis.export import batch, to_onnx
from analysis.cli import export_summary, main
from analysis.errors import ConfigError, DataFormatError, UnknownModelError
from analysis.latency import load_latency
from analysis.models import get_entry, list_models


def _fill_template(path, value="1.23", device="Test Phone"):
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    out = [lines[0]]
    for line in lines[1:]:
        cells = line.split(",")
        cells[header.index("latency_ms")] = value
        cells[header.index("device")] = device
        out.append(",".join(cells))
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


class Erfinv(nn.Module):
    """A tiny network with an operator coremltools 9.0 cannot convert."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return torch.special.erfinv(torch.tanh(self.conv(x))).mean((2, 3))


def tiny():
    return nn.Sequential(nn.Conv2d(3, 8, 3, stride=2), nn.BatchNorm2d(8), nn.Hardswish(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10)).eval()


# ---------------------------------------------------------------- ONNX


def test_onnx_export_mobileone_s0_and_template(tmp_path, capsys):
    import onnx

    results = ex.export_models("MobileOne-S0", "onnx", tmp_path, progress=False)
    (res,) = results
    assert res.status == "ok", res.message
    assert res.path == tmp_path / "mobileone_s0.onnx" and res.input_size == 224
    model = onnx.load(str(res.path))
    onnx.checker.check_model(model)
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [1, 3, 224, 224]
    assert "max |onnx - torch|" in res.message
    # no BatchNorm and no parallel branches left: the fused model was exported
    ops = {n.op_type for n in model.graph.node}
    assert "BatchNormalization" not in ops
    template = tmp_path / ex.TEMPLATE_NAME
    assert results.template == template
    with pytest.raises(DataFormatError, match=r"line 2, column 2 \('latency_ms'\): nothing "
                                              r"measured yet"):
        load_latency(template)  # not data until the latency is filled in
    _fill_template(template)
    table = load_latency(template)
    assert table["model_id"].tolist() == ["mobileone_s0"]
    assert table["runtime"].tolist() == ["onnxruntime"] and table["input_size"].tolist() == [224]
    assert table["note"].tolist() == [ex.RANDOM_WEIGHTS_NOTE]  # says the weights are random
    assert main(["validate", str(template)]) == 0
    assert "Test Phone / onnxruntime: 1 model " in capsys.readouterr().out


def test_onnx_matches_torch_on_a_fixed_module(tmp_path):
    import onnxruntime as ort

    net = tiny()
    res = ex.export_model(net, "onnx", tmp_path, label="Tiny Net", input_size=32)
    assert res.status == "ok", res.message
    assert res.path.name == "Tiny_Net.onnx"
    x = torch.randn(1, 3, 32, 32)
    session = ort.InferenceSession(str(res.path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": x.numpy()})[0]
    with torch.no_grad():
        np.testing.assert_allclose(got, net(x).numpy(), rtol=1e-4, atol=1e-5)


def test_onnx_fp16(tmp_path):
    import onnx

    res = ex.export_model(tiny(), "onnx", tmp_path, precision="fp16", label="tiny",
                          input_size=32)
    assert res.status == "ok", res.message
    elem = onnx.load(str(res.path)).graph.input[0].type.tensor_type.elem_type
    assert elem == onnx.TensorProto.FLOAT16


# ---------------------------------------------------------------- Core ML


def _coreml_spec(path):
    ct = ex.import_coremltools()
    return ct.utils.load_spec(str(path))


def test_coreml_export_mobileone_s0(tmp_path):
    (res,) = ex.export_models("mobileone_s0", "coreml", tmp_path, progress=False)
    assert res.status == "ok", res.message
    assert res.path == tmp_path / "mobileone_s0.mlpackage" and res.path.is_dir()
    spec = _coreml_spec(res.path)
    assert spec.WhichOneof("Type") == "mlProgram"
    inp = spec.description.input[0]
    assert inp.name == "input" and list(inp.type.multiArrayType.shape) == [1, 3, 224, 224]
    assert spec.description.output[0].name == "logits"
    assert res.precision == "fp16"


def test_coreml_export_se_and_hardswish_model(tmp_path):
    try:
        entry = get_entry("MobileNetV3-S")  # squeeze-excite + hardswish
    except UnknownModelError:
        pytest.skip("MobileNetV3-S is not registered")
    (res,) = ex.export_models(entry.id, "coreml", tmp_path, progress=False, template=False)
    assert res.status == "ok", res.message
    spec = _coreml_spec(res.path)
    assert spec.WhichOneof("Type") == "mlProgram"
    size = entry.input_size
    assert list(spec.description.input[0].type.multiArrayType.shape) == [1, 3, size, size]


class ChannelShuffle(nn.Module):
    """Shape arithmetic traced as aten::Int of one-element tensors (ShuffleNet, attention)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        x = self.conv(x)
        b, c, h, w = x.shape
        return x.view(b, 2, c // 2, h, w).transpose(1, 2).reshape(b, c, h, w)


def test_coreml_converts_shape_arithmetic(tmp_path):
    res = ex.export_model(ChannelShuffle(), "coreml", tmp_path, label="shuffle", input_size=16)
    assert res.status == "ok", res.message
    assert _coreml_spec(res.path).WhichOneof("Type") == "mlProgram"


def test_unconvertible_operator_is_reported_and_batch_continues(tmp_path):
    results = ex.export_models({"Erfinv net": Erfinv(), "Tiny": tiny()}, "coreml", tmp_path,
                               progress=False)
    bad, good = results
    assert bad.status == "failed" and good.status == "ok"
    assert "Core ML cannot convert operator 'erfinv'" in bad.message
    assert "\n" not in bad.message
    assert not (tmp_path / "Erfinv_net.mlpackage").exists()
    summary = export_summary(results)
    assert "failed 1" in summary and "FAILED Erfinv net: Core ML cannot convert" in summary
    assert "(of 2 models)" in summary
    rows = (tmp_path / ex.TEMPLATE_NAME).read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["Tiny"]  # only the exported model


def test_coremltools_import_is_quiet():
    code = "from analysis.export import import_coremltools; import_coremltools()"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=paths.ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Failed to load" not in proc.stderr and "has not been tested" not in proc.stderr


# ---------------------------------------------------------------- batches, files, CLI


def test_failed_check_leaves_no_file(tmp_path, monkeypatch):
    def mismatch(path, model, example):
        raise ex.ExportFailure("ONNX Runtime output differs from PyTorch")

    monkeypatch.setattr(to_onnx, "check_onnx", mismatch)
    (res,) = ex.export_models({"Tiny": tiny()}, "onnx", tmp_path, progress=False)
    assert res.status == "failed" and res.path is None
    assert not (tmp_path / "Tiny.onnx").exists()  # a re-run must not count it as exported


def test_existing_exports_and_filled_template_are_kept(tmp_path):
    ex.export_models({"Tiny": tiny()}, "onnx", tmp_path, progress=False)
    template = tmp_path / ex.TEMPLATE_NAME
    _fill_template(template)
    model_file = tmp_path / "Tiny.onnx"
    before = {p: (p.read_bytes(), os.stat(p).st_mtime_ns) for p in (template, model_file)}
    results = ex.export_models({"Tiny": tiny(), "Tiny2": tiny()}, "onnx", tmp_path,
                               progress=False)
    assert [r.status for r in results] == ["skipped", "ok"]
    assert results.template_kept
    assert {p: (p.read_bytes(), os.stat(p).st_mtime_ns) for p in before} == before


def test_blank_template_is_extended(tmp_path):
    ex.export_models({"Tiny": tiny()}, "onnx", tmp_path, progress=False)
    ex.export_models({"Tiny2": tiny()}, "onnx", tmp_path, progress=False)
    rows = (tmp_path / ex.TEMPLATE_NAME).read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["Tiny", "Tiny2"]
    # the caller's own modules are exported with their weights: no random-weights note
    assert all(r.split(",")[-1] == "" for r in rows[1:])


def test_bad_arguments(tmp_path):
    with pytest.raises(ConfigError, match="unknown export format"):
        ex.export_models("mobileone_s0", "tflite", tmp_path)
    with pytest.raises(ConfigError, match="precision"):
        ex.export_models("mobileone_s0", "onnx", tmp_path, precision="int8")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="is a file; --out names a folder"):
        ex.export_models("mobileone_s0", "onnx", tmp_path / "file")
    with pytest.raises(ConfigError, match="file is a file, not a folder"):
        ex.export_models("mobileone_s0", "onnx", tmp_path / "file" / "sub")


def test_export_command_exit_status(tmp_path, monkeypatch, capsys):
    # the real conversions are tested above; here only the command's wiring (fast fakes)
    out = tmp_path / "onnx"

    def fake_export(model, path, example):
        path.write_bytes(b"onnx")
        return path

    monkeypatch.setattr(batch, "export_ready", lambda model_id, size: tiny())
    monkeypatch.setattr(to_onnx, "export_onnx", fake_export)
    monkeypatch.setattr(to_onnx, "check_onnx", lambda path, model, example: "checked")
    assert main(["export", "--format", "onnx", "--models", "mobileone_s0", "--out", str(out),
                 "--no-progress"]) == 0
    printed, bar = capsys.readouterr()
    assert "MobileOne-S0: ok - checked" in printed  # --no-progress hides only the bar
    assert "export (onnx)" not in bar
    assert "exported 1, kept 0 existing, failed 0 (of 1 model)" in printed
    assert f"python -m analysis validate {out / ex.TEMPLATE_NAME}" in printed

    def broken(*args, **kwargs):
        raise ex.ExportFailure("Core ML cannot convert operator 'x': because")

    monkeypatch.setattr(to_onnx, "export_onnx", broken)
    assert main(["export", "--format", "onnx", "--models", "mobileone_s1", "--out", str(out),
                 "--no-progress"]) == 1
    assert "FAILED MobileOne-S1: Core ML cannot convert operator 'x'" in capsys.readouterr().out
    assert main(["export", "--format", "onnx", "--models", "nosuchnet", "--out",
                 str(out)]) == 2


# ---------------------------------------------------------------- fp16 range

FP16_LIMIT = 6e4  # fp16's largest finite value is 65504
#: A fast, representative subset of the figure-2 group: the network that overflowed with
#: identity BatchNorm statistics (four summed branches), a mobile CNN and three transformers.
FP16_FAST = ["mobileone_s0", "mobilenetv3_small", "deit_tiny", "mobileformer_52m", "pit_ti"]


def _fp16_activations(model: nn.Module, size: int) -> tuple[float, list[str]]:
    """(largest |activation|, modules with a non-finite output) of the fp16 model on the
    export's example input; every module's output is inspected through a forward hook."""
    worst, bad = [0.0], []

    def hook(name):
        def record(module, inputs, output):
            for t in output if isinstance(output, (tuple, list)) else (output,):
                if torch.is_tensor(t) and t.is_floating_point():
                    if not torch.isfinite(t).all():
                        bad.append(name)
                    else:
                        worst[0] = max(worst[0], t.abs().max().item())
        return record

    model = model.half()
    for name, module in model.named_modules():
        module.register_forward_hook(hook(name or "<model>"))
    with torch.no_grad():
        model(ex.example_input(size, dtype=torch.float16))
    return worst[0], bad


def _check_fp16_range(model_id: str) -> None:
    size = get_entry(model_id).input_size
    worst, bad = _fp16_activations(ex.export_ready(model_id, size), size)
    assert not bad, f"{model_id}: non-finite fp16 activations in {bad[:3]}"
    assert worst < FP16_LIMIT, f"{model_id}: an fp16 activation reaches {worst:.3g}"


@pytest.mark.parametrize("model_id", FP16_FAST)
def test_fp16_activations_stay_in_range(model_id):
    _check_fp16_range(model_id)


@pytest.mark.slow
@pytest.mark.parametrize("model_id", [m for m in list_models("figure2") if m not in FP16_FAST])
def test_fp16_activations_stay_in_range_whole_figure2_group(model_id):
    _check_fp16_range(model_id)


def test_fp16_check_detects_an_overflow():
    # without the export's BatchNorm statistics, MobileOne-S0's summed branches overflow fp16
    from analysis.models import create_model, deploy

    worst, bad = _fp16_activations(deploy(create_model("mobileone_s0")), 224)
    assert bad or worst >= FP16_LIMIT


# ---------------------------------------------------------------- the whole zoo


def _all_models():
    names = list(list_models("table9"))
    try:
        names += [m for m in list_models("ablation") if m not in names]
    except UnknownModelError:
        pass
    return names


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["onnx", "coreml"])
def test_every_table9_and_ablation_model_exports(tmp_path, fmt):
    results = ex.export_models(_all_models(), fmt, tmp_path, progress=False)
    failed = {r.model: r.message for r in results if r.status == "failed"}
    assert not failed, failed
    template = tmp_path / ex.TEMPLATE_NAME
    _fill_template(template)
    assert len(load_latency(template)) == len(results)
