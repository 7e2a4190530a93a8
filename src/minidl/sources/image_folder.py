"""A folder of images, a sub-folder per class: the user's own photos or scans."""
from __future__ import annotations

import os
from dataclasses import dataclass

from minidl.options import option
from minidl.errors import check_channels, check_whole
from minidl.naming import setting
from minidl.sources.base import EVAL_BATCH, RunData, Source, check_same_split, labels_fingerprint

MAX_IMAGE_SIZE = 512  # --image-size: a side of 512 pixels is already 262,144 inputs per image


@dataclass(frozen=True)
class ImageFolderOptions:
    """Where the folder is, the square size and channels its images are made into, unreadable files."""

    images: str | None = option(None, "train on a folder of images instead, a sub-folder per class: DIR/train/<class>/ "
                                "and DIR/test/<class>/, or DIR/<class>/ split by --test-fraction", metavar="DIR",
                                models=("softmax", "mlp"))
    image_size: int = option(28, "--images: each image is resized to SIZE x SIZE pixels", metavar="SIZE",
                             models=("softmax", "mlp"))
    channels: int = option(1, "--images: 1 (grey) or 3 (colour: red, green, blue); the model takes C x SIZE x "
                           "SIZE inputs", metavar="C", models=("softmax", "mlp"))
    skip_bad_images: bool = option(False, "--images: skip unreadable files (counted in the summary) instead of "
                                   "stopping at the first", models=("softmax", "mlp"))

    def check_image_options(self) -> None:
        """Raise ConfigError for an image size or channel count that cannot be (whichever source is chosen)."""
        check_whole("image size (--image-size)", self.image_size, high=MAX_IMAGE_SIZE)
        check_channels(self.channels)


class ImageFolder(Source):
    """Images in DIR/train/<class>/ and DIR/test/<class>/, or one tree split by --test-fraction."""

    options = ImageFolderOptions
    needs = "an image folder; add --images DIR"
    naming = ("images",)

    def chosen(self, config) -> bool:
        return config.images is not None

    def check(self, config) -> None:
        # where the folder is, whatever the working folder of a later evaluate or resume
        object.__setattr__(config, "images", os.path.abspath(os.path.expanduser(config.images)))

    def load(self, config, training, device) -> RunData:
        from minidl.data.image_folder import load_image_folder
        from minidl.data.loader import Loader

        images = load_image_folder(config.images, size=config.image_size, channels=config.channels,
                                   test_fraction=config.test_fraction, seed=config.seed,
                                   skip_bad=config.skip_bad_images)
        return RunData(
            train=training(images.X_train, images.y_train),
            test=Loader(images.X_test, images.y_test, EVAL_BATCH, device=device),
            num_inputs=config.channels * config.image_size ** 2, num_outputs=len(images.class_names),
            classifies=True, source=images.describe(), origin=self, class_names=images.class_names,
            test_images=images.X_test, notes=images.counts(),
            recorded={"dataset": "images", "images": str(images.root),
                      "labels_sha256": labels_fingerprint(images.y_train, images.y_test)},
        )

    def owns(self, recorded: dict) -> bool:
        return "images" in recorded

    def trained_on(self, config) -> str:
        return f"the image folder {config.images}"

    def moved(self, config, where: str, *, data_dir=None, csv=None) -> dict:
        if csv is not None:
            raise self.other_kind(config, where, "a CSV table",
                                  f"leave out {setting('csv')}, or give {setting('data_dir')} for its images moved")
        return {"images": data_dir} if data_dir is not None else {}  # an image-folder run: its folder, moved

    def check_same(self, recorded: dict, data: RunData, where: str) -> None:
        check_same_split(recorded, data, where)
