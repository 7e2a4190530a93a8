"""The mistakes a user can make, and the checks that find them.

Every exception minidl raises for a mistake a user can fix derives from :class:`MinidlError`; the
command line prints its message as one line and exits with status 2, never a traceback. Messages
name the file or value that was wrong and say what to do about it.

The checks are the validation rules every part of minidl shares (choices, whole numbers, positive
numbers, sizes that must fit in memory): one home per rule, so that one mistake always gets one
message, whether it reaches minidl through the command line, ``TrainConfig`` or a function called
from Python. Nothing here imports torch.

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
import os


class MinidlError(Exception):
    """A user's mistake (bad file, bad value, missing data), explained in the message."""


class DatasetError(MinidlError, ValueError):
    """A data file is missing, corrupt or inconsistent; the message names the file."""


class ConfigError(MinidlError, ValueError):
    """A setting is invalid (lr <= 0, unknown model, ...); the message names the value."""


class CheckpointError(MinidlError):
    """A checkpoint or run folder cannot be used; the message names the file."""


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


def check_nonnegative(what: str, value) -> float:
    """Return ``value`` as a float if it is a finite number >= 0, else raise ConfigError naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
        raise ConfigError(f"{what} must be a number >= 0, got {value!r}")
    return float(value)


def check_fraction(what: str, value, *, closed: bool = False) -> float:
    """Return ``value`` if it is a number in [0, 1) ([0, 1] with ``closed``), else raise ConfigError."""
    if (isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
            and 0 <= value and (value <= 1 if closed else value < 1)):
        return float(value)
    raise ConfigError(f"{what} must be a number from 0 to {'1' if closed else 'below 1'}, got {value!r}")


def available_memory() -> int | None:
    """Return the bytes of memory free for a new allocation (Linux MemAvailable, else all RAM), or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_fits_in_memory(what: str, nbytes: int) -> None:
    """Raise ConfigError when ``what`` asks for more bytes than the machine has free, saying how much.

    >>> check_fits_in_memory("--hidden 10", 1000)
    >>> check_fits_in_memory("--examples 10000000000000", 10**18)
    Traceback (most recent call last):
    ...
    minidl.errors.ConfigError: --examples 10000000000000 needs about 1000000 TB of memory, and this machine has ... free; ask for less
    """
    free = available_memory()
    if free is not None and nbytes > free:
        raise ConfigError(f"{what} needs about {size(nbytes)} of memory, and this machine has {size(free)} "
                          f"free; ask for less")


def size(nbytes: float) -> str:
    """Return a byte count for people, e.g. ``size(3.2e9) == '3.2 GB'``."""
    for unit in ("bytes", "KB", "MB", "GB"):
        if nbytes < 1000:
            return f"{nbytes:.3g} {unit}"
        nbytes /= 1000
    return f"{nbytes:.0f} TB"


def plural(n: int, noun: str) -> str:
    """Return ``n`` and ``noun``, in the plural unless n is 1: ``plural(1, "epoch") == '1 epoch'``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def check_dropout(dropout, num_hidden: int) -> tuple[float, ...]:
    """Return one dropout probability per hidden layer (all 0 for ``()``), else raise ConfigError.

    >>> check_dropout((0.2, 0.5), 2), check_dropout((), 2)
    ((0.2, 0.5), (0.0, 0.0))
    >>> check_dropout((0.5,), 2)
    Traceback (most recent call last):
    ...
    minidl.errors.ConfigError: --dropout gives 1 probability for 2 hidden layers; give one per layer, like --dropout 0.2 0.5
    """
    dropout = tuple(dropout)
    if not dropout:
        return (0.0,) * num_hidden
    if len(dropout) != num_hidden:
        example = " ".join(["0.2", "0.5", *["0.5"] * (num_hidden - 2)][:num_hidden])
        raise ConfigError(f"--dropout gives {len(dropout)} probabilit{'y' if len(dropout) == 1 else 'ies'} for "
                          f"{num_hidden} hidden layer{'s' if num_hidden != 1 else ''}; give one per layer, "
                          f"like --dropout {example}")
    return tuple(check_fraction("dropout probability (--dropout)", p) for p in dropout)


CHANNELS = (1, 3)  # an image's channels: grey, or colour (red, green, blue)


def check_channels(channels) -> int:
    """Return ``channels`` if it is 1 (grey) or 3 (colour), else raise ConfigError.

    >>> check_channels(2)
    Traceback (most recent call last):
    ...
    minidl.errors.ConfigError: --channels must be 1 (grey) or 3 (colour: red, green, blue), got 2
    """
    if isinstance(channels, bool) or not isinstance(channels, numbers.Integral) or channels not in CHANNELS:
        raise ConfigError(f"--channels must be 1 (grey) or 3 (colour: red, green, blue), got {channels!r}")
    return int(channels)
