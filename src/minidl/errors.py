"""The exceptions minidl raises for mistakes a user can fix.

Every one of them derives from :class:`MinidlError`; the command line prints its message as one
line and exits with status 2, never a traceback. Messages name the file or value that was wrong and
say what to do about it.
"""


class MinidlError(Exception):
    """A user's mistake (bad file, bad value, missing data), explained in the message."""


class DatasetError(MinidlError, ValueError):
    """A data file is missing, corrupt or inconsistent; the message names the file."""


class ConfigError(MinidlError, ValueError):
    """A setting is invalid (lr <= 0, unknown model, ...); the message names the value."""


class CheckpointError(MinidlError):
    """A checkpoint or run folder cannot be used; the message names the file."""
