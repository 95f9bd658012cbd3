"""The Table 2 activations against direct formulas written out here with explicit loops.

Each dynamic operator's hyper-function θ(x) = 2σ(FC2(ReLU(FC1(GAP(x))))) − 1 is recomputed
from the module's weights with scalar loops (no call into the module's forward), then the
operator's formula is evaluated with loops over the pieces k and shifts j.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn

from analysis.errors import ConfigError
from analysis.models.dynamic import (DynamicShiftMax, DyReLUA, DyReLUB, DyReLUConfig, SEReLU,
                                     ShiftMaxConfig)
from analysis.models.layers import get_activation

B, C, H, W = 2, 8, 3, 4
ATOL = 1e-5


@pytest.fixture
def x():
    return torch.randn(B, C, H, W) * 2


def _randomize(module: nn.Module) -> nn.Module:
    """Non-trivial weights everywhere (biases included), so no term of a formula is zero."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn_like(p) * 0.7)
    return module.eval()


def _sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


def _fc(conv: nn.Conv2d, v: list[float]) -> list[float]:
    """A 1×1 conv on a pooled vector, written as a scalar matrix-vector product."""
    w, b = conv.weight[:, :, 0, 0].tolist(), conv.bias.tolist()
    return [sum(w[o][i] * v[i] for i in range(len(v))) + b[o] for o in range(len(b))]


def _theta(hyper, x: torch.Tensor) -> list[list[float]]:
    """θ per sample, from the weights: GAP → FC1 → ReLU → FC2 → 2σ(·) − 1."""
    out = []
    for n in range(x.shape[0]):
        gap = [x[n, c].mean().item() for c in range(x.shape[1])]
        hidden = [max(v, 0.0) for v in _fc(hyper.fc1, gap)]
        out.append([2 * _sigmoid(v) - 1 for v in _fc(hyper.fc2, hidden)])
    return out


# -- static activations -----------------------------------------------------------------------

STATIC = {
    "relu": lambda v: max(v, 0.0),
    "gelu": lambda v: v * 0.5 * (1 + math.erf(v / math.sqrt(2))),  # x·Φ(x)
    "silu": lambda v: v * _sigmoid(v),  # x·σ(x)
    "relu6": lambda v: min(max(v, 0.0), 6.0),
    "hardswish": lambda v: v * min(max(v + 3, 0.0), 6.0) / 6,  # Howard et al. 2019
}


@pytest.mark.parametrize("name", sorted(STATIC))
def test_static_activations(name, x):
    act = get_activation(name, channels=C)  # channels= is accepted and ignored
    expected = torch.tensor([STATIC[name](v) for v in x.flatten().tolist()]).reshape(x.shape)
    torch.testing.assert_close(act(x), expected, atol=ATOL, rtol=0)


# -- SE-ReLU ----------------------------------------------------------------------------------

def test_se_relu_formula(x):
    act = _randomize(get_activation("se_relu", channels=C, rd_ratio=0.25))
    assert isinstance(act, SEReLU) and act.se.conv_reduce.out_channels == C // 4
    expected = torch.empty_like(x)
    for n in range(B):
        gap = [x[n, c].mean().item() for c in range(C)]
        hidden = [max(v, 0.0) for v in _fc(act.se.conv_reduce, gap)]
        gates = [_sigmoid(v) for v in _fc(act.se.conv_expand, hidden)]
        for c in range(C):
            expected[n, c] = (x[n, c] * gates[c]).clamp(min=0)
    torch.testing.assert_close(act(x), expected, atol=ATOL, rtol=0)


def test_se_relu_uses_mobileone_ratio():
    assert get_activation("se_relu", channels=64).se.conv_reduce.out_channels == 4  # 64·0.0625
    assert get_activation("se_relu", channels=8).se.conv_reduce.out_channels == 1  # floored at 1


def test_se_relu_with_zeroed_expand_is_relu_of_half(x):
    act = _randomize(SEReLU(C))
    with torch.no_grad():
        act.se.conv_expand.weight.zero_()
        act.se.conv_expand.bias.zero_()
    assert torch.equal(act(x), torch.relu(x * 0.5))  # σ(0) = 0.5


# -- DyReLU -----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["a", "b"])
def test_dyrelu_formula(kind, x):
    cfg = DyReLUConfig()
    act = _randomize(get_activation(f"dyrelu_{kind}", channels=C))
    assert isinstance(act, DyReLUA if kind == "a" else DyReLUB)
    theta = _theta(act.hyper, x)
    per_channel = kind == "b"
    assert len(theta[0]) == 2 * cfg.k * (C if per_channel else 1)  # n = 2K or 2K·C
    expected = torch.empty_like(x)
    for n in range(B):
        for c in range(C):
            m = C if per_channel else 1
            idx = c if per_channel else 0
            pieces = []
            for k in range(cfg.k):
                a = cfg.alpha[k] + cfg.lambda_a * theta[n][k * m + idx]
                b = cfg.beta[k] + cfg.lambda_b * theta[n][(cfg.k + k) * m + idx]
                pieces.append(a * x[n, c] + b)
            expected[n, c] = torch.stack(pieces).amax(0)
    torch.testing.assert_close(act(x), expected, atol=ATOL, rtol=0)


def test_dyrelu_defaults_are_the_papers():
    cfg = DyReLUConfig()
    assert (cfg.k, cfg.reduction, cfg.lambda_a, cfg.lambda_b) == (2, 4, 1.0, 0.5)
    assert cfg.alpha == (1.0, 0.0) and cfg.beta == (0.0, 0.0)
    act = DyReLUB(C)
    assert act.hyper.fc1.out_channels == C // 4 and act.hyper.fc2.out_channels == 2 * 2 * C


def test_dyrelu_with_three_pieces(x):
    cfg = DyReLUConfig(k=3, alpha=(1.0, 0.5, -0.2), beta=(0.0, 0.1, 0.3), lambda_b=0.25)
    act = _randomize(DyReLUA(C, cfg))
    theta = _theta(act.hyper, x)
    expected = torch.empty_like(x)
    for n in range(B):
        pieces = [(cfg.alpha[k] + cfg.lambda_a * theta[n][k]) * x[n]
                  + cfg.beta[k] + cfg.lambda_b * theta[n][3 + k] for k in range(3)]
        expected[n] = torch.stack(pieces).amax(0)
    torch.testing.assert_close(act(x), expected, atol=ATOL, rtol=0)


@pytest.mark.parametrize("name", ["dyrelu_a", "dyrelu_b"])
def test_dyrelu_with_zeroed_last_fc_is_relu(name, x):
    act = _randomize(get_activation(name, channels=C))
    with torch.no_grad():
        act.hyper.fc2.weight.zero_()
        act.hyper.fc2.bias.zero_()
    assert torch.equal(act(x), torch.relu(x))  # Δ = 2σ(0) − 1 = 0: max(1·x + 0, 0·x + 0)


# -- Dynamic Shift-Max ------------------------------------------------------------------------

@pytest.mark.parametrize("j,k,groups", [(2, 2, 4), (3, 2, 4), (2, 3, 2)])
def test_dynamic_shift_max_formula(j, k, groups, x):
    cfg = ShiftMaxConfig(j=j, k=k, groups=groups)
    act = _randomize(DynamicShiftMax(C, cfg))
    theta = _theta(act.hyper, x)
    assert len(theta[0]) == C * j * k
    step = C // groups
    expected = torch.empty_like(x)
    for n in range(B):
        for i in range(C):
            fusions = []
            for kk in range(k):
                z = torch.zeros(H, W)
                for jj in range(j):
                    init = 1.0 if (kk, jj) == (0, 0) else 0.0
                    a = init + cfg.lambda_a * theta[n][(kk * j + jj) * C + i]
                    z = z + a * x[n, (i + jj * step) % C]
                fusions.append(z)
            expected[n, i] = torch.stack(fusions).amax(0)
    torch.testing.assert_close(act(x), expected, atol=ATOL, rtol=0)


def test_dynamic_shift_max_defaults():
    act = get_activation("dynamic_shift_max", channels=C)
    cfg = act.config
    assert (cfg.j, cfg.k, cfg.groups, cfg.reduction) == (2, 2, 4, 4)
    assert act.shift == C // 4 and act.hyper.fc2.out_channels == C * 2 * 2


def test_dynamic_shift_max_with_zeroed_last_fc_is_relu(x):
    act = _randomize(DynamicShiftMax(C))
    with torch.no_grad():
        act.hyper.fc2.weight.zero_()
        act.hyper.fc2.bias.zero_()
    assert torch.equal(act(x), torch.relu(x))  # a^1_{i,0} = 1, all else 0: max(x, 0)


# -- export constraints and errors ------------------------------------------------------------

@pytest.mark.parametrize("name", ["se_relu", "dyrelu_a", "dyrelu_b", "dynamic_shift_max"])
def test_every_intermediate_has_rank_at_most_5(name, x):
    """Core ML rejects tensors of rank > 5: check every value of the traced graph."""
    act = get_activation(name, channels=C).eval()
    with torch.no_grad():
        graph = torch.jit.trace(act, x).inlined_graph
    ranks = [len(v.type().sizes()) for node in graph.nodes() for v in node.outputs()
             if v.isCompleteTensor()]
    assert ranks and max(ranks) <= 5


@pytest.mark.parametrize("name", ["se_relu", "dyrelu_a", "dyrelu_b", "dynamic_shift_max"])
def test_converts_to_core_ml(name, x):
    """The conversion itself (prediction needs macOS, so only the conversion is checked)."""
    ct = pytest.importorskip("coremltools")
    act = get_activation(name, channels=C).eval()
    with torch.no_grad():
        traced = torch.jit.trace(act, x[:1])
    mlmodel = ct.convert(traced, inputs=[ct.TensorType(shape=(1, C, H, W))],
                         convert_to="mlprogram", minimum_deployment_target=ct.target.iOS16)
    assert mlmodel.get_spec().WhichOneof("Type") == "mlProgram"


def test_bad_configurations():
    with pytest.raises(ConfigError, match="divisible"):
        DynamicShiftMax(6)  # 6 channels, 4 groups
    with pytest.raises(ConfigError, match="j <= groups"):
        ShiftMaxConfig(j=5, groups=4)
    with pytest.raises(ConfigError, match="one alpha and one beta"):
        DyReLUConfig(k=3)
    with pytest.raises(ConfigError, match="channel count"):
        get_activation("dyrelu_b")
    with pytest.raises(ConfigError, match="positive integer"):
        get_activation("dynamic_shift_max", channels=0)
    with pytest.raises(ConfigError, match="unknown activation"):
        get_activation("dyrelu_c", channels=C)
