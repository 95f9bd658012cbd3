"""Notebook 01's findings: the numbers behind every sentence of its conclusion, typed.

:func:`find` reads the tables of :mod:`.compute` and keeps what the prose states — per device
and metric ρ with its primary inference, Table 1 against the paper, the paper's "weakly
correlated" claim judged per device, the best predictor per device (paired comparisons), how
far devices agree, conv-only correlations, and what was left out of the analysis and why.
The rules (Vasu et al., CVPR 2023 §3 is judged by them, :mod:`analysis.stats`):

- a correlation is *supported* only when its primary inference says so (exact permutation p
  for n ≤ :data:`~analysis.constants.EXACT_MAX_N`, the bootstrap CI above);
- one metric is *better* than another only when the paired CI of Δρ excludes 0 and the
  Holm-adjusted p ≤ :data:`~analysis.constants.ALPHA`;
- rankings never place a small-n result above a larger one (:func:`analysis.stats.rank_order`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Mapping

import pandas as pd

from analysis.constants import ALPHA, EXACT_MAX_N, PAPER_METRICS, WEAK_THRESHOLD
from analysis.stats import rank_order
from analysis.studies.correlation.compute import OURS, claim_verdicts

#: The single basis of the prose for sizes: the project's fvcore counts of its own
#: implementations (they exist for every model and device); Table 9's published sizes are
#: shown in the tables only.
PROSE_BASIS = OURS


@dataclass(frozen=True)
class Rho:
    """Spearman ρ with its primary inference (the fields of :class:`analysis.stats.Correlation`;
    readable as a mapping, so :func:`analysis.text.rho_text` takes it)."""

    rho: float
    n: int
    ci_low: float = math.nan
    ci_high: float = math.nan
    p_value: float = math.nan
    exact_p: float = math.nan
    inference: str = ""
    supported: bool = False
    borderline: bool = False

    def __getitem__(self, key: str):
        return getattr(self, key)

    def get(self, key: str, default=None):
        return getattr(self, key, default)

    @property
    def has_ci(self) -> bool:
        return math.isfinite(self.ci_low) and math.isfinite(self.ci_high)

    @classmethod
    def of(cls, row, rho: str = "rho", p_value: str = "p_value") -> "Rho":
        """From a correlation-table row (``rho``/``p_value`` columns renamed as given)."""
        def num(key):
            value = row.get(key, math.nan)
            return math.nan if value is None or pd.isna(value) else float(value)

        return cls(num(rho), int(row["n"]), num("ci_low"), num("ci_high"), num(p_value),
                   num("exact_p"), str(row.get("inference", "")), bool(row.get("supported")),
                   bool(row.get("borderline")))


@dataclass(frozen=True)
class Table1Cell:
    """One cell of the paper's Table 1 next to ours on the paper's own latencies."""

    device: str
    metric: str
    source: str
    paper_rho: float
    paper_p: float
    ours: Rho
    paper_rho_in_ci: bool
    #: "p_only": scipy's p ≤ α but the interval includes 0; "ci_only": the reverse; "" agree.
    disagreement: Literal["", "p_only", "ci_only"] = ""


@dataclass(frozen=True)
class ClaimVerdict:
    """The paper's "latency is weakly correlated with <metric>" on one device."""

    device: str
    metric: str
    verdict: Literal["holds", "contradicted", "inconclusive"]
    rho: Rho


@dataclass(frozen=True)
class BestPredictor:
    """The metric with the highest ρ on one device, and whether it is shown better."""

    device: str
    metric: str
    rho: Rho
    #: Whether metrics can be compared at all (n > EXACT_MAX_N and another metric exists).
    comparable: bool
    n_comparisons: int = 0
    runner_up: str | None = None
    runner_up_rho: float = math.nan
    delta: float = math.nan
    delta_ci_low: float = math.nan
    delta_ci_high: float = math.nan
    p_holm: float = math.nan
    better_than: tuple[str, ...] = ()
    better_than_runner_up: bool = False
    better_than_all: bool = False


@dataclass(frozen=True)
class DevicePair:
    a: str
    b: str
    rho: Rho


@dataclass(frozen=True)
class Agreement:
    """How far devices agree on the latency ranking of the models (pairs with n > 8)."""

    pairs: int
    supported: int  # pairs agreeing beyond chance (CI above 0)
    strong: int  # of them, pairs whose CI lies above the strong threshold
    strong_threshold: float
    highest: DevicePair | None
    lowest: DevicePair | None
    small_pairs: int  # pairs sharing 3..EXACT_MAX_N models: counted, never ranked
    transfer: Literal["all", "some", "none", "too few models"]


@dataclass(frozen=True)
class ConvOnly:
    """ρ on convolutional models only, beside ρ on all models."""

    device: str
    metric: str
    conv: Rho
    rho_all: float


@dataclass(frozen=True)
class LeftOut:
    """Models not analysed on some devices, and why."""

    models: tuple[str, ...]
    reason: str
    devices: tuple[str, ...]


@dataclass(frozen=True)
class Findings:
    """Everything notebook 01 concludes, as numbers and verdicts."""

    devices: tuple[str, ...]
    sources: Mapping[str, str]
    n_models: int
    metrics: tuple[str, ...]
    table1: tuple[Table1Cell, ...]
    #: The paper's ρ lies inside our interval in every Table 1 cell of the prose basis.
    table1_agrees: bool
    claims: tuple[ClaimVerdict, ...]
    weak_threshold: float
    best: tuple[BestPredictor, ...]
    agreement: Agreement | None
    conv_only: tuple[ConvOnly, ...]
    left_out: tuple[LeftOut, ...] = ()
    prose_basis: str = PROSE_BASIS
    exact_max_n: int = EXACT_MAX_N
    alpha: float = ALPHA

    def claim(self, device: str, metric: str) -> ClaimVerdict:
        """The claim verdict (with ρ) of ``metric`` on ``device``."""
        return next(c for c in self.claims if c.device == device and c.metric == metric)

    def best_on(self, device: str) -> BestPredictor:
        return next(b for b in self.best if b.device == device)


def _disagreement(r: Rho) -> str:
    if not r.has_ci or not math.isfinite(r.p_value):
        return ""
    p_says = r.p_value <= ALPHA
    return "" if p_says == r.supported else "p_only" if p_says else "ci_only"


def table1_cells(table1: pd.DataFrame) -> tuple[Table1Cell, ...]:
    cells = []
    for _, r in table1.iterrows():
        ours = Rho.of(r, rho="our_rho", p_value="our_p")
        cells.append(Table1Cell(str(r["device"]), str(r["metric"]), str(r["source"]),
                                float(r["paper_rho"]), float(r["paper_p"]), ours,
                                bool(r["paper_rho_in_ci"]), _disagreement(ours)))
    return tuple(cells)


def best_predictors(correlations: pd.DataFrame, best: pd.DataFrame, paired: pd.DataFrame
                    ) -> tuple[BestPredictor, ...]:
    """Per device (rows of :func:`.compute.best_predictors`): the top metric with its ρ and
    what the paired comparisons show about it."""
    out = []
    for _, r in best.iterrows():
        device, metric = str(r["device"]), str(r["best_metric"])
        row = correlations[(correlations["device"] == device) & (correlations["metric"] == metric)]
        rho = Rho.of(row.iloc[0])
        k = int(r["n_comparisons"])
        if rho.n <= EXACT_MAX_N or k == 0:
            out.append(BestPredictor(device, metric, rho, False))
            continue
        comp = paired[(paired["device"] == device) & (paired["best"] == metric)]
        beaten = tuple(str(m) for m in comp.loc[comp["better"].astype(bool), "other"])
        out.append(BestPredictor(
            device, metric, rho, True, k, str(r["runner_up"]), float(r["runner_up_rho"]),
            float(r["delta"]), float(r["delta_ci_low"]), float(r["delta_ci_high"]),
            float(r["p_holm"]), beaten, bool(r["better_than_runner_up"]),
            bool(r["better_than_all"])))
    return tuple(out)


def agreement(table: pd.DataFrame, threshold: float = WEAK_THRESHOLD) -> Agreement | None:
    """The agreement between devices' rankings (:func:`analysis.stats.rank_agreement` rows):
    pairs with n > 8 agreeing beyond chance and strongly (CI above ``threshold``), the
    highest and lowest of them; small-n pairs are counted, not ranked."""
    off = table[table["a"] != table["b"]].dropna(subset=["rho"])
    if off.empty:
        return None
    ranked = rank_order(off)
    big = ranked[ranked["n"] > EXACT_MAX_N]
    small = int(((ranked["n"] <= EXACT_MAX_N) & (ranked["n"] >= 3)).sum())
    if big.empty:
        return Agreement(0, 0, 0, threshold, None, None, small, "too few models")
    supported = big[big["supported"].astype(bool) & (big["rho"] > 0)]
    strong = big[big["ci_low"] > threshold]
    hi, lo = big.iloc[0], big.iloc[-1]
    transfer = ("all" if len(strong) == len(big) else "none" if supported.empty else "some")
    return Agreement(len(big), len(supported), len(strong), threshold,
                     DevicePair(str(hi["a"]), str(hi["b"]), Rho.of(hi)),
                     DevicePair(str(lo["a"]), str(lo["b"]), Rho.of(lo)), small, transfer)


def conv_only_cells(correlations: pd.DataFrame, conv: pd.DataFrame,
                    metrics=PAPER_METRICS) -> tuple[ConvOnly, ...]:
    both = correlations.merge(conv, on=["device", "metric"], suffixes=("_all", "_conv"))
    out = []
    for metric in metrics:
        for _, r in both[both["metric"] == metric].iterrows():
            row = {k[:-5]: r[k] for k in r.index if k.endswith("_conv")}
            out.append(ConvOnly(str(r["device"]), metric, Rho.of(row), float(r["rho_all"])))
    return tuple(out)


def find(correlations: pd.DataFrame, table1: pd.DataFrame, paired: pd.DataFrame,
         best: pd.DataFrame, agreement_table: pd.DataFrame | None, conv: pd.DataFrame | None, *,
         sources: Mapping[str, str], n_models: int, metrics, left_out: pd.DataFrame | None = None
         ) -> Findings:
    """The findings of one run, from its tables."""
    basis = [c for c in table1_cells(table1) if c.source == PROSE_BASIS] if len(table1) else []
    verdicts = claim_verdicts(correlations)
    claims = tuple(ClaimVerdict(str(r["device"]), str(r["metric"]), str(v), Rho.of(r))
                   for (_, r), v in zip(correlations.loc[verdicts.index].iterrows(),
                                        verdicts["verdict"]))
    left = () if left_out is None else tuple(
        LeftOut(tuple(str(r.models).split(", ")), str(r.reason),
                tuple(str(r.devices).split(", ")))
        for r in left_out.itertuples())
    return Findings(
        devices=tuple(dict.fromkeys(correlations["device"].astype(str))),
        sources=dict(sources), n_models=int(n_models), metrics=tuple(metrics),
        table1=table1_cells(table1) if len(table1) else (),
        table1_agrees=bool(basis) and all(c.paper_rho_in_ci for c in basis),
        claims=claims, weak_threshold=WEAK_THRESHOLD,
        best=best_predictors(correlations, best, paired),
        agreement=agreement(agreement_table) if agreement_table is not None else None,
        conv_only=conv_only_cells(correlations, conv) if conv is not None and len(conv) else (),
        left_out=left)
