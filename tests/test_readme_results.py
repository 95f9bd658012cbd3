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
    for sub in ("01_metric_correlation", "02_activation_ablation", "03_block_ablation"):
        (fake / sub).mkdir(parents=True)
        for f in (src / sub).glob("*.csv"):
            (fake / sub / f.name).write_bytes(f.read_bytes())
    before = readme_results.results_section()
    t1 = pd.read_csv(fake / "01_metric_correlation" / "table1_comparison.csv")
    t1.loc[0, "our_rho"] = 0.99
    t1.to_csv(fake / "01_metric_correlation" / "table1_comparison.csv", index=False)
    monkeypatch.setattr(paths, "NOTEBOOK_OUTPUTS", fake)
    assert readme_results.results_section() != before
    assert "0.99" in readme_results.results_section()
