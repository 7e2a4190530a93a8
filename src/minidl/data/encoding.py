"""How a table's feature columns become model inputs, before standardisation.

A number column is one input (a missing cell, under ``fill_missing``, takes the training mean); a
date column three (minidl.data.dates: days since the training rows' earliest, year, month); a text
column one 0/1 input per category (``island=Biscoe``, ...), its rare categories pooled into
``other`` when it has many (minidl.data.column_roles). A category training never saw is refused by
name, or, in a column that pools, counted as ``other`` with a notice. Everything learned is in
:meth:`Encoder.to_dict`, so new rows get the same transform.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from minidl.errors import check_fits_in_memory, size
from minidl.data.column_roles import FILLED, MANY, OTHER, pooled_categories
from minidl.data.csv_file import Cells
from minidl.data.dates import PARTS, date_parts
from minidl.data.notices import few, say
from minidl.errors import DatasetError


@dataclass(frozen=True)
class Column:
    """A feature column: a number (``mean`` its training mean), a date (``origin``: the training rows'
    earliest, days since 1970; ``mean`` their mean) or text (its ``categories``; ``pooled`` of them in ``other``)."""

    name: str
    categories: tuple[str, ...] | None = None
    mean: float = 0.0
    origin: float | None = None
    pooled: int = 0

    @property
    def inputs(self) -> tuple[str, ...]:
        """Return the names of the model inputs this column becomes: itself, ``name (days)`` ..., or ``name=category``."""
        if self.origin is not None:
            return tuple(f"{self.name} ({part})" for part in PARTS)
        return (self.name,) if self.categories is None else tuple(f"{self.name}={c}" for c in self.categories)

    @property
    def pools(self) -> bool:
        """Return whether unseen categories of this text column count as ``other``."""
        return self.pooled > 0 or (self.categories is not None and OTHER in self.categories and len(self.categories) > MANY)

    @classmethod
    def fit(cls, cells: Cells, rows, name: str, fill_missing: bool, whole: bool = False) -> "Column":
        """Return column ``name`` learned from ``rows``: its categories, or its mean (and a date's origin)."""
        if cells.is_text(name):
            categories, pooled = pooled_categories(cells.texts(name)[rows], fill_missing, whole)
            return cls(name, categories, pooled=pooled)
        values = cells.dates(name)[rows] if cells.is_date(name) else cells.numbers(name)[rows]
        given = values[~np.isnan(values)]
        mean = float(given.mean()) if len(given) else 0.0
        return cls(name, mean=mean, origin=(float(given.min()) if len(given) else 0.0) if cells.is_date(name) else None)

    def to_dict(self) -> dict:
        """Return the column as JSON-ready data."""
        if self.categories is not None:
            return {"name": self.name, "categories": list(self.categories), **({"pooled": self.pooled} if self.pooled else {})}
        return {"name": self.name, "mean": self.mean, **({"origin": self.origin} if self.origin is not None else {})}

    @classmethod
    def from_dict(cls, c: dict) -> "Column":
        """Return the column saved by :meth:`to_dict`."""
        categories = tuple(map(str, c["categories"])) if "categories" in c else None
        origin = float(c["origin"]) if c.get("origin") is not None else None
        return cls(c["name"], categories, float(c.get("mean", 0.0)), origin, int(c.get("pooled", 0)))


@dataclass(frozen=True)
class Encoder:
    """How a table's feature columns become model inputs, its missing-cell rule, and the columns left out."""

    columns: tuple[Column, ...]
    fill_missing: bool = False
    left_out: tuple[str, ...] = ()  # columns of the training table that are not inputs (ids, --drop)

    @property
    def names(self) -> tuple[str, ...]:
        """Return the input names, in the model's order."""
        return tuple(name for column in self.columns for name in column.inputs)

    @classmethod
    def fit(cls, cells: Cells, rows, names, fill_missing: bool = False, *, whole=(), left_out=()) -> "Encoder":
        """Return the encoder of columns ``names``, learned from ``rows`` only (``whole``: text columns that keep
        every category)."""
        columns = tuple(Column.fit(cells, rows, name, fill_missing, name in whole) for name in names)
        for column in columns:
            if column.pooled:
                say(f"{cells.path}: column {column.name!r} has many categories: the frequent ones are inputs, the "
                    f"rare ones pool into '{OTHER}' (counted in the summary's pooled_categories)")
        return cls(columns, fill_missing, tuple(left_out))

    def encode(self, cells: Cells, rows=None, *, fitted_on: bool = False) -> torch.Tensor:
        """Return the inputs of ``rows`` (all by default) as float64 (n, len(names)), unstandardised
        (``fitted_on``: the rows this encoder learned from, whose pooled categories are no news).

        The tensor is a (n, d) view of a column-major block: each input is written as one contiguous
        row of a (d, n) array (a million-row table is copied column by column, never cell by cell)."""
        rows = np.arange(len(cells)) if rows is None else np.asarray(rows)
        block = np.empty((len(self.names), len(rows)))
        for start, part in self.parts(cells, rows, fitted_on=fitted_on):
            block[start:start + len(part)] = part
        return torch.from_numpy(block).t()

    def parts(self, cells: Cells, rows, *, fitted_on: bool = False):
        """Yield (first input, float64 (width, n) block) of each column's inputs for ``rows``, one column at a
        time: a caller that standardises them never holds the whole float64 encoding."""
        rows = np.asarray(rows)
        self.check_complete(cells, rows)
        self._check_fits(cells, len(rows))
        start = 0
        for column in self.columns:
            width = len(column.inputs)
            if column.categories is not None:
                part = np.zeros((width, len(rows)))
                part[_codes(cells, column, rows, fitted_on), np.arange(len(rows))] = 1
            elif column.origin is not None:
                days = cells.dates(column.name)[rows]
                part = date_parts(np.where(np.isnan(days), column.mean, days), column.origin).T
            else:
                # mode="clip": rows are always in range, and numpy's default buffers the whole take
                part = np.take(_numbers(cells, column), rows, mode="clip")[None]
                part[0, np.isnan(part[0])] = column.mean
            yield start, part
            start += width

    def check_complete(self, cells: Cells, rows) -> None:
        """Raise DatasetError naming the first missing cell of ``rows``, unless this encoder fills them in."""
        if not self.fill_missing and (gap := cells.first_missing([c.name for c in self.columns], rows)):
            i, name = gap
            raise DatasetError(f"{cells.path}: row {cells.row(i)}, column {name!r} is "
                               f"{shown(cells, i, name)}; fill it in, delete the row, or train with --fill-missing "
                               "(numbers: the training mean; text: a 'missing' category)")

    def _check_fits(self, cells: Cells, n: int) -> None:
        """Raise ConfigError, before allocating, for an encoding larger than this machine's free memory."""
        widest = max(self.columns, key=lambda c: len(c.inputs))
        check_fits_in_memory(f"{cells.path}: encoding {n} rows x {len(self.names)} inputs (the widest column, "
                             f"{widest.name!r}, is {len(widest.inputs)} inputs: {size(8 * n * len(widest.inputs))})",
                             8 * n * len(self.names))

    def to_dict(self) -> dict:
        """Return the encoder as JSON-ready data (the inverse of :meth:`from_dict`)."""
        return {"fill_missing": self.fill_missing, "columns": [c.to_dict() for c in self.columns],
                **({"left_out": list(self.left_out)} if self.left_out else {})}

    @classmethod
    def from_dict(cls, d: dict) -> "Encoder":
        """Return the encoder saved by :meth:`to_dict`."""
        try:
            return cls(tuple(Column.from_dict(c) for c in d["columns"]), bool(d.get("fill_missing", False)),
                       tuple(map(str, d.get("left_out", ()))))
        except (KeyError, TypeError, ValueError) as e:
            raise DatasetError(f"not a saved table encoder ({e!r})") from None

    @classmethod
    def numbers(cls, names) -> "Encoder":
        """Return the encoder of number columns ``names`` (a run saved before text columns existed)."""
        return cls(tuple(Column(name) for name in names))


def _numbers(cells: Cells, column: Column) -> np.ndarray:
    if cells.is_text(column.name) or cells.is_date(column.name):
        raise DatasetError(f"{cells.path}: column {column.name!r} holds {'dates' if cells.is_date(column.name) else 'text'}"
                           ", but the training table's held numbers; give the same kind of values")
    return cells.numbers(column.name)


def _codes(cells: Cells, column: Column, rows, fitted_on: bool = False) -> np.ndarray:
    """Return each row's category index in ``column.categories``; unseen ones refused, or ``other`` if it pools."""
    import pandas as pd  # here, not at the top: a run on images never pays for importing it

    if not cells.is_text(column.name) and not cells.missing(column.name)[rows].all():
        raise DatasetError(f"{cells.path}: column {column.name!r} holds {'dates' if cells.is_date(column.name) else 'numbers'}, "
                           f"but the training table's held text ({few(column.categories)}); give the same kind of values")
    texts = cells.texts(column.name)[rows]
    texts[pd.isna(texts)] = FILLED
    codes = pd.Categorical(texts, categories=list(column.categories)).codes.astype(np.int64)  # -1: unseen
    unseen = codes < 0
    if unseen.any() and column.pools:
        codes[unseen] = column.categories.index(OTHER)
        if not fitted_on:  # held-out or new rows: say that their unseen categories went to other
            say(f"{cells.path}: column {column.name!r}: categories the training rows never had count as '{OTHER}'")
    elif unseen.any():
        i = int(np.flatnonzero(unseen)[0])
        raise DatasetError(f"{cells.path}: row {cells.row(int(rows[i]))}, column {column.name!r}: "
                           f"{texts[i]!r} is a category the training table never had (it had "
                           f"{few(column.categories)}); a model cannot read an unseen category")
    return codes


def shown(cells: Cells, i: int, name: str) -> str:
    """Return 'empty' or "missing ('NA')" for the missing cell of data row ``i``, column ``name``."""
    text = cells.raw(i, name)
    return "empty" if not text else f"missing ({text!r})"
