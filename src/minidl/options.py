"""How a config field becomes a command-line flag, and the rule for the fields only some models read.

Each part of the config (``config/model.py``, ``optimization.py``, ``run.py`` and each data source's
options in ``minidl.sources``) declares its fields with :func:`option`: the default, the help text
the command line shows, and which models read the field. Nothing here imports torch.
"""
from __future__ import annotations

from dataclasses import field, fields

from minidl.errors import ConfigError


def option(default, help: str, *, flag: str | None = None, metavar: str | None = None,
           models: tuple[str, ...] | None = None):
    """Return a dataclass field that the command line offers as a flag with this ``help``.

    ``models``: the model kinds that read it (None: every one); giving it to another is refused.
    """
    return field(default=default, metadata={"help": help, "flag": flag, "metavar": metavar, "models": models})


def flag_of(config, name: str) -> str:
    """Return the command-line flag of a config field, e.g. ``--batch-size`` for batch_size."""
    meta = {f.name: f.metadata for f in fields(config)}[name]
    return meta.get("flag") or "--" + name.replace("_", "-")


def given(config, names) -> list[str]:
    """Return those of ``names`` that ``config`` sets away from their defaults."""
    defaults = {f.name: f.default for f in fields(config)}
    return [name for name in names if getattr(config, name) != defaults[name]]


def field_names(part) -> tuple[str, ...]:
    """Return the names of the fields a config part (a dataclass) declares itself, not those it inherits."""
    return tuple(name for name in part.__dataclass_fields__ if name in part.__dict__.get("__annotations__", {}))


def check_models(config, model: str | None = None, names=None) -> None:
    """Raise ConfigError for a field that ``model`` (default ``config.model``) never reads, among ``names``
    (default: the fields ``config`` sets away from their defaults; the command line gives the flags typed,
    so that a flag typed with its default value is refused as well)."""
    model = model or config.model
    names = set(given(config, [f.name for f in fields(config)]) if names is None else names)
    for f in fields(config):
        models = f.metadata.get("models")
        if models and model not in models and f.name in names:
            raise ConfigError(f"{flag_of(config, f.name)} does not apply to {model}; it is for {' and '.join(models)}")
