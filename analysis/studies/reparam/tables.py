"""What notebook 04's result tables hold: one description per table and one line per column
(columns shared with other studies come from :data:`analysis.studies.columns.GLOSSARY`)."""

from __future__ import annotations

#: Columns particular to this study.
COLUMNS = {
    "variant": "MobileOne variant (S0–S4)",
    "k": "train-time conv branches per block (the paper's k; 0 for the matmul reference)",
    "official_k": "k is the published variant's (S0: 4, S1–S4: 1)",
    "form": "train (k conv-BN branches, a 1×1 scale branch and an identity BatchNorm per "
            "block), fused (one conv per block), sequential (the fused layers as a plain "
            "nn.Sequential) or matmul (the reference product)",
    "experiment": "fusing (train-time vs fused), sequential (fused vs plain Sequential) or "
                  "reference (matmul reference throughput)",
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
    "max_abs_diff_f64": "max |fused − train-time output|, whole network, float64",
    "output_scale_f64": "max |train-time output|, whole network, float64 (the scale the "
                        "relative difference divides by)",
    "max_rel_diff_f64": "max_abs_diff_f64 / output_scale_f64",
    "max_abs_diff_f32": "max |fused − train-time output|, whole network, float32",
    "output_scale_f32": "max |train-time output|, whole network, float32",
    "max_rel_diff_f32": "max_abs_diff_f32 / output_scale_f32",
    "max_block_rel_diff_f32": "largest per-block max |difference| / max |block output|, "
                              "float32, each block fed O(1) inputs",
    "f64_exact": "max_rel_diff_f64 within TOL_FLOAT64",
    "blocks_f32_ok": "max_block_rel_diff_f32 within TOL_BLOCK_FLOAT32",
    "speedup_vs_train": "train-time min latency / this row's min latency (same variant, k, "
                        "runtime; > 1: faster than train-time)",
    "published_params_m": "parameters in the paper's Table 9, millions",
    "published_macs_m": "MACs in the paper's Table 9 (fused, 224 px), millions",
    "fused_min_ms": "fused network, min over the interleaved runs, ms",
    "sequential_min_ms": "plain-Sequential twin, min over the interleaved runs, ms",
    "fused_median_ms": "fused network, median over the interleaved runs, ms",
    "sequential_median_ms": "plain-Sequential twin, median over the interleaved runs, ms",
    "ratio_min": "fused_min_ms / sequential_min_ms",
    "ratio_median": "fused_median_ms / sequential_median_ms",
    "identical_output": "the fused network and its plain-Sequential twin give bit-identical "
                        "outputs",
    "overhead_us_per_block": "(fused − Sequential) min latency per fused block, µs (negative: "
                             "fused faster)",
    "fused_operators": "operators in the fused network's traced graph",
    "sequential_operators": "operators in the plain-Sequential twin's traced graph",
    "gflops": "achieved throughput: 2 × MACs / min latency, GFLOP/s",
    "reference_gflops": "matmul reference throughput (2 n³ / min time of an n × n product), "
                        "GFLOP/s",
    "share_of_reference": "gflops / reference_gflops (above 1: faster than the reference "
                          "product, which is not the CPU's peak)",
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
    "exactness": "how exactly the fused network reproduces the train-time one, per variant and "
                 "k (relative to the output scale)",
    "timings": "every latency the run used, one summary row per timed identity (measured live "
               "or read from TIMINGS_CSV)",
    "reparam": "latency and counts of both forms, per variant, k and runtime",
    "sequential_overhead": "the fused network against a plain nn.Sequential of its layers, "
                           "timed interleaved (PyTorch eager)",
    "reference_throughput": "fused variants' achieved GFLOP/s as a share of the matmul "
                            "reference throughput",
    "coreml_packages": "Core ML packages of the fused variants and their sizes",
    "coreml_latency_template": "latency template of the Core ML packages, to fill in with "
                               "times measured on a phone (data/README.md)",
}

#: Per-table overrides of a column's meaning.
OVERRIDES = {
    "timings": {"input_size": "square input side in pixels (the matrix side n for the matmul "
                              "reference)",
                "variant": "MobileOne variant (empty for the matmul reference)"},
    "coreml_latency_template": {"latency_ms": "latency in milliseconds (empty: to fill in)",
                                "statistic": "statistic you report (Xcode's report: median)"},
}


def describe(name: str) -> tuple[str, dict[str, str]]:
    """``(description, columns)`` of the table ``name`` (a :class:`~analysis.studies.core.Table`'s
    arguments)."""
    return TABLES[name], {**COLUMNS, **OVERRIDES.get(name, {})}
