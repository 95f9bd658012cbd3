"""The MBConv networks found by architecture search: EfficientNet-B0–B4 and -Lite0–4,
MnasNet-A1, MixNet-S.

All three are a stem conv, a stack of MBConv blocks (:class:`~analysis.models.layers.
InvertedResidual`), a 1×1 head conv, global pooling and a linear classifier. Their blocks are
written here in the block-string notation of the authors' TensorFlow reference code (the
``blocks_args`` of ``efficientnet_builder.py``, ``mnasnet_models.py`` and ``mixnet_builder.py``),
decoded by :func:`decode_block`:

``r`` repeats, ``k`` depthwise kernel(s) (``k3.5.7``: a MixConv with three kernel groups),
``a`` / ``p`` expansion / projection 1×1 kernels (``a1.1``: the 1×1 conv split into two channel
groups), ``s`` stride, ``e`` expansion ratio, ``i`` / ``o`` input / output width, ``se`` SE
ratio, ``sw`` swish, ``noskip`` no identity shortcut.

As in the reference code, the SE bottleneck is ``max(1, int(input width × se ratio))`` (of the
block's *input* width, not its expanded width), SE uses the block's activation inside and a
sigmoid gate, and the shortcut is used when the stride is 1 and the widths match.

- **EfficientNet-B0** (Tan & Le, ICML 2019, Table 1): swish everywhere, SE 0.25 in every block,
  32-wide stem, 1280-wide head.
- **EfficientNet-B1–B4** (§3.3, compound scaling; ``efficientnet_params`` of the reference
  code): B0's blocks with every width (stem, blocks, head) multiplied by the width coefficient
  and rounded by ``make_divisible(·, 8)`` (``round_filters``) and every stage's repeats
  multiplied by the depth coefficient and rounded up (``round_repeats``); native inputs
  240 / 260 / 300 / 380.
- **EfficientNet-Lite0–4** (the TF reference's ``efficientnet_lite_builder.py``): EfficientNet
  made mobile-friendly — no Squeeze-Excite, ReLU6 instead of swish, the stem (32) and head
  (1280) not scaled and the first and last stage not repeated more (``fix_head_stem``); the
  same width / depth coefficients otherwise; native inputs 224 / 240 / 260 / 280 / 300.
- **MnasNet-A1** (Tan et al., CVPR 2019, Fig. 7): ReLU, SE 0.25 in three stages (the SE variant
  A1, not B1), 32-wide stem, 1280-wide head.
- **MixNet-S** (Tan & Le, BMVC 2019, Fig. 8): MixConv depthwise layers with 1–5 kernel sizes,
  grouped (split) 1×1 expansion / projection in some blocks, ReLU in the first stages and swish
  later, SE 0.5 / 0.25; 16-wide stem, 1536-wide head, both with ReLU.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass

import torch.nn as nn

from analysis.errors import ConfigError
from analysis.models.layers import ConvBnAct, ConvClassifier, InvertedResidual, make_divisible
from analysis.models.registry import register_model

PAPER_EFFICIENTNET = ("Tan & Le, EfficientNet: Rethinking Model Scaling for Convolutional "
                      "Neural Networks, ICML 2019")
PAPER_MNASNET = ("Tan et al., MnasNet: Platform-Aware Neural Architecture Search for Mobile, "
                 "CVPR 2019")
PAPER_MIXNET = "Tan & Le, MixConv: Mixed Depthwise Convolutional Kernels, BMVC 2019"
PAPER_LITE = ("Tan & Le, EfficientNet (ICML 2019); Lite: Liu & Tan, EfficientNet-Lite, "
              "tensorflow/tpu efficientnet/lite, 2020")


@dataclass(frozen=True)
class BlockArgs:
    """One decoded block string (a stage of ``repeats`` identical MBConv blocks)."""

    repeats: int
    kernel: tuple[int, ...]
    stride: int
    expand_ratio: int
    in_channels: int
    out_channels: int
    exp_kernel: tuple[int, ...] = (1,)
    proj_kernel: tuple[int, ...] = (1,)
    se_ratio: float = 0.0
    swish: bool = False
    skip: bool = True


def _kernels(text: str) -> tuple[int, ...]:
    return tuple(int(k) for k in text.split("."))


def decode_block(spec: str) -> BlockArgs:
    """Decode a reference block string such as ``"r3_k3.5_a1.1_p1.1_s11_e6_i40_o40_se0.5_sw"``."""
    opts: dict[str, str] = {}
    flags = set()
    for op in spec.split("_"):
        match = re.fullmatch(r"([a-z]+)([0-9.]*)", op)
        if match is None:
            raise ConfigError(f"bad block string {spec!r}: cannot read {op!r}")
        key, value = match.groups()
        if value:
            opts[key] = value
        else:
            flags.add(key)
    missing = {"r", "k", "s", "e", "i", "o"} - set(opts)
    if missing or len(opts["s"]) != 2 or opts["s"][0] != opts["s"][1]:
        raise ConfigError(f"bad block string {spec!r}: needs r, k, s (two equal digits), "
                          f"e, i and o")
    unknown = (set(opts) - {"r", "k", "s", "e", "i", "o", "a", "p", "se"}) | \
        (flags - {"sw", "noskip"})
    if unknown:
        raise ConfigError(f"bad block string {spec!r}: unknown option(s) {sorted(unknown)}")
    return BlockArgs(
        repeats=int(opts["r"]), kernel=_kernels(opts["k"]), stride=int(opts["s"][0]),
        expand_ratio=int(opts["e"]), in_channels=int(opts["i"]), out_channels=int(opts["o"]),
        exp_kernel=_kernels(opts.get("a", "1")), proj_kernel=_kernels(opts.get("p", "1")),
        se_ratio=float(opts.get("se", 0)), swish="sw" in flags, skip="noskip" not in flags)


@dataclass(frozen=True)
class MBConvNetConfig:
    """A whole network: its block strings and the widths / activations around them, and the
    compound-scaling coefficients applied to them (1.0: the block strings as written)."""

    blocks: tuple[str, ...]
    stem: int = 32
    head: int = 1280
    act: str = "relu"  # the blocks' activation (MixNet: ReLU unless the block says "sw")
    stem_head_act: str = "relu"
    dropout: float = 0.2
    width: float = 1.0  # width coefficient: channels × width, rounded by make_divisible(·, 8)
    depth: float = 1.0  # depth coefficient: a stage's repeats × depth, rounded up
    fix_stem_head: bool = False  # Lite: stem, head and the first / last stage's repeats fixed


CONFIGS: dict[str, MBConvNetConfig] = {
    # efficientnet_builder.py, efficientnet-b0 (width and depth coefficients 1.0)
    "efficientnet_b0": MBConvNetConfig((
        "r1_k3_s11_e1_i32_o16_se0.25", "r2_k3_s22_e6_i16_o24_se0.25",
        "r2_k5_s22_e6_i24_o40_se0.25", "r3_k3_s22_e6_i40_o80_se0.25",
        "r3_k5_s11_e6_i80_o112_se0.25", "r4_k5_s22_e6_i112_o192_se0.25",
        "r1_k3_s11_e6_i192_o320_se0.25"), act="swish", stem_head_act="swish"),
    # mnasnet_models.py, mnasnet_a1
    "mnasnet_a1": MBConvNetConfig((
        "r1_k3_s11_e1_i32_o16_noskip", "r2_k3_s22_e6_i16_o24",
        "r3_k5_s22_e3_i24_o40_se0.25", "r4_k3_s22_e6_i40_o80",
        "r2_k3_s11_e6_i80_o112_se0.25", "r3_k5_s22_e6_i112_o160_se0.25",
        "r1_k3_s11_e6_i160_o320")),
    # mixnet_builder.py, mixnet_s
    "mixnet_s": MBConvNetConfig((
        "r1_k3_a1_p1_s11_e1_i16_o16",
        "r1_k3_a1.1_p1.1_s22_e6_i16_o24",
        "r1_k3_a1.1_p1.1_s11_e3_i24_o24",
        "r1_k3.5.7_a1_p1_s22_e6_i24_o40_se0.5_sw",
        "r3_k3.5_a1.1_p1.1_s11_e6_i40_o40_se0.5_sw",
        "r1_k3.5.7_a1_p1.1_s22_e6_i40_o80_se0.25_sw",
        "r2_k3.5_a1_p1.1_s11_e6_i80_o80_se0.25_sw",
        "r1_k3.5.7_a1.1_p1.1_s11_e6_i80_o120_se0.5_sw",
        "r2_k3.5.7.9_a1.1_p1.1_s11_e3_i120_o120_se0.5_sw",
        "r1_k3.5.7.9.11_a1_p1_s22_e6_i120_o200_se0.5_sw",
        "r2_k3.5.7.9_a1_p1.1_s11_e6_i200_o200_se0.5_sw"), stem=16, head=1536),
}


def without_se(blocks: tuple[str, ...]) -> tuple[str, ...]:
    """The block strings with their Squeeze-Excite option removed (EfficientNet-Lite)."""
    return tuple(re.sub(r"_se[0-9.]+", "", spec) for spec in blocks)


@dataclass(frozen=True)
class Scaling:
    """One compound-scaled member: width and depth coefficients, native input, dropout
    (``efficientnet_params`` / ``efficientnet_lite_params`` of the TF reference code)."""

    id: str
    display_name: str
    width: float
    depth: float
    input_size: int
    dropout: float


#: EfficientNet-B1–B4 (B0 is the base above; B0's coefficients are 1.0, 1.0, 224, 0.2).
EFFICIENTNET_B: tuple[Scaling, ...] = (
    Scaling("efficientnet_b1", "EfficientNet-B1", 1.0, 1.1, 240, 0.2),
    Scaling("efficientnet_b2", "EfficientNet-B2", 1.1, 1.2, 260, 0.3),
    Scaling("efficientnet_b3", "EfficientNet-B3", 1.2, 1.4, 300, 0.3),
    Scaling("efficientnet_b4", "EfficientNet-B4", 1.4, 1.8, 380, 0.4),
)
EFFICIENTNET_LITE: tuple[Scaling, ...] = (
    Scaling("efficientnet_lite0", "EfficientNet-Lite0", 1.0, 1.0, 224, 0.2),
    Scaling("efficientnet_lite1", "EfficientNet-Lite1", 1.0, 1.1, 240, 0.2),
    Scaling("efficientnet_lite2", "EfficientNet-Lite2", 1.1, 1.2, 260, 0.3),
    Scaling("efficientnet_lite3", "EfficientNet-Lite3", 1.2, 1.4, 280, 0.3),
    Scaling("efficientnet_lite4", "EfficientNet-Lite4", 1.4, 1.8, 300, 0.3),
)
#: EfficientNet-Lite's base: B0 without SE, with ReLU6, stem and head fixed.
LITE_BASE = dataclasses.replace(CONFIGS["efficientnet_b0"],
                                blocks=without_se(CONFIGS["efficientnet_b0"].blocks),
                                act="relu6", stem_head_act="relu6", fix_stem_head=True)


def scaled_config(base: MBConvNetConfig, scaling: Scaling) -> MBConvNetConfig:
    """``base`` with the coefficients of ``scaling``."""
    return dataclasses.replace(base, width=scaling.width, depth=scaling.depth,
                               dropout=scaling.dropout)


def _one(kernels: tuple[int, ...]) -> int | tuple[int, ...]:
    return kernels[0] if len(kernels) == 1 else kernels


def mbconv_net(cfg: MBConvNetConfig, num_classes: int = 1000) -> ConvClassifier:
    """Build a network from its block strings, scaled by ``cfg.width`` and ``cfg.depth``."""
    def scale(channels: int) -> int:  # round_filters of the reference code
        return make_divisible(channels * cfg.width)

    stem_ch = cfg.stem if cfg.fix_stem_head else scale(cfg.stem)
    stem = ConvBnAct(3, stem_ch, 3, stride=2, act=cfg.stem_head_act)
    blocks, cin, base_in = [], stem_ch, cfg.stem
    for index, spec in enumerate(cfg.blocks):
        args = decode_block(spec)
        if args.in_channels != base_in:
            raise ConfigError(f"block {spec!r} expects {args.in_channels} input channels, "
                              f"the previous layer gives {base_in}")
        act = "swish" if args.swish else cfg.act
        fixed = cfg.fix_stem_head and index in (0, len(cfg.blocks) - 1)
        repeats = args.repeats if fixed else math.ceil(args.repeats * cfg.depth)
        cout = scale(args.out_channels)
        for i in range(repeats):
            se = max(1, int(cin * args.se_ratio)) if args.se_ratio > 0 else 0
            blocks.append(InvertedResidual(
                cin, cout, _one(args.kernel), args.stride if i == 0 else 1,
                mid_channels=cin * args.expand_ratio, act=act, se_channels=se,
                exp_kernel_size=_one(args.exp_kernel), proj_kernel_size=_one(args.proj_kernel),
                skip=args.skip))
            cin = cout
        base_in = args.out_channels
    head_ch = cfg.head if cfg.fix_stem_head else scale(cfg.head)
    head = ConvBnAct(cin, head_ch, 1, act=cfg.stem_head_act)
    return ConvClassifier(stem, nn.Sequential(*blocks), head, head_ch, num_classes,
                          dropout=cfg.dropout)


@register_model("efficientnet_b0", display_name="EfficientNet-B0", family="conv",
                paper=PAPER_EFFICIENTNET, groups=("efficientnet", "mobilenet_scaling"))
def efficientnet_b0(**kwargs) -> ConvClassifier:
    return mbconv_net(CONFIGS["efficientnet_b0"], **kwargs)


@register_model("mnasnet_a1", display_name="MNASNet-A1", family="conv", paper=PAPER_MNASNET,
                aliases=("semnasnet_100", "mnasnet-a1"))
def mnasnet_a1(**kwargs) -> ConvClassifier:
    return mbconv_net(CONFIGS["mnasnet_a1"], **kwargs)


@register_model("mixnet_s", display_name="MixNet-S", family="conv", paper=PAPER_MIXNET)
def mixnet_s(**kwargs) -> ConvClassifier:
    return mbconv_net(CONFIGS["mixnet_s"], **kwargs)


def _register(scaling: Scaling, lite: bool) -> None:
    base = LITE_BASE if lite else CONFIGS["efficientnet_b0"]
    groups = ("efficientnet_lite" if lite else "efficientnet", "mobilenet_scaling")
    if scaling.id == "efficientnet_lite0":
        groups += ("mobilenet_resolution",)

    @register_model(scaling.id, display_name=scaling.display_name, family="conv",
                    input_size=scaling.input_size,
                    paper=PAPER_LITE if lite else PAPER_EFFICIENTNET,
                    aliases=(f"tf_{scaling.id}",), groups=groups)
    def build(**kwargs) -> ConvClassifier:
        return mbconv_net(scaled_config(base, scaling), **kwargs)


for _scaling in EFFICIENTNET_B:
    _register(_scaling, lite=False)
for _scaling in EFFICIENTNET_LITE:
    _register(_scaling, lite=True)
