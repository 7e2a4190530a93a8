"""A CSV file's cells, read by a real CSV engine, with errors that name the file, row and column.

A table of numbers is read block by block (minidl.data.csv_stream), any other by pyarrow's
multi-threaded reader (one of minidl's requirements); a file it will not read (a short row, a stray quote, text that is not UTF-8) goes to
pandas' C parser, which reads it the same way or names the row it cannot read. Both give the same
cells (``tests/test_tables.py`` holds them equal on tricky tables). The header row names the
columns; the delimiter (comma, semicolon or tab) is whichever the header holds most of. A column
is numbers (also as people write them: ``1,234``, ``12%``, ``$3.50``, ``yes``; minidl.data.number_formats),
dates (year first; minidl.data.dates), or text when none of its cells is a number; a cell written
``NA``, ``N/A``, ``nan`` or left empty is missing. Rows are named as a spreadsheet shows them (the
header is row 1); working out those numbers costs a second, plain-Python pass over the file, made
only when a message needs one or the table has missing cells (a short row reads as missing cells).

>>> import tempfile
>>> path = Path(tempfile.mkdtemp()) / "penguins.csv"
>>> _ = path.write_text("species,island,mass\\nAdelie,Dream,3750\\nGentoo,NA,\\n")
>>> cells = read_csv(path)
>>> cells.names, cells.is_text("island"), cells.numbers("mass").tolist()
(('species', 'island', 'mass'), True, [3750.0, nan])
>>> cells.first_missing(["island", "mass"])      # data row 1 (0-based): spreadsheet row 3
(1, 'island')
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from minidl.data.csv_pandas import MISSING, read_by_pandas
from minidl.data.csv_stream import read_numbers_by_arrow, scan
from minidl.data.dates import read_dates
from minidl.data.number_formats import read_formatted
from minidl.errors import DatasetError, plural

DELIMITERS = {",": "commas", ";": "semicolons", "\t": "tabs"}
FLOAT32_MAX = 3.4028234663852886e38  # the models train in float32: a larger value would be inf


@dataclass(frozen=True, eq=False)
class Cells:
    """The cells of a CSV table: one pandas Series per name, numbers (float64) or text (str), NaN where missing."""

    path: Path
    names: tuple[str, ...]
    columns: dict = field(repr=False)  # name -> pandas.Series (kept apart: never copied into one 2-D block)
    delimiter: str = ","

    def __len__(self) -> int:
        return len(self.columns[self.names[0]])

    def row(self, i: int) -> int:
        """Return the spreadsheet row (the header is row 1) of data row ``i`` (0-based)."""
        return self._lines[i][0]

    def raw(self, i: int, name: str) -> str:
        """Return the text of data row ``i``'s cell in column ``name``, as the file has it."""
        return self._lines[i][1][self.names.index(name)].strip()

    def missing(self, name: str) -> np.ndarray:
        """Return which cells of column ``name`` are missing, bool (n,)."""
        if name not in self._missing:
            self._missing[name] = self.columns[name].isna().to_numpy()
        return self._missing[name]

    def first_missing(self, names, rows=None) -> tuple[int, str] | None:
        """Return (data row, column) of the first missing cell among ``names`` (in ``rows``), or None."""
        if not self._has_missing:
            return None
        rows = np.arange(len(self)) if rows is None else np.asarray(rows)
        gaps = np.stack([self.missing(name)[rows] for name in names], axis=1)
        if not gaps.any():
            return None
        k, j = np.argwhere(gaps)[0]
        return int(rows[k]), list(names)[j]

    def is_text(self, name: str) -> bool:
        """Return whether column ``name`` holds text (none of its cells a number, not dates); DatasetError
        for a mix."""
        return self._kinds[name] == "text"

    def numbers(self, name: str) -> np.ndarray:
        """Return column ``name`` as float64 (n,), NaN where missing; DatasetError naming a cell that is not
        a finite number within float32's range."""
        if name in self._checked:
            return self._checked[name]
        if self.is_text(name):
            i = int(np.flatnonzero(~self.missing(name))[0])
            self._not_a_number(i, name, "the column holds text")
        values = self._numeric[name]
        bad = ~(np.abs(values) <= FLOAT32_MAX) & ~self.missing(name)  # inf, a NaN written as a number, huge
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            if np.isfinite(values[i]):
                raise DatasetError(f"{self.path}: row {self.row(i)}, column {name!r}: {self.raw(i, name)} is beyond "
                                   f"float32's range (largest {FLOAT32_MAX:.3g}), in which minidl trains; scale "
                                   "the column down")
            raise DatasetError(f"{self.path}: row {self.row(i)}, column {name!r}: {self.raw(i, name)!r} is not a "
                               "finite number; give a number, or leave the cell empty (missing)")
        self._checked[name] = values
        return values

    def texts(self, name: str) -> np.ndarray:
        """Return column ``name`` as stripped strings (n,) of dtype object, None where missing."""
        column = self.columns[name]
        values = column.astype(str).str.strip().to_numpy(dtype=object)
        values[column.isna().to_numpy()] = None
        return values

    def _not_a_number(self, i: int, name: str, why: str):
        raise DatasetError(f"{self.path}: row {self.row(i)}, column {name!r}: {self.raw(i, name)!r} is not a number, "
                           f"but {why}; every value must be a finite number (the columns were read as separated "
                           f"by {DELIMITERS[self.delimiter]}, as the header row is)")

    @cached_property
    def _checked(self) -> dict:  # the columns numbers() has checked already
        return {}

    @cached_property
    def _dates(self) -> dict:  # the date columns' days since 1970
        return {}

    @cached_property
    def _missing(self) -> dict:  # the columns' missing() found already
        return {}

    @cached_property
    def _has_missing(self) -> bool:
        return any(self.missing(name).any() for name in self.names)

    @cached_property
    def _numeric(self) -> dict:
        import pandas as pd

        out = {}
        for name in self.names:
            column = self.columns[name]
            if column.dtype == np.float64:  # the values themselves, never a copy: NaN already where missing
                out[name] = column.to_numpy()
                continue
            if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
                out[name] = column.to_numpy(dtype=np.float64, na_value=np.nan)
                continue
            out[name] = pd.to_numeric(column.astype(str).str.strip().where(column.notna()),
                                      errors="coerce").to_numpy(dtype=np.float64)
            if np.isnan(out[name][~self.missing(name)]).any() and (read := read_formatted(column)) is not None:
                out[name], how = read  # 1,234 or 12% or yes/no: numbers as people write them
                self.notes[name] = f"{self.path}: column {name!r} read as numbers ({how})"
        return out

    @cached_property
    def notes(self) -> dict:
        """Return {column: one-line notice} for each column read as numbers or dates from how people write them."""
        return {}

    def dates(self, name: str) -> np.ndarray:
        """Return date column ``name`` as days since 1970-01-01, float64 (n,), NaN where missing."""
        return self._dates[name]

    def is_date(self, name: str) -> bool:
        """Return whether column ``name`` holds dates (every cell year-first: 2007-11-11)."""
        return self._kinds[name] == "date"

    @cached_property
    def _kinds(self) -> dict:
        """Return each column's kind, number or text; DatasetError for a column mixing numbers and words."""
        kinds = {}
        for name in self.names:
            given = ~self.missing(name)
            is_number = ~np.isnan(self._numeric[name])
            if (is_number == given).all():
                kinds[name] = "number"
            elif not (is_number & given).any():
                days = read_dates(self.columns[name])
                kinds[name] = "text" if days is None else "date"
                if days is not None:
                    self._dates[name] = days
            else:
                i = int(np.flatnonzero(given & ~is_number)[0])
                self._not_a_number(i, name, "the column's other cells are numbers (a column is text only when "
                                   "none of its cells is a number)")
        return kinds

    @cached_property
    def _lines(self) -> list[tuple[int, list[str]]]:
        """Return (spreadsheet row, cells) of every data row: the plain-Python pass, for messages."""
        with open(self.path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=self.delimiter)
            next(row for row in reader if row)  # the header
            return [(reader.line_num, row) for row in reader if row]


def read_csv(path, *, min_rows: int = 1) -> Cells:
    """Return the cells of the CSV file at ``path``: header-named columns, at least ``min_rows`` data rows."""
    path = Path(path)
    names, delimiter = _header(path)
    columns = read_numbers_by_arrow(path, names, delimiter, MISSING)  # a table of numbers: block by block
    if columns is None:
        columns = read_by_arrow(path, names, delimiter)
    if columns is None:
        columns = read_by_pandas(path, names, delimiter)
    cells = Cells(path, names, columns, delimiter)
    if len(cells) < min_rows:
        raise DatasetError(f"{path} has {len(cells)} data row(s) below its header; it needs at least {min_rows}")
    if cells._has_missing:  # a short row reads as missing cells: tell the two apart
        for line, row in cells._lines:
            if len(row) != len(names):
                raise DatasetError(f"{path}: row {line} has {len(row)} values but the header names "
                                   f"{plural(len(names), 'column')}; give every row one value per column")
    return cells


# The column types pyarrow infers that are kept as it reads them: numbers, True/False (as pandas
# reads them too), and no value at all. Any other (a date, a time) is read again as the text it is.
_KEPT = ("is_integer", "is_floating", "is_boolean", "is_null")


def read_by_arrow(path: Path, names: tuple[str, ...], delimiter: str):
    """Return the file's columns, {name: pandas.Series}, read by pyarrow's CSV reader (all cores), or None when
    pyarrow is not installed or will not read the file (then pandas' C parser reads it, naming any bad row)."""
    try:
        import pyarrow as pa
        from pyarrow import csv as arrow_csv
    except ImportError:
        return None
    quoted = scan(path)[1]  # only a quoted cell can hold a line break (pyarrow is slower when told one may)
    parse = arrow_csv.ParseOptions(delimiter=delimiter, newlines_in_values=quoted)

    def convert(**options):
        return arrow_csv.ConvertOptions(null_values=list(MISSING), strings_can_be_null=True,
                                        quoted_strings_can_be_null=True, **options)
    try:
        table = arrow_csv.read_csv(path, parse_options=parse, convert_options=convert())
        if table.num_columns != len(names):
            return None
        redo = [name for name, kind in zip(table.column_names, table.schema.types)
                if not any(getattr(pa.types, test)(kind) for test in _KEPT)]
        if redo:  # dates and times as the text the file holds, as pandas' parser reads them
            texts = arrow_csv.read_csv(path, parse_options=parse, convert_options=convert(
                include_columns=redo, column_types={name: pa.string() for name in redo}))
            for name in redo:
                table = table.set_column(table.column_names.index(name), name, texts.column(name))
    except (pa.ArrowException, OSError):
        return None
    columns = {}
    for name, column in zip(names, table.columns):
        if pa.types.is_null(column.type):  # a column of missing cells: NaN, as pandas' parser gives
            column = column.cast(pa.float64())
        columns[name] = column.to_pandas()
    return columns


def _header(path: Path) -> tuple[tuple[str, ...], str]:
    """Return the column names and the delimiter of a CSV file, checked: each column named, once."""
    try:
        f = open(path, newline="", encoding="utf-8-sig")  # -sig: drops a spreadsheet's BOM
    except FileNotFoundError:
        raise DatasetError(f"CSV file {path} does not exist") from None
    except IsADirectoryError:
        raise DatasetError(f"{path} is a folder, not a CSV file") from None
    except OSError as e:
        raise DatasetError(f"cannot read CSV file {path}: {e.strerror or e}") from None
    with f:
        try:
            line = next((line for line in f if line.strip()), "")
            delimiter = max(DELIMITERS, key=line.count) if any(d in line for d in DELIMITERS) else ","
            header = next(csv.reader([line], delimiter=delimiter), None)
        except UnicodeDecodeError:
            raise DatasetError(f"{path} is not UTF-8 text; save it as CSV (UTF-8)") from None
        except csv.Error as e:
            raise DatasetError(f"{path}: its header row is not valid CSV ({e})") from None
    if not header:
        raise DatasetError(f"CSV file {path} is empty: it needs a header row of column names, then rows of values")
    names = tuple(name.strip() for name in header)
    for j, name in enumerate(names):
        if not name or name in names[:j]:
            raise DatasetError(f"{path}: column {j + 1} of the header is "
                               f"{'empty' if not name else f'a second {name!r}'}; give every column its own name")
    return names, delimiter
