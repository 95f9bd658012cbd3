"""Compare the committed result CSVs of notebooks at two commits (issue 18's "unchanged in
substance" check): same files, same columns and rows, strings equal, numbers equal within a
relative tolerance (default 1e-9). Reads both versions with ``git show``; writes nothing.

    .venv/bin/python benchmarks/compare_results.py 92ae6a6 1d18647 --notebooks 01,05,06

Prints one line per file (identical / differs: what) and exits 1 when any file differs.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
OUTPUTS = "notebooks/outputs"


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True,
                          text=True).stdout


def csv_files(commit: str, notebook: str) -> dict[str, str]:
    """``{path: text}`` of the result CSVs of the notebook folder starting with ``notebook``."""
    names = _git("ls-tree", "-r", "--name-only", commit, OUTPUTS).splitlines()
    return {n: _git("show", f"{commit}:{n}") for n in names
            if n.endswith(".csv") and n.split("/")[2].startswith(notebook)}


def compare(a: str, b: str, rtol: float) -> str:
    """'' when equal within ``rtol``, else a short description of the first differences."""
    x, y = pd.read_csv(io.StringIO(a)), pd.read_csv(io.StringIO(b))
    if list(x.columns) != list(y.columns):
        return (f"columns differ: only before {sorted(set(x.columns) - set(y.columns))}, "
                f"only after {sorted(set(y.columns) - set(x.columns))}")
    if len(x) != len(y):
        return f"{len(x)} rows before, {len(y)} after"
    bad = []
    for col in x.columns:
        u, v = x[col], y[col]
        if pd.api.types.is_numeric_dtype(u) and pd.api.types.is_numeric_dtype(v):
            ok = np.isclose(u.to_numpy(float), v.to_numpy(float), rtol=rtol, atol=0,
                            equal_nan=True)
        else:
            ok = ((u.astype(str) == v.astype(str)) | (u.isna() & v.isna())).to_numpy()
        if not ok.all():
            i = int(np.argmin(ok))
            bad.append(f"{col} (row {i + 2}: {u.iloc[i]!r} → {v.iloc[i]!r}; "
                       f"{int((~ok).sum())} rows)")
    return "; ".join(bad[:4]) + (f"; … {len(bad) - 4} more columns" if len(bad) > 4 else "")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before"), ap.add_argument("after")
    ap.add_argument("--notebooks", default="01,05,06", help="notebook prefixes, comma-separated")
    ap.add_argument("--rtol", type=float, default=1e-9)
    args = ap.parse_args(argv)
    differs = 0
    for nb in args.notebooks.split(","):
        before, after = csv_files(args.before, nb), csv_files(args.after, nb)
        for name in sorted(set(before) | set(after)):
            if name not in after or name not in before:
                msg = "only " + ("before" if name in before else "after")
            else:
                msg = compare(before[name], after[name], args.rtol)
            differs += bool(msg)
            print(f"{name}: {msg or 'identical (rtol ' + format(args.rtol, 'g') + ')'}")
    print(f"{differs} of the compared files differ")
    return 1 if differs else 0


if __name__ == "__main__":
    sys.exit(main())
