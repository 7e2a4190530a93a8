"""The validation rules every part of minidl shares: choices, whole numbers, positive numbers.

One home per rule, so that one mistake always gets one message, whether it reaches minidl through
the command line, ``TrainConfig`` or a function called from Python. Nothing here imports torch.

>>> check_choice("model", "cnn", ("linreg", "softmax", "mlp"))
Traceback (most recent call last):
...
minidl.errors.ConfigError: unknown model 'cnn'; choose one of linreg, softmax, mlp
>>> check_whole("batch size", 0, low=1)
Traceback (most recent call last):
...
minidl.errors.ConfigError: batch size must be a whole number >= 1, got 0
"""
from __future__ import annotations

import math
import numbers

from minidl.errors import ConfigError


def check_choice(what: str, value, choices, *, aliases: dict | None = None):
    """Return ``value`` if it is one of ``choices`` (or a key of ``aliases``), else raise ConfigError."""
    aliases = aliases or {}
    if value in choices or value in aliases:
        return value
    alias_of = {name: alias for alias, name in aliases.items()}
    listed = ", ".join(c + (f" (or {alias_of[c]})" if c in alias_of else "") for c in choices)
    raise ConfigError(f"unknown {what} {value!r}; choose one of {listed}")


def check_whole(what: str, value, *, low: int = 1, high: int | None = None) -> int:
    """Return ``value`` as an int if it is a whole number in [low, high], else raise ConfigError naming it."""
    ok = not isinstance(value, bool) and isinstance(value, numbers.Integral) and value >= low
    if ok and (high is None or value <= high):
        return int(value)
    bound = f">= {low}" if high is None else f"from {low} to {high}"
    raise ConfigError(f"{what} must be a whole number {bound}, got {value!r}")


def check_positive(what: str, value) -> float:
    """Return ``value`` if it is a finite number > 0, else raise ConfigError naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{what} must be a positive number, got {value!r}")
    return value


def check_fraction(what: str, value, *, closed: bool = False) -> float:
    """Return ``value`` if it is a number in [0, 1) ([0, 1] with ``closed``), else raise ConfigError."""
    if (isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
            and 0 <= value and (value <= 1 if closed else value < 1)):
        return float(value)
    raise ConfigError(f"{what} must be a number from 0 to {'1' if closed else 'below 1'}, got {value!r}")
