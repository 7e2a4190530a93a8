"""The fastest tools a user could pick instead of minidl, side by side in one run: eager torch, torch.compile, JAX.

    python benchmarks/bench_peers.py [--quick] [--repeats 3] [--epochs 5]

The lesson's job: the 784-256-10 ReLU MLP, SGD lr 0.5 without momentum, mean cross-entropy,
batch 256, Fashion-MNIST's 60,000 training images (common.load_data: MINIDL_DATA_DIR) as float32
in [0, 1], shuffled each epoch, 5 epochs (--epochs). Then two sweeps of one epoch each at lr 0.1:
batch 10, 64, 256, 1024 at width 256 (batch 10 on the first 10,000 images only, to bound the
time), and width 256, 1024, 2048 at batch 256. The contenders, each from the same initial weights
(normal(0, 0.01), common.torch_model):

  minidl fit()          the default (manual) twin; seconds = History.summary["train_seconds"], the
                        sum of its rows' "seconds" (training passes only, as bench_mlp.minidl_fit)
  eager torch           nn.Sequential + torch.optim.SGD, batches indexed from in-memory tensors
  torch.compile step    the same step (forward, loss, zero_grad, backward, step) under torch.compile
  torch.compile func.   a pure step(params, X, y) -> params, torch.func.grad, fullgraph=True
  JAX jit step          jax.jit of value-and-grad + SGD, one call per batch
  JAX lax.scan epoch    one jitted lax.scan per epoch over its permuted batches

"seconds" is the training passes alone; a compiler's warm-up (compiling every batch shape an
epoch has) is "compile s", apart (peers_torch.py and peers_jax.py say how each is taken). Every
cell runs its contenders round by round (A B C, A B C, ...) and keeps each one's median; "x minidl"
is a contender's seconds over minidl's in that cell (above 1: minidl is faster). The process's
allocator is set the way minidl.fit sets it (minidl.training.memory) before the first run, so every
contender runs under the same malloc settings. torch keeps its default thread count; XLA uses one
thread per core. JAX and torch.compile are optional: where one is missing or fails, its row says
"skipped: <reason>" and the rest go on. Writes results/peers.json and results/peers.png.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
from dataclasses import dataclass, replace

import torch

import peers_jax
import peers_torch
from common import (MLP, Data, Task, check_quiet, figure, load_data, machine, print_table, save_figure,
                    settle, write_json)

MINIDL = "minidl fit() (manual, the default)"  # the row the ratios divide by
OPTIONAL = ("torch.compile", "JAX")  # contenders whose failure is a skipped row, not an error
BATCHES, WIDTHS = (10, 64, 256, 1024), (256, 1024, 2048)
SWEEP_LR, SMALL_SET = 0.1, 10_000  # batch 10 trains on the first SMALL_SET images


@dataclass(frozen=True)
class Cell:
    """One measured job: a task on the first ``examples`` training images."""

    sweep: str  # "lesson", "batch" or "width"
    task: Task
    examples: int

    @property
    def label(self) -> str:
        images = f", first {self.examples:,} images" if self.examples < 60_000 else ""
        return f"{self.task.label}{images}"


def minidl_fit(cell: Cell, data: Data) -> dict:
    """Train with ``minidl.training.fit.fit`` on the cell's arrays (uint8 images: its Loader scales them)."""
    from minidl.config.train import TrainConfig
    from minidl.training.fit import fit

    task, n = cell.task, cell.examples
    config = TrainConfig(model="mlp", epochs=task.epochs, lr=task.lr, batch_size=task.batch_size,
                         hidden=(task.hidden,), device="cpu", plots=False)
    history = fit(config, data=(data.X_train[:n], data.y_train[:n], data.X_test, data.y_test), progress=False)
    return {"seconds": history.summary["train_seconds"], "compile_seconds": None,
            "test_acc": history.final["test_acc"]}


def contenders() -> list[tuple[str, object]]:
    """Return (name, function of (task, train, test)) for every peer, in table order after minidl."""
    return [
        ("eager torch: nn + torch.optim, in-memory batches", lambda *a: peers_torch.module_loop(*a, compiled=False)),
        ("torch.compile of the step (backward, optimizer)", lambda *a: peers_torch.module_loop(*a, compiled=True)),
        ("torch.compile functional step, fullgraph", peers_torch.functional_loop),
        ("JAX jax.jit step", peers_jax.jit_step),
        ("JAX lax.scan per epoch", peers_jax.scan_epochs),
    ]


def cells(quick: bool, epochs: int) -> list[Cell]:
    """Return the lesson's cell, then the batch sweep, then the width sweep (its width 256 is the batch sweep's)."""
    out = [Cell("lesson", replace(MLP, epochs=epochs), 60_000)]
    one = replace(MLP, lr=SWEEP_LR, epochs=1)
    for batch in ((64, 256) if quick else BATCHES):
        out.append(Cell("batch", replace(one, batch_size=batch), SMALL_SET if batch < 64 else 60_000))
    for width in (() if quick else WIDTHS[1:]):
        out.append(Cell("width", replace(one, hidden=width), 60_000))
    return out


def measure(cell: Cell, data: Data, repeats: int) -> list[dict]:
    """Return one row per contender for ``cell``: median seconds over ``repeats`` interleaved rounds."""
    train = tuple(a[:cell.examples] for a in data.floats("train"))
    test = data.floats("test")
    runs = [(MINIDL, lambda: minidl_fit(cell, data))]
    runs += [(name, lambda fn=fn: fn(cell.task, train, test)) for name, fn in contenders()]
    results, skipped = {name: [] for name, _ in runs}, {}
    for _ in range(repeats):
        for name, run in runs:
            if name in skipped:
                continue
            print(f"  {cell.label}: {name} ...", file=sys.stderr, flush=True)
            busy = settle(max_wait=3)
            try:
                results[name].append({**run(), "busy_percent_before": round(busy)})
            except Exception as e:  # an optional peer missing or failing to compile: say so, go on
                if not name.startswith(OPTIONAL):
                    raise
                skipped[name] = f"skipped: {type(e).__name__}: {str(e).strip().splitlines()[0][:150]}"
    rows = []
    for name, _ in runs:
        row = {"contender": name, "sweep": cell.sweep, "cell": cell.label, "batch_size": cell.task.batch_size,
               "hidden": cell.task.hidden, "examples": cell.examples, "epochs": cell.task.epochs}
        if name in skipped:
            rows.append({**row, "note": skipped[name]})
            continue
        done = sorted(results[name], key=lambda r: r["seconds"])
        best = done[len(done) // 2]
        compiles = [r["compile_seconds"] for r in done if r["compile_seconds"] is not None]
        rows.append({**row, **best, "compile_seconds": statistics.median(compiles) if compiles else None,
                     "all_seconds": [round(r["seconds"], 4) for r in done], "repeats": len(done),
                     "samples_per_s": cell.examples * cell.task.epochs / best["seconds"], "note": ""})
    base = rows[0]["seconds"]
    for row in rows:
        if "seconds" in row:
            row["ratio"] = row["seconds"] / base
    return rows


COLUMNS = [("contender", "contender", ""), ("seconds", "seconds", ".3f"), ("compile_seconds", "compile s", ".2f"),
           ("samples_per_s", "samples/s", ",.0f"), ("test_acc", "test acc", ".4f"),
           ("ratio", "x minidl", ".2f"), ("note", "note", "")]


def check_accuracy(rows: list[dict], cell: Cell) -> None:
    """Warn where a contender's test accuracy after the lesson's 5 epochs is far from minidl's: a sign of a bug.

    After a single epoch the accuracies still swing by several points with the shuffle order, so
    the sweeps' one-epoch cells are only reported, not checked.
    """
    if cell.sweep != "lesson" or cell.task.epochs < MLP.epochs:
        return
    base = rows[0]["test_acc"]
    for row in rows[1:]:
        if "test_acc" in row and abs(row["test_acc"] - base) > 0.03:
            print(f"WARNING: {row['contender']} reached test accuracy {row['test_acc']:.4f} against "
                  f"minidl's {base:.4f} on {cell.label}; the two should train alike", file=sys.stderr)


def chart(results: list[dict]):
    """Draw seconds per contender against batch size and against width (log axes); return the path."""
    fig = figure(11, 4.2)
    axes = fig.subplots(1, 2)
    for ax, (sweep, key, xlabel) in zip(axes, (("batch", "batch_size", "batch size (width 256)"),
                                               ("width", "hidden", "hidden width (batch 256)"))):
        rows = [r for c in results for r in c["rows"] if r["sweep"] == sweep or
                (sweep == "width" and r["sweep"] == "batch" and r["batch_size"] == 256)]
        peer_colors = iter(["tab:blue", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:gray"])
        for name in dict.fromkeys(r["contender"] for r in rows):
            points = sorted((r[key], r["seconds"] * 60_000 / r["examples"]) for r in rows  # batch 10's 10,000 scaled up
                            if r["contender"] == name and "seconds" in r)
            if points:
                mine = name == MINIDL
                ax.plot(*zip(*points), marker="o", label=name, color="tab:orange" if mine else next(peer_colors),
                        linewidth=2.5 if mine else 1.2, zorder=3 if mine else 2)
        ticks = sorted({r[key] for r in rows})
        ax.set_xscale("log", base=2)
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.minorticks_off()
        ax.set_yscale("log")
        ax.set_xlabel(xlabel, fontsize=9)
        ax.set_ylabel("training seconds per 60,000 images (log; lower is better)", fontsize=8)
        ax.set_title(f"Fashion-MNIST MLP, SGD lr {SWEEP_LR:g}, one epoch, by {sweep}", fontsize=10)
        ax.grid(True, alpha=0.3)
    axes[0].text(0.02, 0.02, f"batch 10: timed on the first {SMALL_SET:,} images, x6",
                 transform=axes[0].transAxes, fontsize=8)
    axes[1].legend(fontsize=7, loc="upper left")
    return save_figure(fig, "peers")


def main(argv=None) -> dict:
    """Measure every cell; print its table; write peers.json and peers.png; return the payload."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="batch 64 and 256 at width 256 only, 1 repeat")
    parser.add_argument("--repeats", type=int, default=None, help="rounds per cell, the median kept (default 3; 1 with --quick)")
    parser.add_argument("--epochs", type=int, default=MLP.epochs, help="epochs of the lesson's cell (default 5; the sweeps: 1)")
    args = parser.parse_args(argv)
    if args.epochs < 1 or (args.repeats is not None and args.repeats < 1):
        parser.error("--epochs and --repeats take a whole number >= 1")
    repeats = args.repeats or (1 if args.quick else 3)
    busy = check_quiet("peers")
    from minidl.training.memory import keep_freed_memory

    keep_freed_memory()  # what fit() sets for the process: the same malloc for every contender
    data = load_data()
    about = _versions()
    print(f"data: {data.origin}; CPU {machine()['cpu']}, {os.cpu_count()} cores; torch {torch.__version__} "
          f"with {torch.get_num_threads()} threads; {about['jax_text']}")
    peers_torch.module_loop(replace(MLP, epochs=1), *(tuple(a[:10_000] for a in data.floats(s)) for s in ("train", "test")),
                            compiled=False)  # untimed: threads, allocator, caches
    results = []
    for cell in cells(args.quick, args.epochs):
        rows = measure(cell, data, repeats)
        check_accuracy(rows, cell)
        results.append({"sweep": cell.sweep, "label": cell.label, "rows": rows})
        print_table(rows, COLUMNS, f"{cell.label} ({repeats} round{'s' * (repeats > 1)}, median)")
    print("\nseconds: training passes only; compile s: the compiler's warm-up, apart; x minidl: seconds / "
          f"those of {MINIDL} in the same table.")
    payload = {"data": data.origin, "machine": {**machine(), **about}, "busy_percent_before": busy,
               "quick": args.quick, "repeats": repeats, "results": results}
    write_json("peers", payload)
    print(f"chart: {chart(results)}")
    return payload


def _versions() -> dict:
    """Return JAX's version and thread use, or why it is missing."""
    try:
        import jax
    except ImportError as e:
        return {"jax": None, "jax_text": f"JAX missing ({e}): pip install 'jax[cpu]'"}
    flags = os.environ.get("XLA_FLAGS", "")
    return {"jax": jax.__version__, "jax_backend": jax.default_backend(), "xla_flags": flags,
            "jax_text": f"JAX {jax.__version__} on {jax.default_backend()}, XLA's thread pool: one thread per "
                        f"core ({os.cpu_count()})" + (f", XLA_FLAGS={flags}" if flags else "")}


if __name__ == "__main__":
    main()
