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
#: The plain-Sequential twin's latency relative to the fused network's.
SEQUENTIAL_SHARE = 0.98


def closed_form_timings(params) -> "pd.DataFrame":
    """A timings table (``TIMINGS_CSV``) for ``params`` whose latencies follow the closed-form
    MACs: ``ms = MACs / 1e6 × MS_PER_MMAC[runtime]`` (so a speed-up is a ratio of MACs), the
    Sequential twin at :data:`SEQUENTIAL_SHARE` of the fused network, the matmul at
    :data:`REFERENCE_GFLOPS`; median 10 % above the minimum."""
    import pandas as pd

    from analysis.studies.reparam.compute import jobs, official_k, variant_list
    from analysis.studies.reparam.timing import TIMING_COLUMNS

    size = params["INPUT_SIZE"]
    base = {"runtime_version": "closed form", "device": "Closed-form CPU",
            "threads": params["THREADS"] or 1, "n_runs": 5, "p90_ms": None, "cv": 0.05}

    def row(experiment, variant, k, form, runtime, ms, input_size=size):
        return {**base, "experiment": experiment, "variant": variant, "k": k, "form": form,
                "runtime": runtime, "input_size": input_size, "min_ms": ms,
                "median_ms": ms * 1.1, "p90_ms": ms * 1.2}

    rows = []
    for v, k, runtimes in jobs(params["VARIANTS"], params["K_VALUES"], params["RUNTIMES"],
                               params["SWEEP_RUNTIMES"]):
        for rt in runtimes:
            for form in ("train", "fused"):
                macs = closed_form_macs(v.lower(), k, size, fused=form == "fused")
                rows.append(row("fusing", v, k, form, rt, macs / 1e6 * MS_PER_MMAC[rt]))
    for v in variant_list(params["VARIANTS"]):
        fused = closed_form_macs(v.lower(), official_k(v), size, fused=True) / 1e6 \
            * MS_PER_MMAC["torch"]
        rows.append(row("sequential", v, official_k(v), "fused", "torch", fused))
        rows.append(row("sequential", v, official_k(v), "sequential", "torch",
                        fused * SEQUENTIAL_SHARE))
    n = params["MATMUL_SIZE"]
    rows.append(row("reference", "", 0, "matmul", "torch",
                    2 * n ** 3 / (REFERENCE_GFLOPS * 1e9) * 1e3, input_size=n))
    return pd.DataFrame(rows, columns=list(TIMING_COLUMNS))
