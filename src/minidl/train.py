"""The training loop: ``fit(config) -> History``, the same for every model and both twins."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from . import checkpoint as ckpt
from . import distributed
from .checks import check_fits_in_memory, plural, size
from .config import REGRESSORS, TrainConfig, resume_changes
from .errors import CheckpointError, ConfigError, MinidlError
from .evaluate import Totals, class_report, evaluate
from .flip import scorer_for
from .memory import keep_freed_memory
from .models import architecture, build_loss, build_optimizer, load_weights, model_for
from .run_data import RunData, check_same_data, labels_fingerprint, load_run_data
from .runs import RunWriter, is_best, is_finished, resume_command
from .schedules import lr_at, set_lr
from .selection import best_row, chosen_by, selection_key, stops_early
from .watch import (DivergenceCheck, GradNorms, Progress, TrainingDiverged, TrainingInterrupted,
                    diverged_message, interrupted_message)


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
    kept = f"{Path(config.out) / ckpt.LAST} holds the last good epoch" if config.out else "nothing was saved (no out=)"
    with distributed.started(device, kept) as world:  # alone, or one of torchrun's ranks
        return _fit(config, data, class_names, resume, progress and world.is_main, allow_changes, world)


def _fit(config, data, class_names, resume, progress, allow_changes, world) -> History:
    """Return fit's History on this rank of ``world``: only rank 0 prints and writes the run folder."""
    torch.manual_seed(config.seed)
    batch = world.local_batch(config.batch_size)  # each rank's share of the global batch
    data = load_run_data(config, world.device, arrays=data, class_names=class_names,
                         rank=world.rank, world_size=world.size, batch_size=batch)
    world.check_same("data (labels' SHA-256)", lambda: data.labels_sha256 or labels_fingerprint(
        data.train.y, data.test.y if data.test is not None else data.train.y[:0]))  # hashed only for several ranks
    _check_model_fits(config, data)
    try:
        model = model_for(config, data.num_inputs, data.num_outputs).to(world.device)
    except (MemoryError, RuntimeError) as e:  # what the estimate cannot see: a GPU's memory, other processes
        if not isinstance(e, MemoryError) and "memory" not in str(e) and "alloc" not in str(e):
            raise
        asked = re.search(r"(\d+) bytes", str(e))
        why = f"it asked for {size(int(asked.group(1)))} at once" if asked else str(e).strip().splitlines()[0][:160]
        raise ConfigError(f"the {config.model} does not fit in the memory of {world.device} ({why}); "
                          f"ask for a smaller one") from None
    loss_fn = build_loss(config.model, config.impl, model, classifies=data.classifies,
                         weight_decay=config.weight_decay, label_smoothing=config.label_smoothing)
    optimizer = build_optimizer(model, config.impl, config.optimizer, config.lr, config.weight_decay,
                                momentum=config.momentum, nesterov=config.nesterov)
    rows, resumed, best_model = [], None, None
    if resume is not None:
        rows, resumed, best_model = _restore(resume, config, model, optimizer, data, allow_changes)
    writer, failed = None, None
    try:
        if config.out and world.is_main:
            writer = RunWriter(config.out, config, data, resumed=resumed)
    except MinidlError as e:
        failed = e
    world.agree(failed)  # rank 0 could not make the folder: every rank stops
    net, optimizer = world.parallel(model, optimizer)  # averages the ranks' gradients each step
    try:
        return _train(config, model, net, loss_fn, optimizer, data, rows, writer, progress, world,
                      best_model=best_model if config.patience is not None else None)
    finally:
        if writer:
            writer.close()  # the folder's lock


def _train(config, model, net, loss_fn, optimizer, data: RunData, rows, writer, progress, world,
           best_model=None) -> History:
    """Return the History of training from ``rows`` (the epochs done) to ``config.epochs``.

    With ``--patience`` it stops once that many epochs brought no new best (minidl.selection) and
    restores the best epoch's weights (``best_model``: those of a resumed run): the History's model
    and the final checkpoint hold them. ``--val-fraction``'s set chooses that epoch where there is one.

    ``net`` is ``model`` itself, or DistributedDataParallel around it (see minidl.distributed).
    """
    show = Progress(config, enabled=progress)
    show.started(config, writer)
    if writer and not rows:  # epoch 0: Ctrl-C during the first epoch still leaves a checkpoint
        writer.save_checkpoint(_state(config, model, optimizer, data, rows), best=False)

    first_epoch, test = len(rows) + 1, None
    for epoch in range(first_epoch, config.epochs + 1):
        if stops_early(rows, config.patience, config.min_delta):
            break  # --patience epochs without a new best
        # --- train one epoch ---
        lr = set_lr(optimizer, lr_at(config, epoch))  # the schedule's lr for this epoch (minidl.schedules)
        start = time.perf_counter()
        model.train()
        totals = Totals(data.classifies)
        norms = GradNorms(model) if config.grad_norms else None
        diverged = DivergenceCheck(world.device)
        try:
            for batch, (X, y) in enumerate(show.batches(data.train, epoch), 1):
                y_hat = net(X)
                loss = loss_fn(y_hat, y)
                optimizer.zero_grad()
                loss.backward()
                if norms is not None:
                    norms.add()  # the gradients backward() found, before the step uses them
                optimizer.step()
                if diverged(loss, batch):
                    raise TrainingDiverged(diverged_message(config, epoch, diverged.batch, diverged.value, writer))
                totals.add(loss.detach(), y_hat.detach(), y)
            if diverged.at_end():  # on a GPU: read once per epoch (see DivergenceCheck)
                raise TrainingDiverged(diverged_message(config, epoch, diverged.batch, diverged.value, writer))
        except KeyboardInterrupt:
            raise TrainingInterrupted(interrupted_message(epoch, writer)) from None
        train_seconds = time.perf_counter() - start

        # --- evaluate on the validation set (it chooses the best epoch) and the test set (for the record) ---
        scorer = scorer_for(model, config.tta_flip)  # the model, or its mean over each image and its mirror
        val = evaluate(scorer, data.val, loss_fn, data.classifies) if data.val is not None else None
        test = evaluate(scorer, data.test, loss_fn, data.classifies) if data.test is not None else None
        row = {"epoch": epoch, "lr": lr, **totals.means("train", world.sum), **(val.means("val") if val else {}),
               **(test.means("test") if test else {}), "seconds": train_seconds,
               **(norms.means() if norms is not None else {})}
        rows.append(row)
        show.epoch_done(row)
        if config.patience is not None and is_best(rows, config.min_delta):
            best_model = {k: v.detach().clone() for k, v in model.state_dict().items()}

        # --- record ---
        if writer:
            writer.save_epoch(rows, _state(config, model, optimizer, data, rows, best_model))

    stopped = stops_early(rows, config.patience, config.min_delta)
    if stopped:  # the best epoch's weights, in the History's model and the final checkpoint
        model.load_state_dict(best_model)
        if writer:
            writer.save_checkpoint(_state(config, model, optimizer, data, rows, best_model), best=False)
    if (test is None or stopped) and data.test is not None:  # resumed with no epoch to train, or restored
        test = evaluate(scorer_for(model, config.tta_flip), data.test, loss_fn, data.classifies)
    summary, predictions = summarize(config, rows, model, data, test)
    if writer:
        try:
            writer.finish(rows, summary, plots=config.plots, predictions=predictions)
        except KeyboardInterrupt:
            raise TrainingInterrupted(
                f"interrupted while writing the figures and summary of {writer.dir}; its {ckpt.LAST} holds "
                f"all {plural(len(rows), 'epoch')}: finish them with: {resume_command(writer.dir)}") from None
    return History(config=config, rows=rows, summary=summary, run_dir=writer.dir if writer else None, model=model,
                   state=_state(config, model, optimizer, data, rows, best_model))


def _state(config, model, optimizer, data: RunData, rows, best_model=None) -> dict:
    """Return everything exact resume needs, as plain data ``torch.load(weights_only=True)`` accepts.

    ``best_model``: with --patience, the best epoch's weights so far, for the restore at the end.
    """
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
        **({"best_model": {k: v.cpu() for k, v in best_model.items()}} if best_model is not None else {}),
    }


def _restore(resume, config, model, optimizer, data: RunData,
             allow_changes: bool) -> tuple[list[dict], dict | None, dict | None]:
    """Load a run's last checkpoint into model, optimizer and RNGs; return its metrics rows, what
    the RunWriter records of the resume (None for a History's state, which has no folder) and the
    best epoch's weights it kept for --patience (None where it kept none).

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
    best_model = state.get("best_model")
    if isinstance(resume, dict):
        return rows, None, best_model
    return rows, {"epoch": done, "rows": rows, "config": state["config"], "changes": changes}, best_model


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
    best, (key, _) = best_row(rows, config.min_delta), selection_key(last)  # on val, else test, else train
    seconds = sum(r["seconds"] for r in rows)
    summary = {
        "model": config.model,
        "impl": config.impl,
        "epochs": len(rows),
        "final": last,
        "best_epoch": best["epoch"],
        f"best_{key}": best[key],
        "best_by": chosen_by(last),  # the split that chose the best epoch: val, test or train
        **({"best_epoch_test_acc": best["test_acc"]} if "test_acc" in best and key != "test_acc" else {}),
        **({"stopped_early": stops_early(rows, config.patience, config.min_delta)} if config.patience else {}),
        "train_seconds": seconds,
        "train_examples_per_second": (data.train.num_examples * data.train.world_size * len(rows) / seconds
                                      if seconds else None),  # every rank's examples
        **data.notes,  # e.g. an image folder's counts and the files it skipped
    }
    if config.model in REGRESSORS:
        summary.update(data.describe_linreg(model))
    if not data.classifies and data.csv_path and data.test is not None:  # a table's regression: R^2, RMSE
        from .run_data import regression_scores

        summary.update(regression_scores(model, data.test, data.table))
    if not data.classifies or test is None:
        return summary, None
    report, predictions = class_report(test, data.class_names)
    summary.update(report)
    return summary, predictions
