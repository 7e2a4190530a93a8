"""Fashion-MNIST: find it on disk, download it when missing, cache the decoded arrays.

The data folder is, in order: the `root` argument, else `MINIDL_DATA_DIR`, else
`cache_dir() / "fashion-mnist"`. A folder holds the four official files (gzipped or not) either
flat or in torchvision's `FashionMNIST/raw/` (or `raw/`) layout. Files found in a folder are
format-checked, never checksummed (a local copy may have its own split, as the shared one does);
downloads are checked against the official MD5 sums. Decoded arrays are cached as `.npy` under
`cache_dir() / "decoded"`, so only the first load parses the IDX files.

>>> LABELS[0], LABELS[9]
('T-shirt/top', 'Ankle boot')
"""
import hashlib
import http.client
import os
import sys
import time
import urllib.error
import urllib.request
import warnings
from collections import Counter
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple

import numpy as np
import torch
from tqdm import tqdm

from minidl.checks import check_whole
from minidl.data.idx import read_idx
from minidl.errors import DatasetError
from minidl.files import atomic_write

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
MIRRORS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
           "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/")
MD5 = MappingProxyType({  # the published sums of the official files, by downloaded name
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
})
LABELS = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
          "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")  # index = label id

# (layout name, sub-folder of root holding the files); the first complete one wins.
_LAYOUTS = (("flat", ()), ("torchvision", ("FashionMNIST", "raw")), ("raw", ("raw",)))
_ARRAYS = ("train_images", "train_labels", "test_images", "test_labels")  # FILES order


def cache_dir() -> Path:
    """Return the per-user cache folder: MINIDL_CACHE_DIR, else $XDG_CACHE_HOME/minidl, else ~/.cache/minidl."""
    if os.environ.get("MINIDL_CACHE_DIR"):
        return Path(os.environ["MINIDL_CACHE_DIR"]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "minidl"
    return Path.home() / ".cache" / "minidl"


def _data_root() -> tuple[Path, str]:
    """Return the default data folder and where it came from: "MINIDL_DATA_DIR" or "cache"."""
    if os.environ.get("MINIDL_DATA_DIR"):
        return Path(os.environ["MINIDL_DATA_DIR"]).expanduser(), "MINIDL_DATA_DIR"
    return cache_dir() / "fashion-mnist", "cache"


def default_root() -> Path:
    """Return the data folder used when no root is given: MINIDL_DATA_DIR, else the cache's."""
    return _data_root()[0]


def _scan(folder: Path) -> dict[str, Path]:
    """Return {base name: path} of the files present in `folder`, preferring `name.gz`."""
    found = {}
    for name in FILES:
        for path in (folder / f"{name}.gz", folder / name):
            if path.is_file():
                found[name] = path
                break
    return found


def _find(root: Path) -> tuple[str | None, Path, dict[str, Path]]:
    """Return (layout, folder, files) of the first complete layout, else (None, fullest folder, its files)."""
    best = None, root, {}
    for layout, parts in _LAYOUTS:
        folder = root.joinpath(*parts)
        found = _scan(folder)
        if len(found) == len(FILES):
            return layout, folder, found
        if len(found) > len(best[2]):
            best = None, folder, found
    return best


def find_files(root) -> dict[str, Path] | None:
    """Return {base name: path} of the four files under `root` in any known layout, else None.

    >>> import tempfile
    >>> find_files(tempfile.mkdtemp()) is None
    True
    """
    layout, _, files = _find(Path(root))
    return files if layout else None


def download_fashion_mnist(root=None, *, mirrors=MIRRORS, md5=MD5, retries=3, timeout=30,
                           progress=True, backoff=0.5) -> Path:
    """Return `root` (default: `default_root()`) after downloading the files it lacks into it.

    Each file streams to `name.gz.part` and is renamed only once its MD5 matches `md5[name.gz]`.
    A connection error is retried `retries` times per mirror, sleeping `backoff * attempt`
    seconds between tries; a wrong checksum or an HTTP 4xx moves on to the next mirror. When every
    mirror fails, raises DatasetError saying where to put the files by hand; no .part is left.
    """
    check_whole("retries", retries)
    root = Path(root).expanduser() if root is not None else default_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DatasetError(f"cannot create the data folder {root}: {e.strerror or e}") from None
    for name in [name for name in FILES if name not in _scan(root)]:
        gz = f"{name}.gz"
        failures = _download(root, gz, mirrors, md5[gz], retries, timeout, progress, backoff)
        if failures is not None:
            names = ", ".join(f"{n}.gz" for n in FILES)
            tries = "; ".join(f"{f} ({n} tries)" if n > 1 else f
                              for f, n in Counter(failures).items())
            raise DatasetError(
                f"could not download {gz}: {tries or 'no mirror given'}. To install Fashion-MNIST by "
                f"hand, put the four files {names} (gzipped or unpacked) in {root} and run again"
            )
    return root


def _download(root: Path, gz: str, mirrors, expected: str, retries: int, timeout: float,
              progress: bool, backoff: float) -> list[str] | None:
    """Fetch `gz` into `root` from the first mirror serving it intact; return None, else failures."""
    part, failures = root / f"{gz}.part", []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + gz
        for attempt in range(1, retries + 1):
            try:
                digest = _stream(url, part, timeout, progress)
            except urllib.error.HTTPError as e:
                failures.append(f"{url}: HTTP {e.code} {e.reason}")
                if 400 <= e.code < 500:
                    break  # the mirror does not have it; asking again will not help
            except PermissionError as e:  # our side: no mirror can fix it
                raise DatasetError(f"cannot write {part}: {e.strerror}; download into a folder "
                                   "you can write to (--data-dir)") from None
            except (OSError, http.client.HTTPException) as e:  # URLError, timeouts, resets
                failures.append(f"{url}: {str(getattr(e, 'reason', '') or e) or type(e).__name__}")
            else:
                if digest == expected:
                    os.replace(part, root / gz)
                    return None
                failures.append(f"{url}: checksum mismatch (md5 {digest}, expected {expected})")
                break  # a different file, not a flaky line: try the next mirror
            finally:
                part.unlink(missing_ok=True)
            if attempt < retries:
                time.sleep(backoff * attempt)
    return failures


def _stream(url: str, part: Path, timeout: float, progress: bool) -> str:
    """Write the body at `url` to `part` and return its MD5; raise OSError on a short body."""
    with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as f:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        if progress and not sys.stderr.isatty():
            print(f"downloading {url}", file=sys.stderr)
        digest, received = hashlib.md5(usedforsecurity=False), 0
        with tqdm(total=total, unit="B", unit_scale=True, desc=part.name[:-5],
                  disable=not (progress and sys.stderr.isatty())) as bar:
            while chunk := response.read(1 << 16):
                f.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    if total is not None and received != total:
        # http.client returns a short body silently when the server hangs up early.
        raise ConnectionError(f"connection closed after {received} of {total} bytes")
    return digest.hexdigest()


def _resolve(root, download: bool) -> tuple[Path, str, str, dict[str, Path]]:
    """Return (root, source, layout, files), downloading first where that is allowed."""
    root, source = (Path(root).expanduser(), "argument") if root is not None else _data_root()
    layout, folder, files = _find(root)
    if layout:
        return root, source, layout, files
    if download and source != "MINIDL_DATA_DIR":  # never download into a folder set by env
        download_fashion_mnist(root)
        layout, _, files = _find(root)
        return root, source, layout, files
    missing = [name for name in FILES if name not in files]
    where = f"{root} (set by MINIDL_DATA_DIR)" if source == "MINIDL_DATA_DIR" else str(root)
    problem = ("does not exist" if not root.exists()
               else f"lacks {', '.join(missing)} (looked in {folder})")
    fix = (f"put the four files there (gzipped or unpacked), or unset MINIDL_DATA_DIR to download "
           f"into {cache_dir() / 'fashion-mnist'}" if source == "MINIDL_DATA_DIR"
           else "put the four files there (gzipped or unpacked), or allow downloading "
                f"(`minidl data download --data-dir {root}`)")
    raise DatasetError(f"Fashion-MNIST folder {where} {problem}: {fix}")


def _check(arrays, files: dict[str, Path]) -> None:
    """Raise DatasetError unless the arrays are Fashion-MNIST shaped: (N, 28, 28) images, N labels 0-9."""
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
        if labels.size and not 0 <= labels.min() <= labels.max() <= 9:
            raise DatasetError(f"{files[lab]} holds labels outside 0-9 (found {labels.min()} to "
                               f"{labels.max()}); replace it with the real file")


def _cache_folder(files: dict[str, Path]) -> Path:
    """Return the decoded-array cache folder of these source files; a changed file gets a new one."""
    key = hashlib.sha256()
    for name in FILES:
        path = files[name].resolve()
        stat = path.stat()
        key.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return cache_dir() / "decoded" / key.hexdigest()[:16]


def _read_cache(folder: Path, files: dict[str, Path]) -> list[np.ndarray] | None:
    """Return the four cached arrays, or None when absent or unreadable (then they get rebuilt)."""
    try:
        arrays = [np.load(folder / f"{name}.npy", allow_pickle=False) for name in _ARRAYS]
        _check(arrays, files)
    except (OSError, ValueError, EOFError):  # missing, truncated, garbage (DatasetError too)
        return None
    return arrays


def _write_cache(folder: Path, arrays) -> None:
    """Save the arrays under `folder`, each atomically; a failure only warns (loads stay slow)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, array in zip(_ARRAYS, arrays):
            atomic_write(folder / f"{name}.npy", lambda f, a=array: np.save(f, a))
    except OSError as e:
        warnings.warn(f"could not cache decoded Fashion-MNIST in {folder} ({e.strerror or e}); "
                      "every load will parse the IDX files again. Point MINIDL_CACHE_DIR at a "
                      "writable folder to fix it", stacklevel=4)


def _load(root, download: bool) -> tuple[list[np.ndarray], dict]:
    """Return the four arrays and where they came from, parsing only on a cache miss."""
    root, source, layout, files = _resolve(root, download)
    folder = _cache_folder(files)
    arrays = _read_cache(folder, files)
    where = {"root": str(root), "source": source, "layout": layout, "cache": str(folder),
             "cached": arrays is not None, "files": {n: str(p) for n, p in files.items()}}
    if arrays is None:
        arrays = [read_idx(files[name]) for name in FILES]
        _check(arrays, files)
        arrays[1], arrays[3] = arrays[1].astype(np.int64), arrays[3].astype(np.int64)
        _write_cache(folder, arrays)
    return arrays, where


class FashionMNIST(NamedTuple):
    """The four arrays and the folder they were read from (absolute: a run records it)."""

    X_train: torch.Tensor  # uint8 (N, 28, 28)
    y_train: torch.Tensor  # int64 (N,)
    X_test: torch.Tensor
    y_test: torch.Tensor
    root: Path


def read_fashion_mnist(root=None, download=True) -> FashionMNIST:
    """Return the arrays and the folder they came from, found once (see :func:`load_fashion_mnist`)."""
    arrays, where = _load(root, download)
    return FashionMNIST(*(torch.from_numpy(a) for a in arrays), root=Path(where["root"]).resolve())


def load_fashion_mnist(root=None, download=True):
    """Return (X_train, y_train, X_test, y_test): uint8 (N, 28, 28) images, int64 (N,) labels.

    `root` defaults to `default_root()`. Missing files are downloaded into an explicit `root` or
    the default cache folder when `download`; a folder set by MINIDL_DATA_DIR is only read.
    """
    return tuple(read_fashion_mnist(root, download)[:4])


def dataset_info(root=None) -> dict:
    """Return where the data came from, its layout, shapes, dtypes, counts per class and cache state."""
    arrays, info = _load(root, download=False)
    for split, images, labels in (("train", *arrays[:2]), ("test", *arrays[2:])):
        info[split] = {"images_shape": images.shape, "images_dtype": str(images.dtype),
                       "labels_shape": labels.shape, "labels_dtype": str(labels.dtype),
                       "counts": np.bincount(labels, minlength=len(LABELS)).tolist()}
    return info


def format_info(info: dict) -> str:
    """Return `dataset_info()`'s summary as text: source, cache, shapes and a per-class table."""
    source = {"argument": "given folder", "MINIDL_DATA_DIR": "set by MINIDL_DATA_DIR",
              "cache": "default cache folder"}[info["source"]]
    layout = {"flat": "flat", "torchvision": "torchvision FashionMNIST/raw/", "raw": "raw/"}
    lines = [f"Fashion-MNIST in {info['root']} ({source}, {layout[info['layout']]} layout)",
             f"decoded cache: {info['cache']} ({'hit' if info['cached'] else 'built now'})"]
    for split in ("train", "test"):
        s = info[split]
        lines.append(f"{split:<5}  {s['images_shape'][0]:>6,} images {s['images_shape']} "
                     f"{s['images_dtype']}, labels {s['labels_shape']} {s['labels_dtype']}")
    lines.append(f"\n{'id':>2}  {'class':<12} {'train':>7} {'test':>7}")
    for i, name in enumerate(LABELS):
        lines.append(f"{i:>2}  {name:<12} {info['train']['counts'][i]:>7,} {info['test']['counts'][i]:>7,}")
    return "\n".join(lines)
