"""What notebook 04's result tables hold: one description per table and one line per column
(columns shared with other studies come from :data:`analysis.studies.columns.GLOSSARY`)."""

from __future__ import annotations

from analysis.constants import TARGET_SEQUENTIAL_RATIO

SESSIONS = "median over sessions of each session's"
BAND = "relative noise band of the runtime: within noise when 1/(1 + band) <= ratio <= 1 + band"

#: Columns particular to this study.
COLUMNS = {
    "variant": "MobileOne variant (S0–S4)",
    "k": "train-time conv branches per block (the paper's k)",
    "official_k": "k is the published variant's (S0: 4, S1–S4: 1)",
    "form": "train (k conv-BN branches, a 1×1 scale branch and an identity BatchNorm per "
            "block), fused (one conv per block), sequential (the fused layers as a plain "
            "nn.Sequential)",
    "stage": "Table 7's stage number(s) (4-5: stages 4 and 5, one run of equal units)",
    "layer": "stem, units (pairs of a 3×3 depthwise and a 1×1 pointwise block), avgpool or "
             "linear",
    "input_paper": "resolution entering the row, Table 7",
    "input_code": "resolution entering the row, built network (forward hooks at 224 px)",
    "blocks_paper": "blocks (units) in the row, Table 7",
    "blocks_code": "blocks (units) in the row, built network",
    "stride_paper": "stride of the row's first block, Table 7",
    "stride_code": "stride of the row's first block, built network",
    "channels_paper": "output channels, Table 7 (base width × α)",
    "channels_code": "output channels, built network",
    "se_paper": "Squeeze-Excite in the row, Table 7",
    "se_code": "Squeeze-Excite in the row, built network",
    "differs": "fields where Table 7 and the built network disagree (empty: none)",
    "params_fused_m": "parameters of the fused form, millions",
    "params_published_m": "parameters in the paper's Table 9, millions",
    "params_train_m": "parameters of the train-time form at the published k, millions",
    "macs_fused_m": "MACs of the fused form, millions",
    "macs_published_m": "MACs in the paper's Table 9 (224 px; empty at other sizes), millions",
    "macs_train_m": "MACs of the train-time form at the published k, millions",
    "exact_size": "input side of the exactness check in pixels",
    "tolerance_f64": "tolerance of the float64 difference, relative to the output scale "
                     "(max |train-time output|)",
    "f64_exact": "every float64 difference (whole network) within tolerance_f64",
    "tolerance_f32": "tolerance of the float32 differences, relative to the output scale",
    "blocks_f32_ok": "every block's float32 difference (each block fed O(1) inputs) within "
                     "tolerance_f32",
    "whole_f32_ok": "the whole network's float32 difference within tolerance_f32",
    "n_sessions": "sessions of the network in the campaign files",
    "n_runs": "timed runs per session (the fewest)",
    "min_ms": f"{SESSIONS} minimum over runs, ms (the paper's statistic)",
    "min_low_ms": "lowest session's minimum over runs, ms",
    "min_high_ms": "highest session's minimum over runs, ms",
    "median_ms": f"{SESSIONS} median over runs, ms",
    "median_low_ms": "lowest session's median over runs, ms",
    "median_high_ms": "highest session's median over runs, ms",
    "cache_key": "what the package size depends on, hashed: architecture, precision, input "
                 "size, torch and coremltools versions (a committed row with this key is "
                 "reused)",
    "count_key": "what the counts depend on: architecture and code digest, input size, counting "
                 "code (a committed row with this key is reused)",
    "speedup_vs_train": "train-time min_ms / this row's min_ms (same variant, k, runtime; > 1: "
                        "faster than train-time)",
    "published_params_m": "parameters in the paper's Table 9, millions",
    "published_macs_m": "MACs in the paper's Table 9 (fused, 224 px), millions",
    "train_ms": "train-time form, min_ms", "fused_ms": "fused form, min_ms",
    "train_low_ms": "train-time form, min_low_ms", "train_high_ms": "train-time form, min_high_ms",
    "fused_low_ms": "fused form, min_low_ms", "fused_high_ms": "fused form, min_high_ms",
    "speedup": "train_ms / fused_ms (> 1: fusing is faster)",
    "speedup_low": "train_low_ms / fused_high_ms (the sessions' interval)",
    "speedup_high": "train_high_ms / fused_low_ms",
    "band": f"{BAND}; for the minimum over runs",
    "verdict": "the noise model's verdict (analysis.noise.verdict) on the ratio, minimum over "
               "runs",
    "median_train_ms": "train-time form, median_ms", "median_fused_ms": "fused form, median_ms",
    "median_speedup": "median_train_ms / median_fused_ms",
    "median_speedup_low": "the sessions' interval of median_speedup, low",
    "median_speedup_high": "the sessions' interval of median_speedup, high",
    "median_band": f"{BAND}; for the median over runs",
    "median_verdict": "the noise model's verdict on the ratio, median over runs",
    "fused_min_ms": "fused network, min_ms (sequential campaign)",
    "sequential_min_ms": "plain-Sequential twin, min_ms",
    "fused_median_ms": "fused network, median_ms (sequential campaign)",
    "sequential_median_ms": "plain-Sequential twin, median_ms",
    "ratio_min": "fused_min_ms / sequential_min_ms",
    "ratio_min_low": "the sessions' interval of ratio_min, low (fused lowest / Sequential "
                     "highest)",
    "ratio_min_high": "the sessions' interval of ratio_min, high",
    "ratio_median": "fused_median_ms / sequential_median_ms",
    "ratio_median_low": "the sessions' interval of ratio_median, low",
    "ratio_median_high": "the sessions' interval of ratio_median, high",
    "target_verdict": f"target ratio <= {TARGET_SEQUENTIAL_RATIO:g}: met, not met, or not "
                      "decidable within noise (the band around the ratio contains the target); "
                      "minimum over runs",
    "median_target_verdict": "target_verdict for the median over runs",
    "identical_output": "the fused network and its plain-Sequential twin give bit-identical "
                        "outputs",
    "overhead_us_per_block": "(fused − Sequential) min_ms per fused block, µs (negative: "
                             "fused faster)",
    "fused_operators": "operators in the fused network's traced graph",
    "sequential_operators": "operators in the plain-Sequential twin's traced graph",
    "gflops": "achieved throughput: 2 × MACs / min_ms, GFLOP/s",
    "reference_gflops": "matmul reference throughput (2 n³ / min_ms of an n × n product), "
                        "GFLOP/s",
    "share_of_reference": "gflops / reference_gflops (above 1: faster than the reference "
                          "product, which is not the CPU's peak)",
    "share_low": "the sessions' interval of share_of_reference, low (slowest session of the "
                 "model against the fastest of the reference)",
    "share_high": "the sessions' interval of share_of_reference, high",
    "median_gflops": "2 × MACs / median_ms, GFLOP/s",
    "median_share": "median_gflops / the reference's GFLOP/s from its median_ms",
    "within_sitting": "band from pairs of sessions of one sitting (campaign), minimum",
    "between_sittings": "band from pairs of sessions of different sittings, minimum (empty: one "
                        "sitting)",
    "covers": "which noise the band covers",
    "n_networks": "networks with at least two sessions (a network is one set's item: the fused "
                  "network of the reparam and of the sequential campaign are two)",
    "n_pairs": "pairs of sessions of one network",
    "median_spread": "median over networks of max / min − 1 over sessions (minimum over runs)",
    "p90_spread": "90th percentile over networks of that spread",
    "common_shift": "later sitting / earlier sitting − 1, the median over networks (minimum; "
                    "empty: one sitting); a description, not part of the rule",
    "between_after_shift": "between_sittings with the common shift removed (minimum)",
    "median_within_sitting": "within_sitting for the median over runs",
    "median_between_sittings": "between_sittings for the median over runs",
    "status": "ok or failed",
    "size_mb": "size of the .mlpackage folder, MB (10⁶ bytes)",
    "message": "what the conversion produced, or why it failed",
    "date": "date of the measurement (to fill in)",
    "export_file": "the exported package",
    "note": "what to know about the exported model",
}

TABLES = {
    "table7_check": "Table 7 read off the built networks next to the paper's (per variant and "
                    "row)",
    "counts": "MACs, parameters, element-wise ops, memory traffic, operators and merges of both "
              "forms at INPUT_SIZE, per variant and k (fvcore and the traced graph)",
    "sizes": "parameters and MACs of both forms at the published k, next to Table 9",
    "exactness": "whether the fused network reproduces the train-time one within the "
                 "tolerances, per variant and k (relative to the output scale; the differences "
                 "themselves depend on the CPU and are shown in the notebook only)",
    "noise_bands": "the measured noise band per device, runtime, mode and precision "
                   "(analysis.noise.noise_bands over every network of the campaign files), for "
                   "the minimum and the median over runs",
    "reparam": "latency (with the sessions' interval) and counts of both forms, per variant, k "
               "and runtime",
    "speedups": "fusing's speed-up per variant and runtime at the published k, with its "
                "sessions' interval and the noise model's verdict, minimum and median",
    "sequential_overhead": "the fused network against a plain nn.Sequential of its layers "
                           "(PyTorch eager, the sequential campaign), with the noise model's "
                           "verdicts",
    "reference_throughput": "fused variants' achieved GFLOP/s as a share of the matmul "
                            "reference throughput",
    "coreml_packages": "Core ML packages of the fused variants and their sizes",
    "coreml_latency_template": "latency template of the Core ML packages, to fill in with "
                               "times measured on a phone (data/README.md)",
}

#: Per-table overrides of a column's meaning.
OVERRIDES = {
    "coreml_latency_template": {"latency_ms": "latency in milliseconds (empty: to fill in)",
                                "statistic": "statistic you report (Xcode's report: median)"},
}


def describe(name: str) -> tuple[str, dict[str, str]]:
    """``(description, columns)`` of the table ``name`` (a :class:`~analysis.studies.core.Table`'s
    arguments)."""
    return TABLES[name], {**COLUMNS, **OVERRIDES.get(name, {})}
