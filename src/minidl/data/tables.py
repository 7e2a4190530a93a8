"""Tables (CSV) as a model's data: features encoded and standardised, a target to classify or regress.

Which columns are inputs is minidl.data.column_roles' rule (an identifier column left out, ``columns``
and ``drop``); each becomes inputs by minidl.data.encoding (numbers, dates, text one-hot with rare
categories pooled), standardised with the training rows' mean and std. Missing cells (see
minidl.data.csv_file) are refused, naming row and column, unless ``fill_missing``: then a number
takes the training mean and text the category ``missing``. Everything learned (columns, categories,
means, stds, classes) is in the table's :meth:`Table.facts`, so new rows get the same transform.
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
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from minidl.data.column_roles import FILLED, feature_columns
from minidl.data.csv_file import Cells, read_csv
from minidl.data.encoding import Column, Encoder, shown
from minidl.data.notices import few, held, say
from minidl.data.split import stratified_split
from minidl.data.standardizer import Standardizer
from minidl.errors import ConfigError, DatasetError

__all__ = ["FILLED", "Column", "Encoder", "Standardizer", "Table", "load_table", "read_rows"]


@dataclass(frozen=True, eq=False)
class Table:
    """A table's rows ready for a model: standardised inputs X (n, d) float32 and the target y.

    y is (n,) int64 class indices into ``classes`` for a classifier; else (n, 1) float32 in the
    target's own units (its log with ``log_target``), with ``target_standardizer`` fitted for a
    trainer that fits a standardised target. ``raw_X`` holds the inputs before standardisation
    (float64). X, raw_X and the standardizer are worked out when first asked for: the whole table
    that a run splits is never encoded itself, only its parts.
    """

    y: torch.Tensor
    feature_names: tuple[str, ...]
    target: str
    target_standardizer: Standardizer | None
    encoder: Encoder = field(repr=False)
    given_standardizer: Standardizer | None = field(default=None, repr=False)  # a training table's, for its test rows
    classes: tuple[str, ...] = ()
    log_target: bool = False
    standardize: bool = True
    cells: Cells = field(default=None, repr=False)
    rows: np.ndarray = field(default=None, repr=False)
    roles: tuple = field(default=((), (), ()), repr=False)  # (input columns, ids kept whole, columns left out)

    @cached_property
    def _inputs(self) -> tuple[torch.Tensor, Standardizer]:
        """Return (X, standardizer): the encoded rows standardised, a column at a time (the statistics in one
        pass, X in a second), so the float64 encoding of the whole table is never held."""
        standardizer = self.given_standardizer
        if standardizer is None and not self.standardize:
            standardizer = Standardizer.identity(len(self.feature_names))
        if standardizer is None:
            fitted = [Standardizer.fit(torch.from_numpy(part).t())
                      for _, part in self.encoder.parts(self.cells, self.rows, fitted_on=True)]
            standardizer = Standardizer(sum((f.mean for f in fitted), ()), sum((f.std for f in fitted), ()))
        X = torch.empty((len(self.rows), len(self.feature_names)), dtype=torch.float32)  # row-major, as a Loader gathers
        for start, part in self.encoder.parts(self.cells, self.rows, fitted_on=self.given_standardizer is None):
            end = start + len(part)
            columns = Standardizer(standardizer.mean[start:end], standardizer.std[start:end])
            X[:, start:end] = columns.transform(torch.from_numpy(part).t(), torch.float32)
        return X, standardizer

    @property
    def X(self) -> torch.Tensor:
        """Return the standardised inputs, float32 (n, d)."""
        return self._inputs[0]

    @property
    def standardizer(self) -> Standardizer:
        """Return the standardizer of the inputs: the training rows' statistics."""
        return self.given_standardizer or self._inputs[1]

    @cached_property
    def raw_X(self) -> torch.Tensor:
        """Return the inputs before standardisation, float64 (n, d)."""
        return self.encoder.encode(self.cells, self.rows, fitted_on=self.given_standardizer is None)

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
        _say_classes_left_out(self, train_rows, test_rows)
        train = _build(self.cells, rows[train_rows], self.target, self.classes, self.log_target, self.standardize,
                       fill_missing=self.encoder.fill_missing, roles=self.roles)
        return train, train.rows_of(self.cells, rows[test_rows])

    def rows_of(self, cells: Cells | str | Path, rows=None) -> "Table":
        """Return other rows (of this table's cells, or of another CSV file: a test table) through this
        table's encoder, classes and standardizers."""
        if not isinstance(cells, Cells):
            cells = read_csv(cells)
            _check_columns(cells, self.encoder, self.target, need_target=True)
        return _build(cells, np.arange(len(cells)) if rows is None else rows, self.target, self.classes,
                      self.log_target, self.standardize, like=self)

    def counts(self) -> dict:
        """Return, for a run's summary, the categories each many-category column pooled into ``other``, if any."""
        pooled = {c.name: c.pooled for c in self.encoder.columns if c.pooled}
        return {"pooled_categories": pooled} if pooled else {}

    def facts(self) -> dict:
        """Return everything a run needs to read new rows as these were read, ready for JSON."""
        facts = {"features": list(self.feature_names), "target": self.target, "columns": self.encoder.to_dict(),
                 "standardizer": self.standardizer.to_dict()}
        if self.target_standardizer is not None:
            facts.update(target_standardizer=self.target_standardizer.to_dict(), log_target=self.log_target)
        return facts


def load_table(path, target, *, classify=False, fill_missing=False, log_target=False, standardize=True,
               columns=(), drop=(), keep_ids=False) -> Table:
    """Return the CSV at ``path`` as a Table with ``target`` as y and the other columns as features.

    ``classify``: the target's distinct values (text or whole numbers) are the classes, sorted;
    ``log_target``: a regression fits the log of a positive target (prices); ``columns`` / ``drop``:
    only these inputs / not these; ``keep_ids``: keep a column of identifiers (minidl.data.column_roles).
    """
    if classify and log_target:
        raise ConfigError("a classifier's target is classes, which have no log; log_target is for regression")
    cells = read_csv(path, min_rows=2)
    if target not in cells.names:
        raise DatasetError(f"{path} has no column {target!r}; its columns are: {', '.join(cells.names)}")
    if len(cells.names) < 2:
        raise DatasetError(f"{path} has only the target column {target!r}; add feature columns")
    features, whole = feature_columns(cells, target, columns=columns, drop=drop, keep_ids=keep_ids)
    roles = (tuple(features), whole, tuple(name for name in cells.names if name not in features and name != target))
    for name in features:
        if name in cells.notes:
            say(cells.notes[name])
        elif cells.is_date(name):
            say(f"{path}: column {name!r} read as dates: three inputs, the days since the earliest, the year "
                "and the month")
    rows = np.arange(len(cells))
    return _build(cells, rows, target, _classes(cells, target) if classify else (), log_target, standardize,
                  fill_missing=fill_missing, roles=roles, encode=False)


def _classes(cells: Cells, target: str) -> tuple[str, ...]:
    """Return the target column's classes, sorted: text, or whole numbers in numeric order."""
    _check_target_complete(cells, target, np.arange(len(cells)))
    if cells.is_text(target):
        classes = tuple(sorted(set(cells.texts(target))))
        _check_classes(cells, target, classes)
        return classes
    values = np.unique(cells.numbers(target))
    if not (values == np.round(values)).all():
        odd = values[values != np.round(values)][0]
        raise DatasetError(f"{cells.path}: the target {target!r} holds numbers that are not whole ({odd:g}, ...); "
                           "a classifier's target holds classes (text or whole numbers): to predict a value "
                           "train linreg, or mlp --task regress")
    classes = tuple(str(int(v)) for v in values)
    _check_classes(cells, target, classes)
    return classes


def _check_classes(cells: Cells, target: str, classes) -> None:
    if len(classes) < 2:
        raise DatasetError(f"{cells.path}: the target {target!r} holds one class only ({classes[0]!r}); a classifier "
                           "needs at least two: give rows of another class, or predict a value (linreg)")


def _say_classes_left_out(table: Table, train_rows, test_rows) -> None:
    """Say in one line which classes a split leaves without training or test rows."""
    if not table.classes:
        return
    y = table.y.numpy()
    for rows, part in ((train_rows, "training"), (test_rows, "test")):
        absent = [table.classes[c] for c in sorted(set(range(len(table.classes))) - set(y[rows].tolist()))]
        if absent:
            say(f"{table.cells.path}: the {part} rows of this split have no row of class {few(map(repr, absent))}"
                f" ({'it cannot be learned' if part == 'training' else 'its test figures read null'})")


def _class_names(cells: Cells, target: str, rows) -> np.ndarray:
    if cells.is_text(target):
        return cells.texts(target)[rows]
    return np.array([str(int(v)) if v == round(v) else f"{v:g}" for v in cells.numbers(target)[rows]], dtype=object)


def _check_target_complete(cells: Cells, target: str, rows) -> None:
    gap = cells.first_missing([target], rows)
    if gap:
        raise DatasetError(f"{cells.path}: row {cells.row(gap[0])}, column {target!r} (the target) is "
                           f"{shown(cells, gap[0], target)}; "
                           "delete the row (--fill-missing fills features, never the target)")


def _build(cells, rows, target, classes, log_target, standardize, *, fill_missing=False, like=None,
           roles=((), (), ()), encode=True) -> Table:
    """Return a Table of ``rows``: the encoder and standardizers fitted, or ``like``'s (a training Table);
    ``encode``: work out X now (its errors raised here), else when first asked for."""
    features, whole, left_out = like.roles if like is not None else roles
    encoder = like.encoder if like is not None else Encoder.fit(cells, rows, features, fill_missing, whole=whole,
                                                                left_out=left_out)
    encoder.check_complete(cells, rows)
    _check_target_complete(cells, target, rows)
    if classes:
        names, index = _class_names(cells, target, rows), {c: k for k, c in enumerate(classes)}
        unseen = [k for k, name in enumerate(names) if name not in index]
        if unseen:
            i = unseen[0]
            raise DatasetError(f"{cells.path}: row {cells.row(int(rows[i]))}, column {target!r}: the class "
                               f"{names[i]!r} is not one the training table has ({few(classes)})")
        y = torch.tensor([index[name] for name in names], dtype=torch.int64)
    else:
        values = cells.numbers(target)[rows]
        if log_target and (values <= 0).any():
            i = int(np.flatnonzero(values <= 0)[0])
            raise DatasetError(f"{cells.path}: row {cells.row(int(rows[i]))}, column {target!r}: {values[i]:g} has no "
                               "log; --metric log-rmse needs a positive target (a price)")
        y = torch.from_numpy(np.log(values) if log_target else values).reshape(-1, 1).float()
    target_standardizer = like.target_standardizer if like is not None else None if classes else Standardizer.fit(y)
    table = Table(y, encoder.names, target, target_standardizer, encoder, like.standardizer if like is not None else None,
                  tuple(classes), log_target, standardize, cells, np.asarray(rows),
                  like.roles if like is not None else roles)
    if encode:
        table.X  # noqa: B018 (encoded now: an unseen category is refused where the rows are read)
    return table


def _check_columns(cells: Cells, encoder: Encoder, target: str | None, need_target: bool = False) -> None:
    """Raise DatasetError for a column the model needs that ``cells`` lacks, or one it was never trained on."""
    needed = [c.name for c in encoder.columns] + ([target] if need_target and target else [])
    missing = [name for name in needed if name not in cells.names]
    if missing:
        raise DatasetError(f"{cells.path} lacks the column(s) {few(map(repr, missing))} the model "
                           f"needs; its columns are: {few(cells.names)}")
    extra = [name for name in cells.names if name not in needed and name != target and name not in encoder.left_out]
    if extra:
        raise DatasetError(f"{cells.path} has the column(s) {few(map(repr, extra))}, which the model was not "
                           f"trained on (its columns: {few(needed)}); remove them")


def read_rows(path, encoder: Encoder, target: str | None = None) -> torch.Tensor:
    """Return the rows of the CSV at ``path`` as raw float32 model inputs (n, d), encoded as ``encoder`` says.

    A ``target`` column, if present, is ignored; apply the table's ``standardizer.transform`` before
    feeding a model (minidl.predict does).
    """
    with held():
        cells = read_csv(path, min_rows=1)
        _check_columns(cells, encoder, target)
        return encoder.encode(cells).float().contiguous()
