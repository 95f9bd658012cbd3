"""The 30-layer ablation network: layout, variants, SE / skip placement, errors, registry."""

from __future__ import annotations

import csv

import pandas as pd
import pytest
import torch
import torch.nn as nn

from analysis import paths
from analysis.complexity import count_complexity
from analysis.errors import ConfigError, UnknownModelError
from analysis.models import create_model, deploy, get_entry, list_models
from analysis.models.ablation import (AblationNet, ConvLayer, layer_table, paper_row,
                                      stage_blocks, variants)
from analysis.models.dynamic import DynamicShiftMax, DyReLUA, DyReLUB, SEReLU
from analysis.studies.ablation.compute import TABLES, paper_results
from fusion_helpers import randomize_bn

SMALL = {"width": 8, "input_size": 32, "num_classes": 10}  # depth stays 30
TABLE2 = ["ablation_relu", "ablation_gelu", "ablation_se_relu", "ablation_silu",
          "ablation_dynamic_shift_max", "ablation_dyrelu_a", "ablation_dyrelu_b"]
TABLE3 = ["ablation_baseline", "ablation_se", "ablation_skip"]
EXTRAS = ["ablation_relu6", "ablation_hardswish"]

# Depth 30 = stem + 4 stages of (transition + b blocks of 2 convs) + classifier, b = (1, 3, 6, 2):
# stage 1 = layers 2-4, stage 2 = 5-11, stage 3 = 12-24, stage 4 = 25-29, classifier = 30.
TRANSITIONS = {2, 5, 12, 25}
BLOCK_SECOND = {4, 7, 9, 11, 14, 16, 18, 20, 22, 24, 27, 29}
STAGE4 = {25, 26, 27, 28, 29}


def _paper_rows(name: str, column: str) -> list[str]:
    with open(paths.paper_table(name), newline="", encoding="utf-8") as fh:
        return [row[column] for row in csv.DictReader(fh)]


# -- registry and paper mapping ---------------------------------------------------------------

def test_groups_hold_exactly_the_ten_networks():
    assert list_models("ablation") == TABLE2 + TABLE3
    assert list_models("ablation_table2") == TABLE2
    assert list_models("ablation_table3") == TABLE3
    assert list_models("ablation_extra") == EXTRAS
    assert get_entry("ablation_relu").input_size == 224


def test_paper_rows_map_one_to_one_in_the_papers_order():
    assert [paper_row(m) for m in TABLE2] == _paper_rows("table2_activations", "activation")
    assert [paper_row(m) for m in TABLE3] == _paper_rows("table3_blocks", "block")
    assert [v.id for v in variants("table2")] == TABLE2
    assert paper_row("Ablation DyReLU-A") == "DynamicReLU-A"  # display names resolve too
    assert all(paper_row(m) == "" for m in EXTRAS)
    with pytest.raises(UnknownModelError, match="not an ablation network"):
        paper_row("mobileone_s0")


# -- every variant builds, runs, and differs only in what the ablation changes ---------------

@pytest.mark.parametrize("model_id", TABLE2 + TABLE3 + EXTRAS)
def test_every_variant_builds_and_runs(model_id):
    model = create_model(model_id, **SMALL).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 10) and torch.isfinite(out).all()
    assert len(model.conv_layers()) == 29


def _core_signature(model: AblationNet) -> list[tuple]:
    """Shapes of every parameter outside the activations and SE blocks, in order, plus each
    conv's geometry: what must be identical across the variants."""
    sig = [(tuple(p.shape),) for name, p in model.named_parameters()
           if ".act." not in name and ".se." not in name]
    sig += [(layer.conv.kernel_size, layer.conv.stride, layer.conv.padding, layer.conv.groups)
            for layer in model.conv_layers()]
    return sig


def test_variants_have_identical_conv_layers():
    signatures = {m: _core_signature(create_model(m, **SMALL)) for m in TABLE2 + TABLE3 + EXTRAS}
    reference = signatures["ablation_relu"]
    assert len(reference) > 2 * 29
    for model_id, sig in signatures.items():
        assert sig == reference, model_id


@pytest.mark.parametrize("model_id,act_type", [
    ("ablation_relu", nn.ReLU), ("ablation_gelu", nn.GELU), ("ablation_silu", nn.SiLU),
    ("ablation_se_relu", SEReLU), ("ablation_dynamic_shift_max", DynamicShiftMax),
    ("ablation_dyrelu_a", DyReLUA), ("ablation_dyrelu_b", DyReLUB),
    ("ablation_relu6", nn.ReLU6), ("ablation_hardswish", nn.Hardswish)])
def test_table2_variants_differ_only_in_the_activation(model_id, act_type):
    model = create_model(model_id, **SMALL)
    layers = model.conv_layers()
    assert all(type(layer.act) is act_type for layer in layers)
    assert all(layer.se is None and layer.residual_from is None for layer in layers)
    if act_type in (SEReLU, DynamicShiftMax, DyReLUA, DyReLUB):  # built for each layer's width
        assert [layer.act.channels for layer in layers] == [layer.out_channels for layer in layers]


def test_table3_variants_keep_relu():
    for model_id in TABLE3:
        assert all(type(layer.act) is nn.ReLU for layer in create_model(model_id).conv_layers())


# -- layout ------------------------------------------------------------------------------------

@pytest.mark.parametrize("depth", [6, 10, 20, 30, 52])
def test_depth_counts_weight_layers(depth):
    model = AblationNet(depth=depth, width=4, input_size=32, num_classes=3)
    table = pd.DataFrame(layer_table(model))
    assert len(table) == depth == len(model.conv_layers()) + 1
    assert sum(stage_blocks(depth)) == (depth - 6) // 2
    assert sum(isinstance(m, nn.Conv2d) for m in model.modules()) == depth - 1
    assert set(table.loc[table["stride"] == 2, "layer"]) == {1} | set(
        table.loc[table["role"] == "transition", "layer"])


def test_depth_30_layout():
    assert stage_blocks(30) == (1, 3, 6, 2)
    table = pd.DataFrame(layer_table(AblationNet(width=16, input_size=224)))
    assert set(table.loc[table["role"] == "transition", "layer"]) == TRANSITIONS
    assert set(table.loc[table["role"] == "block conv 2", "layer"]) == BLOCK_SECOND
    assert set(table.loc[table["stage"] == 4, "layer"]) == STAGE4
    assert list(table["out_size"].iloc[[0, 1, 4, 11, 24]]) == [112, 56, 28, 14, 7]
    assert list(table["out_channels"].iloc[[0, 1, 4, 11, 24, 29]]) == [16, 16, 32, 64, 128, 1000]


def test_layer_table_macs_add_up_to_fvcore():
    model = create_model("ablation_baseline", width=8, input_size=64)
    table = pd.DataFrame(layer_table(model))
    last = table.iloc[-2]
    gap = last["out_channels"] * last["out_size"] ** 2  # fvcore: one op per pooled element
    assert table["macs"].sum() + gap == count_complexity(model, 64).macs


def test_default_size_is_in_the_papers_ballpark():
    """The documented choice: ReLU network MACs within ±25 % of MobileOne-S3's (Table 9), the
    model whose iPhone 12 latency equals the paper's ReLU network's."""
    relu_ms = paper_results(TABLES["02_activation_ablation"]).set_index(
        "paper_row").loc["ReLU", "paper_ms"]
    s3 = get_entry("mobileone_s3").published
    assert s3.mobile_ms == relu_ms
    macs = sum(row["macs"] for row in layer_table(create_model("ablation_relu")))
    assert abs(macs / (s3.macs_m * 1e6) - 1) < 0.25


# -- SE and skip placement --------------------------------------------------------------------

@pytest.mark.parametrize("se,expected", [("none", set()), ("every", set(range(1, 30))),
                                         ("block", BLOCK_SECOND), ("last_stage", STAGE4)])
def test_se_placement(se, expected):
    model = AblationNet(se=se, **SMALL).eval()
    assert {layer.index for layer in model.conv_layers() if layer.se is not None} == expected
    table = pd.DataFrame(layer_table(model))
    assert set(table.loc[table["se"], "layer"]) == expected
    called = []
    for layer in model.conv_layers():
        if layer.se is not None:
            layer.se.register_forward_hook(lambda m, i, o, n=layer.index: called.append(n))
    with torch.no_grad():
        model(torch.randn(1, 3, 32, 32))
    assert set(called) == expected  # each SE is really in the forward path


def test_registered_se_variant_puts_se_after_every_conv_as_the_paper_suggests():
    """Table 3's "+ Squeeze-Excite" (2.10 ms) equals Table 2's SE-ReLU: the registered +SE
    network is the same computation; the SE-ResNet placement stays selectable."""
    model = create_model("ablation_se")
    assert {la.index for la in model.conv_layers() if la.se is not None} == set(range(1, 30))
    block = create_model("ablation_se", se="block")
    assert {la.index for la in block.conv_layers() if la.se is not None} == BLOCK_SECOND


@pytest.mark.parametrize("skip,expected", [
    ("none", {}),
    ("block", {i: i - 1 for i in BLOCK_SECOND}),  # the block's input: the first conv's input
    ("every", {i: i for i in set(range(1, 30)) - TRANSITIONS - {1}}),  # every stride-1 conv
])
def test_skip_placement_and_wiring(skip, expected):
    """Wiring checked from the outside: every layer's output must equal
    ReLU(BN output + input of layer ``residual_from``) (or ReLU(BN output) without skip)."""
    model = AblationNet(skip=skip, **SMALL).eval()
    layers = model.conv_layers()
    assert {la.index: la.residual_from for la in layers if la.residual_from} == expected
    inputs, bn_out, outputs = {}, {}, {}

    def record_layer(module, args, out):  # forward hooks must return None
        inputs[module.index], outputs[module.index] = args[0], out

    for la in layers:
        la.register_forward_hook(record_layer)
        la.bn.register_forward_hook(lambda m, a, out, n=la.index: bn_out.update({n: out}))
    with torch.no_grad():
        model(torch.randn(1, 3, 32, 32))
    for la in layers:
        pre = bn_out[la.index]
        if la.index in expected:
            pre = pre + inputs[expected[la.index]]
        torch.testing.assert_close(outputs[la.index], torch.relu(pre))


def test_registered_skip_variant_uses_block_shortcuts():
    layers = create_model("ablation_skip").conv_layers()
    assert {la.index: la.residual_from for la in layers if la.residual_from} == {
        i: i - 1 for i in BLOCK_SECOND}


@pytest.mark.parametrize("kwargs", [{"skip": "block", "se": "block"}, {"skip": "every"},
                                    {"activation": "dyrelu_b", "se": "last_stage"}])
def test_deployed_form_is_exact(kwargs):
    model = randomize_bn(AblationNet(**kwargs, **SMALL))  # so that folding matters
    fused = deploy(model)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fused.modules())
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(fused(x), model(x), atol=1e-4, rtol=1e-4)


# -- complexity --------------------------------------------------------------------------------

def test_se_everywhere_equals_the_se_relu_activation():
    a = count_complexity(AblationNet(se="every", depth=10, **SMALL), 32)
    b = count_complexity(AblationNet(activation="se_relu", depth=10, **SMALL), 32)
    assert (a.macs, a.elementwise, a.params) == (b.macs, b.elementwise, b.params)


# -- errors ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,message", [
    ({"depth": 31}, "depth must be even"),
    ({"depth": 4}, "depth must be an integer >= 6"),
    ({"depth": 30.0}, "depth must be an integer"),
    ({"width": 6}, "width must be a multiple of 4"),
    ({"width": 0}, "width must be an integer >= 4"),
    ({"input_size": 16}, "input_size must be an integer >= 32"),
    ({"activation": "tanh"}, "activation='tanh' is not one of"),
    ({"se": "every_other"}, "se='every_other' is not one of"),
    ({"skip": True}, "skip=True is not one of"),
    ({"num_classes": 0}, "num_classes must be an integer >= 1"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        AblationNet(**kwargs)
    with pytest.raises(ConfigError):
        create_model("ablation_relu", **kwargs)


def test_layer_table_needs_an_ablation_net():
    with pytest.raises(ConfigError, match="AblationNet"):
        layer_table(ConvLayer(3, 4, 1, "relu", False, index=1, stage=0, role="stem"))
