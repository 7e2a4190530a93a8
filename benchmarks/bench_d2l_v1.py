"""Seconds for the d2l 1.0 MLP lesson's `Trainer.fit`: minidl.d2l against minidl concise and the book's path.

The lesson is examples/d2l-1.0/mlp_implementation.py's concise MLP, its own cells executed here:
`MLP(num_outputs=10, num_hiddens=256, lr=0.1)`, `FashionMNIST(batch_size=256)`,
`Trainer(max_epochs=10)`. Three contenders, run back to back in this process:

- minidl.d2l: the lesson as it runs on `import minidl.d2l as d2l` (minidl's in-memory Loader, the
  board redrawn at most once every `minidl.d2l.board.REDRAW_SECONDS`, written as a PNG);
- `minidl train mlp --impl concise` with the same hyperparameters (`fit(config)` in this
  process: the lesson's model is a torch.nn module, so concise is its twin), evaluating the test
  set every epoch as the lesson's validation pass does;
- the book's own path, on the same in-memory tensors: `DataLoader(TensorDataset(X, y),
  batch_size, shuffle=train, num_workers=4)` for both loaders (and with 0 workers), and the
  board redrawn at every point it adds (4 a epoch), as the book's `draw` does.

Each contender's seconds cover building its data from minidl's decoded-array cache and the
whole fit, validation included, after one untimed warm-up epoch. minidl.d2l and concise run in turn ``--rounds`` times and the
table shows the pair with the median ratio; the book's two paths run once. Prints the table and the two
targets (minidl.d2l <= 1.2x concise; the book's 4-worker path >= 5x minidl.d2l); `main()`
returns {"rows", "checks"} for run_all.py.

    python benchmarks/bench_d2l_v1.py [--epochs N] [--rounds 3]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from contextlib import chdir, redirect_stdout
from io import StringIO
from pathlib import Path

import torch
from torch.utils.data import DataLoader

import minidl.d2l as d2l
from minidl.d2l import board as board_module
from minidl.data.fashion_mnist import default_root, load_fashion_mnist

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_mlp import minidl_fit  # noqa: E402
from common import Task, print_table  # noqa: E402

LESSON = Path(__file__).resolve().parents[1] / "examples" / "d2l-1.0" / "mlp_implementation.py"
D2L = "minidl.d2l (Trainer.fit, in-memory Loader)"
CONCISE = "minidl train mlp --impl concise"
BOOK = "the book's path: DataLoader, {} workers, redraw every point"


def lesson_mlp():
    """Return the lesson's MLP class, made by its own import and class cells."""
    cells = LESSON.read_text().split("# %%\n")
    namespace = {"__name__": "lesson"}
    for cell in cells:
        if cell.startswith("import ") or "class MLP(d2l.Classifier)" in cell:
            exec(compile(cell, str(LESSON), "exec"), namespace)
    return namespace["MLP"]


def book_dataloader(num_workers):
    """Return a FashionMNIST.get_dataloader building the book's DataLoader over the same tensors."""
    def get_dataloader(self, train):
        data = self.train if train else self.val  # TensorDatasets of the in-memory tensors
        return DataLoader(data, self.batch_size, shuffle=train, num_workers=num_workers,
                          persistent_workers=False)
    return get_dataloader


def lesson_seconds(epochs, num_workers=None) -> dict:
    """Return the seconds and accuracy of the lesson's fit; num_workers set: on the book's path."""
    MLP = lesson_mlp()
    saved = d2l.FashionMNIST.get_dataloader, board_module.REDRAW_SECONDS, board_module.MAX_DRAW_SHARE
    if num_workers is not None:
        d2l.FashionMNIST.get_dataloader = book_dataloader(num_workers)
        board_module.REDRAW_SECONDS = 0  # the book's draw redraws at every point it adds
        board_module.MAX_DRAW_SHARE = float("inf")
    try:
        with tempfile.TemporaryDirectory() as tmp, chdir(tmp), redirect_stdout(StringIO()):
            torch.manual_seed(0)
            start = time.perf_counter()
            model = MLP(num_outputs=10, num_hiddens=256, lr=0.1)
            data = d2l.FashionMNIST(batch_size=256)
            d2l.Trainer(max_epochs=epochs).fit(model, data)
            seconds = time.perf_counter() - start
    finally:
        d2l.FashionMNIST.get_dataloader, board_module.REDRAW_SECONDS, board_module.MAX_DRAW_SHARE = saved
    return {"seconds": seconds, "test_acc": model.board.data["val_acc"][-1].y}


def concise_seconds(epochs) -> dict:
    """Return the seconds and test accuracy of minidl's concise MLP fit, the lesson's settings."""
    task = Task("mlp", hidden=256, lr=0.1, batch_size=256, epochs=epochs)
    result = minidl_fit(None, task, "concise")
    return {"seconds": result["wall_seconds"], "test_acc": result["test_acc"]}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="the lesson's 10")
    parser.add_argument("--rounds", type=int, default=3, help="minidl.d2l and concise in turn, this many times")
    args = parser.parse_args(argv)
    load_fashion_mnist()  # decode once: no contender pays the IDX parsing
    print(f"d2l 1.0 MLP lesson, {args.epochs} epochs, data {default_root()}; torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs")
    warnings.filterwarnings("ignore", message=".*worker processes.*")  # 4 on few CPUs: the book's
    lesson_seconds(1)  # warm-up, untimed: torch's lazy imports, the first figure
    pairs = []  # minidl.d2l and concise in turn, --rounds times: the ratio pair by pair
    for _ in range(args.rounds):
        pairs.append((lesson_seconds(args.epochs), concise_seconds(args.epochs)))
    middle = sorted(pairs, key=lambda p: p[0]["seconds"] / p[1]["seconds"])[len(pairs) // 2]
    rows = [{"contender": D2L, **middle[0]}, {"contender": CONCISE, **middle[1]},
            {"contender": BOOK.format(4), **lesson_seconds(args.epochs, 4)},
            {"contender": BOOK.format(0), **lesson_seconds(args.epochs, 0)}]
    for row in rows:
        row["x_d2l"] = row["seconds"] / rows[0]["seconds"]
    print_table(rows, [("contender", "contender", ""), ("seconds", "seconds", ".2f"),
                       ("test_acc", "test acc", ".3f"), ("x_d2l", "x minidl.d2l", ".2f")],
                "Seconds for the lesson's fit, data included")
    d2l_over_concise = rows[0]["seconds"] / rows[1]["seconds"]
    book_over_d2l = rows[2]["seconds"] / rows[0]["seconds"]
    checks = []
    for name, value, op, goal in [
            ("minidl.d2l Trainer.fit over minidl concise, the 1.0 MLP lesson", d2l_over_concise, "<=", 1.2),
            ("the book's DataLoader path (4 workers) over minidl.d2l, the 1.0 MLP lesson",
             book_over_d2l, ">=", 5.0)]:
        met = value <= goal if op == "<=" else value >= goal
        checks.append({"target": name, "value": value, "goal": f"{op} {goal:g}", "met": met,
                       "text": f"{'met   ' if met else 'MISSED'}  {name}: {value:.2f}x (goal {op} {goal:g})"})
        print("  " + checks[-1]["text"])
    return {"rows": rows, "checks": checks}


if __name__ == "__main__":
    main()
