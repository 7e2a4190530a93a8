"""What ``--resume`` may change while a run stays one run, and what it refuses."""
from __future__ import annotations

from dataclasses import fields

from minidl.options import flag_of
from minidl.errors import ConfigError

# what --resume may change while the run stays one run: how long and how fast it goes on, where it
# runs, and where its (fingerprinted, so unchanged) data now lies. Any other change (batch size,
# seed, model, optimizer, a field added later...) would make it a different run: --allow-changes.
RESUME_MAY_CHANGE = ("epochs", "lr", "device", "threads", "plots", "grad_norms", "out", "data_dir", "csv", "images", "test_csv",
                     "tensorboard", "mlflow", "mlflow_experiment")  # the loggers watch the run, never change it
NOT_RECORDED = ("out", "data_dir", "csv", "images", "test_csv")  # where the files are is not a change of the run


def resume_changes(saved: dict, config, *, allow: bool = False) -> dict:
    """Return ``{field: [saved value, new value]}`` for what resuming with ``config`` changes.

    Raise ConfigError, naming each flag, for a change that would break the run's exactness, unless
    ``allow``; where the files are (out, data_dir, csv) is never listed.

    >>> from minidl.config.train import TrainConfig
    >>> saved = TrainConfig(model="mlp", epochs=2).to_dict()
    >>> resume_changes(saved, TrainConfig(model="mlp", epochs=4, lr=0.1))
    {'epochs': [2, 4], 'lr': [0.5, 0.1]}
    >>> resume_changes(saved, TrainConfig(model="mlp", epochs=4, batch_size=7))
    Traceback (most recent call last):
    ...
    minidl.errors.ConfigError: resuming with --batch-size 7 (the run so far used 256) would make it ...
    """
    before = {f.name: f.default for f in fields(config)} | saved  # a field added since: its default
    changed = {name: [before[name], value] for name, value in config.to_dict().items()
               if before[name] != value and name not in NOT_RECORDED}
    breaking = [name for name in changed if name not in RESUME_MAY_CHANGE]
    if breaking and not allow:
        def shown(value):
            return " ".join(map(str, value)) if isinstance(value, list) else str(value)

        given = ", ".join(f"{flag_of(config, n)} {shown(changed[n][1])}" for n in breaking)
        used = ", ".join(shown(changed[n][0]) for n in breaking)
        raise ConfigError(
            f"resuming with {given} (the run so far used {used}) would make it another run, no longer "
            f"the same as one straight run; add --allow-changes to resume with it anyway (recorded in "
            f"config.json), or start a new run with --out"
        )
    return changed
