"""MobileNet V1, V2 and V3, each as its original paper defines it (random initialisation).

- **MobileNetV1** (Howard et al., 2017, Table 1): a 3×3 stem and 13 depthwise separable
  layers, each conv followed by BN and ReLU; global pool and one FC layer. Width 1.0.
- **MobileNetV2** (Sandler et al., CVPR 2018, Table 2): inverted residuals with linear
  bottlenecks, ReLU6; widths scaled by the multiplier and rounded to multiples of 8 (the
  reference code's rule), the last 1×1 conv is 1280 wide, scaled up only for multipliers > 1.
- **MobileNetV3** (Howard et al., ICCV 2019, Tables 1 and 2): bnecks with per-layer kernel,
  expansion width, Squeeze-Excite and activation (ReLU or hard-swish); SE bottleneck =
  expansion width / 4 rounded to a multiple of 8, ReLU inside and a hard-sigmoid gate;
  a 1×1 conv to 6× the last width, pooling, then the efficient head — a 1280-wide (Large) or
  1024-wide (Small) FC with hard-swish and no BN, then the classifier.
  One known difference between the paper's Table 2 and its reference code: the table marks SE
  on Small's last 1×1 conv (576), the reference code (and the paper's 2.5 M / 56 M) has none;
  we follow the code.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn as nn

from analysis.models.layers import (ConvBnAct, ConvClassifier, DepthwiseSeparable,
                                    InvertedResidual, get_activation, make_divisible)
from analysis.models.registry import register_model

PAPER_V1 = ("Howard et al., MobileNets: Efficient Convolutional Neural Networks for Mobile "
            "Vision Applications, arXiv 2017")
PAPER_V2 = "Sandler et al., MobileNetV2: Inverted Residuals and Linear Bottlenecks, CVPR 2018"
PAPER_V3 = "Howard et al., Searching for MobileNetV3, ICCV 2019"


# --- MobileNetV1 ---------------------------------------------------------------------------

#: (output width, stride) of the 13 depthwise separable layers (paper Table 1).
MOBILENETV1_LAYERS: tuple[tuple[int, int], ...] = (
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))


def mobilenetv1(width: float = 1.0, num_classes: int = 1000) -> ConvClassifier:
    """MobileNetV1 with width multiplier α = ``width``."""
    stem_ch = make_divisible(32 * width)
    stem = ConvBnAct(3, stem_ch, 3, stride=2, act="relu")
    blocks, cin = [], stem_ch
    for cout, stride in MOBILENETV1_LAYERS:
        cout = make_divisible(cout * width)
        blocks.append(DepthwiseSeparable(cin, cout, 3, stride, act="relu", pw_act="relu"))
        cin = cout
    return ConvClassifier(stem, nn.Sequential(*blocks), None, cin, num_classes)


# --- MobileNetV2 ---------------------------------------------------------------------------

#: (expansion t, output width c, repeats n, first stride s) per stage (paper Table 2).
MOBILENETV2_STAGES: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
    (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def mobilenetv2(width: float = 1.0, num_classes: int = 1000,
                dropout: float = 0.2) -> ConvClassifier:
    """MobileNetV2 with width multiplier ``width`` (1.0, 1.4, …)."""
    stem_ch = make_divisible(32 * width)
    last_ch = make_divisible(1280 * max(1.0, width))
    stem = ConvBnAct(3, stem_ch, 3, stride=2, act="relu6")
    blocks, cin = [], stem_ch
    for t, c, n, s in MOBILENETV2_STAGES:
        cout = make_divisible(c * width)
        for i in range(n):
            blocks.append(InvertedResidual(cin, cout, 3, s if i == 0 else 1, mid_channels=cin * t,
                                           act="relu6"))
            cin = cout
    head = ConvBnAct(cin, last_ch, 1, act="relu6")
    return ConvClassifier(stem, nn.Sequential(*blocks), head, last_ch, num_classes,
                          dropout=dropout)


# --- MobileNetV3 ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Bneck:
    """One row of MobileNetV3's Tables 1–2: kernel, expansion width, output width, SE,
    activation ("relu" = RE, "hardswish" = HS) and stride."""

    kernel: int
    exp: int
    out: int
    se: bool
    act: str
    stride: int


def _rows(*rows) -> tuple[Bneck, ...]:
    act = {"RE": "relu", "HS": "hardswish"}
    return tuple(Bneck(k, e, o, se, act[nl], s) for k, e, o, se, nl, s in rows)


@dataclass(frozen=True)
class MobileNetV3Config:
    bnecks: tuple[Bneck, ...]
    last_conv: int  # the 1×1 conv before pooling
    head_width: int  # the efficient last stage's FC (1×1 conv, no BN)
    stem: int = 16


MOBILENETV3: dict[str, MobileNetV3Config] = {
    "large": MobileNetV3Config(_rows(  # paper Table 1
        (3, 16, 16, False, "RE", 1), (3, 64, 24, False, "RE", 2), (3, 72, 24, False, "RE", 1),
        (5, 72, 40, True, "RE", 2), (5, 120, 40, True, "RE", 1), (5, 120, 40, True, "RE", 1),
        (3, 240, 80, False, "HS", 2), (3, 200, 80, False, "HS", 1),
        (3, 184, 80, False, "HS", 1), (3, 184, 80, False, "HS", 1),
        (3, 480, 112, True, "HS", 1), (3, 672, 112, True, "HS", 1),
        (5, 672, 160, True, "HS", 2), (5, 960, 160, True, "HS", 1),
        (5, 960, 160, True, "HS", 1)), last_conv=960, head_width=1280),
    "small": MobileNetV3Config(_rows(  # paper Table 2
        (3, 16, 16, True, "RE", 2), (3, 72, 24, False, "RE", 2), (3, 88, 24, False, "RE", 1),
        (5, 96, 40, True, "HS", 2), (5, 240, 40, True, "HS", 1), (5, 240, 40, True, "HS", 1),
        (5, 120, 48, True, "HS", 1), (5, 144, 48, True, "HS", 1),
        (5, 288, 96, True, "HS", 2), (5, 576, 96, True, "HS", 1),
        (5, 576, 96, True, "HS", 1)), last_conv=576, head_width=1024),
}


def mobilenetv3(variant: str = "large", num_classes: int = 1000,
                dropout: float = 0.2) -> ConvClassifier:
    """MobileNetV3-Large or -Small at width 1.0."""
    cfg = MOBILENETV3[variant]
    stem = ConvBnAct(3, cfg.stem, 3, stride=2, act="hardswish")
    blocks, cin = [], cfg.stem
    for b in cfg.bnecks:
        se = make_divisible(b.exp / 4) if b.se else 0
        blocks.append(InvertedResidual(cin, b.out, b.kernel, b.stride, mid_channels=b.exp,
                                       act=b.act, se_channels=se, se_act="relu",
                                       se_gate="hard_sigmoid"))
        cin = b.out
    head = ConvBnAct(cin, cfg.last_conv, 1, act="hardswish")
    pre_logits = nn.Sequential(nn.Linear(cfg.last_conv, cfg.head_width),
                               get_activation("hardswish"))
    return ConvClassifier(stem, nn.Sequential(*blocks), head, cfg.head_width, num_classes,
                          pre_logits=pre_logits, dropout=dropout)


# --- registry ------------------------------------------------------------------------------

@register_model("mobilenetv1", display_name="MobileNetV1", family="conv", paper=PAPER_V1,
                aliases=("mobilenetv1_100", "mobilenet_v1"))
def mobilenetv1_100(**kwargs) -> ConvClassifier:
    return mobilenetv1(1.0, **kwargs)


@register_model("mobilenetv2_100", display_name="MobileNetV2-x1.0", family="conv",
                paper=PAPER_V2, aliases=("mobilenet_v2", "mobilenetv2"))
def mobilenetv2_100(**kwargs) -> ConvClassifier:
    return mobilenetv2(1.0, **kwargs)


@register_model("mobilenetv2_140", display_name="MobileNetV2-x1.4", family="conv",
                paper=PAPER_V2)
def mobilenetv2_140(**kwargs) -> ConvClassifier:
    return mobilenetv2(1.4, **kwargs)


@register_model("mobilenetv3_small", display_name="MobileNetV3-S", family="conv",
                paper=PAPER_V3, aliases=("mobilenetv3_small_100", "mobilenet_v3_small"))
def mobilenetv3_small(**kwargs) -> ConvClassifier:
    return mobilenetv3("small", **kwargs)


@register_model("mobilenetv3_large", display_name="MobileNetV3-L", family="conv",
                paper=PAPER_V3, aliases=("mobilenetv3_large_100", "mobilenet_v3_large"))
def mobilenetv3_large(**kwargs) -> ConvClassifier:
    return mobilenetv3("large", **kwargs)
