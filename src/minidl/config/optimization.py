"""The optimization part of a run's config: how long, how fast, which optimizer and schedule, which
epoch is kept (validation, early stopping), and the training-only tricks (label smoothing, shifts)."""
from __future__ import annotations

from dataclasses import dataclass

from minidl.data.standardize import EPS as STANDARDIZE_EPS
from minidl.options import option
from minidl.errors import ConfigError, check_choice, check_fraction, check_nonnegative, check_positive, check_whole

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "step", "cosine", "onecycle")  # minidl.training.schedules.lr_at


def check_lr(lr) -> float:
    """Return ``lr`` if it is a positive finite number, else raise ConfigError."""
    return check_positive("learning rate (--lr)", lr)


def check_weight_decay(weight_decay) -> float:
    """Return ``weight_decay`` as a float if it is a finite number >= 0, else raise ConfigError.

    >>> check_weight_decay(-1)
    Traceback (most recent call last):
    ...
    minidl.errors.ConfigError: weight decay (--weight-decay) must be a number >= 0, got -1
    """
    return check_nonnegative("weight decay (--weight-decay)", weight_decay)


def check_optimizer(impl: str, optimizer: str) -> None:
    """Raise ConfigError unless the ``impl`` twin trains with ``optimizer`` (scratch has only its own sgd)."""
    if impl == "scratch" and optimizer != "sgd":
        raise ConfigError(
            f"scratch models train with minidl's own sgd, not {optimizer}; "
            f"use --impl manual or --impl concise to train with torch.optim's {optimizer}"
        )


@dataclass(frozen=True)
class OptimizationPart:
    """How the model is trained: epochs, batches, the optimizer and its schedule, which epoch is kept."""

    epochs: int | None = option(None, "number of passes over the training set")
    lr: float | None = option(None, "learning rate (> 0)")
    batch_size: int | None = option(None, "examples per minibatch (>= 1)")
    optimizer: str = option("sgd", f"{', '.join(OPTIMIZERS)} (adam and adamw need --impl concise or manual)")
    weight_decay: float = option(0.0, "L2 weight decay lambda >= 0: lambda/2 ||w||^2 on the weights, never the biases",
                                metavar="LAMBDA")
    momentum: float = option(0.0, "SGD momentum 0 <= M < 1 (0: plain SGD; 0.9 is the usual choice), as "
                             "torch.optim.SGD's: v = M v + g, step lr v", metavar="M")
    nesterov: bool = option(False, "SGD with Nesterov momentum: step lr (g + M v) (needs --momentum)")
    schedule: str = option("constant", f"learning-rate schedule per epoch: {', '.join(SCHEDULES)} "
                           "(the lr column of metrics.csv shows it)")
    warmup: int = option(0, "epochs of linear warm-up to --lr before the schedule (onecycle: default 30%% of "
                         "the epochs)", metavar="EPOCHS")
    step_size: int | None = option(None, "--schedule step: multiply the lr by --gamma every N epochs", metavar="N")
    gamma: float = option(0.1, "--schedule step: the factor, 0 < G <= 1", metavar="G")
    val_fraction: float = option(0.0, "the share of the training set held out for validation, seeded and "
                                 "stratified by class (0: none); it then chooses the best epoch and early "
                                 "stopping, never the test set", metavar="F")
    patience: int | None = option(None, "early stopping: stop after N epochs without a new best (on the "
                                  "validation set if any), and restore the best epoch's weights", metavar="N")
    min_delta: float = option(0.0, "early stopping: a new best must beat the old by more than D (accuracy; "
                              "loss for regression)", metavar="D")
    label_smoothing: float = option(0.0, "cross-entropy's label smoothing 0 <= E < 1: the target is 1 - E on the "
                                    "label plus E / C on every class (the losses reported include it)", metavar="E",
                                    models=("softmax", "mlp"))
    shift: int = option(0, "augmentation: move each training image by a random offset of up to PX pixels "
                        "each way, anew every epoch (zeros fill in; never the validation or test images)",
                        metavar="PX", models=("softmax", "mlp"))
    standardize: bool = option(False, "standardise each input pixel by its mean and spread over the training "
                               f"examples, (x - mean) / (std + {STANDARDIZE_EPS:g}); validation, test and "
                               "predictions get the same", models=("softmax", "mlp"))
    tta_flip: bool = option(False, "test-time augmentation: score each validation and test image and its mirror "
                            "image, averaging the two log-probabilities (training is unchanged)",
                            models=("softmax", "mlp"))

    def check_optimization(self) -> None:
        """Raise ConfigError for an optimization setting that is wrong or clashes with another."""
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_lr(self.lr)
        check_whole("batch size (--batch-size)", self.batch_size)
        check_whole("number of epochs (--epochs)", self.epochs)
        check_weight_decay(self.weight_decay)
        check_fraction("momentum (--momentum)", self.momentum)
        if (self.momentum or self.nesterov) and self.optimizer != "sgd":
            raise ConfigError(f"--momentum and --nesterov are SGD's; {self.optimizer} has its own moments (betas)")
        if self.nesterov and not self.momentum:
            raise ConfigError("--nesterov needs momentum: add e.g. --momentum 0.9")
        self._check_schedule()
        check_whole("--shift", self.shift, low=0, high=8)
        check_fraction("--label-smoothing", self.label_smoothing)
        check_fraction("--val-fraction", self.val_fraction)
        if self.patience is not None:
            check_whole("--patience", self.patience)
        check_nonnegative("--min-delta", self.min_delta)
        if self.min_delta and self.patience is None:
            raise ConfigError("--min-delta applies to early stopping; add --patience N")

    def _check_schedule(self) -> None:
        """Raise ConfigError for a schedule, warm-up or step setting that is wrong or belongs to another schedule."""
        check_choice("schedule", self.schedule, SCHEDULES)
        check_whole("warm-up epochs (--warmup)", self.warmup, low=0)
        if self.warmup and self.warmup >= self.epochs:
            raise ConfigError(f"--warmup {self.warmup} is not shorter than the run's {self.epochs} epochs: the lr "
                              f"would never reach --lr {self.lr:g}; warm up for fewer epochs than --epochs")
        if self.schedule == "step":
            if self.step_size is None:
                raise ConfigError("--schedule step needs --step-size N: the lr is multiplied by --gamma every N epochs")
            check_whole("--step-size", self.step_size)
            if check_positive("--gamma", self.gamma) > 1:
                raise ConfigError(f"--gamma must be at most 1 (the lr shrinks by it), got {self.gamma!r}")
        elif self.step_size is not None or self.gamma != 0.1:
            raise ConfigError("--step-size and --gamma apply to --schedule step")
