"""What each result table of notebook 07 holds, and its columns (``summary.json``); columns
shared with other studies come from :data:`analysis.studies.columns.GLOSSARY`."""

from __future__ import annotations

from analysis.constants import ALPHA, BEST_PROBABILITY

_A = f"{ALPHA:g}"
SHARED = {
    "statistic": "per-session statistic the latencies are built from: min (each session's "
                 "minimum, the paper's statistic, primary) or median (each session's median); "
                 "a model's latency is the median over its sessions",
    "regime": "execution regime of the GPU: mode (eager: PyTorch launches every operator; "
              "graph: a CUDA graph replays the kernels) and precision",
    "regime_a": "first regime of the pair", "regime_b": "second regime of the pair",
    "ci_low": "lower bound of the 95 % interval",
    "ci_high": "upper bound of the 95 % interval",
    "p_value": "two-sided bootstrap p of 0 (twice the smaller tail share, at least "
               "1 / N_BOOTSTRAP)",
    "delta": "difference (first minus second)",
    "verdict": "the verdict of the row's rule (see the notebook)",
}

TABLES: dict[str, tuple[str, dict]] = {
    "correlations": (
        "per statistic, regime and cost metric: Spearman ρ of latency with the metric over the "
        "models, with its permutation test and Fisher-z (Bonett–Wright) interval", {}),
    "versus_macs": (
        "per statistic and regime: every metric against MACs (the paper's metric) on the same "
        "models, paired bootstrap of Δρ, Holm within the regime",
        {"reference": "the metric compared with (MACs)", "rho_reference": "ρ of MACs",
         "delta": "ρ(metric) − ρ(MACs)",
         "verdict": f"better / worse: Holm p ≤ {_A} and the interval excludes 0 on that side; "
                    "else not shown"}),
    "best_metrics": (
        "per statistic and regime: the share of bootstrap resamples of the models in which each "
        "metric has the highest ρ (selection-aware)",
        {"p_best": "share of resamples in which the metric ranks latency best",
         "called_best": f"p_best ≥ {BEST_PROBABILITY:g}"}),
    "metric_gap": (
        "the pre-stated question, per statistic and regime: d = ρ(first) − ρ(second) on the "
        "models measured in every regime, with its paired-bootstrap interval",
        {"first": "the first metric of the pre-stated pair (operators)",
         "second": "the second metric of the pre-stated pair (MACs)",
         "delta": "d = ρ(first) − ρ(second)"}),
    "metric_gap_changes": (
        "the pre-stated question, per statistic and pair of regimes: Δd = d_a − d_b, paired "
        "bootstrap over models, Holm over the pairs",
        {"d_a": "d in regime_a", "d_b": "d in regime_b", "delta": "Δd = d_a − d_b",
         "flips": f"the order of the two metrics reverses: Holm p ≤ {_A} and d's intervals "
                  "exclude 0 on opposite sides in the two regimes"}),
    "regime_differences": (
        "exploratory: per statistic, metric and pair of regimes, Δρ = ρ_a − ρ_b on the same "
        "models (paired bootstrap), Benjamini–Hochberg over the rows of one statistic",
        {"rho_a": "ρ of the metric in regime_a", "rho_b": "ρ of the metric in regime_b",
         "delta": "ρ_a − ρ_b",
         "differs": f"q_value ≤ {_A} and the interval excludes 0"}),
    "launch_overhead": (
        "per statistic and precision: eager − graph latency regressed on the operator count "
        "(least squares) over the models measured in both regimes",
        {"precision": "numeric precision of both regimes",
         "us_per_operator": "slope: µs of eager − graph latency per operator",
         "ci_low": "95 % bootstrap percentile interval of the slope (models resampled), low",
         "ci_high": "95 % bootstrap percentile interval of the slope, high",
         "ols_ci_low": "classical OLS 95 % interval of the slope (t distribution), low",
         "ols_ci_high": "classical OLS 95 % interval of the slope, high",
         "intercept_ms": "intercept of the fit, ms",
         "r_squared": "R² of the fit",
         "explained_share": "median over models of slope × operators / eager latency",
         "overhead_share": "median over models of (eager − graph) / eager latency"}),
    "overhead_points": (
        "the rows of the launch-overhead regression (primary statistic): per precision and "
        "model, eager and graph latency and their difference",
        {"precision": "numeric precision of both regimes",
         "eager_ms": "latency in the eager regime, ms", "graph_ms": "latency in the graph "
         "regime, ms", "overhead_ms": "eager_ms − graph_ms",
         "overhead_low_ms": "eager's lowest session − graph's highest session, ms",
         "overhead_high_ms": "eager's highest session − graph's lowest session, ms"}),
    "ablation_ratios": (
        "the paper's Tables 2 and 3 in every series (notebooks 02 and 03's code): the paper's "
        "phone, this project's CPU and every regime of the GPU; slowdown over the table's "
        "reference variant with the noise model's verdict per series",
        {"table": "the paper's table (Table 2: activations; Table 3: blocks)",
         "device_kind": "phone (paper), CPU or GPU",
         "regime": "the GPU's regime (empty for the phone and the CPU)",
         "paper_row": "the variant's row label in the paper's table",
         "low_ms": "lowest session, ms", "high_ms": "highest session, ms",
         "slowdown": "latency / the reference variant's latency in the same series (×)",
         "slowdown_low": "slowdown / (1 + band)", "slowdown_high": "slowdown × (1 + band)",
         "verdict": "slower / within noise / faster by the series' noise band (n/a without "
                    "sessions; reference for the reference)",
         "median_slowdown": "the same with each session's median (×)",
         "median_verdict": "the verdict on median_slowdown",
         "band": "the series' noise band (relative) for the minimum",
         "median_band": "the series' noise band for the median"}),
    "ablation_duplicates": (
        "the noise model's calibration check: identical networks measured as separate items, "
        "their latency ratio per series and the verdict by the series' band",
        {"device_kind": "phone (paper), CPU or GPU",
         "regime": "the GPU's regime (empty for the CPU)",
         "first": "first network of the identical pair", "second": "second network",
         "ratio": "first / second latency (minimum)", "band": "the series' noise band",
         "verdict": "slower / within noise / faster by the band (within noise expected)",
         "median_ratio": "the same with the median", "median_band": "band for the median",
         "median_verdict": "the verdict on median_ratio"}),
    "device_agreement": (
        "per statistic, paper device (Table 9) and GPU regime: ρ between their latencies over "
        "the shared models; BH over the rows of one statistic",
        {"paper_device": "one of the paper's devices (Table 9)",
         "paper_statistic": "the statistic of the paper's column"}),
    "closest_regime": (
        "per statistic and paper device: the share of bootstrap resamples of the shared models "
        "in which each regime has the highest ρ with the paper's latencies",
        {"paper_device": "one of the paper's devices (Table 9)",
         "p_best": "share of resamples in which the regime agrees best with the device",
         "called_best": f"p_best ≥ {BEST_PROBABILITY:g}"}),
    "session_noise": (
        "per statistic and regime: the noise band and session spread over every network of the "
        "campaign (analysis.noise), and the rank agreement between sessions over the models",
        {"n_sessions": "sessions of the regime",
         "band": "noise band: within noise when 1/(1 + band) ≤ ratio ≤ 1 + band",
         "within_sitting": "band from pairs of sessions of one sitting",
         "between_sittings": "band from pairs of sessions of different sittings",
         "n_networks": "networks with at least two sessions",
         "n_pairs": "pairs of sessions of one network",
         "median_spread": "median over networks of highest / lowest session − 1",
         "p90_spread": "90th percentile over networks of highest / lowest session − 1",
         "session_rho_min": "lowest ρ between two sessions' latencies over the models",
         "session_rho_median": "median ρ between two sessions' latencies"}),
    "session_rhos": (
        "ρ(latency, metric) computed in each session separately (primary statistic): how far a "
        "correlation moves with measurement noise alone", {"session": "session number"}),
}


def describe(name: str) -> tuple[str, dict]:
    """``(description, columns)`` of a result table."""
    text, own = TABLES[name]
    return text, {**SHARED, **own}
