"""User-given paths resolve against the working directory, else the repository root."""

from __future__ import annotations

from analysis import paths


def test_user_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.csv").write_text("x")
    assert paths.user_paths(None) == [] and paths.user_paths("") == []
    assert paths.user_paths("mine.csv") == [paths.Path("mine.csv")]  # exists here: kept
    assert paths.user_path("data/latency/x.csv") == paths.ROOT / "data/latency/x.csv"
    assert paths.user_paths([tmp_path / "a", "b"]) == [tmp_path / "a", paths.ROOT / "b"]
    assert paths.relative(paths.ROOT / "figures" / "f.png") == "figures/f.png"
    assert paths.relative(tmp_path / "f.png") == str(tmp_path / "f.png")
