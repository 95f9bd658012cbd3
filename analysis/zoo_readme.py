"""The model tables of ``analysis/models/README.md``, generated from the registry and fvcore.

The numbers in that README are never typed: :func:`render_zoo_table` builds the markdown table
from :func:`analysis.complexity.count_table` (our counts of the deployed form next to Table 9's)
and each registry entry's ``paper`` citation; :func:`render_family_table` sets the MobileNet
family's scaling entries (``list_models("mobilenet_scaling")`` and the resolution sweeps)
beside timm's counts (``data/external/h200/timm_scaling_h200.csv``) and the MobileNet paper's
(``data/external/mobilenet_papers/mobilenet_family.csv``). ``python -m analysis.zoo_readme``
rewrites the part of the README between the ``<!-- zoo-table:start -->`` and
``<!-- zoo-table:end -->`` markers, and between ``<!-- family-table:start -->`` and
``<!-- family-table:end -->`` where the file has them (the rest of the file is left alone).
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path
from typing import Sequence

from analysis import complexity, paths
from analysis.complexity import count_table
from analysis.errors import ConfigError
from analysis.models import create_model, get_entry, list_models

README: Path = paths.ROOT / "analysis" / "models" / "README.md"
START, END = "<!-- zoo-table:start -->", "<!-- zoo-table:end -->"
FAMILY_START, FAMILY_END = "<!-- family-table:start -->", "<!-- family-table:end -->"
FAMILY_ORDER = ("conv", "transformer", "mobileone")
#: timm 1.0.29's parameter counts and ``flops_torch`` of the MobileNet family (H200 run).
TIMM_SCALING_CSV: Path = paths.EXTERNAL_DATA / "h200" / "timm_scaling_h200.csv"
#: The MobileNet paper's Tables 6 and 7 (MACs and parameters in millions).
MOBILENET_PAPER_CSV: Path = paths.EXTERNAL_DATA / "mobilenet_papers" / "mobilenet_family.csv"
#: Input sizes of the resolution sweep (the resolution multiplier ρ = size / 224).
RESOLUTIONS: tuple[int, ...] = (128, 160, 192)


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


def _read_csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def timm_scaling() -> dict[tuple[str, int], dict]:
    """timm's row per (our model id, input size): ``params`` and ``macs`` (``flops_torch / 2``)."""
    out = {}
    for row in _read_csv(TIMM_SCALING_CSV):
        key = (get_entry(row["model"]).id, int(row["input_size"]))
        out[key] = {"timm_name": row["model"], "params": int(row["params"]),
                    "macs": int(row["flops_torch"]) / 2}
    return out


def paper_counts() -> dict[tuple[str, int], dict]:
    """The MobileNet paper's row per (our model id, input size): ``params_m``, ``macs_m``."""
    out = {}
    for row in _read_csv(MOBILENET_PAPER_CSV):
        name = f"{row['network']}-x{float(row['width_multiplier'])}"
        out[(get_entry(name).id, int(row["input_size"]))] = {
            "params_m": float(row["params_m"]), "macs_m": float(row["macs_m"])}
    return out


def family_rows(*, cache: bool = True) -> list[dict]:
    """One row per scaling entry at its native size, then per resolution-sweep base at
    :data:`RESOLUTIONS`: our train-time parameters and deployed MACs, timm's and the paper's."""
    timm, paper = timm_scaling(), paper_counts()
    points = [(m, get_entry(m).input_size) for m in list_models("mobilenet_scaling")]
    points += [(m, s) for m in list_models("mobilenet_resolution") for s in RESOLUTIONS]
    rows = []
    for model_id, size in points:
        counts = complexity.profile_model(model_id, size, cache=cache)
        t, p = timm.get((model_id, size), {}), paper.get((model_id, size), {})
        rows.append({
            "model": get_entry(model_id).display_name, "model_id": model_id,
            "input_size": size, "params": sum(x.numel() for x in create_model(model_id)
                                              .parameters()),
            "macs": counts.macs, "timm_params": t.get("params", math.nan),
            "timm_macs": t.get("macs", math.nan), "paper_params_m": p.get("params_m", math.nan),
            "paper_macs_m": p.get("macs_m", math.nan)})
    return rows


def render_family_table(*, cache: bool = True) -> str:
    """Markdown table of :func:`family_rows`: parameters (train-time form, as timm counts) and
    MACs (deployed form, fvcore) next to timm's and the MobileNet paper's; Δ MACs is ours
    relative to timm's ``flops_torch / 2`` (or to the paper where timm has no row)."""
    lines = [
        "| Model | Input | Params (M) | timm | paper | MACs (M) | timm | paper | Δ MACs |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in family_rows(cache=cache):
        ref = r["timm_macs"] if not math.isnan(r["timm_macs"]) else r["paper_macs_m"] * 1e6
        same = "= ours" if r["timm_params"] == r["params"] else _fmt(r["timm_params"] / 1e6, 3)
        lines.append(
            f"| {r['model']} | {r['input_size']} | {_fmt(r['params'] / 1e6, 3)} "
            f"| {same if not math.isnan(r['timm_params']) else '–'} "
            f"| {_fmt(r['paper_params_m'], 1)} | {_fmt(r['macs'] / 1e6, 1)} "
            f"| {_fmt(r['timm_macs'] / 1e6, 1)} | {_fmt(r['paper_macs_m'], 0)} "
            f"| {_dev(100 * (r['macs'] / ref - 1))} |")
    return "\n".join(lines) + "\n"


def _split(text: str, start: str = START, end: str = END) -> tuple[str, str]:
    """The text before the start marker and after the end marker."""
    if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
        raise ConfigError(f"the README must hold exactly one {start} … {end} pair, in order")
    head, rest = text.split(start)
    return head, rest.split(end)[1]


def replace_table(text: str, table: str, start: str = START, end: str = END) -> str:
    """``text`` with everything between the two markers replaced by ``table``."""
    head, tail = _split(text, start, end)
    return f"{head}{start}\n{table}{end}{tail}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analysis.zoo_readme",
        description="Regenerate the model tables of analysis/models/README.md.")
    parser.add_argument("--readme", type=Path, default=README, help="file to rewrite")
    parser.add_argument("--no-cache", action="store_true", help="recount every model")
    args = parser.parse_args(argv)
    try:
        text = args.readme.read_text(encoding="utf-8")
        _split(text)  # check the markers before counting the zoo
        new = replace_table(text, render_zoo_table(cache=not args.no_cache))
        if FAMILY_START in new or FAMILY_END in new:
            new = replace_table(new, render_family_table(cache=not args.no_cache),
                                FAMILY_START, FAMILY_END)
    except (OSError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if new != text:
        args.readme.write_text(new, encoding="utf-8")
    print(f"{args.readme}: model tables {'updated' if new != text else 'already up to date'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
