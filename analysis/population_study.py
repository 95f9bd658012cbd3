"""Notebook 05's logic: the population behind Table 1, and how much a 21-model study can tell.

Flow: one timm benchmark file (``benchmark-infer-*.csv``, one device; read by
:func:`analysis.latency.load_latency`) ⟶ named populations of its rows (``all``, the
``efficient`` regime, ``conv`` and ``transformer`` families by a name rule, the paper's
``figure2`` models under their timm names) ⟶ rank correlations of latency with MACs, parameters
and activations (:mod:`analysis.stats`) ⟶ the sampling distribution of ρ(latency, MACs) over
random subsets of the efficient regime, with the paper's values placed in it ⟶ a conclusion
generated from those numbers. Plots: :mod:`analysis.plots_population`.

A model with a missing count is reported by name and left out of that metric's correlations
only. A row is one (model, input size) pair: timm benchmarks some models at several sizes.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis import paths, stats
from analysis.errors import ConfigError, DataFormatError
from analysis.util import as_list

#: timm's public CPU benchmark results, shipped under data/external (see its README).
TIMM_BENCHMARK = "timm-benchmarks/benchmark-infer-fp32-nchw-pt240-cpu-i7_12700h-dynamo.csv"
#: Cost metrics correlated with latency, in display order.
METRICS = ("macs", "params", "activations")
METRIC_LABELS = {"macs": "MACs", "params": "parameters", "activations": "activations"}
POPULATIONS = ("all", "efficient", "conv", "transformer", "figure2")
POPULATION_LABELS = {"all": "all models", "efficient": "efficient regime",
                     "conv": "convolutional models", "transformer": "transformers",
                     "figure2": "paper's Figure 2 models"}
#: Quantiles of the subsample distribution written to ``subsample_rho.csv``.
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
CORRELATION_COLUMNS = ["population", "metric", "rho", "p_value", "ci_low", "ci_high",
                       "kendall_tau", "n"]

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


def unfused_reason(paper_name: str, table: pd.DataFrame | None = None) -> str:
    """Why a :data:`FIGURE2_UNFUSED` model is not used, with timm's and the paper's counts
    (the paper's from Table 9; timm's from ``table`` where the row is there)."""
    name, size = FIGURE2_UNFUSED[paper_name]
    t9 = pd.read_csv(paths.paper_table("table9_imagenet")).set_index("model")
    text = f"{name} in timm is the unfused train-time form, not the paper's deployed model"
    hit = (table[(table["model"] == name) & (table["input_size"] == size)]
           if table is not None else pd.DataFrame())
    if len(hit) and paper_name in t9.index:
        r, p = hit.iloc[0], t9.loc[paper_name]
        text += (f": {r['macs'] / 1e9:.3g} GMACs, {r['params'] / 1e6:.3g} M params in this file "
                 f"vs the deployed {p['flops_m'] / 1e3:.3g} GMACs, {p['params_m']:.3g} M (Table 9)")
    return text


# -- the family name rule ------------------------------------------------------------------------
#: Prefixes stripped before the architecture is read off a timm name (ported weights, attention
#: or normalizer-free variants of the same architecture).
_VARIANT_PREFIXES = re.compile(r"^(?:tf_|legacy_|eca_|gc_|nf_|dm_)+")
#: Architectures built around self-attention (ViTs and hybrids with attention blocks, as the
#: paper's "transformer" family: MobileViT, Mobile-Former).
TRANSFORMER_ARCHS = frozenset(
    ["beit", "beitv", "botnet", "botnext", "caformer", "cait", "coat", "coatnet", "coatnext", "convit", "crossvit", "davit", "deit", "edgenext", "efficientformer", "efficientformerv", "efficientvit", "eva", "flexivit", "gcvit", "halo", "halonet", "halonext", "haloregnetz", "hiera", "hieradet", "lamhalobotnet", "levit", "maxvit", "maxxvit", "maxxvitv", "mobilevit", "mobilevitv", "mvitv", "nest", "nextvit", "pit", "pvt", "sam", "samvit", "sebotnet", "sehalonet", "swin", "swinv", "tiny", "tnt", "twins", "visformer", "vit", "vitamin", "volo", "xcit"])
#: Architectures without attention (squeeze-excite and other channel gates count as conv).
CONV_ARCHS = frozenset(
    ["convmixer", "convnext", "convnextv", "convformer", "cs", "cspdarknet", "cspresnet", "cspresnext", "darknet", "darknetaa", "densenet", "densenetblur", "dla", "dpn", "ecaresnet", "ecaresnetlight", "ecaresnext", "efficientnet", "efficientnetv", "ese", "fbnetc", "fbnetv", "gcresnet", "gcresnext", "gernet", "ghostnet", "ghostnetv", "hardcorenas", "hgnet", "hgnetv", "hrnet", "inception", "lcnet", "mixnet", "mnasnet", "mobilenet", "mobilenetv", "mobileone", "nasnetalarge", "nfnet", "pnasnet", "rdnet", "regnet", "regnetv", "regnetx", "regnety", "regnetz", "repghostnet", "repvgg", "repvit", "res", "resnest", "resnet", "resnetaa", "resnetblur", "resnetrs", "resnetv", "resnext", "rexnet", "rexnetr", "sedarknet", "selecsls", "semnasnet", "senet", "seresnet", "seresnetaa", "seresnext", "seresnextaa", "skresnet", "skresnext", "spnasnet", "tinynet", "tresnet", "vgg", "vovnet", "wide", "xception"])


def architecture(model: str) -> str:
    """The architecture token of a timm name: the leading letters after a variant prefix
    (``tf_mobilenetv3_large_100`` → ``mobilenetv``, ``eca_nfnet_l0`` → ``nfnet``)."""
    m = re.match(r"[a-z]+", _VARIANT_PREFIXES.sub("", model.lower()))
    return m.group(0) if m else ""


def family_of(model: str) -> str:
    """``transformer`` or ``conv`` by :data:`TRANSFORMER_ARCHS` / :data:`CONV_ARCHS`, else
    ``other`` (MLP, pooling and recurrent mixers, mixed families such as FastViT, unknown)."""
    arch = architecture(model)
    return ("transformer" if arch in TRANSFORMER_ARCHS else
            "conv" if arch in CONV_ARCHS else "other")


# -- reading -------------------------------------------------------------------------------------
def default_population_file() -> Path:
    return paths.EXTERNAL_DATA / TIMM_BENCHMARK


def load_population(latency_csv=None) -> pd.DataFrame:
    """One latency file (default: the shipped timm benchmark) as one row per (model, input
    size) with ``name`` (the model, plus its size where timm measured several) and ``family``.

    One device and batch size 1 only: rows at batch > 1 are throughput, not latency."""
    from analysis.latency import load_latency

    files = [paths.user_path(f) for f in as_list(latency_csv)] or [default_population_file()]
    if len(files) != 1:
        raise ConfigError(f"LATENCY_CSV: one population file expected, got {len(files)}")
    table = load_latency(files[0])
    batched = table[table["batch_size"].fillna(1) > 1]
    if len(batched):  # the loader refuses these too; kept so the study never reads throughput
        r = batched.iloc[0]
        raise DataFormatError(f"{paths.relative(files[0])}, line {r['line']}: batch size "
                              f"{r['batch_size']} is throughput, not latency; batch 1 only")
    if table["device"].nunique() != 1:
        raise ConfigError(f"{paths.relative(files[0])}: one device per population file, found "
                          f"{sorted(table['device'].unique())}")
    for col in METRICS:
        if col not in table:
            table[col] = np.nan
    several = table.groupby("model")["model"].transform("size") > 1
    size = table["input_size"].astype("Int64").astype(str)
    table["name"] = np.where(several, table["model"] + " (" + size + " px)", table["model"])
    table["family"] = [family_of(m) for m in table["model"]]
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


# -- populations ---------------------------------------------------------------------------------
def figure2_names() -> list[str]:
    """The paper's Figure 2 models: Table 9 rows with a Figure 2 label (shipped table)."""
    t9 = pd.read_csv(paths.paper_table("table9_imagenet"))
    return t9.loc[t9["figure2_label"].notna(), "model"].tolist()


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


def missing_counts(pops: dict[str, pd.DataFrame], metrics=METRICS) -> pd.DataFrame:
    """Per population and metric: how many models lack the count, and which (by name)."""
    rows = []
    for pop, part in pops.items():
        for m in metrics:
            names = part.loc[part[m].isna(), "name"].tolist()
            rows.append({"population": pop, "metric": m, "n_missing": len(names),
                         "models": ", ".join(names)})
    return pd.DataFrame(rows)


# -- correlations --------------------------------------------------------------------------------
def population_correlations(pops: dict[str, pd.DataFrame], metrics=METRICS,
                            n_bootstrap: int = 2000, seed: int = 0) -> pd.DataFrame:
    """ρ(latency, metric) per population with the primary inference of
    :func:`analysis.stats.spearman_ci` (rows with the metric missing left out of that cell)."""
    rows = []
    for pop, part in pops.items():
        for m in metrics:
            c = stats.spearman_ci(part[m], part["latency_ms"], n_bootstrap, seed).as_dict()
            rows.append({"population": pop, "metric": m, **c})
    table = pd.DataFrame(rows)
    return table[CORRELATION_COLUMNS + [c for c in table.columns if c not in CORRELATION_COLUMNS]]


def predictor_comparisons(pops: dict[str, pd.DataFrame], metrics=METRICS,
                          n_bootstrap: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Per population, the best metric against each other one on the same models (paired
    bootstrap of Δρ, Holm-adjusted within the population): :func:`stats.paired_comparisons`."""
    data = pd.concat([p.assign(population=k) for k, p in pops.items() if len(p)],
                     ignore_index=True)
    return stats.paired_comparisons(data, list(metrics), by="population",
                                    n_bootstrap=n_bootstrap, seed=seed)


# -- sampling distribution of ρ ------------------------------------------------------------------
def _spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    rx, ry = sps.rankdata(x, axis=-1), sps.rankdata(y, axis=-1)
    rx -= rx.mean(axis=-1, keepdims=True)
    ry -= ry.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rx * ry).sum(-1) / np.sqrt((rx ** 2).sum(-1) * (ry ** 2).sum(-1))


def _bootstrap_rho(x: np.ndarray, y: np.ndarray, n_bootstrap: int,
                   rng: np.random.Generator) -> np.ndarray:
    idx = rng.integers(0, len(x), size=(n_bootstrap, len(x)))
    return _spearman_rows(x[idx], y[idx])


def independent_rho_difference(a: pd.DataFrame, b: pd.DataFrame, metric: str = "macs",
                               n_bootstrap: int = 2000, seed: int = 0,
                               confidence: float = 0.95) -> dict:
    """ρ_a − ρ_b of ρ(latency, ``metric``) for two **independent** samples (different models,
    e.g. convolutional models vs transformers) with a percentile-bootstrap interval: each
    sample resampled separately (vectorised), the difference taken per resample (resamples
    with a constant column, hence an undefined ρ, dropped). ``differs`` is True when the
    interval excludes 0."""
    rng = np.random.default_rng(seed)
    out = {}
    for key, part in (("a", a), ("b", b)):
        ok = part[[metric, "latency_ms"]].dropna()
        x, y = ok[metric].to_numpy(float), ok["latency_ms"].to_numpy(float)
        out[f"n_{key}"] = len(x)
        out[f"rho_{key}"] = float(sps.spearmanr(x, y)[0]) if len(x) >= 3 else math.nan
        out[f"_boot_{key}"] = _bootstrap_rho(x, y, n_bootstrap, rng) if len(x) >= 3 else None
    delta = out["rho_a"] - out["rho_b"]
    lo = hi = math.nan
    if out["_boot_a"] is not None and out["_boot_b"] is not None:
        d = out["_boot_a"] - out["_boot_b"]
        d = d[np.isfinite(d)]
        if len(d):
            alpha = (1 - confidence) / 2
            lo, hi = (float(v) for v in np.quantile(d, [alpha, 1 - alpha]))
    out.pop("_boot_a"), out.pop("_boot_b")
    return {**out, "delta": float(delta), "ci_low": lo, "ci_high": hi,
            "differs": bool(math.isfinite(lo) and (lo > 0 or hi < 0))}


def subsample_rho(part: pd.DataFrame, sizes, n_subsamples: int = 2000, seed: int = 0,
                  metric: str = "macs") -> tuple[dict[int, np.ndarray], list[str]]:
    """ρ(latency, ``metric``) of ``n_subsamples`` random subsets of ``part`` per size, drawn
    without replacement (each size from its own seeded stream). Sizes above half the rows are
    skipped (subsets would share most models) with a note; so are sizes below 3."""
    ok = part[[metric, "latency_ms"]].dropna()
    x, y = ok[metric].to_numpy(float), ok["latency_ms"].to_numpy(float)
    draws, notes = {}, []
    for n in sorted({int(s) for s in as_list(sizes)}):
        if n < 3 or n > len(x) / 2:
            notes.append(f"n = {n} skipped: " + ("fewer than 3 models" if n < 3 else
                         f"more than half of the {len(x)} models with a {METRIC_LABELS.get(metric, metric)} count"))
            continue
        rng = np.random.default_rng([seed, n])
        idx = np.argsort(rng.random((n_subsamples, len(x))), axis=1)[:, :n]
        rho = _spearman_rows(x[idx], y[idx])
        draws[n] = rho[np.isfinite(rho)]
    return draws, notes


def subsample_quantiles(draws: dict[int, np.ndarray], quantiles=QUANTILES) -> pd.DataFrame:
    """Long table ``n, quantile, rho``."""
    rows = [{"n": n, "quantile": q, "rho": float(np.quantile(d, q))}
            for n, d in draws.items() if len(d) for q in quantiles]
    return pd.DataFrame(rows, columns=["n", "quantile", "rho"])


def share_at_or_below(draws: np.ndarray, value: float) -> float:
    """Share of subsample ρ's at or below ``value`` (its percentile in the distribution)."""
    return float(np.mean(np.asarray(draws) <= value)) if len(draws) else math.nan


# -- the paper's values --------------------------------------------------------------------------
#: Table 1's device keys → how the prose names them.
TABLE1_LABELS = {"desktop_cpu": "desktop CPU", "iPhone12": "iPhone 12 (phone)"}


def paper_table1_macs() -> pd.DataFrame:
    """The paper's Table 1 ρ(latency, FLOPs): ``device, label, rho, p_value``."""
    t1 = pd.read_csv(paths.paper_table("table1_spearman"))
    t1 = t1[t1["metric"] == "flops"].copy()
    t1["label"] = [TABLE1_LABELS.get(d, d) for d in t1["device"]]
    return t1[["device", "label", "rho", "p_value"]].reset_index(drop=True)


def paper_device_references(n_bootstrap: int = 2000, seed: int = 0) -> pd.DataFrame:
    """ρ(latency, published MACs) over the Figure 2 models on each of the paper's shipped
    Table 9 devices (``data/latency/paper-*.csv``): ``device, rho, ci_low, ci_high, n, …``."""
    from analysis.latency import load_latency

    lat = load_latency(sorted(paths.LATENCY_DATA.glob("paper-*.csv")))
    lat = lat[lat["model"].isin(figure2_names())]
    rows = [{"device": dev, **stats.spearman_ci(g["macs"], g["latency_ms"], n_bootstrap,
                                                 seed).as_dict()}
            for dev, g in lat.groupby("device", sort=True)]
    return pd.DataFrame(rows)


def reference_points(table9: pd.DataFrame, correlations: pd.DataFrame,
                     device: str) -> pd.DataFrame:
    """Points for the subsample figure: each Table 9 device's ρ (from
    :func:`paper_device_references`) and the Figure 2 models on this file's device."""
    own = correlations[(correlations["population"] == "figure2")
                       & (correlations["metric"] == "macs")]
    rows = [{"label": f"paper Table 9, {r.device}", "n": int(r.n), "rho": r.rho,
             "ci_low": r.ci_low, "ci_high": r.ci_high} for r in table9.itertuples()]
    rows += [{"label": f"Figure 2 models on {device}", "n": int(r.n), "rho": r.rho,
              "ci_low": r.ci_low, "ci_high": r.ci_high} for r in own.itertuples() if r.n >= 3]
    return pd.DataFrame(rows, columns=["label", "n", "rho", "ci_low", "ci_high"])


def findings(table: pd.DataFrame, pops: dict[str, pd.DataFrame], correlations: pd.DataFrame,
             comparisons: pd.DataFrame | None, draws: dict[int, np.ndarray], notes: list[str],
             references: pd.DataFrame | None = None, n_bootstrap: int = 2000,
             seed: int = 0) -> dict:
    """Everything :func:`conclusion` states, computed from the notebook's results."""
    return {"family_difference": independent_rho_difference(
                pops["conv"], pops["transformer"], "macs", n_bootstrap, seed)
            if "conv" in pops and "transformer" in pops else None,"device": device_label(table), "correlations": correlations,
            "comparisons": comparisons, "figure2_missing": figure2_rows(table)[1],
            "missing": missing_counts(pops), "draws": draws, "notes": notes,
            "paper": paper_table1_macs(), "paper_n": len(figure2_names()),
            "references": references}


def summary(parameters: dict, *, latency_file, device: str, pops: dict, figure2_missing,
            notes, figures, conclusion_text: str) -> dict:
    """``summary.json`` of notebook 05: parameters, the file and device, population sizes,
    what each result file holds, the figures, the conclusion and the run's provenance."""
    from analysis.provenance import provenance

    return {"parameters": parameters, "latency_csv": paths.relative(latency_file),
            "device": device, "population_sizes": {k: len(v) for k, v in pops.items()},
            "figure2_not_found": figure2_missing, "subsample_notes": notes,
            "files": {"population_correlations.csv": "per population and metric: ρ, p, CI, "
                                                     "Kendall τ, n, primary inference",
                      "subsample_rho.csv": "quantiles of ρ(latency, MACs) over random subsets "
                                           "of the efficient regime, per subset size",
                      "predictor_comparisons.csv": "paired Δρ between metrics, Holm-adjusted",
                      "missing_counts.csv": "models whose count is missing, per metric",
                      "reference_points.csv": "the paper's devices on the same scale"},
            "figures": [paths.relative(f) for f in figures], "conclusion": conclusion_text,
            "provenance": provenance("05_population_study")}
