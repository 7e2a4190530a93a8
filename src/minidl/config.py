"""The one frozen configuration of a training run, validated once and saved beside its metrics.

It is the single home of every run rule: the choice lists (models, implementations, inits,
activations, optimizers, devices), the lessons' defaults and every validation. The command line is
built from its fields (their types, defaults and help text), so a flag can never disagree with it.
Nothing here imports torch, so ``minidl --help`` answers at once.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields

from .checks import check_choice, check_positive, check_whole
from .errors import ConfigError

MODELS = ("linreg", "softmax", "mlp")
IMPLS = ("scratch", "concise", "manual")
INITS = ("normal", "xavier", "kaiming")
OPTIMIZERS = ("sgd", "adam", "adamw")
DEVICES = ("auto", "cpu", "cuda", "mps")
# the names of minidl.activations.ACTIVATIONS (a test keeps the two equal); listed here so that
# building the command line's help does not import torch
ACTIVATIONS = ("relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "silu", "softplus")
ACTIVATION_ALIASES = {"swish": "silu"}  # other names people use; each activation is listed once
MAX_SEED = 2**63 - 1  # torch.Generator.manual_seed takes seeds in [0, 2**64); json and int64 fit 2**63

DATA_DIR_HELP = "Fashion-MNIST folder (default: $MINIDL_DATA_DIR, else the user cache)"

# The lessons' hyperparameters: what a learner gets without a single flag.
LESSON_DEFAULTS = {
    "linreg": {"lr": 0.03, "batch_size": 10, "epochs": 3},
    "softmax": {"lr": 0.1, "batch_size": 256, "epochs": 10},
    "mlp": {"lr": 0.5, "batch_size": 256, "epochs": 5},
}
# the fields only some models read: giving one to another model is a mistake, not a silent no-op
APPLIES_TO = {"hidden": ("mlp",), "activation": ("mlp",), "csv": ("linreg",), "target": ("linreg",),
              "num_examples": ("linreg",), "data_dir": ("softmax", "mlp")}


def option(default, help: str, *, flag: str | None = None, metavar: str | None = None):
    """Return a dataclass field that the command line offers as a flag with this ``help``."""
    return field(default=default, metadata={"help": help, "flag": flag, "metavar": metavar})


def check_lr(lr) -> float:
    """Return ``lr`` if it is a positive finite number, else raise ConfigError."""
    return check_positive("learning rate (--lr)", lr)


def check_optimizer(impl: str, optimizer: str) -> None:
    """Raise ConfigError unless the ``impl`` twin trains with ``optimizer`` (scratch has only its own sgd)."""
    if impl == "scratch" and optimizer != "sgd":
        raise ConfigError(
            f"scratch models train with minidl's own sgd, not {optimizer}; "
            f"use --impl manual or --impl concise to train with torch.optim's {optimizer}"
        )


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a run's numbers; ``None`` fields take the lesson's defaults.

    >>> TrainConfig(model="softmax").lr
    0.1
    >>> TrainConfig(model="mlp", lr=0)
    Traceback (most recent call last):
    ...
    minidl.errors.ConfigError: learning rate (--lr) must be a positive number, got 0
    """

    model: str = field(default="mlp", metadata={"help": f"one of {', '.join(MODELS)}", "positional": True})
    impl: str = option("manual", f"{', '.join(IMPLS)}: autograd on plain tensors, torch.nn and torch.optim, "
                       "or gradients written by hand (manual: the fastest; all three are tested equal)")
    epochs: int | None = option(None, "number of passes over the training set")
    lr: float | None = option(None, "learning rate (> 0)")
    batch_size: int | None = option(None, "examples per minibatch (>= 1)")
    hidden: tuple[int, ...] = option((256,), "MLP hidden layer widths", metavar="WIDTH")
    activation: str = option("relu", f"MLP activation: {', '.join(ACTIVATIONS)}")
    init: str = option("normal", f"weight initialisation: {', '.join(INITS)} (normal: N(0, 0.01) on every parameter)")
    optimizer: str = option("sgd", f"{', '.join(OPTIMIZERS)} (adam and adamw need --impl concise or manual)")
    seed: int = option(0, f"seed for initialisation and shuffling (0 to {MAX_SEED})")
    device: str = option("auto", f"{', '.join(DEVICES)} (auto: cuda, then mps, then cpu)")
    data_dir: str | None = option(None, DATA_DIR_HELP)
    csv: str | None = option(None, "linreg: fit this CSV table of numeric columns instead of synthetic data")
    target: str | None = option(None, "linreg with --csv: the column to predict")
    num_examples: int = option(1000, "linreg on synthetic data: number of examples", flag="--examples")
    out: str | None = option(None, "run folder (default runs/<model>-<timestamp>)")
    plots: bool = option(True, "skip the PNG figures", flag="--no-plots")

    def __post_init__(self):
        check_choice("model", self.model, MODELS)
        for name, value in LESSON_DEFAULTS[self.model].items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        object.__setattr__(self, "hidden", tuple(self.hidden))
        check_choice("impl", self.impl, IMPLS)
        check_choice("init", self.init, INITS)
        check_choice("activation", self.activation, ACTIVATIONS, aliases=ACTIVATION_ALIASES)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("device", self.device, DEVICES)
        check_lr(self.lr)
        check_whole("batch size (--batch-size)", self.batch_size)
        check_whole("number of epochs (--epochs)", self.epochs)
        check_whole("number of synthetic examples (--examples)", self.num_examples)
        check_whole("seed (--seed)", self.seed, low=0, high=MAX_SEED)
        if self.model == "mlp" and not self.hidden:
            raise ConfigError("an MLP needs at least one hidden layer, e.g. --hidden 256")
        for width in self.hidden:
            check_whole("hidden layer width (--hidden)", width)
        check_optimizer(self.impl, self.optimizer)
        if (self.csv is None) != (self.target is None):
            raise ConfigError("--csv and --target go together: name the table and the column to predict")
        self._check_applies()

    def _check_applies(self) -> None:
        """Raise ConfigError for a field set away from its default that this model never reads."""
        defaults = {f.name: f.default for f in fields(self)}
        for name, models in APPLIES_TO.items():
            if self.model not in models and getattr(self, name) != defaults[name]:
                flag = cli_flag(name)
                raise ConfigError(f"{flag} does not apply to {self.model}; it is for {' and '.join(models)}")

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
        epochs = f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}"
        return f"{arch}, {self.optimizer} lr {self.lr:g}, batch {self.batch_size}, {epochs}, seed {self.seed}"


def cli_flag(name: str) -> str:
    """Return the command-line flag of a TrainConfig field, e.g. ``--batch-size`` for batch_size."""
    meta = {f.name: f.metadata for f in fields(TrainConfig)}[name]
    return meta.get("flag") or "--" + name.replace("_", "-")
