"""Complexity counting against closed-form counts, and the on-disk cache."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from analysis import complexity
from analysis.complexity import count_complexity, input_shape_for, profile_model
from analysis.errors import ConfigError


class Gated(nn.Module):
    """conv 3→8 (3×3, bias) → x·sigmoid(x) → GAP → linear 8→5."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = self.conv(x)
        x = x * x.sigmoid()
        return self.fc(nn.functional.adaptive_avg_pool2d(x, 1).flatten(1))


def test_closed_form_counts():
    c = count_complexity(Gated(), (8, 10))
    conv_macs = 8 * 3 * 3 * 3 * 8 * 10  # out · in · k·k · H·W
    gap = 8 * 8 * 10  # fvcore counts adaptive pooling as one op per input element
    fc_macs = 8 * 5
    assert c.macs == conv_macs + gap + fc_macs
    assert c.params == (8 * 3 * 9 + 8) + (8 * 5 + 5)
    assert c.activations == 8 * 8 * 10 + 5  # outputs of conv and linear
    assert c.input_shape == (1, 3, 8, 10)
    # element-wise ops stay out of the MACs, counted apart: sigmoid and mul, one op per element
    assert c.elementwise == 2 * (8 * 8 * 10)
    assert c.skipped_ops == {}  # nothing is counted by neither


def test_counts_scale_with_batch_and_leave_model_alone():
    model = Gated().train()
    one = count_complexity(model, 8)
    four = count_complexity(model, 8, batch_size=4)
    assert four.macs == 4 * one.macs and four.params == one.params
    assert model.training  # mode restored


def test_bad_input_size():
    with pytest.raises(ConfigError, match="input_size"):
        input_shape_for((1, 2, 3))
    with pytest.raises(ConfigError, match="positive"):
        input_shape_for(0)


def test_fused_and_unfused_counts_differ_for_mobileone():
    from analysis.models import create_model

    model = create_model("mobileone_s0")
    fused = count_complexity(model, 64)
    unfused = count_complexity(model, 64, fuse=False)
    assert unfused.params > 2 * fused.params and unfused.macs > fused.macs


def test_profile_model_uses_the_cache(monkeypatch):
    first = profile_model("MobileOne-S0", 64)
    monkeypatch.setattr(complexity, "count_complexity",
                        lambda *a, **k: pytest.fail("cache not used"))
    assert profile_model("mobileone_s0", 64) == first


class ElementwiseZoo(nn.Module):
    """conv 3→4 (1×1, no bias), then element-wise ops of every kind the counter handles."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1, bias=False)

    def forward(self, x):
        x = self.conv(x)  # (1, 4, 3, 5)
        y = nn.functional.relu(x) + nn.functional.gelu(x)  # relu, gelu, add: 3 × 60
        y = y * torch.sigmoid(x) - nn.functional.silu(x)  # sigmoid, mul, silu, sub: 4 × 60
        y = torch.maximum(y, nn.functional.hardswish(x).clamp(min=0))  # 3 × 60
        g = x.mean((2, 3), keepdim=True)  # reduction: one op per input element, 60
        p = nn.functional.max_pool2d(x, 3, 1, 1)  # pooling: one op per input element, 60
        return (y * g + p).amax(1)  # mul (broadcast), add: 60 outputs; amax over C: 60 inputs


def test_elementwise_counts_follow_the_documented_convention():
    c = count_complexity(ElementwiseZoo(), (3, 5))
    n = 4 * 3 * 5  # elements of the conv output
    assert c.macs == 3 * 4 * 3 * 5  # fvcore's default count only: the 1×1 conv
    assert c.elementwise == (3 + 4 + 3 + 1 + 1 + 3) * n
    assert c.skipped_ops == {}


def test_unknown_ops_are_still_listed_as_skipped():
    class Cumulative(nn.Module):
        def forward(self, x):
            return torch.cumsum(x, 1)

    c = count_complexity(Cumulative(), 4)
    assert c.macs == 0 and c.elementwise == 0
    assert c.skipped_ops == {"aten::cumsum": 1}


class Residual(nn.Module):
    """relu(conv(x)) → [x + y, y] concatenated: one layer, two merges."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1, bias=False)

    def forward(self, x):
        y = torch.relu(self.conv(x))
        return torch.cat([x + y, y], dim=1)


def test_graph_costs_closed_form():
    from analysis.complexity import graph_costs

    n = 4 * 5 * 5  # elements of x (and of every 4-channel tensor)
    costs = graph_costs(Residual().eval(), torch.zeros(1, 4, 5, 5))
    assert costs["operators"] == 4  # conv, relu, add, cat (views excluded)
    assert costs["layers"] == 1
    assert costs["merges"] == 2  # add of two tensors, cat of two tensors
    traffic = (n + n) + (n + n) + (2 * n + n) + (2 * n + 2 * n)  # in + out of each op
    weights = 4 * 4 * 3 * 3
    assert costs["memory_bytes"] == 4 * (traffic + weights)


def test_graph_costs_see_fusion_and_scalars():
    from analysis.complexity import graph_costs
    from analysis.models import create_model, deploy

    model = create_model("mobileone_s0").eval()
    x = torch.zeros(1, 3, 64, 64)
    fused, unfused = graph_costs(deploy(model), x), graph_costs(model, x)
    assert fused["merges"] == 0  # one conv per block: no branches left to merge
    assert unfused["merges"] > 40 and unfused["memory_bytes"] > 2 * fused["memory_bytes"]
    # x + 1 and x * 2 are operators but not merges (one operand is a scalar)
    class Scalars(nn.Module):
        def forward(self, t):
            return (t + 1) * 2

    scal = graph_costs(Scalars(), x)
    assert scal["operators"] == 2 and scal["merges"] == 0
    assert graph_costs(nn.Identity(), x)["operators"] == 0
