"""Shared fixtures: an isolated cache folder, the real data when CI provides it."""
import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")  # no screen here, and tests must never open windows


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Keep every test's decoded-array cache out of the user's home folder."""
    monkeypatch.setenv("MINIDL_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "minidl-cache"))


@pytest.fixture(scope="session")
def fashion_root() -> Path:
    """The real Fashion-MNIST folder named by MINIDL_DATA_DIR (CI sets it), else skip."""
    root = os.environ.get("MINIDL_DATA_DIR")
    if not root:
        pytest.skip("MINIDL_DATA_DIR is not set: point it at a Fashion-MNIST folder to run this test")
    if not Path(root).is_dir():
        pytest.fail(f"MINIDL_DATA_DIR={root} is not a folder")
    return Path(root)


def write_fake_fashion_mnist(root: Path, n_train: int = 600, n_test: int = 200, seed: int = 0) -> Path:
    """Write a small, learnable stand-in for Fashion-MNIST (the four official file names, gzipped).

    Each class is a fixed random 28x28 template plus noise, so a model can learn it in an epoch.
    """
    import numpy as np

    from minidl.data.idx import write_idx

    rng = np.random.default_rng(seed)
    templates = rng.integers(0, 256, size=(10, 28, 28))
    root.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = np.arange(n) % 10
        rng.shuffle(labels)
        noise = rng.integers(-60, 61, size=(n, 28, 28))
        images = np.clip(templates[labels] + noise, 0, 255).astype(np.uint8)
        write_idx(root / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(root / f"{prefix}-labels-idx1-ubyte.gz", labels.astype(np.uint8))
    return root


@pytest.fixture(scope="session")
def tiny_fashion(tmp_path_factory) -> Path:
    """A folder holding a 600/200-image learnable stand-in for Fashion-MNIST."""
    return write_fake_fashion_mnist(tmp_path_factory.mktemp("tiny-fashion"))


@pytest.fixture(scope="session")
def make_fake_fashion():
    """`write_fake_fashion_mnist` itself, for tests that need the files in a folder of their own."""
    return write_fake_fashion_mnist
