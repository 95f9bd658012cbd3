"""Shared prose helpers: how every notebook and the README write a number in a sentence.

ρ with its inference, p-values, intervals, ratios, percentages, counts with their plurals —
written once here so that the same quantity reads the same everywhere. Every function takes
numbers (or a row with named fields) and returns a string; none computes a statistic.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

from analysis.constants import METRIC_LABELS, METRIC_WORDS


def finite(value) -> bool:
    """``value`` is a real, finite number (``None``, NaN and ±inf are not)."""
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def upper_first(text: str) -> str:
    """``text`` with its first character upper-cased (the rest unchanged)."""
    return text[:1].upper() + text[1:]


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 device``, ``2 devices``, ``0 devices`` (``many`` for irregular plurals)."""
    n = int(n)
    return f"{n} {word if n == 1 else (many or word + 's')}"


def join_words(items: Iterable[str], last: str = "and") -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def metric_label(metric: str) -> str:
    """A cost metric's label for tables and figures (:data:`METRIC_LABELS`)."""
    return METRIC_LABELS.get(metric, metric)


def metric_word(metric: str) -> str:
    """A cost metric in running text (:data:`METRIC_WORDS`)."""
    return METRIC_WORDS.get(metric, metric)


def direction(value: float) -> str:
    """``positive`` / ``negative`` / ``zero`` by the sign of ``value``."""
    return "positive" if value > 0 else "negative" if value < 0 else "zero"


def format_p(p: float, n_resamples: int | None = None) -> str:
    """A p-value for text: ``0.037``, ``2.1e-05``; ``< 1/N`` at the floor of a resampling test
    with ``n_resamples`` resamples (no resampled p is smaller than 1 / N); ``< 1e-300`` for an
    underflow to 0; ``n/a`` for NaN."""
    if not finite(p):
        return "n/a"
    if n_resamples and p <= 1.0 / n_resamples + 1e-15:
        return f"< 1/{n_resamples:,}".replace(",", " ")
    if p == 0:
        return "< 1e-300"
    return f"{p:.2g}" if p >= 1e-3 else f"{p:.1e}"


def decimals(*values: float, against: Sequence[float] = (), start: int = 2,
             most: int = 4) -> int:
    """Fewest decimals (from ``start`` up to ``most``) at which ``values`` stay distinct from
    each other and from every number in ``against`` they differ from — so a bound never reads
    as equal to the threshold or the other bound it is compared with."""
    vals = [float(v) for v in values if finite(v)]
    refs = [float(a) for a in against if finite(a)]
    for k in range(start, most):
        rounded = [round(v, k) for v in vals]
        clash = len(set(rounded)) < len(set(vals)) or any(
            round(a, k) == round(v, k) and a != v for a in refs for v in vals)
        if not clash:
            return k
    return most


def number(value: float, digits: int = 2) -> str:
    """``value`` with ``digits`` decimals, ``−0.00`` never printed (it reads ``0.00``)."""
    if not finite(value):
        return "n/a"
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def interval(low: float, high: float, *, against: Sequence[float] = (), signed: bool = False,
             sep: str = " to ") -> str:
    """``0.12 to 0.79`` (``+0.12 to +0.79`` with ``signed``) with enough decimals that the bounds
    and the values in ``against`` stay distinct (:func:`decimals`)."""
    if not (finite(low) and finite(high)):
        return "n/a"
    k = decimals(low, high, against=against)
    fmt = f"{{:+.{k}f}}" if signed else f"{{:.{k}f}}"
    return f"{fmt.format(low)}{sep}{fmt.format(high)}"


def times(value: float) -> str:
    """A ratio as ``1.37×`` (two decimals below 10, three figures below 100)."""
    if not finite(value):
        return "n/a"
    return (f"{value:.2f}×" if value < 10 else f"{value:.3g}×" if value < 100
            else f"{value:,.0f}×")


def percent_change(ratio: float, digits: int = 1) -> str:
    """A ratio as a signed change in per cent: 1.052 → ``+5.2 %``."""
    if not finite(ratio):
        return "n/a"
    return f"{(ratio - 1) * 100:+.{digits}f} %"


def percent(share: float, digits: int = 0) -> str:
    """A share as per cent: 0.914 → ``91 %``."""
    if not finite(share):
        return "n/a"
    return f"{share * 100:.{digits}f} %"


def percent_range(low: float, high: float, digits: int = 0) -> str:
    """``88–94 %``, or ``92 %`` when both ends print the same (never ``92–92 %``)."""
    a, b = f"{low * 100:.{digits}f}", f"{high * 100:.{digits}f}"
    return f"{a} %" if a == b else f"{a}–{b} %"


def scientific(value: float, digits: int = 2) -> str:
    """A small or large number with ``digits`` significant digits: ``2.6e-15``, ``1e-09``
    (tolerances), ``0`` for zero; ``n/a`` for NaN."""
    if not finite(value):
        return "n/a"
    if value == 0:
        return "0"
    if 1e-3 <= abs(value) < 1e4:
        return f"{value:.{digits}g}"
    return f"{value:.{max(digits - 1, 0)}e}"


def rho_value(rho: float, digits: int = 2) -> str:
    """``ρ = 0.46`` (``ρ undefined`` for NaN)."""
    return f"ρ = {number(rho, digits)}" if finite(rho) else "ρ undefined"


def p_text(p: float, floor: float = math.nan) -> str:
    """A resampling p for text: ``p = 0.037``, or ``p < 1/5 000`` when it lies at ``floor``, the
    smallest p the test can give (2 / (N + 1) for a two-sided test with N resamples;
    :func:`format_p`)."""
    at = finite(floor) and floor > 0 and finite(p) and p <= floor * (1 + 1e-9)
    text = format_p(p, round(1 / floor) if at else None)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def rho_text(r, *, against: Sequence[float] = ()) -> str:
    """ρ with its test, the one way notebook 01 writes it: ``ρ = 0.46 (95 % CI 0.01 to 0.75,
    n = 21; permutation p = 0.039)`` — the Fisher-z interval and the permutation p (``exact
    permutation p`` for n ≤ 8, ``p < 1/5 000`` at the floor of N resamples). ``r`` has the
    fields ``rho, n, ci_low, ci_high, p_permutation, p_exact, p_floor`` (a row or an
    object); ``against``: values the text compares with the interval (more decimals where two
    would read as equal, :func:`decimals`)."""
    get = r.get if isinstance(r, dict) else (lambda k, d=None: getattr(r, k, d))
    n = int(get("n"))
    if n < 3 or not finite(get("rho")):
        return f"ρ undefined (n = {n}: at least 3 models with varying values are needed)"
    test = "exact permutation" if get("p_exact") else "permutation"
    p = p_text(get("p_permutation"), math.nan if get("p_exact") else get("p_floor"))
    lo, hi = get("ci_low"), get("ci_high")
    if not (finite(lo) and finite(hi)):
        return f"ρ = {number(get('rho'))} (n = {n}; {test} {p})"
    if hi - lo < 1e-3 or abs(get("rho")) > 1 - 1e-9:  # |ρ| = 1: a Fisher-z interval of no width
        return f"ρ = {number(get('rho'))} (n = {n}, interval of no width; {test} {p})"
    k = decimals(lo, hi, against=against)
    return (f"ρ = {number(get('rho'), k)} (95 % CI {number(lo, k)} to {number(hi, k)}, "
            f"n = {n}; {test} {p})")


def adjusted_text(r) -> str:
    """The adjusted verdict of a test with ``supported``, ``borderline``, ``p_adjusted`` and
    ``family`` (``confirmatory``: Holm; else Benjamini–Hochberg): ``supported after Holm
    adjustment (p = 0.012)`` or ``not shown after Benjamini–Hochberg adjustment (p = 0.21)``."""
    get = r.get if isinstance(r, dict) else (lambda k, d=None: getattr(r, k, d))
    method = "Holm" if get("family") == "confirmatory" else "Benjamini–Hochberg"
    adjusted = f"adjusted p = {format_p(get('p_adjusted'))}"
    if not finite(get("p_adjusted")):
        return "no test possible"
    word = "supported" if get("supported") else "not shown"
    if get("borderline"):
        word += " (borderline: within Monte Carlo error of α)"
    return f"{word} after {method} adjustment ({adjusted})"


def signed(value: float, digits: int = 2) -> str:
    """``value`` with its sign and ``digits`` decimals: ``+0.03``, ``-0.12``; a value that
    rounds to zero reads ``+0.00`` (never ``-0.00``)."""
    if not finite(value):
        return "n/a"
    text = f"{value:+.{digits}f}"
    return "+" + text[1:] if float(text) == 0 else text


def shift_sentence(items: Iterable[tuple[str, float, float, float]]) -> str:
    """What the between-sittings band is made of, for ``(series, common_shift,
    between_after_shift, band)`` with a finite shift: "Between sittings the networks moved
    largely together (A: later sitting 0.79× the earlier, without that shift ±9.3 % against the
    rule's ±37.8 %). …" — empty when no series has two sittings."""
    shown = [(name, shift, after, band) for name, shift, after, band in items if finite(shift)]
    if not shown:
        return ""
    moved = "; ".join(f"{name}: later sitting {times(1 + shift)} the earlier, without that "
                      f"shift ±{percent(after, 1)} against the rule's ±{percent(band, 1)}"
                      for name, shift, after, band in shown)
    return (f"Between sittings the networks moved largely together ({moved}). Such a common "
            "shift (another state of the shared machine) cancels in the ratio of two networks "
            "timed in the same sessions, so for those ratios the verdicts are conservative; "
            "they keep the rule stated before the results.")
