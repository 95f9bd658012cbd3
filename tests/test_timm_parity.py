"""Fidelity of the zoo against independent implementations and counters.

- **timm's parameter counts** (``data/external/timm_param_counts.csv``: timm 1.0.29, counted on
  the project's H200 machine where timm was installed) for the 24 architectures timm shares
  with the zoo: our train-time models have exactly timm's parameters, and MobileOne / RepVGG
  also after re-parameterization (timm's ``reparameterize_model`` merges their branches but
  folds no other BatchNorm, so only those are comparable deployed).
- **torch's own FLOP counter** (``torch.utils.flop_counter.FlopCounterMode``: 2 FLOPs per
  multiply-accumulate of conv, linear and matmul) agrees with our fvcore MACs within 0.7 % on
  all 30 Table 9 models (deployed form, native input): two counters, one count. The
  differences are what fvcore counts beyond conv / linear / matmul (pooling, normalisations).
  A layer that one counter missed (or double counted) would show as a larger gap.
"""

from __future__ import annotations

import csv

import pytest
import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

from analysis import paths
from analysis.complexity import profile_model
from analysis.models import create_model, deploy, get_entry, list_models

TIMM_COUNTS = paths.EXTERNAL_DATA / "timm_param_counts.csv"
TORCH_COUNTER_TOL = 0.007
#: Architectures whose deployed form timm also makes (branches merged, nothing else folded).
REPARAMETERIZED = ("mobileone", "repvgg")


def _rows() -> list[dict]:
    with open(TIMM_COUNTS, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


ROWS = _rows()


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def mismatches(row: dict, model: nn.Module) -> list[str]:
    """What differs between ``model`` (train-time form) and timm's counts in ``row``."""
    found = []
    if n_params(model) != int(row["timm_train_params"]):
        found.append(f"train-time {n_params(model)} != timm {row['timm_train_params']}")
    if row["ours_id"].startswith(REPARAMETERIZED):
        deployed = n_params(deploy(model))
        if deployed != int(row["timm_reparam_params"]):
            found.append(f"deployed {deployed} != timm {row['timm_reparam_params']}")
    return found


def test_the_file_covers_24_architectures_without_errors():
    assert len(ROWS) == 24 and not any(r["error"] for r in ROWS)
    assert len({get_entry(r["ours_id"]).id for r in ROWS}) == 24


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r["ours_id"])
def test_parameters_equal_timms(row):
    assert mismatches(row, create_model(row["ours_id"])) == []


def test_the_parity_check_fails_when_a_layer_changes():
    row = next(r for r in ROWS if r["ours_id"] == "mobilenetv1")
    model = create_model("mobilenetv1")
    model.classifier = nn.Linear(1024, 1000, bias=False)  # one layer changed: 1,000 fewer
    assert mismatches(row, model) == ["train-time 4230976 != timm 4231976"]
    row = next(r for r in ROWS if r["ours_id"] == "mobileone_s0")
    model = create_model("mobileone_s0", num_conv_branches=2)  # fewer train-time branches
    assert len(mismatches(row, model)) == 1  # train-time differs, deployed form does not


def torch_macs(model_id: str) -> float:
    """Multiply-accumulates of the deployed model by torch's counter (FLOPs / 2)."""
    size = get_entry(model_id).input_size
    model = deploy(create_model(model_id)).eval()
    # with autograd on: under no_grad the counter's module tracker fails on PiT's parameters
    with FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 3, size, size))
    return counter.get_total_flops() / 2


@pytest.mark.parametrize("model_id", list_models("table9"))
def test_torch_flop_counter_agrees_with_fvcore(model_id):
    """All 30 in the default suite (the 30 torch counts take about 12 s on one core)."""
    ours = profile_model(model_id).macs
    assert abs(torch_macs(model_id) / ours - 1) <= TORCH_COUNTER_TOL
