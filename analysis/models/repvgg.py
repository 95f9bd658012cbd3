"""RepVGG (Ding et al., "RepVGG: Making VGG-style ConvNets Great Again", CVPR 2021).

Train time, every layer is a :class:`RepVGGBlock` with three parallel branches (paper §3.3,
Fig. 2), summed and passed through ReLU::

    y = ReLU( BN(conv3×3(x)) + BN(conv1×1(x)) + BN(x) )

the identity branch ``BN(x)`` only when the input and output shapes match (stride 1,
C_in = C_out). At inference the branches are folded into ONE 3×3 conv with bias (§3.3,
"re-parameterization for plain inference-time model"): each BatchNorm is folded into its conv
(``W' = W·γ/σ``, ``b' = β − μγ/σ``; :func:`analysis.models.fusion.fuse_bn`), the 1×1 kernel is
zero-padded to 3×3, the identity is written as a 3×3 kernel with a 1 at the centre of its own
channel (:func:`analysis.models.fusion.identity_kernel`), and the three kernels and biases are
summed. The result is a VGG-style stack of 3×3 conv + ReLU. Table 9 of the MobileOne paper (like
RepVGG's own Table 3) gives the sizes of this fused form.

Network (paper §3.4, Table 2): five stages of 1, 2, 4, 14, 1 layers (RepVGG-A) or 1, 4, 6, 16, 1
(RepVGG-B), widths ``min(64, 64a)``, ``64a``, ``128a``, ``256a``, ``512b``; the first layer of
every stage has stride 2; global average pooling and a fully-connected classifier. Variants:
A0 (a, b) = (0.75, 2.5), A1 (1, 2.5), A2 (1.5, 2.75), B0 (1, 2.5), B1 (2, 4) (paper Table 3).

Module names follow the official release (``stage0``…``stage4``, ``rbr_dense``, ``rbr_1x1``,
``rbr_identity``, ``rbr_reparam``, ``gap``, ``linear``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from analysis.errors import ConfigError
from analysis.models.layers import conv_bn_branch as _conv_bn
from analysis.models.fusion import fuse_bn, fused_conv, identity_kernel
from analysis.models.registry import register_model

PAPER = "Ding et al., RepVGG: Making VGG-style ConvNets Great Again, CVPR 2021"


class RepVGGBlock(nn.Module):
    """One RepVGG layer: ``ReLU(BN(3×3) + BN(1×1) + BN(id))`` at train time, ``ReLU(3×3 + b)``
    once re-parameterized (:meth:`reparameterize`).

    Args:
        in_channels, out_channels, stride, groups: geometry of the 3×3 conv (padding 1).
        inference_mode: build the fused form directly (one 3×3 conv with bias).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, groups: int = 1,
                 inference_mode: bool = False) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ConfigError(f"RepVGGBlock: stride must be 1 or 2, got {stride}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride
        self.groups = groups
        self.inference_mode = inference_mode
        self.nonlinearity = nn.ReLU()

        self.rbr_identity: nn.BatchNorm2d | None = None
        self.rbr_dense: nn.Sequential | None = None
        self.rbr_1x1: nn.Sequential | None = None
        if inference_mode:
            self.rbr_reparam = nn.Conv2d(in_channels, out_channels, 3, stride, 1,
                                         groups=groups, bias=True)
            return
        if in_channels == out_channels and stride == 1:
            self.rbr_identity = nn.BatchNorm2d(in_channels)
        self.rbr_dense = _conv_bn(in_channels, out_channels, 3, stride, 1, groups)
        # 1×1 with padding 0 samples the same pixels as the 3×3's centre tap (padding 1)
        self.rbr_1x1 = _conv_bn(in_channels, out_channels, 1, stride, 0, groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.inference_mode:
            return self.nonlinearity(self.rbr_reparam(x))
        out = self.rbr_dense(x) + self.rbr_1x1(x)
        if self.rbr_identity is not None:
            out = out + self.rbr_identity(x)
        return self.nonlinearity(out)

    def _kernel_bias(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The equivalent 3×3 kernel and bias: Σ over branches of the BN-folded kernels."""
        kernel, bias = fuse_bn(self.rbr_dense.conv.weight, self.rbr_dense.bn)
        w1, b1 = fuse_bn(self.rbr_1x1.conv.weight, self.rbr_1x1.bn)
        kernel, bias = kernel + F.pad(w1, [1, 1, 1, 1]), bias + b1
        if self.rbr_identity is not None:
            ident = identity_kernel(self.in_channels, self.groups, 3,
                                    like=self.rbr_dense.conv.weight)
            wi, bi = fuse_bn(ident, self.rbr_identity)
            kernel, bias = kernel + wi, bias + bi
        return kernel, bias

    @torch.no_grad()
    def reparameterize(self) -> None:
        """Fold all branches into ``rbr_reparam`` in place (a no-op when already fused).

        Exact for the eval-mode behaviour of the BatchNorms (their running statistics).
        """
        if self.inference_mode:
            return
        kernel, bias = self._kernel_bias()
        self.rbr_reparam = fused_conv(self.rbr_dense.conv, kernel, bias)
        self.rbr_dense = self.rbr_1x1 = self.rbr_identity = None
        self.inference_mode = True


@dataclass(frozen=True)
class RepVGGConfig:
    """Layers per stage (stage0 always has one) and the width multipliers a (stages 1–4) and
    b (stage 5) of a RepVGG variant (paper §3.4)."""

    num_blocks: tuple[int, int, int, int]  # stages 1..4 (the paper's stages 2..5)
    a: float
    b: float


_A = (2, 4, 14, 1)
_B = (4, 6, 16, 1)
#: The published variants (paper Table 3).
VARIANTS: dict[str, RepVGGConfig] = {
    "a0": RepVGGConfig(_A, 0.75, 2.5),
    "a1": RepVGGConfig(_A, 1.0, 2.5),
    "a2": RepVGGConfig(_A, 1.5, 2.75),
    "b0": RepVGGConfig(_B, 1.0, 2.5),
    "b1": RepVGGConfig(_B, 2.0, 4.0),
}


class RepVGG(nn.Module):
    """The RepVGG network (paper §3.4): five stages of :class:`RepVGGBlock`, GAP, FC."""

    def __init__(self, config: RepVGGConfig, num_classes: int = 1000,
                 inference_mode: bool = False) -> None:
        super().__init__()
        if len(config.num_blocks) != 4 or min(config.num_blocks) < 1:
            raise ConfigError(f"RepVGG needs 4 positive stage lengths after the stem, got "
                              f"{config.num_blocks}")
        self.config = config
        self.inference_mode = inference_mode
        widths = (int(64 * config.a), int(128 * config.a), int(256 * config.a),
                  int(512 * config.b))
        self.in_planes = min(64, int(64 * config.a))
        self.stage0 = RepVGGBlock(3, self.in_planes, stride=2, inference_mode=inference_mode)
        self.stage1 = self._make_stage(widths[0], config.num_blocks[0])
        self.stage2 = self._make_stage(widths[1], config.num_blocks[1])
        self.stage3 = self._make_stage(widths[2], config.num_blocks[2])
        self.stage4 = self._make_stage(widths[3], config.num_blocks[3])
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(widths[3], num_classes)

    def _make_stage(self, planes: int, num_blocks: int) -> nn.Sequential:
        blocks = []
        for ix in range(num_blocks):
            blocks.append(RepVGGBlock(self.in_planes, planes, stride=2 if ix == 0 else 1,
                                      inference_mode=self.inference_mode))
            self.in_planes = planes
        return nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stage0(x)
        x = self.stage4(self.stage3(self.stage2(self.stage1(x))))
        return self.linear(torch.flatten(self.gap(x), 1))


def repvgg(variant: str, **kwargs) -> RepVGG:
    """RepVGG ``variant`` ("a0" … "b1") with random weights (train-time form by default)."""
    key = str(variant).lower()
    if key not in VARIANTS:
        raise ConfigError(f"unknown RepVGG variant {variant!r}; known: {', '.join(VARIANTS)}")
    return RepVGG(VARIANTS[key], **kwargs)


def _register(variant: str) -> None:
    @register_model(f"repvgg_{variant}", display_name=f"RepVGG-{variant.upper()}",
                    family="conv", input_size=224, paper=PAPER)
    def build(**kwargs) -> RepVGG:
        return repvgg(variant, **kwargs)


for _variant in VARIANTS:
    _register(_variant)
