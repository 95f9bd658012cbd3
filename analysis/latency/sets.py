"""Measurement sets: what notebooks 02, 03 and 04 time, beyond a list of registry models.

``python -m analysis measure --set NAME`` (and :func:`set_items`) builds the items of

- ``ablation`` — the 10 registry ablation networks, deployed: Table 2's seven activations and
  Table 3's three blocks. Two pairs are the same network (ReLU ≡ baseline, SE-ReLU ≡ + SE);
  both members stay separate items on purpose: their ratio calibrates the noise model;
- ``reparam`` — MobileOne S0–S4 in the train-time form at the published k and fused (one
  fused item per variant: the fused network is the same for every k), and S0's train-time form
  for k = 1…5;
- ``sequential`` — each fused variant and its plain ``nn.Sequential`` twin
  (:func:`analysis.models.fusion.plain_sequential`: the same layers and weights, no blocks);
- ``matmul`` — the reference throughput: ``torch.matmul`` of two 2048 × 2048 fp32 matrices
  (``form="reference"``; ``macs`` = n³ and ``params`` = n², the second matrix as the weight of a
  linear map, so GFLOP/s = 2 · macs / latency).

Items whose form the registry cannot rebuild (train-time forms, the Sequential twins, the
matmul) carry their own ``macs`` and ``params`` (fvcore, as :mod:`analysis.complexity` counts
everything else), so their rows stand alone. Train-time networks get seeded random BatchNorm
statistics (:func:`~analysis.models.fusion.randomize_batchnorm`) so that fusing is exercised.
"""

from __future__ import annotations

import logging
import warnings
from typing import Callable

import torch
import torch.nn as nn
from fvcore.nn import FlopCountAnalysis

from analysis.complexity import ELEMENTWISE_HANDLES, input_shape_for, split_counts
from analysis.errors import ConfigError
from analysis.latency.campaign import as_items
from analysis.latency.harness import Item, resolve
from analysis.models import deploy, get_entry, list_models, mobileone
from analysis.models.fusion import plain_sequential, randomize_batchnorm

VARIANTS = ("s0", "s1", "s2", "s3", "s4")
#: k values of S0's train-time sweep.
S0_K_SWEEP = (1, 2, 3, 4, 5)
#: Side of the matrices of the matmul reference.
MATMUL_N = 2048


def fvcore_counts(module: nn.Module, input_size: int, batch_size: int) -> tuple[int, int]:
    """``(macs, params)`` of ``module`` as given (not fused again): fvcore's MACs with the
    element-wise work split off, exactly ``count_complexity(...).macs``, in one trace."""
    x = torch.zeros(input_shape_for(input_size, batch_size))
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings
        logging.getLogger("fvcore").setLevel(logging.ERROR)
        flops = FlopCountAnalysis(module.eval(), x).unsupported_ops_warnings(False)
        flops = flops.uncalled_modules_warnings(False).set_op_handle(**ELEMENTWISE_HANDLES)
        macs, _ = split_counts(flops)
    return int(macs), sum(p.numel() for p in module.parameters())


def model_items(models, *, fuse: bool = True, input_size: int | None = None) -> list[Item]:
    """Registry models (names, groups) as items; train-time forms carry fvcore counts."""
    return as_items(models, fuse=fuse, input_size=input_size, counter=fvcore_counts)


def _seed() -> int:
    """A seed drawn from torch's global generator (which :func:`harness.prepare` seeds)."""
    return int(torch.randint(0, 2 ** 31 - 1, ()).item())


def _train(variant: str, k: int) -> Callable[[], nn.Module]:
    return lambda: randomize_batchnorm(mobileone(variant, num_conv_branches=k), seed=_seed())


def _official_k(variant: str) -> int:
    return mobileone(variant).num_conv_branches


def ablation_items() -> list[Item]:
    """The 10 registry ablation networks, deployed (Table 2's 7, Table 3's 3)."""
    return [resolve(i) for i in list_models("ablation")]


def reparam_items() -> list[Item]:
    """S0–S4 train-time at the published k and fused; S0 train-time at k = 1…5."""
    items = []
    for v in VARIANTS:
        name, k = get_entry(f"mobileone_{v}").display_name, _official_k(v)
        ks = S0_K_SWEEP if v == "s0" else (k,)
        items += [Item(name, _train(v, kk), 224, "train", kk, f"mobileone_{v}",
                       counter=fvcore_counts) for kk in ks]
        items.append(Item(name, (lambda v=v, k=k: deploy(_train(v, k)())), 224, "fused", None,
                          f"mobileone_{v}"))
    return items


def sequential_items() -> list[Item]:
    """Each fused variant and its plain ``nn.Sequential`` twin."""
    items = []
    for v in VARIANTS:
        name, k = get_entry(f"mobileone_{v}").display_name, _official_k(v)
        fused = (lambda v=v, k=k: deploy(_train(v, k)()))
        items += [Item(name, fused, 224, "fused", None, f"mobileone_{v}"),
                  Item(name, (lambda f=fused: plain_sequential(f())), 224, "sequential", None,
                       f"mobileone_{v}", counter=fvcore_counts)]
    return items


class MatMul(nn.Module):
    """``x @ weight`` with an ``n × n`` weight: one product of two n × n matrices."""

    def __init__(self, n: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n, n), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.matmul(x, self.weight)


def _matrix(batch_size: int, n: int, generator: torch.Generator) -> torch.Tensor:
    return torch.randn(n, n, generator=generator)


def matmul_items(n: int = MATMUL_N) -> list[Item]:
    """The reference throughput: one fp32 product of two ``n × n`` matrices."""
    return [Item(f"MatMul-{n}", lambda: MatMul(n), n, "reference", macs=n ** 3, params=n * n,
                 make_input=_matrix)]


SETS: dict[str, Callable[[], list[Item]]] = {
    "ablation": ablation_items, "reparam": reparam_items, "sequential": sequential_items,
    "matmul": matmul_items,
}


def set_items(name: str) -> list[Item]:
    """The items of the measurement set ``name`` (:data:`SETS`)."""
    key = str(name).strip().lower()
    if key not in SETS:
        raise ConfigError(f"unknown measurement set {name!r}; expected one of "
                          f"{', '.join(SETS)}")
    return SETS[key]()
