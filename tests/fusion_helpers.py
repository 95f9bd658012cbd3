"""Helpers shared by the re-parameterization (BatchNorm folding, branch fusion) tests."""

from __future__ import annotations

import copy

import torch
import torch.nn as nn


def randomize_bn(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every BatchNorm (1d or 2d) random running statistics and affine parameters, so that
    folding them is actually exercised; eval mode."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.2)
                m.running_var.copy_(torch.rand(n, generator=g) * 1.5 + 0.5)
                m.weight.copy_(torch.rand(n, generator=g) + 0.5)
                m.bias.copy_(torch.randn(n, generator=g) * 0.2)
    return model.eval()


def max_rel_diff(a: nn.Module, b: nn.Module, x: torch.Tensor) -> float:
    """max |a(x) − b(x)| / max |a(x)| (the difference relative to the output scale)."""
    with torch.no_grad():
        ref, out = a(x), b(x)
    return ((ref - out).abs().max() / ref.abs().max()).item()


def assert_same_outputs(a: nn.Module, b: nn.Module, x: torch.Tensor, tol: float = 1e-4) -> None:
    """max |a(x) − b(x)| ≤ tol × max |a(x)|."""
    assert max_rel_diff(a, b, x) <= tol


def check_reparameterize_model(model: nn.Module, x: torch.Tensor) -> nn.Module:
    """``reparameterize_model(model)`` leaves ``model``'s state untouched and is idempotent
    (fusing the fused copy changes neither its output nor its state's names); returns the
    fused copy."""
    from analysis.models.fusion import reparameterize_model

    before = copy.deepcopy(model.state_dict())
    fused = reparameterize_model(model)
    after = model.state_dict()
    assert set(before) == set(after)
    assert all(torch.equal(before[k], after[k]) for k in before)
    twice = reparameterize_model(fused)
    with torch.no_grad():
        assert torch.equal(fused(x), twice(x))
    assert set(twice.state_dict()) == set(fused.state_dict())
    return fused
