"""Notebook 04, the tables built from latencies (measured live or read from a file by
:mod:`analysis.studies.reparam.timing`): fusing's speed-up per variant and runtime, the S0 k
sweep, the fused network against its plain-Sequential twin, and the fused networks' throughput
against the matmul reference throughput."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.errors import DataFormatError
from analysis.studies.reparam.compute import published


def _experiment(timings: pd.DataFrame, experiment: str) -> pd.DataFrame:
    return timings[timings["experiment"] == experiment].reset_index(drop=True)


def reparam_table(counts: pd.DataFrame, timings: pd.DataFrame) -> pd.DataFrame:
    """One row per variant, k, form and runtime: the latency of the ``fusing`` timings with the
    counts of that form, the speed-up of fusing (train-time min / this row's min; > 1: faster
    than train-time) and the paper's Table 9 params and MACs (millions; fused, 224 px)."""
    lat = _experiment(timings, "fusing")
    keys = ["variant", "k", "form"]
    t = lat.merge(counts.drop(columns="input_size"), on=keys, how="left", validate="m:1")
    if t["macs"].isna().any():
        r = t[t["macs"].isna()].iloc[0]
        raise DataFormatError(f"timings of {r['variant']} k = {r['k']} ({r['form']}) have no "
                              f"counts: the timings are of another selection")
    t = t.sort_values(["variant", "k"], kind="stable").reset_index(drop=True)
    train = t[t["form"] == "train"].set_index(["variant", "k", "runtime"])["min_ms"]
    t["speedup_vs_train"] = [train[(v, k, r)] / ms for v, k, r, ms in
                             zip(t["variant"], t["k"], t["runtime"], t["min_ms"])]
    t["published_params_m"] = [published(v).params_m for v in t["variant"]]
    t["published_macs_m"] = [published(v).macs_m for v in t["variant"]]
    cols = ["variant", "k", "official_k", "form", "runtime", "threads", "input_size", "min_ms",
            "median_ms", "p90_ms", "cv", "n_runs", "macs", "params", "elementwise",
            "memory_bytes", "operators", "merges", "speedup_vs_train", "published_params_m",
            "published_macs_m"]
    return t[cols]


def speedup_table(reparam: pd.DataFrame) -> pd.DataFrame:
    """Per variant and runtime at the published k: train-time and fused min latency and the
    speed-up of fusing (train / fused; > 1: the fused form is faster); runtimes as measured."""
    t = reparam[reparam["official_k"]]
    rows = []
    for (v, runtime), part in t.groupby(["variant", "runtime"], sort=False):
        f = part.set_index("form")["min_ms"]
        rows.append({"variant": v, "k": int(part["k"].iloc[0]), "runtime": runtime,
                     "train_ms": f["train"], "fused_ms": f["fused"],
                     "speedup": f["train"] / f["fused"]})
    return pd.DataFrame(rows, columns=["variant", "k", "runtime", "train_ms", "fused_ms",
                                       "speedup"])


def k_sweep(reparam: pd.DataFrame, variant: str = "S0") -> pd.DataFrame:
    """The k sweep of one variant, per runtime timed at more than one k: per k and form the
    min and median latency, MACs, memory traffic and operator count."""
    t = reparam[reparam["variant"] == variant]
    t = t[t.groupby("runtime")["k"].transform("nunique") > 1]
    cols = ["runtime", "k", "form", "min_ms", "median_ms", "macs", "memory_bytes", "operators"]
    return t[cols].sort_values(["runtime", "form", "k"], kind="stable").reset_index(drop=True)


def sequential_overhead(check: pd.DataFrame, timings: pd.DataFrame) -> pd.DataFrame:
    """Per variant: the ``sequential`` timings of the fused network and its plain-Sequential
    twin (timed interleaved), their min and median ratios (fused / Sequential), the difference
    per fused block in µs (min of runs; what the block structure itself costs) and
    :func:`sequential_check`'s identity and operator counts."""
    lat = _experiment(timings, "sequential")
    rows = []
    for _, c in check.iterrows():
        part = lat[lat["variant"] == c["variant"]].set_index("form")
        fused, seq = part.loc["fused"], part.loc["sequential"]
        rows.append({
            "variant": c["variant"], "runtime": fused["runtime"], "threads": fused["threads"],
            "n_runs": fused["n_runs"], "input_size": fused["input_size"],
            "fused_min_ms": fused["min_ms"], "sequential_min_ms": seq["min_ms"],
            "fused_median_ms": fused["median_ms"], "sequential_median_ms": seq["median_ms"],
            "ratio_min": fused["min_ms"] / seq["min_ms"],
            "ratio_median": fused["median_ms"] / seq["median_ms"],
            "identical_output": c["identical_output"],
            "overhead_us_per_block": (fused["min_ms"] - seq["min_ms"]) * 1e3 / c["blocks"],
            "fused_operators": c["fused_operators"],
            "sequential_operators": c["sequential_operators"]})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Reference:
    """The matmul reference: ``torch.matmul`` of two n × n fp32 matrices."""

    n: int
    threads: int
    runs: int
    flop: int  # 2 n³: n³ multiply-adds
    min_ms: float
    median_ms: float
    gflops: float  # flop / min time


def reference_throughput(timings: pd.DataFrame) -> Reference:
    """The matmul reference from the ``reference`` timings: a product of two n × n matrices
    is n³ multiply-adds = 2 n³ floating-point operations, so its throughput is
    ``2 n³ / min time``."""
    r = _experiment(timings, "reference").iloc[0]
    n = int(r["input_size"])
    flop = 2 * n ** 3
    return Reference(n, int(r["threads"]), int(r["n_runs"]), flop, float(r["min_ms"]),
                     float(r["median_ms"]), flop / (float(r["min_ms"]) / 1e3) / 1e9)


def throughput_table(reparam: pd.DataFrame, reference: Reference) -> pd.DataFrame:
    """Fused rows at the published k: achieved GFLOP/s (2 × MACs / min latency; one MAC is a
    multiply and an add) and its share of the matmul reference throughput."""
    t = reparam[(reparam["form"] == "fused") & reparam["official_k"]].copy()
    t["gflops"] = 2 * t["macs"] / (t["min_ms"] / 1e3) / 1e9
    t["reference_gflops"] = reference.gflops
    t["share_of_reference"] = t["gflops"] / reference.gflops
    return t[["variant", "runtime", "threads", "macs", "min_ms", "gflops", "reference_gflops",
              "share_of_reference"]].reset_index(drop=True)
