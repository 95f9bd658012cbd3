"""Command line: ``python -m analysis {count,reproduce,…} …``.

Every command reports a user error (unknown model, malformed file, wrong parameter) as one
line ``error: …`` on stderr and exits with status 2; it never prints a traceback for them.
Each sub-command lives in a ``_add_<name>`` (arguments) / ``_run_<name>`` (action) pair.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis.errors import AnalysisError, ConfigError
from analysis.export import FORMATS as EXPORT_FORMATS
from analysis.export import PRECISIONS as EXPORT_PRECISIONS
from analysis.latency.runtimes import RUNTIMES
from analysis.latency.schema import SUMMARY_STATISTICS
from analysis.util import slug


def _parser(sub, name: str, help_text: str, description: str) -> argparse.ArgumentParser:
    """A sub-command parser; ``description`` is free text (whitespace folded)."""
    return sub.add_parser(name, help=help_text, description=" ".join(description.split()))


def _add_count(sub) -> None:
    p = _parser(sub, "count", "MACs, parameters and activations of models (fvcore)", """
        Count MACs (the paper's 'FLOPs'), parameters and activations of registered models
        on their deployed (fused) form at their native input size.""")
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
    p = _parser(sub, "reproduce", "regenerate every table, figure and notebook", """
        Run every notebook in notebooks/ in order with papermill (default parameters,
        shipped data) and rewrite the rendered notebooks, their results and figures/.""")
    p.add_argument("--only", help="run only these notebooks: names or parts of names, "
                                  "comma-separated (e.g. 01,ablation)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true",
                      help="small sizes, few runs and resamples (notebooks/quick/<name>.yaml), "
                           "into runs/quick/; never touches the committed study")
    mode.add_argument("--check", action="store_true",
                      help="recompute every study in-process into a temporary folder and "
                           "report each committed result that differs (exit 1); writes nothing")


def _run_reproduce(args) -> int:
    from analysis.reproduce import check, reproduce

    if args.check:
        diffs = check(only=args.only)
        for d in diffs:
            print(f"differs: {d}", file=sys.stderr)
        verdict = ("the committed study is what the current code computes" if not diffs else
                   f"{len(diffs)} committed file(s) differ: run make reproduce")
        print(f"check: {verdict}")
        return 1 if diffs else 0
    reproduce(only=args.only, quick=args.quick)
    return 0


def _add_validate(sub) -> None:
    p = _parser(sub, "validate", "check latency CSV files and summarise them", """
        Read latency files (the project's long format, see data/README.md, or timm
        benchmark results), check every row, and print a summary: devices, runtimes, models
        and statistic. A problem is reported as one line naming the file, line and column
        (exit status 2). Files are only read, never modified.""")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="latency CSV file(s)")
    p.add_argument("--statistic", choices=SUMMARY_STATISTICS,
                   help="use this statistic where files offer several (default: each "
                        "device must report exactly one)")


def _run_validate(args) -> int:
    import warnings

    from analysis.latency import check_units, describe_latency, load_latency

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = load_latency(args.files, statistic=args.statistic)
        check_units(table)  # Table 9's MACs for zoo models, the file's own for the others
    for file, rows in table.groupby("file", sort=False):
        print(f"{file}: {len(rows)} rows")
    print(describe_latency(table))
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    print(f"ok: {len(args.files)} file{'s' if len(args.files) > 1 else ''} valid"
          + (f", {len(caught)} warning{'s' if len(caught) > 1 else ''}" if caught else ""))
    return 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def _input_size(text: str) -> int | None:
    return None if text == "auto" else _positive_int(text)


def _add_measure(sub) -> None:
    p = _parser(sub, "measure", "measure latency on this machine (PyTorch or ONNX Runtime)", """
        Time models on this machine following the paper's protocol (model and input
        prepared before timing, warm-up runs dropped, N timed runs with
        time.perf_counter_ns) and write one row per model to a CSV in the project's format:
        min (the paper's statistic) as latency_ms, plus median, p90, mean, std, cv and the
        context (CPU, threads, versions, date). Rows are written as they are measured;
        --resume continues an interrupted run.""")
    p.add_argument("--models", default="figure2",
                   help="group name(s) or model name(s), comma-separated (default: figure2)")
    p.add_argument("--runtime", choices=RUNTIMES, default="torch")
    p.add_argument("--threads", type=_positive_int,
                   help="intra-op threads (default: torch.get_num_threads())")
    p.add_argument("--runs", type=_positive_int, default=100, help="timed runs (default 100)")
    p.add_argument("--warmup", type=int, default=10,
                   help="warm-up runs, dropped (default 10)")
    p.add_argument("--batch-size", type=_positive_int, default=1)
    p.add_argument("--input-size", type=_input_size, default=None, metavar="N|auto",
                   help="square input side in pixels (default auto = each model's native size)")
    p.add_argument("--unfused", action="store_true",
                   help="measure the train-time form of re-parameterizable models")
    p.add_argument("--device", help="label for the device column (default: the CPU model)")
    p.add_argument("--out", type=Path,
                   help="CSV to write (default: runs/measurements/local-<device>-<runtime>.csv,"
                        " outside the study; pass --out data/latency/local-….csv and list the "
                        "file in the study's latency files to make it part of the study)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--resume", action="store_true",
                       help="append the models not yet in --out (the context must match)")
    group.add_argument("--force", action="store_true", help="overwrite an existing --out")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _run_measure(args) -> int:
    from analysis import paths
    from analysis.latency import describe_context, machine_context, measure_models

    ctx = machine_context()
    device = args.device or ctx["cpu"]
    out = args.out or (paths.runs_dir() / "measurements"
                       / f"local-{slug(device, 'device')}-{args.runtime}.csv")
    if args.warmup < 0:
        raise ConfigError(f"--warmup must be >= 0, got {args.warmup}")
    print(f"context: {describe_context(ctx)}", file=sys.stderr)
    frame = measure_models(args.models, args.runtime, runs=args.runs, warmup=args.warmup,
                           threads=args.threads, input_size=args.input_size,
                           batch_size=args.batch_size, fuse=not args.unfused, device=device,
                           out=out, resume=args.resume, force=args.force,
                           progress=not args.no_progress)
    skipped, failed = frame.attrs["skipped"], frame.attrs["failed"]
    print(f"wrote {len(frame)} rows to {out}"
          + (f" ({len(skipped)} models already there)" if skipped else ""))
    for name, message in failed.items():
        print(f"  FAILED {name}: {message}", file=sys.stderr)
    return 1 if failed else 0


def _add_export(sub) -> None:
    p = _parser(sub, "export", "export models to Core ML or ONNX for on-device timing", """
        Export the fused models at their native input size to Core ML (.mlpackage, ML
        program) or ONNX (.onnx, checked against PyTorch with ONNX Runtime), and write
        DIR/latency_template.csv to fill in with the latencies measured on the device. A
        model that cannot be converted is reported (operator and reason) and the batch goes
        on; the exit status is 1 if any model failed.""")
    p.add_argument("--format", required=True, choices=EXPORT_FORMATS, dest="fmt")
    p.add_argument("--models", default="table9",
                   help="group name(s) or model name(s), comma-separated (default: table9)")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    p.add_argument("--precision", choices=EXPORT_PRECISIONS,
                   help="compute precision (default: fp16 for Core ML, fp32 for ONNX)")
    p.add_argument("--force", action="store_true",
                   help="re-export existing files and overwrite an existing template")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _run_export(args) -> int:
    from analysis.export import TEMPLATE_NAME, export_models, summarize_exports

    template = args.out / TEMPLATE_NAME
    results = export_models(args.models, args.fmt, args.out, precision=args.precision,
                            force=args.force, progress=not args.no_progress)
    print(summarize_exports(results))
    if results.template_kept:
        print(f"kept the existing {template} untouched (it holds measurements or was edited; "
              f"--force rewrites it)")
    elif any(r.ok for r in results):
        print(f"fill in latency_ms (and device, statistic, n_runs …) in {template}, then: "
              f"python -m analysis validate {template}")
    return 1 if any(r.status == "failed" for r in results) else 0


def _predict():
    import analysis.predict  # parser and action live in the predictor's module

    return analysis.predict


COMMANDS = {
    "count": (_add_count, _run_count),
    "reproduce": (_add_reproduce, _run_reproduce),
    "validate": (_add_validate, _run_validate),
    "measure": (_add_measure, _run_measure),
    "export": (_add_export, _run_export),
    "predict": (lambda sub: _predict().add_predict_parser(sub),
                lambda args: _predict().run_predict(args)),
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
