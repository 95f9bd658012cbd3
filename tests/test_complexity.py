"""Complexity counting against closed-form counts, and the on-disk cache."""

from __future__ import annotations

import hashlib

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


# --- counts that cannot go stale: the cache key follows the code of the model's classes -------

NET_SOURCE = '''"""A temporary model module."""
import torch.nn as nn


class Net(nn.Module):
    """Doc."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1, bias=False)

    def forward(self, x):
        return self.conv(x)  # one conv
'''
DOC_EDIT = NET_SOURCE.replace('"""Doc."""', '"""Another docstring."""').replace(
    "# one conv", "# a reworded comment")
FORWARD_EDIT = NET_SOURCE.replace("return self.conv(x)", "return self.conv(self.conv(x))")


@pytest.fixture
def temp_model(tmp_path, monkeypatch):
    """Register ``temp_net``, built from a module file the test rewrites (``write(source)``);
    the registry, cache and committed table are restored / private for the test."""
    import importlib.util
    import sys

    from analysis import paths
    from analysis.models import registry

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    monkeypatch.setattr(registry, "_LOOKUP", dict(registry._LOOKUP))
    monkeypatch.setattr(paths, "NOTEBOOK_OUTPUTS", tmp_path / "outputs")
    monkeypatch.setenv("MOBILEONE_STUDY_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "temp_net_module.py"

    def write(source: str):
        path.write_text(source)
        spec = importlib.util.spec_from_file_location("temp_net_module", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        monkeypatch.setitem(sys.modules, "temp_net_module", module)
        return module

    registry.register_model("temp_net", display_name="Temp net", family="conv",
                            input_size=8)(lambda **kw: sys.modules["temp_net_module"].Net())
    return write


def test_a_changed_forward_changes_the_key_and_is_recounted(temp_model):
    from analysis.models import create_model

    temp_model(NET_SOURCE)
    before = complexity.model_digest(create_model("temp_net"))
    first = profile_model("temp_net")
    assert first.macs == 3 * 3 * 8 * 8
    temp_model(FORWARD_EDIT)  # same layers, same repr: only forward() differs
    assert complexity.model_digest(create_model("temp_net")) != before
    assert profile_model("temp_net").macs == 2 * first.macs  # recounted, not served stale


def test_a_docstring_or_comment_edit_keeps_the_key(temp_model, monkeypatch):
    from analysis.models import create_model

    temp_model(NET_SOURCE)
    before = complexity.model_digest(create_model("temp_net"))
    first = profile_model("temp_net")
    temp_model(DOC_EDIT)
    assert complexity.model_digest(create_model("temp_net")) == before
    monkeypatch.setattr(complexity, "count_complexity",
                        lambda *a, **k: pytest.fail("the cache should have been used"))
    assert profile_model("temp_net") == first


def test_the_key_covers_the_zoo_modules_that_define_the_classes():
    import sys

    from analysis.models import create_model, fusion, layers

    mobileone = sys.modules["analysis.models.mobileone"]  # the package exports a function too

    def joined(*modules):  # fusion makes the deployed form that is counted: always in
        parts = {complexity.source_digest(m.__file__) for m in (*modules, fusion)}
        return hashlib.sha1("\n".join(sorted(parts)).encode()).hexdigest()

    assert complexity.code_digest(create_model("mobileone_s0")) == joined(mobileone)
    # MobileNetV2's classes are all in layers.py; its config (mobilenet.py) is in the repr
    assert complexity.code_digest(create_model("mobilenetv2_100")) == joined(layers)
