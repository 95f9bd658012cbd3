"""Notebook 04, the counts: MACs, parameters, element-wise work, memory traffic, operators and
merges of both forms of every variant and k the study analyses, and Table 9's sizes beside them.

The counts depend only on the architecture, the input size and the counting code, never on the
machine; tracing 14 networks at 224 px takes ~15 s on a 2-core CPU, so each count is found, in
this order: in the study's committed ``counts.csv`` (a row whose ``count_key`` — architecture
and code digest, input size, counting code — equals the network's: a fresh clone re-traces
nothing, and any change to a model or to this code recounts, as
:func:`analysis.complexity.count_complexity` does with ``complexity.csv``), in the disk cache
(``paths.cache_dir()/reparam_counts``), or counted.
"""

from __future__ import annotations

import csv
import functools
import json
import logging
import warnings

import numpy as np
import pandas as pd
import torch
import torch.nn as nn
from fvcore.nn import FlopCountAnalysis

from analysis import paths
from analysis.complexity import (CACHE_VERSION, ELEMENTWISE_HANDLES, graph_costs, model_digest,
                                 source_digest, split_counts)
from analysis.latency.runtimes import torch_threads
from analysis.models import get_entry, mobileone
from analysis.studies.reparam.compute import (COMPUTE_THREADS, FORMS, deployed, jobs,
                                              official_k)

#: The study's committed counts (read back by key; see the module docstring).
COMMITTED = paths.NOTEBOOK_OUTPUTS / "04_mobileone_reparameterization" / "counts.csv"
COUNT_COLUMNS = ("macs", "params", "elementwise", "memory_bytes", "operators", "merges")


def count_model(model: nn.Module, input_size: int) -> dict:
    """MACs and element-wise ops (fvcore with :mod:`analysis.complexity`'s element-wise
    handles: ``count_complexity``'s numbers), parameters, and memory bytes, operators and
    merges of the traced graph (``complexity.graph_costs``) of ``model`` as given."""
    x = torch.zeros(1, 3, input_size, input_size)
    model = model.eval()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        logging.getLogger("fvcore").setLevel(logging.ERROR)
        flops = FlopCountAnalysis(model, x).unsupported_ops_warnings(False) \
            .uncalled_modules_warnings(False).set_op_handle(**ELEMENTWISE_HANDLES)
        macs, elementwise = split_counts(flops)
        graph = graph_costs(model, x)
    return {"macs": int(macs), "params": sum(p.numel() for p in model.parameters()),
            "elementwise": int(elementwise),
            **{k: int(graph[k]) for k in ("memory_bytes", "operators", "merges")}}


@functools.lru_cache(maxsize=1)
def _counting_code() -> str:
    return f"v{CACHE_VERSION}-{source_digest(__file__)[:12]}"


def count_key(model: nn.Module, input_size: int) -> str:
    """What a count depends on: the architecture and its classes' code
    (:func:`analysis.complexity.model_digest`), the input size and the counting code."""
    return f"{model_digest(model)}-{input_size}-{_counting_code()}"


def committed_counts(path=None) -> dict[str, dict]:
    """``{count_key: counts}`` of the committed ``counts.csv`` (empty when it has none)."""
    try:
        with open(path or COMMITTED, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError:
        return {}
    return {r["count_key"]: {c: int(r[c]) for c in COUNT_COLUMNS} for r in rows
            if r.get("count_key") and all((r.get(c) or "").isdigit() for c in COUNT_COLUMNS)}


def cached_count(model: nn.Module, input_size: int, committed: dict | None = None) -> dict:
    """:func:`count_model`, from ``committed`` (:func:`committed_counts`), else remembered on
    disk (``paths.cache_dir()/reparam_counts``) by :func:`count_key`: an edit that changes a
    count never reads a stale one."""
    key = count_key(model, input_size)
    if committed and key in committed:
        return dict(committed[key])
    path = paths.cache_dir() / "reparam_counts" / f"{key}.json"
    if path.is_file():
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            pass  # a corrupt entry is counted again
    with torch_threads(COMPUTE_THREADS):
        counts = count_model(model, input_size)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(counts), encoding="utf-8")
    tmp.replace(path)
    return counts


def architecture(variant: str, k: int, form: str) -> nn.Module:
    """The network counted for one variant, k and form (weights do not change a count): the
    train-time MobileOne with k branches, or the deployed (fused) one, eval mode."""
    if form == "fused":
        return deployed(variant)
    return mobileone(variant.lower(), num_conv_branches=k).eval()


def count_forms(params) -> pd.DataFrame:
    """Counts (:func:`cached_count`) of both forms of every variant and k the study analyses, at
    ``INPUT_SIZE``: one row per variant, k and form, with its ``count_key``. The fused network
    is the same for every k; it is counted once and its row repeated."""
    committed, rows, seen = committed_counts(), [], {}
    for v, k, _ in jobs(params.VARIANTS, params.K_VALUES, params.RUNTIMES,
                        params.SWEEP_RUNTIMES):
        for form in FORMS:
            model = architecture(v, k, form)
            key = count_key(model, params.INPUT_SIZE)
            if key not in seen:
                seen[key] = cached_count(model, params.INPUT_SIZE, committed)
            rows.append({"variant": v, "k": k, "official_k": k == official_k(v), "form": form,
                         "input_size": params.INPUT_SIZE, **seen[key], "count_key": key})
    return pd.DataFrame(rows).sort_values(["variant", "k"], kind="stable").reset_index(drop=True)


def published(variant: str):
    """The paper's Table 9 entry of a variant (params and MACs in millions, fused, 224 px)."""
    return get_entry(f"MobileOne-{variant}").published


def size_table(counts: pd.DataFrame) -> pd.DataFrame:
    """Per variant at its published k: params and MACs (millions) of both forms next to the
    published (fused) ones; published MACs are at 224 px and are left empty at other sizes."""
    t = counts[counts["official_k"]]
    rows = []
    for v, part in t.groupby("variant", sort=False):
        f = part.set_index("form")
        size = int(f["input_size"].iloc[0])
        rows.append({"variant": v, "k": int(f["k"].iloc[0]),
                     "params_fused_m": f.loc["fused", "params"] / 1e6,
                     "params_published_m": published(v).params_m,
                     "params_train_m": f.loc["train", "params"] / 1e6,
                     "macs_fused_m": f.loc["fused", "macs"] / 1e6,
                     "macs_published_m": published(v).macs_m if size == 224 else np.nan,
                     "macs_train_m": f.loc["train", "macs"] / 1e6, "input_size": size})
    return pd.DataFrame(rows)
