"""What each result table of notebook 08 holds, and its columns (``summary.json``); columns
shared with other studies come from :data:`analysis.studies.columns.GLOSSARY`."""

from __future__ import annotations

from analysis.studies.scaling.compute import CLAIMED_EXPONENT

_C = f"{CLAIMED_EXPONENT:g}"
SHARED = {
    "statistic": "per-session statistic the latencies are built from: min (each session's "
                 "minimum, the paper's statistic, primary) or median (each session's median); "
                 "a network's latency is the median over its sessions (the H200 reference: its "
                 "one pass)",
    "series": "latency series: device · runtime (· regime), one line of the figures",
    "regime": "mode and precision of the series (empty where the file states none)",
    "implementation": "whose implementation was timed: this project's zoo, or timm's (its "
                      "model name)",
    "sweep": "the scaling sweep: a width multiplier α, a resolution multiplier ρ, or "
             "EfficientNet's compound scaling",
    "knob": "what the sweep scales: width (α), resolution (ρ = input / 224) or compound",
    "family": "the network family of the sweep",
    "multiplier": "α (width sweeps) or ρ = input size / native size (resolution sweeps)",
    "band": "the series' noise band (relative): within noise when 1/(1 + band) ≤ ratio ≤ "
            "1 + band (analysis.noise)",
}

TABLES: dict[str, tuple[str, dict]] = {
    "points": (
        "the points of every fit: per statistic, series and sweep, its networks (model × input "
        "size) with their counts, latency and session interval (MobileNetV1 at 224 px belongs "
        "to a width and a resolution sweep and appears in both)", {}),
    "counts": (
        "fvcore MACs and parameters of the deployed form of every network of the sweeps at "
        "every input size analysed, with timm's and the MobileNet paper's MACs beside them; "
        "read back by later runs for the same architecture digest and counting rules",
        {"native": "whether input_size is the network's native input",
         "timm_macs": "timm 1.0.29's count of its own implementation: flops_torch / 2 "
                      "(data/external/h200/timm_scaling_h200.csv); empty where timm has no row",
         "paper_macs": "the MobileNet paper's Mult-Adds (Tables 6 and 7); MobileNetV1 only",
         "model_digest": "digest of the architecture and its classes' code "
                         "(analysis.complexity.model_digest)",
         "cache_version": "version of the counting rules (analysis.complexity.CACHE_VERSION)"}),
    "count_scaling": (
        f"the family's claim on counts: per point of every width and resolution sweep, its "
        f"MACs relative to the sweep's base (α = 1 at 224 px) against multiplier^{_C}",
        {"base_macs": "MACs of the sweep's base network (multiplier 1)",
         "macs_ratio": "macs / base_macs",
         "predicted_ratio": f"multiplier^{_C}: α² or ρ², the claim",
         "ratio_to_prediction": "macs_ratio / predicted_ratio (1: the claim holds exactly)",
         "paper_ratio": "the MobileNet paper's MACs ratio for the same point (MobileNetV1)"}),
    "exponents": (
        "per statistic, series and sweep: the fitted exponents (least squares on the "
        "logarithms, t intervals with n − 2 degrees of freedom) and the within-sweep ρ",
        {"n": "networks in the sweep on this series",
         "macs_low": "smallest MACs of the sweep", "macs_high": "largest MACs of the sweep",
         "latency_low_ms": "smallest latency of the sweep, ms",
         "latency_high_ms": "largest latency of the sweep, ms",
         "b": "exponent of latency ∝ MACs^b (1: latency in proportion to MACs)",
         "b_se": "standard error of b",
         "intercept": "intercept of the fit: ln(latency in ms) at ln(MACs) = 0",
         "b_ci_low": "95 % t interval of b, low", "b_ci_high": "95 % t interval of b, high",
         "r_squared": "R² of the log–log fit of latency on MACs",
         "b_session_low": "lowest b over every choice of one session per network",
         "b_session_high": "highest b over every choice of one session per network",
         "b_verdict": "below / above: b's interval lies wholly below / above 1; consistent: "
                      "it contains 1; no interval: two networks",
         "e": f"exponent of latency ∝ multiplier^e ({_C} if latency followed the claim; "
              f"empty for compound scaling)",
         "e_ci_low": "95 % t interval of e, low", "e_ci_high": "95 % t interval of e, high",
         "e_verdict": f"below / above / consistent: e's interval against {_C}",
         "c": f"exponent of MACs ∝ multiplier^c on the same networks ({_C}: the claim)",
         "rho": "Spearman ρ of latency with MACs within the sweep",
         "p_permutation": "exact two-sided permutation p of that ρ (empty below 3 networks)"}),
    "correlations": (
        "per statistic and series: Spearman ρ of latency with MACs across the zoo's models of "
        "ACROSS_MODELS on the same device, runtime and regime (Table 1's question), and over "
        "the family's networks at native size; permutation test, Fisher-z (Bonett–Wright) "
        "interval, BH over one statistic's rows",
        {"scope": "across families (the zoo's ACROSS_MODELS group) or the MobileNet family "
                  "(group mobilenet_scaling at native size)",
         "models": "the zoo group of the models correlated"}),
    "noise": (
        "per statistic and series: the noise band from the series' sessions (analysis.noise); "
        "the one-pass H200 reference borrows the band of this project's H200 campaign in the "
        "same regime",
        {"within_sitting": "band from pairs of sessions of one sitting",
         "between_sittings": "band from pairs of sessions of different sittings",
         "n_networks": "networks with at least two sessions",
         "n_pairs": "pairs of sessions of one network",
         "median_spread": "median over networks of highest / lowest session − 1",
         "p90_spread": "90th percentile over networks of highest / lowest session − 1",
         "band_source": "where the band comes from"}),
    "lite_vs_b": (
        "per statistic, series and pair i: EfficientNet-Lite_i against EfficientNet-B_i, their "
        "latency ratio with its session interval and noise verdict, and the ratio at equal MACs",
        {"pair": "i of Lite_i and B_i", "lite": "EfficientNet-Lite_i",
         "b_model": "EfficientNet-B_i", "lite_macs": "MACs of Lite_i",
         "b_macs": "MACs of B_i", "macs_ratio": "lite_macs / b_macs",
         "lite_ms": "latency of Lite_i, ms", "b_ms": "latency of B_i, ms",
         "ratio": "lite_ms / b_ms",
         "ratio_low": "Lite_i's lowest session / B_i's highest session",
         "ratio_high": "Lite_i's highest session / B_i's lowest session",
         "verdict": "faster / slower / within noise: ratio against the series' band",
         "b_exponent": "b of the EfficientNet-B0–B4 sweep on the series",
         "equal_macs_ratio": "Lite_i's latency / B's fitted latency at Lite_i's MACs: ratio / "
                             "macs_ratio^b_exponent",
         "equal_macs_low": "the same with b at its 95 % interval's ends, lower",
         "equal_macs_high": "the same with b at its 95 % interval's ends, higher"}),
    "ablation_context": (
        "what EfficientNet-Lite removes (Squeeze-Excite, swish) in the paper's 30-layer "
        "ablations (Tables 2 and 3): the paper's phone, the build machine's CPU (2 threads, "
        "the shipped ablation campaign) and the H200 in the reference's regime, by notebooks "
        "02/03's code",
        {"table": "the paper's table (Table 2: activations; Table 3: blocks)",
         "paper_row": "the variant's row label in the paper's table",
         "device_kind": "phone (paper), CPU or GPU",
         "slowdown": "latency / the table's reference variant (ReLU, the baseline) (×)",
         "slowdown_low": "slowdown / (1 + band)", "slowdown_high": "slowdown × (1 + band)",
         "verdict": "slower / within noise / faster by the series' band (n/a without "
                    "sessions)",
         "median_slowdown": "the same with each session's median (×)",
         "median_verdict": "the verdict on median_slowdown"}),
}


def describe(name: str) -> tuple[str, dict]:
    """``(description, columns)`` of a result table."""
    text, own = TABLES[name]
    return text, {**SHARED, **own}
