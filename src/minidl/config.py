"""The one frozen configuration of a training run, validated once and saved beside its metrics.

It is the single home of every run rule: the choice lists (models, implementations, inits,
activations, optimizers, devices), the lessons' defaults and every validation. The command line is
built from its fields (their types, defaults and help text), so a flag can never disagree with it.
Nothing here imports torch, so ``minidl --help`` answers at once.
"""
from __future__ import annotations

import dataclasses
import numbers
import os
from dataclasses import dataclass, field, fields

from .checks import check_choice, check_fraction, check_nonnegative, check_positive, check_whole
from .errors import ConfigError

MODELS = ("linreg", "softmax", "mlp", "polyreg")
REGRESSORS = ("linreg", "polyreg")  # linear regression, on its inputs or on their powers x^i / i!: a w and a b
IMPLS = ("scratch", "concise", "manual")
INITS = ("normal", "xavier", "kaiming", "standard_normal")
OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "step", "cosine", "onecycle")  # minidl.schedules.lr_at
DEVICES = ("auto", "cpu", "cuda", "mps")
# the names of minidl.activations.ACTIVATIONS (a test keeps the two equal); listed here so that
# building the command line's help does not import torch
ACTIVATIONS = ("relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "silu", "softplus")
ACTIVATION_ALIASES = {"swish": "silu"}  # other names people use; each activation is listed once
TOYS = ("line", "high-dim")  # linreg's synthetic problems (minidl.data.synthetic.TOYS)
MAX_DEGREE = 19  # polyreg: the lesson's 20 features x^0/0! ... x^19/19!
MAX_SEED = 2**63 - 1  # torch.Generator.manual_seed takes seeds in [0, 2**64); json and int64 fit 2**63
# the names of minidl.data.idx_sets.DATASETS (a test keeps the two equal), here without importing torch
DATASETS = ("fashion-mnist", "mnist", "kmnist")
MAX_IMAGE_SIZE = 512  # --image-size: a side of 512 pixels is already 262,144 inputs per image
CHANNELS = (1, 3)  # --channels: grey, or colour (red, green, blue)
TEST_FRACTION = 0.2  # the share held out where the data has no test split of its own
TASKS = ("classify", "regress")  # what a CSV run does with its target
TASK_ALIASES = {"classification": "classify", "regression": "regress"}
STANDARDIZE_EPS = 0.1  # --standardize: added to each pixel's std, in pixels scaled to [0, 1] (minidl.data.standardize)
METRICS = ("rmse", "log-rmse")  # a CSV regression's score; log-rmse fits the log of a positive target (prices)

DATA_DIR_HELP = ("the --dataset's folder (default: $MINIDL_DATA_DIR for fashion-mnist, else the user cache's "
                 "~/.cache/minidl/<dataset>)")

# The lessons' hyperparameters: what a learner gets without a single flag.
LESSON_DEFAULTS = {
    "linreg": {"lr": 0.03, "batch_size": 10, "epochs": 3},
    "softmax": {"lr": 0.1, "batch_size": 256, "epochs": 10},
    "mlp": {"lr": 0.5, "batch_size": 256, "epochs": 5},
    "polyreg": {"lr": 0.01, "batch_size": 10, "epochs": 400},  # d2l 0.17's underfitting/overfitting lesson
    # the weight-decay lesson (--toy high-dim): w drawn N(0, 1), so that its norm starts near 14
    "linreg high-dim": {"lr": 0.003, "batch_size": 5, "epochs": 100, "init": "standard_normal"},
}
# the fields only some models read: giving one to another model is a mistake, not a silent no-op
APPLIES_TO = {"shift": ("softmax", "mlp"), "label_smoothing": ("softmax", "mlp"),
              "hidden": ("mlp",), "activation": ("mlp",), "dropout": ("mlp",),
              "csv": ("linreg", "softmax", "mlp"), "target": ("linreg", "softmax", "mlp"),
              "num_examples": ("linreg",), "toy": ("linreg",), "degree": ("polyreg",),
              "data_dir": ("softmax", "mlp"), "dataset": ("softmax", "mlp"), "images": ("softmax", "mlp"),
              "image_size": ("softmax", "mlp"), "test_fraction": ("linreg", "softmax", "mlp"),
              "skip_bad_images": ("softmax", "mlp"), "channels": ("softmax", "mlp"),
              "tta_flip": ("softmax", "mlp"), "standardize": ("softmax", "mlp")}
IMAGES_ONLY = ("image_size", "channels", "test_fraction", "skip_bad_images")  # the fields only --images reads
CSV_ONLY = ("task", "fill_missing", "test_csv", "folds", "fold", "metric")  # the fields only --csv reads


def option(default, help: str, *, flag: str | None = None, metavar: str | None = None):
    """Return a dataclass field that the command line offers as a flag with this ``help``."""
    return field(default=default, metadata={"help": help, "flag": flag, "metavar": metavar})


def check_lr(lr) -> float:
    """Return ``lr`` if it is a positive finite number, else raise ConfigError."""
    return check_positive("learning rate (--lr)", lr)


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


def check_optimizer(impl: str, optimizer: str) -> None:
    """Raise ConfigError unless the ``impl`` twin trains with ``optimizer`` (scratch has only its own sgd)."""
    if impl == "scratch" and optimizer != "sgd":
        raise ConfigError(
            f"scratch models train with minidl's own sgd, not {optimizer}; "
            f"use --impl manual or --impl concise to train with torch.optim's {optimizer}"
        )


def check_weight_decay(weight_decay) -> float:
    """Return ``weight_decay`` as a float if it is a finite number >= 0, else raise ConfigError.

    >>> check_weight_decay(-1)
    Traceback (most recent call last):
    ...
    minidl.errors.ConfigError: weight decay (--weight-decay) must be a number >= 0, got -1
    """
    return check_nonnegative("weight decay (--weight-decay)", weight_decay)


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
    dropout: tuple[float, ...] = option((), "MLP: dropout probability per hidden layer, 0 <= P < 1, e.g. "
                                        "--hidden 256 256 --dropout 0.2 0.5 (default: none)", metavar="P")
    init: str | None = option(None, f"weight initialisation: {', '.join(INITS)} (default normal: N(0, 0.01) on "
                              "every parameter; standard_normal: N(0, 1) weights, zero biases, the high-dim toy's)")
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
                                    "label plus E / C on every class (the losses reported include it)", metavar="E")
    shift: int = option(0, "augmentation: move each training image by a random offset of up to PX pixels "
                        "each way, anew every epoch (zeros fill in; never the validation or test images)",
                        metavar="PX")
    standardize: bool = option(False, "standardise each input pixel by its mean and spread over the training "
                               f"examples, (x - mean) / (std + {STANDARDIZE_EPS:g}); validation, test and "
                               "predictions get the same")
    tta_flip: bool = option(False, "test-time augmentation: score each validation and test image and its mirror "
                            "image, averaging the two log-probabilities (training is unchanged)")
    seed: int = option(0, f"seed for initialisation and shuffling (0 to {MAX_SEED})")
    device: str = option("auto", f"{', '.join(DEVICES)} (auto: cuda, then mps, then cpu)")
    data_dir: str | None = option(None, DATA_DIR_HELP)
    dataset: str = option("fashion-mnist", f"the IDX image set to train on: {', '.join(DATASETS)}")
    images: str | None = option(None, "train on a folder of images instead, a sub-folder per class: DIR/train/<class>/ "
                                "and DIR/test/<class>/, or DIR/<class>/ split by --test-fraction", metavar="DIR")
    image_size: int = option(28, "--images: each image is resized to SIZE x SIZE pixels", metavar="SIZE")
    channels: int = option(1, "--images: 1 (grey) or 3 (colour: red, green, blue); the model takes C x SIZE x "
                           "SIZE inputs", metavar="C")
    test_fraction: float | None = option(None, f"--images as one tree, or --csv: the share (of each class) held "
                                         f"out for testing, seeded (default {TEST_FRACTION})", metavar="F")
    skip_bad_images: bool = option(False, "--images: skip unreadable files (counted in the summary) instead of "
                                   "stopping at the first")
    csv: str | None = option(None, "train on this CSV table (numbers and text columns, a header row) instead",
                             metavar="FILE")
    target: str | None = option(None, "with --csv: the column to predict (softmax and mlp: its values are the "
                                "classes)", metavar="COLUMN")
    task: str | None = option(None, "with --csv: classify or regress the target (default: linreg regresses, "
                              "softmax and mlp classify; mlp does both)")
    fill_missing: bool = option(False, "with --csv: fill missing cells (NA, N/A, nan, empty) with the training "
                                "mean (numbers) or a 'missing' category (text) instead of refusing them")
    test_csv: str | None = option(None, "with --csv: test on this table's rows instead of a held-out share",
                                  metavar="FILE")
    folds: int | None = option(None, "with --csv: K-fold cross-validation, one run per fold, reporting each and "
                               "the mean", metavar="K")
    fold: int | None = option(None, "with --folds K: train this one fold, 1 to K (its rows held out)", metavar="I")
    metric: str | None = option(None, f"with --csv, regressing: {' or '.join(METRICS)} (log-rmse fits the log of "
                                "a positive target, as for prices; default rmse)")
    toy: str = option("line", "linreg's synthetic data: line (y = 2 x1 - 3.4 x2 + 4.2) or high-dim (the weight-decay "
                      "lesson: 200 inputs, w = 0.01, b = 0.05, 20 training and 100 test examples)")
    num_examples: int = option(1000, "linreg on the line toy: number of examples (and as many test examples)",
                               flag="--examples")
    degree: int = option(3, f"polyreg: degree of the polynomial fitted, 1 to {MAX_DEGREE} (3: the true cubic)",
                         metavar="D")
    grad_norms: bool = option(False, "record each layer's gradient norm, the epoch's mean over batches "
                              "(metrics.csv, grad_norms.png)")
    out: str | None = option(None, "run folder (default runs/<model>-<timestamp>)")
    plots: bool = option(True, "skip the PNG figures", flag="--no-plots")

    def __post_init__(self):
        check_choice("model", self.model, MODELS)
        check_choice("toy", self.toy, TOYS)
        lesson = f"linreg {self.toy}" if self.model == "linreg" and self.toy != "line" else self.model
        for name, value in {"init": INITS[0], **LESSON_DEFAULTS[lesson]}.items():  # init: normal but in high-dim
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        object.__setattr__(self, "dropout", tuple(self.dropout))
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
        if self.dropout:
            check_dropout(self.dropout, len(self.hidden))
        check_weight_decay(self.weight_decay)
        self._check_optimization()
        check_whole("polynomial degree (--degree)", self.degree, low=1, high=MAX_DEGREE)
        if self.toy != "line" and (self.csv is not None or self.num_examples != 1000):
            raise ConfigError(f"--toy {self.toy} is its lesson's own data (20 training, 100 test examples): "
                              f"leave out --csv and --examples")
        check_optimizer(self.impl, self.optimizer)
        self._check_data()
        if (self.csv is None) != (self.target is None):
            raise ConfigError("--csv and --target go together: name the table and the column to predict")
        self._check_table()
        self._check_applies()

    def _check_table(self) -> None:
        """Fill in and check the --csv fields: the task, the held-out rows, the metric."""
        defaults = {f.name: f.default for f in fields(self)}
        if self.csv is None:
            for name in CSV_ONLY:
                if getattr(self, name) != defaults[name]:
                    raise ConfigError(f"{cli_flag(name)} applies to a CSV table; add --csv FILE --target COLUMN")
            return
        for name in ("standardize", "tta_flip"):  # a table's rows are not images; its numbers are standardised already
            if getattr(self, name):
                raise ConfigError(f"{cli_flag(name)} applies to images; leave it out for --csv {self.csv}")
        if self.model in ("softmax", "mlp") and (self.images is not None or self.data_dir is not None
                                                 or self.dataset != DATASETS[0]):  # linreg: _check_applies says
            given = "--images" if self.images is not None else "--data-dir" if self.data_dir else "--dataset"
            raise ConfigError(f"--csv {self.csv} names the data to train on; leave out {given}")
        task = TASK_ALIASES.get(self.task, self.task) or ("regress" if self.model in REGRESSORS else "classify")
        check_choice("task (--task)", task, TASKS, aliases=TASK_ALIASES)
        allowed = {"linreg": ("regress",), "softmax": ("classify",)}.get(self.model, TASKS)
        if task not in allowed:
            does, instead = (("regresses", "softmax or mlp") if allowed == ("regress",)
                             else ("classifies", "linreg or mlp --task regress"))
            raise ConfigError(f"{self.model} only {does}; to {task} a table train {instead}")
        object.__setattr__(self, "task", task)
        metric = self.metric or ("rmse" if task == "regress" else None)
        if metric is not None:
            check_choice("metric (--metric)", metric, METRICS)
            if task != "regress":
                raise ConfigError(f"--metric {metric} scores a regression; a classifier is scored by accuracy")
        object.__setattr__(self, "metric", metric)
        held_out = [flag for flag, given in (("--test-csv", self.test_csv), ("--folds", self.folds),
                                             ("--test-fraction", self.test_fraction)) if given is not None]
        if len(held_out) > 1:
            raise ConfigError(f"{' and '.join(held_out)} each choose the test rows; give one of them")
        if self.folds is not None:
            check_whole("number of folds (--folds)", self.folds, low=2)
        if self.fold is not None:
            if self.folds is None:
                raise ConfigError("--fold I picks one fold of --folds K; add --folds")
            check_whole(f"fold (--fold, of --folds {self.folds})", self.fold, high=self.folds)
        if self.test_csv is not None:  # where it is, whatever the working folder of a later evaluate
            object.__setattr__(self, "test_csv", os.path.abspath(os.path.expanduser(self.test_csv)))

    def _check_optimization(self) -> None:
        """Raise ConfigError for momentum, schedule, validation or early-stopping flags that are wrong or clash."""
        check_fraction("momentum (--momentum)", self.momentum)
        if (self.momentum or self.nesterov) and self.optimizer != "sgd":
            raise ConfigError(f"--momentum and --nesterov are SGD's; {self.optimizer} has its own moments (betas)")
        if self.nesterov and not self.momentum:
            raise ConfigError("--nesterov needs momentum: add e.g. --momentum 0.9")
        check_choice("schedule", self.schedule, SCHEDULES)
        check_whole("warm-up epochs (--warmup)", self.warmup, low=0)
        check_whole("--shift", self.shift, low=0, high=8)
        check_fraction("--label-smoothing", self.label_smoothing)
        if self.schedule == "step":
            if self.step_size is None:
                raise ConfigError("--schedule step needs --step-size N: the lr is multiplied by --gamma every N epochs")
            check_whole("--step-size", self.step_size)
            if check_positive("--gamma", self.gamma) > 1:
                raise ConfigError(f"--gamma must be at most 1 (the lr shrinks by it), got {self.gamma!r}")
        elif self.step_size is not None or self.gamma != 0.1:
            raise ConfigError("--step-size and --gamma apply to --schedule step")
        check_fraction("--val-fraction", self.val_fraction)
        if self.patience is not None:
            check_whole("--patience", self.patience)
        check_nonnegative("--min-delta", self.min_delta)
        if self.min_delta and self.patience is None:
            raise ConfigError("--min-delta applies to early stopping; add --patience N")

    def _check_data(self) -> None:
        """Raise ConfigError for an unknown --dataset or --images flags that do not go together."""
        check_choice("dataset", self.dataset, DATASETS)
        check_whole("image size (--image-size)", self.image_size, high=MAX_IMAGE_SIZE)
        check_channels(self.channels)
        if self.test_fraction is not None and check_fraction("--test-fraction", self.test_fraction) == 0:
            raise ConfigError("--test-fraction 0 leaves no test images; give a share such as 0.2")
        if self.images is None:
            defaults = {f.name: f.default for f in fields(self)}
            for name in IMAGES_ONLY:
                if getattr(self, name) != defaults[name] and not (name == "test_fraction" and self.csv):
                    raise ConfigError(f"{cli_flag(name)} applies to an image folder; add --images DIR")
        elif self.data_dir is not None or self.dataset != DATASETS[0]:
            given = "--data-dir" if self.data_dir is not None else f"--dataset {self.dataset}"
            raise ConfigError(f"--images {self.images} names the data to train on; leave out {given}")
        else:  # where the run's folder is, whatever the working folder of a later evaluate or resume
            object.__setattr__(self, "images", os.path.abspath(os.path.expanduser(self.images)))

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
    meta = {f.name: f.metadata for f in fields(TrainConfig)}[name]
    return meta.get("flag") or "--" + name.replace("_", "-")


# what --resume may change while the run stays one run: how long and how fast it goes on, where it
# runs, and where its (fingerprinted, so unchanged) data now lies. Any other change (batch size,
# seed, model, optimizer, a field added later...) would make it a different run: --allow-changes.
RESUME_MAY_CHANGE = ("epochs", "lr", "device", "plots", "grad_norms", "out", "data_dir", "csv", "images", "test_csv")
NOT_RECORDED = ("out", "data_dir", "csv", "images", "test_csv")  # where the files are is not a change of the run


def resume_changes(saved: dict, config: TrainConfig, *, allow: bool = False) -> dict:
    """Return ``{field: [saved value, new value]}`` for what resuming with ``config`` changes.

    Raise ConfigError, naming each flag, for a change that would break the run's exactness, unless
    ``allow``; where the files are (out, data_dir, csv) is never listed.

    >>> saved = TrainConfig(model="mlp", epochs=2).to_dict()
    >>> resume_changes(saved, TrainConfig(model="mlp", epochs=4, lr=0.1))
    {'epochs': [2, 4], 'lr': [0.5, 0.1]}
    >>> resume_changes(saved, TrainConfig(model="mlp", epochs=4, batch_size=7))
    Traceback (most recent call last):
    ...
    minidl.errors.ConfigError: resuming with --batch-size 7 (the run so far used 256) would make it ...
    """
    before = {f.name: f.default for f in fields(TrainConfig)} | saved  # a field added since: its default
    changed = {name: [before[name], value] for name, value in config.to_dict().items()
               if before[name] != value and name not in NOT_RECORDED}
    breaking = [name for name in changed if name not in RESUME_MAY_CHANGE]
    if breaking and not allow:
        def shown(value):
            return " ".join(map(str, value)) if isinstance(value, list) else str(value)

        given = ", ".join(f"{cli_flag(n)} {shown(changed[n][1])}" for n in breaking)
        used = ", ".join(shown(changed[n][0]) for n in breaking)
        raise ConfigError(
            f"resuming with {given} (the run so far used {used}) would make it another run, no longer "
            f"the same as one straight run; add --allow-changes to resume with it anyway (recorded in "
            f"config.json), or start a new run with --out"
        )
    return changed
