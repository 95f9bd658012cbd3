"""Unit tests of the shared building blocks in ``analysis.models.layers``."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from analysis.errors import ConfigError
from analysis.models.dynamic import DyReLUB
from analysis.models.fusion import calibrate_batchnorm, reparameterize_model
from analysis.models.layers import (ChannelShuffle, ConvBnAct, DepthwiseSeparable,
                                    InvertedResidual, MixedConv2d, SandglassBlock,
                                    ShuffleV2Block, SqueezeExcite, channel_shuffle,
                                    create_conv2d, get_activation, split_channels)
from fusion_helpers import randomize_bn


def _zero_last_bn(block: nn.Module, bn: nn.BatchNorm2d) -> nn.Module:
    """Make the residual branch output exactly zero (its last BN has γ = β = 0)."""
    bn.weight.data.zero_()
    bn.bias.data.zero_()
    return block.eval()


# --- activations ---------------------------------------------------------------------------

def test_get_activation_takes_a_name_or_a_class():
    assert type(get_activation("HardSwish")) is nn.Hardswish
    assert type(get_activation(None)) is nn.Identity
    assert type(get_activation("relu", channels=8)) is nn.ReLU  # channels= accepted, ignored
    leaky = get_activation(nn.LeakyReLU, negative_slope=0.25, channels=8)
    assert type(leaky) is nn.LeakyReLU
    assert leaky(torch.tensor([-4.0, 2.0])).tolist() == [-1.0, 2.0]
    assert get_activation(nn.GELU) is not get_activation(nn.GELU)  # a fresh module each time
    dyrelu = get_activation(DyReLUB, channels=16)  # a dynamic activation, by class
    assert type(dyrelu) is DyReLUB and dyrelu(torch.randn(2, 16, 3, 3)).shape == (2, 16, 3, 3)


def test_get_activation_errors():
    with pytest.raises(ConfigError, match="unknown activation 'relu7'"):
        get_activation("relu7")
    with pytest.raises(ConfigError, match="not an nn.Module"):
        get_activation(int)
    with pytest.raises(ConfigError, match="DyReLUB depends on the channel count"):
        get_activation(DyReLUB)
    with pytest.raises(TypeError):
        get_activation("relu", slope=2)  # an argument the class does not take is not dropped


# --- BatchNorm statistics for export ------------------------------------------------------

def test_calibrated_batchnorm_normalises_the_calibration_batch():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(),
                        nn.Conv2d(8, 6, 3), nn.BatchNorm2d(6)).double().eval()
    with torch.no_grad():
        net[3].weight.mul_(50.0)  # an activation scale BatchNorm's default statistics keep
    x = torch.randn(4, 3, 12, 12, dtype=torch.float64)
    with torch.no_grad():
        assert net(x).std() > 10
    assert calibrate_batchnorm(net, x) is net and not net.training  # mode kept
    assert net[1].momentum == 0.1 and net[4].momentum == 0.1  # restored
    with torch.no_grad():
        first, out = net[:2](x), net(x)
    # in eval mode the first BatchNorm's output has, per channel, mean β = 0 and (unbiased)
    # variance γ² = 1 on the calibration batch; the second one's input saw the first one's
    # train-mode (biased-variance) output, 0.1 % larger here, so it is normalised to ~1 %
    zeros, ones = torch.zeros(8, dtype=torch.float64), torch.ones(8, dtype=torch.float64)
    torch.testing.assert_close(first.mean((0, 2, 3)), zeros, atol=1e-9, rtol=0)
    torch.testing.assert_close(first.var((0, 2, 3)), ones, atol=1e-4, rtol=0)  # ε = 1e-5
    torch.testing.assert_close(out.mean((0, 2, 3)), zeros[:6], atol=1e-2, rtol=0)
    torch.testing.assert_close(out.var((0, 2, 3)), ones[:6], atol=2e-2, rtol=0)


# --- channel shuffle -----------------------------------------------------------------------

def test_channel_shuffle_moves_channels_as_specified():
    x = torch.arange(12.0).reshape(1, 12, 1, 1)
    out = channel_shuffle(x, 3).flatten().tolist()
    # 3 groups of 4: (0 1 2 3)(4 5 6 7)(8 9 10 11) -> interleaved
    assert out == [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]


@pytest.mark.parametrize("channels,groups", [(12, 2), (12, 3), (116, 2), (24, 4)])
def test_channel_shuffle_is_a_permutation_with_a_known_inverse(channels, groups):
    x = torch.randn(2, channels, 3, 5)
    y = channel_shuffle(x, groups)
    assert sorted(y[0, :, 0, 0].tolist()) == sorted(x[0, :, 0, 0].tolist())  # a permutation
    assert not torch.equal(y, x)
    # shuffling with the transposed grid (channels/groups groups) undoes it
    assert torch.equal(channel_shuffle(y, channels // groups), x)
    assert torch.equal(ChannelShuffle(groups)(x), y)


def test_channel_shuffle_rejects_indivisible_channels():
    with pytest.raises(ConfigError, match="groups"):
        channel_shuffle(torch.zeros(1, 10, 2, 2), 3)


# --- MixConv -------------------------------------------------------------------------------

@pytest.mark.parametrize("channels,groups,expected", [
    (10, 3, [4, 3, 3]), (96, 2, [48, 48]), (120, 4, [30, 30, 30, 30]), (200, 3, [68, 66, 66]),
    (7, 1, [7])])
def test_split_channels_puts_the_remainder_first(channels, groups, expected):
    assert split_channels(channels, groups) == expected


def test_split_channels_rejects_impossible_splits():
    with pytest.raises(ConfigError):
        split_channels(2, 3)
    with pytest.raises(ConfigError):
        split_channels(8, 0)


def test_mixconv_depthwise_splits_channels_one_kernel_per_split():
    conv = MixedConv2d(20, 20, (3, 5, 7), stride=2, depthwise=True)
    assert conv.in_splits == conv.out_splits == [8, 6, 6]
    shapes = [tuple(c.weight.shape) for c in conv.convs]
    assert shapes == [(8, 1, 3, 3), (6, 1, 5, 5), (6, 1, 7, 7)]
    x = torch.randn(1, 20, 16, 16)
    out = conv(x)
    assert out.shape == (1, 20, 8, 8)
    # each output split is its own kernel applied to its own input split only
    starts = [0, 8, 14, 20]
    for j, c in enumerate(conv.convs):
        sl = slice(starts[j], starts[j + 1])
        assert torch.allclose(out[:, sl], c(x[:, sl]), atol=1e-6)


def test_mixconv_grouped_pointwise_has_no_cross_talk_between_splits():
    conv = MixedConv2d(16, 96, (1, 1))
    assert [tuple(c.weight.shape) for c in conv.convs] == [(48, 8, 1, 1), (48, 8, 1, 1)]
    x = torch.randn(1, 16, 4, 4)
    x2 = x.clone()
    x2[:, :8] = 0  # change only the first input split
    a, b = conv(x), conv(x2)
    assert not torch.allclose(a[:, :48], b[:, :48])
    assert torch.equal(a[:, 48:], b[:, 48:])


def test_create_conv2d_picks_plain_or_mixed_conv():
    assert isinstance(create_conv2d(8, 8, 3, groups=8), nn.Conv2d)
    assert isinstance(create_conv2d(8, 8, (5,), groups=8), nn.Conv2d)
    assert isinstance(create_conv2d(8, 8, (3, 5), groups=8), MixedConv2d)
    assert create_conv2d(8, 8, (3, 5), groups=8).convs[0].groups == 4  # depthwise splits
    assert create_conv2d(8, 16, (1, 1)).convs[0].groups == 1  # dense splits
    with pytest.raises(ConfigError):
        create_conv2d(8, 8, (3, 5), groups=2)


# --- folding BatchNorm (the deployed form) ------------------------------------------------

@pytest.mark.parametrize("kwargs", [
    dict(in_channels=6, out_channels=10, kernel_size=3, stride=2),
    dict(in_channels=12, out_channels=12, kernel_size=5, groups=12, act="hardswish"),
    dict(in_channels=12, out_channels=12, kernel_size=(3, 5, 7), groups=12, act="swish"),
    dict(in_channels=16, out_channels=24, kernel_size=(1, 1), act=None),
])
def test_conv_bn_act_folds_batchnorm_exactly(kwargs):
    block = randomize_bn(ConvBnAct(**kwargs))
    x = torch.randn(2, kwargs["in_channels"], 11, 11)
    with torch.no_grad():
        ref = block(x)
        block.reparameterize()
        fused = block(x)
    assert isinstance(block.bn, nn.Identity)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in block.modules())
    assert torch.allclose(fused, ref, atol=1e-5)
    block.reparameterize()  # idempotent
    assert torch.allclose(block(x), ref, atol=1e-5)


def test_deployed_inverted_residual_has_no_batchnorm_and_same_output():
    block = randomize_bn(InvertedResidual(16, 16, (3, 5), mid_channels=48, act="swish",
                                           se_channels=4, exp_kernel_size=(1, 1)))
    x = torch.randn(2, 16, 9, 9)
    fused = reparameterize_model(block)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fused.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in block.modules())  # original untouched
    with torch.no_grad():
        assert torch.allclose(fused(x), block(x), atol=1e-5)


# --- inverted residual / depthwise separable ----------------------------------------------

@pytest.mark.parametrize("cin,cout,stride,skip,expected", [
    (16, 16, 1, True, True), (16, 24, 1, True, False), (16, 16, 2, True, False),
    (16, 16, 1, False, False)])
def test_inverted_residual_skip_only_when_shapes_match(cin, cout, stride, skip, expected):
    block = InvertedResidual(cin, cout, 3, stride, mid_channels=4 * cin, skip=skip)
    assert block.has_skip is expected
    _zero_last_bn(block, block.conv_pwl.bn)
    x = torch.randn(1, cin, 8, 8)
    with torch.no_grad():
        out = block(x)
    if expected:  # the branch is zero, so only the shortcut is left
        assert torch.equal(out, x)
    else:
        assert torch.count_nonzero(out) == 0


def test_inverted_residual_expands_only_when_asked():
    assert isinstance(InvertedResidual(16, 24, mid_channels=16).conv_pw, nn.Identity)
    block = InvertedResidual(16, 24, 5, 2, mid_channels=96, act="hardswish")
    assert block.conv_pw.conv.weight.shape == (96, 16, 1, 1)
    assert block.conv_dw.conv.weight.shape == (96, 1, 5, 5) and block.conv_dw.conv.stride == (2, 2)
    assert block.conv_pwl.conv.weight.shape == (24, 96, 1, 1)
    assert isinstance(block.conv_pwl.act, nn.Identity)  # linear bottleneck
    assert isinstance(block.conv_dw.act, nn.Hardswish)
    assert block(torch.randn(1, 16, 8, 8)).shape == (1, 24, 4, 4)


def test_inverted_residual_squeeze_excite_on_expanded_features():
    block = InvertedResidual(16, 16, mid_channels=64, se_channels=8, se_act="relu",
                             se_gate="hard_sigmoid")
    assert isinstance(block.se, SqueezeExcite)
    assert block.se.conv_reduce.weight.shape == (8, 64, 1, 1)
    assert isinstance(block.se.gate, nn.Hardsigmoid) and isinstance(block.se.act, nn.ReLU)
    assert isinstance(InvertedResidual(16, 16, mid_channels=64).se, nn.Identity)


def test_depthwise_separable_is_dw_then_pw_with_activations():
    block = DepthwiseSeparable(32, 64, stride=2)
    assert block.conv_dw.conv.groups == 32 and block.conv_dw.conv.stride == (2, 2)
    assert block.conv_pwl.conv.weight.shape == (64, 32, 1, 1)
    assert isinstance(block.conv_pwl.act, nn.ReLU)
    assert isinstance(block.conv_pw, nn.Identity) and not block.has_skip
    assert not DepthwiseSeparable(64, 64).has_skip  # MobileNetV1: never a shortcut


# --- sandglass -----------------------------------------------------------------------------

def test_sandglass_block_order_and_shortcut():
    block = SandglassBlock(96, 96, hidden_channels=16)
    assert block.has_skip
    assert block.conv_dw1.conv.groups == 96 and isinstance(block.conv_dw1.act, nn.ReLU6)
    assert block.conv_reduce.conv.weight.shape == (16, 96, 1, 1)
    assert isinstance(block.conv_reduce.act, nn.Identity)  # linear bottleneck
    assert block.conv_expand.conv.weight.shape == (96, 16, 1, 1)
    assert block.conv_dw2.conv.groups == 96 and isinstance(block.conv_dw2.act, nn.Identity)
    _zero_last_bn(block, block.conv_dw2.bn)
    x = torch.randn(1, 96, 7, 7)
    with torch.no_grad():
        assert torch.equal(block(x), x)


def test_sandglass_stride_sits_on_the_last_depthwise_conv():
    block = SandglassBlock(96, 144, 32, stride=2, dw_in=False)
    assert isinstance(block.conv_dw1, nn.Identity) and not block.has_skip
    assert block.conv_dw2.conv.stride == (2, 2)
    assert block(torch.randn(1, 96, 8, 8)).shape == (1, 144, 4, 4)
    plain = SandglassBlock(96, 144, 32, dw_in=False, dw_out=False)
    assert isinstance(plain.conv_dw2, nn.Identity)
    with pytest.raises(ConfigError):
        SandglassBlock(96, 144, 32, stride=2, dw_out=False)


# --- ShuffleNet V2 unit --------------------------------------------------------------------

def test_shufflev2_stride1_passes_half_the_channels_through_unchanged():
    block = ShuffleV2Block(116, 116).eval()
    x = torch.randn(1, 116, 7, 7)
    with torch.no_grad():
        out = block(x)
    assert out.shape == x.shape
    # concat(x[:, :58], f(x[:, 58:])) shuffled with 2 groups: the kept half lands on even slots
    assert torch.equal(out[:, 0::2], x[:, :58])
    assert not torch.allclose(out[:, 1::2], x[:, 58:])


def test_shufflev2_stride2_uses_the_whole_input_in_both_branches():
    block = ShuffleV2Block(24, 116, stride=2).eval()
    assert block.branch1[0].conv.groups == 24 and block.branch2[0].conv.in_channels == 24
    out = block(torch.randn(1, 24, 14, 14))
    assert out.shape == (1, 116, 7, 7)
    with pytest.raises(ConfigError):
        ShuffleV2Block(24, 116, stride=1)
