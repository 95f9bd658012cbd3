"""The per-item loop that reports failures and goes on (analysis.util.run_each / failure_of)."""

from __future__ import annotations

import pytest

from analysis.errors import ConfigError
from analysis.util import failure_of, run_each


def work(x: int) -> int:
    if x == 2:
        raise ValueError("two is bad\nsecond line")
    if x == 3:
        raise ConfigError("three: wrong parameter")
    return x * 10


def test_a_failure_is_recorded_in_one_line_and_the_loop_goes_on():
    results, failures = run_each([1, 2, 4], work, label=lambda x: f"item{x}")
    assert results == [10, 40]
    assert failures == {"item2": "ValueError: two is bad"}


def test_reraised_types_and_interrupts_propagate():
    with pytest.raises(ConfigError):
        run_each([1, 3], work, reraise=(ConfigError,))

    def interrupted(x):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_each([1], interrupted)


def test_failure_of_names_every_label_of_the_block_and_is_empty_on_success():
    with failure_of(["a", "b"]) as failed:
        work(2)
    assert failed == {"a": "ValueError: two is bad", "b": "ValueError: two is bad"}
    with failure_of(["a"]) as ok:
        work(1)
    assert ok == {}
