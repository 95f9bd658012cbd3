"""Measurement campaigns: seeded session orders, a fresh model per session, one row per
(session, item, setup), resume at the next item with the same seed and context, the measurement
sets of notebooks 02-04, and the GPU check's code path on the CPU without fvcore, coremltools
or papermill."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch
import torch.nn as nn
from scipy.stats import spearmanr

from analysis import paths
from analysis.cli import main
from analysis.errors import ConfigError
from analysis.latency import MEASURE_COLUMNS, Item, load_latency, run_campaign
from analysis.latency.campaign import samples_path, session_order
from analysis.latency.harness import prepare
from analysis.latency.sets import MATMUL_N, MatMul, set_items
from analysis.latency.timing import Timer


def fake_timer(ms: float = 1.0) -> Timer:
    """Every run lasts ``ms``: a deterministic clock (two reads per run)."""
    state = {"t": 0, "reads": 0}

    def clock():
        state["reads"] += 1
        state["t"] += int(ms * 1e6) if state["reads"] % 2 == 0 else 0
        return state["t"]

    return Timer(clock, None, "fake clock")


def tiny_items(builds: list | None = None) -> list[Item]:
    """Three small networks; ``builds`` records (label, first weight) per build."""
    def build(label, width):
        def make():
            net = nn.Sequential(nn.Conv2d(3, width, 3), nn.ReLU()).eval()
            if builds is not None:
                builds.append((label, float(net[0].weight.detach().flatten()[0])))
            return net
        return make

    return [Item(name, build(name, w), 8, macs=w * 10 ** 6, params=w * 10 ** 4)  # own counts
            for name, w in (("A", 2), ("B", 3), ("C", 4))]


def run(items, out=None, **kw):
    options = dict(sessions=2, runs=3, warmup=1, threads=1, seed=7, timer=fake_timer(),
                   progress=False)
    return run_campaign(items, out=out, **{**options, **kw})


def test_session_orders_are_seeded_permutations():
    a = [session_order(10, 7, s) for s in (1, 2, 3)]
    assert all(sorted(o) == list(range(10)) for o in a)
    assert len({tuple(o) for o in a}) == 3  # a different order each session
    assert a == [session_order(10, 7, s) for s in (1, 2, 3)]  # reproducible from the seed
    assert session_order(10, 8, 1) != a[0]


def test_a_campaign_writes_one_row_per_session_item_and_setup(tmp_path):
    builds = []
    out = tmp_path / "c.csv"
    result = run(tiny_items(builds), out=out, keep_samples=True)
    rows = pd.read_csv(out)
    assert list(rows.columns) == list(MEASURE_COLUMNS) and len(rows) == 6
    assert rows["campaign"].nunique() == 1 and result.campaign == rows["campaign"][0]
    for session, part in rows.groupby("session"):
        expected = [["A", "B", "C"][i] for i in session_order(3, 7, session)]
        assert part.sort_values("order")["model"].tolist() == expected
    assert rows["latency_ms"].eq(1.0).all() and rows["statistic"].eq("min").all()
    assert rows["form"].eq("fused").all() and rows["mode"].eq("eager").all()
    assert rows["seed"].eq(7).all() and rows["clock"].eq("fake clock").all()
    # a fresh model per session, with other random weights
    assert len(builds) == 6 and len({w for _, w in builds}) == 6
    samples = pd.read_csv(samples_path(out))
    assert len(samples) == 6 * 3 and samples.groupby(["session", "model"]).size().eq(3).all()


def test_the_campaign_loads_as_sessions_of_one_identity(tmp_path):
    out = tmp_path / "c.csv"
    run(tiny_items(), out=out, sessions=3)
    table = load_latency(out)
    assert len(table) == 3 and table["n_sessions"].eq(3).all()


def test_resume_continues_at_the_next_item_with_the_same_orders(tmp_path):
    out = tmp_path / "c.csv"
    items = tiny_items()
    calls = []

    def interrupting():
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return nn.Identity()

    broken = [Item(i.label, interrupting, 8) for i in items]  # the 5th build is interrupted
    with pytest.raises(KeyboardInterrupt):
        run(broken, out=out)
    first = pd.read_csv(out)
    assert len(first) == 4
    result = run(items, out=out, resume=True)
    assert len(result.skipped) == 4 and len(result.rows) == 2
    rows = pd.read_csv(out)
    assert len(rows) == 6 and rows["campaign"].nunique() == 1
    assert not rows.duplicated(["session", "model"]).any()
    for session, part in rows.groupby("session"):
        assert part.sort_values("order")["model"].tolist() == [
            ["A", "B", "C"][i] for i in session_order(3, 7, session)]
    assert len(run(items, out=out, resume=True).rows) == 0  # nothing left to do


@pytest.mark.parametrize("change, column", [
    ({"threads": 2}, "threads"), ({"seed": 8}, "seed"), ({"runs": 4}, "n_runs"),
    ({"device": "Another CPU"}, "device"), ({"timer": None}, "clock"),
])
def test_resume_refuses_another_context_naming_the_column(tmp_path, change, column):
    out = tmp_path / "c.csv"
    run(tiny_items(), out=out, sessions=1)
    before = out.read_bytes()
    with pytest.raises(ConfigError, match=rf"measured with {column}=.* but this run uses"):
        run(tiny_items(), out=out, resume=True, **change)
    assert out.read_bytes() == before


def test_resume_refuses_other_items_or_orders(tmp_path):
    out = tmp_path / "c.csv"
    run(tiny_items(), out=out, sessions=1)
    with pytest.raises(ConfigError, match="holds C .* which this run does not measure"):
        run(tiny_items()[:2], out=out, resume=True)
    with pytest.raises(ConfigError, match="ran in another order"):
        run(tiny_items()[::-1], out=out, resume=True)
    with pytest.raises(ConfigError, match="selected twice"):
        run(tiny_items() + tiny_items()[:1], sessions=1)


def test_resume_refuses_other_library_versions(tmp_path):
    out = tmp_path / "c.csv"
    run(tiny_items(), out=out, sessions=1)
    rows = pd.read_csv(out, dtype=str, keep_default_na=False)
    rows["torch_version"] = "1.0.0"
    rows.to_csv(out, index=False)
    with pytest.raises(ConfigError, match="torch_version=1.0.0"):
        run(tiny_items(), out=out, resume=True)


def test_existing_file_needs_resume_or_force(tmp_path):
    out = tmp_path / "c.csv"
    run(tiny_items(), out=out, sessions=1)
    with pytest.raises(ConfigError, match="exists; pass --resume"):
        run(tiny_items(), out=out)
    assert len(run(tiny_items(), out=out, force=True, sessions=1).rows) == 3
    assert len(pd.read_csv(out)) == 3


def test_force_keeps_the_old_file_until_the_first_new_row(tmp_path):
    """--force replaces the old file only when the new campaign has a row to write: a campaign
    whose every item fails, or that is interrupted before timing anything, leaves the old file
    and its raw runs byte-identical; the first new row then replaces both."""
    out = tmp_path / "c.csv"
    run(tiny_items(), out=out, sessions=1, keep_samples=True)
    before, samples = out.read_bytes(), samples_path(out).read_bytes()

    def broken():
        raise RuntimeError("cannot build")

    result = run([Item(i.label, broken, 8) for i in tiny_items()], out=out, force=True)
    assert result.rows.empty and len(result.failed) == 6
    assert out.read_bytes() == before and samples_path(out).read_bytes() == samples

    def interrupted():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt, match="nothing new written; .* is unchanged"):
        run([Item(i.label, interrupted, 8) for i in tiny_items()], out=out, force=True)
    assert out.read_bytes() == before and samples_path(out).read_bytes() == samples

    assert len(run(tiny_items()[:1], out=out, force=True, sessions=1).rows) == 1
    assert pd.read_csv(out)["model"].tolist() == ["A"]
    assert not samples_path(out).exists() and sorted(p.name for p in tmp_path.iterdir()) == [
        "c.csv"]


def test_measure_force_that_times_nothing_leaves_the_old_file(tmp_path, monkeypatch, capsys):
    from analysis.latency import campaign

    out = tmp_path / "m.csv"
    args = ["measure", "--set", "matmul", "--runs", "1", "--warmup", "0", "--threads", "1",
            "--out", str(out), "--no-progress"]
    assert main(args) == 0
    before = out.read_bytes()

    def fail(*args, **kwargs):
        raise RuntimeError("injected before the first timing")

    monkeypatch.setattr(campaign, "time_prepared", fail)
    assert main([*args, "--force"]) == 1
    assert "injected before the first timing" in capsys.readouterr().err
    assert out.read_bytes() == before


def test_a_deadline_leaves_the_rest_unfinished():
    result = run(tiny_items(), deadline=time.monotonic() - 1)
    assert result.rows.empty and len(result.unfinished) == 6


def test_failures_are_returned_not_hidden():
    items = tiny_items()
    items[1] = Item("B", lambda: (_ for _ in ()).throw(RuntimeError("no weights")), 8)
    result = run(items)
    assert sorted(result.rows["model"].unique()) == ["A", "C"]
    assert result.failed == {"B · session 1": "RuntimeError: no weights",
                             "B · session 2": "RuntimeError: no weights"}


def test_several_setups_per_item(tmp_path):
    result = run(tiny_items(), sessions=1, precisions=["fp32", "bf16"])
    assert sorted(result.rows["precision"].value_counts().to_dict().items()) == [
        ("bf16", 3), ("fp32", 3)]


# ---------------------------------------------------------------- measurement sets


def test_ablation_set_keeps_the_duplicate_networks_apart():
    items = set_items("ablation")
    names = [i.label for i in items]
    assert len(items) == 10 and len(set(names)) == 10
    assert {"Ablation ReLU", "Ablation baseline", "Ablation SE-ReLU", "Ablation +SE"} <= set(names)
    assert all(i.form == "fused" and i.model_id for i in items)


def test_reparam_set_forms_and_k():
    items = set_items("reparam")
    train = [(i.label, i.k) for i in items if i.form == "train"]
    fused = [i.label for i in items if i.form == "fused"]
    assert fused == [f"MobileOne-S{v}" for v in range(5)]
    assert [k for name, k in train if name == "MobileOne-S0"] == [1, 2, 3, 4, 5]
    assert [(n, k) for n, k in train if n != "MobileOne-S0"] == [
        (f"MobileOne-S{v}", 1) for v in range(1, 5)]
    assert len({i.key for i in items}) == len(items)
    assert all(i.counter is not None for i in items if i.form == "train")


def test_sequential_twin_computes_the_fused_function():
    items = {i.form: i for i in set_items("sequential") if i.label == "MobileOne-S1"}
    fused, _ = prepare(items["fused"], seed=3)
    seq, _ = prepare(items["sequential"], seed=3)
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(fused(x), seq(x))
    assert isinstance(seq, nn.Sequential) and items["sequential"].counter is not None


def test_matmul_reference():
    (item,) = set_items("matmul")
    assert (item.form, item.macs, item.params) == ("reference", MATMUL_N ** 3, MATMUL_N ** 2)
    net = MatMul(4)
    x = torch.randn(4, 4)
    assert torch.equal(net(x), torch.matmul(x, net.weight))
    with pytest.raises(ConfigError, match="unknown measurement set"):
        set_items("everything")


def test_measure_a_set_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "matmul.csv"
    assert main(["measure", "--set", "matmul", "--sessions", "2", "--runs", "1", "--warmup",
                 "0", "--threads", "1", "--out", str(out), "--no-progress"]) == 0
    rows = pd.read_csv(out)
    assert rows["session"].tolist() == [1, 2] and rows["form"].eq("reference").all()
    assert rows["macs"].eq(MATMUL_N ** 3).all() and rows["command"].str.contains("--set").all()
    assert main(["measure", "--set", "matmul", "--unfused", "--out", str(out)]) == 2
    assert "--set measures its own forms" in capsys.readouterr().err


# ---------------------------------------------------------------- the GPU check's code path

POISON = """
import runpy, sys
class Hidden:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("fvcore", "coremltools", "papermill"):
            raise ImportError(f"{name} is not installed on the GPU machine")
sys.meta_path.insert(0, Hidden())
sys.argv = ["gpu_check.py", *sys.argv[1:]]
runpy.run_path("benchmarks/gpu_check.py", run_name="__main__")
bad = [m for m in sys.modules if m.split(".")[0] in ("fvcore", "coremltools", "papermill")]
assert not bad, bad
"""


def test_gpu_check_runs_without_fvcore_coremltools_papermill(tmp_path):
    ref = tmp_path / "ref.csv"
    pd.DataFrame({
        "session": [1, 2, 1, 1, 1], "order": 0,
        "model": ["MobileOne-S0", "MobileOne-S0", "MobileNetV3-S", "ShuffleNetV2-1.0",
                  "ShuffleNetV2-1.0"],
        "mode": ["eager_fp32"] * 4 + ["graph_fp32"], "min_ms": [1.0, 1.2, 0.5, 0.7, 0.3],
        "median_ms": 1.0, "p90_ms": 1.0, "mean_ms": 1.0, "n_runs": 50, "error": ""}).to_csv(
        ref, index=False)
    env = {**os.environ, "OUT": str(tmp_path / "out")}
    proc = subprocess.run(
        [sys.executable, "-c", POISON, "--accelerator", "cpu", "--models",
         "mobileone_s0,mobilenetv3_small,shufflenetv2_100", "--runs", "2", "--warmup", "0",
         "--input-size", "32", "--warm-s", "0.1", "--reference", str(ref)],
        cwd=paths.ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((tmp_path / "out" / "gpu_check.json").read_text())
    rows = pd.read_csv(tmp_path / "out" / "gpu_campaign.csv")
    assert summary["rows"] == len(rows) == 3 and not summary["failed"]
    (cmp,) = summary["comparison"]
    ours = rows.set_index("model")["latency_ms"]
    shipped = pd.Series({"MobileOne-S0": 1.1, "MobileNetV3-S": 0.5, "ShuffleNetV2-1.0": 0.7})
    assert cmp["regime"] == "eager_fp32" and cmp["n_models"] == 3
    assert cmp["rho"] == pytest.approx(spearmanr(ours[shipped.index], shipped).statistic)
    assert cmp["median_ratio"] == pytest.approx((ours[shipped.index] / shipped).median())
