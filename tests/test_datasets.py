"""MNIST and Kuzushiji-MNIST beside Fashion-MNIST: one table, one find/download/verify/cache path."""
import functools
import hashlib
import os

import numpy as np
import pytest
import torch
from PIL import Image

from minidl.training.checkpoint import load_checkpoint
from minidl.app.cli import main
from minidl.config.train import TrainConfig
from minidl.data import idx_sets
from minidl.data.idx import write_idx
from minidl.data.idx_sets import (DATASETS, FILES, dataset_info, default_root, download_set, find_files,
                                  format_info, get_dataset, read_set)
from minidl.errors import ConfigError, DatasetError
from minidl.training.fit import fit

SAMPLE_TRAIN = [801, 902, 793, 826, 784, 690, 811, 856, 755, 782]  # per digit, its README
SAMPLE_TEST = [200, 225, 198, 206, 196, 173, 203, 214, 189, 196]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def fake_mnist(tmp_path, make_fake_fashion):
    """A small learnable stand-in in the official file names: its folder, its .gz bytes and MD5s."""
    root = make_fake_fashion(tmp_path / "official-mnist", n_train=200, n_test=50, seed=3)
    files = {f"{n}.gz": (root / f"{n}.gz").read_bytes() for n in FILES}
    return root, files, {name: hashlib.md5(body).hexdigest() for name, body in files.items()}


# --- the table ---------------------------------------------------------------------------------

def test_config_takes_every_set_of_the_table_and_no_other():
    for name in DATASETS:
        assert TrainConfig(model="mlp", dataset=name).dataset == name
    with pytest.raises(ConfigError, match="choose one of fashion-mnist, mnist, kmnist"):
        TrainConfig(model="mlp", dataset="cifar")


def test_each_set_has_its_classes_mirrors_and_sums():
    assert DATASETS["mnist"].classes == tuple(str(d) for d in range(10))
    assert DATASETS["kmnist"].classes == ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo")
    assert DATASETS["fashion-mnist"].classes[9] == "Ankle boot"
    for dataset in DATASETS.values():
        assert sorted(dataset.md5) == sorted(f"{n}.gz" for n in FILES)
        assert all(len(s) == 32 for s in dataset.md5.values()) and dataset.mirrors
    assert DATASETS["mnist"].md5["train-images-idx3-ubyte.gz"] == "f68b3c2dcbeaaa9fbdd348bbdeb94873"
    assert DATASETS["kmnist"].md5["t10k-labels-idx1-ubyte.gz"] == "7320c461ea6c1c855c0b718fb2a4b134"


def test_unknown_set_is_named():
    with pytest.raises(ConfigError, match="unknown dataset 'emnist'; choose one of fashion-mnist, mnist, kmnist"):
        get_dataset("emnist")


@pytest.mark.parametrize("argv", [["train", "mlp", "--dataset", "emnist"], ["data", "info", "--dataset", "emnist"],
                                  ["data", "download", "--dataset", "emnist"], ["data", "show", "--dataset", "emnist"]])
def test_unknown_set_is_one_line_exit_2(capsys, tmp_path, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, *argv)
    assert code == 2 and "unknown dataset 'emnist'" in err and err.count("\n") == 1


def test_dataset_applies_to_classifiers_only():
    with pytest.raises(ConfigError, match="--dataset does not apply to linreg"):
        TrainConfig(model="linreg", dataset="mnist")


# --- finding each set ------------------------------------------------------------------------------

def test_each_set_has_its_own_cache_folder_and_minidl_data_dir_is_fashion_mnists(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIDL_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.setenv("MINIDL_DATA_DIR", str(tmp_path / "fashion"))
    assert default_root("fashion-mnist") == tmp_path / "fashion"
    assert default_root("mnist") == tmp_path / "c" / "mnist"
    assert default_root("kmnist") == tmp_path / "c" / "kmnist"


def test_torchvision_layout_is_per_set(tmp_path, make_fake_fashion):
    make_fake_fashion(tmp_path / "MNIST" / "raw", n_train=20, n_test=10)
    assert find_files(tmp_path, "mnist") is not None
    assert find_files(tmp_path, "kmnist") is None  # its torchvision folder is KMNIST/raw
    info = dataset_info("mnist", tmp_path)
    assert info["layout"] == "torchvision" and "torchvision MNIST/raw/" in format_info(info)


def test_missing_set_says_how_to_download_it(tmp_path):
    with pytest.raises(DatasetError, match=r"MNIST folder .* does not exist.*data download --dataset mnist"):
        read_set("mnist", tmp_path / "nowhere", download=False)


def test_labels_outside_the_sets_classes(tmp_path, make_fake_fashion):
    root = make_fake_fashion(tmp_path, n_train=20, n_test=10)
    write_idx(root / "t10k-labels-idx1-ubyte.gz", np.full(10, 12, dtype=np.uint8))
    with pytest.raises(DatasetError, match="outside 0-9.*which Kuzushiji-MNIST does not have"):
        read_set("kmnist", root, download=False)


def test_info_names_the_set_and_its_classes(tmp_path, make_fake_fashion):
    root = make_fake_fashion(tmp_path, n_train=20, n_test=10)
    text = format_info(dataset_info("kmnist", root))
    assert text.startswith("Kuzushiji-MNIST in") and " tsu " in text and " wo " in text


# --- downloads, from a local server ----------------------------------------------------------------

def test_download_mnist(tmp_path, serve, fake_mnist):
    source, files, md5 = fake_mnist
    url, log = serve(files)
    root = download_set("mnist", tmp_path / "dl", mirrors=[url], md5=md5, progress=False, backoff=0)
    assert sorted(os.listdir(root)) == sorted(files) and sorted(log) == sorted(files)
    got, want = read_set("mnist", root, download=False), read_set("mnist", source, download=False)
    assert all(torch.equal(a, b) for a, b in zip(got[:4], want[:4]))


def test_a_wrong_sum_names_the_set(tmp_path, serve, fake_mnist):
    _, files, md5 = fake_mnist
    url, _ = serve({name: b"not the file" for name in files})
    with pytest.raises(DatasetError, match="checksum mismatch.*To install MNIST by hand"):
        download_set("mnist", tmp_path / "dl", mirrors=[url], md5=md5, retries=1, progress=False)
    assert os.listdir(tmp_path / "dl") == []


def test_the_official_sums_are_checked(tmp_path, serve, fake_mnist):
    _, files, _ = fake_mnist  # a server with files that are not the official ones
    url, _ = serve(files)
    with pytest.raises(DatasetError, match="expected f68b3c2dcbeaaa9fbdd348bbdeb94873"):
        download_set("mnist", tmp_path / "dl", mirrors=[url], retries=1, progress=False)


def test_a_default_download_goes_to_the_sets_cache_folder(tmp_path, serve, fake_mnist, monkeypatch, capsys):
    _, files, md5 = fake_mnist
    url, _ = serve(files)
    monkeypatch.setenv("MINIDL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MINIDL_DATA_DIR", str(tmp_path / "not-used-for-mnist"))
    local = functools.partial(idx_sets.download_set, mirrors=[url], md5=md5, progress=False)
    monkeypatch.setattr(idx_sets, "download_set", local)  # this test only: no internet
    code, out, _ = run(capsys, "data", "download", "--dataset", "kmnist")
    assert code == 0 and out == f"Kuzushiji-MNIST is in {tmp_path / 'cache' / 'kmnist'}\n"
    assert find_files(tmp_path / "cache" / "kmnist", "kmnist") is not None
    assert read_set("mnist").root == (tmp_path / "cache" / "mnist").resolve()  # downloads on first use


# --- the real digits -------------------------------------------------------------------------------

def test_mnist_sample(mnist_sample):
    data = read_set("mnist", mnist_sample, download=False)
    assert data.X_train.shape == (8000, 28, 28) and data.X_test.shape == (2000, 28, 28)
    assert data.y_train.bincount().tolist() == SAMPLE_TRAIN and data.y_test.bincount().tolist() == SAMPLE_TEST
    text = format_info(dataset_info("mnist", mnist_sample))
    assert text.startswith("MNIST in") and "8,000" in text


def test_mlp_on_the_mnist_sample_reaches_092(mnist_sample):
    history = fit(TrainConfig(model="mlp", dataset="mnist", data_dir=str(mnist_sample), device="cpu"),
                  progress=False)  # the lesson's 784-256-10, lr 0.5, 5 epochs
    assert history.final["test_acc"] >= 0.92
    assert list(history.summary["per_class_acc"]) == [str(d) for d in range(10)]


def test_an_mnist_run_records_its_set_and_predicts_digits(capsys, tmp_path, mnist_sample):
    out = tmp_path / "run"
    code, _, err = run(capsys, "train", "softmax", "--dataset", "mnist", "--data-dir", str(mnist_sample),
                       "--epochs", "1", "--device", "cpu", "--no-plots", "--out", str(out), "--quiet")
    assert code == 0, err
    facts = load_checkpoint(out / "checkpoint.pt")["data"]
    assert facts["dataset"] == "mnist" and facts["class_names"] == [str(d) for d in range(10)]
    data = read_set("mnist", mnist_sample, download=False)
    Image.fromarray(data.X_test[0].numpy()).save(tmp_path / "digit.png")
    code, stdout, _ = run(capsys, "predict", str(out), str(tmp_path / "digit.png"), "--raw", "--top", "3")
    ranked = stdout.strip().split(": ", 1)[1].split(", ")  # e.g. ["7 0.98", "9 0.01", "3 0.00"]
    assert code == 0 and [r.split()[0] in facts["class_names"] for r in ranked] == [True] * 3
    code, stdout, _ = run(capsys, "evaluate", str(out))
    assert code == 0 and "test accuracy" in stdout


def test_an_mnist_run_evaluated_on_other_data_names_mnist(capsys, tmp_path, make_fake_fashion):
    first = make_fake_fashion(tmp_path / "a", n_train=100, n_test=40, seed=1)
    other = make_fake_fashion(tmp_path / "b", n_train=100, n_test=40, seed=2)
    out = tmp_path / "run"
    assert run(capsys, "train", "softmax", "--dataset", "mnist", "--data-dir", str(first), "--epochs", "1",
               "--device", "cpu", "--no-plots", "--out", str(out), "--quiet")[0] == 0
    code, _, err = run(capsys, "evaluate", str(out), "--data-dir", str(other))
    assert code == 2 and f"trained on the MNIST in {first.resolve()}" in err and err.count("\n") == 1


def test_data_show_draws_the_sets_names(capsys, tmp_path, monkeypatch, make_fake_fashion):
    root = make_fake_fashion(tmp_path / "kmnist", n_train=20, n_test=10)
    monkeypatch.chdir(tmp_path)
    code, stdout, _ = run(capsys, "data", "show", "--dataset", "kmnist", "--data-dir", str(root), "--n", "4")
    assert code == 0 and stdout == "wrote kmnist.png\n" and (tmp_path / "kmnist.png").stat().st_size > 0
