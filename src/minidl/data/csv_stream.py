"""A table of numbers read block by block (pyarrow's streaming CSV reader), its memory about that of its values.

pyarrow's one-shot reader holds the file's text, the parsed columns and, while pandas takes them,
a second copy: near 3.5 times the float64 values at its peak. Read a block at a time, only the
values stay: each block's columns are kept as NumPy arrays and joined a column at a time at the
end. Only a table whose columns are all numbers (or wholly missing) is read so; a text column, or
a block that does not read as the first one did (a number column holding a word further down),
returns None and minidl.data.csv_file's one-shot readers take over, naming any bad row.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

BLOCK = 1 << 18  # bytes of the file parsed at a time (256 KB: a larger block holds more text at once)


def scan(path: Path) -> tuple[int, bool]:
    """Return (the number of line breaks, whether a double quote appears) of the file, read in blocks: never
    mapped into this process, whose resident memory would then count the whole file."""
    lines, quoted = 0, False
    with open(path, "rb") as f:
        while block := f.read(BLOCK):
            lines += block.count(b"\n")
            quoted = quoted or b'"' in block
    return lines, quoted


def read_numbers_by_arrow(path: Path, names: tuple[str, ...], delimiter: str, missing):
    """Return {name: pandas.Series of float64} for a CSV of number columns, read a block at a time, else None."""
    try:
        import pyarrow as pa
        from pyarrow import csv as arrow_csv
    except ImportError:
        return None
    import pandas as pd

    lines, quoted = scan(path)
    if quoted:  # a quoted cell may hold a line break: the line count is no bound on the rows, nor are they numbers
        return None
    options = {"read_options": arrow_csv.ReadOptions(block_size=BLOCK),
               "parse_options": arrow_csv.ParseOptions(delimiter=delimiter),
               "convert_options": arrow_csv.ConvertOptions(null_values=list(missing), strings_can_be_null=True,
                                                           quoted_strings_can_be_null=True)}
    numeric = (pa.types.is_integer, pa.types.is_floating)
    columns, filled = [np.empty(lines + 1) for _ in names], 0  # at most one row per line (a last one unended)
    try:
        with arrow_csv.open_csv(path, **options) as reader:
            schema = reader.schema
            if len(schema) != len(names) or not all(any(test(t) for test in numeric) for t in schema.types):
                return None
            for batch in reader:
                for j, column in enumerate(batch.columns):
                    columns[j][filled:filled + len(column)] = column.to_numpy(zero_copy_only=False)
                filled += batch.num_rows
    except (pa.ArrowException, OSError):
        return None
    finally:
        pa.default_memory_pool().release_unused()  # the parsed blocks' memory, which the pool would keep
    return {name: pd.Series(values[:filled], name=name) for name, values in zip(names, columns)}
