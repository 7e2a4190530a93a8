"""The training loop: epochs of forward, loss, zero_grad, backward, step; then evaluate and record."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from minidl.errors import plural
from minidl.sources.base import RunData
from minidl.training import checkpoint as ckpt
from minidl.training.evaluate import Totals, evaluate
from minidl.training.flip import scorer_for
from minidl.training.loggers import Loggers
from minidl.training.runs import RunWriter
from minidl.training.run_folder import is_best, resume_command
from minidl.training.schedules import lr_at, set_lr
from minidl.training.selection import stops_early
from minidl.training.state import run_state
from minidl.training.summary import summarize
from minidl.training.watch import (DivergenceCheck, GradNorms, Progress, TrainingDiverged, TrainingInterrupted,
                                   diverged_message, interrupted_message)


@dataclass
class Training:
    """What one run trains with: its config, model, loss, optimizer and data, on this rank of ``world``.

    ``net`` is ``model`` itself, or DistributedDataParallel around it (see minidl.distributed.world);
    ``optimizer`` may wrap the model's own to average the ranks' gradients.
    """

    config: object
    model: object
    net: object
    loss_fn: object
    optimizer: object
    data: RunData
    world: object
    threads: int = 1  # the CPU threads it computes on (minidl.training.threads)
    log: Loggers = field(default_factory=Loggers)  # --tensorboard, --mlflow: told of the start, each saved epoch, the end


def train(t: Training, rows: list[dict], writer: RunWriter | None, progress: bool, best_model=None):
    """Return ``(rows, summary, best_model)`` after training from ``rows`` (the epochs done) to the last epoch.

    With ``--patience`` it stops once that many epochs brought no new best (minidl.training.selection)
    and restores the best epoch's weights (``best_model``: those of a resumed run): the model and the
    final checkpoint hold them. ``--val-fraction``'s set chooses that epoch where there is one.
    """
    config, data = t.config, t.data
    show = Progress(config, enabled=progress)
    show.started(config, writer, t.threads if t.world.device.type == "cpu" else None)
    t.log.started(config, writer.dir if writer else None, rows)
    if writer and not rows:  # epoch 0: Ctrl-C during the first epoch still leaves a checkpoint
        writer.save_checkpoint(run_state(t, rows), best=False)
    test = None
    for epoch in range(len(rows) + 1, config.epochs + 1):
        if stops_early(rows, config.patience, config.min_delta):
            break  # --patience epochs without a new best
        # --- train one epoch ---
        lr = set_lr(t.optimizer, lr_at(config, epoch))  # the schedule's lr for this epoch (minidl.training.schedules)
        totals, norms, seconds = train_epoch(t, epoch, show, writer)
        # --- evaluate on the validation set (it chooses the best epoch) and the test set (for the record) ---
        scorer = scorer_for(t.model, config.tta_flip)  # the model, or its mean over each image and its mirror
        val = evaluate(scorer, data.val, t.loss_fn, data.classifies) if data.val is not None else None
        test = evaluate(scorer, data.test, t.loss_fn, data.classifies) if data.test is not None else None
        row = {"epoch": epoch, "lr": lr, **totals.means("train", t.world.sum), **(val.means("val") if val else {}),
               **(test.means("test") if test else {}), "seconds": seconds, **(norms.means() if norms is not None else {})}
        rows.append(row)
        show.epoch_done(row)
        if config.patience is not None and is_best(rows, config.min_delta):
            best_model = {k: v.detach().clone() for k, v in t.model.state_dict().items()}
        # --- record ---
        if writer:
            writer.save_epoch(rows, run_state(t, rows, best_model))
        t.log.epoch(row, totals.losses)  # after the save: a logger never runs ahead of the checkpoint
    return finish(t, rows, writer, test, best_model)


def train_epoch(t: Training, epoch: int, show: Progress, writer) -> tuple[Totals, GradNorms | None, float]:
    """Return one epoch's training totals, gradient norms (``--grad-norms``) and seconds."""
    start = time.perf_counter()
    t.model.train()
    totals = Totals(t.data.classifies)
    norms = GradNorms(t.model) if t.config.grad_norms else None
    diverged = DivergenceCheck(t.world.device)
    try:
        for batch, (X, y) in enumerate(show.batches(t.data.train, epoch), 1):
            y_hat = t.net(X)
            loss = t.loss_fn(y_hat, y)
            t.optimizer.zero_grad()
            loss.backward()
            if norms is not None:
                norms.add()  # the gradients backward() found, before the step uses them
            t.optimizer.step()
            if diverged(loss, batch):
                raise TrainingDiverged(diverged_message(t.config, epoch, diverged.batch, diverged.value, writer))
            totals.add(loss.detach(), y_hat.detach(), y)
        if diverged.at_end():  # on a GPU: read once per epoch (see DivergenceCheck)
            raise TrainingDiverged(diverged_message(t.config, epoch, diverged.batch, diverged.value, writer))
    except KeyboardInterrupt:
        raise TrainingInterrupted(interrupted_message(epoch, writer)) from None
    return totals, norms, time.perf_counter() - start


def finish(t: Training, rows, writer, test, best_model):
    """Return ``(rows, summary, best_model)``: the best weights restored if training stopped early, the
    summary and figures written."""
    stopped = stops_early(rows, t.config.patience, t.config.min_delta)
    if stopped:  # the best epoch's weights, in the model and the final checkpoint
        t.model.load_state_dict(best_model)
        if writer:
            writer.save_checkpoint(run_state(t, rows, best_model), best=False)
    if (test is None or stopped) and t.data.test is not None:  # resumed with no epoch to train, or restored
        test = evaluate(scorer_for(t.model, t.config.tta_flip), t.data.test, t.loss_fn, t.data.classifies)
    summary, predictions = summarize(t.config, rows, t.model, t.data, test)
    summary["threads"] = t.threads
    if writer:
        try:
            writer.finish(rows, summary, plots=t.config.plots, predictions=predictions)
        except KeyboardInterrupt:
            raise TrainingInterrupted(
                f"interrupted while writing the figures and summary of {writer.dir}; its {ckpt.LAST} holds "
                f"all {plural(len(rows), 'epoch')}: finish them with: {resume_command(writer.dir)}") from None
    t.log.finished(summary)
    return rows, summary, best_model
