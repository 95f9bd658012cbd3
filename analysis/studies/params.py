"""A study's parameters: declared once, in the notebook's ``parameters`` cell, and checked once.

The names, types, defaults and help of a notebook's parameters come from its ``parameters``
cell (``papermill.inspect_notebook``): ``N_BOOTSTRAP: int = 10000  # resamples …``. There is no
second copy. A study adds only what a type cannot say — ranges and allowed values — as
:data:`Rule` functions (``RULES`` in the study module).

* In a notebook, the cell after the parameters calls :func:`collect` with ``globals()``: the
  values come from the running kernel (the defaults, or what papermill injected).
* In-process (``run(params)``, ``reproduce --check``, tests), :func:`make` builds the same
  :class:`Parameters` from the defaults and keyword overrides.

Both check every value before anything is read or written: its type, with ``"false"``,
``"true"`` and ``"none"`` read as a person means them (papermill's ``-p X false`` arrives as a
string) and whole numbers refusing ``5.5``; its rule; and, in a notebook, that no unknown
upper-case name was passed (papermill only warns about ``-p LATENCY_FILE …``): one
:class:`~analysis.errors.ConfigError` naming the parameter, with a did-you-mean.
"""

from __future__ import annotations

import ast
import difflib
import functools
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Iterator, Mapping, Sequence

from analysis import paths
from analysis.errors import AnalysisError, ConfigError

#: Parameters every notebook has; they choose folders and never change a result.
FOLDER_PARAMETERS = ("OUTPUT_DIR", "FIGURE_DIR")
#: A rule checks (and may normalise) one parameter value: ``rule(name, value) → value``.
Rule = Callable[[str, Any], Any]
_UPPER = re.compile(r"^[A-Z][A-Z0-9_]*$")
_NONE_WORDS = ("none", "null", "")
_TRUE_WORDS = ("true", "yes", "on", "1")
_FALSE_WORDS = ("false", "no", "off", "0")


# -- the declaration: the notebook's parameters cell ----------------------------------------------

@dataclass(frozen=True)
class Parameter:
    """One entry of a notebook's parameters cell."""

    name: str
    annotation: str
    default: Any
    help: str


def notebook_path(notebook: str | os.PathLike) -> Path:
    """The notebook file of a stem (``"01_metric_correlation"``) or a path."""
    p = Path(notebook)
    if p.suffix != ".ipynb":
        p = paths.NOTEBOOKS / f"{p.name}.ipynb"
    if not p.is_file():
        known = sorted(q.stem for q in paths.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
        raise ConfigError(f"no notebook {p.name}; known: {', '.join(known)}")
    return p


@functools.lru_cache(maxsize=None)
def _spec(path: str, mtime: float) -> tuple[Parameter, ...]:
    import papermill as pm  # lazy: heavy (~1 s), only to read a notebook's parameters cell

    found = pm.inspect_notebook(path)
    out = []
    for name, info in found.items():
        try:
            default = ast.literal_eval(info["default"])
        except (ValueError, SyntaxError):
            raise ConfigError(f"{Path(path).name}: the default of {name} must be a literal, "
                              f"got {info['default']!r}") from None
        out.append(Parameter(name, info.get("inferred_type_name") or "Any", default,
                             info.get("help") or ""))
    return tuple(out)


def spec(notebook: str | os.PathLike) -> dict[str, Parameter]:
    """``{name: Parameter}`` of the notebook's parameters cell, in order."""
    p = notebook_path(notebook)
    return {q.name: q for q in _spec(str(p), p.stat().st_mtime)}


# -- types ----------------------------------------------------------------------------------------

def _type_tree(annotation: str):
    """``("int",)``, ``("Optional", tree)``, ``("List", tree)``, ``("Union", t1, t2 …)``."""
    try:
        node = ast.parse(annotation, mode="eval").body
    except SyntaxError:
        return ("Any",)

    def walk(n):
        if isinstance(n, ast.Name):
            return (n.id,)
        if isinstance(n, ast.Constant) and n.value is None:
            return ("None",)
        if isinstance(n, ast.Attribute):
            return (n.attr,)
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.BitOr):
            return ("Union", walk(n.left), walk(n.right))
        if isinstance(n, ast.Subscript):
            head = walk(n.value)[0]
            args = n.slice.elts if isinstance(n.slice, ast.Tuple) else [n.slice]
            head = {"list": "List", "tuple": "List", "Tuple": "List", "Sequence": "List",
                    "dict": "Dict"}.get(head, head)
            return (head, *[walk(a) for a in args])
        return ("Any",)

    return walk(node)


def _describe(tree) -> str:
    head = tree[0]
    if head == "Optional":
        return f"{_describe(tree[1])} or None"
    if head == "Union":
        return " or ".join(_describe(t) for t in tree[1:])
    if head == "List":
        return f"a list of {_describe(tree[1]) if len(tree) > 1 else 'values'}"
    return {"int": "a whole number", "float": "a number", "bool": "true or false",
            "str": "text", "None": "None"}.get(head, head)


class _Mismatch(Exception):
    pass


def _coerce(tree, value):
    """``value`` as the type ``tree``, or :class:`_Mismatch`."""
    head = tree[0]
    if head == "Any":
        return value
    if head == "None":
        if value is None or (isinstance(value, str) and value.strip().lower() in _NONE_WORDS):
            return None
        raise _Mismatch
    if head == "Optional":
        return _coerce(("Union", tree[1], ("None",)), value)
    if head == "Union":
        # None first (so "none" is None, not the text "none"), then the others in order;
        # a list type before str for a list value
        options = sorted(tree[1:], key=lambda t: {"None": 0}.get(t[0], 1))
        for option in options:
            try:
                return _coerce(option, value)
            except _Mismatch:
                continue
        raise _Mismatch
    if head == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE_WORDS + _FALSE_WORDS:
            return value.strip().lower() in _TRUE_WORDS
        raise _Mismatch
    if head == "int":
        if isinstance(value, bool):
            raise _Mismatch
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
            return int(value)
        raise _Mismatch
    if head == "float":
        if isinstance(value, bool):
            raise _Mismatch
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise _Mismatch from None
        raise _Mismatch
    if head == "str":
        if isinstance(value, (str, os.PathLike)):
            return str(value)
        raise _Mismatch
    if head == "List":
        item = tree[1] if len(tree) > 1 else ("Any",)
        if isinstance(value, str):
            text = value.strip()
            items = [] if text.lower() in _NONE_WORDS else [
                part.strip() for part in text.split(",") if part.strip()]
        elif isinstance(value, (list, tuple)):
            items = list(value)
        else:
            raise _Mismatch
        return [_coerce(item, v) for v in items]
    if head == "Dict":
        if isinstance(value, Mapping):
            return dict(value)
        raise _Mismatch
    return value


def coerce(name: str, annotation: str, value):
    """``value`` as the parameter's declared type; :class:`ConfigError` naming the parameter."""
    tree = _type_tree(annotation)
    try:
        return _coerce(tree, value)
    except _Mismatch:
        raise ConfigError(f"parameter {name} must be {_describe(tree)}, got "
                          f"{value!r}") from None


# -- rules ----------------------------------------------------------------------------------------

def at_least(minimum: float) -> Rule:
    """A number (or each number of a list) ≥ ``minimum``."""
    def rule(name, value):
        for v in value if isinstance(value, list) else [value]:
            if v is not None and v < minimum:
                raise ConfigError(f"parameter {name} must be >= {minimum}, got {v!r}")
        return value
    return rule


def between(low: float, high: float) -> Rule:
    """A number (or each number of a list) in ``[low, high]``."""
    def rule(name, value):
        for v in value if isinstance(value, list) else [value]:
            if v is not None and not low <= v <= high:
                raise ConfigError(f"parameter {name} must be between {low} and {high}, got "
                                  f"{v!r}")
        return value
    return rule


def one_of(choices: Sequence[str] | Callable[[], Sequence[str]]) -> Rule:
    """A value (or each value of a list) among ``choices`` (case-insensitive; normalised to the
    choice's spelling); ``choices`` may be a function, called when the rule runs."""
    def rule(name, value):
        allowed = list(choices() if callable(choices) else choices)
        lookup = {str(c).lower(): c for c in allowed}
        out = []
        for v in value if isinstance(value, list) else [value]:
            if v is None:
                out.append(v)
                continue
            key = str(v).strip().lower()
            if key not in lookup:
                close = difflib.get_close_matches(key, list(lookup), n=1, cutoff=0.6)
                hint = f"; did you mean {lookup[close[0]]!r}?" if close else ""
                raise ConfigError(f"parameter {name}: {v!r} is not one of "
                                  f"{', '.join(map(str, allowed))}{hint}")
            out.append(lookup[key])
        return out if isinstance(value, list) else out[0]
    return rule


def files_exist(name: str, value):
    """Every path of a path parameter (a path, a comma-separated string or a list) exists and is
    a file; relative paths are resolved as :func:`analysis.paths.user_path` does."""
    for v in _as_items(value):
        p = paths.user_path(v)
        if not p.exists():
            raise ConfigError(f"parameter {name}: no such file {v!r}")
        if p.is_dir():
            raise ConfigError(f"parameter {name}: {v!r} is a folder; expected a file")
    return value


def _as_items(value) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [v for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(",") if part.strip()]


# -- the values -----------------------------------------------------------------------------------

class Parameters(Mapping[str, Any]):
    """A notebook's checked parameters: a read-only mapping with attribute access
    (``params.N_BOOTSTRAP``)."""

    def __init__(self, notebook: str, values: Mapping[str, Any]):
        self._notebook = notebook
        self._values = MappingProxyType(dict(values))

    @property
    def notebook(self) -> str:
        return self._notebook

    def __getitem__(self, key: str):
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __getattr__(self, key: str):
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(f"{self._notebook} has no parameter {key}") from None

    def __repr__(self) -> str:
        return f"Parameters({self._notebook!r}, {dict(self._values)!r})"

    def replace(self, **changes) -> "Parameters":
        """A copy with ``changes`` (not re-checked: for tests and internal use)."""
        return Parameters(self._notebook, {**self._values, **changes})

    def study_values(self) -> dict:
        """The values that can change a result (the folder parameters left out)."""
        return {k: v for k, v in self._values.items() if k not in FOLDER_PARAMETERS}

    @property
    def folders(self) -> tuple[Path, Path]:
        """``(results folder, figure folder)`` (:func:`output_dirs`, created)."""
        return output_dirs(self, announce=False)


def _check(notebook: str, given: Mapping[str, Any], rules: Mapping[str, Rule] | None,
           unknown: Sequence[str] = ()) -> Parameters:
    declared = spec(notebook)
    if unknown:
        name = unknown[0]
        close = difflib.get_close_matches(name, list(declared), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise ConfigError(f"unknown parameter {name} for {notebook}{hint} (parameters: "
                          f"{', '.join(declared)})")
    rules = dict(rules or {})
    stray = sorted(set(rules) - set(declared))
    if stray:
        raise ConfigError(f"{notebook}: rules for parameters its cell does not declare: "
                          f"{', '.join(stray)}")
    values = {}
    for name, p in declared.items():
        value = coerce(name, p.annotation, given.get(name, p.default))
        if name in rules:
            value = rules[name](name, value)
        values[name] = value
    return Parameters(notebook, values)


def make(notebook: str, rules: Mapping[str, Rule] | None = None, **overrides) -> Parameters:
    """Checked parameters from the notebook's defaults and ``overrides`` (unknown names are an
    error), for an in-process ``run``."""
    declared = spec(notebook)
    return _check(notebook, overrides, rules, [k for k in overrides if k not in declared])


def collect(notebook: str, namespace: Mapping[str, Any],
            rules: Mapping[str, Rule] | None = None, *, announce: bool = True) -> Parameters:
    """Checked parameters from a running notebook's ``globals()``.

    Every declared name is read from ``namespace``; an upper-case name holding plain data
    (text, a number, a list …) that is not declared is an unknown parameter (papermill injects
    whatever ``-p`` names). Installs the one-line error display for the notebook
    (:func:`install_error_display`) first, and, once the values are checked, creates and prints
    the run's folders (:func:`output_dirs`)."""
    install_error_display()
    declared = spec(notebook)
    plain = (str, int, float, bool, list, tuple, dict, type(None))
    unknown = [k for k, v in namespace.items()
               if _UPPER.match(k) and k not in declared and isinstance(v, plain)]
    params = _check(notebook, {k: namespace[k] for k in declared if k in namespace}, rules,
                    sorted(unknown))
    if announce:
        output_dirs(params, announce=True)
    return params


# -- where a run writes -----------------------------------------------------------------------------

def _input_files(params: Mapping[str, Any]) -> list[Path]:
    """The user's input files among the parameters: every value of a ``*_CSV`` parameter."""
    files = []
    for name, value in params.items():
        if name.endswith("_CSV"):
            files += [paths.user_path(v) for v in _as_items(value)]
    return files


def run_key(params: Parameters) -> str:
    """The name of a re-run's folder: the first input file's stem (``default`` without one) and
    a digest of the inputs (paths and contents) and of every parameter that can change a
    result. Two runs share a folder only when they would write the same results."""
    files = _input_files(params)
    h = hashlib.sha256()
    for f in files:
        h.update(str(f.resolve()).encode() + b"\0")
        h.update(f.read_bytes() if f.is_file() else b"(missing)")
    h.update(json.dumps(params.study_values(), sort_keys=True, default=str).encode())
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", files[0].stem) if files else "default"
    return f"{stem}-{h.hexdigest()[:8]}"


def output_dirs(params: Parameters, *, announce: bool = True) -> tuple[Path, Path]:
    """``(results folder, figure folder)`` of a run, both created.

    ``OUTPUT_DIR``/``FIGURE_DIR`` are used as given (``reproduce`` passes
    ``notebooks/outputs/<notebook>`` and ``figures/``). Otherwise the run writes to
    ``runs/<run key>/<notebook>/`` and its ``figures/`` (:func:`run_key`), and records its inputs
    in ``runs/<run key>/run.json``: a re-run on another file, or with other parameters, never
    writes into the folder of an earlier one."""
    out_dir, fig_dir = params.get("OUTPUT_DIR"), params.get("FIGURE_DIR")
    base = None
    if not out_dir or not fig_dir:
        key = run_key(params)
        base = paths.runs_dir() / key
    out = paths.user_path(out_dir) if out_dir else base / params.notebook
    fig = paths.user_path(fig_dir) if fig_dir else base / params.notebook / "figures"
    for folder in (out, fig):
        if folder.exists() and not folder.is_dir():
            raise ConfigError(f"{folder} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    fig.mkdir(parents=True, exist_ok=True)
    if base is not None:
        record = {"notebook": params.notebook,
                  "inputs": {str(f): _sha256(f) for f in _input_files(params)},
                  "parameters": params.study_values()}
        (base / f"run-{params.notebook}.json").write_text(
            json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
    if announce:
        print(f"results -> {paths.relative(out)}/\nfigures -> {paths.relative(fig)}/")
    return out, fig


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""


# -- quick profiles -------------------------------------------------------------------------------

QUICK_DIR = paths.NOTEBOOKS / "quick"


def quick_parameters(notebook: str) -> dict:
    """The quick profile of a notebook: ``notebooks/quick/<stem>.yaml`` (small sizes, few
    resamples; ``papermill … -f notebooks/quick/<stem>.yaml`` uses the same file)."""
    import yaml  # lazy: only the quick profiles are YAML

    stem = notebook_path(notebook).stem
    path = QUICK_DIR / f"{stem}.yaml"
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{paths.relative(path)}: expected a mapping of parameters")
    return data


# -- notebooks: one line per user error -------------------------------------------------------------

def install_error_display() -> None:
    """In an IPython kernel, show an :class:`~analysis.errors.AnalysisError` as one line
    (``ConfigError: parameter N_BOOTSTRAP must be …``) instead of a traceback; papermill still
    stops at the cell and prints that line last. Outside IPython: nothing."""
    try:
        from IPython import get_ipython  # lazy: only inside a notebook kernel
    except ImportError:  # pragma: no cover
        return
    shell = get_ipython()
    if shell is None:
        return

    def one_line(shell, etype, evalue, tb, tb_offset=None):
        line = f"{etype.__name__}: {evalue}"
        shell._showtraceback(etype, evalue, [line])
        return [line]

    shell.set_custom_exc((AnalysisError,), one_line)
