"""Fashion-MNIST and its kin (MNIST, Kuzushiji-MNIST): the IDX image sets, the image lessons' data."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from minidl.options import option
from minidl.data.idx_sets import DATASETS
from minidl.errors import DatasetError, check_choice
from minidl.naming import setting
from minidl.sources.base import EVAL_BATCH, RunData, Source, check_same_split, data_named, labels_fingerprint

DATA_DIR_HELP = ("the --dataset's folder (default: $MINIDL_DATA_DIR for fashion-mnist, else the user cache's "
                 "~/.cache/minidl/<dataset>)")


@dataclass(frozen=True)
class IdxOptions:
    """Which IDX set, and where its four files are."""

    data_dir: str | None = option(None, DATA_DIR_HELP, models=("softmax", "mlp"))
    dataset: str = option("fashion-mnist", f"the IDX image set to train on: {', '.join(DATASETS)}",
                          models=("softmax", "mlp"))


class IdxSet(Source):
    """The lessons' image sets: 28 x 28 grey images in the IDX format, found, downloaded and cached."""

    options = IdxOptions
    naming = ("data_dir", "dataset")

    def chosen(self, config) -> bool:
        return config.model in ("softmax", "mlp")  # the registry asks the CSV table and image folder first

    def check(self, config) -> None:
        check_choice("dataset", config.dataset, DATASETS)

    def load(self, config, training, device) -> RunData:
        from minidl.data.idx_sets import read_set
        from minidl.data.loader import Loader

        dataset = DATASETS[config.dataset]
        # a folder named by --data-dir must already hold the data: a typo never starts a download
        idx = read_set(dataset, config.data_dir, download=config.data_dir is None)
        return RunData(
            train=training(idx.X_train, idx.y_train),
            test=Loader(idx.X_test, idx.y_test, EVAL_BATCH, device=device),
            num_inputs=28 * 28, num_outputs=len(dataset.classes), classifies=True,
            source=f"{dataset.title} ({idx.root})", origin=self,
            class_names=dataset.classes, test_images=idx.X_test,
            recorded={"dataset": dataset.name, "data_root": str(idx.root),
                      "labels_sha256": labels_fingerprint(idx.y_train, idx.y_test)},
        )

    def owns(self, recorded: dict) -> bool:
        return "data_root" in recorded or "dataset" in recorded  # (an image folder's is asked first)

    def found_again(self, recorded: dict, where: str) -> dict:
        root = recorded.get("data_root")
        if root and not Path(root).is_dir():
            raise DatasetError(f"{where} was trained on {data_named(recorded)}, which is gone; "
                               f"pass --data-dir FOLDER with a copy of that data")
        return {"data_dir": root} if root else {}

    def trained_on(self, config) -> str:
        return f"the {config.dataset} IDX image set"

    def moved(self, config, where: str, *, data_dir=None, csv=None) -> dict:
        if csv is not None:
            raise self.other_kind(config, where, "a CSV table",
                                  f"leave out {setting('csv')}, or give {setting('data_dir')} for its images moved")
        return {"data_dir": data_dir} if data_dir is not None else {}

    def check_same(self, recorded: dict, data: RunData, where: str) -> None:
        check_same_split(recorded, data, where)
