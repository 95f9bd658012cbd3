"""The one timing loop and the GPU setup, on the CPU: an injected clock gives the expected
statistics, the synchronize step brackets every timed run, warm-up runs are not timed, the
garbage collector is paused, and CUDA is refused with one line where there is none."""

from __future__ import annotations

import contextlib
import gc

import numpy as np
import pytest
import torch
import torch.nn as nn

from analysis.cli import main
from analysis.errors import ConfigError
from analysis.latency import harness, measure_model, runtimes
from analysis.latency.runtimes import Setup, backend_flags, check_setup, timer_for
from analysis.latency.timing import CPU_TIMER, Timer, time_interleaved, time_runs


class FakeClock:
    """A nanosecond clock: each timed run (two clock reads) lasts the next of ``durations_ms``;
    records every event (clock reads, synchronize calls, function calls) in order."""

    def __init__(self, durations_ms):
        self.durations = iter(int(d * 1e6) for d in durations_ms)
        self.now, self.reads, self.events = 1_000, 0, []

    def clock(self) -> int:
        self.reads += 1
        if self.reads % 2 == 0:  # the end of a run
            self.now += next(self.durations)
        self.events.append("clock")
        return self.now

    def sync(self) -> None:
        self.events.append("sync")

    def timer(self, synchronize=True) -> Timer:
        return Timer(self.clock, self.sync if synchronize else None, "fake clock")


DURATIONS = [5.0, 3.0, 4.0, 1.0, 2.0, 9.0, 7.0, 6.0, 8.0, 10.0]


def test_the_loop_returns_the_injected_durations_in_order():
    fake = FakeClock(DURATIONS)
    calls = []
    out = time_runs(lambda: calls.append(1), runs=len(DURATIONS), warmup=3, timer=fake.timer())
    assert out.tolist() == DURATIONS
    assert len(calls) == len(DURATIONS) + 3  # warm-up runs are called, not timed
    assert fake.reads == 2 * len(DURATIONS)


def test_synchronize_brackets_every_timed_run():
    fake = FakeClock([1.0, 2.0])
    time_runs(lambda: fake.events.append("run"), runs=2, warmup=1, timer=fake.timer())
    # warm-up: run, then one synchronize; each timed run: sync, clock, run, sync, clock
    assert fake.events == ["run", "sync"] + ["sync", "clock", "run", "sync", "clock"] * 2
    cpu = FakeClock([1.0])
    time_runs(lambda: cpu.events.append("run"), runs=1, timer=cpu.timer(synchronize=False))
    assert cpu.events == ["clock", "run", "clock"]


def test_garbage_collector_paused_while_timing_and_restored():
    seen = []
    time_runs(lambda: seen.append(gc.isenabled()), runs=4, warmup=2)
    assert seen == [True, True, False, False, False, False] and gc.isenabled()


def test_interleaved_rounds_alternate_their_order():
    order = []
    fns = {n: (lambda n=n: order.append(n)) for n in "abc"}
    out = time_interleaved(fns, runs=3, warmup=1, order=["c", "a", "b"])
    assert order == list("cab") + list("cab") + list("bac") + list("cab")
    assert set(out) == set("abc") and all(len(v) == 3 for v in out.values())
    with pytest.raises(ConfigError, match="order must name every function"):
        time_interleaved(fns, runs=1, order=["a", "b"])


@pytest.mark.parametrize("runs, warmup", [(0, 0), (1, -1), (True, 0), (2.5, 0)])
def test_bad_run_counts(runs, warmup):
    with pytest.raises(ConfigError):
        time_runs(lambda: None, runs=runs, warmup=warmup)


def test_measure_model_with_a_fake_clock_gives_the_expected_statistics():
    fake = FakeClock(DURATIONS)
    row = measure_model(nn.Identity(), runs=len(DURATIONS), warmup=2, input_size=8, threads=1,
                        timer=fake.timer(), count=False, keep_samples=True)
    x = np.array(DURATIONS)
    assert row["samples_ms"] == DURATIONS
    assert row["latency_ms"] == row["min_ms"] == 1.0 and row["statistic"] == "min"
    assert row["median_ms"] == pytest.approx(np.median(x)) == 5.5
    assert row["p90_ms"] == pytest.approx(np.percentile(x, 90))
    assert row["mean_ms"] == pytest.approx(5.5)
    assert row["std_ms"] == pytest.approx(np.std(x, ddof=1), abs=1e-6)
    assert row["cv"] == pytest.approx(np.std(x, ddof=1) / 5.5, abs=1e-6)
    assert row["clock"] == "fake clock with device synchronize"


# ---------------------------------------------------------------- setups (no CUDA needed)


def test_cuda_timer_synchronizes_with_the_device():
    assert timer_for(Setup("torch", 1, "cuda")).synchronize is torch.cuda.synchronize
    assert timer_for(Setup("torch", 1, "cpu")) == CPU_TIMER and CPU_TIMER.synchronize is None
    assert CPU_TIMER.describe() == "time.perf_counter_ns"


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(runtimes, "cuda_available", lambda: False)


def test_cuda_without_a_gpu_is_a_config_error(no_cuda):
    built = []
    with pytest.raises(ConfigError, match="--accelerator cuda: no CUDA device"):
        measure_model(nn.Sequential(), accelerator="cuda",
                      counter=lambda *a: built.append(a))
    with pytest.raises(ConfigError, match="no CUDA device"):
        check_setup(Setup("torch", 1, "cuda", "graph", "fp16"))


def test_cuda_without_a_gpu_is_one_line_and_exit_2(no_cuda, capsys, tmp_path):
    code = main(["measure", "--models", "mobileone_s0", "--accelerator", "cuda",
                 "--out", str(tmp_path / "x.csv")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error: --accelerator cuda")
    assert not (tmp_path / "x.csv").exists()


def test_device_cuda_label_without_the_accelerator_is_refused(capsys):
    assert main(["measure", "--models", "mobileone_s0", "--device", "cuda"]) == 2
    assert "only labels the device column" in capsys.readouterr().err


@pytest.mark.parametrize("setup, message", [
    (Setup("onnxruntime", 1, "cpu", "eager", "fp16"), "onnxruntime is timed on the CPU"),
    (Setup("torch", 1, "cpu", "graph"), "needs --accelerator cuda"),
    (Setup("torch", 1, "cpu", "lazy"), "unknown mode"),
    (Setup("torch", 1, "cpu", "eager", "int4"), "unknown precision"),
    (Setup("tflite", 1), "unknown runtime"),
    (Setup("torch", 0), "threads"),
])
def test_setups_that_cannot_run_are_refused(setup, message):
    with pytest.raises(ConfigError, match=message):
        check_setup(setup)


def test_backend_flags_are_recorded_and_restored():
    before = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.benchmark)
    with backend_flags(Setup("torch", 1, "cuda", tf32=True)):
        assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
        assert torch.backends.cudnn.benchmark  # default on for cuda
    with backend_flags(Setup("torch", 1, "cpu")):
        assert not torch.backends.cudnn.benchmark and not torch.backends.cuda.matmul.allow_tf32
    assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.benchmark) == before
    assert Setup("torch", 1, "cuda", cudnn_benchmark=False).benchmark is False


def test_bf16_runs_on_the_cpu_without_touching_the_callers_model():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    row = measure_model(net, precision="bf16", runs=2, warmup=1, input_size=16, threads=1,
                        fuse=False, count=False)
    assert row["precision"] == "bf16" and row["latency_ms"] > 0
    assert next(net.parameters()).dtype == torch.float32
    assert row["tf32"] is None and row["cudnn_benchmark"] is None  # CPU: not applicable


def test_the_harness_times_through_the_one_loop(monkeypatch):
    calls = []

    def spy(fn, **kwargs):
        calls.append(kwargs)
        return np.array([2.0, 1.0])

    monkeypatch.setattr(harness, "time_runs", spy)
    row = measure_model(nn.Identity(), runs=2, warmup=0, input_size=8, threads=1, count=False)
    assert len(calls) == 1 and calls[0]["runs"] == 2 and row["min_ms"] == 1.0


def test_graph_mode_captures_once_after_warmup_and_replays(monkeypatch):
    """The CUDA calls replaced by recorders: the order of warm-up, capture and replay."""
    events = []

    class FakeStream:
        def wait_stream(self, other):
            pass

    class FakeGraph:
        def replay(self):
            events.append("replay")

    @contextlib.contextmanager
    def capture(graph):
        events.append("capture")
        yield
        events.append("captured")

    class Net(nn.Module):
        def forward(self, x):
            events.append("forward")
            return x

    monkeypatch.setattr(runtimes, "cuda_available", lambda: True)
    monkeypatch.setattr(runtimes, "_placed", lambda model, x, setup: (model.eval(), x))
    for name, fake in (("Stream", FakeStream), ("current_stream", FakeStream),
                       ("stream", lambda s: contextlib.nullcontext()), ("CUDAGraph", FakeGraph),
                       ("graph", capture), ("synchronize", lambda: events.append("sync"))):
        monkeypatch.setattr(torch.cuda, name, fake)
    row = measure_model(Net(), accelerator="cuda", mode="graph", runs=2, warmup=1,
                        input_size=8, threads=1, count=False, fuse=False)
    warm = ["forward"] * runtimes.GRAPH_CAPTURE_WARMUP
    assert events == [*warm, "capture", "forward", "captured", "sync",  # captured once
                      "replay", "sync",  # the timing loop's warm-up round
                      *["sync", "replay", "sync"] * 2]  # each timed run, synchronized
    assert (row["mode"], row["accelerator"], row["tf32"], row["cudnn_benchmark"]) == (
        "graph", "cuda", False, True)
    assert row["clock"] == "time.perf_counter_ns with device synchronize"
