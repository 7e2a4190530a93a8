"""Where one epoch of the lesson's MLP spends its time, and what a loop with no data work costs.

    python benchmarks/bench_profile.py

1. torch.profiler over one shuffled epoch of minidl's default loop (the manual implementation,
   MLP 784-256-10, SGD lr 0.5, batch 256): the ops that take the time (matrix products, the batch
   gather, the update ...).
2. The same steps fed three ways, alternating, twice: minidl's shuffled gather, in-order slices,
   and one fixed batch (no data movement at all), for three steps: the manual implementation with
   its SGD (W -= lr H^T dZ straight from the backward pass's factors), the manual implementation
   with the textbook update on .grad (backward writes H^T dZ out, then W -= lr * grad), and the
   concise one (torch.nn, torch.optim). The fixed-batch loop is the floor of each step here;
   compare it with bench_roofline's arithmetic-only time.
3. Two costs the README names: ReLU on a (256, 256) batch written with torch.where against
   minidl's (without a graph, clamp; with one, clamp times a 0/1 mask), and the first use of
   torch.optim (it imports torch._dynamo) in a fresh interpreter.
4. What each piece of a manual step outside its matrix products (the loss, ReLU and its derivative,
   the bias updates, the correct count, the divergence check) costs alone at batch 64: a lower
   bound on the step's work beside the products, to hold against bench_roofline's floor.
"""
from __future__ import annotations

import subprocess
import sys
import time

import torch
from torch.profiler import ProfilerActivity, profile

from common import load_data, median_seconds
from minidl.lessons import manual
from minidl.lessons.activations import relu, relu_grad
from minidl.training.evaluate import Totals
from minidl.training.memory import keep_freed_memory
from minidl.training.models import build_loss, build_model
from minidl.training.optimizers import build_optimizer
from minidl.training.watch import DivergenceCheck

BATCH, STEPS = 256, 60_000 // 256


class GradSGD(manual.SGD):
    """The textbook update for a manual model: multiply the factors out into each .grad, then param -= lr * grad."""

    def step(self):
        if self.model.grads is None:
            return
        for param, grad in zip(self.model.parameters(), self.model.canonical_grads().values()):
            param.grad = grad
        with torch.no_grad():
            for param in self.model.parameters():
                param.sub_(param.grad, alpha=self.param_groups[0]["lr"])


def main() -> dict:
    keep_freed_memory()  # as fit() does
    data = load_data()
    X, y = data.X_train.float().div_(255), data.y_train
    generator = torch.Generator().manual_seed(0)
    impls = ("manual", "manual .grad", "concise")

    def parts(impl: str):
        kind = impl.split()[0]
        model = build_model("mlp", kind, num_inputs=784, seed=0)
        optimizer = GradSGD(model, 0.5) if impl == "manual .grad" else build_optimizer(model, kind, "sgd", 0.5)
        return model, build_loss("mlp", kind, model), optimizer

    steps = {impl: parts(impl) for impl in impls}

    def epoch(impl, feed: str) -> float:
        model, loss_fn, optimizer = steps[impl]
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

    epoch("manual", "shuffled gather")  # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        epoch("manual", "shuffled gather")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))

    feeds = ("shuffled gather", "in-order slices", "one fixed batch")
    seconds = {(impl, feed): [] for impl in impls for feed in feeds}
    for _ in range(2):
        for impl, feed in seconds:
            seconds[impl, feed].append(epoch(impl, feed))
    print(f"seconds per epoch ({STEPS} steps of {BATCH}), best of 2:")
    print(f"  {'':<16} " + " ".join(f"{impl:>12}" for impl in impls))
    for feed in feeds:
        print(f"  {feed:<16} " + " ".join(f"{min(seconds[impl, feed]):12.3f}" for impl in impls))
    result = {f"{impl}: {feed}": min(s) for (impl, feed), s in seconds.items()}

    Z = torch.randn(BATCH, 256)
    result["relu torch.where us"] = median_seconds(lambda: torch.where(Z > 0, Z, 0.0), 5, 1000) * 1e6
    result["relu minidl us"] = median_seconds(lambda: relu(Z), 5, 1000) * 1e6
    Z.requires_grad_()
    result["relu minidl, graph recorded us"] = median_seconds(lambda: relu(Z), 5, 1000) * 1e6
    print(f"relu on a ({BATCH}, 256) batch: torch.where {result['relu torch.where us']:.0f} us, "
          f"minidl.lessons.activations.relu {result['relu minidl us']:.0f} us "
          f"({result['relu minidl, graph recorded us']:.0f} us where autograd records it)")
    result["outside the products, batch 64"] = outside_products(64)
    code = ("import time, torch; start = time.perf_counter(); "
            "torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1); print(time.perf_counter() - start)")
    first_use = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result["torch.optim first use s"] = float(first_use.stdout)
    print(f"first torch.optim.SGD in a fresh interpreter (imports torch._dynamo): "
          f"{result['torch.optim first use s']:.2f} s")
    return result


def outside_products(batch: int) -> dict:
    """Return the microseconds each piece of a manual step's work outside the matrix products takes alone.

    Each piece is minidl's own code on a step's tensors at ``batch``, timed on its own with hot
    caches (so inside a step it costs at least this): the softmax loss and its gradient, ReLU, its
    derivative applied to dL/dH, the two bias updates, the correct count and the divergence check
    the loop adds. Their sum is a lower bound on what a step spends beside its products.
    """
    Z, dH = torch.randn(batch, 256), torch.randn(batch, 256)
    logits, y = torch.randn(batch, 10), torch.randint(0, 10, (batch,))
    b1, b2, dZ2 = torch.zeros(256), torch.zeros(10), torch.randn(batch, 10)
    totals, check = Totals(classifies=True), DivergenceCheck()
    loss = manual.cross_entropy(logits, y)[0]
    pieces = {
        "softmax loss and gradient": lambda: manual.cross_entropy(logits, y),
        "relu": lambda: relu(Z),
        "dL/dH * relu'(Z)": lambda: dH.mul(relu_grad(Z)),
        "bias updates": lambda: (b1.sub_(dH.sum(dim=0), alpha=0.0), b2.sub_(dZ2.sum(dim=0), alpha=0.0)),
        "correct count": lambda: totals.add(loss, logits, y),
        "divergence check": lambda: check(loss, 1),
    }
    micros = {name: median_seconds(fn, 5, 2000) * 1e6 for name, fn in pieces.items()}
    micros["sum"] = sum(micros.values())
    print(f"a manual step's work outside the products at batch {batch}, each piece alone (hot caches), us: "
          + ", ".join(f"{name} {us:.1f}" for name, us in micros.items()))
    return micros


if __name__ == "__main__":
    main()
