"""MobileOne's MACs in closed form (fvcore's conventions), derived from the paper's description
(Table 7 widths, official k, SE placement), not from the model: the check on the counts of
notebook 04; and latencies in closed form (proportional to those MACs) for a timings file whose
every derived number is known in advance.

fvcore counts a conv as C_out · C_in/groups · kh · kw · H_out · W_out (bias not counted), an
eval-mode BatchNorm with affine as 2 per element, adaptive average pooling as 1 per input
element and a linear layer as in · out; element-wise ops (adds, ReLU, sigmoid, the SE rescale)
are not MACs."""

from __future__ import annotations

ALPHAS = {  # variant: (alpha0..alpha3, SE in the last 5 + 1 units)
    "s0": ((0.75, 1.0, 1.0, 2.0), False),
    "s1": ((1.5, 1.5, 2.0, 2.5), False),
    "s2": ((1.5, 2.0, 2.5, 4.0), False),
    "s3": ((2.0, 2.5, 3.0, 4.0), False),
    "s4": ((3.0, 3.5, 3.5, 4.0), True),
}


def _out(h: int, ksize: int, stride: int) -> int:
    pad = ksize // 2
    return (h + 2 * pad - ksize) // stride + 1


def _block(h, cin, cout, ksize, stride, groups, se, k, fused):
    ho = _out(h, ksize, stride)
    conv = lambda ks: cout * (cin // groups) * ks * ks * ho * ho  # noqa: E731
    bn = 2 * cout * ho * ho
    if fused:
        macs = conv(ksize)
    else:
        macs = k * (conv(ksize) + bn)
        if ksize > 1:
            macs += conv(1) + bn
        if cin == cout and stride == 1:
            macs += 2 * cin * h * h
    if se:
        rd = int(cout * 0.0625)
        macs += cout * ho * ho + rd * cout + cout * rd
    return macs, ho


def closed_form_macs(variant: str, k: int, size: int, fused: bool, classes: int = 1000) -> int:
    alphas, has_se = ALPHAS[variant]
    cin = min(64, int(64 * alphas[0]))
    total, h = _block(size, 3, cin, 3, 2, 1, False, 1, fused)
    widths = [int(64 * alphas[0]), int(128 * alphas[1]), int(256 * alphas[2]), int(512 * alphas[3])]
    for s, (width, n) in enumerate(zip(widths, (2, 8, 10, 1))):
        n_se = (5 if s == 2 else 1 if s == 3 else 0) if has_se else 0
        for u in range(n):
            se = u >= n - n_se
            m, h = _block(h, cin, cin, 3, 2 if u == 0 else 1, cin, se, k, fused)
            total += m
            m, h = _block(h, cin, width, 1, 1, 1, se, k, fused)
            total += m
            cin = width
    return total + cin * h * h + cin * classes


#: Closed-form latency: milliseconds per million MACs, per runtime (any positive numbers do).
MS_PER_MMAC = {"torch": 0.04, "onnxruntime": 0.02}
#: Closed-form reference throughput of the matmul, GFLOP/s.
REFERENCE_GFLOPS = 100.0
#: Session factors of every network (the same in each set): a known session-to-session spread.
SESSION_FACTORS = (1.0, 1.02, 1.04)
#: The median over runs relative to the minimum.
MEDIAN_FACTOR = 1.1
DEVICE = "Closed-form CPU (1 thread)"


def closed_form_band(factors=SESSION_FACTORS, networks: int = 1,
                     quantile: float = 0.95) -> float:
    """The noise band the rule gives for ``networks`` networks that all move by ``factors``
    between sessions: the quantile of |log(f_s / f_t)| over their pairs, as exp(q) − 1 (numpy
    only)."""
    import itertools

    import numpy as np

    logs = [abs(np.log(a / b)) for a, b in itertools.combinations(factors, 2)] * networks
    return float(np.exp(np.quantile(logs, quantile)) - 1)


def closed_form_campaigns(folder, *, variants=("S0",), k_values=(1, 4),
                          runtimes=("torch",), size: int = 32, n: int = 64,
                          factors=SESSION_FACTORS, fused_speedup: float | None = None,
                          sequential_ratio: float = 1.0, sequential_median_ratio=None):
    """Three campaign files (sets reparam, sequential, matmul) in ``folder`` whose latencies
    follow the closed-form MACs: ``ms = MACs / 1e6 × MS_PER_MMAC[runtime] × factor[session]``
    (so a speed-up is a ratio of MACs), the median over runs :data:`MEDIAN_FACTOR` × the minimum.
    ``fused_speedup``: the fused latency is the official-k train-time latency / this instead;
    ``sequential_ratio``: fused / plain-Sequential latency (``sequential_median_ratio`` for the
    median, default the same); the matmul at :data:`REFERENCE_GFLOPS` for n × n. Returns the
    paths."""
    from pathlib import Path

    import pandas as pd

    from analysis.studies.reparam.compute import official_k

    folder = Path(folder)
    med_ratio = sequential_median_ratio or sequential_ratio

    def rows(campaign, items):
        out = []
        for s, f in enumerate(factors, start=1):
            for order, (model, form, k, rt, ms, macs, median) in enumerate(items):
                out.append({"model": model, "form": form, "k": "" if k is None else k,
                            "mode": "eager", "precision": "fp32", "runtime": rt,
                            "device": DEVICE, "batch_size": 1,
                            "input_size": n if form == "reference" else size,
                            "campaign": campaign, "session": s, "order": order,
                            "latency_ms": ms * f, "statistic": "min", "min_ms": ms * f,
                            "median_ms": median * f, "n_runs": 5, "threads": 1,
                            "macs": macs, "params": None if macs is None else 2_000_000})
        return out

    def ms(v, k, fused, rt):
        return closed_form_macs(v.lower(), k, size, fused=fused) / 1e6 * MS_PER_MMAC[rt]

    reparam, sequential = [], []
    for v in variants:
        ko = official_k(v)
        ks = sorted(set(k_values) | {ko}) if v == "S0" else [ko]
        name = f"MobileOne-{v}"
        for rt in runtimes:
            for k in ks:
                t = ms(v, k, False, rt)
                reparam.append((name, "train", k, rt, t, closed_form_macs(v.lower(), k, size,
                                                                           False),
                                t * MEDIAN_FACTOR))
            fused = ms(v, ko, False, rt) / fused_speedup if fused_speedup else ms(v, ko, True, rt)
            reparam.append((name, "fused", None, rt, fused, None, fused * MEDIAN_FACTOR))
        fused = ms(v, ko, True, "torch")
        sequential.append((name, "fused", None, "torch", fused, None, fused * MEDIAN_FACTOR))
        sequential.append((name, "sequential", None, "torch", fused / sequential_ratio,
                           closed_form_macs(v.lower(), ko, size, True),
                           fused * MEDIAN_FACTOR / med_ratio))
    matmul = [(f"MatMul-{n}", "reference", None, "torch",
               2 * n ** 3 / (REFERENCE_GFLOPS * 1e9) * 1e3, n ** 3,
               2 * n ** 3 / (REFERENCE_GFLOPS * 1e9) * 1e3 * MEDIAN_FACTOR)]
    paths = []
    for name, items in (("reparam", reparam), ("sequential", sequential), ("matmul", matmul)):
        path = folder / f"closed-form-{name}.csv"
        pd.DataFrame(rows(f"closed-form-{name}", items)).to_csv(path, index=False)
        paths.append(path)
    return paths
