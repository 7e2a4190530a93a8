"""Seconds to load a numeric CSV: minidl's reader (minidl.data.tables.load_table) against pandas.read_csv.

    python benchmarks/bench_tables.py [--rows 1000000] [--columns 20] [--repeats 3]

One file, written to a temp folder (float values, a header row, the last column the target), is
read by each contender in the same run, the median of ``--repeats``:
- ``pandas.read_csv``: the file into a DataFrame, nothing else (its C parser, one thread);
- ``pyarrow.csv.read_csv``: the engine minidl reads with, alone (multi-threaded);
- ``minidl.data.csv_file.read_csv``: minidl's reader (pyarrow, then the column checks), and the
  same on pandas' C parser, the reader of the files pyarrow will not read;
- ``minidl.load_table``: the reader plus everything a run needs: column kinds, missing-cell and
  float32 checks, the standardised float32 features and target.
``main()`` returns the rows for run_all.py and writes results/tables.json.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from common import machine, median_seconds, print_table, write_json


def write_table(path: Path, rows: int, columns: int, seed: int = 0) -> Path:
    """Write a ``rows`` x ``columns`` CSV of random numbers (6 significant digits) with a header row."""
    values = np.random.default_rng(seed).normal(size=(rows, columns))
    header = ",".join(f"x{j + 1}" for j in range(columns - 1)) + ",y"
    np.savetxt(path, values, fmt="%.6g", delimiter=",", header=header, comments="")
    return path


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--columns", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    import pandas as pd

    from pyarrow import csv as arrow_csv

    from minidl.data import csv_file
    from minidl.data.csv_file import read_csv
    from minidl.data.tables import load_table

    with tempfile.TemporaryDirectory() as folder:
        path = write_table(Path(folder) / "table.csv", args.rows, args.columns)
        size = path.stat().st_size
        def on_pandas():
            names, delimiter = csv_file._header(path)
            columns = csv_file.read_by_pandas(path, names, delimiter)
            return csv_file.Cells(path, names, columns, delimiter).numbers("y")

        contenders = [("pandas.read_csv", lambda: pd.read_csv(path)),
                      ("pyarrow.csv.read_csv (the engine alone)", lambda: arrow_csv.read_csv(path)),
                      ("minidl read_csv (pyarrow + checks)", lambda: read_csv(path).numbers("y")),
                      ("minidl read_csv on pandas' C parser (+ checks)", on_pandas),
                      ("minidl load_table (+ standardised float32 X, y)", lambda: load_table(path, "y"))]
        rows = [{"contender": name, "seconds": median_seconds(fn, args.repeats)} for name, fn in contenders]
    base = rows[0]["seconds"]
    for r in rows:
        r.update(ratio=r["seconds"] / base, mb_per_second=size / 1e6 / r["seconds"])
    print_table(rows, [("contender", "reader", "s"), ("seconds", "seconds", ".3f"),
                       ("ratio", "x pandas' time", ".2f"), ("mb_per_second", "MB/s", ".0f")],
                f"Loading a {args.rows:,} x {args.columns} numeric CSV ({size / 1e6:.0f} MB), median of {args.repeats}")
    write_json("tables", {"machine": machine(), "rows_in_file": args.rows, "columns": args.columns,
                          "bytes": size, "rows": rows})
    return rows


if __name__ == "__main__":
    main()
