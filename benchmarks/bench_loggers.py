"""What --tensorboard and --mlflow cost per epoch, beside the lesson's epoch, in one run.

    python benchmarks/bench_loggers.py [--epochs 5] [--mlflow URI] [--end-to-end]

Trains the lesson's MLP (defaults: 784-256-10, batch 256, 5 epochs) on the real Fashion-MNIST
(MINIDL_DATA_DIR) into a run folder, then feeds each logger what fit feeds it every epoch (the
metrics row and the epoch's 235 batch losses) and times those calls alone: the per-epoch cost,
its median over the epochs, as a share of the lesson's epoch (training seconds, and the whole
epoch's wall time with its evaluation and checkpoint). The one-time costs (opening the store,
the first event file; the figures and artifacts at the end) are printed apart. ``--end-to-end``
also trains the same run with each logger on, interleaved with plain runs, and prints the ratio
of wall times (noisier: it holds the logger's cost and the machine's drift together). Writes
results/loggers.json.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from common import check_quiet, machine, print_table, write_json

from minidl import TrainConfig, fit


def lesson(out: Path, epochs: int, **loggers):
    """Return (History, wall seconds per epoch) of the lesson's MLP trained into ``out``."""
    config = TrainConfig(model="mlp", epochs=epochs, plots=False, out=str(out), **loggers)
    start = time.perf_counter()
    history = fit(config, progress=False)
    return history, (time.perf_counter() - start) / epochs


def time_logger(logger, history, folder: Path) -> dict:
    """Return the logger's seconds: started (once), each epoch (a list), finished + close (once)."""
    s = history.summary
    examples = round(s["train_examples_per_second"] * s["train_seconds"] / len(history.rows))  # per epoch
    batches = -(-examples // history.config.batch_size)
    losses = [torch.tensor(float(r)) for r in torch.linspace(2.3, 0.3, batches)]  # as Totals keeps them
    t0 = time.perf_counter()
    logger.started(history.config, folder, [])
    started = time.perf_counter() - t0
    per_epoch = []
    for row in history.rows:
        t0 = time.perf_counter()
        logger.epoch(row, losses)
        per_epoch.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    logger.finished(history.summary)
    logger.close()
    return {"started_s": started, "epoch_s": per_epoch, "finished_s": time.perf_counter() - t0}


def loggers_of(tmp: Path, uri: str | None):
    """Return {name: a fresh logger} for each logger whose extra is installed."""
    out = {}
    try:
        from minidl.training.tensorboard_log import TensorBoardLogger

        out["tensorboard"] = lambda: TensorBoardLogger()
    except ImportError:
        print("tensorboard: not installed (pip install -e '.[tensorboard]'), left out")
    try:
        from minidl.training.mlflow_log import MLflowLogger

        out["mlflow"] = lambda: MLflowLogger.connect(uri or f"sqlite:///{tmp}/mlruns.db", "bench-loggers")
    except ImportError:
        print("mlflow: not installed (pip install -e '.[mlflow]'), left out")
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--mlflow", metavar="URI", help="the store to time (default: a fresh sqlite:/// file)")
    parser.add_argument("--end-to-end", action="store_true", help="also time whole runs with each logger on")
    args = parser.parse_args(argv)
    busy = check_quiet("bench_loggers")
    results = {"machine": machine(), "busy_percent_before": busy, "epochs": args.epochs, "loggers": {}}
    with tempfile.TemporaryDirectory(prefix="minidl-bench-loggers-") as name:
        tmp = Path(name)
        history, wall = lesson(tmp / "plain", args.epochs)
        train = history.summary["train_seconds"] / args.epochs
        results.update(lesson_train_s=train, lesson_wall_s=wall)
        rows = []
        for label, make in loggers_of(tmp, args.mlflow).items():
            t0 = time.perf_counter()
            logger = make()  # opening the store: part of the one-time cost
            opened = time.perf_counter() - t0
            timed = time_logger(logger, history, tmp / "plain")  # its files: the artifacts MLflow logs
            epoch = statistics.median(timed["epoch_s"])
            rows.append({"logger": label, "epoch_ms": 1000 * epoch, "of_train": 100 * epoch / train,
                         "of_wall": 100 * epoch / wall, "once_s": opened + timed["started_s"] + timed["finished_s"]})
            results["loggers"][label] = {**timed, "opened_s": opened}
        print_table(rows, [("logger", "logger", "s"), ("epoch_ms", "per epoch (ms, median)", ".2f"),
                           ("of_train", "% of the lesson's training epoch", ".2f"),
                           ("of_wall", "% of its whole epoch", ".2f"), ("once_s", "once per run (s)", ".2f")],
                    f"The lesson's epoch: {train:.2f} s training, {wall:.2f} s in all (784-256-10 MLP, batch 256)")
        if args.end_to_end:
            results["end_to_end"] = end_to_end(tmp, args)
    print(f"\nwrote {write_json('loggers', results)}")
    return results


def end_to_end(tmp: Path, args) -> dict:
    """Return the wall seconds per epoch of plain, --tensorboard and --mlflow runs, interleaved, with ratios."""
    uri = args.mlflow or f"sqlite:///{tmp}/e2e.db"
    walls = {"plain": [], "tensorboard": [], "mlflow": []}
    for i in range(2):  # plain, tb, mlflow, plain, tb, mlflow: drift shows in both plain runs
        walls["plain"].append(lesson(tmp / f"e2e-plain-{i}", args.epochs)[1])
        walls["tensorboard"].append(lesson(tmp / f"e2e-tb-{i}", args.epochs, tensorboard=True)[1])
        walls["mlflow"].append(lesson(tmp / f"e2e-ml-{i}", args.epochs, mlflow=uri)[1])
    plain = statistics.median(walls["plain"])
    ratios = {k: statistics.median(v) / plain for k, v in walls.items()}
    print("\nwhole runs, wall seconds per epoch (each twice, interleaved): " + ", ".join(
        f"{k} {statistics.median(v):.2f} s ({ratios[k]:.3f}x)" for k, v in walls.items()))
    return {"walls": walls, "ratios": ratios}


if __name__ == "__main__":
    main()
