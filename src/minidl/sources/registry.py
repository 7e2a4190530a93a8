"""The data sources a run can train on, and the one a config (or a checkpoint's facts) names.

Where to add a data source: a module beside this one (its options, a :class:`~minidl.sources.base.Source`
subclass) and one entry in ``SOURCES``; its options become TrainConfig fields in
``minidl.config.train``'s class line.
"""
from __future__ import annotations

from dataclasses import fields

from minidl.options import flag_of, field_names, given
from minidl.errors import ConfigError
from minidl.sources.arrays import Arrays
from minidl.sources.base import RunData, Source, SplitPart
from minidl.sources.idx_set import IdxSet
from minidl.sources.image_folder import ImageFolder
from minidl.sources.synthetic import Synthetic
from minidl.sources.table import Table

ARRAYS = Arrays()
# in the order they are asked: the first that a config chooses (or that owns a checkpoint's facts) wins
SOURCES: tuple[Source, ...] = (ARRAYS, Table(), ImageFolder(), IdxSet(), Synthetic())


def source_for(config) -> Source:
    """Return the source ``config`` trains on (fit's ``data=`` arrays aside)."""
    return next(source for source in SOURCES if source.chosen(config))


def source_of(recorded: dict) -> Source:
    """Return the source whose facts a checkpoint recorded."""
    return next(source for source in SOURCES if source.owns(recorded))


def check_sources(config) -> None:
    """Raise ConfigError for options of a source the config does not train on, then check the chosen one's.

    Options the model never reads are the model check's to refuse (``minidl.options.check_models``),
    with the models they are for.
    """
    chosen = source_for(config)
    read = {f.name for f in fields(config) if config.model in (f.metadata.get("models") or (config.model,))}
    for source in SOURCES:  # a field this model never reads is the model check's to refuse
        stray = [name for name in given(config, field_names(source.options)) if name in read] \
            if source.options and source is not chosen else []
        if not stray or (not source.needs and not chosen.naming):
            continue
        name, flag = stray[0], flag_of(config, stray[0])
        if chosen.naming and name in source.naming:  # two data sets named at once
            named = chosen.naming[0]
            shown = f" {config.dataset}" if name == "dataset" else ""
            raise ConfigError(f"{flag_of(config, named)} {getattr(config, named)} names the data to train on; "
                              f"leave out {flag}{shown}")
        if name == "target":
            raise ConfigError("--csv and --target go together: name the table and the column to predict")
        if source.needs:
            raise ConfigError(f"{flag} applies to {source.needs}")
    if given(config, field_names(SplitPart)) and not isinstance(chosen, (Table, ImageFolder)):
        raise ConfigError("--test-fraction applies to an image folder; add --images DIR")
    chosen.check(config)


def load_run_data(config, device, arrays=None, class_names=None, *, rank: int = 0, world_size: int = 1,
                  batch_size: int | None = None) -> RunData:
    """Return the loaders for ``config``'s data (or for ``arrays``), with its validation share carved out.

    ``arrays``: ``(X, y)`` or ``(X_train, y_train, X_test, y_test)``, tensors or NumPy arrays (see
    minidl.data.arrays); ``class_names`` optionally names their classes. ``rank``, ``world_size``:
    the training loader yields this rank's shard, ``batch_size`` examples a batch (default
    ``config.batch_size``: a rank's share of the global batch when several train); every rank
    scores the whole test set.
    """
    from minidl.data.loader import Loader
    from minidl.sources.validation import carve_validation

    def training(X, y) -> Loader:
        # shuffled each epoch; a short last batch is dropped (other examples each epoch) when there is
        # a full one: a small step right before each evaluation makes the lesson's last epochs swing
        return Loader(X, y, batch_size or config.batch_size, shuffle=True, seed=config.seed, device=device,
                      drop_last=len(X) >= config.batch_size, rank=rank, world_size=world_size, shift=config.shift)

    if arrays is not None:
        data = ARRAYS.load_arrays(config, arrays, class_names, training, device)
    else:
        data = source_for(config).load(config, training, device)
    if config.val_fraction:
        data = carve_validation(data, config.val_fraction, config.seed)
    if config.standardize:  # after the validation carving: the statistics are the training examples' alone
        from minidl.data.standardize import standardize_splits

        standardize_splits(data)
    return data


def found_again(config, recorded: dict, where: str, *, data_dir=None, csv=None):
    """Return ``config`` changed to read the data a saved run trained on: where its checkpoint says it
    is, or moved to ``data_dir`` / ``csv``; DatasetError if the recorded data is gone."""
    source = source_of(recorded)
    changes = source.moved(config, where, data_dir=data_dir, csv=csv) or source.found_again(recorded, where)
    return config.replace(**changes) if changes else config


def check_same_data(recorded: dict, data: RunData, where: str) -> None:
    """Raise DatasetError when ``data`` is not what a checkpoint's facts say its run trained on."""
    source_of(recorded).check_same(recorded, data, where)
