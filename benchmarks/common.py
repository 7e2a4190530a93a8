"""Shared by the benchmarks: the task, the data, timing, the machine, tables, JSON and charts.

Every benchmark file imports this one (they sit in the same folder, so `python benchmarks/x.py`
finds it) and writes its results to `benchmarks/results/` (small JSON and PNG files, committed).
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from minidl.data.fashion_mnist import load_fashion_mnist

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Task:
    """One lesson's job, the same for every contender."""

    name: str  # "mlp" or "softmax": also minidl's model name
    hidden: int | None  # 256 for the MLP, None for softmax regression
    lr: float
    batch_size: int = 256
    epochs: int = 5
    init_std: float = 0.01  # every parameter, biases too, starts as normal(0, init_std)

    @property
    def label(self) -> str:
        shape = f"784-{self.hidden}-10 MLP" if self.hidden else "softmax regression 784-10"
        return f"{shape}, SGD lr {self.lr:g}, batch {self.batch_size}, {self.epochs} epochs"


MLP = Task("mlp", hidden=256, lr=0.5)
SOFTMAX = Task("softmax", hidden=None, lr=0.1)


def torch_model(task: Task, flatten: bool = True) -> nn.Sequential:
    """Return the task's torch.nn model, every parameter drawn from normal(0, 0.01)."""
    torch.manual_seed(0)
    if task.hidden:
        layers = [nn.Linear(784, task.hidden), nn.ReLU(), nn.Linear(task.hidden, 10)]
    else:
        layers = [nn.Linear(784, 10)]
    net = nn.Sequential(*([nn.Flatten()] if flatten else []), *layers)
    for param in net.parameters():
        nn.init.normal_(param, std=task.init_std)
    return net


@dataclass
class Data:
    """Fashion-MNIST as minidl loads it: uint8 images (N, 28, 28), int64 labels (N,)."""

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    origin: str

    def floats(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """Return (X float32 (N, 784) in [0, 1], y int64 (N,)) as numpy: the peers' input."""
        X, y = (self.X_train, self.y_train) if split == "train" else (self.X_test, self.y_test)
        return (X.reshape(len(X), -1).float() / 255).numpy(), y.numpy()


def load_data() -> Data:
    """Return the real Fashion-MNIST: MINIDL_DATA_DIR if set, else minidl's default folder."""
    root = os.environ.get("MINIDL_DATA_DIR")
    arrays = load_fashion_mnist(root)  # downloads into the default folder on first use
    return Data(*arrays, origin=f"Fashion-MNIST from {root or 'the default folder'} "
                                f"({len(arrays[0]):,} train / {len(arrays[2]):,} test images)")


def median_run(fn, repeats: int) -> dict:
    """Return the run of ``fn()`` (a dict with "seconds") with the median seconds of ``repeats``.

    Each run starts once the CPUs are quiet (see ``settle``); the row keeps how busy they were.
    """
    runs = []
    for _ in range(repeats):
        busy = settle()
        runs.append({**fn(), "busy_percent_before": round(busy)})
    runs.sort(key=lambda r: r["seconds"])
    best = dict(runs[len(runs) // 2])
    best["repeats"] = repeats
    best["all_seconds"] = [round(r["seconds"], 4) for r in runs]
    return best


def settle(limit: float = 15, max_wait: float = 10) -> float:
    """Wait up to ``max_wait`` s for the CPUs to be under ``limit`` percent busy; return the last reading.

    The finished runs of the previous contender (worker processes, a subprocess's exit) and other
    programs both show up here; on 2 cores, a busy neighbour makes torch's threads wait on each
    other and an epoch take several times longer.
    """
    deadline = time.perf_counter() + max_wait
    busy = cpu_busy_percent(0.25)
    while busy > limit and time.perf_counter() < deadline:
        busy = cpu_busy_percent(0.25)
    return busy


def median_seconds(fn, repeats: int, number: int = 1) -> float:
    """Return the median over ``repeats`` of the seconds one call of ``fn`` takes (``number`` calls each)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    return statistics.median(times)


def cpu_busy_percent(seconds: float = 0.5) -> float:
    """Return how busy all CPUs were over the next ``seconds``, in percent (Linux; else nan)."""
    def sample():
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        return sum(values), values[3] + values[4]  # total, idle + iowait
    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except OSError:
        return float("nan")
    return 100 * (1 - (idle1 - idle0) / max(total1 - total0, 1))


def machine() -> dict:
    """Return what the numbers depend on: CPU, cores, threads, library versions, load."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "cpu": model, "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
        "platform": platform.platform(), "load_average": _load_average(),
    }


def _load_average():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def check_quiet(label: str) -> float:
    """Print a warning when other programs keep the CPUs busy; return the busy percent.

    On a 2-core machine a second busy process makes torch's worker threads wait on each other:
    epochs then take 10-60x longer, and any comparison is meaningless.
    """
    busy = cpu_busy_percent()
    if busy > 15:
        print(f"WARNING ({label}): the CPUs are {busy:.0f}% busy before this benchmark starts; "
              "other programs distort every timing here. Rerun on a quiet machine.", file=sys.stderr)
    return busy


def print_table(rows: list[dict], columns: list[tuple[str, str, str]], title: str) -> None:
    """Print ``rows`` as a Markdown table; ``columns`` are (key, header, format spec)."""
    print(f"\n{title}\n")
    print("| " + " | ".join(header for _, header, _ in columns) + " |")
    print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(columns))) + "|")
    for row in rows:
        cells = []
        for key, _, spec in columns:
            value = row.get(key)
            cells.append("-" if value is None else format(value, spec))
        print("| " + " | ".join(cells) + " |")


def write_json(name: str, payload: dict) -> Path:
    """Write ``payload`` to results/``name``.json (atomically) and return the path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=float) + "\n")
    os.replace(tmp, path)
    return path


def figure(width: float, height: float):
    """Return a matplotlib Figure on an Agg canvas (no window, no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, name: str) -> Path:
    """Write ``fig`` to results/``name``.png and return the path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.png"
    fig.savefig(path)
    return path
