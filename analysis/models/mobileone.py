"""MobileOne (Vasu et al., "An Improved One millisecond Mobile Backbone", CVPR 2023).

The architecture and the parameter names follow the official Apple release exactly, so its
checkpoints load with ``strict=True``: the unfused (train-time) ones into
``mobileone(variant, inference_mode=False)`` and the fused ones into ``inference_mode=True``.

Train time, each :class:`MobileOneBlock` sums up to three kinds of branch (paper §3.1, Fig. 3):

- ``rbr_conv``: k (the paper's over-parameterization factor) parallel k×k conv-BN branches;
- ``rbr_scale``: one 1×1 conv-BN branch ("scale" branch), only when the kernel is larger than 1;
- ``rbr_skip``: a BatchNorm on the identity, only when the input and output shapes match;

then applies Squeeze-Excite (S4 only) and ReLU. At inference the branches are folded into one
conv, ``reparam_conv`` (§3.1, "re-parameterization"): every BatchNorm is folded into its conv
(:func:`analysis.models.fusion.fuse_bn`), the 1×1 kernel is zero-padded to k×k, the identity is
written as a k×k kernel, and kernels and biases are summed — exact because convolution is
linear in its kernel.

Network (paper Table 7): a stem block, then stages of 2, 8, 10 and 1 units; each unit is a
3×3 depthwise block followed by a 1×1 pointwise block; global average pooling and a linear
classifier. Widths are 64·α0, 128·α1, 256·α2, 512·α3 (stem: min(64, 64·α0)).
"""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike
from typing import Mapping

import torch
import torch.nn as nn
import torch.nn.functional as F

from analysis.errors import CheckpointError, ConfigError, first_line
from analysis.models.layers import conv_bn_branch as _conv_bn
from analysis.models.fusion import fuse_bn, fused_conv, identity_kernel
from analysis.models.fusion import reparameterize_model  # noqa: F401 - also importable from here
from analysis.models.registry import register_model

PAPER = "Vasu et al., An Improved One millisecond Mobile Backbone, CVPR 2023"


class SEBlock(nn.Module):
    """Squeeze-Excite as in the official MobileOne: GAP → 1×1 ``reduce`` → ReLU → 1×1
    ``expand`` → sigmoid → rescale the input. ``reduce`` has ``int(C · rd_ratio)`` outputs."""

    def __init__(self, in_channels: int, rd_ratio: float = 0.0625) -> None:
        super().__init__()
        rd_channels = int(in_channels * rd_ratio)
        self.reduce = nn.Conv2d(in_channels, rd_channels, kernel_size=1, bias=True)
        self.expand = nn.Conv2d(rd_channels, in_channels, kernel_size=1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = F.adaptive_avg_pool2d(x, 1)
        s = torch.sigmoid(self.expand(F.relu(self.reduce(s))))
        return x * s


class MobileOneBlock(nn.Module):
    """One MobileOne block (paper Fig. 3): ``ReLU(SE(Σ branches))`` at train time and
    ``ReLU(SE(reparam_conv(x)))`` once re-parameterized.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, groups: conv geometry.
        inference_mode: build the fused form directly (to load a fused checkpoint).
        use_se: apply Squeeze-Excite after the merge (MobileOne-S4's last stages).
        num_conv_branches: k, the number of parallel k×k conv-BN branches (paper §3.1).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 stride: int = 1, padding: int = 0, groups: int = 1,
                 inference_mode: bool = False, use_se: bool = False,
                 num_conv_branches: int = 1) -> None:
        super().__init__()
        if num_conv_branches < 1:
            raise ConfigError(f"num_conv_branches (k) must be >= 1, got {num_conv_branches}")
        self.inference_mode = inference_mode
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding, self.groups = kernel_size, stride, padding, groups
        self.num_conv_branches = num_conv_branches

        self.se = SEBlock(out_channels) if use_se else nn.Identity()
        self.activation = nn.ReLU()

        self.rbr_skip: nn.BatchNorm2d | None = None
        self.rbr_conv: nn.ModuleList | None = None
        self.rbr_scale: nn.Sequential | None = None
        if inference_mode:
            self.reparam_conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride,
                                          padding, groups=groups, bias=True)
            return
        if in_channels == out_channels and stride == 1:
            self.rbr_skip = nn.BatchNorm2d(in_channels)
        self.rbr_conv = nn.ModuleList(
            _conv_bn(in_channels, out_channels, kernel_size, stride, padding, groups)
            for _ in range(num_conv_branches))
        if kernel_size > 1:
            self.rbr_scale = _conv_bn(in_channels, out_channels, 1, stride, 0, groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.inference_mode:
            return self.activation(self.se(self.reparam_conv(x)))
        out = self.rbr_conv[0](x)
        for branch in self.rbr_conv[1:]:
            out = out + branch(x)
        if self.rbr_scale is not None:
            out = out + self.rbr_scale(x)
        if self.rbr_skip is not None:
            out = out + self.rbr_skip(x)
        return self.activation(self.se(out))

    def _kernel_bias(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Σ of the BN-folded kernels and biases of all branches, each as a k×k kernel."""
        kernel, bias = 0, 0
        for branch in self.rbr_conv:
            w, b = fuse_bn(branch.conv.weight, branch.bn)
            kernel, bias = kernel + w, bias + b
        if self.rbr_scale is not None:
            w, b = fuse_bn(self.rbr_scale.conv.weight, self.rbr_scale.bn)
            pad = self.kernel_size // 2
            kernel, bias = kernel + F.pad(w, [pad, pad, pad, pad]), bias + b
        if self.rbr_skip is not None:
            ident = identity_kernel(self.in_channels, self.groups, self.kernel_size,
                                    like=self.rbr_conv[0].conv.weight)
            w, b = fuse_bn(ident, self.rbr_skip)
            kernel, bias = kernel + w, bias + b
        return kernel, bias

    @torch.no_grad()
    def reparameterize(self) -> None:
        """Fold all branches into ``reparam_conv`` in place (a no-op when already fused)."""
        if self.inference_mode:
            return
        kernel, bias = self._kernel_bias()
        self.reparam_conv = fused_conv(self.rbr_conv[0].conv, kernel, bias)
        self.rbr_conv = self.rbr_scale = self.rbr_skip = None
        self.inference_mode = True


@dataclass(frozen=True)
class MobileOneConfig:
    """Width multipliers (α0..α3), over-parameterization factor k and SE use of a variant."""

    width_multipliers: tuple[float, float, float, float]
    num_conv_branches: int = 1
    use_se: bool = False
    num_blocks_per_stage: tuple[int, int, int, int] = (2, 8, 10, 1)


#: The published variants (paper Table 7; official release).
VARIANTS: dict[str, MobileOneConfig] = {
    "s0": MobileOneConfig((0.75, 1.0, 1.0, 2.0), num_conv_branches=4),
    "s1": MobileOneConfig((1.5, 1.5, 2.0, 2.5)),
    "s2": MobileOneConfig((1.5, 2.0, 2.5, 4.0)),
    "s3": MobileOneConfig((2.0, 2.5, 3.0, 4.0)),
    "s4": MobileOneConfig((3.0, 3.5, 3.5, 4.0), use_se=True),
}


class MobileOne(nn.Module):
    """The MobileOne network (paper Table 7) with the official release's module names."""

    def __init__(self, num_blocks_per_stage: tuple[int, ...] = (2, 8, 10, 1),
                 num_classes: int = 1000,
                 width_multipliers: tuple[float, ...] = (0.75, 1.0, 1.0, 2.0),
                 inference_mode: bool = False, use_se: bool = False,
                 num_conv_branches: int = 1) -> None:
        super().__init__()
        if len(num_blocks_per_stage) != 4 or len(width_multipliers) != 4:
            raise ConfigError("MobileOne needs 4 stage lengths and 4 width multipliers, got "
                              f"{tuple(num_blocks_per_stage)} and {tuple(width_multipliers)}")
        self.inference_mode = inference_mode
        self.use_se = use_se
        self.num_conv_branches = num_conv_branches
        self.in_planes = min(64, int(64 * width_multipliers[0]))

        # The stem is never over-parameterized (k = 1).
        self.stage0 = MobileOneBlock(3, self.in_planes, kernel_size=3, stride=2, padding=1,
                                     inference_mode=inference_mode)
        n1, n2, n3, n4 = num_blocks_per_stage
        self.stage1 = self._make_stage(int(64 * width_multipliers[0]), n1, num_se_blocks=0)
        self.stage2 = self._make_stage(int(128 * width_multipliers[1]), n2, num_se_blocks=0)
        self.stage3 = self._make_stage(int(256 * width_multipliers[2]), n3,
                                       num_se_blocks=n3 // 2 if use_se else 0)
        self.stage4 = self._make_stage(int(512 * width_multipliers[3]), n4,
                                       num_se_blocks=n4 if use_se else 0)
        self.gap = nn.AdaptiveAvgPool2d(output_size=1)
        self.linear = nn.Linear(int(512 * width_multipliers[3]), num_classes)

    def _make_stage(self, planes: int, num_blocks: int, num_se_blocks: int) -> nn.Sequential:
        """``num_blocks`` units (depthwise 3×3 block + pointwise 1×1 block); the first unit
        has stride 2, the last ``num_se_blocks`` units use SE in both of their blocks."""
        blocks = []
        for ix in range(num_blocks):
            stride = 2 if ix == 0 else 1
            use_se = ix >= num_blocks - num_se_blocks
            blocks.append(MobileOneBlock(self.in_planes, self.in_planes, kernel_size=3,
                                         stride=stride, padding=1, groups=self.in_planes,
                                         inference_mode=self.inference_mode, use_se=use_se,
                                         num_conv_branches=self.num_conv_branches))
            blocks.append(MobileOneBlock(self.in_planes, planes, kernel_size=1, stride=1,
                                         padding=0, groups=1,
                                         inference_mode=self.inference_mode, use_se=use_se,
                                         num_conv_branches=self.num_conv_branches))
            self.in_planes = planes
        return nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stage0(x)
        x = self.stage1(x)
        x = self.stage2(x)
        x = self.stage3(x)
        x = self.stage4(x)
        x = self.gap(x)
        return self.linear(torch.flatten(x, 1))


def mobileone(variant: str = "s0", num_classes: int = 1000, inference_mode: bool = False,
              num_conv_branches: int | None = None, use_se: bool | None = None) -> MobileOne:
    """Build MobileOne-``variant`` (s0…s4) as the official factory does.

    ``num_conv_branches`` (k) and ``use_se`` override the variant's values (for ablations).
    """
    key = str(variant).lower()
    if key not in VARIANTS:
        raise ConfigError(f"unknown MobileOne variant {variant!r}; valid variants: "
                          f"{', '.join(VARIANTS)}")
    cfg = VARIANTS[key]
    return MobileOne(cfg.num_blocks_per_stage, num_classes, cfg.width_multipliers,
                     inference_mode=inference_mode,
                     use_se=cfg.use_se if use_se is None else use_se,
                     num_conv_branches=cfg.num_conv_branches if num_conv_branches is None
                     else num_conv_branches)


def load_checkpoint(model: nn.Module,
                    path_or_state_dict: str | PathLike | Mapping[str, torch.Tensor]) -> nn.Module:
    """Load an official (or project) checkpoint into ``model`` with ``strict=True``.

    Accepts a file path or a state dict, bare or wrapped as ``{"state_dict": …}``; a
    ``module.`` prefix (from DataParallel / DDP) is stripped. Any missing, unexpected or
    mis-shaped key raises :class:`CheckpointError` listing them; ``model`` is then unchanged.
    """
    source = "state dict"
    state = path_or_state_dict
    if isinstance(state, (str, PathLike)):
        source = str(state)
        try:
            state = torch.load(source, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise CheckpointError(f"{source}: checkpoint file not found") from None
        except Exception as exc:  # unpickling errors come in many types
            raise CheckpointError(f"{source}: not a readable PyTorch checkpoint "
                                  f"({first_line(exc, with_type=True)})") from None
    if isinstance(state, Mapping) and "state_dict" in state and isinstance(state["state_dict"], Mapping):
        state = state["state_dict"]
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{source}: expected a state dict (a mapping of parameter names "
                              f"to tensors), got {type(state).__name__}")
    state = {(k[len("module."):] if k.startswith("module.") else k): v for k, v in state.items()}

    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    misshaped = sorted(
        f"{k} (checkpoint {tuple(state[k].shape)}, model {tuple(expected[k].shape)})"
        for k in set(state) & set(expected)
        if not isinstance(state[k], torch.Tensor) or state[k].shape != expected[k].shape)
    if missing or unexpected or misshaped:
        parts = []
        for label, keys in (("missing", missing), ("unexpected", unexpected),
                            ("mis-shaped", misshaped)):
            if keys:
                shown = ", ".join(keys[:5]) + (f", … ({len(keys) - 5} more)" if len(keys) > 5 else "")
                parts.append(f"{len(keys)} {label} key(s): {shown}")
        hint = ""
        if any(".reparam_conv." in k for k in unexpected) or any(".reparam_conv." in k for k in missing):
            hint = " (a fused checkpoint needs inference_mode=True, an unfused one inference_mode=False)"
        wrappers = [k for k, v in state.items() if isinstance(v, Mapping)]
        if wrappers:  # e.g. {"model": state_dict, "optimizer": …, "epoch": …}
            hint += (f" (the checkpoint wraps its weights in {{{wrappers[0]!r}: …}}; pass "
                     f"torch.load(path, weights_only=True)[{wrappers[0]!r}])")
        raise CheckpointError(f"{source} does not fit {type(model).__name__}: "
                              + "; ".join(parts) + hint)
    model.load_state_dict(state, strict=True)
    return model


def _register(variant: str) -> None:
    @register_model(f"mobileone_{variant}", display_name=f"MobileOne-{variant.upper()}",
                    family="mobileone", paper=PAPER)
    def build(num_classes: int = 1000, inference_mode: bool = False, **kwargs) -> MobileOne:
        return mobileone(variant, num_classes=num_classes, inference_mode=inference_mode, **kwargs)


for _variant in VARIANTS:
    _register(_variant)
