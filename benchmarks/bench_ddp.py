"""Data-parallel on one machine: 1 process x 2 threads against 2 processes x 1 thread (gloo).

    python benchmarks/bench_ddp.py [--quick]

The lesson's MLP (784-256-10, SGD lr 0.5, global batch 256) and hidden width 2048, one epoch of
Fashion-MNIST-sized data (60,000 random images: dense matmuls cost the same whatever the pixels)
after one warm-up epoch, in three set-ups:

- 1 process x 2 threads: minidl's manual twin, alone (no communication);
- 2 processes x 1 thread, manual twin: ``minidl.distributed.sync.GradientSync`` in each of its two
  forms, all-reducing the products H^T dZ, and all-gathering the factors (H, dZ); the row marked
  "chosen" is the form ``distributed.sends_factors`` picks for that width. Each step is timed in
  parts: compute (forward, loss, backward), wait (a barrier: the time this rank waits for the
  slower one), sync (the collective and the products it needs) and the step;
- 2 processes x 1 thread, concise twin under DistributedDataParallel (its all-reduce overlaps
  backward, so only the whole step is timed).

Every set-up runs ``--rounds`` times (default 3), round by round, and keeps its median epoch
(of the slower rank). The manual rows' seconds come from those rounds, timed whole like DDP's; their
breakdown columns from one more run each, after the rounds, whose barrier (a collective of its
own) would otherwise count against them.

The ranks are started as torchrun starts them (RANK, WORLD_SIZE, MASTER_ADDR, ... and
``minidl.distributed.world.started``), by torch.multiprocessing. Writes benchmarks/results/ddp.json;
``--quick`` (a check that it runs, not a measurement): 2,048 images, widths 256 only.
"""
from __future__ import annotations

import argparse
import os
import socket
import tempfile
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from minidl.distributed.sync import sends_factors

from common import machine, print_table, write_json

BATCH, LR = 256, 0.5
FORMS = {"manual products": False, "manual factors": True, "concise": None}  # set-up -> GradientSync's factors


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def epoch_seconds(impl: str, hidden: int, n: int, world, parts: bool, factors: bool | None = None,
                  batch: int = BATCH) -> dict:
    """Return the seconds of the second of two epochs on this rank, and (``parts``) where they went;
    ``factors``: the manual sync's form (see GradientSync)."""
    from minidl.data.loader import Loader
    from minidl.training.memory import keep_freed_memory
    from minidl.training.models import build_loss, build_model
    from minidl.training.optimizers import build_optimizer

    keep_freed_memory()  # as fit() does: a large batch's buffers reused, not faulted in every step

    g = torch.Generator().manual_seed(0)
    X, y = torch.randint(0, 256, (n, 28, 28), dtype=torch.uint8, generator=g), torch.randint(0, 10, (n,), generator=g)
    model = build_model("mlp", impl, num_inputs=784, hidden=(hidden,))
    loss_fn = build_loss("mlp", impl, model)
    net, optimizer = world.parallel(model, build_optimizer(model, impl, "sgd", LR))
    if factors is not None:
        optimizer.factors = factors
    loader = Loader(X, y, world.local_batch(batch), shuffle=True, drop_last=True, rank=world.rank,
                    world_size=world.size)
    timed = {"compute": 0.0, "wait": 0.0, "sync": 0.0, "step": 0.0}
    for epoch in range(2):
        timed = dict.fromkeys(timed, 0.0)
        start = time.perf_counter()
        for X_b, y_b in loader:
            t0 = time.perf_counter()
            loss = loss_fn(net(X_b), y_b)
            optimizer.zero_grad()
            loss.backward()
            t1 = time.perf_counter()
            if parts:
                dist.barrier()  # waiting for the slower rank, apart from the transfer
                t2 = time.perf_counter()
                products = optimizer.sync()
                t3 = time.perf_counter()
                optimizer.apply(products)
            else:
                t2 = t3 = t1
                optimizer.step()
            t4 = time.perf_counter()
            for key, seconds in zip(timed, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                timed[key] += seconds
        total = time.perf_counter() - start
    steps = len(loader)
    return {"seconds": total, "steps": steps, **{f"{k}_ms_per_step": 1e3 * v / steps for k, v in timed.items()}}


def _median(results: list[dict]) -> dict:
    """Return the result of median seconds (the lower middle one for an even count)."""
    return sorted(results, key=lambda r: r["seconds"])[(len(results) - 1) // 2]


def rank_main(rank: int, port: int, jobs: list, folder: str, batch: int) -> None:
    """One rank of the 2 x 1 set-ups: its results to folder/rank<r>.pt."""
    from minidl.distributed import world as distributed

    os.environ.update({"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "2",
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    torch.set_num_threads(1)
    out = {}
    with distributed.started(torch.device("cpu"), "nothing saved") as world:
        for form, hidden, n, parts in jobs:  # round by round; ``parts``: the breakdown run, after the rounds
            result = epoch_seconds(form.split()[0], hidden, n, world, parts=parts, factors=FORMS[form], batch=batch)
            out.setdefault((form, hidden, parts), []).append(result)
    torch.save(out, Path(folder) / f"rank{rank}.pt")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a check that it runs: 2,048 images, width 256")
    parser.add_argument("--batch", type=int, default=BATCH, help=f"the global batch (default {BATCH}, the lesson's)")
    parser.add_argument("--widths", type=int, nargs="+", help="hidden widths (default 256 1024 2048)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every set-up, interleaved; the median "
                        "is kept (default 3; 1 with --quick)")
    args = parser.parse_args(argv)
    from minidl.distributed import world as distributed

    n, widths = (2048, (256,)) if args.quick else (60_000, (256, 1024, 2048))
    widths, batch = tuple(args.widths or widths), args.batch
    rounds = 1 if args.quick else args.rounds
    jobs = [(form, hidden, n, False) for _ in range(rounds) for hidden in widths for form in FORMS]
    jobs += [(form, hidden, n, True) for hidden in widths for form in FORMS if form != "concise"]
    with tempfile.TemporaryDirectory() as folder:
        mp.spawn(rank_main, args=(free_port(), jobs, folder, batch), nprocs=2, join=True)
        ranks = [torch.load(Path(folder) / f"rank{r}.pt") for r in range(2)]
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    rows = []
    for hidden in widths:
        alone = _median([epoch_seconds("manual", hidden, n, distributed.World(), parts=False, batch=batch)
                         for _ in range(rounds)])
        rows.append({"setup": "1 process x 2 threads, manual", "hidden": hidden, **alone, "ratio": 1.0})
        chosen = sends_factors([(torch.empty(batch // 2, 784), torch.empty(batch // 2, hidden)),
                                            (torch.empty(batch // 2, hidden), torch.empty(batch // 2, 10))], 2)
        for form in FORMS:
            name = {"manual products": "2 processes x 1 thread, manual, products all-reduced",
                    "manual factors": "2 processes x 1 thread, manual, factors all-gathered",
                    "concise": "2 processes x 1 thread, concise (DDP)"}[form]
            if form != "concise" and FORMS[form] == chosen:
                name += " (chosen)"
            whole = _median([max(each, key=lambda r: r["seconds"]) for each in zip(*(r[form, hidden, False]
                                                                                      for r in ranks))])
            if form != "concise":  # where the time went: the breakdown run (its barrier adds a collective)
                parts = max((r[form, hidden, True][0] for r in ranks), key=lambda r: r["seconds"])
                whole = {**parts, "seconds": whole["seconds"], "steps": whole["steps"]}
            rows.append({"setup": name, "hidden": hidden, **whole, "ratio": whole["seconds"] / alone["seconds"]})
    torch.set_num_threads(threads)
    columns = [("setup", "set-up", "s"), ("hidden", "hidden", "d"), ("seconds", "s/epoch", ".3f"),
               ("ratio", "x 1 process", ".2f"), ("compute_ms_per_step", "compute ms", ".2f"),
               ("wait_ms_per_step", "wait ms", ".2f"), ("sync_ms_per_step", "sync ms", ".2f"),
               ("step_ms_per_step", "step ms", ".2f")]
    print_table(rows, columns, f"One epoch of {n:,} images, global batch {batch} (the slower rank's time)")
    payload = {"machine": machine(), "quick": args.quick, "images": n, "batch": batch, "rows": rows}
    if not args.quick and batch == BATCH and widths == (256, 1024, 2048):
        write_json("ddp", payload)
    return payload


if __name__ == "__main__":
    main()
