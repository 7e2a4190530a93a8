"""Seconds and peak memory to load (and train on) a numeric CSV: minidl's reader against pandas.read_csv.

    python benchmarks/bench_tables.py [--rows 1000000 4000000] [--columns 20] [--repeats 3]

For each row count one file is written to a temp folder (float values, a header row, the last column
the target), and each contender reads it in a fresh process, so its peak resident memory is its own:
the peak beyond what the process held before reading (Python, torch, pandas, pyarrow and minidl
imported), beside the table's float64 size (issue 28 bounds minidl's at 3x). Seconds are the median
of ``--repeats`` processes.
- ``pandas.read_csv``: the file into a DataFrame, nothing else (its C parser, one thread);
- ``pyarrow.csv.read_csv``: pyarrow's one-shot reader alone (multi-threaded);
- ``minidl.data.csv_file.read_csv``: minidl's reader (numbers block by block, then the column checks);
- ``minidl load_table + split``: everything a run needs: the standardised float32 training and test rows;
- ``minidl train linreg --csv``: a whole run of one epoch (read, encoded, trained, tested, written).
``main()`` returns the rows for run_all.py and writes results/tables.json.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from common import machine, print_table, write_json

SRC = Path(__file__).resolve().parents[1] / "src"
CONTENDERS = {
    "pandas.read_csv": "import pandas as pd; pd.read_csv(PATH)",
    "pyarrow.csv.read_csv (the engine alone)": "from pyarrow import csv; csv.read_csv(PATH)",
    "minidl read_csv (+ checks)": "from minidl.data.csv_file import read_csv; read_csv(PATH).numbers('y')",
    "minidl load_table + split (standardised float32)":
        "from minidl.data.tables import load_table; train, test = load_table(PATH, 'y').split(0.2); train.X; test.X",
    "minidl train linreg --csv (1 epoch)":
        "from minidl.app.cli import main; main(['train', 'linreg', '--csv', PATH, '--target', 'y', '--epochs', '1', "
        "'--out', OUT, '--quiet', '--no-plots', '--device', 'cpu'])",
}
CHILD = """import json, sys, time
def status(key):
    return next(int(l.split()[1]) * 1024 for l in open('/proc/self/status') if l.startswith(key))
import torch, pandas, pyarrow.csv, minidl.training.fit
PATH, OUT = sys.argv[1], sys.argv[2]
base, start = status('VmRSS'), time.perf_counter()
exec(sys.argv[3])
print(json.dumps({'seconds': time.perf_counter() - start, 'peak': status('VmHWM') - base}))
"""


def write_table(path: Path, rows: int, columns: int, seed: int = 0) -> Path:
    """Write a ``rows`` x ``columns`` CSV of random numbers (6 significant digits) with a header row."""
    values = np.random.default_rng(seed).normal(size=(rows, columns))
    header = ",".join(f"x{j + 1}" for j in range(columns - 1)) + ",y"
    np.savetxt(path, values, fmt="%.6g", delimiter=",", header=header, comments="")
    return path


def measure(code: str, path: Path, folder: Path) -> dict:
    """Return {"seconds", "peak"} of ``code`` run in a fresh process on the table at ``path``."""
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    out = tempfile.mkdtemp(dir=folder)
    done = subprocess.run([sys.executable, "-c", CHILD, str(path), f"{out}/run", code], capture_output=True,
                          text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 4_000_000])
    parser.add_argument("--columns", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    rows = []
    for n in args.rows:
        with tempfile.TemporaryDirectory() as folder:
            path = write_table(Path(folder) / "table.csv", n, args.columns + 1)
            table_mb = n * (args.columns + 1) * 8 / 1e6
            for name, code in CONTENDERS.items():
                runs = [measure(code, path, Path(folder)) for _ in range(args.repeats)]
                peak = max(r["peak"] for r in runs) / 1e6
                rows.append({"rows": n, "contender": name, "seconds": statistics.median(r["seconds"] for r in runs),
                             "peak_mb": peak, "float64_mb": table_mb, "peak_over_float64": peak / table_mb,
                             "file_mb": path.stat().st_size / 1e6})
    for r in rows:
        r["ratio"] = r["seconds"] / next(b["seconds"] for b in rows if b["rows"] == r["rows"])
    print_table(rows, [("rows", "rows", ","), ("contender", "reader", "s"), ("seconds", "seconds", ".3f"),
                       ("ratio", "x pandas' time", ".2f"), ("peak_mb", "peak MB beyond imports", ".0f"),
                       ("peak_over_float64", "x the float64 table", ".2f")],
                f"Loading a numeric CSV of {args.columns} inputs and a target, median of {args.repeats} processes")
    write_json("tables", {"machine": machine(), "columns": args.columns, "rows": rows})
    return rows


if __name__ == "__main__":
    main()
