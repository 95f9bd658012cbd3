"""The studies: one module (or package) per notebook, each with the same face.

A study module defines

* ``NOTEBOOK`` — the notebook stem it backs (``"01_metric_correlation"``);
* ``RULES`` — ranges and allowed values of its parameters (types come from the notebook's
  parameters cell, :mod:`analysis.studies.params`);
* ``parameters(namespace=None, **overrides)`` — the checked parameters: from a running
  notebook's ``globals()``, or the defaults with ``overrides`` in-process;
* the steps the notebook shows, and ``run(params, *, draw=True) → StudyResult`` chaining
  exactly those steps (:mod:`analysis.studies.core`).

Within a study the order is computation → findings → prose and figures: its prose and figure
modules may import its computation, never the reverse (``tests/test_architecture.py``).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from analysis.errors import ConfigError

#: Notebook stem → the study module behind it, in the order ``reproduce`` runs them.
STUDIES: dict[str, str] = {
    "01_metric_correlation": "analysis.studies.correlation",
    "02_activation_ablation": "analysis.studies.ablation.activations",
    "03_block_ablation": "analysis.studies.ablation.blocks",
    "04_mobileone_reparameterization": "analysis.studies.reparam",
    "05_population_study": "analysis.studies.population",
    "06_latency_prediction": "analysis.studies.prediction",
    "07_gpu_execution_regimes": "analysis.studies.regimes",
    "08_mobilenet_scaling": "analysis.studies.scaling",
}


def study(notebook: str) -> ModuleType:
    """The study module behind a notebook stem."""
    if notebook not in STUDIES:
        raise ConfigError(f"no study for notebook {notebook!r}; known: {', '.join(STUDIES)}")
    return importlib.import_module(STUDIES[notebook])
