"""What a run tells the tools people already watch training in: TensorBoard (``--tensorboard``) and
MLflow (``--mlflow URI``), behind the one interface the training loop calls.

The loop calls, on the process that writes the run folder (rank 0):

- ``open_loggers(config, is_main)`` before the run folder is made: it refuses a missing extra or an
  unreachable tracking store while nothing is written yet (one MinidlError line);
- ``started(config, run_dir, rows)``: ``rows`` are the epochs a resumed run already has, so a
  logger can fill in what it lacks of them and never log an epoch twice;
- ``epoch(row, step_losses)`` after each epoch is saved: the metrics.csv row, and the epoch's batch
  losses (0-dim tensors the loop keeps anyway, read here once per epoch);
- ``finished(summary)`` after the figures and summary.json are written; ``close()`` always.

A logger that fails once training has begun says so in one warning line and stops logging: the
training and its run folder never depend on it.
"""
from __future__ import annotations

import contextlib
import importlib
import sys

from minidl.errors import ConfigError


def require_extra(module: str, extra: str, flag: str) -> None:
    """Raise ConfigError, naming the extra to install, unless ``module`` can be imported.

    >>> require_extra("no_such_module_here", "onnx", "--format onnx")
    Traceback (most recent call last):
    ...
    minidl.errors.ConfigError: --format onnx needs the optional extra 'onnx' (no_such_module_here is not installed): pip install 'minidl[onnx]'
    """
    try:
        importlib.import_module(module)
    except ImportError:
        raise ConfigError(f"{flag} needs the optional extra '{extra}' ({module} is not installed): "
                          f"pip install 'minidl[{extra}]'") from None


class Loggers:
    """The loggers a run asked for, each called in turn; one that fails is dropped with a warning."""

    def __init__(self, loggers=()):
        self.loggers = list(loggers)

    def _each(self, method: str, *args) -> None:
        for logger in list(self.loggers):
            try:
                getattr(logger, method)(*args)
            except Exception as e:  # noqa: BLE001  (logging must never cost the training)
                self.loggers.remove(logger)
                why = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
                print(f"minidl: warning: {logger.name} logging stopped ({why}); the run folder has "
                      f"everything", file=sys.stderr)
                _close_quietly(logger)

    def started(self, config, run_dir, rows) -> None:
        self._each("started", config, run_dir, rows)

    def epoch(self, row: dict, step_losses=()) -> None:
        self._each("epoch", row, step_losses)

    def finished(self, summary: dict) -> None:
        self._each("finished", summary)

    def close(self) -> None:
        for logger in self.loggers:
            _close_quietly(logger)
        self.loggers = []


def _close_quietly(logger) -> None:
    with contextlib.suppress(Exception):  # closing is the last thing: nothing left to tell
        logger.close()


def open_loggers(config, is_main: bool = True) -> Loggers:
    """Return the Loggers ``config`` asks for (none on a rank other than 0); ConfigError for a missing
    extra, a TensorBoard run without a run folder, or an MLflow store that cannot be reached."""
    loggers = []
    if not is_main:
        return Loggers()
    if config.tensorboard:
        require_extra("tensorboard", "tensorboard", "--tensorboard")
        if not config.out:
            raise ConfigError("tensorboard=True writes its event files into the run folder: give out=FOLDER too")
        from minidl.training.tensorboard_log import TensorBoardLogger

        loggers.append(TensorBoardLogger())
    if config.mlflow:
        require_extra("mlflow", "mlflow", "--mlflow")
        from minidl.training.mlflow_log import MLflowLogger

        loggers.append(MLflowLogger.connect(config.mlflow, config.mlflow_experiment))
    return Loggers(loggers)
