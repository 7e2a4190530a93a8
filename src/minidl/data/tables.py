"""Tables (CSV) as a model's data: features encoded and standardised, a target to classify or regress.

Number columns are standardised with the training rows' mean and std; a text column becomes one 0/1
input per category the training rows hold (``island=Biscoe``, ...), standardised likewise. Missing
cells (see minidl.data.csv_file) are refused, naming row and column, unless ``fill_missing``: then a
number takes the training mean and text the category ``missing``. Everything learned (columns,
categories, means, stds, classes) is in the table's :meth:`Table.facts`, so new rows get the same
transform, and a category or column training never saw is refused by name, never read as zeros.
The lesson's house-price example (area, age -> price):

>>> import tempfile
>>> path = Path(tempfile.mkdtemp()) / "houses.csv"
>>> _ = path.write_text("area,age,price\\n100,5,300\\n80,20,200\\n120,1,400\\n")
>>> table = load_table(path, "price")
>>> table.feature_names, tuple(table.X.shape), tuple(table.y.shape)
(('area', 'age'), (3, 2), (3, 1))
>>> table.standardizer.mean
(100.0, 8.666666666666666)
>>> new = read_rows(path, table.encoder, table.target)   # raw (3, 2), the target column ignored
>>> bool(torch.allclose(table.standardizer.transform(new), table.X))
True
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from minidl.data.csv_file import Cells, read_csv
from minidl.data.split import stratified_split
from minidl.errors import ConfigError, DatasetError

FILLED = "missing"  # the category a missing text cell becomes under fill_missing


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
        return (X.double() - mean).div_(std).to(X.dtype)

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


@dataclass(frozen=True)
class Column:
    """A feature column: a number (``categories`` None, ``mean`` its training mean) or text (its categories)."""

    name: str
    categories: tuple[str, ...] | None = None
    mean: float = 0.0

    @property
    def inputs(self) -> tuple[str, ...]:
        """Return the names of the model inputs this column becomes: itself, or ``name=category`` each."""
        return (self.name,) if self.categories is None else tuple(f"{self.name}={c}" for c in self.categories)


@dataclass(frozen=True)
class Encoder:
    """How a table's feature columns become model inputs (before standardisation), and its missing-cell rule."""

    columns: tuple[Column, ...]
    fill_missing: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        """Return the input names, in the model's order."""
        return tuple(name for column in self.columns for name in column.inputs)

    @classmethod
    def fit(cls, cells: Cells, rows, names, fill_missing: bool = False) -> "Encoder":
        """Return the encoder of columns ``names``, its categories and means taken from ``rows`` only."""
        columns = []
        for name in names:
            if cells.is_text(name):
                seen = {t for t in cells.texts(name)[rows] if t is not None}
                columns.append(Column(name, tuple(sorted(seen | ({FILLED} if fill_missing else set())))))
            else:
                values = cells.numbers(name)[rows]
                gaps = np.isnan(values)
                given = values[~gaps] if gaps.any() else values
                columns.append(Column(name, mean=float(given.mean()) if len(given) else 0.0))
        return cls(tuple(columns), fill_missing)

    def encode(self, cells: Cells, rows=None) -> torch.Tensor:
        """Return the inputs of ``rows`` (all by default) as float64 (n, len(names)), unstandardised.

        The tensor is a (n, d) view of a column-major block: each input is written as one contiguous
        row of a (d, n) array (a million-row table is copied column by column, never cell by cell);
        take ``.contiguous()`` of what a model reads."""
        rows = np.arange(len(cells)) if rows is None else np.asarray(rows)
        if not self.fill_missing and (gap := cells.first_missing([c.name for c in self.columns], rows)):
            i, name = gap
            raise DatasetError(f"{cells.path}: row {cells.row(i)}, column {name!r} is "
                               f"{_shown(cells, i, name)}; fill it in, delete the row, or train with --fill-missing "
                               "(numbers: the training mean; text: a 'missing' category)")
        import pandas as pd  # here, not at the top: a run on images never pays for importing it

        block, start = np.empty((len(self.names), len(rows))), 0
        for column in self.columns:
            if column.categories is None:
                # mode="clip": rows are always in range, and numpy's default buffers the whole take
                np.take(cells.numbers(column.name), rows, out=block[start], mode="clip")
                block[start, np.isnan(block[start])] = column.mean
                start += 1
                continue
            if not cells.is_text(column.name) and not cells.missing(column.name)[rows].all():
                raise DatasetError(f"{cells.path}: column {column.name!r} holds numbers, but the training table's "
                                   f"held text ({', '.join(column.categories)}); give the same kind of values")
            texts = cells.texts(column.name)[rows]
            texts[pd.isna(texts)] = FILLED
            codes = pd.Categorical(texts, categories=list(column.categories)).codes  # -1: a category unseen
            if (codes < 0).any():
                i = int(np.flatnonzero(codes < 0)[0])
                raise DatasetError(f"{cells.path}: row {cells.row(int(rows[i]))}, column {column.name!r}: "
                                   f"{texts[i]!r} is a category the training table never had (it had "
                                   f"{', '.join(column.categories)}); a model cannot read an unseen category")
            block[start:start + len(column.categories)] = np.eye(len(column.categories))[:, codes]
            start += len(column.categories)
        return torch.from_numpy(block).t()

    def to_dict(self) -> dict:
        """Return the encoder as JSON-ready data (the inverse of :meth:`from_dict`)."""
        return {"fill_missing": self.fill_missing,
                "columns": [{"name": c.name, "categories": list(c.categories)} if c.categories is not None
                            else {"name": c.name, "mean": c.mean} for c in self.columns]}

    @classmethod
    def from_dict(cls, d: dict) -> "Encoder":
        """Return the encoder saved by :meth:`to_dict`."""
        try:
            columns = tuple(Column(c["name"], tuple(map(str, c["categories"])) if "categories" in c else None,
                                   float(c.get("mean", 0.0))) for c in d["columns"])
            return cls(columns, bool(d.get("fill_missing", False)))
        except (KeyError, TypeError, ValueError) as e:
            raise DatasetError(f"not a saved table encoder ({e!r})") from None

    @classmethod
    def numbers(cls, names) -> "Encoder":
        """Return the encoder of number columns ``names`` (a run saved before text columns existed)."""
        return cls(tuple(Column(name) for name in names))


def _shown(cells: Cells, i: int, name: str) -> str:
    """Return 'empty' or "missing ('NA')" for the missing cell of data row ``i``, column ``name``."""
    text = cells.raw(i, name)
    return "empty" if not text else f"missing ({text!r})"


@dataclass(frozen=True, eq=False)
class Table:
    """A table's rows ready for a model: standardised inputs X (n, d) float32 and the target y.

    y is (n,) int64 class indices into ``classes`` for a classifier; else (n, 1) float32 in the
    target's own units (its log with ``log_target``), with ``target_standardizer`` fitted for a
    trainer that fits a standardised target. ``raw_X`` holds the inputs before standardisation
    (float64).
    """

    X: torch.Tensor
    y: torch.Tensor
    feature_names: tuple[str, ...]
    target: str
    standardizer: Standardizer
    target_standardizer: Standardizer | None
    raw_X: torch.Tensor = field(repr=False)
    encoder: Encoder = field(repr=False)
    classes: tuple[str, ...] = ()
    log_target: bool = False
    standardize: bool = True
    cells: Cells = field(default=None, repr=False)
    rows: np.ndarray = field(default=None, repr=False)

    def split(self, test_fraction=0.2, seed=0) -> tuple["Table", "Table"]:
        """Return (train, test) from a seeded permutation (per class, for a classifier); statistics from train."""
        n, n_test = len(self.y), round(len(self.y) * test_fraction)
        if not 0 < test_fraction < 1 or not 1 <= n_test <= n - 1:
            raise ConfigError(f"test_fraction = {test_fraction} cannot split {n} rows into two "
                              "non-empty parts; use a fraction between 0 and 1 (and more rows)")
        if self.classes:  # each class held out in the same share, by the rule image folders use
            train, test = stratified_split(self.y.numpy(), test_fraction, seed)
            if not len(test):
                raise ConfigError(f"test_fraction = {test_fraction} holds out no row of any class (the largest has "
                                  f"{int(np.bincount(self.y.numpy()).max())} rows); give a larger fraction")
            return self._parts(train, test)
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).numpy()
        return self._parts(order[n_test:], order[:n_test])

    def fold(self, i: int, k: int, seed=0) -> tuple["Table", "Table"]:
        """Return (train, test) for fold ``i`` of ``k`` (1-based): a seeded partition, stratified for classes."""
        n = len(self.y)
        if not 2 <= k <= n or not 1 <= i <= k:
            raise ConfigError(f"fold {i} of {k} cannot be cut from {n} rows; use 2 <= --folds <= {n}")
        generator = torch.Generator().manual_seed(seed)
        fold_of = np.empty(n, dtype=np.int64)
        groups = [np.arange(n)] if not self.classes else [np.flatnonzero(self.y.numpy() == c)
                                                           for c in range(len(self.classes))]
        start = 0
        for members in groups:  # each class dealt round the folds in turn, from where the last left off
            members = members[torch.randperm(len(members), generator=generator).numpy()]
            fold_of[members] = (start + np.arange(len(members))) % k
            start += len(members)
        return self._parts(np.flatnonzero(fold_of != i - 1), np.flatnonzero(fold_of == i - 1))

    def _parts(self, train_rows, test_rows) -> tuple["Table", "Table"]:
        rows = self.rows if self.rows is not None else np.arange(len(self.y))
        train = _build(self.cells, rows[train_rows], self.target, self.classes, self.log_target, self.standardize,
                       fill_missing=self.encoder.fill_missing)
        return train, train.rows_of(self.cells, rows[test_rows])

    def rows_of(self, cells: Cells | str | Path, rows=None) -> "Table":
        """Return other rows (of this table's cells, or of another CSV file: a test table) through this
        table's encoder, classes and standardizers."""
        if not isinstance(cells, Cells):
            cells = read_csv(cells)
            _check_columns(cells, self.encoder, self.target, need_target=True)
        return _build(cells, np.arange(len(cells)) if rows is None else rows, self.target, self.classes,
                      self.log_target, self.standardize, like=self)

    def facts(self) -> dict:
        """Return everything a run needs to read new rows as these were read, ready for JSON."""
        facts = {"features": list(self.feature_names), "target": self.target, "columns": self.encoder.to_dict(),
                 "standardizer": self.standardizer.to_dict()}
        if self.target_standardizer is not None:
            facts.update(target_standardizer=self.target_standardizer.to_dict(), log_target=self.log_target)
        return facts


def load_table(path, target, *, classify=False, fill_missing=False, log_target=False, standardize=True) -> Table:
    """Return the CSV at ``path`` as a Table with ``target`` as y and every other column as a feature.

    ``classify``: the target's distinct values (text or whole numbers) are the classes, sorted;
    ``log_target``: a regression fits the log of a positive target (prices).
    """
    if classify and log_target:
        raise ConfigError("a classifier's target is classes, which have no log; log_target is for regression")
    cells = read_csv(path, min_rows=2)
    if target not in cells.names:
        raise DatasetError(f"{path} has no column {target!r}; its columns are: {', '.join(cells.names)}")
    if len(cells.names) < 2:
        raise DatasetError(f"{path} has only the target column {target!r}; add feature columns")
    rows = np.arange(len(cells))
    return _build(cells, rows, target, _classes(cells, target) if classify else (), log_target, standardize,
                  fill_missing=fill_missing)


def _classes(cells: Cells, target: str) -> tuple[str, ...]:
    """Return the target column's classes, sorted: text, or whole numbers in numeric order."""
    _check_target_complete(cells, target, np.arange(len(cells)))
    if cells.is_text(target):
        return tuple(sorted(set(cells.texts(target))))
    values = np.unique(cells.numbers(target))
    if not (values == np.round(values)).all():
        odd = values[values != np.round(values)][0]
        raise DatasetError(f"{cells.path}: the target {target!r} holds numbers that are not whole ({odd:g}, ...); "
                           "a classifier's target holds classes (text or whole numbers): to predict a value "
                           "train linreg, or mlp --task regress")
    return tuple(str(int(v)) for v in values)


def _class_names(cells: Cells, target: str, rows) -> np.ndarray:
    if cells.is_text(target):
        return cells.texts(target)[rows]
    return np.array([str(int(v)) if v == round(v) else f"{v:g}" for v in cells.numbers(target)[rows]], dtype=object)


def _check_target_complete(cells: Cells, target: str, rows) -> None:
    gap = cells.first_missing([target], rows)
    if gap:
        raise DatasetError(f"{cells.path}: row {cells.row(gap[0])}, column {target!r} (the target) is "
                           f"{_shown(cells, gap[0], target)}; "
                           "delete the row (--fill-missing fills features, never the target)")


def _build(cells, rows, target, classes, log_target, standardize, *, fill_missing=False, like=None) -> Table:
    """Return a Table of ``rows``: the encoder and standardizers fitted, or ``like``'s (a training Table)."""
    features = [name for name in cells.names if name != target]
    encoder = like.encoder if like is not None else Encoder.fit(cells, rows, features, fill_missing)
    raw_X = encoder.encode(cells, rows)
    _check_target_complete(cells, target, rows)
    if classes:
        names, index = _class_names(cells, target, rows), {c: k for k, c in enumerate(classes)}
        unseen = [k for k, name in enumerate(names) if name not in index]
        if unseen:
            i = unseen[0]
            raise DatasetError(f"{cells.path}: row {cells.row(int(rows[i]))}, column {target!r}: the class "
                               f"{names[i]!r} is not one the training table has ({', '.join(classes)})")
        y = torch.tensor([index[name] for name in names], dtype=torch.int64)
    else:
        values = cells.numbers(target)[rows]
        if log_target and (values <= 0).any():
            i = int(np.flatnonzero(values <= 0)[0])
            raise DatasetError(f"{cells.path}: row {cells.row(int(rows[i]))}, column {target!r}: {values[i]:g} has no "
                               "log; --metric log-rmse needs a positive target (a price)")
        y = torch.from_numpy(np.log(values) if log_target else values).reshape(-1, 1).float()
    if like is not None:
        standardizer, target_standardizer = like.standardizer, like.target_standardizer
    else:
        standardizer = Standardizer.fit(raw_X) if standardize else Standardizer.identity(raw_X.shape[1])
        target_standardizer = None if classes else Standardizer.fit(y)
    X = standardizer.transform(raw_X).float().contiguous()  # row-major, as a Loader gathers it
    return Table(X, y, encoder.names, target, standardizer, target_standardizer, raw_X, encoder, tuple(classes),
                 log_target, standardize, cells, np.asarray(rows))


def _check_columns(cells: Cells, encoder: Encoder, target: str | None, need_target: bool = False) -> None:
    """Raise DatasetError for a column the model needs that ``cells`` lacks, or one it was never trained on."""
    needed = [c.name for c in encoder.columns] + ([target] if need_target and target else [])
    missing = [name for name in needed if name not in cells.names]
    if missing:
        raise DatasetError(f"{cells.path} lacks the column(s) {', '.join(map(repr, missing))} the model "
                           f"needs; its columns are: {', '.join(cells.names)}")
    extra = [name for name in cells.names if name not in needed and name != target]
    if extra:
        raise DatasetError(f"{cells.path} has the column(s) {', '.join(map(repr, extra))}, which the model was not "
                           f"trained on (its columns: {', '.join(needed)}); remove them")


def read_rows(path, encoder: Encoder, target: str | None = None) -> torch.Tensor:
    """Return the rows of the CSV at ``path`` as raw float32 model inputs (n, d), encoded as ``encoder`` says.

    A ``target`` column, if present, is ignored; apply the table's ``standardizer.transform`` before
    feeding a model (minidl.predict does).
    """
    cells = read_csv(path, min_rows=1)
    _check_columns(cells, encoder, target)
    return encoder.encode(cells).float().contiguous()
