"""The activations of the paper's Table 2 that depend on the input: SE-ReLU, DyReLU, Shift-Max.

MobileOne (Vasu et al., CVPR 2023, §3 and Table 2) puts each of these in the same 30-layer
network (:mod:`analysis.models.ablation`) to show that activations needing a global view of
the feature map (a synchronization point) cost far more on a phone than their FLOPs suggest.
Notation: x has C channels, GAP is global average pooling, σ is the logistic sigmoid.

- **SE-ReLU**: ReLU preceded by Squeeze-Excite (Hu et al., CVPR 2018) in the order of the
  official MobileOne (conv → SE → ReLU): ``ReLU(x · σ(W2 ReLU(W1 GAP(x))))`` with ``W1: C → C/r``,
  ``W2: C/r → C`` (1×1 convs with bias) and MobileOne's ratio 1/r = 0.0625.
- **DyReLU** (Chen et al., "Dynamic ReLU", ECCV 2020):
  ``y_c = max_k (a_c^k(x) · x_c + b_c^k(x))`` with ``a^k = α^k + λ_a Δa^k`` and
  ``b^k = β^k + λ_b Δb^k``; the residuals come from the hyper-function
  ``θ(x) = 2σ(FC2(ReLU(FC1(GAP(x))))) − 1 ∈ [−1, 1]`` (FC1: C → C/R). Defaults K = 2,
  α = (1, 0), β = (0, 0), λ_a = 1, λ_b = 0.5, R = 4, so DyReLU is ReLU when θ = 0.
  DyReLU-A shares one set of 2K coefficients over all channels; DyReLU-B has 2K per channel.
- **Dynamic Shift-Max** (Li et al., "MicroNet", ICCV 2021):
  ``y_i = max_k Σ_j a_{i,j}^k(x) · x_{(i + j·C/G) mod C}``, j < J, k < K, with
  ``a^k_{i,j} = a0^k_{j} + λ Δa^k_{i,j}`` from the same kind of hyper-function (C·J·K outputs),
  initial values ``a0^1_0 = 1`` and 0 otherwise. Defaults J = 2, K = 2, G = 4 (the ablation
  network has no group conv), R = 4, λ = 1 (the residual spans [−1, 1], as in MicroNet's
  ``(h_sigmoid − 0.5) · 2``).

**Layout of the hyper-function outputs** θ, shape ``(B, n, 1, 1)``, split along the channel axis
into consecutive chunks of m = 1 (DyReLU-A) or C (DyReLU-B, Shift-Max) entries:
DyReLU — chunk k is Δa^k (k < K), chunk K + k is Δb^k; Shift-Max — chunk k·J + j is Δa^k_{·,j}.

**Core ML.** Core ML accepts tensors of rank ≤ 5 only. Every operator here loops over the small
K and J and keeps every intermediate at rank 4 (B, C, H, W); the circular channel shift is
``torch.roll`` on the channel axis, which converts.

The operators are registered as activations by name (``"se_relu"``, ``"dyrelu_a"``,
``"dyrelu_b"``, ``"dynamic_shift_max"``); they need the channel count:
``get_activation("dyrelu_b", channels=64)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from analysis.errors import ConfigError
from analysis.models.layers import SqueezeExcite, register_activation

#: Squeeze-Excite ratio of the official MobileOne (``rd_ratio=0.0625``, i.e. r = 16).
SE_RATIO = 0.0625


def _check_channels(name: str, channels) -> int:
    if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
        raise ConfigError(f"{name} needs a positive integer channel count, got {channels!r}")
    return channels


@dataclass(frozen=True)
class DyReLUConfig:
    """DyReLU hyper-parameters (Chen et al., ECCV 2020, §3.2 and §4 defaults).

    Attributes:
        k: number of linear pieces K (the max is over K functions).
        reduction: R, the hyper-function's bottleneck FC1: C → max(1, C // R).
        lambda_a, lambda_b: λ_a, λ_b, scales of the residuals of the slopes and intercepts.
        alpha, beta: initial slopes α^k and intercepts β^k, one per piece.
    """

    k: int = 2
    reduction: int = 4
    lambda_a: float = 1.0
    lambda_b: float = 0.5
    alpha: tuple[float, ...] = (1.0, 0.0)
    beta: tuple[float, ...] = (0.0, 0.0)

    def __post_init__(self) -> None:
        if self.k < 1 or self.reduction < 1:
            raise ConfigError(f"DyReLU needs k >= 1 and reduction >= 1, got k={self.k}, "
                              f"reduction={self.reduction}")
        if len(self.alpha) != self.k or len(self.beta) != self.k:
            raise ConfigError(f"DyReLU needs one alpha and one beta per piece (k={self.k}), "
                              f"got alpha={self.alpha}, beta={self.beta}")


@dataclass(frozen=True)
class ShiftMaxConfig:
    """Dynamic Shift-Max hyper-parameters (Li et al., MicroNet, ICCV 2021, §3.2).

    Attributes:
        j: number of shifted copies mixed per fusion J (j = 0 is the channel itself).
        k: number of fusions K the max is taken over.
        groups: G; the shift step is C / G channels (C must be divisible by G, J ≤ G).
        reduction: R, the hyper-function's bottleneck FC1: C → max(1, C // R).
        lambda_a: λ, scale of the residual of every coefficient.
    """

    j: int = 2
    k: int = 2
    groups: int = 4
    reduction: int = 4
    lambda_a: float = 1.0

    def __post_init__(self) -> None:
        if min(self.j, self.k, self.groups, self.reduction) < 1 or self.j > self.groups:
            raise ConfigError(f"Dynamic Shift-Max needs 1 <= j <= groups and k, reduction >= 1, "
                              f"got j={self.j}, k={self.k}, groups={self.groups}, "
                              f"reduction={self.reduction}")

    def initial(self, k: int, j: int) -> float:
        """The initial coefficient a0^k_j: 1 for the first fusion's unshifted copy, else 0."""
        return 1.0 if (k, j) == (0, 0) else 0.0


class HyperFunction(nn.Module):
    """θ(x) = 2σ(FC2(ReLU(FC1(GAP(x))))) − 1, shape ``(B, out_features, 1, 1)``, in [−1, 1].

    The FCs are 1×1 convolutions with bias on the pooled ``(B, C, 1, 1)`` tensor (as in SE),
    so everything stays rank 4. ``fc2`` is the last FC: zeroing it gives θ = 2σ(0) − 1 = 0.
    """

    def __init__(self, channels: int, out_features: int, reduction: int = 4) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc1 = nn.Conv2d(channels, hidden, 1, bias=True)
        self.act = nn.ReLU()
        self.fc2 = nn.Conv2d(hidden, out_features, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = F.adaptive_avg_pool2d(x, 1)
        return 2.0 * torch.sigmoid(self.fc2(self.act(self.fc1(s)))) - 1.0


class SEReLU(nn.Module):
    """SE-ReLU: ``ReLU(SE(x))``, Squeeze-Excite (Hu et al. 2018) then ReLU, the order of the
    official MobileOne block (conv → SE → ReLU). The bottleneck has
    ``max(1, int(C · rd_ratio))`` channels (MobileOne's ``int(C · 0.0625)``, floored at 1)."""

    needs_channels = True

    def __init__(self, channels: int, rd_ratio: float = SE_RATIO) -> None:
        super().__init__()
        channels = _check_channels("se_relu", channels)
        if not 0 < rd_ratio <= 1:
            raise ConfigError(f"se_relu: rd_ratio must be in (0, 1], got {rd_ratio!r}")
        self.channels = channels
        self.se = SqueezeExcite(channels, max(1, int(channels * rd_ratio)), act="relu",
                                gate="sigmoid")
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.se(x))


class DyReLU(nn.Module):
    """Dynamic ReLU (Chen et al., ECCV 2020): ``y_c = max_k (a_c^k x_c + b_c^k)`` with
    ``a^k = α^k + λ_a Δa^k``, ``b^k = β^k + λ_b Δb^k`` and (Δa, Δb) = θ(x).

    Args:
        channels: C of the input.
        per_channel: False for DyReLU-A (2K coefficients shared by all channels), True for
            DyReLU-B (2K coefficients per channel, θ has 2K·C outputs).
        config: :class:`DyReLUConfig` (the paper's defaults when ``None``).
    """

    needs_channels = True

    def __init__(self, channels: int, per_channel: bool,
                 config: DyReLUConfig | None = None) -> None:
        super().__init__()
        self.channels = _check_channels("DyReLU", channels)
        self.config = config or DyReLUConfig()
        self.per_channel = per_channel
        self.chunk = channels if per_channel else 1  # coefficients per piece and per kind
        self.hyper = HyperFunction(channels, 2 * self.config.k * self.chunk,
                                   self.config.reduction)

    def coefficients(self, x: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Slopes a^k and intercepts b^k, each ``(B, m, 1, 1)`` with m = 1 (A) or C (B)."""
        cfg, m = self.config, self.chunk
        theta = self.hyper(x)
        a = [cfg.alpha[k] + cfg.lambda_a * theta[:, k * m:(k + 1) * m] for k in range(cfg.k)]
        b = [cfg.beta[k] + cfg.lambda_b * theta[:, (cfg.k + k) * m:(cfg.k + k + 1) * m]
             for k in range(cfg.k)]
        return a, b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.coefficients(x)
        y = x * a[0] + b[0]
        for a_k, b_k in zip(a[1:], b[1:]):
            y = torch.maximum(y, x * a_k + b_k)
        return y

    def extra_repr(self) -> str:
        kind = "B" if self.per_channel else "A"
        return f"DyReLU-{kind}, channels={self.channels}, k={self.config.k}"


class DyReLUA(DyReLU):
    """DyReLU-A: one set of 2K coefficients shared by all channels and positions."""

    def __init__(self, channels: int, config: DyReLUConfig | None = None) -> None:
        super().__init__(channels, per_channel=False, config=config)


class DyReLUB(DyReLU):
    """DyReLU-B: 2K coefficients per channel, shared over positions."""

    def __init__(self, channels: int, config: DyReLUConfig | None = None) -> None:
        super().__init__(channels, per_channel=True, config=config)


class DynamicShiftMax(nn.Module):
    """Dynamic Shift-Max (Li et al., MicroNet, ICCV 2021):
    ``y_i = max_k Σ_j a^k_{i,j}(x) · x_{(i + j·C/G) mod C}``, ``a^k_{i,j} = a0^k_j + λ Δa^k_{i,j}``.

    The j-th copy is ``torch.roll(x, −j·C/G, dims=1)`` (its channel i is x's channel
    ``(i + j·C/G) mod C``); it is computed once and shared by the K fusions.

    Args:
        channels: C of the input; divisible by ``config.groups``.
        config: :class:`ShiftMaxConfig` (J = K = 2, G = 4, R = 4 when ``None``).
    """

    needs_channels = True

    def __init__(self, channels: int, config: ShiftMaxConfig | None = None) -> None:
        super().__init__()
        self.channels = _check_channels("dynamic_shift_max", channels)
        self.config = config or ShiftMaxConfig()
        if channels % self.config.groups:
            raise ConfigError(f"dynamic_shift_max: {channels} channels are not divisible into "
                              f"{self.config.groups} groups")
        self.shift = channels // self.config.groups
        self.hyper = HyperFunction(channels, self.config.k * self.config.j * channels,
                                   self.config.reduction)

    def coefficients(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        """``a[k][j]``, each ``(B, C, 1, 1)``."""
        cfg, c = self.config, self.channels
        theta = self.hyper(x)
        return [[cfg.initial(k, j) + cfg.lambda_a * theta[:, (k * cfg.j + j) * c:
                                                          (k * cfg.j + j + 1) * c]
                 for j in range(cfg.j)] for k in range(cfg.k)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.coefficients(x)
        copies = [x] + [torch.roll(x, -j * self.shift, dims=1) for j in range(1, self.config.j)]
        y = None
        for a_k in a:
            z = a_k[0] * copies[0]
            for a_kj, copy in zip(a_k[1:], copies[1:]):
                z = z + a_kj * copy
            y = z if y is None else torch.maximum(y, z)
        return y

    def extra_repr(self) -> str:
        cfg = self.config
        return f"channels={self.channels}, j={cfg.j}, k={cfg.k}, groups={cfg.groups}"


#: Activations of the paper's Table 2 defined here, by the name ``get_activation`` takes.
DYNAMIC_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "se_relu": SEReLU,
    "dyrelu_a": DyReLUA,
    "dyrelu_b": DyReLUB,
    "dynamic_shift_max": DynamicShiftMax,
}

for _name, _cls in DYNAMIC_ACTIVATIONS.items():
    register_activation(_name, _cls)
