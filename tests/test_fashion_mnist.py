"""Fashion-MNIST: folder layouts, bad sets, the decoded cache, downloads from a local server."""
import functools
import hashlib
import os
import socket

import numpy as np
import pytest

from minidl.data import idx_sets
from minidl.data.fashion_mnist import (FILES, LABELS, cache_dir, dataset_info, default_root,
                                       download_fashion_mnist, find_files, format_info,
                                       load_fashion_mnist)
from minidl.data.idx import write_idx
from minidl.errors import ConfigError, DatasetError


def write_set(folder, n_train=30, n_test=10, gz=True, seed=0):
    """Write a small fake Fashion-MNIST set (the four files) into `folder`; return its arrays."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = [rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
              rng.integers(0, 10, n_train, dtype=np.uint8),
              rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
              rng.integers(0, 10, n_test, dtype=np.uint8)]
    for name, array in zip(FILES, arrays):
        write_idx(folder / (f"{name}.gz" if gz else name), array)
    return arrays


def assert_loaded(tensors, arrays):
    """The loaded tensors equal the written arrays, as uint8 images and int64 labels."""
    assert [str(t.dtype) for t in tensors] == ["torch.uint8", "torch.int64"] * 2
    for got, want in zip(tensors, arrays):
        np.testing.assert_array_equal(got.numpy(), want)


# --- finding the data ----------------------------------------------------------------------------

@pytest.mark.parametrize("sub, gz", [((), True), ((), False), (("FashionMNIST", "raw"), False),
                                     (("FashionMNIST", "raw"), True), (("raw",), True)],
                         ids=["flat-gz", "flat-raw", "torchvision-raw", "torchvision-gz", "raw-dir"])
def test_layouts(tmp_path, sub, gz):
    arrays = write_set(tmp_path.joinpath(*sub), gz=gz)
    assert find_files(tmp_path) is not None
    assert_loaded(load_fashion_mnist(tmp_path, download=False), arrays)


def test_missing_folder_names_it(tmp_path):
    with pytest.raises(DatasetError, match=f"{tmp_path / 'nowhere'}.*does not exist"):
        load_fashion_mnist(tmp_path / "nowhere", download=False)


def test_partial_set_names_the_missing_files(tmp_path):
    write_set(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    assert find_files(tmp_path) is None
    with pytest.raises(DatasetError, match="lacks t10k-labels-idx1-ubyte"):
        load_fashion_mnist(tmp_path, download=False)


def test_env_folder_is_never_downloaded_into(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIDL_DATA_DIR", str(tmp_path / "empty"))
    assert default_root() == tmp_path / "empty"
    with pytest.raises(DatasetError, match="MINIDL_DATA_DIR"):
        load_fashion_mnist(download=True)
    assert not (tmp_path / "empty").exists()


def test_env_folder_is_used(tmp_path, monkeypatch):
    arrays = write_set(tmp_path)
    monkeypatch.setenv("MINIDL_DATA_DIR", str(tmp_path))
    assert_loaded(load_fashion_mnist(), arrays)


def test_cache_dir_and_default_root_resolution(tmp_path, monkeypatch):
    monkeypatch.delenv("MINIDL_DATA_DIR", raising=False)
    monkeypatch.delenv("MINIDL_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "minidl"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "minidl"
    monkeypatch.setenv("MINIDL_CACHE_DIR", str(tmp_path / "c"))
    assert default_root() == tmp_path / "c" / "fashion-mnist"


def test_default_cache_folder_without_download_says_how(monkeypatch):
    monkeypatch.delenv("MINIDL_DATA_DIR", raising=False)
    with pytest.raises(DatasetError, match="minidl data download"):
        load_fashion_mnist(download=False)


# --- bad sets --------------------------------------------------------------------------------------

def test_images_and_labels_of_different_lengths(tmp_path):
    write_set(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(29, dtype=np.uint8))
    with pytest.raises(DatasetError, match="30 images but .*train-labels.* 29 labels"):
        load_fashion_mnist(tmp_path, download=False)


def test_images_not_28x28(tmp_path):
    write_set(tmp_path)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((10, 32, 32), dtype=np.uint8))
    with pytest.raises(DatasetError, match="t10k-images.*shape \\(10, 32, 32\\)"):
        load_fashion_mnist(tmp_path, download=False)


def test_labels_out_of_range(tmp_path):
    write_set(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.full(10, 10, dtype=np.uint8))
    with pytest.raises(DatasetError, match="outside 0-9"):
        load_fashion_mnist(tmp_path, download=False)


def test_corrupt_file_in_folder(tmp_path):
    write_set(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DatasetError, match="train-images.*gzip"):
        load_fashion_mnist(tmp_path, download=False)


# --- the decoded cache -----------------------------------------------------------------------------

def test_second_load_uses_the_cache(tmp_path, monkeypatch):
    arrays = write_set(tmp_path / "data")
    before = sorted(os.listdir(tmp_path / "data"))
    assert dataset_info(tmp_path / "data")["cached"] is False
    monkeypatch.setattr(idx_sets, "read_idx", lambda path: pytest.fail("parsed again despite the cache"))
    assert dataset_info(tmp_path / "data")["cached"] is True
    assert_loaded(load_fashion_mnist(tmp_path / "data", download=False), arrays)
    assert sorted(os.listdir(tmp_path / "data")) == before, "never write into the data folder"


def test_changed_source_rebuilds_the_cache(tmp_path):
    arrays = write_set(tmp_path)
    load_fashion_mnist(tmp_path, download=False)
    arrays[1] = (arrays[1] + 1) % 10
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    write_idx(path, arrays[1])
    os.utime(path, ns=(1, 1))  # a different mtime even on coarse-clock file systems
    assert_loaded(load_fashion_mnist(tmp_path, download=False), arrays)


def test_corrupt_cache_is_ignored_and_rebuilt(tmp_path):
    arrays = write_set(tmp_path)
    folder = idx_sets._cache_folder(find_files(tmp_path))
    load_fashion_mnist(tmp_path, download=False)
    (folder / "train_images.npy").write_bytes(b"\x93NUMPY garbage")
    (folder / "test_labels.npy").unlink()
    assert dataset_info(tmp_path)["cached"] is False
    assert_loaded(load_fashion_mnist(tmp_path, download=False), arrays)
    assert dataset_info(tmp_path)["cached"] is True


def test_unwritable_cache_only_costs_speed(tmp_path, monkeypatch):
    arrays = write_set(tmp_path / "data")
    (tmp_path / "not-a-folder").write_text("a file where the cache folder should be")
    monkeypatch.setenv("MINIDL_CACHE_DIR", str(tmp_path / "not-a-folder"))  # mkdir fails, even as root
    with pytest.warns(UserWarning, match="could not cache"):
        assert_loaded(load_fashion_mnist(tmp_path / "data", download=False), arrays)


def test_info_and_its_text(tmp_path):
    arrays = write_set(tmp_path / "FashionMNIST" / "raw", gz=False)
    info = dataset_info(tmp_path)
    assert info["layout"] == "torchvision" and info["source"] == "argument"
    assert info["train"]["images_shape"] == (30, 28, 28) and info["test"]["labels_dtype"] == "int64"
    assert info["train"]["counts"] == np.bincount(arrays[1], minlength=10).tolist()
    text = format_info(info)
    assert "torchvision" in text and all(name in text for name in LABELS)


# --- downloads from a local server -----------------------------------------------------------------

@pytest.fixture
def official(tmp_path):
    """A fake "official" set: its arrays, its .gz bytes by name, and their MD5 table."""
    arrays = write_set(tmp_path / "official", n_train=20, n_test=5, seed=7)
    files = {f"{n}.gz": (tmp_path / "official" / f"{n}.gz").read_bytes() for n in FILES}
    return arrays, files, {name: hashlib.md5(body).hexdigest() for name, body in files.items()}


def _refused_url():
    """A 127.0.0.1 URL where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/"


def _download(root, mirrors, md5, retries=2):
    return download_fashion_mnist(root, mirrors=mirrors, md5=md5, retries=retries, timeout=5,
                                  progress=False, backoff=0)


def test_download_success(tmp_path, serve, official):
    arrays, files, md5 = official
    url, log = serve(files)
    root = _download(tmp_path / "dl", [url], md5)
    assert sorted(os.listdir(root)) == sorted(files)
    assert sorted(log) == sorted(files)
    assert_loaded(load_fashion_mnist(root, download=False), arrays)
    _download(root, ["http://unused.invalid/"], md5)  # complete: nothing fetched again


def test_checksum_failure_leaves_nothing_and_falls_to_next_mirror(tmp_path, serve, official):
    arrays, files, md5 = official
    bad_url, bad_log = serve({name: b"not the file" for name in files})
    good_url, _ = serve(files)
    root = _download(tmp_path / "dl", [bad_url, good_url], md5)
    assert sorted(bad_log) == sorted(files), "a wrong checksum is not retried on the same mirror"
    assert sorted(os.listdir(root)) == sorted(files)
    assert_loaded(load_fashion_mnist(root, download=False), arrays)


def test_checksum_failure_everywhere(tmp_path, serve, official):
    _, files, md5 = official
    url, _ = serve({name: b"not the file" for name in files})
    with pytest.raises(DatasetError, match="checksum mismatch"):
        _download(tmp_path / "dl", [url], md5)
    assert os.listdir(tmp_path / "dl") == []


def test_dropped_connection_is_retried(tmp_path, serve, official):
    arrays, files, md5 = official
    url, log = serve(files, drops={"train-images-idx3-ubyte.gz": 1})
    root = _download(tmp_path / "dl", [url], md5)
    assert log.count("train-images-idx3-ubyte.gz") == 2
    assert_loaded(load_fashion_mnist(root, download=False), arrays)


def test_dropping_mirror_falls_back(tmp_path, serve, official):
    arrays, files, md5 = official
    flaky_url, flaky_log = serve(files, drops={name: 99 for name in files})
    good_url, _ = serve(files)
    root = _download(tmp_path / "dl", [flaky_url, good_url], md5, retries=2)
    assert len(flaky_log) == 2 * len(files), "each file tried `retries` times on the bad mirror"
    assert sorted(os.listdir(root)) == sorted(files)


def test_all_mirrors_failing_says_where_to_put_the_files(tmp_path, serve, official):
    _, _, md5 = official
    missing_url, _ = serve({})  # 404 for everything
    with pytest.raises(DatasetError) as info:
        _download(tmp_path / "dl", [_refused_url(), missing_url], md5)
    message = str(info.value)
    assert "HTTP 404" in message and "refused" in message.lower()
    assert str(tmp_path / "dl") in message and all(f"{n}.gz" in message for n in FILES)
    assert os.listdir(tmp_path / "dl") == [], "no .part file left behind"


def test_no_mirror_or_no_retry(tmp_path, official):
    with pytest.raises(DatasetError, match="no mirror given"):
        _download(tmp_path / "dl", [], official[2])
    with pytest.raises(ConfigError, match="retries"):
        _download(tmp_path / "dl", [_refused_url()], official[2], retries=0)


def test_load_downloads_into_an_explicit_root(tmp_path, serve, official, monkeypatch):
    arrays, files, md5 = official
    url, _ = serve(files)
    local = functools.partial(idx_sets.download_set, mirrors=[url], md5=md5, progress=False)
    monkeypatch.setattr(idx_sets, "download_set", local)  # this test only: no internet
    assert_loaded(load_fashion_mnist(tmp_path / "new"), arrays)
    assert sorted(os.listdir(tmp_path / "new")) == sorted(files)


def test_load_downloads_into_the_cache_folder_by_default(tmp_path, serve, official, monkeypatch):
    arrays, files, md5 = official
    url, _ = serve(files)
    monkeypatch.delenv("MINIDL_DATA_DIR", raising=False)
    monkeypatch.setenv("MINIDL_CACHE_DIR", str(tmp_path / "cache"))
    local = functools.partial(idx_sets.download_set, mirrors=[url], md5=md5, progress=False)
    monkeypatch.setattr(idx_sets, "download_set", local)
    assert_loaded(load_fashion_mnist(), arrays)
    assert find_files(tmp_path / "cache" / "fashion-mnist") is not None


# --- the real data (CI sets MINIDL_DATA_DIR) -------------------------------------------------------

def test_real_data(fashion_root):
    X_train, y_train, X_test, y_test = load_fashion_mnist(fashion_root, download=False)
    assert X_train.shape == (60000, 28, 28) and X_test.shape == (10000, 28, 28)
    assert str(X_train.dtype) == "torch.uint8" and str(y_train.dtype) == "torch.int64"
    assert y_train.bincount().tolist() == [6000] * 10
    assert y_test.bincount().tolist() == [1000] * 10


def test_real_data_info(fashion_root):
    info = dataset_info(fashion_root)
    assert info["layout"] == "flat" and info["train"]["counts"] == [6000] * 10
    text = format_info(info)
    assert "60,000" in text and "10,000" in text and "6,000" in text and "Ankle boot" in text
