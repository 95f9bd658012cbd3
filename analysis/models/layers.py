"""Building blocks shared by the model families (written once, used everywhere).

Activations are chosen by string (:func:`get_activation`), as in timm. Re-parameterizable
models (MobileOne, RepVGG) share :func:`fuse_bn` and are fused by
:func:`analysis.models.mobileone.reparameterize_model`, which calls ``reparameterize()`` on
every sub-module that has one.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from analysis.errors import ConfigError

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "swish": nn.SiLU,
    "hardswish": nn.Hardswish,
    "hard_swish": nn.Hardswish,
    "hardsigmoid": nn.Hardsigmoid,
    "hard_sigmoid": nn.Hardsigmoid,
    "sigmoid": nn.Sigmoid,
    "identity": nn.Identity,
}


def register_activation(name: str, cls: type[nn.Module]) -> None:
    """Make ``get_activation(name)`` build ``cls`` (used by the dynamic activations)."""
    _ACTIVATIONS[name.lower()] = cls


def get_activation(name: str | None, **kwargs) -> nn.Module:
    """A fresh activation module for ``name`` (``None`` or ``"identity"`` gives Identity)."""
    key = "identity" if name is None else str(name).lower()
    if key not in _ACTIVATIONS:
        raise ConfigError(f"unknown activation {name!r}; known: {', '.join(sorted(_ACTIVATIONS))}")
    cls = _ACTIVATIONS[key]
    if getattr(cls, "needs_channels", False):  # the dynamic activations (models/dynamic.py)
        if kwargs.get("channels") is None:
            raise ConfigError(f"activation {name!r} depends on the channel count: pass channels=")
    else:
        kwargs.pop("channels", None)  # `channels=` is accepted, and ignored, by every activation
    if cls in (nn.ReLU, nn.ReLU6, nn.SiLU, nn.Hardswish, nn.Hardsigmoid) and "inplace" not in kwargs:
        return cls()
    return cls(**kwargs)


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None,
                   round_limit: float = 0.9) -> int:
    """Round ``value`` to a multiple of ``divisor`` without going below ``round_limit``×value.

    The rule of the MobileNetV2 / EfficientNet reference code.
    """
    min_value = min_value or divisor
    new = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new < round_limit * value:
        new += divisor
    return new


class ConvBnAct(nn.Sequential):
    """Conv2d (no bias) → BatchNorm2d → activation; padding defaults to 'same' for odd k."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3,
                 stride: int = 1, groups: int = 1, act: str | None = "relu",
                 padding: int | None = None, dilation: int = 1) -> None:
        if padding is None:
            padding = dilation * (kernel_size - 1) // 2
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding,
                              dilation=dilation, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.act = get_activation(act)


class SqueezeExcite(nn.Module):
    """Squeeze-and-Excitation (Hu et al., CVPR 2018): ``x · gate(W2 act(W1 GAP(x)))``.

    ``rd_channels`` is the bottleneck width (callers compute it with their paper's rule).
    """

    def __init__(self, channels: int, rd_channels: int, act: str = "relu",
                 gate: str = "sigmoid") -> None:
        super().__init__()
        self.conv_reduce = nn.Conv2d(channels, rd_channels, 1, bias=True)
        self.act = get_activation(act)
        self.conv_expand = nn.Conv2d(rd_channels, channels, 1, bias=True)
        self.gate = get_activation(gate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = nn.functional.adaptive_avg_pool2d(x, 1)
        s = self.conv_expand(self.act(self.conv_reduce(s)))
        return x * self.gate(s)


def fuse_bn(kernel: torch.Tensor, bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Fold a BatchNorm that follows a bias-free conv into the conv's kernel and a bias.

    With σ = sqrt(running_var + eps): ``W' = W · γ/σ`` (per output channel) and
    ``b' = β − μ · γ/σ`` — exact for the BatchNorm's inference (eval-mode) behaviour.
    """
    std = (bn.running_var + bn.eps).sqrt()
    scale = bn.weight / std
    return kernel * scale.reshape(-1, 1, 1, 1), bn.bias - bn.running_mean * scale


def identity_kernel(channels: int, groups: int, kernel_size: int,
                    like: torch.Tensor) -> torch.Tensor:
    """The k×k kernel of an identity map: 1 at the centre of input channel ``i mod (C/groups)``."""
    in_per_group = channels // groups
    kernel = torch.zeros(channels, in_per_group, kernel_size, kernel_size,
                         dtype=like.dtype, device=like.device)
    centre = kernel_size // 2
    for i in range(channels):
        kernel[i, i % in_per_group, centre, centre] = 1.0
    return kernel
