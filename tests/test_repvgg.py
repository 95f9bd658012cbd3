"""RepVGG: exact re-parameterization, paper architecture, published (fused) sizes."""

from __future__ import annotations

import copy
import csv

import pytest
import torch
import torch.nn as nn

from fusion_helpers import check_reparameterize_model, max_rel_diff, randomize_bn

from analysis import paths
from analysis.complexity import profile_model
from analysis.errors import ConfigError
from analysis.models import create_model, deploy, get_entry, reparameterize_model
from analysis.models.repvgg import RepVGGBlock, repvgg

VARIANTS = ["a0", "a1", "a2", "b0", "b1"]
# Ding et al. 2021, §3.4 and Table 3, written out independently of the model code:
# layers per stage (stage 1 .. 5) and width multipliers (a, b).
SPEC = {
    "a0": ((1, 2, 4, 14, 1), 0.75, 2.5),
    "a1": ((1, 2, 4, 14, 1), 1.0, 2.5),
    "a2": ((1, 2, 4, 14, 1), 1.5, 2.75),
    "b0": ((1, 4, 6, 16, 1), 1.0, 2.5),
    "b1": ((1, 4, 6, 16, 1), 2.0, 4.0),
}


def layer_shapes(variant: str, size: int = 224):
    """(C_in, C_out, stride, H_out) of every 3×3 layer, from the paper's description."""
    layers, a, b = SPEC[variant]
    widths = [min(64, int(64 * a)), int(64 * a), int(128 * a), int(256 * a), int(512 * b)]
    shapes, cin, h = [], 3, size
    for n, cout in zip(layers, widths):
        for i in range(n):
            stride = 2 if i == 0 else 1
            h = (h + 2 - 3) // stride + 1
            shapes.append((cin, cout, stride, h))
            cin = cout
    return shapes, cin


@pytest.mark.parametrize("variant", VARIANTS)
def test_fused_model_equals_unfused(variant):
    """Whole network in float64 (fusion is exact algebra: only rounding may differ; in
    float32 a deep random-weight plain net amplifies rounding, so float32 is checked on A0)."""
    model = randomize_bn(repvgg(variant).double(), seed=VARIANTS.index(variant))
    fused = reparameterize_model(model)
    assert max_rel_diff(model, fused, torch.randn(2, 3, 32, 32, dtype=torch.float64)) <= 1e-10
    # the deployed form: no BatchNorm, one 3×3 conv with bias per layer, a plain VGG stack
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fused.modules())
    blocks = [m for m in fused.modules() if isinstance(m, RepVGGBlock)]
    shapes, _ = layer_shapes(variant)
    assert len(blocks) == len(shapes) == sum(SPEC[variant][0])  # 22 (A) or 28 (B) layers
    for block, (cin, cout, stride, _) in zip(blocks, shapes):
        convs = [m for m in block.modules() if isinstance(m, nn.Conv2d)]
        assert len(convs) == 1 and convs[0] is block.rbr_reparam
        conv = block.rbr_reparam
        assert conv.bias is not None and conv.kernel_size == (3, 3)
        assert (conv.in_channels, conv.out_channels, conv.stride) == (cin, cout, (stride, stride))


def test_fused_a0_equals_unfused_in_float32_at_224():
    model = randomize_bn(repvgg("a0"))
    assert max_rel_diff(model, deploy(model), torch.randn(1, 3, 224, 224)) <= 1e-4


@pytest.mark.parametrize("cin,cout,stride", [(8, 8, 1), (8, 16, 1), (8, 16, 2), (8, 8, 2)])
def test_every_branch_combination_fuses(cin, cout, stride):
    """Identity branch present only when shapes match; each block fuses exactly (float64)."""
    block = randomize_bn(RepVGGBlock(cin, cout, stride).double(), seed=cin + cout + stride)
    assert (block.rbr_identity is not None) == (cin == cout and stride == 1)
    fused = copy.deepcopy(block)
    fused.reparameterize()
    assert max_rel_diff(block, fused, torch.randn(2, cin, 9, 9, dtype=torch.float64)) <= 1e-12


def test_fusion_detects_a_wrong_kernel():
    """The equivalence check can fail: corrupting one fused kernel tap breaks it."""
    model = randomize_bn(repvgg("a0").double())
    fused = reparameterize_model(model)
    with torch.no_grad():
        fused.stage1[1].rbr_reparam.weight[0, 0, 1, 1] += 0.5
    assert max_rel_diff(model, fused, torch.randn(1, 3, 32, 32, dtype=torch.float64)) > 1e-6


def test_reparameterize_leaves_input_untouched_and_is_idempotent():
    model = randomize_bn(repvgg("a0"))
    fused = check_reparameterize_model(model, torch.randn(1, 3, 64, 64))
    assert not model.stage1[1].inference_mode and model.stage1[1].rbr_dense is not None
    # in place and idempotent on the block itself
    block = fused.stage1[1]
    weight = block.rbr_reparam.weight.clone()
    block.reparameterize()
    assert torch.equal(block.rbr_reparam.weight, weight)


def test_inference_mode_builds_the_fused_form_directly():
    fused = reparameterize_model(repvgg("b0"))
    direct = repvgg("b0", inference_mode=True)
    assert {k: v.shape for k, v in fused.state_dict().items()} == \
        {k: v.shape for k, v in direct.state_dict().items()}


@pytest.mark.parametrize("variant", VARIANTS)
def test_fused_size_closed_form_and_table9(variant):
    """Fused params and MACs equal the closed form of the paper's architecture, and Table 9
    (which gives fused sizes) up to its rounding."""
    shapes, last = layer_shapes(variant)
    params = sum(9 * cin * cout + cout for cin, cout, _, _ in shapes) + last * 1000 + 1000
    # fvcore: conv MACs (bias not counted) + one per pooled input element + the FC layer
    macs = sum(9 * cin * cout * h * h for cin, cout, _, h in shapes)
    macs += last * shapes[-1][3] ** 2 + last * 1000
    entry = get_entry(f"RepVGG-{variant.upper()}")
    counts = profile_model(entry.id)  # deployed form; cached, shared with test_zoo
    assert counts.fused and (counts.params, counts.macs) == (params, macs)
    pub = entry.published
    assert abs(counts.params / 1e6 - pub.params_m) <= 0.05  # Table 9 rounds to 0.1 M
    assert counts.macs / 1e6 == pytest.approx(pub.macs_m, rel=0.035)  # 1.4 G: 2 digits


def test_train_time_params_match_timm_benchmark():
    """The unfused (train-time) models against timm's independent parameter counts."""
    path = paths.EXTERNAL_DATA / "timm-benchmarks" / \
        "benchmark-infer-fp32-nchw-pt240-cpu-i7_12700h-dynamo.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        timm = {r["model"]: float(r["param_count"]) for r in csv.DictReader(fh)}
    for variant in VARIANTS:
        n = sum(p.numel() for p in create_model(f"repvgg_{variant}").parameters())
        assert abs(n / 1e6 - timm[f"repvgg_{variant}"]) <= 0.006, variant  # CSV: 2 decimals


def test_bad_variant_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown RepVGG variant 'c9'"):
        repvgg("c9")
    with pytest.raises(ConfigError, match="stride"):
        RepVGGBlock(4, 4, stride=3)
