"""On one CUDA GPU: minidl's fit() against a plain torch loop and the book's recipe, seconds per epoch.

    python benchmarks/bench_gpu.py [--quick]

The lessons' jobs (bench_mlp's: Fashion-MNIST, batch 256, the MLP 784-256-10 at lr 0.5 and softmax
regression at lr 0.1), on the same GPU:

- minidl ``fit(device="cuda")``, manual and concise twins: the whole set on the GPU, batches by
  on-device index, no per-step synchronisation (the divergence check is read once per epoch);
- a plain torch loop: the data on the GPU, a randperm per epoch, ``loss.item()`` every batch;
- the book's recipe: a per-image PIL dataset in a DataLoader with 4 workers, each batch copied to
  the GPU, train_ch3's loop (its Accumulator reads every batch's loss).

Each contender's time is the median seconds per epoch after a warm-up epoch. Writes
benchmarks/results/gpu.json (the GPU named). Run it through ``benchmarks/gpu.sh``; it refuses a
machine without CUDA. ``--quick``: 2 epochs each, no book recipe.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings

import torch
from torch import nn

from common import MLP, SOFTMAX, Data, Task, load_data, machine, print_table, torch_model, write_json


def cuda_seconds(fn) -> float:
    torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    torch.cuda.synchronize()
    return time.perf_counter() - start


def minidl_epochs(task: Task, impl: str, epochs: int) -> dict:
    from minidl.config.train import TrainConfig
    from minidl.training.fit import fit

    hidden = {"hidden": (task.hidden,)} if task.hidden else {}
    config = TrainConfig(model=task.name, impl=impl, epochs=epochs, lr=task.lr, batch_size=task.batch_size,
                         **hidden, device="cuda", data_dir=os.environ.get("MINIDL_DATA_DIR"), plots=False)
    history = fit(config, progress=False)  # an epoch's seconds end with the epoch's one read of the device
    return {"seconds_per_epoch": statistics.median(r["seconds"] for r in history.rows[1:]),
            "test_acc": history.final["test_acc"]}


def plain_epochs(data: Data, task: Task, epochs: int) -> dict:
    device = torch.device("cuda")
    X = (data.X_train.reshape(len(data.X_train), -1).float() / 255).to(device)
    y = data.y_train.to(device)
    net = torch_model(task, flatten=False).to(device)
    loss_fn, optimizer = nn.CrossEntropyLoss(), torch.optim.SGD(net.parameters(), lr=task.lr)

    def epoch():
        order = torch.randperm(len(X), device=device)
        for start in range(0, len(X), task.batch_size):
            rows = order[start:start + task.batch_size]
            loss = loss_fn(net(X[rows]), y[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss.item()  # the running loss most tutorials print

    times = [cuda_seconds(epoch) for _ in range(epochs)]
    return {"seconds_per_epoch": statistics.median(times[1:])}


def book_epochs(data: Data, task: Task, epochs: int) -> dict:
    from torch.utils.data import DataLoader

    from bench_loader import PILFashionMNIST

    device = torch.device("cuda")
    train_iter = DataLoader(PILFashionMNIST(data.X_train, data.y_train), task.batch_size, shuffle=True,
                            num_workers=4)
    net = torch_model(task).to(device)
    loss, trainer = nn.CrossEntropyLoss(reduction="none"), torch.optim.SGD(net.parameters(), lr=task.lr)

    def epoch():
        total = 0.0
        for X, y in train_iter:
            X, y = X.to(device), y.to(device)
            l = loss(net(X), y)
            trainer.zero_grad()
            l.mean().backward()
            trainer.step()
            total += float(l.sum())

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*worker processes.*")
        times = [cuda_seconds(epoch) for _ in range(epochs)]
    return {"seconds_per_epoch": statistics.median(times[1:])}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 epochs each, no book recipe")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        sys.exit("bench_gpu.py: torch sees no CUDA GPU here; run it on a machine with one")
    data, epochs = load_data(), 2 if args.quick else 4
    rows = []
    for task in (MLP, SOFTMAX):
        runs = [("minidl fit() (manual)", lambda: minidl_epochs(task, "manual", epochs)),
                ("minidl fit() (concise)", lambda: minidl_epochs(task, "concise", epochs)),
                ("plain torch loop, data on the GPU", lambda: plain_epochs(data, task, epochs))]
        if not args.quick:
            runs.append(("book recipe: PIL dataset, 4 workers", lambda: book_epochs(data, task, 2)))
        for name, run in runs:
            rows.append({"task": task.name, "contender": name, **run()})
        base = rows[-len(runs)]["seconds_per_epoch"]
        for row in rows[-len(runs):]:
            row["x minidl"] = row["seconds_per_epoch"] / base
    gpu = torch.cuda.get_device_name()
    print_table(rows, [("task", "task", "s"), ("contender", "contender", "s"),
                       ("seconds_per_epoch", "s/epoch", ".3f"), ("x minidl", "x minidl", ".2f")],
                f"Seconds per epoch on {gpu} ({data.origin})")
    payload = {"machine": {**machine(), "gpu": gpu}, "quick": args.quick, "rows": rows}
    write_json("gpu", payload)
    return payload


if __name__ == "__main__":
    main()
