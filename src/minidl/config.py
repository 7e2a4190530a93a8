"""The one frozen configuration of a training run, validated once and saved beside its metrics."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, fields

from .errors import ConfigError

MODELS = ("linreg", "softmax", "mlp")
IMPLS = ("scratch", "concise", "manual")
INITS = ("normal", "xavier", "kaiming")
OPTIMIZERS = ("sgd", "adam", "adamw")
DEVICES = ("auto", "cpu", "cuda", "mps")
# the names of minidl.activations.ACTIVATIONS (a test keeps the two equal); listed here so that
# building the command line's help does not import torch
ACTIVATIONS = ("relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "silu", "softplus")
ACTIVATIONS_HELP = ", ".join(ACTIVATIONS)

# The lessons' hyperparameters: what a learner gets without a single flag.
LESSON_DEFAULTS = {
    "linreg": {"lr": 0.03, "batch_size": 10, "epochs": 3},
    "softmax": {"lr": 0.1, "batch_size": 256, "epochs": 10},
    "mlp": {"lr": 0.5, "batch_size": 256, "epochs": 5},
}


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a run's numbers; ``None`` fields take the lesson's defaults.

    >>> TrainConfig(model="softmax").lr
    0.1
    >>> TrainConfig(model="mlp", lr=0)
    Traceback (most recent call last):
    ...
    minidl.errors.ConfigError: learning rate must be a positive number, got lr=0
    """

    model: str = "mlp"
    impl: str = "manual"
    epochs: int | None = None
    lr: float | None = None
    batch_size: int | None = None
    hidden: tuple[int, ...] = (256,)
    activation: str = "relu"
    init: str = "normal"
    optimizer: str = "sgd"
    seed: int = 0
    device: str = "auto"
    data_dir: str | None = None  # Fashion-MNIST folder; None: MINIDL_DATA_DIR, else the user cache
    csv: str | None = None  # linreg only: fit this table instead of the synthetic data
    target: str | None = None  # the CSV column to predict
    num_examples: int = 1000  # linreg on synthetic data: training examples (the lesson's 1,000)
    out: str | None = None  # run folder; None: write nothing
    plots: bool = True

    def __post_init__(self):
        _choice("model", self.model, MODELS)
        for name, value in LESSON_DEFAULTS[self.model].items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        object.__setattr__(self, "hidden", tuple(self.hidden))
        _choice("impl", self.impl, IMPLS)
        _choice("init", self.init, INITS)
        _choice("activation", self.activation, ACTIVATIONS)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("device", self.device, DEVICES)
        if not isinstance(self.lr, (int, float)) or not math.isfinite(self.lr) or self.lr <= 0:
            raise ConfigError(f"learning rate must be a positive number, got lr={self.lr}")
        _positive_int("batch_size", self.batch_size, "batch size")
        _positive_int("epochs", self.epochs, "number of epochs")
        _positive_int("num_examples", self.num_examples, "number of synthetic examples")
        if self.model == "mlp" and not self.hidden:
            raise ConfigError("an MLP needs at least one hidden layer, e.g. --hidden 256")
        for width in self.hidden:
            _positive_int("hidden", width, "hidden layer width")
        if self.impl == "scratch" and self.optimizer != "sgd":
            raise ConfigError(
                f"scratch models train with minidl's own sgd, not {self.optimizer}; "
                f"use --impl manual or --impl concise to train with torch.optim's {self.optimizer}"
            )
        if (self.csv is None) != (self.target is None):
            raise ConfigError("--csv and --target go together: name the table and the column to predict")
        if self.csv is not None and self.model != "linreg":
            raise ConfigError(f"--csv fits a table with linear regression; it does not apply to {self.model}")

    def to_dict(self) -> dict:
        """Return the config as JSON-ready data (the inverse of :meth:`from_dict`)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["hidden"] = list(self.hidden)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        """Return the config saved by :meth:`to_dict`; unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown config keys {unknown}; known keys are {sorted(known)}")
        return cls(**data)

    def replace(self, **changes) -> "TrainConfig":
        """Return a copy with ``changes`` applied and validated again."""
        return dataclasses.replace(self, **changes)

    @property
    def hyperparameters(self) -> str:
        """Return a one-line summary, e.g. ``mlp (concise) 784-256-10 relu, sgd lr 0.5, batch 256``."""
        shape = "-".join(str(h) for h in self.hidden) if self.model == "mlp" else ""
        arch = f"{self.model} ({self.impl})" + (f" hidden {shape} {self.activation}" if shape else "")
        return f"{arch}, {self.optimizer} lr {self.lr:g}, batch {self.batch_size}, {self.epochs} epochs, seed {self.seed}"


def _choice(name, value, choices):
    if value not in choices:
        raise ConfigError(f"unknown {name} {value!r}; choose one of: {', '.join(choices)}")


def _positive_int(name, value, what):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{what} must be a whole number >= 1, got {name}={value}")
