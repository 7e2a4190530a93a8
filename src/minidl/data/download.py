"""Fetching one file from a list of mirrors, checked against its published MD5 before it appears.

The body streams to ``name.part`` beside its destination and is renamed only once its checksum
matches, so a folder never holds half a file or a file nobody published. A connection error is
retried; a wrong checksum or an HTTP 4xx moves on to the next mirror at once.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from minidl.errors import DatasetError


def fetch(root: Path, name: str, mirrors, expected: str, *, retries: int, timeout: float,
          progress: bool, backoff: float) -> list[str]:
    """Return [] once ``root / name`` holds the file from the first mirror serving it intact, else the failures.

    Each mirror is tried ``retries`` times on connection errors, sleeping ``backoff * attempt``
    seconds between tries; no ``.part`` file is left behind either way.
    """
    part, failures = root / f"{name}.part", []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name
        for attempt in range(1, retries + 1):
            try:
                digest = _stream(url, part, timeout, progress)
            except urllib.error.HTTPError as e:
                failures.append(f"{url}: HTTP {e.code} {e.reason}")
                if 400 <= e.code < 500:
                    break  # the mirror does not have it; asking again will not help
            except PermissionError as e:  # our side: no mirror can fix it
                raise DatasetError(f"cannot write {part}: {e.strerror}; download into a folder "
                                   "you can write to (--data-dir)") from None
            except (OSError, http.client.HTTPException) as e:  # URLError, timeouts, resets
                failures.append(f"{url}: {str(getattr(e, 'reason', '') or e) or type(e).__name__}")
            else:
                if digest == expected:
                    os.replace(part, root / name)
                    return []
                failures.append(f"{url}: checksum mismatch (md5 {digest}, expected {expected})")
                break  # a different file, not a flaky line: try the next mirror
            finally:
                part.unlink(missing_ok=True)
            if attempt < retries:
                time.sleep(backoff * attempt)
    return failures or ["no mirror given"]


def _stream(url: str, part: Path, timeout: float, progress: bool) -> str:
    """Write the body at `url` to `part` and return its MD5; raise OSError on a short body."""
    with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as f:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        if progress and not sys.stderr.isatty():
            print(f"downloading {url}", file=sys.stderr)
        digest, received = hashlib.md5(usedforsecurity=False), 0
        with tqdm(total=total, unit="B", unit_scale=True, desc=part.name[:-5],
                  disable=not (progress and sys.stderr.isatty())) as bar:
            while chunk := response.read(1 << 16):
                f.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    if total is not None and received != total:
        # http.client returns a short body silently when the server hangs up early.
        raise ConnectionError(f"connection closed after {received} of {total} bytes")
    return digest.hexdigest()
