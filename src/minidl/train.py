"""The training loop: ``fit(config) -> History``, the same for every model and both twins."""
from __future__ import annotations

import math
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from . import checkpoint as ckpt
from .checks import check_fits_in_memory, plural, size
from .config import REGRESSORS, TrainConfig, resume_changes
from .errors import CheckpointError, ConfigError, MinidlError
from .evaluate import Totals, class_report, evaluate
from .memory import keep_freed_memory
from .models import architecture, build_loss, build_optimizer, load_weights, model_for
from .runs import RunData, RunWriter, check_same_data, is_finished, load_run_data, resume_command


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
    # what a checkpoint of the last epoch holds (sharing the model's tensors): fit(..., resume=state)
    # continues from it in memory, as from a run folder
    state: dict | None = field(default=None, repr=False)

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


def fit(config: TrainConfig, data=None, *, class_names=None, resume: str | Path | dict | None = None,
        progress: bool = True, allow_changes: bool = False) -> History:
    """Return the History of training ``config``'s model; ``resume`` continues a saved run exactly.

    ``data``: arrays to train on instead of the data set ``config`` names: ``(X_train, y_train,
    X_test, y_test)`` or, with no test set to score the epochs on, ``(X, y)``; tensors or NumPy
    arrays. Integer y are class labels 0..C-1 (named by ``class_names`` if given), float y a target
    to regress (see minidl.data.arrays). The inputs and outputs come from the data, whatever the model.
    ``resume``: a run folder, a checkpoint file, or a History's ``state``. Resuming refuses a change
    of config that would make it another run (see minidl.config.resume_changes) unless ``allow_changes``.

    On Linux this also tells glibc to keep freed memory for reuse (see minidl.memory), process-wide.
    """
    keep_freed_memory()  # each step frees the MBs the next one needs: keep them, no page faults
    device = pick_device(config.device)
    torch.manual_seed(config.seed)
    data = load_run_data(config, device, arrays=data, class_names=class_names)
    _check_model_fits(config, data)
    try:
        model = model_for(config, data.num_inputs, data.num_outputs).to(device)
    except (MemoryError, RuntimeError) as e:  # what the estimate cannot see: a GPU's memory, other processes
        if not isinstance(e, MemoryError) and "memory" not in str(e) and "alloc" not in str(e):
            raise
        asked = re.search(r"(\d+) bytes", str(e))
        why = f"it asked for {size(int(asked.group(1)))} at once" if asked else str(e).strip().splitlines()[0][:160]
        raise ConfigError(f"the {config.model} does not fit in the memory of {device} ({why}); "
                          f"ask for a smaller one") from None
    loss_fn = build_loss(config.model, config.impl, model, classifies=data.classifies,
                         weight_decay=config.weight_decay)
    optimizer = build_optimizer(model, config.impl, config.optimizer, config.lr, config.weight_decay)
    rows, resumed = [], None
    if resume is not None:
        rows, resumed = _restore(resume, config, model, optimizer, data, allow_changes)
    writer = RunWriter(config.out, config, data, resumed=resumed) if config.out else None
    try:
        return _train(config, model, loss_fn, optimizer, data, rows, writer, progress)
    finally:
        if writer:
            writer.close()  # the folder's lock


def _train(config, model, loss_fn, optimizer, data: RunData, rows, writer, progress) -> History:
    """Return the History of training from ``rows`` (the epochs done) to ``config.epochs``."""
    show = _Progress(config, enabled=progress)
    show.started(config, writer)
    if writer and not rows:  # epoch 0: Ctrl-C during the first epoch still leaves a checkpoint
        writer.save_checkpoint(_state(config, model, optimizer, data, rows), best=False)

    first_epoch, test = len(rows) + 1, None
    for epoch in range(first_epoch, config.epochs + 1):
        # --- train one epoch ---
        start = time.perf_counter()
        model.train()
        totals = Totals(data.classifies)
        norms = _GradNorms(model) if config.grad_norms else None
        diverged = _DivergenceCheck()
        try:
            for batch, (X, y) in enumerate(show.batches(data.train, epoch), 1):
                y_hat = model(X)
                loss = loss_fn(y_hat, y)
                optimizer.zero_grad()
                loss.backward()
                if norms is not None:
                    norms.add()  # the gradients backward() found, before the step uses them
                optimizer.step()
                if diverged(loss):
                    raise TrainingDiverged(_diverged_message(config, epoch, batch, loss, writer))
                totals.add(loss.detach(), y_hat.detach(), y)
        except KeyboardInterrupt:
            raise TrainingInterrupted(_interrupted_message(epoch, writer)) from None
        train_seconds = time.perf_counter() - start

        # --- evaluate on the test set ---
        test = evaluate(model, data.test, loss_fn, data.classifies) if data.test is not None else None
        row = {"epoch": epoch, **totals.means("train"), **(test.means("test") if test else {}),
               "seconds": train_seconds, **(norms.means() if norms is not None else {})}
        rows.append(row)
        show.epoch_done(row)

        # --- record ---
        if writer:
            writer.save_epoch(rows, _state(config, model, optimizer, data, rows))

    if first_epoch > config.epochs and data.test is not None:  # resumed to finish a run whose epochs are done
        test = evaluate(model, data.test, loss_fn, data.classifies)
    summary, predictions = summarize(config, rows, model, data, test)
    if writer:
        try:
            writer.finish(rows, summary, plots=config.plots, predictions=predictions)
        except KeyboardInterrupt:
            raise TrainingInterrupted(
                f"interrupted while writing the figures and summary of {writer.dir}; its {ckpt.LAST} holds "
                f"all {plural(len(rows), 'epoch')}: finish them with: {resume_command(writer.dir)}") from None
    return History(config=config, rows=rows, summary=summary, run_dir=writer.dir if writer else None, model=model,
                   state=_state(config, model, optimizer, data, rows))


def _state(config, model, optimizer, data: RunData, rows) -> dict:
    """Return everything exact resume needs, as plain data ``torch.load(weights_only=True)`` accepts."""
    rng = {"torch": torch.get_rng_state(), "loader": data.train.state_dict()}
    if getattr(model, "dropout_generator", None) is not None:  # an MLP's: its next dropout masks
        rng["dropout"] = model.dropout_generator.get_state()
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


def _restore(resume, config, model, optimizer, data: RunData, allow_changes: bool) -> tuple[list[dict], dict | None]:
    """Load a run's last checkpoint into model, optimizer and RNGs; return its metrics rows and what
    the RunWriter records of the resume (None for a History's state, which has no folder).

    A run whose epochs are all done but whose summary.json is missing (Ctrl-C while its figures were
    drawn) resumes with no epoch left to train, and fit writes its figures and summary.
    """
    if isinstance(resume, dict):  # a History's state: continue in memory
        path, state = "the state given", resume
    else:
        path = ckpt.find_checkpoint(resume)
        state = ckpt.load_checkpoint(path)
    check_same_data(state["data"], data, str(path))  # the same split, or the run would change its data
    changes = resume_changes(state["config"], config, allow=allow_changes)
    done = state["epoch"]
    if done > config.epochs or (done == config.epochs and (isinstance(resume, dict) or is_finished(path.parent, done))):
        raise CheckpointError(
            f"{path} has already trained {plural(done, 'epoch')}; ask for more, e.g. --epochs {done + 5}"
        )
    load_weights(model, state, path)
    if "optimizer" not in changes:  # another optimizer (--allow-changes) starts afresh
        optimizer.load_state_dict(state["optimizer"])
    for group in optimizer.param_groups:
        group["lr"] = config.lr  # a learning rate given when resuming wins over the saved one
    torch.set_rng_state(state["rng"]["torch"])
    loader = state["rng"]["loader"]
    data.train.load_state_dict(loader if isinstance(loader, dict) else {"generator": loader})  # older: bare state
    if "cuda" in state["rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["rng"]["cuda"])
    if "dropout" in state["rng"]:
        model.dropout_generator.set_state(state["rng"]["dropout"])
    rows = [dict(r) for r in state["rows"]]
    if isinstance(resume, dict):
        return rows, None
    return rows, {"epoch": done, "rows": rows, "config": state["config"], "changes": changes}


def _check_model_fits(config, data: RunData) -> None:
    """Refuse, before allocating it, a model whose weights, gradients and optimizer state exceed free memory."""
    widths = [data.num_inputs, *(config.hidden if config.model == "mlp" else ()), data.num_outputs]
    parameters = sum(a * b + b for a, b in zip(widths, widths[1:]))
    # float32: the weights, their gradients, and up to two optimizer buffers (adam's moments)
    hidden = f" (--hidden {' '.join(map(str, config.hidden))})" if config.model == "mlp" else ""
    check_fits_in_memory(f"a {'-'.join(map(str, widths))} {config.model}{hidden}, {parameters:,} parameters,",
                         4 * 4 * parameters)


def summarize(config, rows, model, data: RunData, test: Totals | None) -> tuple[dict, torch.Tensor | None]:
    """Return the final figures and the test predictions (from ``test``, the last epoch's evaluate).

    The figures: last epoch, best epoch (on the training set where there is no test set), time, the
    confusion matrix and per-class accuracy of a classifier, the learned w and b of linear regression.
    """
    last = rows[-1]
    scored = "test" if test is not None else "train"
    key, better = (f"{scored}_acc", max) if data.classifies else (f"{scored}_loss", min)
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
        **data.notes,  # e.g. an image folder's counts and the files it skipped
    }
    if config.model in REGRESSORS:
        summary.update(data.describe_linreg(model))
    if not data.classifies or test is None:
        return summary, None
    report, predictions = class_report(test, data.class_names)
    summary.update(report)
    return summary, predictions


class _GradNorms:
    """Each weight's gradient norm ||dL/dW||, the mean over an epoch's batches: rows' grad_norm_W1, ...

    Read from canonical_grads() after backward(), before the step (scratch's sgd zeroes .grad). For
    a manual model that multiplies the factors out, one more product per layer: hence --grad-norms.
    With weight decay, scratch's gradients include lambda W (its loss holds the penalty).
    """

    def __init__(self, model):
        self.model, self.sums, self.batches = model, {}, 0

    def add(self) -> None:
        for name, grad in self.model.canonical_grads().items():
            if grad is not None and grad.dim() > 1:  # weights only, as a (fan_in, fan_out) matrix
                self.sums[name] = self.sums.get(name, 0) + torch.linalg.vector_norm(grad)
        self.batches += 1

    def means(self) -> dict:
        return {f"grad_norm_{name}": float(total) / self.batches for name, total in self.sums.items()}


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
    if epoch == 1 and batch == 1 and not math.isfinite(loss.item()):  # before any step: not the lr's doing
        return (f"the loss of the very first batch is already {loss.item()}, before any step: the data's "
                f"values overflow float32 (largest 3.4e38, and the loss squares them); scale the data down{kept}")
    return (
        f"the loss diverged to {loss.item():.3g} in epoch {epoch}, batch {batch}, at lr {config.lr:g}: "
        f"training stopped{kept}. Try a lower learning rate, e.g. --lr {config.lr / 10:g}"
    )


def _interrupted_message(epoch, writer) -> str:
    if writer is None:
        return f"interrupted in epoch {epoch}; nothing was saved (no --out folder)"
    return (
        f"interrupted in epoch {epoch}; {writer.dir / ckpt.LAST} holds the end of epoch {epoch - 1}. "
        f"Resume with: {resume_command(writer.dir)}"
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

    def started(self, config, writer):
        if self.enabled:
            where = f"; run folder {writer.dir}" if writer else ""
            print(f"training {config.hyperparameters}{where}", flush=True)

    def epoch_done(self, row):
        if not self.enabled:
            return
        parts = [f"epoch {row['epoch']}/{self.epochs}", f"train loss {row['train_loss']:.4g}"]
        if "train_acc" in row:
            parts.append(f"train acc {row['train_acc']:.3f}")
        if "test_loss" in row:
            parts.append(f"test loss {row['test_loss']:.4g}")
        if "test_acc" in row:
            parts.append(f"test acc {row['test_acc']:.3f}")
        parts.append(f"{row['seconds']:.2f} s")
        print(", ".join(parts), flush=True)
