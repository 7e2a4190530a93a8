"""What the training loop watches beside the loss going down: a diverging loss, Ctrl-C, each weight's
gradient norm (``--grad-norms``), and the progress it prints. minidl.training.fit's loop uses each."""
from __future__ import annotations

import math
import sys

import torch

from minidl.training import checkpoint as ckpt
from minidl.errors import MinidlError, plural
from minidl.naming import setting
from minidl.training.run_folder import resume_command


class TrainingDiverged(MinidlError):
    """The loss became inf or NaN; the message names where and suggests a lower learning rate."""

    exit_code = 1


class TrainingInterrupted(MinidlError):
    """Ctrl-C: the run stopped; the message says which epoch the checkpoint holds and how to resume."""

    exit_code = 130
    every_rank = True  # Ctrl-C reaches every rank: rank 0 alone says so


class GradNorms:
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


class DivergenceCheck:
    """True once the loss is inf/NaN or past 1000x its first batch's (at least 1000): a lost run.

    A stable cross-entropy stays finite even at absurd learning rates (at lr 1e4 it climbs to
    ~1e13, then sits near 4e3 with every ReLU dead), so waiting for NaN alone would let such a run
    go on uselessly. No run that is learning ever gets near the threshold.

    On the CPU each batch's loss is read at once (``.item()`` costs nothing there), so the run stops
    at the batch that diverged. On a GPU reading it would wait for the step every batch: the check
    stays on the device and ``at_end()`` reads it once per epoch (the message names the first batch).
    """

    FACTOR = 1000.0

    def __init__(self, device=torch.device("cpu")):
        self.limit, self.on_device = None, torch.device(device).type != "cpu"
        self.batch, self.value = None, None  # where it diverged and to what
        self.first_bad = self.bad_value = torch.zeros((), device=device)  # on a GPU: 0 while none

    def __call__(self, loss, batch: int) -> bool:
        value = loss.detach()
        if self.limit is None:  # the epoch's first batch: one read
            self.limit = self.FACTOR * max(value.item(), 1.0)
        if self.on_device:  # the first bad batch and its loss, kept on the device: no wait
            bad = (~torch.isfinite(value) | (value > self.limit)) & (self.first_bad == 0)
            self.first_bad = torch.where(bad, batch, self.first_bad)
            self.bad_value = torch.where(bad, value, self.bad_value)
            return False
        self.batch, self.value = batch, value.item()
        return not math.isfinite(self.value) or self.value > self.limit

    def at_end(self) -> bool:
        """Return whether a batch of the epoch diverged, read once (on a GPU); False on the CPU."""
        if not self.on_device:
            return False
        self.batch, self.value = int(self.first_bad.item()), self.bad_value.item()
        return self.batch > 0


def diverged_message(config, epoch, batch, value, writer) -> str:
    kept = f"; {writer.dir / ckpt.LAST} still holds the last good epoch" if writer else ""
    value = float(value)
    if epoch == 1 and batch == 1 and not math.isfinite(value):  # before any step: not the lr's doing
        return (f"the loss of the very first batch is already {value}, before any step: the data's "
                f"values overflow float32 (largest 3.4e38, and the loss squares them); scale the data down{kept}")
    return (
        f"the loss diverged to {value:.3g} in epoch {epoch}, batch {batch}, at lr {config.lr:g}: "
        f"training stopped{kept}. Try a lower learning rate, e.g. {setting('lr', float(f'{config.lr / 10:g}'))}"
    )


def interrupted_message(epoch, writer) -> str:
    if writer is None:
        return f"interrupted in epoch {epoch}; nothing was saved (no --out folder)"
    return (
        f"interrupted in epoch {epoch}; {writer.dir / ckpt.LAST} holds the end of epoch {epoch - 1}. "
        f"Resume with: {resume_command(writer.dir)}"
    )


class Progress:
    """A bar per epoch on a terminal; one plain line per epoch anywhere else (CI logs, pipes)."""

    def __init__(self, config, enabled: bool):
        self.epochs = config.epochs
        self.show_lr = config.schedule != "constant" or bool(config.warmup)  # the lr moves: show it
        self.enabled = enabled
        self.bar = enabled and sys.stderr.isatty()

    def batches(self, loader, epoch):
        if not self.bar:
            return loader
        from tqdm import tqdm

        return tqdm(loader, desc=f"epoch {epoch}/{self.epochs}", unit="batch", leave=False, file=sys.stderr)

    def started(self, config, writer, threads=None):
        """Print what trains, on how many CPU threads (``threads``; None: on a GPU), and where it is written."""
        if self.enabled:
            on = f" on {plural(threads, 'CPU thread')}" if threads else ""
            where = f"; run folder {writer.dir}" if writer else ""
            print(f"training {config.hyperparameters}{on}{where}", flush=True)

    def epoch_done(self, row):
        if not self.enabled:
            return
        parts = [f"epoch {row['epoch']}/{self.epochs}", *([f"lr {row['lr']:.3g}"] if self.show_lr else []),
                 f"train loss {row['train_loss']:.4g}"]
        if "train_acc" in row:
            parts.append(f"train acc {row['train_acc']:.3f}")
        if "val_loss" in row:
            parts.append(f"val loss {row['val_loss']:.4g}")
        if "val_acc" in row:
            parts.append(f"val acc {row['val_acc']:.3f}")
        if "test_loss" in row:
            parts.append(f"test loss {row['test_loss']:.4g}")
        if "test_acc" in row:
            parts.append(f"test acc {row['test_acc']:.3f}")
        parts.append(f"{row['seconds']:.2f} s")
        print(", ".join(parts), flush=True)
