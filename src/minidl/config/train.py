"""The one frozen configuration of a training run, in parts, validated once and saved beside its metrics.

``TrainConfig`` is made of its parts, each a frozen dataclass that declares its fields and checks
them where they are defined: the model (``config/model.py``), the optimization
(``config/optimization.py``), each data source's options (``minidl.sources``) and the run
(``config/run.py``). Its fields are flat (``config.lr``, ``config.csv``), as on the command line,
which is built from them, and in ``config.json``. Nothing here imports torch, so ``minidl --help``
answers at once.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields

from minidl.options import check_models, flag_of
from minidl.config.model import MODELS, ModelPart
from minidl.config.optimization import OptimizationPart, check_optimizer
from minidl.config.run import RunPart
from minidl.data.synthetic import TOYS
from minidl.errors import ConfigError, check_choice
from minidl.lessons.choices import INITS
from minidl.sources.base import SplitPart
from minidl.sources.idx_set import IdxOptions
from minidl.sources.image_folder import ImageFolderOptions
from minidl.sources.registry import check_sources
from minidl.sources.synthetic import SyntheticOptions
from minidl.sources.table import TableOptions
from minidl.sources.table_defaults import defaults_for

TABLE_MODELS = ("linreg", "softmax", "mlp")  # --csv without --batch-size / --epochs: sources.table_defaults'
# The lessons' hyperparameters: what a learner gets without a single flag.
LESSON_DEFAULTS = {
    "linreg": {"lr": 0.03, "batch_size": 10, "epochs": 3},
    "softmax": {"lr": 0.1, "batch_size": 256, "epochs": 10},
    "mlp": {"lr": 0.5, "batch_size": 256, "epochs": 5},
    "polyreg": {"lr": 0.01, "batch_size": 10, "epochs": 400},  # d2l 0.17's underfitting/overfitting lesson
    # the weight-decay lesson (--toy high-dim): w drawn N(0, 1), so that its norm starts near 14
    "linreg high-dim": {"lr": 0.003, "batch_size": 5, "epochs": 100, "init": "standard_normal"},
}


@dataclass(frozen=True)
class TrainConfig(RunPart, SyntheticOptions, TableOptions, SplitPart, ImageFolderOptions, IdxOptions,
                  OptimizationPart, ModelPart):
    """Everything that decides a run's numbers; ``None`` fields take the lesson's defaults.

    >>> TrainConfig(model="softmax").lr
    0.1
    >>> TrainConfig(model="mlp", lr=0)
    Traceback (most recent call last):
    ...
    minidl.errors.ConfigError: learning rate (--lr) must be a positive number, got 0
    """

    def __post_init__(self):
        check_choice("model", self.model, MODELS)
        check_choice("toy", self.toy, tuple(TOYS))
        lesson = f"linreg {self.toy}" if self.model == "linreg" and self.toy != "line" else self.model
        unset = self.batch_size is None or self.epochs is None  # a table's rows counted only when they are needed
        table = defaults_for(self.model, self.csv) if self.csv and self.model in TABLE_MODELS and unset else {}
        # init: normal but in high-dim; a table's batch size and epochs from its rows
        for name, value in {"init": INITS[0], **LESSON_DEFAULTS[lesson], **table}.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        for name in ("dropout", "columns", "drop"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "hidden", tuple(self.hidden))
        self.check_model()
        self.check_optimization()
        check_optimizer(self.impl, self.optimizer)
        self.check_run()
        self.check_toy()
        self.check_image_options()
        self.check_split()
        check_sources(self)  # options of a source not trained on; the chosen source's own
        check_models(self)  # fields set for a model that never reads them

    def to_dict(self) -> dict:
        """Return the config as JSON-ready data (the inverse of :meth:`from_dict`)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["hidden"], data["dropout"] = list(self.hidden), list(self.dropout)
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
        arch += f" dropout {' '.join(f'{p:g}' for p in self.dropout)}" if self.dropout else ""
        arch += f" degree {self.degree}" if self.model == "polyreg" else ""
        arch += f" {self.toy}" if self.model == "linreg" and self.toy != "line" else ""
        epochs = f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}"
        decay = f" weight decay {self.weight_decay:g}" if self.weight_decay else ""
        decay += f" {'nesterov ' if self.nesterov else ''}momentum {self.momentum:g}" if self.momentum else ""
        decay += f" {self.schedule}" if self.schedule != "constant" else ""
        decay += f" warmup {self.warmup}" if self.warmup else ""
        decay += f", shift {self.shift} px" if self.shift else ""
        decay += f", label smoothing {self.label_smoothing:g}" if self.label_smoothing else ""
        decay += ", flip at test" if self.tta_flip else ""
        decay += ", standardized" if self.standardize else ""
        decay += f", val {self.val_fraction:g}" if self.val_fraction else ""
        decay += f", patience {self.patience}" if self.patience is not None else ""
        return f"{arch}, {self.optimizer} lr {self.lr:g}{decay}, batch {self.batch_size}, {epochs}, seed {self.seed}"


def cli_flag(name: str) -> str:
    """Return the command-line flag of a TrainConfig field, e.g. ``--batch-size`` for batch_size."""
    return flag_of(TrainConfig, name)
