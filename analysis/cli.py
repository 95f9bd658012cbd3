"""Command line: ``python -m analysis {count,reproduce,…} …``.

Every command reports a user error (unknown model, malformed file, wrong parameter) as one
line ``error: …`` on stderr and exits with status 2; it never prints a traceback for them.
Ctrl-C stops a command with one line ``interrupted…``, exit status 130, and leaves no temporary
file behind. A command that writes a file checks it first, before any work
(:func:`analysis.paths.check_output`): an existing file is replaced only with ``--force`` (or
when the command recognises it as its own output), an input is never an output, and a folder
made for a command that then writes nothing is removed. Each sub-command lives in a
``_add_<name>`` (arguments) / ``_run_<name>`` (action) pair.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import warnings
from pathlib import Path

from analysis import paths, predict
from analysis.complexity import count_table
from analysis.errors import AnalysisError, ConfigError, DataFormatError
from analysis.export import FORMATS as EXPORT_FORMATS
from analysis.export import PRECISIONS as EXPORT_PRECISIONS
from analysis.export import TEMPLATE_NAME, ExportResult, export_models
from analysis.latency import MAX_LISTED, describe_latency, read_checked
from analysis.latency.campaign import run_campaign, setups_for, split_choices
from analysis.latency.context import (command_line, default_device, describe_context,
                                      machine_context)
from analysis.latency.runtimes import ACCELERATORS, RUNTIMES
from analysis.latency.schema import SUMMARY_STATISTICS, LatencyDataWarning
from analysis.latency.sets import SETS, model_items, set_items
from analysis.models import get_entry, list_groups, list_models, resolve_models
from analysis.reproduce import check, reproduce
from analysis.text import percent, plural
from analysis.util import slug

#: Columns only ``count --csv`` writes: a file holding them is its own earlier output.
COUNT_SIGNATURE = ("model", "model_id", "macs", "params", "cache_version", "model_digest")


def _parser(sub, name: str, help_text: str, description: str) -> argparse.ArgumentParser:
    """A sub-command parser; ``description`` is free text (whitespace folded)."""
    return sub.add_parser(name, help=help_text, description=" ".join(description.split()))


def _add_count(sub) -> None:
    p = _parser(sub, "count", "MACs, parameters and activations of models (fvcore)", """
        Count MACs (the paper's 'FLOPs'), parameters and activations of registered models
        on their deployed (fused) form at their native input size.""")
    p.add_argument("--models", default="table9",
                   help="group name(s) or model name(s), comma-separated (default: table9)")
    p.add_argument("--csv", type=Path, metavar="FILE",
                   help="write the table to this CSV file (an existing file is replaced only "
                        "if count wrote it, or with --force)")
    p.add_argument("--force", action="store_true", help="replace an existing --csv file")
    p.add_argument("--unfused", action="store_true",
                   help="count the train-time form of re-parameterizable models")
    p.add_argument("--no-cache", action="store_true", help="recount instead of using the cache")
    p.add_argument("--list", action="store_true", help="list models and groups, then exit")


def _is_count_file(path: Path) -> bool:
    return set(COUNT_SIGNATURE) <= set(paths.csv_header(path))


def model_list() -> str:
    """``count --list``: the groups, then one aligned line per model (id, name, family,
    groups)."""
    rows = [("id", "name", "family", "groups")]
    for mid in list_models():
        e = get_entry(mid)
        rows.append((e.id, e.display_name, e.family, ",".join(e.groups)))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"groups: {', '.join(list_groups())}", ""]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r[:3], widths)) + "  " + r[3] for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def _run_count(args) -> int:
    if args.list:
        print(model_list())
        return 0
    ids = resolve_models(args.models)
    csv = paths.check_output(args.csv, option="--csv", force=args.force,
                             owned=_is_count_file) if args.csv else None
    table = count_table(ids, fuse=not args.unfused, cache=not args.no_cache, progress=True)
    if csv is not None:
        paths.write_atomic(csv, lambda tmp: table.to_csv(tmp, index=False))
        print(f"wrote {plural(len(table), 'row')} to {csv}")
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
    if args.check:
        diffs = check(only=args.only)
        for d in diffs:
            print(f"differs: {d}", file=sys.stderr)
        verdict = ("the committed study is what the current code computes" if not diffs else
                   f"{plural(len(diffs), 'committed file')} "
                   f"{'differs' if len(diffs) == 1 else 'differ'}: run make reproduce")
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


def _print_warnings(notes) -> None:
    """Each warning as ``warning: …`` on stderr, at most :data:`MAX_LISTED`, then a count."""
    for message in notes[:MAX_LISTED]:
        print(f"warning: {message}", file=sys.stderr)
    if len(notes) > MAX_LISTED:
        print(f"warning: … and {plural(len(notes) - MAX_LISTED, 'more warning')}",
              file=sys.stderr)


def _run_validate(args) -> int:
    # units checked with Table 9's MACs for zoo models, the file's own for the others
    table, notes, _ = read_checked(args.files, statistic=args.statistic, warn=False)
    for file, rows in table.groupby("file", sort=False):
        print(f"{file}: {plural(len(rows), 'row')}")
    print(describe_latency(table, limit=MAX_LISTED))
    _print_warnings(notes)
    print(f"ok: {plural(len(args.files), 'file')} valid"
          + (f", {plural(len(notes), 'warning')}" if notes else ""))
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
    p = _parser(sub, "measure", "measure latency on this machine (CPU or CUDA GPU)", """
        Time models on this machine following the paper's protocol (model and input
        prepared before timing, warm-up runs dropped, N timed runs with
        time.perf_counter_ns, with torch.cuda.synchronize around each on a GPU) as a campaign:
        --sessions N times every item, each session in its own seeded order with a fresh model
        and input, on every --runtime x --mode x --precision. One row per session, item and
        setup goes to a CSV in the project's format: min (the paper's statistic) as
        latency_ms, plus median, p90, mean, std, cv, the session and campaign, and the context
        (CPU or GPU, threads, versions, command). Rows are written as they are measured;
        --resume continues an interrupted campaign.""")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--models", default="figure2",
                      help="group name(s) or model name(s), comma-separated (default: figure2)")
    what.add_argument("--set", choices=sorted(SETS), dest="set_name",
                      help="a measurement set of the notebooks instead of --models: ablation "
                           "(Tables 2-3), reparam (train-time vs fused, k sweep), sequential "
                           "(fused vs plain nn.Sequential), matmul (reference throughput)")
    p.add_argument("--runtime", default="torch",
                   help=f"runtime(s) that run the models, comma-separated: "
                        f"{', '.join(RUNTIMES)} (default torch; onnxruntime times the ONNX "
                        f"export of each model)")
    p.add_argument("--accelerator", choices=ACCELERATORS, default="cpu",
                   help="where the model runs (default cpu); cuda needs an NVIDIA GPU")
    p.add_argument("--mode", default="eager",
                   help="eager and/or graph (a CUDA graph captured once after warm-up and "
                        "replayed; cuda only), comma-separated (default eager)")
    p.add_argument("--precision", default="fp32",
                   help="fp32, fp16 and/or bf16, comma-separated (default fp32)")
    p.add_argument("--tf32", action="store_true",
                   help="allow TF32 in matmuls and convolutions on a GPU (default off)")
    p.add_argument("--no-cudnn-benchmark", action="store_true",
                   help="turn cudnn.benchmark off on a GPU (default on)")
    p.add_argument("--sessions", type=_positive_int, default=1,
                   help="sessions: every item timed once per session (default 1)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the session orders, weights and inputs (default 0)")
    p.add_argument("--threads", type=_positive_int,
                   help="intra-op threads (default: torch.get_num_threads()); more than the "
                        "machine's cores is allowed, with a warning")
    p.add_argument("--runs", type=_positive_int, default=100, help="timed runs (default 100)")
    p.add_argument("--warmup", type=int, default=10,
                   help="warm-up runs, dropped (default 10)")
    p.add_argument("--batch-size", type=_positive_int, default=1,
                   help="images per forward pass (default 1, as in the paper)")
    p.add_argument("--input-size", type=_input_size, default=None, metavar="N|auto",
                   help="square input side in pixels (default auto = each model's native size)")
    p.add_argument("--unfused", action="store_true",
                   help="measure the train-time form of re-parameterizable models")
    p.add_argument("--device",
                   help="label for the device column (default: the GPU's name with "
                        "--accelerator cuda, else the CPU model and its core count)")
    p.add_argument("--out", type=Path, metavar="FILE",
                   help="CSV to write (default: runs/measurements/local-<device>-<runtime>.csv,"
                        " outside the study; pass --out data/latency/local-….csv and list the "
                        "file in the study's latency files to make it part of the study)")
    p.add_argument("--keep-samples", action="store_true",
                   help="also write every timed run to <out stem>.samples.csv")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--resume", action="store_true",
                       help="continue the campaign in --out (same seed; the context must match)")
    group.add_argument("--force", action="store_true",
                       help="replace an existing --out (kept until the first new row)")
    p.add_argument("--no-progress", action="store_true", help="no progress lines")


def _measure_command(args) -> str:
    """The measurement's command line, rebuilt from the parsed options (every option stated)."""
    parts = ["measure"]
    for key, value in vars(args).items():
        if key == "command" or value is None or value is False or (
                key == "models" and args.set_name):
            continue
        flag = "--" + ("set" if key == "set_name" else key.replace("_", "-"))
        parts += [flag] if value is True else [flag, str(value)]
    return command_line(parts)


def _warn_threads(threads: int | None) -> None:
    cores = os.cpu_count() or 1
    if threads is not None and threads > cores:
        print(f"warning: --threads {threads} exceeds this machine's "
              f"{plural(cores, 'logical core')}: the threads compete for cores, so timings "
              f"are slower and noisier than on a machine with {threads} cores", file=sys.stderr)


def _run_measure(args) -> int:
    if args.warmup < 0:
        raise ConfigError(f"--warmup must be >= 0, got {args.warmup}")
    if args.seed < 0:
        raise ConfigError(f"--seed must be >= 0, got {args.seed}")
    runtimes = split_choices(args.runtime, "runtime")
    modes, precisions = split_choices(args.mode, "mode"), split_choices(args.precision,
                                                                        "precision")
    # every setup checked before anything is built (e.g. --accelerator cuda without a GPU)
    setups_for(runtimes, threads=1, accelerator=args.accelerator, modes=modes,
               precisions=precisions)
    if args.accelerator == "cpu" and str(args.device or "").lower().split(":")[0] in ("cuda",
                                                                                    "gpu"):
        raise ConfigError(f"--device {args.device} only labels the device column; to time on "
                          f"the GPU pass --accelerator cuda")
    if args.set_name and (args.unfused or args.input_size):
        raise ConfigError("--set measures its own forms at their own sizes; drop --unfused "
                          "and --input-size")
    device = args.device or default_device(args.accelerator)
    stem = "-".join(filter(None, [slug(device, "device"), args.set_name, *runtimes]))
    out = paths.check_output(
        args.out or paths.runs_dir() / "measurements" / f"local-{stem}.csv",
        force=args.force or args.resume,
        exists_hint="pass --resume to continue the campaign in it, or --force to overwrite it")
    _warn_threads(args.threads)
    items = set_items(args.set_name) if args.set_name else model_items(
        args.models, fuse=not args.unfused, input_size=args.input_size)
    print(f"context: {describe_context(machine_context(args.accelerator))}", file=sys.stderr)
    with paths.new_folders(out.parent):  # removed again if nothing is written
        result = run_campaign(
            items, runtimes, sessions=args.sessions, runs=args.runs, warmup=args.warmup,
            threads=args.threads, seed=args.seed, out=out, accelerator=args.accelerator,
            modes=modes, precisions=precisions, tf32=args.tf32,
            cudnn_benchmark=not args.no_cudnn_benchmark, batch_size=args.batch_size,
            device=device, resume=args.resume, force=args.force,
            keep_samples=args.keep_samples, progress=not args.no_progress,
            command=_measure_command(args))
    n = len(result.rows)
    already = f" ({len(result.skipped)} already there)" if result.skipped else ""
    if n:
        print(f"wrote {plural(n, 'row')} to {out} (campaign {result.campaign}){already}")
    elif result.skipped:
        print(f"nothing new written to {out}: the campaign is complete{already}")
    else:
        print("no row written: every item failed" + ("" if out.exists() else
                                                       " (no file made)"))
    for label, message in result.failed.items():
        print(f"  FAILED {label}: {message}", file=sys.stderr)
    return 1 if result.failed else 0


def _add_export(sub) -> None:
    p = _parser(sub, "export", "export models to Core ML or ONNX for on-device timing", """
        Export the fused models at their native input size to Core ML (.mlpackage, ML
        program) or ONNX (.onnx, checked against PyTorch with ONNX Runtime), and write
        DIR/latency_template.csv to fill in with the latencies measured on the device. A
        model that cannot be converted is reported (operator and reason) and the batch goes
        on; the exit status is 1 if any model failed.""")
    p.add_argument("--format", required=True, choices=EXPORT_FORMATS, dest="fmt",
                   help="coreml: .mlpackage for iPhone / iPad / Mac (Xcode); onnx: .onnx for "
                        "ONNX Runtime (Android, desktop)")
    p.add_argument("--models", default="table9",
                   help="group name(s) or model name(s), comma-separated (default: table9)")
    p.add_argument("--out", required=True, type=Path, metavar="DIR",
                   help="output folder (made if missing; existing exports are kept)")
    p.add_argument("--precision", choices=EXPORT_PRECISIONS,
                   help="compute precision (default: fp16 for Core ML, fp32 for ONNX)")
    p.add_argument("--force", action="store_true",
                   help="re-export existing files and overwrite an existing template")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def export_summary(results: list[ExportResult]) -> str:
    """The export command's summary: counts, then one line per failure."""
    failed = [r for r in results if r.status == "failed"]
    skipped = sum(r.status == "skipped" for r in results)
    ok = len(results) - len(failed) - skipped
    lines = [f"exported {ok}, kept {skipped} existing, failed {len(failed)} "
             f"(of {plural(len(results), 'model')})"]
    lines += [f"  FAILED {r.model}: {r.message}" for r in failed]
    return "\n".join(lines)


def _run_export(args) -> int:
    out = paths.check_output_folder(args.out)
    template = out / TEMPLATE_NAME
    results = export_models(args.models, args.fmt, out, precision=args.precision,
                            force=args.force, progress=not args.no_progress)
    print(export_summary(results))
    if results.template_kept:
        print(f"kept the existing {template} untouched (it holds measurements or was edited; "
              f"--force rewrites it)")
    elif results.template is not None:
        print(f"fill in latency_ms (and device, statistic, n_runs …) in {template}, then: "
              f"python -m analysis validate {template}")
    return 1 if any(r.status == "failed" for r in results) else 0


def _add_predict(sub) -> None:
    p = _parser(sub, "predict", "predict every zoo model's latency on a new device from a few "
                                "measured models", f"""
        Given a latency CSV (the project's format) with at least {predict.MIN_CALIBRATION}
        zoo models measured on one device, predict the latency of every selected zoo model
        there with a {percent(predict.COVERAGE)} interval, using the models' graph-level
        costs and the shipped reference devices (method: analysis/predict.py). Measured rows
        are marked and keep their measured latency.""")
    p.add_argument("--calibration", required=True, type=Path, metavar="CSV",
                   help="latencies measured on the new device")
    p.add_argument("--models", default="table9",
                   help="group name(s) or model name(s), comma-separated (default: table9)")
    p.add_argument("--out", type=Path, metavar="FILE",
                   help="write the predictions to this CSV file (never the --calibration file;"
                        " an existing file is replaced only if predict wrote it, or with "
                        "--force)")
    p.add_argument("--force", action="store_true", help="replace an existing --out file")
    p.add_argument("--seed", type=int, default=0, help="seed of the interval simulation")


def _is_prediction_file(path: Path) -> bool:
    return paths.csv_header(path) == list(predict.PREDICTION_COLUMNS)


def _calibration_units(calibration: Path) -> None:
    """The calibration file read as ``validate`` reads it: its warnings shown, and latencies
    in the wrong unit (seconds, microseconds) refused — they would predict nonsense."""
    _, notes, units = read_checked(calibration, warn=False)
    problems = [p for p in units["problem"] if p]
    if problems:
        raise DataFormatError(f"{calibration}: {problems[0]}; predict needs latency_ms in "
                              f"milliseconds (check with python -m analysis validate)")
    _print_warnings(notes)


def _run_predict(args) -> int:
    start = time.perf_counter()
    calibration = paths.user_path(args.calibration)
    inputs = {"--calibration": calibration,
              "a shipped reference device's file": predict.reference_files()}
    out = paths.check_output(args.out, inputs=inputs, force=args.force,
                             owned=_is_prediction_file) if args.out else None
    resolve_models(args.models)  # an unknown name is an error before any work
    _calibration_units(calibration)
    try:
        with warnings.catch_warnings():  # shown once above, not again by the second read
            warnings.simplefilter("ignore", LatencyDataWarning)
            frame = predict.predict_device(calibration, args.models, seed=args.seed)
    except AnalysisError:  # UnknownModelError is a KeyError too: its own message
        raise
    except KeyError as exc:  # a model the cost table lacks
        raise ConfigError(f"no cost features for {exc}; run python -m analysis count") from None
    if out is not None:
        paths.write_atomic(out, lambda tmp: frame.to_csv(tmp, index=False))
    shown = frame[["model", "measured", "latency_ms", "predicted_ms", "low_ms", "high_ms"]]
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    fitted = frame.attrs["predictor"]
    print(f"{frame.attrs['device']} / {frame.attrs['runtime']}: {int(frame['measured'].sum())} "
          f"measured, {int((~frame['measured']).sum())} predicted ({fitted.describe()}; "
          f"{percent(predict.COVERAGE)} interval ×/÷ {math.exp(fitted.halfwidth_):.2f}) in "
          f"{time.perf_counter() - start:.1f} s" + (f"; wrote {out}" if out else ""))
    return 0


COMMANDS = {
    "count": (_add_count, _run_count),
    "reproduce": (_add_reproduce, _run_reproduce),
    "validate": (_add_validate, _run_validate),
    "measure": (_add_measure, _run_measure),
    "export": (_add_export, _run_export),
    "predict": (_add_predict, _run_predict),
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
    except KeyboardInterrupt as exc:  # what was kept, if the command says (a campaign does)
        print("interrupted" + (f": {exc}" if str(exc) else ""), file=sys.stderr)
        return 130
    except BrokenPipeError:  # `… | head` closed the pipe: stop quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
