"""The hardware limit: float32 matmul rates for the exact shapes of one training step, the FLOPs
of an epoch, the time that arithmetic needs at those rates, and memory bandwidth.

One SGD step of the 784-256-10 MLP on a batch of B images does five matrix products (X1 are the
images, X2 = relu(Z1) the hidden units, dZ the gradients of the layers' outputs Z):

    forward   Z1 = X1 (B, 784) @ W1 (784, 256)             2 B 784 256 FLOPs
              Z2 = X2 (B, 256) @ W2 (256, 10)              2 B 256 10
    backward  dW2 = X2^T (256, B) @ dZ2 (B, 10)            2 B 256 10
              dX2 = dZ2 (B, 10) @ W2^T (10, 256)           2 B 10 256
              dW1 = X1^T (784, B) @ dZ1 (B, 256)           2 B 784 256

and no sixth: the images need no gradient, so the first layer's input gradient is never computed.
Bias adds, ReLU, softmax and the update are elementwise (under 1% of the FLOPs, bound by memory):
they count as overhead, not arithmetic. The roofline time of an epoch is the sum over the five
products of (their FLOPs in an epoch) / (the rate measured for that exact shape, with hot caches,
in this run). `python benchmarks/bench_roofline.py` prints it and minidl's fraction of it.

No eager loop reaches the roofline: the products run slower inside a step than alone (their
inputs are not in cache), and the batch must be gathered. So the share a loop of the five products
and the gather alone reaches (``products_only_epoch``) is printed beside minidl's, both measured
side by side with the roofline (``floor_shares``): the gap between the two is all of the step's
other work (bias, ReLU and its derivative, the softmax loss and its gradient, the accuracy
count, the Python of the loop).
"""
from __future__ import annotations

import statistics
import time
from dataclasses import replace

import torch

from common import MLP, SOFTMAX, Task, check_quiet, machine, median_seconds, print_table, write_json

IMAGE = 784
CLASSES = 10
EXAMPLES = 60000  # Fashion-MNIST's training set


def step_products(task: Task, batch: int) -> list[tuple[str, tuple[int, int, int]]]:
    """Return the (name, (m, k, n)) of every matrix product in one step: (m, k) @ (k, n)."""
    widths = [IMAGE, task.hidden, CLASSES] if task.hidden else [IMAGE, CLASSES]
    products = []
    for i, (fan_in, fan_out) in enumerate(zip(widths, widths[1:]), start=1):
        products.append((f"forward X{i} @ W{i}", (batch, fan_in, fan_out)))
        products.append((f"backward dW{i} = X{i}^T @ dZ{i}", (fan_in, batch, fan_out)))
        if i > 1:  # the images (layer 1's input) need no gradient
            products.append((f"backward dX{i} = dZ{i} @ W{i}^T", (batch, fan_out, fan_in)))
    return products


def flops_per_epoch(task: Task, examples: int) -> float:
    """Return the matmul FLOPs of one epoch over ``examples`` (each product is linear in the batch)."""
    per_batch = sum(2 * m * k * n for _, (m, k, n) in step_products(task, task.batch_size))
    return per_batch * examples / task.batch_size


def matmul_rates(task: Task, repeats: int = 5) -> list[dict]:
    """Return each product of a full-batch step with its measured seconds and GFLOP/s."""
    rows = []
    for name, (m, k, n) in step_products(task, task.batch_size):
        a, b = torch.rand(m, k), torch.rand(k, n)
        out = torch.empty(m, n)
        number = max(10, int(2e9 / (2 * m * k * n)))  # about 2 GFLOP per timing
        for _ in range(number):
            torch.mm(a, b, out=out)  # warm: caches, threads, the library's kernel choice
        seconds = median_seconds(lambda: torch.mm(a, b, out=out), repeats, number)
        flops = 2 * m * k * n
        rows.append({"product": name, "shape": f"({m}x{k}) @ ({k}x{n})", "flops": flops,
                     "microseconds": seconds * 1e6, "gflops": flops / seconds / 1e9})
    return rows


def roofline(task: Task, examples: int, repeats: int = 5) -> dict:
    """Return the FLOPs and the matmul-only seconds of ``task.epochs`` epochs over ``examples``."""
    rates = matmul_rates(task, repeats)
    batches = examples / task.batch_size  # fractional: the short last batch costs its share
    epoch_seconds = sum(r["microseconds"] * 1e-6 for r in rates) * batches
    epoch_flops = flops_per_epoch(task, examples)
    return {
        "task": task.label, "examples": examples, "products": rates,
        "flops_per_example": epoch_flops / examples, "flops_per_epoch": epoch_flops,
        "roofline_seconds_per_epoch": epoch_seconds,
        "roofline_seconds": epoch_seconds * task.epochs,
        "effective_gflops": epoch_flops / epoch_seconds / 1e9,
    }


def products_only_epoch(batch: int, examples: int = EXAMPLES, hidden: int = 256) -> float:
    """Return the seconds of one shuffled epoch of a loop that does the step's five products and nothing else.

    Each step gathers its batch (as minidl's Loader does), runs the two forward products, the one
    backward product and lands both weight products in W (in-place ``addmm_``, as minidl's SGD
    does); no bias, ReLU, loss, accuracy count or Python beyond the loop. It is the floor of any
    eager step built from these products: what is left above it is the elementwise work.
    """
    X = torch.rand(examples, IMAGE)
    W1, W2 = torch.randn(IMAGE, hidden) * 0.01, torch.randn(hidden, CLASSES) * 0.01
    dZ2 = torch.randn(batch, CLASSES) * 1e-3  # stands in for the loss's gradient: no softmax here
    order = torch.randperm(examples)
    start = time.perf_counter()
    for first in range(0, examples, batch):
        X1 = X.index_select(0, order[first:first + batch])
        X2 = torch.mm(X1, W1)  # stands in for relu(Z1): the product alone
        torch.mm(X2, W2)
        dZ = dZ2[:len(X1)]
        dZ1 = torch.mm(dZ, W2.T)  # stands in for dX2 * relu'(Z1)
        W2.addmm_(X2.T, dZ, alpha=-1e-6)
        W1.addmm_(X1.T, dZ1, alpha=-1e-6)
    return time.perf_counter() - start


def floor_shares(batches=(256, 64), rounds: int = 3) -> list[dict]:
    """Return, per batch size, the roofline, the products-only floor and minidl's epoch, measured side by side.

    In each round, for each batch: the products' rates (roofline), one products-only epoch
    (``products_only_epoch``) and one epoch of minidl's fit() (the manual twin, lr 0.1), back to
    back, so the machine's drift between them is small; the shares are the medians of the rounds.
    The floor's share is the most any eager loop of these products reaches: a goal above it
    cannot be met without fusing the elementwise work into the products.
    """
    from bench_mlp import minidl_fit
    from common import load_data

    data = load_data()
    seen: dict[int, list[tuple[float, float, float]]] = {b: [] for b in batches}
    for _ in range(rounds):
        for batch in batches:
            task = replace(MLP, batch_size=batch, epochs=1, lr=0.1)
            roof = roofline(task, EXAMPLES, repeats=3)["roofline_seconds_per_epoch"]
            floor = products_only_epoch(batch)
            minidl = minidl_fit(data, task, "manual")["seconds"]
            seen[batch].append((roof, floor, minidl))
    rows = []
    for batch, runs in seen.items():
        roof, floor, minidl = (statistics.median(r[i] for r in runs) for i in range(3))
        rows.append({"batch": batch, "roofline_seconds_per_epoch": roof, "floor_seconds_per_epoch": floor,
                     "minidl_seconds_per_epoch": minidl,
                     "floor_fraction": statistics.median(r[0] / r[1] for r in runs),
                     "minidl_fraction": statistics.median(r[0] / r[2] for r in runs),
                     "rounds": rounds})
    return rows


def memory_bandwidth(nbytes: int, repeats: int = 5) -> dict:
    """Return the GB/s of reading ``nbytes`` of float32 images: copied in order, or gathered.

    The copy goes into a buffer allocated beforehand (so page faults are not timed) and moves each
    byte twice (read, then write). The gather reads every row once, in a random order, 256 rows
    at a time, into a batch that stays in cache: it moves each byte once from memory.
    """
    X = torch.rand(nbytes // 4 // IMAGE, IMAGE)
    copy = torch.empty_like(X)
    copy.copy_(X)  # fault its pages in before timing
    copy_seconds = median_seconds(lambda: copy.copy_(X), repeats)
    order = torch.randperm(len(X))

    def gather():
        for start in range(0, len(X), 256):
            X.index_select(0, order[start:start + 256])
    gather_seconds = median_seconds(gather, repeats)
    size = X.numel() * 4
    return {"bytes": size, "copy_gb_per_s": 2 * size / copy_seconds / 1e9,
            "gather_gb_per_s": size / gather_seconds / 1e9,
            "copy_seconds": copy_seconds, "gather_seconds": gather_seconds}


def minidl_train_seconds(task: Task) -> float:
    """Return minidl's training seconds for ``task``: one in-process fit() of the default twin."""
    from bench_mlp import minidl_fit
    from common import load_data

    return minidl_fit(load_data(), task, "manual")["seconds"]


def main(mlp_seconds: float | None = None, softmax_seconds: float | None = None, floor_rounds: int = 3) -> dict:
    """Measure the MLP's roofline and the memory bandwidth; print minidl's share of each.

    ``mlp_seconds`` / ``softmax_seconds``: minidl's training time for the 5 epochs, as measured by
    bench_mlp (run_all passes them in); left out, one fit() of each is timed here. Then
    ``floor_shares`` at batch 256 and 64, ``floor_rounds`` rounds.
    """
    busy = check_quiet("roofline")
    result = roofline(MLP, EXAMPLES)
    big = torch.rand(2048, 2048)  # the library's rate on a large square product, for comparison
    result["square_2048_gflops"] = 2 * 2048**3 / median_seconds(lambda: torch.mm(big, big), 5) / 1e9
    print_table(result["products"], [("product", "product", ""), ("shape", "shape", ""),
                                      ("microseconds", "us", ".1f"), ("gflops", "GFLOP/s", ".0f")],
                f"Matrix products of one training step (batch {MLP.batch_size}), float32, "
                f"{torch.get_num_threads()} threads")
    print(f"\nFLOPs per epoch: {result['flops_per_epoch'] / 1e9:.2f} G "
          f"({result['flops_per_example']:,.0f} per image); at the measured rates an epoch's "
          f"arithmetic takes {result['roofline_seconds_per_epoch']:.3f} s, {MLP.epochs} epochs "
          f"{result['roofline_seconds']:.3f} s ({result['effective_gflops']:.0f} GFLOP/s overall; "
          f"a 2048x2048 product runs at {result['square_2048_gflops']:.0f} GFLOP/s)")
    mlp_seconds = mlp_seconds or minidl_train_seconds(MLP)
    result["minidl_train_seconds"] = mlp_seconds
    result["roofline_fraction"] = result["roofline_seconds"] / mlp_seconds
    print(f"minidl trains the MLP's {MLP.epochs} epochs in {mlp_seconds:.3f} s: "
          f"{100 * result['roofline_fraction']:.0f}% of the matmul roofline")
    result["floors"] = floor_shares(rounds=floor_rounds)
    print_table(result["floors"], [("batch", "batch", ""), ("roofline_seconds_per_epoch", "roofline s", ".3f"),
                                   ("floor_seconds_per_epoch", "products only s", ".3f"),
                                   ("floor_fraction", "its share", ".0%"),
                                   ("minidl_seconds_per_epoch", "minidl s", ".3f"),
                                   ("minidl_fraction", "minidl's share", ".0%")],
                f"One epoch (lr 0.1) side by side, medians of {floor_rounds} rounds: the roofline, a loop of "
                "the products and the batch gather alone, and minidl's fit()")

    # softmax regression: ~16 kFLOP per image, so memory, not arithmetic, is its limit
    bandwidth = memory_bandwidth(EXAMPLES * IMAGE * 4)
    softmax_seconds = softmax_seconds or minidl_train_seconds(SOFTMAX)
    epoch_bytes = EXAMPLES * IMAGE * 4  # every float32 image is gathered once per epoch
    achieved = SOFTMAX.epochs * epoch_bytes / softmax_seconds / 1e9
    result["softmax"] = {**bandwidth, "minidl_train_seconds": softmax_seconds,
                         "image_bytes_per_epoch": epoch_bytes, "minidl_gb_per_s": achieved}
    print(f"softmax regression: {SOFTMAX.epochs} epochs in {softmax_seconds:.3f} s read the "
          f"{epoch_bytes / 1e6:.0f} MB of float32 images {SOFTMAX.epochs} times: {achieved:.1f} GB/s. "
          f"Gathering them alone in batches of 256 reads {bandwidth['gather_gb_per_s']:.1f} GB/s "
          f"({bandwidth['gather_seconds']:.3f} s per epoch); copying them in order moves "
          f"{bandwidth['copy_gb_per_s']:.1f} GB/s")
    result["machine"], result["busy_percent_before"] = machine(), busy
    write_json("roofline", result)
    return result


if __name__ == "__main__":
    main()
