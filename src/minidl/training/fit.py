"""``fit(config) -> History``: the one way to train, for the command line, the Python API and the tests."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import torch

from minidl.config.train import TrainConfig
from minidl.distributed import world as distributed
from minidl.errors import ConfigError, MinidlError, check_fits_in_memory, size
from minidl.naming import setting
from minidl.sources.base import RunData, labels_fingerprint
from minidl.sources.registry import load_run_data
from minidl.training import checkpoint as ckpt
from minidl.training.loggers import open_loggers
from minidl.training.loop import Training, train
from minidl.training.memory import keep_freed_memory
from minidl.training.models import build_loss, model_for
from minidl.training.optimizers import build_optimizer
from minidl.training.runs import RunWriter
from minidl.training.state import read_saved, restore, run_state
from minidl.training.threads import LoadMeter, choose_threads, thread_team


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
        raise MinidlError(f"{setting('device', 'cuda')} was asked for, but torch sees no CUDA GPU here; "
                          f"use {setting('device', 'cpu')}")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise MinidlError(f"{setting('device', 'mps')} was asked for, but this torch has no MPS backend; "
                          f"use {setting('device', 'cpu')}")
    return torch.device(name)


def fit(config: TrainConfig, data=None, *, class_names=None, resume: str | Path | dict | None = None,
        progress: bool = True, allow_changes: bool = False) -> History:
    """Return the History of training ``config``'s model; ``resume`` continues a saved run exactly.

    ``data``: arrays to train on instead of the data set ``config`` names: ``(X_train, y_train,
    X_test, y_test)`` or, with no test set to score the epochs on, ``(X, y)``; tensors or NumPy
    arrays. Integer y are class labels 0..C-1 (named by ``class_names`` if given), float y a target
    to regress (see minidl.data.arrays). The inputs and outputs come from the data, whatever the model.
    ``resume``: a run folder, a checkpoint file, or a History's ``state``. Resuming refuses a change
    of config that would make it another run (see minidl.config.resume.resume_changes) unless ``allow_changes``.

    On Linux this also tells glibc to keep freed memory for reuse (see minidl.training.memory), process-wide.
    """
    meter = LoadMeter()  # how busy the other processes keep the cores while the data loads
    keep_freed_memory()  # each step frees the MBs the next one needs: keep them, no page faults
    device = pick_device(config.device)
    kept = f"{Path(config.out) / ckpt.LAST} holds the last good epoch" if config.out else "nothing was saved (no out=)"
    saved = read_saved(resume) if resume is not None else None
    with distributed.started(device, kept) as world:  # alone, or one of torchrun's ranks
        return _fit(config, data, class_names, saved, progress and world.is_main, allow_changes, world, meter)


def _fit(config, data, class_names, saved, progress, allow_changes, world, meter) -> History:
    """Return fit's History on this rank of ``world``: only rank 0 prints and writes the run folder."""
    torch.manual_seed(config.seed)
    batch = world.local_batch(config.batch_size)  # each rank's share of the global batch
    data = load_run_data(config, world.device, arrays=data, class_names=class_names,
                         rank=world.rank, world_size=world.size, batch_size=batch)
    world.check_same("data (labels' SHA-256)", lambda: data.recorded.get("labels_sha256") or labels_fingerprint(
        data.train.y, data.test.y if data.test is not None else data.train.y[:0]))  # hashed only for several ranks
    model, loss_fn, optimizer = build_training(config, data, world.device)
    recorded = saved[1].get("threads") if saved else None  # None: a checkpoint of minidl 0.1.0 records no count
    threads = choose_threads(config.threads, recorded, torch.get_num_threads(), meter)  # the training's, fixed
    t = Training(config, model, model, loss_fn, optimizer, data, world, threads=threads)
    rows, resumed, best_model = restore(saved, t, allow_changes) if saved is not None else ([], None, None)
    t.log = open_loggers(config, world.is_main)  # --tensorboard, --mlflow: refused here, before any file is written
    writer, failed = None, None
    try:
        if config.out and world.is_main:
            writer = RunWriter(config.out, config, data, resumed=resumed)
    except MinidlError as e:
        failed = e
    world.agree(failed)  # rank 0 could not make the folder: every rank stops
    t.net, t.optimizer = world.parallel(model, optimizer)  # averages the ranks' gradients each step
    try:
        with thread_team(threads):
            rows, summary, best_model = train(t, rows, writer, progress,
                                              best_model if config.patience is not None else None)
    finally:
        t.log.close()
        if writer:
            writer.close()  # the folder's lock
    return History(config=config, rows=rows, summary=summary, run_dir=writer.dir if writer else None, model=model,
                   state=run_state(t, rows, best_model))


def build_training(config, data: RunData, device, *, lr: float | None = None):
    """Return ``(model, loss_fn, optimizer)`` as ``config`` describes them for ``data`` (``lr``: another start)."""
    model = _build_model(config, data, device)
    loss_fn = build_loss(config.model, config.impl, model, classifies=data.classifies,
                         weight_decay=config.weight_decay, label_smoothing=config.label_smoothing)
    optimizer = build_optimizer(model, config.impl, config.optimizer, lr or config.lr, config.weight_decay,
                                momentum=config.momentum, nesterov=config.nesterov)
    return model, loss_fn, optimizer


def _build_model(config, data: RunData, device):
    """Return the model ``config`` describes for ``data`` on ``device``; a model too big for memory is one line."""
    _check_model_fits(config, data)
    try:
        return model_for(config, data.num_inputs, data.num_outputs).to(device)
    except (MemoryError, RuntimeError) as e:  # what the estimate cannot see: a GPU's memory, other processes
        if not isinstance(e, MemoryError) and "memory" not in str(e) and "alloc" not in str(e):
            raise
        asked = re.search(r"(\d+) bytes", str(e))
        why = f"it asked for {size(int(asked.group(1)))} at once" if asked else str(e).strip().splitlines()[0][:160]
        raise ConfigError(f"the {config.model} does not fit in the memory of {device} ({why}); "
                          f"ask for a smaller one") from None


def _check_model_fits(config, data: RunData) -> None:
    """Refuse, before allocating it, a model whose weights, gradients and optimizer state exceed free memory."""
    widths = [data.num_inputs, *(config.hidden if config.model == "mlp" else ()), data.num_outputs]
    parameters = sum(a * b + b for a, b in zip(widths, widths[1:]))
    # float32: the weights, their gradients, and up to two optimizer buffers (adam's moments)
    hidden = f" (--hidden {' '.join(map(str, config.hidden))})" if config.model == "mlp" else ""
    check_fits_in_memory(f"a {'-'.join(map(str, widths))} {config.model}{hidden}, {parameters:,} parameters,",
                         4 * 4 * parameters)
