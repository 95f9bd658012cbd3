"""The package's shape: models below everything, no module over 500 lines."""

from __future__ import annotations

import ast

import pytest

from analysis import paths

ANALYSIS = paths.ROOT / "analysis"
#: What the model layer may import from the package: itself and the bottom utilities.
MODEL_LAYER_MAY_IMPORT = ("analysis.models", "analysis.errors", "analysis.paths")


def imports(path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{a.name}" for a in node.names if node.module == "analysis"]
    return names


def upward(path) -> list[str]:
    return [n for n in imports(path) if n.startswith("analysis")
            and not n.startswith(MODEL_LAYER_MAY_IMPORT) and n != "analysis"]


@pytest.mark.parametrize("path", sorted((ANALYSIS / "models").glob("*.py")), ids=lambda p: p.name)
def test_models_import_nothing_above_them(path):
    assert upward(path) == []


def test_the_import_check_can_fail(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from analysis.complexity import count_complexity\nfrom analysis import stats\n")
    assert upward(bad) == ["analysis.complexity", "analysis.stats"]


@pytest.mark.parametrize("path", sorted(ANALYSIS.rglob("*.py")),
                         ids=lambda p: p.relative_to(ANALYSIS).as_posix())
def test_no_module_over_500_lines(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 500
