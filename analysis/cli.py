"""Command line: ``python -m analysis {count,reproduce,…} …``.

Every command reports a user error (unknown model, malformed file, wrong parameter) as one
line ``error: …`` on stderr and exits with status 2; it never prints a traceback for them.
Each sub-command lives in a ``_add_<name>`` (arguments) / ``_run_<name>`` (action) pair.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis.errors import AnalysisError


def _add_count(sub) -> None:
    p = sub.add_parser("count", help="MACs, parameters and activations of models (fvcore)",
                       description="Count MACs (the paper's 'FLOPs'), parameters and "
                                   "activations of registered models on their deployed "
                                   "(fused) form at their native input size.")
    p.add_argument("--models", default="table9",
                   help="group name(s) or model name(s), comma-separated (default: table9)")
    p.add_argument("--csv", type=Path, help="write the table to this CSV file")
    p.add_argument("--unfused", action="store_true",
                   help="count the train-time form of re-parameterizable models")
    p.add_argument("--no-cache", action="store_true", help="recount instead of using the cache")
    p.add_argument("--list", action="store_true", help="list models and groups, then exit")


def _run_count(args) -> int:
    from analysis.complexity import count_table
    from analysis.models import get_entry, list_groups, list_models, resolve_models

    if args.list:
        print("groups: " + ", ".join(list_groups()))
        for mid in list_models():
            e = get_entry(mid)
            print(f"{e.id:28s} {e.display_name:24s} {e.family:12s} {','.join(e.groups)}")
        return 0
    table = count_table(resolve_models(args.models), fuse=not args.unfused,
                        cache=not args.no_cache, progress=True)
    if args.csv:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.csv, index=False)
        print(f"wrote {len(table)} rows to {args.csv}")
    shown = table[["model", "macs", "paper_macs", "macs_dev_pct", "params", "paper_params",
                   "params_dev_pct"]].copy()
    shown[["macs", "paper_macs"]] = shown[["macs", "paper_macs"]] / 1e6
    shown[["params", "paper_params"]] = shown[["params", "paper_params"]] / 1e6
    shown.columns = ["model", "MACs (M)", "paper", "dev %", "params (M)", "paper", "dev %"]
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    return 0


def _add_reproduce(sub) -> None:
    p = sub.add_parser("reproduce", help="regenerate every table, figure and notebook",
                       description="Run every notebook in notebooks/ in order with papermill "
                                   "(default parameters, shipped data) and rewrite the "
                                   "rendered notebooks, their results and figures/.")
    p.add_argument("--only", help="run only the notebooks whose names contain this text")


def _run_reproduce(args) -> int:
    from analysis.reproduce import reproduce

    reproduce(only=args.only)
    return 0


COMMANDS = {
    "count": (_add_count, _run_count),
    "reproduce": (_add_reproduce, _run_reproduce),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m analysis",
        description="Latency-vs-metric study of efficient CNNs (MobileOne, Vasu et al.).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add, _ in COMMANDS.values():
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command][1](args)
    except AnalysisError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
