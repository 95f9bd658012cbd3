"""The study API: parameters declared once and checked once, one result type, one writer, and
the recompute-and-compare check of the committed study."""

from __future__ import annotations

import json

import nbformat
import numpy as np
import pandas as pd
import pytest

from analysis import paths
from analysis.errors import ConfigError
from analysis.reproduce import compare_folders, notebooks
from analysis.studies import STUDIES, study
from analysis.studies.columns import UNDOCUMENTED
from analysis.studies.core import StudyResult, Table, write
from analysis.studies.params import (at_least, coerce, collect, make, one_of, run_key, spec)

CELL = '''\
LATENCY_CSV: Optional[Union[str, List[str]]] = None  # your files
WITH_REFERENCE: bool = True  # with the paper's devices
N_BOOTSTRAP: int = 10000  # resamples
LEVEL: float = 0.95  # interval level
MODELS: Union[str, List[str]] = "figure2"  # a group or names
K_VALUES: List[int] = [1, 2]  # k swept
OUTPUT_DIR: Optional[str] = None  # results folder
FIGURE_DIR: Optional[str] = None  # figure folder
'''
RULES = {"N_BOOTSTRAP": at_least(100), "MODELS": one_of(["figure2", "table9"])}


@pytest.fixture()
def notebook(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(CELL)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_code_cell("import x"), cell]
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "P"}
    path = tmp_path / "99_test.ipynb"
    nbformat.write(nb, path)
    return str(path)


def test_the_declaration_is_the_parameters_cell(notebook):
    declared = spec(notebook)
    assert list(declared) == ["LATENCY_CSV", "WITH_REFERENCE", "N_BOOTSTRAP", "LEVEL",
                              "MODELS", "K_VALUES", "OUTPUT_DIR", "FIGURE_DIR"]
    assert declared["N_BOOTSTRAP"].default == 10000
    assert declared["N_BOOTSTRAP"].help == "resamples"


@pytest.mark.parametrize("annotation, given, expected", [
    ("bool", "false", False), ("bool", "True", True), ("bool", "no", False), ("bool", 1, True),
    ("int", "12", 12), ("int", 12.0, 12), ("float", "0.9", 0.9), ("float", 3, 3.0),
    ("Optional[str]", "none", None), ("Optional[str]", "None", None),
    ("Optional[str]", "my.csv", "my.csv"),
    ("List[int]", "1, 2,3", [1, 2, 3]), ("List[int]", [4], [4]), ("List[str]", "none", []),
    ("Union[str, List[str]]", "a,b", "a,b"), ("Union[str, List[str]]", ["a"], ["a"]),
    ("Optional[Union[str, List[str]]]", "none", None), ("Optional[int]", None, None),
])
def test_values_are_read_as_a_person_means_them(annotation, given, expected):
    assert coerce("X", annotation, given) == expected


@pytest.mark.parametrize("annotation, given, words", [
    ("int", "abc", "N must be a whole number, got 'abc'"),
    ("int", 5.5, "N must be a whole number, got 5.5"),
    ("int", True, "got True"),
    ("bool", "maybe", "must be true or false"),
    ("List[int]", "1,x", "a list of a whole number"),
    ("str", 3, "must be text"),
])
def test_a_wrong_type_names_the_parameter(annotation, given, words):
    with pytest.raises(ConfigError, match="parameter N") as err:
        coerce("N", annotation, given)
    assert words in str(err.value)


def test_rules_check_ranges_and_choices(notebook):
    with pytest.raises(ConfigError, match="N_BOOTSTRAP must be >= 100, got 5"):
        make(notebook, RULES, N_BOOTSTRAP=5)
    with pytest.raises(ConfigError, match="did you mean 'figure2'"):
        make(notebook, RULES, MODELS="figur2")
    assert make(notebook, RULES, MODELS="TABLE9").MODELS == "table9"


def test_unknown_names_are_refused_with_a_suggestion(notebook):
    with pytest.raises(ConfigError, match="unknown parameter N_BOOTSTRAPS .*did you mean "
                                          "N_BOOTSTRAP"):
        make(notebook, RULES, N_BOOTSTRAPS=100)
    namespace = {name: p.default for name, p in spec(notebook).items()}
    namespace.update(LATENCY_FILE="my.csv", np=np, pd=pd, __name__="__main__")
    with pytest.raises(ConfigError, match="unknown parameter LATENCY_FILE .*did you mean "
                                          "LATENCY_CSV"):
        collect(notebook, namespace, RULES, announce=False)


def test_collect_reads_the_kernel_and_checks_it(notebook):
    namespace = {name: p.default for name, p in spec(notebook).items()}
    namespace.update(WITH_REFERENCE="false", N_BOOTSTRAP="200", K_VALUES="3,4")
    params = collect(notebook, namespace, RULES, announce=False)
    assert (params.WITH_REFERENCE, params.N_BOOTSTRAP, params.K_VALUES) == (False, 200, [3, 4])
    assert params["LEVEL"] == 0.95 and len(params) == 8


def test_run_folders_differ_by_input_contents_and_parameters(notebook, tmp_path):
    a = tmp_path / "latency_template.csv"
    a.write_text("model,latency_ms\nMobileOne-S0,1\n")
    first = run_key(make(notebook, RULES, LATENCY_CSV=str(a)))
    assert first.startswith("latency_template-")
    assert run_key(make(notebook, RULES, LATENCY_CSV=str(a))) == first
    assert run_key(make(notebook, RULES, LATENCY_CSV=str(a), N_BOOTSTRAP=200)) != first
    a.write_text("model,latency_ms\nMobileOne-S0,2\n")  # same name, other device's numbers
    assert run_key(make(notebook, RULES, LATENCY_CSV=str(a))) != first


def _result(values) -> StudyResult:
    frame = pd.DataFrame({"model": ["a", "b"], "rho": values})
    return StudyResult("99_test", {"N": 1}, {"t": Table(frame, "a table")},
                       findings={"best": values[0]}, conclusion="text")


def test_written_results_are_byte_identical_and_carry_no_run_metadata(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    write(_result([0.1234567890123, 1 / 3]), one, one / "fig", announce=False)
    write(_result([0.1234567890123, 1 / 3]), two, two / "fig", announce=False)
    for name in ("t.csv", "summary.json"):
        assert (one / name).read_bytes() == (two / name).read_bytes()
    assert (one / "t.csv").read_text() == "model,rho\na,0.123456789\nb,0.3333333333\n"
    summary = json.loads((one / "summary.json").read_text())
    assert summary["tables"]["t"]["columns"]["rho"].startswith("Spearman")
    assert not any(k in json.dumps(summary) for k in ("date", "head", "modified", "/work/"))


def test_undocumented_columns_are_visible():
    result = StudyResult("99_test", {}, {"t": Table(pd.DataFrame({"zzz": [1]}), "x")}, None, "")
    assert result.summary()["tables"]["t"]["columns"]["zzz"] == UNDOCUMENTED


def test_compare_flags_a_changed_number_and_ignores_the_last_bits(tmp_path):
    committed, fresh = tmp_path / "c", tmp_path / "f"
    write(_result([0.5, 0.25]), committed, committed, announce=False)
    write(_result([0.5 * (1 + 1e-12), 0.25]), fresh, fresh, announce=False)
    assert compare_folders(committed, fresh, "99_test") == []
    write(_result([0.51, 0.25]), fresh, fresh, announce=False)
    found = [str(d) for d in compare_folders(committed, fresh, "99_test")]
    assert any("t.csv: row 2, column 'rho'" in d for d in found)
    assert any("summary.json: findings.best" in d for d in found)


def test_only_must_name_a_notebook():
    assert [p.stem for p in notebooks("01")] == ["01_metric_correlation"]
    with pytest.raises(ConfigError, match="--only 'zzz' matches no notebook; notebooks: 01_"):
        notebooks("zzz")


@pytest.mark.parametrize("stem", sorted(STUDIES))
def test_every_study_has_the_same_face(stem):
    module = study(stem)
    assert module.NOTEBOOK == stem
    assert callable(module.run) and callable(module.parameters)
    assert set(getattr(module, "RULES", {})) <= set(spec(stem))
    assert (paths.NOTEBOOKS / "quick" / f"{stem}.yaml").is_file()
