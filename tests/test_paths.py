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


# -- the output rule ------------------------------------------------------------------------------

def test_check_output_refuses_what_would_lose_a_file(tmp_path):
    import pytest

    from analysis.errors import ConfigError

    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n")
    (tmp_path / "hard.csv").hardlink_to(data)
    cases = [(dict(path=tmp_path), "is a folder"),
             (dict(path=data / "x.csv"), "data.csv is a file, not a folder"),
             (dict(path=data, inputs={"--calibration": data}, force=True), "is an input"),
             (dict(path=tmp_path / "hard.csv", inputs={"--in": [data]}), "is an input"),
             (dict(path=data), "exists; pass --force"),
             (dict(path=data, owned=lambda p: paths.csv_header(p) == ["x"]),
              "exists and was not written by this command")]
    for kwargs, message in cases:
        with pytest.raises(ConfigError, match=message):
            paths.check_output(**kwargs)
    assert paths.check_output(data, force=True) == data
    assert paths.check_output(data, owned=lambda p: paths.csv_header(p) == ["a", "b"]) == data
    assert paths.check_output(tmp_path / "new" / "x.csv") == tmp_path / "new" / "x.csv"
    with pytest.raises(ConfigError, match="is a file; --out names a folder"):
        paths.check_output_folder(data)
    assert paths.check_output_folder(tmp_path / "a" / "b") == tmp_path / "a" / "b"


def test_write_atomic_keeps_the_old_file_and_no_folder_when_writing_fails(tmp_path):
    import pytest

    target = tmp_path / "out.csv"
    target.write_text("old")

    def half(tmp):
        tmp.write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        paths.write_atomic(target, half)
    assert target.read_text() == "old" and sorted(tmp_path.iterdir()) == [target]
    deep = tmp_path / "a" / "b" / "c.csv"
    with pytest.raises(KeyboardInterrupt):
        paths.write_atomic(deep, half)
    assert not (tmp_path / "a").exists()
    paths.write_atomic(deep, lambda tmp: tmp.write_text("new"))
    assert deep.read_text() == "new" and [p.name for p in deep.parent.iterdir()] == ["c.csv"]


def test_new_folders_removes_only_the_empty_folders_it_made(tmp_path):
    (tmp_path / "kept").mkdir()
    with paths.new_folders(tmp_path / "kept" / "a" / "b"):
        pass
    assert [p.name for p in tmp_path.iterdir()] == ["kept"]
    assert list((tmp_path / "kept").iterdir()) == []
    with paths.new_folders(tmp_path / "x" / "y") as folder:
        (folder / "file").write_text("1")
    assert (tmp_path / "x" / "y" / "file").exists()
