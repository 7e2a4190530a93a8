"""The contenders table: one lesson's job done by the book's recipe, scikit-learn, Keras, a plain
PyTorch loop and minidl, in one run, on the same data, with the same hyperparameters.

    python benchmarks/bench_mlp.py [--quick] [--task mlp|softmax|both]

The job: Fashion-MNIST's 60,000 training images (float32 in [0, 1]), 5 epochs of minibatch SGD
with batch 256, every parameter drawn from normal(0, 0.01), the loss a mean cross-entropy; the MLP
is 784-256-10 with ReLU at lr 0.5, softmax regression 784-10 at lr 0.1.

"seconds" is the training time of the 5 epochs: the passes over the training set, without
building the model or the data, without importing anything and without the per-epoch test
evaluation the book and minidl also do. Only the `minidl train` rows are different: they are the
wall time of the whole command as a fresh process (interpreter start, imports, reading the cached
data, 5 epochs with their evaluations, checkpoints and, unless --no-plots, the figures); each
also records the run's own training seconds and the time of a bare ``python -c "import torch"``,
and ``overhead_seconds`` is what the command costs beyond those two. Short
contenders run 3 times (median); the book's recipe, which takes tens of seconds, runs once.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import replace
from pathlib import Path

import torch
from torch import nn

from book_recipe import book_recipe
from common import (MLP, SOFTMAX, Data, Task, check_quiet, figure, load_data, machine, median_run,
                    print_table, save_figure, torch_model, write_json)

MINIDL = "minidl fit() (manual, the default)"  # the row the ratios divide by


# --- 1. the book's recipe: see book_recipe.py ---------------------------------------------------

# --- 2. scikit-learn ---------------------------------------------------------------------------

def sklearn_fit(data: Data, task: Task, dtype: str = "float32") -> dict:
    """Train sklearn's MLPClassifier (SGD, no momentum, no L2) or, for softmax, LogisticRegression."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    (X, y), (X_test, y_test) = data.floats("train"), data.floats("test")
    X, X_test = X.astype(dtype), X_test.astype(dtype)
    if task.hidden:
        model = MLPClassifier((task.hidden,), solver="sgd", learning_rate_init=task.lr, momentum=0,
                              batch_size=task.batch_size, max_iter=task.epochs, alpha=0,
                              random_state=0)
    else:  # lbfgs on the whole set: sklearn has no minibatch-SGD softmax regression
        model = LogisticRegression(C=float("inf"), max_iter=100)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=ConvergenceWarning)  # 5 epochs is the plan
        start = time.perf_counter()
        model.fit(X, y)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "test_acc": float(model.score(X_test, y_test)),
            "iterations": int(model.n_iter_) if task.hidden else int(model.n_iter_[0])}


# --- 3. Keras 3 on the torch backend ----------------------------------------------------------

def keras_fit(data: Data, task: Task) -> dict:
    """Train the same model with Keras 3 (torch backend): compile, then fit(batch_size=256)."""
    os.environ["KERAS_BACKEND"] = "torch"  # before the import: without it Keras wants TensorFlow
    import keras

    keras.utils.set_random_seed(0)
    init = keras.initializers.RandomNormal(0.0, task.init_std, seed=0)
    dense = dict(kernel_initializer=init, bias_initializer=init)
    layers = [keras.layers.Dense(task.hidden, activation="relu", **dense)] if task.hidden else []
    model = keras.Sequential([keras.Input((784,)), *layers, keras.layers.Dense(10, **dense)])
    model.compile(optimizer=keras.optimizers.SGD(task.lr),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    (X, y), (X_test, y_test) = data.floats("train"), data.floats("test")
    start = time.perf_counter()
    model.fit(X, y, batch_size=task.batch_size, epochs=task.epochs, shuffle=True, verbose=0)
    seconds = time.perf_counter() - start
    _, test_acc = model.evaluate(X_test, y_test, batch_size=1024, verbose=0)
    return {"seconds": seconds, "test_acc": float(test_acc), "keras": keras.__version__}


# --- 4. a plain in-memory PyTorch loop -------------------------------------------------------

def plain_loop(data: Data, task: Task, batching: str) -> dict:
    """Train with the loop most tutorials write: ``.item()`` per batch for the running loss.

    batching "dataloader": DataLoader(TensorDataset(X, y), shuffle=True), per-sample indexing;
    batching "slices": one randperm per epoch, a tensor index per batch.
    """
    from torch.utils.data import DataLoader, TensorDataset

    X = data.X_train.reshape(len(data.X_train), -1).float() / 255
    y = data.y_train
    net = torch_model(task, flatten=False)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=task.lr)
    if batching == "dataloader":
        loader = DataLoader(TensorDataset(X, y), task.batch_size, shuffle=True)
    else:
        def loader():
            order = torch.randperm(len(X))
            for start in range(0, len(X), task.batch_size):
                rows = order[start:start + task.batch_size]
                yield X[rows], y[rows]
    start = time.perf_counter()
    for _ in range(task.epochs):
        total = 0.0
        for Xb, yb in (loader if batching == "dataloader" else loader()):
            loss = loss_fn(net(Xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(yb)
    seconds = time.perf_counter() - start
    with torch.no_grad():
        X_test = data.X_test.reshape(len(data.X_test), -1).float() / 255
        test_acc = (net(X_test).argmax(dim=1) == data.y_test).float().mean().item()
    return {"seconds": seconds, "test_acc": test_acc}


# --- 5. minidl -------------------------------------------------------------------------------

def minidl_fit(data: Data, task: Task, impl: str) -> dict:
    """Train with ``minidl.training.fit.fit`` in this process; seconds = its training time (no evaluation)."""
    from minidl.config.train import TrainConfig
    from minidl.training.fit import fit

    hidden = {"hidden": (task.hidden,)} if task.hidden else {}
    config = TrainConfig(model=task.name, impl=impl, epochs=task.epochs, lr=task.lr,
                         batch_size=task.batch_size, **hidden, device="cpu",
                         data_dir=os.environ.get("MINIDL_DATA_DIR"), plots=False)
    start = time.perf_counter()
    history = fit(config, progress=False)
    return {"seconds": history.summary["train_seconds"], "test_acc": history.final["test_acc"],
            "wall_seconds": time.perf_counter() - start}


def minidl_command(task: Task, plots: bool) -> dict:
    """Run ``minidl train TASK --epochs 5`` as a fresh process; seconds = its wall time.

    The lesson's defaults supply the rest (lr 0.5 for the MLP, 0.1 for softmax, batch 256).
    """
    args = ["train", task.name, "--epochs", str(task.epochs), *([] if plots else ["--no-plots"])]
    exe = Path(sys.executable).with_name("minidl")  # the installed command, as a user runs it
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "minidl"]
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        done = subprocess.run([*command, *args, "--out", str(Path(tmp) / "run")],
                              capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"minidl {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
        train_seconds = json.loads((Path(tmp) / "run" / "summary.json").read_text())["train_seconds"]
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch"], check=True)  # what any torch program pays first
    import_torch = time.perf_counter() - start
    found = re.search(r"test accuracy ([0-9.]+)", done.stdout)
    return {"seconds": seconds, "test_acc": float(found.group(1)) if found else None,
            "command": "minidl " + " ".join(args), "train_seconds": train_seconds,
            "import_torch_seconds": import_torch, "overhead_seconds": seconds - train_seconds - import_torch}


# --- the table --------------------------------------------------------------------------------

def contenders(task: Task, quick: bool) -> list[tuple[str, object, int]]:
    """Return (name, function of data, repeats) for every contender of ``task``, minidl first."""
    n = 1 if quick else 3
    rows = [
        (MINIDL, lambda d: minidl_fit(d, task, "manual"), n),
        ("minidl fit() (concise: torch.nn, torch.optim)", lambda d: minidl_fit(d, task, "concise"), n),
        ("minidl fit() (scratch: autograd)", lambda d: minidl_fit(d, task, "scratch"), n),
        (f"minidl train {task.name} --no-plots (whole command)", lambda d: minidl_command(task, False), n),
    ]
    if task.hidden:
        rows.append((f"minidl train {task.name} with plots (whole command)",
                     lambda d: minidl_command(task, True), n))
    rows += [
        ("plain loop: randperm slices, .item()", lambda d: plain_loop(d, task, "slices"), n),
        ("plain loop: DataLoader(TensorDataset)", lambda d: plain_loop(d, task, "dataloader"), n),
        ("scikit-learn " + ("MLPClassifier (float32)" if task.hidden else "LogisticRegression (lbfgs)"),
         lambda d: sklearn_fit(d, task), n if task.hidden else 1),  # lbfgs: ~10 s, once
    ]
    if task.hidden:
        rows.append(("scikit-learn MLPClassifier (float64)", lambda d: sklearn_fit(d, task, "float64"), n))
    rows += [
        ("Keras 3, torch backend", lambda d: keras_fit(d, task), n),
        ("book recipe: PIL dataset, 4 workers", lambda d: book_recipe(d, task, 4), 1),
    ]
    if task.hidden and not quick:
        rows.append(("book recipe: PIL dataset, 0 workers", lambda d: book_recipe(d, task, 0), 1))
    return rows


def run(tasks: list[Task], data: Data, quick: bool) -> dict[str, list[dict]]:
    """Time every contender of every task; return {task: rows}, each with its ratio to minidl.

    The in-process minidl rows run last: fit() tunes the process's allocator (minidl.training.memory), and
    the peers must run as they would on their own.
    """
    plain_loop(data, replace(tasks[0], epochs=1), "slices")  # untimed: threads, allocator, caches
    schedule = [(task, name, fn, repeats) for task in tasks for name, fn, repeats in contenders(task, quick)]
    schedule.sort(key=lambda item: item[1].startswith("minidl fit"))  # stable: peers first
    results = {task.name: {} for task in tasks}
    for task, name, fn, repeats in schedule:
        print(f"  {task.name}: {name} ...", file=sys.stderr, flush=True)
        results[task.name][name] = {"contender": name, **median_run(lambda: fn(data), repeats)}
    tables = {}
    for task in tasks:
        rows = [results[task.name][name] for name, _, _ in contenders(task, quick)]  # table order
        base = rows[0]["seconds"]
        for row in rows:
            row["samples_per_s"] = len(data.X_train) * task.epochs / row["seconds"]
            row["ratio"] = row["seconds"] / base
        tables[task.name] = rows
    return tables


COLUMNS = [("contender", "contender", ""), ("seconds", "seconds", ".2f"),
           ("samples_per_s", "samples/s", ",.0f"), ("test_acc", "test acc", ".4f"),
           ("ratio", "x minidl", ".2f")]


def chart(results: dict[str, list[dict]], roofline_seconds: float | None = None):
    """Draw one horizontal bar chart per task: seconds per contender, minidl highlighted."""
    fig = figure(9, 1.2 + 0.42 * sum(len(rows) for rows in results.values()))
    axes = fig.subplots(len(results), 1, squeeze=False, height_ratios=[len(r) for r in results.values()])
    for ax, (task, rows) in zip(axes[:, 0], results.items()):
        names = [r["contender"] for r in rows][::-1]
        seconds = [r["seconds"] for r in rows][::-1]
        limit = roofline_seconds if task == "mlp" else None
        colors = ["tab:orange" if n.startswith("minidl") else "tab:gray" for n in names]
        ax.barh(names, seconds, color=colors)
        for y, s in enumerate(seconds):
            ax.text(s * 1.05, y, f"{s:.2f} s", va="center", fontsize=8)
        low, high = min(seconds + [limit or seconds[0]]) / 1.5, max(seconds) * 2.5
        ax.set_xscale("log")
        ax.set_xlim(low, high)
        ticks = [t for t in (0.2, 0.5, 1, 2, 5, 10, 20, 50, 100) if low <= t <= high]
        ax.set_xticks(ticks, [f"{t:g} s" for t in ticks])
        ax.minorticks_off()
        if limit:
            ax.axvline(limit, color="tab:red", linestyle="--", linewidth=1)
            ax.text(limit * 1.03, -0.45, "matmul roofline", color="tab:red", fontsize=8, va="bottom")
        ax.set_title((MLP if task == "mlp" else SOFTMAX).label, fontsize=10)
        ax.set_xlabel("seconds for the 5 epochs (log scale; lower is better)", fontsize=8)
        ax.tick_params(axis="y", labelsize=8)
    return save_figure(fig, "contenders")


def main(argv=None) -> dict:
    """Run the contenders of the chosen tasks; print the tables; write contenders.json and .png."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run each, fewer contenders")
    parser.add_argument("--task", choices=("mlp", "softmax", "both"), default="both")
    args = parser.parse_args(argv)
    busy = check_quiet("contenders")
    data = load_data()
    print(f"data: {data.origin}; torch {torch.__version__}, {torch.get_num_threads()} threads")
    tasks = [t for t in (MLP, SOFTMAX) if args.task in ("both", t.name)]
    results = run(tasks, data, args.quick)
    for task in tasks:
        print_table(results[task.name], COLUMNS, f"{task.label} ({data.origin})")
    print("\nseconds: training time of the 5 epochs (no setup, no per-epoch test evaluation); the "
          "`minidl train` rows: wall time of the whole command in a fresh process. x minidl: seconds "
          f"/ those of {MINIDL}.")
    payload = {"data": data.origin, "machine": machine(), "busy_percent_before": busy,
               "quick": args.quick, "tasks": {t.name: t.label for t in tasks}, "results": results}
    write_json("contenders", payload)
    return payload


if __name__ == "__main__":
    payload = main()
    print(f"chart: {chart(payload['results'])}")
