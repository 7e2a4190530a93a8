"""Writing a file so that it is either whole or absent: the one atomic-write routine of minidl.

Every file minidl writes (checkpoints, metrics, JSON, PNG figures, IDX files, cached arrays) goes
through :func:`atomic_write`: the bytes go to a temporary file beside the target, which is renamed
over it only once complete. A crash, a full disk or Ctrl-C leaves the previous file intact and no
temporary file behind. The new file gets the ordinary permissions (0666 less the umask), as
``open()`` would give it.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "note.txt"
>>> write_text(path, "hello\\n").read_text()
'hello\\n'
"""
from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

TMP_SUFFIX = ".tmp"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Return ``path`` after ``write(f)`` filled a temp file beside it and the temp file replaced it."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a run's files are as readable as any
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Return ``path`` after writing ``data`` there atomically."""
    return atomic_write(path, lambda f: f.write(data))


def write_text(path: str | Path, text: str) -> Path:
    """Return ``path`` after writing ``text`` there atomically, as UTF-8."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, data) -> Path:
    """Return ``path`` after writing ``data`` there atomically as indented JSON."""
    return write_text(path, json.dumps(data, indent=2) + "\n")


def stale_temp_files(folder: str | Path) -> list[Path]:
    """Return the temp files :func:`atomic_write` leaves in ``folder`` when a process is killed (kill -9)."""
    return sorted(p for p in Path(folder).glob(f".*{TMP_SUFFIX}") if p.is_file())
