"""A run's folder written as it trains: the artifacts a run leaves behind, so that nothing is ever lost.

A run folder holds ``config.json``, ``metrics.csv``, ``summary.json``, ``checkpoint.pt`` (last
epoch), ``best.pt`` (the best epoch, chosen on the validation set when there is one, else the test
set) and the plots. Every file is written atomically, the folder is locked while a run writes it,
and after a crash the checkpoint is the truth the other files are brought level with.
"""
from __future__ import annotations

import errno
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import torch

from minidl import __version__
from minidl.training import checkpoint as ckpt
from minidl.config.train import TrainConfig
from minidl.errors import CheckpointError, ConfigError
from minidl.files import write_json
from minidl.sources.base import RunData
from minidl.files import stale_temp_files
from minidl.training.run_folder import (LOCK, check_run_folder, is_best, lock_run_folder, read_record, reconcile,
                                        resume_command, rounded, write_metrics)



class RunWriter:
    """Writes one run's folder: config, metrics after every epoch, checkpoints, figures, summary.

    From its creation to :meth:`close` it holds the folder's lock (:func:`lock_run_folder`): a second
    process training into the same folder stops at once instead of mixing its files with these.
    ``resumed`` (epoch, rows, the saved config, the changes) continues a run: its folder is brought
    level with its checkpoint and the resume is recorded in config.json's "resumes".
    """

    def __init__(self, out: str | Path, config: TrainConfig, data: RunData, *, resumed: dict | None = None):
        self.dir = Path(out)
        self.classifies = data.classifies
        self.min_delta = config.min_delta  # what counts as a new best epoch (best.pt)
        self.data = data
        if data.test is None:
            raise ConfigError(f"a run folder ({self.dir}) scores every epoch on a test set: give data=(X_train, "
                              "y_train, X_test, y_test), or leave out out=")
        self.epoch = resumed["epoch"] if resumed else None  # the epoch checkpoint.pt holds
        self._lock = None
        self._written = []  # what this new run has written so far: removed again if it saves no checkpoint
        self._made = resumed is None and not self.dir.exists()  # this run made the folder
        if resumed is None:
            check_run_folder(self.dir)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigError(f"cannot create the run folder {self.dir}: {e.strerror}") from None
        self._lock = lock_run_folder(self.dir)
        try:
            if resumed is None:
                check_run_folder(self.dir, locked=True)  # again, under the lock: another run may have begun here meanwhile
                record = {"config": config.to_dict(), "minidl_version": __version__,
                          "torch_version": torch.__version__, "git_revision": git_revision(), "data": data.source}
            else:
                reconcile(self.dir, resumed["rows"], config.min_delta)
                record = read_record(self.dir) or {"config": resumed["config"], "data": data.source}
                record.setdefault("resumes", []).append({
                    "at_epoch": resumed["epoch"], "changes": resumed["changes"], "minidl_version": __version__,
                    "torch_version": torch.__version__, "time": time.strftime("%Y-%m-%d %H:%M:%S")})
            with self.writing("config.json"):
                write_json(self.dir / "config.json", record)
            self._written.append(self.dir / "config.json")
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Release the folder's lock."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def save_checkpoint(self, state: dict, *, best: bool) -> None:
        with self.writing(ckpt.LAST):
            ckpt.save_checkpoint(self.dir / ckpt.LAST, state)
        self.epoch = state["epoch"]
        if best:
            with self.writing(ckpt.BEST):
                ckpt.save_checkpoint(self.dir / ckpt.BEST, state)

    def save_epoch(self, rows: list[dict], state: dict) -> None:
        """Write checkpoint.pt, then metrics.csv, then best.pt when this epoch is the best so far.

        In that order the checkpoint is the truth: a crash or a full disk leaves metrics.csv and
        best.pt at most one epoch behind it, and :func:`reconcile` brings them level.
        """
        with self.writing(ckpt.LAST):
            ckpt.save_checkpoint(self.dir / ckpt.LAST, state)
        self.epoch = state["epoch"]
        with self.writing("metrics.csv"):
            write_metrics(self.dir / "metrics.csv", rows)
        if is_best(rows, self.min_delta):
            with self.writing(ckpt.BEST):
                ckpt.save_checkpoint(self.dir / ckpt.BEST, state)

    @contextmanager
    def writing(self, name: str):
        """Turn a full disk (or another failed write) of file ``name`` into one CheckpointError."""
        try:
            yield
        except OSError as e:
            why = "no space left on the device" if e.errno == errno.ENOSPC else (e.strerror or str(e))
            raise CheckpointError(self._failed(name, why)) from None
        except RuntimeError as e:  # torch.save on a full disk: "[enforce fail at inline_container.cc] ..."
            if "inline_container" not in str(e) and "write" not in str(e).lower():
                raise
            first = str(e).strip().splitlines()[0][:120]
            raise CheckpointError(self._failed(name, f"torch.save failed, no space left on the device? ({first})")) from None

    def _failed(self, name: str, why: str) -> str:
        """Return the advice for a failed write of ``name``: resume from the checkpoint kept, or, where the
        run saved none, train again (what it had written is removed, so that the same command works)."""
        if self.epoch is not None:
            return (f"cannot write {name} in the run folder {self.dir}: {why}; {ckpt.LAST} still holds epoch "
                    f"{self.epoch}, and metrics.csv agrees with it. Free some space, then resume with: "
                    f"{resume_command(self.dir)}")
        removed = self._discard()
        return (f"cannot write {name} in the run folder {self.dir}: {why}; the run had saved nothing yet, "
                f"{removed}. Free some space, then run the same command again")

    def _discard(self) -> str:
        """Remove what this run, which saved no checkpoint, wrote; return what that left, in words."""
        self.close()
        for path in [*self._written, self.dir / LOCK, *stale_temp_files(self.dir)]:
            path.unlink(missing_ok=True)
        if self._made:
            try:
                self.dir.rmdir()
                return "so its folder was removed"
            except OSError:
                pass
        return "so the files it had written were removed"

    def finish(self, rows, summary, *, plots: bool, predictions=None) -> None:
        """Write the figures (unless ``plots`` is false), then summary.json, which marks the run finished."""
        if plots:
            with self.writing("the figures"):
                draw_figures(self.dir, self.data, rows, summary, predictions)
        with self.writing("summary.json"):
            write_json(self.dir / "summary.json", rounded(summary))


def draw_figures(folder: Path, data: RunData, rows, summary, predictions=None) -> list[Path]:
    """Return the paths of a run's figures after drawing them in ``folder`` from its rows, summary and data."""
    from minidl.training import plots as P  # matplotlib is slow to import: only when drawing
    from minidl.training.image_grids import plot_predictions
    from minidl.data.tables import Standardizer

    paths = [P.plot_curves(rows, folder / "curves.png", title=f"{summary['model']} ({summary['impl']})",
                           log_loss=not data.classifies)]
    if any(key.startswith("grad_norm_") for key in rows[-1]):  # --grad-norms
        paths.append(P.plot_grad_norms(rows, folder / "grad_norms.png",
                                       title=f"{summary['model']} ({summary['impl']}): gradient norm per layer"))
    if data.classifies and predictions is not None:
        if data.test_images is not None:  # arrays given to fit are not images to show
            paths.append(plot_predictions(data.test_images, data.test.y.cpu(), predictions,
                                          data.class_names, folder / "predictions.png"))
        paths.append(P.plot_confusion(torch.tensor(summary["confusion"]), data.class_names,
                                      folder / "confusion.png"))
    elif not data.classifies and data.test is not None and "w" in summary:
        X, y, table = data.test.X.cpu(), data.test.y.cpu(), data.table
        names, scale = {}, 1.0
        if "target_standardizer" in table:  # back to the table's own units, where summary's w and b live
            X = Standardizer.from_dict(table["standardizer"]).inverse(X)
            target = Standardizer.from_dict(table["target_standardizer"])
            y, scale = target.inverse(y), target.std[0]
            names = {"feature_names": table["features"], "target": table["target"]}
        w = torch.tensor(summary["w"]).reshape(-1, 1)
        paths.append(P.plot_linreg_fit(X, y, w, summary["b"], folder / "fit.png", scale=scale, **names))
    return paths


def git_revision() -> str | None:
    """Return the git commit of the minidl source tree, or None outside a checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None
