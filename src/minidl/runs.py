"""A run's folder: the artifacts a run leaves behind, written so that nothing is ever lost.

A run folder holds ``config.json``, ``metrics.csv``, ``summary.json``, ``checkpoint.pt`` (last
epoch), ``best.pt`` (the best epoch, chosen on the validation set when there is one, else the test
set) and the plots. Every file is written atomically, the folder is locked while a run writes it,
and after a crash the checkpoint is the truth the other files are brought level with.
"""
from __future__ import annotations

import csv
import errno
import io
import json
import math
import os
import shlex
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import torch

from . import __version__
from . import checkpoint as ckpt
from .config import TrainConfig
from .errors import CheckpointError, ConfigError
from .files import stale_temp_files, write_bytes, write_json, write_text
from .selection import best_row

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; runs there are not guarded against a second writer
    fcntl = None

from .run_data import RunData

LOCK = ".minidl.lock"  # the process writing a run holds an flock on it; the file itself stays behind


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
        if resumed is None:
            check_run_folder(self.dir)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigError(f"cannot create the run folder {self.dir}: {e.strerror}") from None
        self._lock = lock_run_folder(self.dir)
        try:
            if resumed is None:
                check_run_folder(self.dir)  # again, under the lock: another run may have begun here meanwhile
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
        kept = (f"{ckpt.LAST} still holds epoch {self.epoch}, and metrics.csv agrees with it"
                if self.epoch is not None else "nothing of the run was saved")
        return (f"cannot write {name} in the run folder {self.dir}: {why}; {kept}. Free some space, "
                f"then resume with: {resume_command(self.dir)}")

    def finish(self, rows, summary, *, plots: bool, predictions=None) -> None:
        """Write the figures (unless ``plots`` is false), then summary.json, which marks the run finished."""
        if plots:
            with self.writing("the figures"):
                draw_figures(self.dir, self.data, rows, summary, predictions)
        with self.writing("summary.json"):
            write_json(self.dir / "summary.json", rounded(summary))


def draw_figures(folder: Path, data: RunData, rows, summary, predictions=None) -> list[Path]:
    """Return the paths of a run's figures after drawing them in ``folder`` from its rows, summary and data."""
    from . import plots as P  # matplotlib costs ~0.3 s to import: only when drawing
    from .data.tables import Standardizer

    paths = [P.plot_curves(rows, folder / "curves.png", title=f"{summary['model']} ({summary['impl']})",
                           log_loss=not data.classifies)]
    if any(key.startswith("grad_norm_") for key in rows[-1]):  # --grad-norms
        paths.append(P.plot_grad_norms(rows, folder / "grad_norms.png",
                                       title=f"{summary['model']} ({summary['impl']}): gradient norm per layer"))
    if data.classifies and predictions is not None:
        if data.test_images is not None:  # arrays given to fit are not images to show
            paths.append(P.plot_predictions(data.test_images, data.test.y.cpu(), predictions,
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


def resume_command(folder) -> str:
    """Return the shell command that continues the run in ``folder``, quoted for the shell."""
    return f"minidl train --resume {shlex.quote(str(folder))}"


def check_run_folder(folder: Path) -> None:
    """Raise ConfigError unless a new run may be written in ``folder``: absent, or empty.

    A folder that already holds a run, a run that never saved a checkpoint, or anything else
    (the user's files, ``--out .``) is refused by name: minidl never writes over files it did not make.
    """
    if not folder.exists():
        return
    if not folder.is_dir():
        raise ConfigError(f"--out {folder} is a file, not a folder; choose a new folder name")
    if (folder / ckpt.LAST).exists():
        raise ConfigError(f"{folder} already holds a run; continue it with `{resume_command(folder)}`, "
                          f"or choose another --out folder")
    held = sorted(p.name for p in folder.iterdir() if p.name != LOCK)
    if not held:
        return
    if read_record(folder) is not None:
        raise ConfigError(f"{folder} holds a minidl run that never saved its {ckpt.LAST} (it stopped before "
                          f"its first epoch began); delete that folder to train there, or choose another --out folder")
    shown = ", ".join(held[:5]) + (f" and {len(held) - 5} more" if len(held) > 5 else "")
    raise ConfigError(f"--out {folder} is not empty and not a minidl run (it holds {shown}); minidl never "
                      f"writes over files it did not make: choose a new or empty folder")


def read_record(folder: Path) -> dict | None:
    """Return a run folder's config.json (what minidl wrote there), or None if it holds none."""
    try:
        record = json.loads((Path(folder) / "config.json").read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and "minidl_version" in record else None


def lock_run_folder(folder: Path):
    """Return the lock file of ``folder``, open and exclusively flock'd, with this process's pid in it.

    CheckpointError names the holder's pid when another process holds it; ConfigError says so when
    the folder is not writable. Closing the file releases the lock (so does the process's end).
    """
    try:
        f = open(Path(folder) / LOCK, "a+")
    except OSError as e:
        raise ConfigError(f"cannot write in the run folder {folder} ({e.strerror}); choose a folder "
                          f"you can write to") from None
    if fcntl is None:
        return f
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.seek(0)
        holder = f.read().strip() or "unknown"
        f.close()
        raise CheckpointError(f"{folder} is in use: another minidl process (pid {holder}) is writing its run; "
                              f"wait for it to finish, or choose another --out folder") from None
    f.seek(0)
    f.truncate()
    f.write(f"{os.getpid()}\n")
    f.flush()
    return f


def is_best(rows: list[dict], min_delta: float = 0.0) -> bool:
    """Return True when the last row is the best so far (see minidl.selection: on the validation set
    where there is one, else the test set; accuracy, or loss for regression)."""
    return best_row(rows, min_delta) is rows[-1]


def is_finished(folder: Path, epoch: int) -> bool:
    """Return True when ``folder``'s summary.json (written last) is there for a run of ``epoch`` epochs."""
    try:
        return json.loads((Path(folder) / "summary.json").read_text()).get("epochs") == epoch
    except (OSError, ValueError, AttributeError):
        return False


def reconcile(folder: Path, rows: list[dict], min_delta: float = 0.0) -> None:
    """Bring a run folder level with its checkpoint, the truth after a crash (``rows``: its metrics rows).

    metrics.csv is rewritten from the rows where it differs, best.pt copied from checkpoint.pt where
    the last epoch is the best but best.pt holds another, and the temp files of killed writes removed.
    """
    folder = Path(folder)
    for tmp in stale_temp_files(folder):
        tmp.unlink(missing_ok=True)
    if not rows:
        return
    metrics, text = folder / "metrics.csv", metrics_text(rows)
    if not metrics.is_file() or metrics.read_text() != text:
        write_text(metrics, text)
    best = folder / ckpt.BEST
    if is_best(rows, min_delta) and (folder / ckpt.LAST).is_file() and _epoch_of(best) != len(rows):
        write_bytes(best, (folder / ckpt.LAST).read_bytes())


def tidy_run_folder(folder) -> None:
    """Reconcile a run folder no process is training (evaluate calls it); a busy or read-only one is left as it is."""
    folder = Path(folder)
    if not (folder / ckpt.LAST).is_file():
        return
    try:
        lock = lock_run_folder(folder)
    except (ConfigError, CheckpointError):
        return
    try:
        state = ckpt.load_checkpoint(folder / ckpt.LAST)
        reconcile(folder, state["rows"], state["config"].get("min_delta", 0.0))
    except OSError:
        pass
    finally:
        lock.close()


def _epoch_of(path: Path) -> int | None:
    try:
        return ckpt.load_checkpoint(path)["epoch"]
    except CheckpointError:
        return None


def rounded(value, digits: int = 6):
    """Return ``value`` with each float rounded to ``digits`` significant digits, for people to read.

    >>> rounded({"acc": 0.9160000085830688, "rows": [1.0000001, 3]})
    {'acc': 0.916, 'rows': [1.0, 3]}
    """
    if isinstance(value, float):
        return float(f"{value:.{digits}g}") if math.isfinite(value) else value
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v, digits) for v in value]
    return value


def _layer_order(column: str) -> tuple:
    """Sort grad_norm_W2 before grad_norm_W10 (and grad_norm_w, linreg's, anywhere)."""
    digits = "".join(ch for ch in column if ch.isdigit())
    return (int(digits) if digits else 0, column)


# in this order, those the rows have (accuracies: a classifier's; val: --val-fraction)
METRIC_COLUMNS = ("epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "seconds")


def write_metrics(path: Path, rows: list[dict]) -> None:
    """Write metrics rows as CSV (accuracy columns only when the run classifies)."""
    write_text(path, metrics_text(rows))


def metrics_text(rows: list[dict]) -> str:
    """Return metrics rows as CSV text; floats with 6 significant digits (a loss of 3e-7 stays 3e-07)."""
    columns = [c for c in METRIC_COLUMNS if c in rows[0]]
    columns = columns + sorted({k for r in rows for k in r if k.startswith("grad_norm_")}, key=_layer_order)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    return buf.getvalue()


def git_revision() -> str | None:
    """Return the git commit of the minidl source tree, or None outside a checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None
