"""Seconds per shuffled Fashion-MNIST epoch at batch 256: minidl's Loader against torch DataLoaders.

Contenders, measured in one run on the same 60,000 images:
- minidl `Loader`: the whole set as one float32 tensor, one `index_select` per batch;
- `DataLoader` over a per-sample dataset like torchvision's FashionMNIST (each item a PIL image
  turned into a float tensor / 255, as `ToTensor` does), with 0 and 4 worker processes (the d2l
  book's `load_data_fashion_mnist` uses 4);
- `DataLoader` over an in-memory `TensorDataset` (per-sample indexing, then collation).

Run `python benchmarks/bench_loader.py`; `main()` returns the rows as dicts for `run_all.py`.
The real data comes from MINIDL_DATA_DIR, else ../shared/data/fashion-mnist beside the
checkout, else random uint8 images of the same size (said so in the output).
"""
import os
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset, TensorDataset

from minidl.data.loader import Loader
from minidl.data.fashion_mnist import load_fashion_mnist

from common import print_table

BATCH = 256
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "fashion-mnist"


class PILFashionMNIST(Dataset):
    """Serve one image at a time the way torchvision's FashionMNIST + ToTensor does."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor):
        self.images, self.labels = images, labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        image = Image.fromarray(self.images[i].numpy())  # mode "L", as torchvision builds it
        # ToTensor: PIL -> uint8 (H, W, C) -> (C, H, W) float32 / 255
        x = torch.from_numpy(np.array(image, np.uint8, copy=True)).view(28, 28, 1)
        return x.permute(2, 0, 1).contiguous().float().div(255), int(self.labels[i])


def load_data() -> tuple[torch.Tensor, torch.Tensor, str]:
    """Return (images uint8 (60000, 28, 28), labels int64 (60000,), a note on their origin)."""
    for root in (os.environ.get("MINIDL_DATA_DIR"), SHARED):
        if root and Path(root).is_dir():
            X, y, _, _ = load_fashion_mnist(root, download=False)
            return X, y, f"real Fashion-MNIST training set from {root}"
    g = torch.Generator().manual_seed(0)
    X = torch.randint(0, 256, (60000, 28, 28), dtype=torch.uint8, generator=g)
    y = torch.randint(0, 10, (60000,), generator=g)
    return X, y, "random uint8 stand-in of the same size (no Fashion-MNIST folder found)"


def seconds_per_epoch(loader, epochs: int) -> float:
    """Return the mean wall time of iterating `epochs` full epochs of `loader`."""
    start = time.perf_counter()
    for _ in range(epochs):
        for _batch in loader:
            pass
    return (time.perf_counter() - start) / epochs


def main() -> list[dict]:
    """Time every contender for whole epochs; print a table and return its rows."""
    X, y, origin = load_data()
    print(f"data: {origin}; batch {BATCH}, shuffled, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {os.cpu_count()} CPUs")
    start = time.perf_counter()
    minidl = Loader(X, y, BATCH, shuffle=True, seed=0)
    build = time.perf_counter() - start
    seconds_per_epoch(minidl, 1)  # warm-up: first-touch page faults, allocator
    warnings.filterwarnings("ignore", message=".*worker processes.*")  # 4 workers on 2 CPUs: intended
    contenders = [
        ("minidl Loader", minidl, 20),
        ("DataLoader, TensorDataset, 0 workers",
         DataLoader(TensorDataset(X.float().div(255), y), BATCH, shuffle=True), 2),
        ("DataLoader, PIL per sample, 0 workers",
         DataLoader(PILFashionMNIST(X, y), BATCH, shuffle=True), 1),
        ("DataLoader, PIL per sample, 4 workers",
         DataLoader(PILFashionMNIST(X, y), BATCH, shuffle=True, num_workers=4), 1),
    ]
    rows = []
    for name, loader, epochs in contenders:
        seconds = seconds_per_epoch(loader, epochs)
        rows.append({"loader": name, "seconds_per_epoch": seconds, "epochs": epochs})
    for row in rows:
        row["x_minidl"] = row["seconds_per_epoch"] / rows[0]["seconds_per_epoch"]
    print_table(rows, [("loader", "loader", ""), ("seconds_per_epoch", "s/epoch", ".4f"),
                       ("x_minidl", "x minidl", ".1f"), ("epochs", "epochs", "d")],
                f"Seconds per shuffled epoch, batch {BATCH}")
    print(f"\n(minidl Loader construction, uint8 -> float32 once: {build:.3f} s)")
    return rows


if __name__ == "__main__":
    main()
