"""The lesson's fit() in this checkout against the same fit() at another git revision, side by side.

    python benchmarks/bench_versions.py [--rev 944ad0c] [--rounds 3]

The other revision's ``src/`` is exported with ``git archive`` into a temporary folder; each round
runs the lesson's 5-epoch MLP ``fit()`` (manual, seed 0, no run folder) once in a fresh process of
each, this checkout and that revision alternating, and reports the median seconds of each and
their ratio (above 1: this checkout is slower). Both use ``minidl.fit`` and ``minidl.TrainConfig``,
the names every revision offers. Also checks that both ended at the same test accuracy.
Writes benchmarks/results/versions.json.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from common import machine, print_table, write_json

ROOT = Path(__file__).resolve().parents[1]
BEFORE_ROOMS = "944ad0c"  # the last revision with the flat package, before it was laid out in rooms
TIMED = ("import json, time, minidl\n"
         "config = minidl.TrainConfig(model='mlp', device='cpu', plots=False)\n"
         "start = time.perf_counter()\n"
         "history = minidl.fit(config, progress=False)\n"
         "print(json.dumps({'seconds': time.perf_counter() - start, 'test_acc': history.final['test_acc']}))\n")


def export_src(rev: str, where: Path) -> Path:
    """Return the folder holding ``rev``'s ``src/`` (from ``git archive``)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "src"], capture_output=True, check=True).stdout
    path = where / "archive.tar"
    path.write_bytes(archive)
    with tarfile.open(path) as tar:
        tar.extractall(where, filter="data")
    return where / "src"


def timed_fit(src: Path) -> dict:
    """Return the seconds and final test accuracy of one lesson fit() with ``src`` first on the path."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run([sys.executable, "-c", TIMED], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", default=BEFORE_ROOMS, help=f"the revision to compare with (default {BEFORE_ROOMS})")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each timing both once (default 3)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        theirs = export_src(args.rev, Path(tmp))
        runs = {"this checkout": [], f"revision {args.rev}": []}
        for _ in range(args.rounds):
            runs["this checkout"].append(timed_fit(ROOT / "src"))
            runs[f"revision {args.rev}"].append(timed_fit(theirs))
    base = statistics.median(r["seconds"] for r in runs[f"revision {args.rev}"])
    rows = [{"contender": name, "seconds": statistics.median(r["seconds"] for r in results),
             "ratio": statistics.median(r["seconds"] for r in results) / base,
             "test_acc": results[0]["test_acc"]} for name, results in runs.items()]
    print_table(rows, [("contender", "contender", "s"), ("seconds", "fit() s (median)", ".3f"),
                       ("ratio", f"x revision {args.rev}", ".3f"), ("test_acc", "test acc", ".4f")],
                f"The lesson's fit(), this checkout against revision {args.rev}, {args.rounds} rounds")
    same = len({r["test_acc"] for r in rows}) == 1
    print(f"same test accuracy: {same}")
    payload = {"machine": machine(), "rev": args.rev, "rounds": args.rounds, "rows": rows, "same_test_acc": same}
    write_json("versions", payload)
    return payload


if __name__ == "__main__":
    main()
