"""How minidl's MLP epochs grow: seconds per epoch against training-set size and hidden width.

    python benchmarks/bench_scaling.py [--quick]

Every point is minidl's own `fit()` (default twin, lr 0.5, batch 256): the training-set sizes
1/8 ... 1 of Fashion-MNIST's 60,000 images (the first N, written to a scratch folder as IDX files)
at width 256, and the widths 64 ... 2048 on the whole set. Beside each point stands its matmul
roofline (bench_roofline: the step's products at the rates measured for that width), so the
table shows where cost follows the arithmetic and where per-batch overhead dominates.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from bench_roofline import roofline
from common import MLP, check_quiet, figure, load_data, machine, print_table, save_figure, write_json

FRACTIONS = (1 / 8, 1 / 4, 1 / 2, 1)
WIDTHS = (64, 128, 256, 512, 1024, 2048)


def seconds_per_epoch(data_dir: str | None, hidden: int, epochs: int) -> float:
    """Return the median training seconds of epochs 2.. of a fit() (the first warms up)."""
    from minidl.config.train import TrainConfig
    from minidl.training.fit import fit

    config = TrainConfig(model="mlp", epochs=epochs, hidden=(hidden,), device="cpu",
                         data_dir=data_dir, plots=False)
    rows = fit(config, progress=False).rows
    return statistics.median(r["seconds"] for r in rows[1:])


def write_subset(data, n: int, folder: Path) -> str:
    """Write the first ``n`` training images (and the whole test set) as IDX files; return the folder."""
    from minidl.data.idx import write_idx

    folder.mkdir(parents=True, exist_ok=True)
    for name, array in (("train-images-idx3-ubyte", data.X_train[:n]),
                        ("train-labels-idx1-ubyte", data.y_train[:n].to(torch.uint8)),
                        ("t10k-images-idx3-ubyte", data.X_test),
                        ("t10k-labels-idx1-ubyte", data.y_test.to(torch.uint8))):
        write_idx(folder / name, np.asarray(array), compress=False)
    return str(folder)


def main(argv=None) -> dict:
    """Measure both sweeps; print the table; write scaling.json and scaling.png."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs per point, no width 2048")
    args = parser.parse_args(argv)
    busy = check_quiet("scaling")
    data = load_data()
    epochs = 2 if args.quick else 3
    widths = WIDTHS[:-1] if args.quick else WIDTHS
    real = os.environ.get("MINIDL_DATA_DIR")  # None: minidl's default folder, as load_data()
    full = {w: point("hidden", w, len(data.X_train), w, real, epochs) for w in widths}
    rows = []
    with tempfile.TemporaryDirectory() as tmp, _cache_in(Path(tmp) / "cache"):
        for fraction in FRACTIONS[:-1]:
            n = int(len(data.X_train) * fraction)
            rows.append(point("examples", n, n, MLP.hidden, write_subset(data, n, Path(tmp) / f"n{n}"), epochs))
    rows.append({**full[MLP.hidden], "sweep": "examples", "value": len(data.X_train)})  # the same run
    rows += full.values()
    print_table(rows, [("sweep", "sweep", ""), ("value", "value", ","),
                       ("seconds_per_epoch", "s/epoch", ".3f"), ("samples_per_s", "samples/s", ",.0f"),
                       ("roofline_seconds_per_epoch", "roofline s/epoch", ".3f"),
                       ("roofline_fraction", "% of roofline", ".0%")],
                f"minidl fit(), MLP 784-h-10, batch {MLP.batch_size}, seconds per epoch ("
                f"{'median of epochs 2-%d' % epochs if epochs > 2 else 'epoch 2'}); {data.origin}")
    payload = {"data": data.origin, "machine": machine(), "busy_percent_before": busy, "rows": rows}
    write_json("scaling", payload)
    print(f"chart: {chart(rows)}")
    return payload


@contextlib.contextmanager
def _cache_in(folder: Path):
    """Point minidl's decoded-array cache at ``folder`` for a while: the subsets stay out of it."""
    old = os.environ.get("MINIDL_CACHE_DIR")
    os.environ["MINIDL_CACHE_DIR"] = str(folder)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("MINIDL_CACHE_DIR")
        else:
            os.environ["MINIDL_CACHE_DIR"] = old


def point(sweep: str, value: int, examples: int, hidden: int, folder: str | None, epochs: int) -> dict:
    """Return one measured point of a sweep with its roofline."""
    print(f"  scaling: {sweep} {value} ...", file=sys.stderr, flush=True)
    seconds = seconds_per_epoch(folder, hidden, epochs)
    limit = roofline(replace(MLP, hidden=hidden), examples, repeats=3)["roofline_seconds_per_epoch"]
    return {"sweep": sweep, "value": value, "examples": examples, "hidden": hidden,
            "seconds_per_epoch": seconds, "samples_per_s": examples / seconds,
            "roofline_seconds_per_epoch": limit, "roofline_fraction": limit / seconds}


def chart(rows: list[dict]) -> Path:
    """Plot seconds per epoch against each swept value, with the matmul roofline beside it."""
    fig = figure(10, 4)
    for ax, sweep, xlabel in zip(fig.subplots(1, 2), ("examples", "hidden"),
                                 ("training images (hidden 256)", "hidden width (60,000 images)")):
        points = [r for r in rows if r["sweep"] == sweep]
        x = [r["value"] for r in points]
        ax.plot(x, [r["seconds_per_epoch"] for r in points], "o-", color="tab:orange", label="minidl fit()")
        ax.plot(x, [r["roofline_seconds_per_epoch"] for r in points], "s--", color="tab:red",
                label="matmul roofline")
        for r in points:
            ax.annotate(f"{r['roofline_fraction']:.0%}", (r["value"], r["seconds_per_epoch"]),
                        textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(x, [f"{v:,}" for v in x], fontsize=8)
        low, high = ax.get_ylim()
        ticks = [t for t in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5) if low <= t <= high]
        ax.set_yticks(ticks, [f"{t:g}" for t in ticks], fontsize=8)
        ax.minorticks_off()
        ax.set_xlabel(xlabel)
        ax.set_ylabel("seconds per epoch")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("MLP epoch cost (labels: share of the matmul roofline reached)", fontsize=10)
    return save_figure(fig, "scaling")


if __name__ == "__main__":
    main()
