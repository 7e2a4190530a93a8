"""A run folder on disk: what makes a folder minidl's, its lock, its files made level with its checkpoint.

A run folder holds ``config.json``, ``metrics.csv``, ``summary.json``, ``checkpoint.pt`` (last
epoch), ``best.pt`` (the best epoch, chosen on the validation set when there is one, else the test
set) and the plots. The process writing it holds its lock; after a crash the checkpoint is the
truth the other files are brought level with (:func:`reconcile`).
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import shlex
from pathlib import Path

from minidl.errors import CheckpointError, ConfigError
from minidl.files import stale_temp_files, write_bytes, write_text
from minidl.training import checkpoint as ckpt
from minidl.training.selection import best_row

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; runs there are not guarded against a second writer
    fcntl = None

LOCK = ".minidl.lock"  # the process writing a run holds an flock on it; the file itself stays behind


def check_run_folder(folder: Path, *, locked: bool = False) -> None:
    """Raise ConfigError unless a new run may be written in ``folder``: absent, or empty.

    A folder that already holds a run, a run that never saved a checkpoint, or anything else
    (the user's files, ``--out .``) is refused by name: minidl never writes over files it did not make.
    A folder whose lock another process holds is in use (``locked``: this process holds it).
    """
    if not folder.exists():
        return
    if not folder.is_dir():
        raise ConfigError(f"--out {folder} is a file, not a folder; choose a new folder name")
    if not locked:
        check_not_in_use(folder)  # a run being written is in use, whatever else it holds yet
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


def check_not_in_use(folder: Path) -> None:
    """Raise CheckpointError naming the pid of another process that holds ``folder``'s lock (creating nothing)."""
    path = Path(folder) / LOCK
    if fcntl is None or not path.is_file():
        return
    with open(path) as f:
        try:
            fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            holder = f.read().strip() or "unknown"
            raise CheckpointError(f"{folder} is in use: another minidl process (pid {holder}) is writing its run; "
                                  f"wait for it to finish, or choose another --out folder") from None


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


def resume_command(folder) -> str:
    """Return the shell command that continues the run in ``folder``, quoted for the shell."""
    return f"minidl train --resume {shlex.quote(str(folder))}"


def is_best(rows: list[dict], min_delta: float = 0.0) -> bool:
    """Return True when the last row is the best so far (see minidl.training.selection: on the validation set
    where there is one, else the test set; accuracy, or loss for regression)."""
    return best_row(rows, min_delta) is rows[-1]
