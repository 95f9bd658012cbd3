"""Building blocks shared by the model families (written once, used everywhere).

Activations are chosen by name or class (:func:`get_activation`), as in timm. Models are
fused by :func:`analysis.models.fusion.reparameterize_model`, which calls ``reparameterize()``
on every sub-module that has one — including :class:`ConvBnAct`, whose BatchNorm is folded into
its conv (:func:`analysis.models.fusion.fuse_bn`), so the deployed form of every conv-BN network
has no BatchNorm left (as on device, and as MobileOne's fused form).

Blocks of the mobile CNNs, written once: :class:`MixedConv2d` (MixConv), :class:`InvertedResidual`
(MBConv, with optional SE / mixed kernels / grouped pointwise convs),
:class:`DepthwiseSeparable`, :class:`SandglassBlock` (MobileNeXt), :func:`channel_shuffle`
and :class:`ShuffleV2Block`, and the common network frame :class:`ConvClassifier`.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from analysis.errors import ConfigError
from analysis.models.fusion import fuse_bn, fused_conv

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "swish": nn.SiLU,
    "hardswish": nn.Hardswish,
    "hard_swish": nn.Hardswish,
    "hardsigmoid": nn.Hardsigmoid,
    "hard_sigmoid": nn.Hardsigmoid,
    "sigmoid": nn.Sigmoid,
    "identity": nn.Identity,
}


def register_activation(name: str, cls: type[nn.Module]) -> None:
    """Make ``get_activation(name)`` build ``cls`` (used by the dynamic activations)."""
    _ACTIVATIONS[name.lower()] = cls


def get_activation(name: str | type[nn.Module] | None, **kwargs) -> nn.Module:
    """A fresh activation module for ``name``: a registered name (any case), an ``nn.Module``
    class (as timm's ``create_act_layer`` takes either), or ``None`` (Identity).

    ``channels=`` is required by the dynamic activations (``needs_channels``) and accepted,
    and ignored, by every other one; further ``kwargs`` go to the class.
    """
    if isinstance(name, type):
        if not issubclass(name, nn.Module):
            raise ConfigError(f"activation class {name.__name__} is not an nn.Module")
        cls = name
    else:
        key = "identity" if name is None else str(name).lower()
        if key not in _ACTIVATIONS:
            raise ConfigError(f"unknown activation {name!r}; known: "
                              f"{', '.join(sorted(_ACTIVATIONS))}")
        cls = _ACTIVATIONS[key]
    if getattr(cls, "needs_channels", False):  # the dynamic activations (models/dynamic.py)
        if kwargs.get("channels") is None:
            what = name.__name__ if isinstance(name, type) else repr(name)
            raise ConfigError(f"activation {what} depends on the channel count: pass channels=")
    else:
        kwargs.pop("channels", None)
    return cls(**kwargs)


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None,
                   round_limit: float = 0.9) -> int:
    """Round ``value`` to a multiple of ``divisor`` without going below ``round_limit``×value.

    The rule of the MobileNetV2 / EfficientNet reference code.
    """
    min_value = min_value or divisor
    new = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new < round_limit * value:
        new += divisor
    return new


def split_channels(channels: int, num_groups: int) -> list[int]:
    """Split ``channels`` into ``num_groups`` near-equal parts, the remainder going to the first.

    The rule of MixConv's reference code (``_split_channels`` in the MixNet TF release), used
    for both the mixed depthwise kernels and the grouped pointwise convolutions.
    """
    if num_groups < 1 or channels < num_groups:
        raise ConfigError(f"cannot split {channels} channels into {num_groups} groups")
    split = [channels // num_groups] * num_groups
    split[0] += channels - sum(split)
    return split


class MixedConv2d(nn.Module):
    """MixConv (Tan & Le, BMVC 2019): split the channels, one kernel size per split, concatenate.

    ``kernel_sizes`` has one entry per split (channels split by :func:`split_channels`). With
    ``depthwise=True`` each split is a depthwise conv of its own kernel size (the paper's
    MDConv); otherwise each split is a dense conv from its input split to its output split — the
    reference code's "grouped" 1×1 convolutions, written this way so that uneven splits work.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_sizes: Sequence[int],
                 stride: int = 1, depthwise: bool = False, bias: bool = False) -> None:
        super().__init__()
        kernel_sizes = tuple(int(k) for k in kernel_sizes)
        if depthwise and in_channels != out_channels:
            raise ConfigError(f"a depthwise MixConv needs in == out channels, got "
                              f"{in_channels} -> {out_channels}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_sizes = kernel_sizes
        self.in_splits = split_channels(in_channels, len(kernel_sizes))
        self.out_splits = split_channels(out_channels, len(kernel_sizes))
        self.convs = nn.ModuleList(
            nn.Conv2d(cin, cout, k, stride, k // 2, groups=cin if depthwise else 1, bias=bias)
            for cin, cout, k in zip(self.in_splits, self.out_splits, kernel_sizes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = torch.split(x, self.in_splits, dim=1)
        return torch.cat([conv(part) for conv, part in zip(self.convs, parts)], dim=1)


def create_conv2d(in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
                  stride: int = 1, groups: int = 1, padding: int | None = None,
                  dilation: int = 1, bias: bool = False) -> nn.Module:
    """``nn.Conv2d`` for one kernel size, :class:`MixedConv2d` for a sequence of several.

    With a sequence, ``groups`` must be 1 (a dense conv per split) or ``in_channels``
    (a depthwise conv per split).
    """
    if isinstance(kernel_size, (tuple, list)):
        if len(kernel_size) > 1:
            if groups not in (1, in_channels):
                raise ConfigError(f"mixed kernels {tuple(kernel_size)} need groups=1 or "
                                  f"groups=in_channels, got {groups}")
            return MixedConv2d(in_channels, out_channels, kernel_size, stride,
                               depthwise=groups == in_channels and groups > 1, bias=bias)
        kernel_size = kernel_size[0]
    if padding is None:
        padding = dilation * (kernel_size - 1) // 2
    return nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding,
                     dilation=dilation, groups=groups, bias=bias)


class ConvBnAct(nn.Sequential):
    """Conv2d (no bias) → BatchNorm2d → activation; padding defaults to 'same' for odd k.

    ``kernel_size`` may be a sequence of kernel sizes: the conv is then a :class:`MixedConv2d`
    (``groups`` = 1 or ``in_channels``, see :func:`create_conv2d`).
    """

    def __init__(self, in_channels: int, out_channels: int,
                 kernel_size: int | Sequence[int] = 3, stride: int = 1, groups: int = 1,
                 act: str | None = "relu", padding: int | None = None,
                 dilation: int = 1) -> None:
        super().__init__()
        self.conv = create_conv2d(in_channels, out_channels, kernel_size, stride, groups,
                                  padding, dilation)
        self.bn = nn.BatchNorm2d(out_channels)
        self.act = get_activation(act)

    @torch.no_grad()
    def reparameterize(self) -> None:
        """Fold the BatchNorm into the conv (kernel and a new bias), as deployed inference
        does; exact for eval mode. Afterwards ``bn`` is an Identity; a no-op when folded."""
        if not isinstance(self.bn, nn.BatchNorm2d):
            return
        convs = self.conv.convs if isinstance(self.conv, MixedConv2d) else [self.conv]
        start, fused = 0, []
        for conv in convs:
            sl = slice(start, start + conv.out_channels)
            start = sl.stop
            bn = nn.BatchNorm2d(conv.out_channels, eps=self.bn.eps).to(self.bn.weight)
            for name in ("weight", "bias", "running_mean", "running_var"):
                getattr(bn, name).copy_(getattr(self.bn, name)[sl])
            kernel, bias = fuse_bn(conv.weight, bn)
            if conv.bias is not None:
                bias = bias + conv.bias * bn.weight / (bn.running_var + bn.eps).sqrt()
            fused.append(fused_conv(conv, kernel, bias))
        if isinstance(self.conv, MixedConv2d):
            self.conv.convs = nn.ModuleList(fused)
        else:
            self.conv = fused[0]
        self.bn = nn.Identity()


class SqueezeExcite(nn.Module):
    """Squeeze-and-Excitation (Hu et al., CVPR 2018): ``x · gate(W2 act(W1 GAP(x)))``.

    ``rd_channels`` is the bottleneck width (callers compute it with their paper's rule).
    """

    def __init__(self, channels: int, rd_channels: int, act: str = "relu",
                 gate: str = "sigmoid") -> None:
        super().__init__()
        self.conv_reduce = nn.Conv2d(channels, rd_channels, 1, bias=True)
        self.act = get_activation(act)
        self.conv_expand = nn.Conv2d(rd_channels, channels, 1, bias=True)
        self.gate = get_activation(gate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = nn.functional.adaptive_avg_pool2d(x, 1)
        s = self.conv_expand(self.act(self.conv_reduce(s)))
        return x * self.gate(s)


def conv_bn_branch(in_channels: int, out_channels: int, kernel_size: int, stride: int,
                   padding: int, groups: int) -> nn.Sequential:
    """A bias-free conv followed by BatchNorm, as an ``nn.Sequential`` with children named
    ``conv`` and ``bn`` — the train-time branch of MobileOne and RepVGG, under the parameter
    names of their official releases (so official checkpoints load)."""
    branch = nn.Sequential()
    branch.add_module("conv", nn.Conv2d(in_channels, out_channels, kernel_size, stride,
                                        padding, groups=groups, bias=False))
    branch.add_module("bn", nn.BatchNorm2d(out_channels))
    return branch


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """ShuffleNet's channel shuffle (Zhang et al., CVPR 2018): view the C channels as a
    ``groups × C/groups`` matrix, transpose it and flatten back, so that channel ``g·n + i``
    (group g, index i) moves to position ``i·groups + g``."""
    b, c, h, w = x.shape
    if c % groups:
        raise ConfigError(f"channel shuffle: {c} channels do not split into {groups} groups")
    return x.view(b, groups, c // groups, h, w).transpose(1, 2).reshape(b, c, h, w)


class ChannelShuffle(nn.Module):
    """:func:`channel_shuffle` as a module."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return channel_shuffle(x, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


class InvertedResidual(nn.Module):
    """The inverted residual / MBConv block (MobileNetV2, MnasNet, MobileNetV3, EfficientNet,
    MixNet)::

        [1×1 expand-BN-act] → k×k depthwise-BN-act → [SE] → 1×1 project-BN[-act] (+ x)

    Args:
        in_channels, out_channels, stride: block geometry.
        mid_channels: width of the expanded (depthwise) layer. When it equals ``in_channels``
            there is no expansion conv (MobileNetV2's t = 1 block, MobileNetV3's first
            bneck, the expansion-1 blocks of MnasNet / EfficientNet / MixNet).
        kernel_size: depthwise kernel, or a sequence of kernels for a MixConv (MixNet).
        act: activation after the expansion and depthwise convs.
        se_channels: bottleneck width of Squeeze-Excite on the expanded features (0: no SE);
            each family has its own rule for it.
        se_act, se_gate: SE's inner activation (default: ``act``) and its gate.
        exp_kernel_size, proj_kernel_size: 1, or a tuple of ones to split the pointwise convs
            into channel groups (MixNet's ``a1.1`` / ``p1.1``).
        project_act: activation after the projection (``None``: a linear bottleneck).
        skip: add the input when the shapes allow (stride 1 and in == out channels).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | Sequence[int] = 3,
                 stride: int = 1, mid_channels: int | None = None, act: str = "relu",
                 se_channels: int = 0, se_act: str | None = None, se_gate: str = "sigmoid",
                 exp_kernel_size: int | Sequence[int] = 1,
                 proj_kernel_size: int | Sequence[int] = 1,
                 project_act: str | None = None, skip: bool = True) -> None:
        super().__init__()
        mid = in_channels if mid_channels is None else mid_channels
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride
        self.has_skip = skip and stride == 1 and in_channels == out_channels
        self.conv_pw = (ConvBnAct(in_channels, mid, exp_kernel_size, act=act)
                        if mid != in_channels else nn.Identity())
        self.conv_dw = ConvBnAct(mid, mid, kernel_size, stride, groups=mid, act=act)
        self.se = (SqueezeExcite(mid, se_channels, act=se_act or act, gate=se_gate)
                   if se_channels else nn.Identity())
        self.conv_pwl = ConvBnAct(mid, out_channels, proj_kernel_size, act=project_act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv_pwl(self.se(self.conv_dw(self.conv_pw(x))))
        return out + x if self.has_skip else out


class DepthwiseSeparable(InvertedResidual):
    """Depthwise separable convolution (MobileNetV1): k×k depthwise-BN-act → [SE] →
    1×1 pointwise-BN-act — an inverted residual without expansion whose projection has an
    activation and, by default, no skip."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3,
                 stride: int = 1, act: str = "relu", pw_act: str | None = "relu",
                 se_channels: int = 0, skip: bool = False) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, in_channels, act,
                         se_channels, project_act=pw_act, skip=skip)


class SandglassBlock(nn.Module):
    """The sandglass block of MobileNeXt (Zhou et al., ECCV 2020, Fig. 3(b))::

        [3×3 dw-BN-ReLU6] → 1×1 reduce-BN (linear) → 1×1 expand-BN-ReLU6 → [3×3 dw-BN] (+ x)

    The shortcut and both depthwise convs act on the wide (input / output) features; the
    bottleneck is in the middle. ``hidden_channels`` is the reduced width. The official code
    drops one or both depthwise convs in blocks that change the width (``dw_in`` /
    ``dw_out``); the stride, when there is one, is on the last depthwise conv.
    """

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int,
                 stride: int = 1, dw_in: bool = True, dw_out: bool = True,
                 skip: bool = True, act: str = "relu6") -> None:
        super().__init__()
        if stride != 1 and not dw_out:
            raise ConfigError("a sandglass block with stride 2 needs its last depthwise conv")
        self.has_skip = skip and stride == 1 and in_channels == out_channels
        self.conv_dw1 = (ConvBnAct(in_channels, in_channels, 3, groups=in_channels, act=act)
                         if dw_in else nn.Identity())
        self.conv_reduce = ConvBnAct(in_channels, hidden_channels, 1, act=None)
        self.conv_expand = ConvBnAct(hidden_channels, out_channels, 1, act=act)
        self.conv_dw2 = (ConvBnAct(out_channels, out_channels, 3, stride, groups=out_channels,
                                   act=None) if dw_out else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv_dw2(self.conv_expand(self.conv_reduce(self.conv_dw1(x))))
        return out + x if self.has_skip else out


class ShuffleV2Block(nn.Module):
    """The ShuffleNet V2 unit (Ma et al., ECCV 2018, Fig. 3(c) and (d)).

    Stride 1: split the channels in two halves, keep one, pass the other through
    1×1-BN-ReLU → 3×3 dw-BN → 1×1-BN-ReLU, concatenate, shuffle (2 groups).
    Stride 2 (downsampling): no split; both branches see the whole input — branch 1 is
    3×3 dw (stride 2)-BN → 1×1-BN-ReLU — and each gives half of the output channels.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        if out_channels % 2:
            raise ConfigError(f"ShuffleNetV2 block: out_channels must be even, got {out_channels}")
        if stride == 1 and in_channels != out_channels:
            raise ConfigError("ShuffleNetV2 stride-1 block needs in == out channels, got "
                              f"{in_channels} -> {out_channels}")
        self.stride = stride
        half = out_channels // 2
        branch_in = in_channels if stride > 1 else half
        if stride > 1:
            self.branch1 = nn.Sequential(
                ConvBnAct(in_channels, in_channels, 3, stride, groups=in_channels, act=None),
                ConvBnAct(in_channels, half, 1, act="relu"))
        else:
            self.branch1 = nn.Identity()
        self.branch2 = nn.Sequential(
            ConvBnAct(branch_in, half, 1, act="relu"),
            ConvBnAct(half, half, 3, stride, groups=half, act=None),
            ConvBnAct(half, half, 1, act="relu"))
        self.shuffle = ChannelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            keep, x2 = x.chunk(2, dim=1)
            out = torch.cat((keep, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return self.shuffle(out)


class ConvClassifier(nn.Module):
    """The common frame of the mobile CNNs::

        stem → blocks → head (1×1 conv before pooling, or none) → global average pool
             → pre_logits (e.g. MobileNetV3's last FC, or none) → dropout → linear classifier

    ``num_features`` is the width the classifier sees.
    """

    def __init__(self, stem: nn.Module, blocks: nn.Module, head: nn.Module | None,
                 num_features: int, num_classes: int = 1000,
                 pre_logits: nn.Module | None = None, dropout: float = 0.0) -> None:
        super().__init__()
        self.stem = stem
        self.blocks = blocks
        self.head = head if head is not None else nn.Identity()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.pre_logits = pre_logits if pre_logits is not None else nn.Identity()
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.classifier = nn.Linear(num_features, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pre_logits(torch.flatten(self.pool(self.forward_features(x)), 1))
        return self.classifier(self.dropout(x))
