"""The MobileNet family's scaling entries (width multipliers, EfficientNet-Lite0–4 and -B1–B4)
against independent counts.

- **timm** (``data/external/h200/timm_scaling_h200.csv``: timm 1.0.29's own implementations,
  counted on the H200 machine): parameters of our train-time model equal timm's exactly, torch's
  FLOP counter on our model equals timm's ``flops_torch`` exactly, and our fvcore MACs of the
  deployed form are within 1 % of ``flops_torch / 2`` (fvcore also counts the pooling layers);
- **the MobileNet paper** (``data/external/mobilenet_papers/mobilenet_family.csv``, Tables 6
  and 7): MACs within 1 %, parameters equal at the paper's printed precision (0.1 M).

Every new entry has at least one of the two; the entries without a timm row are listed in
:data:`NO_TIMM_ROW` with the reason (the test fails if the list is wrong either way).
"""

from __future__ import annotations

import csv

import pytest
import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

from analysis import paths
from analysis.complexity import profile_model
from analysis.export import batch as export_batch
from analysis.models import create_model, get_entry, list_models
from analysis.models.layers import SqueezeExcite, make_divisible

TIMM_CSV = paths.EXTERNAL_DATA / "h200" / "timm_scaling_h200.csv"
PAPER_CSV = paths.EXTERNAL_DATA / "mobilenet_papers" / "mobilenet_family.csv"
MACS_TOL = 0.01

#: New entries checked against the paper only, and why.
NO_TIMM_ROW = {
    "mobilenetv1_025": "timm 1.0.29 has no MobileNetV1 below width 1.0; the paper's Table 6 is "
                       "the independent count",
    "mobilenetv1_050": "as mobilenetv1_025",
    "mobilenetv1_075": "as mobilenetv1_025",
}
#: Entries of the zoo before the family's scaling entries (their Table 9 rows must not change).
TABLE9_BASES = {"mobilenetv1", "mobilenetv2_100", "mobilenetv2_140", "mobilenetv3_small",
                "mobilenetv3_large", "efficientnet_b0"}


def _read(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


TIMM = _read(TIMM_CSV)
PAPER = _read(PAPER_CSV)
NEW = [m for m in list_models("mobilenet_scaling") if m not in TABLE9_BASES]


def _paper_id(row: dict) -> str:
    return get_entry(f"{row['network']}-x{float(row['width_multiplier'])}").id


def _train_params(model_id: str) -> int:
    return sum(p.numel() for p in create_model(model_id).parameters())


def test_groups_select_the_sweeps():
    widths = {"mobilenetv1_width": ["mobilenetv1_025", "mobilenetv1_050", "mobilenetv1_075",
                                    "mobilenetv1", "mobilenetv1_125"],
              "mobilenetv2_width": ["mobilenetv2_035", "mobilenetv2_050", "mobilenetv2_075",
                                    "mobilenetv2_100", "mobilenetv2_140"],
              "mobilenetv3_large_width": ["mobilenetv3_large_075", "mobilenetv3_large"],
              "mobilenetv3_small_width": ["mobilenetv3_small_050", "mobilenetv3_small_075",
                                          "mobilenetv3_small"]}
    for group, ids in widths.items():
        assert sorted(list_models(group)) == sorted(ids), group
    assert sorted(list_models("mobilenet_width")) == sorted(sum(widths.values(), []))
    assert list_models("efficientnet_lite") == [f"efficientnet_lite{i}" for i in range(5)]
    assert list_models("efficientnet") == [f"efficientnet_b{i}" for i in range(5)]
    assert sorted(list_models("mobilenet_resolution")) == ["efficientnet_lite0", "mobilenetv1",
                                                           "mobilenetv2_100"]
    assert [get_entry(f"efficientnet_lite{i}").input_size for i in range(5)] == \
        [224, 240, 260, 280, 300]
    assert [get_entry(f"efficientnet_b{i}").input_size for i in range(5)] == \
        [224, 240, 260, 300, 380]


def test_new_entries_stay_out_of_table9_and_figure2():
    assert len(NEW) == 19  # V1 4, V2 3, V3 3, Lite 5, B1–B4
    assert not set(NEW) & (set(list_models("table9")) | set(list_models("figure2")))
    assert len(list_models("table9")) == 30 and len(list_models("figure2")) == 21


def test_every_new_entry_has_an_independent_count():
    timm_ids = {get_entry(r["model"]).id for r in TIMM}
    paper_ids = {_paper_id(r) for r in PAPER}
    assert set(NEW) <= timm_ids | paper_ids
    assert {m for m in NEW if m not in timm_ids} == set(NO_TIMM_ROW)  # the list is exact
    assert set(NO_TIMM_ROW) <= paper_ids


@pytest.mark.parametrize("row", TIMM, ids=lambda r: f"{r['model']}@{r['input_size']}")
def test_parameters_and_macs_equal_timms(row):
    entry, size = get_entry(row["model"]), int(row["input_size"])
    assert _train_params(entry.id) == int(row["params"])
    macs = profile_model(entry.id, size).macs  # deployed form, fvcore
    assert abs(macs / (int(row["flops_torch"]) / 2) - 1) <= MACS_TOL


@pytest.mark.parametrize("row", TIMM, ids=lambda r: f"{r['model']}@{r['input_size']}")
def test_torch_flop_counter_equals_timms_exactly(row):
    """The same counter on the same architecture: 2 × conv / linear MACs, to the unit."""
    entry, size = get_entry(row["model"]), int(row["input_size"])
    model = create_model(entry.id).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 3, size, size))
    assert counter.get_total_flops() == int(row["flops_torch"])


@pytest.mark.parametrize("row", PAPER, ids=lambda r: f"{r['width_multiplier']}@{r['input_size']}")
def test_mobilenetv1_equals_the_papers_tables(row):
    model_id, size = _paper_id(row), int(row["input_size"])
    counts = profile_model(model_id, size)
    assert abs(counts.macs / (float(row["macs_m"]) * 1e6) - 1) <= MACS_TOL
    assert round(_train_params(model_id) / 1e6, 1) == float(row["params_m"])


def test_efficientnet_lite_follows_the_reference_rules():
    """No SE, ReLU6 only, stem 32 and head 1280 at every size, first/last stage one block."""
    for i in range(5):
        model = create_model(f"efficientnet_lite{i}")
        kinds = {type(m) for m in model.modules()}
        assert SqueezeExcite not in kinds and nn.SiLU not in kinds and nn.ReLU6 in kinds
        assert model.stem.conv.out_channels == 32 and model.head.conv.out_channels == 1280
        widths = [block.out_channels for block in model.blocks]
        assert widths.count(widths[0]) == 1 and widths.count(widths[-1]) == 1  # not repeated


@pytest.mark.parametrize("i,width", [(1, 1.0), (2, 1.1), (3, 1.2), (4, 1.4)])
def test_efficientnet_b_scales_stem_and_head(i, width):
    model = create_model(f"efficientnet_b{i}")
    assert model.stem.conv.out_channels == make_divisible(32 * width)
    assert model.head.conv.out_channels == make_divisible(1280 * width)
    assert any(isinstance(m, SqueezeExcite) for m in model.modules())


def test_input_size_is_a_count_argument():
    for model_id in list_models("mobilenet_resolution"):
        sizes = [profile_model(model_id, s) for s in (128, 160, 192, 224)]
        assert [c.input_shape[-1] for c in sizes] == [128, 160, 192, 224]
        assert [c.macs for c in sizes] == sorted(c.macs for c in sizes)
        assert len({c.params for c in sizes}) == 1


def test_export_a_new_mobilenet_and_a_lite_to_onnx_and_coreml(tmp_path):
    for model_id in ("mobilenetv3_small_050", "efficientnet_lite0"):
        for fmt in ("onnx", "coreml"):
            res = export_batch.export_model(model_id, fmt, tmp_path / fmt, input_size=128)
            assert res.status == "ok", f"{model_id} {fmt}: {res.message}"
            assert res.path.exists()
