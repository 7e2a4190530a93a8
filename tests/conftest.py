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
