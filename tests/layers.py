"""The package's layers, read from its imports with ``ast`` (module-level and inside functions).

Run ``python tests/layers.py`` to print the modules of each layer, every import that runs
upward, the import cycles, and the in-function imports; ``tests/test_architecture.py`` asserts
that the last three are empty or justified.

The layer order, from the ground up (a module may import its own layer and those below):
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "analysis"

#: (layer, module prefixes), from the ground up. A module belongs to the first layer with a
#: prefix it starts with (``analysis.models`` covers ``analysis.models.mobileone``).
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("base", ("analysis.errors", "analysis.paths", "analysis.constants", "analysis.util")),
    ("models", ("analysis.models",)),
    ("data", ("analysis.complexity", "analysis.latency", "analysis.export")),
    ("statistics", ("analysis.stats", "analysis.noise", "analysis.inference", "analysis.predict")),
    ("presentation", ("analysis.text", "analysis.plots")),
    ("studies", ("analysis.studies",)),
    ("application", ("analysis.reproduce", "analysis.readme_results", "analysis.zoo_readme",
                     "analysis.cli", "analysis.__main__", "analysis")),
)
#: Layers that must not import pandas (it belongs to the data layer and above).
NO_PANDAS = ("base", "models")
#: Third-party modules that may be imported inside a function (heavy, optional or only needed
#: by one command), each import with a comment on its line giving the reason.
LAZY_ALLOWED = ("coremltools", "onnxruntime", "onnx", "onnxscript", "papermill", "nbformat",
                "jupyter_client", "IPython", "yaml", "tqdm", "fvcore", "torch.utils.flop_counter")
#: Within a study package: a module may import only modules of its own rank or lower.
STUDY_RANKS = {"compute": 0, "findings": 1, "prose": 2, "figures": 2}


@dataclass
class Module:
    name: str
    path: Path
    imports: list[tuple[str, int, bool, str]] = field(default_factory=list)
    # (imported module, line, inside a function, text of the line)


def module_name(path: Path, package: Path = PACKAGE) -> str:
    rel = path.relative_to(package.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(node: ast.ImportFrom, current: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = current.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def read_module(path: Path, package: Path = PACKAGE) -> Module:
    name = module_name(path, package)
    src = path.read_text(encoding="utf-8")
    lines = src.splitlines()
    tree = ast.parse(src)
    mod = Module(name, path)
    is_package = path.name == "__init__.py"

    def visit(node, in_function: bool):
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                      ast.Lambda))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    mod.imports.append((alias.name, child.lineno, in_function,
                                        lines[child.lineno - 1]))
            elif isinstance(child, ast.ImportFrom):
                target = _resolve(child, name, is_package)
                mod.imports.append((target, child.lineno, in_function, lines[child.lineno - 1]))
                for alias in child.names:  # `from analysis import stats` imports a module
                    sub = f"{target}.{alias.name}"
                    if (package.parent / Path(*sub.split("."))).with_suffix(".py").exists() or \
                            (package.parent / Path(*sub.split("."))).is_dir():
                        mod.imports.append((sub, child.lineno, in_function,
                                            lines[child.lineno - 1]))
            visit(child, inner)

    visit(tree, False)
    return mod


def read_package(package: Path = PACKAGE) -> dict[str, Module]:
    return {m.name: m for m in (read_module(p, package) for p in sorted(package.rglob("*.py"))
                                if "__pycache__" not in p.parts)}


def layer_of(name: str) -> int | None:
    for i, (_, prefixes) in enumerate(LAYERS):
        if any(name == p or (p != "analysis" and name.startswith(p + ".")) for p in prefixes):
            return i
    return None


def internal(target: str, modules: dict[str, Module]) -> str | None:
    """The package module an import names (the longest known prefix), else None."""
    parts = target.split(".")
    for k in range(len(parts), 0, -1):
        cand = ".".join(parts[:k])
        if cand in modules:
            return cand
    return None


def edges(modules: dict[str, Module]) -> dict[str, set[str]]:
    out = {m: set() for m in modules}
    for m in modules.values():
        for target, *_ in m.imports:
            t = internal(target, modules)
            if t and t != m.name and not m.name.startswith(t + ".") and t != "analysis":
                out[m.name].add(t)
    return out


def unassigned(modules: dict[str, Module]) -> list[str]:
    return sorted(m for m in modules if layer_of(m) is None)


def upward(modules: dict[str, Module]) -> list[str]:
    found = []
    for m in modules.values():
        lm = layer_of(m.name)
        for target, line, *_ in m.imports:
            t = internal(target, modules)
            if t is None or lm is None or t == "analysis":
                continue
            lt = layer_of(t)
            if lt is not None and lt > lm:
                found.append(f"{m.name}:{line} imports {t} ({LAYERS[lm][0]} → {LAYERS[lt][0]})")
    return found


def study_rank_violations(modules: dict[str, Module]) -> list[str]:
    found = []
    for m in modules.values():
        parts = m.name.split(".")
        if len(parts) < 4 or parts[1] != "studies" or parts[-1] not in STUDY_RANKS:
            continue
        pkg, own = ".".join(parts[:-1]), STUDY_RANKS[parts[-1]]
        for target, line, *_ in m.imports:
            t = internal(target, modules)
            if t and t.startswith(pkg + ".") and t.split(".")[-1] in STUDY_RANKS \
                    and STUDY_RANKS[t.split(".")[-1]] > own:
                found.append(f"{m.name}:{line} imports {t} (computation → findings → prose "
                             f"and figures, never back)")
    return found


def cycles(modules: dict[str, Module]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    graph = edges(modules)
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(10_000)

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def pandas_below_data(modules: dict[str, Module]) -> list[str]:
    found = []
    for m in modules.values():
        lm = layer_of(m.name)
        if lm is not None and LAYERS[lm][0] in NO_PANDAS:
            found += [f"{m.name}:{line} imports pandas" for target, line, *_ in m.imports
                      if target.split(".")[0] == "pandas"]
    return found


def lazy_imports(modules: dict[str, Module]) -> list[str]:
    """In-function imports that are not an allowed heavy dependency with a reason comment."""
    found = []
    for m in modules.values():
        for target, line, in_function, text in m.imports:
            if not in_function:
                continue
            allowed = any(target == a or target.startswith(a + ".") for a in LAZY_ALLOWED)
            if not allowed:
                found.append(f"{m.name}:{line} imports {target} inside a function")
            elif "#" not in text:
                found.append(f"{m.name}:{line} imports {target} inside a function without a "
                             f"reason comment")
    return found


def report(package: Path = PACKAGE) -> str:
    modules = read_package(package)
    graph = edges(modules)
    lines = [f"{len(modules)} modules, {sum(len(v) for v in graph.values())} imports between "
             f"them"]
    for i, (layer, _) in enumerate(LAYERS):
        names = sorted(m for m in modules if layer_of(m) == i)
        lines.append(f"layer {i} {layer} ({len(names)}): " + ", ".join(
            n.removeprefix("analysis.") or "analysis" for n in names))
    for title, items in (("unassigned modules", unassigned(modules)),
                         ("imports that run upward", upward(modules)),
                         ("study order violations", study_rank_violations(modules)),
                         ("cycles", [" ↔ ".join(c) for c in cycles(modules)]),
                         ("pandas below the data layer", pandas_below_data(modules)),
                         ("in-function imports", lazy_imports(modules))):
        lines.append(f"{title}: {len(items) or 'none'}")
        lines += [f"  {i}" for i in items]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(Path(sys.argv[1]) if len(sys.argv) > 1 else PACKAGE))
