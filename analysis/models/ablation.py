"""The 30-layer ablation network of the paper's Tables 2 and 3 (Vasu et al., CVPR 2023, §3).

MobileOne's authors benchmark "a 30-layer convolutional neural network" on an iPhone 12 with
different activations (Table 2) and with added blocks (Table 3); they do not publish its layout.
This module defines one, :class:`AblationNet`, in which the variants differ *only* in what the
ablation changes: the activation after every conv layer, or the Squeeze-Excite / skip blocks.

Layout (a plain, mobile-style 3×3 conv network, VGG/RepVGG-like, counted like ResNet: the
depth is the number of weight layers, convolutions plus the classifier):

=========  ======================================  ==========  =========================
part       layers                                  stride      width (channels out)
=========  ======================================  ==========  =========================
stem       1 × conv3×3-BN-act                      2           w
stage 1    1 × conv3×3-BN-act, then b1 blocks      2, then 1   w
stage 2    1 × conv3×3-BN-act, then b2 blocks      2, then 1   2w
stage 3    1 × conv3×3-BN-act, then b3 blocks      2, then 1   4w
stage 4    1 × conv3×3-BN-act, then b4 blocks      2, then 1   8w
head       global average pool, linear             —           ``num_classes``
=========  ======================================  ==========  =========================

A *block* is two stride-1 conv3×3-BN-act layers (a ResNet basic block without its shortcut).
depth = 1 + 4 + 2·(b1 + b2 + b3 + b4) + 1, so the depth must be even and ≥ 6; the
(depth − 6)/2 blocks are spread over the stages in the ratio 1 : 3 : 6 : 2 (most of the work at
1/16 resolution, as in mobile backbones), which for depth 30 gives exactly (1, 3, 6, 2).
:func:`layer_table` lists every layer of a built network (the notebooks show it).

Where the Table 3 blocks go (``se=`` / ``skip=``):

- ``se``: Squeeze-Excite (MobileOne's, ratio 0.0625) between a conv's BN and its activation,
  the official MobileOne order conv → BN → SE → act. ``"none"``; ``"every"`` (all conv layers:
  the same computation as the SE-ReLU activation); ``"block"`` (the second conv of every block,
  i.e. on the residual branch before the addition, as in SE-ResNet, Hu et al. 2018);
  ``"last_stage"`` (every conv of stage 4, as MobileOne-S4 uses SE only in its late stages).
- ``skip``: identity shortcuts added before the activation, ``act(BN(conv(·)) [+ SE] + x)``.
  ``"none"``; ``"block"`` (around every block, as in ResNet, He et al. 2016); ``"every"``
  (around every conv whose input and output shapes match, i.e. every stride-1 conv).

The registered variants (group ``ablation``) keep every other argument at its default:
Table 2 — ``ablation_<activation>`` for ReLU, GELU, SE-ReLU, SiLU, Dynamic Shift-Max,
DyReLU-A and DyReLU-B; Table 3 — ``ablation_baseline`` (the ReLU network), ``ablation_se``
(``se="every"``: the paper's Table 3 reports the same 2.10 ms for "+ Squeeze-Excite" as Table 2
for SE-ReLU, which suggests the same network, so ``ablation_se`` computes exactly what
``ablation_se_relu`` computes; ``se="block"`` and ``"last_stage"`` stay selectable) and
``ablation_skip`` (``skip="block"``). ``ablation_relu6`` and
``ablation_hardswish`` are extras (group ``ablation_extra``, not exported with ``ablation``).
:func:`paper_row` maps each to its row in ``data/paper/table2_activations.csv`` (column
``activation``) or ``table3_blocks.csv`` (column ``block``).

Default size: ``width=48`` at ``input_size=224``. The paper's ReLU network runs in 1.53 ms on
the iPhone 12, the same Table 9 latency as MobileOne-S3; with this width the ReLU network's MACs
are within ±25 % of MobileOne-S3's (a test checks it), so its phone latency should be in the
paper's ballpark, while a forward pass on a desktop CPU stays in the tens of milliseconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from analysis.errors import ConfigError, UnknownModelError
from analysis.models.dynamic import SE_RATIO
from analysis.models.fusion import fuse_bn, fused_conv
from analysis.models.layers import SqueezeExcite, get_activation
from analysis.models.registry import get_entry, register_model

PAPER = "Vasu et al., An Improved One millisecond Mobile Backbone, CVPR 2023 (Tables 2 and 3)"

DEFAULT_DEPTH = 30
DEFAULT_WIDTH = 48
DEFAULT_INPUT_SIZE = 224
#: Ratio in which the blocks are spread over the four stages (exact for depth 30).
STAGE_RATIO = (1, 3, 6, 2)
SE_PLACEMENTS = ("none", "every", "block", "last_stage")
SKIP_PLACEMENTS = ("none", "block", "every")
#: The activations a network can use (the seven of Table 2 and two extras).
ACTIVATIONS = ("relu", "gelu", "se_relu", "silu", "dynamic_shift_max", "dyrelu_a", "dyrelu_b",
               "relu6", "hardswish")


@dataclass(frozen=True)
class AblationConfig:
    """Arguments of :class:`AblationNet` (see the module docstring for the layout).

    Attributes:
        depth: weight layers (convs + classifier), even and ≥ 6; the paper's network has 30.
        width: w, channels of the stem and stage 1 (stages 2–4: 2w, 4w, 8w); a multiple of 4
            (Dynamic Shift-Max's G = 4 groups).
        input_size: side of the square input the network is counted, measured and exported at.
        activation: one of :data:`ACTIVATIONS`, after every conv layer.
        se: where Squeeze-Excite blocks go, one of :data:`SE_PLACEMENTS`.
        skip: where identity shortcuts go, one of :data:`SKIP_PLACEMENTS`.
        num_classes: outputs of the linear classifier.
    """

    depth: int = DEFAULT_DEPTH
    width: int = DEFAULT_WIDTH
    input_size: int = DEFAULT_INPUT_SIZE
    activation: str = "relu"
    se: str = "none"
    skip: str = "none"
    num_classes: int = 1000

    def __post_init__(self) -> None:
        def positive_int(name: str, value, minimum: int = 1) -> None:
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ConfigError(f"ablation network: {name} must be an integer >= {minimum}, "
                                  f"got {value!r}")

        positive_int("depth", self.depth, 6)
        if self.depth % 2:
            raise ConfigError(f"ablation network: depth must be even (stem + 4 stride-2 convs + "
                              f"blocks of 2 convs + classifier), got {self.depth}")
        positive_int("width", self.width, 4)
        if self.width % 4:
            raise ConfigError(f"ablation network: width must be a multiple of 4, got "
                              f"{self.width}")
        positive_int("input_size", self.input_size, 32)
        positive_int("num_classes", self.num_classes)
        for name, value, allowed in (("activation", self.activation, ACTIVATIONS),
                                     ("se", self.se, SE_PLACEMENTS),
                                     ("skip", self.skip, SKIP_PLACEMENTS)):
            if value not in allowed:
                raise ConfigError(f"ablation network: {name}={value!r} is not one of "
                                  f"{', '.join(allowed)}")

    @property
    def stage_blocks(self) -> tuple[int, int, int, int]:
        """Blocks per stage (:func:`stage_blocks` of the depth)."""
        return stage_blocks(self.depth)

    @property
    def stage_widths(self) -> tuple[int, int, int, int]:
        return tuple(self.width * m for m in (1, 2, 4, 8))


def stage_blocks(depth: int) -> tuple[int, int, int, int]:
    """Spread the (depth − 6)/2 two-conv blocks over the 4 stages in the ratio
    :data:`STAGE_RATIO`, by largest remainder (ties to the earlier stage)."""
    pairs = (depth - 6) // 2
    quotas = [pairs * r / sum(STAGE_RATIO) for r in STAGE_RATIO]
    blocks = [math.floor(q) for q in quotas]
    order = sorted(range(4), key=lambda i: (-(quotas[i] - blocks[i]), i))
    for i in order[:pairs - sum(blocks)]:
        blocks[i] += 1
    return tuple(blocks)


class ConvLayer(nn.Module):
    """One conv layer: ``act(BN(conv3×3(x)) [→ SE] [+ residual])``.

    ``reparameterize()`` folds the BatchNorm into the conv (the deployed form).
    Metadata for :func:`layer_table`: ``index`` (1-based layer number), ``stage`` (0 = stem),
    ``role`` ("stem", "transition", "block conv 1", "block conv 2"), ``residual_from`` (the
    layer whose *input* is added before this layer's activation, or ``None``).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, activation: str,
                 use_se: bool, *, index: int, stage: int, role: str) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride
        self.index, self.stage, self.role = index, stage, role
        self.residual_from: int | None = None
        self.conv = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.se = (SqueezeExcite(out_channels, max(1, int(out_channels * SE_RATIO)))
                   if use_se else None)
        self.act = get_activation(activation, channels=out_channels)

    def forward(self, x: torch.Tensor, residual: torch.Tensor | None = None) -> torch.Tensor:
        y = self.bn(self.conv(x))
        if self.se is not None:
            y = self.se(y)
        if residual is not None:
            y = y + residual
        return self.act(y)

    @torch.no_grad()
    def reparameterize(self) -> None:
        """Fold the BatchNorm into the conv (exact in eval mode); a no-op once fused."""
        if isinstance(self.bn, nn.Identity):
            return
        kernel, bias = fuse_bn(self.conv.weight, self.bn)
        self.conv, self.bn = fused_conv(self.conv, kernel, bias), nn.Identity()


class Block(nn.Module):
    """Two stride-1 conv layers; with ``shortcut`` the block input is added before the second
    layer's activation (a ResNet basic block)."""

    def __init__(self, first: ConvLayer, second: ConvLayer, shortcut: bool) -> None:
        super().__init__()
        self.first, self.second, self.shortcut = first, second, shortcut
        if shortcut:
            second.residual_from = first.index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.second(self.first(x), x if self.shortcut else None)


class IdentityShortcut(nn.Module):
    """A stride-1 conv layer with the identity added before its activation (``skip="every"``)."""

    def __init__(self, layer: ConvLayer) -> None:
        super().__init__()
        self.layer = layer
        layer.residual_from = layer.index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x, x)


class AblationNet(nn.Module):
    """The configurable ablation CNN (layout in the module docstring).

    Args: the fields of :class:`AblationConfig` (``depth=30``, ``width=48``,
    ``input_size=224``, ``activation="relu"``, ``se="none"``, ``skip="none"``,
    ``num_classes=1000``), or ``config=`` an :class:`AblationConfig`. Bad values raise
    :class:`~analysis.errors.ConfigError`.
    """

    def __init__(self, depth: int = DEFAULT_DEPTH, width: int = DEFAULT_WIDTH,
                 input_size: int = DEFAULT_INPUT_SIZE, activation: str = "relu",
                 se: str = "none", skip: str = "none", num_classes: int = 1000, *,
                 config: AblationConfig | None = None) -> None:
        super().__init__()
        if config is None:
            config = AblationConfig(depth, width, input_size, str(activation).lower(), se, skip,
                                    num_classes)
        self.config = config
        self.input_size = config.input_size
        layers: list[ConvLayer] = []

        def make(cin: int, cout: int, stride: int, stage: int, role: str) -> ConvLayer:
            use_se = (config.se == "every" or (config.se == "block" and role == "block conv 2")
                      or (config.se == "last_stage" and stage == 4))
            layer = ConvLayer(cin, cout, stride, config.activation, use_se,
                              index=len(layers) + 1, stage=stage, role=role)
            layers.append(layer)
            return layer

        def wrap(layer: ConvLayer) -> nn.Module:
            return IdentityShortcut(layer) if config.skip == "every" else layer

        widths = config.stage_widths
        self.stem = make(3, widths[0], 2, 0, "stem")
        stages = []
        cin = widths[0]
        for s, (cout, n_blocks) in enumerate(zip(widths, config.stage_blocks), start=1):
            parts: list[nn.Module] = [make(cin, cout, 2, s, "transition")]
            for _ in range(n_blocks):
                first = wrap(make(cout, cout, 1, s, "block conv 1"))
                second_layer = make(cout, cout, 1, s, "block conv 2")
                if config.skip == "block":
                    parts.append(Block(first, second_layer, shortcut=True))
                else:
                    parts.append(nn.Sequential(first, wrap(second_layer)))
            stages.append(nn.Sequential(*parts))
            cin = cout
        self.stages = nn.Sequential(*stages)
        self.classifier = nn.Linear(widths[-1], config.num_classes)
        self._conv_layers = tuple(layers)  # plain tuple: not registered twice

    def conv_layers(self) -> tuple[ConvLayer, ...]:
        """The conv layers in order (the modules are shared with the network)."""
        return self._conv_layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(self.stem(x))
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def layer_table(model: AblationNet, input_size: int | None = None) -> list[dict]:
    """One row (a dict) per weight layer of ``model``, for the notebooks (which show it as a
    table: ``pandas.DataFrame(layer_table(model))``; the model layer does not use pandas).

    Keys: ``layer`` (1..depth), ``stage`` (0 = stem, 5 = head), ``role``, ``kernel``,
    ``stride``, ``in_channels``, ``out_channels``, ``in_size``, ``out_size`` (square sides),
    ``activation``, ``se``, ``residual_from`` (layer whose input is added, or None) and
    ``macs``: k²·C_in·C_out·H_out·W_out for a conv, C_in·C_out for the linear layer
    (closed form; the activations', SE's and shortcuts' work is not in it).
    """
    if not isinstance(model, AblationNet):
        raise ConfigError(f"layer_table needs an AblationNet, got {type(model).__name__}")
    size = model.input_size if input_size is None else int(input_size)
    rows = []
    for layer in model.conv_layers():
        out = (size - 1) // layer.stride + 1  # 3×3 conv, padding 1
        rows.append({
            "layer": layer.index, "stage": layer.stage, "role": layer.role, "kernel": 3,
            "stride": layer.stride, "in_channels": layer.in_channels,
            "out_channels": layer.out_channels, "in_size": size, "out_size": out,
            "activation": model.config.activation, "se": layer.se is not None,
            "residual_from": layer.residual_from,
            "macs": 9 * layer.in_channels * layer.out_channels * out * out,
        })
        size = out
    fc = model.classifier
    rows.append({
        "layer": len(rows) + 1, "stage": 5, "role": "classifier (after global average pool)",
        "kernel": 1, "stride": 1, "in_channels": fc.in_features, "out_channels": fc.out_features,
        "in_size": 1, "out_size": 1, "activation": "none", "se": False, "residual_from": None,
        "macs": fc.in_features * fc.out_features,
    })
    return rows


# -- the registered variants ------------------------------------------------------------------

@dataclass(frozen=True)
class Variant:
    """One registered ablation network and the paper row it reproduces.

    ``table`` is ``"table2"`` (activations) or ``"table3"`` (blocks), ``paper_row`` the label in
    that table's ``activation`` / ``block`` column (``""`` for the extras), ``kwargs`` the
    :class:`AblationNet` arguments that differ from the defaults.
    """

    id: str
    display_name: str
    table: str
    paper_row: str
    kwargs: dict = field(default_factory=dict)


VARIANTS: tuple[Variant, ...] = (
    Variant("ablation_relu", "Ablation ReLU", "table2", "ReLU", {"activation": "relu"}),
    Variant("ablation_gelu", "Ablation GELU", "table2", "GELU", {"activation": "gelu"}),
    Variant("ablation_se_relu", "Ablation SE-ReLU", "table2", "SE-ReLU",
            {"activation": "se_relu"}),
    Variant("ablation_silu", "Ablation SiLU", "table2", "SiLU", {"activation": "silu"}),
    Variant("ablation_dynamic_shift_max", "Ablation Dynamic Shift-Max", "table2",
            "Dynamic Shift-Max", {"activation": "dynamic_shift_max"}),
    Variant("ablation_dyrelu_a", "Ablation DyReLU-A", "table2", "DynamicReLU-A",
            {"activation": "dyrelu_a"}),
    Variant("ablation_dyrelu_b", "Ablation DyReLU-B", "table2", "DynamicReLU-B",
            {"activation": "dyrelu_b"}),
    Variant("ablation_baseline", "Ablation baseline", "table3", "Baseline", {}),
    Variant("ablation_se", "Ablation +SE", "table3", "+ Squeeze-Excite", {"se": "every"}),
    Variant("ablation_skip", "Ablation +skip", "table3", "+ Skip connections",
            {"skip": "block"}),
    Variant("ablation_relu6", "Ablation ReLU6", "extra", "", {"activation": "relu6"}),
    Variant("ablation_hardswish", "Ablation Hardswish", "extra", "",
            {"activation": "hardswish"}),
)
_BY_ID = {v.id: v for v in VARIANTS}
#: The paper table each ``Variant.table`` refers to, and the column holding its row labels.
PAPER_TABLES = {"table2": ("table2_activations", "activation"),
                "table3": ("table3_blocks", "block")}


def get_variant(model_id: str) -> Variant:
    """The :class:`Variant` of a registered ablation network (id, display name or alias)."""
    entry = get_entry(model_id)
    if entry.id not in _BY_ID:
        raise UnknownModelError(f"{model_id!r} is not an ablation network; known: "
                                f"{', '.join(_BY_ID)}")
    return _BY_ID[entry.id]


def paper_row(model_id: str) -> str:
    """The paper's row label for an ablation network: ``"DynamicReLU-A"`` for
    ``"ablation_dyrelu_a"``, ``"+ Skip connections"`` for ``"ablation_skip"``; ``""`` for the
    extras, which the paper does not measure."""
    return get_variant(model_id).paper_row


def variants(table: str) -> list[Variant]:
    """The variants of ``"table2"``, ``"table3"`` or ``"extra"``, in the paper's row order."""
    chosen = [v for v in VARIANTS if v.table == table]
    if not chosen:
        raise ConfigError(f"unknown ablation table {table!r}; known: table2, table3, extra")
    return chosen


def build_variant(model_id: str, **kwargs) -> AblationNet:
    """Build the ablation network ``model_id`` (``kwargs`` override its arguments)."""
    return AblationNet(**{**get_variant(model_id).kwargs, **kwargs})


def _register(variant: Variant) -> None:
    extra = variant.table == "extra"

    @register_model(variant.id, display_name=variant.display_name,
                    family="ablation_extra" if extra else "ablation",
                    input_size=DEFAULT_INPUT_SIZE, paper=PAPER,
                    groups=() if extra else (f"ablation_{variant.table}",))
    def build(**kwargs) -> AblationNet:
        return build_variant(variant.id, **kwargs)


for _variant in VARIANTS:
    _register(_variant)

__all__ = ["AblationConfig", "AblationNet", "ConvLayer", "VARIANTS", "Variant",
           "build_variant", "get_variant", "layer_table", "paper_row", "stage_blocks",
           "variants"]
