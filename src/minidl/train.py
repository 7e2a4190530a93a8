"""The training loop: ``fit(config) -> History``, the same for every model and both twins."""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from . import checkpoint as ckpt
from .config import TrainConfig
from .errors import CheckpointError, MinidlError
from .evaluate import Totals, class_report, evaluate
from .memory import keep_freed_memory
from .models import architecture, build_loss, build_optimizer, load_weights, model_for
from .runs import RunData, RunWriter, check_same_data, load_run_data


class TrainingDiverged(MinidlError):
    """The loss became inf or NaN; the message names where and suggests a lower learning rate."""

    exit_code = 1


class TrainingInterrupted(MinidlError):
    """Ctrl-C: the run stopped; the message says which epoch the checkpoint holds and how to resume."""

    exit_code = 130


@dataclass
class History:
    """What a run produced: one metrics row per epoch, the final summary and the trained model."""

    config: TrainConfig
    rows: list[dict]
    summary: dict
    run_dir: Path | None = None
    model: object = field(default=None, repr=False)

    @property
    def final(self) -> dict:
        """Return the last epoch's metrics row."""
        return self.rows[-1]


def pick_device(name: str) -> torch.device:
    """Return the device for ``--device``: ``auto`` picks cuda, then mps, then cpu."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise MinidlError("--device cuda was asked for, but torch sees no CUDA GPU here; use --device cpu")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise MinidlError("--device mps was asked for, but this torch has no MPS backend; use --device cpu")
    return torch.device(name)


def fit(config: TrainConfig, *, resume: str | Path | None = None, progress: bool = True) -> History:
    """Return the History of training ``config``'s model; ``resume`` continues a saved run exactly.

    On Linux this also tells glibc to keep freed memory for reuse (see minidl.memory), process-wide.
    """
    keep_freed_memory()  # each step frees the MBs the next one needs: keep them, no page faults
    device = pick_device(config.device)
    torch.manual_seed(config.seed)
    data = load_run_data(config, device)
    model = model_for(config, data.num_inputs, data.num_outputs).to(device)
    loss_fn = build_loss(config.model, config.impl, model)
    optimizer = build_optimizer(model, config.impl, config.optimizer, config.lr)
    rows: list[dict] = []
    if resume is not None:
        rows = _restore(resume, config, model, optimizer, data)
    writer = RunWriter(config.out, config, data, resuming=resume is not None) if config.out else None
    show = _Progress(config, enabled=progress)
    if writer and not rows:  # epoch 0: Ctrl-C during the first epoch still leaves a checkpoint
        writer.save_checkpoint(_state(config, model, optimizer, data, rows), best=False)

    for epoch in range(len(rows) + 1, config.epochs + 1):
        # --- train one epoch ---
        start = time.perf_counter()
        model.train()
        totals = Totals(data.classifies)
        diverged = _DivergenceCheck()
        try:
            for batch, (X, y) in enumerate(show.batches(data.train, epoch), 1):
                y_hat = model(X)
                loss = loss_fn(y_hat, y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                if diverged(loss):
                    raise TrainingDiverged(_diverged_message(config, epoch, batch, loss, writer))
                totals.add(loss.detach(), y_hat.detach(), y)
        except KeyboardInterrupt:
            raise TrainingInterrupted(_interrupted_message(epoch, writer)) from None
        train_seconds = time.perf_counter() - start

        # --- evaluate on the test set ---
        test = evaluate(model, data.test, loss_fn, data.classifies)
        row = {"epoch": epoch, **totals.means("train"), **test.means("test"), "seconds": train_seconds}
        rows.append(row)
        show.epoch_done(row)

        # --- record ---
        if writer:
            writer.save_epoch(rows, _state(config, model, optimizer, data, rows))

    summary, predictions = _summary(config, rows, model, data, test)
    if writer:
        writer.finish(rows, summary, plots=config.plots, predictions=predictions)
    return History(config=config, rows=rows, summary=summary, run_dir=writer.dir if writer else None, model=model)


def _state(config, model, optimizer, data: RunData, rows) -> dict:
    """Return everything exact resume needs, as plain data ``torch.load(weights_only=True)`` accepts."""
    rng = {"torch": torch.get_rng_state(), "loader": data.train.state_dict()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    return {
        "architecture": architecture(model),
        "config": config.to_dict(),
        "data": data.facts(),
        "epoch": len(rows),
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "optimizer": optimizer.state_dict(),
        "rng": rng,
        "rows": [dict(r) for r in rows],
    }


def _restore(resume, config, model, optimizer, data: RunData) -> list[dict]:
    """Load a run's last checkpoint into model, optimizer and RNGs; return its metrics rows."""
    path = ckpt.find_checkpoint(resume)
    state = ckpt.load_checkpoint(path)
    check_same_data(state["data"], data, str(path))  # the same split, or the run would change its data
    if state["epoch"] >= config.epochs:
        raise CheckpointError(
            f"{path} has already trained {state['epoch']} epochs; ask for more, e.g. --epochs {state['epoch'] + 5}"
        )
    load_weights(model, state, path)
    optimizer.load_state_dict(state["optimizer"])
    for group in optimizer.param_groups:
        group["lr"] = config.lr  # a learning rate given when resuming wins over the saved one
    torch.set_rng_state(state["rng"]["torch"])
    loader = state["rng"]["loader"]
    data.train.load_state_dict(loader if isinstance(loader, dict) else {"generator": loader})  # older: bare state
    if "cuda" in state["rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["rng"]["cuda"])
    return [dict(r) for r in state["rows"]]


def _summary(config, rows, model, data: RunData, test: Totals) -> tuple[dict, torch.Tensor | None]:
    """Return the final figures and the test predictions (from ``test``, the last epoch's evaluate).

    The figures: last epoch, best epoch, time, the confusion matrix and per-class accuracy of a
    classifier, the learned w and b of linear regression.
    """
    last = rows[-1]
    key, better = ("test_acc", max) if data.classifies else ("test_loss", min)
    best = better(rows, key=lambda r: r[key])
    seconds = sum(r["seconds"] for r in rows)
    summary = {
        "model": config.model,
        "impl": config.impl,
        "epochs": len(rows),
        "final": last,
        "best_epoch": best["epoch"],
        f"best_{key}": best[key],
        "train_seconds": seconds,
        "train_examples_per_second": data.train.num_examples * len(rows) / seconds if seconds else None,
    }
    if not data.classifies:
        summary.update(data.describe_linreg(model))
        return summary, None
    report, predictions = class_report(test, data.class_names)
    summary.update(report)
    return summary, predictions


class _DivergenceCheck:
    """True once the loss is inf/NaN or past 1000x its first batch's (at least 1000): a lost run.

    A stable cross-entropy stays finite even at absurd learning rates (at lr 1e4 it climbs to
    ~1e13, then sits near 4e3 with every ReLU dead), so waiting for NaN alone would let such a run
    go on uselessly. No run that is learning ever gets near the threshold.
    """

    FACTOR = 1000.0

    def __init__(self):
        self.limit = None

    def __call__(self, loss: torch.Tensor) -> bool:
        value = loss.item()
        if self.limit is None:
            self.limit = self.FACTOR * max(value, 1.0)
        return not math.isfinite(value) or value > self.limit


def _diverged_message(config, epoch, batch, loss, writer) -> str:
    kept = f"; {writer.dir / ckpt.LAST} still holds the last good epoch" if writer else ""
    return (
        f"the loss diverged to {loss.item():.3g} in epoch {epoch}, batch {batch}, at lr {config.lr:g}: "
        f"training stopped{kept}. Try a lower learning rate, e.g. --lr {config.lr / 10:g}"
    )


def _interrupted_message(epoch, writer) -> str:
    if writer is None:
        return f"interrupted in epoch {epoch}; nothing was saved (no --out folder)"
    return (
        f"interrupted in epoch {epoch}; {writer.dir / ckpt.LAST} holds the end of epoch {epoch - 1}. "
        f"Resume with: minidl train --resume {writer.dir}"
    )


class _Progress:
    """A bar per epoch on a terminal; one plain line per epoch anywhere else (CI logs, pipes)."""

    def __init__(self, config, enabled: bool):
        self.epochs = config.epochs
        self.enabled = enabled
        self.bar = enabled and sys.stderr.isatty()

    def batches(self, loader, epoch):
        if not self.bar:
            return loader
        from tqdm import tqdm

        return tqdm(loader, desc=f"epoch {epoch}/{self.epochs}", unit="batch", leave=False, file=sys.stderr)

    def epoch_done(self, row):
        if not self.enabled:
            return
        parts = [f"epoch {row['epoch']}/{self.epochs}", f"train loss {row['train_loss']:.4f}"]
        if "train_acc" in row:
            parts.append(f"train acc {row['train_acc']:.3f}")
        parts.append(f"test loss {row['test_loss']:.4f}")
        if "test_acc" in row:
            parts.append(f"test acc {row['test_acc']:.3f}")
        parts.append(f"{row['seconds']:.2f} s")
        print(", ".join(parts), flush=True)
