"""What notebook 01's result tables hold: a description and the meaning of every column that
:data:`analysis.studies.columns.GLOSSARY` does not give (or gives differently here)."""

from __future__ import annotations

from analysis.constants import ALPHA, BEST_PROBABILITY, N_PERMUTATIONS, WEAK_THRESHOLD
from analysis.studies.correlation.compute import OURS, PUBLISHED

_P = {
    "p_permutation": "two-sided permutation p of ρ = 0, the primary test (exact enumeration "
                     "for n ≤ 8, else Monte Carlo: p = (k + 1) / (N + 1))",
    "p_exact": "whether p_permutation is exact (every ordering enumerated)",
    "p_mc_se": "Monte Carlo standard error of p_permutation (0 when exact)",
    "p_floor": "smallest p the test can give (2 / (N + 1) for N resamples)",
    "ci_low": "lower bound of the 95 % Fisher-z interval of ρ (Bonett–Wright variance)",
    "ci_high": "upper bound of the 95 % Fisher-z interval of ρ (Bonett–Wright variance)",
    "p_value": "scipy's asymptotic two-sided p of ρ (secondary; the paper's kind of p)",
    "inference": "which permutation test gave p_permutation (exact or Monte Carlo)",
}
_FAMILY = {
    "family": "confirmatory (the paper's Table 1 cells, Holm) or exploratory (every other "
              "test of the notebook, Benjamini–Hochberg)",
    "p_adjusted": "p adjusted within its family (Holm or Benjamini–Hochberg)",
    "adjustment": "the adjustment and the number of tests in its family",
    "supported": f"the adjusted p ≤ α = {ALPHA:g}: what the notebook counts",
    "borderline": "the adjusted p lies within three Monte Carlo standard errors of α (another "
                  "seed could change the verdict)",
}
_CORR = {**_P, **_FAMILY, "physical_device": "the physical device of the series (its "
                                             "runtimes, thread settings and regimes share it)"}
_TABLE1 = {
    **_CORR,
    "source": f"basis of the sizes: {PUBLISHED!r} (Table 9, the paper's own data: the "
              f"confirmatory test) or {OURS!r} (the same test on our counts)",
    "paper_rho": "the paper's Table 1 ρ", "paper_p": "the paper's Table 1 p",
    "rho": "our Spearman ρ on the same latencies",
    "rho_diff": "our ρ minus the paper's",
    "diff_low": "lower bound of ours − the paper's: our 95 % interval minus the paper's ρ",
    "diff_high": "upper bound of ours − the paper's: our 95 % interval minus the paper's ρ",
    "paper_rho_in_ci": "the paper's ρ lies inside our 95 % interval",
}
_VERSUS = {
    "reference": "the metric compared against (MACs, the paper's)",
    "rho": "ρ(latency, metric)", "rho_reference": "ρ(latency, MACs) on the same models",
    "delta": "ρ(metric) − ρ(MACs)",
    "ci_low": "lower bound of the paired-bootstrap 95 % interval of Δρ",
    "ci_high": "upper bound of the paired-bootstrap 95 % interval of Δρ",
    "p_value": "paired-bootstrap two-sided p of Δρ = 0",
    "verdict": "better / worse than MACs (Holm p ≤ α and the interval excludes 0 on that "
               "side), else not shown",
}
_BEST = {"rho": "ρ(latency, metric)",
         "p_best": "share of bootstrap resamples of the models in which the metric has the "
                   "highest ρ (ties share)",
         "called_best": f"p_best ≥ {BEST_PROBABILITY:g}: the only case the metric is called "
                        "the best"}
_NESTED = {
    **_FAMILY,
    "rho_subset": "ρ on the convolutional models (conv and MobileOne families)",
    "rho_all": "ρ on all models of the series", "delta": "rho_subset − rho_all",
    "ci_low": "lower bound of the 95 % bootstrap interval of delta (models resampled once for "
              "both ρ's: the samples are nested)",
    "ci_high": "upper bound of the 95 % bootstrap interval of delta",
    "p_bootstrap": "two-sided bootstrap p of delta = 0",
    "n_subset": "convolutional models", "n_all": "all models",
    "n_family": "MobileOne S0–S4 among them (one monotone family)",
    "collapsed_rho_low": "lowest conv-only ρ with MobileOne collapsed to one point (each of "
                         "S0–S4 kept in turn)",
    "collapsed_rho_high": "highest conv-only ρ with MobileOne collapsed to one point",
    "collapsed_delta_low": "lowest delta with MobileOne collapsed to one point",
    "collapsed_delta_high": "highest delta with MobileOne collapsed to one point",
}
_PAPER_DEVICE = {
    **_FAMILY,
    "paper_device": "the paper's device of the same kind (desktop CPU, GPU)",
    "rho": "ρ(latency, metric) on our series", "rho_paper": "ρ on the paper's device, same "
                                                             "models",
    "delta": "ours − the paper's",
    "ci_low": "lower bound of the paired-bootstrap 95 % interval of delta (models resampled)",
    "ci_high": "upper bound of the paired-bootstrap 95 % interval of delta",
    "p_bootstrap": "two-sided paired-bootstrap p of delta = 0",
}
_SESSIONS = {"session": "session of the campaign", "rho": "ρ(latency, metric) in this session",
             "n": "models in the session"}
_SPREAD = {"n_sessions": "sessions", "rho_low": "lowest per-session ρ",
           "rho_high": "highest per-session ρ", "rho_range": "rho_high − rho_low",
           "rho": "ρ of the pooled latency (median over sessions)",
           "ci_low": "lower bound of the pooled ρ's 95 % interval over models",
           "ci_high": "upper bound of the pooled ρ's 95 % interval over models"}
_CHANGES = {"what": "the verdict", "item": "what it is about (metric, or the other series)",
            "minimum": "the verdict with each series' minimum latency (the paper's statistic)",
            "median": "the verdict with each series' median latency"}
_CLAIMS = {"verdict": f"holds: the 95 % interval lies within ±{WEAK_THRESHOLD:g}; "
                      f"contradicted: wholly beyond ±{WEAK_THRESHOLD:g}; borderline: a bound "
                      "within resampling error of the threshold; else inconclusive",
           **{k: v for k, v in _CORR.items() if k in ("ci_low", "ci_high", "physical_device")}}

#: ``name → (description, {column: meaning})`` of every result table.
TABLES: dict[str, tuple[str, dict]] = {
    "correlations": ("per series × metric: Spearman ρ, the permutation test of ρ = 0 "
                     f"(N = {N_PERMUTATIONS} resamples by default; the primary test), the "
                     "Fisher-z interval, scipy's p, and the adjusted verdict of its family",
                     _CORR),
    "table1_comparison": ("the paper's Table 1 next to ours on its own latencies (published "
                          "sizes and our fvcore counts), ours − the paper's with its interval; "
                          "Holm over the four cells of each basis", _TABLE1),
    "claim_verdicts": ("the paper's 'weakly correlated' claim judged per series and metric",
                       _CLAIMS),
    "versus_macs": ("each metric against MACs per series: paired bootstrap of Δρ, Holm over "
                    "the series' metrics", _VERSUS),
    "best_probability": ("selection-aware: per series, each metric's bootstrap probability of "
                         "having the highest ρ", _BEST),
    "device_agreement": ("ρ between two series' latency rankings (each pair once), adjusted "
                         "with the exploratory family",
                         {**_CORR, "a": "first series", "b": "second series",
                          "same_device": "both series are of one physical device"}),
    "correlations_conv_only": ("as correlations, convolutional models only (exploratory)",
                               _CORR),
    "conv_versus_all": ("ρ on convolutional models minus ρ on all models (nested samples), and "
                        "with MobileOne S0–S4 collapsed to one point", _NESTED),
    "versus_paper_devices": ("our series against the paper's device of the same kind, on the "
                             "same models", _PAPER_DEVICE),
    "rho_by_session": ("ρ(latency, metric) in every session of every series measured in "
                       "sessions", _SESSIONS),
    "session_spread": ("how far ρ moves between sessions, beside its interval over models",
                       _SPREAD),
    "correlations_median": ("as correlations, with each series' median latency where the "
                            "files have one (the paper's series keep their statistic)",
                            _CORR),
    "statistic_changes": ("every verdict that differs between minimum and median latency",
                          _CHANGES),
    "joined": ("the latency rows joined with the complexity counts (the latency files' columns: "
               "data/README.md)", {}),
}


def describe(name: str) -> tuple[str, dict]:
    """``(description, columns)`` of result table ``name``."""
    return TABLES[name]
