"""ConViT (d'Ascoli et al., "ConViT: Improving Vision Transformers with Soft Convolutional
Inductive Biases", ICML 2021).

A DeiT whose first ``local_up_to_layer`` blocks (10 of 12) replace self-attention by **gated
positional self-attention** (GPSA, paper §3, eq. 5)::

    A^h_ij = (1 − σ(λ_h)) · softmax_j(Q_i K_jᵀ / √d)  +  σ(λ_h) · softmax_j(v_posʰ · r_ij)

where ``r_ij = (δx, δy, ‖δ‖²)`` is the relative position of key patch j seen from query patch
i (δ = position_j − position_i on the patch grid), ``v_posʰ`` a learned 3-vector per head
(``pos_proj``, a ``Linear(3, heads)``), and ``λ_h`` a learned gate per head
(``gating_param``, initialised to 1). As in the official release the mixed map is divided by
its row sum (a no-op in exact arithmetic), then ``A V`` and the output projection follow.

**Locality initialisation** (§3, "Adaptive attention span" / eq. 6): ``V = I`` and, for the
heads laid out on a ``√H × √H`` grid with centre ``c``, ``v_posʰ = α (2Δx, 2Δy, −1)`` with
``Δ_h = (h2 − c, h1 − c)`` and locality strength α = 1, so that
``v_posʰ · r_ij = −α ‖δ − Δ_h‖² + const``: each head initially attends around its own offset
Δ_h, like one tap of a convolution kernel. With ConViT-Ti's 4 heads, Δ_h ∈ {−½, ½}².

The class token is appended only after the GPSA blocks (it has no grid position); the last
blocks are ordinary multi-head self-attention. No query/key/value biases (``qkv_bias=False``).

ConViT-Ti (paper Table 1): 4 heads × 48 = 192 wide, depth 12, 10 GPSA blocks; 6 M parameters.
The positional scores ``pos_proj(r)`` are input-independent but recomputed in every forward
(as in the official code); fvcore counts them (``N² · 3 · H`` MACs per GPSA layer).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch
import torch.nn as nn

from analysis.errors import ConfigError
from analysis.models.registry import register_model
from analysis.models.transformer_layers import NORM_EPS, PatchEmbed, TransformerBlock
from analysis.models.vit import init_vit_weights

PAPER = ("d'Ascoli et al., ConViT: Improving Vision Transformers with Soft Convolutional "
         "Inductive Biases, ICML 2021")


@functools.lru_cache(maxsize=8)
def relative_positions(grid: int) -> torch.Tensor:
    """``r`` of shape ``(N, N, 3)``, N = grid²: ``r[i, j] = (xj − xi, yj − yi, ‖·‖²)`` for the
    row-major patch order of a flattened ``(grid, grid)`` map (token n at x = n mod grid,
    y = n div grid)."""
    ys, xs = torch.meshgrid(torch.arange(grid), torch.arange(grid), indexing="ij")
    xs, ys = xs.flatten(), ys.flatten()
    dx = xs[None, :] - xs[:, None]
    dy = ys[None, :] - ys[:, None]
    return torch.stack([dx, dy, dx ** 2 + dy ** 2], dim=-1).float()


class GPSA(nn.Module):
    """Gated positional self-attention (ConViT eq. 5) over ``(B, N, C)`` patch tokens on a
    square grid. Attention is explicit matmuls, so fvcore counts it.

    Args:
        dim: token width; num_heads: heads (dim divisible by it);
        qkv_bias: biases on the query/key and value projections (ConViT: False);
        locality_strength: α of the locality initialisation;
        grid_size: side of the native patch grid, whose ``r`` is kept as a (non-persistent)
            buffer; other grid sizes are computed on the fly.
    """

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = False,
                 locality_strength: float = 1.0, grid_size: int | None = None) -> None:
        super().__init__()
        if dim % num_heads:
            raise ConfigError(f"GPSA: dim {dim} is not divisible by num_heads {num_heads}")
        self.dim = dim
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.locality_strength = locality_strength
        self.qk = nn.Linear(dim, 2 * dim, bias=qkv_bias)
        self.v = nn.Linear(dim, dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.pos_proj = nn.Linear(3, num_heads)
        self.gating_param = nn.Parameter(torch.ones(num_heads))
        self.rel_indices: torch.Tensor | None
        self.register_buffer("rel_indices", None if grid_size is None
                             else relative_positions(grid_size).clone(), persistent=False)

    @torch.no_grad()
    def local_init(self) -> None:
        """The locality initialisation (see the module docstring): ``V = I`` and
        ``v_posʰ = α (2Δx, 2Δy, −1)``, heads on a ⌊√H⌋² grid of offsets Δ_h."""
        self.v.weight.copy_(torch.eye(self.dim))
        k = int(self.num_heads ** 0.5)
        centre = (k - 1) / 2 if k % 2 == 0 else k // 2
        for h1 in range(k):
            for h2 in range(k):
                head = h1 + k * h2
                self.pos_proj.weight[head, 0] = 2 * (h2 - centre)  # Δx
                self.pos_proj.weight[head, 1] = 2 * (h1 - centre)  # Δy
                self.pos_proj.weight[head, 2] = -1
        self.pos_proj.weight.mul_(self.locality_strength)

    def _grid(self, n: int) -> int:
        grid = math.isqrt(n)
        if grid * grid != n:
            raise ConfigError(f"GPSA: {n} tokens do not form a square grid (a class token "
                              "must be added after the GPSA blocks)")
        return grid

    def positional_attention(self, n: int, like: torch.Tensor) -> torch.Tensor:
        """``softmax_j(v_posʰ · r_ij)``, shape ``(1, heads, N, N)``."""
        if self.rel_indices is not None and self.rel_indices.shape[0] == n:
            r = self.rel_indices.to(dtype=like.dtype)
        else:
            r = relative_positions(self._grid(n)).to(dtype=like.dtype, device=like.device)
        return self.pos_proj(r).permute(2, 0, 1).unsqueeze(0).softmax(dim=-1)

    def get_attention(self, x: torch.Tensor) -> torch.Tensor:
        """The gated attention map ``A`` of eq. 5, shape ``(B, heads, N, N)``."""
        b, n, c = x.shape
        qk = self.qk(x).reshape(b, n, 2, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k = qk[0], qk[1]
        content = ((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1)
        gate = torch.sigmoid(self.gating_param).view(1, -1, 1, 1)
        attn = (1.0 - gate) * content + gate * self.positional_attention(n, x)
        return attn / attn.sum(dim=-1, keepdim=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        v = self.v(x).reshape(b, n, self.num_heads, self.head_dim).transpose(1, 2)
        out = self.get_attention(x) @ v
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


@dataclass(frozen=True)
class ConViTConfig:
    """One ConViT variant (paper Table 1): width = heads × dim_per_head."""

    num_heads: int
    dim_per_head: int = 48
    depth: int = 12
    local_up_to_layer: int = 10
    locality_strength: float = 1.0
    patch_size: int = 16
    mlp_ratio: float = 4.0
    qkv_bias: bool = False


#: ConViT-Ti, paper Table 1.
CONVIT_TINY = ConViTConfig(num_heads=4)


class ConViT(nn.Module):
    """ConViT classifier: patch embedding + absolute position embedding, GPSA blocks on the
    patch tokens, class token appended, self-attention blocks, LayerNorm, linear head."""

    def __init__(self, config: ConViTConfig, img_size: int = 224,
                 num_classes: int = 1000) -> None:
        super().__init__()
        if img_size % config.patch_size:
            raise ConfigError(f"ConViT: image size {img_size} is not a multiple of the patch "
                              f"size {config.patch_size}")
        if not 0 <= config.local_up_to_layer <= config.depth:
            raise ConfigError(f"ConViT: local_up_to_layer {config.local_up_to_layer} must be in "
                              f"[0, depth={config.depth}]")
        self.config = config
        dim = config.num_heads * config.dim_per_head
        num_patches = (img_size // config.patch_size) ** 2
        self.patch_embed = PatchEmbed(config.patch_size, 3, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches, dim))
        blocks = []
        for i in range(config.depth):
            attn = (GPSA(dim, config.num_heads, config.qkv_bias, config.locality_strength,
                         grid_size=img_size // config.patch_size)
                    if i < config.local_up_to_layer else None)
            blocks.append(TransformerBlock(dim, config.num_heads, config.mlp_ratio,
                                           qkv_bias=config.qkv_bias, attn=attn))
        self.blocks = nn.ModuleList(blocks)
        self.norm = nn.LayerNorm(dim, eps=NORM_EPS)
        self.head = nn.Linear(dim, num_classes)

        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        self.apply(init_vit_weights)
        for m in self.modules():
            if isinstance(m, GPSA):
                m.local_init()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x) + self.pos_embed
        for i, block in enumerate(self.blocks):
            if i == self.config.local_up_to_layer:
                x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
            x = block(x)
        if self.config.local_up_to_layer == self.config.depth:  # no plain block at all
            x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        return self.head(self.norm(x)[:, 0])


@register_model("convit_tiny", display_name="ConViT-tiny", family="transformer",
                input_size=224, paper=PAPER, aliases=("ConViT-Ti",))
def convit_tiny(**kwargs) -> ConViT:
    return ConViT(CONVIT_TINY, **kwargs)
