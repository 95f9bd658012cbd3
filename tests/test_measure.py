"""The measurement harness: statistics, protocol (warm-up dropped, input pre-allocated, fused
form), the row's identity and context, output file (readable by load_latency, incremental,
resumable, never overwritten)."""

from __future__ import annotations

import statistics
import time

import numpy as np
import pytest
import torch
import torch.nn as nn
from scipy import stats as sps

from analysis.cli import main
from analysis.complexity import count_complexity
from analysis.errors import ConfigError
from analysis.models import create_model
from analysis.latency import (MEASURE_COLUMNS, Measurements, campaign, load_latency,
                              measure_model, measure_models, sample_stats)
from analysis.latency.context import cpu_device_name
from analysis.latency.harness import branches
from analysis.latency.sampling import trimmed_mean
from analysis.latency.sets import fvcore_counts

# ---------------------------------------------------------------- statistics


@pytest.mark.parametrize("seed, n", [(0, 1), (1, 7), (2, 50), (3, 1000)])
def test_sample_stats_against_independent_implementations(seed, n):
    x = np.random.default_rng(seed).lognormal(0.0, 0.4, size=n)
    s = sample_stats(x)
    data = [float(v) for v in x]
    assert s["n"] == n
    assert s["min"] == min(data)
    assert s["median"] == pytest.approx(statistics.median(data))
    assert s["mean"] == pytest.approx(statistics.fmean(data))
    if n > 1:
        assert s["std"] == pytest.approx(statistics.stdev(data))
        assert s["cv"] == pytest.approx(statistics.stdev(data) / statistics.fmean(data))
        # p90 with linear interpolation between order statistics = "inclusive" deciles
        assert s["p90"] == pytest.approx(statistics.quantiles(data, n=10, method="inclusive")[8])
    else:
        assert s["std"] == 0.0 and s["p90"] == data[0]
    assert s["trimmed_mean"] == pytest.approx(sps.trim_mean(data, 0.2))


def test_trimmed_mean_drops_ten_of_fifty_each_side():
    x = list(range(50))
    assert trimmed_mean(x) == pytest.approx(statistics.fmean(range(10, 40)))


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")], [float("inf")]])
def test_sample_stats_rejects_bad_samples(bad):
    with pytest.raises(ConfigError):
        sample_stats(bad)


# ---------------------------------------------------------------- protocol


class Recorder(nn.Module):
    """Sleeps ``slow_ms`` for the first ``slow_calls`` calls, then ``fast_ms``; records inputs."""

    def __init__(self, slow_calls=0, slow_ms=0.0, fast_ms=0.0):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.slow_calls, self.slow_ms, self.fast_ms = slow_calls, slow_ms, fast_ms
        self.calls, self.inputs, self.fused_seen = 0, set(), []
        self.fused = False

    def reparameterize(self):
        self.fused = True

    def forward(self, x):
        self.calls += 1
        self.inputs.add(x.data_ptr())
        self.fused_seen.append(self.fused)
        time.sleep((self.slow_ms if self.calls <= self.slow_calls else self.fast_ms) / 1e3)
        return self.conv(x)


def test_timing_measures_the_forward_pass():
    row = measure_model(Recorder(fast_ms=3.0), runs=5, warmup=1, input_size=16, fuse=False,
                        threads=1)
    assert row["min_ms"] >= 3.0 and row["latency_ms"] == row["min_ms"]
    assert row["min_ms"] <= row["median_ms"] <= row["p90_ms"]


def test_warmup_runs_are_dropped_and_input_is_preallocated():
    net = Recorder(slow_calls=3, slow_ms=60.0, fast_ms=0.0)
    row = measure_model(net, runs=6, warmup=3, input_size=16, fuse=False, threads=1,
                        keep_samples=True, count=False)
    assert net.calls == 9
    assert len(row["samples_ms"]) == 6 and max(row["samples_ms"]) < 60.0
    assert row["n_runs"] == 6 and row["warmup"] == 3
    assert len(net.inputs) == 1  # the same pre-allocated tensor every run


def test_fused_by_default_train_time_form_on_request():
    seen = {}
    for fuse in (True, False):
        net = Recorder()
        # deploy() fuses a copy; read what the measured copy saw through the forward hook
        calls = []
        net.register_forward_hook(lambda m, i, o: calls.append(m.fused))
        row = measure_model(net, runs=2, warmup=0, input_size=16, fuse=fuse, threads=1)
        seen[fuse] = (set(calls), row["form"])
    assert seen[True] == ({True}, "fused")
    assert seen[False] == ({False}, "train")


def test_threads_are_restored_and_recorded():
    before = torch.get_num_threads()
    row = measure_model(Recorder(), runs=2, warmup=0, input_size=16, threads=1)
    assert torch.get_num_threads() == before and row["threads"] == 1


def test_row_context_and_registry_model():
    row = measure_model("MobileOne-S0", runs=3, warmup=1, input_size=32, threads=1)
    assert set(MEASURE_COLUMNS) <= set(row)
    assert row["model"] == "MobileOne-S0" and row["model_id"] == "mobileone_s0"
    assert (row["form"], row["k"], row["mode"]) == ("fused", None, "eager")
    assert row["input_size"] == 32 and row["batch_size"] == 1 and row["precision"] == "fp32"
    assert row["statistic"] == "min" and row["runtime"] == "torch"
    assert row["torch_version"] == torch.__version__ and row["runtime_version"]
    for key in ("cpu", "cores_logical", "date", "onnxruntime_version", "python_version",
                "kernel", "host", "clock"):
        assert row[key]
    assert row["accelerator"] == "cpu" and row["gpu"] == ""
    assert row["device"] == cpu_device_name() and "(R)" not in row["device"]
    assert row["macs"] is None  # zoo models: counts come from the registry, not the file


def test_train_time_form_states_k_and_its_own_counts():
    seen = []

    def counter(module, size, batch):
        seen.append((type(module).__name__, size, batch))
        return 123_456_789, 4_321_000

    row = measure_model("MobileOne-S0", runs=1, warmup=0, input_size=32, threads=1, fuse=False,
                        counter=counter)
    fused = measure_model("MobileOne-S0", runs=1, warmup=0, input_size=32, threads=1,
                          counter=counter)
    assert (row["form"], row["k"]) == ("train", 4)  # S0's published k
    assert (row["macs"], row["params"]) == (123_456_789, 4_321_000)
    assert seen == [("MobileOne", 32, 1)]  # the deployed registry model is not counted:
    assert fused["macs"] is None and fused["k"] is None  # the study's own counts apply
    assert branches(create_model("repvgg_a0")) == 1 and branches(nn.Conv2d(3, 3, 1)) is None


def test_fvcore_counts_are_count_complexitys():
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 4, 1))
    c = count_complexity(net, 16, fuse=False)
    assert fvcore_counts(net, 16, 1) == (c.macs, c.params)


def test_module_outside_zoo_carries_its_counts():
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())
    row = measure_model(net, runs=2, warmup=0, input_size=16, threads=1, name="TinyNet",
                        counter=fvcore_counts)
    assert row["model"] == "TinyNet" and row["model_id"] is None
    assert row["params"] == 3 * 8 * 9 + 8
    assert row["macs"] == 8 * 14 * 14 * 3 * 9  # conv output positions x kernel volume
    plain = measure_model(net, runs=1, warmup=0, input_size=16, threads=1)
    assert plain["params"] == 3 * 8 * 9 + 8 and plain["macs"] is None  # no counter: no MACs


def test_onnxruntime_runtime():
    import onnxruntime

    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU())
    row = measure_model(net, "onnxruntime", runs=3, warmup=1, input_size=32, threads=1,
                        count=False, keep_samples=True)
    assert row["runtime"] == "onnxruntime" and row["latency_ms"] > 0
    assert row["runtime_version"] == onnxruntime.__version__
    assert len(row["samples_ms"]) == 3 and row["threads"] == 1


@pytest.mark.parametrize("kwargs", [{"runs": 0}, {"warmup": -1}, {"threads": 0},
                                    {"batch_size": 0}, {"input_size": 0}])
def test_bad_parameters(kwargs):
    with pytest.raises(ConfigError):
        measure_model(Recorder(), **kwargs)


def test_unknown_runtime():
    with pytest.raises(ConfigError, match="unknown runtime"):
        measure_model(Recorder(), "tensorflow")


# ---------------------------------------------------------------- files


def small(**kw):
    return dict(runs=2, warmup=0, input_size=32, threads=1, progress=False, **kw)


def test_measure_models_writes_a_valid_file_and_never_overwrites(tmp_path):
    out = tmp_path / "cpu-torch.csv"
    result = measure_models("mobileone_s0,mobileone_s1", out=out, **small())
    assert isinstance(result, Measurements) and result.out == out
    frame = result.rows.sort_values("model")
    assert frame["model"].tolist() == ["MobileOne-S0", "MobileOne-S1"]
    table = load_latency(out).sort_values("model")
    assert table["model_id"].tolist() == ["mobileone_s0", "mobileone_s1"]
    assert table["latency_ms"].tolist() == pytest.approx(frame["min_ms"].tolist())
    assert {"median_ms", "p90_ms", "std_ms", "cv", "cpu", "torch_version"} <= set(table.columns)
    before = out.read_bytes()
    with pytest.raises(ConfigError, match="exists; pass --resume"):
        measure_models("mobileone_s0", out=out, **small())
    assert out.read_bytes() == before
    measure_models("mobileone_s2", out=out, force=True, **small())
    assert load_latency(out)["model_id"].tolist() == ["mobileone_s2"]


def test_interrupted_run_keeps_rows_and_resumes(tmp_path, monkeypatch):
    out = tmp_path / "run.csv"
    real = campaign.time_prepared
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(campaign, "time_prepared", flaky)
    models = "mobileone_s0,mobileone_s1,mobileone_s2"
    with pytest.raises(KeyboardInterrupt):
        measure_models(models, out=out, **small())
    first = load_latency(out)["model"].tolist()
    assert len(first) == 1
    monkeypatch.setattr(campaign, "time_prepared", real)
    result = measure_models(models, out=out, resume=True, **small())
    assert result.skipped == first and len(result.rows) == 2
    assert first[0] not in result.rows["model"].tolist()
    assert sorted(load_latency(out)["model_id"]) == ["mobileone_s0", "mobileone_s1",
                                                     "mobileone_s2"]


def test_resume_refuses_a_different_context(tmp_path):
    out = tmp_path / "run.csv"
    measure_models("mobileone_s0", out=out, **small())
    with pytest.raises(ConfigError, match="input_size|px"):
        measure_models("mobileone_s0", out=out, resume=True,
                       **{**small(), "input_size": 64})
    with pytest.raises(ConfigError, match=r"seed=0 but this run uses seed=1 \(--seed\)"):
        measure_models("mobileone_s0", out=out, resume=True, **{**small(), "seed": 1})
    with pytest.raises(ConfigError, match=r"n_runs=2 but this run uses n_runs=3 \(--runs\)"):
        measure_models("mobileone_s1", out=out, resume=True, **{**small(), "runs": 3})
    with pytest.raises(ConfigError, match=r"warmup=0 but this run uses warmup=1 \(--warmup\)"):
        measure_models("mobileone_s1", out=out, resume=True, **{**small(), "warmup": 1})
    with pytest.raises(ConfigError, match="threads"):
        measure_models("mobileone_s1", out=out, resume=True, **{**small(), "threads": 2})
    assert load_latency(out)["model_id"].tolist() == ["mobileone_s0"]  # nothing appended


def test_a_failing_model_does_not_stop_the_batch():
    class Broken(nn.Module):
        def forward(self, x):
            raise RuntimeError("boom")

    result = measure_models({"Broken": Broken(), "Fine": Recorder()}, **small())
    assert result.rows["model"].tolist() == ["Fine"]
    assert result.failed == {"Broken": "RuntimeError: boom"}
    with pytest.raises(RuntimeError):
        measure_models({"Broken": Broken()}, on_error="raise", **small())


def test_measure_command(tmp_path, capsys):
    out = tmp_path / "m.csv"
    args = ["measure", "--models", "mobileone_s0", "--runs", "2", "--warmup", "0",
            "--input-size", "32", "--threads", "1", "--out", str(out), "--no-progress"]
    assert main(args) == 0
    assert "wrote 1 row to" in capsys.readouterr().out
    assert load_latency(out)["input_size"].tolist() == [32]
    assert main(args) == 2
    assert "exists; pass --resume" in capsys.readouterr().err
    assert main([*args, "--resume"]) == 0
    assert "(1 already there)" in capsys.readouterr().out
    assert main(["measure", "--models", "mobileone_s9", "--out", str(out)]) == 2


def test_measure_writes_outside_the_study_by_default(tmp_path, monkeypatch, capsys):
    from analysis import paths

    monkeypatch.setenv("MOBILEONE_STUDY_RUNS", str(tmp_path / "runs"))
    before = sorted(p.name for p in paths.LATENCY_DATA.iterdir())
    args = ["measure", "--models", "mobileone_s0", "--runs", "2", "--warmup", "0",
            "--input-size", "32", "--threads", "1", "--device", "Test CPU", "--no-progress"]
    assert main(args) == 0
    out = tmp_path / "runs" / "measurements" / "local-test_cpu-torch.csv"
    assert f"wrote 1 row to {out}" in capsys.readouterr().out
    assert load_latency(out)["device"].tolist() == ["Test CPU"]
    assert sorted(p.name for p in paths.LATENCY_DATA.iterdir()) == before
