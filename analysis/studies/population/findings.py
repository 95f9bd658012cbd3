"""Notebook 05's findings: every number and verdict its conclusion states, typed.

Computed from the step results of :mod:`.compute` (no resampling here); the prose
(:mod:`.prose`) only formats them. The rules: the primary inference of :mod:`analysis.stats`
decides (bootstrap CI for n > 8, exact p for n ≤ 8); the paper's "weakly correlated" is judged
by :func:`analysis.stats.claim_verdict` against :data:`~analysis.constants.WEAK_THRESHOLD`;
which metric ranks latency best by the paired comparisons; the paper's values are placed in
the subset distribution by their share of subsets at or below them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

from analysis import stats
from analysis.constants import EXACT_MAX_N, WEAK_THRESHOLD
from analysis.studies.population.compute import (FIGURE2_UNFUSED, METRICS, POPULATIONS,
                                                 Population, RhoDifference, Subsamples,
                                                 paper_table1_macs, share_at_or_below)

#: A value's place in the subset distribution: its share of subsets at or below it.
LOW_SHARE, HIGH_SHARE = 0.05, 0.95


@dataclass(frozen=True)
class Cell:
    """ρ(latency, metric) in one population with its primary inference; ``weak_claim``: the
    verdict on "weakly correlated" (``holds``/``contradicted``/``inconclusive``) where the
    interval is the primary inference, else ``None``."""

    population: str
    metric: str
    rho: float
    ci_low: float
    ci_high: float
    n: int
    p_value: float
    exact_p: float
    supported: bool
    weak_claim: str | None


@dataclass(frozen=True)
class Versus:
    """The best metric of a population against one other (paired bootstrap, Holm)."""

    other: str
    delta: float
    ci_low: float
    ci_high: float
    p_holm: float
    better: bool


@dataclass(frozen=True)
class Best:
    """The metric with the highest ρ in a population and its paired comparisons."""

    population: str
    best: str
    n: int
    versus: tuple[Versus, ...]


@dataclass(frozen=True)
class PaperValue:
    """One of the paper's Table 1 ρ(latency, FLOPs): where it lies relative to the Figure 2
    models' interval here (``vs_figure2``: below/inside/above, ``None`` without an interval)
    and in the subset distribution at the paper's n (``share``: subsets at or below it;
    ``vs_subsets``: below/inside/above the 5–95 % range, ``None`` without a distribution)."""

    label: str
    rho: float
    vs_figure2: str | None
    share: float
    vs_subsets: str | None


@dataclass(frozen=True)
class SubsetRange:
    """ρ(latency, MACs) over ``count`` random subsets of ``n`` models: 5 %, 50 %, 95 %."""

    n: int
    count: int
    q05: float
    q50: float
    q95: float


@dataclass(frozen=True)
class PaperDevice:
    """ρ(latency, published MACs) over the Figure 2 models on one of the paper's devices, and
    the share of this file's subsets of the same n at or below it (NaN without subsets)."""

    device: str
    rho: float
    n: int
    share: float
    subsets: int


@dataclass(frozen=True)
class Findings:
    """Everything the conclusion of notebook 05 states."""

    device: str
    population_sizes: Mapping[str, int]
    cells: tuple[Cell, ...]
    best: tuple[Best, ...]
    family_difference: RhoDifference | None
    missing: Mapping[str, tuple[str, ...]]
    figure2_missing: Mapping[str, str]
    unfused: tuple[str, ...]
    paper_n: int
    paper: tuple[PaperValue, ...]
    subsets: SubsetRange | None
    paper_devices: tuple[PaperDevice, ...]
    skipped_sizes: tuple[int, ...]
    subset_pool: int

    def cell(self, population: str, metric: str) -> Cell | None:
        """The cell of ``population`` and ``metric`` (``None`` when not computed)."""
        return next((c for c in self.cells
                     if c.population == population and c.metric == metric), None)


def _where(value: float, low: float, high: float) -> str:
    return "below" if value < low else "above" if value > high else "inside"


def cells(correlations: pd.DataFrame) -> tuple[Cell, ...]:
    """The correlation table as :class:`Cell` rows, populations and metrics in display order."""
    out = []
    for pop in POPULATIONS:
        for metric in METRICS:
            hit = correlations[(correlations["population"] == pop)
                               & (correlations["metric"] == metric)]
            if hit.empty:
                continue
            r = hit.iloc[0]
            n = int(r["n"])
            verdict = (stats.claim_verdict(r["ci_low"], r["ci_high"], WEAK_THRESHOLD, "weak")
                       if n > EXACT_MAX_N and math.isfinite(r["rho"]) else None)
            out.append(Cell(pop, metric, float(r["rho"]), float(r["ci_low"]),
                            float(r["ci_high"]), n, float(r["p_value"]), float(r["exact_p"]),
                            bool(r["supported"]), verdict))
    return tuple(out)


def best_metrics(comparisons: pd.DataFrame) -> tuple[Best, ...]:
    """Per population: the best metric and its paired comparisons."""
    out = []
    for pop, g in comparisons.groupby("population", sort=False):
        out.append(Best(str(pop), str(g["best"].iloc[0]), int(g["n"].iloc[0]), tuple(
            Versus(str(r.other), float(r.delta), float(r.ci_low), float(r.ci_high),
                   float(r.p_holm), bool(r.better)) for r in g.itertuples())))
    return tuple(out)


def findings(data: Population, correlations: pd.DataFrame, comparisons: pd.DataFrame,
             subsets: Subsamples, table9: pd.DataFrame,
             family: RhoDifference | None) -> Findings:
    """The findings of notebook 05 from its step results."""
    found = cells(correlations)
    paper_n = len(data.figure2) + len(data.figure2_missing)  # every Figure 2 model: used or not
    draws = subsets.draws.get(paper_n, np.array([]))
    subset_range = None
    if len(draws):
        q05, q50, q95 = (float(v) for v in np.quantile(draws, [0.05, 0.5, 0.95]))
        subset_range = SubsetRange(paper_n, len(draws), q05, q50, q95)
    fig2 = next((c for c in found if c.population == "figure2" and c.metric == "macs"), None)
    paper = []
    for p in paper_table1_macs().itertuples():
        vs_fig2 = (_where(p.rho, fig2.ci_low, fig2.ci_high) if fig2 is not None
                   and fig2.weak_claim is not None else None)
        share = share_at_or_below(draws, p.rho)
        vs_sub = (None if not len(draws) else "below" if share < LOW_SHARE
                  else "above" if share > HIGH_SHARE else "inside")
        paper.append(PaperValue(str(p.label), float(p.rho), vs_fig2, share, vs_sub))
    devices = tuple(
        PaperDevice(str(r.device), float(r.rho), int(r.n),
                    share_at_or_below(subsets.draws.get(int(r.n), []), r.rho),
                    len(subsets.draws.get(int(r.n), [])))
        for r in table9.itertuples())
    missing = data.missing[(data.missing["population"] == "all")
                           & (data.missing["n_missing"] > 0)]
    return Findings(
        device=data.device,
        population_sizes={k: len(v) for k, v in data.groups.items()},
        cells=found, best=best_metrics(comparisons), family_difference=family,
        missing={r.metric: tuple(r.models.split(", ")) for r in missing.itertuples()},
        figure2_missing=dict(data.figure2_missing),
        unfused=tuple(k for k in data.figure2_missing if k in FIGURE2_UNFUSED),
        paper_n=paper_n, paper=tuple(paper), subsets=subset_range, paper_devices=devices,
        skipped_sizes=tuple(subsets.skipped), subset_pool=subsets.pool)
