"""Verdicts that change with the statistic (minimum over runs, the paper's, against the median):
the record, how it is found in a table of verdicts, and the sentence that reports it. Shared by
the studies whose verdicts are computed once per statistic (notebooks 07 and 08)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import pandas as pd

from analysis.text import plural


@dataclass(frozen=True)
class StatisticChange:
    """A verdict that differs between the minimum (primary) and the median: ``kind`` (what was
    judged), ``subject`` (its keys, e.g. regime and metric) and the verdict with each
    statistic."""

    kind: str
    subject: tuple[str, ...]
    minimum: str
    median: str


def verdict_changes(frame: pd.DataFrame, keys: list[str], verdict: str, kind: str,
                    words: Callable = str,
                    statistics: Sequence[str] | None = None) -> list[StatisticChange]:
    """Rows of ``frame`` (one per key and ``statistic``) whose ``verdict`` column differs
    between the two statistics: ``statistics`` in that order, else the first two the table
    holds; none when it holds fewer than two."""
    if frame.empty or frame["statistic"].nunique() < 2:
        return []
    wide = frame.pivot_table(index=keys, columns="statistic", values=verdict, aggfunc="first",
                             sort=False)
    a, b = statistics if statistics is not None else wide.columns[:2]
    return [StatisticChange(kind, tuple(str(k) for k in key), words(wide.loc[key, a]),
                            words(wide.loc[key, b]))
            for key in wide.index if wide.loc[key, a] != wide.loc[key, b]]


def statistic_line(changes: Sequence[StatisticChange],
                   describe: Callable[[StatisticChange], str]) -> str:
    """The Markdown bullet: no change, or each change described by ``describe``."""
    if not changes:
        return ("- Minimum or median: every verdict above is the same with each session's "
                "median as with its minimum (the paper's statistic, primary).")
    return ("- Minimum or median: the choice changes " + plural(len(changes), "verdict") + ": "
            + "; ".join(describe(c) for c in changes) + ".")
