"""Notebooks 02 and 03's numbers: the 30-layer networks of the paper's Tables 2 and 3, their
cost counts, the latency *series* and the tables that compare them with the paper.

MobileOne (Vasu et al., CVPR 2023, §3) times one 30-layer CNN on an iPhone 12 with seven
activations (Table 2) and with Squeeze-Excite or skip connections added (Table 3), to show that
what forces a synchronization (a global pool) or adds memory traffic costs far more latency than
its FLOPs suggest. The networks are :mod:`analysis.models.ablation`'s.

A *series* is one column of latencies over the variants: the paper's iPhone 12 (key
``paper``), or one device · runtime · regime of the latency files
(:mod:`analysis.studies.ablation.measure`: the shipped campaigns, a user's files, a live
campaign). Every series is compared with its own reference variant (ReLU in Table 2, the
baseline in Table 3): ``slowdown = latency / latency of the reference``, judged by the noise
model of that series (:mod:`analysis.noise`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from torch import nn

from analysis import noise, paths
from analysis.complexity import count_complexity, model_digest, profile_model
from analysis.errors import ConfigError
from analysis.inference import CORRELATION_COLUMNS, adjusted_within, correlate
from analysis.models import create_model, get_entry
from analysis.models.ablation import (PAPER_TABLES, AblationNet, build_variant, layer_table,
                                      variants)
from analysis.stats import spearman_critical_value

#: Series key of the paper's iPhone 12 column.
PAPER_KEY = "paper"
PAPER_LABEL = "Paper: iPhone 12 (Core ML, min)"
#: Where Table 3's "+ Squeeze-Excite" may put SE (``AblationNet(se=…)``).
SE_CHOICES = ("every", "block", "last_stage")
#: Every network of the measurement set ``ablation`` (Tables 2 and 3).
ALL_IDS = tuple(v.id for t in ("table2", "table3") for v in variants(t))
#: The identical networks of the set, measured as separate items: the noise model's
#: calibration check (Table 2's ReLU network is Table 3's baseline; SE-ReLU is "+ SE").
DUPLICATES = (("ablation_relu", "ablation_baseline"), ("ablation_se_relu", "ablation_se"))
#: Table 2 variants whose activation needs a global average pool of the feature map (a
#: synchronization point: every output waits for the whole input).
SYNCHRONIZING = ("ablation_se_relu", "ablation_dynamic_shift_max", "ablation_dyrelu_a",
                 "ablation_dyrelu_b")
#: Cost counts whose ratio to the reference is reported (``<cost>_vs_first``) and charted.
RATIO_COSTS = ("macs", "elementwise", "memory_bytes", "params")
#: Costs of the cost-ratio chart: the ratios, and merges as (merges + 1) / (reference's + 1)
#: (the references have none).
CHART_COSTS = (*RATIO_COSTS, "merges")
COST_LABELS = {"macs": "MACs (fvcore default = paper's FLOPs)",
               "elementwise": "element-wise ops (fvcore skips)",
               "memory_bytes": "memory traffic (bytes, est.)", "params": "parameters",
               "merges": "merges ((n + 1) / (reference's n + 1))"}
#: Counts of the comparison table, in order.
COUNTS = ("macs", "elementwise", "params", "activations", "memory_bytes", "operators", "layers",
          "merges")
#: Counts correlated with latency across the variants (exploratory). MACs are not among them:
#: the variants' MACs differ by at most a fraction of a per cent, so a rank correlation of
#: MACs would rank rounding-size differences, not cost.
CORRELATED_COSTS = ("elementwise", "memory_bytes", "merges", "operators")
#: Columns of the long series table (before slowdowns and verdicts); the last ones are floats.
SERIES_COLUMNS = ("series", "key", "kind", "statistic", "model_id", "model", "paper_row",
                  "latency_ms", "low_ms", "high_ms", "median_ms", "median_low_ms",
                  "median_high_ms", "n_sessions", "band", "median_band")
#: Verdict of the reference variant itself.
REFERENCE = "reference"


@dataclass(frozen=True)
class AblationTable:
    """What differs between notebooks 02 and 03."""

    table: str  # "table2" or "table3" (analysis.models.ablation.variants)
    notebook: str  # the notebook's stem
    paper_name: str  # "Table 2" / "Table 3"
    reference: str  # model id every slowdown is relative to
    reference_label: str  # its short name in text and axis labels
    comparison: str  # name of the wide result table (its CSV)
    figure_prefix: str  # figure file names start with it

    @property
    def ids(self) -> list[str]:
        return [v.id for v in variants(self.table)]

    def figure_name(self, what: str) -> str:
        """``cost_ratios`` → ``table2_activation_cost_ratios_vs_relu``, ``latency`` →
        ``…_latency_paper_vs_ours``, ``slowdown`` → ``…_slowdown_vs_relu``."""
        ref = slug(self.reference_label)
        names = {"cost_ratios": f"cost_ratios_vs_{ref}", "latency": "latency_paper_vs_ours",
                 "slowdown": f"slowdown_vs_{ref}"}
        return f"{self.figure_prefix}_{names[what]}"


TABLES = {
    "02_activation_ablation": AblationTable("table2", "02_activation_ablation", "Table 2",
                                            "ablation_relu", "ReLU", "ablation_activations",
                                            "table2_activation"),
    "03_block_ablation": AblationTable("table3", "03_block_ablation", "Table 3",
                                       "ablation_baseline", "baseline", "ablation_blocks",
                                       "table3_block"),
}


def slug(text: str) -> str:
    """Lower-case ``[a-z0-9_]`` form of a name, for keys and column names."""
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_") or "x"


def user_files(value) -> list[Path]:
    """The files of a ``*_CSV`` parameter (``None``, a path, ``"a.csv,b.csv"`` or a list)."""
    items = value if isinstance(value, (list, tuple)) else str(value or "").split(",")
    return [paths.user_path(str(v).strip()) for v in items if str(v).strip()]


def paper_file(spec: AblationTable) -> Path:
    return paths.paper_table(PAPER_TABLES[spec.table][0])


def paper_results(spec: AblationTable) -> pd.DataFrame:
    """The paper's table joined to our variants: ``model_id, model, paper_row, paper_ms``
    (iPhone 12) and ``note``, one row per variant in the paper's order."""
    column = PAPER_TABLES[spec.table][1]
    paper = pd.read_csv(paper_file(spec), dtype={column: str}).set_index(column)
    notes = paper["note"].fillna("") if "note" in paper.columns else None
    return pd.DataFrame([
        {"model_id": v.id, "model": v.display_name, "paper_row": v.paper_row,
         "paper_ms": float(paper.loc[v.paper_row, "mobile_ms"]),
         "note": "" if notes is None else str(notes.loc[v.paper_row])}
        for v in variants(spec.table)])


# -- the networks ---------------------------------------------------------------------------------

def build_networks(spec: AblationTable, *, depth: int, width: int, input_size: int,
                   se_placement: str = "every") -> dict[str, AblationNet]:
    """Every variant of the table, ``{model_id: network}`` in the paper's row order
    (``se_placement``: where Table 3's "+SE" puts Squeeze-Excite)."""
    if se_placement not in SE_CHOICES:
        raise ConfigError(f"SE_PLACEMENT={se_placement!r} is not one of {', '.join(SE_CHOICES)}")
    return {v.id: build_variant(v.id, depth=depth, width=width, input_size=input_size,
                                **({"se": se_placement} if v.id == "ablation_se" else {}))
            for v in variants(spec.table)}


def layers_of(model: AblationNet) -> pd.DataFrame:
    """:func:`~analysis.models.ablation.layer_table` of ``model`` as a frame (one row per weight
    layer; ``residual_from`` an integer column with <NA>)."""
    frame = pd.DataFrame(layer_table(model))
    frame["residual_from"] = pd.array(frame["residual_from"], dtype="Int64")
    return frame


def placement_table(networks: Mapping[str, AblationNet]) -> pd.DataFrame:
    """The baseline's layers with where Table 3's blocks go: ``se_in_plus_se`` (a Squeeze-Excite
    block after this layer's BN in the "+SE" network) and ``skip_in_plus_skip`` (the layer whose
    input is added before this layer's activation in the "+skip" network, or <NA>)."""
    out = layers_of(networks["ablation_baseline"]).drop(columns=["se", "residual_from"])
    out["se_in_plus_se"] = layers_of(networks["ablation_se"])["se"].to_numpy()
    out["skip_in_plus_skip"] = layers_of(networks["ablation_skip"])["residual_from"].to_numpy()
    return out


# -- cost counts ----------------------------------------------------------------------------------

def counted(model_id: str, network: nn.Module, input_size: int):
    """:func:`~analysis.complexity.count_complexity` of one network; the registry's own
    (the same architecture and code, :func:`~analysis.complexity.model_digest`, at its native
    size) comes from :func:`~analysis.complexity.profile_model`'s cache, i.e. the committed
    ``complexity.csv`` — the default study counts nothing again."""
    entry = get_entry(model_id)
    if input_size == entry.input_size and \
            model_digest(network) == model_digest(create_model(model_id)):
        return profile_model(model_id)
    return count_complexity(network, input_size)


def complexity_table(spec: AblationTable, networks: Mapping[str, AblationNet],
                     input_size: int) -> pd.DataFrame:
    """Every count of :class:`~analysis.complexity.Complexity` per variant (deployed form;
    ``macs`` is fvcore's default, the paper's "FLOPs") with ``model_id, model, paper_row`` and
    ``<cost>_vs_first`` for every :data:`RATIO_COSTS` (ratio to the table's first row)."""
    rows = []
    for v in variants(spec.table):
        counts = counted(v.id, networks[v.id], input_size).as_row()
        for key in ("input_shape", "fused"):
            counts.pop(key)
        rows.append({"model_id": v.id, "model": v.display_name, "paper_row": v.paper_row,
                     **counts})
    cx = pd.DataFrame(rows)
    for cost in RATIO_COSTS:
        cx[f"{cost}_vs_first"] = cx[cost] / cx[cost].iloc[0]
    return cx


def counts_view(cx: pd.DataFrame) -> pd.DataFrame:
    """The counts in readable units (M = 10⁶, MB = 10⁶ bytes), one row per variant."""
    return pd.DataFrame({
        "MACs (M)": cx["macs"] / 1e6, "MACs ×": cx["macs_vs_first"],
        "element-wise (M)": cx["elementwise"] / 1e6,
        "element-wise ×": cx["elementwise_vs_first"], "params (M)": cx["params"] / 1e6,
        "memory (MB)": cx["memory_bytes"] / 1e6, "memory ×": cx["memory_bytes_vs_first"],
        "merges": cx["merges"], "operators": cx["operators"],
    }).set_index(cx["paper_row"].rename("variant"))


def cost_ratio_data(cx: pd.DataFrame) -> pd.DataFrame:
    """Long table ``paper_row, cost, ratio`` of every :data:`CHART_COSTS` ratio (for the chart)."""
    merges = (cx["merges"] + 1) / (cx["merges"].iloc[0] + 1)
    return pd.DataFrame([{"paper_row": r["paper_row"], "cost": COST_LABELS[cost],
                          "ratio": merges[i] if cost == "merges" else r[f"{cost}_vs_first"]}
                         for i, r in cx.iterrows() for cost in CHART_COSTS])


# -- series and slowdowns -------------------------------------------------------------------------

def require_networks(spec: AblationTable, latency: pd.DataFrame, parameter: str,
                     files: Sequence[Path], advice: str) -> None:
    """One-line :class:`ConfigError` when ``latency`` holds none of the table's networks."""
    if latency["model_id"].isin(spec.ids).any():
        return
    names = ", ".join(v.display_name for v in variants(spec.table))
    raise ConfigError(f"{parameter}: {', '.join(p.name for p in files)} holds none of the "
                      f"{len(spec.ids)} {spec.paper_name} networks ({names}); {advice}")


def variant_frame(spec: AblationTable) -> pd.DataFrame:
    return pd.DataFrame([{"model_id": v.id, "model": v.display_name, "paper_row": v.paper_row}
                         for v in variants(spec.table)])


def paper_series(spec: AblationTable) -> pd.DataFrame:
    """The paper's iPhone 12 column as a series (no sessions: no interval, no band)."""
    p = paper_results(spec)
    out = pd.DataFrame({"series": PAPER_LABEL, "key": PAPER_KEY, "kind": "paper",
                        "statistic": "min", "model_id": p["model_id"], "model": p["model"],
                        "paper_row": p["paper_row"], "latency_ms": p["paper_ms"]})
    for column in SERIES_COLUMNS:
        if column not in out:
            out[column] = np.nan
    return out[list(SERIES_COLUMNS)]


def add_slowdowns(long: pd.DataFrame, reference: str) -> pd.DataFrame:
    """``slowdown`` = ``latency_ms`` / the reference's ``latency_ms`` within each series,
    ``median_slowdown`` the same for ``median_ms`` (NaN where either value is missing)."""
    out = long.copy()
    for value, name in (("latency_ms", "slowdown"), ("median_ms", "median_slowdown")):
        ref = out[out["model_id"] == reference].set_index("key")[value].astype(float)
        if ref.index.duplicated().any():
            raise ConfigError(f"reference {reference} appears twice in one series")
        out[name] = out[value].astype(float) / out["key"].map(ref).astype(float)
    return out


def add_verdicts(long: pd.DataFrame, reference: str) -> pd.DataFrame:
    """The noise model's verdict on every slowdown (:func:`analysis.noise.verdict` with the
    series' band: ``slower``, ``faster``, ``within noise``; ``n/a`` without a band;
    ``reference`` for the reference itself), for the minimum (``verdict``) and the median
    (``median_verdict``); ``slowdown_low``/``slowdown_high`` = slowdown ÷ and × (1 + band),
    the interval whose overlap with 1× is "within noise"."""
    out = long.copy()
    ref = out["model_id"] == reference
    for value, band, name in (("slowdown", "band", "verdict"),
                              ("median_slowdown", "median_band", "median_verdict")):
        judged = [noise.verdict(float(s), float(b)) for s, b in zip(out[value], out[band])]
        out[name] = np.where(ref, REFERENCE, judged)
    out["slowdown_low"] = out["slowdown"] / (1 + out["band"].astype(float))
    out["slowdown_high"] = out["slowdown"] * (1 + out["band"].astype(float))
    return out


def series_table(spec: AblationTable, measured: pd.DataFrame) -> pd.DataFrame:
    """Long table, one row per (series, variant): the paper's column and every measured series
    (:func:`analysis.studies.ablation.measure.measured_series`), with slowdowns relative to the
    table's reference and the noise model's verdicts (:func:`add_verdicts`)."""
    parts = [paper_series(spec)] + ([measured[list(SERIES_COLUMNS)]] if len(measured) else [])
    long = pd.concat(parts, ignore_index=True)
    for column in SERIES_COLUMNS[7:]:
        long[column] = long[column].astype(float)
    return add_verdicts(add_slowdowns(long, spec.reference), spec.reference)


def series_info(long: pd.DataFrame) -> pd.DataFrame:
    """One row per series: ``series, key, kind, statistic, band, median_band, n_values``."""
    info = long.groupby(["series", "key", "kind", "statistic"], sort=False, dropna=False)
    out = info.agg(band=("band", "first"), median_band=("median_band", "first"),
                   n_values=("latency_ms", "count")).reset_index()
    return out


def latency_view(long: pd.DataFrame, value: str = "latency_ms") -> pd.DataFrame:
    """``value`` per variant (rows, the paper's labels) and series (columns), for display."""
    view = long.pivot_table(index="paper_row", columns="series", values=value, sort=False,
                            dropna=False, aggfunc="first")
    return view.reindex(index=list(dict.fromkeys(long["paper_row"])),
                        columns=list(dict.fromkeys(long["series"])))


def verdict_view(long: pd.DataFrame) -> pd.DataFrame:
    """Slowdown and verdict per variant and measured series (min, then median), for display:
    ``1.58× slower`` / ``1.02× within noise``."""
    here = long[long["kind"] != "paper"].copy()
    for value, verdict, name in (("slowdown", "verdict", "min"),
                                 ("median_slowdown", "median_verdict", "median")):
        here[name] = [f"{s:.2f}× {v}" if s == s else "—"
                      for s, v in zip(here[value], here[verdict])]
    view = here.pivot_table(index="paper_row", columns="series", values=["min", "median"],
                            aggfunc="first", sort=False)
    return view.reindex(index=list(dict.fromkeys(long["paper_row"])))


def comparison_table(long: pd.DataFrame, cx: pd.DataFrame) -> pd.DataFrame:
    """Wide table, one row per variant: ``model_id, model, paper_row``, the :data:`COUNTS` and
    their ``*_vs_first`` ratios; ``paper_ms, paper_slowdown``; per measured series (its key)
    ``<key>_ms`` (the series' statistic, min for every campaign), ``<key>_median_ms``,
    ``<key>_slowdown``, ``<key>_verdict``, ``<key>_median_slowdown``, ``<key>_median_verdict``."""
    ratios = [c for c in cx.columns if c.endswith("_vs_first")]
    wide = cx[["model_id", "model", "paper_row", *COUNTS, *ratios]].copy()
    for key, part in long.groupby("key", sort=False):
        part = part.set_index("model_id")
        cols = {f"{key}_ms": part["latency_ms"], f"{key}_slowdown": part["slowdown"]}
        if key != PAPER_KEY:
            cols = {f"{key}_ms": part["latency_ms"], f"{key}_median_ms": part["median_ms"],
                    f"{key}_slowdown": part["slowdown"], f"{key}_verdict": part["verdict"],
                    f"{key}_median_slowdown": part["median_slowdown"],
                    f"{key}_median_verdict": part["median_verdict"]}
        for name, values in cols.items():
            wide[name] = wide["model_id"].map(values)
    return wide


def comparison_columns(wide: pd.DataFrame, long: pd.DataFrame) -> dict[str, str]:
    """What each column of :func:`comparison_table` holds (for ``summary.json``)."""
    series = dict(zip(long["key"], long["series"]))
    out = {"paper_row": "the variant's row label in the paper's table"}
    for c in wide.columns:
        if c.endswith("_vs_first"):
            out[c] = f"{c.removesuffix('_vs_first')} relative to the table's reference (first row)"
    what = {"_ms": "latency, ms (the series' statistic: min for the paper and every campaign, "
                   "the median over sessions of each session's minimum)",
            "_median_ms": "median over the timed runs, ms (median over sessions)",
            "_slowdown": "latency / the reference's latency (×)",
            "_verdict": "the noise model's verdict on the slowdown (slower, faster, within "
                        "noise; n/a without sessions)",
            "_median_slowdown": "median / the reference's median (×)",
            "_median_verdict": "the noise model's verdict on the median slowdown"}
    for key, label in series.items():
        for suffix, text in what.items():
            if f"{key}{suffix}" in wide.columns:
                out[f"{key}{suffix}"] = f"{label}: {text}"
    return out


def paper_vs_ours(long: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Like with like: per variant and measured series, the paper's and our latency over the
    reference in ms (``*_excess_ms``) and as slowdowns (ours with its verdict);
    ``slowdown_ratio`` = the paper's slowdown / ours."""
    paper = long[long["key"] == PAPER_KEY].set_index("model_id")
    ref_paper = float(paper.loc[reference, "latency_ms"])
    rows = []
    for _, part in long[long["key"] != PAPER_KEY].groupby("key", sort=False):
        ref_ms = part.loc[part["model_id"] == reference, "latency_ms"]
        ref_ms = float(ref_ms.iloc[0]) if len(ref_ms) else np.nan
        for _, r in part[part["model_id"] != reference].iterrows():
            p = paper.loc[r["model_id"]]
            rows.append({"paper_row": r["paper_row"], "model_id": r["model_id"],
                         "series": r["series"], "paper_ms": p["latency_ms"],
                         "paper_excess_ms": p["latency_ms"] - ref_paper,
                         "paper_slowdown": p["slowdown"], "ours_ms": r["latency_ms"],
                         "ours_excess_ms": r["latency_ms"] - ref_ms,
                         "ours_slowdown": r["slowdown"], "verdict": r["verdict"],
                         "slowdown_ratio": p["slowdown"] / r["slowdown"]})
    return pd.DataFrame(rows, columns=["paper_row", "model_id", "series", "paper_ms",
                                       "paper_excess_ms", "paper_slowdown", "ours_ms",
                                       "ours_excess_ms", "ours_slowdown", "verdict",
                                       "slowdown_ratio"])


# -- rank agreement and cost correlations ---------------------------------------------------------

STATISTICS = {"min": "latency_ms", "median": "median_ms"}


def paper_rank_correlation(long: pd.DataFrame) -> pd.DataFrame:
    """Spearman ρ between the paper's latencies and every measured series over the variants
    both have, with the series' minimum and with its median (``statistic``):
    ``series, key, statistic``, the columns of :class:`analysis.inference.Correlation` (n ≤ 8
    here: the exact permutation p is the primary inference), ``critical_rho`` (|ρ| an exact
    test needs for p ≤ 0.05 at that n) and, the series being an exploratory family,
    ``q_value`` and ``shown`` (:func:`analysis.inference.adjusted_within`)."""
    paper = long[long["key"] == PAPER_KEY].set_index("model_id")["latency_ms"]
    rows = []
    for key, part in long[long["key"] != PAPER_KEY].groupby("key", sort=False):
        part = part.set_index("model_id")
        for statistic, value in STATISTICS.items():
            both = pd.concat([paper, part[value]], axis=1, keys=["p", "o"]).dropna()
            c = correlate(both["p"], both["o"])
            rows.append({"series": part["series"].iloc[0], "key": key, "statistic": statistic,
                         **c.as_dict(), "critical_rho": spearman_critical_value(c.n)})
    table = pd.DataFrame(rows, columns=["series", "key", "statistic", *CORRELATION_COLUMNS,
                                        "critical_rho"])
    return adjusted_within(table)


def cost_correlations(long: pd.DataFrame, cx: pd.DataFrame,
                      costs: Sequence[str] = CORRELATED_COSTS) -> pd.DataFrame:
    """Spearman ρ between each count and latency over the variants, per series and statistic
    (exploratory: n = the number of variants, the exact permutation test): ``series,
    statistic, metric``, the columns of :class:`analysis.inference.Correlation` and
    ``q_value`` and ``shown`` (:func:`analysis.inference.adjusted_within`)."""
    data = long.merge(cx[["model_id", *costs]], on="model_id")
    rows = []
    for label, part in data.groupby("series", sort=False):
        for statistic, value in STATISTICS.items():
            if part[value].isna().all():
                continue
            for cost in costs:
                c = correlate(part[cost], part[value])
                rows.append({"series": label, "statistic": statistic, "metric": cost,
                             **c.as_dict()})
    return adjusted_within(pd.DataFrame(rows, columns=["series", "statistic", "metric",
                                                *CORRELATION_COLUMNS]))
