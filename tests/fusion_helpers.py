"""Helpers shared by the re-parameterization (BatchNorm folding, branch fusion) tests."""

from __future__ import annotations

import copy

import torch
import torch.nn as nn

from analysis.models.fusion import randomize_batchnorm


#: Random BatchNorm statistics (the package's helper; used by notebook 04 as well).
randomize_bn = randomize_batchnorm


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
