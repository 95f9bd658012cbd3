"""The package's shape: the layer order of ``tests/layers.py`` holds for every import (also
inside functions), there are no import cycles, no pandas below the data layer, in-function
imports only for heavy optional dependencies with a reason, and no module over 500 lines."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import layers  # noqa: E402  (tests/layers.py: also a command, python tests/layers.py)

from analysis import paths  # noqa: E402

ANALYSIS = paths.ROOT / "analysis"
MODULES = layers.read_package()


def test_every_module_has_a_layer():
    assert layers.unassigned(MODULES) == []


def test_no_import_runs_upward():
    assert layers.upward(MODULES) == []


def test_studies_compute_before_prose():
    assert layers.study_rank_violations(MODULES) == []


def test_no_import_cycles():
    assert layers.cycles(MODULES) == []


def test_no_pandas_below_the_data_layer():
    assert layers.pandas_below_data(MODULES) == []


def test_in_function_imports_are_heavy_optional_dependencies_with_a_reason():
    assert layers.lazy_imports(MODULES) == []


def _fake_package(tmp_path, files: dict[str, str]) -> dict:
    root = tmp_path / "analysis"
    for name, src in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(src)
    for folder in [root, *[p for p in root.rglob("*") if p.is_dir()]]:
        (folder / "__init__.py").touch()
    return layers.read_package(root)


def test_the_checks_can_fail(tmp_path):
    modules = _fake_package(tmp_path, {
        "stats.py": "from analysis.studies import thing\n",  # upward: statistics → studies
        "studies/thing.py": "import analysis.stats\n",  # with the line above: a cycle
        "models/net.py": "import pandas as pd\n",  # pandas in the model layer
        "paths.py": "def f():\n    from analysis import errors\n",  # in-function, own module
        "errors.py": "def g():\n    import onnxruntime\n",  # allowed, but no reason comment
        "studies/one/compute.py": "from analysis.studies.one import prose\n",
        "studies/one/prose.py": "from analysis.studies.one import compute  # fine\n",
        "oddball.py": "x = 1\n",  # in no layer
    })
    assert "analysis.stats:1 imports analysis.studies.thing" in [
        u.split(" (")[0] for u in layers.upward(modules)]
    assert ["analysis.stats", "analysis.studies.thing"] in layers.cycles(modules)
    assert layers.pandas_below_data(modules) == ["analysis.models.net:1 imports pandas"]
    lazy = layers.lazy_imports(modules)
    assert any("analysis.paths:2 imports analysis" in x for x in lazy)
    assert any("onnxruntime inside a function without a reason" in x for x in lazy)
    assert len(layers.study_rank_violations(modules)) == 1
    assert layers.unassigned(modules) == ["analysis.oddball"]


@pytest.mark.parametrize("path", sorted(ANALYSIS.rglob("*.py")),
                         ids=lambda p: p.relative_to(ANALYSIS).as_posix())
def test_no_module_over_500_lines(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 500
