"""A setting named as its reader knows it: a flag on the command line, a TrainConfig field in Python.

Messages that tell the user what to change say ``setting("lr", 0.003)``: ``--lr 0.003`` while the
``minidl`` command runs (inside :func:`command_line`), ``lr=0.003`` from Python (``minidl.fit``).

>>> setting("lr", 0.003), setting("val_fraction")
('lr=0.003', 'val_fraction')
>>> with command_line():
...     setting("lr", 0.003), setting("val_fraction")
('--lr 0.003', '--val-fraction')
"""
from __future__ import annotations

import contextlib
import contextvars

_COMMAND_LINE = contextvars.ContextVar("minidl_command_line", default=False)


def setting(field: str, value=None) -> str:
    """Return how the user sets ``field`` (to ``value``): its flag on the command line, else field=value."""
    if _COMMAND_LINE.get():
        return f"--{field.replace('_', '-')}" + ("" if value is None else f" {value}")
    return field if value is None else f"{field}={value!r}"


@contextlib.contextmanager
def command_line():
    """Name settings as flags inside this block (the ``minidl`` command's run)."""
    token = _COMMAND_LINE.set(True)
    try:
        yield
    finally:
        _COMMAND_LINE.reset(token)
