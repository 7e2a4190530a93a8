"""A run: the data a config trains on, and the folder of artifacts it leaves behind.

A run folder holds ``config.json``, ``metrics.csv``, ``summary.json``, ``checkpoint.pt`` (last
epoch), ``best.pt`` (best test accuracy, or lowest test loss for linear regression) and the plots.
Every file is written atomically, so an interrupted run never leaves half a file.
"""
from __future__ import annotations

import csv
import hashlib
import io
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import torch

from . import __version__
from . import checkpoint as ckpt
from .config import TrainConfig
from .data.fashion_mnist import LABELS, read_fashion_mnist
from .data.loader import Loader
from .data.synthetic import TRUE_B, TRUE_W, synthetic_data
from .data.tables import load_table
from .errors import ConfigError, DatasetError
from .files import write_json, write_text

EVAL_BATCH = 1024  # evaluation needs no small batches: fewer, larger matmuls are faster


@dataclass
class RunData:
    """The loaders and facts a run needs: input width, number of outputs, class names, provenance."""

    train: Loader
    test: Loader
    num_inputs: int
    num_outputs: int
    classifies: bool
    source: str
    class_names: tuple[str, ...] = ()
    test_images: torch.Tensor | None = None  # uint8 (N, 28, 28), for the predictions plot
    table: dict = field(default_factory=dict)  # CSV runs: feature names, target and standardizer
    data_root: str | None = None  # Fashion-MNIST: the folder it was read from, absolute
    labels_sha256: str | None = None  # Fashion-MNIST: which split that folder holds (see labels_fingerprint)

    def facts(self) -> dict:
        """Return what a checkpoint needs to rebuild the model, read new inputs and find its data again."""
        facts = {"num_inputs": self.num_inputs, "num_outputs": self.num_outputs,
                 "class_names": list(self.class_names), "table": self.table}
        if self.data_root:
            facts.update(data_root=self.data_root, labels_sha256=self.labels_sha256)
        return facts

    def describe_linreg(self, model) -> dict:
        """Return the learned weights (and, on synthetic data, the true ones and the errors)."""
        from .models import canonical_state

        state = canonical_state(model)
        w, b = state["w"].reshape(-1).tolist(), state["b"].reshape(-1).tolist()[0]
        out = {"w": w, "b": b}
        if self.table:
            out.update(self.table)
        else:
            out.update({"true_w": list(TRUE_W), "true_b": TRUE_B,
                        "w_error": [wi - ti for wi, ti in zip(w, TRUE_W)], "b_error": b - TRUE_B})
        return out


def load_run_data(config: TrainConfig, device) -> RunData:
    """Return the loaders for ``config``: Fashion-MNIST, the synthetic line, or a CSV table."""
    def training(X, y) -> Loader:
        # Shuffled each epoch; a short last batch is dropped (different examples each epoch) when
        # there is a full one. At the MLP lesson's lr 0.5 that 96-image step, right before each
        # evaluation, made the final test accuracy swing: seeds 0-8 gave 0.77-0.87 with it and
        # 0.857-0.869 without it.
        return Loader(X, y, config.batch_size, shuffle=True, seed=config.seed, device=device,
                      drop_last=len(X) >= config.batch_size)

    if config.model == "linreg" and config.csv:
        train, test = load_table(config.csv, config.target).split(test_fraction=0.2, seed=config.seed)
        return RunData(
            train=training(train.X, train.y),
            test=Loader(test.X, test.y, EVAL_BATCH, device=device),
            num_inputs=train.X.shape[1], num_outputs=1, classifies=False, source=str(config.csv),
            table={"features": list(train.feature_names), "target": train.target,
                   "standardizer": train.standardizer.to_dict()},
        )
    if config.model == "linreg":
        X, y = synthetic_data(TRUE_W, TRUE_B, config.num_examples, seed=config.seed)
        X_test, y_test = synthetic_data(TRUE_W, TRUE_B, config.num_examples, seed=config.seed + 1)
        return RunData(
            train=training(X, y),
            test=Loader(X_test, y_test, EVAL_BATCH, device=device),
            num_inputs=len(TRUE_W), num_outputs=1, classifies=False,
            source=f"synthetic: y = X w + b + noise, w={list(TRUE_W)}, b={TRUE_B}",
        )
    # a folder named by --data-dir must already hold the data: a typo never starts a download
    fm = read_fashion_mnist(config.data_dir, download=config.data_dir is None)
    return RunData(
        train=training(fm.X_train, fm.y_train),
        test=Loader(fm.X_test, fm.y_test, EVAL_BATCH, device=device),
        num_inputs=28 * 28, num_outputs=len(LABELS), classifies=True,
        source=f"Fashion-MNIST ({fm.root})",
        class_names=tuple(LABELS), test_images=fm.X_test,
        data_root=str(fm.root), labels_sha256=labels_fingerprint(fm.y_train, fm.y_test),
    )


def labels_fingerprint(y_train: torch.Tensor, y_test: torch.Tensor) -> str:
    """Return the SHA-256 of both label sequences: it tells one train/test split from another.

    The same 70,000 images split another way (the official split, or a course's own) give other
    label orders, so a run evaluated or resumed on other data is caught in a millisecond, without
    hashing 55 MB of images.
    """
    digest = hashlib.sha256()
    for labels in (y_train, y_test):
        digest.update(labels.to(torch.int64).contiguous().numpy().tobytes())
    return digest.hexdigest()


def recorded_data_dir(recorded: dict, what: str) -> str | None:
    """Return the folder a checkpoint's facts say its run trained on (None where none is recorded).

    Evaluating and resuming read the data from there, whatever MINIDL_DATA_DIR says today. ``what``
    names the checkpoint for the DatasetError raised when that folder is gone.
    """
    root = recorded.get("data_root")
    if root and not Path(root).is_dir():
        raise DatasetError(f"{what} was trained on the Fashion-MNIST in {root}, which is gone; "
                           f"pass --data-dir FOLDER with a copy of that data")
    return root


def check_same_data(recorded: dict, data: RunData, what: str) -> None:
    """Raise DatasetError when ``data`` is not the split a checkpoint's facts say it trained on.

    ``what`` names the checkpoint for the message. Checkpoints from before the fingerprint pass.
    """
    expected = recorded.get("labels_sha256")
    if expected and data.labels_sha256 and expected != data.labels_sha256:
        raise DatasetError(
            f"{what} was trained on the Fashion-MNIST in {recorded['data_root']}, but the data in "
            f"{data.data_root} is split differently (other labels in train and test): its test set would "
            f"not be the run's. Pass --data-dir {recorded['data_root']} (or a copy of that folder)"
        )


class RunWriter:
    """Writes one run's folder: config, metrics after every epoch, checkpoints, summary, plots."""

    def __init__(self, out: str | Path, config: TrainConfig, data: RunData, *, resuming: bool = False):
        self.dir = Path(out)
        self.classifies = data.classifies
        self.data = data
        if not resuming and (self.dir / ckpt.LAST).exists():
            raise ConfigError(
                f"{self.dir} already holds a run; continue it with --resume {self.dir}, "
                f"or choose another --out folder"
            )
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigError(f"cannot create the run folder {self.dir}: {e.strerror}") from None
        write_json(self.dir / "config.json", {
            "config": config.to_dict(),
            "minidl_version": __version__,
            "torch_version": torch.__version__,
            "git_revision": git_revision(),
            "data": data.source,
        })

    def save_checkpoint(self, state: dict, *, best: bool) -> None:
        ckpt.save_checkpoint(self.dir / ckpt.LAST, state)
        if best:
            ckpt.save_checkpoint(self.dir / ckpt.BEST, state)

    def save_epoch(self, rows: list[dict], state: dict) -> None:
        """Rewrite metrics.csv and checkpoint.pt, and best.pt when this epoch is the best so far."""
        key, sign = ("test_acc", 1) if self.classifies else ("test_loss", -1)
        score = sign * rows[-1][key]
        is_best = all(score >= sign * r[key] for r in rows)
        write_metrics(self.dir / "metrics.csv", rows)
        self.save_checkpoint(state, best=is_best)

    def finish(self, rows, summary, *, plots: bool, predictions=None) -> None:
        """Write summary.json and, unless ``plots`` is false, the figures."""
        write_json(self.dir / "summary.json", summary)
        if not plots:
            return
        from . import plots as P  # matplotlib costs ~0.3 s to import: only when drawing

        P.plot_curves(rows, self.dir / "curves.png", title=f"{summary['model']} ({summary['impl']})")
        if self.classifies and predictions is not None:
            confusion = torch.tensor(summary["confusion"])
            P.plot_predictions(self.data.test_images, self.data.test.y.cpu(), predictions, self.data.class_names,
                               self.dir / "predictions.png")
            P.plot_confusion(confusion, self.data.class_names, self.dir / "confusion.png")
        elif not self.classifies:
            w = torch.tensor(summary["w"]).reshape(-1, 1)
            P.plot_linreg_fit(self.data.test.X.cpu(), self.data.test.y.cpu(), w, summary["b"],
                              self.dir / "fit.png")


METRIC_COLUMNS = {
    True: ["epoch", "train_loss", "train_acc", "test_loss", "test_acc", "seconds"],
    False: ["epoch", "train_loss", "test_loss", "seconds"],
}


def write_metrics(path: Path, rows: list[dict]) -> None:
    """Write metrics rows as CSV (accuracy columns only when the run classifies)."""
    columns = METRIC_COLUMNS["train_acc" in rows[0]]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in r.items()})
    write_text(path, buf.getvalue())


def git_revision() -> str | None:
    """Return the git commit of the minidl source tree, or None outside a checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None
