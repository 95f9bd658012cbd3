"""Transformer building blocks shared by the ViT-family models (DeiT, PiT, ConViT, MobileViT,
Mobile-Former …). Everything operates on token tensors of shape ``(B, N, C)``.

The blocks follow the Vision Transformer (Dosovitskiy et al., "An Image is Worth 16x16 Words",
ICLR 2021) as used by DeiT (Touvron et al., "Training data-efficient image transformers &
distillation through attention", ICML 2021):

- multi-head self-attention (Vaswani et al., NeurIPS 2017):
  ``Attention(Q, K, V) = softmax(Q Kᵀ / √d_head) V`` per head, then a linear projection;
- an MLP ``Linear(C → hidden) → GELU → Linear(hidden → C)``;
- a pre-norm residual block ``x + MHSA(LN(x))`` then ``x + MLP(LN(x))``.

**Counting.** Attention is written as two explicit matrix products (``q @ kᵀ`` and ``attn @ v``)
rather than ``F.scaled_dot_product_attention``: fvcore counts ``aten::matmul`` (and
``aten::linear``) but not the fused SDPA kernel, whose MACs it would silently drop. So the
attention MACs, ``2 · N² · C`` per layer, are part of every count. Softmax, the scaling and
GELU are element-wise (fvcore counts them as zero, as the papers' FLOP counts do); LayerNorm
is counted by fvcore's norm handler.

API (all modules map ``(B, N, C)`` → ``(B, N, C)`` unless stated):

- :func:`attention` ``(q, k, v, scale)`` — the bare formula on ``(…, N, d)`` tensors;
- :class:`Attention` ``(dim, num_heads, qkv_bias=True)`` — multi-head self-attention;
- :class:`Mlp` ``(dim, hidden_dim, out_dim=None, act="gelu")``;
- :class:`TransformerBlock` ``(dim, num_heads, mlp_ratio=4.0, act="gelu", qkv_bias=True,
  norm_eps=1e-6)`` — the pre-norm block; its ``attn`` is replaceable (ConViT swaps in GPSA);
- :class:`PatchEmbed` ``(patch_size, in_channels, embed_dim)`` — ``(B, 3, H, W)`` →
  ``(B, H/p · W/p, C)`` through a p×p conv with stride p (the ViT "linear projection of
  flattened patches").
"""

from __future__ import annotations

import torch
import torch.nn as nn

from analysis.errors import ConfigError
from analysis.models.layers import get_activation

#: LayerNorm epsilon of the ViT/DeiT reference code.
NORM_EPS = 1e-6


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
              scale: float | None = None) -> torch.Tensor:
    """``softmax(q kᵀ · scale) v`` over the last two dims; ``scale`` defaults to ``1/√d``.

    ``q``: ``(…, Nq, d)``, ``k``: ``(…, Nk, d)``, ``v``: ``(…, Nk, dv)`` → ``(…, Nq, dv)``.
    Explicit matmuls so fvcore counts ``Nq·Nk·d + Nq·Nk·dv`` MACs (see the module docstring).
    """
    if scale is None:
        scale = q.shape[-1] ** -0.5
    attn = (q * scale) @ k.transpose(-2, -1)
    attn = attn.softmax(dim=-1)
    return attn @ v


class Attention(nn.Module):
    """Multi-head self-attention (Vaswani et al. 2017; ViT/DeiT form).

    ``qkv = x W_qkv (+ b)`` split into ``num_heads`` heads of ``d = dim / num_heads``;
    per head ``softmax(Q Kᵀ / √d) V``; heads concatenated and projected by ``proj``.
    Parameters: ``3·dim² (+3·dim)`` for ``qkv`` and ``dim² + dim`` for ``proj``.
    """

    def __init__(self, dim: int, num_heads: int = 8, qkv_bias: bool = True) -> None:
        super().__init__()
        if dim % num_heads:
            raise ConfigError(f"Attention: dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # (B, heads, N, d)
        out = attention(q, k, v, self.scale)
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    """The transformer feed-forward network: ``fc2(act(fc1(x)))``, ``dim → hidden → out``."""

    def __init__(self, dim: int, hidden_dim: int, out_dim: int | None = None,
                 act: str = "gelu") -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden_dim)
        self.act = get_activation(act)
        self.fc2 = nn.Linear(hidden_dim, out_dim or dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class TransformerBlock(nn.Module):
    """Pre-norm transformer encoder block (ViT eq. 2–3):
    ``x ← x + attn(LN(x))``, ``x ← x + mlp(LN(x))``, MLP hidden width ``int(dim · mlp_ratio)``.

    ``attn`` may be any module mapping ``(B, N, C)`` → ``(B, N, C)`` (default
    :class:`Attention`); ConViT passes its gated positional self-attention.
    """

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0, act: str = "gelu",
                 qkv_bias: bool = True, norm_eps: float = NORM_EPS,
                 attn: nn.Module | None = None) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=norm_eps)
        self.attn = attn if attn is not None else Attention(dim, num_heads, qkv_bias)
        self.norm2 = nn.LayerNorm(dim, eps=norm_eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), act=act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    """Image to patch tokens: a ``p×p`` conv with stride ``p`` (= a linear map of each
    flattened ``p×p×C_in`` patch, ViT §3.1), then flatten to ``(B, N, embed_dim)``."""

    def __init__(self, patch_size: int = 16, in_channels: int = 3, embed_dim: int = 768) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(in_channels, embed_dim, patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        if h % self.patch_size or w % self.patch_size:
            raise ConfigError(f"PatchEmbed: input {h}x{w} is not a multiple of the patch size "
                              f"{self.patch_size}")
        return self.proj(x).flatten(2).transpose(1, 2)


__all__ = ["NORM_EPS", "Attention", "Mlp", "PatchEmbed", "TransformerBlock", "attention"]
