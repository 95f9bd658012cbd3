"""Notebook 05's numbers: the population behind Table 1, and how much a 21-model study can tell.

Flow: one timm benchmark file (``benchmark-infer-*.csv``, one device; read by
:func:`analysis.latency.load_latency`) ⟶ named populations of its rows (``all``, the
``efficient`` regime, ``conv`` and ``transformer`` families by a name rule, the paper's
``figure2`` models under their timm names) ⟶ the sampling distribution of ρ(latency, MACs)
over random studies of distinct architectures of the efficient regime, with the paper's values
placed in it. The inference with architectures as the unit is in :mod:`.resampling`.

A model with a missing count is reported by name and left out of that metric's correlations
only. A row is one (model, input size) pair: timm benchmarks some models at several sizes, and
:func:`architecture_of` names the architecture those rows share.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis import inference, paths, stats
from analysis.constants import N_PERMUTATIONS
from analysis.errors import ConfigError, DataFormatError
from analysis.latency import load_latency
from analysis.latency.manifest import reference_files

#: timm's public CPU benchmark results, shipped under data/external (see its README).
TIMM_BENCHMARK = "timm-benchmarks/benchmark-infer-fp32-nchw-pt240-cpu-i7_12700h-dynamo.csv"
#: Cost metrics correlated with latency, in display order (all three are in timm's file).
METRICS = ("macs", "params", "activations")
POPULATIONS = ("all", "efficient", "conv", "transformer", "figure2")
POPULATION_LABELS = {"all": "all models", "efficient": "efficient regime",
                     "conv": "convolutional models", "transformer": "transformers",
                     "figure2": "paper's Figure 2 models"}
#: Quantiles of the subsample distribution written to ``subsample_rho.csv``.
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
#: Table 1's device keys → how the prose names them.
TABLE1_LABELS = {"desktop_cpu": "desktop CPU", "iPhone12": "iPhone 12 (phone)"}

#: The paper's Figure 2 models (Table 9 names) → (timm model name, input size) in timm's
#: benchmark, or None where timm has no implementation. MNASNet-A1 is timm's ``semnasnet_100``
#: (MNASNet with squeeze-excite); the others carry the paper's name. MobileOne is left out on
#: purpose (:data:`FIGURE2_UNFUSED`).
FIGURE2_TIMM: dict[str, tuple[str, int] | None] = {
    "DeiT-tiny": ("deit_tiny_patch16_224", 224),
    "PiT-ti": ("pit_ti_224", 224), "EfficientNet-B0": ("efficientnet_b0", 224),
    "MNASNet-A1": ("semnasnet_100", 224), "MixNet-S": ("mixnet_s", 224),
    "MobileNetV1": ("mobilenetv1_100", 224), "MobileNetV2-x1.0": ("mobilenetv2_100", 224),
    "MobileNetV3-S": ("mobilenetv3_small_100", 224),
    "MobileNetV3-L": ("mobilenetv3_large_100", 224),
    "MobileViT-XXS": ("mobilevit_xxs", 256), "MobileViT-XS": ("mobilevit_xs", 256),
    "MobileViT-S": ("mobilevit_s", 256),
    "Mobileformer-52": None, "MobileNeXt-x1.4": None,
    "ShuffleNetV2-1.0": None, "ShuffleNetV2-2.0": None,
}

#: Figure 2 models whose timm rows are **not** the paper's model: timm benchmarks MobileOne in
#: its unfused train-time form (k branches per block, before re-parameterization), with several
#: times the MACs and parameters of the deployed network the paper times. They stay in the
#: ``all``/``efficient`` populations (that is what timm measured) but not in ``figure2``.
FIGURE2_UNFUSED: dict[str, tuple[str, int]] = {
    f"MobileOne-S{i}": (f"mobileone_s{i}", 224) for i in range(5)}

# -- the family name rule ------------------------------------------------------------------------
#: Prefixes stripped before the family is read off a timm name (ported weights, attention
#: or normalizer-free variants of the same architecture).
_VARIANT_PREFIXES = re.compile(r"^(?:tf_|legacy_|eca_|gc_|nf_|dm_)+")
#: Architectures built around self-attention (ViTs and hybrids with attention blocks, as the
#: paper's "transformer" family: MobileViT, Mobile-Former).
TRANSFORMER_ARCHS = frozenset((
    "beit beitv botnet botnext caformer cait coat coatnet coatnext convit crossvit davit deit "
    "edgenext efficientformer efficientformerv efficientvit eva flexivit gcvit halo halonet "
    "halonext haloregnetz hiera hieradet lamhalobotnet levit maxvit maxxvit maxxvitv mobilevit "
    "mobilevitv mvitv nest nextvit pit pvt sam samvit sebotnet sehalonet swin swinv tiny tnt "
    "twins visformer vit vitamin volo xcit").split())
#: Architectures without attention (squeeze-excite and other channel gates count as conv).
CONV_ARCHS = frozenset((
    "convmixer convnext convnextv convformer cs cspdarknet cspresnet cspresnext darknet "
    "darknetaa densenet densenetblur dla dpn ecaresnet ecaresnetlight ecaresnext efficientnet "
    "efficientnetv ese fbnetc fbnetv gcresnet gcresnext gernet ghostnet ghostnetv hardcorenas "
    "hgnet hgnetv hrnet inception lcnet mixnet mnasnet mobilenet mobilenetv mobileone "
    "nasnetalarge nfnet pnasnet rdnet regnet regnetv regnetx regnety regnetz repghostnet repvgg "
    "repvit res resnest resnet resnetaa resnetblur resnetrs resnetv resnext rexnet rexnetr "
    "sedarknet selecsls semnasnet senet seresnet seresnetaa seresnext seresnextaa skresnet "
    "skresnext spnasnet tinynet tresnet vgg vovnet wide xception").split())


def family_token(model: str) -> str:
    """The family token of a timm name: the leading letters after a variant prefix
    (``tf_mobilenetv3_large_100`` → ``mobilenetv``, ``eca_nfnet_l0`` → ``nfnet``)."""
    m = re.match(r"[a-z]+", _VARIANT_PREFIXES.sub("", model.lower()))
    return m.group(0) if m else ""


#: timm's names for ports of a network it also has under its own name: ``tf_`` (TensorFlow
#: weights, "same" padding) and ``legacy_`` (an older implementation) — the same architecture.
_PORT_PREFIXES = re.compile(r"^(?:tf_|legacy_)")
#: The representative row of an architecture in a permutation test or a random subset: the
#: one at the input size nearest this (ImageNet's default; ties go to the smaller size).
REFERENCE_SIZE = 224


def architecture_of(model: str, input_size) -> str:
    """The architecture of a timm row: the model name without a port prefix
    (:data:`_PORT_PREFIXES`) and without the input size some names end with when the row is
    measured at that size (``vit_base_patch16_384`` at 384 px → ``vit_base_patch16``;
    ``levit_384`` at 224 px keeps its name: 384 is its width). resnet50 at 160, 176, 224 and
    288 px is one architecture, the unit every resampling of notebook 05 draws."""
    name = _PORT_PREFIXES.sub("", model)
    try:
        size = int(input_size)
    except (TypeError, ValueError):
        return name
    return re.sub(rf"_{size}$", "", name)


def representative(part: pd.DataFrame, size: int = REFERENCE_SIZE) -> pd.DataFrame:
    """One row per architecture: the row at the input size nearest ``size`` (ties: the
    smaller size), in the order of ``part``."""
    if part.empty:
        return part
    gap = (part["input_size"] - size).abs()
    order = part.assign(_gap=gap.to_numpy(), _pos=np.arange(len(part))).sort_values(
        ["_gap", "input_size", "_pos"], kind="stable")
    keep = order.drop_duplicates("architecture")["_pos"].sort_values()
    return part.iloc[keep.to_numpy()]


def family_of(model: str) -> str:
    """``transformer`` or ``conv`` by :data:`TRANSFORMER_ARCHS` / :data:`CONV_ARCHS`, else
    ``other`` (MLP, pooling and recurrent mixers, mixed families such as FastViT, unknown)."""
    arch = family_token(model)
    return ("transformer" if arch in TRANSFORMER_ARCHS else
            "conv" if arch in CONV_ARCHS else "other")


# -- reading -------------------------------------------------------------------------------------

def default_population_file() -> Path:
    """The shipped population: timm's i7-12700H CPU results (:data:`TIMM_BENCHMARK`)."""
    return paths.EXTERNAL_DATA / TIMM_BENCHMARK


def population_file(latency_csv=None) -> Path:
    """The one file of the ``LATENCY_CSV`` parameter (``None``: the shipped timm file)."""
    items = latency_csv if isinstance(latency_csv, (list, tuple)) else \
        [p for p in str(latency_csv or "").split(",")]
    files = [paths.user_path(str(p).strip()) for p in items if str(p).strip()]
    if len(files) > 1:
        raise ConfigError(f"parameter LATENCY_CSV: one population file expected, got "
                          f"{len(files)}")
    return files[0] if files else default_population_file()


def load_population(latency_csv=None) -> pd.DataFrame:
    """One latency file (default: the shipped timm benchmark) as one row per (model, input
    size) with ``name`` (the model, plus its size where timm measured several), ``family``
    and ``architecture`` (:func:`architecture_of`).

    One device and batch size 1 only: rows at batch > 1 are throughput, not latency."""
    file = population_file(latency_csv)
    table = load_latency(file)
    batched = table[table["batch_size"].fillna(1) > 1]
    if len(batched):  # the loader refuses these too; kept so the study never reads throughput
        r = batched.iloc[0]
        raise DataFormatError(f"{paths.relative(file)}, line {r['line']}: batch size "
                              f"{r['batch_size']} is throughput, not latency; batch 1 only")
    if table["device"].nunique() != 1:
        raise ConfigError(f"{paths.relative(file)}: one device per population file, found "
                          f"{sorted(table['device'].unique())}")
    for col in METRICS:
        if col not in table:
            table[col] = np.nan
    several = table.groupby("model")["model"].transform("size") > 1
    size = table["input_size"].astype("Int64").astype(str)
    table["name"] = np.where(several, table["model"] + " (" + size + " px)", table["model"])
    table["family"] = [family_of(m) for m in table["model"]]
    table["architecture"] = [architecture_of(m, s) for m, s in
                             zip(table["model"], table["input_size"])]
    return table.reset_index(drop=True)


def device_label(table: pd.DataFrame, runtime: bool = True) -> str:
    """The measured device (and runtime) for axis labels and prose, e.g. ``i7-12700H CPU
    (PyTorch 2.4.0, torch.compile)`` for timm's ``cpu-i7_12700h`` / ``torch-dynamo``."""
    device = str(table["device"].iloc[0])
    tokens = device.split("-")
    kind = [t.upper() for t in tokens if t.lower() in ("cpu", "gpu")]
    text = ""
    for t in (p for tok in tokens if tok.lower() not in ("cpu", "gpu") for p in tok.split("_")):
        t = re.sub(r"(\d)([a-z]+)$", lambda m: m.group(1) + m.group(2).upper(), t)
        t = t.capitalize() if t.isalpha() and len(t) > 2 and t.islower() else t
        # i7_12700h → i7-12700H (a model number after a digit-bearing prefix), else a space
        text += ("-" if text and any(c.isdigit() for c in text.split(" ")[-1]) else " ") + t
    name = " ".join([text.strip(), *kind]).strip() or device
    if not runtime:
        return name
    runtime = str(table["runtime"].iloc[0]) if "runtime" in table else ""
    version = table["runtime_version"].iloc[0] if "runtime_version" in table else None
    if runtime.startswith("torch"):
        mode = runtime.partition("-")[2]
        mode = "torch.compile" if mode in ("dynamo", "inductor") else mode
        runtime = "PyTorch" + (f" {version}" if isinstance(version, str) and version else "") \
            + (f", {mode}" if mode else "")
    return f"{name} ({runtime})" if runtime and runtime not in ("unknown", "unstated") else name


def is_compiled(table: pd.DataFrame) -> bool:
    """The file's timings come from a compiling runtime (timm's ``torch-dynamo`` /
    ``torch-inductor``: torch.compile fuses element-wise operations into the kernels around
    them)."""
    runtime = str(table["runtime"].iloc[0]) if "runtime" in table and len(table) else ""
    return runtime.startswith("torch") and runtime.partition("-")[2] in ("dynamo", "inductor")


# -- populations ---------------------------------------------------------------------------------

def _table9() -> pd.DataFrame:
    return pd.read_csv(paths.paper_table("table9_imagenet"))


def figure2_names() -> list[str]:
    """The paper's Figure 2 models: Table 9 rows with a Figure 2 label (shipped table)."""
    t9 = _table9()
    return t9.loc[t9["figure2_label"].notna(), "model"].tolist()


def unfused_reason(paper_name: str, table: pd.DataFrame | None = None) -> str:
    """Why a :data:`FIGURE2_UNFUSED` model is not used, with timm's and the paper's counts
    (the paper's from Table 9; timm's from ``table`` where the row is there)."""
    name, size = FIGURE2_UNFUSED[paper_name]
    t9 = _table9().set_index("model")
    text = f"{name} in timm is the unfused train-time form, not the paper's deployed model"
    hit = (table[(table["model"] == name) & (table["input_size"] == size)]
           if table is not None else pd.DataFrame())
    if len(hit) and paper_name in t9.index:
        r, p = hit.iloc[0], t9.loc[paper_name]
        text += (f": {r['macs'] / 1e9:.3g} GMACs, {r['params'] / 1e6:.3g} M params in this file "
                 f"vs the deployed {p['flops_m'] / 1e3:.3g} GMACs, {p['params_m']:.3g} M (Table 9)")
    return text


def figure2_rows(table: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Rows of the Figure 2 models found in ``table`` (column ``paper_name``) and, for the
    others, why not: no timm implementation, not in this file, or timm's row is not the
    paper's model (MobileOne: unfused train-time form, :data:`FIGURE2_UNFUSED`)."""
    found, missing = [], {}
    for paper_name in figure2_names():
        if paper_name in FIGURE2_UNFUSED:
            missing[paper_name] = unfused_reason(paper_name, table)
            continue
        target = FIGURE2_TIMM.get(paper_name)
        if target is None:
            missing[paper_name] = "no timm implementation"
            continue
        hit = table[(table["model"] == target[0]) & (table["input_size"] == target[1])]
        if hit.empty:
            missing[paper_name] = f"{target[0]} at {target[1]} px not in the file"
        else:
            found.append(hit.iloc[[0]].assign(paper_name=paper_name))
    rows = pd.concat(found, ignore_index=True) if found else table.iloc[:0].assign(paper_name="")
    return rows, missing


def efficient_mask(table: pd.DataFrame, max_gmacs: float, max_params_m: float,
                   max_input_size: int) -> pd.Series:
    """The efficient regime: MACs ≤ ``max_gmacs``·1e9, params ≤ ``max_params_m``·1e6 and
    input ≤ ``max_input_size`` px. A missing count does not fail its bound (the model is then
    left out of that metric's correlation, as everywhere)."""
    macs_ok = ~(table["macs"] > max_gmacs * 1e9)
    params_ok = ~(table["params"] > max_params_m * 1e6)
    return macs_ok & params_ok & (table["input_size"] <= max_input_size)


def populations(table: pd.DataFrame, max_gmacs: float = 3, max_params_m: float = 20,
                max_input_size: int = 256) -> dict[str, pd.DataFrame]:
    """The named populations (:data:`POPULATIONS`); ``max_input_size`` bounds only the
    efficient regime."""
    fig2, _ = figure2_rows(table)
    return {"all": table,
            "efficient": table[efficient_mask(table, max_gmacs, max_params_m, max_input_size)],
            "conv": table[table["family"] == "conv"],
            "transformer": table[table["family"] == "transformer"],
            "figure2": fig2}


def missing_counts(pops: Mapping[str, pd.DataFrame], metrics=METRICS) -> pd.DataFrame:
    """Per population and metric: how many models lack the count, and which (by name)."""
    rows = []
    for pop, part in pops.items():
        for m in metrics:
            names = part.loc[part[m].isna(), "name"].tolist()
            rows.append({"population": pop, "metric": m, "n_missing": len(names),
                         "models": ", ".join(names)})
    return pd.DataFrame(rows, columns=["population", "metric", "n_missing", "models"])


@dataclass(frozen=True)
class Population:
    """The loaded population and its named subsets (the first step of notebook 05).

    ``in_efficient`` / ``in_figure2``: boolean masks over ``table``'s rows."""

    file: Path
    table: pd.DataFrame
    device: str
    device_short: str
    groups: Mapping[str, pd.DataFrame]
    figure2_missing: Mapping[str, str]
    missing: pd.DataFrame
    in_efficient: np.ndarray
    in_figure2: np.ndarray

    @property
    def figure2(self) -> pd.DataFrame:
        return self.groups["figure2"]


def population(latency_csv=None, max_gmacs: float = 3, max_params_m: float = 20,
               max_input_size: int = 256) -> Population:
    """Load the file and form its populations (:func:`load_population`, :func:`populations`)."""
    table = load_population(latency_csv)
    mask = efficient_mask(table, max_gmacs, max_params_m, max_input_size)
    groups = populations(table, max_gmacs, max_params_m, max_input_size)
    _, missing = figure2_rows(table)
    keys = set(zip(groups["figure2"]["model"], groups["figure2"]["input_size"]))
    in_fig2 = np.array([k in keys for k in zip(table["model"], table["input_size"])], bool)
    return Population(population_file(latency_csv), table, device_label(table),
                      device_label(table, runtime=False), groups, missing,
                      missing_counts(groups), mask.to_numpy(bool), in_fig2)


def figure2_overview(data: Population) -> pd.DataFrame:
    """The Figure 2 models found, with GMACs and parameters (M), for display."""
    rows = data.figure2[["paper_name", "model", "input_size", "latency_ms", "macs", "params"]]
    return rows.assign(macs=rows["macs"] / 1e9, params=rows["params"] / 1e6).rename(
        columns={"macs": "GMACs", "params": "params (M)"})


# -- correlations --------------------------------------------------------------------------------

def rho_matrix(correlations: pd.DataFrame) -> pd.DataFrame:
    """ρ alone, populations × metrics in display order (for a glance at the table)."""
    wide = correlations.pivot(index="population", columns="metric", values="rho")
    return wide.loc[[p for p in POPULATIONS if p in wide.index],
                    [m for m in METRICS if m in wide.columns]]


# -- sampling distribution of ρ ------------------------------------------------------------------

#: Decimals a resampled or subset ρ is rounded to before it is compared with another value (a
#: tie in exact arithmetic, common at small n, stays a tie on every machine).
ROUND_DIGITS = 12


@dataclass(frozen=True)
class Subsamples:
    """ρ(latency, MACs) of random subsets of architectures per size (``draws``), their
    :data:`QUANTILES` (``quantiles``: long table ``n, quantile, rho``), the sizes skipped
    (``skipped``: below 3, or above half the ``pool`` of architectures with a MACs count)."""

    draws: Mapping[int, np.ndarray]
    quantiles: pd.DataFrame
    skipped: tuple[int, ...]
    pool: int


def subsample_rho(part: pd.DataFrame, sizes: Sequence[int], n_subsamples: int = 2000,
                  seed: int = 0, metric: str = "macs") -> tuple[dict[int, np.ndarray], list[int]]:
    """ρ(latency, ``metric``) of ``n_subsamples`` random subsets of ``part``'s rows per size,
    drawn without replacement (each size from its own seeded stream), and the sizes skipped:
    above half the rows (subsets would share most models) or below 3. ρ rounded to
    :data:`ROUND_DIGITS` decimals."""
    ok = part[[metric, "latency_ms"]].dropna()
    x, y = ok[metric].to_numpy(float), ok["latency_ms"].to_numpy(float)
    draws, skipped = {}, []
    for n in sorted({int(s) for s in sizes}):
        if n < 3 or n > len(x) / 2:
            skipped.append(n)
            continue
        rng = np.random.default_rng([seed, n])
        idx = np.argsort(rng.random((n_subsamples, len(x))), axis=1)[:, :n]
        rho = np.round(stats.spearman_rows(x[idx], y[idx]), ROUND_DIGITS)
        draws[n] = rho[np.isfinite(rho)]
    return draws, skipped


def subsample_quantiles(draws: Mapping[int, np.ndarray], quantiles=QUANTILES) -> pd.DataFrame:
    """Long table ``n, quantile, rho``."""
    rows = [{"n": n, "quantile": q, "rho": float(np.quantile(d, q))}
            for n, d in draws.items() if len(d) for q in quantiles]
    return pd.DataFrame(rows, columns=["n", "quantile", "rho"])


def subsamples(part: pd.DataFrame, sizes: Sequence[int], n_subsamples: int = 2000,
               seed: int = 0, extra: Sequence[int] = ()) -> Subsamples:
    """:func:`subsample_rho` of ρ(latency, MACs) over random studies of distinct
    architectures: each architecture of ``part`` enters with one row (:func:`representative`),
    so a subset never holds one network at two input sizes. ``extra`` sizes (those of reference
    values) are drawn where possible and never reported as skipped."""
    pool = representative(part)
    draws, skipped = subsample_rho(pool, [*sizes, *extra], n_subsamples, seed)
    asked = {int(n) for n in sizes}
    size = int(pool[["macs", "latency_ms"]].notna().all(axis=1).sum())
    return Subsamples(draws, subsample_quantiles(draws),
                      tuple(n for n in skipped if n in asked), size)


def share_at_or_below(draws: np.ndarray, value: float) -> float:
    """Share of subsample ρ's at or below ``value`` (its percentile in the distribution;
    ``value`` rounded as the draws are)."""
    if not len(draws) or not math.isfinite(value):
        return math.nan
    return float(np.mean(np.asarray(draws) <= round(float(value), ROUND_DIGITS)))


# -- the paper's values --------------------------------------------------------------------------

def paper_table1_macs() -> pd.DataFrame:
    """The paper's Table 1 ρ(latency, FLOPs): ``device, label, rho, p_value``."""
    t1 = pd.read_csv(paths.paper_table("table1_spearman"))
    t1 = t1[t1["metric"] == "flops"].copy()
    t1["label"] = [TABLE1_LABELS.get(d, d) for d in t1["device"]]
    return t1[["device", "label", "rho", "p_value"]].reset_index(drop=True)


def paper_device_references(n_permutations: int = N_PERMUTATIONS,
                            seed: int = 0) -> pd.DataFrame:
    """ρ(latency, published MACs) over the Figure 2 models on each of the paper's devices
    (the manifest's ``paper`` files, Table 9) with the inference of
    :func:`analysis.inference.correlate` (permutation p, Fisher-z interval), by device name."""
    lat = load_latency(reference_files())
    lat = lat[lat["model"].isin(figure2_names())]
    table = inference.correlation_table(lat, ["macs"], n_permutations=n_permutations,
                                        seed=seed)
    return table.drop(columns="metric").sort_values("device").reset_index(drop=True)


REFERENCE_COLUMNS = {
    "label": "whose ρ(latency, MACs): one of the paper's devices (Table 9, Figure 2 models, "
             "published MACs) or the paper's Figure 2 models on this file's device",
    "n": "models behind that ρ",
    "rho": "ρ(latency, MACs)",
    "ci_low": "lower bound of its 95 % interval",
    "ci_high": "upper bound of its 95 % interval",
    "share": "share of random subsets of n architectures on this file's device with a ρ at or "
             "below it (empty without subsets of that size)",
    "subsets": "random subsets of that size drawn",
}


def reference_points(table9: pd.DataFrame, correlations: pd.DataFrame, device: str,
                     draws: Mapping[int, np.ndarray]) -> pd.DataFrame:
    """Each Table 9 device's ρ (from :func:`paper_device_references`) and the paper's Figure 2
    models on this file's device, each placed in the distribution of ``draws`` of its n (the
    share of random subsets at or below it)."""
    own = correlations[(correlations["population"] == "figure2")
                       & (correlations["metric"] == "macs")]
    rows = [{"label": f"paper Table 9, {r.device}", "n": int(r.n), "rho": r.rho,
             "ci_low": r.ci_low, "ci_high": r.ci_high} for r in table9.itertuples()]
    rows += [{"label": f"Figure 2 models on {device}", "n": int(r.n), "rho": r.rho,
              "ci_low": r.ci_low, "ci_high": r.ci_high} for r in own.itertuples() if r.n >= 3]
    for r in rows:
        d = np.asarray(draws.get(r["n"], []))
        r["share"], r["subsets"] = share_at_or_below(d, r["rho"]), len(d)
    return pd.DataFrame(rows, columns=list(REFERENCE_COLUMNS))


def input_files(data: Population) -> list[Path]:
    """The data files a run reads: the population, the paper's tables and devices."""
    return [data.file, paths.paper_table("table9_imagenet"),
            paths.paper_table("table1_spearman"), *reference_files()]
