"""The model table of ``analysis/models/README.md``, generated from the registry and fvcore.

The numbers in that README are never typed: :func:`render_zoo_table` builds the markdown table
from :func:`analysis.complexity.count_table` (our counts of the deployed form next to Table 9's)
and each registry entry's ``paper`` citation, and ``python -m analysis.zoo_readme`` rewrites
the part of the README between the ``<!-- zoo-table:start -->`` and ``<!-- zoo-table:end -->``
markers with it (the rest of the file is left alone).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Sequence

from analysis import paths
from analysis.errors import ConfigError

README: Path = paths.ROOT / "analysis" / "models" / "README.md"
START, END = "<!-- zoo-table:start -->", "<!-- zoo-table:end -->"
FAMILY_ORDER = ("conv", "transformer", "mobileone")


def _fmt(value: float, digits: int) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _dev(value: float) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:+.1f}%"


def render_zoo_table(models: Sequence[str] | None = None, *, cache: bool = True) -> str:
    """Markdown table: model, family, original paper, our params / MACs vs Table 9's.

    ``models`` defaults to every registered Table 9 model (``list_models("table9")``). Rows are
    ordered by family, then by Table 9's MACs. Counts are of the deployed form (BatchNorm
    folded, re-parameterized branches merged) at the model's native input size.
    """
    from analysis.complexity import count_table
    from analysis.models import get_entry, list_models

    ids = list(models) if models is not None else list_models("table9")
    table = count_table(ids, cache=cache)
    rank = {f: i for i, f in enumerate(FAMILY_ORDER)}
    table = table.assign(_family=table["family"].map(lambda f: rank.get(f, len(rank))))
    table = table.sort_values(["_family", "paper_macs", "model"], kind="stable")
    lines = [
        "| Model | Family | Original paper | Input | Params (M) | Table 9 | Δ params "
        "| MACs (M) | Table 9 | Δ MACs |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in table.itertuples(index=False):
        paper = get_entry(row.model_id).paper or "–"
        lines.append(
            f"| {row.model} | {row.family} | {paper} | {row.input_size} "
            f"| {_fmt(row.params / 1e6, 2)} | {_fmt(row.paper_params / 1e6, 1)} "
            f"| {_dev(row.params_dev_pct)} "
            f"| {_fmt(row.macs / 1e6, 1)} | {_fmt(row.paper_macs / 1e6, 0)} "
            f"| {_dev(row.macs_dev_pct)} |")
    return "\n".join(lines) + "\n"


def _split(text: str) -> tuple[str, str]:
    """The text before the start marker and after the end marker."""
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ConfigError(f"the README must hold exactly one {START} … {END} pair, in order")
    head, rest = text.split(START)
    return head, rest.split(END)[1]


def replace_table(text: str, table: str) -> str:
    """``text`` with everything between the two markers replaced by ``table``."""
    head, tail = _split(text)
    return f"{head}{START}\n{table}{END}{tail}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analysis.zoo_readme",
        description="Regenerate the model table of analysis/models/README.md.")
    parser.add_argument("--readme", type=Path, default=README, help="file to rewrite")
    parser.add_argument("--no-cache", action="store_true", help="recount every model")
    args = parser.parse_args(argv)
    try:
        text = args.readme.read_text(encoding="utf-8")
        _split(text)  # check the markers before counting the zoo
        new = replace_table(text, render_zoo_table(cache=not args.no_cache))
    except (OSError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if new != text:
        args.readme.write_text(new, encoding="utf-8")
    print(f"{args.readme}: model table {'updated' if new != text else 'already up to date'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
