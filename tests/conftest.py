"""Shared fixtures: an isolated cache folder, the real data when CI provides it, a local HTTP server."""
import hashlib
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


MNIST_SAMPLE = Path(__file__).parents[2] / "shared" / "data" / "mnist-sample"  # beside the checkout


@pytest.fixture(scope="session")
def mnist_sample() -> Path:
    """The 10,000 real MNIST digits (8,000/2,000, IDX) in ../shared/data/mnist-sample, else skip."""
    if not (MNIST_SAMPLE / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"the MNIST sample is not at {MNIST_SAMPLE} (../shared/data/mnist-sample beside the checkout)")
    return MNIST_SAMPLE


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


@pytest.fixture
def serve():
    """Start HTTP servers on 127.0.0.1: serve(files, drops={name: n}) -> (base url, request log).

    `drops[name]` first requests of `name` get a full Content-Length but half the body, then
    the connection closes; names not in `files` get a 404.
    """
    servers = []

    def start(files, drops=None):
        drops, log = dict(drops or {}), []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                name = self.path.rsplit("/", 1)[-1]
                log.append(name)
                if name not in files:
                    self.send_error(404)
                    return
                body = files[name]
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if drops.get(name, 0) > 0:
                    drops[name] -= 1
                    body = body[: len(body) // 2]
                self.wfile.write(body)

            def log_message(self, *args):  # keep the test output quiet
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/fashion/", log

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


KAGGLE_SHA1 = {"kaggle_house_pred_train.csv": "585e9cc93e70b39160e7921475f9bcd7d31219ce",
               "kaggle_house_pred_test.csv": "fa19780a7b011d9b009e8bff8e99922a8ee2eb90"}


def write_house_tables(folder, n_train=1460, n_test=1459):
    """Write Kaggle's two house-price files, shaped like them; return {the book's SHA-1: theirs}.

    An Id, numbers with gaps, text with gaps and, in the training file, a SalePrice depending
    on both, log-normally around 180,000.
    """
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    n = n_train + n_test
    columns, log_price = {"Id": np.arange(1, n + 1)}, np.log(180_000) + rng.normal(0, 0.05, n)
    for j in range(6):
        values = rng.normal(0, 1, n)
        log_price += 0.1 * values
        column = np.round(1000 + 300 * values)
        column[rng.random(n) < 0.1] = np.nan
        columns[f"Num{j}"] = column
    for j in range(4):
        codes = rng.integers(0, 3, n)
        log_price += 0.05 * (codes == 0)
        column = np.array(["RL", "RM", "FV"], dtype=object)[codes]
        column[rng.random(n) < 0.05] = np.nan
        columns[f"Text{j}"] = column
    table = pd.DataFrame(columns)
    folder.mkdir(parents=True, exist_ok=True)
    train = table[:n_train].assign(SalePrice=np.round(np.exp(log_price[:n_train])).astype(int))
    train.to_csv(folder / "kaggle_house_pred_train.csv", index=False)
    table[n_train:].to_csv(folder / "kaggle_house_pred_test.csv", index=False)
    return {book: hashlib.sha1((folder / name).read_bytes()).hexdigest()
            for name, book in KAGGLE_SHA1.items()}


@pytest.fixture(scope="session")
def kaggle_house_tables():
    """`write_house_tables(folder)`: the d2l 1.0 house-price lesson's two files, small stand-ins."""
    return write_house_tables
