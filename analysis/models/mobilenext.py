"""MobileNeXt (Zhou et al., "Rethinking Bottleneck Structure for Efficient Mobile Network
Design", ECCV 2020): MobileNetV2's layout with the inverted residual flipped into the
*sandglass* block (:class:`~analysis.models.layers.SandglassBlock`) — depthwise convs and the
shortcut on the wide features, the 1×1 bottleneck in the middle.

The network follows the paper's Table 2 as the authors' official code builds it
(``I2RNet`` / ``I2RBlock``): a 3×3 stem (32), eight stages (t, c, n, s)::

    (2, 96, 1, 2) (6, 144, 1, 1) (6, 192, 3, 2) (6, 288, 3, 2)
    (6, 384, 4, 1) (6, 576, 4, 2) (6, 960, 3, 1) (6, 1280, 1, 1)

then global pooling and the classifier (no 1×1 conv after the last block). Widths are scaled
by the multiplier and rounded to multiples of 8; the bottleneck width is ``in // t``, raised to
``ceil(out / 6)`` rounded to a multiple of 16 when it would be narrower than that. The block
variant follows the official code:

- t = 2 (the first stage), and single-block stride-1 stages: the full sandglass
  (depthwise, reduce, expand, depthwise), no shortcut;
- the first block of a stage that changes the width: reduce and expand only, plus the last
  depthwise conv (which carries the stride) when the stride is 2;
- every other block (same width, stride 1): the full sandglass with the identity shortcut.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch.nn as nn

from analysis.models.layers import ConvBnAct, ConvClassifier, SandglassBlock, make_divisible
from analysis.models.registry import register_model

PAPER = ("Zhou et al., Rethinking Bottleneck Structure for Efficient Mobile Network Design "
         "(MobileNeXt), ECCV 2020")


@dataclass(frozen=True)
class SandglassStage:
    """(t, c, n, s): reduction ratio, output width, number of blocks, first stride."""

    t: int
    c: int
    n: int
    s: int


STAGES: tuple[SandglassStage, ...] = tuple(SandglassStage(*row) for row in (
    (2, 96, 1, 2), (6, 144, 1, 1), (6, 192, 3, 2), (6, 288, 3, 2),
    (6, 384, 4, 1), (6, 576, 4, 2), (6, 960, 3, 1), (6, 1280, 1, 1)))


def hidden_width(in_channels: int, out_channels: int, t: int) -> int:
    """The sandglass bottleneck width: ``in // t``, at least ``ceil(out / 6)`` (rounded to 16)."""
    hidden = in_channels // t
    if hidden < out_channels / 6:
        hidden = make_divisible(math.ceil(out_channels / 6), 16)
    return hidden


def sandglass(in_channels: int, out_channels: int, stride: int, t: int,
              keep_3x3: bool = False) -> SandglassBlock:
    """One block, choosing the variant as the official code does (see the module docstring)."""
    hidden = hidden_width(in_channels, out_channels, t)
    if t == 2 or keep_3x3 or in_channels == out_channels:
        return SandglassBlock(in_channels, out_channels, hidden, stride,
                              skip=not keep_3x3 and t != 2)
    return SandglassBlock(in_channels, out_channels, hidden, stride, dw_in=False,
                          dw_out=stride == 2, skip=False)


def mobilenext(width: float = 1.0, num_classes: int = 1000,
               dropout: float = 0.2) -> ConvClassifier:
    """MobileNeXt with width multiplier ``width`` (1.0, 1.4, …)."""
    stem_ch = make_divisible(32 * width)
    stem = ConvBnAct(3, stem_ch, 3, stride=2, act="relu6")
    blocks, cin = [], stem_ch
    for st in STAGES:
        cout = make_divisible(st.c * width)
        if st.c == 1280 and width < 1:
            cout = 1280
        blocks.append(sandglass(cin, cout, st.s, st.t, keep_3x3=st.n == 1 and st.s == 1))
        cin = cout
        for _ in range(st.n - 1):
            blocks.append(sandglass(cin, cout, 1, st.t))
    return ConvClassifier(stem, nn.Sequential(*blocks), None, cin, num_classes, dropout=dropout)


@register_model("mobilenext_100", display_name="MobileNeXt-x1.0", family="conv", paper=PAPER,
                aliases=("mobilenext",))
def mobilenext_100(**kwargs) -> ConvClassifier:
    return mobilenext(1.0, **kwargs)


@register_model("mobilenext_140", display_name="MobileNeXt-x1.4", family="conv", paper=PAPER)
def mobilenext_140(**kwargs) -> ConvClassifier:
    return mobilenext(1.4, **kwargs)
