"""DeiT (Touvron et al., "Training data-efficient image transformers & distillation through
attention", ICML 2021): the Vision Transformer of Dosovitskiy et al. (ICLR 2021) at DeiT's sizes.

Architecture (ViT §3.1, eq. 1–4; DeiT Table 1): the image is cut into 16×16 patches, each
linearly embedded (:class:`~analysis.models.transformer_layers.PatchEmbed`); a learnable class
token is prepended and a learnable absolute position embedding added; ``depth`` pre-norm
transformer blocks (multi-head self-attention + GELU MLP of ratio 4,
:class:`~analysis.models.transformer_layers.TransformerBlock`); a final LayerNorm; a linear
classifier on the class token. DeiT-Ti: width 192, 3 heads of 64, depth 12 (5.7 M parameters).

DeiT's *distilled* variant (DeiT §4, "⚗") adds a distillation token and a second linear head;
at inference the two heads' outputs are averaged. It is built with ``distilled=True`` and
registered as ``deit_tiny_distilled``. Table 9 of the MobileOne paper lists "DeiT-tiny" with
top-1 72.2 %, DeiT-Ti's non-distilled accuracy (the distilled one is 74.5 %), so "DeiT-tiny"
is the non-distilled model; Table 9's 5.9 M parameters are the distilled model's count (see
``tests/test_zoo.py``, ``EXCEPTIONS_TRANSFORMER``).

Random initialisation as in DeiT/timm: truncated normal (σ = 0.02) for the linear layers, the
tokens and the position embedding; zero biases; LayerNorm (1, 0).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn as nn

from analysis.errors import ConfigError
from analysis.models.registry import register_model
from analysis.models.transformer_layers import NORM_EPS, PatchEmbed, TransformerBlock

PAPER = ("Touvron et al., Training data-efficient image transformers & distillation through "
         "attention, ICML 2021")


@dataclass(frozen=True)
class ViTConfig:
    """One ViT/DeiT variant (DeiT Table 1)."""

    embed_dim: int
    depth: int
    num_heads: int
    patch_size: int = 16
    mlp_ratio: float = 4.0
    qkv_bias: bool = True
    distilled: bool = False


#: DeiT-Ti (= ViT-Ti/16), DeiT Table 1.
DEIT_TINY = ViTConfig(embed_dim=192, depth=12, num_heads=3)


def init_vit_weights(module: nn.Module) -> None:
    """DeiT's random init of one module: trunc-normal(0.02) linear weights, zero biases,
    LayerNorm (1, 0)."""
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


class VisionTransformer(nn.Module):
    """ViT / DeiT classifier on ``img_size``² images (the position embedding fixes the size)."""

    def __init__(self, config: ViTConfig, img_size: int = 224, num_classes: int = 1000) -> None:
        super().__init__()
        if img_size % config.patch_size:
            raise ConfigError(f"ViT: image size {img_size} is not a multiple of the patch size "
                              f"{config.patch_size}")
        self.config = config
        dim = config.embed_dim
        num_patches = (img_size // config.patch_size) ** 2
        self.num_prefix_tokens = 2 if config.distilled else 1
        self.patch_embed = PatchEmbed(config.patch_size, 3, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.dist_token = nn.Parameter(torch.zeros(1, 1, dim)) if config.distilled else None
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches + self.num_prefix_tokens, dim))
        self.blocks = nn.Sequential(*[
            TransformerBlock(dim, config.num_heads, config.mlp_ratio, qkv_bias=config.qkv_bias)
            for _ in range(config.depth)])
        self.norm = nn.LayerNorm(dim, eps=NORM_EPS)
        self.head = nn.Linear(dim, num_classes)
        self.head_dist = nn.Linear(dim, num_classes) if config.distilled else None

        for p in (self.pos_embed, self.cls_token, self.dist_token):
            if p is not None:
                nn.init.trunc_normal_(p, std=0.02)
        self.apply(init_vit_weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x)
        prefix = [self.cls_token.expand(x.shape[0], -1, -1)]
        if self.dist_token is not None:
            prefix.append(self.dist_token.expand(x.shape[0], -1, -1))
        x = torch.cat([*prefix, x], dim=1) + self.pos_embed
        x = self.norm(self.blocks(x))
        if self.head_dist is None:
            return self.head(x[:, 0])
        return (self.head(x[:, 0]) + self.head_dist(x[:, 1])) / 2  # DeiT §4, inference


@register_model("deit_tiny", display_name="DeiT-tiny", family="transformer", input_size=224,
                paper=PAPER, aliases=("deit_tiny_patch16_224", "DeiT-Ti"))
def deit_tiny(**kwargs) -> VisionTransformer:
    return VisionTransformer(DEIT_TINY, **kwargs)


@register_model("deit_tiny_distilled", display_name="DeiT-tiny-distilled", family="transformer",
                input_size=224, paper=PAPER, aliases=("deit_tiny_distilled_patch16_224",))
def deit_tiny_distilled(**kwargs) -> VisionTransformer:
    return VisionTransformer(replace(DEIT_TINY, distilled=True), **kwargs)
