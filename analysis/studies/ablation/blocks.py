"""Notebook 03: Table 3 of MobileOne — the 30-layer ReLU network as it is, with Squeeze-Excite
and with skip connections, counted and timed, next to the paper's iPhone 12 latencies. The
steps are shared with notebook 02 (:mod:`analysis.studies.ablation.steps`)."""

from __future__ import annotations

from analysis.studies.ablation.steps import (  # noqa: F401 - the notebook's steps
    conclusion, context_table, cost_correlations, cost_figures, cost_text, counts, data_text,
    duplicates, findings, latency_data, layout, layout_text, networks, noise_bands, noise_rule,
    paper_vs_ours, rank_agreement, result, run, series, series_figures, series_views)
from analysis.studies.ablation import steps
from analysis.studies.ablation.compute import SE_CHOICES, counts_view  # noqa: F401
from analysis.studies.params import one_of

NOTEBOOK = "03_block_ablation"
RULES = {**steps.rules(NOTEBOOK), "SE_PLACEMENT": one_of(SE_CHOICES)}


def parameters(namespace=None, **overrides):
    """The notebook's checked parameters (``globals()`` in the notebook, else the defaults with
    ``overrides``)."""
    return steps.parameters(NOTEBOOK, RULES, namespace, **overrides)
