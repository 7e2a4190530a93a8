"""One-line notices about how a table was read, and value lists cut short for messages.

A notice goes to stderr as ``minidl: ...``, once per process for each distinct line: the folds
of a cross-validation read the same table, and say what they did with it once. Inside
:func:`held`, notices wait until the block ends well: a table that stops at a bad cell prints its
one error line, not the notices of the columns read before it.

>>> few(["N1A1", "N1A2", "N2A1", "N2A2", "N3A1", "N3A2", "N4A1"])
'N1A1, N1A2, N2A1, N2A2, N3A1, ... (7 in all)'
>>> few(["a", "b"])
'a, b'
"""
from __future__ import annotations

import sys
from contextlib import contextmanager

SHOWN = 5  # the values a message lists at most, then the count
_said: set[str] = set()  # the notices this process printed already
_waiting: list[list[str]] = []  # the notices of each open held() block, innermost last


def few(values, limit: int = SHOWN) -> str:
    """Return the first ``limit`` of ``values`` joined by commas, then the count if there are more."""
    values = [str(v) for v in values]
    if len(values) <= limit:
        return ", ".join(values)
    return f"{', '.join(values[:limit])}, ... ({len(values)} in all)"


def say(line: str) -> None:
    """Print ``line`` to stderr as one ``minidl:`` notice, unless this process said it already."""
    if line in _said or any(line in block for block in _waiting):
        return
    if _waiting:
        _waiting[-1].append(line)
        return
    _said.add(line)
    print(f"minidl: {line}", file=sys.stderr, flush=True)


@contextmanager
def held():
    """Hold the notices said inside the block; say them when it ends without an exception, else drop them."""
    _waiting.append([])
    try:
        yield
    except BaseException:
        _waiting.pop()
        raise
    for line in _waiting.pop():
        say(line)
