"""Fashion-MNIST: the lessons' data set, by the names the lessons and earlier code use.

Everything is :mod:`minidl.data.idx_sets` applied to ``DATASETS["fashion-mnist"]``: the data folder
is the `root` argument, else `MINIDL_DATA_DIR`, else `cache_dir() / "fashion-mnist"`; local files
are format-checked, downloads checked against the official MD5 sums, decoded arrays cached.

>>> LABELS[0], LABELS[9]
('T-shirt/top', 'Ankle boot')
"""
from __future__ import annotations

from minidl.data import idx_sets
from minidl.data.cache import cache_dir
from minidl.data.idx_sets import DATASETS, FILES, IdxData, find_files as _find_files

FASHION_MNIST = DATASETS["fashion-mnist"]
MIRRORS = FASHION_MNIST.mirrors
MD5 = FASHION_MNIST.md5
LABELS = FASHION_MNIST.classes  # index = label id
FashionMNIST = IdxData  # the four arrays and the folder they came from

__all__ = ["FILES", "LABELS", "MD5", "MIRRORS", "FashionMNIST", "cache_dir", "default_root",
           "find_files", "download_fashion_mnist", "read_fashion_mnist", "load_fashion_mnist",
           "dataset_info", "format_info"]


def default_root():
    """Return the data folder used when no root is given: MINIDL_DATA_DIR, else the cache's."""
    return idx_sets.default_root(FASHION_MNIST)


def find_files(root):
    """Return {base name: path} of the four files under `root` in any known layout, else None."""
    return _find_files(root, FASHION_MNIST)


def download_fashion_mnist(root=None, *, mirrors=MIRRORS, md5=MD5, retries=3, timeout=30,
                           progress=True, backoff=0.5):
    """Return `root` (default: `default_root()`) after downloading the files it lacks into it."""
    return idx_sets.download_set(FASHION_MNIST, root, mirrors=mirrors, md5=md5, retries=retries,
                                 timeout=timeout, progress=progress, backoff=backoff)


def read_fashion_mnist(root=None, download=True) -> IdxData:
    """Return the arrays and the folder they came from, found once (see :func:`load_fashion_mnist`)."""
    return idx_sets.read_set(FASHION_MNIST, root, download)


def load_fashion_mnist(root=None, download=True):
    """Return (X_train, y_train, X_test, y_test): uint8 (N, 28, 28) images, int64 (N,) labels.

    `root` defaults to `default_root()`. Missing files are downloaded into an explicit `root` or
    the default cache folder when `download`; a folder set by MINIDL_DATA_DIR is only read.
    """
    return tuple(read_fashion_mnist(root, download)[:4])


def dataset_info(root=None) -> dict:
    """Return where the data came from, its layout, shapes, dtypes, counts per class and cache state."""
    return idx_sets.dataset_info(FASHION_MNIST, root)


format_info = idx_sets.format_info
