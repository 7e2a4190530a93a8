"""What a data source gives a run (:class:`RunData`), and the protocol each source keeps (:class:`Source`).

The source modules are read when the config is built (their options are its fields), so at import
they need no torch: a source imports its readers (``minidl.data``) inside ``load``.
"""
from __future__ import annotations

import hashlib
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from minidl.data.split import TEST_FRACTION
from minidl.options import option
from minidl.errors import ConfigError, DatasetError, check_fraction
from minidl.naming import setting

if TYPE_CHECKING:
    from minidl.data.loader import Loader

EVAL_BATCH = 1024  # evaluation needs no small batches: fewer, larger matmuls are faster


@dataclass
class RunData:
    """The loaders and facts a run needs: input width, number of outputs, class names, provenance."""

    train: "Loader"
    test: "Loader | None"  # None: arrays given without a test set
    num_inputs: int
    num_outputs: int
    classifies: bool
    source: str  # what the data is, in words: printed when training starts, kept in config.json
    origin: "Source"  # the source that loaded it
    class_names: tuple[str, ...] = ()
    val: "Loader | None" = None  # --val-fraction: the share of the training set held out
    test_images: object = None  # uint8 (N, 28, 28) or (N, 3, size, size) tensor, for the predictions plot
    table: dict = field(default_factory=dict)  # CSV runs: feature names, target and standardizer
    recorded: dict = field(default_factory=dict)  # what the source records in a checkpoint (see Source.load)
    notes: dict = field(default_factory=dict)  # for the summary: e.g. image counts, files skipped
    truth: dict = field(default_factory=dict)  # synthetic data: true_w, true_b (polyreg: true_coefficients too)

    def facts(self) -> dict:
        """Return what a checkpoint needs to rebuild the model, read new inputs and find its data again."""
        return {"num_inputs": self.num_inputs, "num_outputs": self.num_outputs,
                "class_names": list(self.class_names), "table": self.table, **self.recorded}


class Source:
    """One kind of data a run can train on; each subclass is a module of ``minidl.sources``."""

    options: type | None = None  # its part of TrainConfig (a frozen dataclass), or None
    needs = ""  # what choosing it takes, e.g. "an image folder; add --images DIR"
    naming: tuple[str, ...] = ()  # the options that name its data (csv; images; data_dir, dataset), if any

    def chosen(self, config) -> bool:
        """Return whether ``config`` trains on this source."""
        raise NotImplementedError

    def check(self, config) -> None:
        """Raise ConfigError for options of this source that are wrong or clash (only when it is chosen)."""

    def load(self, config, training, device) -> RunData:
        """Return the run's data; ``training(X, y)`` makes the training loader, as the run shuffles it."""
        raise NotImplementedError

    def owns(self, recorded: dict) -> bool:
        """Return whether a checkpoint's data facts are this source's."""
        raise NotImplementedError

    def found_again(self, recorded: dict, where: str) -> dict:
        """Return the config changes that read a saved run's data where its checkpoint says it is."""
        return {}

    def trained_on(self, config) -> str:
        """Return the data ``config`` trains on, in words (for messages naming a saved run's data)."""
        return f"{config.model}'s synthetic {config.toy if config.model == 'linreg' else 'cubic'} data"

    def moved(self, config, where: str, *, data_dir=None, csv=None) -> dict:
        """Return the config changes for a saved run's data moved to ``data_dir`` (a folder) or ``csv``.

        An option of another kind of data is refused, naming what the run was trained on: here, data
        drawn anew, never moved (the sources that read files say what moves theirs).
        """
        if csv is not None:
            raise self.other_kind(config, where, "a CSV table", f"leave out {setting('csv')}, or nothing to move")
        if data_dir is not None:
            raise self.other_kind(config, where, "images in a folder",
                                  f"leave out {setting('data_dir')} (it is made anew, never moved)")
        return {}

    def other_kind(self, config, where: str, kind: str, advice: str) -> DatasetError:
        """Return the error for an option of ``kind`` given to a saved run trained on this source's data."""
        return DatasetError(f"{where} was trained on {self.trained_on(config)}, not {kind}: {advice}")

    def check_same(self, recorded: dict, data: RunData, where: str) -> None:
        """Raise DatasetError when ``data`` is not the data a checkpoint's facts say the run trained on."""

    def weights(self, data: RunData, w: list[float], b: float) -> dict:
        """Return linear regression's learned w and b as the summary shows them (the source may know more)."""
        return {"w": w, "b": b}


@dataclass(frozen=True)
class SplitPart:
    """The held-out share, for the sources that have no test split of their own (an image tree, a table)."""

    test_fraction: float | None = option(None, f"--images as one tree, or --csv: the share (of each class) held "
                                         f"out for testing, seeded (default {TEST_FRACTION})", metavar="F",
                                         models=("linreg", "softmax", "mlp"))

    def check_split(self) -> None:
        """Raise ConfigError for a share that is not in [0, 1) or leaves no test examples."""
        if self.test_fraction is not None and check_fraction("--test-fraction", self.test_fraction) == 0:
            raise ConfigError("--test-fraction 0 leaves no test images; give a share such as 0.2")


def labels_fingerprint(y_train, y_test) -> str:
    """Return the SHA-256 of both label sequences: it tells one train/test split from another.

    The same 70,000 images split another way (the official split, or a course's own) give other
    label orders, so a run evaluated or resumed on other data is caught in a millisecond, without
    hashing 55 MB of images.
    """
    import torch

    digest = hashlib.sha256()
    for labels in (y_train, y_test):
        digest.update(labels.to(torch.int64).contiguous().numpy().tobytes())
    return digest.hexdigest()


def file_fingerprint(path: str | Path) -> str:
    """Return the SHA-256 of a file's bytes (a CSV table): it tells the table a run trained on from an edited one."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_named(recorded: dict) -> str:
    """Return e.g. ``the MNIST in /data/mnist`` or ``the image folder /data/pets``, from a checkpoint's facts."""
    if recorded.get("images"):
        return f"the image folder {recorded['images']}"
    return f"the {idx_title(recorded.get('dataset', 'fashion-mnist'))} in {recorded['data_root']}"


def check_same_split(recorded: dict, data: RunData, where: str) -> None:
    """Raise DatasetError when a folder of images holds another split than the checkpoint's (its labels' SHA-256)."""
    expected, found = recorded.get("labels_sha256"), data.recorded.get("labels_sha256")
    if expected and found and expected != found:
        root = recorded.get("images") or recorded["data_root"]
        now = data.recorded.get("data_root") or data.recorded.get("images")
        raise DatasetError(
            f"{where} was trained on {data_named(recorded)}, but the data in {now} is split differently "
            f"(other labels in train and test): its test set would not be the run's. "
            f"Pass --data-dir {shlex.quote(root)} (or a copy of that folder)"
        )


def idx_title(name: str) -> str:
    """Return an IDX set's title, e.g. ``Fashion-MNIST``."""
    from minidl.data.idx_sets import DATASETS

    return DATASETS[name].title
