"""Data-parallel training (minidl.distributed.world): 2 ranks on gloo compute what 1 process computes.

The ranks are real processes on 127.0.0.1, joined as torchrun joins them (RANK, WORLD_SIZE, ...
in the environment); the two-machine test runs torchrun itself, twice, as two "nodes".
"""
import os
import signal
import socket
import subprocess
import sys

import pytest
import torch
import torch.multiprocessing as mp

from minidl.distributed import world as distributed
from minidl.training.checkpoint import load_checkpoint
from minidl.app.cli import main
from minidl.config.train import TrainConfig
from minidl.data.loader import Loader
from minidl.errors import ConfigError
from minidl.training.evaluate import Totals
from minidl.training.models import build_loss, build_model, canonical_state
from minidl.training.optimizers import build_optimizer
from minidl.training.fit import fit

WORLD = 2
# every model and twin with SGD (weight decay where the optimizer has it), and the factors feeding torch's Adam
RUNS = [(kind, impl, "sgd") for kind in ("linreg", "softmax", "mlp") for impl in ("scratch", "concise", "manual")]
RUNS += [("mlp", "manual", "adam"), ("mlp", "concise", "adam")]
# the manual sync in each of its forms (products all-reduced, factors all-gathered), with momentum too
RUNS += [("mlp", "manual", optimizer, factors) for optimizer in ("sgd", "nesterov") for factors in (False, True)]
RUNS += [("mlp", impl, "dropout") for impl in ("scratch", "concise", "manual")]  # each rank its rows of the masks
GLOBAL_BATCH, N, D, C = 16, 96, 6, 3  # 6 steps an epoch, 8 examples per rank and step


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rank_env(rank: int, port: int) -> dict:
    """The environment torchrun gives rank ``rank`` of WORLD on this machine."""
    return {"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(WORLD), "LOCAL_WORLD_SIZE": str(WORLD),
            "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "OMP_NUM_THREADS": "1"}


def float64_data():
    g = torch.Generator().manual_seed(1)
    X = torch.randn(N, D, generator=g, dtype=torch.float64)
    return X, torch.randint(0, C, (N,), generator=g), X @ torch.randn(D, generator=g, dtype=torch.float64)


def in_float64(model):
    """Return ``model`` with float64 parameters (the optimizer is built after, over these)."""
    if isinstance(model, torch.nn.Module):
        return model.double()
    for name, param in model.named_parameters():
        setattr(model, name, param.detach().double().requires_grad_(param.requires_grad))
    return model


def one_epoch(kind, impl, optimizer, world, factors=None):
    """Return the canonical weights and the epoch's means after one epoch, in float64, on this rank
    (``factors``: the manual sync's form, see GradientSync; ``nesterov``: SGD with Nesterov momentum;
    ``dropout``: SGD, the MLP dropping half its hidden units)."""
    X, labels, target = float64_data()
    y = target if kind == "linreg" else labels
    momentum = dict(momentum=0.9, nesterov=True) if optimizer == "nesterov" else {}
    dropout = (0.5,) if optimizer == "dropout" else ()
    optimizer = "sgd" if optimizer in ("nesterov", "dropout") else optimizer
    model = in_float64(build_model(kind, impl, num_inputs=D, num_outputs=C, hidden=(5,), seed=3, dropout=dropout))
    loss_fn = build_loss(kind, impl, model)
    net, opt = world.parallel(model, build_optimizer(model, impl, optimizer, 0.1, weight_decay=0.01, **momentum))
    if factors is not None and world.size > 1:
        opt.factors = factors
    loader = Loader(X, y, world.local_batch(GLOBAL_BATCH), shuffle=True, seed=5, rank=world.rank,
                    world_size=world.size)
    totals = Totals(kind != "linreg")
    for X_b, y_b in loader:  # the training loop's five lines
        y_hat = net(X_b)
        loss = loss_fn(y_hat, y_b)
        opt.zero_grad()
        loss.backward()
        opt.step()
        totals.add(loss.detach(), y_hat.detach(), y_b)
    return {k: v.clone() for k, v in canonical_state(model).items()}, totals.means("train", world.sum)


def float32_data():
    g = torch.Generator().manual_seed(2)
    X = torch.rand(400, 28, 28, generator=g)
    y = torch.randint(0, 10, (400,), generator=g)
    return X[:320], y[:320], X[320:], y[320:]


def ranks_main(rank, port, folder):
    """Rank ``rank``'s half of test_two_ranks_equal_one_process: results to folder/rank<r>.pt."""
    os.environ.update(rank_env(rank, port))
    torch.set_num_threads(1)
    out = {}
    with distributed.started(torch.device("cpu"), "nothing saved") as world:
        for run in RUNS:
            out[run] = one_epoch(*run[:3], world, *run[3:])
    data = float32_data()
    common = dict(batch_size=32, seed=4, device="cpu", plots=False)
    soft = fit(TrainConfig(model="softmax", epochs=1, **common), data=data, progress=False)
    out["softmax fit"] = soft.model.W.clone(), soft.rows[-1]
    mlp = TrainConfig(model="mlp", hidden=(16,), epochs=2, **common)
    whole = fit(mlp.replace(out=str(folder / "whole")), data=data, progress=False)  # rank 0 writes the folders
    fit(mlp.replace(epochs=1, out=str(folder / "half")), data=data, progress=False)
    fit(mlp.replace(epochs=1, out=str(folder / "half-1")), data=data, progress=False)
    resumed = fit(mlp.replace(out=str(folder / "half")), data=data, resume=folder / "half", progress=False)
    out["mlp whole"], out["mlp resumed"] = whole.model.W1.clone(), resumed.model.W1.clone()
    bad = (data[0], (data[1] + rank) % 10, data[2], data[3])  # rank 1's labels differ
    try:
        fit(TrainConfig(model="softmax", epochs=1, **common), data=bad, progress=False)
    except ConfigError as e:
        out["mismatch"] = str(e)
    torch.save(out, folder / f"rank{rank}.pt")


def test_two_ranks_equal_one_process(tmp_path):
    """2 ranks = 1 process: every model and twin to 1e-12 in float64, fit in float32, resume, refusals."""
    mp.spawn(ranks_main, args=(free_port(), tmp_path), nprocs=WORLD, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(WORLD)]
    alone = distributed.World()
    for key in RUNS:
        weights, means = one_epoch(*key[:3], alone, *key[3:])
        for rank in ranks:
            got_weights, got_means = rank[key]
            for name, w in weights.items():
                torch.testing.assert_close(got_weights[name], w, rtol=0, atol=1e-12, msg=f"{key} {name}")
            assert got_means == pytest.approx(means, rel=1e-12), key  # the whole data set's, not a shard's
    data = float32_data()
    common = dict(batch_size=32, seed=4, device="cpu", plots=False)
    soft = fit(TrainConfig(model="softmax", epochs=1, **common), data=data, progress=False)
    for rank in ranks:
        torch.testing.assert_close(rank["softmax fit"][0], soft.model.W, rtol=0, atol=1e-5)
        assert rank["softmax fit"][1]["train_loss"] == pytest.approx(soft.rows[-1]["train_loss"], rel=1e-5)
        assert rank["softmax fit"][1]["test_acc"] == soft.rows[-1]["test_acc"]
    # a 2-rank run resumed on 2 ranks is bitwise the uninterrupted one; resumed on 1, to float32 rounding
    assert torch.equal(ranks[0]["mlp resumed"], ranks[0]["mlp whole"])
    assert (tmp_path / "whole" / "checkpoint.pt").is_file() and load_checkpoint(tmp_path / "whole")["epoch"] == 2
    mlp = TrainConfig(model="mlp", hidden=(16,), epochs=2, out=str(tmp_path / "half-1"), **common)
    on_one = fit(mlp, data=data, resume=tmp_path / "half-1", progress=False)
    torch.testing.assert_close(on_one.model.W1, ranks[0]["mlp whole"], rtol=0, atol=1e-5)
    for rank in ranks:
        assert rank["mismatch"].startswith("the ranks hold different data"), rank.get("mismatch")


def test_batch_that_does_not_divide_is_refused(capsys):
    assert main(["train", "mlp", "--nproc", "2", "--batch-size", "255", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not divide among 2 processes" in err, err


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_gpus_is_refused(capsys):
    assert main(["train", "mlp", "--nproc", "2", "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no CUDA GPU" in err, err


def minidl_command(tiny, out, *extra, device="cpu"):
    return [sys.executable, "-m", "minidl", "train", "mlp", "--hidden", "8", "--batch-size", "100",
            "--data-dir", str(tiny), "--out", str(out), "--no-plots", "--device", device, *extra]


def test_nproc_starts_torchrun_and_rank_0_alone_prints(tiny_fashion, tmp_path):
    """``minidl train ... --nproc 2`` (torchrun's Python API) trains what one process trains, printed once."""
    done = subprocess.run(minidl_command(tiny_fashion, tmp_path / "two", "--epochs", "1", "--nproc", "2"),
                          cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert done.stdout.count("test accuracy") == 1 and done.stdout.count("epoch 1/1") == 1, done.stdout
    config = TrainConfig(model="mlp", hidden=(8,), batch_size=100, epochs=1, data_dir=str(tiny_fashion),
                         device="cpu", plots=False)
    alone = fit(config, progress=False)
    two = load_checkpoint(tmp_path / "two" / "checkpoint.pt")
    torch.testing.assert_close(two["model"]["W1"], alone.model.W1, rtol=0, atol=1e-5)


def test_a_dead_rank_ends_the_other_with_one_line(tiny_fashion, tmp_path):
    """SIGKILL rank 1 after epoch 1: rank 0 stops within seconds, one line, nonzero; the checkpoint stays."""
    port, out = free_port(), tmp_path / "run"
    command = minidl_command(tiny_fashion, out, "--epochs", "100000", "--lr", "0.01")
    procs = [subprocess.Popen(command, env={**os.environ, **rank_env(r, port)}, cwd=tmp_path, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for r in range(WORLD)]
    try:
        for line in procs[0].stdout:  # rank 0 prints; wait for a finished epoch
            if line.startswith("epoch 2/"):
                break
        procs[1].send_signal(signal.SIGKILL)
        _, err = procs[0].communicate(timeout=30)
    finally:
        for p in procs:
            p.kill()
    assert procs[0].returncode not in (0, None)
    assert err.count("\n") == 1 and "rank 0 of 2 lost the other ranks" in err and "Traceback" not in err, err
    assert load_checkpoint(out / "checkpoint.pt")["epoch"] >= 1


def test_two_machines_as_torchrun_starts_them(tiny_fashion, tmp_path):
    """The README's two torchrun commands, one per "node" on 127.0.0.1, train what one process trains."""
    endpoint = f"127.0.0.1:{free_port()}"
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc-per-node", "1",
                "--rdzv-endpoint", endpoint]
    train = minidl_command(tiny_fashion, tmp_path / "two", "--epochs", "1")[1:]  # after the interpreter
    nodes = [subprocess.Popen([*torchrun, "--node-rank", str(r), *train], cwd=tmp_path, text=True,
                              env={**os.environ, "OMP_NUM_THREADS": "1"},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for r in (0, 1)]
    try:
        outputs = [node.communicate(timeout=120)[0] for node in nodes]
    finally:
        for node in nodes:
            node.kill()
    assert [node.returncode for node in nodes] == [0, 0], outputs
    assert "test accuracy" in outputs[0] and "test accuracy" not in outputs[1], outputs  # rank 0 alone prints
    config = TrainConfig(model="mlp", hidden=(8,), batch_size=100, epochs=1, data_dir=str(tiny_fashion),
                         device="cpu", plots=False)
    alone = fit(config, progress=False)
    two = load_checkpoint(tmp_path / "two" / "checkpoint.pt")
    torch.testing.assert_close(two["model"]["W1"], alone.model.W1, rtol=0, atol=1e-5)
    assert two["rows"][0]["train_loss"] == pytest.approx(alone.rows[0]["train_loss"], rel=1e-5)


# --- the GPU path (skipped without CUDA; benchmarks/gpu.sh runs these on a GPU machine) -------------

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_the_on_device_divergence_check_is_read_once_and_names_the_first_bad_batch():
    """The GPU's way (no read per batch), exercised on the CPU: at_end() finds batch 3, the first NaN."""
    from minidl.training.watch import DivergenceCheck

    check = DivergenceCheck()
    check.on_device = True  # as on a GPU
    assert not any(check(torch.tensor(v), b) for b, v in enumerate([2.0, 3.0, float("nan"), 5e9, 1.0], 1))
    assert check.at_end() and check.batch == 3 and check.value != check.value
    calm = DivergenceCheck()
    calm.on_device = True
    assert not any(calm(torch.tensor(1.0), b) for b in (1, 2)) and not calm.at_end()


@cuda
def test_fit_on_cuda_matches_the_cpu():
    data = float32_data()
    config = TrainConfig(model="softmax", epochs=2, batch_size=32, seed=4, plots=False)
    on_gpu = fit(config.replace(device="cuda"), data=data, progress=False)
    on_cpu = fit(config.replace(device="cpu"), data=data, progress=False)
    assert on_gpu.model.W.is_cuda
    torch.testing.assert_close(on_gpu.model.W.cpu(), on_cpu.model.W, rtol=0, atol=1e-4)
    assert on_gpu.final["train_loss"] == pytest.approx(on_cpu.final["train_loss"], rel=1e-4)


@cuda
def test_divergence_on_cuda_is_found_at_the_end_of_the_epoch():
    from minidl.training.watch import TrainingDiverged

    config = TrainConfig(model="mlp", hidden=(16,), epochs=3, batch_size=32, lr=1e6, device="cuda", plots=False)
    with pytest.raises(TrainingDiverged, match="in epoch 1, batch [0-9]+"):
        fit(config, data=float32_data(), progress=False)


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs 2 CUDA GPUs (NCCL)")
def test_two_ranks_on_nccl(tiny_fashion, tmp_path):
    out = tmp_path / "run"
    command = minidl_command(tiny_fashion, out, "--epochs", "1", "--nproc", "2", device="cuda")
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert load_checkpoint(out / "checkpoint.pt")["epoch"] == 1
