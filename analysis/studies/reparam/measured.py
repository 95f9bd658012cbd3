"""Notebook 04, the tables built from the campaigns' latencies
(:mod:`analysis.studies.reparam.sources`): fusing's speed-up per variant and runtime, the S0 k
sweep, the fused network against its plain-Sequential twin, and the fused networks' throughput
against the matmul reference throughput.

Every latency is the median over sessions with the lowest and highest session as its interval,
for the minimum over runs (primary, the paper's) and the median over runs. A ratio a / b gets
the interval ``[a_low / b_high, a_high / b_low]`` (it contains the ratio) and is judged by the
noise model of its runtime (:func:`analysis.noise.verdict`); a target T by :func:`target_verdict`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis import noise
from analysis.errors import DataFormatError
from analysis.studies.reparam.sources import Campaigns, band_of, latencies
from analysis.studies.reparam.compute import jobs, official_k
from analysis.studies.reparam.counts import published

#: Verdicts on a target.
MET, NOT_MET, UNDECIDED = "met", "not met", "not decidable within noise"
STATS = ("min", "median")


def target_verdict(value: float, target: float, band: float, at_least: bool) -> str:
    """A target on a measured ratio, judged with the noise band b of its runtime: ``met`` when
    the value lies beyond the target on the right side by more than the band (value / target
    outside [1/(1+b), 1+b], :func:`analysis.noise.verdict`), ``not met`` when beyond it on the
    wrong side, ``not decidable within noise`` when the band around the value contains the
    target; ``n/a`` without a band. ``at_least``: the target is a lower bound (a speed-up ≥ T),
    else an upper bound (a ratio ≤ T)."""
    v = noise.verdict(value / target, band)
    if v == noise.WITHIN:
        return UNDECIDED
    if v == "n/a":
        return v
    return MET if (v == noise.SLOWER) == at_least else NOT_MET


def _missing(c: Campaigns, what: str) -> DataFormatError:
    return DataFormatError(
        f"the campaign files ({', '.join(f.name for f in c.files)}) hold no session of {what}; "
        "they must hold the sets reparam, sequential and matmul for this run's VARIANTS, "
        "K_VALUES, RUNTIMES, SWEEP_RUNTIMES, INPUT_SIZE and MATMUL_SIZE")


def _pick(lat: pd.DataFrame, variant: str, form: str, runtime: str, k, size: int):
    m = (lat["variant"] == variant) & (lat["form"] == form) & (lat["runtime"] == runtime) \
        & (lat["input_size"] == size)
    if k is not None:
        m &= lat["k"] == k
    return lat[m]


LAT = [f"{s}_{p}ms" for s in STATS for p in ("", "low_", "high_")]


def reparam_table(params, counts: pd.DataFrame, c: Campaigns) -> pd.DataFrame:
    """One row per variant, k, form and runtime this run analyses (``VARIANTS`` at the published
    k in ``RUNTIMES``, S0 at every k of ``K_VALUES`` in ``SWEEP_RUNTIMES``): the latencies of
    the ``reparam`` campaign (the fused network, the same for every k, is one row of the file
    repeated per k), the counts of that form, the speed-up of fusing (train-time min / this
    row's min) and the paper's Table 9 params and MACs (millions; fused, 224 px)."""
    lat = latencies(c, "reparam")
    rows = []
    for v, k, runtimes in jobs(params.VARIANTS, params.K_VALUES, params.RUNTIMES,
                               params.SWEEP_RUNTIMES):
        for rt in runtimes:
            for form in ("train", "fused"):
                hit = _pick(lat, v, form, rt, k if form == "train" else None, params.INPUT_SIZE)
                if hit.empty:
                    raise _missing(c, f"MobileOne-{v} {form}"
                                      f"{f' k = {k}' if form == 'train' else ''} ({rt}) at "
                                      f"{params.INPUT_SIZE} px")
                r = hit.iloc[0]
                rows.append({"variant": v, "k": k, "official_k": k == official_k(v),
                             "form": form, "runtime": rt, "threads": c.threads,
                             "input_size": params.INPUT_SIZE, "n_sessions": r["n_sessions"],
                             "n_runs": r["n_runs"], **{col: r[col] for col in LAT}})
    t = pd.DataFrame(rows).merge(counts.drop(columns=["input_size", "official_k", "count_key"]),
                                 on=["variant", "k", "form"],
                                 how="left", validate="m:1")
    train = t[t["form"] == "train"].set_index(["variant", "k", "runtime"])["min_ms"]
    t["speedup_vs_train"] = [train[(v, k, r)] / ms for v, k, r, ms in
                             zip(t["variant"], t["k"], t["runtime"], t["min_ms"])]
    t["published_params_m"] = [published(v).params_m for v in t["variant"]]
    t["published_macs_m"] = [published(v).macs_m for v in t["variant"]]
    cols = ["variant", "k", "official_k", "form", "runtime", "threads", "input_size",
            "n_sessions", "n_runs", *LAT, "macs", "params", "elementwise", "memory_bytes",
            "operators", "merges", "speedup_vs_train", "published_params_m",
            "published_macs_m"]
    return t.sort_values(["variant", "k"], kind="stable").reset_index(drop=True)[cols]


def _ratio(a: pd.Series, b: pd.Series, stat: str) -> tuple[float, float, float]:
    """``(a / b, low, high)`` of statistic ``stat`` with the sessions' interval."""
    return (a[f"{stat}_ms"] / b[f"{stat}_ms"], a[f"{stat}_low_ms"] / b[f"{stat}_high_ms"],
            a[f"{stat}_high_ms"] / b[f"{stat}_low_ms"])


def speedup_table(reparam: pd.DataFrame, bands: pd.DataFrame) -> pd.DataFrame:
    """Per variant and runtime at the published k: train-time and fused latency, the speed-up
    of fusing (train / fused; > 1: fused faster) with its session interval, for the minimum
    (with the latencies' session intervals, ``train_low_ms`` …) and the median, each with its
    runtime's band and the noise model's verdict on the fused form (``faster``, ``slower``,
    ``within noise`` than train-time)."""
    t = reparam[reparam["official_k"]]
    rows = []
    for (v, runtime), part in t.groupby(["variant", "runtime"], sort=False):
        f = part.set_index("form")
        row = {"variant": v, "k": int(part["k"].iloc[0]), "runtime": runtime}
        for stat in STATS:
            pre = "" if stat == "min" else "median_"
            speed, low, high = _ratio(f.loc["train"], f.loc["fused"], stat)
            band = band_of(bands, runtime, stat)
            if stat == "min":
                row.update({f"{form}_{end}_ms": f.loc[form, f"min_{end}_ms"]
                            for form in ("train", "fused") for end in ("low", "high")})
            row.update({f"{pre}train_ms": f.loc["train", f"{stat}_ms"],
                        f"{pre}fused_ms": f.loc["fused", f"{stat}_ms"],
                        f"{pre}speedup": speed, f"{pre}speedup_low": low,
                        f"{pre}speedup_high": high, f"{pre}band": band,
                        f"{pre}verdict": noise.verdict(1 / speed, band)})
        rows.append(row)
    return pd.DataFrame(rows)


def k_sweep(reparam: pd.DataFrame, variant: str = "S0") -> pd.DataFrame:
    """The k sweep of one variant, per runtime analysed at more than one k: per k and form the
    latency (min and median over runs, with the session interval of the min), MACs, memory
    traffic and operator count."""
    t = reparam[reparam["variant"] == variant]
    t = t[t.groupby("runtime")["k"].transform("nunique") > 1]
    cols = ["runtime", "k", "form", "min_ms", "min_low_ms", "min_high_ms", "median_ms", "macs",
            "memory_bytes", "operators"]
    return t[cols].sort_values(["runtime", "form", "k"], kind="stable").reset_index(drop=True)


def sequential_overhead(params, check: pd.DataFrame, c: Campaigns, bands: pd.DataFrame,
                        target: float) -> pd.DataFrame:
    """Per variant: the fused network and its plain-Sequential twin from the ``sequential``
    campaign (PyTorch eager), their ratio fused / Sequential with its session interval for the
    minimum and the median, the noise model's verdict on it (``slower``: overhead beyond noise)
    and on the target ratio ≤ ``target`` (:func:`target_verdict`), the difference per fused
    block in µs (min) and :func:`~.compute.sequential_check`'s identity and operator counts."""
    lat = latencies(c, "sequential")
    rows = []
    for _, ch in check.iterrows():
        v = ch["variant"]
        pair = {}
        for form in ("fused", "sequential"):
            hit = _pick(lat, v, form, "torch", None, params.INPUT_SIZE)
            if hit.empty:
                raise _missing(c, f"MobileOne-{v} {form} (torch, sequential set) at "
                                  f"{params.INPUT_SIZE} px")
            pair[form] = hit.iloc[0]
        fused, seq = pair["fused"], pair["sequential"]
        row = {"variant": v, "runtime": "torch", "threads": c.threads,
               "n_sessions": fused["n_sessions"], "n_runs": fused["n_runs"],
               "input_size": params.INPUT_SIZE}
        for stat in STATS:
            pre = "" if stat == "min" else "median_"
            ratio, low, high = _ratio(fused, seq, stat)
            band = band_of(bands, "torch", stat)
            row.update({f"fused_{stat}_ms": fused[f"{stat}_ms"],
                        f"sequential_{stat}_ms": seq[f"{stat}_ms"],
                        f"ratio_{stat}": ratio, f"ratio_{stat}_low": low,
                        f"ratio_{stat}_high": high, f"{pre}band": band,
                        f"{pre}verdict": noise.verdict(ratio, band),
                        f"{pre}target_verdict": target_verdict(ratio, target, band, False)})
        row.update({"identical_output": ch["identical_output"],
                    "overhead_us_per_block": (fused["min_ms"] - seq["min_ms"]) * 1e3
                    / ch["blocks"], "fused_operators": ch["fused_operators"],
                    "sequential_operators": ch["sequential_operators"]})
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Reference:
    """The matmul reference: ``torch.matmul`` of two n × n fp32 matrices (n³ multiply-adds =
    2 n³ floating-point operations); GFLOP/s = 2 n³ / latency, from the minimum (primary, with
    the sessions' interval) and the median over runs."""

    n: int
    threads: int
    runs: int  # per session
    sessions: int
    flop: int
    min_ms: float
    min_low_ms: float
    min_high_ms: float
    median_ms: float
    gflops: float
    gflops_low: float  # from the slowest session
    gflops_high: float
    median_gflops: float


def _gflops(flop: float, ms) -> float:
    return flop / (np.asarray(ms, float) / 1e3) / 1e9


def reference_throughput(params, c: Campaigns) -> Reference:
    """The matmul reference of the ``matmul`` campaign at ``MATMUL_SIZE``."""
    lat = latencies(c, "matmul")
    hit = lat[(lat["form"] == "reference") & (lat["input_size"] == params.MATMUL_SIZE)]
    if hit.empty:
        raise _missing(c, f"the matmul reference at n = {params.MATMUL_SIZE}")
    r = hit.iloc[0]
    n = int(r["input_size"])
    flop = 2 * n ** 3
    return Reference(n, c.threads, int(r["n_runs"]), int(r["n_sessions"]), flop,
                     float(r["min_ms"]), float(r["min_low_ms"]), float(r["min_high_ms"]),
                     float(r["median_ms"]), float(_gflops(flop, r["min_ms"])),
                     float(_gflops(flop, r["min_high_ms"])), float(_gflops(flop, r["min_low_ms"])),
                     float(_gflops(flop, r["median_ms"])))


def throughput_table(reparam: pd.DataFrame, reference: Reference) -> pd.DataFrame:
    """Fused rows at the published k: achieved GFLOP/s (2 × MACs / latency; one MAC is a
    multiply and an add) and its share of the matmul reference throughput, from the minimum
    (with the sessions' interval: slowest against fastest) and from the median."""
    t = reparam[(reparam["form"] == "fused") & reparam["official_k"]].copy()
    flop = 2 * t["macs"].astype(float)
    t["gflops"] = _gflops(flop, t["min_ms"])
    t["reference_gflops"] = reference.gflops
    t["share_of_reference"] = t["gflops"] / reference.gflops
    t["share_low"] = _gflops(flop, t["min_high_ms"]) / reference.gflops_high
    t["share_high"] = _gflops(flop, t["min_low_ms"]) / reference.gflops_low
    t["median_gflops"] = _gflops(flop, t["median_ms"])
    t["median_share"] = t["median_gflops"] / reference.median_gflops
    return t[["variant", "runtime", "threads", "macs", "min_ms", "gflops", "reference_gflops",
              "share_of_reference", "share_low", "share_high", "median_gflops",
              "median_share"]].reset_index(drop=True)
