"""ShuffleNet V2 (Ma et al., "ShuffleNet V2: Practical Guidelines for Efficient CNN
Architecture Design", ECCV 2018, Table 5).

A 3×3 stem (24, stride 2) and a 3×3 max-pool, three stages of
:class:`~analysis.models.layers.ShuffleV2Block` (4, 8 and 4 units; the first unit of each
stage downsamples), a 1×1 conv (1024, or 2048 for the 2.0× model), global pooling and the
classifier. The complexity level sets the stage widths:

====== ==== ==== ==== ====
level  st2  st3  st4  conv5
====== ==== ==== ==== ====
0.5×    48   96  192  1024
1.0×   116  232  464  1024
1.5×   176  352  704  1024
2.0×   244  488  976  2048
====== ==== ==== ==== ====
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn as nn

from analysis.models.layers import ConvBnAct, ConvClassifier, ShuffleV2Block
from analysis.models.registry import register_model

PAPER = ("Ma et al., ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture "
         "Design, ECCV 2018")


@dataclass(frozen=True)
class ShuffleNetV2Config:
    widths: tuple[int, int, int]  # output channels of stages 2–4
    last_conv: int  # conv5
    repeats: tuple[int, int, int] = (4, 8, 4)
    stem: int = 24


#: Paper Table 5, by complexity level.
CONFIGS: dict[str, ShuffleNetV2Config] = {
    "0.5": ShuffleNetV2Config((48, 96, 192), 1024),
    "1.0": ShuffleNetV2Config((116, 232, 464), 1024),
    "1.5": ShuffleNetV2Config((176, 352, 704), 1024),
    "2.0": ShuffleNetV2Config((244, 488, 976), 2048),
}


def shufflenetv2(level: str = "1.0", num_classes: int = 1000,
                 dropout: float = 0.0) -> ConvClassifier:
    """ShuffleNet V2 at complexity ``level`` (``"0.5"``, ``"1.0"``, ``"1.5"``, ``"2.0"``)."""
    cfg = CONFIGS[level]
    stem = nn.Sequential(ConvBnAct(3, cfg.stem, 3, stride=2, act="relu"),
                         nn.MaxPool2d(3, stride=2, padding=1))
    blocks, cin = [], cfg.stem
    for width, repeats in zip(cfg.widths, cfg.repeats):
        for i in range(repeats):
            blocks.append(ShuffleV2Block(cin, width, stride=2 if i == 0 else 1))
            cin = width
    head = ConvBnAct(cin, cfg.last_conv, 1, act="relu")
    return ConvClassifier(stem, nn.Sequential(*blocks), head, cfg.last_conv, num_classes,
                          dropout=dropout)


@register_model("shufflenetv2_100", display_name="ShuffleNetV2-1.0", family="conv",
                paper=PAPER, aliases=("shufflenet_v2_x1_0",))
def shufflenetv2_100(**kwargs) -> ConvClassifier:
    return shufflenetv2("1.0", **kwargs)


@register_model("shufflenetv2_200", display_name="ShuffleNetV2-2.0", family="conv",
                paper=PAPER, aliases=("shufflenet_v2_x2_0",))
def shufflenetv2_200(**kwargs) -> ConvClassifier:
    return shufflenetv2("2.0", **kwargs)
