"""Where one epoch of the lesson's MLP spends its time, and what a loop with no data work costs.

    python benchmarks/bench_profile.py

1. torch.profiler over one shuffled epoch of minidl's loop (concise MLP 784-256-10, SGD lr 0.5,
   batch 256): the ops that take the time (matrix products, the batch gather, the optimizer ...).
2. The same steps fed three ways, alternating, twice: minidl's shuffled gather, in-order slices,
   and one fixed batch (no data movement at all). The fixed-batch loop is the floor any loop
   around torch.nn can reach here; compare it with bench_roofline's arithmetic-only time.
"""
from __future__ import annotations

import time

import torch
from torch.profiler import ProfilerActivity, profile

from common import load_data
from minidl.memory import keep_freed_memory
from minidl.models import build_loss, build_model, build_optimizer

BATCH, STEPS = 256, 60_000 // 256


def main() -> dict:
    keep_freed_memory()  # as fit() does
    data = load_data()
    X, y = data.X_train.float().div_(255), data.y_train
    model = build_model("mlp", "concise", num_inputs=784, seed=0)
    loss_fn = build_loss("mlp", "concise")
    optimizer = build_optimizer(model, "concise", "sgd", 0.5)
    generator = torch.Generator().manual_seed(0)

    def epoch(feed: str) -> float:
        order = torch.randperm(len(X), generator=generator)
        fixed_X, fixed_y = X[:BATCH].clone(), y[:BATCH].clone()
        start = time.perf_counter()
        for step in range(STEPS):
            rows = slice(step * BATCH, (step + 1) * BATCH)
            if feed == "shuffled gather":
                idx = order[rows]
                Xb, yb = X.index_select(0, idx), y.index_select(0, idx)
            elif feed == "in-order slices":
                Xb, yb = X[rows], y[rows]
            else:
                Xb, yb = fixed_X, fixed_y
            loss = loss_fn(model(Xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return time.perf_counter() - start

    epoch("shuffled gather")  # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        epoch("shuffled gather")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))

    feeds = ("shuffled gather", "in-order slices", "one fixed batch")
    seconds = {feed: [] for feed in feeds}
    for _ in range(2):
        for feed in feeds:
            seconds[feed].append(epoch(feed))
    print(f"seconds per epoch ({STEPS} steps of {BATCH}), best of 2:")
    for feed in feeds:
        print(f"  {feed:<16} {min(seconds[feed]):.3f}")
    return {feed: min(s) for feed, s in seconds.items()}


if __name__ == "__main__":
    main()
