"""The comparison zoo (paper Table 9): every model builds, runs, and has the published size.

Tolerances: parameters within 3%, MACs (fvcore, deployed form) within 5% of Table 9. Where a
faithful implementation of the model's original paper cannot match Table 9 for a documented
reason, the model is listed below with that reason and the value it is checked against
instead — the test also asserts that Table 9's own figure is really out of tolerance, so an
exception cannot outlive its need.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

import pytest
import torch

from analysis import paths
from analysis.complexity import profile_model
from analysis.models import create_model, get_entry, list_models

PARAMS_TOL = 0.03
MACS_TOL = 0.05


@dataclass(frozen=True)
class Exception_:
    """Expected size of one model where Table 9's figure is not reproducible, and why."""

    reason: str
    params_m: float | None = None  # None: Table 9's params hold
    macs_m: float | None = None  # None: Table 9's MACs hold
    source: str = ""  # independent count (e.g. timm's benchmark CSV, the original paper)


# Documented exceptions, by model id. Convolutional models:
EXCEPTIONS_CONV: dict[str, Exception_] = {
    "mobilenetv2_140": Exception_(
        reason="Table 9 copies the MobileNetV2 paper's 6.9 M, which its own reference code "
               "does not give: width 1.4 (stem 48, last conv 1792) has 6.11 M parameters "
               "(6.09 M with BatchNorm folded); the MACs (582 M) do match Table 9's 585 M",
        params_m=6.09,
        source="timm benchmark CSV: mobilenetv2_140 param_count 6.11 M, infer_gmacs 0.60 "
               "(unfused, BatchNorm counted)"),
    "mixnet_s": Exception_(
        reason="the MixNet paper's FLOPs run ~6% above conv + FC multiply-adds for both "
               "MixNet-S (256 vs 240.5 M) and MixNet-M (360 vs 340.8 M); the architecture is "
               "the TF reference's mixnet_s block strings, confirmed by its parameter count "
               "(4.135 M unfused, exactly timm's 4.13 M)",
        macs_m=240.5,
        source="timm benchmark CSV: mixnet_s / tf_mixnet_s param_count 4.13 M, infer_gmacs "
               "0.25 (unfused: our unfused fvcore count is 253.0 M, of which 12.5 M is "
               "BatchNorm); tensorflow/tpu mixnet_builder.py mixnet_s"),
    "mobilenext_100": Exception_(
        reason="the published 3.4 M is not what the official MobileNeXt code (I2RNet, width "
               "1.0) builds: 3.535 M parameters, 3.51 M with BatchNorm folded; its MACs equal "
               "Table 9's 311 M and the same code at width 1.4 matches Table 9 (6.09 vs 6.1 M, "
               "588 vs 590 M)",
        params_m=3.51,
        source="no timm count exists for MobileNeXt; official code zhoudaquan/"
               "rethinking_bottleneck_design (I2RNet / I2RBlock), Table 9's own MACs (311 M)"),
}
# Transformers:
EXCEPTIONS_TRANSFORMER: dict[str, Exception_] = {
    "deit_tiny": Exception_(
        reason="Table 9's 5.9 M is the distilled DeiT-Ti's count (extra token and head: "
               "5.91 M), but its 72.2% top-1 is the non-distilled DeiT-Ti's (distilled: "
               "74.5%); DeiT-tiny is built non-distilled (ViT-Ti/16: 5.72 M). Its MACs "
               "(1.26 G) are within tolerance of Table 9's 1300 M",
        params_m=5.72,
        source="timm benchmark CSV: deit_tiny_patch16_224 param_count 5.72 M, infer_gmacs "
               "1.26; deit_tiny_distilled_patch16_224 5.91 M (test_transformer_layers.py); "
               "Touvron et al. 2021, Tables 1 and 5"),
    "convit_tiny": Exception_(
        reason="Table 9's 1000 M is below the faithful count: ConViT-Ti is DeiT-Ti (192 "
               "wide, 12 blocks, 196 patch tokens) with GPSA in blocks 1-10, so 1.26 G like "
               "DeiT-Ti; Table 9 apparently copies the ConViT paper's rounded '1G' (its "
               "Table 1). The parameters (5.71 vs 5.7 M) match",
        macs_m=1260,
        source="timm benchmark CSV: convit_tiny param_count 5.71 M, infer_gmacs 1.26; "
               "d'Ascoli et al. 2021, Table 1"),
    "mobilevit_xxs": Exception_(
        reason="Table 9's 373 M is below the faithful count at 256x256 (ml-cvnets config): "
               "418.2 M unfused, 410.2 M with BatchNorm folded; params (1.27 vs 1.3 M) match",
        macs_m=410.2,
        source="timm benchmark CSV: mobilevit_xxs param_count 1.27 M, infer_gmacs 0.42 "
               "(unfused; test_mobile_transformers.py checks ours against it)"),
    "mobilevit_xs": Exception_(
        reason="Table 9's 941 M is below the faithful count at 256x256 (ml-cvnets config): "
               "1052.2 M unfused, 1030.1 M with BatchNorm folded; params (2.31 vs 2.3 M) match",
        macs_m=1030.1,
        source="timm benchmark CSV: mobilevit_xs param_count 2.32 M, infer_gmacs 1.05 "
               "(unfused; test_mobile_transformers.py checks ours against it)"),
    "mobilevit_s": Exception_(
        reason="Table 9's 1792 M is below the faithful count at 256x256 (ml-cvnets config): "
               "2033.4 M unfused, 2007.3 M with BatchNorm folded; params (5.57 vs 5.6 M) match",
        macs_m=2007.3,
        source="timm benchmark CSV: mobilevit_s param_count 5.58 M, infer_gmacs 2.03 "
               "(unfused; test_mobile_transformers.py checks ours against it)"),
    "mobileformer_52m": Exception_(
        reason="the authors' release lists 3.5 M params (Table 9: 3.6 M); its architecture "
               "(AAboys/MobileFormer mobile_former_52m) gives 3.469 M unfused, 3.462 M with "
               "BatchNorm folded. Its 52 M FLOPs count the BatchNorms (our unfused count: "
               "51.8 M); folded, the deployed model has 49.4 M MACs (-5.1%)",
        params_m=3.5,
        macs_m=49.4,
        source="github.com/AAboys/MobileFormer README (mobile-former-52m: 3.5M, 52M); no "
               "timm count exists; test_mobile_transformers.py checks the unfused counts"),
}
EXCEPTIONS = {**EXCEPTIONS_CONV, **EXCEPTIONS_TRANSFORMER}


def table9_rows() -> list[dict]:
    with open(paths.paper_table("table9_imagenet"), newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


TABLE9 = table9_rows()
TABLE9_NAMES = [row["model"] for row in TABLE9]


def _within(value: float, target: float, tol: float) -> bool:
    return abs(value / target - 1) <= tol


@pytest.mark.parametrize("name", TABLE9_NAMES)
def test_published_size(name):
    entry = get_entry(name)  # every Table 9 name resolves
    counts = profile_model(entry.id)
    params_m, macs_m = counts.params / 1e6, counts.macs / 1e6
    pub = entry.published
    exc = EXCEPTIONS.get(entry.id)
    want_params = exc.params_m if exc and exc.params_m is not None else pub.params_m
    want_macs = exc.macs_m if exc and exc.macs_m is not None else pub.macs_m
    assert _within(params_m, want_params, PARAMS_TOL), \
        f"{name}: {params_m:.3f} M params, expected {want_params} M"
    assert _within(macs_m, want_macs, MACS_TOL), \
        f"{name}: {macs_m:.1f} M MACs, expected {want_macs} M"
    if exc:  # the exception must still be needed
        off_params = exc.params_m is not None and not _within(params_m, pub.params_m, PARAMS_TOL)
        off_macs = exc.macs_m is not None and not _within(macs_m, pub.macs_m, MACS_TOL)
        assert off_params or off_macs, f"{name}: Table 9 now matches; drop the exception"


@pytest.mark.parametrize("name", TABLE9_NAMES)
def test_forward_shape(name):
    entry = get_entry(name)
    model = create_model(entry.id).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, entry.input_size, entry.input_size))
    assert out.shape == (1, 1000)
    assert entry.input_size == int(next(r for r in TABLE9 if r["model"] == name)["input_size"])


def test_groups():
    table9 = list_models("table9")
    assert sorted(get_entry(m).display_name for m in table9) == sorted(TABLE9_NAMES)
    figure2 = {get_entry(m).display_name for m in list_models("figure2")}
    assert figure2 == {r["model"] for r in TABLE9 if r["figure2_label"].strip()}
    assert len(figure2) == 21
    for family in ("conv", "transformer", "mobileone"):
        assert {get_entry(m).display_name for m in list_models(family) if m in table9} == \
            {r["model"] for r in TABLE9 if r["family"] == family}


@pytest.mark.parametrize("name", ["MobileOne-S0", "mobileone-s0", "MOBILEONE_S0", "mobileone_s0"])
def test_names_resolve_case_insensitively(name):
    assert get_entry(name).id == "mobileone_s0"


def test_unknown_name_suggests_close_ones():
    from analysis.errors import UnknownModelError

    with pytest.raises(UnknownModelError, match="did you mean.*MobileOne-S0"):
        get_entry("MobileOne-S00")
    with pytest.raises(UnknownModelError, match="known groups"):
        list_models("no-such-group")


def test_an_empty_selection_is_one_clear_error():
    from analysis.errors import ConfigError
    from analysis.models import resolve_models

    for empty in ("", [], " , "):
        with pytest.raises(ConfigError, match="no model selected.*figure2"):
            resolve_models(empty)
