"""A busy machine: the lesson's MLP epoch beside one CPU-bound process, minidl against eager torch and JAX.

The lesson's MLP (784-256-10, SGD lr 0.1, batch 256) on Fashion-MNIST, each contender in a fresh
process, quiet and then beside a hog (``python -c "while True: pass"``), in turn A B C ... A B C:

- minidl's fit(), its threads chosen as the run starts (the cores other processes leave free);
- minidl's fit() on torch's own count (one thread per core, what every run used before) and on 1 thread;
- eager torch: nn.Sequential and torch.optim.SGD over the same tensors, torch's own thread count;
- JAX: one jitted ``lax.scan`` over each epoch's batches, XLA's own thread pool.

Each figure is the median over ``--repeats`` processes of the median epoch's seconds (the training
pass, after a first epoch that is not counted). Two more tables: two minidl trainings started
together against one beside the hog (the whole fit's seconds, data included, of each), and what
MKL's strict reproducible mode (minidl/__init__.py) costs the lesson on the quiet machine, its
fit against one with the mode unset (``MKL_CBWR=``), pair by pair.

    python benchmarks/bench_busy.py [--repeats 3] [--epochs 4]

Prints the tables and the targets (beside a hog, fit() within 1.5x its 1-thread time there; two
runs together each within 1.3x of one beside a hog; the mode's cost under 5%); ``main()`` returns
{"rows", "together", "mode", "checks"} for run_all.py.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path

HERE = Path(__file__).resolve().parent
AUTO, DEFAULT, ONE = "minidl fit(), threads chosen", "minidl fit(), torch's count", "minidl fit(), 1 thread"
EAGER, JAX = "eager torch (nn + optim.SGD)", "JAX lax.scan epoch"
CONTENDERS = [AUTO, DEFAULT, ONE, EAGER, JAX]
HOG = "while True: pass"


# --- the child: one contender, one process ---------------------------------------------------------


def child(contender: str, epochs: int) -> dict:
    """Return the median epoch's seconds (the first epoch left out) and the whole fit's seconds."""
    sys.path.insert(0, str(HERE))
    start = time.perf_counter()
    if contender in (AUTO, DEFAULT, ONE):
        import minidl
        import torch

        threads = {AUTO: None, DEFAULT: torch.get_num_threads(), ONE: 1}[contender]
        config = minidl.TrainConfig(model="mlp", hidden=(256,), lr=0.1, batch_size=256, epochs=epochs,
                                    device="cpu", plots=False, threads=threads,
                                    data_dir=os.environ.get("MINIDL_DATA_DIR"))
        history = minidl.fit(config, progress=False)
        seconds = [r["seconds"] for r in history.rows]
        return {"epoch_seconds": statistics.median(seconds[1:]), "fit_seconds": time.perf_counter() - start,
                "threads": history.summary["threads"]}
    from common import Task, load_data

    data = load_data()
    train, test = data.floats("train"), data.floats("test")
    task = Task("mlp", hidden=256, lr=0.1, epochs=1)
    if contender == EAGER:
        import peers_torch

        def run():
            return peers_torch.module_loop(task, train, test, compiled=False)
    else:
        import peers_jax

        def run():
            return peers_jax.scan_epochs(task, train, test)
    seconds = [run()["seconds"] for _ in range(epochs)]  # one epoch a call: the same epoch, timed each time
    return {"epoch_seconds": statistics.median(seconds[1:]), "fit_seconds": time.perf_counter() - start}


def measure(contender: str, epochs: int, env: dict | None = None) -> dict:
    """Return what ``child`` returns, run in a fresh process."""
    done = subprocess.run([sys.executable, __file__, "--child", contender, "--epochs", str(epochs)], check=False,
                          capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"{contender} failed: {done.stderr.strip()[-400:]}")
    return json.loads(done.stdout.splitlines()[-1])


@contextmanager
def hog():
    """Keep one core busy inside the block."""
    proc = subprocess.Popen([sys.executable, "-c", HOG])
    time.sleep(1.0)  # running, and seen by the load average
    try:
        yield
    finally:
        proc.kill()
        proc.wait()


# --- the tables ------------------------------------------------------------------------------------


def busy_table(repeats: int, epochs: int) -> list[dict]:
    """Return a row per contender: its epoch's seconds quiet and beside a hog, interleaved A B C ..."""
    seconds = {(c, where): [] for c in CONTENDERS for where in ("quiet", "busy")}
    threads = {}
    for where in ("quiet", "busy"):
        with hog() if where == "busy" else nullcontext():
            for _ in range(repeats):
                for contender in CONTENDERS:
                    got = measure(contender, epochs)
                    seconds[contender, where].append(got["epoch_seconds"])
                    threads.setdefault((contender, where), got.get("threads"))
    one_busy = statistics.median(seconds[ONE, "busy"])
    rows = []
    for contender in CONTENDERS:
        quiet, busy = (statistics.median(seconds[contender, w]) for w in ("quiet", "busy"))
        rows.append({"contender": contender, "quiet": quiet, "busy": busy, "busy_x_quiet": busy / quiet,
                     "busy_x_one_thread": busy / one_busy,
                     "threads": "/".join(str(threads.get((contender, w)) or "-") for w in ("quiet", "busy"))})
    return rows


def together_table(repeats: int, epochs: int) -> list[dict]:
    """Return the whole fit's seconds of one minidl run beside a hog, and of each of two started together."""
    alone, pairs = [], []
    for _ in range(repeats):
        with hog():
            alone.append(measure(AUTO, epochs)["fit_seconds"])
        procs = [subprocess.Popen([sys.executable, __file__, "--child", AUTO, "--epochs", str(epochs)],
                                  stdout=subprocess.PIPE, text=True) for _ in range(2)]
        pairs.append(sorted(json.loads(p.communicate()[0].splitlines()[-1])["fit_seconds"] for p in procs))
    one = statistics.median(alone)
    first, second = (statistics.median(p[i] for p in pairs) for i in (0, 1))
    return [{"case": "one run beside a CPU hog", "seconds": one, "x_one": 1.0},
            {"case": "two runs started together: the first to finish", "seconds": first, "x_one": first / one},
            {"case": "two runs started together: the second", "seconds": second, "x_one": second / one}]


def mode_table(repeats: int, epochs: int) -> dict:
    """Return the quiet fit's epoch with MKL's strict mode (minidl's default) and without, pair by pair."""
    pairs = []
    for _ in range(repeats):
        strict = measure(DEFAULT, epochs)["epoch_seconds"]
        unset = measure(DEFAULT, epochs, env={"MKL_CBWR": ""})["epoch_seconds"]
        pairs.append(strict / unset)
    return {"strict_over_unset": statistics.median(pairs), "pairs": pairs}


def main(argv=None) -> dict:
    from common import check_quiet, machine, print_table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="processes per contender and case")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per process (the first is not counted)")
    args = parser.parse_args(argv)
    check_quiet("bench_busy")
    info = machine()
    print(f"The lesson's MLP epoch, quiet and beside one CPU hog; {info['cpu']}, {info['cpus']} CPUs, "
          f"{args.repeats} processes each")
    rows = busy_table(args.repeats, args.epochs)
    print_table(rows, [("contender", "contender", ""), ("quiet", "quiet s", ".3f"), ("busy", "beside hog s", ".3f"),
                       ("busy_x_quiet", "x quiet", ".2f"), ("busy_x_one_thread", "x 1 thread beside hog", ".2f"),
                       ("threads", "threads quiet/hog", "")], "Seconds per epoch (median)")
    together = together_table(args.repeats, args.epochs)
    print_table(together, [("case", "case", ""), ("seconds", "fit seconds", ".2f"), ("x_one", "x one beside hog", ".2f")],
                "Two trainings at once against one beside a CPU hog")
    mode = mode_table(args.repeats, args.epochs)
    print(f"\nMKL's strict reproducible mode, quiet: the epoch takes {mode['strict_over_unset']:.3f}x its time "
          f"with the mode unset (pairs: {', '.join(f'{p:.3f}' for p in mode['pairs'])})")
    auto = next(r for r in rows if r["contender"] == AUTO)
    checks = []
    for name, value, goal in [
            ("beside a CPU hog, fit() over its 1-thread time there", auto["busy_x_one_thread"], 1.5),
            ("two fits started together, the slower over one beside a CPU hog", together[2]["x_one"], 1.3),
            ("MKL's strict mode, the quiet epoch over the mode unset", mode["strict_over_unset"], 1.05)]:
        met = value <= goal
        checks.append({"target": name, "value": value, "goal": f"<= {goal:g}", "met": met,
                       "text": f"{'met   ' if met else 'MISSED'}  {name}: {value:.2f}x (goal <= {goal:g})"})
        print("  " + checks[-1]["text"])
    return {"machine": info, "rows": rows, "together": together, "mode": mode, "checks": checks}


if __name__ == "__main__":
    if "--child" in sys.argv:
        parsed = argparse.ArgumentParser()
        parsed.add_argument("--child")
        parsed.add_argument("--epochs", type=int)
        a = parsed.parse_args()
        print(json.dumps(child(a.child, a.epochs)))
    else:
        from common import write_json

        write_json("busy", main())
