"""Numeric CSV tables: features, a named target, and the standardisation to reuse on new rows.

A table is a CSV file with a header row of column names and numbers in every other cell. Errors
name the file, the row as a spreadsheet shows it (the header is row 1) and the column. The
lesson's house-price example (area, age -> price):

>>> import tempfile
>>> path = Path(tempfile.mkdtemp()) / "houses.csv"
>>> _ = path.write_text("area,age,price\\n100,5,300\\n80,20,200\\n120,1,400\\n")
>>> table = load_table(path, "price")
>>> table.feature_names, tuple(table.X.shape), tuple(table.y.shape)
(('area', 'age'), (3, 2), (3, 1))
>>> table.standardizer.mean
(100.0, 8.666666666666666)
>>> new = read_rows(path, table.feature_names)            # raw (3, 2), target column ignored
>>> bool(torch.allclose(table.standardizer.transform(new), table.X))
True
"""
import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import torch

from minidl.checks import plural
from minidl.errors import ConfigError, DatasetError


@dataclass(frozen=True)
class Standardizer:
    """Per-column (x - mean) / std with stored statistics, so new rows get the same transform."""

    mean: tuple[float, ...]
    std: tuple[float, ...]  # a constant column stores 1: centred, never divided by 0

    @classmethod
    def fit(cls, X: torch.Tensor) -> "Standardizer":
        """Return the standardizer of the columns of X (n, d): their mean and population std."""
        X = X.double()  # float64 statistics: prices near 1e6 would lose digits in float32
        std = X.std(0, correction=0)
        std = torch.where(X.amax(0) == X.amin(0), torch.ones_like(std), std)
        return cls(tuple(X.mean(0).tolist()), tuple(std.tolist()))

    @classmethod
    def identity(cls, d: int) -> "Standardizer":
        """Return the standardizer that leaves d columns unchanged (mean 0, std 1)."""
        return cls((0.0,) * d, (1.0,) * d)

    def transform(self, X: torch.Tensor) -> torch.Tensor:
        """Return (X - mean) / std for X (n, d), in X's dtype."""
        mean, std = (torch.tensor(v, dtype=torch.float64, device=X.device) for v in (self.mean, self.std))
        return ((X.double() - mean) / std).to(X.dtype)

    def inverse(self, Z: torch.Tensor) -> torch.Tensor:
        """Return Z * std + mean: standardised values (n, d) back in their own units."""
        mean, std = (torch.tensor(v, dtype=torch.float64, device=Z.device) for v in (self.mean, self.std))
        return (Z.double() * std + mean).to(Z.dtype)

    def to_dict(self) -> dict:
        """Return {"mean": [...], "std": [...]}, ready for JSON."""
        return {"mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, d: dict) -> "Standardizer":
        """Return the standardizer saved by `to_dict`."""
        try:
            mean, std = tuple(map(float, d["mean"])), tuple(map(float, d["std"]))
        except (KeyError, TypeError, ValueError) as e:
            raise DatasetError(f"not a saved standardizer ({e!r}): expected "
                               '{"mean": [numbers], "std": [numbers]}') from None
        if len(mean) != len(std) or not all(s > 0 for s in std):
            raise DatasetError(f"saved standardizer is inconsistent: {len(mean)} means, "
                               f"{len(std)} stds, all stds must be > 0")
        return cls(mean, std)


@dataclass(frozen=True, eq=False)
class Table:
    """A numeric table: standardised features X (n, d) float32 and the raw target y (n, 1) float32.

    y stays in its own units (a price is a price); `target_standardizer` holds its mean and std
    (always fitted) for a trainer that prefers to fit a standardised target and map predictions
    back with `.inverse`. `raw_X` keeps the features before standardisation, for `split`.
    """

    X: torch.Tensor
    y: torch.Tensor
    feature_names: tuple[str, ...]
    target: str
    standardizer: Standardizer
    target_standardizer: Standardizer
    raw_X: torch.Tensor = field(repr=False)
    standardize: bool = True

    def split(self, test_fraction=0.2, seed=0) -> tuple["Table", "Table"]:
        """Return (train, test) from a seeded permutation; statistics are fitted on train only."""
        n = len(self.y)
        n_test = round(n * test_fraction)
        if not 0 < test_fraction < 1 or not 1 <= n_test <= n - 1:
            raise ConfigError(f"test_fraction = {test_fraction} cannot split {n} rows into two "
                              "non-empty parts; use a fraction between 0 and 1 (and more rows)")
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        test_rows, train_rows = order[:n_test], order[n_test:]
        train = _build(self.raw_X[train_rows], self.y[train_rows], self.feature_names, self.target,
                       self.standardize)
        test = _build(self.raw_X[test_rows], self.y[test_rows], self.feature_names, self.target,
                      self.standardize, train.standardizer, train.target_standardizer)
        return train, test


def _build(raw_X, y, feature_names, target, standardize, standardizer=None, target_standardizer=None):
    """Return a Table, fitting whichever standardizers are not given."""
    if standardizer is None:
        standardizer = Standardizer.fit(raw_X) if standardize else Standardizer.identity(raw_X.shape[1])
    if target_standardizer is None:
        target_standardizer = Standardizer.fit(y)
    return Table(standardizer.transform(raw_X), y, feature_names, target, standardizer,
                 target_standardizer, raw_X, standardize)


def load_table(path, target, *, standardize=True) -> Table:
    """Return the CSV at `path` as a Table with `target` as y and every other column as a feature."""
    names, values = _read_csv(path, min_rows=2)
    if target not in names:
        raise DatasetError(f"{path} has no column {target!r}; its columns are: {', '.join(names)}")
    if len(names) < 2:
        raise DatasetError(f"{path} has only the target column {target!r}; add feature columns")
    features = [i for i, name in enumerate(names) if name != target]
    j = names.index(target)
    return _build(values[:, features].float(), values[:, j:j + 1].float(),
                  tuple(names[i] for i in features), target, standardize)


def read_rows(path, feature_names) -> torch.Tensor:
    """Return the columns `feature_names` of the CSV at `path` as raw float32 (n, d) for predictions.

    Other columns (the target, if present) are checked but ignored; apply the table's
    `standardizer.transform` before feeding a model.
    """
    names, values = _read_csv(path, min_rows=1)
    missing = [name for name in feature_names if name not in names]
    if missing:
        raise DatasetError(f"{path} lacks the column(s) {', '.join(map(repr, missing))} the model "
                           f"needs; its columns are: {', '.join(names)}")
    return values[:, [names.index(name) for name in feature_names]].float()


def _read_csv(path, min_rows: int) -> tuple[tuple[str, ...], torch.Tensor]:
    """Return (column names, float64 values (n, columns)) of a numeric CSV with a header row."""
    path = Path(path)
    try:
        f = open(path, newline="", encoding="utf-8-sig")  # -sig: drops a spreadsheet's BOM
    except FileNotFoundError:
        raise DatasetError(f"CSV file {path} does not exist") from None
    except OSError as e:
        raise DatasetError(f"cannot read CSV file {path}: {e.strerror or e}") from None
    rows = []
    with f:
        try:
            delimiter = _delimiter(f)
            reader = csv.reader(f, delimiter=delimiter)
            header = next((row for row in reader if row), None)
            if header is None:
                raise DatasetError(f"CSV file {path} is empty: it needs a header row of column "
                                   "names, then rows of numbers")
            names = tuple(name.strip() for name in header)
            for j, name in enumerate(names):
                if not name or name in names[:j]:
                    raise DatasetError(f"{path}: row {reader.line_num}, column {j + 1} of the header "
                                       f"is {'empty' if not name else f'a second {name!r}'}; give "
                                       "every column its own name")
            for row in reader:
                if not row:  # a blank line
                    continue
                r = reader.line_num
                if len(row) != len(names):
                    raise DatasetError(f"{path}: row {r} has {len(row)} values but the header names "
                                       f"{plural(len(names), 'column')}; give every row one value per column")
                rows.append([_number(path, r, name, text, delimiter) for name, text in zip(names, row)])
        except csv.Error as e:
            raise DatasetError(f"{path}: row {reader.line_num} is not valid CSV ({e})") from None
        except UnicodeDecodeError:
            raise DatasetError(f"{path} is not UTF-8 text; save it as CSV (UTF-8)") from None
    if len(rows) < min_rows:
        raise DatasetError(f"{path} has {len(rows)} data row(s) below its header; it needs at "
                           f"least {min_rows}")
    return names, torch.tensor(rows, dtype=torch.float64).reshape(len(rows), len(names))


DELIMITERS = {",": "commas", ";": "semicolons", "\t": "tabs"}
FLOAT32_MAX = 3.4028234663852886e38  # the models train in float32: a larger value would be inf


def _delimiter(f) -> str:
    """Return the delimiter of a CSV file: whichever of DELIMITERS its header line holds most of.

    Spreadsheets set to a European locale write semicolons, and some tools tabs; ``f`` is left at
    its start.
    """
    header = next((line for line in f if line.strip()), "")
    f.seek(0)
    return max(DELIMITERS, key=header.count) if any(d in header for d in DELIMITERS) else ","


def _number(path: Path, row: int, column: str, text: str, delimiter: str = ",") -> float:
    """Return the finite number in the cell `text`, else raise DatasetError naming the cell."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if math.isfinite(value) and abs(value) > FLOAT32_MAX:
        raise DatasetError(f"{path}: row {row}, column {column!r}: {text.strip()} is beyond float32's range "
                           f"(largest {FLOAT32_MAX:.3g}), in which minidl trains; scale the column down")
    if math.isfinite(value):
        return value
    if not text.strip():
        raise DatasetError(f"{path}: row {row}, column {column!r} is empty; fill in a number "
                           "or delete the row")
    raise DatasetError(f"{path}: row {row}, column {column!r}: {text.strip()!r} is not a number; "
                       f"every value must be a finite number (the columns were read as separated by "
                       f"{DELIMITERS[delimiter]}, as the header row is)")
