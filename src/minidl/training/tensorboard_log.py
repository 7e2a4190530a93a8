"""``--tensorboard``: a run's epochs, batch losses, hyperparameters and figures as TensorBoard event files.

They go to ``RUN/tensorboard/``, so ``tensorboard --logdir runs`` shows every run side by side.
Each epoch's scalars carry metrics.csv's column names (``train_loss``, ``test_acc``, ``lr``, ...)
at step = epoch; each batch's training loss is ``batch/train_loss`` at step = the batch's number
since the run began. A resumed run adds an event file beside the old ones (TensorBoard reads a
folder's files as one run): it first writes the epochs its checkpoint holds that the old files lack
(a crash can lose the last unflushed ones), and never an epoch they already have.
"""
from __future__ import annotations

from pathlib import Path

FOLDER = "tensorboard"
BATCH_TAG = "batch/train_loss"
HPARAM_METRICS = ("test_acc", "test_loss", "val_acc", "val_loss", "train_acc", "train_loss")


def logged_epochs(folder: Path) -> set[int]:
    """Return the epochs (steps of ``train_loss``) the event files in ``folder`` already hold."""
    if not any(folder.glob("events.out.tfevents.*")):
        return set()
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={"scalars": 0})  # 0: keep every value
    events.Reload()
    if "train_loss" not in events.Tags()["scalars"]:
        return set()
    return {e.step for e in events.Scalars("train_loss")}


def hparams(config) -> dict:
    """Return the config as TensorBoard's hparams take it: numbers, text and booleans (tuples as text).

    >>> from minidl.config.train import TrainConfig
    >>> hp = hparams(TrainConfig(model="mlp", hidden=(64, 32)))
    >>> hp["hidden"], hp["lr"], "data_dir" in hp
    ('64 32', 0.5, False)
    """
    out = {}
    for name, value in config.to_dict().items():
        if value is None or name in ("out", "mlflow"):
            continue  # not set, or where the files go
        out[name] = " ".join(map(str, value)) if isinstance(value, (list, tuple)) else value
    return out


STEP_POINTS = 50  # per-step training loss: at most this many points an epoch (each a mean), to stay cheap


class TensorBoardLogger:
    """Writes one run's event files with TensorBoard's event writer (through torch.utils.tensorboard)."""

    name = "TensorBoard"

    def __init__(self):
        self.writer, self.config, self.run_dir = None, None, None

    def started(self, config, run_dir, rows) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.config, self.run_dir = config, Path(run_dir)
        folder = self.run_dir / FOLDER
        have = logged_epochs(folder)
        self.writer = SummaryWriter(str(folder), flush_secs=30)
        for row in rows:  # a resumed run's epochs: only those the event files lack
            if row["epoch"] not in have:
                self.epoch(row, ())

    def epoch(self, row: dict, step_losses=()) -> None:
        epoch = row["epoch"]
        for name, value in row.items():
            if name != "epoch" and isinstance(value, (int, float)):
                self.writer.add_scalar(name, value, epoch)
        if step_losses:
            import torch

            losses = torch.stack(list(step_losses))  # one transfer per epoch
            first = (epoch - 1) * len(losses)  # every epoch has as many batches
            group = -(-len(losses) // STEP_POINTS)  # batches per point: at most STEP_POINTS points an epoch
            for start in range(0, len(losses), group):
                mean = float(losses[start:start + group].mean())  # the mean of the group's batch losses
                self.writer.add_scalar(BATCH_TAG, mean, first + min(start + group, len(losses)))
        if epoch == 1:
            self._hparams(row)

    def _hparams(self, row: dict) -> None:
        """Write the hyperparameters once, naming the metrics of this run (HParams view)."""
        from torch.utils.tensorboard.summary import hparams as hparams_summaries

        metrics = {name: row[name] for name in HPARAM_METRICS if name in row}
        for summary in hparams_summaries(hparams(self.config), metrics):
            self.writer.file_writer.add_summary(summary)

    def finished(self, summary: dict) -> None:
        """Add the run's figures (predictions, confusion, curves, ...) as images, at the last epoch."""
        import numpy as np
        from PIL import Image

        for path in sorted(self.run_dir.glob("*.png")):
            with Image.open(path) as image:
                pixels = np.asarray(image.convert("RGB"))  # (H, W, 3) uint8
            self.writer.add_image(path.stem, pixels, summary["epochs"], dataformats="HWC")
        self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
