"""Seconds for the concise MLP lesson, run whole: on minidl.d2l against the book's per-sample DataLoaders.

The script is examples/mlp_concise.py (784-256-10, SGD lr 0.5, 5 epochs, batch 256), executed
unchanged in this process once per contender. Only `d2l.load_data_fashion_mnist` differs:

- minidl.d2l's: the images as one in-memory float tensor, a batch per `index_select`;
- the book's: torchvision-style per-sample datasets (each item a PIL image turned into a float
  tensor / 255, as ToTensor does) in `torch.utils.data.DataLoader(..., shuffle=True)`, with the
  book's 4 worker processes, and with none.

Everything else, `train_ch3` included, is the same code, so the gap is the data pipeline's. The
times include building the loaders (from minidl's decoded-array cache for every contender), after
one untimed warm-up run.
Run `python benchmarks/bench_d2l.py`; `main()` returns the rows as dicts for `run_all.py`. The
data is minidl's default folder (MINIDL_DATA_DIR, else the user cache, downloaded when missing).
"""
import io
import os
import re
import sys
import time
import types
import warnings
from contextlib import redirect_stdout
from pathlib import Path

import torch
from torch.utils.data import DataLoader

import minidl.d2l as d2l
from minidl.data.fashion_mnist import default_root
from minidl.data.fashion_mnist import load_fashion_mnist

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for bench_loader when imported elsewhere
from bench_loader import PILFashionMNIST  # noqa: E402  (the per-sample dataset bench_loader times)
from common import print_table  # noqa: E402

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "mlp_concise.py"
IMPORT = "import minidl.d2l as d2l"
LAST_TEST_ACC = re.compile(r"test acc (\d\.\d+)\s*$")


def per_sample_loaders(num_workers: int):
    """Return a load_data_fashion_mnist that builds the book's per-sample DataLoaders."""
    def load_data_fashion_mnist(batch_size, resize=None, root=None):
        if resize is not None:
            raise ValueError("this benchmark's per-sample loader does not resize")
        X_train, y_train, X_test, y_test = load_fashion_mnist(root)
        return (DataLoader(PILFashionMNIST(X_train, y_train), batch_size, shuffle=True,
                           num_workers=num_workers),
                DataLoader(PILFashionMNIST(X_test, y_test), batch_size, shuffle=False,
                           num_workers=num_workers))
    return load_data_fashion_mnist


def run_lesson(load_data) -> tuple[float, float, str]:
    """Return (seconds, last test accuracy, printed output) of the lesson run with `load_data`."""
    source = SCRIPT.read_text()
    if IMPORT not in source:
        raise RuntimeError(f"{SCRIPT} no longer imports d2l with `{IMPORT}`")
    name = "d2l_under_test"
    module = types.ModuleType(name)  # minidl.d2l's names, with one swapped
    module.__dict__.update({k: v for k, v in vars(d2l).items() if not k.startswith("__")})
    module.load_data_fashion_mnist = load_data
    code = compile(source.replace(IMPORT, f"import {name} as d2l"), str(SCRIPT), "exec")
    sys.modules[name] = module
    out = io.StringIO()
    try:
        start = time.perf_counter()
        with redirect_stdout(out):
            exec(code, {"__name__": "__main__", "__file__": str(SCRIPT)})
        seconds = time.perf_counter() - start
    finally:
        del sys.modules[name]
    return seconds, float(LAST_TEST_ACC.search(out.getvalue())[1]), out.getvalue()


def main() -> list[dict]:
    """Run the lesson once per contender; print a table and return its rows."""
    load_fashion_mnist()  # decode once, so that no contender pays the IDX parsing
    epochs = os.environ.get("MINIDL_EXAMPLE_EPOCHS", "5 (the lesson's)")
    print(f"examples/mlp_concise.py, {epochs} epochs, data {default_root()}; torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs")
    warnings.filterwarnings("ignore", message=".*worker processes.*")  # 4 workers on few CPUs: the book's
    contenders = [
        ("minidl.d2l (in-memory Loader)", d2l.load_data_fashion_mnist),
        ("DataLoader, PIL per sample, 4 workers", per_sample_loaders(4)),
        ("DataLoader, PIL per sample, 0 workers", per_sample_loaders(0)),
    ]
    run_lesson(d2l.load_data_fashion_mnist)  # warm-up, untimed: the first run pays torch's start-up
    rows = []
    for name, load_data in contenders:
        seconds, test_acc, _ = run_lesson(load_data)
        rows.append({"contender": name, "seconds": seconds, "test_acc": test_acc})
    for row in rows:
        row["x_minidl"] = row["seconds"] / rows[0]["seconds"]
    print_table(rows, [("contender", "contender", ""), ("seconds", "seconds", ".2f"),
                       ("test_acc", "test acc", ".3f"), ("x_minidl", "x minidl", ".1f")],
                "Seconds for the whole lesson")
    return rows


if __name__ == "__main__":
    main()
