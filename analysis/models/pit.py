"""PiT, the Pooling-based Vision Transformer (Heo et al., "Rethinking Spatial Dimensions of
Vision Transformers", ICCV 2021).

PiT brings the CNN's spatial reduction into ViT (paper §3.2, Fig. 1c): the tokens live on a
2-D grid that shrinks while the width grows, stage by stage.

- **Embedding**: a ``p×p`` conv with stride ``s < p`` (overlapping patches: PiT-Ti uses p = 16,
  s = 8, so a 224² image gives a ⌊(224 − 16)/8⌋ + 1 = 27² grid), plus a learnable position
  embedding on that grid; a learnable class token.
- **Stages**: pre-norm transformer blocks (ViT/DeiT blocks,
  :class:`~analysis.models.transformer_layers.TransformerBlock`) over ``[cls; grid tokens]``.
  Stage ``i`` has width ``base_dim · heads_i`` (head dimension fixed at ``base_dim``).
- **Pooling layer** between stages (§3.2): the grid tokens are reshaped to a feature map and
  reduced by a *depthwise* conv of kernel ``stride + 1 = 3``, stride 2, padding 1, whose
  ``C → 2C`` outputs come from ``groups = C`` (each input channel feeds two outputs); the class
  token goes through a linear layer ``C → 2C``. Grid 27 → 14 → 7.
- **Head**: LayerNorm and a linear classifier on the class token.

PiT-Ti (paper Table 1): base_dim 32, heads (2, 4, 8) → widths (64, 128, 256), depths
(2, 6, 4), MLP ratio 4; 4.9 M parameters, 0.7 GFLOPs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from analysis.errors import ConfigError
from analysis.models.registry import register_model
from analysis.models.transformer_layers import NORM_EPS, TransformerBlock
from analysis.models.vit import init_vit_weights

PAPER = "Heo et al., Rethinking Spatial Dimensions of Vision Transformers, ICCV 2021"


@dataclass(frozen=True)
class PiTConfig:
    """One PiT variant (paper Table 1)."""

    base_dim: int  # head dimension, the same in every stage
    depths: tuple[int, ...]
    heads: tuple[int, ...]
    patch_size: int = 16
    stride: int = 8
    mlp_ratio: float = 4.0


#: PiT-Ti, paper Table 1.
PIT_TI = PiTConfig(base_dim=32, depths=(2, 6, 4), heads=(2, 4, 8))


class PoolingLayer(nn.Module):
    """PiT's spatial pooling (§3.2): depthwise conv ``C → C_out`` (kernel stride+1, groups C)
    on the token map, linear ``C → C_out`` on the class token."""

    def __init__(self, in_dim: int, out_dim: int, stride: int = 2) -> None:
        super().__init__()
        if out_dim % in_dim:
            raise ConfigError(f"PiT pooling: out_dim {out_dim} must be a multiple of in_dim "
                              f"{in_dim} (depthwise conv)")
        self.conv = nn.Conv2d(in_dim, out_dim, kernel_size=stride + 1, stride=stride,
                              padding=stride // 2, groups=in_dim)
        self.fc = nn.Linear(in_dim, out_dim)

    def forward(self, x: torch.Tensor, cls: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.conv(x), self.fc(cls)


class PiTStage(nn.Module):
    """Transformer blocks over ``[cls tokens; flattened (B, C, H, W) map]``."""

    def __init__(self, dim: int, depth: int, num_heads: int, mlp_ratio: float) -> None:
        super().__init__()
        self.blocks = nn.Sequential(*[TransformerBlock(dim, num_heads, mlp_ratio)
                                      for _ in range(depth)])

    def forward(self, x: torch.Tensor, cls: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, c, h, w = x.shape
        n_cls = cls.shape[1]
        tokens = self.blocks(torch.cat([cls, x.flatten(2).transpose(1, 2)], dim=1))
        cls, x = tokens[:, :n_cls], tokens[:, n_cls:]
        return x.transpose(1, 2).reshape(b, c, h, w), cls


class PiT(nn.Module):
    """Pooling-based Vision Transformer classifier (paper §3.2, Fig. 1c)."""

    def __init__(self, config: PiTConfig, img_size: int = 224, num_classes: int = 1000) -> None:
        super().__init__()
        if len(config.depths) != len(config.heads) or not config.depths:
            raise ConfigError(f"PiT: depths {config.depths} and heads {config.heads} must be "
                              "non-empty and of the same length")
        self.config = config
        dims = [config.base_dim * h for h in config.heads]
        grid = (img_size - config.patch_size) // config.stride + 1
        self.patch_embed = nn.Conv2d(3, dims[0], config.patch_size, stride=config.stride)
        self.pos_embed = nn.Parameter(torch.zeros(1, dims[0], grid, grid))
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dims[0]))
        self.stages = nn.ModuleList(
            PiTStage(d, n, h, config.mlp_ratio)
            for d, n, h in zip(dims, config.depths, config.heads))
        self.pools = nn.ModuleList(PoolingLayer(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.norm = nn.LayerNorm(dims[-1], eps=NORM_EPS)
        self.head = nn.Linear(dims[-1], num_classes)

        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        self.apply(init_vit_weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x)
        if x.shape[-2:] != self.pos_embed.shape[-2:]:
            raise ConfigError(f"PiT: the input gives a {x.shape[-2]}x{x.shape[-1]} token grid, "
                              f"the position embedding is {self.pos_embed.shape[-2]}x"
                              f"{self.pos_embed.shape[-1]} (build with img_size=)")
        x = x + self.pos_embed
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        for i, stage in enumerate(self.stages):
            x, cls = stage(x, cls)
            if i < len(self.pools):
                x, cls = self.pools[i](x, cls)
        return self.head(self.norm(cls)[:, 0])


@register_model("pit_ti", display_name="PiT-ti", family="transformer", input_size=224,
                paper=PAPER, aliases=("pit_ti_224",))
def pit_ti(**kwargs) -> PiT:
    return PiT(PIT_TI, **kwargs)
