"""The text helpers the prose and the commands share (:mod:`analysis.text`)."""

from __future__ import annotations

import numpy as np

from analysis import text


def test_format_p():
    assert text.format_p(0.0) == "< 1e-300"
    assert text.format_p(0.0371) == "0.037" and text.format_p(2.1e-5) == "2.1e-05"
    assert text.format_p(np.nan) == "n/a"
    assert text.format_p(1e-4, n_resamples=9_999) == "< 1/9 999"


def test_plural():
    assert text.plural(1, "row") == "1 row" and text.plural(2, "file") == "2 files"
    assert text.plural(0, "series", "series") == "0 series"
