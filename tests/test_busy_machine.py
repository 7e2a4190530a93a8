"""A busy machine: the same run gives the same bits beside other work, on the cores that work leaves free.

The runs under load happen in a child process beside a CPU hog and a process that allocates and
frees memory without pause; each child imports minidl before torch computes anything, as the
``minidl`` command does (MKL reads its reproducible mode at its first product).
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from contextlib import contextmanager

import pytest
import torch

import minidl
from minidl.training import threads as T
from minidl.training.checkpoint import load_checkpoint

HOG = "while True: pass"
CHURN = textwrap.dedent("""
    import random
    while True:
        block = bytearray(random.randint(1, 64) << 20)  # 1 to 64 MB, zero-filled, then freed
        block[::4096] = b"x" * len(block[::4096])
""")

# A child process: fit the concise MLP on arrays big enough that its weight gradient is one matrix
# product over 4,096 rows (MKL splits such a product between threads), once per spec; print a
# fingerprint of each run's weights and metrics (all but the seconds), and the threads it ran on.
RUNS = textwrap.dedent("""
    import hashlib, json, sys, tempfile
    import minidl  # first: MKL's mode is set before torch computes
    import torch

    g = torch.Generator().manual_seed(0)
    X = torch.rand(8192, 784, generator=g)
    y = (X[:, :10].argmax(1) + (X[:, 10] > 0.5)) % 10
    data = (X[:6144], y[:6144], X[6144:], y[6144:])

    def fingerprint(history):
        rows = [{k: v for k, v in row.items() if k != "seconds"} for row in history.rows]  # all but the time
        digest = hashlib.sha256(json.dumps(rows, sort_keys=True).encode())
        for value in history.model.state_dict().values():
            digest.update(value.detach().contiguous().numpy().tobytes())
        return digest.hexdigest()

    out = []
    for spec in json.loads(sys.argv[1]):
        config = minidl.TrainConfig(model="mlp", impl="concise", hidden=(256,), lr=0.1, batch_size=4096,
                                    device="cpu", plots=False, epochs=spec.get("epochs", 2),
                                    threads=spec.get("threads"))
        if spec.get("resumed"):  # 1 epoch into a run folder, then --resume to 2
            with tempfile.TemporaryDirectory() as tmp:
                first = minidl.fit(config.replace(epochs=1, out=tmp + "/run"), data=data, progress=False)
                history = minidl.fit(config.replace(out=tmp + "/run"), data=data, resume=tmp + "/run",
                                     progress=False)
        else:
            history = minidl.fit(config, data=data, progress=False)
        out.append({"fingerprint": fingerprint(history), "threads": history.summary["threads"]})
    print(json.dumps(out))
""")


def runs(specs) -> list[dict]:
    """Return the fingerprint and threads of each run ``specs`` describes, trained in a child process."""
    done = subprocess.run([sys.executable, "-c", RUNS, json.dumps(specs)], capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@contextmanager
def busy(*programs):
    """Keep the machine busy with ``programs`` (Python source, one process each) inside the block."""
    procs = [subprocess.Popen([sys.executable, "-c", p]) for p in programs]
    try:
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


@pytest.mark.slow
def test_runs_beside_a_cpu_hog_and_memory_churn_repeat_quiet_runs_bitwise():
    """Under load, runs on a given thread count, and a run stopped and resumed, end with the weights
    and metrics of the quiet run on that count; those left to choose record the count they chose."""
    quiet = {r["threads"]: r["fingerprint"] for r in runs([{"threads": 1}, {"threads": 2}])}
    with busy(HOG, CHURN):
        loaded = runs([{}, {}, {"resumed": True}, {"threads": 2}, {"threads": 2, "resumed": True}])
    assert [r["fingerprint"] for r in loaded] == [quiet[r["threads"]] for r in loaded]
    assert [r["threads"] for r in loaded][3:] == [2, 2]  # --threads: kept, whatever the load
    # left to choose, a run beside the hog leaves its core to it (a resume keeps the count of its first part)
    assert all(r["threads"] <= max(1, T.usable_cores() - 1) for r in loaded[:3])


def test_beside_a_busy_process_a_run_takes_only_the_free_cores():
    with busy(HOG):
        meter = T.LoadMeter()  # made as fit begins: it measures while the data loads
        T.time.sleep(1.0)  # longer than MIN_WINDOW: CPU time over the window, not an instant count
        assert 1 <= T.free_cores(64, meter) <= max(1, T.usable_cores() - 1)  # the hog's core is not free
        assert T.free_cores(1, meter) == 1  # never more than torch's own count (OMP_NUM_THREADS)


def test_the_instant_count_sees_a_busy_process_when_too_little_time_has_passed():
    with busy(HOG):
        T.time.sleep(0.3)
        assert T._running_elsewhere() >= 1  # the hog, running now
        assert 1 <= T.free_cores(64, T.LoadMeter()) <= max(1, T.usable_cores() - 1)  # a meter made just now


def test_a_resume_computes_on_the_threads_its_run_recorded(tmp_path, monkeypatch):
    X, y = minidl.synthetic_data([2.0, -3.4], 4.2, 600)
    data = (X[:500], y[:500], X[500:], y[500:])
    config = minidl.TrainConfig(model="linreg", device="cpu", epochs=1, out=str(tmp_path / "run"), plots=False)
    monkeypatch.setattr(T, "free_cores", lambda default, meter=None: 1)
    assert minidl.fit(config, data=data, progress=False).summary["threads"] == 1
    assert load_checkpoint(tmp_path / "run")["threads"] == 1
    monkeypatch.setattr(T, "free_cores", lambda default, meter=None: 2)  # the machine is quiet now
    resumed = minidl.fit(config.replace(epochs=2), data=data, resume=tmp_path / "run", progress=False)
    assert resumed.summary["threads"] == 1
    asked = minidl.fit(config.replace(epochs=3, threads=2), data=data, resume=tmp_path / "run", progress=False)
    assert asked.summary["threads"] == 2  # --threads on a resume: allowed, as --device is
    assert minidl.fit(config.replace(out=None), data=data, progress=False).summary["threads"] == 2


def test_fit_gives_back_torchs_thread_count():
    before = torch.get_num_threads()
    X, y = minidl.synthetic_data([2.0], 1.0, 100)
    minidl.fit(minidl.TrainConfig(model="linreg", device="cpu", epochs=1, threads=before + 1), data=(X, y),
               progress=False)
    assert torch.get_num_threads() == before


@pytest.mark.parametrize("value", [0, -1, 1025, 1.5, True])
def test_threads_must_be_a_whole_number_of_threads(value):
    with pytest.raises(minidl.ConfigError, match="--threads must be a whole number from 1 to 1024"):
        minidl.TrainConfig(model="linreg", threads=value)


def test_an_estimator_and_the_books_trainer_compute_on_the_free_cores(monkeypatch):
    from minidl.sklearn import threads as estimator_threads

    before = torch.get_num_threads()
    monkeypatch.setattr(estimator_threads, "free_cores", lambda default: 1)  # one core left by other work
    with estimator_threads.threads_for(256, [784, 1024, 10], torch.device("cpu")):  # no small network
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before

    from minidl import d2l
    from minidl.d2l import trainer as trainer_module

    seen = []
    monkeypatch.setattr(trainer_module, "free_cores", lambda default: 1)
    monkeypatch.setattr(d2l.Trainer, "fit_epoch", lambda self: seen.append(torch.get_num_threads()))
    model = d2l.LinearRegression(lr=0.03)
    model.board.display = False
    d2l.Trainer(max_epochs=2).fit(model, d2l.SyntheticRegressionData(torch.tensor([2.0]), 1.0))
    assert seen == [1, 1] and torch.get_num_threads() == before
