"""Image folders: a sub-folder per class, decoded once into uint8 arrays and cached.

A folder holds either ``train/<class>/`` and ``test/<class>/`` (the same classes in both), or one
tree ``<class>/`` that a seeded ``test_fraction`` splits class by class. The class names are the
folder names, sorted: label ``i`` is the ``i``-th name. Images are the files ending in .png, .jpg,
.jpeg, .bmp or .gif (any case, at any depth under their class folder); hidden files and other files
are left alone. Within a split the images come in the order of their file names, across classes,
so a set written as ``<index>.png`` keeps its order.

Each image is decoded by the rules ``minidl predict`` uses (``minidl.data.images.read_grey``: 8- or
16-bit grey levels scaled by bit depth, alpha filled in; with ``channels=3``,
``minidl.data.images.read_rgb``: the same rules in colour), taken in the form it is in: an image
already ``size`` x ``size`` passes pixel for pixel, any other is resized whole to that square (no
inversion, crop or centring). Grey images are stored (N, size, size); colour ones channels first,
(N, 3, size, size) as torch's convolutions take them, so a model flattens either alike. An
unreadable file stops the load, named, unless ``skip_bad``: then it is left out and counted. The
decoded arrays are cached (see minidl.data.cache), keyed by every file's path, size and
modification time, the image size and the channel count.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from minidl.errors import ConfigError, DatasetError, check_channels, check_fraction
from minidl.data.cache import decoded_folder, read_arrays, write_arrays
from minidl.data.split import TEST_FRACTION, stratified_split
from minidl.data.images import read_grey, read_rgb

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
SPLITS = ("train", "test")
DECODER = "upright, draft"  # in the cache key: arrays decoded before EXIF orientation was applied are not reused
_CACHED = ("images", "readable")  # (N, size, size) or (N, 3, size, size) uint8 in listing order; (N,) bool


@dataclass(frozen=True)
class ImageFolder:
    """An image folder's arrays, class names and what was left out."""

    X_train: torch.Tensor  # uint8 (N, size, size), or (N, 3, size, size) in colour
    y_train: torch.Tensor  # int64 (N,)
    X_test: torch.Tensor
    y_test: torch.Tensor
    class_names: tuple[str, ...]
    root: Path  # absolute
    test_fraction: float | None  # None: the folder has its own test/
    skipped: tuple[str, ...] = ()  # unreadable files left out, relative to root

    def describe(self) -> str:
        """Return e.g. ``image folder /data/pets (train/ and test/): 800 train, 200 test images, 2 classes``."""
        split = "train/ and test/" if self.test_fraction is None else f"one tree, {self.test_fraction:g} held out"
        skipped = f"; {len(self.skipped)} unreadable files skipped" if self.skipped else ""
        colour = " colour" if self.X_train.ndim == 4 else ""
        return (f"image folder {self.root} ({split}): {len(self.X_train)} train, {len(self.X_test)} test{colour} "
                f"images of {self.X_train.shape[-2]}x{self.X_train.shape[-1]}, {len(self.class_names)} classes{skipped}")

    def counts(self) -> dict:
        """Return the image counts and the skipped files, for a run's summary."""
        return {"train_images": len(self.X_train), "test_images": len(self.X_test),
                "skipped_images": list(self.skipped)}


def decode_image(path, size: int, channels: int = 1) -> np.ndarray:
    """Return an image file as a (size, size) uint8 array, or (3, size, size) with ``channels=3``.

    The levels are read_grey's (read_rgb's in colour: upright as EXIF says, a large JPEG decoded at a
    reduced size), resized only if the file is not size x size.
    """
    pixels = read_grey(path, size) if channels == 1 else read_rgb(path, size)  # (H, W) or (H, W, 3), upright
    if pixels.shape[:2] != (size, size):
        from PIL import Image

        pixels = np.array(Image.fromarray(pixels).resize((size, size), Image.LANCZOS))
    return pixels if channels == 1 else np.ascontiguousarray(pixels.transpose(2, 0, 1))


def load_image_folder(root, *, size: int = 28, channels: int = 1, test_fraction: float | None = None,
                      seed: int = 0, skip_bad: bool = False) -> ImageFolder:
    """Return the folder's images as arrays; raise DatasetError naming the folder, class or file at fault."""
    root = Path(root).expanduser().resolve()
    channels = check_channels(channels)
    splits, classes = _list(root)
    if len(splits) == 2 and test_fraction is not None:
        raise ConfigError(f"--test-fraction splits one tree of class folders, but {root} has its own "
                          "train/ and test/; leave out --test-fraction")
    files = [path for split in splits.values() for _, path in split]
    images, readable = _decode(root, files, size, channels, skip_bad)
    labels = np.array([label for split in splits.values() for label, _ in split], dtype=np.int64)
    if len(splits) == 2:
        n_train = len(splits["train"])
        train, test = np.arange(n_train), np.arange(n_train, len(files))
    else:
        test_fraction = TEST_FRACTION if test_fraction is None else check_fraction("--test-fraction", test_fraction)
        train, test = stratified_split(labels, test_fraction, seed)
    train, test = train[readable[train]], test[readable[test]]
    if len(test) == 0:
        raise DatasetError(f"{root} leaves no test images; give it more images or a larger --test-fraction")
    tensor = torch.from_numpy
    return ImageFolder(tensor(images[train]), tensor(labels[train]), tensor(images[test]), tensor(labels[test]),
                       class_names=classes, root=root, test_fraction=None if len(splits) == 2 else test_fraction,
                       skipped=tuple(str(files[i].relative_to(root)) for i in np.flatnonzero(~readable)))


def _list(root: Path) -> tuple[dict[str, list[tuple[int, Path]]], tuple[str, ...]]:
    """Return {split: [(label, path)] in file-name order} ("" for one tree) and the sorted class names."""
    if not root.is_dir():
        raise DatasetError(f"image folder {root} " + ("is a file, not a folder" if root.exists() else "does not exist"))
    has = [split for split in SPLITS if (root / split).is_dir()]
    if len(has) == 1:
        other = SPLITS[1 - SPLITS.index(has[0])]
        raise DatasetError(f"image folder {root} has {has[0]}/ but no {other}/: give both, each with a folder "
                           f"per class, or put the class folders in {root} itself and use --test-fraction")
    tops = [root / split for split in has] or [root]
    names = [_class_names(top) for top in tops]
    if len(names) == 2 and names[0] != names[1]:
        only = sorted(set(names[0]) ^ set(names[1]))[0]
        inside, missing = ("train", "test") if only in names[0] else ("test", "train")
        raise DatasetError(f"class {only!r} is in {root / inside} but not in {root / missing}: "
                           "train/ and test/ need the same class folders")
    classes = names[0]
    if len(classes) < 2:
        raise DatasetError(f"image folder {tops[0]} holds {len(classes)} class folder"
                           f"{'' if len(classes) == 1 else 's'}; a classifier needs at least 2, one folder per class")
    splits = {}
    for split, top in zip(has or [""], tops):
        found = []
        for label, name in enumerate(classes):
            images = [p for p in (top / name).rglob("*") if _is_image(p, top / name)]
            if not images:
                raise DatasetError(f"class folder {top / name} holds no images ({', '.join(EXTENSIONS)})")
            found += [(label, p) for p in images]
        splits[split] = sorted(found, key=lambda lp: (lp[1].name, lp[0], str(lp[1])))
    return splits, classes


def _class_names(top: Path) -> tuple[str, ...]:
    return tuple(sorted(p.name for p in top.iterdir() if p.is_dir() and not p.name.startswith(".")))


def _is_image(path: Path, under: Path) -> bool:
    hidden = any(part.startswith(".") for part in path.relative_to(under).parts)
    return not hidden and path.suffix.lower() in EXTENSIONS and path.is_file()


def _decode(root: Path, files: list[Path], size: int, channels: int,
            skip_bad: bool) -> tuple[np.ndarray, np.ndarray]:
    """Return (images (N, size, size) or (N, 3, size, size) uint8, readable (N,) bool), cached where it can."""
    folder = decoded_folder(files, "image-folder", f"size {size}", f"channels {channels}", DECODER)
    shape = (len(files), size, size) if channels == 1 else (len(files), channels, size, size)

    def check(arrays):
        if arrays[0].shape != shape or arrays[1].shape != (len(files),):
            raise ValueError("cached arrays of another shape")

    cached = read_arrays(folder, _CACHED, check)
    if cached is not None:
        images, readable = cached
        if not skip_bad and not readable.all():  # decoded before with --skip-bad-images
            _decode_one(files[int(np.flatnonzero(~readable)[0])], size, channels, skip_bad)  # raises, naming it
        return images, readable
    images, readable = decode_all(files, size, channels, skip_bad)
    write_arrays(folder, _CACHED, (images, readable), f"images of {root}")
    return images, readable


def decode_all(files: list[Path], size: int, channels: int, skip_bad: bool,
               workers: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return (images, readable) of ``files``, decoded on ``workers`` threads (default: every core this process
    may use; PIL decodes and resizes without holding Python's lock); the first unreadable file in order is named."""
    shape = (len(files), size, size) if channels == 1 else (len(files), channels, size, size)
    images = np.zeros(shape, dtype=np.uint8)
    readable = np.ones(len(files), dtype=bool)
    with ThreadPoolExecutor(max_workers=max(1, min(workers or _cores(), len(files)))) as pool:
        for i, image in enumerate(pool.map(lambda path: _decode_one(path, size, channels, skip_bad), files)):
            if image is None:
                readable[i] = False
            else:
                images[i] = image
    return images, readable


def _cores() -> int:
    """Return the number of cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _decode_one(path: Path, size: int, channels: int, skip_bad: bool) -> np.ndarray | None:
    """Return the decoded image; None for an unreadable file when ``skip_bad``, else DatasetError naming it."""
    try:
        return decode_image(path, size, channels)
    except DatasetError as e:
        if skip_bad:
            return None
        raise DatasetError(f"{e}; fix or remove the file, or pass --skip-bad-images to leave unreadable "
                           "files out") from None
