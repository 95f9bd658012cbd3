"""MobileViT and Mobile-Former: their specific pieces, checked against independent computations
(torch's own unfold, closed-form attention and parameter counts, hand-written formulas) and
their published sizes (timm's independent counts, the Mobile-Former authors' release)."""

from __future__ import annotations

import csv

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from fvcore.nn import FlopCountAnalysis
from torch.overrides import TorchFunctionMode

from analysis import paths
from analysis.errors import ConfigError
from analysis.models import create_model, deploy
from analysis.models.mobileformer import (DynamicReLU, Former, FormerToMobile, LinearBnAct,
                                          MFBlockSpec, MobileToFormer, mobileformer)
from analysis.models.mobilevit import (MobileViTBlock, fold_patches, mobilevit,
                                       unfold_patches)
from fusion_helpers import randomize_bn


class _MaxRank(TorchFunctionMode):
    """Records the largest rank of any tensor produced during a forward pass."""

    def __init__(self):
        super().__init__()
        self.max_rank = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                self.max_rank = max(self.max_rank, t.dim())
        return out


# ----------------------------------------------------------------------------------------------
# MobileViT
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(1, 3, 4, 4), (2, 5, 8, 6), (2, 16, 32, 32)])
def test_unfold_then_fold_is_identity(shape):
    x = torch.randn(shape)
    patches = unfold_patches(x, 2)
    assert patches.shape == (shape[0] * 4, shape[2] * shape[3] // 4, shape[1])
    assert torch.equal(fold_patches(patches, 2, shape[2], shape[3]), x)


@pytest.mark.parametrize("patch", [2, 4])
def test_unfold_matches_torch_unfold(patch):
    """Sequence p holds pixel p of every patch, patches in raster order — compared with
    ``F.unfold`` (columns = patches in raster order, rows = channel-major kernel positions)."""
    b, c, h, w = 2, 3, 8, 12
    x = torch.randn(b, c, h, w)
    cols = F.unfold(x, patch, stride=patch)  # (B, C·P, N)
    n = cols.shape[-1]
    want = cols.reshape(b, c, patch * patch, n).permute(0, 2, 3, 1).reshape(-1, n, c)
    assert torch.equal(unfold_patches(x, patch), want)


def test_mobilevit_keeps_every_tensor_at_rank_5_or_less():
    """Core ML accepts rank <= 5: unfold / fold stay at rank 4 (the shared attention's qkv
    split reaches 5)."""
    x = torch.randn(2, 16, 8, 8)
    mode = _MaxRank()
    with mode:
        fold_patches(unfold_patches(x, 2), 2, 8, 8)
    assert mode.max_rank == 4
    block = MobileViTBlock(16, 32, depth=1).eval()
    mode = _MaxRank()
    with torch.no_grad(), mode:
        y = block(x)
    assert y.shape == x.shape
    assert mode.max_rank <= 5


def test_mobilevit_non_multiple_size_is_resized_like_the_official_code():
    block = MobileViTBlock(8, 16, depth=1).eval()
    with torch.no_grad():
        assert block(torch.randn(1, 8, 7, 5)).shape == (1, 8, 7, 5)
    model = mobilevit("xxs").eval()
    with torch.no_grad():  # 224 gives a 7×7 last stage: resized to 8×8 and back
        assert model(torch.randn(1, 3, 224, 224)).shape == (1, 1000)


def test_mobilevit_attention_macs_are_counted():
    """fvcore's matmul count of one block = 2·P·N²·d per transformer layer (q·kᵀ and attn·v)."""
    c, d, depth, hw = 8, 16, 2, 8
    block = MobileViTBlock(c, d, depth=depth).eval()
    flops = FlopCountAnalysis(block, torch.zeros(1, c, hw, hw))
    flops.unsupported_ops_warnings(False)
    p, n = 4, hw * hw // 4
    assert flops.by_operator()["matmul"] == depth * 2 * p * n * n * d


def test_mobilevit_deploy_is_exact():
    model = randomize_bn(mobilevit("xxs")).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(deploy(model)(x), model(x), rtol=1e-4, atol=1e-4)


def _unfused_counts(model_id: str, size: int) -> tuple[float, float]:
    """(params, MACs) in millions of the un-fused model in eval mode, fvcore's default count
    (one trace only: faster than :func:`count_complexity`)."""
    model = create_model(model_id).eval()
    with torch.no_grad():
        flops = FlopCountAnalysis(model, torch.zeros(1, 3, size, size))
        flops.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        macs = flops.total()
    return sum(p.numel() for p in model.parameters()) / 1e6, macs / 1e6


def _timm_counts() -> dict[str, dict]:
    path = paths.EXTERNAL_DATA / "timm-benchmarks"
    rows = {}
    for file in sorted(path.glob("*.csv")):
        with open(file, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                rows.setdefault(row["model"], row)
    return rows


@pytest.mark.parametrize("model_id", [
    "mobilevit_xxs",
    pytest.param("mobilevit_xs", marks=pytest.mark.slow),
    pytest.param("mobilevit_s", marks=pytest.mark.slow),
])
def test_mobilevit_matches_timms_independent_count(model_id):
    """timm's benchmark counts the un-fused model at 256²: params (M, 2 decimals) and GMACs
    (2 decimals). Ours must agree to their rounding (plus 0.5 %)."""
    row = _timm_counts()[model_id]
    assert int(row["infer_img_size"]) == 256
    params_m, macs_m = _unfused_counts(model_id, 256)
    assert abs(params_m - float(row["param_count"])) <= 0.005 + 0.005 * params_m
    assert abs(macs_m / 1e3 - float(row["infer_gmacs"])) <= 0.005 + 0.005 * macs_m / 1e3


def test_mobilevit_bad_variant_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown MobileViT variant"):
        mobilevit("xxxs")
    with pytest.raises(ConfigError, match="not divisible"):
        MobileViTBlock(8, 30, depth=1, num_heads=4)


# ----------------------------------------------------------------------------------------------
# Mobile-Former
# ----------------------------------------------------------------------------------------------
def test_dynamic_relu_is_relu_when_the_hyper_function_outputs_one_half():
    act = DynamicReLU(6, token_dim=16)
    nn.init.zeros_(act.fc2.weight)
    nn.init.zeros_(act.fc2.bias)  # hsigmoid(0) = 1/2 -> a1 = 1, a2 = 0
    x = torch.randn(2, 6, 5, 5)
    assert torch.equal(act(x, torch.randn(2, 16)), F.relu(x))


def test_dynamic_relu_at_init_is_close_to_relu():
    """The official initialisation (linear weights N(0, 0.01²)) starts near ReLU."""
    model = mobileformer("52m")
    act = model.blocks[1].act1
    x = torch.randn(1, act.channels, 4, 4)
    torch.testing.assert_close(act(x, torch.randn(1, 128)), F.relu(x), atol=0.05, rtol=0.05)


def test_dynamic_relu_formula():
    """y = max(2θ¹·x, (2θ² − 1)·x) with θ = relu6(fc2(relu(fc1 z)) + 3)/6, written out."""
    c, d = 3, 8
    act = DynamicReLU(c, token_dim=d, reduction=2)
    z, x = torch.randn(2, d), torch.randn(2, c, 4, 4)
    h = torch.clamp(z @ act.fc1.weight.T + act.fc1.bias, min=0)
    theta = torch.clamp(h @ act.fc2.weight.T + act.fc2.bias + 3, 0, 6) / 6
    a1 = (2 * theta[:, :c])[:, :, None, None]
    a2 = (2 * theta[:, c:] - 1)[:, :, None, None]
    want = torch.where(a1 * x > a2 * x, a1 * x, a2 * x)
    torch.testing.assert_close(act(x, z), want)


def _reference_attention(q, k, v, heads):
    """Multi-head softmax attention over channel slices, one head at a time (no batching)."""
    c = q.shape[-1]
    outs = []
    for i in range(heads):
        sl = slice(i * c // heads, (i + 1) * c // heads)
        w = torch.softmax(q[..., sl] @ k[..., sl].transpose(-1, -2) / (c // heads) ** 0.5, -1)
        outs.append(w @ v[..., sl])
    return torch.cat(outs, dim=-1)


@pytest.mark.parametrize("heads", [1, 2])
def test_mobile_to_former_matches_reference(heads):
    b, c, h, w, m, d = 2, 8, 3, 5, 3, 16
    bridge = MobileToFormer(c, d, heads=heads, dynamic=True)
    for p in bridge.parameters():
        nn.init.normal_(p, std=0.3)
    x, z = torch.randn(b, c, h, w), torch.randn(b, m, d)
    pix = x.flatten(2).transpose(1, 2)  # (B, HW, C): keys = values = pixels, no projection
    q = z @ bridge.q.weight.T + bridge.q.bias
    gate = 2 * F.hardsigmoid(z @ bridge.alpha[0].weight.T + bridge.alpha[0].bias)
    out = (_reference_attention(q, pix, pix, heads) * gate) @ bridge.proj.weight.T
    want = F.layer_norm(z + out + bridge.proj.bias, (d,), bridge.norm.weight, bridge.norm.bias)
    got = bridge(x, z)
    assert got.shape == (b, m, d)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("heads", [1, 2])
def test_former_to_mobile_matches_reference(heads):
    b, c, h, w, m, d = 2, 8, 3, 5, 4, 16
    bridge = FormerToMobile(c, d, heads=heads)
    for p in bridge.parameters():
        nn.init.normal_(p, std=0.3)
    x, z = torch.randn(b, c, h, w), torch.randn(b, m, d)
    pix = x.flatten(2).transpose(1, 2)  # queries = pixels, no projection
    k = z @ bridge.k.weight.T + bridge.k.bias
    v = z @ bridge.v.weight.T + bridge.v.bias
    want = x + _reference_attention(pix, k, v, heads).transpose(1, 2).reshape(b, c, h, w)
    got = bridge(x, z)
    assert got.shape == (b, c, h, w)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_former_to_mobile_with_one_token_adds_its_value():
    """With a single token the softmax is 1 everywhere: every pixel gets ``W_v z + b_v``."""
    bridge = FormerToMobile(6, 8, heads=2)
    x, z = torch.randn(1, 6, 4, 4), torch.randn(1, 1, 8)
    v = bridge.v(z)[0, 0]
    torch.testing.assert_close(bridge(x, z), x + v[None, :, None, None])


def test_former_matches_reference_and_closed_form_size():
    d, heads, m = 16, 4, 3
    former = Former(d, heads=heads, ffn_ratio=2)
    for p in former.parameters():
        nn.init.normal_(p, std=0.3)
    z = torch.randn(2, m, d)
    q = z @ former.q.weight.T + former.q.bias
    a = _reference_attention(q, z, z, heads) @ former.proj.weight.T + former.proj.bias
    z1 = F.layer_norm(z + a, (d,), former.norm1.weight, former.norm1.bias)
    f = former.ffn[2](F.gelu(former.ffn[0](z1)))
    want = F.layer_norm(z1 + f, (d,), former.norm2.weight, former.norm2.bias)
    torch.testing.assert_close(former(z), want, rtol=1e-5, atol=1e-5)
    # W_q, W_o (d² + d each), FFN (2d² + 2d, 2d² + d), two LayerNorms (2d each)
    assert sum(p.numel() for p in former.parameters()) == 6 * d * d + 9 * d


def test_linear_bn_fold_is_exact():
    layer = randomize_bn(LinearBnAct(10, 6)).eval()
    x = torch.randn(3, 10)
    with torch.no_grad():
        want = layer(x)
        layer.reparameterize()
        assert isinstance(layer.bn, nn.Identity)
        torch.testing.assert_close(layer(x), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("variant", ["52m", "96m"])
def test_mobileformer_deploy_is_exact_and_shapes(variant):
    model = randomize_bn(mobileformer(variant)).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        feats, tokens = model.forward_features(x)
        cfg = model.cfg
        assert feats.shape == (2, cfg.blocks[-1].out_channels, 2, 2)
        assert tokens.shape == (2, cfg.num_tokens, cfg.token_dim)
        torch.testing.assert_close(deploy(model)(x), model(x), rtol=1e-4, atol=1e-4)
        mode = _MaxRank()
        with mode:
            model(x)
        assert mode.max_rank <= 4


#: The sizes the Mobile-Former authors publish for their release (README of
#: github.com/AAboys/MobileFormer): params in M (1 decimal) and FLOPs in M (integer), counted
#: on the un-fused model.
AUTHORS_SIZES = {"mobileformer_52m": (3.5, 52), "mobileformer_96m": (4.6, 96)}


@pytest.mark.parametrize("model_id", sorted(AUTHORS_SIZES))
def test_mobileformer_unfused_matches_the_authors_sizes(model_id):
    want_params, want_macs = AUTHORS_SIZES[model_id]
    params_m, macs_m = _unfused_counts(model_id, 224)
    assert abs(params_m - want_params) <= 0.05  # rounding to 0.1 M
    assert abs(macs_m - want_macs) <= 0.5 + 0.005 * want_macs  # rounding to 1 M (+0.5 %)


def test_mobileformer_config_errors():
    with pytest.raises(ConfigError, match="unknown Mobile-Former variant"):
        mobileformer("53m")
    with pytest.raises(ConfigError, match="unknown Mobile-Former config field"):
        mobileformer("52m", tokens=6)
    with pytest.raises(ConfigError, match="stride 2"):
        MFBlockSpec("down", 24, 6, 1, 4)
    with pytest.raises(ConfigError, match="heads"):
        MobileToFormer(10, 16, heads=3)
