"""The book's data hub: `DATA_HUB[name] = (url, sha1)` and `download` (the house-price lessons).

Files go to `cache_dir()/d2l` (MINIDL_CACHE_DIR, else the user cache), not the book's `../data`
beside wherever the lesson runs, unless the lesson passes its own folder (1.0's `DataModule`
passes its `root`, which is None, minidl's default, unless the lesson gives one). A cached file is
used when its SHA-1 matches; a download is written only once its SHA-1 matches (the book keeps
whatever arrived). Any URL urllib opens works, `file://` included, so a lesson can point an entry
at a local copy: ``DATA_HUB['kaggle_house_train'] = (Path('train.csv').resolve().as_uri(), sha1)``.
"""
import hashlib
import urllib.request
from pathlib import Path

from minidl.data.cache import cache_dir as _cache_dir
from minidl.errors import DatasetError
from minidl.files import write_bytes

DATA_URL = "http://d2l-data.s3-accelerate.amazonaws.com/"

DATA_HUB = {  # the entries the chapters use, with the book's published SHA-1 sums
    "kaggle_house_train": (DATA_URL + "kaggle_house_pred_train.csv",
                           "585e9cc93e70b39160e7921475f9bcd7d31219ce"),
    "kaggle_house_test": (DATA_URL + "kaggle_house_pred_test.csv",
                          "fa19780a7b011d9b009e8bff8e99922a8ee2eb90"),
}


def _sha1(data: bytes) -> str:
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def _source(url, sha1_hash):
    """Return (what to call it, URL, SHA-1 or None) of a DATA_HUB name or of a URL."""
    if url in DATA_HUB:
        return (url, *DATA_HUB[url])
    if "://" not in str(url):
        raise DatasetError(f"no file {url!r} in d2l.DATA_HUB (it has {', '.join(DATA_HUB)}): "
                           f"add it first, as DATA_HUB[{url!r}] = (url, sha1), or pass a URL")
    return url.split("/")[-1], url, sha1_hash


def download(url, folder=None, sha1_hash=None, *, cache_dir=None, timeout=60):
    """Return the local path (a str, as the book's) of a file, downloading it if needed.

    Both editions' calls: d2l 0.17's ``download(name, cache_dir)`` with a DATA_HUB name, and
    1.0's ``download(url, folder, sha1_hash)``. The file lands in `folder` (0.17's keyword:
    `cache_dir`), default `cache_dir()/d2l`. A file already there is used without a download
    when its SHA-1 matches (or when no SHA-1 is known); a download is kept only once it matches.

    >>> download('kaggle_house_tset')  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    minidl.errors.DatasetError: no file 'kaggle_house_tset' in d2l.DATA_HUB (it has kaggle_house_train, ...
    """
    name, url, sha1 = _source(url, sha1_hash)
    folder = folder if folder is not None else cache_dir
    folder = Path(folder).expanduser() if folder is not None else _cache_dir() / "d2l"
    path = folder / url.split("/")[-1]
    if path.is_file() and (sha1 is None or _sha1(path.read_bytes()) == sha1):
        return str(path)  # already there
    print(f"Downloading {path} from {url}...")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data = response.read()
    except (OSError, ValueError) as e:  # URLError, HTTPError, timeouts; ValueError: not a URL
        reason = getattr(e, "reason", None) or e
        raise DatasetError(f"could not download {name} from {url} ({reason}): check the "
                           f"connection, or put the file at {path} yourself") from None
    if sha1 is not None and _sha1(data) != sha1:
        expected = f"DATA_HUB[{name!r}]'s" if name in DATA_HUB else "the sha1_hash"
        raise DatasetError(f"{url} sent a file with SHA-1 {_sha1(data)}, not {expected} "
                           f"{sha1}: fix the URL or the checksum (nothing was saved)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_bytes(path, data)
    except OSError as e:
        raise DatasetError(f"cannot save {path}: {e.strerror or e}; pass a folder you can "
                           "write to, or set MINIDL_CACHE_DIR") from None
    return str(path)


def download_all(cache_dir=None):
    """Download every file in DATA_HUB (into `cache_dir`, default as for `download`)."""
    for name in DATA_HUB:
        download(name, cache_dir)
