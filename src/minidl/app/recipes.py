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

from dataclasses import fields as _fields

from minidl.config.train import TrainConfig, cli_flag
from minidl.errors import ConfigError

RECIPES = {
    # the lessons' own values: every flag at its default
    "lesson": {},
    # 0.90 on Fashion-MNIST in a few times the lesson's training time, the epoch chosen on a
    # validation set (docs/past-the-lesson.md measures each flag's share): the lesson's 784-256-10
    # MLP on standardised pixels, kaiming init, SGD with Nesterov momentum on a one-cycle schedule
    # (up to lr 0.2 over the first 30% of the epochs, then down along a cosine), weight decay and
    # label smoothing
    "fashion-mlp": {
        "standardize": True, "init": "kaiming", "batch_size": 256, "lr": 0.2, "momentum": 0.9, "nesterov": True,
        "weight_decay": 5e-4, "schedule": "onecycle", "label_smoothing": 0.1, "epochs": 15, "val_fraction": 0.1,
    },
    # the lesson's accuracy in under half its training time: standardised pixels, a narrower net in
    # larger batches, three epochs of Nesterov momentum along a cosine; every training image is
    # trained on and the last epoch counts
    "fashion-fast": {
        "standardize": True, "hidden": (64,), "batch_size": 512, "lr": 0.1, "momentum": 0.9, "nesterov": True,
        "schedule": "cosine", "epochs": 3,
    },
}
ABOUT = {
    "lesson": "the lessons' defaults, nothing changed",
    "fashion-mlp": "an MLP past 0.90 on Fashion-MNIST: 784-256-10, 15 epochs of one-cycle Nesterov SGD",
    "fashion-fast": "the lesson's accuracy in under half its time: 784-64-10, 3 epochs at batch 512",
}


READ_BY = {f.name: f.metadata.get("models") for f in _fields(TrainConfig)}  # the models that read each field


def expand(name: str, given: dict) -> dict:
    """Return the recipe ``name``'s fields with ``given`` (the user's flags) laid over them.

    The recipe adapts to what the user changed: its fields the model never reads are left out (a
    recipe never makes a flag the user did not type an error), and its dropout follows a ``--hidden``
    of another depth, one probability per layer.

    >>> expand("fashion-fast", {"model": "softmax"})["model"], "hidden" in expand("fashion-fast", {"model": "softmax"})
    ('softmax', False)
    """
    if name not in RECIPES:
        raise ConfigError(f"unknown recipe {name!r}; choose one of {', '.join(RECIPES)}")
    model = given.get("model", "mlp")
    fields = {k: v for k, v in RECIPES[name].items() if model in (READ_BY.get(k) or (model,))}
    if "dropout" in fields and "hidden" in given and "dropout" not in given:
        fields["dropout"] = (fields["dropout"][0],) * len(given["hidden"])
    return {**fields, **given}


def describe(name: str, given: dict) -> str:
    """Return the recipe as the flags it stands for (as adapted to the model and --hidden given), marking
    those the user's own flags replace."""
    shape = expand(name, {k: given[k] for k in ("model", "hidden") if k in given})
    fields = {k: shape[k] for k in RECIPES[name] if k in shape and (k != "hidden" or "hidden" not in given)}
    if not RECIPES[name]:
        return f"recipe {name}: {ABOUT[name]}"
    shown = []
    for field, value in fields.items():
        flag = f"{cli_flag(field)} {' '.join(map(str, value)) if isinstance(value, tuple) else value}"
        if isinstance(value, bool):
            flag = cli_flag(field)
        shown.append(f"{flag} (yours: {given[field]})" if field in given and given[field] != value else flag)
    return f"recipe {name} ({ABOUT[name]}):\n  " + " ".join(shown)
