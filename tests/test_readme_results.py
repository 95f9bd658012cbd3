"""The README's results section says what the committed result CSVs say."""

from __future__ import annotations

import pandas as pd

from analysis import paths, readme_results


def test_readme_results_section_matches_the_committed_csvs():
    current = readme_results.current_section()
    assert current, "README has no generated results section: run make reproduce"
    assert current == readme_results.results_section(), \
        "README results section is stale: run make reproduce"


def test_every_embedded_figure_exists():
    for path, _alt in readme_results.FIGURES:
        assert (paths.ROOT / path).is_file(), path


def test_the_section_changes_when_a_number_changes(tmp_path, monkeypatch):
    """The check can fail: a different ρ in the CSV gives a different section."""
    src = paths.NOTEBOOK_OUTPUTS
    fake = tmp_path / "outputs"
    for sub in ("01_metric_correlation", "02_activation_ablation", "03_block_ablation",
                "07_gpu_execution_regimes"):
        (fake / sub).mkdir(parents=True)
        for f in [*(src / sub).glob("*.csv"), *(src / sub).glob("*.json")]:
            (fake / sub / f.name).write_bytes(f.read_bytes())
    before = readme_results.results_section()
    t1 = pd.read_csv(fake / "01_metric_correlation" / "table1_comparison.csv")
    t1.loc[0, "rho"] = 0.99
    t1.to_csv(fake / "01_metric_correlation" / "table1_comparison.csv", index=False)
    monkeypatch.setattr(paths, "NOTEBOOK_OUTPUTS", fake)
    assert readme_results.results_section() != before
    assert "0.99" in readme_results.results_section()


def test_one_line_per_notebook_with_its_takeaway_or_a_pointer(tmp_path, monkeypatch):
    """Every notebook gets a line; a committed takeaway is quoted, a missing one (or an old
    summary without findings) falls back to a pointer, never an error."""
    fake = tmp_path / "outputs"
    (fake / "01_metric_correlation").mkdir(parents=True)
    (fake / "01_metric_correlation" / "summary.json").write_text(
        '{"findings": {"takeaway": "MACs are enough here."}}')
    (fake / "02_activation_ablation").mkdir()
    (fake / "02_activation_ablation" / "summary.json").write_text('{"findings": null}')
    monkeypatch.setattr(paths, "NOTEBOOK_OUTPUTS", fake)
    lines = readme_results.notebook_lines()[2:]
    stems = sorted(p.stem for p in paths.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    assert len(lines) == len(stems) >= 7
    assert lines[0].startswith("- **[01 · What predicts latency?")
    assert lines[0].endswith("— MACs are enough here.")
    assert "no generated takeaway yet" in lines[1] and "no generated takeaway yet" in lines[2]


def test_the_regime_table_follows_notebook_07(tmp_path, monkeypatch):
    """The regime table is read from notebook 07's results: another ρ, another table."""
    sub = "07_gpu_execution_regimes"
    fake = tmp_path / "outputs"
    for name in ("01_metric_correlation", "02_activation_ablation", "03_block_ablation", sub):
        (fake / name).mkdir(parents=True)
        for f in (paths.NOTEBOOK_OUTPUTS / name).glob("*.*"):
            (fake / name / f.name).write_bytes(f.read_bytes())
    corr = pd.read_csv(fake / sub / "correlations.csv")
    corr.loc[(corr["statistic"] == "min") & (corr["regime"] == "graph fp32")
             & (corr["metric"] == "macs"), "rho"] = 0.987
    corr.to_csv(fake / sub / "correlations.csv", index=False)
    monkeypatch.setattr(paths, "NOTEBOOK_OUTPUTS", fake)
    row = next(line for line in readme_results.results_section().splitlines()
               if line.startswith("| graph fp32 |"))
    assert row.startswith("| graph fp32 | 0.99 [") and "MACs (paper's FLOPs), 0.99" in row
