"""MobileViT (Mehta & Rastegari, "MobileViT: Light-weight, General-purpose, and Mobile-friendly
Vision Transformer", ICLR 2022), variants XXS, XS and S at their native 256×256 input.

Network (paper Fig. 1(b) and the appendix's architecture table; official ml-cvnets
configuration)::

    3×3 conv (stride 2) → MV2 → [MV2 ↓2, MV2, MV2] → [MV2 ↓2, MobileViT(L=2)]
        → [MV2 ↓2, MobileViT(L=4)] → [MV2 ↓2, MobileViT(L=3)] → 1×1 conv → pool → linear

with Swish (SiLU) activations throughout. MV2 is MobileNetV2's inverted residual
(1×1 expand-BN-act → 3×3 depthwise-BN-act → 1×1 project-BN, skip when shapes match), with
expansion 2 for XXS and 4 for XS and S, hidden width ``make_divisible(round(C_in·t), 8)``.

**MobileViT block** (paper §3.1, Fig. 1(b)), on a ``C × H × W`` map:

1. local representation: 3×3 conv-BN-act (C → C), then 1×1 conv (C → d, no BN, no act);
2. unfold into ``P = h·w = 2·2`` non-overlapping patches: ``X_U ∈ R^{P × N × d}`` with
   ``N = HW/P``; pixel p of every patch forms one sequence of N tokens;
3. global representation: for each p, L pre-norm transformer layers
   ``X_G(p) = Transformer(X_U(p))`` — multi-head self-attention (4 heads, qkv bias) and an FFN
   ``d → 2d → d`` with Swish — then a LayerNorm;
4. fold back to ``d × H × W``, 1×1 conv-BN-act (d → C);
5. concatenate with the block input (2C channels) and fuse with a 3×3 conv-BN-act (2C → C).

Settings (paper appendix): channels of the five stages after the stem (16 wide),
transformer width d, depth L = 2, 4, 3 and the last 1×1 conv width (4 × stage 5, capped at 960):

=======  ====================  =============  ====  ===========
variant  stage channels        d              last  MV2 expand
=======  ====================  =============  ====  ===========
XXS      16, 24, 48, 64, 80    64, 80, 96     320   2
XS       32, 48, 64, 80, 96    96, 120, 144   384   4
S        32, 64, 96, 128, 160  144, 192, 240  640   4
=======  ====================  =============  ====  ===========

Unfold and fold use ``reshape`` / ``transpose`` only and keep every tensor at rank ≤ 4 (Core ML
accepts rank ≤ 5). A map whose side is not a multiple of the patch size is resized bilinearly
to the next multiple and back, as the official ml-cvnets code does; at 256×256 the maps are
32, 16 and 8 pixels wide and no resizing happens.

The transformer layers are :class:`analysis.models.transformer_layers.TransformerBlock`
(explicit attention matmuls, so fvcore counts the ``2·P·N²·d`` attention MACs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from analysis.errors import ConfigError
from analysis.models.config import config_with_overrides
from analysis.models.layers import ConvBnAct, InvertedResidual, make_divisible
from analysis.models.registry import register_model
from analysis.models.transformer_layers import TransformerBlock

PAPER = ("Mehta & Rastegari, MobileViT: Light-weight, General-purpose, and Mobile-friendly "
         "Vision Transformer, ICLR 2022")

#: nn.LayerNorm's default epsilon, used by the official ml-cvnets MobileViT.
LAYER_NORM_EPS = 1e-5


@dataclass(frozen=True)
class MobileViTConfig:
    """One MobileViT variant (paper appendix)."""

    channels: tuple[int, int, int, int, int]  # output channels of stages 1–5
    dims: tuple[int, int, int]  # transformer width d of the MobileViT blocks in stages 3–5
    expansion: int  # MV2 expansion factor
    depths: tuple[int, int, int] = (2, 4, 3)  # transformer layers L in stages 3–5
    stage2_blocks: int = 3  # MV2 blocks in stage 2
    stem_channels: int = 16
    ffn_ratio: float = 2.0  # FFN hidden width = 2·d
    num_heads: int = 4
    patch_size: int = 2
    last_exp: int = 4  # last 1×1 conv: min(last_exp · channels[-1], last_max)
    last_max: int = 960
    act: str = "silu"
    num_classes: int = 1000
    drop_rate: float = 0.1  # dropout before the classifier (no effect in eval mode)

    @property
    def last_channels(self) -> int:
        return min(self.last_exp * self.channels[-1], self.last_max)


CONFIGS: dict[str, MobileViTConfig] = {
    "xxs": MobileViTConfig(channels=(16, 24, 48, 64, 80), dims=(64, 80, 96), expansion=2),
    "xs": MobileViTConfig(channels=(32, 48, 64, 80, 96), dims=(96, 120, 144), expansion=4),
    "s": MobileViTConfig(channels=(32, 64, 96, 128, 160), dims=(144, 192, 240), expansion=4),
}


def unfold_patches(x: torch.Tensor, patch_size: int) -> torch.Tensor:
    """``(B, C, H, W)`` → ``(B·P, N, C)``: sequence p holds pixel p of every p×p patch.

    ``P = patch_size²``, ``N = HW / P``; patch n = (row i, column j) is ``n = i·W/p + j`` and
    pixel p = (row a, column b) inside it is ``p = a·patch_size + b``. Rank ≤ 4 throughout.
    """
    b, c, h, w = x.shape
    ph = pw = patch_size
    nh, nw = h // ph, w // pw
    x = x.reshape(b * c * nh, ph, nw, pw).transpose(1, 2)  # (B·C·nh, nw, ph, pw)
    x = x.reshape(b, c, nh * nw, ph * pw).transpose(1, 3)  # (B, P, N, C)
    return x.reshape(b * ph * pw, nh * nw, c)


def fold_patches(x: torch.Tensor, patch_size: int, height: int, width: int) -> torch.Tensor:
    """Inverse of :func:`unfold_patches`: ``(B·P, N, C)`` → ``(B, C, H, W)``."""
    ph = pw = patch_size
    nh, nw = height // ph, width // pw
    bp, n, c = x.shape
    b = bp // (ph * pw)
    x = x.reshape(b, ph * pw, n, c).transpose(1, 3)  # (B, C, N, P)
    x = x.reshape(b * c * nh, nw, ph, pw).transpose(1, 2)  # (B·C·nh, ph, nw, pw)
    return x.reshape(b, c, height, width)


class MobileViTBlock(nn.Module):
    """The MobileViT block (paper §3.1, Fig. 1(b)): local conv representation → unfold →
    L transformer layers over the patches → fold → 1×1 projection → concat with the input →
    3×3 fusion. ``channels`` C in and out, transformer width ``dim`` d."""

    def __init__(self, channels: int, dim: int, depth: int, num_heads: int = 4,
                 ffn_ratio: float = 2.0, patch_size: int = 2, act: str = "silu") -> None:
        super().__init__()
        if dim % num_heads:
            raise ConfigError(f"MobileViT block: width {dim} is not divisible by "
                              f"{num_heads} heads")
        self.patch_size = patch_size
        self.conv_kxk = ConvBnAct(channels, channels, 3, act=act)
        self.conv_1x1 = nn.Conv2d(channels, dim, 1, bias=False)
        self.transformer = nn.Sequential(*[
            TransformerBlock(dim, num_heads, mlp_ratio=ffn_ratio, act=act, qkv_bias=True,
                             norm_eps=LAYER_NORM_EPS) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.conv_proj = ConvBnAct(dim, channels, 1, act=act)
        self.conv_fusion = ConvBnAct(2 * channels, channels, 3, act=act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        y = self.conv_1x1(self.conv_kxk(x))
        h, w = y.shape[-2:]
        p = self.patch_size
        new_h, new_w = math.ceil(h / p) * p, math.ceil(w / p) * p
        resize = (new_h, new_w) != (h, w)
        if resize:  # the official code's treatment of sizes that are not multiples of p
            y = F.interpolate(y, size=(new_h, new_w), mode="bilinear", align_corners=False)
        y = self.norm(self.transformer(unfold_patches(y, p)))
        y = fold_patches(y, p, new_h, new_w)
        if resize:
            y = F.interpolate(y, size=(h, w), mode="bilinear", align_corners=False)
        y = self.conv_proj(y)
        return self.conv_fusion(torch.cat((shortcut, y), dim=1))


class MobileViT(nn.Module):
    """MobileViT: stem → 5 stages → 1×1 conv → global average pool → dropout → linear."""

    def __init__(self, cfg: MobileViTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        act = cfg.act
        self.stem = ConvBnAct(3, cfg.stem_channels, 3, 2, act=act)
        c1, c2, c3, c4, c5 = cfg.channels

        def mv2(cin: int, cout: int, stride: int) -> InvertedResidual:
            mid = make_divisible(round(cin * cfg.expansion), 8)
            return InvertedResidual(cin, cout, 3, stride, mid_channels=mid, act=act)

        stages = [nn.Sequential(mv2(cfg.stem_channels, c1, 1))]
        stages.append(nn.Sequential(mv2(c1, c2, 2),
                                    *[mv2(c2, c2, 1) for _ in range(cfg.stage2_blocks - 1)]))
        cin = c2
        for cout, dim, depth in zip((c3, c4, c5), cfg.dims, cfg.depths):
            stages.append(nn.Sequential(
                mv2(cin, cout, 2),
                MobileViTBlock(cout, dim, depth, cfg.num_heads, cfg.ffn_ratio, cfg.patch_size,
                               act)))
            cin = cout
        self.stages = nn.Sequential(*stages)
        self.head = ConvBnAct(c5, cfg.last_channels, 1, act=act)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(cfg.drop_rate)
        self.classifier = nn.Linear(cfg.last_channels, cfg.num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.forward_features(x)).flatten(1)
        return self.classifier(self.dropout(x))


def mobilevit(variant: str, **overrides) -> MobileViT:
    """MobileViT ``variant`` (``"xxs"``, ``"xs"`` or ``"s"``); ``overrides`` replace config
    fields (e.g. ``num_classes``)."""
    key = str(variant).lower().removeprefix("mobilevit_").removeprefix("mobilevit-")
    if key not in CONFIGS:
        raise ConfigError(f"unknown MobileViT variant {variant!r}; known: {', '.join(CONFIGS)}")
    return MobileViT(config_with_overrides(CONFIGS[key], overrides, "MobileViT"))


@register_model("mobilevit_xxs", display_name="MobileViT-XXS", family="transformer",
                input_size=256, paper=PAPER)
def mobilevit_xxs(**kwargs) -> MobileViT:
    return mobilevit("xxs", **kwargs)


@register_model("mobilevit_xs", display_name="MobileViT-XS", family="transformer",
                input_size=256, paper=PAPER)
def mobilevit_xs(**kwargs) -> MobileViT:
    return mobilevit("xs", **kwargs)


@register_model("mobilevit_s", display_name="MobileViT-S", family="transformer",
                input_size=256, paper=PAPER)
def mobilevit_s(**kwargs) -> MobileViT:
    return mobilevit("s", **kwargs)


__all__ = ["CONFIGS", "MobileViT", "MobileViTBlock", "MobileViTConfig", "fold_patches",
           "mobilevit", "unfold_patches"]
