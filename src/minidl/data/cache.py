"""The per-user cache: where it lives, and decoded arrays kept there so only the first load parses.

A set of decoded arrays is saved as ``.npy`` files in ``cache_dir() / "decoded" / <key>``, where the
key hashes each source file's absolute path, size and modification time (and whatever else decides
the arrays, such as an image size): a changed file gets a new folder, never a stale hit. Writing
goes through the one atomic writer; a cache that cannot be written only costs speed.

>>> import os, tempfile
>>> os.environ["MINIDL_CACHE_DIR"] = tempfile.mkdtemp()
>>> cache_dir() == Path(os.environ["MINIDL_CACHE_DIR"])
True
"""
from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path

import numpy as np

from minidl.files import atomic_write


def cache_dir() -> Path:
    """Return the per-user cache folder: MINIDL_CACHE_DIR, else $XDG_CACHE_HOME/minidl, else ~/.cache/minidl."""
    if os.environ.get("MINIDL_CACHE_DIR"):
        return Path(os.environ["MINIDL_CACHE_DIR"]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "minidl"
    return Path.home() / ".cache" / "minidl"


def decoded_folder(paths, *extra: str) -> Path:
    """Return the cache folder of the arrays decoded from ``paths`` (and the settings in ``extra``)."""
    key = hashlib.sha256()
    for path in paths:
        path = Path(path).resolve()
        stat = path.stat()
        key.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    for value in extra:
        key.update(f"{value}\n".encode())
    return cache_dir() / "decoded" / key.hexdigest()[:16]


def read_arrays(folder: Path, names, check=None) -> list[np.ndarray] | None:
    """Return the arrays saved under ``folder``, or None when absent, unreadable or failing ``check``."""
    try:
        arrays = [np.load(folder / f"{name}.npy", allow_pickle=False) for name in names]
        if check is not None:
            check(arrays)
    except (OSError, ValueError, EOFError):  # missing, truncated, garbage (DatasetError too)
        return None
    return arrays


def write_arrays(folder: Path, names, arrays, what: str) -> None:
    """Save the arrays under ``folder``, each atomically; a failure only warns (loads stay slow)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, array in zip(names, arrays):
            atomic_write(folder / f"{name}.npy", lambda f, a=array: np.save(f, a))
    except OSError as e:
        warnings.warn(f"could not cache decoded {what} in {folder} ({e.strerror or e}); every load "
                      "will decode the files again. Point MINIDL_CACHE_DIR at a writable folder to "
                      "fix it", stacklevel=4)
