"""A CSV file's columns read by pandas' C parser: the reader of the files pyarrow will not read (a short row,
text that is not UTF-8), which names the row it cannot read."""
from __future__ import annotations

import re
from pathlib import Path

from minidl.errors import plural
from minidl.errors import DatasetError

MISSING = ("", "NA", "N/A", "n/a", "na", "nan", "NaN", "NAN")  # cells that hold no value, for every reader


def read_by_pandas(path: Path, names: tuple[str, ...], delimiter: str):
    """Return the file's columns, {name: pandas.Series}, read by pandas' C parser; DatasetError naming a bad row."""
    import pandas as pd

    try:
        frame = pd.read_csv(path, sep=delimiter, header=0, index_col=False, na_values=list(MISSING),
                            keep_default_na=False, encoding="utf-8-sig", low_memory=False)
    except UnicodeDecodeError:
        raise DatasetError(f"{path} is not UTF-8 text; save it as CSV (UTF-8)") from None
    except pd.errors.ParserError as e:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(e))
        if found:
            _, line, saw = map(int, found.groups())
            raise DatasetError(f"{path}: row {line} has {saw} values but the header names "
                               f"{plural(len(names), 'column')}; give every row one value per column") from None
        raise DatasetError(f"{path} is not valid CSV ({str(e).strip().splitlines()[-1]})") from None
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame(columns=names)
    return {name: frame.iloc[:, j] for j, name in enumerate(names)}
