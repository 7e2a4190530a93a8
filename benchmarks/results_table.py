"""Train every model x implementation with the lesson's defaults; print the README's results table.

    python benchmarks/results_table.py            # real Fashion-MNIST from MINIDL_DATA_DIR or the cache

Each row is one `fit()` with the defaults `minidl train MODEL --impl IMPL` uses (seed 0, no
flags), so `minidl train mlp --impl scratch` reproduces its row. The table is also written to
`benchmarks/results/results_table.json`.
"""
from __future__ import annotations

import json
import platform
from pathlib import Path

import torch

from minidl.lessons.choices import IMPLS
from minidl.config.model import MODELS
from minidl.config.train import TrainConfig
from minidl.training.fit import fit

RESULTS = Path(__file__).parent / "results"


def main() -> list[dict]:
    rows = []
    for model in MODELS:
        for impl in IMPLS:
            config = TrainConfig(model=model, impl=impl, device="cpu", plots=False)
            h = fit(config, progress=False)
            final = h.final
            rows.append({
                "model": model, "impl": impl, "epochs": config.epochs, "lr": config.lr,
                "batch_size": config.batch_size,
                "train_loss": final["train_loss"], "test_loss": final["test_loss"],
                "test_acc": final.get("test_acc"),
                "train_seconds": h.summary["train_seconds"],
                "learned": ({"w": h.summary["w"], "b": h.summary["b"]} if model in ("linreg", "polyreg") else None),
            })
    machine = f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}"
    print(f"| model | impl | epochs | lr | batch | train loss | test loss | test acc | train s |  ({machine})")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        acc = f"{r['test_acc']:.4f}" if r["test_acc"] is not None else (
            "w " + ", ".join(f"{v:.4f}" for v in r["learned"]["w"]) + f"; b {r['learned']['b']:.4f}")
        print(f"| {r['model']} | {r['impl']} | {r['epochs']} | {r['lr']} | {r['batch_size']} | "
              f"{r['train_loss']:.4f} | {r['test_loss']:.4f} | {acc} | {r['train_seconds']:.2f} |")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "results_table.json").write_text(json.dumps({"machine": machine, "rows": rows}, indent=2) + "\n")
    return rows


if __name__ == "__main__":
    main()
