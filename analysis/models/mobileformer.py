"""Mobile-Former (Chen et al., "Mobile-Former: Bridging MobileNet and Transformer", CVPR 2022).

A MobileNet ("Mobile", local features ``X`` of shape ``(B, C, H, W)``) and a tiny transformer
("Former", ``M`` learned global tokens ``Z`` of shape ``(B, M, d)``) run in parallel and talk
through a two-way bridge of *lightweight cross attentions* (paper §3). One
Mobile-Former block is, in order::

    Z ← Mobile→Former(X, Z)      Z ← Former(Z)      Y ← Mobile(X; Z[0])      Y ← Former→Mobile(Y, Z)

- **Mobile→Former**: ``A_X→Z = [Attn(z̃ᵢ W_i^Q, x̃ᵢ, x̃ᵢ)]_{i=1..h} W^O`` — the tokens
  are the queries; the feature map is the keys *and* values with no projection (the key and
  value projections are removed on the mobile side, where they would cost ``O(HW·C²)``).
  ``x̃ᵢ`` / ``z̃ᵢ W_i^Q`` are the i-th channel slices (heads). Residual, then post LayerNorm.
- **Former**: a transformer block on the M tokens with post layer normalization and an FFN of
  expansion ratio 2 (instead of 4), GELU.
- **Mobile**: an inverted bottleneck (1×1 → 3×3 depthwise → 1×1) whose activations are a
  dynamic ReLU (:class:`DynamicReLU`) with coefficients computed from the *first* global
  token output by the Former.
- **Former→Mobile**: ``A_Z→X = [Attn(x̃ᵢ, z̃ᵢ W_i^K, z̃ᵢ W_i^V)]_{i=1..h}`` — the pixels
  are the queries with no projection, the tokens give keys and values through projections;
  the result is added to the Mobile output.

**Downsampling** blocks ("Mobile-Former↓") replace the Mobile sub-block by
``3×3 depthwise (stride 2, channel multiplier e1) → 1×1 → 3×3 depthwise (multiplier e2) →
1×1``, with dynamic ReLU after both depthwise convs. The first block of the network is a
*lite bottleneck* (MicroNet, Li et al., ICCV 2021): ``3×3 depthwise (multiplier e) → 1×1``,
without tokens. The classifier 1×1-expands the last feature map (×6), pools it,
concatenates the first global token and applies two FC layers with h-swish.

**Where the paper is silent or terse, this follows the authors' official release**
(github.com/AAboys/MobileFormer, ``mobile_former.py`` / ``dna_blocks.py``, whose README lists
the published sizes: 52M — 3.5 M parameters, 52 M FLOPs; 96M — 4.6 M, 96 M):

- the Former's self-attention projects only the queries (``W_q``) and the concatenated heads
  (``W_o``); keys and values are the tokens themselves, as in the bridges. (The paper calls the
  Former "a standard transformer block"; key and value projections would add ``2·d² + 2·d``
  parameters per block, which the published sizes do not contain.) The Former has 4 heads,
  the bridges 2;
- the Mobile→Former output is gated per channel by ``2·hsigmoid(W_α z + b_α)`` before ``W^O``;
- one extra Mobile→Former after the last block updates the tokens before the classifier;
- the stem is 3×3 conv (stride 2)-BN-ReLU6; the classifier's 1×1 conv is followed by ReLU6,
  its first FC by BatchNorm1d; the downsampling block has a skip from its first 1×1 to its
  end; dynamic ReLU uses the hard sigmoid and no offsets ``b`` (see :class:`DynamicReLU`);
- initialization: convs ``N(0, 2/(k²·C_out))``, linears ``N(0, 0.01²)`` with zero bias,
  tokens ``N(0, 1)``.

The published FLOPs count the BatchNorms (the un-fused model); the project's deployed form
folds every BatchNorm into the preceding conv / linear layer, which removes their share.

Variants (the paper's specification tables; official ``mobile_former_52m`` / ``_96m``):
52M has 3 tokens of dimension 128, 96M has 4 tokens of dimension 128 (the 6 × 192 tokens
belong to the ≥151M models).

Attention uses explicit matrix products so that fvcore counts its multiply-accumulates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn

from analysis.errors import ConfigError
from analysis.models.config import config_with_overrides
from analysis.models.layers import ConvBnAct, get_activation
from analysis.models.registry import register_model

PAPER = "Chen et al., Mobile-Former: Bridging MobileNet and Transformer, CVPR 2022"


# --------------------------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MFBlockSpec:
    """One block of the Mobile path.

    ``kind``: ``"lite"`` (lite bottleneck, no tokens), ``"mf"`` (Mobile-Former block, 1×1
    expansion ``round(C_in · exp)``) or ``"down"`` (Mobile-Former↓: depthwise multipliers
    ``exp`` then ``exp2``).
    """

    kind: str
    out_channels: int
    exp: int
    stride: int = 1
    exp2: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ("lite", "mf", "down"):
            raise ConfigError(f"Mobile-Former block kind must be lite, mf or down, "
                              f"got {self.kind!r}")
        if self.kind == "down" and (self.stride != 2 or self.exp2 < 1):
            raise ConfigError("a Mobile-Former downsampling block needs stride 2 and exp2 >= 1")
        if self.kind == "mf" and self.stride != 1:
            raise ConfigError("a Mobile-Former block of kind 'mf' has stride 1; use 'down'")


@dataclass(frozen=True)
class MobileFormerConfig:
    """A Mobile-Former variant (paper appendix tables)."""

    stem_channels: int
    blocks: tuple[MFBlockSpec, ...]
    num_tokens: int
    token_dim: int = 128
    head_channels: int = 1024  # width of the classifier's first FC layer
    head_exp: int = 6  # expansion of the 1×1 conv before pooling
    bridge_heads: int = 2  # heads of Mobile→Former / Former→Mobile
    former_heads: int = 4  # heads of the Former's self-attention
    former_ffn_ratio: int = 2
    hyper_reduction: int = 4  # dynamic ReLU hyper-function: d → d/4 → 2C
    num_classes: int = 1000
    drop_rate: float = 0.0


def _b(kind: str, out: int, exp: int, stride: int = 1, exp2: int = 0) -> MFBlockSpec:
    return MFBlockSpec(kind, out, exp, stride, exp2)


CONFIGS: dict[str, MobileFormerConfig] = {
    # 224² → stem 112² → 56² → 28² → 14² → 7²
    "52m": MobileFormerConfig(
        stem_channels=8, num_tokens=3, token_dim=128, head_channels=1024,
        blocks=(  # one line per resolution
            _b("lite", 12, 3, 2), _b("mf", 12, 3),  # 56²
            _b("down", 24, 6, 2, 4), _b("mf", 24, 3),  # 28²
            _b("down", 48, 6, 2, 4), _b("mf", 48, 4), _b("mf", 64, 6),  # 14²
            _b("down", 96, 6, 2, 4), _b("mf", 96, 6),  # 7²
        )),
    "96m": MobileFormerConfig(
        stem_channels=12, num_tokens=4, token_dim=128, head_channels=1280,
        blocks=(  # one line per resolution
            _b("lite", 12, 2, 1),  # 112²
            _b("down", 16, 6, 2, 4),  # 56²
            _b("down", 32, 6, 2, 4), _b("mf", 32, 3),  # 28²
            _b("down", 64, 6, 2, 4), _b("mf", 64, 4), _b("mf", 88, 6),  # 14²
            _b("down", 128, 6, 2, 4), _b("mf", 128, 6),  # 7²
        )),
}


# --------------------------------------------------------------------------------------------
# building blocks
# --------------------------------------------------------------------------------------------
def _conv_bn(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
             groups: int = 1) -> ConvBnAct:
    return ConvBnAct(in_channels, out_channels, kernel_size, stride, groups=groups, act=None)


def _split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """``(B, N, C)`` → ``(B, heads, N, C/heads)``: head i takes channels ``[i·C/h, (i+1)·C/h)``."""
    b, n, c = x.shape
    return x.reshape(b, n, heads, c // heads).transpose(1, 2)


def _merge_heads(x: torch.Tensor) -> torch.Tensor:
    """``(B, heads, N, C/heads)`` → ``(B, N, C)`` (inverse of :func:`_split_heads`)."""
    b, h, n, d = x.shape
    return x.transpose(1, 2).reshape(b, n, h * d)


class _MultiHead(nn.Module):
    """Base of the three attentions: ``heads`` heads over ``channels`` channels, scores scaled
    by ``1/√(channels/heads)`` (``what`` names the attention in the error message)."""

    def __init__(self, channels: int, heads: int, what: str) -> None:
        super().__init__()
        if heads < 1 or channels % heads:
            raise ConfigError(f"{what}: {channels} channels do not split into {heads} heads")
        self.heads = heads
        self.scale = (channels // heads) ** -0.5


class DynamicReLU(nn.Module):
    """Dynamic ReLU driven by a global token (Mobile-Former §3; DyReLU: Chen et al., ECCV 2020).

    ``y_c = max(a¹_c · x_c, a²_c · x_c)`` with per-channel coefficients (DyReLU-B, K = 2, no
    offsets ``b``) from a hyper-function of the first global token ``z₀`` (instead of DyReLU's
    globally pooled feature)::

        θ = hsigmoid(W₂ ReLU(W₁ z₀ + b₁) + b₂) ∈ [0, 1]^{2C},   W₁: d → d/r,  W₂: d/r → 2C
        a¹ = 1 + (2θ¹ − 1) = 2θ¹ ∈ [0, 2],   a² = 0 + (2θ² − 1) ∈ [−1, 1]

    i.e. DyReLU's ``aᵏ = αᵏ + λ_a Δaᵏ`` with ``α¹ = 1, α² = 0, λ_a = 1`` and the residual
    ``Δa = 2·hsigmoid(·) − 1``. When the hyper-function outputs θ = ½ (e.g. zero ``W₂, b₂``) it
    is exactly ReLU.
    """

    def __init__(self, channels: int, token_dim: int, reduction: int = 4) -> None:
        super().__init__()
        self.channels = channels
        hidden = token_dim // reduction
        self.fc1 = nn.Linear(token_dim, hidden)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(hidden, 2 * channels)
        self.gate = nn.Hardsigmoid()

    def coefficients(self, token: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(a¹, a²)``, each ``(B, C, 1, 1)``, from the token ``(B, d)``."""
        theta = self.gate(self.fc2(self.act(self.fc1(token))))
        theta = theta.reshape(token.shape[0], 2 * self.channels, 1, 1)
        a1, a2 = theta[:, :self.channels], theta[:, self.channels:]
        return 2.0 * a1, 2.0 * a2 - 1.0

    def forward(self, x: torch.Tensor, token: torch.Tensor) -> torch.Tensor:
        a1, a2 = self.coefficients(token)
        return torch.maximum(x * a1, x * a2)


class MobileToFormer(_MultiHead):
    """Lightweight cross attention from the feature map to the tokens (Mobile→Former).

    Per head i (channel slice of size C/h): ``softmax(q̃ᵢ x̃ᵢᵀ / √(C/h)) x̃ᵢ`` with
    ``q = z W_q`` (``W_q``: d → C) and the flattened feature map ``x`` (HW × C) as both keys and
    values; the heads are concatenated, gated per channel by ``2·hsigmoid(z W_α)`` (official
    release), projected back by ``W_o`` (C → d), added to ``z`` and layer-normalized (post-LN).
    MACs: ``M·d·C`` (q) + ``2·M·HW·C`` (attention) + ``M·C·d`` (out) + ``M·d·C`` (gate).
    """

    def __init__(self, channels: int, token_dim: int, heads: int = 2,
                 dynamic: bool = True) -> None:
        super().__init__(channels, heads, "Mobile->Former")
        self.q = nn.Linear(token_dim, channels)
        self.alpha = (nn.Sequential(nn.Linear(token_dim, channels), nn.Hardsigmoid())
                      if dynamic else None)
        self.proj = nn.Linear(channels, token_dim)
        self.norm = nn.LayerNorm(token_dim)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q = _split_heads(self.q(z), self.heads)  # (B, h, M, C/h)
        kv = x.reshape(b, self.heads, c // self.heads, h * w)  # (B, h, C/h, HW)
        attn = ((q @ kv) * self.scale).softmax(dim=-1)  # (B, h, M, HW)
        out = _merge_heads(attn @ kv.transpose(-1, -2))  # (B, M, C)
        if self.alpha is not None:
            out = out * (2.0 * self.alpha(z))
        return self.norm(z + self.proj(out))


class FormerToMobile(_MultiHead):
    """Lightweight cross attention from the tokens to the feature map (Former→Mobile).

    Per head i: ``softmax(x̃ᵢ k̃ᵢᵀ / √(C/h)) ṽᵢ`` with the pixels ``x`` (HW × C, no projection)
    as queries and ``k = z W_k``, ``v = z W_v`` (both d → C) from the tokens; the heads are
    concatenated and added to ``x``. MACs: ``2·M·d·C`` (k, v) + ``2·HW·M·C`` (attention).
    """

    def __init__(self, channels: int, token_dim: int, heads: int = 2) -> None:
        super().__init__(channels, heads, "Former->Mobile")
        self.k = nn.Linear(token_dim, channels)
        self.v = nn.Linear(token_dim, channels)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q = x.reshape(b, self.heads, c // self.heads, h * w).transpose(-1, -2)  # (B, h, HW, C/h)
        k = _split_heads(self.k(z), self.heads)  # (B, h, M, C/h)
        v = _split_heads(self.v(z), self.heads)
        attn = ((q @ k.transpose(-1, -2)) * self.scale).softmax(dim=-1)  # (B, h, HW, M)
        out = (attn @ v).transpose(-1, -2)  # (B, h, C/h, HW)
        return x + out.reshape(b, c, h, w)


class Former(_MultiHead):
    """The Former sub-block on the tokens, post-LN (paper §3; attention as released)::

        z ← LN(z + W_o · [softmax(z̃ᵢW_q,ᵢ z̃ᵢᵀ / √(d/h)) z̃ᵢ]ᵢ)     z ← LN(z + FFN(z))

    with ``FFN = Linear(d, 2d) → GELU → Linear(2d, d)``. Keys and values are the tokens
    themselves (the official release projects only the queries, like the bridges).
    """

    def __init__(self, token_dim: int, heads: int = 4, ffn_ratio: int = 2) -> None:
        super().__init__(token_dim, heads, "Former")
        self.q = nn.Linear(token_dim, token_dim)
        self.proj = nn.Linear(token_dim, token_dim)
        self.norm1 = nn.LayerNorm(token_dim)
        self.ffn = nn.Sequential(nn.Linear(token_dim, token_dim * ffn_ratio), nn.GELU(),
                                 nn.Linear(token_dim * ffn_ratio, token_dim))
        self.norm2 = nn.LayerNorm(token_dim)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        q = _split_heads(self.q(z), self.heads)  # (B, h, M, d/h)
        kv = _split_heads(z, self.heads)
        attn = ((q @ kv.transpose(-1, -2)) * self.scale).softmax(dim=-1)  # (B, h, M, M)
        z = self.norm1(z + self.proj(_merge_heads(attn @ kv)))
        return self.norm2(z + self.ffn(z))


class LinearBnAct(nn.Sequential):
    """Linear → BatchNorm1d → activation (the classifier's first FC layer).

    :meth:`reparameterize` folds the BatchNorm into the linear layer for deployment, exact in
    eval mode: with ``s = γ / √(σ² + ε)``, ``W' = s·W`` (per output row) and
    ``b' = s·(b − μ) + β``.
    """

    def __init__(self, in_features: int, out_features: int, act: str | None = "hardswish"):
        super().__init__()
        self.fc = nn.Linear(in_features, out_features)
        self.bn = nn.BatchNorm1d(out_features)
        self.act = get_activation(act)

    @torch.no_grad()
    def reparameterize(self) -> None:
        if not isinstance(self.bn, nn.BatchNorm1d):
            return
        scale = self.bn.weight / (self.bn.running_var + self.bn.eps).sqrt()
        fused = nn.Linear(self.fc.in_features, self.fc.out_features).to(self.fc.weight)
        fused.weight.copy_(self.fc.weight * scale[:, None])
        fused.bias.copy_(scale * (self.fc.bias - self.bn.running_mean) + self.bn.bias)
        self.fc, self.bn = fused, nn.Identity()


class LiteBottleneck(nn.Module):
    """MicroNet's lite bottleneck as Mobile-Former's first block: 3×3 depthwise with channel
    multiplier ``exp`` (stride s)-BN-ReLU6 → 1×1-BN (+ x when the shapes match). Tokens pass."""

    def __init__(self, in_channels: int, out_channels: int, exp: int, stride: int) -> None:
        super().__init__()
        mid = in_channels * exp
        self.conv_dw = ConvBnAct(in_channels, mid, 3, stride, groups=in_channels, act="relu6")
        self.conv_pw = _conv_bn(mid, out_channels, 1)
        self.has_skip = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.conv_pw(self.conv_dw(x))
        return (out + x if self.has_skip else out), z


class MobileFormerBlock(nn.Module):
    """One Mobile-Former block (paper Fig. 3) or, with ``spec.kind == "down"``, a
    Mobile-Former↓ block: Mobile→Former, Former, Mobile (dynamic ReLU from token 0),
    [+ x], Former→Mobile."""

    def __init__(self, in_channels: int, spec: MFBlockSpec, cfg: MobileFormerConfig) -> None:
        super().__init__()
        out, d = spec.out_channels, cfg.token_dim
        self.kind = spec.kind
        self.mobile_to_former = MobileToFormer(in_channels, d, cfg.bridge_heads, dynamic=True)
        self.former = Former(d, cfg.former_heads, cfg.former_ffn_ratio)
        if spec.kind == "mf":
            mid = round(in_channels * spec.exp)
            self.conv1 = _conv_bn(in_channels, mid, 1)  # 1×1 expand
            self.act1 = DynamicReLU(mid, d, cfg.hyper_reduction)
            self.conv2 = _conv_bn(mid, mid, 3, spec.stride, groups=mid)  # 3×3 depthwise
            self.act2 = DynamicReLU(mid, d, cfg.hyper_reduction)
            self.conv3 = _conv_bn(mid, out, 1)  # 1×1 project (linear)
            self.conv4 = None
        else:  # down: dw(s2) → pw → dw → pw, inner skip around the last two
            mid1, mid2 = in_channels * spec.exp, out * spec.exp2
            self.conv1 = _conv_bn(in_channels, mid1, 3, spec.stride, groups=in_channels)
            self.act1 = DynamicReLU(mid1, d, cfg.hyper_reduction)
            self.conv2 = _conv_bn(mid1, out, 1)
            self.conv3 = _conv_bn(out, mid2, 3, groups=out)
            self.act2 = DynamicReLU(mid2, d, cfg.hyper_reduction)
            self.conv4 = _conv_bn(mid2, out, 1)
        self.has_skip = spec.stride == 1 and in_channels == out
        self.former_to_mobile = FormerToMobile(out, d, cfg.bridge_heads)

    def mobile(self, x: torch.Tensor, token: torch.Tensor) -> torch.Tensor:
        if self.conv4 is None:
            y = self.act1(self.conv1(x), token)
            y = self.act2(self.conv2(y), token)
            return self.conv3(y)
        y = self.conv2(self.act1(self.conv1(x), token))
        return y + self.conv4(self.act2(self.conv3(y), token))

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.former(self.mobile_to_former(x, z))
        y = self.mobile(x, z[:, 0])
        if self.has_skip:
            y = y + x
        return self.former_to_mobile(y, z), z


class MobileFormer(nn.Module):
    """Mobile-Former: stem → blocks (features, tokens) → Mobile→Former → classifier."""

    def __init__(self, cfg: MobileFormerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.token_dim
        if cfg.num_tokens < 1:
            raise ConfigError(f"Mobile-Former needs at least one token, got {cfg.num_tokens}")
        self.tokens = nn.Parameter(torch.randn(cfg.num_tokens, d))
        self.stem = ConvBnAct(3, cfg.stem_channels, 3, 2, act="relu6")
        blocks, channels = [], cfg.stem_channels
        for spec in cfg.blocks:
            if spec.kind == "lite":
                blocks.append(LiteBottleneck(channels, spec.out_channels, spec.exp, spec.stride))
            else:
                blocks.append(MobileFormerBlock(channels, spec, cfg))
            channels = spec.out_channels
        self.blocks = nn.ModuleList(blocks)
        self.mobile_to_former = MobileToFormer(channels, d, cfg.bridge_heads, dynamic=True)
        head = channels * cfg.head_exp
        self.head_conv = ConvBnAct(channels, head, 1, act="relu6")
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.pool_act = nn.Hardswish()
        self.fc = LinearBnAct(head + d, cfg.head_channels, act="hardswish")
        self.dropout = nn.Dropout(cfg.drop_rate)
        self.classifier = nn.Linear(cfg.head_channels, cfg.num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / fan_out))
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The last feature map ``(B, C, 7, 7)`` and the tokens ``(B, M, d)``."""
        z = self.tokens.unsqueeze(0).expand(x.shape[0], -1, -1)
        x = self.stem(x)
        for block in self.blocks:
            x, z = block(x, z)
        return x, self.mobile_to_former(x, z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, z = self.forward_features(x)
        x = self.pool_act(self.pool(self.head_conv(x)).flatten(1))
        x = self.fc(torch.cat((x, z[:, 0]), dim=1))
        return self.classifier(self.dropout(x))


def mobileformer(variant: str, **overrides) -> MobileFormer:
    """Mobile-Former ``variant`` (``"52m"`` or ``"96m"``); ``overrides`` replace config fields
    (e.g. ``num_classes``)."""
    key = str(variant).lower().removeprefix("mobileformer_").removeprefix("mobile_former_")
    if key not in CONFIGS:
        raise ConfigError(f"unknown Mobile-Former variant {variant!r}; known: "
                          f"{', '.join(CONFIGS)}")
    return MobileFormer(config_with_overrides(CONFIGS[key], overrides, "Mobile-Former"))


def _register(variant: str) -> None:
    @register_model(f"mobileformer_{variant}", display_name=f"Mobileformer-{variant[:-1]}",
                    family="transformer", paper=PAPER,
                    aliases=(f"mobile_former_{variant}", f"Mobile-Former-{variant.upper()}"))
    def build(**kwargs) -> MobileFormer:
        return mobileformer(variant, **kwargs)


for _variant in CONFIGS:
    _register(_variant)


__all__ = ["CONFIGS", "DynamicReLU", "Former", "FormerToMobile", "LinearBnAct", "LiteBottleneck", "MFBlockSpec",
           "MobileFormer", "MobileFormerBlock", "MobileFormerConfig", "MobileToFormer",
           "mobileformer"]
