"""Named presets of TrainConfig fields (``--recipe NAME``), laid under the flags the user gives.

A recipe is only a dict of TrainConfig fields: ``minidl train mlp --recipe NAME`` prints it in full,
as the flags it stands for, so that a learner sees what it does and can change any part of it
(a flag given beside the recipe wins). Nothing here imports torch.

>>> expand("lesson", {"model": "mlp"})
{'model': 'mlp'}
>>> expand("fashion-mlp", {"model": "mlp", "epochs": 3})["epochs"]
3
"""
from __future__ import annotations

from minidl.config.train import cli_flag
from minidl.errors import ConfigError

RECIPES = {
    # the lessons' own values: every flag at its default
    "lesson": {},
    # the best MLP found for Fashion-MNIST in about 20x the lesson's training time, chosen on a
    # validation set (README, "Past the lesson"): two wider layers with dropout, kaiming init, SGD
    # with Nesterov momentum and weight decay, label smoothing, a cosine schedule after one warm-up epoch
    "fashion-mlp": {
        "hidden": (512, 256), "dropout": (0.2, 0.2), "init": "kaiming", "batch_size": 128, "lr": 0.05,
        "momentum": 0.9, "nesterov": True, "weight_decay": 5e-4, "label_smoothing": 0.1, "schedule": "cosine",
        "warmup": 1, "epochs": 24, "val_fraction": 0.1,
    },
}
ABOUT = {
    "lesson": "the lessons' defaults, nothing changed",
    "fashion-mlp": "an MLP past 0.90 on Fashion-MNIST: 784-512-256-10, 24 epochs, under 20x the lesson's time",
}


def expand(name: str, given: dict) -> dict:
    """Return the recipe ``name``'s fields with ``given`` (the user's flags) laid over them."""
    if name not in RECIPES:
        raise ConfigError(f"unknown recipe {name!r}; choose one of {', '.join(RECIPES)}")
    return {**RECIPES[name], **given}


def describe(name: str, given: dict) -> str:
    """Return the recipe as the flags it stands for, marking those the user's own flags replace."""
    fields = RECIPES[name]
    if not fields:
        return f"recipe {name}: {ABOUT[name]}"
    shown = []
    for field, value in fields.items():
        flag = f"{cli_flag(field)} {' '.join(map(str, value)) if isinstance(value, tuple) else value}"
        if isinstance(value, bool):
            flag = cli_flag(field)
        shown.append(f"{flag} (yours: {given[field]})" if field in given and given[field] != value else flag)
    return f"recipe {name} ({ABOUT[name]}):\n  " + " ".join(shown)
