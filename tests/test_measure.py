"""The measurement harness: statistics, protocol (warm-up dropped, input pre-allocated, fused
form), output file (readable by load_latency, incremental, resumable, never overwritten)."""

from __future__ import annotations

import statistics
import time

import numpy as np
import pytest
import torch
import torch.nn as nn
from scipy import stats as sps

from analysis.cli import main
from analysis.errors import ConfigError
from analysis.latency import harness, load_latency, measure_model, measure_models, sample_stats
from analysis.latency.sampling import trimmed_mean

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
        seen[fuse] = (set(calls), row["fused"])
    assert seen[True] == ({True}, True)
    assert seen[False] == ({False}, False)


def test_threads_are_restored_and_recorded():
    before = torch.get_num_threads()
    row = measure_model(Recorder(), runs=2, warmup=0, input_size=16, threads=1)
    assert torch.get_num_threads() == before and row["threads"] == 1


def test_row_context_and_registry_model():
    row = measure_model("MobileOne-S0", runs=3, warmup=1, input_size=32, threads=1)
    assert row["model"] == "MobileOne-S0" and row["model_id"] == "mobileone_s0"
    assert row["input_size"] == 32 and row["batch_size"] == 1 and row["precision"] == "fp32"
    assert row["statistic"] == "min" and row["runtime"] == "torch"
    assert row["torch_version"] == torch.__version__ and row["runtime_version"]
    for key in ("cpu", "cores_logical", "date", "onnxruntime_version", "python_version"):
        assert row[key]
    assert row["macs"] is None  # zoo models: counts come from the registry, not the file


def test_module_outside_zoo_carries_its_counts():
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())
    row = measure_model(net, runs=2, warmup=0, input_size=16, threads=1, name="TinyNet")
    assert row["model"] == "TinyNet" and row["model_id"] is None
    assert row["params"] == 3 * 8 * 9 + 8
    assert row["macs"] == 8 * 14 * 14 * 3 * 9  # conv output positions x kernel volume


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
    frame = measure_models("mobileone_s0,mobileone_s1", out=out, **small())
    assert frame["model"].tolist() == ["MobileOne-S0", "MobileOne-S1"]
    table = load_latency(out)
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
    real = harness.measure_model
    calls = []

    def flaky(model, *args, **kwargs):
        calls.append(model)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(model, *args, **kwargs)

    monkeypatch.setattr(harness, "measure_model", flaky)
    with pytest.raises(KeyboardInterrupt):
        measure_models("mobileone_s0,mobileone_s1,mobileone_s2", out=out, **small())
    assert load_latency(out)["model_id"].tolist() == ["mobileone_s0"]
    monkeypatch.setattr(harness, "measure_model", real)
    frame = measure_models("mobileone_s0,mobileone_s1,mobileone_s2", out=out, resume=True,
                           **small())
    assert frame["model"].tolist() == ["MobileOne-S1", "MobileOne-S2"]
    assert frame.attrs["skipped"] == ["MobileOne-S0"]
    assert load_latency(out)["model_id"].tolist() == ["mobileone_s0", "mobileone_s1",
                                                      "mobileone_s2"]


def test_resume_refuses_a_different_context(tmp_path):
    out = tmp_path / "run.csv"
    measure_models("mobileone_s0", out=out, **small())
    with pytest.raises(ConfigError, match="input_size|px"):
        measure_models("mobileone_s0", out=out, resume=True,
                       **{**small(), "input_size": 64})
    with pytest.raises(ConfigError, match="runtime"):
        measure_models("mobileone_s0", "onnxruntime", out=out, resume=True, **small())
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

    frame = measure_models({"Broken": Broken(), "Fine": Recorder()}, **small())
    assert frame["model"].tolist() == ["Fine"]
    assert frame.attrs["failed"] == {"Broken": "RuntimeError: boom"}
    with pytest.raises(RuntimeError):
        measure_models({"Broken": Broken()}, on_error="raise", **small())


def test_measure_command(tmp_path, capsys):
    out = tmp_path / "m.csv"
    args = ["measure", "--models", "mobileone_s0", "--runs", "2", "--warmup", "0",
            "--input-size", "32", "--threads", "1", "--out", str(out), "--no-progress"]
    assert main(args) == 0
    assert "wrote 1 rows" in capsys.readouterr().out
    assert load_latency(out)["input_size"].tolist() == [32]
    assert main(args) == 2
    assert "exists; pass --resume" in capsys.readouterr().err
    assert main([*args, "--resume"]) == 0
    assert "1 models already there" in capsys.readouterr().out
    assert main(["measure", "--models", "mobileone_s9", "--out", str(out)]) == 2


def test_measure_writes_outside_the_study_by_default(tmp_path, monkeypatch, capsys):
    from analysis import paths

    monkeypatch.setenv("MOBILEONE_STUDY_RUNS", str(tmp_path / "runs"))
    before = sorted(p.name for p in paths.LATENCY_DATA.iterdir())
    args = ["measure", "--models", "mobileone_s0", "--runs", "2", "--warmup", "0",
            "--input-size", "32", "--threads", "1", "--device", "Test CPU", "--no-progress"]
    assert main(args) == 0
    out = tmp_path / "runs" / "measurements" / "local-test_cpu-torch.csv"
    assert f"wrote 1 rows to {out}" in capsys.readouterr().out
    assert load_latency(out)["device"].tolist() == ["Test CPU"]
    assert sorted(p.name for p in paths.LATENCY_DATA.iterdir()) == before
