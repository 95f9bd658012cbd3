"""Transformer layers against direct formulas; GPSA at init; DeiT / PiT / ConViT structure and
sizes against closed forms and timm's independent counts."""

from __future__ import annotations

import csv
import itertools
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from fvcore.nn import FlopCountAnalysis

from analysis import paths
from analysis.complexity import profile_model
from analysis.errors import ConfigError
from analysis.models import create_model, get_entry
from analysis.models.convit import GPSA, relative_positions
from analysis.models.transformer_layers import (Attention, Mlp, PatchEmbed, TransformerBlock,
                                                attention)

D64 = torch.float64


def fvcore_macs(module: nn.Module, x: torch.Tensor) -> int:
    flops = FlopCountAnalysis(module.eval(), x)
    flops.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return int(flops.total())


# --- attention -------------------------------------------------------------------------------

def test_attention_formula():
    """softmax(QKᵀ/√d)V, against an einsum + softmax written here and torch's own SDPA."""
    q, k, v = (torch.randn(2, 3, n, 8, dtype=D64) for n in (5, 7, 7))
    want = torch.softmax(torch.einsum("bhid,bhjd->bhij", q, k) / math.sqrt(8), -1)
    want = torch.einsum("bhij,bhjd->bhid", want, v)
    assert torch.allclose(attention(q, k, v), want, rtol=0, atol=1e-12)
    assert torch.allclose(attention(q, k, v), F.scaled_dot_product_attention(q, k, v),
                          rtol=0, atol=1e-12)
    assert not torch.allclose(attention(q, k, v, scale=1.0), want, atol=1e-3)


def test_attention_module_equals_torch_multihead_attention():
    """Same weights in torch.nn.MultiheadAttention (an independent implementation)."""
    dim, heads = 24, 3
    ours = Attention(dim, heads).double().eval()
    ref = nn.MultiheadAttention(dim, heads, batch_first=True).double().eval()
    with torch.no_grad():
        ref.in_proj_weight.copy_(ours.qkv.weight)
        ref.in_proj_bias.copy_(ours.qkv.bias)
        ref.out_proj.weight.copy_(ours.proj.weight)
        ref.out_proj.bias.copy_(ours.proj.bias)
        x = torch.randn(2, 10, dim, dtype=D64)
        want, _ = ref(x, x, x, need_weights=False)
        assert torch.allclose(ours(x), want, rtol=0, atol=1e-12)
    assert sum(p.numel() for p in ours.parameters()) == 4 * dim * dim + 4 * dim
    assert Attention(dim, heads, qkv_bias=False).qkv.bias is None
    with pytest.raises(ConfigError, match="not divisible"):
        Attention(10, 3)


def test_fvcore_counts_attention_matmuls():
    """qkv (N·C·3C) + QKᵀ (N²·C) + AV (N²·C) + proj (N·C²): nothing hidden from fvcore."""
    n, c = 50, 48
    assert fvcore_macs(Attention(c, 4), torch.randn(1, n, c)) == \
        n * c * 3 * c + 2 * n * n * c + n * c * c


def test_mlp_and_block():
    dim = 16
    mlp = Mlp(dim, 64).double()
    x = torch.randn(3, 5, dim, dtype=D64)
    want = F.linear(F.gelu(F.linear(x, mlp.fc1.weight, mlp.fc1.bias)), mlp.fc2.weight,
                    mlp.fc2.bias)
    assert torch.allclose(mlp(x), want, rtol=0, atol=1e-12)
    assert Mlp(dim, 8, out_dim=4)(torch.randn(1, 2, dim)).shape == (1, 2, 4)

    block = TransformerBlock(dim, 4, mlp_ratio=4.0).double()
    h = x + block.attn(F.layer_norm(x, (dim,), block.norm1.weight, block.norm1.bias, 1e-6))
    want = h + block.mlp(F.layer_norm(h, (dim,), block.norm2.weight, block.norm2.bias, 1e-6))
    assert torch.allclose(block(x), want, rtol=0, atol=1e-12)
    # ViT block: 4C²+4C (attention) + 8C²+5C (MLP, ratio 4) + 4C (two LayerNorms)
    assert sum(p.numel() for p in block.parameters()) == 12 * dim * dim + 13 * dim


def test_patch_embed_is_a_linear_map_of_flattened_patches():
    embed = PatchEmbed(4, 3, 10).double()
    x = torch.randn(2, 3, 8, 12, dtype=D64)
    patches = F.unfold(x, kernel_size=4, stride=4).transpose(1, 2)  # (B, N, 3·4·4), row-major
    want = patches @ embed.proj.weight.reshape(10, -1).T + embed.proj.bias
    assert torch.allclose(embed(x), want, rtol=0, atol=1e-12)
    with pytest.raises(ConfigError, match="not a multiple of the patch size 4"):
        embed(torch.randn(1, 3, 9, 8, dtype=D64))


# --- GPSA (ConViT) ----------------------------------------------------------------------------

def test_relative_positions():
    g = 3
    r = relative_positions(g)
    for i, j in itertools.product(range(g * g), repeat=2):
        dx, dy = j % g - i % g, j // g - i // g
        assert r[i, j].tolist() == [dx, dy, dx * dx + dy * dy]


def _init_gpsa(dim=16, heads=4, alpha=1.0):
    torch.manual_seed(1)
    gpsa = GPSA(dim, heads, locality_strength=alpha)
    gpsa.local_init()
    return gpsa.double().eval()


@pytest.mark.parametrize("alpha", [1.0, 2.0])
def test_gpsa_positional_attention_at_init(alpha):
    """ConViT eq. 6: at init head h attends with softmax_j(−α‖δ_ij − Δ_h‖²), the 4 heads'
    offsets Δ_h covering {−½, ½}²; V is the identity."""
    gpsa, g = _init_gpsa(alpha=alpha), 5
    assert torch.equal(gpsa.v.weight, torch.eye(16, dtype=D64))
    pos = gpsa.positional_attention(g * g, torch.zeros((), dtype=D64))[0]  # (heads, N, N)
    coords = torch.tensor([(n % g, n // g) for n in range(g * g)], dtype=D64)
    delta = coords[None, :, :] - coords[:, None, :]  # δ_ij = p_j − p_i, (N, N, 2)
    matched = []
    for h in range(4):
        for off in itertools.product((-0.5, 0.5), repeat=2):
            want = torch.softmax(-alpha * ((delta - torch.tensor(off, dtype=D64)) ** 2).sum(-1),
                                 dim=-1)
            if torch.allclose(pos[h], want, rtol=0, atol=1e-12):
                matched.append(off)
    assert sorted(matched) == sorted(itertools.product((-0.5, 0.5), repeat=2))


def test_gpsa_gated_attention_formula():
    """A = (1 − σ(λ))·softmax(QKᵀ/√d) + σ(λ)·pos, λ = 1 at init (eq. 5)."""
    gpsa, n = _init_gpsa(), 16
    x = torch.randn(2, n, 16, dtype=D64)
    wq, wk = gpsa.qk.weight[:16], gpsa.qk.weight[16:]
    q = (x @ wq.T).reshape(2, n, 4, 4).transpose(1, 2)
    k = (x @ wk.T).reshape(2, n, 4, 4).transpose(1, 2)
    content = torch.softmax(q @ k.transpose(-2, -1) / 2.0, dim=-1)  # √d = 2
    pos = gpsa.positional_attention(n, x)
    gate = 1 / (1 + math.exp(-1.0))
    with torch.no_grad():
        assert torch.allclose(gpsa.get_attention(x), (1 - gate) * content + gate * pos,
                              rtol=0, atol=1e-12)
        # a saturated gate gives pure positional attention on V = I
        gpsa.gating_param.fill_(60.0)
        want = gpsa.proj((pos @ x.reshape(2, n, 4, 4).transpose(1, 2)).transpose(1, 2)
                         .reshape(2, n, 16))
        assert torch.allclose(gpsa(x), want, rtol=0, atol=1e-10)
    with pytest.raises(ConfigError, match="square grid"):
        gpsa(torch.randn(1, 17, 16, dtype=D64))


# --- the models -------------------------------------------------------------------------------

def timm_counts() -> dict[str, tuple[float, float]]:
    path = paths.EXTERNAL_DATA / "timm-benchmarks" / \
        "benchmark-infer-fp32-nchw-pt240-cpu-i7_12700h-dynamo.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        return {r["model"]: (float(r["param_count"]), float(r["infer_gmacs"]))
                for r in csv.DictReader(fh)}


@pytest.mark.parametrize("ours,timm", [
    ("deit_tiny", "deit_tiny_patch16_224"),
    ("deit_tiny_distilled", "deit_tiny_distilled_patch16_224"),
    ("pit_ti", "pit_ti_224"),
    ("convit_tiny", "convit_tiny"),
])
def test_sizes_match_timm_benchmark(ours, timm):
    """Params and MACs against timm's independent fvcore counts (CSV: 2 decimals)."""
    params_m, gmacs = timm_counts()[timm]
    counts = profile_model(ours)
    assert abs(counts.params / 1e6 - params_m) <= 0.006
    assert abs(counts.macs / 1e9 - gmacs) <= 0.006
    assert not counts.skipped_ops  # no operator with MACs escaped fvcore


def test_deit_tiny_closed_form_params():
    c, n = 192, 196
    want = (3 * 16 * 16 * c + c) + c + (n + 1) * c + 12 * (12 * c * c + 13 * c) + 2 * c \
        + c * 1000 + 1000
    assert sum(p.numel() for p in create_model("deit_tiny").parameters()) == want


def test_table9_deit_params_are_the_distilled_model():
    """Table 9's 5.9 M for DeiT-tiny is the distilled variant's count (5.91 M); the
    non-distilled model (Table 9's 72.2 % top-1) has 5.72 M."""
    pub = get_entry("DeiT-tiny").published
    distilled = profile_model("deit_tiny_distilled").params / 1e6
    plain = profile_model("deit_tiny").params / 1e6
    assert abs(distilled - pub.params_m) <= 0.05 < abs(plain - pub.params_m)


def test_deit_distilled_averages_its_two_heads():
    model = create_model("deit_tiny_distilled").eval()
    feats = {}
    model.norm.register_forward_hook(lambda m, i, o: feats.setdefault("x", o))
    with torch.no_grad():
        out = model(torch.randn(1, 3, 224, 224))
        want = (model.head(feats["x"][:, 0]) + model.head_dist(feats["x"][:, 1])) / 2
    assert torch.allclose(out, want)


def test_pit_ti_stages():
    """PiT-Ti (Table 1): 27² → 14² → 7² grids at widths 64, 128, 256; depthwise pooling."""
    model = create_model("pit_ti").eval()
    shapes = []
    for stage in model.stages:
        stage.register_forward_hook(lambda m, i, o: shapes.append((tuple(o[0].shape),
                                                                  tuple(o[1].shape))))
    with torch.no_grad():
        model(torch.randn(1, 3, 224, 224))
    assert shapes == [((1, 64, 27, 27), (1, 1, 64)), ((1, 128, 14, 14), (1, 1, 128)),
                      ((1, 256, 7, 7), (1, 1, 256))]
    assert [len(s.blocks) for s in model.stages] == [2, 6, 4]
    assert [s.blocks[0].attn.num_heads for s in model.stages] == [2, 4, 8]
    for pool in model.pools:
        assert pool.conv.groups == pool.conv.in_channels and pool.conv.kernel_size == (3, 3)
    with pytest.raises(ConfigError, match="token grid"):
        model(torch.randn(1, 3, 160, 160))


def test_convit_tiny_structure():
    model = create_model("convit_tiny")
    kinds = [type(b.attn).__name__ for b in model.blocks]
    assert kinds == ["GPSA"] * 10 + ["Attention"] * 2
    assert all(getattr(b.attn, "qkv", getattr(b.attn, "qk", None)).bias is None
               for b in model.blocks)
    assert model.blocks[0].attn.num_heads == 4 and model.blocks[0].attn.dim == 192
