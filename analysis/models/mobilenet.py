"""MobileNet V1, V2 and V3, each as its original paper defines it (random initialisation),
at the width multipliers α of the family's own scaling rule.

- **MobileNetV1** (Howard et al., 2017, Table 1): a 3×3 stem and 13 depthwise separable
  layers, each conv followed by BN and ReLU; global pool and one FC layer. The width
  multiplier α (§4.2, Table 6) scales every layer's channels; registered at α = 0.25, 0.5,
  0.75, 1.0 (the paper's Table 6) and 1.25.
- **MobileNetV2** (Sandler et al., CVPR 2018, Table 2): inverted residuals with linear
  bottlenecks, ReLU6; widths scaled by the multiplier and rounded to multiples of 8 (the
  reference code's rule), the last 1×1 conv is 1280 wide, scaled up only for multipliers > 1
  (§6.1: "for multipliers less than one, we apply width multiplier to all layers except the
  very last convolutional layer"). Registered at α = 0.35, 0.5, 0.75, 1.0 and 1.4.
- **MobileNetV3** (Howard et al., ICCV 2019, Tables 1 and 2): bnecks with per-layer kernel,
  expansion width, Squeeze-Excite and activation (ReLU or hard-swish); SE bottleneck =
  expansion width / 4 rounded to a multiple of 8, ReLU inside and a hard-sigmoid gate;
  a 1×1 conv to 6× the last width, pooling, then the efficient head — a 1280-wide (Large) or
  1024-wide (Small) FC with hard-swish and no BN, then the classifier.
  One known difference between the paper's Table 2 and its reference code: the table marks SE
  on Small's last 1×1 conv (576), the reference code (and the paper's 2.5 M / 56 M) has none;
  we follow the code.
  Width multipliers (Large 0.75, Small 0.5 / 0.75) follow the reference code
  (``mobilenet_v3.py`` of tensorflow/models): each bneck's expansion is a *factor* of its input
  width (64/16, 72/16, 88/24 … — the table's widths divided by the block's input width at
  α = 1), every width is rounded by ``make_divisible(·, 8)``, and the efficient head's FC
  (1280 / 1024) is not scaled. Below α = 0.75 the stem stays 16 wide, as in timm's
  ``mobilenetv3_small_050`` (the only published model at that width).

The input size is not part of an entry: every builder takes any resolution (the resolution
multiplier ρ of MobileNetV1 §4.3 is ``profile_model(name, input_size=…)`` or the harness's
input size), so one entry covers 128, 160, 192 and 224 pixels.
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


def mobilenetv3(variant: str = "large", width: float = 1.0, num_classes: int = 1000,
                dropout: float = 0.2) -> ConvClassifier:
    """MobileNetV3-Large or -Small with width multiplier ``width`` (see the module docstring
    for the reference code's rounding rules)."""
    cfg = MOBILENETV3[variant]
    stem_ch = cfg.stem if width < 0.75 else make_divisible(cfg.stem * width)
    stem = ConvBnAct(3, stem_ch, 3, stride=2, act="hardswish")
    blocks, cin, base_in = [], stem_ch, cfg.stem
    for b in cfg.bnecks:
        mid = make_divisible(cin * b.exp / base_in)  # expansion factor of the input width
        cout = make_divisible(b.out * width)
        se = make_divisible(mid / 4) if b.se else 0
        blocks.append(InvertedResidual(cin, cout, b.kernel, b.stride, mid_channels=mid,
                                       act=b.act, se_channels=se, se_act="relu",
                                       se_gate="hard_sigmoid"))
        cin, base_in = cout, b.out
    last_conv = make_divisible(cfg.last_conv * width)
    head = ConvBnAct(cin, last_conv, 1, act="hardswish")
    pre_logits = nn.Sequential(nn.Linear(last_conv, cfg.head_width),
                               get_activation("hardswish"))
    return ConvClassifier(stem, nn.Sequential(*blocks), head, cfg.head_width, num_classes,
                          pre_logits=pre_logits, dropout=dropout)


# --- registry ------------------------------------------------------------------------------
#
# The models of Table 9 keep their ids and display names; the other widths are registered by
# the loops below, from one table of (id, display name, α) each. Every width of a family is in
# its ``<family>_width`` group and in ``mobilenet_width``; the resolution sweeps start from
# ``mobilenet_resolution``.

WIDTH_GROUPS = ("mobilenet_width", "mobilenet_scaling")
RESOLUTION_GROUP = "mobilenet_resolution"


@register_model("mobilenetv1", display_name="MobileNetV1", family="conv", paper=PAPER_V1,
                aliases=("mobilenetv1_100", "mobilenet_v1", "MobileNetV1-x1.0"),
                groups=("mobilenetv1_width", *WIDTH_GROUPS, RESOLUTION_GROUP))
def mobilenetv1_100(**kwargs) -> ConvClassifier:
    return mobilenetv1(1.0, **kwargs)


@register_model("mobilenetv2_100", display_name="MobileNetV2-x1.0", family="conv",
                paper=PAPER_V2, aliases=("mobilenet_v2", "mobilenetv2"),
                groups=("mobilenetv2_width", *WIDTH_GROUPS, RESOLUTION_GROUP))
def mobilenetv2_100(**kwargs) -> ConvClassifier:
    return mobilenetv2(1.0, **kwargs)


@register_model("mobilenetv2_140", display_name="MobileNetV2-x1.4", family="conv",
                paper=PAPER_V2, groups=("mobilenetv2_width", *WIDTH_GROUPS))
def mobilenetv2_140(**kwargs) -> ConvClassifier:
    return mobilenetv2(1.4, **kwargs)


@register_model("mobilenetv3_small", display_name="MobileNetV3-S", family="conv",
                paper=PAPER_V3, aliases=("mobilenetv3_small_100", "mobilenet_v3_small"),
                groups=("mobilenetv3_small_width", *WIDTH_GROUPS))
def mobilenetv3_small(**kwargs) -> ConvClassifier:
    return mobilenetv3("small", **kwargs)


@register_model("mobilenetv3_large", display_name="MobileNetV3-L", family="conv",
                paper=PAPER_V3, aliases=("mobilenetv3_large_100", "mobilenet_v3_large"),
                groups=("mobilenetv3_large_width", *WIDTH_GROUPS))
def mobilenetv3_large(**kwargs) -> ConvClassifier:
    return mobilenetv3("large", **kwargs)


@dataclass(frozen=True)
class WidthVariant:
    """One width-multiplier entry: its id, display name, width α and the builder's family
    argument (``"v1"``, ``"v2"``, ``"large"``, ``"small"``)."""

    id: str
    display_name: str
    width: float
    arch: str


#: The widths beyond Table 9's (ids follow timm's: ``<family>_<100·α>``).
WIDTH_VARIANTS: tuple[WidthVariant, ...] = (
    WidthVariant("mobilenetv1_025", "MobileNetV1-x0.25", 0.25, "v1"),
    WidthVariant("mobilenetv1_050", "MobileNetV1-x0.5", 0.5, "v1"),
    WidthVariant("mobilenetv1_075", "MobileNetV1-x0.75", 0.75, "v1"),
    WidthVariant("mobilenetv1_125", "MobileNetV1-x1.25", 1.25, "v1"),
    WidthVariant("mobilenetv2_035", "MobileNetV2-x0.35", 0.35, "v2"),
    WidthVariant("mobilenetv2_050", "MobileNetV2-x0.5", 0.5, "v2"),
    WidthVariant("mobilenetv2_075", "MobileNetV2-x0.75", 0.75, "v2"),
    WidthVariant("mobilenetv3_large_075", "MobileNetV3-L-x0.75", 0.75, "large"),
    WidthVariant("mobilenetv3_small_050", "MobileNetV3-S-x0.5", 0.5, "small"),
    WidthVariant("mobilenetv3_small_075", "MobileNetV3-S-x0.75", 0.75, "small"),
)
_GROUP = {"v1": "mobilenetv1_width", "v2": "mobilenetv2_width",
          "large": "mobilenetv3_large_width", "small": "mobilenetv3_small_width"}


def build_width_variant(variant: WidthVariant, **kwargs) -> ConvClassifier:
    if variant.arch == "v1":
        return mobilenetv1(variant.width, **kwargs)
    if variant.arch == "v2":
        return mobilenetv2(variant.width, **kwargs)
    return mobilenetv3(variant.arch, variant.width, **kwargs)


def _register(variant: WidthVariant) -> None:
    paper = {"v1": PAPER_V1, "v2": PAPER_V2}.get(variant.arch, PAPER_V3)

    @register_model(variant.id, display_name=variant.display_name, family="conv", paper=paper,
                    groups=(_GROUP[variant.arch], *WIDTH_GROUPS))
    def build(**kwargs) -> ConvClassifier:
        return build_width_variant(variant, **kwargs)


for _variant in WIDTH_VARIANTS:
    _register(_variant)
