"""Which columns of a table a model reads, and which categories of a text column become inputs.

Every column but the target is an input unless ``columns`` names the inputs or ``drop`` leaves some
out. A text column that identifies rows (more than ``MANY`` values, nearly every value distinct:
a sample id) is left out with a notice unless kept. A text column with more than ``MANY``
categories keeps its frequent ones, at most ``KEPT`` seen at least twice, and pools the rest into
``OTHER``, where an unseen category of a held-out row goes too: the encoded width stays bounded.

>>> pooled_categories(["a"] * 3 + ["b"] * 2 + list("cdefghij"), fill_missing=False)
(('a', 'b', 'other'), 8)
>>> pooled_categories(["x", "y", None], fill_missing=True)
(('missing', 'x', 'y'), 0)
"""
from __future__ import annotations

from collections import Counter

from minidl.data.csv_file import Cells
from minidl.data.notices import few, say
from minidl.errors import DatasetError

FILLED = "missing"  # the category a missing text cell becomes under fill_missing
OTHER = "other"  # the category the rare and the unseen categories of a many-category column pool into
MANY = 8  # a text column with more categories than this pools its rare ones
KEPT = 50  # the most categories such a column keeps as inputs
IDENTIFIER = 0.5  # a text column whose distinct values exceed this share of its cells identifies rows


def feature_columns(cells: Cells, target: str, *, columns=(), drop=(), keep_ids: bool = False) -> tuple:
    """Return (the input columns, in the file's order; the identifier columns kept whole).

    ``columns``: only these are inputs; ``drop``: these are not; DatasetError for a name the file lacks."""
    for flag, names in (("--columns", columns), ("--drop", drop)):
        unknown = [name for name in names if name not in cells.names]
        if unknown:
            raise DatasetError(f"{cells.path} has no column {few(map(repr, unknown))} ({flag}); its columns are: "
                               f"{few(cells.names)}")
        if target in names:
            raise DatasetError(f"{flag} names the target {target!r}, which is never an input; leave it out")
    features = [name for name in cells.names if name != target and (not columns or name in columns)
                and name not in drop]
    ids = [name for name in features if cells.is_text(name) and identifies_rows(cells, name)]
    if ids and not keep_ids and not columns:
        for name in ids:
            say(f"{cells.path}: column {name!r} left out: nearly every value is distinct (an identifier, "
                f"e.g. {few(cells.texts(name)[:3])}); --keep-ids keeps it")
        features = [name for name in features if name not in ids]
    if not features:
        raise DatasetError(f"{cells.path}: no input column is left beside the target {target!r}; "
                           "give --columns, or drop fewer")
    return features, tuple(name for name in ids if name in features)


def identifies_rows(cells: Cells, name: str) -> bool:
    """Return whether text column ``name`` identifies rows: more than MANY values, over half of them distinct."""
    given = [t for t in cells.texts(name) if t is not None]
    distinct = len(set(given))
    return distinct > MANY and distinct > IDENTIFIER * len(given)


def pooled_categories(texts, fill_missing: bool, whole: bool = False) -> tuple[tuple[str, ...], int]:
    """Return (the categories of ``texts`` that become inputs, sorted; how many pooled into OTHER).

    ``texts``: a column's training cells (None where missing); ``whole``: keep every category."""
    counts = Counter(t for t in texts if t is not None)
    if fill_missing:
        counts[FILLED] += 0  # always a category under fill_missing: a held-out row may lack the cell
    if whole or len(counts) <= MANY:
        return tuple(sorted(counts)), 0
    by_count = sorted(counts, key=lambda c: (-counts[c], c))
    kept = [c for c in by_count[:KEPT] if counts[c] >= 2 or c == FILLED]
    return tuple(sorted(set(kept) | {OTHER})), len(counts) - len(set(kept) - {OTHER})
