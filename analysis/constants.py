"""Every threshold, target, default and label the study's prose, figures and tests share.

One place, read by the statistics, the generated prose, the figures and the tests, so a sentence
can never print a different number from the one its verdict was computed with (format the
constant into the text; never type its value). Nothing here imports anything: this module sits
at the bottom of the layer order (``tests/test_architecture.py``).
"""

from __future__ import annotations

# -- inference --------------------------------------------------------------------------------

#: Significance level of every test and 1 − level of every interval.
ALPHA = 0.05
#: Largest n for which an exact enumeration (n! orderings) is used for a rank test.
EXACT_MAX_N = 8
#: Default bootstrap resamples of every interval (one value for the whole package).
N_BOOTSTRAP = 10_000
#: Default resamples of a Monte Carlo permutation test (n > :data:`EXACT_MAX_N`); with
#: scipy's p = (k + 1) / (N + 1) the smallest two-sided p is 2 / 10 000 = 1 / 5 000.
N_PERMUTATIONS = 9_999
#: A claim about |ρ| decided by less than this (the precision the prose prints) is borderline.
VERDICT_MARGIN = 0.01
#: A metric is called the best predictor of a device only when it has the highest ρ in at
#: least this share of bootstrap resamples of the models (selection-aware).
BEST_PROBABILITY = 0.95
#: The paper calls FLOPs and parameters *weakly* correlated with latency; a claim about the
#: strength |ρ| is judged against this threshold (:func:`analysis.inference.claim_verdict`).
WEAK_THRESHOLD = 0.5

# -- measurement noise ----------------------------------------------------------------------------

#: The noise band of a device/runtime/mode is this quantile of the session-to-session
#: |log ratio| of one network (:mod:`analysis.noise`; the rule is stated there, before results).
NOISE_QUANTILE = 0.95

# -- cost metrics -------------------------------------------------------------------------------

#: Candidate predictors of latency, in display order, with their labels for tables and figures.
METRIC_LABELS = {
    "macs": "MACs (paper's FLOPs)",
    "params": "Parameters",
    "activations": "Activations (fvcore)",
    "memory_bytes": "Memory traffic (bytes)",
    "operators": "Operators",
    "layers": "Conv / linear / matmul layers",
    "merges": "Multi-branch merges",
    "elementwise": "Element-wise ops",
}
#: The same metrics in running text (lower case where English wants it).
METRIC_WORDS = {
    "macs": "MACs",
    "params": "parameters",
    "activations": "activations",
    "memory_bytes": "memory traffic",
    "operators": "operators",
    "layers": "conv / linear / matmul layers",
    "merges": "multi-branch merges",
    "elementwise": "element-wise ops",
}
#: The paper's own metrics (Table 1): MACs ("FLOPs") and parameters.
PAPER_METRICS = ("macs", "params")

# -- targets (stated before the results; reported against, never tuned for) --------------------

#: Notebook 04: fused S0 at least this many times faster than train-time S0 (k = 4), torch.
TARGET_S0_SPEEDUP = 3.0
#: Notebook 04: fused MobileOne / the same layers as a plain ``nn.Sequential``, at most this.
TARGET_SEQUENTIAL_RATIO = 1.05
#: Notebook 04: exactness of the fusion, relative to the output scale.
TOL_FLOAT64 = 1e-9
TOL_BLOCK_FLOAT32 = 1e-4
#: Notebook 06: leave-one-out ρ the predictor aims for on a device with enough models.
TARGET_LOO_RHO = 0.9
#: Notebook 06: calibration models on a new device, and the ρ aimed for there (median, 10th
#: percentile over random calibration sets).
TARGET_K = 8
TARGET_MEDIAN_RHO = 0.9
TARGET_P10_RHO = 0.7
#: Notebook 06: share of models within ±10 % (nn-Meter's accuracy metric).
PREDICTION_TOLERANCE = 0.10
#: Notebook 06: a device needs this many models before a target applies to it.
MIN_MODELS_FOR_TARGET = 20
#: Notebook 06: fewest models a device needs to be evaluated at all (3 to calibrate, 3 held out).
MIN_MODELS_EVALUATED = 6
#: Notebook 06: paired differences of ρ within this margin are near ties, never "above".
NEAR_TIE = 0.02
