"""What the columns of the result tables hold: one glossary for every study.

``summary.json`` describes each column of each table it lists; a table names what is special to
it (:class:`analysis.studies.core.Table` ``columns``), the rest comes from :data:`GLOSSARY`. A
column described nowhere is written as ``"(undocumented)"`` and fails
``tests/test_study_api.py``, so a new column always arrives with its meaning.
"""

from __future__ import annotations

from typing import Iterable, Mapping

from analysis.constants import ALPHA

UNDOCUMENTED = "(undocumented)"

#: Column → meaning, for columns shared by several tables.
GLOSSARY: dict[str, str] = {
    # identity
    "model": "model display name (the zoo's, as in the paper's Table 9)",
    "model_id": "zoo id of the model (empty for a model outside the zoo)",
    "family": "model family: conv, transformer or mobileone",
    "label": "the model's number in the paper's Figure 2, else its name",
    "device": "device measured (with the runtime where a device has several)",
    "physical_device": "the physical device (its runtimes and regimes share it)",
    "runtime": "inference runtime (coreml, tensorrt, torch, onnxruntime …)",
    "runtime_version": "version of the runtime's library",
    "statistic": "summary statistic of the timed runs (min = the paper's)",
    "precision": "numeric precision of the inference",
    "batch_size": "images per inference",
    "input_size": "square input side in pixels",
    "threads": "intra-op CPU threads",
    "source": "where the number comes from",
    "metric": "cost metric (macs, params, activations, memory_bytes, operators, layers, "
              "merges, elementwise)",
    "series": "latency series: a device (and runtime) or the paper's column",
    # costs
    "macs": "multiply-accumulates (fvcore; the paper's 'FLOPs')",
    "params": "parameters",
    "activations": "activations (fvcore: output elements of conv/linear/matmul)",
    "memory_bytes": "estimated memory traffic in bytes (inputs, outputs and weights of every "
                    "operator, fp32, no fusion)",
    "operators": "operators in the traced graph (views excluded)",
    "layers": "conv / linear / matmul layers",
    "merges": "multi-branch merges (add/mul/cat joining two computed tensors)",
    "elementwise": "element-wise operations (adds, multiplications, activations, pooling)",
    # latency
    "latency_ms": "latency in milliseconds (the row's statistic)",
    "min_ms": "minimum over the timed runs, ms",
    "median_ms": "median over the timed runs, ms",
    "p90_ms": "90th percentile over the timed runs, ms",
    "mean_ms": "mean over the timed runs, ms",
    "trimmed_mean_ms": "mean after dropping 20 % at each end, ms",
    "std_ms": "standard deviation over the timed runs, ms",
    "cv": "coefficient of variation of the timed runs (std / mean)",
    "n_runs": "timed runs behind the summary",
    "n_sessions": "sessions (repeated measurements) behind the value",
    "session_low_ms": "lowest per-session statistic over the sessions, ms (latency_ms: their "
                      "median)",
    "session_high_ms": "highest per-session statistic over the sessions, ms",
    # latency files: what was measured and how (data/README.md)
    "form": "form of the network measured: fused (as deployed), train (train-time branches), "
            "sequential or reference",
    "k": "train-time conv branches (MobileOne's over-parameterization factor; form train)",
    "mode": "how the runtime executes: eager (op by op) or graph (a captured graph replayed)",
    "regime": "mode and precision of the series (eager fp32, graph fp16 …)",
    "campaign": "measurement campaign the row belongs to",
    "date": "when it was measured (ISO 8601)",
    "notes": "free-text notes of the latency file (the paper's rows: its protocol)",
    "warmup": "untimed runs before the timed ones",
    "fused": "whether the model was measured re-parameterized (as deployed)",
    "clock": "the timer of the measurement",
    "cpu": "CPU model string of the measuring machine",
    "cores_logical": "logical CPU cores of the measuring machine",
    "cores_physical": "physical CPU cores of the measuring machine",
    "accelerator": "where the model ran (cpu, cuda)",
    "gpu": "GPU model of the measuring machine",
    "driver": "GPU driver version",
    "cuda": "CUDA version",
    "cudnn": "cuDNN version",
    "tf32": "whether TF32 matrix multiplication was allowed",
    "cudnn_benchmark": "whether cuDNN autotuning was on",
    "torch_version": "PyTorch version of the measurement",
    "onnxruntime_version": "ONNX Runtime version of the measurement",
    "numpy_version": "NumPy version of the measurement",
    "python_version": "Python version of the measurement",
    "platform": "operating system of the measuring machine",
    "code_commit": "git commit of this project at measurement time",
    "kernel": "operating-system kernel build of the measuring machine",
    "host": "host fingerprint of the measuring machine (tells two VMs with one CPU apart)",
    "command": "the command line that measured it",
    "seed": "seed of the measurement (session order, inputs)",
    # correlation
    "rho": "Spearman's rank correlation ρ",
    "p_value": "scipy's two-sided p of ρ (asymptotic t approximation)",
    # the permutation test of ρ = 0 (analysis.inference)
    "p_permutation": "two-sided permutation p of ρ = 0 (exact for n ≤ 8, else Monte Carlo "
                     "with N_PERMUTATIONS resamples)",
    "p_exact": "whether p_permutation is an exact enumeration",
    "p_mc_se": "Monte Carlo standard error of p_permutation (0 when exact)",
    "p_floor": "smallest p the permutation test can give",
    "q_value": "Benjamini–Hochberg adjusted p over the rows of one statistic (exploratory)",
    "shown": f"q_value ≤ {ALPHA:g}: a non-zero correlation is shown after adjustment",
    # the noise model (analysis.noise)
    "common_shift": "later sitting / earlier sitting − 1, the median over networks (empty: one "
                    "sitting); a description, not part of the rule",
    "between_after_shift": "between_sittings with the common shift removed",
    "ci_low": "lower bound of the 95 % interval",
    "ci_high": "upper bound of the 95 % interval",
    "kendall_tau": "Kendall's τ-b",
    "n": "number of models (pairs) behind the value",
    "exact_p": "exact two-sided permutation p (n ≤ 8, else empty)",
    "inference": "the primary inference used for this row",
    "supported": "the primary inference rejects ρ = 0 at α = 0.05",
    "borderline": "the verdict is decided only just (see the notebook's rule)",
    "delta": "difference of ρ (first minus second)",
    "p_holm": "Holm-adjusted p over the family of comparisons",
    "n_comparisons": "number of comparisons in the Holm family",
}


def describe_columns(columns: Iterable[str], own: Mapping[str, str] | None = None) -> dict:
    """``{column: meaning}`` for ``columns``: the table's ``own`` description first, then
    :data:`GLOSSARY`, else :data:`UNDOCUMENTED`."""
    own = own or {}
    return {str(c): own.get(c, GLOSSARY.get(c, UNDOCUMENTED)) for c in columns}
