"""What a saved run was trained on, in words, and the data options that cannot apply to it.

``minidl evaluate RUN --csv FILE`` on an image run, or ``--data-dir`` on a CSV run, names the data
the run did train on and the option that does apply, instead of failing on a rule of the other kind.

>>> from minidl.config.train import TrainConfig
>>> trained_on(TrainConfig(model="linreg"))
"linreg's synthetic line data"
>>> check_given_data(TrainConfig(model="softmax"), "runs/a", data_dir=None, csv="house.csv")
Traceback (most recent call last):
...
minidl.errors.DatasetError: runs/a was trained on the fashion-mnist IDX image set, not a CSV table: leave out csv, or give data_dir for its images moved
"""
from __future__ import annotations

from minidl.errors import DatasetError
from minidl.naming import setting


def trained_on(config) -> str:
    """Return the data ``config`` trains on, e.g. ``the CSV table houses.csv (target price)``."""
    if config.csv:
        return f"the CSV table {config.csv} (target {config.target})"
    if config.images:
        return f"the image folder {config.images}"
    if config.model == "linreg":
        return f"linreg's synthetic {config.toy} data"
    return f"the {config.dataset} IDX image set"


def check_given_data(config, where: str, *, data_dir, csv) -> None:
    """Raise DatasetError naming the run's data when ``data_dir`` or ``csv`` is of another kind."""
    synthetic = config.model == "linreg" and not config.csv
    if csv is not None and not config.csv:
        other = "nothing to move" if synthetic else f"give {setting('data_dir')} for its images moved"
        raise DatasetError(f"{where} was trained on {trained_on(config)}, not a CSV table: "
                           f"leave out {setting('csv')}, or {other}")
    if data_dir is not None and (config.csv or synthetic):
        other = f"give {setting('csv')} for its table moved" if config.csv else "it is made anew, never moved"
        raise DatasetError(f"{where} was trained on {trained_on(config)}, not images in a folder: "
                           f"leave out {setting('data_dir')} ({other})")
