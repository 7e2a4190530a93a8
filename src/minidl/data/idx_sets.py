"""The IDX image sets (Fashion-MNIST, MNIST, Kuzushiji-MNIST): find, download, check, cache.

All three ship the same four files (28x28 uint8 images, labels 0-9) under the same names; what
differs is in :data:`DATASETS`: the class names, the official mirrors and MD5 sums, torchvision's
folder name. The data folder of a set is, in order: the `root` argument, else the set's environment
variable (only Fashion-MNIST has one, `MINIDL_DATA_DIR`), else `cache_dir() / <name>`. A folder
holds the four files (gzipped or not) either flat or in torchvision's `<Folder>/raw/` (or `raw/`)
layout. Files found in a folder are format-checked, never checksummed (a local copy may have its
own split); which set a folder holds is the user's word. Downloads are checked against the
official MD5s. Decoded arrays are cached (see minidl.data.cache), so only the first load parses.

>>> DATASETS["mnist"].classes[:3], DATASETS["kmnist"].classes[:3]
(('0', '1', '2'), ('o', 'ki', 'su'))
"""
from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from minidl.errors import DatasetError, check_choice, check_whole
from minidl.data.cache import cache_dir, decoded_folder, read_arrays, write_arrays
from minidl.data.download import fetch
from minidl.data.idx import read_idx

if TYPE_CHECKING:
    import torch

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
_ARRAYS = ("train_images", "train_labels", "test_images", "test_labels")  # FILES order


@dataclass(frozen=True)
class IdxSet:
    """One IDX image set: its names, classes, where to download it and the sums to check it by."""

    name: str  # the --dataset name, and the cache folder's
    title: str  # as its authors write it
    classes: tuple[str, ...]  # index = label id
    mirrors: tuple[str, ...]  # tried in order
    md5: Mapping[str, str]  # the published sums of the official files, by downloaded name
    torchvision: str  # torchvision's folder: root/<torchvision>/raw/ is a known layout
    env: str | None = None  # an environment variable naming the set's folder


def _md5(*sums: str) -> Mapping[str, str]:
    return MappingProxyType({f"{name}.gz": s for name, s in zip(FILES, sums)})


DATASETS: Mapping[str, IdxSet] = MappingProxyType({
    "fashion-mnist": IdxSet(
        "fashion-mnist", "Fashion-MNIST",
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
         "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/"),
        _md5("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
             "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310"),
        "FashionMNIST", env="MINIDL_DATA_DIR"),
    # LeCun's own site often refuses scripted downloads; PyTorch's S3 copy holds the same files
    "mnist": IdxSet(
        "mnist", "MNIST", tuple("0123456789"),
        ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
        _md5("f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
             "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c"),
        "MNIST"),
    # the romanised names of the ten hiragana, as the KMNIST authors publish them (rois-codh/kmnist)
    "kmnist": IdxSet(
        "kmnist", "Kuzushiji-MNIST", ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
        ("https://codh.rois.ac.jp/kmnist/dataset/kmnist/", "http://codh.rois.ac.jp/kmnist/dataset/kmnist/"),
        _md5("bdb82020997e1d708af4cf47b453dcf7", "e144d726b3acfaa3e44228e80efcd344",
             "5c965bf0a639b31b8f53240b1b52f4d7", "7320c461ea6c1c855c0b718fb2a4b134"),
        "KMNIST"),
})


def get_dataset(name) -> IdxSet:
    """Return the IdxSet called ``name`` (an IdxSet passes through), else raise ConfigError naming it.

    >>> get_dataset("emnist")
    Traceback (most recent call last):
    ...
    minidl.errors.ConfigError: unknown dataset 'emnist'; choose one of fashion-mnist, mnist, kmnist
    """
    return name if isinstance(name, IdxSet) else DATASETS[check_choice("dataset", name, tuple(DATASETS))]


def _data_root(dataset: IdxSet) -> tuple[Path, str]:
    """Return the default data folder and where it came from: the set's variable, or "cache"."""
    if dataset.env and os.environ.get(dataset.env):
        return Path(os.environ[dataset.env]).expanduser(), dataset.env
    return cache_dir() / dataset.name, "cache"


def default_root(dataset="fashion-mnist") -> Path:
    """Return the data folder used when no root is given: the set's variable, else its cache folder."""
    return _data_root(get_dataset(dataset))[0]


def _layouts(dataset: IdxSet):
    """(layout name, sub-folder of root holding the files); the first complete one wins."""
    return (("flat", ()), ("torchvision", (dataset.torchvision, "raw")), ("raw", ("raw",)))


def _scan(folder: Path) -> dict[str, Path]:
    """Return {base name: path} of the files present in `folder`, preferring `name.gz`."""
    found = {}
    for name in FILES:
        for path in (folder / f"{name}.gz", folder / name):
            if path.is_file():
                found[name] = path
                break
    return found


def _find(root: Path, dataset: IdxSet) -> tuple[str | None, Path, dict[str, Path]]:
    """Return (layout, folder, files) of the first complete layout, else (None, fullest folder, its files)."""
    best = None, root, {}
    for layout, parts in _layouts(dataset):
        folder = root.joinpath(*parts)
        found = _scan(folder)
        if len(found) == len(FILES):
            return layout, folder, found
        if len(found) > len(best[2]):
            best = None, folder, found
    return best


def find_files(root, dataset="fashion-mnist") -> dict[str, Path] | None:
    """Return {base name: path} of the four files under `root` in any known layout, else None.

    >>> import tempfile
    >>> find_files(tempfile.mkdtemp(), "mnist") is None
    True
    """
    layout, _, files = _find(Path(root), get_dataset(dataset))
    return files if layout else None


def download_set(dataset, root=None, *, mirrors=None, md5=None, retries=3, timeout=30,
                 progress=True, backoff=0.5) -> Path:
    """Return `root` (default: `default_root(dataset)`) after downloading the files it lacks into it.

    `mirrors` and `md5` default to the set's official ones. Each file is checked against
    `md5[name.gz]` before it appears (see minidl.data.download.fetch). When every mirror fails,
    raises DatasetError saying where to put the files by hand; no .part is left.
    """
    dataset = get_dataset(dataset)
    mirrors = dataset.mirrors if mirrors is None else mirrors
    md5 = dataset.md5 if md5 is None else md5
    check_whole("retries", retries)
    root = Path(root).expanduser() if root is not None else default_root(dataset)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DatasetError(f"cannot create the data folder {root}: {e.strerror or e}") from None
    for name in [name for name in FILES if name not in _scan(root)]:
        gz = f"{name}.gz"
        failures = fetch(root, gz, mirrors, md5[gz], retries=retries, timeout=timeout,
                         progress=progress, backoff=backoff)
        if failures:
            names = ", ".join(f"{n}.gz" for n in FILES)
            tries = "; ".join(f"{f} ({n} tries)" if n > 1 else f for f, n in Counter(failures).items())
            raise DatasetError(
                f"could not download {gz}: {tries}. To install {dataset.title} by hand, put the four "
                f"files {names} (gzipped or unpacked) in {root} and run again"
            )
    return root


def _resolve(dataset: IdxSet, root, download: bool) -> tuple[Path, str, str, dict[str, Path]]:
    """Return (root, source, layout, files), downloading first where that is allowed."""
    root, source = (Path(root).expanduser(), "argument") if root is not None else _data_root(dataset)
    layout, folder, files = _find(root, dataset)
    if layout:
        return root, source, layout, files
    if download and source in ("argument", "cache"):  # never download into a folder set by env
        download_set(dataset, root)
        layout, _, files = _find(root, dataset)
        return root, source, layout, files
    missing = [name for name in FILES if name not in files]
    by_env = source not in ("argument", "cache")
    where = f"{root} (set by {source})" if by_env else str(root)
    problem = ("does not exist" if not root.exists()
               else f"lacks {', '.join(missing)} (looked in {folder})")
    fix = (f"put the four files there (gzipped or unpacked), download them there with `minidl data "
           f"download{_flag(dataset)}`, or unset {source} to use {cache_dir() / dataset.name}" if by_env
           else "put the four files there (gzipped or unpacked), or allow downloading "
                f"(`minidl data download{_flag(dataset)} --data-dir {root}`)")
    raise DatasetError(f"{dataset.title} folder {where} {problem}: {fix}")


def _flag(dataset: IdxSet) -> str:
    return "" if dataset.name == "fashion-mnist" else f" --dataset {dataset.name}"


def _check(arrays, files: dict[str, Path], dataset: IdxSet) -> None:
    """Raise DatasetError unless the arrays are shaped as the set: (N, 28, 28) uint8 images, N labels."""
    top = len(dataset.classes) - 1
    for (images, labels), (img, lab) in zip((arrays[:2], arrays[2:]), (FILES[:2], FILES[2:])):
        if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
            raise DatasetError(f"{files[img]} holds a {images.dtype} array of shape {images.shape}, "
                               "not uint8 images of shape (N, 28, 28); replace it with the real file")
        if labels.ndim != 1 or labels.dtype.kind not in "ui":
            raise DatasetError(f"{files[lab]} holds a {labels.dtype} array of shape {labels.shape}, "
                               "not one integer label per image; replace it with the real file")
        if len(images) != len(labels):
            raise DatasetError(f"{files[img]} holds {len(images)} images but {files[lab]} holds "
                               f"{len(labels)} labels; both files must come from the same copy")
        if labels.size and not 0 <= labels.min() <= labels.max() <= top:
            raise DatasetError(f"{files[lab]} holds labels outside 0-{top} (found {labels.min()} to "
                               f"{labels.max()}), which {dataset.title} does not have; replace it with "
                               "the real file")


def _cache_folder(files: dict[str, Path]) -> Path:
    """Return the decoded-array cache folder of these source files; a changed file gets a new one."""
    return decoded_folder(files[name] for name in FILES)


def _load(dataset: IdxSet, root, download: bool) -> tuple[list[np.ndarray], dict]:
    """Return the four arrays and where they came from, parsing only on a cache miss."""
    root, source, layout, files = _resolve(dataset, root, download)
    folder = _cache_folder(files)
    arrays = read_arrays(folder, _ARRAYS, lambda a: _check(a, files, dataset))
    where = {"dataset": dataset.name, "root": str(root), "source": source, "layout": layout,
             "cache": str(folder), "cached": arrays is not None,
             "files": {n: str(p) for n, p in files.items()}}
    if arrays is None:
        arrays = [read_idx(files[name]) for name in FILES]
        _check(arrays, files, dataset)
        arrays[1], arrays[3] = arrays[1].astype(np.int64), arrays[3].astype(np.int64)
        write_arrays(folder, _ARRAYS, arrays, dataset.title)
    return arrays, where


class IdxData(NamedTuple):
    """The four arrays and the folder they were read from (absolute: a run records it)."""

    X_train: torch.Tensor  # uint8 (N, 28, 28)
    y_train: torch.Tensor  # int64 (N,)
    X_test: torch.Tensor
    y_test: torch.Tensor
    root: Path


def read_set(dataset, root=None, download=True) -> IdxData:
    """Return a set's arrays and the folder they came from: uint8 (N, 28, 28) images, int64 (N,) labels.

    `root` defaults to `default_root(dataset)`. Missing files are downloaded into an explicit
    `root` or the default cache folder when `download`; a folder set by an environment variable is
    only read.
    """
    arrays, where = _load(get_dataset(dataset), root, download)
    import torch  # here, not at the top: the config reads DATASETS without torch

    return IdxData(*(torch.from_numpy(a) for a in arrays), root=Path(where["root"]).resolve())


def dataset_info(dataset, root=None) -> dict:
    """Return where a set came from, its layout, shapes, dtypes, counts per class and cache state."""
    dataset = get_dataset(dataset)
    arrays, info = _load(dataset, root, download=False)
    for split, images, labels in (("train", *arrays[:2]), ("test", *arrays[2:])):
        info[split] = {"images_shape": images.shape, "images_dtype": str(images.dtype),
                       "labels_shape": labels.shape, "labels_dtype": str(labels.dtype),
                       "counts": np.bincount(labels, minlength=len(dataset.classes)).tolist()}
    return info


def format_info(info: dict) -> str:
    """Return `dataset_info()`'s summary as text: source, cache, shapes and a per-class table."""
    dataset = get_dataset(info.get("dataset", "fashion-mnist"))
    source = {"argument": "given folder", "cache": "default cache folder"}.get(
        info["source"], f"set by {info['source']}")
    layout = {"flat": "flat", "torchvision": f"torchvision {dataset.torchvision}/raw/", "raw": "raw/"}
    lines = [f"{dataset.title} in {info['root']} ({source}, {layout[info['layout']]} layout)",
             f"decoded cache: {info['cache']} ({'hit' if info['cached'] else 'built now'})"]
    for split in ("train", "test"):
        s = info[split]
        lines.append(f"{split:<5}  {s['images_shape'][0]:>6,} images {s['images_shape']} "
                     f"{s['images_dtype']}, labels {s['labels_shape']} {s['labels_dtype']}")
    width = max(12, *(len(name) for name in dataset.classes))
    lines.append(f"\n{'id':>2}  {'class':<{width}} {'train':>7} {'test':>7}")
    for i, name in enumerate(dataset.classes):
        lines.append(f"{i:>2}  {name:<{width}} {info['train']['counts'][i]:>7,} {info['test']['counts'][i]:>7,}")
    return "\n".join(lines)
